//! A real proxy on loopback for the integration tests: the library's own listener, with the original destination
//! injected (no iptables here; the netns suite covers SO_ORIGINAL_DST), in front of real upstream sockets.
#![allow(dead_code)]

use meshgate_proxy::http_proxy::Proxy;
use meshgate_proxy::listener::{self, Limits};
use meshgate_proxy::route::table::Workload;
use meshgate_proxy::state::Shared;
use meshgate_proxy::upstream::{Pool, Resolver};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub fn source(kind: &str, name: &str, path: &str) -> Value {
    json!({ "kind": kind, "namespace": "default", "name": name, "path": path })
}

pub fn mesh(mode: &str, access_log: &str) -> Value {
    json!({ "outboundTrafficPolicy": mode, "accessLogFile": access_log, "accessLogEncoding": "TEXT", "accessLogFormat": "", "terminationDrainDurationMs": 0 })
}

pub fn default_retries() -> Value {
    json!({ "attempts": 2, "perTryTimeoutMs": 0, "retryOn": ["connect-failure","refused-stream","unavailable","cancelled","retriable-status-codes"], "retriableStatusCodes": [503], "backoffBaseMs": 1, "backoffMaxMs": 2 })
}

pub fn no_headers() -> Value {
    json!({ "request": { "set": {}, "add": {}, "remove": [] }, "response": { "set": {}, "add": {}, "remove": [] } })
}

/// An HTTP route with defaults for every required field, then `extra` merged in.
pub fn http_route(path: &str, extra: Value) -> Value {
    let mut r = json!({ "source": source("VirtualService", "vs", path), "match": [], "route": [], "timeoutMs": 0, "retries": default_retries(), "headers": no_headers(), "mirrors": [] });
    if let (Some(obj), Some(add)) = (r.as_object_mut(), extra.as_object()) {
        for (k, v) in add {
            obj.insert(k.clone(), v.clone());
        }
    }
    r
}

pub fn destination(host: &str, weight: u32) -> Value {
    json!({ "host": host, "weight": weight, "headers": no_headers() })
}

/// A snapshot with one HTTP+TLS+TCP ServiceEntry per (host, port, upstream) and the given VirtualServices.
pub struct Entry {
    pub host: &'static str,
    pub port: u16,
    pub protocol: &'static str,
    pub upstream: Value,
    pub cidr: Option<String>,
}

pub fn snapshot(mode: &str, access_log: &str, entries: &[Entry], virtual_services: Vec<(Vec<&str>, Value)>) -> Value {
    let mut clusters = serde_json::Map::new();
    let mut listeners: std::collections::BTreeMap<u16, Value> = Default::default();
    let mut hosts = serde_json::Map::new();
    for (i, e) in entries.iter().enumerate() {
        let name = format!("outbound|{}||{}", e.port, e.host);
        clusters.insert(name.clone(), json!({
            "service": e.host, "port": e.port, "protocol": e.protocol, "resolution": "NONE", "location": "MESH_EXTERNAL",
            "endpoints": [], "upstream": e.upstream, "source": source("ServiceEntry", &format!("se{i}"), "spec.ports[0]")
        }));
        let l = listeners.entry(e.port).or_insert_with(|| json!({ "port": e.port, "http": { "exact": {}, "wildcard": [] }, "tls": { "exact": {}, "wildcard": [] }, "tcp": [] }));
        if matches!(e.protocol, "HTTP" | "HTTP2" | "GRPC" | "UNSPECIFIED") {
            l["http"]["exact"][e.host] = json!(name);
        }
        if matches!(e.protocol, "TLS" | "HTTPS" | "UNSPECIFIED") {
            l["tls"]["exact"][e.host] = json!(name);
        }
        if let Some(cidr) = &e.cidr {
            l["tcp"].as_array_mut().expect("array").push(json!({ "cidr": cidr, "cluster": name }));
        }
        hosts.entry(e.host.to_string()).or_insert_with(|| json!([])).as_array_mut().expect("array").push(json!(name));
    }
    let mut vs_list = Vec::new();
    let mut vs_hosts = serde_json::Map::new();
    for (i, (vs_hosts_list, http)) in virtual_services.into_iter().enumerate() {
        for h in &vs_hosts_list {
            vs_hosts.insert(h.to_string(), json!(i));
        }
        vs_list.push(json!({ "source": source("VirtualService", &format!("vs{i}"), "spec"), "hosts": vs_hosts_list, "http": http, "tls": [], "tcp": [] }));
    }
    json!({
        "apiVersion": "meshgate.io/snapshot/v1", "kind": "ProxySnapshot", "version": format!("sha256:{:064x}", rand_version()),
        "mesh": mesh(mode, access_log), "listeners": listeners.into_values().collect::<Vec<_>>(),
        "hosts": { "exact": hosts, "wildcard": [] }, "clusters": clusters,
        "virtualServices": vs_list, "virtualServiceHosts": { "exact": vs_hosts, "wildcard": [] }, "problems": []
    })
}

