//! The proxy's own log lines (not the access log): one JSON object per line on stderr.

fn line(level: &str, msg: &str) {
    let t = crate::telemetry::access_log::iso_time(std::time::SystemTime::now());
    eprintln!("{}", serde_json::json!({ "time": t, "level": level, "msg": msg }));
}

pub fn info(msg: &str) {
    line("info", msg);
}

pub fn warn(msg: &str) {
    line("warn", msg);
}
