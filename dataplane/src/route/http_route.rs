//! An HTTP request's whole decision: policy (by Host/:authority), the VirtualService route that matches it, and what
//! to do (forward, redirect, direct response, 404 when its VirtualService has no matching route, deny).

use super::registry::{Decision, Reason};
use super::table::{deny, pick_destination, Table, Workload};
use super::virtual_service::{CompiledVs, HttpMatch, HttpRoute, WeightedDestination};
use crate::snapshot::{DerivePort, HeaderOps, Redirect};
use http::HeaderMap;
use std::net::IpAddr;
use std::sync::Arc;

/// What a route match looks at.
pub struct RequestView<'a> {
    pub method: &'a str,
    /// `http` for plaintext (the only scheme an egress sidecar sees in clear).
    pub scheme: &'a str,
    /// Path with the query string.
    pub path: &'a str,
    /// As sent (may carry a port).
    pub authority: &'a str,
    /// Normalised host of the authority.
    pub host: &'a str,
    /// The original destination port.
    pub port: u16,
    pub ip: IpAddr,
    pub headers: &'a HeaderMap,
}

pub struct HttpDecision<'t> {
    /// The policy and upstream decision; `status` set when the proxy answers itself.
    pub decision: Decision,
    pub vs: Option<&'t Arc<CompiledVs>>,
    pub route: Option<&'t HttpRoute>,
    pub matched: Option<&'t HttpMatch>,
    pub destination: Option<&'t WeightedDestination>,
    /// Envoy's %ROUTE_NAME%: the route's name, `default` for a registry host, `allow_any`, `block_all`.
    pub route_name: String,
}

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let joined: Vec<&str> = values.filter_map(|v| v.to_str().ok()).collect();
    Some(joined.join(","))
}

/// The first occurrence of a query parameter, percent-decoded (`+` kept, as the snapshot format says).
fn query_value(path: &str, name: &str) -> Option<String> {
    let query = path.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned())
    })
}

fn match_one(m: &HttpMatch, r: &RequestView, path_only: &str, workload: &Workload) -> bool {
    if m.port.is_some_and(|p| p != r.port) || !workload.matches(&m.source_labels, m.source_namespace.as_deref()) {
        return false;
    }
    // Envoy's rule: a prefix is matched against the full :path, exact and regex against the path without query.
    let uri_ok = m.uri.as_ref().is_none_or(|u| if u.prefix().is_some() { u.test(r.path) } else { u.test(path_only) });
    if !uri_ok
        || m.scheme.as_ref().is_some_and(|s| !s.test(r.scheme))
        || m.method.as_ref().is_some_and(|s| !s.test(r.method))
        || m.authority.as_ref().is_some_and(|s| !s.test(r.authority))
    {
        return false;
    }
    let present = |v: Option<String>, matcher: &super::matcher::StringMatcher| v.is_some_and(|v| matcher.test(&v));
    m.headers.iter().all(|(name, matcher)| present(header_value(r.headers, name), matcher))
        && m.query_params.iter().all(|(name, matcher)| present(query_value(r.path, name), matcher))
        && !m.without_headers.iter().any(|(name, matcher)| present(header_value(r.headers, name), matcher))
}

/// The first route whose matches (any; none listed means all) accept the request, and the match that did.
pub fn select_route<'v>(vs: &'v CompiledVs, r: &RequestView, workload: &Workload) -> Option<(&'v HttpRoute, Option<&'v HttpMatch>)> {
    let path_only = r.path.split_once('?').map_or(r.path, |(p, _)| p);
    vs.http.iter().find_map(|route| {
        if route.matches.is_empty() {
            return Some((route, None));
        }
        route.matches.iter().find(|m| match_one(m, r, path_only, workload)).map(|m| (route, Some(m)))
    })
}

