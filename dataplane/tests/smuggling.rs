//! Request smuggling shapes sent as raw bytes to the real listener, each with the exact answer it gets and who gives
//! it (hyper's HTTP/1 codec, or the proxy's own check in request_framing.rs). docs/dataplane-bad-input.md is the
//! same list in prose; a change of hyper's behaviour fails here first.

mod common;

use common::*;
use meshgate_proxy::listener::Limits;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A proxy in front of an upstream that answers with the framing headers it received.
async fn proxy() -> (Harness, Arc<AtomicUsize>) {
    let (up, count) = upstream_fn(|req| {
        let all = |name: &str| {
            req.headers().get_all(name).iter().map(|v| v.to_str().unwrap_or("?").to_string()).collect::<Vec<_>>()
        };
        (
            200,
            format!(
                "UP {} {} te={:?} cl={:?}",
                req.method(),
                req.uri(),
                all("transfer-encoding"),
                all("content-length")
            ),
        )
    })
    .await;
    let snap = snapshot("ALLOW_ANY", "", &[original_entry("api.test", up.port())], vec![]);
    (start(&snap, up, Limits::default()).await, count)
}

fn head(resp: &str) -> String {
    resp.split("\r\n\r\n").next().unwrap_or("").to_ascii_lowercase()
}

