//! Knowledge-base retrieval quality and search latency (issue 19).
//!
//! 1. **Quality on the labelled set** (`fixtures/kb/tickets.toml`: 61 problems, their resolved
//!    tickets, 184 new requests in Italian and English, 60 requests the base cannot answer):
//!    top-3 and top-1 of the ranking (what `kb search` shows), the same for suggestions (what a
//!    notice shows: hits whose confidence reaches `kb::THRESHOLD`), and the share of
//!    out-of-base requests left without a suggestion. The same on the requests written blind
//!    that the model is also fit and calibrated on (`fixtures/kb/calibration-blind.toml`, 61
//!    in the base and 20 out of it), and on the held-out requests, never fit on:
//!    `fixtures/kb/heldout.toml` (50 and 12, by the set's author) and
//!    `fixtures/kb/heldout-blind.toml` (61 and 25, written blind by a third writer).
//! 2. **100,000 entries**: the set's tickets, each varied with a ticket-specific pratica number
//!    and a few words drawn from the set's vocabulary, through the real path
//!    (`kb::record_resolution`: redaction, analysis, FTS5). Every request of the set is searched
//!    repeatedly: median and p99 latency (goal: p99 under 10 ms), and the same quality figures
//!    at that size (an entry's problem is its ticket's). The baseline in the same run is a bare
//!    FTS5 MATCH of one term, without ranking.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::params;
use sportello::store::{Store, ts};

const ENTRIES: usize = 100_000;

struct Set {
    /// (problem index, subject, request, resolution)
    tickets: Vec<(usize, String, String, String)>,
    /// (problem index, request)
    queries: Vec<(usize, String)>,
    out_of_base: Vec<String>,
}

/// The other request sets (the blind calibration requests, the held-out ones), each searched
/// in the labelled set's base.
const HELD_OUT: [&str; 3] = ["calibration-blind.toml", "heldout.toml", "heldout-blind.toml"];

