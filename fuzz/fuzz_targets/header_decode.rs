//! Fuzzes the header decoder (`ingest::header`): encoded-words and raw 8-bit bytes of any
//! shape, in any charset, must decode without panicking, and a value it rewrites must still
//! be something mail-parser and the decoder read again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sportello::ingest::header;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the text part's charset the raw bytes fall back to.
    let (fallback, raw) = match data.split_first() {
        Some((0, rest)) => (None, rest),
        Some((1, rest)) => (Some("utf-8"), rest),
        Some((2, rest)) => (Some("iso-8859-15"), rest),
        Some((_, rest)) => (Some("iso-8859-1"), rest),
        None => (None, data),
    };
    let _ = header::decode(raw, fallback);
    if header::needs_normalising(raw) {
        let rewritten = header::normalise(raw, fallback);
        let _ = header::decode(rewritten.as_bytes(), None);
    }
});
