//! The attacks of the security review, each played from outside through `ingest` as an MTA
//! would deliver it: every one of them got through before its fix.

use crate::support::{Sandbox, code, stderr, stdout};
use crate::workflow_support::*;

const GIULIA: &str = "giulia.bianchi@comune.example.it";

/// What our MX writes for a forged mail from an operator's address whose envelope sender
/// hides "; dmarc=pass …" inside a quoted local part.
const QUOTED_FORGERY: &str = "Authentication-Results: mx.comune.example.it; \
     spf=pass smtp.mailfrom=\"x;dmarc=pass header.from=comune.example.it;\"@evil.example; \
     dkim=none; dmarc=fail header.from=comune.example.it\r\n";

fn forged(subject: &str, in_reply_to: Option<&str>, id: &str, body: &str) -> String {
    let plain = operator_mail(GIULIA, subject, in_reply_to, false, id, body);
    format!("{QUOTED_FORGERY}{plain}")
}

fn db(sandbox: &Sandbox) -> rusqlite::Connection {
    rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db")
}

fn count_rows(sandbox: &Sandbox, sql: &str) -> i64 {
    db(sandbox).query_row(sql, [], |r| r.get(0)).expect("count")
}

#[test]
fn a_quoted_header_value_forges_no_operator_command() {
    let sandbox = Sandbox::with_config(CONFIG);
    // A phone ticket in Giulia's name, its acknowledgment to an address the attacker chose.
    let nuovo = forged(
        "Chiamata",
        None,
        "f1",
        "#nuovo Mario Rossi\n#telefono +39 333 1234567\n#email attacker@evil.example\nRichiamare.",
    );
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", nuovo);
    assert_eq!(
        count_rows(&sandbox, "SELECT count(*) FROM tickets WHERE channel = 'phone'"),
        0
    );
    assert_eq!(count(&sandbox, "ack", "attacker@evil.example"), 0);
    assert_eq!(
        count_rows(
            &sandbox,
            "SELECT count(*) FROM events WHERE action = 'unauthenticated-operator-mail'"
        ),
        1
    );
    // Every command that needs no notification is refused the same way.
    for (n, body) in ["#assente dal 2026-03-10 al 2026-03-12", "#coda"].iter().enumerate() {
        ingest(
            &sandbox,
            "2026-03-09T09:05:00+01:00",
            forged("Comando", None, &format!("f2{n}"), body),
        );
    }
    assert_eq!(
        count_rows(
            &sandbox,
            "SELECT count(*) FROM events WHERE action = 'unauthenticated-operator-mail'"
        ),
        3
    );
    assert_eq!(count(&sandbox, "queue", GIULIA), 0, "no queue listing was sent");

    // A real request, and a leaked notification id: #risolto does not close it.
    let request = "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Aiuto\r\n\
                   Message-ID: <q1@example.org>\r\n\r\ntesto\r\n";
    let out = ingest(&sandbox, "2026-03-09T10:00:00+01:00", request.to_string());
    let id = out
        .split_whitespace()
        .find(|w| w.starts_with("TCK-"))
        .unwrap_or_else(|| panic!("no ticket in {out:?}"))
        .to_string();
    let notice = last_message_id(&sandbox, "notify", GIULIA, &id);
    ingest(
        &sandbox,
        "2026-03-09T10:10:00+01:00",
        forged(
            &format!("Re: [{id}] Aiuto"),
            Some(&notice),
            "f3",
            "#prendo\n#risolto Fatto.",
        ),
    );
    let t = ticket(&sandbox, &id);
    assert_eq!(t["status"], "new", "{t}");
    // The same mail with our MX's honest pass is obeyed (the test is of the forgery only).
    ingest(
        &sandbox,
        "2026-03-09T10:20:00+01:00",
        operator_mail(
            GIULIA,
            &format!("Re: [{id}] Aiuto"),
            Some(&notice),
            true,
            "g1",
            "#prendo",
        ),
    );
    assert_eq!(ticket(&sandbox, &id)["status"], "assigned");
}

