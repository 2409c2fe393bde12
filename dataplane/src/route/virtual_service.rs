//! VirtualServices compiled for the request path: matchers built once (regexes bounded), weights summed, durations
//! already in milliseconds. A field the compiler cannot honour is an error for the whole snapshot.

use super::cidr::Cidr;
use super::host::HostIndex;
use super::matcher::StringMatcher;
use crate::snapshot::{self, HeaderOps, VirtualService};
use regex::Regex;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct HttpMatch {
    pub uri: Option<StringMatcher>,
    pub scheme: Option<StringMatcher>,
    pub method: Option<StringMatcher>,
    pub authority: Option<StringMatcher>,
    pub headers: Vec<(String, StringMatcher)>,
    pub query_params: Vec<(String, StringMatcher)>,
    pub without_headers: Vec<(String, StringMatcher)>,
    pub port: Option<u16>,
    pub source_labels: BTreeMap<String, String>,
    pub source_namespace: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WeightedDestination {
    pub host: String,
    pub port: Option<u16>,
    pub weight: u32,
    pub request_headers: Option<HeaderOps>,
    pub response_headers: Option<HeaderOps>,
}

#[derive(Debug, Clone)]
pub struct Retries {
    pub attempts: u32,
    pub per_try_timeout_ms: Option<u64>,
    pub on: Vec<String>,
    pub codes: Vec<u16>,
}

/// Istio's default when a route sets no retries: 2 attempts on these conditions.
pub const DEFAULT_RETRY_ON: &str = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
pub const DEFAULT_RETRY_ATTEMPTS: u32 = 2;

impl Retries {
    fn parse(attempts: u32, per_try_timeout_ms: Option<u64>, retry_on: &str) -> Retries {
        let on: Vec<String> = retry_on.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
        let codes = on.iter().filter(|t| t.len() == 3).filter_map(|t| t.parse().ok()).collect();
        Retries { attempts, per_try_timeout_ms, on, codes }
    }

    pub fn istio_default() -> Retries {
        Retries::parse(DEFAULT_RETRY_ATTEMPTS, None, DEFAULT_RETRY_ON)
    }

    pub fn retries_on(&self, condition: &str) -> bool {
        self.on.iter().any(|t| t == condition)
    }
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub delay_ms: Option<u64>,
    pub delay_percent: f64,
    pub abort_http: Option<u16>,
    pub abort_grpc: Option<u32>,
    pub abort_percent: f64,
}

#[derive(Debug, Clone)]
pub struct Mirror {
    pub host: String,
    pub port: Option<u16>,
    pub percent: f64,
}

#[derive(Debug, Clone)]
pub struct Cors {
    pub allow_origins: Vec<StringMatcher>,
    pub allow_methods: String,
    pub allow_headers: String,
    pub expose_headers: String,
    pub max_age_s: Option<u64>,
    pub allow_credentials: bool,
}

#[derive(Debug, Clone)]
pub struct Redirect {
    pub uri: Option<String>,
    pub authority: Option<String>,
    pub port: Option<u16>,
    pub scheme: Option<String>,
    pub code: u16,
}

#[derive(Debug, Clone)]
pub struct Rewrite {
    pub uri: Option<String>,
    pub authority: Option<String>,
    pub uri_regex: Option<(Regex, String)>,
}

#[derive(Debug, Clone)]
pub struct HttpRoute {
    pub name: String,
    pub matches: Vec<HttpMatch>,
    pub destinations: Vec<WeightedDestination>,
    pub total_weight: u32,
    pub redirect: Option<Redirect>,
    pub direct_response: Option<(u16, bytes::Bytes)>,
    pub rewrite: Option<Rewrite>,
    pub timeout_ms: Option<u64>,
    pub retries: Retries,
    pub fault: Option<Fault>,
    pub request_headers: Option<HeaderOps>,
    pub response_headers: Option<HeaderOps>,
    pub mirrors: Vec<Mirror>,
    pub cors: Option<Cors>,
}

#[derive(Debug, Clone)]
pub struct L4Route {
    pub sni_hosts: Vec<String>,
    pub ports: Vec<Option<u16>>,
    pub subnets: Vec<Vec<Cidr>>,
    pub destinations: Vec<WeightedDestination>,
    pub total_weight: u32,
}

#[derive(Debug, Clone)]
pub struct CompiledVs {
    pub source: String,
    pub http: Vec<HttpRoute>,
    pub tls: Vec<L4Route>,
    pub tcp: Vec<L4Route>,
}

fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b))
}

