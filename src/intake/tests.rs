//! `apply_batch` against an in-memory store: exactly-once, threading, flags, limits.

use chrono::TimeZone;

use super::*;
use crate::config::Origin;
use crate::sla::CalendarRules;

struct Bench {
    config: Config,
    calendar: Calendar,
    templates: Templates,
    store: Store,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn new(extra_config: &str) -> Bench {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "[security]\nallow_unauthenticated_operators = true\n\
             [[operator]]\nname = \"Giulia Bianchi\"\nemail = \"giulia.bianchi@comune.example.it\"\nsupervisor = true\n{extra_config}"
        );
        let config = Config::parse(&text, dir.path(), Origin::File(dir.path().join("config.toml"))).expect("config");
        Bench {
            config,
            calendar: Calendar::new(CalendarRules::default(), Vec::new()),
            templates: Templates::load(None).expect("templates"),
            store: Store::open_in_memory().expect("store"),
            _dir: dir,
        }
    }

    fn apply(&mut self, batch: &[Fetched]) -> Vec<Outcome> {
        let intake = Intake::new(
            &self.config,
            &self.calendar,
            &self.templates,
            MacKey::from_bytes([1; 32]),
        );
        let prepared = Prepared::all(batch.to_vec(), self.config.intake.max_message_bytes);
        apply_batch(&mut self.store, &intake, &prepared, None, at(10, 0)).expect("batch commits")
    }

    fn count(&self, sql: &str) -> i64 {
        self.store.conn().query_row(sql, [], |r| r.get(0)).expect("count")
    }
}

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, hour, minute, 0)
        .single()
        .expect("valid")
}

fn fetched(raw: String) -> Fetched {
    let raw = raw.into_bytes();
    Fetched {
        size: raw.len() as u64,
        raw,
        received_at: at(9, 0),
        source: "test".into(),
    }
}

