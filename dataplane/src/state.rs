//! The snapshot in force, swapped whole. Loading is all-or-nothing: a document that does not parse, has another
//! apiVersion, an unknown field or a route this proxy cannot compile is rejected, logged and counted, and the last
//! good snapshot stays in force. The file is watched by polling its (mtime, size, inode): the TypeScript side
//! writes a temp file and renames it, so a reader never sees half a document.

use crate::route::table::{Table, Workload};
use crate::snapshot::{self, MeshSettings};
use crate::telemetry::access_log::LineFormat;
use crate::telemetry::metrics::Metrics;
use crate::telemetry::sink::Sink;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// One loaded snapshot and what was built from it.
pub struct Loaded {
    pub table: Table,
    pub version: String,
    pub mesh: MeshSettings,
    pub loaded_at: SystemTime,
    pub loaded_instant: Instant,
    pub problems: usize,
    pub cluster_count: usize,
    /// The access log writer (None: accessLogFile is empty).
    pub access_log: Option<(Arc<Sink>, LineFormat)>,
}

pub struct Shared {
    current: RwLock<Option<Arc<Loaded>>>,
    pub metrics: Metrics,
    /// Where snapshots come from (file or control plane) and the control connection's state.
    pub feed: crate::control::status::FeedStatus,
    pub workload: Workload,
    last_error: RwLock<Option<String>>,
    rejected: std::sync::atomic::AtomicU64,
}

impl Shared {
    pub fn new(workload: Workload) -> Arc<Shared> {
        let metrics = Metrics::new(&workload.name, &workload.namespace);
        Arc::new(Shared {
            current: RwLock::new(None),
            metrics,
            feed: Default::default(),
            workload,
            last_error: RwLock::new(None),
            rejected: 0.into(),
        })
    }

    /// The snapshot in force (None until the first one loads: not ready).
    pub fn current(&self) -> Option<Arc<Loaded>> {
        self.current.read().ok().and_then(|g| g.clone())
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.read().ok().and_then(|g| g.clone())
    }

    /// The metrics exposition, with the snapshot's age as of now.
    pub fn encode_metrics(&self) -> String {
        let age =
            self.current().map_or(-1, |l| i64::try_from(l.loaded_instant.elapsed().as_secs()).unwrap_or(i64::MAX));
        self.metrics.snapshot_age.set(age);
        self.metrics.encode()
    }

    pub fn rejected_count(&self) -> u64 {
        self.rejected.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Parses, compiles and swaps in a snapshot; on error keeps the previous one and returns why.
    pub fn apply(&self, text: &[u8]) -> Result<Arc<Loaded>, String> {
        let result = self.build(text);
        match &result {
            Ok(loaded) => {
                if let Ok(mut g) = self.current.write() {
                    *g = Some(loaded.clone());
                }
                if let Ok(mut e) = self.last_error.write() {
                    *e = None;
                }
                self.metrics.config_reload(true);
                let unix = loaded.loaded_at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
                self.metrics.snapshot_age_base.set(i64::try_from(unix).unwrap_or(i64::MAX));
            }
            Err(e) => {
                self.rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Ok(mut g) = self.last_error.write() {
                    *g = Some(e.clone());
                }
                self.metrics.config_reload(false);
            }
        }
        result
    }

    fn build(&self, text: &[u8]) -> Result<Arc<Loaded>, String> {
        let snap = snapshot::parse(text)?;
        let table = Table::compile(&snap)?;
        let format = LineFormat::from_mesh(snap.mesh.access_log_encoding, &snap.mesh.access_log_format)?;
        // The same file as before keeps its writer (a reload must not reopen or lose buffered lines).
        let previous = self.current();
        let access_log = match snap.mesh.access_log_file.as_str() {
            "" => None,
            file => {
                let same =
                    previous.as_ref().filter(|p| p.mesh.access_log_file == file).and_then(|p| p.access_log.as_ref());
                let sink = match same {
                    Some((sink, _)) => sink.clone(),
                    None => Arc::new(Sink::open(file).map_err(|e| format!("mesh.accessLogFile {file:?}: {e}"))?),
                };
                Some((sink, format))
            }
        };
        Ok(Arc::new(Loaded {
            cluster_count: table.registry.cluster_count(),
            table,
            version: snap.version,
            mesh: snap.mesh,
            loaded_at: SystemTime::now(),
            loaded_instant: Instant::now(),
            problems: snap.problems.len(),
            access_log,
        }))
    }
}

/// Reads a snapshot file with a size bound.
pub fn read_snapshot(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > snapshot::MAX_SNAPSHOT_BYTES {
        return Err(format!(
            "{}: {} bytes is over the {} byte limit",
            path.display(),
            meta.len(),
            snapshot::MAX_SNAPSHOT_BYTES
        ));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

type Stamp = Option<(SystemTime, u64, u64)>;

fn file_stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// Loads the file once and logs the outcome. The stamp is taken before reading, so a change racing the read is
/// seen again by the watcher.
pub fn load_once(shared: &Shared, path: &Path) -> Stamp {
    let (stamp, started) = (file_stamp(path), Instant::now());
    match read_snapshot(path).and_then(|text| shared.apply(&text).map(|l| l.version.clone())) {
        Ok(version) => crate::log::info(&format!(
            "snapshot applied: {version} from {} in {:.2} ms (read, compile, swap)",
            path.display(),
            started.elapsed().as_secs_f64() * 1000.0
        )),
        Err(e) => crate::log::warn(&format!("snapshot rejected, keeping the previous one: {e}")),
    }
    stamp
}

/// Reloads `path` whenever its (mtime, size, inode) differs from `seen` (polled every `interval`).
pub async fn watch_snapshot(shared: Arc<Shared>, path: PathBuf, interval: Duration, mut seen: Stamp) {
    loop {
        tokio::time::sleep(interval).await;
        let stamp = file_stamp(&path);
        if stamp.is_some() && stamp != seen {
            // Reading and compiling a large snapshot takes milliseconds of CPU: on a blocking thread it never holds
            // up a worker that is serving requests (the swap itself is one pointer store).
            let (shared, path) = (shared.clone(), path.clone());
            if let Ok(stamp) = tokio::task::spawn_blocking(move || load_once(&shared, &path)).await {
                seen = stamp;
            }
        }
    }
}
