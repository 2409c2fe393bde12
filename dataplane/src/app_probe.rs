//! The application's probes through the status port (Istio's rewriteAppHTTPProbers): the injector points kubelet's
//! httpGet/tcpSocket probes at `/app-health/<container>/readyz|livez|startupz` here and hands the originals over in
//! ISTIO_KUBE_APP_PROBERS. Each request runs the original probe against the app — HTTP(S) GET with its path and
//! headers, or a TCP connect — bounded by the probe's timeout, and answers with the app's status code (500 when the
//! app cannot be reached), as pilot-agent does. The proxy runs as UID 1337, whose traffic iptables never captures.

use crate::body::{empty, full};
use crate::upstream::Body;
use http::header::{HeaderName, HeaderValue, ACCEPT, HOST, USER_AGENT};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Istio's variable: a JSON map from the status-port path to the original probe.
pub const PROBERS_ENV: &str = "ISTIO_KUBE_APP_PROBERS";
/// The port the injector rewrote the probes to (status.sidecar.istio.io/port).
pub const PORT_ENV: &str = "MESHGATE_APP_PROBE_PORT";
/// Istio's status port, when the injector did not say.
pub const DEFAULT_PORT: u16 = 15020;
/// Kubelet's default probe timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Bounds: probers one pod can declare, and probes running at once (kubelet sends a few per period).
const MAX_PROBERS: usize = 256;
const MAX_CONCURRENT: usize = 64;
/// A probe's longest wait, which also bounds a kubelet connection here.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawProber {
    http_get: Option<RawHttpGet>,
    tcp_socket: Option<RawTcpSocket>,
    grpc: Option<Value>,
    timeout_seconds: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawHttpGet {
    path: Option<String>,
    port: Value,
    host: Option<String>,
    scheme: Option<String>,
    http_headers: Option<Vec<RawHeader>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTcpSocket {
    port: Value,
    host: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Http { https: bool, host: Option<String>, port: u16, path: String, headers: Vec<(HeaderName, HeaderValue)> },
    Tcp { host: Option<String>, port: u16 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prober {
    pub action: Action,
    pub timeout: Duration,
}

/// The probers by status-port path, and where they reach the app.
pub struct AppProbers {
    by_path: HashMap<String, Prober>,
    /// The pod's IP (INSTANCE_IP), as kubelet probes it; loopback when unknown.
    default_host: IpAddr,
    tls: Arc<rustls::ClientConfig>,
    slots: Semaphore,
}

fn port_of(value: &Value, at: &str) -> Result<u16, String> {
    match value.as_u64() {
        Some(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(format!("{at}.port: expected a port number 1-65535 (the injector resolves named ports), got {value}")),
    }
}

/// `/app-health/<container>/<kind>`: the only paths the injector writes.
fn check_path(path: &str) -> Result<(), String> {
    let parts: Vec<&str> = path.split('/').collect();
    let name_ok = |n: &str| {
        (1..=253).contains(&n.len())
            && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    };
    match parts.as_slice() {
        ["", "app-health", name, "readyz" | "livez" | "startupz"] if name_ok(name) => Ok(()),
        _ => Err(format!("{path:?}: expected /app-health/<container>/readyz, livez or startupz")),
    }
}

fn convert(path: &str, raw: RawProber) -> Result<Prober, String> {
    let timeout = match raw.timeout_seconds {
        None | Some(0) => DEFAULT_TIMEOUT,
        Some(s) if u64::from(s) <= MAX_TIMEOUT.as_secs() => Duration::from_secs(u64::from(s)),
        Some(s) => return Err(format!("{path}.timeoutSeconds: {s} is more than {} s", MAX_TIMEOUT.as_secs())),
    };
    let action = match (raw.http_get, raw.tcp_socket, raw.grpc) {
        (Some(h), None, None) => {
            let https = match h.scheme.as_deref() {
                None | Some("HTTP") => false,
                Some("HTTPS") => true,
                Some(other) => return Err(format!("{path}.httpGet.scheme: expected HTTP or HTTPS, got {other:?}")),
            };
            let mut request_path = h.path.unwrap_or_default();
            if !request_path.starts_with('/') {
                request_path.insert(0, '/');
            }
            if request_path.parse::<http::uri::PathAndQuery>().is_err() {
                return Err(format!("{path}.httpGet.path: {request_path:?} is not a valid request path"));
            }
            let mut headers = Vec::new();
            for header in h.http_headers.unwrap_or_default().into_iter().take(32) {
                let name = HeaderName::from_bytes(header.name.as_bytes())
                    .map_err(|_| format!("{path}.httpGet.httpHeaders: invalid name {:?}", header.name))?;
                let value = HeaderValue::from_str(&header.value)
                    .map_err(|_| format!("{path}.httpGet.httpHeaders: invalid value for {name}"))?;
                headers.push((name, value));
            }
            let port = port_of(&h.port, &format!("{path}.httpGet"))?;
            Action::Http { https, host: h.host.filter(|s| !s.is_empty()), port, path: request_path, headers }
        }
        (None, Some(t), None) => Action::Tcp {
            host: t.host.filter(|s| !s.is_empty()),
            port: port_of(&t.port, &format!("{path}.tcpSocket"))?,
        },
        (None, None, Some(_)) => {
            return Err(format!(
                "{path}: gRPC probes are not run by meshgate-proxy (the injector refuses to rewrite them)"
            ))
        }
        _ => return Err(format!("{path}: expected exactly one of httpGet, tcpSocket")),
    };
    Ok(Prober { action, timeout })
}

/// Parses ISTIO_KUBE_APP_PROBERS; every problem is an error naming the entry, so a bad value stops the proxy at
/// start instead of failing the pod's probes one by one later.
pub fn parse(text: &str) -> Result<HashMap<String, Prober>, String> {
    let raw: HashMap<String, RawProber> =
        serde_json::from_str(text).map_err(|e| format!("{PROBERS_ENV}: malformed JSON: {e}"))?;
    if raw.len() > MAX_PROBERS {
        return Err(format!("{PROBERS_ENV}: {} probers, at most {MAX_PROBERS}", raw.len()));
    }
    raw.into_iter()
        .map(|(path, prober)| {
            check_path(&path)
                .and_then(|()| convert(&path, prober))
                .map(|p| (path, p))
                .map_err(|e| format!("{PROBERS_ENV}: {e}"))
        })
        .collect()
}

impl AppProbers {
    pub fn new(by_path: HashMap<String, Prober>, default_host: IpAddr) -> Self {
        Self { by_path, default_host, tls: Arc::new(insecure_tls()), slots: Semaphore::new(MAX_CONCURRENT) }
    }

    /// From the environment the injector sets: None when it rewrote no probe.
    pub fn from_env() -> Result<Option<(u16, Self)>, String> {
        let Ok(text) = std::env::var(PROBERS_ENV) else { return Ok(None) };
        let port = match std::env::var(PORT_ENV) {
            Ok(p) => {
                p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| format!("{PORT_ENV}: {p:?} is not a port"))?
            }
            Err(_) => DEFAULT_PORT,
        };
        let host =
            std::env::var("INSTANCE_IP").ok().and_then(|ip| ip.parse().ok()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(Some((port, Self::new(parse(&text)?, host))))
    }

    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// Runs the prober for `path`: the app's status code, 500 when the app cannot be reached in time, None for a path
    /// nothing was rewritten to.
    pub async fn probe(&self, path: &str, user_agent: Option<&HeaderValue>) -> Option<u16> {
        let prober = self.by_path.get(path)?;
        let run = async {
            match &prober.action {
                Action::Tcp { host, port } => connect(host.as_deref(), self.default_host, *port).await.map(|_| 200),
                Action::Http { https, host, port, path, headers } => {
                    let stream = connect(host.as_deref(), self.default_host, *port).await?;
                    let host_text = host.clone().unwrap_or_else(|| self.default_host.to_string());
                    let request = build_request(&host_text, *port, path, headers, user_agent)?;
                    if *https {
                        let name = ServerName::try_from(host_text.trim_matches(['[', ']']).to_string())
                            .map_err(|_| format!("{host_text:?} is not a TLS server name"))?;
                        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                            .connect(name, stream)
                            .await
                            .map_err(|e| format!("TLS: {e}"))?;
                        exchange(tls, request).await
                    } else {
                        exchange(stream, request).await
                    }
                }
            }
        };
        Some(match tokio::time::timeout(prober.timeout, run).await {
            Ok(Ok(status)) => status,
            Ok(Err(_)) | Err(_) => 500,
        })
    }
}

async fn connect(host: Option<&str>, default_host: IpAddr, port: u16) -> Result<TcpStream, String> {
    let stream = match host {
        Some(h) => TcpStream::connect((h.trim_matches(['[', ']']), port)).await,
        None => TcpStream::connect((default_host, port)).await,
    };
    stream.map_err(|e| format!("connect: {e}"))
}

/// Kubelet's request: Host as host:port, its User-Agent (kube-probe/...), `Accept: */*`; the probe's own headers
/// replace those of the same name (a probe may set Host).
fn build_request(
    host: &str,
    port: u16,
    path: &str,
    headers: &[(HeaderName, HeaderValue)],
    user_agent: Option<&HeaderValue>,
) -> Result<Request<Body>, String> {
    let authority = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = Request::builder().method(Method::GET).uri(path).body(empty()).map_err(|e| e.to_string())?;
    let h = request.headers_mut();
    h.insert(HOST, HeaderValue::from_str(&authority).map_err(|e| e.to_string())?);
    h.insert(USER_AGENT, user_agent.cloned().unwrap_or_else(|| HeaderValue::from_static("kube-probe")));
    h.insert(ACCEPT, HeaderValue::from_static("*/*"));
    for (name, _) in headers {
        h.remove(name);
    }
    for (name, value) in headers {
        h.append(name.clone(), value.clone());
    }
    Ok(request)
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    io: S,
    request: Request<Body>,
) -> Result<u16, String> {
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(|e| format!("HTTP: {e}"));
    // The status is all kubelet reads; the connection goes with the answer.
    driver.abort();
    Ok(response?.status().as_u16())
}

/// Kubelet does not verify an HTTPS probe's certificate; the handshake's signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn insecure_tls() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyCertificate(provider.clone()));
    match rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
        Ok(builder) => builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth(),
        // The ring provider supports the default versions; this arm only satisfies the type.
        Err(_) => {
            rustls::ClientConfig::builder().dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth()
        }
    }
}

async fn handle(probers: Arc<AppProbers>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let reply = |status: u16, text: &str| {
        let mut r = Response::new(full(text.to_string()));
        *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        r
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(reply(405, "GET only\n"));
    }
    let Ok(_slot) = probers.slots.try_acquire() else { return Ok(reply(503, "too many probes at once\n")) };
    let user_agent = req.headers().get(USER_AGENT).cloned();
    Ok(match probers.probe(req.uri().path(), user_agent.as_ref()).await {
        Some(status) => reply(status, ""),
        None => reply(404, "no application probe at this path\n"),
    })
}

/// Serves the rewritten probes on the status port (kubelet's requests; the port is never captured inbound).
pub async fn serve(listener: TcpListener, probers: Arc<AppProbers>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let probers = probers.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(probers.clone(), req));
            let _ = tokio::time::timeout(
                MAX_TIMEOUT + Duration::from_secs(10),
                hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(5))
                    .serve_connection(TokioIo::new(stream), service),
            )
            .await;
        });
    }
}
