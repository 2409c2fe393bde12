//! Envoy's route decorator as Istio configures it: the `x-envoy-decorator-operation` value a forwarded request
//! carries (the tracing operation name). Istio builds it as `<host>:<port><path>`: the host and port of the
//! route's single destination cluster (`outbound|PORT|SUBSET|HOST`), or the VirtualService's name and the listener
//! port when a route splits traffic over several destinations; the path is `/*` unless the matched route pins one
//! (prefix `P` gives `P*`, exact gives the path, regex gives the pattern).

use super::matcher::Matcher;
use super::registry::Decision;
use super::virtual_service::{CompiledVs, HttpMatch, HttpRoute};

/// The operation for a forwarded request, or None where Istio sets none (passthrough: no registry service).
pub fn operation(
    decision: &Decision,
    vs: Option<&CompiledVs>,
    route: Option<&HttpRoute>,
    matched: Option<&HttpMatch>,
    port: u16,
) -> Option<String> {
    decision.service.as_ref()?;
    let path = matched.and_then(|m| m.uri.as_ref()).map_or_else(|| "/*".to_string(), |uri| path_of(&uri.kind));
    let split = route.is_some_and(|r| r.destinations.len() > 1);
    if !split {
        if let Some((host, cluster_port)) = decision.cluster.as_deref().and_then(outbound_host_port) {
            return Some(format!("{host}:{cluster_port}{path}"));
        }
    }
    let name = vs.map_or_else(|| decision.service.clone().unwrap_or_default(), |v| v.source.name.clone());
    Some(format!("{name}:{port}{path}"))
}

fn path_of(m: &Matcher) -> String {
    match m {
        Matcher::Exact(p) => p.clone(),
        Matcher::Prefix(p) => format!("{p}*"),
        // Compiled as `^(?:PATTERN)$`; the operation names the pattern as written.
        Matcher::Regex(r) => {
            let s = r.as_str();
            s.strip_prefix("^(?:").and_then(|s| s.strip_suffix(")$")).unwrap_or(s).to_string()
        }
        Matcher::Present => "/*".to_string(),
    }
}

/// `outbound|80||httpbin.org` → (`httpbin.org`, 80); None for PassthroughCluster, BlackHoleCluster and the like.
fn outbound_host_port(cluster: &str) -> Option<(&str, u16)> {
    let mut parts = cluster.split('|');
    let (Some("outbound"), Some(port), Some(_subset), Some(host), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some((host, port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_parse_to_host_and_port() {
        assert_eq!(outbound_host_port("outbound|80||httpbin.org"), Some(("httpbin.org", 80)));
        assert_eq!(
            outbound_host_port("outbound|8080|v1|reviews.default.svc.cluster.local"),
            Some(("reviews.default.svc.cluster.local", 8080))
        );
        assert_eq!(outbound_host_port("PassthroughCluster"), None);
        assert_eq!(outbound_host_port("BlackHoleCluster"), None);
        assert_eq!(outbound_host_port("outbound|x||h"), None);
    }
}
