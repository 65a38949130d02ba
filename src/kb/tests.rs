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

/// A new request (a ticket with its first message), not resolved.
fn requested(conn: &Connection, n: u32, subject: &str, request: &str) -> String {
    let id = format!("TCK-2026-{n:05}");
    conn.execute(
        "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, requester_email, requester_name,
             secret, created_at, updated_at)
         VALUES (?1, 2026, ?2, ?3, 'new', 1, 'email', 'problem', 'bruno@example.org', 'Bruno Neri', 's', ?4, ?4)",
        params![id, n, subject, ts(at(2026, 3, 10))],
    )
    .expect("ticket");
    conn.execute(
        "INSERT INTO messages (ticket_id, direction, body_text, at, disposition) VALUES (?1, 'in', ?2, ?3, 'person')",
        params![id, request, ts(at(2026, 3, 10))],
    )
    .expect("message");
    id
}

/// Two entries of equal text, so that only what operators said can order them.
fn twins(conn: &Connection) -> (i64, i64) {
    let text = (
        "Firma non valida",
        "La firma del file non è valida",
        "Rifirmi il file in CAdES.",
    );
    let a = resolved(conn, 1, text.0, text.1, text.2, at(2026, 3, 9));
    let b = resolved(conn, 2, text.0, text.1, text.2, at(2026, 3, 9));
    (a, b)
}

fn order(conn: &Connection, query: &str) -> Vec<i64> {
    search(conn, query, 5, at(2026, 3, 11))
        .expect("search")
        .iter()
        .map(|h| h.entry.id)
        .collect()
}

#[test]
fn an_entry_used_as_the_answer_ranks_first_for_similar_requests_only() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    let (a, b) = twins(conn);
    resolved(
        conn,
        3,
        "Pagamento",
        "Il pagamento non risulta",
        "Attenda la ricevuta.",
        at(2026, 3, 9),
    );
    let similar = "la firma del file risulta non valida dopo il caricamento";
    assert_eq!(order(conn, similar)[..2], [a, b], "equal text: the older id first");
    let ticket = requested(
        conn,
        10,
        "Firma non valida al caricamento",
        "dopo il caricamento la firma del file non è valida",
    );
    assert!(record_use(conn, &ticket, b, "giulia@comune.example.it", at(2026, 3, 10)).expect("use"));
    assert_eq!(order(conn, similar)[..2], [b, a], "used for a similar request: first");
    // A request sharing a single word with that ticket is not "similar".
    assert_eq!(
        order(conn, "manca la firma del direttore dei lavori nel modulo di inizio")[..2],
        [a, b]
    );
    // An entry that does not exist is not recorded.
    assert!(!record_use(conn, &ticket, 999, "giulia@comune.example.it", at(2026, 3, 10)).expect("use"));
}

#[test]
fn an_entry_marked_wrong_is_shown_less_for_similar_requests() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    let (a, b) = twins(conn);
    let similar = "la firma del file risulta non valida dopo il caricamento";
    let ticket = requested(
        conn,
        10,
        "Firma non valida al caricamento",
        "dopo il caricamento la firma del file non è valida",
    );
    assert!(mark_wrong(conn, &ticket, a, "giulia@comune.example.it", at(2026, 3, 10)).expect("mark"));
    assert_eq!(order(conn, similar)[..2], [b, a]);
    let before = search(conn, similar, 5, at(2026, 3, 11)).expect("search");
    let wrong = before.iter().find(|h| h.entry.id == a).expect("still found");
    let right = before.iter().find(|h| h.entry.id == b).expect("found");
    assert!(wrong.confidence < right.confidence, "{wrong:?} / {right:?}");
    // The operator changes their mind: the latest verdict on a pair wins.
    assert!(record_use(conn, &ticket, a, "giulia@comune.example.it", at(2026, 3, 10)).expect("use"));
    assert_eq!(order(conn, similar)[..2], [a, b]);
}

#[test]
fn a_resolution_citing_an_entry_teaches_that_it_was_the_answer() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    let (a, b) = twins(conn);
    // Ticket 3 is solved by pointing at entry b: its entry cites it.
    resolved(
        conn,
        3,
        "Firma rifiutata sul modulo",
        "La firma sul modulo viene rifiutata dal validatore",
        &format!("Come in kb-{b}: rifirmi in CAdES."),
        at(2026, 3, 10),
    );
    assert_eq!(cited(&format!("KB-{b}, e anche KB-{b} e KB-{a}")), [b, a]);
    let hits = order(conn, "il validatore rifiuta la firma del modulo");
    let rank = |id: i64| hits.iter().position(|h| *h == id).expect("found");
    assert!(rank(b) < rank(a), "{hits:?}");
}

