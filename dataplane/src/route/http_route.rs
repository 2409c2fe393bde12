//! An HTTP request's whole decision: policy (by Host/:authority), the VirtualService route that matches it, and what
//! to do (forward, redirect, direct response, 404 when its VirtualService has no matching route, deny).

use super::registry::Decision;
use super::table::{pick_destination, Table};
use super::virtual_service::{CompiledVs, HttpMatch, HttpRoute, Redirect, WeightedDestination};
use crate::snapshot::HeaderOps;
use http::HeaderMap;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Who the proxy serves (for sourceLabels / sourceNamespace), given at injection.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub workload: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
}

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

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Policy denies: 502 with the reason, as Envoy's BlackHoleCluster.
    Deny,
    /// The host has a VirtualService and none of its routes matches: 404, as in Istio.
    NotFound,
    Redirect { code: u16, location: String },
    Direct { status: u16, body: bytes::Bytes },
    Forward { path: String, authority: String },
}

pub struct HttpDecision<'t> {
    /// The final upstream decision (after route destinations are resolved).
    pub decision: Decision,
    pub action: Action,
    pub vs: Option<&'t Arc<CompiledVs>>,
    pub route: Option<&'t HttpRoute>,
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

fn query_value(path: &str, name: &str) -> Option<String> {
    let query = path.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_encoding::percent_decode_str(k).decode_utf8_lossy();
        (k == name).then(|| percent_encoding::percent_decode_str(&v.replace('+', " ")).decode_utf8_lossy().into_owned())
    })
}

fn match_one(m: &HttpMatch, r: &RequestView, path_only: &str, source: &Source) -> bool {
    if m.port.is_some_and(|p| p != r.port) {
        return false;
    }
    if m.uri.as_ref().is_some_and(|u| !u.test(path_only))
        || m.scheme.as_ref().is_some_and(|s| !s.test(r.scheme))
        || m.method.as_ref().is_some_and(|s| !s.test(r.method))
        || m.authority.as_ref().is_some_and(|s| !s.test(r.authority))
    {
        return false;
    }
    if m.source_namespace.as_ref().is_some_and(|ns| *ns != source.namespace) {
        return false;
    }
    if m.source_labels.iter().any(|(k, v)| source.labels.get(k) != Some(v)) {
        return false;
    }
    for (name, matcher) in &m.headers {
        match header_value(r.headers, name) {
            Some(v) if matcher.test(&v) => {}
            _ => return false,
        }
    }
    for (name, matcher) in &m.query_params {
        match query_value(r.path, name) {
            Some(v) if matcher.test(&v) => {}
            _ => return false,
        }
    }
    for (name, matcher) in &m.without_headers {
        if header_value(r.headers, name).is_some_and(|v| matcher.test(&v)) {
            return false;
        }
    }
    true
}

/// The first route whose matches (any; none listed means all) accept the request, and the match that did.
pub fn select_route<'v>(vs: &'v CompiledVs, r: &RequestView, source: &Source) -> Option<(&'v HttpRoute, Option<&'v HttpMatch>)> {
    let path_only = r.path.split_once('?').map_or(r.path, |(p, _)| p);
    vs.http.iter().find_map(|route| {
        if route.matches.is_empty() {
            return Some((route, None));
        }
        route.matches.iter().find(|m| match_one(m, r, path_only, source)).map(|m| (route, Some(m)))
    })
}

/// rewrite.uri replaces the matched prefix when the match was a prefix, else the whole path (query kept);
/// uriRegexRewrite substitutes in the path (query kept).
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

/// A redirect's Location: each part replaced when the route sets it, else the request's.
pub fn redirect_location(redirect: &Redirect, r: &RequestView) -> String {
    let scheme = redirect.scheme.as_deref().unwrap_or("http");
    let authority = match (&redirect.authority, redirect.port) {
        (None, None) => r.authority.to_string(),
        (a, p) => format!("{}{}", a.as_deref().unwrap_or(r.host), p.map(|p| format!(":{p}")).unwrap_or_default()),
    };
    format!("{scheme}://{authority}{}", redirect.uri.as_deref().unwrap_or(r.path))
}

/// Applies set/add/remove to a header map (skips values a header cannot carry: the compiler rejected those).
pub fn apply_header_ops(headers: &mut HeaderMap, ops: Option<&HeaderOps>) {
    let Some(ops) = ops else { return };
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
pub fn decide_request<'t>(table: &'t Table, r: &RequestView, source: &Source, random: f64) -> HttpDecision<'t> {
    let base = table.decide_http(r.host, r.port, r.ip);
    if !base.allowed {
        return HttpDecision { decision: base, action: Action::Deny, vs: None, route: None, destination: None, route_name: "block_all".into() };
    }
    let default_name = if base.service.is_some() { "default" } else { "allow_any" };
    let forward = Action::Forward { path: r.path.to_string(), authority: r.authority.to_string() };
    let Some((_, vs)) = table.virtual_services.find(r.host) else {
        return HttpDecision { decision: base, action: forward, vs: None, route: None, destination: None, route_name: default_name.into() };
    };
    let Some((route, matched)) = select_route(vs, r, source) else {
        let decision = Decision { rule: format!("{}; {} (no route matches)", base.rule, vs.source), ..base };
        return HttpDecision { decision, action: Action::NotFound, vs: Some(vs), route: None, destination: None, route_name: "-".into() };
    };
    let rule = format!("{}; {} route {}", base.rule, vs.source, route.name);
    let mut out = HttpDecision {
        decision: Decision { rule, ..base.clone() },
        action: Action::Deny,
        vs: Some(vs),
        route: Some(route),
        destination: None,
        route_name: route.name.clone(),
    };
    if let Some(redirect) = &route.redirect {
        out.action = Action::Redirect { code: redirect.code, location: redirect_location(redirect, r) };
        return out;
    }
    if let Some((status, body)) = &route.direct_response {
        out.action = Action::Direct { status: *status, body: body.clone() };
        return out;
    }
    let Some(dest) = pick_destination(&route.destinations, route.total_weight, random) else {
        out.action = Action::NotFound;
        return out;
    };
    let decision = table.resolve_destination(&dest.host, dest.port, r.port, &base, &format!("{} route {}", vs.source, route.name));
    out.action = if decision.allowed {
        let authority = route.rewrite.as_ref().and_then(|rw| rw.authority.clone()).unwrap_or_else(|| r.authority.to_string());
        Action::Forward { path: rewrite_path(r.path, route, matched), authority }
    } else {
        Action::Deny
    };
    out.decision = decision;
    out.destination = Some(dest);
    out
}