fn load_set() -> (Set, Vec<(&'static str, Set)>) {
    let read = |name: &str| -> toml::Table {
        let path = format!("{}/fixtures/kb/{name}", env!("CARGO_MANIFEST_DIR"));
        toml::from_str(&std::fs::read_to_string(path).expect("dataset")).expect("toml")
    };
    let data = read("tickets.toml");
    let text = |v: &toml::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
    let array = |t: &toml::Table, k: &str| t.get(k).and_then(|v| v.as_array()).cloned().unwrap_or_default();
    let mut set = Set {
        tickets: Vec::new(),
        queries: Vec::new(),
        out_of_base: Vec::new(),
    };
    let mut index = HashMap::new();
    for (i, p) in array(&data, "problem").iter().enumerate() {
        index.insert(text(p, "key"), i);
        for t in p["ticket"].as_array().expect("tickets") {
            set.tickets
                .push((i, text(t, "subject"), text(t, "request"), text(t, "resolution")));
        }
        for q in p["query"].as_array().expect("queries") {
            set.queries.push((i, text(q, "text")));
        }
    }
    for q in array(&data, "short") {
        set.queries.push((index[&text(&q, "problem")], text(&q, "text")));
    }
    for q in array(&data, "out_of_base")
        .iter()
        .chain(&array(&data, "short_out_of_base"))
    {
        set.out_of_base.push(text(q, "text"));
    }
    let held_out = HELD_OUT
        .iter()
        .map(|name| {
            let held = read(name);
            let requests = Set {
                tickets: Vec::new(),
                queries: array(&held, "query")
                    .iter()
                    .map(|q| (index[&text(q, "problem")], text(q, "text")))
                    .collect(),
                out_of_base: array(&held, "out_of_base").iter().map(|q| text(q, "text")).collect(),
            };
            (*name, requests)
        })
        .collect();
    (set, held_out)
}

/// Inserts a resolved ticket with its request and records its entry; returns the entry id.
fn resolved(
    tx: &rusqlite::Transaction<'_>,
    n: usize,
    subject: &str,
    request: &str,
    resolution: &str,
    when: DateTime<Utc>,
) -> i64 {
    let id = format!("TCK-2026-{:06}", n + 1);
    tx.execute(
        "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, secret, created_at, updated_at)
         VALUES (?1, 2026, ?2, ?3, 'resolved', 1, 'email', 'problem', 's', ?4, ?4)",
        params![id, (n + 1) as i64, subject, ts(when)],
    )
    .expect("ticket");
    tx.execute(
        "INSERT INTO messages (ticket_id, direction, body_text, at, disposition) VALUES (?1, 'in', ?2, ?3, 'person')",
        params![id, request, ts(when)],
    )
    .expect("message");
    sportello::kb::record_resolution(tx, &id, resolution, when).expect("entry")
}

/// Top-3, top-1 (ranking and suggested) and the out-of-base silence, on `store`.
fn quality(store: &Store, owner: &HashMap<i64, usize>, set: &Set, now: DateTime<Utc>) -> [f64; 5] {
    let mut counts = [0usize; 5];
    for (problem, q) in &set.queries {
        let hits = sportello::kb::search(store.conn(), q, 3, now).expect("search");
        let ranked: Vec<Option<usize>> = hits.iter().map(|h| owner.get(&h.entry.id).copied()).collect();
        let suggested: Vec<Option<usize>> = hits
            .iter()
            .filter(|h| !h.weak)
            .map(|h| owner.get(&h.entry.id).copied())
            .collect();
        counts[0] += usize::from(ranked.contains(&Some(*problem)));
        counts[1] += usize::from(ranked.first() == Some(&Some(*problem)));
        counts[2] += usize::from(suggested.contains(&Some(*problem)));
        counts[3] += usize::from(suggested.first() == Some(&Some(*problem)));
    }
    for q in &set.out_of_base {
        let hits = sportello::kb::suggest(store.conn(), q, 3, now).expect("suggest");
        counts[4] += usize::from(hits.is_empty());
    }
    let inside = set.queries.len().max(1) as f64;
    [
        counts[0] as f64 / inside,
        counts[1] as f64 / inside,
        counts[2] as f64 / inside,
        counts[3] as f64 / inside,
        counts[4] as f64 / set.out_of_base.len().max(1) as f64,
    ]
}

fn print_quality(label: &str, q: [f64; 5]) {
    println!(
        "  {label}: ranking top-3 {:.1} %, top-1 {:.1} %; suggested (threshold {:.2}) top-3 {:.1} %, top-1 {:.1} %; out of base without suggestion {:.1} %",
        q[0] * 100.0,
        q[1] * 100.0,
        sportello::kb::THRESHOLD,
        q[2] * 100.0,
        q[3] * 100.0,
        q[4] * 100.0
    );
}

fn main() {
    let (set, held_out) = load_set();
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).single().expect("date");
    println!(
        "knowledge-base benchmark: {} problems, {} tickets, {} new requests, {} out of base",
        set.tickets.iter().map(|t| t.0).max().map_or(0, |m| m + 1),
        set.tickets.len(),
        set.queries.len(),
        set.out_of_base.len()
    );

    // 1. The labelled set as it is.
    let mut small = Store::open_in_memory().expect("store");
    let mut owner = HashMap::new();
    let tx = small.write().expect("tx");
    for (n, (problem, subject, request, resolution)) in set.tickets.iter().enumerate() {
        owner.insert(resolved(&tx, n, subject, request, resolution, now), *problem);
    }
    tx.commit().expect("commit");
    print_quality(
        &format!("labelled set ({} entries)", set.tickets.len()),
        quality(&small, &owner, &set, now),
    );
    for (name, requests) in &held_out {
        print_quality(
            &format!(
                "requests of {name} ({} in the base, {} out of it)",
                requests.queries.len(),
                requests.out_of_base.len()
            ),
            quality(&small, &owner, requests, now),
        );
    }

    // 2. 100,000 entries.
    let vocabulary: Vec<String> = set
        .tickets
        .iter()
        .flat_map(|(_, _, r, _)| r.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|w| w.chars().count() > 4)
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("sportello.db")).expect("store");
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut owner = HashMap::new();
    let start = Instant::now();
    let tx = store.write().expect("tx");
    for n in 0..ENTRIES {
        let (problem, subject, request, resolution) = &set.tickets[n % set.tickets.len()];
        let extra: Vec<&str> = (0..3)
            .map(|_| vocabulary[(next() % vocabulary.len() as u64) as usize].as_str())
            .collect();
        let when = now - chrono::TimeDelta::minutes((next() % 500_000) as i64);
        let request = format!("{request} pratica PE-2026-{n:06} {}", extra.join(" "));
        owner.insert(resolved(&tx, n, subject, &request, resolution, when), *problem);
    }
    tx.commit().expect("commit");
    let indexing = start.elapsed().as_secs_f64();
    println!(
        "  indexing {ENTRIES} entries (ticket rows + redaction + analysis + FTS5): {:.0} entries/s ({indexing:.1} s)",
        ENTRIES as f64 / indexing
    );

    let all: Vec<&str> = set
        .queries
        .iter()
        .map(|(_, q)| q.as_str())
        .chain(set.out_of_base.iter().map(String::as_str))
        .collect();
    let mut latencies = Vec::new();
    // Per request, its fastest round: what the search costs when the machine's other work
    // does not preempt it (a shared machine's load shows in the plain p99, not here).
    let mut best = vec![f64::MAX; all.len()];
    for round in 0..5 {
        for (i, q) in all.iter().enumerate() {
            let t = Instant::now();
            let hits = sportello::kb::search(store.conn(), q, 3, now).expect("search");
            if round > 0 {
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                latencies.push(ms);
                best[i] = best[i].min(ms);
            }
            std::hint::black_box(hits);
        }
    }
    best.sort_by(f64::total_cmp);
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1];
    let mut bare = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let n: i64 = store
            .conn()
            .query_row(
                "SELECT count(*) FROM (SELECT rowid FROM kb_fields WHERE kb_fields MATCH '\"pdf\"' LIMIT 12)",
                [],
                |r| r.get(0),
            )
            .expect("bare");
        bare.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(n > 0);
    }
    bare.sort_by(f64::total_cmp);
    println!(
        "  search over {ENTRIES} entries ({} searches): median {:.2} ms, p99 {:.2} ms (goal p99 < 10 ms)",
        latencies.len(),
        pct(0.5),
        pct(0.99)
    );
    println!(
        "  each request's fastest of 4 rounds: median {:.2} ms, p99 {:.2} ms, slowest {:.2} ms",
        best[best.len() / 2],
        best[((best.len() as f64 * 0.99).ceil() as usize).clamp(1, best.len()) - 1],
        best[best.len() - 1]
    );
    println!(
        "  baseline: bare one-term FTS5 MATCH, median {:.3} ms",
        bare[bare.len() / 2]
    );
    print_quality(&format!("{ENTRIES} entries"), quality(&store, &owner, &set, now));
    for (name, requests) in &held_out {
        print_quality(
            &format!("{ENTRIES} entries, requests of {name}"),
            quality(&store, &owner, requests, now),
        );
    }
}