#[test]
fn a_used_entry_is_found_even_when_the_request_shares_no_word_with_it() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    let odd = resolved(
        conn,
        1,
        "Marca temporale",
        "Serve la marca temporale",
        "Usi il servizio TSA.",
        at(2026, 3, 9),
    );
    resolved(
        conn,
        2,
        "Pagamento",
        "Il pagamento non risulta",
        "Attenda la ricevuta.",
        at(2026, 3, 9),
    );
    let query = "il pagamento della pratica non risulta registrato";
    assert!(!order(conn, query).contains(&odd));
    let ticket = requested(
        conn,
        10,
        "Pagamento non registrato",
        "il pagamento della pratica non risulta registrato",
    );
    record_use(conn, &ticket, odd, "giulia@comune.example.it", at(2026, 3, 10)).expect("use");
    assert!(order(conn, query).contains(&odd));
}

#[test]
fn a_request_the_base_cannot_answer_gets_no_suggestion_but_search_shows_weak_hits() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    twins(conn);
    resolved(
        conn,
        3,
        "Pagamento non registrato",
        "Ho pagato con pagoPA ma la pratica risulta da pagare",
        "Attenda la ricevuta telematica.",
        at(2026, 3, 9),
    );
    let unanswerable = "come posso pagare la retta della mensa scolastica di mio figlio?";
    let hits = search(conn, unanswerable, 3, at(2026, 3, 11)).expect("search");
    assert!(
        !hits.is_empty() && hits.iter().all(|h| h.weak && h.confidence < THRESHOLD),
        "{hits:?}"
    );
    assert!(
        suggest(conn, unanswerable, 3, at(2026, 3, 11))
            .expect("suggest")
            .is_empty()
    );
    // Its words and the entry's title: a request that shares only its words with a
    // one-entry base sits at the threshold, whichever way the model's last fit moved it.
    let answerable = "ho pagato con pagoPA ma il pagamento non risulta registrato, la pratica è ancora da pagare";
    let hits = suggest(conn, answerable, 3, at(2026, 3, 11)).expect("suggest");
    assert_eq!(
        hits.first().and_then(|h| h.entry.ticket.as_deref()),
        Some("TCK-2026-00003")
    );
}

#[test]
fn entries_indexed_by_an_older_analysis_are_analysed_again() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    let (a, _) = twins(conn);
    conn.execute("UPDATE kb_entries SET index_version = 0 WHERE id = ?1", [a])
        .expect("stale");
    assert_eq!(reindex_stale(conn, 10).expect("reindex"), 1);
    assert_eq!(reindex_stale(conn, 10).expect("reindex"), 0);
    assert_eq!(order(conn, "firma non valida")[0], a);
}

/// A base indexed before issue 19 (one `terms` column) is still searched after the upgrade,
/// and its entries are analysed again by field.
#[test]
fn a_base_indexed_before_the_fields_is_found_after_the_upgrade_and_reindexed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sportello.db");
    {
        let conn = Connection::open(&path).expect("open");
        // Every migration before this one (found by name: its number may change at a merge).
        let before = crate::store::MIGRATIONS
            .iter()
            .position(|(name, _)| name.ends_with("_kb_fields"))
            .expect("the migration of issue 19");
        crate::store::migrate(&conn, before).expect("the schema before issue 19");
        conn.execute_batch(
            "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, secret, created_at, updated_at)
             VALUES ('TCK-2026-00001', 2026, 1, 'Firma non valida', 'resolved', 1, 'email', 'problem', 's',
                 '2026-03-09T09:15:00Z', '2026-03-09T09:15:00Z');
             INSERT INTO kb_entries (ticket_id, title, problem, solution, created_at, resolved_at, updated_at)
             VALUES ('TCK-2026-00001', 'Firma non valida', 'Firma non valida: il file firmato viene rifiutato',
                 'Rifirmi in CAdES.', '2026-03-09T09:15:00Z', '2026-03-09T10:00:00Z', '2026-03-09T10:00:00Z');
             INSERT INTO kb_index (rowid, terms) VALUES (1, 'firm valid firm valid firm valid fil firmat rifiut rifirm cades');",
        )
        .expect("rows of the old schema");
    }
    let mut store = Store::open(&path).expect("upgrade");
    let found = |store: &Store| {
        search(store.conn(), "file firmato rifiutato", 3, at(2026, 3, 10))
            .expect("search")
            .first()
            .map(|h| h.entry.id)
    };
    assert_eq!(found(&store), Some(1), "found through the carried-over terms");
    let tx = store.write().expect("tx");
    assert_eq!(reindex_stale(&tx, 10).expect("reindex"), 1);
    tx.commit().expect("commit");
    assert_eq!(found(&store), Some(1), "and by field once analysed again");
    let lengths = crate::store::kb::field_lengths(store.conn()).expect("lengths");
    assert_eq!(lengths.entries, 1);
    assert!(
        lengths.totals[..3].iter().all(|t| *t > 0),
        "title, problem, solution: {lengths:?}"
    );
}
