//! Intake and outbox against the real Dovecot IMAP server and SMTP relay on 127.0.0.1.

use std::time::{Duration, Instant};

use crate::support::{MailServer, Sandbox, code, simple_message, stderr, stdout};

/// A config reading `helpdesk`'s INBOX over IMAP and sending through the relay.
fn imap_config(server: &MailServer, helpdesk: &(String, String), tls: &str, extra: &str) -> String {
    let (imap_port, smtp_port, smtp_tls) = match tls {
        "implicit" => (server.imaps_port, server.smtps_port, "implicit"),
        "starttls" => (server.imap_port, server.smtp_port, "starttls"),
        _ => (server.imap_port, server.smtp_port, "none"),
    };
    format!(
        "[helpdesk]\naddress = \"{addr}\"\n\
         [mailbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {imap_port}\ntls = \"{tls}\"\nusername = \"{addr}\"\n\
         password = \"{pw}\"\nca_file = \"{ca}\"\ntls_name = \"localhost\"\npoll_seconds = 1\n{extra}\n\
         [smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"{smtp_tls}\"\nusername = \"{addr}\"\n\
         password = \"{pw}\"\nca_file = \"{ca}\"\ntls_name = \"localhost\"\n",
        addr = helpdesk.0,
        pw = helpdesk.1,
        ca = server.ca_pem.display(),
    )
}

