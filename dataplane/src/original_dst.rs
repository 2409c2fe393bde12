//! The destination a client dialled before iptables' REDIRECT sent it here: `SO_ORIGINAL_DST` (IPv4) and
//! `IP6T_SO_ORIGINAL_DST` (IPv6), both option 80 of their protocol level, read from the accepted socket.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

const SO_ORIGINAL_DST: libc::c_int = 80;

/// The original destination, or None when the connection was not redirected (no conntrack entry).
/// An IPv4 client accepted on a dual-stack (`::`) socket has a v4-mapped local address; its conntrack entry is
/// IPv4, so it is asked with the IPv4 option.
pub fn original_dst(socket: &impl AsRawFd, local: SocketAddr) -> Option<SocketAddr> {
    let fd = socket.as_raw_fd();
    let ipv4 = match local {
        SocketAddr::V4(_) => true,
        SocketAddr::V6(v6) => v6.ip().to_ipv4_mapped().is_some(),
    };
    if ipv4 {
        // SAFETY: sockaddr_in is plain old data; getsockopt writes at most `len` bytes into it.
        let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: fd is an open socket owned by the caller; the pointer and length describe `addr`.
        let rc = unsafe {
            libc::getsockopt(fd, libc::SOL_IP, SO_ORIGINAL_DST, (&mut addr as *mut libc::sockaddr_in).cast(), &mut len)
        };
        if rc != 0 {
            return None;
        }
        let ip = Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr));
        Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(addr.sin_port))))
    } else {
        // SAFETY: as above, for sockaddr_in6.
        let mut addr: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        // SAFETY: as above.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_IPV6,
                SO_ORIGINAL_DST,
                (&mut addr as *mut libc::sockaddr_in6).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return None;
        }
        let ip = Ipv6Addr::from(addr.sin6_addr.s6_addr);
        // An IPv4 client on a dual-stack socket reports its destination as ::ffff:a.b.c.d; keep it IPv4.
        let addr6 = SocketAddrV6::new(ip, u16::from_be(addr.sin6_port), 0, 0);
        Some(match ip.to_ipv4_mapped() {
            Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, addr6.port())),
            None => SocketAddr::V6(addr6),
        })
    }
}
