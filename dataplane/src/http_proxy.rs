//! The HTTP side of the outbound listener (HTTP/1.1 and h2c/gRPC): authorise by the authority used, route by the
//! VirtualService, answer locally or forward (retries, timeout, mirrors, CORS, header operations), then report.

use crate::body::{empty, full, Counted, End};
use crate::request_framing::framing_problem;
use crate::route::decorator;
use crate::route::host::normalize_host;
use crate::route::http_route::{apply_header_ops, decide_request, rewrite_path, RequestView};
use crate::route::registry::{Decision, Plan, Reason};
use crate::route::virtual_service::{Cors, HttpRoute};
use crate::state::{Loaded, Shared};
use crate::telemetry::access_log::{AccessRecord, RequestPart};
use crate::upstream::{address_for, Body, BoxError, Pool, Resolver};
use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Request bodies up to this size are buffered so a retry or a mirror can replay them; larger ones stream once.
pub const MAX_REPLAY_BODY: u64 = 64 * 1024;

/// What the listener learnt about the connection.
pub struct ConnInfo {
    pub original: SocketAddr,
    pub remote: SocketAddr,
    pub h2: bool,
}

/// Everything the HTTP handler needs, shared by all connections.
pub struct Proxy {
    pub shared: Arc<Shared>,
    pub pool: Pool,
    pub resolver: Resolver,
    /// Set on SIGTERM: responses carry `connection: close` so clients move off while outbound still works.
    pub draining: AtomicBool,
}

fn random() -> f64 {
    rand::random::<f64>()
}

fn host_port(a: SocketAddr) -> String {
    a.to_string()
}

/// Per-request facts gathered for the access log and metrics.
struct Exchange {
    start: SystemTime,
    started: Instant,
    request: RequestPart,
    received: Arc<AtomicU64>,
    cluster: String,
    /// Istio's destination_service label (the registry host, or the catch-all cluster).
    service: Option<String>,
    route: String,
    flags: &'static str,
    details: &'static str,
    upstream_host: Option<String>,
    upstream_local: Option<String>,
    upstream_time_ms: Option<u64>,
    downstream_local: String,
    downstream_remote: String,
}

impl Exchange {
    fn record(&self, code: u16, sent: u64, flags: &str, details: &str) -> AccessRecord {
        AccessRecord {
            start: self.start,
            request: Some(self.request.clone()),
            code,
            flags: flags.to_string(),
            details: Some(details.to_string()),
            transport_failure: None,
            bytes_received: self.received.load(Ordering::Relaxed),
            bytes_sent: sent,
            duration_ms: self.started.elapsed().as_millis() as u64,
            upstream_service_time_ms: self.upstream_time_ms,
            upstream_host: self.upstream_host.clone(),
            cluster: self.cluster.clone(),
            upstream_local: self.upstream_local.clone(),
            downstream_local: self.downstream_local.clone(),
            downstream_remote: self.downstream_remote.clone(),
            sni: None,
            route: Some(self.route.clone()),
        }
    }
}

/// Wraps the response body so the exchange is reported when the body ends (or fails, or the client leaves).
fn reported(proxy: &Arc<Proxy>, loaded: Option<Arc<Loaded>>, ex: Exchange, response: Response<Body>) -> Response<Body> {
    let code = response.status().as_u16();
    let sent = Arc::new(AtomicU64::new(0));
    let sent_in = sent.clone();
    let proxy = proxy.clone();
    let on_end = Box::new(move |end: End| {
        let flags = match end {
            End::Complete => ex.flags,
            // The upstream reset mid-body: the client saw a failure (the response was cut), never a short 200.
            End::Failed => "UR",
            End::Dropped => "DC",
        };
        let details = if end == End::Failed { "upstream_reset_after_response_started" } else { ex.details };
        let total = ex.started.elapsed().as_secs_f64() * 1000.0;
        proxy.shared.metrics.request(ex.service.as_deref(), "http", code, flags, total);
        if let Some((sink, format)) = loaded.as_ref().and_then(|l| l.access_log.as_ref()) {
            if !sink.write(&format.line(&ex.record(code, sent_in.load(Ordering::Relaxed), flags, details))) {
                proxy.shared.metrics.access_log_dropped.inc();
            }
        }
    });
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Counted::new(body, sent, Some(on_end)).boxed())
}

