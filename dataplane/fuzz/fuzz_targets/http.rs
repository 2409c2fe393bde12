//! Bytes from an app to the outbound listener once sniffed as HTTP/1: hyper's codec with the proxy's limits, then
//! the proxy's handler (framing check, authority, policy, VirtualService matching, local answers), in memory.
//! The snapshot only answers locally (redirect, direct response, fault abort, CORS preflight, 404, 502 for other
//! hosts), so no input ever reaches a network. Every connection must end with nothing or HTTP/1.x responses, within
//! 5 s (a stall panics), whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshgate_proxy::http_proxy::{ConnInfo, Proxy};
use meshgate_proxy::listener::{serve_http, Limits};
use meshgate_proxy::route::table::Workload;
use meshgate_proxy::state::Shared;
use meshgate_proxy::upstream::{Pool, Resolver};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn source(path: &str) -> Value {
    json!({ "kind": "VirtualService", "namespace": "default", "name": "vs", "path": path })
}

fn route(path: &str, matches: Value, action: Value) -> Value {
    let none = json!({ "set": {}, "add": {}, "remove": [] });
    let mut r = json!({
        "source": source(path), "match": matches, "route": [], "timeoutMs": 0,
        "retries": { "attempts": 0, "perTryTimeoutMs": 0, "retryOn": [], "retriableStatusCodes": [], "backoffBaseMs": 1, "backoffMaxMs": 1 },
        "headers": { "request": none, "response": none }, "mirrors": []
    });
    for (k, v) in action.as_object().into_iter().flatten() {
        r[k] = v.clone();
    }
    r
}

fn http_match(fields: Value) -> Value {
    let mut m = json!({ "headers": {}, "withoutHeaders": {}, "queryParams": {}, "sourceLabels": {} });
    for (k, v) in fields.as_object().into_iter().flatten() {
        m[k] = v.clone();
    }
    json!([m])
}

fn snapshot() -> Value {
    let cluster = "outbound|80||api.example.com";
    let ok = json!({ "directResponse": { "status": 200, "body": { "string": "ok" } } });
    let routes = json!([
        route(
            "spec.http[0]",
            http_match(json!({ "uri": { "prefix": "/old" } })),
            json!({ "redirect": { "uri": "/new", "code": 301 } })
        ),
        route(
            "spec.http[1]",
            http_match(json!({ "uri": { "regex": "/v[0-9]+/[a-z]+" }, "method": { "exact": "GET" } })),
            ok.clone()
        ),
        route(
            "spec.http[2]",
            http_match(
                json!({ "headers": { "x-user": { "regex": "a.*e" } }, "queryParams": { "v": { "exact": "2" } } })
            ),
            // Aborted every time, so its destination is never dialled.
            json!({ "fault": { "abort": { "httpStatus": 429, "percent": 100 } }, "route": [{ "host": "api.example.com", "weight": 100, "headers": { "request": { "set": {}, "add": {}, "remove": [] }, "response": { "set": {}, "add": {}, "remove": [] } } }] })
        ),
        route(
            "spec.http[3]",
            http_match(json!({ "authority": { "prefix": "api" }, "uri": { "prefix": "/cors", "ignoreCase": true } })),
            json!({ "directResponse": { "status": 204 }, "corsPolicy": { "allowOrigins": [{ "regex": "https://.*\\.example" }], "allowMethods": ["GET"], "allowHeaders": [], "exposeHeaders": [], "allowCredentials": true, "unmatchedPreflights": "FORWARD" } })
        ),
        route("spec.http[4]", http_match(json!({ "withoutHeaders": { "x-deny": { "present": true } } })), ok),
    ]);
    json!({
        "apiVersion": "meshgate.io/snapshot/v1", "kind": "ProxySnapshot", "version": "sha256:fuzz",
        "mesh": { "outboundTrafficPolicy": "REGISTRY_ONLY", "accessLogFile": "", "accessLogEncoding": "TEXT", "accessLogFormat": "", "terminationDrainDurationMs": 0 },
        "listeners": [{ "port": 80, "http": { "exact": { "api.example.com": cluster }, "wildcard": [] }, "tls": { "exact": {}, "wildcard": [] }, "tcp": [] }],
        "hosts": { "exact": { "api.example.com": [cluster] }, "wildcard": [] },
        "clusters": { cluster: {
            "service": "api.example.com", "port": 80, "protocol": "HTTP", "resolution": "NONE", "location": "MESH_EXTERNAL",
            "endpoints": [], "upstream": { "kind": "original" },
            "source": { "kind": "ServiceEntry", "namespace": "default", "name": "se", "path": "spec.ports[0]" }
        } },
        "virtualServices": [{ "source": source("spec"), "hosts": ["api.example.com"], "http": routes, "tls": [], "tcp": [] }],
        "virtualServiceHosts": { "exact": { "api.example.com": 0 }, "wildcard": [] },
        "problems": []
    })
}

struct World {
    runtime: tokio::runtime::Runtime,
    proxy: Arc<Proxy>,
    limits: Limits,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let shared = Shared::new(Workload { name: "app".into(), namespace: "default".into(), ..Default::default() });
        if let Err(e) = shared.apply(snapshot().to_string().as_bytes()) {
            panic!("the fuzz snapshot must load: {e}");
        }
        // Never asked: every answer is local. Its one server is the discard port on loopback.
        let resolver = Resolver::with_server(SocketAddr::from(([127, 0, 0, 1], 9)), Duration::from_millis(100));
        let proxy = Arc::new(Proxy { shared, pool: Pool::default(), resolver, draining: AtomicBool::new(false) });
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(r) => r,
            Err(e) => panic!("runtime: {e}"),
        };
        World { runtime, proxy, limits: Limits { header_timeout: Duration::from_secs(2), ..Limits::default() } }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let conn = Arc::new(ConnInfo {
        original: SocketAddr::from(([127, 0, 0, 1], 80)),
        remote: SocketAddr::from(([127, 0, 0, 1], 40000)),
        h2: false,
    });
    let out = w.runtime.block_on(async {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let serve = serve_http(w.proxy.clone(), &w.limits, server, conn);
        let talk = async move {
            let _ = client.write_all(data).await;
            let _ = client.shutdown().await;
            let mut out = Vec::new();
            let _ = client.read_to_end(&mut out).await;
            out
        };
        let both = async { tokio::join!(serve, talk).1 };
        match tokio::time::timeout(Duration::from_secs(5), both).await {
            Ok(out) => out,
            Err(_) => panic!("connection not finished after 5 s"),
        }
    });
    let response = out.is_empty() || out.starts_with(b"HTTP/1.1 ") || out.starts_with(b"HTTP/1.0 ");
    assert!(response, "{:?}", String::from_utf8_lossy(&out));
});
