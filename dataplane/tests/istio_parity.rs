//! What Envoy under Istio adds that clients and dashboards rely on: the `x-envoy-decorator-operation` header on
//! forwarded requests, and the catch-all cluster names (BlackHoleCluster, PassthroughCluster) as the destination
//! labels of refused and passed-through traffic.

mod common;

use common::*;
use meshgate_proxy::listener::Limits;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An upstream that answers with the decorator header it received (`-` when absent).
async fn decorator_echo() -> std::net::SocketAddr {
    upstream_fn(|req| {
        let op = req.headers().get("x-envoy-decorator-operation").and_then(|v| v.to_str().ok()).unwrap_or("-");
        (200, format!("op={op}"))
    })
    .await
    .0
}

fn with_uri(path: &str, uri: serde_json::Value, route: serde_json::Value) -> serde_json::Value {
    http_route(
        path,
        json!({ "match": [{ "uri": uri, "headers": {}, "withoutHeaders": {}, "queryParams": {}, "sourceLabels": {} }], "route": route }),
    )
}

#[tokio::test]
async fn a_service_entry_host_without_virtual_service_gets_host_port_star() {
    let up = decorator_echo().await;
    let snap = snapshot("REGISTRY_ONLY", "", &[original_entry("api.test", up.port())], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    let r = get(h.addr, "api.test", "/headers", "").await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.ends_with(&format!("op=api.test:{}/*", up.port())), "{r}");
    // A client cannot choose the value: the proxy's own replaces it.
    let r = get(h.addr, "api.test", "/", "x-envoy-decorator-operation: forged\r\n").await;
    assert!(r.ends_with(&format!("op=api.test:{}/*", up.port())), "{r}");
}

#[tokio::test]
async fn virtual_service_routes_name_their_destination_and_matched_path_or_the_virtual_service_when_split() {
    let up = decorator_echo().await;
    let routes = json!([
        with_uri("spec.http[0]", json!({ "prefix": "/v1" }), json!([destination("api.test", 100)])),
        with_uri("spec.http[1]", json!({ "exact": "/exact" }), json!([destination("api.test", 100)])),
        with_uri("spec.http[2]", json!({ "regex": "/r/[0-9]+" }), json!([destination("api.test", 100)])),
        with_uri(
            "spec.http[3]",
            json!({ "prefix": "/split" }),
            json!([destination("api.test", 50), destination("api.test", 50)])
        ),
        http_route("spec.http[4]", json!({ "route": [destination("api.test", 100)] })),
    ]);
    let snap =
        snapshot("REGISTRY_ONLY", "", &[original_entry("api.test", up.port())], vec![(vec!["api.test"], routes)]);
    let h = start(&snap, up, Limits::default()).await;
    let port = up.port();
    for (path, want) in [
        ("/v1/items", format!("api.test:{port}/v1*")),
        ("/exact", format!("api.test:{port}/exact")),
        ("/r/42", format!("api.test:{port}/r/[0-9]+")),
        ("/split/x", format!("vs0:{port}/split*")),
        ("/other", format!("api.test:{port}/*")),
    ] {
        let r = get(h.addr, "api.test", path, "").await;
        assert!(r.starts_with("HTTP/1.1 200"), "{path}: {r}");
        assert!(r.ends_with(&format!("op={want}")), "{path}: want {want}: {r}");
    }
}

#[tokio::test]
async fn passthrough_requests_carry_no_decorator_and_are_counted_as_passthrough_cluster() {
    let up = decorator_echo().await;
    let snap = snapshot("ALLOW_ANY", "", &[], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    let r = get(h.addr, "unknown.test", "/", "").await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.ends_with("op=-"), "{r}");
    let metrics = h.shared.metrics.encode();
    assert!(
        metrics.contains("destination_service=\"PassthroughCluster\",destination_service_name=\"PassthroughCluster\",request_protocol=\"http\",response_code=\"200\""),
        "{metrics}"
    );
    assert!(!metrics.contains("\"unknown\""), "{metrics}");
}

#[tokio::test]
async fn refused_http_requests_are_counted_as_black_hole_cluster() {
    let up = decorator_echo().await;
    let snap = snapshot("REGISTRY_ONLY", "", &[], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    let r = get(h.addr, "evil.test", "/", "").await;
    assert!(r.starts_with("HTTP/1.1 502"), "{r}");
    let metrics = h.shared.metrics.encode();
    assert!(
        metrics.contains("istio_requests_total{reporter=\"source\",source_workload=\"app\",source_workload_namespace=\"default\",destination_service=\"BlackHoleCluster\",destination_service_name=\"BlackHoleCluster\",request_protocol=\"http\",response_code=\"502\""),
        "{metrics}"
    );
}

/// Sends opaque bytes (sniffed as TCP) and reads until the proxy or the upstream closes.
async fn opaque_tcp(addr: std::net::SocketAddr) {
    let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
    c.write_all(b"\x00\x01binary").await.expect("write");
    c.shutdown().await.expect("half-close");
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), c.read_to_end(&mut rest)).await;
}

#[tokio::test]
async fn tcp_to_unknown_addresses_is_counted_as_black_hole_or_passthrough_cluster() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let up = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink).await;
        }
    });
    for (mode, cluster) in [("REGISTRY_ONLY", "BlackHoleCluster"), ("ALLOW_ANY", "PassthroughCluster")] {
        let h = start(&snapshot(mode, "", &[], vec![]), up, Limits::default()).await;
        opaque_tcp(h.addr).await;
        let want = format!(
            "destination_service=\"{cluster}\",destination_service_name=\"{cluster}\",request_protocol=\"tcp\""
        );
        let mut metrics = String::new();
        // The connection is reported once both directions are done: poll briefly for the closed counter.
        for _ in 0..50 {
            metrics = h.shared.metrics.encode();
            if metrics.lines().any(|l| l.starts_with("istio_tcp_connections_closed_total{") && l.contains(&want)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for family in ["istio_tcp_connections_opened_total{", "istio_tcp_connections_closed_total{"] {
            assert!(metrics.lines().any(|l| l.starts_with(family) && l.contains(&want)), "{mode}: {family}: {metrics}");
        }
    }
}
