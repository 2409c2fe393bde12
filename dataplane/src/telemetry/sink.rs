//! The access log writer: lines are appended to a memory buffer on the request path and written by a background
//! thread (every 100 ms or at 64 KiB), so a slow disk never adds latency. The buffer is bounded: lines beyond it are
//! dropped and counted, never waited for.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

const FLUSH_BYTES: usize = 64 * 1024;
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
const MAX_BUFFERED: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Buffer {
    data: Vec<u8>,
    closed: bool,
}

pub struct Sink {
    shared: Arc<(Mutex<Buffer>, Condvar)>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Sink {
    /// `/dev/stdout`, `/dev/stderr` or a file path (appended, created).
    pub fn open(path: &str) -> std::io::Result<Sink> {
        let out: Box<dyn Write + Send> = match path {
            "/dev/stdout" => Box::new(std::io::stdout()),
            "/dev/stderr" => Box::new(std::io::stderr()),
            p => Box::new(std::fs::OpenOptions::new().create(true).append(true).open(p)?),
        };
        let shared = Arc::new((Mutex::new(Buffer::default()), Condvar::new()));
        let thread_shared = shared.clone();
        let handle =
            std::thread::Builder::new().name("access-log".into()).spawn(move || write_loop(&thread_shared, out))?;
        Ok(Sink { shared, writer: Mutex::new(Some(handle)) })
    }

    /// Returns false when the line was dropped (buffer full).
    pub fn write(&self, line: &str) -> bool {
        let (lock, cv) = &*self.shared;
        let Ok(mut buf) = lock.lock() else { return false };
        if buf.data.len() + line.len() > MAX_BUFFERED {
            return false;
        }
        buf.data.extend_from_slice(line.as_bytes());
        if buf.data.len() >= FLUSH_BYTES {
            cv.notify_one();
        }
        true
    }

    /// Writes what is buffered and stops the writer thread (shutdown).
    pub fn close(&self) {
        if let Ok(mut buf) = self.shared.0.lock() {
            buf.closed = true;
        }
        self.shared.1.notify_one();
        if let Some(handle) = self.writer.lock().ok().and_then(|mut h| h.take()) {
            let _ = handle.join();
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.close();
    }
}

fn write_loop(shared: &(Mutex<Buffer>, Condvar), mut out: Box<dyn Write + Send>) {
    let (lock, cv) = shared;
    loop {
        let (data, closed) = {
            let Ok(guard) = lock.lock() else { return };
            let Ok((mut guard, _)) =
                cv.wait_timeout_while(guard, FLUSH_INTERVAL, |b| !b.closed && b.data.len() < FLUSH_BYTES)
            else {
                return;
            };
            (std::mem::take(&mut guard.data), guard.closed)
        };
        if !data.is_empty() {
            // A failed write loses these lines only; the next batch tries again.
            let _ = out.write_all(&data).and_then(|_| out.flush());
        }
        if closed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_reach_the_file_and_close_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let sink = Sink::open(path.to_str().unwrap()).unwrap();
        assert!(sink.write("one\n"));
        assert!(sink.write("two\n"));
        sink.close();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
    }
}
