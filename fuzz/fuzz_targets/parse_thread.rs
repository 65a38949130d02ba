//! Fuzzes the whole pure intake path: parse → classify → thread → subject handling.
//! Nothing on this path may panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sportello::ingest::{classify, parse, quote, thread};
use sportello::model::TicketId;

fuzz_target!(|data: &[u8]| {
    let Ok(mail) = parse::parse_mail(data, 1 << 20) else { return };
    let _ = classify::classify(&mail, "assistenza@comune.example.it");
    let known = |id: &str| id.starts_with("TCK-").then_some(TicketId { year: 2026, number: 1 });
    let _ = thread::decide(&mail, known, |_| true);
    let _ = thread::base_subject(&mail.subject);
    let _ = quote::fresh_text(&mail.text);
});