fn local_reply(status: u16, body: impl Into<Bytes>, close: bool) -> Response<Body> {
    let body = body.into();
    let mut r = Response::new(full(body.clone()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    if close {
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded, in either direction.
fn strip_hop_by_hop(h: &mut HeaderMap) {
    let listed: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        h.remove(name);
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
        "trailer",
        "proxy-authenticate",
        "proxy-authorization",
    ] {
        h.remove(name);
    }
}

fn grpc_abort(code: u32) -> Response<Body> {
    let mut r = Response::new(empty());
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    h.insert("grpc-status", HeaderValue::from(code));
    h.insert("grpc-message", HeaderValue::from_static("fault filter abort"));
    r
}

/// CORS: a matching preflight is answered here; other requests get the allow headers added to the response.
fn cors_origin(cors: &Cors, h: &HeaderMap) -> Option<HeaderValue> {
    let origin = h.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    cors.allow_origins.iter().any(|m| m.test(text)).then(|| origin.clone())
}

fn add_cors(cors: &Cors, origin: HeaderValue, h: &mut HeaderMap, preflight: bool) {
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if cors.allow_credentials {
        h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    }
    let put = |h: &mut HeaderMap, name: HeaderName, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            if !v.is_empty() {
                h.insert(name, v);
            }
        }
    };
    if preflight {
        put(h, header::ACCESS_CONTROL_ALLOW_METHODS, &cors.allow_methods);
        put(h, header::ACCESS_CONTROL_ALLOW_HEADERS, &cors.allow_headers);
        if let Some(age) = cors.max_age_s {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
        }
    } else {
        put(h, header::ACCESS_CONTROL_EXPOSE_HEADERS, &cors.expose_headers);
    }
}

/// The request's authority: `:authority` (HTTP/2 or absolute-form), else Host. None when missing or ambiguous.
fn authority_of(req: &Request<Incoming>) -> Option<String> {
    if let Some(a) = req.uri().authority() {
        return Some(a.as_str().to_string());
    }
    let mut hosts = req.headers().get_all(header::HOST).iter();
    let host = hosts.next()?;
    if hosts.next().is_some() {
        return None;
    }
    host.to_str().ok().filter(|h| !h.is_empty()).map(str::to_string)
}

pub async fn handle(
    proxy: Arc<Proxy>,
    conn: Arc<ConnInfo>,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let start = SystemTime::now();
    let started = Instant::now();
    let headers = req.headers();
    let text = |name: HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let request_id =
        text(HeaderName::from_static("x-request-id")).filter(|v| v.len() <= 128).unwrap_or_else(new_request_id);
    let path = req.uri().path_and_query().map_or("/".to_string(), |p| p.as_str().to_string());
    let authority = authority_of(&req);
    let mut ex = Exchange {
        start,
        started,
        request: RequestPart {
            method: req.method().as_str().to_string(),
            path: path.clone(),
            protocol: match req.version() {
                http::Version::HTTP_10 => "HTTP/1.0",
                http::Version::HTTP_2 => "HTTP/2",
                _ => "HTTP/1.1",
            },
            xff: text(HeaderName::from_static("x-forwarded-for")),
            user_agent: text(header::USER_AGENT),
            request_id: Some(request_id.clone()),
            authority: authority.clone(),
        },
        received: Arc::new(AtomicU64::new(0)),
        cluster: "-".into(),
        service: None,
        route: "-".into(),
        flags: "-",
        details: "via_upstream",
        upstream_host: None,
        upstream_local: None,
        upstream_time_ms: None,
        downstream_local: host_port(conn.original),
        downstream_remote: host_port(conn.remote),
    };
    let loaded = proxy.shared.current();
    if let Some(why) = framing_problem(req.version(), req.headers()) {
        ex.flags = "DPE";
        ex.details = "http1.invalid_transfer_encoding";
        let body = format!("meshgate: bad request: {why}\n");
        return Ok(reported(&proxy, loaded, ex, local_reply(400, body, true)));
    }
    let Some(authority) = authority else {
        ex.details = "request_rejected";
        return Ok(reported(
            &proxy,
            loaded,
            ex,
            local_reply(400, "meshgate: bad request: one Host header is required\n", true),
        ));
    };
    let Some(loaded_now) = loaded.clone() else {
        ex.flags = "NC";
        ex.details = "no_snapshot";
        return Ok(reported(&proxy, loaded, ex, local_reply(503, "meshgate: no snapshot loaded yet\n", false)));
    };
    let host = normalize_host(&authority);
    let port = conn.original.port();
    let view = RequestView {
        method: req.method().as_str(),
        scheme: "http",
        path: &path,
        authority: &authority,
        host: &host,
        port,
        ip: conn.original.ip(),
        headers: req.headers(),
    };
    let decided = decide_request(&loaded_now.table, &view, &proxy.shared.workload, random());
    let d = &decided.decision;
    ex.cluster = d.cluster.clone().unwrap_or_else(|| "-".into());
    ex.service = d.metric_destination().map(str::to_string);
    ex.route = decided.route_name.clone();
    let close = proxy.draining.load(Ordering::Relaxed);
    if !d.allowed {
        let (body, details) = match d.reason {
            Reason::NoRoute => (
                format!("meshgate: no route of the VirtualService for {host} matches {} {}\n", view.method, path),
                "route_not_found",
            ),
            Reason::DestinationUnknown => (
                format!("meshgate: the route's destination for {host} is not in the registry\n"),
                "destination_unknown",
            ),
            _ => {
                proxy.shared.metrics.denied("http", &format!("{host}:{port}"));
                (
                    format!("meshgate: {host}:{port} is blocked: {} ({})\n", reason_text(d), rule_text(d)),
                    "direct_response",
                )
            }
        };
        ex.flags = if d.reason == Reason::NoRoute { "NR" } else { "-" };
        ex.details = details;
        return Ok(reported(&proxy, loaded, ex, local_reply(d.status.unwrap_or(502), body, close)));
    }
    let route = decided.route;
    // Faults come before anything is sent upstream.
    if let Some(fault) = route.and_then(|r| r.fault.as_ref()) {
        if let Some(ms) = fault.delay_ms.filter(|_| random() * 100.0 < fault.delay_percent) {
            ex.flags = "DI";
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if random() * 100.0 < fault.abort_percent {
            if let Some(code) = fault.abort_grpc {
                ex.flags = "FI";
                ex.details = "fault_filter_abort";
                return Ok(reported(&proxy, loaded, ex, grpc_abort(code)));
            }
            if let Some(status) = fault.abort_http {
                ex.flags = "FI";
                ex.details = "fault_filter_abort";
                return Ok(reported(&proxy, loaded, ex, local_reply(status, "fault filter abort", close)));
            }
        }
    }
    if let Some(location) = d.location.clone() {
        ex.details = "direct_response";
        let mut r = local_reply(d.status.unwrap_or(301), "", close);
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return Ok(reported(&proxy, loaded, ex, r));
    }
    if let Some((status, body)) = route.and_then(|r| r.direct_response.clone()) {
        ex.details = "direct_response";
        let mut r = local_reply(status, body, close);
        if let Some(rt) = route {
            apply_header_ops(r.headers_mut(), &rt.headers.response);
        }
        return Ok(reported(&proxy, loaded, ex, r));
    }
    let cors = route.and_then(|r| r.cors.as_ref());
    let cors_origin = cors.and_then(|c| cors_origin(c, req.headers()));
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if let (Some(c), Some(origin), true) = (cors, cors_origin.clone(), preflight) {
        ex.details = "cors_response";
        let mut r = local_reply(200, "", close);
        add_cors(c, origin, r.headers_mut(), true);
        return Ok(reported(&proxy, loaded, ex, r));
    }
    let operation = decorator::operation(d, decided.vs.map(|v| &**v), route, decided.matched, port);
    if let Some(v) = operation.and_then(|o| HeaderValue::from_str(&o).ok()) {
        req.headers_mut().insert(HeaderName::from_static("x-envoy-decorator-operation"), v);
    }
    let Decided { decision, path: new_path, authority: new_authority } =
        Decided::of(d, route, decided.matched, &path, &authority);
    let mut response = forward(
        &proxy,
        &conn,
        &loaded_now,
        &decision,
        route,
        decided.destination,
        req,
        new_path,
        new_authority,
        &request_id,
        &mut ex,
    )
    .await;
    if let (Some(c), Some(origin)) = (cors, cors_origin) {
        add_cors(c, origin, response.headers_mut(), false);
    }
    if close {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(reported(&proxy, loaded, ex, response))
}

struct Decided {
    decision: Decision,
    path: String,
    authority: String,
}

impl Decided {
    fn of(
        d: &Decision,
        route: Option<&HttpRoute>,
        matched: Option<&crate::route::virtual_service::HttpMatch>,
        path: &str,
        authority: &str,
    ) -> Decided {
        let (path, authority) = match route {
            Some(r) => (
                rewrite_path(path, r, matched),
                r.rewrite.as_ref().and_then(|rw| rw.authority.clone()).unwrap_or_else(|| authority.to_string()),
            ),
            None => (path.to_string(), authority.to_string()),
        };
        Decided { decision: d.clone(), path, authority }
    }
}

fn reason_text(d: &Decision) -> String {
    serde_json::to_value(d.reason).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn rule_text(d: &Decision) -> String {
    d.policy_source.as_ref().map_or_else(|| "-".to_string(), ToString::to_string)
}

fn new_request_id() -> String {
    let v: u128 = rand::random();
    let b = v.to_be_bytes();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    )
}

/// The request body, buffered when small enough to replay (retries, mirrors), else streamed once.
enum RequestBody {
    Replayable(Bytes),
    Stream(Option<Body>),
}

impl RequestBody {
    fn take(&mut self) -> Option<Body> {
        match self {
            RequestBody::Replayable(b) => Some(if b.is_empty() { empty() } else { full(b.clone()) }),
            RequestBody::Stream(s) => s.take(),
        }
    }
}

/// Reads the body while it fits the replay buffer: a small body (of any framing) becomes replayable; a framing error
/// (bad chunk size, short body) is a 400 before anything is sent upstream; a large body streams on, its first
/// frames put back in front.
async fn read_body(body: Incoming, counter: Arc<AtomicU64>) -> Result<RequestBody, Response<Body>> {
    let mut counted = Counted::new(body, counter, None);
    if http_body::Body::is_end_stream(&counted) {
        return Ok(RequestBody::Replayable(Bytes::new()));
    }
    let mut frames: Vec<Bytes> = Vec::new();
    let mut size = 0u64;
    loop {
        match counted.frame().await {
            None => {
                let mut all = bytes::BytesMut::with_capacity(size as usize);
                for f in frames {
                    all.extend_from_slice(&f);
                }
                return Ok(RequestBody::Replayable(all.freeze()));
            }
            Some(Err(_)) => return Err(local_reply(400, "meshgate: bad request body framing\n", true)),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    size += data.len() as u64;
                    frames.push(data);
                    if size > MAX_REPLAY_BODY {
                        let prefix = Prefixed { frames: frames.into(), rest: counted };
                        return Ok(RequestBody::Stream(Some(prefix.boxed())));
                    }
                }
                // Trailers end the body; they are not forwarded on a buffered body.
                Err(_) => continue,
            },
        }
    }
}

/// Frames already read, then the rest of the body.
struct Prefixed<B> {
    frames: std::collections::VecDeque<Bytes>,
    rest: B,
}

impl<B> http_body::Body for Prefixed<B>
where
    B: http_body::Body<Data = Bytes, Error = BoxError> + Unpin,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        if let Some(f) = self.frames.pop_front() {
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(f))));
        }
        std::pin::Pin::new(&mut self.rest).poll_frame(cx)
    }
}

