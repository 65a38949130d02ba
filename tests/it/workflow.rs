//! The contract's whole procedure on the embedded defaults (Maildir/ingest in, files out),
//! played by a requester and two operators, with a spoofed command, a mistyped tag and a
//! phone ticket opened by mail.

use crate::support::{Sandbox, code, stderr, stdout};
use crate::workflow_support::*;

#[test]
fn the_whole_procedure_by_mail() {
    let sandbox = Sandbox::with_config(CONFIG);
    let requester = "arch.ferrari@example.org";
    let giulia = "giulia.bianchi@comune.example.it";
    let luca = "luca.verdi@comune.example.it";

    // 1. New request → acknowledgment, first-level operators notified.
    let request = format!(
        "From: Anna Ferrari <{requester}>\r\nTo: assistenza@comune.example.it\r\nSubject: Firma non valida sul portale\r\n\
         Message-ID: <req1@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIl portale rifiuta il mio file .p7m.\r\n"
    );
    assert!(ingest(&sandbox, "2026-03-09T09:00:00+01:00", request).contains("new ticket TCK-2026-00001"));
    assert!(last(&sandbox, "ack", requester).text.contains("[TCK-2026-00001]"));
    assert_eq!(count(&sandbox, "notify", giulia), 1);
    assert_eq!(count(&sandbox, "notify", "marco.rossi"), 1);
    assert_eq!(
        count(&sandbox, "notify", luca),
        0,
        "second level is not bothered with new requests"
    );
    let giulia_notice = last(&sandbox, "notify", giulia).message_id;

    // 2. Take-in: the confirmation names the technician.
    let take = operator_mail(
        giulia,
        "Re: [TCK-2026-00001] Nuova richiesta",
        Some(&giulia_notice),
        true,
        "g1",
        "#prendo",
    );
    ingest(&sandbox, "2026-03-09T09:20:00+01:00", take);
    let confirmation = last(&sandbox, "take_in", requester);
    assert!(confirmation.text.contains("Giulia Bianchi"), "{}", confirmation.text);
    let t = ticket(&sandbox, "TCK-2026-00001");
    assert_eq!(t["status"], "assigned");
    assert_eq!(t["assignee"], giulia);

    // #coda: who holds it, who asked, which deadline runs (issue 21, item 18).
    let queue = operator_mail(giulia, "coda", None, true, "g-queue", "#coda");
    ingest(&sandbox, "2026-03-09T09:25:00+01:00", queue);
    let queue = last(&sandbox, "operator_reply", giulia);
    assert!(
        queue.text.contains("TCK-2026-00001  liv.1  risoluzione entro"),
        "{}",
        queue.text
    );
    assert!(
        queue
            .text
            .contains("Firma non valida sul portale · richiedente Anna Ferrari · in carico a Giulia Bianchi"),
        "{}",
        queue.text
    );

    // 3. An untagged answer goes to the requester from the help desk, signed by Giulia.
    let answer = operator_mail(
        giulia,
        "Re: [TCK-2026-00001] x",
        Some(&giulia_notice),
        true,
        "g2",
        "Provi a rifirmare con CAdES.\n\n> citazione",
    );
    ingest(&sandbox, "2026-03-09T10:00:00+01:00", answer);
    let answer = last(&sandbox, "answer", requester);
    assert!(answer.text.contains("Provi a rifirmare con CAdES.") && answer.text.contains("Giulia Bianchi"));
    assert!(
        answer
            .text
            .contains("From: \"Help desk CPortal\" <assistenza@comune.example.it>"),
        "{}",
        answer.text
    );
    assert!(
        !answer.text.contains(&format!("<{giulia}>")),
        "the operator's address is never exposed"
    );
    assert!(!answer.text.contains("citazione"), "quoted history is not forwarded");
    // Issue 14, item 8: threaded by the requester's and our own Message-IDs, never the
    // operators' (theirs name internal mail hosts).
    assert!(
        answer.text.contains("In-Reply-To: <req1@example.org>"),
        "{}",
        answer.text
    );
    assert!(
        !answer.text.contains("g1@comune.example.it") && !answer.text.contains("g2@comune.example.it"),
        "{}",
        answer.text
    );

    // 4. Second level: the requester is told, Luca gets the whole screening.
    let escalate = operator_mail(
        giulia,
        "Re: x",
        Some(&giulia_notice),
        true,
        "g3",
        "#secondolivello Luca Verdi\n#nota\nCertificato scaduto?",
    );
    ingest(&sandbox, "2026-03-09T10:30:00+01:00", escalate);
    assert!(last(&sandbox, "escalated", requester).text.contains("secondo livello"));
    let luca_notice = last(&sandbox, "notify", luca);
    assert!(
        luca_notice.text.contains("Il portale rifiuta il mio file .p7m."),
        "screening carries the request: {}",
        luca_notice.text
    );
    assert!(
        luca_notice.text.contains("Certificato scaduto?"),
        "and the notes: {}",
        luca_notice.text
    );
    // Issue 21, item 20: local times, Italian labels, a footer that fits an assigned ticket.
    assert!(
        luca_notice.text.contains("alle 09:20  "),
        "local time: {}",
        luca_notice.text
    );
    assert!(luca_notice.text.contains("(presa in carico)"), "{}", luca_notice.text);
    assert!(!luca_notice.text.contains("(take_in)"), "{}", luca_notice.text);
    assert!(
        !luca_notice.text.contains("#prendo per prenderla"),
        "{}",
        luca_notice.text
    );
    assert!(
        luca_notice.text.contains("#risolto + testo per chiuderla"),
        "{}",
        luca_notice.text
    );
    assert!(
        luca_notice
            .text
            .contains("Richiedente: Anna Ferrari <arch.ferrari@example.org>"),
        "{}",
        luca_notice.text
    );
    assert_eq!(ticket(&sandbox, "TCK-2026-00001")["level"], 2);

    // 5. Remote session: an invitation with a valid .ics.
    let remote = operator_mail(
        luca,
        "Re: x",
        Some(&luca_notice.message_id),
        true,
        "l1",
        "#remoto 2026-03-10 15:00 45",
    );
    ingest(&sandbox, "2026-03-09T11:00:00+01:00", remote);
    let invitation = last(&sandbox, "remote", requester);
    for needle in [
        "BEGIN:VCALENDAR",
        "METHOD:REQUEST",
        "DTSTART:20260310T140000Z",
        "DTEND:20260310T144500Z",
        "END:VCALENDAR",
    ] {
        assert!(
            invitation.text.contains(needle),
            "{needle} missing:\n{}",
            invitation.text
        );
    }

    // 6. Resolution: the closing mail; the ticket is resolved by Luca.
    let resolve = operator_mail(
        luca,
        "Re: x",
        Some(&luca_notice.message_id),
        true,
        "l2",
        "#risolto\n#tempo 45m\nRinnovato il certificato di firma.",
    );
    ingest(&sandbox, "2026-03-10T15:50:00+01:00", resolve);
    let closing = last(&sandbox, "closing", requester);
    assert!(closing.text.contains("Rinnovato il certificato di firma."));
    assert_eq!(ticket(&sandbox, "TCK-2026-00001")["status"], "resolved");

    // 7. The requester's reply reopens it, straight back to Luca.
    let reopen = format!(
        "From: Anna Ferrari <{requester}>\r\nTo: assistenza@comune.example.it\r\nSubject: Re: [TCK-2026-00001] Risolta\r\n\
         Message-ID: <req2@example.org>\r\nIn-Reply-To: <{}>\r\nContent-Type: text/plain\r\n\r\nIl problema si ripresenta oggi.\r\n",
        closing.message_id
    );
    ingest(&sandbox, "2026-03-11T09:00:00+01:00", reopen);
    let t = ticket(&sandbox, "TCK-2026-00001");
    assert_eq!(
        (t["status"].as_str(), t["assignee"].as_str(), t["reopened"].as_u64()),
        (Some("assigned"), Some(luca), Some(1))
    );
    assert!(last(&sandbox, "reopened", requester).text.contains("Luca Verdi"));
    let luca_notice = last(&sandbox, "notify", luca);
    assert!(luca_notice.text.contains("Il problema si ripresenta"));

    // 8. Resolved again.
    let resolve = operator_mail(
        luca,
        "Re: x",
        Some(&luca_notice.message_id),
        true,
        "l3",
        "#risolto\nAggiornato il driver del lettore.",
    );
    ingest(&sandbox, "2026-03-11T10:00:00+01:00", resolve);
    assert_eq!(count(&sandbox, "closing", requester), 2);
    assert_eq!(ticket(&sandbox, "TCK-2026-00001")["status"], "resolved");

    // 9. A spoofed command (no authentication) changes nothing and alerts the supervisors.
    let spoof = operator_mail(
        giulia,
        "Re: x",
        Some(&giulia_notice),
        false,
        "s1",
        "#assegna Marco Rossi",
    );
    ingest(&sandbox, "2026-03-11T11:00:00+01:00", spoof);
    assert_eq!(ticket(&sandbox, "TCK-2026-00001")["assignee"], luca);
    assert!(last(&sandbox, "security", luca).text.contains("ALLARME"));

    // 10. A mistyped tag is answered and changes nothing.
    let typo = operator_mail(
        luca,
        "Re: x",
        Some(&luca_notice.message_id),
        true,
        "l4",
        "#riapri\ntesto",
    );
    ingest(&sandbox, "2026-03-11T11:30:00+01:00", typo);
    let reply = last(&sandbox, "operator_reply", luca);
    assert!(
        reply.text.contains("#riapri") && reply.text.contains("NON"),
        "{}",
        reply.text
    );

    // 11. A phone ticket opened by mail.
    let phone = operator_mail(
        giulia,
        "SPID non funziona",
        None,
        true,
        "g9",
        "#nuovo Mario Rossi\n#telefono +39 333 1234567\nNon riesce ad accedere con SPID.",
    );
    ingest(&sandbox, "2026-03-11T12:00:00+01:00", phone);
    let t = ticket(&sandbox, "TCK-2026-00002");
    assert_eq!((t["channel"].as_str(), t["requester"].as_str()), (Some("phone"), None));

    // The audit trail has every step, with who did it.
    let events: Vec<(String, String)> = ticket(&sandbox, "TCK-2026-00001")["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or("").to_string(),
                e["actor"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (action, actor) in [
        ("created", requester),
        ("assigned", giulia),
        ("answered", giulia),
        ("escalated", giulia),
        ("note", giulia),
        ("remote", luca),
        ("resolved", luca),
        ("time", luca),
        ("reopened", requester),
    ] {
        assert!(
            events.iter().any(|(a, who)| a == action && who == actor),
            "missing {action} by {actor}: {events:?}"
        );
    }
}

#[test]
fn commands_need_a_keyed_reference_to_the_operators_own_notification() {
    let sandbox = Sandbox::with_config(CONFIG);
    let request = "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Aiuto\r\nMessage-ID: <q1@example.org>\r\n\r\ntesto\r\n";
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request.to_string());
    let marco_notice = last(&sandbox, "notify", "marco.rossi").message_id;
    // Giulia replies quoting Marco's notification: authenticated, but not her key.
    let take = operator_mail(
        "giulia.bianchi@comune.example.it",
        "Re: [TCK-2026-00001] Aiuto",
        Some(&marco_notice),
        true,
        "g1",
        "#prendo",
    );
    ingest(&sandbox, "2026-03-09T09:10:00+01:00", take);
    assert_eq!(ticket(&sandbox, "TCK-2026-00001")["status"], "new");
    assert!(
        last(&sandbox, "operator_reply", "giulia.bianchi")
            .text
            .contains("rispondendo a una notifica")
    );
}

#[test]
fn phone_tickets_from_the_command_line() {
    let sandbox = Sandbox::with_config(CONFIG);
    let now = "--now=2026-03-09T09:00:00+01:00";
    let out = sandbox.run(&[
        now,
        "phone",
        "--number",
        "+39 333 1234567",
        "--name",
        "Mario Rossi",
        "--summary",
        "Non accede con SPID",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "TCK-2026-00001");
    let t = ticket(&sandbox, "TCK-2026-00001");
    assert_eq!((t["channel"].as_str(), t["requester"].as_str()), (Some("phone"), None));
    assert_eq!(count(&sandbox, "ack", "@"), 0, "no address, no acknowledgment");
    assert_eq!(count(&sandbox, "notify", "giulia.bianchi"), 1);
    let notice = last(&sandbox, "notify", "giulia.bianchi").message_id;
    let with_mail = sandbox.run(&[
        now,
        "phone",
        "--number",
        "06 1234567",
        "--email",
        "m@example.org",
        "--summary",
        "Pagamento pagoPA",
    ]);
    assert_eq!(code(&with_mail), 0, "{}", stderr(&with_mail));
    assert_eq!(count(&sandbox, "ack", "m@example.org"), 1);
    assert_eq!(
        code(&sandbox.run(&[now, "phone", "--number", "chiamami", "--summary", "x"])),
        64
    );
    // The call-back record is what takes a phone ticket without e-mail in.
    let callback = operator_mail(
        "giulia.bianchi@comune.example.it",
        "Re: x",
        Some(&notice),
        true,
        "c1",
        "#telefono\nRichiamato, risolto al telefono.",
    );
    ingest(&sandbox, "2026-03-09T09:40:00+01:00", callback);
    let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    let phone_at: Option<String> = conn
        .query_row(
            "SELECT take_in_phone_at FROM cycles WHERE ticket_id = 'TCK-2026-00001'",
            [],
            |r| r.get(0),
        )
        .expect("cycle");
    assert_eq!(phone_at.as_deref(), Some("2026-03-09T08:40:00Z"));
}

#[test]
fn resolved_tickets_are_archived_after_the_configured_idle_days_and_still_reopen() {
    let sandbox = Sandbox::with_config(CONFIG);
    let request = "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Pagamento\r\nMessage-ID: <p1@example.org>\r\n\r\npagoPA non va\r\n";
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request.to_string());
    let notice = last(&sandbox, "notify", "giulia.bianchi").message_id;
    let resolve = operator_mail(
        "giulia.bianchi@comune.example.it",
        "Re: x",
        Some(&notice),
        true,
        "r1",
        "#risolto\nRiprovi ora.",
    );
    ingest(&sandbox, "2026-03-09T10:00:00+01:00", resolve);
    assert_eq!(
        code(&sandbox.run(&["--now=2026-04-07T10:00:00+02:00", "run", "--once"])),
        0
    );
    assert_eq!(
        ticket(&sandbox, "TCK-2026-00001")["status"],
        "resolved",
        "29 days: not yet"
    );
    assert_eq!(
        code(&sandbox.run(&["--now=2026-04-09T10:00:00+02:00", "run", "--once"])),
        0
    );
    assert_eq!(ticket(&sandbox, "TCK-2026-00001")["status"], "archived");
    let closing = last(&sandbox, "closing", "a@example.org").message_id;
    let reply = format!(
        "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Re: x\r\nMessage-ID: <p2@example.org>\r\n\
         In-Reply-To: <{closing}>\r\n\r\nDi nuovo lo stesso errore.\r\n"
    );
    ingest(&sandbox, "2026-04-10T09:00:00+02:00", reply);
    let t = ticket(&sandbox, "TCK-2026-00001");
    assert_eq!(
        (t["status"].as_str(), t["assignee"].as_str()),
        (Some("assigned"), Some("giulia.bianchi@comune.example.it"))
    );
}

#[test]
fn a_bare_thank_you_does_not_reopen() {
    let sandbox = Sandbox::with_config(CONFIG);
    let request = "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: PDF/A\r\nMessage-ID: <t1@example.org>\r\n\r\nConversione PDF/A\r\n";
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request.to_string());
    let notice = last(&sandbox, "notify", "giulia.bianchi").message_id;
    let resolve = operator_mail(
        "giulia.bianchi@comune.example.it",
        "Re: x",
        Some(&notice),
        true,
        "r1",
        "#risolto\nUsi il convertitore.",
    );
    ingest(&sandbox, "2026-03-09T10:00:00+01:00", resolve);
    let thanks = "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Re: [TCK-2026-00001] PDF/A\r\n\
                  Message-ID: <t2@example.org>\r\n\r\nGrazie, tutto risolto!\r\n";
    ingest(&sandbox, "2026-03-09T11:00:00+01:00", thanks.to_string());
    let t = ticket(&sandbox, "TCK-2026-00001");
    assert_eq!(
        (t["status"].as_str(), t["reopened"].as_u64()),
        (Some("resolved"), Some(0))
    );
    assert!(
        t["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["action"] == "thanks")
    );
    assert_eq!(
        count(&sandbox, "notify", "giulia.bianchi"),
        2,
        "the technician still sees the thanks"
    );
}

#[test]
fn mail_that_keeps_failing_is_reported_once_and_never_dropped() {
    // An SMTP server that is not there (a closed loopback port).
    let config = format!("{CONFIG}\n[smtp]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = 9\ntls = \"none\"\n");
    let sandbox = Sandbox::with_config(&config);
    let request = "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: x\r\nMessage-ID: <f1@example.org>\r\n\r\ny\r\n";
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request.to_string());
    for hour in 0..12 {
        let now = format!("--now=2026-03-09T{:02}:00:00+01:00", 10 + hour);
        assert_eq!(code(&sandbox.run(&[&now, "run", "--once"])), 0);
    }
    let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    let (pending, stuck): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL AND purpose <> 'stuck'),
                    (SELECT count(*) FROM outbox WHERE purpose = 'stuck')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("counts");
    assert!(
        pending >= 3,
        "the acknowledgment and the notices are all still queued ({pending})"
    );
    assert_eq!(stuck, pending, "each stuck mail is reported once to the supervisors");
}

