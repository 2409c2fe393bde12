//! TLS (by the ClientHello's SNI, from a real `openssl s_client`) and TCP (by address, including server-first
//! protocols that send nothing until the server speaks) through the real listener.

mod common;

use common::*;
use meshgate_proxy::listener::Limits;
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An upstream that records the first bytes it receives on each connection.
async fn recorder() -> (SocketAddr, tokio::sync::mpsc::Receiver<Vec<u8>>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
                    let _ = tx.send(buf[..n].to_vec()).await;
                }
            });
        }
    });
    (addr, rx)
}

/// Runs `openssl s_client` against the proxy with this SNI; returns once it exits (bounded).
async fn openssl_hello(proxy: SocketAddr, sni: &str) {
    let child = tokio::process::Command::new("openssl")
        .args(["s_client", "-connect", &proxy.to_string(), "-servername", sni])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("openssl is installed (scripts/install-system-deps.sh)");
    let _ = tokio::time::timeout(Duration::from_secs(3), child.wait_with_output()).await;
}

#[tokio::test]
async fn tls_is_passed_through_by_sni_and_an_unknown_sni_is_closed() {
    let (up, mut seen) = recorder().await;
    let entry = Entry {
        host: "secure.test",
        port: up.port(),
        protocol: "TLS",
        upstream: json!({ "kind": "original" }),
        cidr: None,
    };
    let snap = snapshot("REGISTRY_ONLY", "", &[entry], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    openssl_hello(h.addr, "secure.test").await;
    let first =
        tokio::time::timeout(Duration::from_secs(3), seen.recv()).await.expect("upstream reached").expect("bytes");
    assert_eq!(first[0], 0x16, "the ClientHello is passed through unchanged");
    assert!(first.windows(11).any(|w| w == b"secure.test"));
    openssl_hello(h.addr, "evil.test").await;
    assert!(
        tokio::time::timeout(Duration::from_millis(500), seen.recv()).await.is_err(),
        "an unknown SNI reached the upstream"
    );
    let metrics = h.shared.metrics.encode();
    assert!(metrics.contains("meshgate_proxy_denied_total{protocol=\"tls\",destination=\"evil.test:"), "{metrics}");
}

#[tokio::test]
async fn server_first_tcp_is_joined_after_the_sniff_timeout() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s.write_all(b"220 smtp ready\r\n").await;
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).await.unwrap_or(0);
            let _ = s.write_all(&buf[..n]).await;
        }
    });
    let entry = Entry {
        host: "mail.test",
        port: up.port(),
        protocol: "TCP",
        upstream: json!({ "kind": "original" }),
        cidr: Some("127.0.0.1/32".into()),
    };
    let snap = snapshot("REGISTRY_ONLY", "", &[entry], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    let mut c = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(3), c.read(&mut buf)).await.expect("banner in time").unwrap();
    assert_eq!(&buf[..n], b"220 smtp ready\r\n");
    c.write_all(b"EHLO x\r\n").await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(3), c.read(&mut buf)).await.expect("echo in time").unwrap();
    assert_eq!(&buf[..n], b"EHLO x\r\n");
    drop(c);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let metrics = h.shared.metrics.encode();
    assert!(metrics.contains("istio_tcp_connections_opened_total{reporter=\"source\",source_workload=\"app\",source_workload_namespace=\"default\",destination_service=\"mail.test\""), "{metrics}");
}

#[tokio::test]
async fn tcp_to_an_unknown_address_is_closed_under_registry_only() {
    let (up, mut seen) = recorder().await;
    let snap = snapshot("REGISTRY_ONLY", "", &[], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    let mut c = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    c.write_all(b"\x00\x01binary").await.unwrap();
    let mut buf = [0u8; 8];
    let n = tokio::time::timeout(Duration::from_secs(3), c.read(&mut buf)).await.expect("closed in time").unwrap_or(0);
    assert_eq!(n, 0, "connection should be closed");
    assert!(tokio::time::timeout(Duration::from_millis(300), seen.recv()).await.is_err());
}

#[tokio::test]
async fn passthrough_moves_a_megabyte_each_way_intact_and_half_closes() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = l.local_addr().unwrap();
    // Upstream: reads everything until the client half-closes, answers with the same bytes reversed, then closes.
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut got = Vec::new();
                let _ = s.read_to_end(&mut got).await;
                got.reverse();
                let _ = s.write_all(&got).await;
            });
        }
    });
    let entry = Entry {
        host: "bulk.test",
        port: up.port(),
        protocol: "TCP",
        upstream: json!({ "kind": "original" }),
        cidr: Some("127.0.0.1/32".into()),
    };
    let snap = snapshot("REGISTRY_ONLY", "", &[entry], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    let payload: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let mut c = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    // Binary first bytes: sniffed as TCP at once.
    c.write_all(&payload).await.unwrap();
    c.shutdown().await.unwrap();
    let mut back = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut back)).await.expect("in time").unwrap();
    let mut expected = payload.clone();
    expected.reverse();
    assert_eq!(back.len(), expected.len());
    assert!(back == expected, "bytes changed in passthrough");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let m = h.shared.metrics.encode();
    assert!(m.contains("istio_tcp_received_bytes_total{") && m.contains("} 1048576"), "{m}");
}
