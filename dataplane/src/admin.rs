//! The small HTTP servers beside the proxy: admin (:15000 on loopback: /explain, /config), status (:15021
//! /healthz/ready: 503 until a snapshot is loaded and while draining) and metrics (:15090 /stats/prometheus).

use crate::body::full;
use crate::route::host::normalize_host;
use crate::route::http_route::{select_route, RequestView};
use crate::route::registry::{plan_json, Decision};
use crate::route::table::L4Kind;
use crate::route::vector::decision_json;
use crate::state::Shared;
use crate::upstream::Body;
use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Status,
    Metrics,
}

fn reply(status: u16, content_type: &str, body: String) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned())
    })
}

fn explained(d: &Decision) -> Value {
    let mut v = decision_json(d);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("upstreamText".into(), json!(if d.allowed { d.plan.describe() } else { "none".into() }));
        obj.insert("plan".into(), plan_json(&d.plan));
    }
    v
}

/// Why a destination is allowed or denied, for each way a client could reach it: the decision functions the proxy
/// runs, so the answer cannot drift from the behaviour.
pub fn explain(shared: &Shared, host_text: &str, port: u16) -> Value {
    let Some(loaded) = shared.current() else { return json!({ "error": "no snapshot loaded" }) };
    let table = &loaded.table;
    let host = normalize_host(host_text);
    let ip: Option<IpAddr> = host.parse().ok();
    let any_ip = ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let headers = http::HeaderMap::new();
    let view = RequestView {
        method: "GET",
        scheme: "http",
        path: "/",
        authority: &host,
        host: &host,
        port,
        ip: any_ip,
        headers: &headers,
    };
    let http = crate::route::http_route::decide_request(table, &view, &shared.workload, 0.0);
    let mut http_json = explained(&http.decision);
    if let (Some(vs), Some(obj)) = (table.virtual_service(&host), http_json.as_object_mut()) {
        let selected = select_route(vs, &view, &shared.workload);
        let text = match selected {
            Some((route, _)) => {
                format!("VirtualService {}/{} route {} (for GET /)", vs.source.namespace, vs.source.name, route.name)
            }
            None => format!("VirtualService {}/{} (no route matches GET /)", vs.source.namespace, vs.source.name),
        };
        obj.insert("virtualService".into(), json!(text));
    }
    let sni = if ip.is_some() { None } else { Some(host.as_str()) };
    let tls = table.decide_l4(L4Kind::Tls, sni, any_ip, port, &shared.workload, 0.0);
    let tcp = match ip {
        Some(ip) => explained(&table.decide_l4(L4Kind::Tcp, None, ip, port, &shared.workload, 0.0)),
        None => json!({ "note": "TCP is matched by destination address: ask with an IP address" }),
    };
    json!({ "host": host, "port": port, "mode": table.mode_name(), "snapshot": loaded.version,
        "snapshotSource": shared.feed.source(), "snapshotAgeSeconds": loaded.loaded_instant.elapsed().as_secs(), "http": http_json, "tls": explained(&tls), "tcp": tcp })
}

fn config(shared: &Shared) -> Value {
    let rejected = shared.rejected_count();
    let last_error = shared.last_error();
    match shared.current() {
        None => {
            json!({ "loaded": false, "rejected": rejected, "lastError": last_error, "source": shared.feed.source(), "control": shared.feed.json() })
        }
        Some(l) => json!({
            "loaded": true,
            "version": l.version,
            "loadedAt": crate::telemetry::access_log::iso_time(l.loaded_at),
            "ageSeconds": l.loaded_instant.elapsed().as_secs(),
            "mode": l.table.mode_name(),
            "clusters": l.cluster_count,
            "virtualServices": l.table.virtual_services.len(),
            "problems": l.problems,
            "accessLogFile": l.mesh.access_log_file,
            "terminationDrainDurationMs": l.mesh.termination_drain_duration_ms,
            "rejected": rejected,
            "lastError": last_error,
            "source": shared.feed.source(),
            "control": shared.feed.json(),
        }),
    }
}

async fn handle(
    role: Role,
    shared: Arc<Shared>,
    draining: Arc<AtomicBool>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(reply(405, "text/plain", "GET only\n".into()));
    }
    let query = req.uri().query().unwrap_or("");
    Ok(match (role, req.uri().path()) {
        (Role::Status, "/healthz/ready") => {
            if shared.current().is_none() {
                reply(503, "text/plain", "not ready: no snapshot loaded\n".into())
            } else if draining.load(Ordering::Relaxed) {
                reply(503, "text/plain", "not ready: draining\n".into())
            } else {
                reply(200, "text/plain", "ready\n".into())
            }
        }
        (Role::Metrics, "/stats/prometheus") => {
            reply(200, crate::telemetry::metrics::CONTENT_TYPE, shared.encode_metrics())
        }
        (Role::Admin, "/explain") => {
            let host = query_param(query, "host").filter(|h| !h.is_empty() && h.len() <= 255);
            let port = query_param(query, "port").unwrap_or_else(|| "80".into()).parse::<u16>().ok().filter(|p| *p > 0);
            match (host, port) {
                (Some(h), Some(p)) => reply(200, "application/json", format!("{:#}\n", explain(&shared, &h, p))),
                _ => reply(400, "text/plain", "usage: /explain?host=NAME&port=N\n".into()),
            }
        }
        (Role::Admin, "/config") => reply(200, "application/json", format!("{:#}\n", config(&shared))),
        (Role::Admin, "/ready") => reply(200, "text/plain", "LIVE\n".into()),
        _ => reply(404, "text/plain", "not found\n".into()),
    })
}

pub async fn serve(listener: TcpListener, role: Role, shared: Arc<Shared>, draining: Arc<AtomicBool>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        let draining = draining.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(role, shared.clone(), draining.clone(), req));
            let _ = tokio::time::timeout(
                Duration::from_secs(30),
                hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(5))
                    .serve_connection(TokioIo::new(stream), service),
            )
            .await;
        });
    }
}
