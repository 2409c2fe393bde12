//! The HTTP path end to end on loopback: policy, routing, local answers, retries, timeouts, and bad input.

mod common;

use common::*;
use meshgate_proxy::listener::Limits;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn registry_only_forwards_a_known_host_and_denies_an_unknown_one_with_502() {
    let (up, _) = upstream(200).await;
    let snap = snapshot("REGISTRY_ONLY", "", &[original_entry("api.test", up.port())], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    let ok = get(h.addr, "api.test", "/x", "").await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("GET /x host=api.test"), "{ok}");
    let denied = get(h.addr, "evil.test", "/", "").await;
    assert!(denied.starts_with("HTTP/1.1 502"), "{denied}");
    assert!(denied.contains("evil.test"), "{denied}");
    let metrics = h.shared.metrics.encode();
    assert!(metrics.contains("meshgate_proxy_denied_total{protocol=\"http\",destination=\"evil.test:"), "{metrics}");
    assert!(metrics.contains("istio_requests_total{reporter=\"source\",source_workload=\"app\",source_workload_namespace=\"default\",destination_service=\"api.test\""), "{metrics}");
}

#[tokio::test]
async fn a_request_matching_no_route_of_its_virtual_service_gets_404() {
    let (up, count) = upstream(200).await;
    let route = http_route(
        "spec.http[0]",
        json!({ "match": [{ "headers": {}, "withoutHeaders": {}, "queryParams": { "v": { "exact": "2" } }, "sourceLabels": {} }], "route": [destination("api.test", 100)] }),
    );
    let snap =
        snapshot("ALLOW_ANY", "", &[original_entry("api.test", up.port())], vec![(vec!["api.test"], json!([route]))]);
    let h = start(&snap, up, Limits::default()).await;
    let hit = get(h.addr, "api.test", "/a?v=2", "").await;
    assert!(hit.starts_with("HTTP/1.1 200"), "{hit}");
    // queryParams alone must not catch every request (the Node proxy's old bug).
    let miss = get(h.addr, "api.test", "/a?v=3", "").await;
    assert!(miss.starts_with("HTTP/1.1 404"), "{miss}");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn redirect_direct_response_rewrite_and_header_operations() {
    let (up, _) = upstream(200).await;
    let routes = json!([
        http_route(
            "spec.http[0]",
            json!({ "match": [{ "uri": { "prefix": "/old" }, "headers": {}, "withoutHeaders": {}, "queryParams": {}, "sourceLabels": {} }], "redirect": { "uri": "/new", "code": 302 } })
        ),
        http_route(
            "spec.http[1]",
            json!({ "match": [{ "uri": { "exact": "/teapot" }, "headers": {}, "withoutHeaders": {}, "queryParams": {}, "sourceLabels": {} }], "directResponse": { "status": 418, "body": { "bytes": "c2hvcnQgYW5kIHN0b3V0" } } })
        ),
        http_route(
            "spec.http[2]",
            json!({
                "match": [{ "uri": { "regex": "/v1/[a-z]+" }, "headers": {}, "withoutHeaders": {}, "queryParams": {}, "sourceLabels": {} }],
                "rewrite": { "uriRegex": { "match": "^/v1/(.*)$", "rewrite": "/v2/\\1" } },
                "route": [destination("api.test", 100)],
                "headers": { "request": { "set": { "x-added": "yes" }, "add": {}, "remove": [] }, "response": { "set": { "x-resp": "1" }, "add": {}, "remove": [] } }
            })
        ),
        http_route("spec.http[3]", json!({ "route": [destination("api.test", 100)] })),
    ]);
    let snap =
        snapshot("REGISTRY_ONLY", "", &[original_entry("api.test", up.port())], vec![(vec!["api.test"], routes)]);
    let h = start(&snap, up, Limits::default()).await;
    let r = get(h.addr, "api.test", "/old/x", "").await;
    assert!(r.starts_with("HTTP/1.1 302"), "{r}");
    assert!(r.to_ascii_lowercase().contains("location: http://api.test/new"), "{r}");
    let r = get(h.addr, "api.test", "/teapot", "").await;
    assert!(r.starts_with("HTTP/1.1 418") && r.ends_with("short and stout"), "{r}");
    let r = get(h.addr, "api.test", "/v1/items?q=1", "").await;
    assert!(r.contains("GET /v2/items?q=1 host=api.test x-added=yes"), "{r}");
    assert!(r.to_ascii_lowercase().contains("x-resp: 1"), "{r}");
}

#[tokio::test]
async fn istio_default_retries_retry_a_503_and_a_route_timeout_answers_504() {
    let (flaky, count) = upstream(503).await;
    let snap = snapshot("REGISTRY_ONLY", "", &[original_entry("api.test", flaky.port())], vec![]);
    let h = start(&snap, flaky, Limits::default()).await;
    let r = get(h.addr, "api.test", "/", "").await;
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    // Istio's default policy: 2 retries on retriable-status-codes (503): 3 attempts in all.
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);

    let slow = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow_addr = slow.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = slow.accept().await {
            held.push(s); // never answers
        }
    });
    let route = http_route("spec.http[0]", json!({ "route": [destination("slow.test", 100)], "timeoutMs": 300 }));
    let snap = snapshot(
        "REGISTRY_ONLY",
        "",
        &[original_entry("slow.test", slow_addr.port())],
        vec![(vec!["slow.test"], json!([route]))],
    );
    let h = start(&snap, slow_addr, Limits::default()).await;
    let started = std::time::Instant::now();
    let r = get(h.addr, "slow.test", "/", "").await;
    assert!(r.starts_with("HTTP/1.1 504"), "{r}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn fault_abort_with_grpc_status_and_http_status() {
    let (up, count) = upstream(200).await;
    let routes = json!([
        http_route(
            "spec.http[0]",
            json!({ "match": [{ "uri": { "prefix": "/grpc" }, "headers": {}, "withoutHeaders": {}, "queryParams": {}, "sourceLabels": {} }], "route": [destination("api.test", 100)], "fault": { "abort": { "grpcStatus": 14, "percent": 100 } } })
        ),
        http_route(
            "spec.http[1]",
            json!({ "route": [destination("api.test", 100)], "fault": { "abort": { "httpStatus": 429, "percent": 100 } } })
        ),
    ]);
    let snap =
        snapshot("REGISTRY_ONLY", "", &[original_entry("api.test", up.port())], vec![(vec!["api.test"], routes)]);
    let h = start(&snap, up, Limits::default()).await;
    let r = get(h.addr, "api.test", "/grpc.Svc/Call", "").await;
    assert!(r.starts_with("HTTP/1.1 200") && r.contains("grpc-status: 14"), "{r}");
    let r = get(h.addr, "api.test", "/", "").await;
    assert!(r.starts_with("HTTP/1.1 429"), "{r}");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn dns_failure_is_a_503() {
    let snap = snapshot(
        "REGISTRY_ONLY",
        "",
        &[Entry {
            host: "nx.test",
            port: 80,
            protocol: "HTTP",
            upstream: json!({ "kind": "dns", "host": null, "port": 80 }),
            cidr: None,
        }],
        vec![],
    );
    let h = start(&snap, "127.0.0.1:80".parse().unwrap(), Limits::default()).await;
    let r = get(h.addr, "nx.test", "/", "").await;
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    assert!(r.contains("DNS"), "{r}");
}

async fn bad(request: &str) -> (String, bool) {
    let (up, _) = upstream(200).await;
    let snap = snapshot("ALLOW_ANY", "", &[original_entry("api.test", up.port())], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    raw(h.addr, request.as_bytes(), Duration::from_secs(3)).await
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let big = "a".repeat(70 * 1024);
    let (resp, closed) = bad(&format!("GET / HTTP/1.1\r\nHost: api.test\r\nX-Big: {big}\r\n\r\n")).await;
    assert!(resp.starts_with("HTTP/1.1 431"), "{resp:?}");
    assert!(closed);
    let many: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let (resp, _) = bad(&format!("GET / HTTP/1.1\r\nHost: api.test\r\n{many}\r\n")).await;
    assert!(resp.starts_with("HTTP/1.1 431"), "{resp:?}");
}

#[tokio::test]
async fn slowloris_is_closed_at_the_header_timeout() {
    let (up, _) = upstream(200).await;
    let snap = snapshot("ALLOW_ANY", "", &[original_entry("api.test", up.port())], vec![]);
    let limits = Limits { header_timeout: Duration::from_millis(500), ..Limits::default() };
    let h = start(&snap, up, limits).await;
    let started = std::time::Instant::now();
    // Headers that never end: the connection must be closed at the timeout, not held.
    let (_, closed) = raw(h.addr, b"GET / HTTP/1.1\r\nHost: api.test\r\nX-Slow: a", Duration::from_secs(5)).await;
    assert!(closed, "slow client still connected after 5 s");
    assert!(started.elapsed() < Duration::from_secs(3), "closed only after {:?}", started.elapsed());
}

#[tokio::test]
async fn upstream_reset_mid_body_is_a_failure_never_a_short_200() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part").await;
            let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
            drop(s); // RST
        }
    });
    let snap = snapshot("ALLOW_ANY", "", &[original_entry("api.test", addr.port())], vec![]);
    let h = start(&snap, addr, Limits::default()).await;
    let (resp, closed) = raw(h.addr, b"GET / HTTP/1.1\r\nHost: api.test\r\n\r\n", Duration::from_secs(5)).await;
    assert!(closed);
    // Either no 200 at all, or a 200 whose body is cut short of its Content-Length: the client sees a failure.
    if resp.starts_with("HTTP/1.1 200") {
        let body = resp.split("\r\n\r\n").nth(1).unwrap_or("");
        assert!(body.len() < 100, "a complete 200 after an upstream reset: {resp:?}");
    } else {
        assert!(resp.starts_with("HTTP/1.1 5") || resp.is_empty(), "{resp:?}");
    }
}

