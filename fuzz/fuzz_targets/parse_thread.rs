//! Fuzzes the whole pure intake path: parse → classify → thread → subject handling → the
//! operator command parser.
//! Nothing on this path may panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sportello::commands::parse_commands;
use sportello::ingest::{classify, parse, quote, thread};
use sportello::model::TicketId;

fuzz_target!(|data: &[u8]| {
    // parse_mail catches mail-parser's own panics and turns them into a parse failure (see
    // fixtures/eml/regressions/). libfuzzer-sys's hook would abort before that catch can
    // run, so keep the default hook: a panic that escapes parse_mail still aborts the run.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let _ = std::panic::take_hook();
        std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
    });
    let Ok(mail) = parse::parse_mail(data, 1 << 20) else { return };
    let _ = classify::classify(&mail, "assistenza@comune.example.it");
    let known = |id: &str| id.starts_with("TCK-").then_some(TicketId { year: 2026, number: 1 });
    let _ = thread::decide(&mail, known, |_| true);
    let _ = thread::base_subject(&mail.subject);
    let _ = quote::fresh_text(&mail.text);
    let _ = parse_commands(&mail.fresh_text);
});