/// A bad header name or a CR/LF/NUL in a value is a rejected snapshot, never a failure on a request.
fn check_ops(ops: &Option<HeaderOps>, what: &str) -> Result<Option<HeaderOps>, String> {
    if let Some(o) = ops {
        for (kind, map) in [("set", &o.set), ("add", &o.add)] {
            for (name, value) in map {
                if !is_token(name) {
                    return Err(format!("{what}.{kind}: invalid header name {name:?}"));
                }
                if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                    return Err(format!("{what}.{kind}.{name}: header values must not contain CR, LF or NUL"));
                }
            }
        }
        if let Some(bad) = o.remove.iter().find(|n| !is_token(n)) {
            return Err(format!("{what}.remove: invalid header name {bad:?}"));
        }
    }
    Ok(ops.clone())
}

fn destinations(list: &[snapshot::RouteDestination], what: &str) -> Result<(Vec<WeightedDestination>, u32), String> {
    let mut out = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        if r.destination.host.is_empty() {
            return Err(format!("{what}[{i}].destination.host is required"));
        }
        let headers = r.headers.clone().unwrap_or_default();
        out.push(WeightedDestination {
            host: r.destination.host.to_ascii_lowercase(),
            port: r.destination.port,
            weight: r.weight.unwrap_or(if list.len() == 1 { 100 } else { 0 }),
            request_headers: check_ops(&headers.request, &format!("{what}[{i}].headers.request"))?,
            response_headers: check_ops(&headers.response, &format!("{what}[{i}].headers.response"))?,
        });
    }
    // Several destinations without weights share the traffic equally rather than sending none anywhere.
    if out.len() > 1 && out.iter().all(|d| d.weight == 0) {
        out.iter_mut().for_each(|d| d.weight = 1);
    }
    let total = out.iter().map(|d| d.weight).sum();
    Ok((out, total))
}

fn named(map: &BTreeMap<String, snapshot::StringMatch>, what: &str, lower: bool) -> Result<Vec<(String, StringMatcher)>, String> {
    map.iter()
        .map(|(k, m)| {
            let key = if lower { k.to_ascii_lowercase() } else { k.clone() };
            Ok((key, StringMatcher::compile(m, false, &format!("{what}.{k}"))?))
        })
        .collect()
}

fn opt(m: &Option<snapshot::StringMatch>, ignore_case: bool, what: &str) -> Result<Option<StringMatcher>, String> {
    m.as_ref().map(|m| StringMatcher::compile(m, ignore_case, what)).transpose()
}

fn percent(p: Option<f64>, what: &str) -> Result<f64, String> {
    let v = p.unwrap_or(100.0);
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("{what}: percentage must be within 0..100"));
    }
    Ok(v)
}

/// gRPC status names as Istio accepts them, to their codes.
pub fn grpc_code(text: &str) -> Option<u32> {
    const NAMES: [&str; 17] = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ];
    text.parse::<u32>().ok().filter(|c| *c <= 16).or_else(|| NAMES.iter().position(|n| n.eq_ignore_ascii_case(text)).map(|p| p as u32))
}