fn sla_status(sandbox: &Sandbox, now: &str) -> serde_json::Value {
    let out = sandbox.run(&[&format!("--now={now}"), "sla", "status", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("json")
}

#[test]
fn the_sla_monitor_warns_once_and_reports_a_breach_once() {
    let sandbox = Sandbox::with_config(CONFIG);
    // Friday 16:50: e-mail take-in due Monday 08:35 (10 minutes Friday, 35 Monday).
    let request = "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: SPID\r\nMessage-ID: <m1@example.org>\r\n\r\nx\r\n";
    ingest(&sandbox, "2026-03-06T16:50:00+01:00", request.to_string());
    let s = sla_status(&sandbox, "2026-03-07T12:00:00+01:00");
    assert_eq!(
        (s[0]["state"].as_str(), s[0]["left_minutes"].as_i64()),
        (Some("ok"), Some(35)),
        "{s}"
    );
    assert_eq!(s[0]["due"], "2026-03-09T08:35:00+01:00");
    // Monday 08:30: 40 of 45 minutes gone → at risk; the daemon warns first level once.
    for _ in 0..2 {
        assert_eq!(
            code(&sandbox.run(&["--now=2026-03-09T08:30:00+01:00", "run", "--once"])),
            0
        );
    }
    assert_eq!(sla_status(&sandbox, "2026-03-09T08:30:00+01:00")[0]["state"], "at_risk");
    let warnings = |who: &str| {
        outbox(&sandbox)
            .iter()
            .filter(|m| m.purpose == "notify" && m.recipients.contains(who) && m.text.contains("Scadenza vicina"))
            .count()
    };
    assert_eq!(warnings("giulia.bianchi"), 1, "once, across passes");
    assert_eq!(warnings("marco.rossi"), 1);
    // 09:00: breached → the supervisor (Luca) is told, once.
    for _ in 0..2 {
        assert_eq!(
            code(&sandbox.run(&["--now=2026-03-09T09:00:00+01:00", "run", "--once"])),
            0
        );
    }
    let s = sla_status(&sandbox, "2026-03-09T09:00:00+01:00");
    assert_eq!(
        (s[0]["state"].as_str(), s[0]["left_minutes"].as_i64()),
        (Some("breached"), Some(-25))
    );
    let breaches = outbox(&sandbox)
        .iter()
        .filter(|m| m.recipients.contains("luca.verdi") && m.text.contains("SLA SCADUTO"))
        .count();
    assert_eq!(breaches, 1);
    // Taken in: the resolution clock runs (6 h for level 1) and the state is ok again.
    let notice = last(&sandbox, "notify", "giulia.bianchi").message_id;
    ingest(
        &sandbox,
        "2026-03-09T09:10:00+01:00",
        operator_mail(
            "giulia.bianchi@comune.example.it",
            "Re: x",
            Some(&notice),
            true,
            "t1",
            "#prendo",
        ),
    );
    let s = sla_status(&sandbox, "2026-03-09T09:10:00+01:00");
    assert_eq!(
        (s[0]["phase"].as_str(), s[0]["state"].as_str(), s[0]["due"].as_str()),
        (Some("resolution"), Some("ok"), Some("2026-03-09T16:10:00+01:00"))
    );
}

#[test]
fn a_new_suspension_moves_due_times_and_tells_requesters_once() {
    let sandbox = Sandbox::with_config(CONFIG);
    for (i, who) in ["a@example.org", "a@example.org", "b@example.org"].iter().enumerate() {
        let m = format!(
            "From: {who}\r\nTo: assistenza@comune.example.it\r\nSubject: Richiesta {i}\r\nMessage-ID: <s{i}@example.org>\r\n\r\nx\r\n"
        );
        ingest(&sandbox, "2026-07-30T16:30:00+02:00", m);
    }
    // Thursday 16:30 + 45 min → Friday 31 July 08:15, until a suspension closes that Friday.
    assert_eq!(
        sla_status(&sandbox, "2026-07-30T16:40:00+02:00")[0]["due"],
        "2026-07-31T08:15:00+02:00"
    );
    let out = sandbox.run(&[
        "--now=2026-07-20T10:00:00+02:00",
        "suspension",
        "add",
        "--from",
        "2026-07-31",
        "--to",
        "2026-07-31",
        "--reason",
        "festa del patrono",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("2 requester(s)"), "{}", stdout(&out));
    assert_eq!(
        sla_status(&sandbox, "2026-07-30T16:40:00+02:00")[0]["due"],
        "2026-08-03T08:15:00+02:00"
    );
    let notices: Vec<Sent> = outbox(&sandbox)
        .into_iter()
        .filter(|m| m.purpose == "suspension")
        .collect();
    assert_eq!(notices.len(), 2, "one per requester, not per ticket");
    let to_a = notices
        .iter()
        .find(|m| m.recipients == "a@example.org")
        .expect("a is told");
    assert!(
        to_a.text.contains("TCK-2026-00001") && to_a.text.contains("TCK-2026-00002"),
        "{}",
        to_a.text
    );
    assert!(to_a.text.contains("venerdì 31 luglio 2026"), "{}", to_a.text);
    let list: serde_json::Value =
        serde_json::from_str(&stdout(&sandbox.run(&["suspension", "list", "--json"]))).expect("json");
    assert!(list[0]["announced_at"].is_string());
    // The service notice for the portal.
    let notice = sandbox.run(&["--now=2026-07-31T10:00:00+02:00", "notice", "--format", "json"]);
    let notice: serde_json::Value = serde_json::from_str(&stdout(&notice)).expect("json");
    assert_eq!(notice["open_now"], false);
    assert_eq!(notice["next_opening"], "2026-08-03T08:00:00+02:00");
    assert_eq!(notice["suspensions"][0]["current"], true);
    let html = stdout(&sandbox.run(&["--now=2026-07-31T10:00:00+02:00", "notice", "--format", "html"]));
    assert!(
        html.starts_with("<section class=\"sportello-notice\" lang=\"it\"") && html.contains("role=\"alert\""),
        "{html}"
    );
    // Cancelling it moves the due time back.
    assert_eq!(
        code(&sandbox.run(&["--now=2026-07-21T10:00:00+02:00", "suspension", "cancel", "1"])),
        0
    );
    assert_eq!(
        sla_status(&sandbox, "2026-07-30T16:40:00+02:00")[0]["due"],
        "2026-07-31T08:15:00+02:00"
    );
}

#[test]
fn resolutions_feed_the_knowledge_base_that_operators_curate_and_search_by_mail() {
    let sandbox = Sandbox::with_config(CONFIG);
    let giulia = "giulia.bianchi@comune.example.it";
    let request = "From: Anna Ferrari <anna@example.org>\r\nTo: assistenza@comune.example.it\r\nSubject: Firma digitale non valida\r\n\
                   Message-ID: <k1@example.org>\r\n\r\nIl portale rifiuta il file firmato, sono Anna Ferrari tel 333 1234567\r\n";
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request.to_string());
    let notice = last(&sandbox, "notify", giulia).message_id;
    ingest(
        &sandbox,
        "2026-03-09T09:30:00+01:00",
        operator_mail(
            giulia,
            "Re: x",
            Some(&notice),
            true,
            "k2",
            "#risolto\n#kb Firma non valida: usare CAdES\nRifirmi il file in CAdES (.p7m).",
        ),
    );
    let out = sandbox.run(&["kb", "search", "documento firmato rifiutato", "--json"]);
    let hits: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(hits[0]["ticket"], "TCK-2026-00001", "{hits}");
    assert_eq!(hits[0]["title"], "Firma non valida: usare CAdES");
    assert_eq!(hits[0]["reviewed"], true);
    // The next request like it comes with the past solution in the operators' notice.
    let again = "From: b@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: firma non accettata\r\n\
                 Message-ID: <k3@example.org>\r\n\r\nIl file firmato viene rifiutato dal portale\r\n";
    ingest(&sandbox, "2026-03-10T09:00:00+01:00", again.to_string());
    let notice = last(&sandbox, "notify", giulia);
    assert!(
        notice.text.contains("KB-1 Firma non valida: usare CAdES"),
        "{}",
        notice.text
    );
    // Issue 19: the operator says the suggestion does not fit this request; the base learns.
    let confidence = |sandbox: &Sandbox| {
        let out = sandbox.run(&[
            "kb",
            "search",
            "firma non accettata, il file firmato viene rifiutato",
            "--json",
        ]);
        let hits: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        hits[0]["confidence"].as_f64().expect("confidence")
    };
    let before = confidence(&sandbox);
    ingest(
        &sandbox,
        "2026-03-10T09:02:00+01:00",
        operator_mail(giulia, "Re: x", Some(&notice.message_id), true, "k3b", "#kb no KB-1"),
    );
    assert!(
        confidence(&sandbox) < before,
        "a wrong mark lowers the entry for that request"
    );
    // A number no entry has is refused, in the operator's language: nothing was marked.
    ingest(
        &sandbox,
        "2026-03-10T09:02:30+01:00",
        operator_mail(giulia, "Re: x", Some(&notice.message_id), true, "k3d", "#kb no KB-99"),
    );
    let reply = last(&sandbox, "operator_reply", giulia);
    assert!(
        reply.text.contains("KB-99 non esiste nella base di conoscenza")
            && !reply.text.contains("segnata come non adatta"),
        "{}",
        reply.text
    );
    // A request the base has no answer for: the notice says so.
    let unrelated = "From: c@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: mensa scolastica\r\n\
                     Message-ID: <k3c@example.org>\r\n\r\nCome pago la retta della mensa di mio figlio?\r\n";
    ingest(&sandbox, "2026-03-10T09:03:00+01:00", unrelated.to_string());
    let notice = last(&sandbox, "notify", giulia);
    assert!(
        notice.text.contains("Nessuna soluzione simile") && !notice.text.contains("KB-1"),
        "{}",
        notice.text
    );
    // #kb QUERY in a new mail answers with the results.
    ingest(
        &sandbox,
        "2026-03-10T09:05:00+01:00",
        operator_mail(giulia, "ricerca", None, true, "k4", "#kb firmare p7m"),
    );
    let reply = last(&sandbox, "operator_reply", giulia);
    assert!(
        reply.text.contains("KB-1") && reply.text.contains("CAdES"),
        "{}",
        reply.text
    );
    // The FAQ export holds the reviewed article, redacted.
    let dir = sandbox.path("faq");
    assert_eq!(
        code(&sandbox.run(&["kb", "export", "--out", &dir.display().to_string()])),
        0
    );
    let article = std::fs::read_to_string(dir.join("articolo-1.html")).expect("article");
    assert!(
        article.contains("CAdES") && !article.contains("Ferrari") && !article.contains("1234567"),
        "{article}"
    );
}

/// Issue 21, item 6: a repeated `#prendo` by the holder re-sent "Presa in carico" each time
/// and the report counted every one. It is a no-op, confirmed to the operator.
#[test]
fn a_repeated_take_by_the_holder_changes_nothing() {
    let sandbox = Sandbox::with_config(CONFIG);
    let requester = "anna@example.org";
    let giulia = "giulia.bianchi@comune.example.it";
    let request = format!(
        "From: {requester}\r\nTo: assistenza@comune.example.it\r\nSubject: Firma\r\nMessage-ID: <p1@example.org>\r\n\r\ntesto\r\n"
    );
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request);
    let notice = last(&sandbox, "notify", giulia).message_id;
    for (n, at) in ["09:10", "09:20", "09:30"].iter().enumerate() {
        let take = operator_mail(
            giulia,
            "Re: [TCK-2026-00001] Nuova richiesta",
            Some(&notice),
            true,
            &format!("t{n}"),
            "#prendo",
        );
        ingest(&sandbox, &format!("2026-03-09T{at}:00+01:00"), take);
    }
    assert_eq!(count(&sandbox, "take_in", requester), 1, "one presa in carico");
    let assigned = ticket(&sandbox, "TCK-2026-00001")["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "assigned")
        .count();
    assert_eq!(assigned, 1, "one take-in counted");
    let told = last(&sandbox, "operator_reply", giulia);
    assert!(told.text.contains("già assegnata a te"), "{}", told.text);
    assert_eq!(count(&sandbox, "operator_reply", giulia), 2, "each repeat is confirmed");
}

/// Issue 21, item 3: the text after `#secondolivello` (the operator's handover reasoning for
/// level 2) went to the requester as an answer. It is the handover note: level 2 gets it, the
/// requester gets the escalation letter only.
#[test]
fn the_text_after_an_escalation_is_the_handover_note_not_an_answer() {
    let sandbox = Sandbox::with_config(CONFIG);
    let requester = "anna@example.org";
    let giulia = "giulia.bianchi@comune.example.it";
    let luca = "luca.verdi@comune.example.it";
    let request = format!(
        "From: {requester}\r\nTo: assistenza@comune.example.it\r\nSubject: Firma\r\nMessage-ID: <e1@example.org>\r\n\r\ntesto\r\n"
    );
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request);
    let notice = last(&sandbox, "notify", giulia).message_id;
    let escalate = operator_mail(
        giulia,
        "Re: [TCK-2026-00001] Nuova richiesta",
        Some(&notice),
        true,
        "e2",
        "#prendo\n#secondolivello\nNota interna: il certificato dell'utente sembra revocato, serve il remoto.",
    );
    ingest(&sandbox, "2026-03-09T09:30:00+01:00", escalate);
    assert_eq!(count(&sandbox, "answer", requester), 0, "no answer to the requester");
    assert_eq!(count(&sandbox, "escalated", requester), 1, "the escalation letter");
    let letters: Vec<String> = outbox(&sandbox)
        .into_iter()
        .filter(|m| m.recipients.contains(requester))
        .map(|m| m.text)
        .collect();
    assert!(letters.iter().all(|t| !t.contains("certificato")), "{letters:?}");
    let handover = last(&sandbox, "notify", luca);
    assert!(
        handover.text.contains("certificato dell'utente sembra revocato"),
        "{}",
        handover.text
    );
}

/// Issue 21, item 19: a practice number in the text fills the ticket's practice field.
#[test]
fn a_practice_named_in_the_mail_fills_the_practice_field() {
    let sandbox = Sandbox::with_config(CONFIG);
    let request = "From: Studio Riva <studio.riva@example.org>\r\nTo: assistenza@comune.example.it\r\n\
                   Subject: Caricamento bloccato\r\nMessage-ID: <p1@example.org>\r\n\r\n\
                   Buongiorno, non riesco a caricare le tavole della pratica PdC 2026/0456.\r\n";
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request.to_string());
    assert_eq!(ticket(&sandbox, "TCK-2026-00001")["pratica"], "PdC 2026/0456");
    let notice = last(&sandbox, "notify", "giulia.bianchi@comune.example.it");
    assert!(
        notice.text.contains("da Studio Riva <studio.riva@example.org>"),
        "{}",
        notice.text
    );
}

