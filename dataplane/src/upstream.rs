//! Upstream addresses and connections: a plan becomes a socket address (DNS answers for an allowed name through
//! hickory's TTL cache; never the dialled IP for a DNS plan), and HTTP connections are pooled per address.

use crate::route::registry::Plan;
use bytes::Bytes;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::TokioResolver;
use http_body_util::combinators::BoxBody;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::TcpStream;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Body = BoxBody<Bytes, BoxError>;

/// Connect timeout (Envoy's cluster default under Istio is 10 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle HTTP/1 connections kept per upstream address.
const MAX_IDLE_PER_ADDRESS: usize = 64;
/// Upstream addresses with pooled HTTP/1 connections.
const MAX_POOLED_ADDRESSES: usize = 1024;

#[derive(Debug)]
pub enum UpstreamError {
    /// The name did not resolve (Envoy: no healthy upstream, 503 UH).
    Dns(String),
    /// No endpoint in a STATIC plan.
    NoEndpoint,
    Connect(std::io::Error),
    ConnectTimeout,
    Handshake(hyper::Error),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Dns(e) => write!(f, "DNS resolution failed: {e}"),
            UpstreamError::NoEndpoint => write!(f, "no endpoint"),
            UpstreamError::Connect(e) => write!(f, "connect failed: {e}"),
            UpstreamError::ConnectTimeout => write!(f, "connect timed out"),
            UpstreamError::Handshake(e) => write!(f, "handshake failed: {e}"),
        }
    }
}

/// Names whose answer is kept on the request path's own map (hickory keeps the full cache behind it).
const MAX_CACHED_NAMES: usize = 1024;

pub struct Resolver {
    inner: TokioResolver,
    /// name -> (first address, valid until): the answer's TTL is honoured, and a hit costs one map lookup instead of
    /// a trip through hickory's lookup machinery (measured in bench:proxy: that trip was on every request).
    answers: Mutex<HashMap<String, (IpAddr, std::time::Instant)>>,
}

impl Resolver {
    /// The pod's resolv.conf (and hosts file), hickory's TTL-respecting cache.
    pub fn system() -> Result<Resolver, String> {
        let builder = TokioResolver::builder_tokio().map_err(|e| format!("resolv.conf: {e}"))?;
        Ok(Resolver { inner: builder.build(), answers: Mutex::default() })
    }

    /// One name server (tests point it at a local port).
    pub fn with_server(server: SocketAddr, timeout: Duration) -> Resolver {
        let group = NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true);
        let config = ResolverConfig::from_parts(None, vec![], group);
        let mut opts = ResolverOpts::default();
        opts.timeout = timeout;
        opts.attempts = 1;
        let inner =
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default()).with_options(opts).build();
        Resolver { inner, answers: Mutex::default() }
    }

    pub async fn lookup(&self, host: &str) -> Result<IpAddr, UpstreamError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(ip);
        }
        let now = std::time::Instant::now();
        if let Some((ip, until)) = self.answers.lock().ok().and_then(|m| m.get(host).copied()) {
            if until > now {
                return Ok(ip);
            }
        }
        let answer = self.inner.lookup_ip(host).await.map_err(|e| UpstreamError::Dns(e.to_string()))?;
        let ip = answer.iter().next().ok_or_else(|| UpstreamError::Dns(format!("no address for {host}")))?;
        if let Ok(mut m) = self.answers.lock() {
            if m.len() >= MAX_CACHED_NAMES {
                m.clear();
            }
            m.insert(host.to_string(), (ip, answer.valid_until()));
        }
        Ok(ip)
    }
}

/// The address a plan connects to. `random` in [0, 1) picks a STATIC endpoint.
pub async fn address_for(
    plan: &Plan,
    original: SocketAddr,
    resolver: &Resolver,
    random: f64,
) -> Result<SocketAddr, UpstreamError> {
    match plan {
        Plan::Original => Ok(original),
        Plan::Dns { host, port } => Ok(SocketAddr::new(resolver.lookup(host).await?, *port)),
        Plan::Static { endpoints } => {
            if endpoints.is_empty() {
                return Err(UpstreamError::NoEndpoint);
            }
            let i = ((random * endpoints.len() as f64) as usize).min(endpoints.len() - 1);
            let e = &endpoints[i];
            let ip = resolver.lookup(&e.address).await?;
            Ok(SocketAddr::new(ip, e.port))
        }
    }
}

