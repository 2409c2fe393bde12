//! The outbound listener: reads each connection's original destination, sniffs its first bytes (bounded in size
//! and time) and serves it as HTTP/1.1, h2c, or passes it through as TLS (decided by SNI) or TCP (by address).

use crate::http_proxy::{self, ConnInfo, Proxy};
use crate::route::table::{L4Kind, Workload};
use crate::sniff::{classify, client_hello_sni, Hello, Protocol, MAX_CLIENT_HELLO};
use crate::tcp_proxy;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Limits set on purpose: each bounds memory or time a client can take.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Request line plus headers (Envoy's default is 60 KiB; 431 beyond).
    pub max_header_bytes: usize,
    /// Header fields per request (Envoy's default: 100; 431 beyond).
    pub max_headers: usize,
    /// Time to receive a request's headers: slowloris connections are closed after it.
    pub header_timeout: Duration,
    /// Silence before a connection is treated as server-first TCP.
    pub sniff_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 60 * 1024,
            max_headers: 100,
            header_timeout: Duration::from_secs(10),
            sniff_timeout: Duration::from_millis(100),
            max_connections: 10_000,
        }
    }
}

/// How the listener learns a connection's original destination (SO_ORIGINAL_DST in production; tests inject).
pub type OriginalDst = Arc<dyn Fn(&TcpStream) -> Option<SocketAddr> + Send + Sync>;

pub fn so_original_dst() -> OriginalDst {
    Arc::new(|s: &TcpStream| {
        let local = s.local_addr().ok()?;
        let original = crate::original_dst::original_dst(s, local)?;
        // Not redirected (someone dialled the listener itself): forwarding would loop back here.
        let same = original.ip() == local.ip().to_canonical() && original.port() == local.port();
        (!same).then_some(original)
    })
}

/// A socket with bytes already read put back in front of it.
pub struct Rewind {
    head: Vec<u8>,
    pos: usize,
    inner: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.pos < self.head.len() {
            let n = (self.head.len() - self.pos).min(buf.remaining());
            let start = self.pos;
            buf.put_slice(&self.head[start..start + n]);
            self.pos += n;
            if self.pos == self.head.len() {
                self.head = Vec::new();
                self.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Reads until the protocol is known (and, for TLS, the ClientHello's SNI), or the sniff timeout passes.
async fn sniff(stream: &mut TcpStream, timeout: Duration) -> (Protocol, Vec<u8>, Option<String>) {
    let mut buf = Vec::with_capacity(1024);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut chunk = [0u8; 4096];
    loop {
        let kind = classify(&buf);
        if kind == Protocol::Tls {
            if let Hello::Done(sni) = client_hello_sni(&buf) {
                return (Protocol::Tls, buf, sni);
            }
            if buf.len() >= MAX_CLIENT_HELLO {
                return (Protocol::Tls, buf, None);
            }
        } else if kind != Protocol::NeedMore {
            return (kind, buf, None);
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            // Silence (server-first protocols) or end of input: decided with what we have.
            _ => {
                let kind = match classify(&buf) {
                    Protocol::NeedMore => Protocol::Tcp,
                    Protocol::Tls => return (Protocol::Tls, buf, None),
                    k => k,
                };
                return (kind, buf, None);
            }
        }
    }
}

pub async fn serve_connection(
    proxy: Arc<Proxy>,
    limits: Arc<Limits>,
    mut stream: TcpStream,
    original: SocketAddr,
    remote: SocketAddr,
) {
    let _ = stream.set_nodelay(true);
    let (kind, head, sni) = sniff(&mut stream, limits.sniff_timeout).await;
    match kind {
        Protocol::Http1 | Protocol::H2c => {
            let conn = Arc::new(ConnInfo { original, remote, h2: kind == Protocol::H2c });
            serve_http(proxy, &limits, Rewind { head, pos: 0, inner: stream }, conn).await;
        }
        Protocol::Tls | Protocol::Tcp | Protocol::NeedMore => {
            let Some(loaded) = proxy.shared.current() else { return };
            let l4 = if kind == Protocol::Tls { L4Kind::Tls } else { L4Kind::Tcp };
            // sourceSubnet is matched against the connection's source address.
            let workload = Workload { ip: Some(remote.ip().to_canonical()), ..proxy.shared.workload.clone() };
            let decision =
                loaded.table.decide_l4(l4, sni.as_deref(), original.ip(), original.port(), &workload, rand::random());
            let s = tcp_proxy::Stream { client: stream, head, original, remote, sni, tls: kind == Protocol::Tls };
            tcp_proxy::forward(proxy.shared.clone(), &proxy.resolver, s, decision).await;
        }
    }
}

/// Serves one HTTP/1.1 or h2c connection (`conn.h2`) with the limits; `io` starts at the request's first byte.
/// Generic over the byte stream so the HTTP fuzz target drives the same codec settings and handler in memory.
pub async fn serve_http<I>(proxy: Arc<Proxy>, limits: &Limits, io: I, conn: Arc<ConnInfo>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let h2 = conn.h2;
    let io = TokioIo::new(io);
    let service = service_fn(move |req| http_proxy::handle(proxy.clone(), conn.clone(), req));
    if h2 {
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .max_header_list_size(limits.max_header_bytes as u32)
            .serve_connection(io, service)
            .await;
    } else {
        let _ = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_buf_size(limits.max_header_bytes.max(8192))
            .max_headers(limits.max_headers)
            .serve_connection(io, service)
            .await;
    }
}

/// Accepts until `stop` resolves. Connections beyond `max_connections` are refused at accept.
pub async fn serve(
    listener: TcpListener,
    proxy: Arc<Proxy>,
    limits: Arc<Limits>,
    original_dst: OriginalDst,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut stop = stop;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let Ok((stream, remote)) = accepted else {
            // EMFILE and the like: back off briefly instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else { continue };
        let Some(original) = original_dst(&stream) else { continue };
        let proxy = proxy.clone();
        let limits = limits.clone();
        tokio::spawn(async move {
            serve_connection(proxy, limits, stream, original, remote).await;
            drop(permit);
        });
    }
}
