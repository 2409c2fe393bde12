//! TCP/TLS passthrough by `splice(2)`: bytes move socket → pipe → socket inside the kernel, never copied through
//! user space. Both directions run at once; each half-closes its destination when its source ends. A connection
//! idle in both directions for `idle` is closed (Envoy's TCP idle timeout).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Bytes moved per splice call (the pipe's default capacity).
const CHUNK: usize = 64 * 1024;

struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

fn pipe() -> io::Result<Pipe> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`; they are owned by the Pipe from here on.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are not owned elsewhere.
    Ok(unsafe { Pipe { read: OwnedFd::from_raw_fd(fds[0]), write: OwnedFd::from_raw_fd(fds[1]) } })
}

fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: plain descriptors, no offsets (null): the kernel moves up to `len` bytes between them.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Whether splice can be used here (checked once: a pipe can be made and spliced); otherwise the caller copies in
/// user space.
pub fn available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let (Ok(a), Ok(b)) = (pipe(), pipe()) else { return false };
        // An empty pipe to a pipe: EAGAIN (supported) rather than EINVAL/ENOSYS (not supported).
        match splice(a.read.as_raw_fd(), b.write.as_raw_fd(), 1) {
            Ok(_) => true,
            Err(e) => e.kind() == io::ErrorKind::WouldBlock,
        }
    })
}

/// One direction: from `src` to `dst` until `src` ends, then half-close `dst`. Returns the bytes moved.
async fn one_way(src: &TcpStream, dst: &TcpStream, activity: &AtomicU64, epoch: Instant) -> io::Result<u64> {
    let p = pipe()?;
    let mut total = 0u64;
    loop {
        src.readable().await?;
        let n = match src.try_io(Interest::READABLE, || splice(src.as_raw_fd(), p.write.as_raw_fd(), CHUNK)) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        let mut left = n;
        while left > 0 {
            dst.writable().await?;
            match dst.try_io(Interest::WRITABLE, || splice(p.read.as_raw_fd(), dst.as_raw_fd(), left)) {
                Ok(m) => left -= m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        total += n as u64;
        activity.store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    let _ = socket2::SockRef::from(dst).shutdown(std::net::Shutdown::Write);
    Ok(total)
}

/// Joins two sockets; returns (bytes from `a` to `b`, bytes from `b` to `a`), or the first error, or TimedOut.
pub async fn bidirectional(a: &TcpStream, b: &TcpStream, idle: Duration) -> io::Result<(u64, u64)> {
    let epoch = Instant::now();
    let activity = AtomicU64::new(0);
    let both = async { tokio::try_join!(one_way(a, b, &activity, epoch), one_way(b, a, &activity, epoch)) };
    let watchdog = async {
        loop {
            let last = Duration::from_millis(activity.load(Ordering::Relaxed));
            let quiet = epoch.elapsed().saturating_sub(last);
            if quiet >= idle {
                return;
            }
            tokio::time::sleep(idle - quiet).await;
        }
    };
    tokio::select! {
        r = both => r,
        _ = watchdog => Err(io::Error::new(io::ErrorKind::TimedOut, "idle timeout")),
    }
}
