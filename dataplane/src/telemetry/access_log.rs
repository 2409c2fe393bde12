//! The Envoy-format access log, with the fields of the Node proxy's log (Istio's default format):
//! [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
//! %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED%
//! %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
//! "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS%
//! %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%
//! The mesh config's `accessLogFormat` (command operators) and `accessLogEncoding: JSON` are honoured.

use crate::snapshot::AccessLogEncoding;
use std::time::SystemTime;

#[derive(Debug, Clone, Default)]
pub struct RequestPart {
    pub method: String,
    pub path: String,
    pub protocol: &'static str,
    pub xff: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub authority: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AccessRecord {
    pub start: SystemTime,
    /// None for TCP/TLS connections.
    pub request: Option<RequestPart>,
    pub code: u16,
    pub flags: String,
    pub details: Option<String>,
    pub transport_failure: Option<String>,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub duration_ms: u64,
    pub upstream_service_time_ms: Option<u64>,
    pub upstream_host: Option<String>,
    pub cluster: String,
    pub upstream_local: Option<String>,
    pub downstream_local: String,
    pub downstream_remote: String,
    pub sni: Option<String>,
    pub route: Option<String>,
}

/// Client-controlled text cannot break a line or a quoted field: quotes, backslashes and controls are escaped.
pub fn sanitize(text: Option<&str>, max: usize) -> String {
    let Some(text) = text.filter(|t| !t.is_empty()) else { return "-".to_string() };
    let cut = match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(cut.len());
    for c in cut.chars() {
        if (c as u32) < 0x20 || c == '"' || c == '\\' || c == '\x7f' {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn dash(v: Option<&str>) -> String {
    match v {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "-".to_string(),
    }
}

/// RFC 3339 with milliseconds in UTC, as Envoy's %START_TIME% default.
pub fn iso_time(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// One command operator's value (None: the operator is unknown to this proxy and is left as written).
fn operator(r: &AccessRecord, op: &str) -> Option<String> {
    let q = r.request.as_ref();
    let req = |name: &str| -> Option<String> {
        let q = q?;
        let v = match name {
            ":METHOD" => Some(q.method.as_str()),
            ":PATH" | "X-ENVOY-ORIGINAL-PATH?:PATH" => Some(q.path.as_str()),
            ":AUTHORITY" | "HOST" => q.authority.as_deref(),
            "X-FORWARDED-FOR" => q.xff.as_deref(),
            "USER-AGENT" => q.user_agent.as_deref(),
            "X-REQUEST-ID" => q.request_id.as_deref(),
            _ => None,
        };
        v.map(str::to_string)
    };
    Some(match op {
        "START_TIME" => iso_time(r.start),
        "PROTOCOL" => q.map_or("-".into(), |q| q.protocol.to_string()),
        "RESPONSE_CODE" => r.code.to_string(),
        "RESPONSE_FLAGS" => dash(Some(&r.flags)),
        "RESPONSE_CODE_DETAILS" => dash(r.details.as_deref()),
        "CONNECTION_TERMINATION_DETAILS" => "-".into(),
        "UPSTREAM_TRANSPORT_FAILURE_REASON" => sanitize(r.transport_failure.as_deref(), 512),
        "BYTES_RECEIVED" => r.bytes_received.to_string(),
        "BYTES_SENT" => r.bytes_sent.to_string(),
        "DURATION" => r.duration_ms.to_string(),
        "UPSTREAM_HOST" => dash(r.upstream_host.as_deref()),
        "UPSTREAM_CLUSTER" => dash(Some(&r.cluster)),
        "UPSTREAM_LOCAL_ADDRESS" => dash(r.upstream_local.as_deref()),
        "DOWNSTREAM_LOCAL_ADDRESS" => r.downstream_local.clone(),
        "DOWNSTREAM_REMOTE_ADDRESS" => r.downstream_remote.clone(),
        "REQUESTED_SERVER_NAME" => sanitize(r.sni.as_deref(), 256),
        "ROUTE_NAME" => dash(r.route.as_deref()),
        "RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)" => r.upstream_service_time_ms.map_or("-".into(), |v| v.to_string()),
        _ => {
            let name = op.strip_prefix("REQ(")?.strip_suffix(')')?;
            let limit = if name == ":PATH" || name == "X-ENVOY-ORIGINAL-PATH?:PATH" { 2048 } else { 256 };
            if q.is_none() {
                return Some("-".into());
            }
            sanitize(req(&name.to_ascii_uppercase()).as_deref(), limit)
        }
    })
}

/// The default text line (fixed layout, no template walk: this runs per request).
pub fn format_default(r: &AccessRecord) -> String {
    let head = match &r.request {
        Some(q) => format!("\"{} {} {}\"", sanitize(Some(&q.method), 32), sanitize(Some(&q.path), 2048), q.protocol),
        None => "\"- - -\"".to_string(),
    };
    let q = r.request.as_ref();
    format!(
        "[{}] {head} {} {} {} - \"{}\" {} {} {} {} \"{}\" \"{}\" \"{}\" \"{}\" \"{}\" {} {} {} {} {} {}\n",
        iso_time(r.start),
        r.code,
        dash(Some(&r.flags)),
        dash(r.details.as_deref()),
        sanitize(r.transport_failure.as_deref(), 512),
        r.bytes_received,
        r.bytes_sent,
        r.duration_ms,
        r.upstream_service_time_ms.map_or("-".into(), |v| v.to_string()),
        sanitize(q.and_then(|q| q.xff.as_deref()), 512),
        sanitize(q.and_then(|q| q.user_agent.as_deref()), 512),
        sanitize(q.and_then(|q| q.request_id.as_deref()), 128),
        sanitize(q.and_then(|q| q.authority.as_deref()), 256),
        dash(r.upstream_host.as_deref()),
        dash(Some(&r.cluster)),
        dash(r.upstream_local.as_deref()),
        r.downstream_local,
        r.downstream_remote,
        sanitize(r.sni.as_deref(), 256),
        dash(r.route.as_deref()),
    )
}

/// `accessLogFormat`: text with `%OPERATOR%` substituted; unknown operators stay as written.
pub fn format_template(template: &str, r: &AccessRecord) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end) if end > 0 && !after[..end].contains(char::is_whitespace) => {
                let op = &after[..end];
                match operator(r, op) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('%');
                        out.push_str(op);
                        out.push('%');
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('%');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Istio's default JSON keys and their operators.
const JSON_FIELDS: [(&str, &str); 24] = [
    ("start_time", "START_TIME"),
    ("route_name", "ROUTE_NAME"),
    ("method", "REQ(:METHOD)"),
    ("path", "REQ(X-ENVOY-ORIGINAL-PATH?:PATH)"),
    ("protocol", "PROTOCOL"),
    ("response_code", "RESPONSE_CODE"),
    ("response_flags", "RESPONSE_FLAGS"),
    ("response_code_details", "RESPONSE_CODE_DETAILS"),
    ("connection_termination_details", "CONNECTION_TERMINATION_DETAILS"),
    ("upstream_transport_failure_reason", "UPSTREAM_TRANSPORT_FAILURE_REASON"),
    ("bytes_received", "BYTES_RECEIVED"),
    ("bytes_sent", "BYTES_SENT"),
    ("duration", "DURATION"),
    ("upstream_service_time", "RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)"),
    ("x_forwarded_for", "REQ(X-FORWARDED-FOR)"),
    ("user_agent", "REQ(USER-AGENT)"),
    ("request_id", "REQ(X-REQUEST-ID)"),
    ("authority", "REQ(:AUTHORITY)"),
    ("upstream_host", "UPSTREAM_HOST"),
    ("upstream_cluster", "UPSTREAM_CLUSTER"),
    ("upstream_local_address", "UPSTREAM_LOCAL_ADDRESS"),
    ("downstream_local_address", "DOWNSTREAM_LOCAL_ADDRESS"),
    ("downstream_remote_address", "DOWNSTREAM_REMOTE_ADDRESS"),
    ("requested_server_name", "REQUESTED_SERVER_NAME"),
];

/// JSON encoding: Istio's default keys, or `accessLogFormat` as a JSON object of key -> operator text.
/// Values are the operators' raw values (JSON escaping replaces the text format's quoting); numbers stay numbers.
pub fn format_json(custom: Option<&serde_json::Map<String, serde_json::Value>>, r: &AccessRecord) -> String {
    let mut map = serde_json::Map::new();
    let mut put = |key: &str, template: &str| {
        let text = format_template(template, r);
        let text = text.trim_end_matches('\n');
        let value = if text == "-" {
            serde_json::Value::Null
        } else if let Ok(n) = text.parse::<u64>() {
            serde_json::Value::from(n)
        } else {
            serde_json::Value::from(text)
        };
        map.insert(key.to_string(), value);
    };
    match custom {
        Some(fields) => {
            for (k, v) in fields {
                put(k, v.as_str().unwrap_or(""));
            }
        }
        None => {
            for (k, op) in JSON_FIELDS {
                put(k, &format!("%{op}%"));
            }
        }
    }
    let mut line = serde_json::Value::Object(map).to_string();
    line.push('\n');
    line
}

/// How lines are produced, from the mesh settings of the snapshot in force.
#[derive(Debug, Clone)]
pub enum LineFormat {
    Default,
    Template(String),
    Json(Option<serde_json::Map<String, serde_json::Value>>),
}

impl LineFormat {
    pub fn from_mesh(encoding: AccessLogEncoding, format: &str) -> Result<LineFormat, String> {
        Ok(match (encoding, format.trim()) {
            (AccessLogEncoding::Text, "") => LineFormat::Default,
            (AccessLogEncoding::Text, f) => LineFormat::Template(f.to_string()),
            (AccessLogEncoding::Json, "") => LineFormat::Json(None),
            (AccessLogEncoding::Json, f) => {
                match serde_json::from_str::<serde_json::Value>(f) {
                    Ok(serde_json::Value::Object(m)) => LineFormat::Json(Some(m)),
                    _ => return Err(
                        "mesh.accessLogFormat: with accessLogEncoding JSON it must be a JSON object of key to operator"
                            .into(),
                    ),
                }
            }
        })
    }

    pub fn line(&self, r: &AccessRecord) -> String {
        match self {
            LineFormat::Default => format_default(r),
            LineFormat::Template(t) => format_template(t, r),
            LineFormat::Json(custom) => format_json(custom.as_ref(), r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn record() -> AccessRecord {
        AccessRecord {
            start: SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_460_800_123),
            request: Some(RequestPart {
                method: "GET".into(),
                path: "/a\"b".into(),
                protocol: "HTTP/1.1",
                user_agent: Some("curl/8".into()),
                request_id: Some("id-1".into()),
                authority: Some("httpbin.org".into()),
                xff: None,
            }),
            code: 200,
            flags: String::new(),
            details: Some("via_upstream".into()),
            transport_failure: None,
            bytes_received: 0,
            bytes_sent: 12,
            duration_ms: 3,
            upstream_service_time_ms: Some(2),
            upstream_host: Some("10.0.0.1:80".into()),
            cluster: "outbound|80||httpbin.org".into(),
            upstream_local: Some("10.0.0.2:40000".into()),
            downstream_local: "10.0.0.1:80".into(),
            downstream_remote: "127.0.0.1:5555".into(),
            sni: None,
            route: Some("default".into()),
        }
    }

    #[test]
    fn default_line_has_envoys_layout_and_escapes_client_text() {
        let line = format_default(&record());
        assert_eq!(
            line,
            "[2025-11-30T00:00:00.123Z] \"GET /a\\x22b HTTP/1.1\" 200 - via_upstream - \"-\" 0 12 3 2 \"-\" \"curl/8\" \"id-1\" \"httpbin.org\" \"10.0.0.1:80\" outbound|80||httpbin.org 10.0.0.2:40000 10.0.0.1:80 127.0.0.1:5555 - default\n"
        );
    }

    #[test]
    fn template_and_json_formats() {
        let r = record();
        assert_eq!(
            format_template("%RESPONSE_CODE% %REQ(:AUTHORITY)% %NOPE% 100%", &r),
            "200 httpbin.org %NOPE% 100%\n"
        );
        let json: serde_json::Value = serde_json::from_str(&format_json(None, &r)).unwrap();
        assert_eq!(json["response_code"], 200);
        assert_eq!(json["authority"], "httpbin.org");
        assert_eq!(json["upstream_cluster"], "outbound|80||httpbin.org");
        assert_eq!(json["x_forwarded_for"], serde_json::Value::Null);
        let custom =
            LineFormat::from_mesh(AccessLogEncoding::Json, r#"{"code":"%RESPONSE_CODE%","who":"%REQ(USER-AGENT)%"}"#)
                .unwrap();
        let json: serde_json::Value = serde_json::from_str(&custom.line(&r)).unwrap();
        assert_eq!(json, serde_json::json!({"code": 200, "who": "curl/8"}));
        assert!(LineFormat::from_mesh(AccessLogEncoding::Json, "%RESPONSE_CODE%").is_err());
    }
}
