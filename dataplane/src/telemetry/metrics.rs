//! Istio's metric names and labels (the Prometheus project's client writes the exposition format). Label values are
//! few by design: destination service, code and flags; denied destinations are capped.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::HashSet;
use std::sync::Mutex;

const DURATION_BUCKETS: [f64; 13] =
    [1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0];
/// Distinct destinations the deny counter names before folding the rest into `other`.
const MAX_DENY_DESTINATIONS: usize = 500;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub reporter: &'static str,
    pub source_workload: String,
    pub source_workload_namespace: String,
    pub destination_service: String,
    pub destination_service_name: String,
    pub request_protocol: &'static str,
    pub response_code: u16,
    pub response_flags: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TcpLabels {
    pub reporter: &'static str,
    pub source_workload: String,
    pub source_workload_namespace: String,
    pub destination_service: String,
    pub destination_service_name: String,
    pub request_protocol: &'static str,
    pub response_flags: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DenyLabels {
    protocol: &'static str,
    destination: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

type HistogramFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    workload: String,
    namespace: String,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily,
    tcp_opened: Family<TcpLabels, Counter>,
    tcp_closed: Family<TcpLabels, Counter>,
    tcp_sent: Family<TcpLabels, Counter>,
    tcp_received: Family<TcpLabels, Counter>,
    denied: Family<DenyLabels, Counter>,
    deny_names: Mutex<HashSet<String>>,
    reloads: Family<ResultLabels, Counter>,
    pub snapshot_age_base: Gauge,
    pub snapshot_age: Gauge,
    pub access_log_dropped: Counter,
    control_fetches: Family<ResultLabels, Counter>,
    pub control_connected: Gauge,
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// Envoy's destination_service_name: the first label of the host.
fn service_name(service: &str) -> String {
    service.split('.').next().unwrap_or(service).to_string()
}

impl Metrics {
    pub fn new(workload: &str, namespace: &str) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations: HistogramFamily = Family::new_with_constructor(duration_histogram as fn() -> Histogram);
        let tcp_opened = Family::<TcpLabels, Counter>::default();
        let tcp_closed = Family::<TcpLabels, Counter>::default();
        let tcp_sent = Family::<TcpLabels, Counter>::default();
        let tcp_received = Family::<TcpLabels, Counter>::default();
        let denied = Family::<DenyLabels, Counter>::default();
        let reloads = Family::<ResultLabels, Counter>::default();
        let snapshot_age_base = Gauge::default();
        let access_log_dropped = Counter::default();
        let snapshot_age = Gauge::default();
        let control_fetches = Family::<ResultLabels, Counter>::default();
        let control_connected = Gauge::default();
        // prometheus-client appends `_total` to counters: the names below become Istio's.
        registry.register("istio_requests", "HTTP requests, by destination and response code", requests.clone());
        registry.register("istio_request_duration_milliseconds", "HTTP request duration", durations.clone());
        registry.register("istio_tcp_connections_opened", "TCP/TLS connections opened", tcp_opened.clone());
        registry.register("istio_tcp_connections_closed", "TCP/TLS connections closed", tcp_closed.clone());
        registry.register("istio_tcp_sent_bytes", "Bytes sent to the client on TCP/TLS connections", tcp_sent.clone());
        registry.register(
            "istio_tcp_received_bytes",
            "Bytes received from the client on TCP/TLS connections",
            tcp_received.clone(),
        );
        registry.register(
            "meshgate_proxy_denied",
            "Connections and requests denied by the outbound policy",
            denied.clone(),
        );
        registry.register("meshgate_proxy_config_reloads", "Snapshots applied or rejected", reloads.clone());
        registry.register(
            "meshgate_proxy_snapshot_loaded_timestamp_seconds",
            "Unix time the snapshot in force was loaded",
            snapshot_age_base.clone(),
        );
        registry.register(
            "meshgate_proxy_access_log_dropped_lines",
            "Access log lines dropped because the writer fell behind",
            access_log_dropped.clone(),
        );
        registry.register(
            "meshgate_proxy_snapshot_age_seconds",
            "Seconds since the snapshot in force was loaded (-1: none yet)",
            snapshot_age.clone(),
        );
        registry.register(
            "meshgate_proxy_control_fetches",
            "Polls of meshgate control, by result (applied, rejected, not_modified, unauthorized, forbidden, ...)",
            control_fetches.clone(),
        );
        registry.register(
            "meshgate_proxy_control_connected",
            "1 when the last poll of meshgate control was answered, 0 after a failure",
            control_connected.clone(),
        );
        Metrics {
            registry,
            workload: workload.to_string(),
            namespace: namespace.to_string(),
            requests,
            durations,
            tcp_opened,
            tcp_closed,
            tcp_sent,
            tcp_received,
            denied,
            deny_names: Mutex::new(HashSet::new()),
            reloads,
            snapshot_age_base,
            snapshot_age,
            access_log_dropped,
            control_fetches,
            control_connected,
        }
    }

    pub fn request(&self, service: Option<&str>, protocol: &'static str, code: u16, flags: &str, duration_ms: f64) {
        let service = service.unwrap_or("unknown");
        let labels = RequestLabels {
            reporter: "source",
            source_workload: self.workload.clone(),
            source_workload_namespace: self.namespace.clone(),
            destination_service: service.to_string(),
            destination_service_name: service_name(service),
            request_protocol: protocol,
            response_code: code,
            response_flags: if flags.is_empty() { "-".into() } else { flags.to_string() },
        };
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&labels).observe(duration_ms);
    }

    fn tcp_labels(&self, service: Option<&str>, protocol: &'static str, flags: &str) -> TcpLabels {
        let service = service.unwrap_or("unknown");
        TcpLabels {
            reporter: "source",
            source_workload: self.workload.clone(),
            source_workload_namespace: self.namespace.clone(),
            destination_service: service.to_string(),
            destination_service_name: service_name(service),
            request_protocol: protocol,
            response_flags: if flags.is_empty() { "-".into() } else { flags.to_string() },
        }
    }

    pub fn tcp_opened(&self, service: Option<&str>, protocol: &'static str) {
        self.tcp_opened.get_or_create(&self.tcp_labels(service, protocol, "-")).inc();
    }

    pub fn tcp_closed(&self, service: Option<&str>, protocol: &'static str, flags: &str, sent: u64, received: u64) {
        let labels = self.tcp_labels(service, protocol, flags);
        self.tcp_closed.get_or_create(&labels).inc();
        self.tcp_sent.get_or_create(&labels).inc_by(sent);
        self.tcp_received.get_or_create(&labels).inc_by(received);
    }

    pub fn denied(&self, protocol: &'static str, destination: &str) {
        let label = match self.deny_names.lock() {
            Ok(mut seen) => {
                if seen.contains(destination) || seen.len() < MAX_DENY_DESTINATIONS {
                    seen.insert(destination.to_string());
                    destination.to_string()
                } else {
                    "other".to_string()
                }
            }
            Err(_) => "other".to_string(),
        };
        self.denied.get_or_create(&DenyLabels { protocol, destination: label }).inc();
    }

    pub fn config_reload(&self, applied: bool) {
        self.reloads.get_or_create(&ResultLabels { result: if applied { "applied" } else { "rejected" } }).inc();
    }

    pub fn control_fetch(&self, result: &'static str) {
        self.control_fetches.get_or_create(&ResultLabels { result }).inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_names_and_labels_are_exposed() {
        let m = Metrics::new("app", "ns1");
        m.request(Some("httpbin.org"), "http", 200, "", 3.0);
        m.tcp_opened(Some("db.example.com"), "tcp");
        let text = m.encode();
        assert!(text.contains("istio_requests_total{reporter=\"source\",source_workload=\"app\",source_workload_namespace=\"ns1\",destination_service=\"httpbin.org\",destination_service_name=\"httpbin\",request_protocol=\"http\",response_code=\"200\",response_flags=\"-\"} 1"), "{text}");
        assert!(text.contains("istio_request_duration_milliseconds_bucket{"), "{text}");
        assert!(text.contains("istio_tcp_connections_opened_total{"), "{text}");
    }

    #[test]
    fn deny_destinations_are_capped() {
        let m = Metrics::new("a", "b");
        for i in 0..(MAX_DENY_DESTINATIONS + 10) {
            m.denied("http", &format!("h{i}:80"));
        }
        assert!(m.encode().contains("destination=\"other\"} 10"));
    }
}
