//! VirtualServices compiled for the request path: matchers built once (regexes bounded), weights summed. A field
//! this proxy cannot honour rejects the whole snapshot (a route never matches more than it says).

use super::cidr::Cidr;
use super::matcher::{StringMatcher, REGEX_DFA_LIMIT, REGEX_SIZE_LIMIT};
use super::regex_limit::check_regex_limits;
use crate::snapshot::{self, HeaderOps, Headers, Source};
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
    pub headers: Headers,
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
pub struct Cors {
    pub allow_origins: Vec<StringMatcher>,
    pub allow_methods: String,
    pub allow_headers: String,
    pub expose_headers: String,
    pub max_age_s: Option<u64>,
    pub allow_credentials: bool,
    pub forward_unmatched_preflights: bool,
}

#[derive(Debug, Clone)]
pub struct Rewrite {
    pub uri: Option<String>,
    pub authority: Option<String>,
    /// Envoy's regex_rewrite: every match in the path replaced; `\1` groups become `${1}`.
    pub uri_regex: Option<(Regex, String)>,
}

#[derive(Debug, Clone)]
pub struct HttpRoute {
    pub name: String,
    pub source: Source,
    pub matches: Vec<HttpMatch>,
    pub destinations: Vec<WeightedDestination>,
    pub total_weight: u32,
    pub redirect: Option<snapshot::Redirect>,
    pub direct_response: Option<(u16, bytes::Bytes)>,
    pub rewrite: Option<Rewrite>,
    pub timeout_ms: Option<u64>,
    pub retries: snapshot::Retries,
    pub fault: Option<Fault>,
    pub headers: Headers,
    pub mirrors: Vec<snapshot::Mirror>,
    pub cors: Option<Cors>,
}

#[derive(Debug, Clone)]
pub struct L4Match {
    pub sni_hosts: Vec<String>,
    pub subnets: Vec<Cidr>,
    pub port: Option<u16>,
    pub source_labels: BTreeMap<String, String>,
    pub source_namespace: Option<String>,
    pub source_subnet: Option<Cidr>,
}

#[derive(Debug, Clone)]
pub struct L4Route {
    pub source: Source,
    pub matches: Vec<L4Match>,
    pub destinations: Vec<WeightedDestination>,
    pub total_weight: u32,
}

#[derive(Debug, Clone)]
pub struct CompiledVs {
    pub source: Source,
    pub http: Vec<HttpRoute>,
    pub tls: Vec<L4Route>,
    pub tcp: Vec<L4Route>,
}

fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b))
}

/// A bad header name or a CR/LF/NUL in a value rejects the snapshot, never a failure on a request.
fn check_ops(ops: &HeaderOps, what: &str) -> Result<(), String> {
    for (kind, map) in [("set", &ops.set), ("add", &ops.add)] {
        for (name, value) in map {
            if !is_token(name) {
                return Err(format!("{what}.{kind}: invalid header name {name:?}"));
            }
            if http::HeaderValue::from_str(value).is_err() {
                return Err(format!("{what}.{kind}.{name}: not a valid header value"));
            }
        }
    }
    match ops.remove.iter().find(|n| !is_token(n)) {
        Some(bad) => Err(format!("{what}.remove: invalid header name {bad:?}")),
        None => Ok(()),
    }
}

fn check_headers(h: &Headers, what: &str) -> Result<(), String> {
    check_ops(&h.request, &format!("{what}.request"))?;
    check_ops(&h.response, &format!("{what}.response"))
}

fn named(map: &BTreeMap<String, snapshot::StringMatch>, what: &str) -> Result<Vec<(String, StringMatcher)>, String> {
    map.iter().map(|(k, m)| Ok((k.clone(), StringMatcher::compile(m, &format!("{what}.{k}"))?))).collect()
}

