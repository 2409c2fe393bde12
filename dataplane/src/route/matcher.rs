//! Istio's StringMatch (exact, prefix, regex), compiled once per snapshot. Regexes use RE2 semantics (the `regex`
//! crate: linear time) and a program size limit, so a catastrophic pattern is refused at load, never run.

use super::regex_limit::check_regex_limits;
pub use super::regex_limit::REGEX_SIZE_LIMIT;
use crate::snapshot::StringMatch;
use regex::{Regex, RegexBuilder};
/// Lazy DFA cache per pattern.
pub const REGEX_DFA_LIMIT: usize = 512 * 1024;

#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    Prefix(String),
    Regex(Regex),
    /// Istio's empty match: the value only has to be present.
    Present,
}

/// A whole-value regex with the size limits; `what` names the field in the error.
pub fn bounded_regex(pattern: &str, ignore_case: bool, what: &str) -> Result<Regex, String> {
    check_regex_limits(pattern).map_err(|e| format!("{what}.regex: {e}"))?;
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .case_insensitive(ignore_case)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_LIMIT)
        .build()
        .map_err(|e| format!("{what}.regex: {e}"))
}

#[derive(Debug, Clone)]
pub struct StringMatcher {
    pub kind: Matcher,
    ignore_case: bool,
}

impl StringMatcher {
    pub fn compile(m: &StringMatch, what: &str) -> Result<Self, String> {
        let ignore_case = m.ignore_case;
        let kind = match (&m.exact, &m.prefix, &m.regex, m.present) {
            (Some(e), None, None, None) => Matcher::Exact(if ignore_case { e.to_ascii_lowercase() } else { e.clone() }),
            (None, Some(p), None, None) => {
                Matcher::Prefix(if ignore_case { p.to_ascii_lowercase() } else { p.clone() })
            }
            (None, None, Some(r), None) => Matcher::Regex(bounded_regex(r, ignore_case, what)?),
            (None, None, None, Some(true)) => Matcher::Present,
            _ => return Err(format!("{what}: exactly one of exact, prefix, regex or present is required")),
        };
        Ok(Self { kind, ignore_case })
    }

    pub fn test(&self, value: &str) -> bool {
        match &self.kind {
            Matcher::Exact(e) if self.ignore_case => value.eq_ignore_ascii_case(e),
            Matcher::Exact(e) => value == e,
            Matcher::Prefix(p) if self.ignore_case => {
                value.len() >= p.len() && value.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
            }
            Matcher::Prefix(p) => value.starts_with(p.as_str()),
            Matcher::Regex(r) => r.is_match(value),
            Matcher::Present => true,
        }
    }

    /// The prefix of a prefix match, for a rewrite that replaces only the matched part.
    pub fn prefix(&self) -> Option<&str> {
        match &self.kind {
            Matcher::Prefix(p) => Some(p),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sm(exact: Option<&str>, prefix: Option<&str>, regex: Option<&str>) -> StringMatch {
        StringMatch {
            exact: exact.map(Into::into),
            prefix: prefix.map(Into::into),
            regex: regex.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn regex_matches_the_whole_value() {
        let m = StringMatcher::compile(&sm(None, None, Some("/v[0-9]")), "uri").unwrap();
        assert!(m.test("/v1"));
        assert!(!m.test("/v1/x"));
    }

    #[test]
    fn catastrophic_regex_is_refused_by_the_size_limit() {
        // Nested counted repetitions blow up the compiled program: refused at compile, never run.
        let err = StringMatcher::compile(&sm(None, None, Some("((a{100}){100}){100}")), "spec.http[0].match[0].uri")
            .unwrap_err();
        assert!(err.contains("spec.http[0].match[0].uri.regex"), "{err}");
        assert!(err.contains("invalid repeat count"), "{err}");
    }

    #[test]
    fn ignore_case_applies_to_exact_and_prefix() {
        let m =
            StringMatcher::compile(&StringMatch { ignore_case: true, ..sm(None, Some("/API"), None) }, "uri").unwrap();
        assert!(m.test("/api/x"));
        let e = StringMatcher::compile(&sm(Some("/A"), None, None), "uri").unwrap();
        assert!(!e.test("/a"));
    }

    #[test]
    fn two_kinds_at_once_is_an_error() {
        assert!(StringMatcher::compile(&sm(Some("a"), Some("b"), None), "uri").is_err());
    }
}
