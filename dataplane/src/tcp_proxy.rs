//! TLS and TCP passthrough: the allowed connection is joined to its upstream and bytes are copied both ways
//! (tokio's copy_bidirectional); a denied one is closed. Reported once, when both directions are done.

use crate::route::registry::Decision;
use crate::state::Shared;
use crate::telemetry::access_log::AccessRecord;
use crate::upstream::{address_for, connect, Resolver};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Idle TCP/TLS connections are closed after this long without a byte either way (Envoy's default: 1 h).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

pub struct Stream {
    pub client: TcpStream,
    /// Bytes read while sniffing, sent upstream first.
    pub head: Vec<u8>,
    pub original: SocketAddr,
    pub remote: SocketAddr,
    pub sni: Option<String>,
    pub tls: bool,
}

pub async fn forward(shared: Arc<Shared>, resolver: &Resolver, mut s: Stream, d: Decision) {
    let start = SystemTime::now();
    let started = Instant::now();
    let protocol: &'static str = "tcp";
    let loaded = shared.current();
    let mut record = AccessRecord {
        start,
        request: None,
        code: 0,
        flags: String::new(),
        details: None,
        transport_failure: None,
        bytes_received: s.head.len() as u64,
        bytes_sent: 0,
        duration_ms: 0,
        upstream_service_time_ms: None,
        upstream_host: None,
        cluster: d.cluster.clone().unwrap_or_else(|| "-".into()),
        upstream_local: None,
        downstream_local: s.original.to_string(),
        downstream_remote: s.remote.to_string(),
        sni: s.sni.clone(),
        route: None,
    };
    let finish = |mut record: AccessRecord| {
        record.duration_ms = started.elapsed().as_millis() as u64;
        shared.metrics.tcp_closed(
            d.metric_destination(),
            protocol,
            &record.flags,
            record.bytes_sent,
            record.bytes_received,
        );
        if let Some((sink, format)) = loaded.as_ref().and_then(|l| l.access_log.as_ref()) {
            if !sink.write(&format.line(&record)) {
                shared.metrics.access_log_dropped.inc();
            }
        }
    };
    shared.metrics.tcp_opened(d.metric_destination(), protocol);
    if !d.allowed {
        let what = match &s.sni {
            Some(sni) => format!("{sni}:{}", s.original.port()),
            None => s.original.to_string(),
        };
        shared.metrics.denied(if s.tls { "tls" } else { "tcp" }, &what);
        record.flags = "UH".into();
        record.details = Some("blackhole".into());
        finish(record);
        return;
    }
    let upstream = match address_for(&d.plan, s.original, resolver, rand::random::<f64>()).await {
        Ok(addr) => connect(addr).await.map(|u| (addr, u)).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let (addr, mut up) = match upstream {
        Ok(ok) => ok,
        Err(e) => {
            record.flags = "UF".into();
            record.transport_failure = Some(e);
            finish(record);
            return;
        }
    };
    record.upstream_host = Some(addr.to_string());
    record.upstream_local = up.local_addr().ok().map(|a| a.to_string());
    if up.write_all(&s.head).await.is_err() {
        record.flags = "UC".into();
        finish(record);
        return;
    }
    // splice(2) where the kernel allows it (both ends are TCP sockets), else tokio's user-space copy.
    let copied = if crate::splice::available() {
        crate::splice::bidirectional(&s.client, &up, IDLE_TIMEOUT).await
    } else {
        tokio::time::timeout(IDLE_TIMEOUT, tokio::io::copy_bidirectional(&mut s.client, &mut up))
            .await
            .unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "timeout")))
    };
    match copied {
        Ok((from_client, from_upstream)) => {
            record.bytes_received += from_client;
            record.bytes_sent = from_upstream;
        }
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => record.flags = "IT".into(),
        Err(_) => record.flags = "UC".into(),
    }
    finish(record);
}
