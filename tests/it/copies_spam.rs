//! Issue 15, items 5, 8 and 9 end to end through `sportello ingest`: the requester's Cc copied
//! on the answers and the closing letter (`#cc` to add and remove), a ticket closed with
//! `#spam` and its sender's next mail quarantined, no acknowledgment to a From our MX found
//! failing DMARC, and letters that greet the requester by name; then the Cc copied over the
//! real SMTP relay.

use serde_json::json;

use crate::support::{MailServer, Sandbox, code, stderr, stdout};
use crate::workflow_support::*;

const GIULIA: &str = "giulia.bianchi@comune.example.it";

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/eml")
        .join(name);
    String::from_utf8(std::fs::read(&path).expect("fixture")).expect("utf-8 fixture")
}

/// The workflow configuration with every command answered by a transcript.
fn sandbox() -> Sandbox {
    Sandbox::with_config(&format!("{CONFIG}\n[operators]\ntranscript = \"always\"\n"))
}

fn db(sandbox: &Sandbox) -> rusqlite::Connection {
    rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db")
}

fn one(sandbox: &Sandbox, sql: &str) -> i64 {
    db(sandbox).query_row(sql, [], |r| r.get(0)).expect(sql)
}

#[test]
fn the_requesters_cc_get_the_answers_and_the_closing_letter_and_cc_changes_them() {
    let sandbox = sandbox();
    // Outlook desktop, from the architect, the municipality's SUE office and the engineer in Cc.
    let opened = ingest(
        &sandbox,
        "2026-12-01T11:40:00+01:00",
        fixture("new/0012-outlook-desktop-cc.eml"),
    );
    assert!(opened.contains("new ticket TCK-2026-00001"), "{opened}");
    let ack = last(&sandbox, "ack", "arch.ferrari@example.org");
    assert_eq!(
        ack.recipients, "arch.ferrari@example.org",
        "the acknowledgment (and its status link) is the requester's alone"
    );
    assert!(ack.text.contains("Gentile Arch. Chiara Ferrari,"), "{}", ack.text);
    let notice = last(&sandbox, "notify", GIULIA).message_id;

    // Giulia answers: the requester and both people in Cc get it.
    let answer = operator_mail(
        GIULIA,
        "Re: [TCK-2026-00001] Integrazione documentale",
        Some(&notice),
        true,
        "g1",
        "#prendo\nBuongiorno, la sostituzione si fa dalla sezione Integrazioni: scelga \"Sostituisci\" accanto al documento.",
    );
    ingest(&sandbox, "2026-12-01T11:50:00+01:00", answer);
    let sent = last(&sandbox, "answer", "arch.ferrari@example.org");
    assert_eq!(
        sent.recipients, "arch.ferrari@example.org,ing.greco@example.com,sue@comune.example.it",
        "the requester first, then the copies"
    );
    assert!(sent.text.contains("Sostituisci"), "{}", sent.text);
    assert_eq!(
        last(&sandbox, "take_in", "arch.ferrari@example.org").recipients,
        "arch.ferrari@example.org",
        "the take-in is about the requester's procedure: no copies"
    );

    // #cc adds a colleague and takes the engineer out; the transcript says both.
    let transcript_to = last_message_id(&sandbox, "operator_reply", GIULIA, "TCK-2026-00001");
    let copies = operator_mail(
        GIULIA,
        "Re: [TCK-2026-00001] Eseguito",
        Some(&transcript_to),
        true,
        "g2",
        "#cc Luisa.Neri@example.org\n#cc -ing.greco@example.com",
    );
    ingest(&sandbox, "2026-12-01T12:00:00+01:00", copies);
    let transcript = last(&sandbox, "operator_reply", GIULIA);
    assert!(
        transcript.text.contains(
            "luisa.neri@example.org in copia su TCK-2026-00001: riceverà le risposte e la lettera di chiusura"
        ),
        "{}",
        transcript.text
    );
    assert!(
        transcript
            .text
            .contains("ing.greco@example.com tolto dalle copie di TCK-2026-00001"),
        "{}",
        transcript.text
    );
    assert_eq!(
        count(&sandbox, "answer", "arch.ferrari"),
        1,
        "#cc alone writes to nobody"
    );

    // A copy that bounced is skipped, like a requester who cannot be reached.
    db(&sandbox)
        .execute(
            "UPDATE participants SET undeliverable = 1, undeliverable_until = '2026-12-31T00:00:00Z'
             WHERE email = 'sue@comune.example.it'",
            [],
        )
        .expect("mark");

    // An operator in copy is refused: operators follow tickets through notices.
    let refused = operator_mail(
        GIULIA,
        "Re: [TCK-2026-00001] Eseguito",
        Some(&transcript_to),
        true,
        "g3",
        "#cc marco.rossi@comune.example.it",
    );
    ingest(&sandbox, "2026-12-01T12:05:00+01:00", refused);
    let refusal = last(&sandbox, "operator_reply", GIULIA);
    assert!(refusal.text.contains("Comando NON eseguito"), "{}", refusal.text);
    assert!(
        refusal.text.contains("marco.rossi@comune.example.it è un operatore"),
        "{}",
        refusal.text
    );

    let resolve = operator_mail(
        GIULIA,
        "Re: [TCK-2026-00001] Eseguito",
        Some(&transcript_to),
        true,
        "g4",
        "#risolto\nHo sbloccato il campo \"Documento sostitutivo\": ora può sostituire la relazione.",
    );
    ingest(&sandbox, "2026-12-01T12:10:00+01:00", resolve);
    let closing = last(&sandbox, "closing", "arch.ferrari@example.org");
    assert_eq!(
        closing.recipients, "arch.ferrari@example.org",
        "the closing letter's vote is the requester's"
    );
    assert!(
        closing.text.contains("Gentile Arch. Chiara Ferrari,"),
        "{}",
        closing.text
    );
    assert!(closing.text.contains("scrivendo soltanto 1"), "{}", closing.text);
    // The copy: the same resolution, apart, without the vote (its links open the
    // requester's status page, and a copy's "1" would not count).
    let copy = last(&sandbox, "closing_copy", "luisa.neri@example.org");
    assert_eq!(copy.recipients, "luisa.neri@example.org");
    assert!(copy.text.contains("Documento sostitutivo"), "{}", copy.text);
    assert!(
        !copy.text.contains("faccina") && !copy.text.contains("scrivendo soltanto 1") && !copy.text.contains("/vote/"),
        "{}",
        copy.text
    );

    assert_eq!(
        ticket(&sandbox, "TCK-2026-00001")["requester"],
        "arch.ferrari@example.org"
    );
}

