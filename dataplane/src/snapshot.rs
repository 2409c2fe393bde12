//! The `ProxySnapshot` document (docs/snapshot.md, docs/snapshot.schema.json) the TypeScript compiler emits. Loading
//! is strict: another `apiVersion`, or any field this build does not know, rejects the whole document (the proxy
//! keeps the one it has), never a silently ignored rule.
//!
//! Durations are integer milliseconds and percentages 0-100, as the compiler writes them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The only format this build understands.
pub const API_VERSION: &str = "meshgate.io/snapshot/v1";
pub const KIND: &str = "ProxySnapshot";

/// Largest snapshot file accepted (bounds memory and parse time on a bad write).
pub const MAX_SNAPSHOT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Snapshot {
    pub api_version: String,
    pub kind: String,
    /// Content hash (`sha256:...`), shown in /config and logs.
    pub version: String,
    pub mesh: MeshSettings,
    pub listeners: Vec<Listener>,
    pub hosts: HostIndexDoc<Vec<String>>,
    pub clusters: BTreeMap<String, Cluster>,
    pub virtual_services: Vec<VirtualService>,
    pub virtual_service_hosts: HostIndexDoc<usize>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutboundMode {
    #[default]
    AllowAny,
    RegistryOnly,
    /// Istio 1.31: unknown plaintext HTTP goes to the DNS answer for its Host; TLS and TCP as ALLOW_ANY.
    AllowAnyDynamicDns,
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
    pub outbound_traffic_policy: OutboundMode,
    /// Empty: no access log. `/dev/stdout` is the usual value.
    pub access_log_file: String,
    pub access_log_encoding: AccessLogEncoding,
    /// Envoy command operators; empty: the default format.
    pub access_log_format: String,
    /// SIGTERM to exit: outbound keeps working this long.
    pub termination_drain_duration_ms: u64,
}

/// Where a rule came from (access log, metrics, /explain).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Source {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub path: String,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{} {}", self.kind, self.namespace, self.name, self.path)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Problem {
    pub source: Source,
    pub message: String,
}

