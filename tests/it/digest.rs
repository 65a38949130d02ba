//! The morning digests (`[digest]`, issue 15 item 3) on the embedded Maildir/file setup: a
//! Monday of work by mail, then Tuesday 1 December 2026 at 08:00 — each operator's digest with
//! its ticket lines, the supervisor's figures of Monday and who is absent, once a day (by hand
//! and by the daemon), nothing on a holiday, and replies to a digest acting on the tickets
//! they name.

use crate::support::{Sandbox, code, stderr, stdout};
use crate::workflow_support::*;

const GIULIA: &str = "giulia.bianchi@comune.example.it";
const MARCO: &str = "marco.rossi@comune.example.it";
const LUCA: &str = "luca.verdi@comune.example.it";

fn request(from: &str, name: &str, subject: &str, id: &str, text: &str) -> String {
    format!(
        "From: {name} <{from}>\r\nTo: assistenza@comune.example.it\r\nSubject: {subject}\r\n\
         Message-ID: <{id}@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
}

/// `sportello --now NOW ARGS…`, which must succeed; its standard output.
fn run(sandbox: &Sandbox, now: &str, args: &[&str]) -> String {
    let now = format!("--now={now}");
    let mut all = vec![now.as_str()];
    all.extend_from_slice(args);
    let out = sandbox.run(&all);
    assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn digests(sandbox: &Sandbox) -> usize {
    outbox(sandbox).iter().filter(|m| m.purpose == "digest").count()
}

/// A digest as its operator reads it: the subject and the decoded text, not the raw bytes.
fn body(sent: &Sent) -> String {
    let text = sent.text.as_str();
    match text
        .find("\nSubject: Riepilogo")
        .or_else(|| text.find("\nSubject: Digest"))
    {
        Some(raw) => text[..raw].to_string(),
        None => text.to_string(),
    }
}

#[test]
fn morning_digests_once_a_working_day_and_answered_line_by_line() {
    let sandbox = Sandbox::with_config(CONFIG);

    // Monday 30 November 2026. Anna's request: Giulia takes it in and answers (the ball is
    // then in Anna's court).
    ingest(
        &sandbox,
        "2026-11-30T09:00:00+01:00",
        request(
            "anna.ferrari@example.org",
            "Anna Ferrari",
            "Firma non valida",
            "r1",
            "Il portale rifiuta il mio .p7m.",
        ),
    );
    let notice = last_message_id(&sandbox, "notify", GIULIA, "TCK-2026-00001");
    let take = operator_mail(GIULIA, "Re: [TCK-2026-00001] x", Some(&notice), true, "g1", "#prendo");
    ingest(&sandbox, "2026-11-30T09:20:00+01:00", take);
    // A daemon started at 09:21 sends Monday's digests (and the take-in letter, in time).
    run(&sandbox, "2026-11-30T09:21:00+01:00", &["run", "--once"]);
    assert_eq!(
        count(&sandbox, "digest", GIULIA),
        1,
        "Monday's digest, at the first pass after 08:00"
    );
    // Mario's request: nobody takes it (take-in due 10:15).
    ingest(
        &sandbox,
        "2026-11-30T09:30:00+01:00",
        request(
            "mario.bianco@example.org",
            "Mario Bianco",
            "Accesso SPID",
            "r2",
            "Non riesco ad accedere.",
        ),
    );
    let answer = operator_mail(
        GIULIA,
        "Re: [TCK-2026-00001] x",
        Some(&notice),
        true,
        "g2",
        "Provi a rifirmare in CAdES, per favore.",
    );
    ingest(&sandbox, "2026-11-30T10:00:00+01:00", answer);
    // Paola's request: Marco takes it in at 11:10 (resolution due Tuesday 09:10).
    ingest(
        &sandbox,
        "2026-11-30T11:00:00+01:00",
        request(
            "paola.neri@example.org",
            "Paola Neri",
            "Pagamento diritti",
            "r3",
            "Il pagamento non risulta.",
        ),
    );
    let notice = last_message_id(&sandbox, "notify", MARCO, "TCK-2026-00003");
    let take = operator_mail(MARCO, "Re: [TCK-2026-00003] x", Some(&notice), true, "m1", "#prendo");
    ingest(&sandbox, "2026-11-30T11:10:00+01:00", take);
    run(&sandbox, "2026-11-30T11:11:00+01:00", &["run", "--once"]);
    // Marco is away on Tuesday.
    let away = operator_mail(MARCO, "assenza", None, true, "m2", "#assente 01/12/2026");
    ingest(&sandbox, "2026-11-30T16:00:00+01:00", away);
    run(&sandbox, "2026-11-30T16:01:00+01:00", &["run", "--once"]);
    assert_eq!(
        count(&sandbox, "digest", GIULIA),
        1,
        "one digest a day, restarts or not"
    );

    // Tuesday 1 December, 08:00: a dry run prints and queues nothing.
    let printed = run(&sandbox, "2026-12-01T08:00:00+01:00", &["digest", "--dry-run"]);
    assert!(
        printed.contains("Subject: Riepilogo di martedì 1 dicembre 2026"),
        "{printed}"
    );
    assert_eq!(count(&sandbox, "digest", GIULIA), 1);

    let queued = run(&sandbox, "2026-12-01T08:00:00+01:00", &["digest"]);
    assert_eq!(queued.trim(), "2 digests of 2026-12-01 queued");
    assert_eq!(
        count(&sandbox, "digest", MARCO),
        1,
        "Marco is absent today: only Monday's"
    );
    let giulia = last(&sandbox, "digest", GIULIA);
    let text = body(&giulia);
    assert!(text.contains("Subject: Riepilogo di martedì 1 dicembre 2026"), "{text}");
    assert!(
        text.contains(
            "Le tue richieste aperte:\n  nessuna.\n\n\
             In attesa di risposta del richiedente:\n\
             \x20 TCK-2026-00001  liv.1  risoluzione entro lunedì 30 novembre 2026 alle 16:20 · scaduta, residuo -40 min lavorativi\n\
             \x20     Firma non valida · richiedente Anna Ferrari · in carico a Giulia Bianchi\n\
             \x20     ultimo messaggio: Giulia Bianchi, lunedì 30 novembre 2026 alle 10:00\n\n\
             Da prendere in carico:\n\
             \x20 TCK-2026-00002  liv.1  presa in carico entro lunedì 30 novembre 2026 alle 10:15 · scaduta, residuo -5 h 45 min lavorativi\n\
             \x20     Accesso SPID · richiedente Mario Bianco · da prendere\n\
             \x20     ultimo messaggio: Mario Bianco, lunedì 30 novembre 2026 alle 09:30\n"
        ),
        "{text}"
    );
    assert!(
        !text.contains("TCK-2026-00003"),
        "Marco's ticket is not in Giulia's digest: {text}"
    );
    assert!(!text.contains("Per i supervisori"), "{text}");

    let luca = body(&last(&sandbox, "digest", LUCA));
    assert!(
        luca.contains(
            "A rischio (oltre la soglia di avviso):\n\
             \x20 TCK-2026-00003  liv.1  risoluzione entro martedì 1 dicembre 2026 alle 09:10 · a rischio, residuo 1 h 10 min lavorativi\n\
             \x20     Pagamento diritti · richiedente Paola Neri · in carico a Marco Rossi\n\
             \x20     ultimo messaggio: Paola Neri, lunedì 30 novembre 2026 alle 11:00\n"
        ),
        "{luca}"
    );
    assert!(
        luca.contains("Scadute:\n  TCK-2026-00002  liv.1  presa in carico entro")
            && luca.contains("\n  TCK-2026-00001  liv.1  risoluzione entro lunedì 30 novembre 2026 alle 16:20"),
        "{luca}"
    );
    assert!(
        luca.contains(
            "I numeri di lunedì 30 novembre 2026:\n\
             \x20 ricevute 3, prese in carico 2, risolte 0\n\
             \x20 presa in carico nei tempi (TP): 2 su 3 (67%)\n\
             \x20 risoluzione nei tempi (TR): 0 su 1 (0%)\n"
        ),
        "{luca}"
    );
    assert!(
        luca.contains("Assenti oggi:\n  Marco Rossi, fino a martedì 1 dicembre 2026 compreso\n"),
        "{luca}"
    );
    assert!(
        luca.contains("In carico a chi oggi è assente:\n  TCK-2026-00003  liv.1  risoluzione entro"),
        "Marco's ticket stays with him, listed for the supervisors: {luca}"
    );
    assert!(
        luca.contains("Buongiorno Luca Verdi,\nnessuna richiesta aperta per te oggi.\n"),
        "nothing of his own, nor in second level's queue: {luca}"
    );

    // Once a day: by hand again, or a daemon started at 10:00.
    let again = run(&sandbox, "2026-12-01T09:00:00+01:00", &["digest"]);
    assert!(again.contains("queued already"), "{again}");
    run(&sandbox, "2026-12-01T10:00:00+01:00", &["run", "--once"]);
    assert_eq!(digests(&sandbox), 5, "Monday's three and Tuesday's two");

    // No digest on a holiday (Tuesday 8 December, Immacolata Concezione).
    let holiday = run(&sandbox, "2026-12-08T08:00:00+01:00", &["digest"]);
    assert_eq!(
        holiday.trim(),
        "no digest on 2026-12-08: national holiday: Immacolata Concezione"
    );
    assert_eq!(digests(&sandbox), 5);

    // Giulia answers her digest: one line per ticket, each acting on its own.
    let reply = operator_mail(
        GIULIA,
        "Re: Riepilogo di martedì 1 dicembre 2026",
        Some(&giulia.message_id),
        true,
        "g3",
        "Buongiorno,\n#prendo TCK-2026-00002\n#nota TCK-2026-00001 sollecitata al telefono",
    );
    ingest(&sandbox, "2026-12-01T08:30:00+01:00", reply);
    let t2 = ticket(&sandbox, "TCK-2026-00002");
    assert_eq!(
        (t2["status"].as_str(), t2["assignee"].as_str()),
        (Some("assigned"), Some(GIULIA))
    );
    let letter = last(&sandbox, "take_in", "mario.bianco@example.org");
    assert!(letter.text.contains("Giulia Bianchi"), "{}", letter.text);
    let t1 = ticket(&sandbox, "TCK-2026-00001");
    assert!(
        t1["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["action"] == "note" && e["detail"] == "sollecitata al telefono"),
        "{t1}"
    );

    // A tag naming no ticket is refused with a mail saying how to write it; nothing changes.
    let replies_before = count(&sandbox, "operator_reply", GIULIA);
    let bare = operator_mail(
        GIULIA,
        "Re: Riepilogo",
        Some(&giulia.message_id),
        true,
        "g4",
        "#risolto\nFatto.",
    );
    ingest(&sandbox, "2026-12-01T08:40:00+01:00", bare);
    assert_eq!(count(&sandbox, "operator_reply", GIULIA), replies_before + 1);
    let refusal = last(&sandbox, "operator_reply", GIULIA);
    assert!(refusal.text.contains("Comando NON eseguito"), "{}", refusal.text);
    assert!(
        refusal
            .text
            .contains("in una risposta al riepilogo ogni tag indica la sua richiesta subito dopo il tag"),
        "{}",
        refusal.text
    );
    assert_eq!(ticket(&sandbox, "TCK-2026-00001")["status"], "assigned");

    // Only the tickets the digest listed: Marco's is not in Giulia's.
    let other = operator_mail(
        GIULIA,
        "Re: Riepilogo",
        Some(&giulia.message_id),
        true,
        "g5",
        "#prendo TCK-2026-00003",
    );
    ingest(&sandbox, "2026-12-01T08:45:00+01:00", other);
    assert!(
        last(&sandbox, "operator_reply", GIULIA)
            .text
            .contains("TCK-2026-00003 non è nel riepilogo a cui rispondi"),
    );
    // Only the digest's own operator: Luca cannot act through Giulia's digest.
    let stranger = operator_mail(
        LUCA,
        "Re: Riepilogo",
        Some(&giulia.message_id),
        true,
        "l1",
        "#prendo TCK-2026-00002",
    );
    ingest(&sandbox, "2026-12-01T08:50:00+01:00", stranger);
    assert!(
        last(&sandbox, "operator_reply", LUCA)
            .text
            .contains("Comando NON eseguito")
    );
    for (id, holder) in [("TCK-2026-00002", GIULIA), ("TCK-2026-00003", MARCO)] {
        assert_eq!(ticket(&sandbox, id)["assignee"], holder, "{id}");
    }

    // Wednesday 2: a daemon started at 10:00 sends the day's digests once; Marco is back.
    run(&sandbox, "2026-12-02T07:30:00+01:00", &["run", "--once"]);
    assert_eq!(digests(&sandbox), 5, "not before 08:00");
    run(&sandbox, "2026-12-02T10:00:00+01:00", &["run", "--once"]);
    run(&sandbox, "2026-12-02T11:00:00+01:00", &["run", "--once"]);
    assert_eq!(digests(&sandbox), 8);
    let marco = body(&last(&sandbox, "digest", MARCO));
    assert!(
        marco.contains("Le tue richieste aperte:\n  TCK-2026-00003  liv.1  risoluzione entro martedì 1 dicembre 2026 alle 09:10 · scaduta"),
        "{marco}"
    );
}