async fn assert_refused(addr: SocketAddr, count: &AtomicUsize, name: &str, request: &str, body_says: &str) {
    let before = count.load(Ordering::SeqCst);
    let (resp, closed) = raw(addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert!(resp.starts_with("HTTP/1.1 400 "), "{name}: {resp:?}");
    assert!(head(&resp).contains("connection: close"), "{name}: no connection: close in {resp:?}");
    assert!(closed, "{name}: connection left open");
    assert!(resp.contains(body_says), "{name}: {resp:?}");
    assert_eq!(count.load(Ordering::SeqCst), before, "{name}: reached the upstream");
}

#[tokio::test]
async fn hyper_refuses_these_with_400_and_close_before_the_handler() {
    let (h, count) = proxy().await;
    let post = |headers: &str, body: &str| format!("POST / HTTP/1.1\r\nHost: api.test\r\n{headers}\r\n{body}");
    let cases = [
        ("conflicting Content-Length", post("Content-Length: 4\r\nContent-Length: 5\r\n", "abcde")),
        ("Content-Length list", post("Content-Length: 5, 5\r\n", "abcde")),
        ("signed Content-Length", post("Content-Length: +5\r\n", "abcde")),
        ("obs-fold (SP)", "GET / HTTP/1.1\r\nHost: api.test\r\nX-A: one\r\n two\r\n\r\n".into()),
        ("obs-fold (HTAB)", "GET / HTTP/1.1\r\nHost: api.test\r\nX-A: one\r\n\ttwo\r\n\r\n".into()),
        ("bare CR in a field", "GET / HTTP/1.1\r\nHost: api.test\r\nX-A: a\rb\r\n\r\n".into()),
        ("space before the colon", post("Transfer-Encoding : chunked\r\n", "3\r\nabc\r\n0\r\n\r\n")),
        ("Transfer-Encoding not ending in chunked", post("Transfer-Encoding: chunked, gzip\r\n", "abc")),
        ("Transfer-Encoding gzip alone", post("Transfer-Encoding: gzip\r\n", "abc")),
        (
            "Transfer-Encoding in HTTP/1.0",
            "POST / HTTP/1.0\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(),
        ),
    ];
    for (name, req) in &cases {
        // hyper's own 400 has no body.
        assert_refused(h.addr, &count, name, req, "").await;
    }
}

/// hyper parses these heads and fails the body while the proxy reads it (up to the 64 KiB replay buffer), before
/// anything is sent upstream.
#[tokio::test]
async fn invalid_chunk_sizes_and_chunk_lines_get_400_and_close() {
    let (h, count) = proxy().await;
    let chunked = |body: &str| format!("POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n{body}");
    let cases = [
        ("not hex", chunked("zz\r\nabc\r\n0\r\n\r\n")),
        ("negative", chunked("-1\r\nabc\r\n0\r\n\r\n")),
        ("0x prefix", chunked("0x3\r\nabc\r\n0\r\n\r\n")),
        ("over 64 bits", chunked("fffffffffffffffff\r\nabc\r\n0\r\n\r\n")),
        ("leading space", chunked(" 3\r\nabc\r\n0\r\n\r\n")),
        ("bare LF after the size", chunked("3\nabc\n0\n\n")),
        ("chunk shorter than its size", chunked("5\r\nabc\r\n0\r\n\r\n")),
    ];
    for (name, req) in &cases {
        assert_refused(h.addr, &count, name, req, "meshgate: bad request body framing").await;
    }
}

/// A bad chunk after the replay buffer: the body is already streaming upstream, and the client still gets a 400 and
/// a closed connection (it was a 503 that blamed the upstream).
#[tokio::test]
async fn a_bad_chunk_past_the_replay_buffer_is_400_and_close() {
    let (h, _) = proxy().await;
    let big = "a".repeat(70_000);
    let req = format!(
        "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{big}\r\nzz\r\n",
        big.len()
    );
    let (resp, closed) = raw(h.addr, req.as_bytes(), Duration::from_secs(5)).await;
    assert!(resp.starts_with("HTTP/1.1 400 "), "{resp:?}");
    assert!(resp.contains("meshgate: bad request body framing"), "{resp:?}");
    assert!(head(&resp).contains("connection: close"), "{resp:?}");
    assert!(closed);
}

/// hyper decodes `chunked` once and Transfer-Encoding is hop-by-hop: another coding would reach the upstream
/// silently dropped, and a repeated chunked decoded only once. The proxy refuses them (request_framing.rs).
#[tokio::test]
async fn transfer_codings_other_than_one_chunked_get_400_from_the_proxy() {
    let (h, count) = proxy().await;
    let body = "3\r\nabc\r\n0\r\n\r\n";
    let cases = [
        ("gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n"),
        ("chunked, chunked", "Transfer-Encoding: chunked, chunked\r\n"),
        ("two Transfer-Encoding lines", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
    ];
    for (name, headers) in cases {
        let req = format!("POST / HTTP/1.1\r\nHost: api.test\r\n{headers}\r\n{body}");
        assert_refused(h.addr, &count, name, &req, "Transfer-Encoding other than a single chunked").await;
    }
}

/// CL+TE, in either order: hyper drops Content-Length before the handler sees the request (so the proxy cannot
/// answer 400 as Envoy does), frames the body by chunked alone (RFC 9112 section 6.3) and closes the connection
/// after the response. The bytes behind the chunked body are never read as a second request.
#[tokio::test]
async fn cl_te_is_framed_by_chunked_alone_and_the_connection_closed() {
    let (h, count) = proxy().await;
    for (order, headers) in [
        ("CL first", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"),
        ("TE first", "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"),
    ] {
        let before = count.load(Ordering::SeqCst);
        let req = format!(
            "POST / HTTP/1.1\r\nHost: api.test\r\n{headers}\r\n3\r\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: api.test\r\n\r\n"
        );
        let (resp, closed) = raw(h.addr, req.as_bytes(), Duration::from_secs(3)).await;
        assert!(resp.starts_with("HTTP/1.1 200 "), "{order}: {resp:?}");
        assert!(head(&resp).contains("connection: close"), "{order}: {resp:?}");
        assert!(closed, "{order}: connection kept open");
        // The upstream got the 3-byte chunked body as a sized one, and no Content-Length of 4.
        assert!(resp.contains("UP POST / te=[] cl=[\"3\"]"), "{order}: {resp:?}");
        assert!(!resp.contains("smuggled"), "{order}: {resp:?}");
        assert_eq!(resp.matches("HTTP/1.1 ").count(), 1, "{order}: {resp:?}");
        assert_eq!(count.load(Ordering::SeqCst), before + 1, "{order}");
    }
}

/// Identical Content-Length lines: hyper accepts them (RFC 9110 section 8.6 allows it) and keeps one, so the
/// handler cannot tell. The framing is not ambiguous: the next request on the connection starts where both say.
#[tokio::test]
async fn identical_duplicate_content_lengths_frame_as_one() {
    let (h, count) = proxy().await;
    let req = "POST / HTTP/1.1\r\nHost: api.test\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabcGET /second HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n";
    let (resp, closed) = raw(h.addr, req.as_bytes(), Duration::from_secs(3)).await;
    assert!(closed);
    assert_eq!(resp.matches("HTTP/1.1 200 ").count(), 2, "{resp:?}");
    assert!(resp.contains("UP POST / te=[] cl=[\"3\"]"), "one Content-Length upstream: {resp:?}");
    assert!(resp.contains("UP GET /second "), "{resp:?}");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

/// Chunk sizes with trailing whitespace and chunk extensions are valid chunked syntax: forwarded, body intact.
#[tokio::test]
async fn chunk_extensions_and_trailing_whitespace_are_accepted() {
    let (h, _) = proxy().await;
    for (name, size) in [("extension", "3;name=value"), ("trailing space", "3 ")] {
        let req = format!(
            "POST / HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{size}\r\nabc\r\n0\r\n\r\n"
        );
        let (resp, _) = raw(h.addr, req.as_bytes(), Duration::from_secs(3)).await;
        assert!(resp.starts_with("HTTP/1.1 200 ") && resp.contains("cl=[\"3\"]"), "{name}: {resp:?}");
    }
}

/// Bare LF as the head's line ending: httparse reads it as CRLF (RFC 9112 section 2.2 lets a recipient do so) and
/// hyper never shows the handler the original bytes, so the proxy cannot refuse it. It cannot desync either: the
/// upstream receives the head re-serialised with CRLF. This test reads the upstream's raw bytes to prove it.
#[tokio::test]
async fn bare_lf_heads_are_accepted_and_re_serialised_with_crlf() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = l.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<Vec<u8>>();
    tokio::spawn(async move {
        let Ok((mut s, _)) = l.accept().await else { return };
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // Bounded: until the head and the 3-byte body are in, or 3 s.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while !got.windows(7).any(|w| w == b"\r\n\r\nabc") {
            match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").await;
        let _ = tx.send(got);
    });
    let snap = snapshot("ALLOW_ANY", "", &[original_entry("api.test", up.port())], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    let (resp, _) =
        raw(h.addr, b"POST /lf HTTP/1.1\nHost: api.test\nContent-Length: 3\n\nabc", Duration::from_secs(3)).await;
    assert!(resp.starts_with("HTTP/1.1 200 "), "{resp:?}");
    let upstream_saw = String::from_utf8(rx.await.expect("upstream read")).expect("utf-8");
    assert!(upstream_saw.starts_with("POST /lf HTTP/1.1\r\n"), "{upstream_saw:?}");
    assert!(upstream_saw.ends_with("\r\n\r\nabc"), "{upstream_saw:?}");
    assert_eq!(
        upstream_saw.matches('\n').count(),
        upstream_saw.matches("\r\n").count(),
        "a bare LF upstream: {upstream_saw:?}"
    );
}

#[tokio::test]
async fn two_host_headers_get_400_from_the_proxy() {
    let (h, count) = proxy().await;
    let req = "GET / HTTP/1.1\r\nHost: api.test\r\nHost: evil.test\r\n\r\n";
    assert_refused(h.addr, &count, "two Hosts", req, "one Host header is required").await;
}
