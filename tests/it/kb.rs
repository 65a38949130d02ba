//! Knowledge-base retrieval on a set of realistic resolved tickets written for the test
//! (`fixtures/kb/tickets.toml`: 30+ recurring CPortal problems, 7+ phrasings each): for each
//! held-out new request, the right past solution must be in the top three.

use chrono::{DateTime, TimeZone, Utc};
use sportello::model::{Channel, Kind};
use sportello::store::Store;
use sportello::store::tickets::{NewTicket, insert_ticket};

fn dataset() -> toml::Table {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/kb/tickets.toml");
    toml::from_str(&std::fs::read_to_string(path).expect("fixtures/kb/tickets.toml")).expect("valid TOML")
}

fn text<'a>(table: &'a toml::Value, key: &str) -> &'a str {
    table.get(key).and_then(|v| v.as_str()).unwrap_or_default()
}

/// Loads every ticket of the set as a resolved ticket with its knowledge-base entry; returns
/// the store and, per ticket id, its problem key.
fn load(now: DateTime<Utc>) -> (Store, std::collections::HashMap<String, String>, Vec<(String, String)>) {
    let data = dataset();
    let mut store = Store::open_in_memory().expect("store");
    let mut owner = std::collections::HashMap::new();
    let mut queries = Vec::new();
    let tx = store.write().expect("tx");
    for problem in data["problem"].as_array().expect("problems") {
        let key = text(problem, "key").to_string();
        for ticket in problem["ticket"].as_array().expect("tickets") {
            let new = NewTicket {
                subject: text(ticket, "subject").into(),
                channel: Channel::Email,
                kind: Kind::Problem,
                requester_email: Some("utente@example.org".into()),
                requester_name: None,
                requester_phone: None,
                category: None,
                pratica: None,
                received_at: now,
                year: 2026,
            };
            let id = insert_ticket(&tx, &new, "s", "test").expect("ticket").to_string();
            tx.execute(
                "INSERT INTO messages (ticket_id, direction, body_text, at, disposition) VALUES (?1, 'in', ?2, ?3, 'person')",
                rusqlite::params![id, text(ticket, "request"), sportello::store::ts(now)],
            )
            .expect("message");
            sportello::kb::record_resolution(&tx, &id, text(ticket, "resolution"), now).expect("entry");
            owner.insert(id, key.clone());
        }
        for query in problem["query"].as_array().expect("queries") {
            queries.push((key.clone(), text(query, "text").to_string()));
        }
    }
    tx.commit().expect("commit");
    (store, owner, queries)
}

#[test]
fn the_right_past_solution_is_in_the_top_three_for_most_new_requests() {
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).single().expect("date");
    let (store, owner, queries) = load(now);
    assert!(owner.len() >= 200, "the set has {} tickets", owner.len());
    assert!(queries.len() >= 60, "the set has {} queries", queries.len());
    let mut found = 0;
    let mut misses = Vec::new();
    for (key, query) in &queries {
        let hits = sportello::kb::search(store.conn(), query, 3, now).expect("search");
        let keys: Vec<&str> = hits
            .iter()
            .filter_map(|h| h.entry.ticket.as_ref().and_then(|t| owner.get(t)))
            .map(String::as_str)
            .collect();
        if keys.contains(&key.as_str()) {
            found += 1;
        } else {
            misses.push(format!("{key}: {query:?} → {keys:?}"));
        }
    }
    let share = f64::from(found) / queries.len() as f64;
    eprintln!(
        "knowledge-base retrieval: right solution in the top 3 for {found} of {} new requests ({:.1} %)",
        queries.len(),
        share * 100.0
    );
    assert!(
        share >= 0.85,
        "top-3 accuracy {:.1} % is under 85 %; misses:\n{}",
        share * 100.0,
        misses.join("\n")
    );
}
