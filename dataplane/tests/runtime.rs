//! The binary as a sidecar runs it: snapshot file loading and reloading (temp file + rename, as the TypeScript
//! side writes it), the last good snapshot kept on a bad one, readiness, /config, /explain, metrics, the drain on
//! SIGTERM; and the access log written for a request.

mod common;

use common::*;
use meshgate_proxy::listener::Limits;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// Writes like the TypeScript side: a temp file in the same directory, then rename over the target.
fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write temp");
    std::fs::rename(&tmp, path).expect("rename");
}

/// (0, "") while the port is not open yet.
async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    if tokio::net::TcpStream::connect(addr).await.is_err() {
        return (0, String::new());
    }
    let (text, _) = raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n").as_bytes(),
        Duration::from_secs(3),
    )
    .await;
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// Polls until `check` holds (bounded: 5 s).
async fn eventually<F: FnMut() -> std::pin::Pin<Box<dyn std::future::Future<Output = bool>>>>(
    what: &str,
    mut check: F,
) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn snapshot_file_reload_keeps_the_last_good_one_and_readiness_follows() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snapshot.json");
    std::fs::write(&file, "{ not json").unwrap();
    let (admin, status, metrics) = (free_port(), free_port(), free_port());
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_meshgate-proxy"))
        .args(["--snapshot", file.to_str().unwrap(), "--bind", "127.0.0.1", "--workers", "1", "--inbound-port", "0"])
        .args([
            "--port",
            &free_port().to_string(),
            "--admin-port",
            &admin.to_string(),
            "--status-port",
            &status.to_string(),
            "--metrics-port",
            &metrics.to_string(),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn meshgate-proxy");
    let mut child = Child(child);
    let status_addr = SocketAddr::from(([127, 0, 0, 1], status));
    let admin_addr = SocketAddr::from(([127, 0, 0, 1], admin));
    eventually("the status port answers 503 before any good snapshot", || {
        Box::pin(async move { http_get(status_addr, "/healthz/ready").await.0 == 503 })
    })
    .await;

    let mut good = snapshot("REGISTRY_ONLY", "", &[original_entry("api.test", 8080)], vec![]);
    good["mesh"]["terminationDrainDurationMs"] = json!(400);
    let version = good["version"].as_str().unwrap().to_string();
    write_atomically(&file, &good.to_string());
    eventually("ready once a good snapshot is written", || {
        Box::pin(async move { http_get(status_addr, "/healthz/ready").await.0 == 200 })
    })
    .await;
    let (_, config) = http_get(admin_addr, "/config").await;
    let config: Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["version"], json!(version));

    // A document from a newer compiler: rejected, counted, the old one stays in force.
    let mut newer = good.clone();
    newer["apiVersion"] = json!("meshgate.io/snapshot/v2");
    write_atomically(&file, &newer.to_string());
    eventually("the rejected reload is reported", || {
        Box::pin(async move {
            let (_, c) = http_get(admin_addr, "/config").await;
            c.contains("snapshot/v2")
        })
    })
    .await;
    let (_, config) = http_get(admin_addr, "/config").await;
    let config: Value = serde_json::from_str(&config).unwrap();
    assert_eq!(config["version"], json!(version), "{config}");
    assert_eq!(config["rejected"], json!(2), "{config}");
    assert_eq!(http_get(status_addr, "/healthz/ready").await.0, 200);
    let (_, m) = http_get(SocketAddr::from(([127, 0, 0, 1], metrics)), "/stats/prometheus").await;
    assert!(m.contains("meshgate_proxy_config_reloads_total{result=\"rejected\"} 2"), "{m}");
    assert!(m.contains("meshgate_proxy_config_reloads_total{result=\"applied\"} 1"), "{m}");

    let (code, explain) = http_get(admin_addr, "/explain?host=api.test&port=8080").await;
    assert_eq!(code, 200);
    let explain: Value = serde_json::from_str(&explain).unwrap();
    assert_eq!(explain["http"]["verdict"], json!("allow"), "{explain}");
    let (_, explain) = http_get(admin_addr, "/explain?host=evil.test&port=8080").await;
    assert!(explain.contains("registry_only"), "{explain}");

    // SIGTERM: not ready while draining, exits after terminationDrainDuration.
    let pid = child.0.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let started = Instant::now();
    eventually("readiness fails while draining", || {
        Box::pin(async move { http_get(status_addr, "/healthz/ready").await.0 == 503 })
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let exit = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "still running 5 s after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success());
    assert!(started.elapsed() >= Duration::from_millis(350), "exited before the drain: {:?}", started.elapsed());
}

#[tokio::test]
async fn each_request_writes_one_envoy_format_access_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let (up, _) = upstream(200).await;
    let snap = snapshot("REGISTRY_ONLY", log.to_str().unwrap(), &[original_entry("api.test", up.port())], vec![]);
    let h = start(&snap, up, Limits::default()).await;
    let r = get(h.addr, "api.test", "/logged?q=1", "User-Agent: test-agent\r\nX-Request-Id: rid-42\r\n").await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let denied = get(h.addr, "evil.test", "/", "").await;
    assert!(denied.starts_with("HTTP/1.1 502"));
    let mut text = String::new();
    for _ in 0..50 {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let ok = lines.iter().find(|l| l.contains("/logged")).expect("the allowed request is logged");
    assert!(ok.contains("\"GET /logged?q=1 HTTP/1.1\" 200 - via_upstream - \"-\" 0 "), "{ok}");
    assert!(ok.contains("\"test-agent\" \"rid-42\" \"api.test\""), "{ok}");
    assert!(ok.contains(&format!("\"{up}\" outbound|{}||api.test ", up.port())), "{ok}");
    assert!(ok.ends_with(" - default"), "{ok}");
    let blocked = lines.iter().find(|l| l.contains("evil.test")).expect("the denied request is logged");
    assert!(
        blocked.contains(" 502 ") && blocked.contains(" BlackHoleCluster ") && blocked.ends_with(" block_all"),
        "{blocked}"
    );
}