#[tokio::test]
async fn h2c_prior_knowledge_is_routed_by_authority() {
    let (up, _) = upstream(200).await;
    let snap = snapshot("REGISTRY_ONLY", "", &[original_entry("api.test", up.port())], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    let mut sender = h2c_connect(h.addr).await;
    let (status, body) = h2c_get(&mut sender, "http://api.test/h2").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("GET http://api.test/h2"), "{body:?}");
    assert_eq!(h2c_get(&mut sender, "http://evil.test/").await.0, 502);
}

#[tokio::test]
async fn mirrors_are_fire_and_forget_with_the_shadow_authority() {
    let (up, _) = upstream(200).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let (mirror_addr, _) = upstream_fn(move |req| {
        let host = req.headers().get("host").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
        let _ = tx.send(format!("{} {host}", req.uri()));
        (200, String::new())
    })
    .await;
    let mirror_entry = Entry {
        host: "mirror.test",
        port: up.port(),
        protocol: "HTTP",
        upstream: json!({ "kind": "static", "endpoints": [{ "address": "127.0.0.1", "port": mirror_addr.port() }] }),
        cidr: None,
    };
    let route = http_route(
        "spec.http[0]",
        json!({ "route": [destination("api.test", 100)], "mirrors": [{ "host": "mirror.test", "percent": 100 }] }),
    );
    let snap = snapshot(
        "REGISTRY_ONLY",
        "",
        &[original_entry("api.test", up.port()), mirror_entry],
        vec![(vec!["api.test"], json!([route]))],
    );
    let h = start(&snap, up, Limits::default()).await;
    let r = get(h.addr, "api.test", "/m?x=1", "").await;
    assert!(r.starts_with("HTTP/1.1 200") && r.contains("GET /m?x=1 host=api.test"), "{r}");
    let seen = tokio::time::timeout(Duration::from_secs(3), rx.recv()).await.expect("mirror in time").expect("mirror");
    assert_eq!(seen, "/m?x=1 api.test-shadow");
}

