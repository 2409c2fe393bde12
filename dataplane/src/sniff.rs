//! Decides a connection's protocol from its first bytes. Pure: the listener feeds what it has read so far and acts
//! on the answer (`NeedMore` until a decision is possible; the sniff timeout turns silence into server-first TCP).

/// HTTP/2 with prior knowledge (h2c) starts with this exact preface.
pub const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Enough to see any request-line method and the space after it.
const METHOD_WINDOW: usize = 24;
/// A ClientHello record is at most 5 + 16 KiB; more is not waited for.
pub const MAX_CLIENT_HELLO: usize = 5 + 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    H2c,
    Tls,
    Tcp,
    NeedMore,
}

pub fn classify(data: &[u8]) -> Protocol {
    let Some(&first) = data.first() else { return Protocol::NeedMore };
    if first == 0x16 {
        return Protocol::Tls;
    }
    if data.starts_with(b"PRI ") || H2_PREFACE.starts_with(data) {
        let n = data.len().min(H2_PREFACE.len());
        return match (data[..n] == H2_PREFACE[..n], data.len() >= H2_PREFACE.len()) {
            (true, true) => Protocol::H2c,
            (true, false) => Protocol::NeedMore,
            (false, _) => Protocol::Tcp,
        };
    }
    // A request line: a method token (upper-case letters, '-' or '_'), then a space.
    for (i, &c) in data.iter().take(METHOD_WINDOW).enumerate() {
        if c == b' ' {
            return if i > 0 { Protocol::Http1 } else { Protocol::Tcp };
        }
        let token = c.is_ascii_uppercase() || ((c == b'-' || c == b'_') && i > 0);
        if !token {
            return Protocol::Tcp;
        }
    }
    if data.len() >= METHOD_WINDOW {
        Protocol::Tcp
    } else {
        Protocol::NeedMore
    }
}

/// The state of a ClientHello read so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Hello {
    NeedMore,
    /// A complete first record: the SNI host name when it carries one.
    Done(Option<String>),
}

