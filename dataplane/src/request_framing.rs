//! Request framing hyper accepts but a proxy must not pass on. hyper (httparse underneath) already refuses most
//! smuggling shapes with a 400 before a request reaches the handler; what it lets through and the headers still
//! show is refused here (docs/dataplane-bad-input.md lists every shape and who refuses it).

use http::{header, HeaderMap, Version};

/// Why an HTTP/1.x request's framing is refused, or None. HTTP/2 frames by DATA frames, and the h2 crate already
/// refuses a `transfer-encoding` header there.
pub fn framing_problem(version: Version, headers: &HeaderMap) -> Option<&'static str> {
    if !matches!(version, Version::HTTP_10 | Version::HTTP_11) {
        return None;
    }
    let mut te = headers.get_all(header::TRANSFER_ENCODING).iter();
    match (te.next(), te.next()) {
        (None, _) => None,
        // hyper decodes `chunked` once and the header is hop-by-hop, so any other coding (`gzip, chunked`) or a
        // repeated one (`chunked, chunked`, or two header lines) would reach the upstream silently changed.
        (Some(v), None) if v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"chunked") => None,
        _ => Some("Transfer-Encoding other than a single chunked"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn te(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::TRANSFER_ENCODING, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn one_chunked_coding_passes_and_anything_else_is_refused() {
        assert_eq!(framing_problem(Version::HTTP_11, &HeaderMap::new()), None);
        assert_eq!(framing_problem(Version::HTTP_11, &te(&["chunked"])), None);
        assert_eq!(framing_problem(Version::HTTP_11, &te(&[" Chunked "])), None);
        for bad in [&["gzip, chunked"][..], &["chunked, chunked"], &["chunked", "chunked"], &["gzip", "chunked"]] {
            assert!(framing_problem(Version::HTTP_11, &te(bad)).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn http2_is_left_to_the_h2_codec() {
        assert_eq!(framing_problem(Version::HTTP_2, &te(&["gzip, chunked"])), None);
    }
}