fn tickets(sandbox: &Sandbox) -> serde_json::Value {
    let out = sandbox.run(&["tickets", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("json")
}

#[test]
fn imap_intake_and_smtp_replies_over_each_kind_of_tls() {
    let Some(server) = MailServer::from_env("imap_intake_and_smtp_replies") else {
        return;
    };
    for tls in ["none", "starttls", "implicit"] {
        let helpdesk = server.add_user("helpdesk");
        let (requester, _) = server.add_user("requester");
        let sandbox = Sandbox::with_config(&imap_config(&server, &helpdesk, tls, ""));
        server.deliver(
            &helpdesk.0,
            &simple_message(
                &requester,
                "Caricamento PDF/A",
                &format!("n1-{tls}@example.org"),
                "Il PDF/A viene rifiutato.",
            ),
        );
        server.deliver(
            &helpdesk.0,
            &simple_message(
                &requester,
                "Risposta automatica: fuori sede",
                &format!("oof-{tls}@example.org"),
                "Sono fuori sede.",
            ),
        );
        let out = sandbox.run(&["run", "--once"]);
        assert_eq!(code(&out), 0, "{tls}: {}", stderr(&out));
        let list = tickets(&sandbox);
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{tls}: {list}");
        assert_eq!(list[0]["requester"], requester.as_str());
        // The acknowledgment went out over SMTP and reached the requester's mailbox.
        let received = server.messages(&requester, "INBOX");
        assert_eq!(received.len(), 1, "{tls}: exactly one acknowledgment: {received:?}");
        assert!(
            received[0].contains("[TCK-2026-00001] Caricamento PDF/A") || received[0].contains("Caricamento PDF/A")
        );
        // Both messages were flagged \Seen only after the commit; a second pass finds nothing new.
        assert_eq!(server.count(&helpdesk.0, "INBOX", &["unseen"]), 0, "{tls}");
        server.deliver(
            &helpdesk.0,
            &simple_message(
                &requester,
                "Re: [TCK-2026-00001] Caricamento PDF/A",
                &format!("r1-{tls}@example.org"),
                "Allego il file.",
            ),
        );
        assert_eq!(code(&sandbox.run(&["run", "--once"])), 0);
        let list = tickets(&sandbox);
        assert_eq!(
            list[0]["messages"], 3,
            "{tls}: request, acknowledgment-free reply and ack: {list}"
        );
        assert_eq!(
            server.messages(&requester, "INBOX").len(),
            1,
            "{tls}: a reply is not acknowledged again"
        );
    }
}

#[test]
fn processed_messages_can_be_moved_to_a_folder() {
    let Some(server) = MailServer::from_env("processed_messages_can_be_moved") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let (requester, _) = server.add_user("requester");
    let sandbox = Sandbox::with_config(&imap_config(
        &server,
        &helpdesk,
        "none",
        "processed_folder = \"Archive\"",
    ));
    for i in 0..3 {
        server.deliver(
            &helpdesk.0,
            &simple_message(
                &requester,
                &format!("Richiesta {i}"),
                &format!("mv{i}@example.org"),
                "x",
            ),
        );
    }
    assert_eq!(code(&sandbox.run(&["run", "--once"])), 0);
    assert_eq!(server.count(&helpdesk.0, "INBOX", &["all"]), 0);
    assert_eq!(server.count(&helpdesk.0, "Archive", &["seen"]), 3);
    assert_eq!(tickets(&sandbox).as_array().map(Vec::len), Some(3));
}

#[test]
fn a_wrong_password_is_a_temporary_failure_not_a_crash() {
    let Some(server) = MailServer::from_env("a_wrong_password") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let wrong = (helpdesk.0.clone(), "not-the-password".to_string());
    let sandbox = Sandbox::with_config(&imap_config(&server, &wrong, "none", ""));
    // One pass: the source fails, the daemon logs it and still runs the outbox, exit 0;
    // the long-running daemon would retry with backoff.
    let out = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
}

/// The exactly-once proof: a backlog applied by a daemon that is SIGKILLed at random
/// moments and restarted gives the same tickets and acknowledgments as an uninterrupted run.
#[test]
fn sigkill_during_a_backlog_loses_nothing_and_repeats_nothing() {
    let Some(server) = MailServer::from_env("sigkill_during_a_backlog") else {
        return;
    };
    const BACKLOG: usize = 2000;
    let backlog: Vec<Vec<u8>> = (0..BACKLOG)
        .map(|i| {
            let from = format!("cittadino{}@example.org", i % 97);
            if i % 5 == 4 {
                // A reply to an earlier request, by its token.
                simple_message(
                    &from,
                    &format!("Re: [TCK-2026-{:05}] x", 1 + i / 10),
                    &format!("k{i}@example.org"),
                    "altro",
                )
            } else {
                simple_message(
                    &from,
                    &format!("Richiesta {i}"),
                    &format!("k{i}@example.org"),
                    "testo della richiesta",
                )
            }
        })
        .collect();
    let extra = "[intake]\nack_rate_per_hour = 10000\nbatch_size = 25\n";
    let run_backlog = |interrupt: bool| -> (serde_json::Value, Vec<String>) {
        let helpdesk = server.add_user("helpdesk");
        let mut text = imap_config(&server, &helpdesk, "none", "");
        // Acknowledgments go to files: their names carry the outbox row, so a resend after a
        // crash would overwrite, and the rows themselves are what we compare.
        text = text.replace("[smtp]\nkind = \"smtp\"", "[smtp]\nkind = \"file\"\n[unused_smtp]");
        let text = text.split("[unused_smtp]").next().expect("config head").to_string() + extra;
        let sandbox = Sandbox::with_config(&text);
        server.import_mbox(&helpdesk.0, &backlog);
        if interrupt {
            let mut rng_state = 0x2545_f491_u32;
            let mut kills = 0;
            let deadline = Instant::now() + Duration::from_secs(300);
            while server.count(&helpdesk.0, "INBOX", &["unseen"]) > 0 {
                assert!(Instant::now() < deadline, "backlog never drained");
                let mut daemon = sandbox.command(&["run"]).spawn().expect("start");
                rng_state ^= rng_state << 13;
                rng_state ^= rng_state >> 17;
                rng_state ^= rng_state << 5;
                std::thread::sleep(Duration::from_millis(150 + u64::from(rng_state % 700)));
                let _ = daemon.kill(); // SIGKILL
                let _ = daemon.wait();
                kills += 1;
            }
            assert!(
                kills >= 2,
                "the test must actually interrupt the daemon ({kills} kills)"
            );
            eprintln!("backlog of {BACKLOG} drained through {kills} SIGKILLs");
        }
        let out = sandbox.run(&["run", "--once"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let db = sandbox.path("var/sportello.db");
        let conn = rusqlite::Connection::open(db).expect("open db");
        let mut acks: Vec<String> = conn
            .prepare("SELECT ticket_id || ' ' || recipients FROM outbox WHERE purpose = 'ack' ORDER BY 1")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("acks");
        acks.sort();
        let messages: i64 = conn
            .query_row("SELECT count(*) FROM messages WHERE direction = 'in'", [], |r| r.get(0))
            .expect("count");
        assert_eq!(messages as usize, BACKLOG, "every message stored exactly once");
        (tickets(&sandbox), acks)
    };
    let (calm_tickets, calm_acks) = run_backlog(false);
    let (killed_tickets, killed_acks) = run_backlog(true);
    let strip = |list: &serde_json::Value| -> Vec<(String, String, u64)> {
        list.as_array()
            .expect("array")
            .iter()
            .map(|t| {
                (
                    t["subject"].as_str().unwrap_or_default().to_string(),
                    t["requester"].as_str().unwrap_or_default().to_string(),
                    t["messages"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    let mut calm = strip(&calm_tickets);
    let mut killed = strip(&killed_tickets);
    calm.sort();
    killed.sort();
    assert_eq!(calm.len(), BACKLOG - BACKLOG / 5);
    assert_eq!(killed, calm, "same tickets with the same message counts");
    assert_eq!(
        killed_acks.len(),
        calm_acks.len(),
        "one acknowledgment per new ticket, none twice"
    );
    let unique: std::collections::BTreeSet<&String> = killed_acks.iter().collect();
    assert_eq!(unique.len(), killed_acks.len(), "no ticket acknowledged twice");
}