fn compile_http(route: &snapshot::HttpRoute, what: &str, index: usize) -> Result<HttpRoute, String> {
    let mut matches = Vec::with_capacity(route.matches.len());
    for (i, m) in route.matches.iter().enumerate() {
        let at = format!("{what}.match[{i}]");
        matches.push(HttpMatch {
            uri: opt(&m.uri, m.ignore_uri_case, &format!("{at}.uri"))?,
            scheme: opt(&m.scheme, false, &format!("{at}.scheme"))?,
            method: opt(&m.method, false, &format!("{at}.method"))?,
            authority: opt(&m.authority, false, &format!("{at}.authority"))?,
            headers: named(&m.headers, &format!("{at}.headers"), true)?,
            query_params: named(&m.query_params, &format!("{at}.queryParams"), false)?,
            without_headers: named(&m.without_headers, &format!("{at}.withoutHeaders"), true)?,
            port: m.port,
            source_labels: m.source_labels.clone(),
            source_namespace: m.source_namespace.clone(),
        });
    }
    let (dests, total) = destinations(&route.route, &format!("{what}.route"))?;
    if dests.is_empty() && route.redirect.is_none() && route.direct_response.is_none() {
        return Err(format!("{what}: a route, redirect or directResponse is required"));
    }
    let direct_response = match &route.direct_response {
        None => None,
        Some(d) => {
            let body = match &d.body {
                None => bytes::Bytes::new(),
                Some(b) => match (&b.string, &b.bytes) {
                    (Some(s), None) => bytes::Bytes::from(s.clone()),
                    (None, Some(b64)) => bytes::Bytes::from(
                        decode_base64(b64).ok_or_else(|| format!("{what}.directResponse.body.bytes: not base64"))?,
                    ),
                    _ => return Err(format!("{what}.directResponse.body: exactly one of string or bytes")),
                },
            };
            Some((d.status, body))
        }
    };
    let rewrite = match &route.rewrite {
        None => None,
        Some(r) => Some(Rewrite {
            uri: r.uri.clone(),
            authority: r.authority.clone(),
            uri_regex: match &r.uri_regex_rewrite {
                None => None,
                Some(rr) => {
                    // Not anchored: Envoy's regex_rewrite substitutes every match in the path.
                    let re = regex::RegexBuilder::new(&rr.pattern)
                        .size_limit(super::matcher::REGEX_SIZE_LIMIT)
                        .dfa_size_limit(super::matcher::REGEX_DFA_LIMIT)
                        .build()
                        .map_err(|e| format!("{what}.rewrite.uriRegexRewrite.match: {e}"))?;
                    Some((re, rr.rewrite.replace("\\", "$")))
                }
            },
        }),
    };
    let retries = match &route.retries {
        // Istio's default retry policy applies when the route sets none.
        None => Retries::istio_default(),
        Some(r) => Retries::parse(r.attempts, r.per_try_timeout_ms, r.retry_on.as_deref().unwrap_or(DEFAULT_RETRY_ON)),
    };
    let fault = match &route.fault {
        None => None,
        Some(f) => {
            let abort_grpc = match f.abort.as_ref().and_then(|a| a.grpc_status.as_ref()) {
                None => None,
                Some(g) => Some(grpc_code(g).ok_or_else(|| format!("{what}.fault.abort.grpcStatus: unknown status {g:?}"))?),
            };
            Some(Fault {
                delay_ms: f.delay.as_ref().map(|d| d.fixed_delay_ms),
                delay_percent: percent(f.delay.as_ref().and_then(|d| d.percentage), &format!("{what}.fault.delay"))?,
                abort_http: f.abort.as_ref().and_then(|a| a.http_status),
                abort_grpc,
                abort_percent: percent(f.abort.as_ref().and_then(|a| a.percentage), &format!("{what}.fault.abort"))?,
            })
        }
    };
    let mut mirrors = Vec::new();
    for (i, m) in route.mirrors.iter().enumerate() {
        mirrors.push(Mirror {
            host: m.destination.host.to_ascii_lowercase(),
            port: m.destination.port,
            percent: percent(m.percentage, &format!("{what}.mirrors[{i}]"))?,
        });
    }
    let cors = match &route.cors_policy {
        None => None,
        Some(c) => Some(Cors {
            allow_origins: c
                .allow_origins
                .iter()
                .enumerate()
                .map(|(i, m)| StringMatcher::compile(m, false, &format!("{what}.corsPolicy.allowOrigins[{i}]")))
                .collect::<Result<_, _>>()?,
            allow_methods: c.allow_methods.join(","),
            allow_headers: c.allow_headers.join(","),
            expose_headers: c.expose_headers.join(","),
            max_age_s: c.max_age_ms.map(|ms| ms / 1000),
            allow_credentials: c.allow_credentials.unwrap_or(false),
        }),
    };
    let headers = route.headers.clone().unwrap_or_default();
    Ok(HttpRoute {
        name: route.name.clone().unwrap_or_else(|| format!("{what}[{index}]")),
        matches,
        destinations: dests,
        total_weight: total,
        redirect: route.redirect.as_ref().map(|r| Redirect {
            uri: r.uri.clone(),
            authority: r.authority.clone(),
            port: r.port,
            scheme: r.scheme.clone(),
            code: r.redirect_code.unwrap_or(301),
        }),
        direct_response,
        rewrite,
        timeout_ms: route.timeout_ms,
        retries,
        fault,
        request_headers: check_ops(&headers.request, &format!("{what}.headers.request"))?,
        response_headers: check_ops(&headers.response, &format!("{what}.headers.response"))?,
        mirrors,
        cors,
    })
}

