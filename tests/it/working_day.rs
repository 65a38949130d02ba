//! A whole working day by mail (issue 15), over the real Dovecot and SMTP relay: two
//! first-level operators and a second-level supervisor work only from their mail clients.
//! Every step is one `run --once` at a fixed instant, so the day replays exactly.

use crate::mailserver::imap_config;
use crate::support::{MailServer, Sandbox, code, stderr};

/// The help desk's day: Wednesday 2 December 2026 (a working day), from 10:00 in Rome.
fn at(hour: u32, minute: u32) -> String {
    format!("--now=2026-12-02T{hour:02}:{minute:02}:00+01:00")
}

struct Day {
    server: MailServer,
    sandbox: Sandbox,
    helpdesk: (String, String),
}

/// One parsed mail as a person reads it in their inbox.
type Read = sportello::ingest::parse::InboundMail;

impl Day {
    /// Delivers `raw` to the help desk and lets the daemon take it at `now`.
    fn step(&self, now: &str, raw: &str) {
        self.server.deliver(&self.helpdesk.0, raw.as_bytes());
        self.pass(now);
    }

    /// One pass of the daemon at `now` (mail in, housekeeping, mail out).
    fn pass(&self, now: &str) {
        let out = self.sandbox.run(&[now, "run", "--once"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }

    fn inbox(&self, who: &(String, String)) -> Vec<Read> {
        self.server
            .read_inbox(&who.0, &who.1)
            .iter()
            .map(|raw| sportello::ingest::parse::parse_mail(raw, 1 << 22).expect("our mail parses"))
            .collect()
    }

    fn newest(&self, who: &(String, String)) -> Read {
        self.inbox(who).pop().expect("a mail")
    }

    /// The newest mail to `who` whose text contains `words` (a digest only when `words` asks
    /// for one).
    fn find(&self, who: &(String, String), words: &str) -> Read {
        self.inbox(who)
            .into_iter()
            .rev()
            // The morning digest lists every ticket: it is found only when asked for.
            .filter(|m| !m.subject.starts_with("Riepilogo") || words.starts_with("Riepilogo"))
            .find(|m| m.text.contains(words) || m.subject.contains(words))
            .unwrap_or_else(|| panic!("no mail to {} says {words:?}", who.0))
    }

    fn count(&self, who: &(String, String)) -> usize {
        self.server.read_inbox(&who.0, &who.1).len()
    }
}

const PASS: &str = "Authentication-Results: mx.example.test; dkim=pass header.d=example.test; \
                    dmarc=pass header.from=example.test\r\n";

/// An authenticated operator's reply to `notice` (or a new mail, without one).
fn operator_mail(day: &Day, from: &str, notice: Option<&str>, id: &str, body: &str) -> String {
    let reply = notice
        .map(|n| format!("In-Reply-To: <{n}>\r\nReferences: <{n}>\r\n"))
        .unwrap_or_default();
    format!(
        "{PASS}From: Operatore <{from}>\r\nTo: {hd}\r\nSubject: Re: notifica\r\nMessage-ID: <{id}@example.test>\r\n\
         {reply}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        hd = day.helpdesk.0
    )
}

/// A citizen's request (or reply, with `in_reply_to`).
fn citizen_mail(day: &Day, from: &str, subject: &str, id: &str, in_reply_to: Option<&str>, body: &str) -> String {
    let reply = in_reply_to
        .map(|n| format!("In-Reply-To: <{n}>\r\nReferences: <{n}>\r\n"))
        .unwrap_or_default();
    format!(
        "From: Cittadino <{from}>\r\nTo: {hd}\r\nSubject: {subject}\r\nMessage-ID: <{id}@example.org>\r\n\
         {reply}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        hd = day.helpdesk.0
    )
}

/// The text as a reader takes it in: letters are wrapped at 72 columns, so a name may break
/// across two lines.
fn flat(mail: &Read) -> String {
    mail.text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn id_of(mail: &Read) -> String {
    mail.message_id.clone().expect("a Message-ID")
}

#[test]
fn a_whole_working_day_by_mail() {
    let Some(server) = MailServer::from_env("a_whole_working_day_by_mail") else {
        return;
    };
    let helpdesk = server.add_user("helpdesk");
    let giulia = server.add_user("giulia");
    let marco = server.add_user("marco");
    let luca = server.add_user("luca");
    let anna = server.add_user("anna");
    let bruno = server.add_user("bruno");
    let carla = server.add_user("carla");
    let dario = server.add_user("dario");
    let emma = server.add_user("emma");
    let franco = server.add_user("franco");
    let spammer = server.add_user("offerte");
    let mut config = imap_config(&server, &helpdesk, "starttls", "");
    config.push_str(&format!(
        "[security]\ntrusted_authserv_id = \"mx.example.test\"\n\
         [[operator]]\nname = \"Giulia Bianchi\"\nemail = \"{}\"\nlevel = 1\n\
         [[operator]]\nname = \"Marco Rossi\"\nemail = \"{}\"\nlevel = 1\n\
         [[operator]]\nname = \"Luca Verdi\"\nemail = \"{}\"\nlevel = 2\nsupervisor = true\n",
        giulia.0, marco.0, luca.0
    ));
    let sandbox = Sandbox::with_config(&config);
    let day = Day {
        server,
        sandbox,
        helpdesk,
    };

    // 09:00 Anna writes; both first-level operators get the notice; Giulia takes it.
    day.step(
        &at(9, 0),
        &citizen_mail(
            &day,
            &anna.0,
            "Firma rifiutata",
            "a1",
            None,
            "Il portale rifiuta il mio file firmato.",
        ),
    );
    let notice_giulia = day.find(&giulia, "Firma rifiutata");
    let notice_marco = day.find(&marco, "Firma rifiutata");
    day.step(
        &at(9, 5),
        &operator_mail(&day, &giulia.0, Some(&id_of(&notice_giulia)), "g1", "#prendo"),
    );
    let taken = flat(&day.newest(&anna));
    assert!(
        taken.contains("Giulia Bianchi"),
        "{taken}\n\nGiulia got: {}",
        flat(&day.newest(&giulia))
    );
    let anna_letters = day.count(&anna);

    // 09:10 Marco's #prendo on Giulia's ticket is refused, naming her; Anna hears nothing.
    day.step(
        &at(9, 10),
        &operator_mail(&day, &marco.0, Some(&id_of(&notice_marco)), "m1", "#prendo"),
    );
    let refused = day.newest(&marco);
    assert!(refused.subject.contains("NON eseguito"), "{}", refused.subject);
    assert!(
        flat(&refused).contains("è in carico a Giulia Bianchi"),
        "{}",
        refused.text
    );
    assert_eq!(day.count(&anna), anna_letters, "no second take-in letter");

    // 09:20 Bruno writes, Giulia resolves it at once (it will be reopened while she is away).
    day.step(
        &at(9, 20),
        &citizen_mail(
            &day,
            &bruno.0,
            "Accesso SPID",
            "b1",
            None,
            "Non riesco ad entrare con SPID.",
        ),
    );
    let notice_bruno = day.find(&giulia, "Accesso SPID");
    day.step(
        &at(9, 25),
        &operator_mail(
            &day,
            &giulia.0,
            Some(&id_of(&notice_bruno)),
            "g2",
            "#risolto\nCancelli i cookie e riprovi.",
        ),
    );
    let closing_bruno = day.newest(&bruno);
    assert!(flat(&closing_bruno).contains("Cancelli i cookie"));

    // 09:30 Giulia is away from today, Marco her deputy: confirmed, and her open ticket goes to
    // him — Anna is told the new name, Marco gets the ticket saying why.
    day.step(
        &at(9, 30),
        &operator_mail(
            &day,
            &giulia.0,
            None,
            "g3",
            "#assente dal 2026-12-02 al 2026-12-04 sostituto Marco Rossi",
        ),
    );
    let confirmed = day.find(&giulia, "assente dal 02/12/2026 al 04/12/2026");
    assert!(flat(&confirmed).contains("Marco Rossi"), "{}", confirmed.text);
    let began = day.find(&giulia, "La tua assenza");
    assert!(flat(&began).contains("TCK-2026-00001"), "{}", began.text);
    assert!(
        flat(&day.newest(&anna)).contains("Marco Rossi"),
        "Anna is told the new name"
    );
    let handed = day.find(&marco, "sostituisci Giulia Bianchi");
    assert!(handed.subject.contains("TCK-2026-00001"), "{}", handed.subject);

    // 10:00 A new request reaches Marco, not Giulia.
    let giulia_before = day.count(&giulia);
    day.step(
        &at(10, 0),
        &citizen_mail(
            &day,
            &carla.0,
            "Caricamento PDF",
            "c1",
            None,
            "Il PDF delle tavole non si carica.",
        ),
    );
    assert!(day.find(&marco, "Caricamento PDF").subject.contains("TCK-2026-00003"));
    assert_eq!(day.count(&giulia), giulia_before, "no notice to the absent operator");

    // 10:10 Bruno writes again: the reopening goes to the deputy, saying why.
    day.step(
        &at(10, 10),
        &citizen_mail(
            &day,
            &bruno.0,
            "Re: Accesso SPID",
            "b2",
            Some(&id_of(&closing_bruno)),
            "Ancora non funziona.",
        ),
    );
    let reopened = day.find(&marco, "Ancora non funziona.");
    assert!(
        flat(&reopened).contains("Giulia Bianchi è assente"),
        "{}",
        reopened.text
    );
    assert_eq!(day.count(&giulia), giulia_before, "nor the reopening");

    // 10:20 Marco asks Luca about Anna's ticket; Luca's untagged reply is an internal note,
    // passed on to Marco; Anna never hears of it.
    let anna_letters = day.count(&anna);
    day.step(
        &at(10, 20),
        &operator_mail(
            &day,
            &marco.0,
            Some(&id_of(&handed)),
            "m2",
            "#chiedi Luca Verdi hai già visto questo errore di firma?",
        ),
    );
    let question = day.find(&luca, "Domanda di un collega");
    assert!(
        flat(&question).contains("hai già visto questo errore di firma?"),
        "{}",
        question.text
    );
    assert!(
        flat(&question).contains("Il portale rifiuta il mio file firmato."),
        "the thread comes along"
    );
    day.step(
        &at(10, 30),
        &operator_mail(
            &day,
            &luca.0,
            Some(&id_of(&question)),
            "l1",
            "Sì: è il certificato scaduto, va rinnovato.",
        ),
    );
    let answer = day.find(&marco, "Risposta del collega");
    assert!(flat(&answer).contains("è il certificato scaduto"), "{}", answer.text);
    assert_eq!(
        day.count(&anna),
        anna_letters,
        "the colleague's words never reach the requester"
    );

    // 10:40 A stored answer to Carla, with Marco's own line below it.
    let notice_carla = day.find(&marco, "Caricamento PDF");
    day.step(
        &at(10, 40),
        &operator_mail(
            &day,
            &marco.0,
            Some(&id_of(&notice_carla)),
            "m3",
            "#risposta pdfa\nMi riscriva se non basta.",
        ),
    );
    let canned = day.newest(&carla);
    assert!(flat(&canned).contains("PDF/A-1b o PDF/A-2b"), "{}", canned.text);
    assert!(flat(&canned).contains("Mi riscriva se non basta."), "{}", canned.text);

    // 11:00 The protocol service breaks: three citizens write; two are linked to the first,
    // and resolving the master closes all three, each with its own letter.
    for (who, id) in [(&anna, "i1"), (&dario, "i2"), (&carla, "i3")] {
        day.step(
            &at(11, 0),
            &citizen_mail(
                &day,
                &who.0,
                "Protocollo non disponibile",
                id,
                None,
                "Errore 503 sul protocollo.",
            ),
        );
    }
    let incident: Vec<Read> = day
        .inbox(&marco)
        .into_iter()
        .filter(|m| m.subject.contains("Protocollo non disponibile"))
        .collect();
    assert_eq!(incident.len(), 3, "three notices");
    let master = "TCK-2026-00004";
    for (n, notice) in incident[1..].iter().enumerate() {
        let link = operator_mail(
            &day,
            &marco.0,
            Some(&id_of(notice)),
            &format!("m-link-{n}"),
            &format!("#collega {master}"),
        );
        day.step(&at(11, 10), &link);
    }
    day.step(
        &at(11, 30),
        &operator_mail(
            &day,
            &marco.0,
            Some(&id_of(&incident[0])),
            "m4",
            "#risolto\nIl servizio di protocollo è di nuovo attivo.",
        ),
    );
    for who in [&anna, &dario, &carla] {
        let closing = day.newest(who);
        assert!(
            flat(&closing).contains("Il servizio di protocollo è di nuovo attivo."),
            "{}: {}",
            who.0,
            closing.text
        );
    }
    let shown = day.sandbox.run(&["ticket", "show", "TCK-2026-00006", "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["status"], "resolved", "{shown}");
    // 12:00 Emma writes with her surveyor in Cc: Marco's answer reaches both.
    day.step(
        &at(12, 0),
        &format!(
            "From: Emma <{}>\r\nTo: {}\r\nCc: Geometra Franco <{}>\r\nSubject: Integrazione documenti\r\n\
             Message-ID: <e1@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDove carico le integrazioni?\r\n",
            emma.0, day.helpdesk.0, franco.0
        ),
    );
    let notice_emma = day.find(&marco, "Integrazione documenti");
    day.step(
        &at(12, 10),
        &operator_mail(
            &day,
            &marco.0,
            Some(&id_of(&notice_emma)),
            "m5",
            "Nella sezione Integrazioni della pratica.",
        ),
    );
    assert!(flat(&day.newest(&emma)).contains("Nella sezione Integrazioni"));
    assert!(
        flat(&day.newest(&franco)).contains("Nella sezione Integrazioni"),
        "the Cc is copied"
    );

    // 12:20 An offer lands as a request: #spam closes it writing to nobody, and the sender's
    // next mail opens nothing.
    day.step(
        &at(12, 20),
        &citizen_mail(
            &day,
            &spammer.0,
            "Offerta imperdibile",
            "s1",
            None,
            "Acquista ora i nostri servizi SEO.",
        ),
    );
    let spam_letters = day.count(&spammer);
    let notice_spam = day.find(&marco, "Offerta imperdibile");
    day.step(
        &at(12, 30),
        &operator_mail(&day, &marco.0, Some(&id_of(&notice_spam)), "m6", "#spam"),
    );
    day.step(
        &at(12, 40),
        &citizen_mail(&day, &spammer.0, "Ultima occasione", "s2", None, "Solo oggi!"),
    );
    assert_eq!(day.count(&spammer), spam_letters, "no letter for a spam");
    let listed = day.sandbox.run(&["tickets", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert!(
        !listed.to_string().contains("Ultima occasione"),
        "the quarantined sender opens no ticket: {listed}"
    );

    // Thursday 08:00: the morning digests. Marco's lists the tickets he holds, among them
    // Giulia's; Luca's (a supervisor) has yesterday's figures and Giulia absent; Giulia, away,
    // gets none. A reply to the digest naming a ticket acts on it.
    let giulia_before = day.count(&giulia);
    let thursday = "--now=2026-12-03T08:00:00+01:00";
    day.pass(thursday);
    let marco_digest = day.find(&marco, "Riepilogo di");
    assert!(flat(&marco_digest).contains("TCK-2026-00001"), "{}", marco_digest.text);
    assert!(
        flat(&marco_digest).contains("Le tue richieste aperte"),
        "{}",
        marco_digest.text
    );
    let luca_digest = day.find(&luca, "Riepilogo di");
    assert!(
        luca_digest.text.contains("Assenti oggi:\n  Giulia Bianchi"),
        "{}",
        luca_digest.text
    );
    assert!(flat(&luca_digest).contains("I numeri di"), "{}", luca_digest.text);
    assert_eq!(day.count(&giulia), giulia_before, "no digest for the absent");
    day.step(
        "--now=2026-12-03T08:30:00+01:00",
        &operator_mail(
            &day,
            &marco.0,
            Some(&id_of(&marco_digest)),
            "m7",
            "#nota TCK-2026-00001 certificato da rinnovare",
        ),
    );
    let notes = day.sandbox.run(&["ticket", "show", "TCK-2026-00001", "--json"]);
    assert!(
        String::from_utf8_lossy(&notes.stdout).contains("certificato da rinnovare"),
        "the digest's reply noted the ticket"
    );

    // The month's report counts the incident and its tickets.
    let report = day.sandbox.run(&[
        "report",
        "--from",
        "2026-12-01",
        "--to",
        "2026-12-31",
        "--format",
        "json",
    ]);
    assert_eq!(code(&report), 0, "{}", stderr(&report));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json");
    assert_eq!(
        report["incidents"],
        serde_json::json!({"count": 1, "tickets": 3}),
        "{report}"
    );
}
