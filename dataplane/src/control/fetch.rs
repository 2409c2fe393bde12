//! One HTTPS connection to `meshgate control` and the long-poll request on it (docs/control-plane.md, Delivery):
//! rustls (ring) verifying the control plane's certificate against the CA it was given, hickory for the name (the
//! pod's resolv.conf and search path), hyper for HTTP/1.1. The connection is kept between polls and replaced after
//! any error. Bodies are bounded before and after gzip.

use crate::snapshot::MAX_SNAPSHOT_BYTES;
use crate::upstream::{connect, Resolver};
use bytes::Bytes;
use http::{header, Request, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_rustls::TlsConnector;

/// The control plane's address, from `https://HOST[:PORT]` (the injector's `global.meshgate.controlAddress`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The name or IP literal, without brackets: what is resolved and what the certificate must name.
    pub host: String,
    pub port: u16,
    /// `HOST[:PORT]` as written, for the Host header.
    pub authority: String,
}

impl Endpoint {
    pub fn parse(address: &str) -> Result<Endpoint, String> {
        let bad = |why: &str| format!("control address {address:?}: {why} (expected https://HOST[:PORT])");
        let uri: http::Uri = address.trim_end_matches('/').parse().map_err(|_| bad("not a URL"))?;
        if uri.scheme_str() != Some("https") {
            return Err(bad("the scheme must be https"));
        }
        if uri.path_and_query().is_some_and(|p| p.as_str() != "/" && !p.as_str().is_empty()) {
            return Err(bad("a path or query is not allowed"));
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("user information is not allowed"));
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_string();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Endpoint { host, port: authority.port_u16().unwrap_or(443), authority: authority.as_str().to_string() })
    }
}

/// Why a poll failed. Each is a distinct `result` label on `meshgate_proxy_control_fetches_total`.
#[derive(Debug)]
pub enum FetchError {
    /// Name resolution, TCP connect, TLS handshake (certificate not trusted, wrong name) or HTTP handshake.
    Connect(String),
    /// The connection broke or the answer did not arrive within the request timeout.
    Transport(String),
    /// The body was over the size bound, compressed or not.
    TooLarge(String),
    /// The body could not be decoded (bad gzip, unknown Content-Encoding, no ETag).
    Malformed(String),
    /// The token file could not be read.
    Token(String),
    /// A status the client does not handle as an answer: 401, 403, 503, ...
    Status(u16, String),
}

impl FetchError {
    pub fn result_label(&self) -> &'static str {
        match self {
            FetchError::Connect(_) => "connect_error",
            FetchError::Transport(_) => "transport_error",
            FetchError::TooLarge(_) => "too_large",
            FetchError::Malformed(_) => "malformed",
            FetchError::Token(_) => "token_error",
            FetchError::Status(401, _) => "unauthorized",
            FetchError::Status(403, _) => "forbidden",
            FetchError::Status(503, _) => "unavailable",
            FetchError::Status(..) => "http_error",
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Connect(e) => write!(f, "cannot connect: {e}"),
            FetchError::Transport(e) => write!(f, "connection failed: {e}"),
            FetchError::TooLarge(e) | FetchError::Malformed(e) => write!(f, "{e}"),
            FetchError::Token(e) => write!(f, "token: {e}"),
            FetchError::Status(401, body) => write!(f, "401: the control plane does not accept the token ({body})"),
            FetchError::Status(403, body) => {
                write!(f, "403: the token's namespace may not read this namespace's snapshot ({body})")
            }
            FetchError::Status(code, body) => write!(f, "HTTP {code} ({body})"),
        }
    }
}

/// What a poll brought back.
#[derive(Debug)]
pub enum Answer {
    /// A snapshot (decompressed) and its ETag.
    Snapshot { etag: String, body: Vec<u8> },
    /// The version held is current.
    NotModified,
}

