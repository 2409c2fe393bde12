//! SO_ORIGINAL_DST and IP6T_SO_ORIGINAL_DST for real: a network namespace of this test's own (removed afterwards,
//! also on failure), iptables REDIRECT of a service address to the listener, and the proxy's own listener reading
//! the original destination. Root only: skipped with the reason otherwise. Holds the suites' lock
//! (/tmp/meshgate-suite.lock) while it changes the host.

mod common;

use common::*;
use meshgate_proxy::http_proxy::Proxy;
use meshgate_proxy::listener::{self, Limits};
use meshgate_proxy::route::table::Workload;
use meshgate_proxy::state::Shared;
use meshgate_proxy::upstream::Pool;
use serde_json::json;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

struct Netns(String);

impl Netns {
    fn create() -> Netns {
        let name = format!("mg-dp-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).status(); // a crashed run's leftover
        run(&["ip", "netns", "add", &name]);
        Netns(name)
    }

    fn exec(&self, argv: &[&str]) {
        let mut full = vec!["ip", "netns", "exec", &self.0];
        full.extend_from_slice(argv);
        run(&full);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn run(argv: &[&str]) {
    let status = Command::new(argv[0]).args(&argv[1..]).status().unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    assert!(status.success(), "{argv:?} failed: {status}");
}

fn have(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

#[test]
fn the_listener_reads_the_original_destination_after_iptables_redirect() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !have("ip") || !have("iptables") {
        eprintln!("skipped: needs root, ip and iptables (network namespaces and NAT)");
        return;
    }
    let lock =
        std::fs::OpenOptions::new().create(true).append(true).open("/tmp/meshgate-suite.lock").expect("lock file");
    // SAFETY: flock on an open file descriptor; released when `lock` is closed at the end of the test.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    let ns = Netns::create();
    ns.exec(&["ip", "link", "set", "lo", "up"]);
    ns.exec(&["ip", "addr", "add", "10.99.0.1/32", "dev", "lo"]);
    ns.exec(&[
        "iptables",
        "-t",
        "nat",
        "-A",
        "OUTPUT",
        "-p",
        "tcp",
        "-d",
        "10.99.0.1",
        "-j",
        "REDIRECT",
        "--to-ports",
        "15001",
    ]);
    let v6 = have("ip6tables");
    if v6 {
        ns.exec(&["ip", "addr", "add", "fd00:99::1/128", "dev", "lo", "nodad"]);
        ns.exec(&[
            "ip6tables",
            "-t",
            "nat",
            "-A",
            "OUTPUT",
            "-p",
            "tcp",
            "-d",
            "fd00:99::1",
            "-j",
            "REDIRECT",
            "--to-ports",
            "15001",
        ]);
    }
    let netns_file = std::fs::File::open(format!("/var/run/netns/{}", ns.0)).expect("netns file");
    let outcome = std::thread::spawn(move || {
        // SAFETY: moves only this thread into the namespace; the thread ends with the test.
        let rc = unsafe { libc::setns(netns_file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(inside(v6))
    })
    .join();
    drop(ns);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn inside(v6: bool) {
    let (up, _) = upstream(200).await; // 127.0.0.1:<port>, not redirected
    let entry = Entry {
        host: "api.test",
        port: 80,
        protocol: "HTTP",
        upstream: json!({ "kind": "static", "endpoints": [{ "address": "127.0.0.1", "port": up.port() }] }),
        cidr: None,
    };
    let snap = snapshot("REGISTRY_ONLY", "", &[entry], vec![]);
    let shared = Shared::new(Workload { name: "app".into(), namespace: "default".into(), ..Default::default() });
    shared.apply(snap.to_string().as_bytes()).expect("snapshot");
    let proxy =
        Arc::new(Proxy { shared, pool: Pool::default(), resolver: dead_resolver(), draining: AtomicBool::new(false) });
    let socket = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).expect("socket");
    socket.set_only_v6(false).expect("dual stack");
    socket.set_reuse_address(true).expect("reuse");
    socket.bind(&"[::]:15001".parse::<std::net::SocketAddr>().expect("addr").into()).expect("bind 15001");
    socket.listen(128).expect("listen");
    socket.set_nonblocking(true).expect("nonblocking");
    let l = tokio::net::TcpListener::from_std(socket.into()).expect("listener");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(listener::serve(l, proxy, Arc::new(Limits::default()), listener::so_original_dst(), rx));

    let ok = get("10.99.0.1:80".parse().expect("addr"), "api.test", "/via-redirect", "").await;
    assert!(ok.starts_with("HTTP/1.1 200") && ok.contains("GET /via-redirect host=api.test"), "{ok}");
    // The port the client dialled (80, read back from SO_ORIGINAL_DST) is in the deny.
    let denied = get("10.99.0.1:80".parse().expect("addr"), "evil.test", "/", "").await;
    assert!(denied.starts_with("HTTP/1.1 502") && denied.contains("evil.test:80"), "{denied}");
    // Dialling the listener itself is not a redirected connection: closed, never forwarded in a loop.
    let (direct, closed) = raw(
        "127.0.0.1:15001".parse().expect("addr"),
        b"GET / HTTP/1.1\r\nHost: api.test\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(direct.is_empty() && closed, "{direct:?}");
    if v6 {
        let ok6 = get("[fd00:99::1]:80".parse().expect("addr"), "api.test", "/v6", "").await;
        assert!(ok6.starts_with("HTTP/1.1 200") && ok6.contains("GET /v6"), "{ok6}");
    } else {
        eprintln!("IPv6 part skipped: ip6tables not found");
    }
}