#[tokio::test]
async fn cors_preflight_is_answered_and_responses_carry_the_allowed_origin() {
    let (up, count) = upstream(200).await;
    let cors = json!({ "allowOrigins": [{ "exact": "https://app.example" }], "allowMethods": ["GET", "POST"], "allowHeaders": ["x-token"], "exposeHeaders": ["x-trace"], "maxAgeMs": 60000, "allowCredentials": true, "unmatchedPreflights": "FORWARD" });
    let route = http_route("spec.http[0]", json!({ "route": [destination("api.test", 100)], "corsPolicy": cors }));
    let snap = snapshot(
        "REGISTRY_ONLY",
        "",
        &[original_entry("api.test", up.port())],
        vec![(vec!["api.test"], json!([route]))],
    );
    let h = start(&snap, up, Limits::default()).await;
    let pre = raw(h.addr, b"OPTIONS /x HTTP/1.1\r\nHost: api.test\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n", Duration::from_secs(3)).await.0.to_ascii_lowercase();
    assert!(pre.starts_with("http/1.1 200"), "{pre}");
    assert!(
        pre.contains("access-control-allow-origin: https://app.example")
            && pre.contains("access-control-allow-methods: get,post")
            && pre.contains("access-control-max-age: 60"),
        "{pre}"
    );
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 0, "a matching preflight is answered by the proxy");
    let r = get(h.addr, "api.test", "/x", "Origin: https://app.example\r\n").await.to_ascii_lowercase();
    assert!(
        r.contains("access-control-allow-origin: https://app.example")
            && r.contains("access-control-expose-headers: x-trace"),
        "{r}"
    );
    let other = get(h.addr, "api.test", "/x", "Origin: https://evil.example\r\n").await.to_ascii_lowercase();
    assert!(!other.contains("access-control-allow-origin"), "{other}");
}

