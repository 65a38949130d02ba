//! Issue 17, citizens' data: a period anonymised gives the identical report; one person's
//! export is complete; an erasure leaves nothing that names them and is refused while one of
//! their tickets is open.
//!
//! The citizen is Carla Fontana (carla.fontana@example.org, 347 555 0199), with a colleague
//! copied (Paolo Neri) and an identity document attached; the requesters of the replayed
//! month (`report::replay_march`) are the rest of the help desk's March.

use crate::report::replay_march;
use crate::support::{Sandbox, code, stderr, stdout};
use crate::workflow_support::{CONFIG, ingest, last_message_id, operator_mail};

const GIULIA: &str = "giulia.bianchi@comune.example.it";
const CARLA: &str = "carla.fontana@example.org";
const PAOLO: &str = "paolo.neri@example.net";
const DOCUMENT: &[u8] = b"%PDF-1.4 carta d'identita di Carla Fontana, nata a Roma";

fn db(sandbox: &Sandbox) -> rusqlite::Connection {
    rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db")
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Carla's request, Paolo copied, with her identity document.
fn carla_request(id: &str, subject: &str) -> String {
    format!(
        "From: Carla Fontana <{CARLA}>\r\nTo: assistenza@comune.example.it\r\nCc: Paolo Neri <{PAOLO}>\r\n\
         Subject: {subject}\r\nMessage-ID: <{id}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Buongiorno, sono Carla Fontana: non riesco ad accedere con SPID. Mi chiami al 347 555 0199.\r\n\
         --b1\r\nContent-Type: application/pdf; name=\"documento_Carla_Fontana.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"documento_Carla_Fontana.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        base64(DOCUMENT)
    )
}

fn plain(from: &str, subject: &str, id: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: assistenza@comune.example.it\r\n{extra}Subject: {subject}\r\nMessage-ID: <{id}@example.org>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

fn run_at(sandbox: &Sandbox, now: &str) {
    let out = sandbox.run(&[&format!("--now={now}"), "run", "--once"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// An operator's command on a ticket, answering the newest notice, then the sending pass.
fn command(sandbox: &Sandbox, now: &str, ticket: &str, id: &str, body: &str) {
    let notice = last_message_id(sandbox, "notify", GIULIA, ticket);
    ingest(
        sandbox,
        now,
        operator_mail(GIULIA, "Re: notifica", Some(&notice), true, id, body),
    );
    run_at(sandbox, now);
}

/// The ticket opened last.
fn newest_ticket(sandbox: &Sandbox) -> String {
    db(sandbox)
        .query_row("SELECT id FROM tickets ORDER BY rowid DESC LIMIT 1", [], |r| r.get(0))
        .expect("a ticket")
}

/// Carla's two requests of March (the first with Paolo copied and her document), both
/// resolved; their numbers follow `replay_march`'s.
fn carla_in_march(sandbox: &Sandbox) {
    ingest(
        sandbox,
        "2026-03-24T09:00:00+01:00",
        carla_request("cf1", "Accesso SPID di Carla Fontana"),
    );
    run_at(sandbox, "2026-03-24T09:00:00+01:00");
    let first = newest_ticket(sandbox);
    command(
        sandbox,
        "2026-03-24T10:00:00+01:00",
        &first,
        "k1",
        "#risolto\nGentile Carla Fontana, abbiamo riattivato l'accesso.",
    );
    ingest(
        sandbox,
        "2026-03-25T10:00:00+01:00",
        plain(
            &format!("Carla Fontana <{CARLA}>"),
            "Pagamento SPID di Carla Fontana",
            "cf2",
            "",
            "Il pagamento non risulta. Codice fiscale FNTCRL80A41H501X.",
        ),
    );
    run_at(sandbox, "2026-03-25T10:00:00+01:00");
    let second = newest_ticket(sandbox);
    command(
        sandbox,
        "2026-03-25T11:00:00+01:00",
        &second,
        "k2",
        "#risolto\nPagamento registrato.",
    );
}

fn report(sandbox: &Sandbox, format: &str) -> String {
    let out = sandbox.run(&[
        "--now=2026-09-01T10:00:00+02:00",
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--format",
        format,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out)
}

fn add_config(sandbox: &Sandbox, text: &str) {
    let path = sandbox.path("config.toml");
    let config = std::fs::read_to_string(&path).expect("config");
    std::fs::write(&path, format!("{config}\n{text}\n")).expect("config");
}

/// A vote on the latest cycle of the ticket whose subject is `subject`, as the vote's page
/// records it.
fn vote(sandbox: &Sandbox, subject: &str, score: u8, comment: &str) {
    let conn = db(sandbox);
    let id: String = conn
        .query_row("SELECT id FROM tickets WHERE subject = ?1", [subject], |r| r.get(0))
        .expect("ticket");
    let ticket: sportello::model::TicketId = id.parse().expect("id");
    let cycle = sportello::store::survey::closed_cycle(&conn, ticket)
        .expect("read")
        .expect("closed by a closing letter");
    let at = chrono::DateTime::parse_from_rfc3339("2026-03-26T10:00:00+01:00")
        .expect("instant")
        .to_utc();
    sportello::store::survey::record(&conn, cycle.cycle_id, ticket, score, comment, "web", at).expect("vote");
}

#[test]
fn a_period_anonymised_gives_the_identical_report() {
    let sandbox = replay_march();
    carla_in_march(&sandbox);
    // Carla votes on both her tickets, naming herself, her phone and her address; a
    // requester of the replayed month votes too.
    vote(
        &sandbox,
        "Accesso SPID di Carla Fontana",
        3,
        "Sono Carla Fontana, ho aspettato troppo: richiamatemi al 347 555 0199 o a carla.fontana@example.org",
    );
    vote(&sandbox, "Pagamento SPID di Carla Fontana", 1, "Grazie, Carla");
    vote(&sandbox, "Firma digitale non valida", 2, "Lento ma risolto");
    let (json_before, csv_before) = (report(&sandbox, "json"), report(&sandbox, "csv"));
    let html_before = report(&sandbox, "html");
    // The report already names nobody: Carla's two subjects count as "[nome]" twice.
    let figures: serde_json::Value = serde_json::from_str(&json_before).expect("json");
    // The replayed March has 13 requests of its own (issue 20's cases included), Carla 2.
    assert_eq!(figures["requests"]["total"], 15, "{json_before}");
    assert!(json_before.contains(r#""term": "nome""#), "{json_before}");
    assert!(!json_before.to_lowercase().contains("fontana"), "{json_before}");
    // Her comments as anonymising will store them: the report always shows the redacted form.
    assert_eq!(
        figures["satisfaction"]["comments"],
        serde_json::json!([
            {"ticket": figures["satisfaction"]["comments"][0]["ticket"], "vote": "negative",
             "comment": "Sono [nome], ho aspettato troppo: richiamatemi al [telefono] o a [email]"},
            {"ticket": figures["satisfaction"]["comments"][1]["ticket"], "vote": "neutral", "comment": "Lento ma risolto"},
            {"ticket": figures["satisfaction"]["comments"][2]["ticket"], "vote": "positive", "comment": "Grazie, [nome]"},
        ]),
        "{json_before}"
    );
    assert_eq!(figures["satisfaction"]["votes"], 3);
    for text in [&csv_before, &html_before] {
        assert!(
            !text.to_lowercase().contains("fontana") && !text.contains("347 555"),
            "{text}"
        );
    }

    // Every ticket closed in March (resolved or out of scope) is archived on 1 August and
    // anonymised on 3 August; the open ones (the phone call never resolved, the ticket never
    // taken in, …) are untouched.
    let (closed, carla_spid): (i64, String) = {
        let conn = db(&sandbox);
        let closed = conn
            .query_row("SELECT count(*) FROM tickets WHERE status = 'resolved'", [], |r| {
                r.get(0)
            })
            .expect("count");
        let id = conn
            .query_row(
                "SELECT id FROM tickets WHERE subject = 'Accesso SPID di Carla Fontana'",
                [],
                |r| r.get(0),
            )
            .expect("Carla's ticket");
        (closed, id)
    };
    assert!(closed > 0);
    add_config(&sandbox, "[retention]\nraw_mail_days = 1\npersonal_data_days = 1");
    // 1 August: the resolved tickets, idle over 30 days, are archived; 3 August: archived over
    // a day, they are anonymised and their raw mail and files deleted.
    run_at(&sandbox, "2026-08-01T10:00:00+02:00");
    run_at(&sandbox, "2026-08-03T10:00:00+02:00");
    let conn = db(&sandbox);
    let anonymised: i64 = conn
        .query_row(
            "SELECT count(*) FROM tickets WHERE anonymised_at IS NOT NULL AND requester_email IS NULL",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(anonymised, closed);
    let subject: String = conn
        .query_row("SELECT subject FROM tickets WHERE id = ?1", [&carla_spid], |r| r.get(0))
        .expect("ticket");
    assert_eq!(subject, "Accesso SPID di [nome]");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
    assert_eq!(
        count(
            "SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id
             WHERE t.status = 'archived' AND m.raw_sha256 IS NOT NULL"
        ),
        0,
        "no archived ticket keeps raw mail"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM raw_messages WHERE sha256 NOT IN (SELECT raw_sha256 FROM messages WHERE raw_sha256 IS NOT NULL)
               AND sha256 NOT IN (SELECT raw_sha256 FROM quarantine WHERE raw_sha256 IS NOT NULL)"
        ),
        0,
        "no raw mail is left behind unnamed"
    );
    assert!(
        count("SELECT count(*) FROM raw_messages") > 0,
        "the open tickets keep theirs"
    );
    // The comments are stored as the report showed them.
    let comment: String = conn
        .query_row("SELECT comment FROM votes WHERE ticket_id = ?1", [&carla_spid], |r| {
            r.get(0)
        })
        .expect("vote");
    assert_eq!(
        comment,
        "Sono [nome], ho aspettato troppo: richiamatemi al [telefono] o a [email]"
    );
    // The pass of 1 August dropped the stored bytes of the mail about no ticket sent over a
    // day before (the morning digests of March); the pass of 3 August, which did the tickets'
    // work, is the last one.
    assert_eq!(
        count(
            "SELECT count(*) FROM outbox WHERE ticket_id IS NULL AND sent_at < '2026-08-01'
               AND (raw <> x'' OR draft IS NOT NULL)"
        ),
        0,
        "no old mail about no ticket keeps its bytes"
    );
    assert!(
        count("SELECT count(*) FROM outbox WHERE ticket_id IS NULL AND purpose = 'digest' AND sent_at < '2026-08-01'")
            > 0,
        "their rows stay"
    );
    let retention: (String, String) = conn
        .query_row(
            "SELECT actor, detail FROM events WHERE action = 'retention' AND ticket_id IS NULL ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("one audit event for the run that did the work");
    assert_eq!(retention.0, "system");
    assert!(
        retention.1.contains(&format!("of {closed} tickets deleted"))
            && retention.1.contains(&format!(", {closed} tickets anonymised")),
        "{retention:?}"
    );
    let sha: String = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(DOCUMENT))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        !sandbox.path(&format!("var/attachments/{}/{sha}", &sha[..2])).exists(),
        "Carla's document is gone from the disk"
    );

    assert_eq!(report(&sandbox, "json"), json_before);
    assert_eq!(report(&sandbox, "csv"), csv_before);
    assert_eq!(report(&sandbox, "html"), html_before);
}

/// Carla's scan of her identity card, larger than the help desk takes (`max_message_bytes`
/// 4096 in `carla_everywhere`): quarantined unread, its first bytes kept.
fn carla_scan() -> String {
    let scan: Vec<u8> = DOCUMENT.iter().copied().cycle().take(6000).collect();
    format!(
        "From: Carla Fontana <{CARLA}>\r\nTo: assistenza@comune.example.it\r\nSubject: Documento\r\n\
         Message-ID: <cf4@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b4\"\r\n\r\n--b4\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         In allegato la carta d'identita. Carla Fontana, 347 555 0199\r\n\
         --b4\r\nContent-Type: image/jpeg; name=\"CI_Carla_Fontana.jpg\"\r\n\
         Content-Disposition: attachment; filename=\"CI_Carla_Fontana.jpg\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b4--\r\n",
        base64(&scan)
    )
}

/// Carla's March plus: she is copied on Lucia's request (and Lucia names her), she writes
/// on someone else's ticket without being one of its people, and her scan is quarantined.
fn carla_everywhere() -> Sandbox {
    let sandbox = Sandbox::with_config(&format!("{CONFIG}\n[intake]\nmax_message_bytes = 4096\n"));
    // TCK-2026-00001: Carla's, resolved; TCK-2026-00002: Carla's, open.
    ingest(
        &sandbox,
        "2026-11-02T09:00:00+01:00",
        carla_request("cf1", "Accesso SPID di Carla Fontana"),
    );
    run_at(&sandbox, "2026-11-02T09:00:00+01:00");
    command(
        &sandbox,
        "2026-11-02T10:00:00+01:00",
        "TCK-2026-00001",
        "k1",
        "#risolto\nGentile Carla Fontana, abbiamo riattivato l'accesso.",
    );
    ingest(
        &sandbox,
        "2026-11-03T09:00:00+01:00",
        plain(
            &format!("Carla Fontana <{CARLA}>"),
            "Pagamento",
            "cf2",
            "",
            "Il pagamento non risulta.",
        ),
    );
    // TCK-2026-00003: Lucia's, Carla copied and named in the text.
    ingest(
        &sandbox,
        "2026-11-03T10:00:00+01:00",
        plain(
            "Lucia Galli <lucia.galli@example.com>",
            "Firma digitale",
            "lg1",
            &format!("Cc: Carla Fontana <{CARLA}>\r\n"),
            "La collega Carla Fontana ha lo stesso problema. Il mio numero: 06 1234 5678.",
        ),
    );
    // TCK-2026-00004: Bruno's; Carla writes on it (stored flagged).
    ingest(
        &sandbox,
        "2026-11-03T11:00:00+01:00",
        plain(
            "bruno.sala@example.com",
            "Marca da bollo",
            "bs1",
            "",
            "Non trovo la marca da bollo.",
        ),
    );
    ingest(
        &sandbox,
        "2026-11-03T12:00:00+01:00",
        plain(
            &format!("Carla Fontana <{CARLA}>"),
            "Re: [TCK-2026-00004] Marca da bollo",
            "cf3",
            "",
            "Anche io, scrivetemi a carla.fontana@example.org.",
        ),
    );
    let scan = sandbox.run_with_input(
        &["--now=2026-11-03T13:00:00+01:00", "ingest", "-"],
        carla_scan().as_bytes(),
    );
    assert_eq!(code(&scan), 65, "{}", stderr(&scan));
    assert!(stderr(&scan).contains("1 message(s) quarantined"), "{}", stderr(&scan));
    run_at(&sandbox, "2026-11-03T13:00:00+01:00");
    sandbox
}

#[test]
fn the_export_of_a_person_holds_their_tickets_copies_and_files() {
    let sandbox = carla_everywhere();
    let out = sandbox.run(&[
        "--now=2026-12-01T10:00:00+01:00",
        "privacy",
        "export",
        "--requester",
        "Carla.Fontana@example.org",
        "--out",
        "export",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let dir = sandbox.path("export");
    let readme = std::fs::read_to_string(dir.join("LEGGIMI.txt")).expect("README");
    assert!(readme.contains("dati.json") && readme.contains("allegati/"), "{readme}");
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("dati.json")).expect("json")).expect("json");
    let requests = data["richieste"].as_array().expect("requests");
    let roles: Vec<(String, String)> = requests
        .iter()
        .map(|r| {
            (
                r["ticket"].as_str().unwrap_or("").to_string(),
                r["ruolo"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("TCK-2026-00001", "requester"),
            ("TCK-2026-00002", "requester"),
            ("TCK-2026-00003", "cc"),
            ("TCK-2026-00004", "unverified-sender"),
        ]
        .map(|(t, r)| (t.to_string(), r.to_string()))
    );
    let first = &requests[0];
    assert_eq!(first["richiedente"]["email"], CARLA);
    assert_eq!(first["richiedente"]["nome"], "Carla Fontana");
    // Her request and the closing letter, and her document as a file.
    let texts: Vec<&str> = first["messaggi"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["testo"].as_str())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("Mi chiami al 347 555 0199")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("abbiamo riattivato l'accesso")),
        "{texts:?}"
    );
    let file = first["allegati"][0]["file"].as_str().expect("the document's file");
    assert_eq!(std::fs::read(dir.join(file)).expect("document"), DOCUMENT);
    let original = first["messaggi"][0]["originale"].as_str().expect("raw mail kept");
    let raw = std::fs::read_to_string(dir.join(original)).expect("eml");
    assert!(raw.contains("Message-ID: <cf1@example.org>"), "{raw}");
    assert!(
        first["eventi"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["azione"] == "resolved"))
    );
    // On Lucia's ticket: the message she was copied on; on Bruno's, only her own.
    assert_eq!(requests[2]["messaggi"].as_array().map(Vec::len), Some(1));
    assert_eq!(requests[2]["richiedente"]["email"], serde_json::Value::Null);
    let on_bruno = requests[3]["messaggi"].as_array().expect("messages");
    assert_eq!(on_bruno.len(), 1);
    assert_eq!(on_bruno[0]["non_verificato"], true);
    assert!(
        !dati_names(&data, "bruno.sala"),
        "Bruno's own request is not hers to see"
    );
    // Her scan, quarantined unread: its reason and the bytes kept.
    let quarantine = data["quarantena"].as_array().expect("the quarantine");
    assert_eq!(quarantine.len(), 1, "{data}");
    assert!(
        quarantine[0]["motivo"]
            .as_str()
            .is_some_and(|m| m.contains("larger than intake.max_message_bytes")),
        "{data}"
    );
    let kept = std::fs::read_to_string(dir.join(quarantine[0]["originale"].as_str().expect("its file"))).expect("eml");
    assert!(
        kept.starts_with(&format!("From: Carla Fontana <{CARLA}>")) && kept.contains("Message-ID: <cf4@example.org>"),
        "{kept}"
    );
    assert!(readme.contains("quarantena/N.eml"), "{readme}");
    assert_eq!(data["messaggi_senza_richiesta"], serde_json::json!([]));
    assert_eq!(data["segnalazione_spam"], serde_json::Value::Null);
    // The export is recorded, without whose.
    let conn = db(&sandbox);
    let detail: String = conn
        .query_row("SELECT detail FROM events WHERE action = 'privacy-exported'", [], |r| {
            r.get(0)
        })
        .expect("event");
    assert!(!detail.contains("carla"), "{detail}");
}

fn dati_names(data: &serde_json::Value, needle: &str) -> bool {
    data.to_string().contains(needle)
}

/// Every place (table and column, or file) in the data folder that still holds one of
/// `needles`, case-insensitive. The outbox folder is left out: it is the file transport's
/// sending side (the mail server, in production), not what the help desk keeps.
fn mentions(sandbox: &Sandbox, needles: &[&str]) -> Vec<String> {
    let conn = db(sandbox);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .expect("tables")
        .query_map([], |r| r.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("tables");
    let mut found = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).expect("select");
        let columns: Vec<String> = stmt.column_names().map(|c| c.to_string()).collect();
        let mut rows = stmt.query([]).expect("rows");
        while let Some(row) = rows.next().expect("row") {
            for (i, column) in columns.iter().enumerate() {
                let text = match row.get_ref(i).expect("value") {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).to_lowercase()
                    }
                    _ => continue,
                };
                for needle in needles {
                    if text.contains(&needle.to_lowercase()) {
                        found.push(format!("{table}.{column}: {needle} in {text}"));
                    }
                }
            }
        }
    }
    drop(conn);
    let mut stack = vec![sandbox.path("var")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path != sandbox.path("var/outbox") {
                    stack.push(path);
                }
                continue;
            }
            let bytes = String::from_utf8_lossy(&std::fs::read(&path).expect("file")).to_lowercase();
            for needle in needles {
                if bytes.contains(&needle.to_lowercase()) {
                    found.push(format!("file {}: {needle}", path.display()));
                }
            }
        }
    }
    found
}

const CARLA_NEEDLES: &[&str] = &[
    CARLA,
    "carla.fontana",
    "Carla",
    "Fontana",
    "347 555 0199",
    "3475550199",
    "FNTCRL",
];

#[test]
fn an_erasure_is_refused_on_an_open_ticket_then_leaves_nothing_that_names_her() {
    let sandbox = carla_everywhere();
    assert!(
        !mentions(&sandbox, CARLA_NEEDLES).is_empty(),
        "the scenario stores her data"
    );
    let erase = |extra: &[&str]| {
        let mut args = vec![
            "--now=2026-12-01T10:00:00+01:00",
            "privacy",
            "erase",
            "--requester",
            CARLA,
            "--reason",
            "richiesta prot. 4521/2026",
        ];
        args.extend_from_slice(extra);
        sandbox.run(&args)
    };
    let refused = erase(&[]);
    assert_eq!(code(&refused), 65, "{}", stderr(&refused));
    assert!(stderr(&refused).contains("TCK-2026-00002"), "{}", stderr(&refused));
    let conn = db(&sandbox);
    let untouched: i64 = conn
        .query_row(
            "SELECT count(*) FROM tickets WHERE requester_email = ?1",
            [CARLA],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(untouched, 2, "a refused erasure changes nothing");
    drop(conn);

    assert_eq!(
        db(&sandbox)
            .query_row(
                "SELECT count(*) FROM quarantine WHERE raw_sha256 IS NOT NULL",
                [],
                |r| r.get::<_, i64>(0)
            )
            .expect("count"),
        1,
        "her scan is quarantined, its bytes kept"
    );

    let done = erase(&["--force"]);
    assert_eq!(code(&done), 0, "{}", stderr(&done));
    assert!(
        stdout(&done).contains("1 quarantined messages deleted"),
        "{}",
        stdout(&done)
    );
    assert_eq!(mentions(&sandbox, CARLA_NEEDLES), Vec::<String>::new());
    let conn = db(&sandbox);
    // Lucia's own data stays on her ticket; Bruno's request is untouched.
    let (lucia, text): (String, String) = conn
        .query_row(
            "SELECT t.requester_email, m.body_text FROM tickets t JOIN messages m ON m.ticket_id = t.id
             WHERE t.id = 'TCK-2026-00003' AND m.direction = 'in' ORDER BY m.id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("lucia");
    assert_eq!(lucia, "lucia.galli@example.com");
    assert_eq!(
        text,
        "La collega [nome] [nome] ha lo stesso problema. Il mio numero: 06 1234 5678."
    );
    // The accounting of her tickets stays: channel, SLA instants, the technician.
    let (channel, resolver, resolved): (String, String, i64) = conn
        .query_row(
            "SELECT channel, resolver, (SELECT count(*) FROM cycles WHERE ticket_id = t.id AND resolved_at IS NOT NULL)
             FROM tickets t WHERE id = 'TCK-2026-00001'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("ticket");
    assert_eq!((channel.as_str(), resolver.as_str(), resolved), ("email", GIULIA, 1));
    // Who asked, when and why; never what.
    let (actor, at, detail): (String, String, String) = conn
        .query_row(
            "SELECT actor, at, detail FROM events WHERE action = 'privacy-erased'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("event");
    assert_eq!(
        (actor.as_str(), at.as_str(), detail.as_str()),
        ("cli", "2026-12-01T09:00:00Z", "richiesta prot. 4521/2026")
    );
}

#[test]
fn by_mail_a_supervisor_gets_the_export_attached_and_nobody_else_does() {
    let sandbox = carla_everywhere();
    const LUCA: &str = "luca.verdi@comune.example.it";
    let now = "2026-12-01T10:00:00+01:00";
    ingest(
        &sandbox,
        now,
        operator_mail(GIULIA, "dati", None, true, "p1", &format!("#privacy esporta {CARLA}")),
    );
    let refused = crate::workflow_support::last(&sandbox, "operator_reply", GIULIA);
    assert!(refused.text.contains("riservato ai supervisori"), "{}", refused.text);
    assert!(!refused.text.contains("dati.json"), "{}", refused.text);

    ingest(
        &sandbox,
        now,
        operator_mail(LUCA, "dati", None, true, "p2", &format!("#privacy esporta {CARLA}")),
    );
    let export = crate::workflow_support::last(&sandbox, "operator_reply", LUCA);
    assert!(
        export.text.contains("esportazione di 4 richieste in allegato"),
        "{}",
        export.text
    );
    for file in ["LEGGIMI.txt", "dati.json", "allegati_"] {
        assert!(export.text.contains(file), "{file} attached: {}", export.text);
    }

    // An erasure by mail stops at her open ticket (the command line's --force goes past it).
    ingest(
        &sandbox,
        now,
        operator_mail(
            LUCA,
            "dati",
            None,
            true,
            "p3",
            &format!("#privacy cancella {CARLA} prot. 77"),
        ),
    );
    let refused = crate::workflow_support::last(&sandbox, "operator_reply", LUCA);
    assert!(refused.text.contains("TCK-2026-00002"), "{}", refused.text);
    let conn = db(&sandbox);
    let (exports, erasures): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM events WHERE action = 'privacy-exported' AND actor = ?1),
                    (SELECT count(*) FROM events WHERE action = 'privacy-erased')",
            [LUCA],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("events");
    assert_eq!((exports, erasures), (1, 0));
}

const FERRARO: &str = "luca.ferraro.seo@example.com";

/// Luca Ferraro's cold offer (a real Gmail message) closed with `#spam` on Tuesday 1
/// December, then two more mails of his quarantined as spam.
fn spammer() -> Sandbox {
    let spam = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/eml/new/0025-gmail-cold-offer-spam.eml"),
    )
    .expect("fixture");
    let sandbox = Sandbox::with_config(CONFIG);
    assert!(ingest(&sandbox, "2026-12-01T09:41:22+01:00", spam.clone()).contains("new ticket TCK-2026-00001"));
    run_at(&sandbox, "2026-12-01T09:42:00+01:00");
    command(
        &sandbox,
        "2026-12-01T10:00:00+01:00",
        "TCK-2026-00001",
        "s1",
        "#spam offerta SEO",
    );
    for (day, id) in [("02", "second"), ("03", "third")] {
        let again = spam.replace("K8Jd3Mn1+Rq5tW0uYc2Zd6Ao7b8Fv4gHjLpQ", id);
        let out = ingest(&sandbox, &format!("2026-12-{day}T09:00:00+01:00"), again);
        assert!(out.contains("quarantined as spam"), "{out}");
    }
    sandbox
}

const FERRARO_NEEDLES: &[&str] = &[FERRARO, "luca.ferraro", "Ferraro"];

#[test]
fn a_spam_sender_s_quarantined_mail_is_exported_and_erased() {
    let sandbox = spammer();
    let out = sandbox.run(&[
        "--now=2026-12-04T10:00:00+01:00",
        "privacy",
        "export",
        "--requester",
        FERRARO,
        "--out",
        "export",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let dir = sandbox.path("export");
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("dati.json")).expect("json")).expect("json");
    let quarantine = data["quarantena"].as_array().expect("the quarantine");
    assert_eq!(quarantine.len(), 2, "{data}");
    for q in quarantine {
        assert!(q["motivo"].as_str().is_some_and(|m| m.starts_with("spam: ")), "{q}");
        let raw = std::fs::read_to_string(dir.join(q["originale"].as_str().expect("kept"))).expect("eml");
        assert!(
            raw.contains("From: Luca Ferraro <luca.ferraro.seo@example.com>"),
            "{raw}"
        );
    }
    let loose = data["messaggi_senza_richiesta"].as_array().expect("loose messages");
    assert_eq!(loose.len(), 2, "the two mails that reached no ticket: {data}");
    assert!(loose.iter().all(|m| m["originale"].is_string()), "{data}");
    // Closed as spam on 1 December at 10:00 (09:00 UTC), quarantined for 30 days.
    assert_eq!(
        data["segnalazione_spam"],
        serde_json::json!({"segnalata_il": "2026-12-01T09:00:00Z", "fino_al": "2026-12-31T09:00:00Z"})
    );

    assert!(
        !mentions(&sandbox, FERRARO_NEEDLES).is_empty(),
        "the scenario stores his data"
    );
    let erased = sandbox.run(&[
        "--now=2026-12-04T10:00:00+01:00",
        "privacy",
        "erase",
        "--requester",
        FERRARO,
        "--reason",
        "richiesta del 4/12",
    ]);
    assert_eq!(code(&erased), 0, "{}", stderr(&erased));
    assert!(
        stdout(&erased).contains("2 quarantined messages deleted"),
        "{}",
        stdout(&erased)
    );
    assert_eq!(mentions(&sandbox, FERRARO_NEEDLES), Vec::<String>::new());
    let conn = db(&sandbox);
    let (quarantined, marks): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM quarantine), (SELECT count(*) FROM spam_senders)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("counts");
    assert_eq!((quarantined, marks), (0, 0));
    // The accounting of the spam ticket stays: closed as spam, out of the SLA figures.
    let spam_at: Option<String> = conn
        .query_row("SELECT spam_at FROM tickets WHERE id = 'TCK-2026-00001'", [], |r| {
            r.get(0)
        })
        .expect("ticket");
    assert!(spam_at.is_some());
}

#[test]
fn retention_drops_the_quarantine_s_raw_mail_then_the_ended_spam_mark() {
    let sandbox = spammer();
    let shas: Vec<String> = {
        let conn = db(&sandbox);
        let mut stmt = conn
            .prepare("SELECT raw_sha256 FROM quarantine WHERE raw_sha256 IS NOT NULL")
            .expect("select");
        stmt.query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    assert_eq!(shas.len(), 2);
    add_config(&sandbox, "[retention]\nraw_mail_days = 1\npersonal_data_days = 40");
    // Saturday 5 December: the two quarantined mails, received over a day ago, lose their raw
    // mail; the rows stay (when, where from, why), and so does the mark, still in force.
    run_at(&sandbox, "2026-12-05T10:00:00+01:00");
    let conn = db(&sandbox);
    let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
    assert_eq!(one("SELECT count(*) FROM quarantine WHERE raw_sha256 IS NULL"), 2);
    assert_eq!(
        one("SELECT count(*) FROM messages WHERE ticket_id IS NULL AND disposition = 'spam' AND raw_sha256 IS NULL"),
        2
    );
    for sha in &shas {
        let kept: i64 = conn
            .query_row("SELECT count(*) FROM raw_messages WHERE sha256 = ?1", [sha], |r| {
                r.get(0)
            })
            .expect("count");
        assert_eq!(kept, 0, "{sha} deleted");
    }
    assert!(
        one("SELECT count(*) FROM messages WHERE ticket_id = 'TCK-2026-00001' AND raw_sha256 IS NOT NULL") > 0,
        "the spam ticket, resolved but not archived, keeps its raw mail"
    );
    assert_eq!(one("SELECT count(*) FROM spam_senders"), 1);
    let detail: String = conn
        .query_row(
            "SELECT detail FROM events WHERE action = 'retention' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("the pass's audit event");
    assert!(detail.contains("raw mail of 2 quarantined"), "{detail}");
    drop(conn);
    // Saturday 2 January: the mark ended on 31 December, and goes.
    run_at(&sandbox, "2027-01-02T10:00:00+01:00");
    let conn = db(&sandbox);
    let marks: i64 = conn
        .query_row("SELECT count(*) FROM spam_senders", [], |r| r.get(0))
        .expect("count");
    assert_eq!(marks, 0);
    let named = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row(
            "SELECT (SELECT count(*) FROM quarantine)
                  + (SELECT count(*) FROM messages WHERE ticket_id IS NULL AND disposition = 'spam' AND from_addr IS NOT NULL)",
            [],
            |r| r.get(0),
        )
        .expect("count")
    };
    assert_eq!(named(&conn), 4, "within personal_data_days the rows stay");
    // (events of no ticket, those naming the spam's sender)
    let naming_sender = |conn: &rusqlite::Connection| -> (i64, i64) {
        conn.query_row(
            "SELECT count(*), coalesce(sum(lower(actor) LIKE '%ferraro%' OR lower(detail) LIKE '%ferraro%'), 0)
             FROM events WHERE ticket_id IS NULL AND at < '2026-12-11' AND action <> 'retention'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count")
    };
    // A refused operator mail's audit event, as `security` records one about no ticket.
    conn.execute(
        "INSERT INTO events (ticket_id, at, actor, action, detail) VALUES (NULL, '2026-12-02T08:00:00Z',
         'luca.ferraro.seo@example.com', 'security', 'mail from luca.ferraro.seo@example.com refused: call 333 1234567')",
        [],
    )
    .expect("an event");
    let (events_before, naming_before) = naming_sender(&conn);
    assert!(naming_before > 0);
    drop(conn);
    // Wednesday 20 January, over 40 days after: the quarantine rows go whole, and the spam
    // that reached no ticket keeps when and what intake did, not who wrote it or what it said.
    run_at(&sandbox, "2027-01-20T10:00:00+01:00");
    let conn = db(&sandbox);
    assert_eq!(named(&conn), 0);
    let kept: (i64, String) = conn
        .query_row(
            "SELECT count(*), group_concat(subject || body_text, '') FROM messages
             WHERE ticket_id IS NULL AND disposition = 'spam'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the rows");
    assert_eq!(kept, (2, String::new()), "the rows stay, empty");
    let detail: String = conn
        .query_row(
            "SELECT detail FROM events WHERE action = 'retention' ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("the pass's audit event");
    assert!(
        detail.contains("2 quarantined messages deleted, 2 messages of no ticket stripped"),
        "{detail}"
    );
    assert_eq!(
        naming_sender(&conn),
        (events_before, 0),
        "the audit events of no ticket stay, none names the sender"
    );
    let scrubbed: (String, String) = conn
        .query_row(
            "SELECT actor, detail FROM events WHERE action = 'security' AND ticket_id IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the event");
    assert_eq!(
        scrubbed,
        (
            "anonimo".to_string(),
            "mail from [email] refused: call [telefono]".to_string()
        )
    );
}

/// Issue 17, section 5: the open-data table of a seeded month names, addresses and numbers
/// nobody: every requester's address, name and phone, every operator's, every ticket number
/// is looked for in it, and each of its cells is a month, a channel or level word, or a figure.
#[test]
fn the_open_data_table_carries_no_personal_data() {
    let sandbox = replay_march();
    carla_in_march(&sandbox);
    vote(
        &sandbox,
        "Accesso SPID di Carla Fontana",
        3,
        "Sono Carla Fontana, richiamatemi al 347 555 0199",
    );
    crate::report::vote_on_march(&sandbox);
    let out = sandbox.run(&[
        "--now=2026-04-02T10:00:00+02:00",
        "report",
        "--format",
        "csv",
        "--open-data",
        "--out",
        "trasparenza.csv",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = std::fs::read_to_string(sandbox.path("trasparenza.csv")).expect("written");
    assert!(table.contains("\n2026-03;tutti;tutti;15;"), "{table}");
    let conn = db(&sandbox);
    let mut needles: Vec<String> = Vec::new();
    let mut stmt = conn
        .prepare("SELECT id, requester_email, requester_name, requester_phone FROM tickets")
        .expect("tickets");
    let rows = stmt
        .query_map([], |r| {
            Ok([r.get::<_, Option<String>>(0)?, r.get(1)?, r.get(2)?, r.get(3)?])
        })
        .expect("rows");
    for row in rows {
        needles.extend(row.expect("row").into_iter().flatten());
    }
    needles.extend(
        [
            "Giulia Bianchi",
            "Marco Rossi",
            "Luca Verdi",
            GIULIA,
            "marco.rossi@comune.example.it",
            "luca.verdi@comune.example.it",
        ]
        .map(String::from),
    );
    let mut words: Vec<String> = Vec::new();
    for needle in &needles {
        words.push(needle.to_lowercase());
        // Each part of a name, the local part of an address, a phone's digits as one number.
        words.extend(
            needle
                .split([' ', '@'])
                .filter(|w| w.chars().count() >= 3)
                .map(str::to_lowercase),
        );
        let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 6 {
            words.push(digits);
        }
    }
    assert!(words.len() > 40, "the month's people: {words:?}");
    let lower = table.to_lowercase();
    let digits_only: String = table.chars().filter(char::is_ascii_digit).collect();
    for word in &words {
        let found = if word.chars().all(|c| c.is_ascii_digit()) {
            digits_only.contains(word.as_str()) && word.len() >= 9
        } else {
            lower.contains(word.as_str())
        };
        assert!(!found, "{word} in the open data:\n{table}");
    }
    for line in table.trim_start_matches('\u{feff}').lines().skip(1) {
        let cells: Vec<&str> = line.split(';').collect();
        assert_eq!(cells.len(), 21, "{line}");
        assert!(cells[0].len() == 7 && cells[0].starts_with("2026-"), "{line}");
        assert!(["e-mail", "portale", "telefono", "tutti"].contains(&cells[1]), "{line}");
        assert!(["1", "2", "tutti"].contains(&cells[2]), "{line}");
        assert!(
            cells[3..]
                .iter()
                .all(|c| c.chars().all(|ch| ch.is_ascii_digit() || ch == ',')),
            "only figures: {line}"
        );
    }
}
