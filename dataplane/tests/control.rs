//! The sidecar's control-plane client against a real HTTPS long-poll server in the test (hyper + rustls, a CA and a
//! serving certificate made by rcgen): readiness on the first snapshot, 304s that keep it, a new version applied, a
//! bad snapshot refused with the last good one kept, an outage survived and recovered from with backoff, 401/403,
//! the token re-read for every request, gzip, and a certificate the client must not trust.

mod common;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use meshgate_proxy::admin::{self, Role};
use meshgate_proxy::control::{self, status::Connection, Config};
use meshgate_proxy::route::table::Workload;
use meshgate_proxy::state::Shared;
use meshgate_proxy::upstream::Resolver;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// A CA and a serving certificate for `names` signed by it, as `meshgate control --cert-dir` makes them.
struct Pki {
    ca_pem: String,
    cert: rustls::pki_types::CertificateDer<'static>,
    key: Vec<u8>,
}

fn pki(names: &[&str]) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "meshgate-control test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    Pki { ca_pem: ca.pem(), cert: cert.der().clone(), key: key.serialize_der() }
}

/// What the test server answers; the test changes it while the client polls.
struct Behaviour {
    etag: String,
    body: Vec<u8>,
    gzip: bool,
    /// Answer every request with this status instead (401, 403, 503).
    status: Option<u16>,
    /// Only this bearer token is accepted (401 otherwise), when set.
    accept_token: Option<String>,
}

#[derive(Clone, Debug)]
struct Seen {
    authorization: String,
    if_none_match: Option<String>,
    accept_encoding: String,
    path: String,
    status: u16,
    gzip: bool,
}

#[derive(Clone)]
struct ServerState {
    behaviour: Arc<Mutex<Behaviour>>,
    changed: Arc<tokio::sync::watch::Sender<u64>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl ServerState {
    fn new(snapshot: &Value) -> ServerState {
        let (tx, _) = tokio::sync::watch::channel(0);
        let s = ServerState {
            behaviour: Arc::new(Mutex::new(Behaviour {
                etag: String::new(),
                body: vec![],
                gzip: true,
                status: None,
                accept_token: None,
            })),
            changed: Arc::new(tx),
            seen: Arc::default(),
        };
        s.publish(snapshot);
        s
    }

    /// A new version: waiting polls are answered at once, as meshgate control wakes its waiters.
    fn publish(&self, snapshot: &Value) {
        let version = snapshot["version"].as_str().unwrap().to_string();
        {
            let mut b = self.behaviour.lock().unwrap();
            b.etag = format!("\"{version}\"");
            b.body = snapshot.to_string().into_bytes();
        }
        self.changed.send_modify(|n| *n += 1);
    }

    fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
        self.changed.send_modify(|n| *n += 1);
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let header_text =
            |name: header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let authorization = header_text(header::AUTHORIZATION).unwrap_or_default();
        let if_none_match = header_text(header::IF_NONE_MATCH);
        let accept_encoding = header_text(header::ACCEPT_ENCODING).unwrap_or_default();
        let path = req.uri().to_string();
        let wait_ms: u64 = path.split("wait=").nth(1).and_then(|w| w.trim_end_matches("ms").parse().ok()).unwrap_or(0);
        let mut changes = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(wait_ms);
        let (status, body, etag, gzip) = loop {
            let answer = {
                let b = self.behaviour.lock().unwrap();
                let token = authorization.strip_prefix("Bearer ").unwrap_or("");
                if let Some(code) = b.status {
                    Some((code, format!("refused with {code}").into_bytes(), None, false))
                } else if b.accept_token.as_deref().is_some_and(|t| t != token) {
                    Some((401, b"token not accepted".to_vec(), None, false))
                } else if if_none_match.as_deref() != Some(b.etag.as_str()) {
                    Some((200, b.body.clone(), Some(b.etag.clone()), b.gzip && accept_encoding.contains("gzip")))
                } else {
                    None
                }
            };
            if let Some(a) = answer {
                break a;
            }
            let etag = self.behaviour.lock().unwrap().etag.clone();
            tokio::select! {
                _ = changes.changed() => continue,
                _ = tokio::time::sleep_until(deadline) => break (304, vec![], Some(etag), false),
            }
        };
        self.seen.lock().unwrap().push(Seen { authorization, if_none_match, accept_encoding, path, status, gzip });
        let body = if gzip {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&body).unwrap();
            enc.finish().unwrap()
        } else {
            body
        };
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = StatusCode::from_u16(status).unwrap();
        if let Some(e) = etag {
            r.headers_mut().insert(header::ETAG, e.parse().unwrap());
        }
        if gzip {
            r.headers_mut().insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        }
        r
    }
}

