//! The shared decision vectors (test/vectors/*.json, format in docs/snapshot.md): one case in, the decision as the
//! vectors spell it out. `cargo test` runs every vector through here, i.e. through the proxy's decision functions.

use super::host::normalize_host;
use super::http_route::{decide_request, RequestView};
use super::registry::{plan_json, Decision};
use super::table::{L4Kind, Table, Workload};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    pub description: String,
    #[serde(default)]
    pub manifests: Value,
    pub snapshot: Value,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    #[serde(default)]
    pub source: Option<CaseSource>,
    pub connection: Connection,
    #[serde(default)]
    pub request: Option<CaseRequest>,
    pub expect: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSource {
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub ip: Option<IpAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    pub destination: String,
    pub protocol: String,
    #[serde(default)]
    pub sni: Option<String>,
    #[serde(default)]
    pub random: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseRequest {
    #[serde(default)]
    pub scheme: Option<String>,
    pub method: String,
    pub authority: String,
    pub path: String,
    /// A value or a list of values (a repeated header).
    #[serde(default)]
    pub headers: BTreeMap<String, Value>,
}

/// The decision in the vectors' vocabulary.
pub fn decision_json(d: &Decision) -> Value {
    json!({
        "verdict": if d.allowed { "allow" } else { "deny" },
        "reason": serde_json::to_value(d.reason).unwrap_or(Value::Null),
        "cluster": d.cluster,
        "service": d.service,
        "status": d.status,
        "upstream": if d.allowed && d.status.is_none() { plan_json(&d.plan) } else { Value::Null },
        "location": d.location,
        "policySource": d.policy_source,
        "routeSource": d.route_source,
    })
}

/// Runs one case; Err names every field that differs.
pub fn run_case(table: &Table, case: &Case) -> Result<(), String> {
    let dest: SocketAddr = case.connection.destination.parse().map_err(|e| format!("destination: {e}"))?;
    let workload = Workload {
        name: "vector".into(),
        namespace: case.source.as_ref().and_then(|s| s.namespace.clone()).unwrap_or_else(|| "default".into()),
        labels: case.source.as_ref().map(|s| s.labels.clone()).unwrap_or_default(),
        ip: case.source.as_ref().and_then(|s| s.ip),
    };
    let random = case.connection.random.unwrap_or(0.0);
    let ip: IpAddr = dest.ip();
    let decision = match case.connection.protocol.as_str() {
        "http" => {
            let r = case.request.as_ref().ok_or("an http case needs a request")?;
            let mut headers = http::HeaderMap::new();
            for (k, v) in &r.headers {
                let name = http::HeaderName::try_from(k.as_str()).map_err(|e| format!("header {k}: {e}"))?;
                let values: Vec<&str> = match v {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
                    other => return Err(format!("header {k}: {other} is not a string or a list")),
                };
                for value in values {
                    headers.append(
                        name.clone(),
                        http::HeaderValue::try_from(value).map_err(|e| format!("header {k}: {e}"))?,
                    );
                }
            }
            let host = normalize_host(&r.authority);
            let view = RequestView {
                method: &r.method,
                scheme: r.scheme.as_deref().unwrap_or("http"),
                path: &r.path,
                authority: &r.authority,
                host: &host,
                port: dest.port(),
                ip,
                headers: &headers,
            };
            decide_request(table, &view, &workload, random).decision
        }
        "tls" => table.decide_l4(L4Kind::Tls, case.connection.sni.as_deref(), ip, dest.port(), &workload, random),
        "tcp" => table.decide_l4(L4Kind::Tcp, None, ip, dest.port(), &workload, random),
        other => return Err(format!("unknown protocol {other:?}")),
    };
    let got = decision_json(&decision);
    let mut diffs = Vec::new();
    for (field, want) in &case.expect {
        let have = got.get(field).cloned().unwrap_or(Value::Null);
        if &have != want {
            diffs.push(format!("  {field}: expected {want}, got {have}"));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("\n"))
    }
}