#[test]
fn copies_can_be_switched_off() {
    let sandbox = Sandbox::with_config(&format!("{CONFIG}\n[operators]\ncopy_requester_cc = false\n"));
    ingest(
        &sandbox,
        "2026-12-01T11:40:00+01:00",
        fixture("new/0012-outlook-desktop-cc.eml"),
    );
    let notice = last(&sandbox, "notify", GIULIA).message_id;
    let answer = operator_mail(
        GIULIA,
        "Re: x",
        Some(&notice),
        true,
        "g1",
        "Provi dalla sezione Integrazioni.",
    );
    ingest(&sandbox, "2026-12-01T11:50:00+01:00", answer);
    assert_eq!(
        last(&sandbox, "answer", "arch.ferrari@example.org").recipients,
        "arch.ferrari@example.org"
    );
}

#[test]
fn spam_is_closed_silently_its_sender_quarantined_and_the_report_counts_it_apart() {
    let sandbox = sandbox();
    let spam = fixture("new/0025-gmail-cold-offer-spam.eml");
    let spammer = "luca.ferraro.seo@example.com";
    // Monday 16 November 2026: a cold offer (authenticated, so acknowledged), and a real request.
    assert!(ingest(&sandbox, "2026-11-16T09:41:22+01:00", spam.clone()).contains("new ticket TCK-2026-00001"));
    assert_eq!(count(&sandbox, "ack", spammer), 1);
    let request = crate::support::simple_message(
        "mario.rossi@example.org",
        "Firma non valida",
        "real1@example.org",
        "Il portale rifiuta il file firmato.",
    );
    ingest(
        &sandbox,
        "2026-11-16T09:45:00+01:00",
        String::from_utf8(request).expect("utf-8"),
    );
    let real_notice = last_message_id(&sandbox, "notify", GIULIA, "TCK-2026-00002");
    ingest(
        &sandbox,
        "2026-11-16T10:00:00+01:00",
        operator_mail(GIULIA, "Re: x", Some(&real_notice), true, "r1", "#prendo"),
    );
    // The take-in counts when its letter leaves.
    let sent = sandbox.run(&["--now=2026-11-16T10:00:00+01:00", "run", "--once"]);
    assert_eq!(code(&sent), 0, "{}", stderr(&sent));

    let notice = last_message_id(&sandbox, "notify", GIULIA, "TCK-2026-00001");
    let mails_before = outbox(&sandbox)
        .iter()
        .filter(|m| m.recipients.contains(spammer))
        .count();
    let out = ingest(
        &sandbox,
        "2026-11-16T10:05:00+01:00",
        operator_mail(
            GIULIA,
            "Re: [TCK-2026-00001] Proposta",
            Some(&notice),
            true,
            "s1",
            "#spam offerta SEO\n\nGiulia Bianchi",
        ),
    );
    assert!(out.contains("operator mail about TCK-2026-00001"), "{out}");
    assert_eq!(
        outbox(&sandbox)
            .iter()
            .filter(|m| m.recipients.contains(spammer))
            .count(),
        mails_before,
        "no letter to the spammer: not the closing, not the text below the tag"
    );
    let transcript = last(&sandbox, "operator_reply", GIULIA);
    assert!(
        transcript.text.contains(
            "TCK-2026-00001 chiusa come spam, senza scrivere al mittente; la posta di luca.ferraro.seo@example.com andrà in quarantena fino al 16/12/2026"
        ),
        "{}",
        transcript.text
    );
    let t = ticket(&sandbox, "TCK-2026-00001");
    assert_eq!(t["status"], "resolved", "{t}");

    // The next mail from that sender, a new request or a reply to the spam ticket, reaches no
    // ticket: quarantined, unanswered, nobody told.
    let again = spam
        .replace("CAH7pq3T2vw=K8Jd3Mn1+Rq5tW0uYc2Zd6Ao7b8Fv4gHjLpQ", "CAH7pq3T2vw=second")
        .replace("Proposta: il vostro", "Re: [TCK-2026-00001] Proposta: il vostro");
    let outcome = ingest(&sandbox, "2026-11-20T09:00:00+01:00", again);
    assert!(outcome.contains("quarantined as spam"), "{outcome}");
    let third = spam.replace("CAH7pq3T2vw=K8Jd3Mn1+Rq5tW0uYc2Zd6Ao7b8Fv4gHjLpQ", "CAH7pq3T2vw=third");
    assert!(ingest(&sandbox, "2026-11-20T09:05:00+01:00", third).contains("quarantined as spam"));
    assert_eq!(one(&sandbox, "SELECT count(*) FROM tickets"), 2, "no new ticket");
    assert_eq!(count(&sandbox, "ack", spammer), 1, "no acknowledgment");
    assert_eq!(
        ticket(&sandbox, "TCK-2026-00001")["status"],
        "resolved",
        "the spam ticket did not reopen"
    );
    assert_eq!(
        one(&sandbox, "SELECT count(*) FROM quarantine WHERE error LIKE 'spam:%'"),
        2
    );
    assert_eq!(
        one(&sandbox, "SELECT count(*) FROM outbox WHERE purpose = 'quarantined'"),
        0,
        "the supervisors are not told of each spam"
    );
    // The same bytes applied again (an MTA retry) are a duplicate, not a second quarantine.
    let third = spam.replace("CAH7pq3T2vw=K8Jd3Mn1+Rq5tW0uYc2Zd6Ao7b8Fv4gHjLpQ", "CAH7pq3T2vw=third");
    assert!(ingest(&sandbox, "2026-11-20T09:06:00+01:00", third).contains("duplicate"));

    // After spam_days (30) the sender is a person again.
    let later = spam.replace("CAH7pq3T2vw=K8Jd3Mn1+Rq5tW0uYc2Zd6Ao7b8Fv4gHjLpQ", "CAH7pq3T2vw=later");
    assert!(ingest(&sandbox, "2026-12-17T09:00:00+01:00", later).contains("new ticket TCK-2026-00003"));

    // November's report: the spam counted apart, out of the take-in figures.
    let out = sandbox.run(&["--now=2026-12-01T10:00:00+01:00", "report", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(r["requests"]["total"], 2);
    assert_eq!(r["requests"]["by_outcome"], json!({"open": 1, "spam": 1}));
    assert_eq!(
        r["take_in"]["email/1"],
        json!({"met": 1, "breached": 0, "pending": 0, "percent_met": 100.0, "median_minutes": 15, "p90_minutes": 15}),
        "only the real request's take-in"
    );
    assert_eq!(
        r["technicians"][GIULIA]["resolved"], 0,
        "a spam closing is no resolution"
    );
    let csv = stdout(&sandbox.run(&["--now=2026-12-01T10:00:00+01:00", "report", "--format", "csv"]));
    assert!(csv.contains("esito;spam;1"), "{csv}");
}

#[test]
fn a_from_failing_dmarc_opens_a_ticket_but_is_never_acknowledged() {
    let sandbox = sandbox();
    let out = ingest(
        &sandbox,
        "2026-12-01T10:12:09+01:00",
        fixture("new/0024-phpmailer-dmarc-fail-forged-from.eml"),
    );
    assert!(out.contains("new ticket TCK-2026-00001"), "{out}");
    assert_eq!(count(&sandbox, "ack", "pagamenti@example.com"), 0, "no backscatter");
    assert_eq!(count(&sandbox, "notify", GIULIA), 1, "first level still sees it");
    let why: String = db(&sandbox)
        .query_row(
            "SELECT detail FROM events WHERE ticket_id = 'TCK-2026-00001' AND action = 'ack-suppressed'",
            [],
            |r| r.get(0),
        )
        .expect("an event says why");
    assert!(why.contains("failed DMARC") && why.contains("dmarc=fail"), "{why}");
    // A sender whose domain passes is acknowledged as ever.
    ingest(
        &sandbox,
        "2026-12-01T10:20:00+01:00",
        fixture("new/0025-gmail-cold-offer-spam.eml"),
    );
    assert_eq!(count(&sandbox, "ack", "luca.ferraro.seo@example.com"), 1);
}

#[test]
fn a_cc_is_copied_on_the_answer_over_the_real_smtp_relay() {
    let Some(server) = MailServer::from_env("a_cc_is_copied_on_the_answer_over_the_real_smtp_relay") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let (requester, requester_pw) = server.add_user("requester");
    let (colleague, colleague_pw) = server.add_user("colleague");
    let (giulia, _) = server.add_user("giulia");
    let mut config = crate::mailserver::imap_config(&server, &helpdesk, "starttls", "");
    config.push_str(&format!(
        "[security]\ntrusted_authserv_id = \"mx.example.test\"\n\
         [[operator]]\nname = \"Giulia Bianchi\"\nemail = \"{giulia}\"\nlevel = 1\n"
    ));
    let sandbox = Sandbox::with_config(&config);
    let step = |raw: String| {
        server.deliver(&helpdesk.0, raw.as_bytes());
        let out = sandbox.run(&["run", "--once"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    };
    step(format!(
        "From: Mario Rossi <{requester}>\r\nTo: {hd}\r\nCc: {colleague}\r\nSubject: Pagamento non registrato\r\n\
         Message-ID: <cc1@example.test>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHo pagato con pagoPA ma la pratica risulta da pagare.\r\n",
        hd = helpdesk.0
    ));
    let colleague_before = server.read_inbox(&colleague, &colleague_pw).len();
    assert_eq!(colleague_before, 0, "the acknowledgment is the requester's alone");
    let notice_id = {
        let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
        conn.query_row(
            "SELECT message_id FROM outbox WHERE purpose = 'notify' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get::<_, String>(0),
        )
        .expect("notice")
    };
    step(format!(
        "Authentication-Results: mx.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\n\
         From: Giulia Bianchi <{giulia}>\r\nTo: {hd}\r\nSubject: Re: notifica\r\nMessage-ID: <g-cc1@example.test>\r\n\
         In-Reply-To: <{notice_id}>\r\nReferences: <{notice_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         #prendo\r\nBuongiorno, la ricevuta pagoPA arriva entro due giorni lavorativi: la registro io a mano.\r\n",
        hd = helpdesk.0
    ));
    let parse = |raw: &[u8]| sportello::ingest::parse::parse_mail(raw, 1 << 22).expect("parse");
    let colleague_mail = server.read_inbox(&colleague, &colleague_pw);
    assert_eq!(colleague_mail.len(), 1, "the copy got the answer, and only the answer");
    let copy = parse(&colleague_mail[0]);
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words(&copy.text).contains("la registro io a mano"), "{}", copy.text);
    assert!(
        copy.to.contains(&requester),
        "the copy shows who the letter is for: {:?}",
        copy.to
    );
    let requester_mail: Vec<_> = server
        .read_inbox(&requester, &requester_pw)
        .iter()
        .map(|raw| parse(raw))
        .collect();
    assert!(
        requester_mail
            .iter()
            .any(|m| words(&m.text).contains("la registro io a mano")),
        "the requester got it too"
    );
    assert!(
        requester_mail
            .iter()
            .any(|m| m.text.starts_with("Gentile Mario Rossi,")),
        "the letters greet the requester by name"
    );
}
