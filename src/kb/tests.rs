//! Knowledge-base behaviour on an in-memory store.

use chrono::TimeZone;
use rusqlite::params;

use super::*;
use crate::store::{Store, ts};

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).single().expect("date")
}

/// A resolved ticket with its first message, then its entry.
fn resolved(conn: &Connection, n: u32, subject: &str, request: &str, resolution: &str, when: DateTime<Utc>) -> i64 {
    let id = format!("TCK-2026-{n:05}");
    conn.execute(
        "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, requester_email, requester_name,
             secret, created_at, updated_at)
         VALUES (?1, 2026, ?2, ?3, 'resolved', 1, 'email', 'problem', 'anna@example.org', 'Anna Ferrari', 's', ?4, ?4)",
        params![id, n, subject, ts(when)],
    )
    .expect("ticket");
    conn.execute(
        "INSERT INTO messages (ticket_id, direction, body_text, at, disposition) VALUES (?1, 'in', ?2, ?3, 'person')",
        params![id, request, ts(when)],
    )
    .expect("message");
    record_resolution(conn, &id, resolution, when).expect("entry")
}

#[test]
fn entries_are_redacted_before_they_are_stored_or_indexed() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    let id = resolved(
        conn,
        1,
        "Firma non valida",
        "Sono Anna Ferrari, CF RSSMRA80A01H501U, tel 333 1234567, scrivetemi a anna@example.org",
        "Gentile Anna, rifirmi in CAdES. Per il rimborso IBAN IT60X0542811101000000123456.",
        at(2026, 3, 9),
    );
    let entry = find(conn, id).expect("query").expect("entry");
    for secret in [
        "Anna",
        "Ferrari",
        "RSSMRA80A01H501U",
        "333 1234567",
        "anna@example.org",
        "IT60X0542811101000000123456",
    ] {
        assert!(
            !entry.problem.contains(secret) && !entry.solution.contains(secret),
            "{secret} leaked: {entry:?}"
        );
    }
    // Nor can a search for them find the entry.
    for secret in ["Ferrari", "RSSMRA80A01H501U", "1234567"] {
        assert!(
            search(conn, secret, 5, at(2026, 3, 10)).expect("search").is_empty(),
            "{secret} is indexed"
        );
    }
}

#[test]
fn inflected_and_accented_queries_find_their_entries() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    resolved(
        conn,
        1,
        "Documento firmato rifiutato",
        "Il file firmato non viene accettato",
        "Usi CAdES.",
        at(2026, 3, 9),
    );
    resolved(
        conn,
        2,
        "Pagamento non registrato",
        "Ho pagato con pagoPA",
        "Attenda la ricevuta.",
        at(2026, 3, 9),
    );
    let hits = search(conn, "non riesco a firmare il documento", 5, at(2026, 3, 10)).expect("search");
    assert_eq!(hits[0].entry.ticket.as_deref(), Some("TCK-2026-00001"), "{hits:?}");
    let hits = search(
        conn,
        "pagamenti effettuati: la città non li registra",
        5,
        at(2026, 3, 10),
    )
    .expect("search");
    assert_eq!(hits[0].entry.ticket.as_deref(), Some("TCK-2026-00002"), "{hits:?}");
    // FTS5 syntax in user text is just text.
    assert!(search(conn, "firma\" OR NEAR(x", 5, at(2026, 3, 10)).is_ok());
}

#[test]
fn a_reviewed_article_outranks_an_unreviewed_entry_of_equal_text() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    let a = resolved(
        conn,
        1,
        "Sessione scaduta",
        "La sessione scade mentre compilo",
        "Salvi la bozza spesso.",
        at(2026, 3, 9),
    );
    let b = resolved(
        conn,
        2,
        "Sessione scaduta",
        "La sessione scade mentre compilo",
        "Salvi la bozza spesso.",
        at(2026, 3, 9),
    );
    let first = |conn: &Connection| {
        search(conn, "sessione scaduta", 2, at(2026, 3, 10)).expect("search")[0]
            .entry
            .id
    };
    assert_eq!(first(conn), a, "equal text, equal age: the older id first");
    assert!(
        mark_reviewed(
            conn,
            "TCK-2026-00002",
            Some("La sessione scade durante la compilazione"),
            at(2026, 3, 10)
        )
        .expect("mark")
    );
    assert_eq!(first(conn), b, "the reviewed article wins");
    assert_eq!(reviewed_entries(conn).expect("faq").len(), 1);
}

#[test]
fn recent_entries_rank_above_old_ones_of_equal_text() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    let old = resolved(
        conn,
        1,
        "Errore caricamento",
        "Il caricamento si blocca",
        "Riduca il file.",
        at(2024, 3, 9),
    );
    let new = resolved(
        conn,
        2,
        "Errore caricamento",
        "Il caricamento si blocca",
        "Riduca il file.",
        at(2026, 3, 9),
    );
    let hits = search(conn, "caricamento bloccato", 2, at(2026, 3, 10)).expect("search");
    assert_eq!((hits[0].entry.id, hits[1].entry.id), (new, old));
}

#[test]
fn topics_count_terms_and_compare_with_the_period_before() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    resolved(conn, 1, "Accesso SPID", "Errore SPID livello 2", "x", at(2026, 2, 10));
    resolved(
        conn,
        2,
        "Accesso SPID negato",
        "SPID non funziona",
        "x",
        at(2026, 3, 10),
    );
    resolved(conn, 3, "SPID", "Login SPID", "x", at(2026, 3, 11));
    let list = topics(conn, at(2026, 3, 1), at(2026, 4, 1), 10).expect("topics");
    let spid = list.iter().find(|t| t.example == "spid").expect("spid is a topic");
    assert_eq!((spid.count, spid.previous), (2, 1));
}

#[test]
fn the_faq_site_holds_only_reviewed_escaped_articles() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    resolved(
        conn,
        1,
        "<script>alert(1)</script> firma",
        "x",
        "Usi <b>CAdES</b>",
        at(2026, 3, 9),
    );
    resolved(conn, 2, "Non pubblicata", "y", "z", at(2026, 3, 9));
    mark_reviewed(conn, "TCK-2026-00001", None, at(2026, 3, 10)).expect("mark");
    let dir = tempfile::tempdir().expect("tempdir");
    let templates = crate::notify::templates::Templates::load(None).expect("templates");
    let site = export::Site {
        templates: &templates,
        language: crate::config::Language::It,
        timezone: chrono_tz::Europe::Rome,
    };
    assert_eq!(
        export::write_site(dir.path(), site, &reviewed_entries(conn).expect("faq")).expect("write"),
        1
    );
    let index = std::fs::read_to_string(dir.path().join("index.html")).expect("index");
    assert!(
        index.contains("&lt;script&gt;") && !index.contains("<script>"),
        "{index}"
    );
    assert!(!index.contains("Non pubblicata"));
    let article = std::fs::read_to_string(dir.path().join("articolo-1.html")).expect("article");
    assert!(article.contains("&lt;b&gt;CAdES&lt;/b&gt;") && article.contains("lang=\"it\""));
}
