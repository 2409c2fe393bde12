//! The `ProxySnapshot` document the TypeScript compiler emits, and its loading rules: an unknown format version or an
//! unknown field is a rejected snapshot (the proxy keeps the one it has), never a silently ignored rule.
//!
//! Field names follow Istio's API where one exists; durations are integer milliseconds (the compiler parses them).

use serde::Deserialize;
use std::collections::BTreeMap;

/// The only format version this build understands.
pub const FORMAT_VERSION: u32 = 1;

/// Largest snapshot file accepted (bounds memory and parse time on a bad write).
pub const MAX_SNAPSHOT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Snapshot {
    /// Format version (see FORMAT_VERSION).
    pub version: u32,
    /// Content hash of the document, shown in /config and logs.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub mesh: MeshSettings,
    #[serde(default)]
    pub service_entries: Vec<ServiceEntry>,
    #[serde(default)]
    pub virtual_services: Vec<VirtualService>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutboundMode {
    #[default]
    AllowAny,
    RegistryOnly,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccessLogEncoding {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MeshSettings {
    #[serde(default)]
    pub outbound_traffic_policy: OutboundMode,
    /// Empty or absent: no access log. `/dev/stdout` is the usual value.
    #[serde(default)]
    pub access_log_file: String,
    #[serde(default)]
    pub access_log_encoding: AccessLogEncoding,
    /// Envoy command operators (`%RESPONSE_CODE%` ...); empty: the default format.
    #[serde(default)]
    pub access_log_format: String,
    /// SIGTERM to exit: outbound keeps working this long (Istio's default 5 s).
    #[serde(default)]
    pub termination_drain_duration_ms: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceEntry {
    /// `ServiceEntry ns/name`, for logs and /explain.
    #[serde(rename = "ref")]
    pub source: String,
    pub hosts: Vec<String>,
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub resolution: Resolution,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Resolution {
    #[default]
    None,
    Static,
    Dns,
    DnsRoundRobin,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Port {
    pub number: u16,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub target_port: Option<u16>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Endpoint {
    pub address: String,
    #[serde(default)]
    pub ports: BTreeMap<String, u16>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VirtualService {
    #[serde(rename = "ref")]
    pub source: String,
    pub hosts: Vec<String>,
    #[serde(default)]
    pub http: Vec<HttpRoute>,
    #[serde(default)]
    pub tls: Vec<L4Route>,
    #[serde(default)]
    pub tcp: Vec<L4Route>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StringMatch {
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub regex: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpMatch {
    #[serde(default)]
    pub name: Option<String>,
    pub uri: Option<StringMatch>,
    pub scheme: Option<StringMatch>,
    pub method: Option<StringMatch>,
    pub authority: Option<StringMatch>,
    #[serde(default)]
    pub headers: BTreeMap<String, StringMatch>,
    #[serde(default)]
    pub query_params: BTreeMap<String, StringMatch>,
    #[serde(default)]
    pub without_headers: BTreeMap<String, StringMatch>,
    #[serde(default)]
    pub ignore_uri_case: bool,
    pub port: Option<u16>,
    #[serde(default)]
    pub source_labels: BTreeMap<String, String>,
    pub source_namespace: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HeaderOps {
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub add: BTreeMap<String, String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Headers {
    pub request: Option<HeaderOps>,
    pub response: Option<HeaderOps>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Destination {
    pub host: String,
    pub port: Option<u16>,
    #[serde(default)]
    pub subset: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteDestination {
    pub destination: Destination,
    pub weight: Option<u32>,
    #[serde(default)]
    pub headers: Option<Headers>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Redirect {
    pub uri: Option<String>,
    pub authority: Option<String>,
    pub port: Option<u16>,
    pub scheme: Option<String>,
    pub redirect_code: Option<u16>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DirectResponse {
    pub status: u16,
    pub body: Option<Body>,
}

/// `string` as is, or `bytes` base64-encoded (Istio's two forms).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    pub string: Option<String>,
    pub bytes: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegexRewrite {
    #[serde(rename = "match")]
    pub pattern: String,
    pub rewrite: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rewrite {
    pub uri: Option<String>,
    pub authority: Option<String>,
    pub uri_regex_rewrite: Option<RegexRewrite>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retries {
    pub attempts: u32,
    pub per_try_timeout_ms: Option<u64>,
    pub retry_on: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Delay {
    pub fixed_delay_ms: u64,
    /// Percent of requests, 0–100 (absent: 100).
    pub percentage: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Abort {
    pub http_status: Option<u16>,
    /// gRPC status code name or number, e.g. `UNAVAILABLE` or `14`.
    pub grpc_status: Option<String>,
    pub percentage: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Fault {
    pub delay: Option<Delay>,
    pub abort: Option<Abort>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mirror {
    pub destination: Destination,
    /// Percent of requests mirrored, 0–100 (absent: 100).
    pub percentage: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CorsPolicy {
    #[serde(default)]
    pub allow_origins: Vec<StringMatch>,
    #[serde(default)]
    pub allow_methods: Vec<String>,
    #[serde(default)]
    pub allow_headers: Vec<String>,
    #[serde(default)]
    pub expose_headers: Vec<String>,
    pub max_age_ms: Option<u64>,
    pub allow_credentials: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpRoute {
    pub name: Option<String>,
    #[serde(default, rename = "match")]
    pub matches: Vec<HttpMatch>,
    #[serde(default)]
    pub route: Vec<RouteDestination>,
    pub redirect: Option<Redirect>,
    pub direct_response: Option<DirectResponse>,
    pub rewrite: Option<Rewrite>,
    pub timeout_ms: Option<u64>,
    pub retries: Option<Retries>,
    pub fault: Option<Fault>,
    #[serde(default)]
    pub headers: Option<Headers>,
    #[serde(default)]
    pub mirrors: Vec<Mirror>,
    pub cors_policy: Option<CorsPolicy>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct L4Match {
    #[serde(default)]
    pub sni_hosts: Vec<String>,
    #[serde(default)]
    pub destination_subnets: Vec<String>,
    pub port: Option<u16>,
    #[serde(default)]
    pub source_labels: BTreeMap<String, String>,
    pub source_namespace: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct L4Route {
    #[serde(default, rename = "match")]
    pub matches: Vec<L4Match>,
    #[serde(default)]
    pub route: Vec<RouteDestination>,
}

/// Parses a snapshot document; the version is checked before the rest so an old proxy names the real problem.
pub fn parse(text: &[u8]) -> Result<Snapshot, String> {
    #[derive(Deserialize)]
    struct VersionOnly {
        version: Option<serde_json::Value>,
    }
    let head: VersionOnly = serde_json::from_slice(text).map_err(|e| format!("not a JSON snapshot: {e}"))?;
    match head.version.as_ref().and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(v) => return Err(format!("snapshot version {v} is not supported (this proxy reads version {FORMAT_VERSION})")),
        None => return Err("snapshot has no numeric `version`".to_string()),
    }
    serde_json::from_slice(text).map_err(|e| format!("snapshot rejected: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_version_is_rejected_with_the_version_named() {
        let err = parse(br#"{"version":2}"#).unwrap_err();
        assert!(err.contains("version 2"), "{err}");
    }

    #[test]
    fn unknown_field_is_rejected_with_its_name() {
        let err = parse(br#"{"version":1,"virtualServices":[{"ref":"v","hosts":["a"],"http":[{"route":[],"mirrorr":{}}]}]}"#).unwrap_err();
        assert!(err.contains("mirrorr"), "{err}");
    }

    #[test]
    fn minimal_snapshot_loads_with_allow_any() {
        let s = parse(br#"{"version":1}"#).unwrap();
        assert_eq!(s.mesh.outbound_traffic_policy, OutboundMode::AllowAny);
    }
}