/// Issue 14, item 4: tags below a greeting count; a tag below the text or a signature refuses
/// the mail, and no line of it reaches the requester.
#[test]
fn tags_below_a_greeting_count_and_tags_below_the_text_reach_nobody() {
    let sandbox = Sandbox::with_config(CONFIG);
    let requester = "anna@example.org";
    let giulia = "giulia.bianchi@comune.example.it";
    let request = format!(
        "From: {requester}\r\nTo: assistenza@comune.example.it\r\nSubject: Firma\r\nMessage-ID: <g1@example.org>\r\n\r\ntesto\r\n"
    );
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request);
    let notice = last(&sandbox, "notify", giulia).message_id;
    let below = operator_mail(
        giulia,
        "Re: [TCK-2026-00001] Firma",
        Some(&notice),
        true,
        "gb1",
        "Provi a rifirmare il file.\n\nGiulia Bianchi\nUfficio SUE\n#prendo",
    );
    ingest(&sandbox, "2026-03-09T09:10:00+01:00", below);
    assert_eq!(count(&sandbox, "answer", requester), 0, "nothing reached the requester");
    assert_eq!(ticket(&sandbox, "TCK-2026-00001")["status"], "new");
    let refusal = last(&sandbox, "operator_reply", giulia);
    assert!(refusal.text.contains("#prendo è alla riga 5"), "{}", refusal.text);
    let greeted = operator_mail(
        giulia,
        "Re: [TCK-2026-00001] Firma",
        Some(&notice),
        true,
        "gb2",
        "Ciao,\n#prendo\nme ne occupo io.",
    );
    ingest(&sandbox, "2026-03-09T09:15:00+01:00", greeted);
    assert_eq!(ticket(&sandbox, "TCK-2026-00001")["assignee"], giulia);
    let letters: Vec<String> = outbox(&sandbox)
        .into_iter()
        .filter(|m| m.recipients.contains(requester))
        .map(|m| m.text)
        .collect();
    assert!(letters.iter().all(|t| !t.contains("#prendo")), "{letters:?}");
}