fn compile_l4(list: &[snapshot::L4Route], what: &str) -> Result<Vec<L4Route>, String> {
    let mut out = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let (dests, total) = destinations(&r.route, &format!("{what}[{i}].route"))?;
        if dests.is_empty() {
            return Err(format!("{what}[{i}].route is required"));
        }
        let mut subnets = Vec::new();
        for (j, m) in r.matches.iter().enumerate() {
            let mut parsed = Vec::new();
            for s in &m.destination_subnets {
                parsed.push(Cidr::parse(s).ok_or_else(|| format!("{what}[{i}].match[{j}].destinationSubnets: {s:?} is not a CIDR"))?);
            }
            subnets.push(parsed);
        }
        out.push(L4Route {
            sni_hosts: r.matches.iter().flat_map(|m| m.sni_hosts.iter().map(|h| h.to_ascii_lowercase())).collect(),
            ports: r.matches.iter().map(|m| m.port).collect(),
            subnets,
            destinations: dests,
            total_weight: total,
        });
    }
    Ok(out)
}

pub fn compile(vs: &VirtualService) -> Result<CompiledVs, String> {
    let at = |e: String| format!("{}: {e}", vs.source);
    Ok(CompiledVs {
        source: vs.source.clone(),
        http: vs
            .http
            .iter()
            .enumerate()
            .map(|(i, r)| compile_http(r, &format!("spec.http[{i}]"), i))
            .collect::<Result<_, _>>()
            .map_err(at)?,
        tls: compile_l4(&vs.tls, "spec.tls").map_err(at)?,
        tcp: compile_l4(&vs.tcp, "spec.tcp").map_err(at)?,
    })
}

/// VirtualServices by host; the first listed for a host wins (the compiler orders them as Istio does).
pub fn compile_all(list: &[VirtualService]) -> Result<HostIndex<std::sync::Arc<CompiledVs>>, String> {
    let mut index = HostIndex::default();
    for vs in list {
        let compiled = std::sync::Arc::new(compile(vs)?);
        for host in &vs.hosts {
            index.add(host, compiled.clone());
        }
    }
    Ok(index)
}

/// Standard base64 (padding optional), for directResponse body.bytes.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_bodies_decode() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert!(decode_base64("a$").is_none());
    }

    #[test]
    fn grpc_status_by_name_or_number() {
        assert_eq!(grpc_code("UNAVAILABLE"), Some(14));
        assert_eq!(grpc_code("14"), Some(14));
        assert_eq!(grpc_code("17"), None);
        assert_eq!(grpc_code("NOPE"), None);
    }
}