fn upstream_request(
    method: &Method,
    h2: bool,
    authority: &str,
    path: &str,
    headers: &HeaderMap,
    body: Body,
) -> Option<Request<Body>> {
    let uri: Uri = if h2 { format!("http://{authority}{path}").parse().ok()? } else { path.parse().ok()? };
    let mut req = Request::new(body);
    *req.method_mut() = method.clone();
    *req.uri_mut() = uri;
    *req.headers_mut() = headers.clone();
    if h2 {
        req.headers_mut().remove(header::HOST);
        *req.version_mut() = http::Version::HTTP_2;
    } else {
        req.headers_mut().insert(header::HOST, HeaderValue::from_str(authority).ok()?);
    }
    Some(req)
}

fn retriable_status(route: Option<&HttpRoute>, status: u16) -> bool {
    let Some(r) = route.map(|r| &r.retries) else {
        return status == 503; // Istio's default policy: retriable-status-codes 503
    };
    let on = |t: &str| r.retry_on.iter().any(|x| x == t);
    (on("5xx") && status >= 500)
        || (on("gateway-error") && matches!(status, 502..=504))
        || (on("retriable-status-codes") && r.retriable_status_codes.contains(&status))
}

fn backoff(route: Option<&HttpRoute>, attempt: u32) -> Duration {
    let (base, max) = route.map_or((25, 250), |r| (r.retries.backoff_base_ms.max(1), r.retries.backoff_max_ms.max(1)));
    // Envoy: fully jittered exponential backoff, capped.
    let ceiling = base.saturating_mul(1u64 << attempt.min(10)).min(max);
    Duration::from_millis((random() * ceiling as f64) as u64)
}

