//! Inbound passthrough (:15006): connections redirected to the pod are joined to their original destination
//! unchanged. meshgate controls egress only; inbound is a plain relay so `meshgate init -b` works. The upstream
//! connection leaves from 127.0.0.6 (::6 for IPv6), which the iptables rules do not capture again (Istio's choice).

use crate::listener::OriginalDst;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub async fn serve(listener: TcpListener, original_dst: OriginalDst, max_connections: usize) {
    let slots = Arc::new(Semaphore::new(max_connections));
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else { continue };
        let Some(original) = original_dst(&client) else { continue };
        tokio::spawn(async move {
            if let Ok(mut up) = connect_from_passthrough_source(original).await {
                let _ = client.set_nodelay(true);
                let _ = tokio::time::timeout(
                    crate::tcp_proxy::IDLE_TIMEOUT,
                    tokio::io::copy_bidirectional(&mut client, &mut up),
                )
                .await;
            }
            drop(permit);
        });
    }
}

/// The bind failure is logged once per process, not per connection.
static SOURCE_FALLBACK_LOGGED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

async fn connect_from_passthrough_source(to: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let (socket, source): (tokio::net::TcpSocket, std::net::IpAddr) = if to.is_ipv4() {
        (tokio::net::TcpSocket::new_v4()?, std::net::Ipv4Addr::new(127, 0, 0, 6).into())
    } else {
        (tokio::net::TcpSocket::new_v6()?, std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 6).into())
    };
    // Binding 127.0.0.6 needs no route; if the address is unusable here (no IPv6 loopback, say), connect from the
    // default source instead, and say so once: the app then sees the proxy's own address.
    if let Err(e) = socket.bind(std::net::SocketAddr::new(source, 0)) {
        if !SOURCE_FALLBACK_LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            crate::log::warn(&format!(
                "inbound passthrough: cannot bind {source} as the source ({e}); connecting from the default source"
            ));
        }
    }
    let stream = tokio::time::timeout(crate::upstream::CONNECT_TIMEOUT, socket.connect(to))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}
