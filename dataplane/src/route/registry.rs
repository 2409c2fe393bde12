//! The snapshot's registry indexes (per-port listeners, hosts, clusters) made into lookups: HTTP by Host, TLS by
//! SNI, TCP by destination address, and a route destination by host. The compiler already ordered everything;
//! this module only builds maps and CIDRs once per snapshot.

use super::cidr::Cidr;
use super::host::HostIndex;
use crate::snapshot::{AddressPort, Cluster, HostIndexDoc, Protocol, Snapshot, Source, Upstream};
use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    HostMatch,
    SniMatch,
    AddressMatch,
    AllowAny,
    RegistryOnly,
    Route,
    NoRoute,
    Redirect,
    DirectResponse,
    DestinationUnknown,
}

/// Where an allowed connection or request goes, with any "the name the client asked for" already filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Plan {
    /// The address the client dialled.
    Original,
    /// The DNS answer for an allowed name, never the dialled IP (no Host/SNI spoofing).
    Dns {
        host: String,
        port: u16,
    },
    Static {
        endpoints: Vec<AddressPort>,
    },
}

impl Plan {
    pub fn describe(&self) -> String {
        match self {
            Plan::Original => "the original destination".to_string(),
            Plan::Dns { host, port } => format!("DNS answer for {host} port {port}"),
            Plan::Static { endpoints } => {
                let list: Vec<String> = endpoints.iter().map(|e| format!("{}:{}", e.address, e.port)).collect();
                format!("endpoints {}", list.join(", "))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: Reason,
    /// Envoy's cluster name (`outbound|80||httpbin.org`, PassthroughCluster, BlackHoleCluster), or None.
    pub cluster: Option<String>,
    /// The registry host (Istio's destination_service), None for passthrough and denies.
    pub service: Option<String>,
    /// Meaningful when allowed.
    pub plan: Plan,
    /// The status the proxy answers with itself (HTTP only), None when forwarded.
    pub status: Option<u16>,
    pub location: Option<String>,
    pub policy_source: Option<Source>,
    pub route_source: Option<Source>,
    /// The upstream's HTTP version by the cluster's protocol: HTTP2/GRPC true, HTTP false; None (unspecified,
    /// passthrough): the downstream's, as Istio's sniffed ports use the downstream protocol.
    pub upstream_h2: Option<bool>,
}

pub const PASSTHROUGH_CLUSTER: &str = "PassthroughCluster";
pub const BLACKHOLE_CLUSTER: &str = "BlackHoleCluster";
/// Istio's cluster for ALLOW_ANY_DYNAMIC_DNS (Envoy's dynamic forward proxy).
pub const DYNAMIC_DNS_CLUSTER: &str = "AllowAnyDynamicDNSCluster";

impl Decision {
    /// Istio's `destination_service` metric label: the registry host, else the catch-all cluster the traffic went
    /// to (PassthroughCluster, BlackHoleCluster), as Istio labels unknown destinations; None when neither applies.
    pub fn metric_destination(&self) -> Option<&str> {
        self.service
            .as_deref()
            .or_else(|| self.cluster.as_deref().filter(|c| *c == PASSTHROUGH_CLUSTER || *c == BLACKHOLE_CLUSTER))
    }
}

/// The mesh setting a passthrough or registry-only decision comes from.
pub fn mesh_policy_source() -> Source {
    Source {
        kind: "MeshConfig".into(),
        namespace: "istio-system".into(),
        name: "istio".into(),
        path: "outboundTrafficPolicy.mode".into(),
    }
}

#[derive(Debug, Default)]
struct PortIndex {
    http: HostIndex<String>,
    tls: HostIndex<String>,
    tcp: Vec<(Cidr, String)>,
}

#[derive(Debug, Default)]
pub struct Registry {
    ports: HashMap<u16, PortIndex>,
    hosts: HostIndex<Vec<String>>,
    clusters: HashMap<String, Cluster>,
}

fn host_index<V: Clone>(doc: &HostIndexDoc<V>) -> HostIndex<V> {
    let mut index = HostIndex::default();
    for (host, v) in &doc.exact {
        index.add(host, v.clone());
    }
    // Kept in the compiler's order: it sorted wildcards narrowest first.
    for w in &doc.wildcard {
        index.add_ordered(&w.host, w.value.clone());
    }
    index
}

impl Registry {
    pub fn compile(s: &Snapshot) -> Result<Registry, String> {
        let mut r = Registry {
            hosts: host_index(&s.hosts),
            clusters: s.clusters.clone().into_iter().collect(),
            ..Default::default()
        };
        let known = |name: &String, at: &str| -> Result<(), String> {
            if s.clusters.contains_key(name) {
                Ok(())
            } else {
                Err(format!("{at}: cluster {name:?} is not in clusters"))
            }
        };
        for (i, l) in s.listeners.iter().enumerate() {
            let at = format!("listeners[{i}]");
            let mut tcp = Vec::with_capacity(l.tcp.len());
            for (j, t) in l.tcp.iter().enumerate() {
                known(&t.cluster, &format!("{at}.tcp[{j}]"))?;
                let cidr =
                    Cidr::parse(&t.cidr).ok_or_else(|| format!("{at}.tcp[{j}].cidr: {:?} is not a CIDR", t.cidr))?;
                tcp.push((cidr, t.cluster.clone()));
            }
            for c in l.http.exact.values().chain(l.http.wildcard.iter().map(|w| &w.value)) {
                known(c, &format!("{at}.http"))?;
            }
            for c in l.tls.exact.values().chain(l.tls.wildcard.iter().map(|w| &w.value)) {
                known(c, &format!("{at}.tls"))?;
            }
            r.ports.insert(l.port, PortIndex { http: host_index(&l.http), tls: host_index(&l.tls), tcp });
        }
        Ok(r)
    }

    pub fn cluster_count(&self) -> usize {
        self.clusters.len()
    }

    /// An allow through `cluster`; `name` is what the client asked for (Host, SNI or route destination host).
    fn allow(&self, cluster: &str, name: Option<&str>, reason: Reason) -> Option<Decision> {
        let c = self.clusters.get(cluster)?;
        Some(Decision {
            allowed: true,
            reason,
            cluster: Some(cluster.to_string()),
            service: Some(c.service.clone()),
            plan: plan_of(&c.upstream, name),
            status: None,
            location: None,
            policy_source: Some(c.source.clone()),
            route_source: None,
            upstream_h2: match c.protocol {
                Protocol::Http2 | Protocol::Grpc => Some(true),
                Protocol::Http => Some(false),
                _ => None,
            },
        })
    }

    pub fn lookup_http(&self, host: &str, port: u16) -> Option<Decision> {
        let (_, cluster) = self.ports.get(&port)?.http.find(host)?;
        self.allow(cluster, Some(host), Reason::HostMatch)
    }

    pub fn lookup_tls(&self, sni: &str, port: u16) -> Option<Decision> {
        let (_, cluster) = self.ports.get(&port)?.tls.find(sni)?;
        self.allow(cluster, Some(sni), Reason::SniMatch)
    }

    pub fn lookup_tcp(&self, ip: IpAddr, port: u16) -> Option<Decision> {
        let (_, cluster) = self.ports.get(&port)?.tcp.iter().find(|(cidr, _)| cidr.contains(ip))?;
        self.allow(cluster, None, Reason::AddressMatch)
    }

    /// A route destination: the host's cluster on `port`, else (when the route named no port) its first cluster.
    /// The cluster name is `outbound|<port>||<service>`.
    pub fn lookup_destination(&self, host: &str, port: u16, any_port: bool, name: Option<&str>) -> Option<Decision> {
        let (_, clusters) = self.hosts.find(host)?;
        let found = |n: &&String| self.clusters.get(*n).is_some_and(|c| c.port == port);
        let cluster = clusters.iter().find(found).or_else(|| if any_port { clusters.first() } else { None })?;
        self.allow(cluster, name, Reason::Route)
    }
}

/// `dns` with `host: null` takes the name the client asked for; matched by address with no name: the original
/// destination.
fn plan_of(upstream: &Upstream, name: Option<&str>) -> Plan {
    match upstream {
        Upstream::Original => Plan::Original,
        Upstream::Dns { host: Some(h), port } => Plan::Dns { host: h.clone(), port: *port },
        Upstream::Dns { host: None, port } => match name {
            Some(n) => Plan::Dns { host: n.to_string(), port: *port },
            None => Plan::Original,
        },
        Upstream::Static { endpoints } => Plan::Static { endpoints: endpoints.clone() },
    }
}

/// For tests and vectors: the snapshot's upstream as JSON (unused fields of other kinds stay absent).
pub fn plan_json(plan: &Plan) -> serde_json::Value {
    serde_json::to_value(plan).unwrap_or(serde_json::Value::Null)
}
