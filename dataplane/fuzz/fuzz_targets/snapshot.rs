//! A snapshot document as the proxy loads it: strict JSON parse, then the compile step (host indexes, CIDRs,
//! VirtualService matchers with their bounded regexes, the access log format). Opening the access log file is left
//! out on purpose: a fuzzed path must not create files. A document that compiles is then asked for a decision, so
//! the compiled matchers run too. Errors are fine; panics, stalls (libFuzzer's -timeout) and blow-ups are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshgate_proxy::route::http_route::{decide_request, RequestView};
use meshgate_proxy::route::table::{L4Kind, Table, Workload};
use meshgate_proxy::snapshot;
use meshgate_proxy::telemetry::access_log::LineFormat;
use std::net::{IpAddr, Ipv4Addr};

fuzz_target!(|data: &[u8]| {
    let Ok(snap) = snapshot::parse(data) else { return };
    let _ = LineFormat::from_mesh(snap.mesh.access_log_encoding, &snap.mesh.access_log_format);
    let Ok(table) = Table::compile(&snap) else { return };
    let workload = Workload { name: "app".into(), namespace: "default".into(), ..Default::default() };
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let mut headers = http::HeaderMap::new();
    headers.insert("x-user", http::HeaderValue::from_static("alice"));
    // One request per host the snapshot names (bounded: the first 16), so its own routes are the ones tried.
    for host in snap.virtual_service_hosts.exact.keys().chain(snap.hosts.exact.keys()).take(16) {
        for port in [80, 443, 8080] {
            let view = RequestView {
                method: "GET",
                scheme: "http",
                path: "/api/v1/items?q=1&v=2",
                authority: host,
                host,
                port,
                ip,
                headers: &headers,
            };
            let _ = decide_request(&table, &view, &workload, 0.5);
            let _ = table.decide_l4(L4Kind::Tls, Some(host), ip, port, &workload, 0.5);
        }
    }
});
