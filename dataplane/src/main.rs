//! meshgate-proxy: the egress sidecar's data plane.
//!
//! meshgate-proxy --snapshot FILE [--port 15001] [--inbound-port 15006] [--admin-port 15000]
//!                [--status-port 15021] [--metrics-port 15090] [--bind ADDRESS] [--workers N] [--drain-seconds N]
//! meshgate-proxy --control-address https://HOST:PORT --control-token-file FILE [--control-ca-file FILE]
//!                [--namespace NS] [the same ports]
//!
//! The control mode long-polls `meshgate control` (src/control in this crate). Its settings default to the
//! environment the injector sets: MESHGATE_CONTROL_ADDRESS, MESHGATE_CONTROL_TOKEN_FILE, MESHGATE_CONTROL_CA (base64
//! PEM) and POD_NAMESPACE; flags win. `--snapshot` selects the file mode even when that environment is present.
//!
//! The workload's identity comes from the environment the injector sets: ISTIO_META_WORKLOAD_NAME, POD_NAMESPACE,
//! and ISTIO_METAJSON_LABELS (the pod's labels as JSON). With ISTIO_KUBE_APP_PROBERS (rewritten app probes) it also
//! serves /app-health/... on MESHGATE_APP_PROBE_PORT (15020), see app_probe.rs.

#![deny(clippy::unwrap_used, clippy::expect_used)]

use meshgate_proxy::http_proxy::Proxy;
use meshgate_proxy::listener::{self, Limits};
use meshgate_proxy::route::table::Workload;
use meshgate_proxy::state::{self, Shared};
use meshgate_proxy::upstream::{Pool, Resolver};
use meshgate_proxy::{admin, app_probe, control, inbound, log};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

const USAGE: &str = "usage: meshgate-proxy (--snapshot FILE | --control-address https://HOST:PORT --control-token-file FILE [--control-ca-file FILE] [--namespace NS]) [--port 15001] [--inbound-port 15006 (0: off)] [--admin-port 15000] [--status-port 15021] [--metrics-port 15090] [--bind ADDRESS] [--workers N] [--drain-seconds N]";

/// How often the snapshot file is checked for a change.
const WATCH_INTERVAL: Duration = Duration::from_millis(200);
/// Drain when the snapshot in force does not say (Istio's default terminationDrainDuration).
const DEFAULT_DRAIN: Duration = Duration::from_secs(5);

struct Args {
    source: Source,
    port: u16,
    inbound_port: u16,
    admin_port: u16,
    status_port: u16,
    metrics_port: u16,
    bind: Option<String>,
    workers: usize,
    /// The pod's terminationDrainDuration (proxy.istio.io/config), over the mesh-wide one in the snapshot.
    drain: Option<Duration>,
}

/// Where snapshots come from.
enum Source {
    File(PathBuf),
    Control(Box<control::Config>),
}

