//! meshgate-proxy: the egress sidecar's data plane. The TypeScript control plane compiles the mesh config into a
//! snapshot file; this crate loads it and enforces it on the connections iptables redirects here.

pub mod admin;
pub mod body;
pub mod http_proxy;
pub mod inbound;
pub mod listener;
pub mod log;
pub mod original_dst;
pub mod route;
pub mod snapshot;
pub mod sniff;
pub mod state;
pub mod tcp_proxy;
pub mod telemetry;
pub mod upstream;
