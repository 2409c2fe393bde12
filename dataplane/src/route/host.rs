//! Host names as ServiceEntry and VirtualService hosts match them: exact names and `*.suffix` wildcards, without
//! case and without a trailing dot; a request's port is never part of the match.

use std::collections::HashMap;

/// Lower-cased, trailing dot and `:port` removed; an IPv6 literal loses its brackets.
pub fn normalize_host(authority: &str) -> String {
    let mut host = authority.trim().to_ascii_lowercase();
    if let Some(rest) = host.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            host = rest[..end].to_string();
        }
    } else if let Some(colon) = host.find(':') {
        if !host[colon + 1..].contains(':') {
            host.truncate(colon);
        }
    }
    if host.ends_with('.') {
        host.pop();
    }
    host
}

/// `*.example.com` matches `a.example.com` and `a.b.example.com`, never `example.com`; `*` matches everything.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix('*') {
        Some(suffix) => host.len() > suffix.len() && host.ends_with(suffix),
        None => pattern == host,
    }
}

/// Exact names in a map, wildcards most specific (longest) first; the first value added for a pattern wins.
#[derive(Debug)]
pub struct HostIndex<T> {
    exact: HashMap<String, T>,
    wildcards: Vec<(String, T)>,
}

impl<T> Default for HostIndex<T> {
    fn default() -> Self {
        Self { exact: HashMap::new(), wildcards: Vec::new() }
    }
}

impl<T> HostIndex<T> {
    pub fn add(&mut self, pattern: &str, value: T) {
        let key = pattern.to_ascii_lowercase();
        if key.starts_with('*') {
            if !self.wildcards.iter().any(|(p, _)| *p == key) {
                self.wildcards.push((key, value));
                // Stable sort: equal lengths keep insertion order.
                self.wildcards.sort_by_key(|w| std::cmp::Reverse(w.0.len()));
            }
        } else {
            self.exact.entry(key).or_insert(value);
        }
    }

    /// Adds a wildcard at the end, keeping the caller's order (the snapshot's index is already ordered).
    pub fn add_ordered(&mut self, pattern: &str, value: T) {
        let key = pattern.to_ascii_lowercase();
        if !key.starts_with('*') {
            self.exact.entry(key).or_insert(value);
        } else if !self.wildcards.iter().any(|(p, _)| *p == key) {
            self.wildcards.push((key, value));
        }
    }

    /// The matching pattern and its value.
    pub fn find(&self, host: &str) -> Option<(&str, &T)> {
        if let Some((k, v)) = self.exact.get_key_value(host) {
            return Some((k.as_str(), v));
        }
        self.wildcards.iter().find(|(p, _)| host_matches(p, host)).map(|(p, v)| (p.as_str(), v))
    }

    pub fn get_mut(&mut self, pattern: &str) -> Option<&mut T> {
        let key = pattern.to_ascii_lowercase();
        if key.starts_with('*') {
            self.wildcards.iter_mut().find(|(p, _)| *p == key).map(|(_, v)| v)
        } else {
            self.exact.get_mut(&key)
        }
    }

    pub fn len(&self) -> usize {
        self.exact.len() + self.wildcards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_never_matches_its_own_apex_and_narrower_wins() {
        let mut index = HostIndex::default();
        index.add("*.example.com", 1);
        index.add("*.api.example.com", 2);
        assert_eq!(index.find("example.com"), None);
        assert_eq!(index.find("a.example.com").map(|x| *x.1), Some(1));
        assert_eq!(index.find("v1.api.example.com").map(|x| *x.1), Some(2));
    }

    #[test]
    fn normalize_strips_port_dot_and_brackets() {
        assert_eq!(normalize_host("Example.COM.:8080"), "example.com");
        assert_eq!(normalize_host("[::1]:80"), "::1");
        assert_eq!(normalize_host("::1"), "::1");
    }
}