#[derive(Default)]
struct ControlFlags {
    address: Option<String>,
    token_file: Option<String>,
    ca_file: Option<String>,
    namespace: Option<String>,
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The control settings: flags first, then the injector's environment.
fn control_config(flags: ControlFlags) -> Result<control::Config, String> {
    use base64::Engine;
    let address = flags
        .address
        .or_else(|| env_var("MESHGATE_CONTROL_ADDRESS"))
        .ok_or_else(|| format!("--snapshot or --control-address (or MESHGATE_CONTROL_ADDRESS) is required\n{USAGE}"))?;
    let token_file = flags
        .token_file
        .or_else(|| env_var("MESHGATE_CONTROL_TOKEN_FILE"))
        .ok_or("--control-token-file (or MESHGATE_CONTROL_TOKEN_FILE) is required with a control address")?;
    let ca_pem = match (flags.ca_file, env_var("MESHGATE_CONTROL_CA")) {
        (Some(file), _) => std::fs::read(&file).map_err(|e| format!("--control-ca-file {file}: {e}"))?,
        (None, Some(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| format!("MESHGATE_CONTROL_CA: not base64: {e}"))?,
        (None, None) => {
            return Err("--control-ca-file (or MESHGATE_CONTROL_CA, base64 PEM) is required: the sidecar trusts only \
                        the control plane's CA"
                .into())
        }
    };
    let namespace =
        flags.namespace.or_else(|| env_var("POD_NAMESPACE")).ok_or("--namespace (or POD_NAMESPACE) is required")?;
    control::Config::new(&address, PathBuf::from(token_file), ca_pem, &namespace)
}

fn parse_args() -> Result<Args, String> {
    let mut snapshot: Option<PathBuf> = None;
    let mut flags = ControlFlags::default();
    let mut args = Args {
        source: Source::File(PathBuf::new()),
        port: 15001,
        inbound_port: 15006,
        admin_port: 15000,
        status_port: 15021,
        metrics_port: 15090,
        bind: None,
        workers: 2,
        drain: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_string());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let port = |v: &str| v.parse::<u16>().map_err(|_| format!("{flag}: {v:?} is not a port"));
        match flag.as_str() {
            "--snapshot" => snapshot = Some(PathBuf::from(value)),
            "--control-address" => flags.address = Some(value),
            "--control-token-file" => flags.token_file = Some(value),
            "--control-ca-file" => flags.ca_file = Some(value),
            "--namespace" => flags.namespace = Some(value),
            "--port" => args.port = port(&value)?,
            "--inbound-port" => args.inbound_port = port(&value)?,
            "--admin-port" => args.admin_port = port(&value)?,
            "--status-port" => args.status_port = port(&value)?,
            "--metrics-port" => args.metrics_port = port(&value)?,
            "--bind" => args.bind = Some(value),
            "--drain-seconds" => {
                let secs = value.parse::<u64>().ok().filter(|s| *s <= 3600).ok_or("--drain-seconds: 0 to 3600")?;
                args.drain = Some(Duration::from_secs(secs));
            }
            "--workers" => {
                args.workers =
                    value.parse().ok().filter(|n| (0..=64).contains(n)).ok_or("--workers: 0 (all cores) to 64")?
            }
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    args.source = match snapshot {
        Some(_) if flags.address.is_some() => return Err("--snapshot and --control-address exclude each other".into()),
        Some(path) => Source::File(path),
        None => Source::Control(Box::new(control_config(flags)?)),
    };
    Ok(args)
}

fn workload_from_env(namespace: Option<&str>) -> Workload {
    let var = env_var;
    Workload {
        name: var("ISTIO_META_WORKLOAD_NAME").unwrap_or_else(|| "unknown".into()),
        namespace: namespace.map(str::to_string).or_else(|| var("POD_NAMESPACE")).unwrap_or_else(|| "unknown".into()),
        labels: var("ISTIO_METAJSON_LABELS").and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default(),
        // Set per connection from its source address (sourceSubnet).
        ip: None,
    }
}

/// `::` dual stack when the host has IPv6, else 0.0.0.0; or the address given.
async fn bind(address: Option<&str>, port: u16) -> std::io::Result<TcpListener> {
    let make = |addr: SocketAddr| -> std::io::Result<TcpListener> {
        let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
        if addr.is_ipv6() {
            socket.set_only_v6(false)?;
        }
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        TcpListener::from_std(socket.into())
    };
    match address {
        Some(a) => {
            let ip = a
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| std::io::Error::other(format!("--bind {a}: not an IP address")))?;
            make(SocketAddr::new(ip, port))
        }
        None => make(SocketAddr::new(std::net::Ipv6Addr::UNSPECIFIED.into(), port))
            .or_else(|_| make(SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), port))),
    }
}