/// rewrite.uri replaces the matched prefix when the match was a prefix, else the whole path (query kept);
/// uriRegex substitutes in the path (query kept).
pub fn rewrite_path(path: &str, route: &HttpRoute, matched: Option<&HttpMatch>) -> String {
    let Some(rw) = &route.rewrite else { return path.to_string() };
    let (path_only, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let with_query = |p: String| match query {
        Some(q) => format!("{p}?{q}"),
        None => p,
    };
    if let Some((re, replacement)) = &rw.uri_regex {
        return with_query(re.replace_all(path_only, replacement.as_str()).into_owned());
    }
    let Some(uri) = &rw.uri else { return path.to_string() };
    if let Some(prefix) = matched.and_then(|m| m.uri.as_ref()).and_then(|u| u.prefix()) {
        if path.len() >= prefix.len() && path.is_char_boundary(prefix.len()) {
            return format!("{uri}{}", &path[prefix.len()..]);
        }
    }
    with_query(uri.clone())
}

/// A redirect's Location: each part the redirect sets replaced, the rest the request's.
pub fn redirect_location(redirect: &Redirect, r: &RequestView) -> String {
    let scheme = redirect.scheme.as_deref().unwrap_or(r.scheme);
    let request_port = authority_port(r.authority);
    let port = match (redirect.port, redirect.derive_port) {
        (Some(p), _) => Some(p),
        (None, Some(DerivePort::FromRequestPort)) => request_port.or(Some(r.port)),
        (None, Some(DerivePort::FromProtocolDefault)) => None,
        (None, None) if redirect.authority.is_none() => request_port,
        (None, None) => None,
    };
    let host = redirect.authority.as_deref().unwrap_or(r.host);
    let host = if host.contains(':') && !host.starts_with('[') && host.parse::<std::net::Ipv6Addr>().is_ok() { format!("[{host}]") } else { host.to_string() };
    let port_text = port.filter(|p| !is_default_port(scheme, *p)).map(|p| format!(":{p}")).unwrap_or_default();
    format!("{scheme}://{host}{port_text}{}", redirect.uri.as_deref().unwrap_or(r.path))
}

fn is_default_port(scheme: &str, port: u16) -> bool {
    (scheme == "http" && port == 80) || (scheme == "https" && port == 443)
}

fn authority_port(authority: &str) -> Option<u16> {
    let tail = match authority.rfind(']') {
        Some(i) => &authority[i + 1..],
        None if authority.matches(':').count() == 1 => &authority[authority.find(':')?..],
        None => "",
    };
    tail.strip_prefix(':')?.parse().ok()
}

/// Applies set/add/remove to a header map (values were checked when the snapshot was loaded).
pub fn apply_header_ops(headers: &mut HeaderMap, ops: &HeaderOps) {
    for (name, value) in &ops.set {
        if let (Ok(n), Ok(v)) = (http::HeaderName::try_from(name.as_str()), http::HeaderValue::try_from(value.as_str())) {
            headers.insert(n, v);
        }
    }
    for (name, value) in &ops.add {
        if let (Ok(n), Ok(v)) = (http::HeaderName::try_from(name.as_str()), http::HeaderValue::try_from(value.as_str())) {
            headers.append(n, v);
        }
    }
    for name in &ops.remove {
        headers.remove(name.as_str());
    }
}

/// The decision for one request. `random` in [0, 1) chooses among weighted destinations.
pub fn decide_request<'t>(table: &'t Table, r: &RequestView, workload: &Workload, random: f64) -> HttpDecision<'t> {
    let base = table.decide_http_policy(r.host, r.port, r.ip);
    let mut out = HttpDecision { decision: base, vs: None, route: None, matched: None, destination: None, route_name: String::new() };
    if !out.decision.allowed {
        out.route_name = "block_all".into();
        return out;
    }
    out.route_name = if out.decision.service.is_some() { "default".into() } else { "allow_any".into() };
    let Some(vs) = table.virtual_service(r.host).filter(|vs| !vs.http.is_empty()) else { return out };
    out.vs = Some(vs);
    let Some((route, matched)) = select_route(vs, r, workload) else {
        out.decision = Decision { status: Some(404), ..deny(Reason::NoRoute, None) };
        out.route_name = "-".into();
        return out;
    };
    out.route = Some(route);
    out.matched = matched;
    out.route_name = route.name.clone();
    if let Some(redirect) = &route.redirect {
        out.decision.reason = Reason::Redirect;
        out.decision.status = Some(redirect.code);
        out.decision.location = Some(redirect_location(redirect, r));
        out.decision.route_source = Some(route.source.clone());
        return out;
    }
    if let Some((status, _)) = &route.direct_response {
        out.decision.reason = Reason::DirectResponse;
        out.decision.status = Some(*status);
        out.decision.route_source = Some(route.source.clone());
        return out;
    }
    if let Some(d) = pick_destination(&route.destinations, route.total_weight, random) {
        out.decision = table.resolve_destination(d, r.port, &out.decision, &route.source);
        out.destination = Some(d);
    }
    out
}