#[allow(clippy::too_many_arguments)]
async fn forward(
    proxy: &Arc<Proxy>,
    conn: &ConnInfo,
    loaded: &Arc<Loaded>,
    d: &Decision,
    route: Option<&HttpRoute>,
    destination: Option<&crate::route::virtual_service::WeightedDestination>,
    req: Request<Incoming>,
    path: String,
    authority: String,
    request_id: &str,
    ex: &mut Exchange,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let mut headers = parts.headers;
    // gRPC needs `te: trailers` end to end.
    let te_trailers =
        conn.h2 && headers.get(header::TE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    strip_hop_by_hop(&mut headers);
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    if let Some(r) = route {
        apply_header_ops(&mut headers, &r.headers.request);
    }
    if let Some(dst) = destination {
        apply_header_ops(&mut headers, &dst.headers.request);
    }
    if te_trailers {
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
    }
    let mut body = match read_body(body, ex.received.clone()).await {
        Ok(b) => b,
        Err(reply) => {
            ex.details = "request_body_error";
            return reply;
        }
    };
    if let (Some(r), RequestBody::Replayable(bytes)) = (route, &body) {
        for m in &r.mirrors {
            if random() * 100.0 < m.percent {
                mirror(proxy, loaded, conn, m, &parts.method, &authority, &path, &headers, bytes.clone());
            }
        }
    }
    let h2 = d.upstream_h2.unwrap_or(conn.h2);
    let attempts = route.map_or(2, |r| r.retries.attempts);
    let per_try = route.map(|r| r.retries.per_try_timeout_ms).filter(|ms| *ms > 0).map(Duration::from_millis);
    let work = async {
        let mut attempt = 0u32;
        loop {
            let replayable = matches!(body, RequestBody::Replayable(_));
            let can_retry = replayable && attempt < attempts;
            let addr = match address_for(&d.plan, conn.original, &proxy.resolver, random()).await {
                Ok(a) => a,
                Err(e) => return Err((503, "UH", "no_healthy_upstream", e.to_string())),
            };
            ex.upstream_host = Some(addr.to_string());
            let sent_at = Instant::now();
            let (mut sender, fresh) = match proxy.pool.get(addr, h2).await {
                Ok(s) => s,
                Err(e) => {
                    if can_retry && route.is_none_or(|r| r.retries.retry_on.iter().any(|t| t == "connect-failure")) {
                        attempt += 1;
                        tokio::time::sleep(backoff(route, attempt)).await;
                        continue;
                    }
                    return Err((
                        503,
                        "UF",
                        "upstream_reset_before_response_started{connection_failure}",
                        e.to_string(),
                    ));
                }
            };
            ex.upstream_local = Some(sender.local().to_string());
            let Some(body_now) = body.take() else {
                return Err((503, "UF", "request_body_consumed", "body already sent".into()));
            };
            let Some(up) = upstream_request(&parts.method, h2, &authority, &path, &headers, body_now) else {
                return Err((400, "-", "invalid_rewrite", "the rewritten request is not valid".into()));
            };
            let result = match per_try {
                Some(t) => tokio::time::timeout(t, sender.send(up)).await.map_err(|_| ()),
                None => Ok(sender.send(up).await),
            };
            match result {
                Err(()) => {
                    if can_retry {
                        attempt += 1;
                        continue;
                    }
                    return Err((504, "UT", "upstream_per_try_timeout", "per-try timeout".into()));
                }
                Ok(Err(e)) => {
                    // The client's own body failed while streaming on (a bad chunk past the replay buffer): its fault.
                    if e.is_user() {
                        return Err((400, "DPE", "downstream_body_error", e.to_string()));
                    }
                    // A reused connection the server had closed, or a reset before the response: retriable.
                    if can_retry && (!fresh || e.is_canceled()) {
                        attempt += 1;
                        tokio::time::sleep(backoff(route, attempt)).await;
                        continue;
                    }
                    return Err((
                        503,
                        "UC",
                        "upstream_reset_before_response_started{connection_termination}",
                        e.to_string(),
                    ));
                }
                Ok(Ok(resp)) => {
                    ex.upstream_time_ms = Some(sent_at.elapsed().as_millis() as u64);
                    proxy.pool.put(addr, sender);
                    if can_retry && retriable_status(route, resp.status().as_u16()) {
                        attempt += 1;
                        tokio::time::sleep(backoff(route, attempt)).await;
                        continue;
                    }
                    return Ok(resp);
                }
            }
        }
    };
    let outcome = match route.and_then(|r| r.timeout_ms) {
        Some(ms) => tokio::time::timeout(Duration::from_millis(ms), work).await.unwrap_or(Err((
            504,
            "UT",
            "upstream_response_timeout",
            "upstream request timeout".into(),
        ))),
        None => work.await,
    };
    match outcome {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            if let Some(r) = route {
                apply_header_ops(&mut parts.headers, &r.headers.response);
            }
            if let Some(dst) = destination {
                apply_header_ops(&mut parts.headers, &dst.headers.response);
            }
            Response::from_parts(parts, body.map_err(|e| -> BoxError { Box::new(e) }).boxed())
        }
        Err((status, flags, details, message)) => {
            ex.flags = flags;
            ex.details = details;
            let text = match status {
                400 => format!("meshgate: bad request body framing: {message}\n"),
                504 => "upstream request timeout\n".to_string(),
                _ => format!("meshgate: upstream connect error or disconnect/reset before headers: {message}\n"),
            };
            // A 400 leaves the connection's framing in doubt: close it.
            local_reply(status, text, status == 400)
        }
    }
}