#[test]
fn a_forged_bounce_silences_no_citizen() {
    let sandbox = Sandbox::with_config(CONFIG);
    let victim = "victim@example.org";
    let request = format!(
        "From: {victim}\r\nTo: assistenza@comune.example.it\r\nSubject: Pratica bloccata\r\n\
         Message-ID: <v1@example.org>\r\n\r\nNon riesco a inviare.\r\n"
    );
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request);
    let forged = format!(
        "From: someone@evil.example\r\nTo: assistenza@comune.example.it\r\nSubject: ciao\r\n\
         Message-ID: <b1@evil.example>\r\nX-Failed-Recipients: {victim}\r\n\r\nciao\r\n"
    );
    let out = sandbox.run_with_input(&["--now=2026-03-09T09:05:00+01:00", "ingest", "-"], forged.as_bytes());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("0 ticket(s)"), "{}", stdout(&out));
    assert_eq!(
        count_rows(&sandbox, "SELECT count(*) FROM participants WHERE undeliverable = 1"),
        0
    );
    // The take-in letter, which the SLA counts, still leaves for her.
    let notice = last(&sandbox, "notify", GIULIA).message_id;
    ingest(
        &sandbox,
        "2026-03-09T09:30:00+01:00",
        operator_mail(GIULIA, "Re: [TCK-2026-00001] x", Some(&notice), true, "g1", "#prendo"),
    );
    assert_eq!(count(&sandbox, "take_in", victim), 1);
}

/// Attack 3: a mail with 100,000 References (megabytes, under the size limit) held the intake
/// transaction for seconds (duplicates were removed by a linear search), and the
/// acknowledgment copied hundreds of kilobytes of them back; a 10 kB Message-ID was echoed
/// into a header line no relay accepts. What is kept is bounded, and what we send is short.
#[test]
fn a_hundred_thousand_references_are_bounded_and_never_echoed() {
    let sandbox = Sandbox::with_config(CONFIG);
    let refs: Vec<String> = (0..100_000)
        .map(|n| format!("<{n:06}.ref@relay.example.net>"))
        .collect();
    let huge_id = format!("{}@evil.example", "z".repeat(10_000));
    let raw = format!(
        "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Riferimenti\r\n\
         Message-ID: <{huge_id}>\r\nIn-Reply-To: <{huge_id}>\r\nReferences: {}\r\n\r\ntesto\r\n",
        refs.join("\r\n ")
    );
    assert!(raw.len() > 3_000_000);
    let parsed = sportello::ingest::parse::parse_mail(raw.as_bytes(), 50 << 20).expect("parses");
    assert!(
        parsed.references.len() <= 50,
        "{} references kept",
        parsed.references.len()
    );
    assert_eq!(
        parsed.references.first().map(String::as_str),
        Some("000000.ref@relay.example.net")
    );
    assert_eq!(
        parsed.references.last().map(String::as_str),
        Some("099999.ref@relay.example.net")
    );
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", raw);
    let ack = last(&sandbox, "ack", "a@example.org");
    // The whole acknowledgment, decoded text and raw bytes together (it used to carry 489 KiB
    // of References).
    assert!(
        ack.text.len() < 16 * 1024,
        "the acknowledgment is {} bytes",
        ack.text.len()
    );
    // Per line of the text and of the raw mail alike (the decoded text's lines end in "\n").
    let longest = ack.text.split(['\r', '\n']).map(str::len).max().unwrap_or(0);
    assert!(longest <= 998, "a line of {longest} octets");
    assert!(!ack.text.contains(&huge_id), "the 10 kB Message-ID is not echoed");
}

/// Seen in the review: a `#fuoriambito` inside a `display:none` element of an operator's
/// HTML-only reply was executed. Hidden text is not a command.
#[test]
fn hidden_html_is_never_a_command() {
    let sandbox = Sandbox::with_config(CONFIG);
    let request = "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Aiuto\r\n\
                   Message-ID: <h1@example.org>\r\n\r\ntesto\r\n";
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request.to_string());
    let notice = last(&sandbox, "notify", GIULIA).message_id;
    let html = format!(
        "{AUTH_PASS}From: Giulia Bianchi <{GIULIA}>\r\nTo: assistenza@comune.example.it\r\n\
         Subject: Re: [TCK-2026-00001] Aiuto\r\nMessage-ID: <g1@comune.example.it>\r\n\
         In-Reply-To: <{notice}>\r\nReferences: <{notice}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n\
         <html><body><p>#prendo</p><p style=\"display: none\">#fuoriambito</p>\
         <div style=\"mso-hide:all\">#risolto Chiuso di nascosto.</div></body></html>\r\n"
    );
    ingest(&sandbox, "2026-03-09T09:10:00+01:00", html);
    let t = ticket(&sandbox, "TCK-2026-00001");
    assert_eq!(t["status"], "assigned", "{t}");
    assert_eq!(count(&sandbox, "out_of_scope", "a@example.org"), 0);
    assert_eq!(count(&sandbox, "closing", "a@example.org"), 0);
}
