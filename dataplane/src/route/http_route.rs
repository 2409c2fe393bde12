//! An HTTP request's whole decision: policy (by Host/:authority), the VirtualService route that matches it, and what
//! to do (forward, redirect, direct response, 404 when its VirtualService has no matching route, deny).

use super::registry::{Decision, Plan, Reason};
use super::table::{pick_destination, Table, Workload};
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

/// The first occurrence of a query parameter, raw (not percent-decoded), as Envoy's route matcher reads it.
fn query_value<'p>(path: &'p str, name: &str) -> Option<&'p str> {
    let query = path.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query.split('&').filter(|p| !p.is_empty()).find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
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
        && !m.without_headers.iter().any(|(name, matcher)| present(header_value(r.headers, name), matcher))
        && m.query_params.iter().all(|(name, matcher)| query_value(r.path, name).is_some_and(|v| matcher.test(v)))
}

/// The first route whose matches (any; none listed means all) accept the request, and the match that did.
pub fn select_route<'v>(
    vs: &'v CompiledVs,
    r: &RequestView,
    workload: &Workload,
) -> Option<(&'v HttpRoute, Option<&'v HttpMatch>)> {
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

/// A redirect's Location: each part the redirect sets replaces the request's; a port equal to the scheme's default
/// is left out; the request's query is kept unless the new uri has its own.
pub fn redirect_location(redirect: &Redirect, r: &RequestView) -> String {
    let scheme = redirect.scheme.as_deref().unwrap_or(r.scheme);
    let (orig_host, orig_port) = split_authority(r.authority);
    let host = redirect.authority.as_deref().unwrap_or(orig_host);
    let port: Option<String> = match (redirect.port, redirect.derive_port) {
        (Some(p), _) => Some(p.to_string()),
        (None, Some(DerivePort::FromRequestPort)) => Some(r.port.to_string()),
        (None, None) if redirect.authority.is_none() && redirect.scheme.is_none() => orig_port.map(str::to_string),
        _ => None,
    };
    let default = match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    let port = port.filter(|p| p.parse::<u16>().ok() != default || default.is_none());
    let path = match (&redirect.uri, r.path.split_once('?')) {
        (None, _) => r.path.to_string(),
        (Some(uri), Some((_, q))) if !uri.contains('?') => format!("{uri}?{q}"),
        (Some(uri), _) => uri.clone(),
    };
    format!("{scheme}://{host}{}{path}", port.map(|p| format!(":{p}")).unwrap_or_default())
}

/// `host:port`, `[v6]:port` or a bare host; the port only when it is digits.
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    let (host, rest) = match authority.strip_prefix('[') {
        Some(after) => match after.find(']') {
            Some(i) => (&authority[..i + 2], &authority[i + 2..]),
            None => return (authority, None),
        },
        None => match authority.find(':') {
            Some(i) => (&authority[..i], &authority[i..]),
            None => (authority, ""),
        },
    };
    match rest.strip_prefix(':') {
        None if rest.is_empty() => (host, None),
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => (host, (!p.is_empty()).then_some(p)),
        _ => (authority, None),
    }
}

/// Applies set/add/remove to a header map (values were checked when the snapshot was loaded).
pub fn apply_header_ops(headers: &mut HeaderMap, ops: &HeaderOps) {
    for (name, value) in &ops.set {
        if let (Ok(n), Ok(v)) = (http::HeaderName::try_from(name.as_str()), http::HeaderValue::try_from(value.as_str()))
        {
            headers.insert(n, v);
        }
    }
    for (name, value) in &ops.add {
        if let (Ok(n), Ok(v)) = (http::HeaderName::try_from(name.as_str()), http::HeaderValue::try_from(value.as_str()))
        {
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
    let mut out = HttpDecision {
        decision: base,
        vs: None,
        route: None,
        matched: None,
        destination: None,
        route_name: String::new(),
    };
    if !out.decision.allowed {
        out.route_name = "block_all".into();
        return out;
    }
    out.route_name = if out.decision.service.is_some() { "default".into() } else { "allow_any".into() };
    let Some(vs) = table.virtual_service(r.host).filter(|vs| !vs.http.is_empty()) else { return out };
    out.vs = Some(vs);
    // Answers the proxy gives itself keep the policy source and service, and name no cluster or upstream.
    let local =
        |base: &Decision, allowed: bool, reason: Reason, status: u16, route_source: &crate::snapshot::Source| {
            Decision {
                allowed,
                reason,
                cluster: None,
                service: base.service.clone(),
                plan: Plan::Original,
                status: Some(status),
                location: None,
                policy_source: base.policy_source.clone(),
                route_source: Some(route_source.clone()),
                upstream_h2: None,
            }
        };
    let Some((route, matched)) = select_route(vs, r, workload) else {
        out.decision = local(&out.decision, false, Reason::NoRoute, 404, &vs.source);
        out.route_name = "-".into();
        return out;
    };
    out.route = Some(route);
    out.matched = matched;
    out.route_name = route.name.clone();
    if let Some(redirect) = &route.redirect {
        let location = redirect_location(redirect, r);
        out.decision = Decision {
            location: Some(location),
            ..local(&out.decision, true, Reason::Redirect, redirect.code, &route.source)
        };
        return out;
    }
    if let Some((status, _)) = &route.direct_response {
        out.decision = local(&out.decision, true, Reason::DirectResponse, *status, &route.source);
        return out;
    }
    match pick_destination(&route.destinations, route.total_weight, random) {
        Some(d) => {
            out.decision = table.route_to(&out.decision, d, r.port, &route.source);
            out.destination = Some(d);
        }
        None => out.decision = local(&out.decision, false, Reason::DestinationUnknown, 503, &route.source),
    }
    out
}