async fn run(args: Args) -> Result<(), String> {
    // Before anything listens: a malformed ISTIO_KUBE_APP_PROBERS stops the proxy with the reason.
    let app_probes = app_probe::AppProbers::from_env()?;
    let namespace = match &args.source {
        Source::Control(c) => Some(c.namespace.clone()),
        Source::File(_) => None,
    };
    let shared = Shared::new(workload_from_env(namespace.as_deref()));
    match args.source {
        // The first load happens before the listeners open; a bad first snapshot leaves the proxy not ready (503 on
        // /healthz/ready) while the watcher waits for a good one.
        Source::File(path) => {
            let seen = state::load_once(&shared, &path);
            tokio::spawn(state::watch_snapshot(shared.clone(), path, WATCH_INTERVAL, seen));
        }
        // Not ready until the first snapshot arrives; the client keeps the last good one through outages.
        Source::Control(config) => {
            let client = control::client(&config, Resolver::system()?)?;
            log::info(&format!(
                "snapshots from the control plane https://{} for namespace {}",
                config.endpoint.authority, config.namespace
            ));
            tokio::spawn(control::run(shared.clone(), *config, client));
        }
    }
    let resolver = Resolver::system()?;
    let proxy =
        Arc::new(Proxy { shared: shared.clone(), pool: Pool::default(), resolver, draining: AtomicBool::new(false) });
    let draining = Arc::new(AtomicBool::new(false));
    let limits = Arc::new(Limits::default());
    let bind_to = args.bind.as_deref();
    let outbound = bind(bind_to, args.port).await.map_err(|e| format!("outbound listener :{}: {e}", args.port))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(listener::serve(outbound, proxy.clone(), limits.clone(), listener::so_original_dst(), stop_rx));
    if args.inbound_port != 0 {
        let l = bind(bind_to, args.inbound_port)
            .await
            .map_err(|e| format!("inbound listener :{}: {e}", args.inbound_port))?;
        tokio::spawn(inbound::serve(l, listener::so_original_dst(), limits.max_connections));
    }
    for (port, role, loopback) in [
        (args.admin_port, admin::Role::Admin, true),
        (args.status_port, admin::Role::Status, false),
        (args.metrics_port, admin::Role::Metrics, false),
    ] {
        let l = if loopback { bind(Some("127.0.0.1"), port).await } else { bind(bind_to, port).await };
        let l = l.map_err(|e| format!("port {port}: {e}"))?;
        tokio::spawn(admin::serve(l, role, shared.clone(), draining.clone()));
    }
    if let Some((port, probers)) = app_probes {
        let l = bind(bind_to, port).await.map_err(|e| format!("application probes :{port}: {e}"))?;
        log::info(&format!("application probes: {} on :{port}", probers.len()));
        tokio::spawn(app_probe::serve(l, Arc::new(probers)));
    }
    log::info(&format!(
        "listening: outbound :{}, inbound :{}, admin 127.0.0.1:{}, status :{}, metrics :{}",
        args.port, args.inbound_port, args.admin_port, args.status_port, args.metrics_port
    ));

    wait_for_termination().await;
    // Istio's drain: readiness fails and responses ask clients to reconnect, while outbound keeps working for
    // terminationDrainDuration so the app can still reach the network while it shuts down.
    let drain = args.drain.unwrap_or_else(|| {
        shared.current().map_or(DEFAULT_DRAIN, |l| Duration::from_millis(l.mesh.termination_drain_duration_ms))
    });
    log::info(&format!("terminating: draining for {} ms", drain.as_millis()));
    draining.store(true, Ordering::Relaxed);
    proxy.draining.store(true, Ordering::Relaxed);
    tokio::time::sleep(drain).await;
    let _ = stop_tx.send(true);
    if let Some(l) = shared.current() {
        if let Some((sink, _)) = &l.access_log {
            sink.close();
        }
    }
    Ok(())
}

async fn wait_for_termination() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}

fn main() -> ExitCode {
    let mut args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // 0 is Istio's `concurrency: 0`: a worker per core the process may use (cgroup quota included).
    if args.workers == 0 {
        args.workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(64));
    }
    let runtime = if args.workers == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.workers).enable_all().build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::warn(&e);
            ExitCode::from(1)
        }
    }
}