/// `{exact: {host: V}, wildcard: [{host, <value key>}]}`: the value key differs per index, so it is flattened.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostIndexDoc<V> {
    pub exact: BTreeMap<String, V>,
    pub wildcard: Vec<WildcardEntry<V>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WildcardEntry<V> {
    pub host: String,
    #[serde(alias = "cluster", alias = "clusters", alias = "virtualService")]
    pub value: V,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    pub port: u16,
    pub http: HostIndexDoc<String>,
    pub tls: HostIndexDoc<String>,
    pub tcp: Vec<CidrCluster>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CidrCluster {
    pub cidr: String,
    pub cluster: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Protocol {
    Http,
    Https,
    Http2,
    Grpc,
    Tls,
    Tcp,
    Mongo,
    Redis,
    Mysql,
    Udp,
    Unspecified,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Resolution {
    None,
    Static,
    Dns,
    DnsRoundRobin,
    DynamicDns,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Location {
    MeshExternal,
    MeshInternal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cluster {
    pub service: String,
    pub port: u16,
    pub protocol: Protocol,
    pub resolution: Resolution,
    pub location: Location,
    pub endpoints: Vec<ClusterEndpoint>,
    pub upstream: Upstream,
    pub source: Source,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterEndpoint {
    pub address: String,
    pub port: u16,
    #[serde(default)]
    pub weight: Option<u32>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum Upstream {
    Original,
    /// `host: None`: the name the client asked for (Host or SNI).
    Dns {
        host: Option<String>,
        port: u16,
    },
    Static {
        endpoints: Vec<AddressPort>,
    },
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddressPort {
    pub address: String,
    pub port: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualService {
    pub source: Source,
    pub hosts: Vec<String>,
    pub http: Vec<HttpRoute>,
    pub tls: Vec<L4Route>,
    pub tcp: Vec<L4Route>,
}

/// Exactly one of exact, prefix, regex or present (checked when compiled).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StringMatch {
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub regex: Option<String>,
    pub present: Option<bool>,
    #[serde(default)]
    pub ignore_case: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpMatch {
    pub name: Option<String>,
    pub uri: Option<StringMatch>,
    pub scheme: Option<StringMatch>,
    pub method: Option<StringMatch>,
    pub authority: Option<StringMatch>,
    pub headers: BTreeMap<String, StringMatch>,
    pub without_headers: BTreeMap<String, StringMatch>,
    pub query_params: BTreeMap<String, StringMatch>,
    pub port: Option<u16>,
    pub source_labels: BTreeMap<String, String>,
    pub source_namespace: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HeaderOps {
    pub set: BTreeMap<String, String>,
    pub add: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Headers {
    pub request: HeaderOps,
    pub response: HeaderOps,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpDestination {
    pub host: String,
    pub port: Option<u16>,
    pub subset: Option<String>,
    pub weight: u32,
    pub headers: Headers,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L4Destination {
    pub host: String,
    pub port: Option<u16>,
    pub subset: Option<String>,
    pub weight: u32,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DerivePort {
    FromProtocolDefault,
    FromRequestPort,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Redirect {
    pub uri: Option<String>,
    pub authority: Option<String>,
    pub port: Option<u16>,
    pub derive_port: Option<DerivePort>,
    pub scheme: Option<String>,
    pub code: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectResponse {
    pub status: u16,
    pub body: Option<Body>,
}

/// `string` as is, or `bytes` base64-encoded (Istio's two forms).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    pub string: Option<String>,
    pub bytes: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    pub uri_regex: Option<RegexRewrite>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retries {
    pub attempts: u32,
    pub per_try_timeout_ms: u64,
    pub retry_on: Vec<String>,
    pub retriable_status_codes: Vec<u16>,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Delay {
    pub fixed_delay_ms: u64,
    pub percent: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Abort {
    pub http_status: Option<u16>,
    pub grpc_status: Option<u32>,
    pub http2_error: Option<String>,
    pub percent: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub delay: Option<Delay>,
    pub abort: Option<Abort>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    pub host: String,
    pub port: Option<u16>,
    pub subset: Option<String>,
    pub percent: f64,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UnmatchedPreflights {
    Forward,
    Ignore,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CorsPolicy {
    pub allow_origins: Vec<StringMatch>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_ms: Option<u64>,
    pub allow_credentials: Option<bool>,
    pub unmatched_preflights: UnmatchedPreflights,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpRoute {
    pub name: Option<String>,
    pub source: Source,
    #[serde(rename = "match")]
    pub matches: Vec<HttpMatch>,
    pub route: Vec<HttpDestination>,
    pub redirect: Option<Redirect>,
    pub direct_response: Option<DirectResponse>,
    pub rewrite: Option<Rewrite>,
    pub timeout_ms: u64,
    pub retries: Retries,
    pub fault: Option<Fault>,
    pub headers: Headers,
    pub mirrors: Vec<Mirror>,
    pub cors_policy: Option<CorsPolicy>,
}

/// TLS and TCP matches share one shape here; a field of the other kind is refused when compiled.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct L4Match {
    #[serde(default)]
    pub sni_hosts: Option<Vec<String>>,
    pub destination_subnets: Vec<String>,
    pub port: Option<u16>,
    pub source_labels: BTreeMap<String, String>,
    pub source_namespace: Option<String>,
    pub source_subnet: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L4Route {
    pub source: Source,
    #[serde(rename = "match")]
    pub matches: Vec<L4Match>,
    pub route: Vec<L4Destination>,
}

/// Parses a snapshot in one pass over the document (a 1,000-VirtualService snapshot is megabytes: a second pass
/// was a third of the reload time). `apiVersion` and `kind` are still checked first when naming what is wrong: a
/// document of another version fails for its version, not for the fields that version added.
pub fn parse(text: &[u8]) -> Result<Snapshot, String> {
    match serde_json::from_slice::<Snapshot>(text) {
        Ok(snapshot) => {
            check_head(Some(&snapshot.api_version), Some(&snapshot.kind))?;
            Ok(snapshot)
        }
        Err(e) => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Head {
                api_version: Option<serde_json::Value>,
                kind: Option<serde_json::Value>,
            }
            let head: Head = serde_json::from_slice(text).map_err(|e| format!("not a JSON snapshot: {e}"))?;
            check_head(
                head.api_version.as_ref().and_then(|v| v.as_str()),
                head.kind.as_ref().and_then(|v| v.as_str()),
            )?;
            Err(format!("snapshot rejected: {e}"))
        }
    }
}

fn check_head(api_version: Option<&str>, kind: Option<&str>) -> Result<(), String> {
    match api_version {
        Some(API_VERSION) => {}
        Some(other) => {
            return Err(format!("snapshot apiVersion {other:?} is not supported (this proxy reads {API_VERSION})"))
        }
        None => return Err("snapshot has no apiVersion".to_string()),
    }
    if kind != Some(KIND) {
        return Err(format!("snapshot kind must be {KIND}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = r#"{"apiVersion":"meshgate.io/snapshot/v1","kind":"ProxySnapshot","version":"sha256:00","mesh":{"outboundTrafficPolicy":"REGISTRY_ONLY","accessLogFile":"","accessLogEncoding":"TEXT","accessLogFormat":"","terminationDrainDurationMs":5000},"listeners":[],"hosts":{"exact":{},"wildcard":[]},"clusters":{},"virtualServices":[],"virtualServiceHosts":{"exact":{},"wildcard":[]},"problems":[]}"#;

    #[test]
    fn unknown_api_version_is_rejected_with_the_version_named() {
        let err = parse(EMPTY.replace("snapshot/v1", "snapshot/v2").as_bytes()).unwrap_err();
        assert!(err.contains("snapshot/v2"), "{err}");
    }

    #[test]
    fn another_version_with_new_fields_is_rejected_for_its_version() {
        let v2 =
            EMPTY.replace("snapshot/v1", "snapshot/v2").replace("\"problems\":[]", "\"problems\":[],\"newInV2\":{}");
        let err = parse(v2.as_bytes()).unwrap_err();
        assert!(err.contains("snapshot/v2") && err.contains("not supported"), "{err}");
        let wrong_kind = EMPTY.replace("ProxySnapshot", "Other");
        assert_eq!(parse(wrong_kind.as_bytes()).unwrap_err(), "snapshot kind must be ProxySnapshot");
        assert!(parse(b"{not json").unwrap_err().starts_with("not a JSON snapshot"));
    }

    #[test]
    fn unknown_field_is_rejected_with_its_name() {
        let err = parse(EMPTY.replace("\"problems\":[]", "\"problems\":[],\"mirrorr\":1").as_bytes()).unwrap_err();
        assert!(err.contains("mirrorr"), "{err}");
    }

    #[test]
    fn minimal_snapshot_loads() {
        let s = parse(EMPTY.as_bytes()).unwrap();
        assert_eq!(s.mesh.outbound_traffic_policy, OutboundMode::RegistryOnly);
        assert_eq!(s.mesh.termination_drain_duration_ms, 5000);
    }
}
