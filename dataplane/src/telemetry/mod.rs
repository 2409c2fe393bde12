//! What the proxy reports: the access log and Istio's metrics.

pub mod access_log;
pub mod metrics;
pub mod sink;