/// The HTTPS server; dropping it (or `stop`) closes the listener and every connection, like a killed process.
struct Server {
    tasks: JoinSet<()>,
}

async fn serve(addr: SocketAddr, pki: &Pki, state: ServerState) -> (Server, SocketAddr) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.cert.clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key.clone())))
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(addr).await.unwrap();
    let bound = listener.local_addr().unwrap();
    let mut tasks = JoinSet::new();
    tasks.spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let Ok((tcp, _)) = listener.accept().await else { continue };
            let acceptor = acceptor.clone();
            let state = state.clone();
            connections.spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(state.answer(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
            });
        }
    });
    (Server { tasks }, bound)
}

impl Server {
    async fn stop(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

fn snapshot(mode: &str, version: &str) -> Value {
    let mut s = common::snapshot(mode, "", &[], vec![]);
    s["version"] = Value::from(version);
    s
}

struct Sidecar {
    shared: Arc<Shared>,
    status: SocketAddr,
    token_file: PathBuf,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The client as main.rs runs it, with short waits and backoff so the test runs in seconds, and the status port.
async fn sidecar(addr: SocketAddr, ca_pem: &str) -> Sidecar {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "token-1\n").unwrap();
    let mut config =
        Config::new(&format!("https://{addr}"), token_file.clone(), ca_pem.as_bytes().to_vec(), "team-a").unwrap();
    config.wait = Duration::from_millis(300);
    config.request_timeout = Duration::from_secs(3);
    config.backoff_base = Duration::from_millis(100);
    config.backoff_cap = Duration::from_millis(400);
    let shared = Shared::new(Workload { name: "app".into(), namespace: "team-a".into(), ..Default::default() });
    let client = control::client(&config, Resolver::system().unwrap()).unwrap();
    let task = tokio::spawn(control::run(shared.clone(), config, client));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let status = listener.local_addr().unwrap();
    tokio::spawn(admin::serve(listener, Role::Status, shared.clone(), Arc::new(AtomicBool::new(false))));
    Sidecar { shared, status, token_file, _dir: dir, task }
}

async fn ready(sidecar: &Sidecar) -> u16 {
    let tcp = tokio::net::TcpStream::connect(sidecar.status).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.unwrap();
    tokio::spawn(conn);
    let req = Request::get("/healthz/ready").header(header::HOST, "x").body(http_body_util::Empty::<Bytes>::new());
    sender.send_request(req.unwrap()).await.unwrap().status().as_u16()
}

fn version(sidecar: &Sidecar) -> Option<String> {
    sidecar.shared.current().map(|l| l.version.clone())
}

async fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out ({limit:?}) waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn metric(sidecar: &Sidecar, result: &str) -> u64 {
    let text = sidecar.shared.encode_metrics();
    let prefix = format!("meshgate_proxy_control_fetches_total{{result=\"{result}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0, |n| n.parse().unwrap())
}

const LOCAL: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

#[tokio::test]
async fn ready_on_the_first_snapshot_then_304s_keep_it_and_a_new_version_is_applied() {
    let pki = pki(&["127.0.0.1"]);
    let state = ServerState::new(&snapshot("ALLOW_ANY", "sha256:v1"));
    state.set(|b| b.status = Some(503));
    let (server, addr) = serve(LOCAL.into(), &pki, state.clone()).await;
    let sc = sidecar(addr, &pki.ca_pem).await;
    // The control plane has not listed yet (503): not ready.
    eventually("a 503 seen", Duration::from_secs(3), || state.seen().iter().any(|s| s.status == 503)).await;
    assert_eq!(ready(&sc).await, 503);
    state.set(|b| b.status = None);
    eventually("the first snapshot", Duration::from_secs(3), || version(&sc).is_some()).await;
    assert_eq!(ready(&sc).await, 200);
    assert_eq!(version(&sc).as_deref(), Some("sha256:v1"));
    let first = state.seen().into_iter().find(|s| s.status == 200).unwrap();
    assert_eq!(first.authorization, "Bearer token-1");
    assert_eq!(first.if_none_match, None, "the first request holds no version");
    assert_eq!(first.path, "/v1/snapshots/team-a?wait=300ms");
    assert!(first.accept_encoding.contains("gzip") && first.gzip, "the snapshot travelled gzipped");

    // Nothing changes: the client holds its version and gets 304s, one per wait.
    eventually("two 304s", Duration::from_secs(3), || state.seen().iter().filter(|s| s.status == 304).count() >= 2)
        .await;
    assert!(state
        .seen()
        .iter()
        .filter(|s| s.status == 304)
        .all(|s| s.if_none_match.as_deref() == Some("\"sha256:v1\"")));
    assert_eq!(version(&sc).as_deref(), Some("sha256:v1"));
    assert!(metric(&sc, "not_modified") >= 2);
    assert_eq!(sc.shared.feed.connection(), Some(Connection::Connected));

    // A new version wakes the waiting poll and is enforced.
    let published = Instant::now();
    state.publish(&snapshot("REGISTRY_ONLY", "sha256:v2"));
    eventually("v2 applied", Duration::from_secs(2), || version(&sc).as_deref() == Some("sha256:v2")).await;
    assert!(published.elapsed() < Duration::from_millis(250), "a waiting poll is answered at once");
    assert_eq!(sc.shared.current().unwrap().table.mode_name(), "REGISTRY_ONLY");
    assert_eq!(metric(&sc, "applied"), 2);
    let config = sc.shared.feed.json();
    assert_eq!(config["heldVersion"], "\"sha256:v2\"");
    assert_eq!(sc.shared.feed.source(), "control");
    assert!(sc.shared.encode_metrics().contains("meshgate_proxy_snapshot_age_seconds "));
    server.stop().await;
}

#[tokio::test]
async fn a_bad_snapshot_is_refused_counted_and_the_last_good_one_stays_without_refetching_it() {
    let pki = pki(&["127.0.0.1"]);
    let state = ServerState::new(&snapshot("REGISTRY_ONLY", "sha256:good"));
    let (server, addr) = serve(LOCAL.into(), &pki, state.clone()).await;
    let sc = sidecar(addr, &pki.ca_pem).await;
    eventually("the good snapshot", Duration::from_secs(3), || version(&sc).is_some()).await;
    let mut bad = snapshot("ALLOW_ANY", "sha256:bad");
    bad["unknownField"] = Value::from(1);
    state.publish(&bad);
    eventually("the bad one refused", Duration::from_secs(3), || sc.shared.rejected_count() == 1).await;
    assert_eq!(version(&sc).as_deref(), Some("sha256:good"));
    assert_eq!(sc.shared.current().unwrap().table.mode_name(), "REGISTRY_ONLY");
    assert!(sc.shared.last_error().unwrap().contains("unknownField"));
    assert_eq!(metric(&sc, "rejected"), 1);
    // The refused version is held: later polls wait on it instead of downloading it again and again.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let bad_downloads =
        state.seen().iter().filter(|s| s.status == 200 && s.if_none_match.as_deref() != Some("\"sha256:bad\"")).count();
    assert_eq!(bad_downloads, 2, "the good and the bad version, once each: {:?}", state.seen());
    assert!(state.seen().iter().any(|s| s.status == 304 && s.if_none_match.as_deref() == Some("\"sha256:bad\"")));
    assert_eq!(ready(&sc).await, 200, "still ready on the last good snapshot");
    state.publish(&snapshot("ALLOW_ANY", "sha256:fixed"));
    eventually("the fixed one", Duration::from_secs(2), || version(&sc).as_deref() == Some("sha256:fixed")).await;
    server.stop().await;
}

#[tokio::test]
async fn an_outage_keeps_the_last_snapshot_and_the_client_reconnects_with_backoff() {
    let pki = pki(&["127.0.0.1"]);
    let state = ServerState::new(&snapshot("REGISTRY_ONLY", "sha256:v1"));
    let (server, addr) = serve(LOCAL.into(), &pki, state.clone()).await;
    let sc = sidecar(addr, &pki.ca_pem).await;
    eventually("v1", Duration::from_secs(3), || version(&sc).is_some()).await;
    server.stop().await;
    eventually("backoff", Duration::from_secs(3), || sc.shared.feed.connection() == Some(Connection::Backoff)).await;
    let down = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(version(&sc).as_deref(), Some("sha256:v1"), "still enforcing v1");
    assert_eq!(ready(&sc).await, 200, "still ready through the outage");
    // Backoff 100 ms doubling to 400 ms: over 1.5 s a handful of attempts, not the dozens a fixed 50 ms would make.
    let failures = metric(&sc, "connect_error") + metric(&sc, "transport_error");
    assert!((2..=10).contains(&failures), "{failures} attempts in {:?}", down.elapsed());
    assert!(sc.shared.feed.json()["lastError"].as_str().unwrap().contains("connect"));
    // The control plane comes back (a restart: same address, new version); the sidecar was never restarted.
    state.publish(&snapshot("ALLOW_ANY", "sha256:v2"));
    let (server, _) = serve(addr, &pki, state.clone()).await;
    eventually("v2 after the restart", Duration::from_secs(3), || version(&sc).as_deref() == Some("sha256:v2")).await;
    assert_eq!(sc.shared.feed.connection(), Some(Connection::Connected));
    let resumed = state.seen().into_iter().rev().find(|s| s.status == 200).unwrap();
    assert_eq!(resumed.if_none_match.as_deref(), Some("\"sha256:v1\""), "it asked with the version it kept");
    server.stop().await;
}

#[tokio::test]
async fn refused_tokens_back_off_never_ready_and_the_rotated_token_file_is_read_again() {
    let pki = pki(&["127.0.0.1"]);
    let state = ServerState::new(&snapshot("ALLOW_ANY", "sha256:v1"));
    state.set(|b| b.status = Some(403));
    let (server, addr) = serve(LOCAL.into(), &pki, state.clone()).await;
    let sc = sidecar(addr, &pki.ca_pem).await;
    eventually("a 403", Duration::from_secs(3), || metric(&sc, "forbidden") >= 1).await;
    assert_eq!(ready(&sc).await, 503);
    assert!(sc.shared.feed.json()["lastError"].as_str().unwrap().starts_with("403"));
    // Only "token-2" is accepted from now on: token-1 gets 401s, with backoff between them.
    state.set(|b| {
        b.status = None;
        b.accept_token = Some("token-2".into());
    });
    let from = state.seen().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let refused = state.seen()[from..].iter().filter(|s| s.status == 401).count();
    assert!((2..=10).contains(&refused), "{refused} requests in 1.5 s");
    assert_eq!(ready(&sc).await, 503, "a refused token never makes the sidecar ready");
    assert!(metric(&sc, "unauthorized") >= 2);
    // The kubelet rotates the token: the next request carries the new one (no restart, no cache).
    let tmp = sc.token_file.with_extension("new");
    std::fs::write(&tmp, "token-2\n").unwrap();
    std::fs::rename(&tmp, &sc.token_file).unwrap();
    eventually("ready with the rotated token", Duration::from_secs(3), || version(&sc).is_some()).await;
    assert_eq!(state.seen().iter().rev().find(|s| s.status == 200).unwrap().authorization, "Bearer token-2");
    assert_eq!(ready(&sc).await, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_server_certificate_not_for_the_address_or_from_another_ca_is_not_trusted() {
    let state = ServerState::new(&snapshot("ALLOW_ANY", "sha256:v1"));
    let other_name = pki(&["meshgate-control.istio-system.svc"]);
    let (server, addr) = serve(LOCAL.into(), &other_name, state.clone()).await;
    let sc = sidecar(addr, &other_name.ca_pem).await;
    eventually("a TLS failure", Duration::from_secs(3), || metric(&sc, "connect_error") >= 1).await;
    assert!(sc.shared.feed.json()["lastError"].as_str().unwrap().contains("TLS"), "{}", sc.shared.feed.json());
    server.stop().await;

    let right = pki(&["127.0.0.1"]);
    let stranger = pki(&["127.0.0.1"]);
    let (server, addr) = serve(LOCAL.into(), &right, state.clone()).await;
    let sc2 = sidecar(addr, &stranger.ca_pem).await;
    eventually("a TLS failure", Duration::from_secs(3), || metric(&sc2, "connect_error") >= 1).await;
    assert!(state.seen().is_empty(), "no request was sent over an untrusted connection");
    assert_eq!(version(&sc).or(version(&sc2)), None);
    server.stop().await;
}
