//! The shared regex vectors (test/vectors/regex/limits.json): `npm test` runs the same file through the webhook's
//! validation and the snapshot compiler, so the three cannot disagree on which regexes load.

use meshgate_proxy::route::matcher::bounded_regex;
use meshgate_proxy::route::regex_limit::{
    check_regex_limits, measure_regex, MAX_PROGRAM_SIZE, MAX_REGEX_LENGTH, MAX_REPEAT,
};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Limits {
    #[serde(rename = "maxProgramSize")]
    max_program_size: u64,
    #[serde(rename = "maxRepeat")]
    max_repeat: u64,
    #[serde(rename = "maxLength")]
    max_length: usize,
}

#[derive(Deserialize)]
struct Case {
    note: String,
    pattern: String,
    size: u64,
    rule: String,
    valid: bool,
    #[serde(rename = "rustSyntax")]
    rust_syntax: Option<String>,
}

#[derive(Deserialize)]
struct Vectors {
    limits: Limits,
    cases: Vec<Case>,
}

fn vectors() -> Vectors {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test/vectors/regex/limits.json");
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_vectors_are_written_for_the_limits_in_force() {
    let v = vectors();
    assert_eq!(v.limits.max_program_size, MAX_PROGRAM_SIZE);
    assert_eq!(v.limits.max_repeat, MAX_REPEAT);
    assert_eq!(v.limits.max_length, MAX_REGEX_LENGTH);
}

#[test]
fn every_regex_vector_gets_the_same_size_and_verdict_as_in_typescript() {
    let mut failures = Vec::new();
    for c in vectors().cases {
        let size = measure_regex(&c.pattern).size;
        let rule = match check_regex_limits(&c.pattern) {
            Ok(()) => "accept",
            Err(e) if e.contains("max length") => "too-long",
            Err(e) if e.contains("invalid repeat") => "bad-repeat",
            Err(_) => "too-large",
        };
        if size != c.size || rule != c.rule {
            failures
                .push(format!("{:?} ({}): size {size} rule {rule}, expected {} {}", c.pattern, c.note, c.size, c.rule));
        }
        // The proxy loads exactly what the webhook admits (case folding too, which widens classes), and the regex
        // crate's byte limit never decides: only the known syntax differences of the crate are exempt.
        for ignore_case in [false, true] {
            let loads = bounded_regex(&c.pattern, ignore_case, "vector").is_ok();
            let expected = if c.rust_syntax.is_some() { !c.valid } else { c.valid };
            if loads != expected {
                let why = bounded_regex(&c.pattern, ignore_case, "vector").err().unwrap_or_default();
                failures.push(format!("{:?} ({}), ignore_case {ignore_case}: loads {loads}: {why}", c.pattern, c.note));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
