//! Fuzzes the RFC 8601 Authentication-Results parser and the verdict built on it.
//! Nothing may panic, and a header that parses must parse the same way after a round of
//! re-reading: the authserv-id and the methods found are a function of the text alone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sportello::auth::results;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(parsed) = results::parse(text) else { return };
    // Every result of a header that parses has a method and a result made of keyword bytes.
    for r in &parsed.results {
        assert!(!r.method.is_empty() && !r.result.is_empty());
        assert!(r.method.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
    assert_eq!(results::parse(text).as_ref(), Ok(&parsed));
});