fn opt(m: &Option<snapshot::StringMatch>, what: &str) -> Result<Option<StringMatcher>, String> {
    m.as_ref().map(|m| StringMatcher::compile(m, what)).transpose()
}

fn percent(v: f64, what: &str) -> Result<f64, String> {
    if (0.0..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{what}.percent must be within 0..100"))
    }
}

fn compile_http(route: &snapshot::HttpRoute, what: &str) -> Result<HttpRoute, String> {
    let mut matches = Vec::with_capacity(route.matches.len());
    for (i, m) in route.matches.iter().enumerate() {
        let at = format!("{what}.match[{i}]");
        for (name, _) in m.headers.iter().chain(&m.without_headers) {
            if name.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(format!("{at}: header name {name:?} must be lower-case"));
            }
        }
        matches.push(HttpMatch {
            uri: opt(&m.uri, &format!("{at}.uri"))?,
            scheme: opt(&m.scheme, &format!("{at}.scheme"))?,
            method: opt(&m.method, &format!("{at}.method"))?,
            authority: opt(&m.authority, &format!("{at}.authority"))?,
            headers: named(&m.headers, &format!("{at}.headers"))?,
            query_params: named(&m.query_params, &format!("{at}.queryParams"))?,
            without_headers: named(&m.without_headers, &format!("{at}.withoutHeaders"))?,
            port: m.port,
            source_labels: m.source_labels.clone(),
            source_namespace: m.source_namespace.clone(),
        });
    }
    let mut destinations = Vec::with_capacity(route.route.len());
    for (i, d) in route.route.iter().enumerate() {
        check_headers(&d.headers, &format!("{what}.route[{i}].headers"))?;
        destinations.push(WeightedDestination {
            host: d.host.clone(),
            port: d.port,
            weight: d.weight,
            headers: d.headers.clone(),
        });
    }
    if destinations.is_empty() && route.redirect.is_none() && route.direct_response.is_none() {
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
            uri_regex: match &r.uri_regex {
                None => None,
                Some(rr) => {
                    check_regex_limits(&rr.pattern).map_err(|e| format!("{what}.rewrite.uriRegex.match: {e}"))?;
                    let re = regex::RegexBuilder::new(&rr.pattern)
                        .size_limit(REGEX_SIZE_LIMIT)
                        .dfa_size_limit(REGEX_DFA_LIMIT)
                        .build()
                        .map_err(|e| format!("{what}.rewrite.uriRegex.match: {e}"))?;
                    Some((re, envoy_substitution(&rr.rewrite)))
                }
            },
        }),
    };
    let fault = match &route.fault {
        None => None,
        Some(f) => Some(Fault {
            delay_ms: f.delay.as_ref().map(|d| d.fixed_delay_ms),
            delay_percent: percent(f.delay.as_ref().map_or(0.0, |d| d.percent), &format!("{what}.fault.delay"))?,
            abort_http: f.abort.as_ref().and_then(|a| a.http_status),
            abort_grpc: f.abort.as_ref().and_then(|a| a.grpc_status),
            abort_percent: percent(f.abort.as_ref().map_or(0.0, |a| a.percent), &format!("{what}.fault.abort"))?,
        }),
    };
    for (i, m) in route.mirrors.iter().enumerate() {
        percent(m.percent, &format!("{what}.mirrors[{i}]"))?;
    }
    let cors = match &route.cors_policy {
        None => None,
        Some(c) => Some(Cors {
            allow_origins: c
                .allow_origins
                .iter()
                .enumerate()
                .map(|(i, m)| StringMatcher::compile(m, &format!("{what}.corsPolicy.allowOrigins[{i}]")))
                .collect::<Result<_, _>>()?,
            allow_methods: c.allow_methods.join(","),
            allow_headers: c.allow_headers.join(","),
            expose_headers: c.expose_headers.join(","),
            max_age_s: c.max_age_ms.map(|ms| ms / 1000),
            allow_credentials: c.allow_credentials.unwrap_or(false),
            forward_unmatched_preflights: c.unmatched_preflights == snapshot::UnmatchedPreflights::Forward,
        }),
    };
    check_headers(&route.headers, &format!("{what}.headers"))?;
    Ok(HttpRoute {
        name: route.name.clone().unwrap_or_else(|| route.source.path.clone()),
        source: route.source.clone(),
        matches,
        total_weight: destinations.iter().map(|d| d.weight).sum(),
        destinations,
        redirect: route.redirect.clone(),
        direct_response,
        rewrite,
        timeout_ms: (route.timeout_ms > 0).then_some(route.timeout_ms),
        retries: route.retries.clone(),
        fault,
        headers: route.headers.clone(),
        mirrors: route.mirrors.clone(),
        cors,
    })
}

