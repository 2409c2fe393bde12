//! meshgate-proxy: the egress sidecar's data plane. The TypeScript control plane compiles the mesh config into a
//! snapshot file; this crate loads it and enforces it on the connections iptables redirects here.

pub mod original_dst;
pub mod route;
pub mod sniff;
pub mod snapshot;
pub mod telemetry;
pub mod body;
pub mod http_proxy;
pub mod log;
pub mod state;
pub mod upstream;
pub mod listener;
pub mod tcp_proxy;
pub mod admin;
pub mod inbound;