pub async fn connect(addr: SocketAddr) -> Result<TcpStream, UpstreamError> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| UpstreamError::ConnectTimeout)?
        .map_err(UpstreamError::Connect)?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// A pooled HTTP/1 or HTTP/2 sender and the local address of its socket (the access log's upstream local address).
pub enum Sender {
    H1(http1::SendRequest<Body>, SocketAddr),
    H2(http2::SendRequest<Body>, SocketAddr),
}

impl Sender {
    pub fn local(&self) -> SocketAddr {
        match self {
            Sender::H1(_, l) | Sender::H2(_, l) => *l,
        }
    }

    pub async fn send(&mut self, req: http::Request<Body>) -> hyper::Result<http::Response<hyper::body::Incoming>> {
        match self {
            Sender::H1(s, _) => s.send_request(req).await,
            Sender::H2(s, _) => s.send_request(req).await,
        }
    }
}

/// Connections per upstream address. HTTP/1: idle senders are reused once their last response is done (a busy
/// one is skipped); HTTP/2: one multiplexed connection per address.
/// A sender and the local address of its connection.
type H1Idle = (http1::SendRequest<Body>, SocketAddr);
type H2Shared = (http2::SendRequest<Body>, SocketAddr);

#[derive(Default)]
pub struct Pool {
    h1: Mutex<HashMap<SocketAddr, Vec<H1Idle>>>,
    h2: Mutex<HashMap<SocketAddr, H2Shared>>,
}

impl Pool {
    /// A ready sender to `addr`, reused or newly connected. `fresh` is true for a new connection.
    pub async fn get(&self, addr: SocketAddr, h2: bool) -> Result<(Sender, bool), UpstreamError> {
        if h2 {
            if let Some((s, local)) =
                self.h2.lock().ok().and_then(|m| m.get(&addr).filter(|(s, _)| s.is_ready()).cloned())
            {
                return Ok((Sender::H2(s, local), false));
            }
            let stream = connect(addr).await?;
            let local = stream.local_addr().map_err(UpstreamError::Connect)?;
            let (sender, conn) =
                http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.map_err(UpstreamError::Handshake)?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            if let Ok(mut m) = self.h2.lock() {
                if m.len() >= MAX_POOLED_ADDRESSES {
                    m.retain(|_, (s, _)| !s.is_closed());
                }
                if m.len() < MAX_POOLED_ADDRESSES {
                    m.insert(addr, (sender.clone(), local));
                }
            }
            return Ok((Sender::H2(sender, local), true));
        }
        if let Ok(mut m) = self.h1.lock() {
            if let Some(list) = m.get_mut(&addr) {
                list.retain(|(s, _)| !s.is_closed());
                if let Some(i) = list.iter().position(|(s, _)| s.is_ready()) {
                    let (s, local) = list.swap_remove(i);
                    return Ok((Sender::H1(s, local), false));
                }
            }
        }
        let stream = connect(addr).await?;
        let local = stream.local_addr().map_err(UpstreamError::Connect)?;
        let (sender, conn) = http1::Builder::new()
            .max_buf_size(1024 * 1024)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(UpstreamError::Handshake)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok((Sender::H1(sender, local), true))
    }

    /// Returns an HTTP/1 sender after its response head arrived: it becomes ready again once the body is read.
    pub fn put(&self, addr: SocketAddr, sender: Sender) {
        if let Sender::H1(s, local) = sender {
            if s.is_closed() {
                return;
            }
            if let Ok(mut m) = self.h1.lock() {
                // Bounded: under ALLOW_ANY clients choose the addresses, so the pool stops learning new ones.
                if m.len() >= MAX_POOLED_ADDRESSES && !m.contains_key(&addr) {
                    m.retain(|_, list| {
                        list.retain(|(s, _)| !s.is_closed());
                        !list.is_empty()
                    });
                    if m.len() >= MAX_POOLED_ADDRESSES {
                        return;
                    }
                }
                let list = m.entry(addr).or_default();
                if list.len() < MAX_IDLE_PER_ADDRESS {
                    list.push((s, local));
                }
            }
        }
    }
}