/// SNI from the first TLS record (tls-parser does the parsing). A record that is not a ClientHello, or a malformed
/// one, has no SNI: the connection is then decided by address, as Envoy's tls_inspector leaves it.
pub fn client_hello_sni(data: &[u8]) -> Hello {
    if data.len() < 5 {
        return Hello::NeedMore;
    }
    let record_len = usize::from(u16::from_be_bytes([data[3], data[4]]));
    if data.len() < 5 + record_len && data.len() < MAX_CLIENT_HELLO {
        return Hello::NeedMore;
    }
    use tls_parser::{TlsExtension, TlsMessage, TlsMessageHandshake};
    let Ok((_, record)) = tls_parser::parse_tls_plaintext(data) else { return Hello::Done(None) };
    for msg in &record.msg {
        if let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(hello)) = msg {
            let Some(ext) = hello.ext else { return Hello::Done(None) };
            let Ok((_, exts)) = tls_parser::parse_tls_client_hello_extensions(ext) else { return Hello::Done(None) };
            for e in exts {
                if let TlsExtension::SNI(names) = e {
                    let name = names
                        .iter()
                        .find(|(kind, _)| kind.0 == 0)
                        .and_then(|(_, n)| std::str::from_utf8(n).ok())
                        // The root dot goes first, so a name of dots alone is no name (not an empty SNI).
                        .map(|n| n.trim_end_matches('.'))
                        .filter(|n| !n.is_empty() && n.len() <= 253 && n.bytes().all(|b| b.is_ascii_graphic()))
                        .map(str::to_ascii_lowercase);
                    return Hello::Done(name);
                }
            }
        }
    }
    Hello::Done(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_http_h2c_tls_and_tcp() {
        assert_eq!(classify(b"GET / HTTP/1.1\r\n"), Protocol::Http1);
        assert_eq!(classify(b"VERSION-CONTROL / HTTP/1.1"), Protocol::Http1);
        assert_eq!(classify(b"GE"), Protocol::NeedMore);
        assert_eq!(classify(b"PRI * HTTP/2.0\r\n"), Protocol::NeedMore);
        assert_eq!(classify(H2_PREFACE), Protocol::H2c);
        assert_eq!(classify(b"PRI * HTTP/1.1\r\n\r\n"), Protocol::Tcp);
        assert_eq!(classify(&[0x16, 3, 1]), Protocol::Tls);
        assert_eq!(classify(b"\x00\x01binary"), Protocol::Tcp);
        assert_eq!(classify(b" GET"), Protocol::Tcp);
        assert_eq!(classify(b"get / HTTP/1.1"), Protocol::Tcp);
        assert_eq!(classify(&[b'A'; 30]), Protocol::Tcp);
    }

    #[test]
    fn truncated_or_garbage_hello_never_panics() {
        assert_eq!(client_hello_sni(&[0x16, 3, 1, 0, 10, 1]), Hello::NeedMore);
        assert_eq!(client_hello_sni(&[0x16, 3, 1, 0, 2, 1, 0]), Hello::Done(None));
        let mut junk = vec![0x16, 3, 1, 0x40, 0];
        junk.extend(std::iter::repeat_n(0xff, 0x4000));
        assert_eq!(client_hello_sni(&junk), Hello::Done(None));
    }

    /// A minimal TLS 1.2 ClientHello record carrying one SNI host name.
    fn hello_with_sni(name: &[u8]) -> Vec<u8> {
        let mut sni = vec![0u8]; // host_name
        sni.extend((name.len() as u16).to_be_bytes());
        sni.extend(name);
        let mut ext = vec![0, 0]; // server_name
        ext.extend(((sni.len() + 2) as u16).to_be_bytes());
        ext.extend((sni.len() as u16).to_be_bytes());
        ext.extend(sni);
        let mut body = vec![3, 3];
        body.extend([7u8; 32]); // random
        body.extend([0, 0, 2, 0x13, 0x01, 1, 0]); // no session id, one cipher suite, null compression
        body.extend((ext.len() as u16).to_be_bytes());
        body.extend(ext);
        let mut handshake = vec![1, 0];
        handshake.extend((body.len() as u16).to_be_bytes());
        handshake.extend(body);
        let mut record = vec![0x16, 3, 1];
        record.extend((handshake.len() as u16).to_be_bytes());
        record.extend(handshake);
        record
    }

    #[test]
    fn sni_is_lower_cased_without_the_root_dot() {
        assert_eq!(client_hello_sni(&hello_with_sni(b"API.Example.com.")), Hello::Done(Some("api.example.com".into())));
    }

    /// Found while writing the sniff fuzz target's invariant (a returned name is never empty): a name of dots alone came
    /// back as `Some("")` because the root dot was trimmed after the emptiness check.
    #[test]
    fn a_name_of_dots_alone_is_no_sni() {
        assert_eq!(client_hello_sni(&hello_with_sni(b"...")), Hello::Done(None));
        assert_eq!(client_hello_sni(&hello_with_sni(b"")), Hello::Done(None));
    }

    /// Random and mutated inputs (bounded: 20,000 of them) never panic and never ask for more than a record's worth.
    #[test]
    fn random_input_never_panics() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for i in 0..20_000 {
            let len = rng.random_range(0..600);
            let mut data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if i % 2 == 0 && data.len() >= 5 {
                // Mostly-valid record headers reach the ClientHello parser.
                data[0] = 0x16;
                data[1] = 3;
                data[2] = 1;
                let body = (data.len() - 5) as u16;
                data[3..5].copy_from_slice(&body.to_be_bytes());
                if data.len() > 5 {
                    data[5] = 1;
                }
            }
            let _ = classify(&data);
            let _ = client_hello_sni(&data);
        }
    }
}
