//! The satisfaction comments' terms (`kb topics`, issue 17) on an in-memory store.

use chrono::TimeZone;
use rusqlite::params;

use super::*;
use crate::store::{Store, survey, ts};

fn at(m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, m, d, 10, 0, 0).single().expect("date")
}

/// Ticket `n` of `name`, resolved on `resolved` by a closing letter, voted `score` with `comment`.
fn voted(conn: &Connection, n: u32, name: &str, resolved: DateTime<Utc>, score: u8, comment: &str) {
    let id = format!("TCK-2026-{n:05}");
    conn.execute(
        "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, requester_email, requester_name,
             secret, created_at, updated_at)
         VALUES (?1, 2026, ?2, 'Richiesta', 'resolved', 1, 'email', 'problem', 'x@example.org', ?3, 's', ?4, ?4)",
        params![id, n, name, ts(resolved)],
    )
    .expect("ticket");
    conn.execute(
        "INSERT INTO outbox (ticket_id, message_id, purpose, recipients, raw, created_at, next_attempt_at, sent_at)
         VALUES (?1, ?2, 'closing', 'x@example.org', x'', ?3, ?3, ?3)",
        params![id, format!("closing-{n}@example.org"), ts(resolved)],
    )
    .expect("closing letter");
    conn.execute(
        "INSERT INTO cycles (ticket_id, number, received_at, effective_start, take_in_due, level, resolution_message_id,
             resolved_at)
         VALUES (?1, 1, ?2, ?2, ?2, 1, ?3, ?2)",
        params![id, ts(resolved), format!("closing-{n}@example.org")],
    )
    .expect("cycle");
    let cycle = conn.last_insert_rowid();
    let ticket: crate::model::TicketId = id.parse().expect("id");
    survey::record(conn, cycle, ticket, score, comment, "web", resolved).expect("vote");
}

#[test]
fn comment_terms_come_redacted_and_the_negative_ones_first() {
    let store = Store::open_in_memory().expect("store");
    let conn = store.conn();
    voted(
        conn,
        1,
        "Marta Colombo",
        at(3, 2),
        3,
        "Sono Marta Colombo: il pagamento pagoPA si blocca, chiamatemi, tel.347 555 0101",
    );
    voted(
        conn,
        2,
        "Ivo Rinaldi",
        at(3, 3),
        3,
        "Pagamenti bloccati da giorni. Ivo Rinaldi, tel.3471112223",
    );
    voted(
        conn,
        3,
        "Ada Serra",
        at(3, 4),
        2,
        "Risposta lenta, ma il modulo di pagamento ora va",
    );
    voted(conn, 4, "Eva Costa", at(3, 5), 1, "Risposta veloce e chiara");
    voted(conn, 5, "Leo Bassi", at(3, 6), 1, "Operatrice chiara e paziente");
    // Closed in February: outside March.
    voted(
        conn,
        6,
        "Ugo Sala",
        at(2, 20),
        3,
        "Pagamento impossibile, portale lento",
    );
    let list = comment_topics(conn, at(3, 1), at(4, 1), 10).expect("topics");
    let rows: Vec<(&str, u32, u32, u32)> = list
        .iter()
        .map(|t| (t.example.as_str(), t.negative, t.neutral, t.positive))
        .collect();
    // "pagamento" (T1, T2 as "pagamenti", T3): in two negative comments and one neutral;
    // "blocca"/"bloccati" and "tel." (before the phone) in two negative ones; "risposta" and
    // "chiara" twice, not negative.
    assert_eq!(
        rows,
        [
            ("pagamento", 2, 1, 0),
            ("blocca", 2, 0, 0),
            ("tel", 2, 0, 0),
            ("risposta", 0, 1, 1),
            ("chiara", 0, 0, 2),
        ]
    );
    let all: Vec<String> = list.iter().flat_map(|t| [t.label.clone(), t.example.clone()]).collect();
    // Both comments named their writer and a phone: the placeholders count as no word.
    for personal in ["marta", "colombo", "rinaldi", "347", "5550101", "nom", "telefon"] {
        assert!(!all.iter().any(|t| t.contains(personal)), "{personal} in {all:?}");
    }
    assert_eq!(comment_topics(conn, at(3, 1), at(4, 1), 1).expect("topics").len(), 1);
}