/// Mirrors are fire and forget: sent on their own task, never delaying or failing the real response. The mirrored
/// request's authority gets Istio's `-shadow` suffix.
#[allow(clippy::too_many_arguments)]
fn mirror(
    proxy: &Arc<Proxy>,
    loaded: &Arc<Loaded>,
    conn: &ConnInfo,
    m: &crate::snapshot::Mirror,
    method: &Method,
    authority: &str,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
) {
    let exact = (!m.host.starts_with('*')).then_some(m.host.as_str());
    let Some(target) = loaded.table.registry.lookup_destination(
        &m.host,
        m.port.unwrap_or(conn.original.port()),
        m.port.is_none(),
        exact,
    ) else {
        return;
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() && !h.contains(':') => (h.to_string(), Some(p.to_string())),
        _ => (authority.to_string(), None),
    };
    let shadow = match port {
        Some(p) => format!("{host}-shadow:{p}"),
        None => format!("{host}-shadow"),
    };
    let proxy = proxy.clone();
    let original = conn.original;
    let downstream_h2 = conn.h2;
    let method = method.clone();
    let path = path.to_string();
    let headers = headers.clone();
    tokio::spawn(async move {
        let plan: Plan = target.plan;
        let Ok(addr) = address_for(&plan, original, &proxy.resolver, random()).await else { return };
        let h2 = target.upstream_h2.unwrap_or(downstream_h2);
        let Ok((mut sender, _)) = proxy.pool.get(addr, h2).await else { return };
        let Some(req) = upstream_request(&method, h2, &shadow, &path, &headers, full(body)) else {
            return;
        };
        if let Ok(Ok(resp)) = tokio::time::timeout(Duration::from_secs(30), sender.send(req)).await {
            let _ = resp.into_body().collect().await;
        }
    });
}
