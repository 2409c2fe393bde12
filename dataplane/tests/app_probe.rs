//! Application probes through the status port (rewriteAppHTTPProbers): ISTIO_KUBE_APP_PROBERS as the injector writes
//! it, a kubelet-style GET to /app-health/... answered with the real app's health — HTTP with the probe's path and
//! headers, HTTPS against a real `openssl s_server` with a self-signed certificate, TCP connects — bounded by the
//! probe's timeout; and the binary refusing a malformed variable at start.

mod common;

use common::*;
use meshgate_proxy::app_probe::{parse, Action, AppProbers};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

async fn probe_server(probers: &str) -> SocketAddr {
    let parsed = parse(probers).expect("probers parse");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(meshgate_proxy::app_probe::serve(listener, Arc::new(AppProbers::new(parsed, [127, 0, 0, 1].into()))));
    addr
}

/// What kubelet sends: GET on the rewritten path, its own User-Agent, no keep-alive.
async fn kubelet_get(addr: SocketAddr, path: &str) -> u16 {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 10.0.0.5:15020\r\nUser-Agent: kube-probe/1.36\r\nConnection: close\r\n\r\n"
    );
    let (text, _) = raw(addr, request.as_bytes(), Duration::from_secs(10)).await;
    text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

#[test]
fn the_injectors_json_parses_and_every_bad_entry_is_an_error_naming_it() {
    let probers = parse(r#"{"/app-health/web/livez":{"httpGet":{"path":"/live","port":9090,"scheme":"HTTPS","httpHeaders":[{"name":"X-Probe","value":"kubelet"}]},"timeoutSeconds":3},"/app-health/web/startupz":{"tcpSocket":{"port":9090},"timeoutSeconds":2}}"#).expect("parses");
    let live = &probers["/app-health/web/livez"];
    assert_eq!(live.timeout, Duration::from_secs(3));
    assert!(
        matches!(&live.action, Action::Http { https: true, port: 9090, path, headers, .. } if path == "/live" && headers.len() == 1)
    );
    assert_eq!(probers["/app-health/web/startupz"].action, Action::Tcp { host: None, port: 9090 });
    let defaults = parse(r#"{"/app-health/a/readyz":{"httpGet":{"port":80}}}"#).expect("parses");
    assert_eq!(defaults["/app-health/a/readyz"].timeout, Duration::from_secs(1), "kubelet's default timeout");

    for (text, expected) in [
        ("{not json", "malformed JSON"),
        (r#"{"/healthz/ready":{"httpGet":{"port":80}}}"#, "expected /app-health/<container>/readyz"),
        (r#"{"/app-health/a/readyz":{"httpGet":{"port":"http"}}}"#, "the injector resolves named ports"),
        (r#"{"/app-health/a/readyz":{"httpGet":{"port":80,"scheme":"FTP"}}}"#, "expected HTTP or HTTPS"),
        (r#"{"/app-health/a/readyz":{"grpc":{"port":9000}}}"#, "gRPC probes are not run"),
        (r#"{"/app-health/a/readyz":{}}"#, "exactly one of httpGet, tcpSocket"),
        (r#"{"/app-health/a/readyz":{"exec":{"command":["true"]}}}"#, "unknown field"),
        (r#"{"/app-health/a/readyz":{"tcpSocket":{"port":70000}}}"#, "port number 1-65535"),
    ] {
        let error = parse(text).expect_err(text);
        assert!(error.starts_with("ISTIO_KUBE_APP_PROBERS: "), "{error}");
        assert!(error.contains(expected), "{text}: {error}");
    }
}

#[tokio::test]
async fn an_http_probe_reflects_the_apps_status_with_the_original_path_and_headers() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let (app, _) = upstream_fn(move |req| {
        let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
        if let Ok(mut l) = log.lock() {
            l.push(format!("{} {} probe={} ua={}", req.method(), req.uri(), header("x-probe"), header("user-agent")));
        }
        (if req.uri().path() == "/ready" { 200 } else { 503 }, String::new())
    })
    .await;
    let port = app.port();
    let addr = probe_server(&format!(
        r#"{{"/app-health/web/readyz":{{"httpGet":{{"path":"/ready?full=1","port":{port},"httpHeaders":[{{"name":"X-Probe","value":"k"}}]}}}},"/app-health/web/livez":{{"httpGet":{{"path":"/live","port":{port}}}}}}}"#
    ))
    .await;
    assert_eq!(kubelet_get(addr, "/app-health/web/readyz").await, 200);
    assert_eq!(kubelet_get(addr, "/app-health/web/livez").await, 503, "the app's own failure status");
    assert_eq!(kubelet_get(addr, "/app-health/other/readyz").await, 404);
    let seen = seen.lock().map(|l| l.clone()).unwrap_or_default();
    assert_eq!(seen, vec!["GET /ready?full=1 probe=k ua=kube-probe/1.36", "GET /live probe=- ua=kube-probe/1.36"]);
}

#[tokio::test]
async fn an_app_that_is_down_or_too_slow_fails_the_probe_within_its_timeout() {
    let down = closed_port();
    let slow = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let slow_port = slow.local_addr().expect("addr").port();
    // Accepts and never answers: only the probe's timeout ends the wait.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = slow.accept().await {
            held.push(s);
        }
    });
    let addr = probe_server(&format!(
        r#"{{"/app-health/a/readyz":{{"httpGet":{{"port":{down}}}}},"/app-health/a/livez":{{"httpGet":{{"port":{slow_port}}},"timeoutSeconds":1}}}}"#
    ))
    .await;
    assert_eq!(kubelet_get(addr, "/app-health/a/readyz").await, 500);
    let started = Instant::now();
    assert_eq!(kubelet_get(addr, "/app-health/a/livez").await, 500);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "bounded by timeoutSeconds: {took:?}");
}

#[tokio::test]
async fn a_tcp_probe_is_a_connect_to_the_app() {
    let open = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let open_port = open.local_addr().expect("addr").port();
    let addr = probe_server(&format!(
        r#"{{"/app-health/db/readyz":{{"tcpSocket":{{"port":{open_port}}}}},"/app-health/db/livez":{{"tcpSocket":{{"port":{}}}}}}}"#,
        closed_port()
    ))
    .await;
    assert_eq!(kubelet_get(addr, "/app-health/db/readyz").await, 200);
    assert_eq!(kubelet_get(addr, "/app-health/db/livez").await, 500);
    drop(open);
    assert_eq!(kubelet_get(addr, "/app-health/db/readyz").await, 500, "the app stopped listening");
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn an_https_probe_does_not_verify_the_apps_certificate_as_kubelet_does() {
    if std::process::Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipped: openssl is not installed (scripts/install-system-deps.sh installs it)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=self-signed", "-days", "1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl req");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let port = closed_port();
    let server = std::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server");
    let _server = Kill(server);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "s_server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let addr = probe_server(&format!(
        r#"{{"/app-health/tls/readyz":{{"httpGet":{{"path":"/","port":{port},"scheme":"HTTPS"}},"timeoutSeconds":5}},"/app-health/tls/livez":{{"httpGet":{{"path":"/","port":{port},"scheme":"HTTP"}},"timeoutSeconds":2}}}}"#
    ))
    .await;
    assert_eq!(kubelet_get(addr, "/app-health/tls/readyz").await, 200, "TLS to a self-signed app");
    assert_eq!(kubelet_get(addr, "/app-health/tls/livez").await, 500, "plain HTTP to a TLS port fails");
}

#[tokio::test]
async fn the_binary_serves_the_probes_on_the_status_port_and_refuses_a_malformed_variable_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("snapshot.json");
    std::fs::write(&file, snapshot("ALLOW_ANY", "", &[], vec![]).to_string()).expect("write snapshot");
    let ports: Vec<String> = (0..5).map(|_| closed_port().to_string()).collect();
    let probe_port = closed_port();
    let (app, _) = upstream(204).await;
    let spawn = |probers: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_meshgate-proxy"))
            .args(["--snapshot", file.to_str().unwrap_or_default(), "--bind", "127.0.0.1", "--workers", "1"])
            .args(["--port", &ports[0], "--inbound-port", &ports[1], "--admin-port", &ports[2]])
            .args(["--status-port", &ports[3], "--metrics-port", &ports[4]])
            .env("ISTIO_KUBE_APP_PROBERS", probers)
            .env("MESHGATE_APP_PROBE_PORT", probe_port.to_string())
            .env_remove("INSTANCE_IP")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn meshgate-proxy")
    };

    let bad = spawn(r#"{"/app-health/web/readyz": {"httpGet": "#).wait_with_output().expect("exits");
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("ISTIO_KUBE_APP_PROBERS: malformed JSON"), "{stderr}");

    let _proxy =
        Kill(spawn(&format!(r#"{{"/app-health/web/readyz":{{"httpGet":{{"path":"/","port":{}}}}}}}"#, app.port())));
    let addr = SocketAddr::from(([127, 0, 0, 1], probe_port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "the probe port did not open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(kubelet_get(addr, "/app-health/web/readyz").await, 204, "the app's own status");
}
