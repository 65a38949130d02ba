//! Intake and outbox against the real Dovecot IMAP server and SMTP relay on 127.0.0.1.

use std::time::{Duration, Instant};

use crate::support::{MailServer, Sandbox, code, simple_message, stderr, stdout};

/// A config reading `helpdesk`'s INBOX over IMAP and sending through the relay. The tests
/// put mail in the folder before the daemon's first start, so they take all unread mail
/// (`since`); `first_start_config` is the same without it.
pub(crate) fn imap_config(server: &MailServer, helpdesk: &(String, String), tls: &str, extra: &str) -> String {
    first_start_config(server, helpdesk, tls, &format!("since = \"2000-01-01\"\n{extra}"))
}

/// [`imap_config`] as a municipality writes it: a first start takes only new mail.
fn first_start_config(server: &MailServer, helpdesk: &(String, String), tls: &str, extra: &str) -> String {
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
        let (requester, requester_pw) = server.add_user("requester");
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
        let received = server.read_inbox(&requester, &requester_pw);
        assert_eq!(received.len(), 1, "{tls}: exactly one acknowledgment");
        let ack = sportello::ingest::parse::parse_mail(&received[0], 1 << 20).expect("ack parses");
        assert_eq!(ack.subject, "[TCK-2026-00001] Caricamento PDF/A", "{tls}");
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
            server.read_inbox(&requester, &requester_pw).len(),
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

/// The exactly-once proof: a 5,000-message backlog applied by a daemon that is SIGKILLed at
/// random moments and restarted gives the same tickets and acknowledgments as an uninterrupted run.
#[test]
fn sigkill_during_a_backlog_loses_nothing_and_repeats_nothing() {
    let Some(server) = MailServer::from_env("sigkill_during_a_backlog") else {
        return;
    };
    const BACKLOG: usize = 5000;
    let backlog: Vec<Vec<u8>> = (0..BACKLOG)
        .map(|i| {
            if i % 5 == 4 {
                // A reply by the same citizen to a request four messages earlier.
                let j = i - 4;
                let from = format!("cittadino{}@example.org", j % 97);
                let mut m = simple_message(
                    &from,
                    &format!("Re: Richiesta {j}"),
                    &format!("k{i}@example.org"),
                    "altro",
                );
                let headers = format!("In-Reply-To: <k{j}@example.org>\r\nTo:");
                let text = String::from_utf8(m).expect("ascii").replacen("To:", &headers, 1);
                m = text.into_bytes();
                m
            } else {
                let from = format!("cittadino{}@example.org", i % 97);
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
            // Five SIGKILLs spread over the backlog: each lands once the stored messages pass
            // a pseudo-random point of its sixth of the backlog, so every kill hits a daemon
            // in the middle of its work; the final pass below then drains what is left.
            let database = sandbox.path("var/sportello.db");
            let stored = || {
                rusqlite::Connection::open(&database)
                    .and_then(|c| {
                        c.query_row("SELECT count(*) FROM messages WHERE direction = 'in'", [], |r| {
                            r.get::<_, i64>(0)
                        })
                    })
                    .unwrap_or(0) as usize
            };
            let mut rng_state = 0x2545_f491_u32;
            for k in 1..=5 {
                let mut daemon = sandbox.spawn_daemon(&["run"]);
                rng_state ^= rng_state << 13;
                rng_state ^= rng_state >> 17;
                rng_state ^= rng_state << 5;
                let kill_at = k * BACKLOG / 6 + rng_state as usize % (BACKLOG / 12);
                let deadline = Instant::now() + Duration::from_secs(120);
                while stored() < kill_at {
                    assert!(Instant::now() < deadline, "the daemon stalled below {kill_at} messages");
                    std::thread::sleep(Duration::from_millis(2));
                }
                daemon.crash();
            }
            let left = server.count(&helpdesk.0, "INBOX", &["unseen"]);
            eprintln!("after 5 SIGKILLs, {left} of {BACKLOG} messages were still unseen");
            assert!(left > 0, "the last kill came after the backlog was done");
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

/// The procedure of the workflow issue with real mailboxes: the requester and two operators
/// read what they receive over IMAP; their replies reach the help desk's IMAP folder; the
/// daemon answers over SMTP.
#[test]
fn the_procedure_over_real_imap_and_smtp() {
    let Some(server) = MailServer::from_env("the_procedure_over_real_imap_and_smtp") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let (requester, requester_pw) = server.add_user("requester");
    let (giulia, giulia_pw) = server.add_user("giulia");
    let (luca, luca_pw) = server.add_user("luca");
    let mut config = imap_config(&server, &helpdesk, "starttls", "");
    config.push_str(&format!(
        "[security]\ntrusted_authserv_id = \"mx.example.test\"\n\
         [[operator]]\nname = \"Giulia Bianchi\"\nemail = \"{giulia}\"\nlevel = 1\n\
         [[operator]]\nname = \"Luca Verdi\"\nemail = \"{luca}\"\nlevel = 2\nsupervisor = true\n"
    ));
    let sandbox = Sandbox::with_config(&config);
    let pass = "Authentication-Results: mx.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\n";
    let parse = |raw: &[u8]| sportello::ingest::parse::parse_mail(raw, 1 << 22).expect("parse");
    let step = |raw: String| {
        server.deliver(&helpdesk.0, raw.as_bytes());
        let out = sandbox.run(&["run", "--once"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    };
    let operator_reply = |from: &str, notice: &str, id: &str, auth: bool, body: &str| {
        format!(
            "{}From: Operatore <{from}>\r\nTo: {hd}\r\nSubject: Re: notifica\r\nMessage-ID: <{id}@example.test>\r\n\
             In-Reply-To: <{notice}>\r\nReferences: <{notice}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
            if auth { pass } else { "" },
            hd = helpdesk.0
        )
    };
    // The newest mail but a morning digest (on a working day the daemon sends one at its first pass).
    let newest = |user: &str, pw: &str| {
        server
            .read_inbox(user, pw)
            .iter()
            .rev()
            .map(|raw| parse(raw))
            .find(|m| !m.subject.starts_with("Riepilogo di"))
            .expect("a message")
    };

    // Request → acknowledgment to the requester, notice to Giulia.
    step(
        simple_message(
            &requester,
            "Impossibile firmare la pratica",
            "w1@example.org",
            "Errore di firma.",
        )
        .iter()
        .map(|b| *b as char)
        .collect(),
    );
    let ack = newest(&requester, &requester_pw);
    assert!(ack.subject.contains("[TCK-2026-00001]"), "{}", ack.subject);
    let notice = newest(&giulia, &giulia_pw);
    let notice_id = notice.message_id.clone().expect("notice id");

    // Take-in naming the technician.
    step(operator_reply(&giulia, &notice_id, "o1", true, "#prendo"));
    assert!(newest(&requester, &requester_pw).text.contains("Giulia Bianchi"));

    // Escalation → the requester is told; Luca gets the screening.
    step(operator_reply(&giulia, &notice_id, "o2", true, "#secondolivello"));
    assert!(newest(&requester, &requester_pw).subject.contains("secondo livello"));
    let luca_notice = newest(&luca, &luca_pw);
    assert!(luca_notice.text.contains("Errore di firma."));
    let luca_notice_id = luca_notice.message_id.clone().expect("id");
    // One ticket's notices thread together: one subject, one References root (item 14).
    assert_eq!(notice.subject, "[TCK-2026-00001] Impossibile firmare la pratica");
    assert_eq!(luca_notice.subject, notice.subject);
    assert!(luca_notice.text.starts_with("Secondo livello"), "{}", luca_notice.text);
    assert_eq!(notice.references, luca_notice.references);
    assert!(
        notice
            .references
            .iter()
            .any(|r| r.starts_with("TCK-2026-00001.notices@")),
        "{:?}",
        notice.references
    );

    // Remote session invitation with a valid .ics, then the closing mail.
    step(operator_reply(
        &luca,
        &luca_notice_id,
        "o3",
        true,
        "#remoto 2026-12-15 15:00 30",
    ));
    let invitation = newest(&requester, &requester_pw);
    let ics = invitation
        .attachments
        .iter()
        .find(|a| a.filename.ends_with(".ics"))
        .expect("ics attached");
    let ics = String::from_utf8_lossy(&ics.bytes);
    assert!(
        ics.contains("BEGIN:VEVENT") && ics.contains("DTSTART:20261215T140000Z"),
        "{ics}"
    );
    // Issue 14, item 2: the requester accepts in Outlook (no In-Reply-To, only the UID): the
    // answer lands on the ticket, Luca is told in one line, nobody else hears anything.
    let uid = ics
        .replace("\r\n ", "")
        .lines()
        .find_map(|l| l.strip_prefix("UID:").map(str::to_string))
        .expect("the invitation's UID");
    let requester_before = server.read_inbox(&requester, &requester_pw).len();
    let accept_ics = format!(
        "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n\
         ATTENDEE;PARTSTAT=ACCEPTED;CN=Richiedente:mailto:{requester}\r\nUID:{uid}\r\nDTSTART:20261215T140000Z\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    step(format!(
        "From: {requester}\r\nTo: {}\r\nSubject: Accettato: {}\r\nMessage-ID: <acc1@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\r\n\
         --b1\r\nContent-Type: text/calendar; charset=\"utf-8\"; method=REPLY\r\n\r\n{accept_ics}\r\n--b1--\r\n",
        helpdesk.0, invitation.subject
    ));
    let told = newest(&luca, &luca_pw);
    assert!(
        told.text.contains("ha accettato l'invito all'assistenza remota"),
        "{}",
        told.text
    );
    assert_eq!(
        server.read_inbox(&requester, &requester_pw).len(),
        requester_before,
        "no acknowledgment, no letter"
    );
    assert_eq!(tickets(&sandbox).as_array().map(Vec::len), Some(1), "no new ticket");
    step(operator_reply(
        &luca,
        &luca_notice_id,
        "o4",
        true,
        "#risolto\nCertificato rinnovato.",
    ));
    let closing = newest(&requester, &requester_pw);
    assert!(closing.text.contains("Certificato rinnovato."));

    // The requester's reply reopens it back to Luca, who resolves it again.
    let reopen = format!(
        "From: {requester}\r\nTo: {}\r\nSubject: Re: {}\r\nMessage-ID: <w2@example.org>\r\nIn-Reply-To: <{}>\r\n\r\nDi nuovo errore.\r\n",
        helpdesk.0,
        closing.subject,
        closing.message_id.clone().expect("closing id")
    );
    step(reopen);
    let reopened_notice = newest(&luca, &luca_pw);
    assert!(reopened_notice.text.contains("Di nuovo errore."));
    step(operator_reply(
        &luca,
        reopened_notice.message_id.as_deref().expect("id"),
        "o5",
        true,
        "#risolto\nRisolto davvero.",
    ));
    assert!(newest(&requester, &requester_pw).text.contains("Risolto davvero."));

    // A spoofed command is refused (and Luca, the supervisor, is alerted); a typo is answered.
    let before = server.read_inbox(&requester, &requester_pw).len();
    step(operator_reply(
        &giulia,
        &notice_id,
        "o6",
        false,
        "Rispondo io senza autenticazione.",
    ));
    assert_eq!(
        server.read_inbox(&requester, &requester_pw).len(),
        before,
        "nothing reached the requester"
    );
    let luca_inbox = server.read_inbox(&luca, &luca_pw);
    let alarm = luca_inbox
        .iter()
        .rev()
        .take(3)
        .map(|m| parse(m))
        .find(|m| m.subject.contains("ALLARME"))
        .expect("the supervisor is alerted");
    // Issue 21, item 10: the alarm names the From and the verdict, and is no ticket notice.
    assert!(alarm.subject.contains(&giulia), "{}", alarm.subject);
    assert!(
        alarm.text.contains(&format!("Mittente (From): {giulia}")),
        "{}",
        alarm.text
    );
    assert!(alarm.text.contains("Esito della verifica: "), "{}", alarm.text);
    assert!(!alarm.text.contains("#prendo"), "no ticket footer: {}", alarm.text);
    // …and the operator is told, in Italian, what was checked and what to ask the IT for.
    let told = newest(&giulia, &giulia_pw);
    assert!(
        told.subject.contains("non è stato eseguito: autenticazione mancante"),
        "{}",
        told.subject
    );
    assert!(told.text.contains("Che cosa mancava:"), "{}", told.text);
    assert!(told.text.contains("ufficio informatico"), "{}", told.text);
    step(operator_reply(&giulia, &notice_id, "o7", true, "#prendi"));
    let error = newest(&giulia, &giulia_pw);
    assert!(error.text.contains("#prendo"), "did-you-mean reply");
    // Issue 21, items 4 and 14: the error keeps the ticket number, and following its advice —
    // replying to it — acts on the ticket.
    assert!(error.subject.contains("[TCK-2026-00001]"), "{}", error.subject);
    step(operator_reply(
        &giulia,
        error.message_id.as_deref().expect("error id"),
        "o7b",
        true,
        "#nota\nRisposto al messaggio di errore.",
    ));
    let out = sandbox.run(&["ticket", "show", "TCK-2026-00001", "--json"]);
    assert!(
        stdout(&out).contains("Risposto al messaggio di errore."),
        "the note reached the ticket: {}",
        stdout(&out)
    );
    // A command on a ticket in a mail that names none is answered, never dropped.
    step(format!(
        "{pass}From: {giulia}\r\nTo: {}\r\nSubject: Prendo io\r\nMessage-ID: <o7c@example.test>\r\n\r\n#prendo\r\n",
        helpdesk.0
    ));
    let answer = newest(&giulia, &giulia_pw);
    assert!(answer.subject.starts_with("Comando NON eseguito"), "{}", answer.subject);
    assert!(
        answer.text.contains("#prendo") && answer.text.contains("non ne indica nessuna"),
        "{}",
        answer.text
    );

    // A phone ticket opened by mail.
    step(format!(
        "{pass}From: {giulia}\r\nTo: {}\r\nSubject: Chiamata\r\nMessage-ID: <o8@example.test>\r\n\r\n#nuovo Mario Rossi\r\n#telefono +39 333 1234567\r\nNon accede con SPID.\r\n",
        helpdesk.0
    ));
    let out = sandbox.run(&["ticket", "show", "TCK-2026-00002", "--json"]);
    let phone: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(phone["channel"], "phone");

    // Issue 14, item 5: Giulia forwards (Gmail, inline) a citizen's mail that reached her
    // directly, with #prendo above it: a ticket on the citizen's behalf, acknowledged to the
    // citizen and taken in by Giulia at once; her own words reach nobody.
    let (citizen, citizen_pw) = server.add_user("citizen");
    step(format!(
        "{pass}From: {giulia}\r\nTo: {}\r\nSubject: Fwd: Non riesco a caricare le tavole\r\nMessage-ID: <fw1@example.test>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n#prendo\r\nGirata dalla mia casella.\r\n\r\n\
         ---------- Forwarded message ---------\r\nFrom: Carla Verdi <{citizen}>\r\nDate: Mon, 14 Dec 2026 at 09:12\r\n\
         Subject: Non riesco a caricare le tavole\r\nTo: Giulia Bianchi <{giulia}>\r\n\r\n\
         Buongiorno, il portale rifiuta le tavole della pratica PdC 2026/0456.\r\n",
        helpdesk.0
    ));
    let forwarded: serde_json::Value =
        serde_json::from_str(&stdout(&sandbox.run(&["ticket", "show", "TCK-2026-00003", "--json"]))).expect("json");
    assert_eq!(forwarded["requester"], citizen.as_str(), "{forwarded}");
    assert_eq!(forwarded["assignee"], giulia.as_str(), "#prendo applied: {forwarded}");
    assert_eq!(forwarded["pratica"], "PdC 2026/0456");
    let letters = server.read_inbox(&citizen, &citizen_pw);
    // Letters are wrapped at 72 columns (issue 15, item 9): their words, one space apart.
    let texts: Vec<String> = letters
        .iter()
        .map(|m| parse(m).text.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("registrata con il numero TCK-2026-00003")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("Giulia Bianchi")),
        "the take-in names her: {texts:?}"
    );
    assert!(
        texts.iter().all(|t| !t.contains("Girata dalla mia casella")),
        "{texts:?}"
    );
}

#[test]
fn the_daemon_sees_new_mail_through_idle_and_stops_cleanly() {
    let Some(server) = MailServer::from_env("the_daemon_sees_new_mail_through_idle") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let (requester, _) = server.add_user("requester");
    // A poll interval far longer than the test: only IDLE can deliver the news in time.
    let config = imap_config(&server, &helpdesk, "none", "").replace("poll_seconds = 1", "poll_seconds = 600");
    let sandbox = Sandbox::with_config(&config);
    let mut daemon = sandbox.spawn_daemon(&["run"]);
    std::thread::sleep(Duration::from_millis(1500)); // connected and idling
    server.deliver(
        &helpdesk.0,
        &simple_message(&requester, "Arrivata durante IDLE", "idle1@example.org", "x"),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if tickets(&sandbox).as_array().is_some_and(|a| a.len() == 1) {
            break;
        }
        assert!(Instant::now() < deadline, "IDLE never delivered the new message");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(daemon.terminate(), Some(0), "SIGTERM while idling is a clean stop");
}

#[test]
fn a_uidvalidity_change_rescans_without_applying_anything_twice() {
    let Some(server) = MailServer::from_env("a_uidvalidity_change_rescans") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let (requester, requester_pw) = server.add_user("requester");
    let sandbox = Sandbox::with_config(&imap_config(&server, &helpdesk, "none", ""));
    for i in 0..2 {
        server.deliver(
            &helpdesk.0,
            &simple_message(&requester, &format!("Prima {i}"), &format!("uv{i}@example.org"), "x"),
        );
    }
    assert_eq!(code(&sandbox.run(&["run", "--once"])), 0);
    // The server renumbers the folder (as after a restore), and one more message arrives.
    let status = std::process::Command::new("doveadm")
        .args(["-c", &std::env::var("MAILTEST_DOVECOT_CONF").expect("conf")])
        .args([
            "mailbox",
            "update",
            "-u",
            &helpdesk.0,
            "--uid-validity",
            "12345",
            "INBOX",
        ])
        .status()
        .expect("doveadm");
    assert!(status.success(), "doveadm mailbox update");
    server.deliver(&helpdesk.0, &simple_message(&requester, "Dopo", "uv9@example.org", "x"));
    let out = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        tickets(&sandbox).as_array().map(Vec::len),
        Some(3),
        "two old, one new, none twice"
    );
    assert_eq!(
        server.read_inbox(&requester, &requester_pw).len(),
        3,
        "one acknowledgment each"
    );
}

/// The SMTP server is down for a while: mail stays queued, leaves when it is back, and the SLA
/// counts the instant it actually left.
#[test]
fn mail_waits_for_the_smtp_server_and_the_sla_counts_the_real_sending_time() {
    let Some(server) = MailServer::from_env("mail_waits_for_the_smtp_server") else {
        return;
    };
    let (requester, requester_pw) = server.add_user("requester");
    let giulia = "giulia.bianchi@comune.example.it";
    let config = |port: u16| {
        format!(
            "[smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
             [security]\nallow_unauthenticated_operators = true\n\
             [[operator]]\nname = \"Giulia Bianchi\"\nemail = \"{giulia}\"\n"
        )
    };
    // Down: a closed loopback port. Requests arrive through `ingest` at the instants below.
    let sandbox = Sandbox::with_config(&config(9));
    let ingest = |now: &str, raw: String| {
        let out = sandbox.run_with_input(&[&format!("--now={now}"), "ingest", "-"], raw.as_bytes());
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    };
    let pass = |now: &str| assert_eq!(code(&sandbox.run(&[&format!("--now={now}"), "run", "--once"])), 0);
    ingest(
        "2026-03-09T09:00:00+01:00",
        String::from_utf8(simple_message(&requester, "Firma", "down1@example.org", "x")).expect("utf8"),
    );
    pass("2026-03-09T09:00:00+01:00");
    let notice = {
        let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
        conn.query_row("SELECT message_id FROM outbox WHERE purpose = 'notify'", [], |r| {
            r.get::<_, String>(0)
        })
        .expect("notice")
    };
    // Giulia takes the ticket in at 09:10 while the relay is still down.
    ingest(
        "2026-03-09T09:10:00+01:00",
        format!(
            "From: {giulia}\r\nTo: assistenza@comune.example.it\r\nSubject: Re: x\r\nMessage-ID: <take@example.test>\r\nIn-Reply-To: <{notice}>\r\n\r\n#prendo\r\n"
        ),
    );
    pass("2026-03-09T09:10:00+01:00");
    assert!(
        server.read_inbox(&requester, &requester_pw).is_empty(),
        "nothing could leave"
    );
    // The relay is back at 09:40 (the retries are due by then): everything leaves, once.
    std::fs::write(sandbox.path("config.toml"), config(server.smtp_port)).expect("config");
    pass("2026-03-09T09:40:00+01:00");
    pass("2026-03-09T09:41:00+01:00");
    assert_eq!(
        server.read_inbox(&requester, &requester_pw).len(),
        2,
        "acknowledgment and take-in confirmation, once each"
    );
    let report = sandbox.run(&["--now=2026-04-02T10:00:00+02:00", "report", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json");
    // Take-in due 09:45; the confirmation was written at 09:10 but left at 09:40: 40 minutes.
    assert_eq!(report["take_in"]["email/1"]["met"], 1, "{report}");
    assert_eq!(
        report["take_in"]["email/1"]["median_minutes"], 40,
        "the SLA counts when the mail left, not when it was written"
    );
}

/// The IMAP server dies in the middle of a backlog and comes back: the daemon reconnects and
/// applies every message exactly once.
#[test]
fn the_imap_server_restarting_mid_backlog_loses_and_repeats_nothing() {
    let Some(private) = crate::support::PrivateMailServer::start("the_imap_server_restarting") else {
        return;
    };
    let server = &private.server;
    // The built-in user of a fresh server (an added one would not survive our restart's files).
    let helpdesk = ("helpdesk@example.test".to_string(), "helpdesk-pw".to_string());
    const BACKLOG: usize = 1500;
    let backlog: Vec<Vec<u8>> = (0..BACKLOG)
        .map(|i| {
            simple_message(
                &format!("c{}@example.org", i % 50),
                &format!("Richiesta {i}"),
                &format!("rs{i}@example.org"),
                "x",
            )
        })
        .collect();
    server.import_mbox(&helpdesk.0, &backlog);
    let config = imap_config(server, &helpdesk, "none", "")
        .replace("[smtp]\nkind = \"smtp\"", "[smtp]\nkind = \"file\"\n[unused]");
    let config = config.split("[unused]").next().expect("head").to_string()
        + "[intake]\nack_rate_per_hour = 10000\nbatch_size = 25\n";
    let sandbox = Sandbox::with_config(&config);
    let mut daemon = sandbox.spawn_daemon(&["run"]);
    // Stop the server once the daemon is visibly inside the backlog, not before nor after it.
    let database = sandbox.path("var/sportello.db");
    let applied = || {
        rusqlite::Connection::open(&database)
            .and_then(|conn| conn.query_row("SELECT count(*) FROM tickets", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0)
    };
    let started = Instant::now() + Duration::from_secs(60);
    while applied() < 25 {
        assert!(Instant::now() < started, "the daemon never started on the backlog");
        std::thread::sleep(Duration::from_millis(20));
    }
    private.crash_imap();
    let during = applied();
    assert!(
        during < BACKLOG as i64,
        "the server stopped after the backlog was done; the test proves nothing"
    );
    std::thread::sleep(Duration::from_millis(500));
    private.stop(); // the SMTP side, still up, would block the restart's ports
    private.restart();
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.count(&helpdesk.0, "INBOX", &["unseen"]) > 0 {
        assert!(Instant::now() < deadline, "the daemon never finished after the restart");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(daemon.terminate(), Some(0), "SIGTERM after the restart is a clean stop");
    eprintln!("IMAP died when {during} of {BACKLOG} messages were applied");
    let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).expect("count");
    assert_eq!(
        count("SELECT count(*) FROM messages WHERE direction = 'in'"),
        BACKLOG as i64,
        "every message once"
    );
    assert_eq!(count("SELECT count(*) FROM tickets"), BACKLOG as i64);
    assert_eq!(
        count("SELECT count(DISTINCT ticket_id) FROM outbox WHERE purpose = 'ack'"),
        BACKLOG as i64
    );
    assert_eq!(
        count("SELECT count(*) FROM outbox WHERE purpose = 'ack'"),
        BACKLOG as i64,
        "no acknowledgment twice"
    );
}

/// A help desk whose mailbox is on Microsoft 365: operators inside the tenant are recognised by
/// Exchange's organisation marks (its Authentication-Results names no authserv-id), and a
/// forgery from outside, stamped Anonymous with dmarc=fail, commands nothing.
#[test]
fn microsoft_365_operators_are_authenticated_over_real_imap() {
    let Some(server) = MailServer::from_env("microsoft_365_operators_are_authenticated_over_real_imap") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let (requester, requester_pw) = server.add_user("requester");
    let (giulia, giulia_pw) = server.add_user("giulia");
    let mut config = imap_config(&server, &helpdesk, "starttls", "");
    config.push_str(&format!(
        "[security]\nprovider = \"microsoft365\"\n\
         [[operator]]\nname = \"Giulia Bianchi\"\nemail = \"{giulia}\"\nlevel = 1\nsupervisor = true\n"
    ));
    let sandbox = Sandbox::with_config(&config);
    let step = |raw: String| {
        server.deliver(&helpdesk.0, raw.as_bytes());
        let out = sandbox.run(&["--now=2026-03-11T10:00:00+01:00", "run", "--once"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    };
    step(
        String::from_utf8_lossy(&simple_message(
            &requester,
            "Planimetria",
            "m1@example.test",
            "Non si allega.",
        ))
        .into(),
    );
    // The notice, not the morning digest that a working day's first pass also sends.
    let notice = server
        .read_inbox(&giulia, &giulia_pw)
        .iter()
        .rev()
        .map(|raw| sportello::ingest::parse::parse_mail(raw, 1 << 22).expect("parse"))
        .find(|m| m.subject.contains("[TCK-"))
        .expect("a notice");
    let notice_id = notice.message_id.expect("the notice has a Message-ID");
    let exchange_reply = |auth_as: &str, results: &str, id: &str| {
        format!(
            "Received: from AM0PR01MB1234.eurprd01.prod.exchangelabs.com by AM0PR01MB5678.eurprd01.prod.exchangelabs.com\r\n\
             with HTTPS; Wed, 11 Mar 2026 09:31:07 +0000\r\n\
             From: Giulia Bianchi <{giulia}>\r\nTo: {hd}\r\nSubject: R: {subject}\r\nMessage-ID: <{id}@eurprd01.prod.exchangelabs.com>\r\n\
             In-Reply-To: <{notice_id}>\r\nReferences: <{notice_id}>\r\nContent-Language: it-IT\r\n\
             authentication-results: {results}\r\n\
             X-MS-Exchange-Organization-AuthSource: AM0PR01MB1234.eurprd01.prod.exchangelabs.com\r\n\
             X-MS-Exchange-Organization-AuthAs: {auth_as}\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=\"iso-8859-1\"\r\n\r\n#prendo\r\n",
            hd = helpdesk.0,
            subject = notice.subject,
        )
    };
    // From outside, claiming Giulia's address: refused, the requester hears nothing.
    let before = server.read_inbox(&requester, &requester_pw).len();
    step(exchange_reply(
        "Anonymous",
        "spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=evil.example; dkim=none (message not signed) \
         header.d=none;dmarc=fail action=quarantine header.from=example.test;compauth=fail reason=000",
        "x1",
    ));
    assert_eq!(tickets(&sandbox)[0]["status"], "new");
    assert_eq!(server.read_inbox(&requester, &requester_pw).len(), before);
    // Giulia from Outlook in the tenant: taken in, the requester gets the take-in letter.
    step(exchange_reply(
        "Internal",
        "dkim=none (message not signed) header.d=none;dmarc=none action=none header.from=example.test;",
        "g1",
    ));
    assert_eq!(tickets(&sandbox)[0]["status"], "assigned");
    let letters = server.read_inbox(&requester, &requester_pw);
    assert_eq!(letters.len(), before + 1);
    let letter = sportello::ingest::parse::parse_mail(letters.last().expect("letter"), 1 << 22).expect("parse");
    assert!(letter.text.contains("Giulia Bianchi"), "{}", letter.text);
}

/// A first start with `since` says what it takes of the mail already there, not that it
/// leaves it all alone.
#[test]
fn a_first_start_with_since_says_it_takes_the_old_unread_mail() {
    let Some(server) = MailServer::from_env("a_first_start_with_since_says_it_takes_the_old_unread_mail") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let (requester, _) = server.add_user("requester");
    for n in 0..3 {
        let old = simple_message(
            &requester,
            &format!("Vecchia {n}"),
            &format!("since{n}@example.test"),
            "Ieri.",
        );
        server.deliver(&helpdesk.0, &old);
    }
    // One more, already read in a mail client: `since` leaves it alone.
    server.deliver(
        &helpdesk.0,
        &simple_message(&requester, "Letta ieri", "since-read@example.test", "Già letta."),
    );
    server.mark_seen(&helpdesk.0, "Letta ieri");
    let sandbox = Sandbox::with_config(&imap_config(&server, &helpdesk, "none", ""));
    let out = sandbox
        .command(&["run", "--once"])
        .env("SPORTELLO_LOG", "info")
        .output()
        .expect("run the daemon");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the 3 unread messages received since 2000-01-01 are taken; the 1 other messages"),
        "{}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("only mail arriving from now on"),
        "{}",
        stderr(&out)
    );
    assert_eq!(tickets(&sandbox).as_array().map(Vec::len), Some(3));
}

/// A fresh data folder on a mailbox full of old mail: nothing of it becomes a ticket and nobody
/// is written to; mail arriving afterwards is taken; `--since` takes the old unread mail on
/// purpose, once.
#[test]
fn a_first_start_on_a_full_mailbox_takes_only_new_mail() {
    let Some(server) = MailServer::from_env("a_first_start_on_a_full_mailbox_takes_only_new_mail") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let (requester, requester_pw) = server.add_user("requester");
    for n in 0..3 {
        let old = simple_message(
            &requester,
            &format!("Vecchia {n}"),
            &format!("old{n}@example.test"),
            "Di mesi fa.",
        );
        server.deliver(&helpdesk.0, &old);
    }
    let sandbox = Sandbox::with_config(&first_start_config(&server, &helpdesk, "none", ""));
    let out = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("first start on this folder"),
        "it says so: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("the 3 messages already there are left alone"),
        "{}",
        stderr(&out)
    );
    assert_eq!(tickets(&sandbox).as_array().map(Vec::len), Some(0));
    assert!(
        server.read_inbox(&requester, &requester_pw).is_empty(),
        "nobody was written to"
    );

    server.deliver(
        &helpdesk.0,
        &simple_message(&requester, "Nuova", "new1@example.test", "Oggi."),
    );
    let out = sandbox.run(&["run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list = tickets(&sandbox);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["subject"], "Nuova");
    assert!(!stderr(&out).contains("first start"), "a restart is not a first start");

    // A day after today takes nothing; yesterday takes the three old unread ones, once.
    let today = chrono::Local::now().date_naive();
    let tomorrow = (today + chrono::Days::new(1)).format("%Y-%m-%d").to_string();
    let out = sandbox.run(&["run", "--once", "--since", &tomorrow]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(tickets(&sandbox).as_array().map(Vec::len), Some(1));
    let yesterday = (today - chrono::Days::new(1)).format("%Y-%m-%d").to_string();
    for _ in 0..2 {
        let out = sandbox.run(&["run", "--once", "--since", &yesterday]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(tickets(&sandbox).as_array().map(Vec::len), Some(4));
    }
    assert_eq!(
        server.read_inbox(&requester, &requester_pw).len(),
        4,
        "one acknowledgment each"
    );
}

/// A second data folder pointed at a mailbox another one works (a staging copy, a mistyped
/// data_dir) refuses to start and says why; `--take-over` hands the mailbox over on purpose.
#[test]
fn a_second_data_folder_on_a_worked_mailbox_refuses_to_start() {
    let Some(server) = MailServer::from_env("a_second_data_folder_on_a_worked_mailbox_refuses_to_start") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let (requester, requester_pw) = server.add_user("requester");
    let config = first_start_config(&server, &helpdesk, "none", "");
    let live = Sandbox::with_config(&config);
    assert_eq!(code(&live.run(&["run", "--once"])), 0);
    server.deliver(
        &helpdesk.0,
        &simple_message(&requester, "Aiuto", "r1@example.test", "Testo."),
    );
    assert_eq!(code(&live.run(&["run", "--once"])), 0);
    assert_eq!(server.read_inbox(&requester, &requester_pw).len(), 1);

    let staging = Sandbox::with_config(&config);
    server.deliver(
        &helpdesk.0,
        &simple_message(&requester, "Ancora", "r2@example.test", "Testo."),
    );
    let out = staging.run(&["run", "--once"]);
    assert_eq!(code(&out), 78, "a configuration error: {}", stderr(&out));
    assert!(
        stderr(&out).contains("another Sportello data folder"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("--take-over"),
        "it says how to hand over: {}",
        stderr(&out)
    );
    assert_eq!(
        server.read_inbox(&requester, &requester_pw).len(),
        1,
        "the staging copy sent nothing"
    );

    // The live one goes on and takes the new mail.
    assert_eq!(code(&live.run(&["run", "--once"])), 0);
    assert_eq!(tickets(&live).as_array().map(Vec::len), Some(2));

    // Handed over on purpose: the new data folder starts at the end and is not refused again.
    let out = staging.run(&["run", "--once", "--take-over"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(code(&staging.run(&["run", "--once"])), 0);
    assert_eq!(
        tickets(&staging).as_array().map(Vec::len),
        Some(0),
        "nothing old was taken"
    );
    server.deliver(
        &helpdesk.0,
        &simple_message(&requester, "Dopo", "r3@example.test", "Testo."),
    );
    assert_eq!(code(&staging.run(&["run", "--once"])), 0);
    assert_eq!(tickets(&staging).as_array().map(Vec::len), Some(1));
    // Now the old one is the stranger.
    assert_eq!(code(&live.run(&["run", "--once"])), 78);
}

/// Issue 16, section 3, the restore drill: a backup taken while the daemon works through an
/// IMAP backlog restores into a fresh data folder whose daemon then finishes the backlog,
/// every message stored once and every new ticket acknowledged once.
#[test]
fn a_backup_taken_during_a_backlog_restores_and_finishes_it_once() {
    let Some(server) = MailServer::from_env("a_backup_taken_during_a_backlog") else {
        return;
    };
    const BACKLOG: usize = 1500;
    let backlog: Vec<Vec<u8>> = (0..BACKLOG)
        .map(|i| {
            simple_message(
                &format!("cittadino{i}@example.org"),
                &format!("Richiesta {i}"),
                &format!("b{i}@example.org"),
                "testo della richiesta",
            )
        })
        .collect();
    let helpdesk = server.add_user("helpdesk");
    // Mail that arrives after the daemon's first start, as in production.
    let text = first_start_config(&server, &helpdesk, "none", "");
    let text = text.replace("[smtp]\nkind = \"smtp\"", "[smtp]\nkind = \"file\"\n[unused_smtp]");
    let text = text.split("[unused_smtp]").next().expect("config head").to_string()
        + "[intake]\nack_rate_per_hour = 10000\nbatch_size = 25\n";
    let first = Sandbox::with_config(&text);
    let out = first.run(&["run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    server.import_mbox(&helpdesk.0, &backlog);
    let stored = |sandbox: &Sandbox| {
        rusqlite::Connection::open(sandbox.path("var/sportello.db"))
            .and_then(|c| {
                c.query_row("SELECT count(*) FROM messages WHERE direction = 'in'", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .unwrap_or(0) as usize
    };
    let mut daemon = first.spawn_daemon(&["run"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while stored(&first) < BACKLOG / 5 {
        assert!(Instant::now() < deadline, "the daemon stalled");
        std::thread::sleep(Duration::from_millis(5));
    }
    let file = first.path("backup.tar");
    let out = first.run(&["backup", "--out", &file.display().to_string()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let in_backup = stored(&first);
    // The machine is lost a little later, the backlog still unfinished or not.
    std::thread::sleep(Duration::from_millis(300));
    daemon.crash();
    let out = first.run(&["backup", "--verify", &file.display().to_string()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("sound"), "{}", stdout(&out));

    let second = Sandbox::with_config(&text);
    let out = second.run(&["restore", &file.display().to_string()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let restored = stored(&second);
    assert!(
        restored >= BACKLOG / 5 && restored <= in_backup && restored < BACKLOG,
        "a snapshot mid-backlog: {restored} (at least {} stored before it, {in_backup} after)",
        BACKLOG / 5
    );
    let out = second.run(&["run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let conn = rusqlite::Connection::open(second.path("var/sportello.db")).expect("db");
    let (messages, distinct): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT dedup_key) FROM messages WHERE direction = 'in'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count");
    assert_eq!(
        (messages as usize, distinct as usize),
        (BACKLOG, BACKLOG),
        "every message once"
    );
    let (acks, acked): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT ticket_id) FROM outbox WHERE purpose = 'ack'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("acks");
    assert_eq!(
        (acks as usize, acked as usize),
        (BACKLOG, BACKLOG),
        "every ticket acknowledged once"
    );
    // Restoring over a folder with data is refused.
    let out = second.run(&["restore", &file.display().to_string()]);
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
}