fn rand_version() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

pub struct Harness {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    pub proxy: Arc<Proxy>,
    _stop: tokio::sync::watch::Sender<bool>,
}

/// A resolver that can only fail fast: its one name server is a closed local port (no lookup leaves the host).
pub fn dead_resolver() -> Resolver {
    let port = std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).map(|a| a.port()).unwrap_or(9);
    Resolver::with_server(SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_millis(300))
}

pub async fn start(snapshot: &Value, original: SocketAddr, limits: Limits) -> Harness {
    start_with(snapshot, original, limits, dead_resolver()).await
}

pub async fn start_with(snapshot: &Value, original: SocketAddr, limits: Limits, resolver: Resolver) -> Harness {
    let shared = Shared::new(Workload { name: "app".into(), namespace: "default".into(), ..Default::default() });
    shared.apply(snapshot.to_string().as_bytes()).expect("snapshot applies");
    let proxy =
        Arc::new(Proxy { shared: shared.clone(), pool: Pool::default(), resolver, draining: AtomicBool::new(false) });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(listener::serve(
        listener,
        proxy.clone(),
        Arc::new(limits),
        Arc::new(move |_: &TcpStream| Some(original)),
        rx,
    ));
    Harness { addr, shared, proxy, _stop: tx }
}

/// Sends raw bytes, reads until the peer closes or `wait` passes; returns what came back and whether it closed.
pub async fn raw(addr: SocketAddr, bytes: &[u8], wait: Duration) -> (String, bool) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

/// An HTTP/1.1 upstream that answers every request with `status` and a body naming the path and Host it saw.
pub async fn upstream(status: u16) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    upstream_fn(move |req| {
        let host = req.headers().get("host").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
        let marker = req.headers().get("x-added").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
        (status, format!("{} {} host={host} x-added={marker}", req.method(), req.uri()))
    })
    .await
}

pub async fn upstream_fn<F>(f: F) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>)
where
    F: Fn(&http::Request<hyper::body::Incoming>) -> (u16, String) + Send + Sync + 'static,
{
    use http_body_util::Full;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = count.clone();
    let f = Arc::new(f);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let f = f.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let (status, body) = f(&req);
                    async move {
                        let mut r = http::Response::new(Full::new(bytes::Bytes::from(body)));
                        *r.status_mut() = http::StatusCode::from_u16(status).expect("status");
                        Ok::<_, std::convert::Infallible>(r)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, count)
}

pub fn original_entry(host: &'static str, port: u16) -> Entry {
    Entry { host, port, protocol: "UNSPECIFIED", upstream: json!({ "kind": "original" }), cidr: None }
}

/// GET through the proxy with a Host header; returns (status line, whole response text).
pub async fn get(addr: SocketAddr, host: &str, path: &str, extra: &str) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
    raw(addr, req.as_bytes(), Duration::from_secs(5)).await.0
}

/// An HTTP/2 connection with prior knowledge (h2c, as gRPC clients speak in clear) to the proxy at `addr`.
pub async fn h2c_connect(
    addr: SocketAddr,
) -> hyper::client::conn::http2::SendRequest<http_body_util::Empty<bytes::Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    sender
}

/// GET `uri` on an h2c connection: the status and the body as text.
pub async fn h2c_get(
    sender: &mut hyper::client::conn::http2::SendRequest<http_body_util::Empty<bytes::Bytes>>,
    uri: &str,
) -> (u16, String) {
    use http_body_util::BodyExt;
    let req = http::Request::builder().uri(uri).body(http_body_util::Empty::<bytes::Bytes>::new()).unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}
