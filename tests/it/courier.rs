//! The courier's SMTP sessions against a server of the test's own (`smtp_sink`): reused and
//! parallel sessions within `[smtp] connections` and `messages_per_session`, a server that
//! takes one session at a time, one that ends sessions with 421 or drops them, and a daemon
//! killed in the middle of a parallel send.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::smtp_sink::{Rules, Seen, SmtpSink};
use crate::support::{Sandbox, code, simple_message, stderr};

/// The counts below are the requests' mail alone: no morning digest joins them.
fn config(port: u16, connections: u16, messages_per_session: u32) -> String {
    format!(
        "[helpdesk]\naddress = \"assistenza@comune.example.it\"\n\
         [smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
         connections = {connections}\nmessages_per_session = {messages_per_session}\n\
         [intake]\nack_rate_per_hour = 10000\n\
         [digest]\nenabled = false\n\
         [security]\nallow_unauthenticated_operators = true\n\
         [[operator]]\nname = \"Giulia Bianchi\"\nemail = \"giulia.bianchi@comune.example.it\"\n"
    )
}

/// `count` new requests in the Maildir: each queues an acknowledgment and a notice.
fn requests(sandbox: &Sandbox, count: usize) {
    let new = sandbox.path("var/inbox/new");
    std::fs::create_dir_all(&new).expect("inbox");
    for i in 0..count {
        let raw = simple_message(
            &format!("cittadino{i}@example.org"),
            &format!("Richiesta {i}"),
            &format!("req{i}@example.org"),
            "Non riesco a caricare il file.",
        );
        std::fs::write(new.join(format!("{i:04}.eml")), raw).expect("request");
    }
}

struct Row {
    message_id: String,
    sent: bool,
    attempts: u32,
    last_error: Option<String>,
}

fn outbox(sandbox: &Sandbox) -> Vec<Row> {
    let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    conn.prepare("SELECT message_id, sent_at IS NOT NULL, attempts, last_error FROM outbox ORDER BY id")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(Row {
                    message_id: r.get(0)?,
                    sent: r.get(1)?,
                    attempts: r.get(2)?,
                    last_error: r.get(3)?,
                })
            })?
            .collect()
        })
        .expect("outbox rows")
}

/// Every queued mail reached the sink exactly once, at its first attempt, with no error.
fn each_sent_once(rows: &[Row], seen: &Seen) {
    let mut received: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &seen.received {
        *received.entry(r.message_id.as_str()).or_default() += 1;
    }
    for row in rows {
        assert!(
            row.sent && row.attempts == 1 && row.last_error.is_none(),
            "{}: sent {}, attempts {}, error {:?}",
            row.message_id,
            row.sent,
            row.attempts,
            row.last_error
        );
        assert_eq!(
            received.get(row.message_id.as_str()),
            Some(&1),
            "{} received once",
            row.message_id
        );
    }
    assert_eq!(received.len(), rows.len(), "nothing the outbox does not hold");
}

#[test]
fn sessions_are_reused_in_parallel_within_the_configured_limits() {
    let sink = SmtpSink::start(Rules {
        data_delay: Duration::from_millis(20),
        ..Rules::default()
    });
    let sandbox = Sandbox::with_config(&config(sink.port, 4, 10));
    requests(&sandbox, 30);
    let out = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows = outbox(&sandbox);
    assert_eq!(rows.len(), 60, "an acknowledgment and a notice per request");
    let seen = sink.seen();
    each_sent_once(&rows, &seen);
    let mut per_session: BTreeMap<usize, usize> = BTreeMap::new();
    for r in &seen.received {
        *per_session.entry(r.session).or_default() += 1;
    }
    assert!(
        per_session.values().all(|n| *n <= 10),
        "no session carries more than messages_per_session: {per_session:?}"
    );
    assert!(
        seen.sessions >= 6 && seen.sessions <= 12,
        "sessions are reused up to their limit, not opened per message: {} sessions",
        seen.sessions
    );
    assert_eq!(seen.max_open, 4, "four sessions send at once, never more");
}

