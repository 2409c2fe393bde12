//! Behaviour the Node data path's tests asserted (test/http/proxy-*.test.ts, removed with it) that no other test of
//! meshgate-proxy pinned yet: absolute-form targets, fault delays, per-try timeouts.

mod common;

use common::*;
use meshgate_proxy::listener::Limits;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[tokio::test]
async fn an_absolute_form_target_is_authorised_and_forwarded_by_its_own_authority_not_the_host_header() {
    let (up, count) = upstream(200).await;
    let snap = snapshot("REGISTRY_ONLY", "", &[original_entry("api.test", up.port())], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    let req = format!("GET http://evil.test:{}/x HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n", up.port());
    let (denied, _) = raw(h.addr, req.as_bytes(), Duration::from_secs(3)).await;
    assert!(denied.starts_with("HTTP/1.1 502"), "an allowed Host must not authorise another target: {denied}");
    assert!(denied.contains("evil.test"), "{denied}");
    assert_eq!(count.load(Ordering::SeqCst), 0);
    let req = format!("GET http://api.test:{}/x HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n", up.port());
    let (allowed, _) = raw(h.addr, req.as_bytes(), Duration::from_secs(3)).await;
    assert!(allowed.starts_with("HTTP/1.1 200"), "{allowed}");
    assert!(allowed.contains("GET /x host=api.test"), "the upstream sees the target's authority as Host: {allowed}");
}

#[tokio::test]
async fn a_fault_delay_waits_before_forwarding() {
    let (up, count) = upstream(200).await;
    let route = http_route(
        "spec.http[0]",
        json!({ "route": [destination("api.test", 100)], "fault": { "delay": { "fixedDelayMs": 600, "percent": 100 } } }),
    );
    let snap = snapshot(
        "REGISTRY_ONLY",
        "",
        &[original_entry("api.test", up.port())],
        vec![(vec!["api.test"], json!([route]))],
    );
    let h = start(&snap, up, Limits::default()).await;
    let started = Instant::now();
    let r = get(h.addr, "api.test", "/", "").await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(550) && took < Duration::from_secs(5), "answered after {took:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn per_try_timeout_cuts_each_attempt_and_the_last_one_answers_504() {
    let slow = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let slow_addr = slow.local_addr().expect("addr");
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = attempts.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = slow.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(s); // accepts, never answers
        }
    });
    let retries = json!({ "attempts": 2, "perTryTimeoutMs": 250, "retryOn": ["5xx", "gateway-error", "reset"], "retriableStatusCodes": [], "backoffBaseMs": 1, "backoffMaxMs": 2 });
    let route = http_route("spec.http[0]", json!({ "route": [destination("slow.test", 100)], "retries": retries }));
    let snap = snapshot(
        "REGISTRY_ONLY",
        "",
        &[original_entry("slow.test", slow_addr.port())],
        vec![(vec!["slow.test"], json!([route]))],
    );
    let h = start(&snap, slow_addr, Limits::default()).await;
    let started = Instant::now();
    let r = get(h.addr, "slow.test", "/", "").await;
    let took = started.elapsed();
    assert!(r.starts_with("HTTP/1.1 504"), "{r}");
    assert!(took >= Duration::from_millis(700) && took < Duration::from_secs(5), "3 attempts of 250 ms took {took:?}");
    assert_eq!(attempts.load(Ordering::SeqCst), 3, "the first try and 2 retries, each on a fresh connection");
}
