//! Retrieval on the hand-written labelled set (`fixtures/kb/tickets.toml`): 61 recurring
//! CPortal problems with their resolved tickets, 152 new requests worded differently (Italian
//! and English), and 22 requests the base cannot answer. Asserts the goals of issue 19 and
//! checks that [`THRESHOLD`] is what the calibration rule gives on half of the set.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::model::{Channel, Kind};
use crate::store::Store;
use crate::store::tickets::{NewTicket, insert_ticket};

/// A resolved ticket of the set: subject, request, resolution.
pub type Ticket = (String, String, String);

/// A problem of the set: its key, its tickets, its new requests.
pub type Problem = (String, Vec<Ticket>, Vec<String>);

/// The set: its problems, then the out-of-base requests.
pub struct Set {
    pub problems: Vec<Problem>,
    pub out_of_base: Vec<String>,
}

fn text(table: &toml::Value, key: &str) -> String {
    table.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string()
}

pub fn set() -> Set {
    let data: toml::Table =
        toml::from_str(include_str!("../../fixtures/kb/tickets.toml")).expect("fixtures/kb/tickets.toml");
    let list = |v: &toml::Value, k: &str| v.get(k).and_then(|x| x.as_array()).cloned().unwrap_or_default();
    let problems = data["problem"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            let tickets = list(p, "ticket")
                .iter()
                .map(|t| (text(t, "subject"), text(t, "request"), text(t, "resolution")))
                .collect();
            let queries = list(p, "query").iter().map(|q| text(q, "text")).collect();
            (text(p, "key"), tickets, queries)
        })
        .collect();
    let out_of_base = data["out_of_base"]
        .as_array()
        .expect("out_of_base")
        .iter()
        .map(|q| text(q, "text"))
        .collect();
    Set { problems, out_of_base }
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).single().expect("date")
}

/// A store holding every ticket of the set, resolved, with its entry; and per entry id its
/// problem key.
pub fn load(set: &Set) -> (Store, HashMap<i64, String>) {
    let mut store = Store::open_in_memory().expect("store");
    let mut owner = HashMap::new();
    let tx = store.write().expect("tx");
    for (key, tickets, _) in &set.problems {
        for (subject, request, resolution) in tickets {
            let new = NewTicket {
                subject: subject.clone(),
                channel: Channel::Email,
                kind: Kind::Problem,
                requester_email: Some("utente@example.org".into()),
                requester_name: None,
                requester_phone: None,
                category: None,
                pratica: None,
                received_at: now(),
                year: 2026,
            };
            let id = insert_ticket(&tx, &new, "s", "test").expect("ticket").to_string();
            tx.execute(
                "INSERT INTO messages (ticket_id, direction, body_text, at, disposition) VALUES (?1, 'in', ?2, ?3, 'person')",
                rusqlite::params![id, request, crate::store::ts(now())],
            )
            .expect("message");
            let entry = record_resolution(&tx, &id, resolution, now()).expect("entry");
            owner.insert(entry, key.clone());
        }
    }
    tx.commit().expect("commit");
    (store, owner)
}

/// What one query returned: per hit, its problem and confidence.
pub struct Outcome {
    pub hits: Vec<(String, f64)>,
}

impl Outcome {
    /// The rank (0-based) of `key` among the hits at least `threshold` sure, if there.
    fn rank(&self, key: &str, threshold: f64) -> Option<usize> {
        self.hits
            .iter()
            .filter(|(_, c)| *c >= threshold)
            .position(|(k, _)| k == key)
    }

    /// The rank of `key` among all three hits, when the best of them is at least `threshold`
    /// sure (the request is judged answerable as a whole).
    fn gated_rank(&self, key: &str, threshold: f64) -> Option<usize> {
        if self.suggests(threshold) {
            self.hits.iter().position(|(k, _)| k == key)
        } else {
            None
        }
    }

    fn suggests(&self, threshold: f64) -> bool {
        self.hits.iter().any(|(_, c)| *c >= threshold)
    }
}

pub fn run(store: &Store, owner: &HashMap<i64, String>, query: &str) -> Outcome {
    let hits = search(store.conn(), query, 3, now()).expect("search");
    Outcome {
        hits: hits
            .iter()
            .map(|h| (owner.get(&h.entry.id).cloned().unwrap_or_default(), h.confidence))
            .collect(),
    }
}

