//! meshgate-proxy: the egress sidecar's data plane.
//!
//! meshgate-proxy --snapshot FILE [--port 15001] [--inbound-port 15006] [--admin-port 15000]
//!                [--status-port 15021] [--metrics-port 15090] [--bind ADDRESS] [--workers N]
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
use meshgate_proxy::{admin, app_probe, inbound, log};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

const USAGE: &str = "usage: meshgate-proxy --snapshot FILE [--port 15001] [--inbound-port 15006 (0: off)] [--admin-port 15000] [--status-port 15021] [--metrics-port 15090] [--bind ADDRESS] [--workers N]";

/// How often the snapshot file is checked for a change.
const WATCH_INTERVAL: Duration = Duration::from_millis(200);
/// Drain when the snapshot in force does not say (Istio's default terminationDrainDuration).
const DEFAULT_DRAIN: Duration = Duration::from_secs(5);

struct Args {
    snapshot: PathBuf,
    port: u16,
    inbound_port: u16,
    admin_port: u16,
    status_port: u16,
    metrics_port: u16,
    bind: Option<String>,
    workers: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        snapshot: PathBuf::new(),
        port: 15001,
        inbound_port: 15006,
        admin_port: 15000,
        status_port: 15021,
        metrics_port: 15090,
        bind: None,
        workers: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_string());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let port = |v: &str| v.parse::<u16>().map_err(|_| format!("{flag}: {v:?} is not a port"));
        match flag.as_str() {
            "--snapshot" => args.snapshot = PathBuf::from(value),
            "--port" => args.port = port(&value)?,
            "--inbound-port" => args.inbound_port = port(&value)?,
            "--admin-port" => args.admin_port = port(&value)?,
            "--status-port" => args.status_port = port(&value)?,
            "--metrics-port" => args.metrics_port = port(&value)?,
            "--bind" => args.bind = Some(value),
            "--workers" => {
                args.workers = value.parse().ok().filter(|n| (1..=64).contains(n)).ok_or("--workers: 1 to 64")?
            }
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if args.snapshot.as_os_str().is_empty() {
        return Err(format!("--snapshot is required\n{USAGE}"));
    }
    Ok(args)
}

fn workload_from_env() -> Workload {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    Workload {
        name: var("ISTIO_META_WORKLOAD_NAME").unwrap_or_else(|| "unknown".into()),
        namespace: var("POD_NAMESPACE").unwrap_or_else(|| "unknown".into()),
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
    let shared = Shared::new(workload_from_env());
    // The first load happens before the listeners open; a bad first snapshot leaves the proxy not ready (503 on
    // /healthz/ready) while the watcher waits for a good one.
    let seen = state::load_once(&shared, &args.snapshot);
    tokio::spawn(state::watch_snapshot(shared.clone(), args.snapshot.clone(), WATCH_INTERVAL, seen));
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
    let drain = shared.current().map_or(DEFAULT_DRAIN, |l| Duration::from_millis(l.mesh.termination_drain_duration_ms));
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
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
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
