//! meshgate-proxy: the egress sidecar's data plane. The TypeScript control plane compiles the mesh config into a
//! snapshot (a file, or served by `meshgate control`); this crate loads it and enforces it on the connections iptables redirects here.
// No unwrap or expect outside tests: a bad request or snapshot is an error answer, never a panic.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod admin;
pub mod app_probe;
pub mod body;
pub mod control;
pub mod http_proxy;
pub mod inbound;
pub mod listener;
pub mod log;
pub mod original_dst;
pub mod request_framing;
pub mod route;
pub mod snapshot;
pub mod sniff;
pub mod splice;
pub mod state;
pub mod tcp_proxy;
pub mod telemetry;
pub mod upstream;