#[test]
fn a_server_taking_one_session_at_a_time_still_gets_all_its_mail() {
    // One session at a time, and at most 7 messages each (then 421): the other sessions are
    // refused at the greeting, and the one that works is replaced when the server ends it.
    let sink = SmtpSink::start(Rules {
        max_sessions: Some(1),
        messages_per_session: Some(7),
        ..Rules::default()
    });
    let sandbox = Sandbox::with_config(&config(sink.port, 4, 100));
    requests(&sandbox, 25);
    let out = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows = outbox(&sandbox);
    assert_eq!(rows.len(), 50);
    let seen = sink.seen();
    each_sent_once(&rows, &seen);
    assert_eq!(seen.max_open, 1);
    assert!(seen.refused > 0, "the courier did try sessions in parallel");
    assert!(seen.sessions >= 50 / 7, "each session the server ended was replaced");
}

#[test]
fn a_dropped_session_is_replaced_and_its_mail_sent_once() {
    // The server closes the connection without a word after 5 messages.
    let sink = SmtpSink::start(Rules {
        drop_after: Some(5),
        ..Rules::default()
    });
    let sandbox = Sandbox::with_config(&config(sink.port, 1, 100));
    requests(&sandbox, 12);
    let out = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows = outbox(&sandbox);
    assert_eq!(rows.len(), 24);
    let seen = sink.seen();
    each_sent_once(&rows, &seen);
    assert!(seen.sessions >= 5, "a new session after each drop: {}", seen.sessions);
}

/// A daemon killed while four sessions are sending: the restart sends what was not recorded
/// as sent, again under the same Message-ID and byte for byte the same message; no mail is
/// missing and none exists in two different versions.
#[test]
fn sigkill_in_the_middle_of_a_parallel_send_repeats_the_same_mails_only() {
    let sink = SmtpSink::start(Rules {
        data_delay: Duration::from_millis(40),
        ..Rules::default()
    });
    let sandbox = Sandbox::with_config(&config(sink.port, 4, 100));
    requests(&sandbox, 40);
    let mut daemon = sandbox.spawn_daemon(&["run"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while sink.seen().received.len() < 20 {
        assert!(Instant::now() < deadline, "the daemon never sent 20 mails");
        std::thread::sleep(Duration::from_millis(2));
    }
    daemon.crash();
    // The sink's sessions notice the closed connections.
    std::thread::sleep(Duration::from_millis(200));
    let before = sink.seen().received.len();
    assert!(
        before < 80,
        "the kill came after the last mail: the test proves nothing"
    );
    let recorded_before = outbox(&sandbox).iter().filter(|r| r.sent).count();
    let out = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows = outbox(&sandbox);
    assert_eq!(rows.len(), 80, "the restart queued nothing new");
    assert!(rows.iter().all(|r| r.sent), "everything left in the end");
    let seen = sink.seen();
    let mut copies: BTreeMap<&str, BTreeSet<&[u8]>> = BTreeMap::new();
    let mut deliveries: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &seen.received {
        copies
            .entry(r.message_id.as_str())
            .or_default()
            .insert(r.raw.as_slice());
        *deliveries.entry(r.message_id.as_str()).or_default() += 1;
    }
    let queued: BTreeSet<&str> = rows.iter().map(|r| r.message_id.as_str()).collect();
    let delivered: BTreeSet<&str> = copies.keys().copied().collect();
    assert_eq!(delivered, queued, "every queued mail delivered, and nothing else");
    for (id, versions) in &copies {
        assert_eq!(versions.len(), 1, "{id}: a repeat is the same message, byte for byte");
    }
    let repeated = deliveries.values().filter(|n| **n > 1).count();
    assert!(
        repeated <= before - recorded_before.min(before),
        "only mail whose sending was not recorded is sent again ({repeated} repeated)"
    );
    eprintln!(
        "killed after {before} deliveries ({recorded_before} recorded as sent); {repeated} mails delivered twice"
    );
    // One acknowledgment per request: the repeat is the same mail, not a second one.
    let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    let acks: i64 = conn
        .query_row(
            "SELECT count(DISTINCT ticket_id) FROM outbox WHERE purpose = 'ack'",
            [],
            |r| r.get(0),
        )
        .expect("acks");
    let rows_acks: i64 = conn
        .query_row("SELECT count(*) FROM outbox WHERE purpose = 'ack'", [], |r| r.get(0))
        .expect("acks");
    assert_eq!((acks, rows_acks), (40, 40));
}