/// Top-3 and top-1 shares of the in-base requests, and the share of out-of-base requests left
/// without a suggestion, at `threshold`.
pub fn figures(inside: &[(String, Outcome)], outside: &[Outcome], threshold: f64) -> (f64, f64, f64) {
    let share = |n: usize, of: usize| n as f64 / of.max(1) as f64;
    let top3 = inside.iter().filter(|(k, o)| o.rank(k, threshold).is_some()).count();
    let top1 = inside.iter().filter(|(k, o)| o.rank(k, threshold) == Some(0)).count();
    let silent = outside.iter().filter(|o| !o.suggests(threshold)).count();
    (
        share(top3, inside.len()),
        share(top1, inside.len()),
        share(silent, outside.len()),
    )
}

/// Top-3 and top-1 when the threshold judges the request as a whole (the best hit's
/// confidence), and then the three hits are shown as ranked.
pub fn gated(inside: &[(String, Outcome)], threshold: f64) -> (f64, f64) {
    let share = |n: usize| n as f64 / inside.len().max(1) as f64;
    let top3 = inside
        .iter()
        .filter(|(k, o)| o.gated_rank(k, threshold).is_some())
        .count();
    let top1 = inside
        .iter()
        .filter(|(k, o)| o.gated_rank(k, threshold) == Some(0))
        .count();
    (share(top3), share(top1))
}

/// The calibration rule: the lowest threshold (in steps of 0.01) that leaves at least 90 % of
/// the out-of-base requests without a suggestion, plus a margin of 0.02 against the set's
/// own luck.
pub fn calibrate(outside: &[Outcome]) -> f64 {
    let mut tops: Vec<f64> = outside
        .iter()
        .map(|o| o.hits.iter().map(|(_, c)| *c).fold(0.0, f64::max))
        .collect();
    tops.sort_by(f64::total_cmp);
    // At most a tenth may stay above the threshold.
    let allowed = tops.len() / 10;
    let cut = tops.len().saturating_sub(allowed + 1);
    let above = tops.get(cut).copied().unwrap_or(0.0);
    ((above + 0.005) * 100.0).ceil() / 100.0 + 0.02
}

#[test]
fn new_requests_find_their_solution_and_out_of_base_ones_get_none() {
    let set = set();
    assert!(set.problems.len() >= 60, "{} problems", set.problems.len());
    let (store, owner) = load(&set);
    let inside: Vec<(String, Outcome)> = set
        .problems
        .iter()
        .flat_map(|(k, _, qs)| qs.iter().map(move |q| (k.clone(), q.clone())))
        .map(|(k, q)| {
            let o = run(&store, &owner, &q);
            (k, o)
        })
        .collect();
    let outside: Vec<Outcome> = set.out_of_base.iter().map(|q| run(&store, &owner, q)).collect();
    assert!(
        inside.len() >= 150 && outside.len() >= 20,
        "{} / {}",
        inside.len(),
        outside.len()
    );
    // Ranking: what `kb search` shows (weak hits marked); suggestions: what a notice shows.
    let (rank3, rank1, _) = figures(&inside, &outside, 0.0);
    let (top3, top1, silent) = figures(&inside, &outside, THRESHOLD);
    eprintln!(
        "knowledge-base retrieval ({} requests, {} out of base): ranking top-3 {:.1} %, top-1 {:.1} %; \
         suggested (threshold {THRESHOLD}) top-3 {:.1} %, top-1 {:.1} %; out of base without suggestion {:.1} %",
        inside.len(),
        outside.len(),
        rank3 * 100.0,
        rank1 * 100.0,
        top3 * 100.0,
        top1 * 100.0,
        silent * 100.0
    );
    let misses: Vec<String> = inside
        .iter()
        .filter(|(k, o)| o.rank(k, 0.0).is_none())
        .map(|(k, o)| format!("{k} → {:?}", o.hits))
        .collect();
    let loud: Vec<String> = set
        .out_of_base
        .iter()
        .zip(&outside)
        .filter(|(_, o)| o.suggests(THRESHOLD))
        .map(|(q, o)| format!("{q:?} → {:?}", o.hits))
        .collect();
    assert!(
        rank3 >= 0.95,
        "top-3 {:.1} %; misses:\n{}",
        rank3 * 100.0,
        misses.join("\n")
    );
    assert!(rank1 >= 0.75, "top-1 {:.1} %", rank1 * 100.0);
    assert!(
        silent >= 0.9,
        "out of base {:.1} %:\n{}",
        silent * 100.0,
        loud.join("\n")
    );
    // The price of silence: what the threshold keeps of the right answers (see ARCHITECTURE.md).
    assert!(
        top3 >= 0.6 && top1 >= 0.55,
        "suggested top-3 {top3:.3}, top-1 {top1:.3}"
    );
}