fn mail(from: &str, subject: &str, id: &str, extra_headers: &str, body: &str) -> Fetched {
    fetched(format!(
        "From: {from}\r\nTo: assistenza@comune.example.it\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra_headers}\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ))
}

fn t(n: u32) -> TicketId {
    TicketId { year: 2026, number: n }
}

#[test]
fn a_repeat_is_recognised_in_the_same_batch_and_in_a_later_one() {
    let mut bench = Bench::new("");
    let m = mail("a@example.org", "Problema", "p1@example.org", "", "testo");
    assert_eq!(
        bench.apply(&[m.clone(), m.clone()]),
        vec![Outcome::NewTicket(t(1)), Outcome::Duplicate]
    );
    assert_eq!(bench.apply(&[m]), vec![Outcome::Duplicate]);
    assert_eq!(bench.count("SELECT count(*) FROM outbox WHERE purpose = 'ack'"), 1);
    assert_eq!(bench.count("SELECT count(*) FROM tickets"), 1);
}

#[test]
fn messages_without_message_id_dedup_on_content_not_route() {
    let mut bench = Bench::new("");
    let body = "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Senza id\r\n\r\ntesto\r\n";
    let first = fetched(format!("Received: from mx1.example.org\r\n{body}"));
    let second = fetched(format!("Received: from mx2.example.org\r\n{body}"));
    assert_eq!(
        bench.apply(&[first, second]),
        vec![Outcome::NewTicket(t(1)), Outcome::Duplicate]
    );
}

#[test]
fn one_bad_message_is_quarantined_alone_and_the_batch_commits() {
    let mut bench = Bench::new("");
    let good = mail("a@example.org", "Uno", "g1@example.org", "", "x");
    let no_sender =
        fetched("To: assistenza@comune.example.it\r\nSubject: chi?\r\nMessage-ID: <n@x>\r\n\r\nbody\r\n".into());
    let garbage = fetched("\u{1}\u{2}".into());
    let after = mail("b@example.org", "Due", "g2@example.org", "", "y");
    let no_sender_either =
        fetched("To: assistenza@comune.example.it\r\nSubject: chi?\r\nMessage-ID: <n2@x>\r\n\r\nbody\r\n".into());
    // The messages without a sender fail after writing: the first rolls the batch back and it
    // is applied again, the second then fails inside its savepoint. The good ones around them
    // must be applied exactly once.
    let outcomes = bench.apply(&[good, no_sender, garbage, after, no_sender_either]);
    assert_eq!(outcomes.len(), 5);
    assert_eq!(outcomes[0], Outcome::NewTicket(t(1)));
    assert_eq!(outcomes[3], Outcome::NewTicket(t(2)), "ticket numbers stay gap-free");
    assert!(
        matches!(&outcomes[4], Outcome::Quarantined(e) if e.contains("no sender")),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[1], Outcome::Quarantined(e) if e.contains("no sender")),
        "{outcomes:?}"
    );
    assert!(
        matches!(&outcomes[2], Outcome::Quarantined(e) if e.contains("not an e-mail")),
        "{outcomes:?}"
    );
    assert_eq!(
        bench.count("SELECT count(*) FROM quarantine WHERE reported_at IS NOT NULL"),
        3
    );
    assert_eq!(
        bench.count("SELECT count(*) FROM outbox WHERE purpose = 'quarantined'"),
        3
    );
    // The rolled-back messages left no half-written rows behind: only the good requests
    // and their acknowledgments, once each.
    assert_eq!(bench.count("SELECT count(*) FROM messages WHERE direction = 'in'"), 2);
    assert_eq!(
        bench.count("SELECT count(*) FROM messages WHERE direction = 'out' AND disposition = 'ack'"),
        2
    );
    assert_eq!(bench.count("SELECT count(*) FROM tickets"), 2);
    assert_eq!(
        bench.count("SELECT count(*) FROM events WHERE action = 'created'"),
        2,
        "each ticket's history is written once"
    );
}

#[test]
fn replies_thread_by_reference_then_by_token_and_strangers_are_flagged() {
    let mut bench = Bench::new("");
    bench.apply(&[mail(
        "a@example.org",
        "Problema firma",
        "p1@example.org",
        "Cc: collega@example.net\r\n",
        "x",
    )]);
    let ack_id: String = bench
        .store
        .conn()
        .query_row("SELECT message_id FROM outbox WHERE purpose = 'ack'", [], |r| r.get(0))
        .expect("ack");
    let by_reference = mail(
        "a@example.org",
        "Re: something else",
        "r1@example.org",
        &format!("In-Reply-To: <{ack_id}>\r\n"),
        "ok",
    );
    let by_token = mail(
        "a@example.org",
        "R: I: [TCK-2026-00001] Problema firma",
        "r2@example.org",
        "",
        "ancora",
    );
    let from_cc = mail(
        "collega@example.net",
        "Re: [TCK-2026-00001] x",
        "r3@example.org",
        "",
        "anch'io",
    );
    let stranger = mail(
        "curioso@example.com",
        "Re: [TCK-2026-00001] x",
        "r4@example.org",
        "",
        "fammi vedere",
    );
    let unknown_token = mail("b@example.org", "[TCK-2026-00099] x", "r5@example.org", "", "nuovo");
    assert_eq!(
        bench.apply(&[by_reference, by_token, from_cc, stranger, unknown_token]),
        vec![
            Outcome::AddedTo(t(1)),
            Outcome::AddedTo(t(1)),
            Outcome::AddedTo(t(1)),
            Outcome::Flagged(t(1)),
            Outcome::NewTicket(t(2)),
        ]
    );
    assert_eq!(bench.count("SELECT count(*) FROM messages WHERE flagged = 1"), 1);
    // The stranger learns nothing: no mail to them.
    assert_eq!(
        bench.count("SELECT count(*) FROM outbox WHERE recipients LIKE '%curioso%'"),
        0
    );
    // The unknown token does not leak into the new ticket's subject.
    let subject: String = bench
        .store
        .conn()
        .query_row("SELECT subject FROM tickets WHERE number = 2", [], |r| r.get(0))
        .expect("s");
    assert_eq!(subject, "x");
}

#[test]
fn noise_is_stored_but_never_answered() {
    let mut bench = Bench::new("");
    let outcomes = bench.apply(&[
        mail(
            "a@example.org",
            "Risposta automatica: x",
            "n1@example.org",
            "Auto-Submitted: auto-replied\r\n",
            "via",
        ),
        mail(
            "list@example.org",
            "Newsletter",
            "n2@example.org",
            "List-Id: <news.example.org>\r\n",
            "news",
        ),
        mail("assistenza@comune.example.it", "loop", "n3@example.org", "", "me"),
    ]);
    assert_eq!(
        outcomes,
        vec![
            Outcome::Ignored("auto-reply"),
            Outcome::Ignored("mailing-list"),
            Outcome::Ignored("loop")
        ]
    );
    assert_eq!(bench.count("SELECT count(*) FROM outbox"), 0);
    assert_eq!(bench.count("SELECT count(*) FROM tickets"), 0);
    assert_eq!(bench.count("SELECT count(*) FROM messages"), 3);
}

#[test]
fn acknowledgments_to_one_sender_are_rate_limited() {
    let mut bench = Bench::new("[intake]\nack_rate_per_hour = 3\n");
    let batch: Vec<Fetched> = (0..5)
        .map(|i| {
            mail(
                "robot@example.org",
                &format!("Alert {i}"),
                &format!("r{i}@example.org"),
                "",
                "x",
            )
        })
        .collect();
    bench.apply(&batch);
    assert_eq!(
        bench.count("SELECT count(*) FROM tickets"),
        5,
        "every request is still recorded"
    );
    assert_eq!(bench.count("SELECT count(*) FROM outbox WHERE purpose = 'ack'"), 3);
    assert_eq!(
        bench.count("SELECT count(*) FROM events WHERE action = 'ack-suppressed'"),
        2
    );
}

#[test]
fn oversized_attachments_are_dropped_with_a_note_and_the_requester_is_told() {
    let mut bench = Bench::new("[intake]\nmax_attachment_bytes = 10\n");
    let raw = "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Allegati\r\nMessage-ID: <att@example.org>\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nvedi allegati\r\n\
        --b\r\nContent-Type: application/pdf; name=\"piccolo.pdf\"\r\nContent-Disposition: attachment; filename=\"piccolo.pdf\"\r\n\r\n12345\r\n\
        --b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"../../grande.pdf\"\r\n\r\n0123456789ABCDEF\r\n--b--\r\n";
    assert_eq!(bench.apply(&[fetched(raw.into())]), vec![Outcome::NewTicket(t(1))]);
    assert_eq!(
        bench.count("SELECT count(*) FROM attachments WHERE sha256 IS NOT NULL AND filename = 'piccolo.pdf'"),
        1
    );
    assert_eq!(bench.count("SELECT count(*) FROM attachments WHERE sha256 IS NULL AND filename = 'grande.pdf' AND note LIKE '%over the limit%'"), 1);
    let ack_id: String = bench
        .store
        .conn()
        .query_row("SELECT message_id FROM outbox WHERE purpose = 'ack'", [], |r| r.get(0))
        .expect("ack");
    let ack = crate::outbox::message_bytes(bench.store.conn(), &ack_id).expect("composed");
    let ack = crate::ingest::parse::parse_mail(&ack, 1 << 20).expect("ack parses");
    assert!(ack.text.contains("- grande.pdf"), "{}", ack.text);
    let stored = bench.config.helpdesk.data_dir.join("attachments");
    assert!(stored.exists(), "the kept attachment is on disk");
}

#[test]
fn a_bounce_marks_the_recipient_undeliverable_on_its_tickets() {
    let mut bench = Bench::new("");
    bench.apply(&[mail("gone@example.org", "Problema", "p1@example.org", "", "x")]);
    let ack_id: String = bench
        .store
        .conn()
        .query_row("SELECT message_id FROM outbox WHERE purpose = 'ack'", [], |r| r.get(0))
        .expect("ack");
    let dsn = format!(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <dsn1@mx.example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: text/plain\r\n\r\nI'm sorry.\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{ack_id}>\r\nSubject: x\r\n\r\n--r--\r\n"
    );
    assert_eq!(bench.apply(&[fetched(dsn)]), vec![Outcome::Bounce(1)]);
    assert_eq!(
        bench.count("SELECT count(*) FROM participants WHERE email = 'gone@example.org' AND undeliverable = 1"),
        1
    );
    assert_eq!(
        bench.count("SELECT count(*) FROM events WHERE action = 'undeliverable'"),
        1
    );
    assert_eq!(
        bench.count("SELECT count(*) FROM outbox WHERE purpose = 'notify' AND draft LIKE '%Recapito fallito%'"),
        1,
        "the first-level operator is told the requester cannot be reached"
    );
    assert_eq!(
        bench.count("SELECT count(*) FROM messages WHERE disposition = 'bounce' AND ticket_id = 'TCK-2026-00001'"),
        1
    );
}

#[test]
fn the_checkpoint_commits_with_its_batch() {
    let mut bench = Bench::new("");
    let intake = Intake::new(
        &bench.config,
        &bench.calendar,
        &bench.templates,
        MacKey::from_bytes([1; 32]),
    );
    let cp = Checkpoint {
        mailbox: "imap://x@h:1/INBOX".into(),
        uidvalidity: 7,
        last_uid: 42,
        first_uid: 40,
    };
    apply_batch(
        &mut bench.store,
        &intake,
        &[Prepared::new(mail("a@example.org", "x", "c1@x", "", "y"), 1 << 20)],
        Some(&cp),
        at(10, 0),
    )
    .expect("ok");
    assert_eq!(
        checkpoints::load(bench.store.conn(), "imap://x@h:1/INBOX").expect("load"),
        Some(cp)
    );
}

#[test]
fn a_message_over_the_size_bound_is_quarantined_unread() {
    let mut bench = Bench::new("[intake]\nmax_message_bytes = 2048\n");
    let big = Fetched {
        raw: Vec::new(),
        size: 10_000,
        received_at: at(9, 0),
        source: "maildir:big".into(),
    };
    let outcomes = bench.apply(&[big]);
    assert!(
        matches!(&outcomes[0], Outcome::Quarantined(e) if e.contains("10000 bytes")),
        "{outcomes:?}"
    );
    assert_eq!(
        bench.count("SELECT count(*) FROM quarantine WHERE raw_sha256 IS NULL"),
        1
    );
}

fn ack_id(bench: &Bench, to: &str) -> String {
    bench
        .store
        .conn()
        .query_row(
            "SELECT message_id FROM outbox WHERE purpose = 'ack' AND recipients = ?1",
            [to],
            |r| r.get(0),
        )
        .expect("ack")
}

#[test]
fn a_forged_failed_recipients_header_silences_nobody() {
    let mut bench = Bench::new("");
    bench.apply(&[mail("victim@example.org", "Problema", "v1@example.org", "", "x")]);
    // An ordinary mail from anyone, carrying the header Exim puts on its bounces.
    let forged = mail(
        "attacker@evil.example",
        "ciao",
        "f1@evil.example",
        "X-Failed-Recipients: victim@example.org\r\n",
        "ciao",
    );
    // The same as a "real-looking" DSN that refers to no mail of ours.
    let dsn = fetched(
        "From: MAILER-DAEMON@evil.example\r\nTo: assistenza@comune.example.it\r\nSubject: Undelivered\r\n\
         Message-ID: <f2@evil.example>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; evil.example\r\n\r\n\
         Final-Recipient: rfc822; victim@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <guessed@comune.example.it>\r\n\r\n--r--\r\n"
            .into(),
    );
    assert_eq!(
        bench.apply(&[forged, dsn]),
        vec![Outcome::Bounce(0), Outcome::Bounce(0)]
    );
    assert_eq!(
        bench.count("SELECT count(*) FROM participants WHERE undeliverable = 1"),
        0
    );
    assert_eq!(
        bench.count("SELECT count(*) FROM events WHERE action = 'unverified-bounce'"),
        2
    );
    // A DSN that quotes the victim's acknowledgment but is about someone else marks nobody.
    let id = ack_id(&bench, "victim@example.org");
    let other = fetched(format!(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Undelivered\r\n\
         Message-ID: <f3@mx.example.org>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; someone.else@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{id}>\r\n\r\n--r--\r\n"
    ));
    assert_eq!(bench.apply(&[other]), vec![Outcome::Bounce(0)]);
    assert_eq!(
        bench.count("SELECT count(*) FROM participants WHERE undeliverable = 1"),
        0
    );
}

#[test]
fn a_plain_text_bounce_quoting_our_message_is_believed_and_the_mark_clears_when_she_writes() {
    let mut bench = Bench::new("");
    bench.apply(&[mail("gone@example.org", "Problema", "p1@example.org", "", "x")]);
    let id = ack_id(&bench, "gone@example.org");
    // Exim's shape: no DSN, X-Failed-Recipients, the original's headers copied in the body.
    let exim = fetched(format!(
        "Return-Path: <>\r\nFrom: Mail Delivery System <Mailer-Daemon@mx.example.org>\r\n\
         To: assistenza@comune.example.it\r\nSubject: Mail delivery failed: returning message to sender\r\n\
         Message-ID: <E1x-0001@mx.example.org>\r\nX-Failed-Recipients: gone@example.org\r\nAuto-Submitted: auto-replied\r\n\r\n\
         This message was created automatically by mail delivery software.\r\n\r\n\
         A message that you sent could not be delivered to one or more of its recipients.\r\n\r\n  gone@example.org\r\n\
             Unrouteable address\r\n\r\n------ This is a copy of the message, including all the headers. ------\r\n\r\n\
         From: assistenza@comune.example.it\r\nTo: gone@example.org\r\nMessage-ID: <{id}>\r\nSubject: x\r\n\r\ntesto\r\n"
    ));
    assert_eq!(bench.apply(&[exim]), vec![Outcome::Bounce(1)]);
    assert_eq!(
        bench.count("SELECT count(*) FROM participants WHERE email = 'gone@example.org' AND undeliverable = 1"),
        1
    );
    // She writes again on her ticket: the mark no longer holds.
    let again = mail(
        "gone@example.org",
        "Re: [TCK-2026-00001] Problema",
        "p2@example.org",
        &format!("In-Reply-To: <{id}>\r\n"),
        "ci sono ancora",
    );
    assert_eq!(bench.apply(&[again]), vec![Outcome::AddedTo(t(1))]);
    assert_eq!(
        bench.count("SELECT count(*) FROM participants WHERE undeliverable = 1"),
        0
    );
    assert_eq!(
        bench.count("SELECT count(*) FROM events WHERE action = 'deliverable'"),
        1
    );
}

#[test]
fn an_undeliverable_mark_expires() {
    let mut bench = Bench::new("");
    bench.apply(&[mail("gone@example.org", "Problema", "p1@example.org", "", "x")]);
    let id = ack_id(&bench, "gone@example.org");
    let dsn = fetched(format!(
        "From: MAILER-DAEMON@mx.example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Undelivered\r\n\
         Message-ID: <d1@mx.example.org>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
         --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
         Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n\
         --r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{id}>\r\n\r\n--r--\r\n"
    ));
    assert_eq!(bench.apply(&[dsn]), vec![Outcome::Bounce(1)]);
    let conn = bench.store.conn();
    let ticket = t(1);
    let marked_at = at(9, 0);
    assert!(
        delivery::is_undeliverable(conn, ticket, "gone@example.org", marked_at + chrono::Duration::days(29))
            .expect("read")
    );
    assert!(
        !delivery::is_undeliverable(conn, ticket, "gone@example.org", marked_at + chrono::Duration::days(31))
            .expect("read")
    );
}