/// Issue 14, item 7: a 2 MB one-line body makes a bounded notice that says where the rest is.
#[test]
fn a_huge_message_makes_a_bounded_notice() {
    let sandbox = Sandbox::with_config(CONFIG);
    let body = "errore ".repeat(300_000);
    let request = format!(
        "From: a@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Lungo\r\nMessage-ID: <huge@example.org>\r\n\r\n{body}\r\n"
    );
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request);
    let notice = last(&sandbox, "notify", "giulia.bianchi@comune.example.it");
    let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    let raw = sportello::outbox::message_bytes(&conn, &notice.message_id).expect("composes");
    assert!(raw.len() < 40 * 1024, "the notice is {} bytes", raw.len());
    assert!(
        notice.text.contains("il testo continua: è tutto nella richiesta"),
        "says where the rest is"
    );
    let stored = ticket(&sandbox, "TCK-2026-00001");
    assert!(
        stored["messages"][0]["text"].as_str().unwrap_or_default().len() > 2_000_000,
        "the ticket keeps it all"
    );
}

/// Issue 14, item 10: a reply re-typed in a webmail (no token, no references) that quotes the
/// acknowledgment threads into the sender's own ticket, never into someone else's.
#[test]
fn a_retyped_reply_quoting_its_number_threads_only_into_the_senders_ticket() {
    let sandbox = Sandbox::with_config(CONFIG);
    let first = "From: Anna Ferrari <anna@example.org>\r\nTo: assistenza@comune.example.it\r\nSubject: Firma\r\n\
                 Message-ID: <r1@example.org>\r\n\r\nIl portale rifiuta il file.\r\n";
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", first.to_string());
    let retyped = "From: Anna Ferrari <anna@example.org>\r\nTo: assistenza@comune.example.it\r\nSubject: risposta\r\n\
                   Message-ID: <r2@example.org>\r\n\r\nHo riprovato, stesso errore.\r\n\r\n\
                   > abbiamo ricevuto la sua richiesta di assistenza, registrata con il numero TCK-2026-00001.\r\n";
    let out = ingest(&sandbox, "2026-03-09T10:00:00+01:00", retyped.to_string());
    assert!(!out.contains("new ticket"), "{out}");
    let anna = ticket(&sandbox, "TCK-2026-00001");
    let incoming = |t: &serde_json::Value| {
        t["messages"]
            .as_array()
            .map(|m| m.iter().filter(|m| m["direction"] == "in").count())
    };
    assert_eq!(incoming(&anna), Some(2), "the request and the re-typed reply: {anna}");
    // Someone else quoting that number gets a ticket of their own, flagged as a possible duplicate.
    let other = "From: bruno@example.net\r\nTo: assistenza@comune.example.it\r\nSubject: anche io\r\n\
                 Message-ID: <r3@example.net>\r\n\r\nStesso problema di TCK-2026-00001.\r\n";
    let out = ingest(&sandbox, "2026-03-09T10:30:00+01:00", other.to_string());
    assert!(out.contains("new ticket TCK-2026-00002"), "{out}");
    assert_eq!(
        incoming(&ticket(&sandbox, "TCK-2026-00001")),
        Some(2),
        "never into another's ticket"
    );
    let notice = last(&sandbox, "notify", "giulia.bianchi@comune.example.it");
    assert!(
        notice.text.contains("possibile duplicato di TCK-2026-00001"),
        "{}",
        notice.text
    );
}