/// Envoy/RE2 substitutions write groups as `\1`; the regex crate as `${1}`. A literal `$` is escaped.
fn envoy_substitution(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push_str("${");
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    out.push(d);
                    chars.next();
                }
                out.push('}');
            }
            _ => out.push(c),
        }
    }
    out
}

fn compile_l4(list: &[snapshot::L4Route], what: &str, tls: bool) -> Result<Vec<L4Route>, String> {
    let mut out = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        if r.route.is_empty() {
            return Err(format!("{what}[{i}].route is required"));
        }
        let mut matches = Vec::new();
        for (j, m) in r.matches.iter().enumerate() {
            let at = format!("{what}[{i}].match[{j}]");
            if tls != m.sni_hosts.is_some() {
                return Err(format!("{at}: sniHosts belongs to TLS matches only (and is required there)"));
            }
            if tls && m.source_subnet.is_some() {
                return Err(format!("{at}: sourceSubnet belongs to TCP matches only"));
            }
            let cidr = |s: &String| Cidr::parse(s).ok_or_else(|| format!("{at}: {s:?} is not a CIDR"));
            matches.push(L4Match {
                sni_hosts: m.sni_hosts.clone().unwrap_or_default(),
                subnets: m.destination_subnets.iter().map(cidr).collect::<Result<_, _>>()?,
                port: m.port,
                source_labels: m.source_labels.clone(),
                source_namespace: m.source_namespace.clone(),
                source_subnet: m.source_subnet.as_ref().map(cidr).transpose()?,
            });
        }
        let destinations: Vec<WeightedDestination> = r
            .route
            .iter()
            .map(|d| WeightedDestination {
                host: d.host.clone(),
                port: d.port,
                weight: d.weight,
                headers: Headers::default(),
            })
            .collect();
        out.push(L4Route {
            source: r.source.clone(),
            matches,
            total_weight: destinations.iter().map(|d| d.weight).sum(),
            destinations,
        });
    }
    Ok(out)
}

pub fn compile(vs: &snapshot::VirtualService) -> Result<CompiledVs, String> {
    let at = |e: String| format!("VirtualService {}/{}: {e}", vs.source.namespace, vs.source.name);
    Ok(CompiledVs {
        source: vs.source.clone(),
        http: vs
            .http
            .iter()
            .enumerate()
            .map(|(i, r)| compile_http(r, &format!("spec.http[{i}]")))
            .collect::<Result<_, _>>()
            .map_err(at)?,
        tls: compile_l4(&vs.tls, "spec.tls", true).map_err(at)?,
        tcp: compile_l4(&vs.tcp, "spec.tcp", false).map_err(at)?,
    })
}

/// Standard base64 (padding optional), for directResponse body.bytes.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
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
    fn envoy_group_references_become_regex_crate_ones() {
        assert_eq!(envoy_substitution("/v2/\\1/x$"), "/v2/${1}/x$$");
        let re = Regex::new("^/v1/([a-z]+)").unwrap();
        assert_eq!(re.replace_all("/v1/abc", envoy_substitution("/v2/\\1").as_str()), "/v2/abc");
    }
}
