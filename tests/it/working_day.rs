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

    /// The newest mail to `who` whose text contains `words`.
    fn find(&self, who: &(String, String), words: &str) -> Read {
        self.inbox(who)
            .into_iter()
            .rev()
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
    assert!(day.newest(&anna).text.contains("Giulia Bianchi"));
    let anna_letters = day.count(&anna);

    // 09:10 Marco's #prendo on Giulia's ticket is refused, naming her; Anna hears nothing.
    day.step(
        &at(9, 10),
        &operator_mail(&day, &marco.0, Some(&id_of(&notice_marco)), "m1", "#prendo"),
    );
    let refused = day.newest(&marco);
    assert!(refused.subject.contains("NON eseguito"), "{}", refused.subject);
    assert!(
        refused.text.contains("è in carico a Giulia Bianchi"),
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
    assert!(closing_bruno.text.contains("Cancelli i cookie"));

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
    assert!(confirmed.text.contains("Marco Rossi"), "{}", confirmed.text);
    let began = day.find(&giulia, "La tua assenza");
    assert!(began.text.contains("TCK-2026-00001"), "{}", began.text);
    assert!(
        day.newest(&anna).text.contains("Marco Rossi"),
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
    assert!(reopened.text.contains("Giulia Bianchi è assente"), "{}", reopened.text);
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
        question.text.contains("hai già visto questo errore di firma?"),
        "{}",
        question.text
    );
    assert!(
        question.text.contains("Il portale rifiuta il mio file firmato."),
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
    assert!(answer.text.contains("è il certificato scaduto"), "{}", answer.text);
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
    assert!(canned.text.contains("PDF/A-1b o PDF/A-2b"), "{}", canned.text);
    assert!(canned.text.contains("Mi riscriva se non basta."), "{}", canned.text);

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
            closing.text.contains("Il servizio di protocollo è di nuovo attivo."),
            "{}: {}",
            who.0,
            closing.text
        );
    }
    let shown = day.sandbox.run(&["ticket", "show", "TCK-2026-00006", "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["status"], "resolved", "{shown}");
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