/// Issue 14, item 6: a reply carrying only a screenshot reaches the technician with the file
/// (listed and attached); an operator's own file goes to the requester with the answer.
#[test]
fn files_travel_both_ways() {
    let sandbox = Sandbox::with_config(CONFIG);
    let requester = "anna@example.org";
    let giulia = "giulia.bianchi@comune.example.it";
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    let request = format!(
        "From: {requester}\r\nTo: assistenza@comune.example.it\r\nSubject: Errore\r\nMessage-ID: <f1@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\r\n\
         --b\r\nContent-Type: image/png; name=\"schermata.png\"\r\nContent-Disposition: attachment; filename=\"schermata.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{png}\r\n--b--\r\n"
    );
    ingest(&sandbox, "2026-03-09T09:00:00+01:00", request);
    let notice = last(&sandbox, "notify", giulia);
    assert!(
        notice
            .text
            .contains("Allegati:\n  - schermata.png (image/png, 70 B) — allegato"),
        "{}",
        notice.text
    );
    assert!(
        notice.text.contains("filename=\"schermata.png\""),
        "the file is attached: {}",
        notice.text
    );
    let pdf =
        "JVBERi0xLjQKJcTl8uXrCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWlsZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9GCg==";
    let answer = format!(
        "{AUTH_PASS}From: Operatore <{giulia}>\r\nTo: assistenza@comune.example.it\r\nSubject: Re: [TCK-2026-00001] Errore\r\n\
         Message-ID: <fa1@comune.example.it>\r\nIn-Reply-To: <{id}>\r\nReferences: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"c\"\r\n\r\n--c\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Le allego la guida alla firma.\r\n--c\r\nContent-Type: application/pdf; name=\"guida-firma.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"guida-firma.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--c--\r\n",
        id = notice.message_id
    );
    ingest(&sandbox, "2026-03-09T09:30:00+01:00", answer);
    let letter = last(&sandbox, "answer", requester);
    assert!(
        letter.text.contains("Le allego la guida alla firma."),
        "{}",
        letter.text
    );
    assert!(
        letter.text.contains("filename=\"guida-firma.pdf\""),
        "the operator's file goes along: {}",
        letter.text
    );
}