/// TLS settings that trust exactly the given CA bundle (PEM), with ring as the crypto provider.
pub fn tls_connector(ca_pem: &[u8]) -> Result<TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        let cert = cert.map_err(|e| format!("control CA bundle: {e}"))?;
        roots.add(cert).map_err(|e| format!("control CA bundle: {e}"))?;
    }
    if roots.is_empty() {
        return Err("control CA bundle: no PEM certificate in it".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

pub struct Client {
    endpoint: Endpoint,
    server_name: ServerName<'static>,
    tls: TlsConnector,
    resolver: Resolver,
    sender: Option<SendRequest<Empty<Bytes>>>,
}

impl Client {
    pub fn new(endpoint: Endpoint, ca_pem: &[u8], resolver: Resolver) -> Result<Client, String> {
        let server_name = ServerName::try_from(endpoint.host.clone())
            .map_err(|e| format!("control address host {:?}: {e}", endpoint.host))?;
        Ok(Client { tls: tls_connector(ca_pem)?, endpoint, server_name, resolver, sender: None })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Drops the connection (after an error or a timeout): the next poll opens a new one.
    pub fn disconnect(&mut self) {
        self.sender = None;
    }

    async fn connect(&self) -> Result<SendRequest<Empty<Bytes>>, FetchError> {
        let ip = self.resolver.lookup(&self.endpoint.host).await.map_err(|e| FetchError::Connect(e.to_string()))?;
        let tcp =
            connect(SocketAddr::new(ip, self.endpoint.port)).await.map_err(|e| FetchError::Connect(e.to_string()))?;
        let tls = self
            .tls
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| FetchError::Connect(format!("TLS with {}: {e}", self.endpoint.authority)))?;
        let (sender, conn) = http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| FetchError::Connect(format!("HTTP handshake: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// One request: `path_and_query` with the bearer token and the version held. The caller bounds it in time.
    pub async fn poll(&mut self, path_and_query: &str, token: &str, held: Option<&str>) -> Result<Answer, FetchError> {
        let reusable = match self.sender.as_mut() {
            Some(s) => s.ready().await.is_ok(),
            None => false,
        };
        if !reusable {
            self.sender = Some(self.connect().await?);
        }
        let Some(sender) = self.sender.as_mut() else {
            return Err(FetchError::Connect("no connection".into()));
        };
        let mut request = Request::get(path_and_query)
            .header(header::HOST, &self.endpoint.authority)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::ACCEPT_ENCODING, "gzip")
            .header(header::USER_AGENT, concat!("meshgate-proxy/", env!("CARGO_PKG_VERSION")));
        if let Some(etag) = held {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        let request = request.body(Empty::new()).map_err(|e| FetchError::Token(format!("not a valid header: {e}")))?;
        let response = sender.send_request(request).await.map_err(|e| FetchError::Transport(e.to_string()))?;
        let (head, body) = response.into_parts();
        let limit = usize::try_from(MAX_SNAPSHOT_BYTES).unwrap_or(usize::MAX);
        let body = Limited::new(body, limit).collect().await.map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                FetchError::TooLarge(format!("snapshot body over {MAX_SNAPSHOT_BYTES} bytes"))
            } else {
                FetchError::Transport(e.to_string())
            }
        })?;
        let body = body.to_bytes();
        match head.status {
            StatusCode::NOT_MODIFIED => Ok(Answer::NotModified),
            StatusCode::OK => {
                let etag = head
                    .headers
                    .get(header::ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
                    .ok_or_else(|| FetchError::Malformed("a snapshot answer without an ETag".into()))?;
                let encoding = head.headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok());
                let body = match encoding {
                    None | Some("identity") => body.to_vec(),
                    Some(e) if e.eq_ignore_ascii_case("gzip") => gunzip(&body)?,
                    Some(other) => {
                        return Err(FetchError::Malformed(format!("Content-Encoding {other:?} not supported")))
                    }
                };
                Ok(Answer::Snapshot { etag, body })
            }
            status => {
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]).trim().to_string();
                Err(FetchError::Status(status.as_u16(), text))
            }
        }
    }
}

/// Inflates with the same bound as a snapshot file: a small gzip cannot expand past it.
fn gunzip(compressed: &[u8]) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(compressed)
        .take(MAX_SNAPSHOT_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| FetchError::Malformed(format!("gzip: {e}")))?;
    if out.len() as u64 > MAX_SNAPSHOT_BYTES {
        return Err(FetchError::TooLarge(format!("snapshot over {MAX_SNAPSHOT_BYTES} bytes once decompressed")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let e = Endpoint::parse("https://meshgate-control.istio-system.svc:15012").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("meshgate-control.istio-system.svc", 15012));
        assert_eq!(e.authority, "meshgate-control.istio-system.svc:15012");
        let e = Endpoint::parse("https://[::1]:8443/").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 8443));
        assert_eq!(Endpoint::parse("https://control").unwrap().port, 443);
        for bad in ["http://control:15012", "control:15012", "https://control/v1", "https://u@control", "https://"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn gzip_bomb_is_refused_by_the_decompressed_bound() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..65 {
            enc.write_all(&zeros).unwrap();
        }
        let small = enc.finish().unwrap();
        assert!(small.len() < 1 << 20);
        assert!(matches!(gunzip(&small), Err(FetchError::TooLarge(_))));
        assert!(matches!(gunzip(b"not gzip"), Err(FetchError::Malformed(_))));
    }

    #[test]
    fn a_ca_bundle_without_certificates_is_refused() {
        assert!(tls_connector(b"").err().is_some_and(|e| e.contains("no PEM certificate")));
        assert!(tls_connector(b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n").is_err());
    }
}
