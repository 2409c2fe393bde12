//! The sidecar's client of `meshgate control` (docs/control-plane.md): long-polls its namespace's snapshot over HTTPS
//! with a projected ServiceAccount token, and hands every snapshot to the same load path as the file mode
//! (`Shared::apply`), so a snapshot this proxy cannot use is refused, counted and the last good one stays in force.
//!
//! Readiness follows from that path: not ready until a snapshot is in force; after that the proxy keeps enforcing the
//! last good one through control-plane outages, retrying with jittered exponential backoff.

pub mod backoff;
pub mod fetch;
pub mod status;

use crate::log;
use crate::state::Shared;
use crate::upstream::Resolver;
use backoff::Backoff;
use fetch::{Answer, Client, Endpoint, FetchError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The kubelet writes a projected token of ~1 KB; anything past this is not a token.
const MAX_TOKEN_BYTES: u64 = 16 * 1024;
/// A floor between two polls, so a server (or something in between) that answers at once cannot spin the loop.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(50);

pub struct Config {
    pub endpoint: Endpoint,
    pub token_file: PathBuf,
    pub ca_pem: Vec<u8>,
    pub namespace: String,
    /// `?wait=`: how long the control plane holds a poll when nothing changed (it adds up to 1/16 jitter).
    pub wait: Duration,
    /// A poll with no answer after this is abandoned and the connection replaced; must exceed `wait` + jitter.
    pub request_timeout: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

impl Config {
    /// Defaults: wait 30 s, request timeout 45 s, backoff 0.5 s doubling to 30 s.
    pub fn new(address: &str, token_file: PathBuf, ca_pem: Vec<u8>, namespace: &str) -> Result<Config, String> {
        let endpoint = Endpoint::parse(address)?;
        if !is_dns_label(namespace) {
            return Err(format!("namespace {namespace:?} is not a DNS label (set --namespace or POD_NAMESPACE)"));
        }
        Ok(Config {
            endpoint,
            token_file,
            ca_pem,
            namespace: namespace.to_string(),
            wait: Duration::from_secs(30),
            request_timeout: Duration::from_secs(45),
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
        })
    }

    fn path(&self) -> String {
        format!("/v1/snapshots/{}?wait={}ms", self.namespace, self.wait.as_millis())
    }
}

fn is_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The token, read again for every request: the kubelet replaces the file before the old token expires.
pub fn read_token(path: &Path) -> Result<String, FetchError> {
    let meta = std::fs::metadata(path).map_err(|e| FetchError::Token(format!("{}: {e}", path.display())))?;
    if meta.len() > MAX_TOKEN_BYTES {
        return Err(FetchError::Token(format!("{}: over {MAX_TOKEN_BYTES} bytes", path.display())));
    }
    let text = std::fs::read_to_string(path).map_err(|e| FetchError::Token(format!("{}: {e}", path.display())))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(FetchError::Token(format!("{} is empty", path.display())));
    }
    Ok(token.to_string())
}

/// What one successful poll did.
enum Polled {
    Applied(String),
    Refused { etag: String, why: String },
    NotModified,
}

/// Checks the settings (CA bundle, address) before anything listens, so a bad value stops the process at start.
pub fn client(config: &Config, resolver: Resolver) -> Result<Client, String> {
    Client::new(config.endpoint.clone(), &config.ca_pem, resolver)
}

/// Polls forever. Never returns; every failure is logged, counted and retried after a backoff.
pub async fn run(shared: Arc<Shared>, config: Config, mut client: Client) {
    shared.feed.use_control(&format!("https://{}", config.endpoint.authority), &config.namespace);
    let mut held: Option<String> = None;
    let mut backoff = Backoff::new(config.backoff_base, config.backoff_cap);
    let path = config.path();
    loop {
        let started = Instant::now();
        let outcome = match tokio::time::timeout(
            config.request_timeout,
            poll(&shared, &config, &mut client, &path, held.as_deref()),
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => Err(FetchError::Transport(format!("no answer in {} ms", config.request_timeout.as_millis()))),
        };
        match outcome {
            Ok(polled) => {
                if backoff.failures() > 0 {
                    log::info(&format!("control plane {} answers again", config.endpoint.authority));
                }
                backoff.reset();
                let label = match polled {
                    Polled::Applied(etag) => {
                        held = Some(etag);
                        "applied"
                    }
                    Polled::Refused { etag, why } => {
                        log::warn(&format!(
                            "snapshot {etag} from the control plane rejected, keeping the previous one: {why}"
                        ));
                        // Held anyway: the next poll waits for a newer version instead of fetching this one again.
                        held = Some(etag);
                        "rejected"
                    }
                    Polled::NotModified => "not_modified",
                };
                shared.metrics.control_fetch(label);
                shared.metrics.control_connected.set(1);
                shared.feed.answered(held.as_deref());
                let elapsed = started.elapsed();
                if elapsed < MIN_POLL_INTERVAL {
                    tokio::time::sleep(MIN_POLL_INTERVAL - elapsed).await;
                }
            }
            Err(error) => {
                client.disconnect();
                let delay = backoff.next_delay();
                shared.metrics.control_fetch(error.result_label());
                shared.metrics.control_connected.set(0);
                let text = error.to_string();
                let advice = match &error {
                    FetchError::Status(401 | 403, _) => {
                        " (check the projected token's audience and the namespace: the sidecar stays as it is)"
                    }
                    _ => "",
                };
                log::warn(&format!(
                    "control plane {}: {text}{advice}; retrying in {} ms, keeping {}",
                    config.endpoint.authority,
                    delay.as_millis(),
                    shared
                        .current()
                        .map_or_else(|| "no snapshot (not ready)".to_string(), |l| format!("snapshot {}", l.version))
                ));
                shared.feed.failed(&text, delay);
                tokio::time::sleep(delay).await;
            }
        }
    }
}

async fn poll(
    shared: &Arc<Shared>,
    config: &Config,
    client: &mut Client,
    path: &str,
    held: Option<&str>,
) -> Result<Polled, FetchError> {
    let token = read_token(&config.token_file)?;
    match client.poll(path, &token, held).await? {
        Answer::NotModified => Ok(Polled::NotModified),
        Answer::Snapshot { etag, body } => {
            // Parsing and compiling a large snapshot is CPU work: off the proxy's worker threads.
            let target = shared.clone();
            let applied = tokio::task::spawn_blocking(move || target.apply(&body).map(|l| l.version.clone()))
                .await
                .map_err(|e| FetchError::Malformed(format!("snapshot load task: {e}")))?;
            match applied {
                Ok(version) => {
                    log::info(&format!("snapshot applied: {version} from control plane {}", config.endpoint.authority));
                    Ok(Polled::Applied(etag))
                }
                Err(why) => Ok(Polled::Refused { etag, why }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_must_be_a_dns_label() {
        let cfg = |ns: &str| Config::new("https://c:1", PathBuf::from("/t"), vec![], ns);
        assert!(cfg("team-a").is_ok());
        for bad in ["", "Team", "a/b", "-a", "a-", &"a".repeat(64)] {
            assert!(cfg(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_wait_is_sent_in_milliseconds() {
        let c = Config::new("https://c:1", PathBuf::from("/t"), vec![], "ns").unwrap();
        assert_eq!(c.path(), "/v1/snapshots/ns?wait=30000ms");
    }

    #[test]
    fn token_file_is_trimmed_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "abc.def\n").unwrap();
        assert_eq!(read_token(&p).unwrap(), "abc.def");
        std::fs::write(&p, "  \n").unwrap();
        assert!(read_token(&p).is_err());
        std::fs::write(&p, "x".repeat(20_000)).unwrap();
        assert!(read_token(&p).is_err());
        assert!(read_token(&dir.path().join("missing")).is_err());
    }
}
