//! Where the snapshot in force came from and how the control-plane connection is doing, for /config, /explain and
//! the metrics. Written by the fetch loop, read by the admin server.

use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    /// No answer yet since start or since the last failure.
    Connecting,
    /// The last poll was answered (200 or 304): the next one is waiting on the control plane.
    Connected,
    /// The last poll failed; the next one is after a jittered delay.
    Backoff,
}

impl Connection {
    pub fn name(self) -> &'static str {
        match self {
            Connection::Connecting => "connecting",
            Connection::Connected => "connected",
            Connection::Backoff => "backoff",
        }
    }
}

struct Control {
    address: String,
    namespace: String,
    connection: Connection,
    /// The ETag last received (applied or refused): sent as If-None-Match.
    held: Option<String>,
    last_contact: Option<(Instant, SystemTime)>,
    last_error: Option<String>,
    consecutive_failures: u32,
    retry_in: Option<Duration>,
}

/// `None` inside: the snapshot comes from a file (`--snapshot`).
#[derive(Default)]
pub struct FeedStatus {
    control: Mutex<Option<Control>>,
}

impl FeedStatus {
    pub fn use_control(&self, address: &str, namespace: &str) {
        if let Ok(mut g) = self.control.lock() {
            *g = Some(Control {
                address: address.to_string(),
                namespace: namespace.to_string(),
                connection: Connection::Connecting,
                held: None,
                last_contact: None,
                last_error: None,
                consecutive_failures: 0,
                retry_in: None,
            });
        }
    }

    fn update(&self, f: impl FnOnce(&mut Control)) {
        if let Ok(mut g) = self.control.lock() {
            if let Some(c) = g.as_mut() {
                f(c);
            }
        }
    }

    pub fn answered(&self, held: Option<&str>) {
        self.update(|c| {
            c.connection = Connection::Connected;
            c.held = held.map(str::to_string);
            c.last_contact = Some((Instant::now(), SystemTime::now()));
            c.consecutive_failures = 0;
            c.retry_in = None;
        });
    }

    pub fn failed(&self, error: &str, retry_in: Duration) {
        self.update(|c| {
            c.connection = Connection::Backoff;
            c.last_error = Some(error.to_string());
            c.consecutive_failures = c.consecutive_failures.saturating_add(1);
            c.retry_in = Some(retry_in);
        });
    }

    pub fn source(&self) -> &'static str {
        match self.control.lock() {
            Ok(g) if g.is_some() => "control",
            _ => "file",
        }
    }

    /// The connection state (None in file mode).
    pub fn connection(&self) -> Option<Connection> {
        self.control.lock().ok().and_then(|g| g.as_ref().map(|c| c.connection))
    }

    /// The control object of /config (null in file mode).
    pub fn json(&self) -> Value {
        let Ok(g) = self.control.lock() else { return Value::Null };
        let Some(c) = g.as_ref() else { return Value::Null };
        json!({
            "address": c.address,
            "namespace": c.namespace,
            "connection": c.connection.name(),
            "heldVersion": c.held,
            "lastContact": c.last_contact.map(|(_, at)| crate::telemetry::access_log::iso_time(at)),
            "lastContactSecondsAgo": c.last_contact.map(|(i, _)| i.elapsed().as_secs()),
            "consecutiveFailures": c.consecutive_failures,
            "retryInMs": c.retry_in.map(|d| d.as_millis() as u64),
            "lastError": c.last_error,
        })
    }
}