#[test]
fn a_snapshot_with_a_catastrophic_regex_is_refused_and_the_previous_one_kept() {
    let good = snapshot("REGISTRY_ONLY", "", &[original_entry("api.test", 80)], vec![]);
    let bad_route = http_route(
        "spec.http[0]",
        json!({ "match": [{ "uri": { "regex": "((a{100}){100}){100}" }, "headers": {}, "withoutHeaders": {}, "queryParams": {}, "sourceLabels": {} }], "route": [destination("api.test", 100)] }),
    );
    let bad =
        snapshot("ALLOW_ANY", "", &[original_entry("api.test", 80)], vec![(vec!["api.test"], json!([bad_route]))]);
    let shared = meshgate_proxy::state::Shared::new(Default::default());
    shared.apply(good.to_string().as_bytes()).expect("good snapshot");
    let started = std::time::Instant::now();
    let err = shared.apply(bad.to_string().as_bytes()).err().expect("refused");
    assert!(started.elapsed() < Duration::from_secs(2), "refusing took {:?}", started.elapsed());
    assert!(err.contains("spec.http[0].match[0].uri.regex") && err.contains("invalid repeat count"), "{err}");
    assert_eq!(shared.current().expect("kept").table.mode_name(), "REGISTRY_ONLY");
    assert_eq!(shared.rejected_count(), 1);
}

#[tokio::test]
async fn upstream_connections_are_reused_across_requests() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = l.local_addr().unwrap();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                        bytes::Bytes::from("ok"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    let snap = snapshot("REGISTRY_ONLY", "", &[original_entry("api.test", up.port())], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    for i in 0..20 {
        let r = get(h.addr, "api.test", &format!("/{i}"), "").await;
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "20 sequential requests should share one upstream connection");
}

/// The upstream's HTTP version follows the cluster's protocol (HTTP: HTTP/1.1, GRPC/HTTP2: HTTP/2), not the client's.
#[tokio::test]
async fn h2c_client_to_an_http1_only_upstream_of_an_http_cluster() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                    let text = format!("{:?} {}", req.version(), req.uri());
                    Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                        bytes::Bytes::from(text),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    let entry = Entry {
        host: "api.test",
        port: up.port(),
        protocol: "HTTP",
        upstream: json!({ "kind": "original" }),
        cidr: None,
    };
    let snap = snapshot("REGISTRY_ONLY", "", &[entry], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    let mut sender = h2c_connect(h.addr).await;
    let (status, body) = h2c_get(&mut sender, "http://api.test/v").await;
    assert_eq!(status, 200);
    assert_eq!(body, "HTTP/1.1 /v");
}

#[tokio::test]
async fn allow_any_dynamic_dns_sends_an_unknown_host_to_its_dns_answer_not_the_dialled_address() {
    // The dialled address is a live upstream; the resolver can only fail. ALLOW_ANY reaches the upstream, while
    // ALLOW_ANY_DYNAMIC_DNS looks the Host up (and answers 503 when that fails), so the two modes differ on this path.
    let (up, _) = upstream(200).await;
    let allow_any = start(&snapshot("ALLOW_ANY", "", &[], vec![]), up, Limits::default()).await;
    assert!(get(allow_any.addr, "unknown.test", "/", "").await.starts_with("HTTP/1.1 200"));
    let dynamic = start(&snapshot("ALLOW_ANY_DYNAMIC_DNS", "", &[], vec![]), up, Limits::default()).await;
    let resolved = get(dynamic.addr, "unknown.test", "/", "").await;
    assert!(resolved.starts_with("HTTP/1.1 503"), "{resolved}");
    assert!(resolved.to_lowercase().contains("dns"), "{resolved}");
    // An IP-literal Host has nothing to resolve: the original destination, as ALLOW_ANY.
    assert!(get(dynamic.addr, "192.0.2.7", "/", "").await.starts_with("HTTP/1.1 200"));
}
