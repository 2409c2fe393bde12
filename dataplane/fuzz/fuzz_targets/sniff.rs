//! The first bytes of an outbound connection: protocol sniffing, then the TLS ClientHello's SNI. Any input must get
//! an answer without a panic, and a complete record must never be answered with "need more".
#![no_main]

use libfuzzer_sys::fuzz_target;
use meshgate_proxy::sniff::{classify, client_hello_sni, Hello, Protocol, MAX_CLIENT_HELLO};

fuzz_target!(|data: &[u8]| {
    let kind = classify(data);
    if data.len() >= 24 {
        // The method window and the h2 preface are both 24 bytes: past them the sniffer must have decided.
        assert_ne!(kind, Protocol::NeedMore, "undecided after {} bytes", data.len());
    }
    if kind == Protocol::Tls {
        let hello = client_hello_sni(data);
        let complete = data.len() >= 5 && data.len() >= 5 + usize::from(u16::from_be_bytes([data[3], data[4]]));
        if complete || data.len() >= MAX_CLIENT_HELLO {
            assert_ne!(hello, Hello::NeedMore, "a whole record still asks for more");
        }
        if let Hello::Done(Some(name)) = hello {
            // What routing and the access log receive: a bounded, printable, lower-case name.
            assert!(!name.is_empty() && name.len() <= 253, "{name:?}");
            assert!(name.bytes().all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase()), "{name:?}");
        }
    }
});