/// The threshold is calibrated on the even-numbered problems and out-of-base requests, and
/// holds on the odd-numbered ones it never saw.
#[test]
fn the_threshold_is_calibrated_on_half_the_set_and_holds_on_the_other() {
    let set = set();
    let (store, owner) = load(&set);
    let half = |parity: usize| {
        let inside: Vec<(String, Outcome)> = set
            .problems
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
            .flat_map(|(_, (k, _, qs))| qs.iter().map(move |q| (k.clone(), q.clone())))
            .map(|(k, q)| {
                let o = run(&store, &owner, &q);
                (k, o)
            })
            .collect();
        let outside: Vec<Outcome> = set
            .out_of_base
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
            .map(|(_, q)| run(&store, &owner, q))
            .collect();
        (inside, outside)
    };
    let (cal_in, cal_out) = half(0);
    let (check_in, check_out) = half(1);
    let threshold = calibrate(&cal_out);
    let (top3, top1, silent) = figures(&check_in, &check_out, threshold);
    eprintln!(
        "calibrated on half the set: threshold {threshold:.2} (in use: {THRESHOLD}); on the other half top-3 {:.1} %, top-1 {:.1} %, out of base without suggestion {:.1} %",
        top3 * 100.0,
        top1 * 100.0,
        silent * 100.0
    );
    let (_, _, cal_silent) = figures(&cal_in, &cal_out, threshold);
    assert!(
        cal_silent >= 0.9,
        "the calibration half itself: {:.1} % silent",
        cal_silent * 100.0
    );
    assert!(
        (threshold - THRESHOLD).abs() <= 0.05,
        "the rule gives {threshold:.2}, the code uses {THRESHOLD}"
    );
    assert!(
        top3 >= 0.5 && silent >= 0.8,
        "held-out half: top-3 {top3:.3}, silent {silent:.3}"
    );
}

/// Prints per-query confidences, for calibrating by hand: `cargo test --lib retrieval_dump --
/// --ignored --nocapture`.
#[test]
#[ignore = "a report, not a check"]
fn retrieval_dump() {
    let set = set();
    let (store, owner) = load(&set);
    for (k, _, qs) in &set.problems {
        for q in qs {
            let o = run(&store, &owner, q);
            let r = o.rank(k, 0.0);
            let top = o.hits.first().map(|h| h.1).unwrap_or(0.0);
            println!("IN  {:>5} {:.3} {k}: {q} → {:?}", format!("{r:?}"), top, o.hits);
        }
    }
    for q in &set.out_of_base {
        let o = run(&store, &owner, q);
        let top = o.hits.first().map(|h| h.1).unwrap_or(0.0);
        println!("OUT {top:.3} {q} → {:?}", o.hits);
    }
    let inside: Vec<(String, Outcome)> = set
        .problems
        .iter()
        .flat_map(|(k, _, qs)| qs.iter().map(move |q| (k.clone(), q.clone())))
        .map(|(k, q)| {
            let o = run(&store, &owner, &q);
            (k, o)
        })
        .collect();
    let outside: Vec<Outcome> = set.out_of_base.iter().map(|q| run(&store, &owner, q)).collect();
    for t in 0..=60 {
        let t = f64::from(t) / 100.0;
        let (a, b, c) = figures(&inside, &outside, t);
        let (d, e) = gated(&inside, t);
        println!("threshold {t:.2}: top-3 {a:.3} top-1 {b:.3} silent {c:.3} gated top-3 {d:.3} top-1 {e:.3}");
    }
}
