//! Retrieval on the hand-written labelled set (`fixtures/kb/tickets.toml`: 61 recurring CPortal
//! problems with their resolved tickets, 184 new requests worded differently, Italian and
//! English, 32 of them one line long, and 60 requests the base cannot answer), on requests
//! written blind (`fixtures/kb/calibration-blind.toml`: by a second writer who read only the
//! base's tickets, never this code, its thesaurus or the other requests; one request per
//! problem and 20 out of base), and on two sets of held-out requests, which nothing here is
//! fit on: `fixtures/kb/heldout.toml`, written by the set's author before the model, and
//! `fixtures/kb/heldout-blind.toml`, written blind by a third writer ([`HELD_OUT`]).
//!
//! What a notice shows is what counts: a hit is suggested when its confidence reaches
//! [`THRESHOLD`]. The confidence model ([`MODEL`]) is fit, and the threshold calibrated, on
//! half of the set (the even-numbered problems and out-of-base requests), in the whole base
//! and in smaller bases drawn from it (a customer's first base holds one or two tickets per
//! problem, not seven), and on the blind requests: the author's own requests are shorter and
//! further from the base than real mail, and a threshold calibrated on them alone left 25 %
//! of the blind out-of-base requests with a suggestion. The figures are reported on the other
//! half and on the held-out sets. The tests check that the weights and the threshold in use
//! are what the fit and the calibration rule give.
//!
//! A candidate feature is judged by `feature_trials` (ignored; `KB_TRIALS` names the sets of
//! [`Evidence::named`] features to fit): fit and calibrated on each half in turn, measured on
//! the other and on the blind requests, with the top-3 at the checked half's own 90 %-silent
//! threshold (separability without the calibration rule's noise: 30 out-of-base requests a
//! half, so three of them set the threshold).

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};

use super::search::{Evidence, FEATURES, MODEL, Model};
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

fn list(v: &toml::Value, k: &str) -> Vec<toml::Value> {
    v.get(k).and_then(|x| x.as_array()).cloned().unwrap_or_default()
}

pub fn set() -> Set {
    let data: toml::Value =
        toml::from_str(include_str!("../../fixtures/kb/tickets.toml")).expect("fixtures/kb/tickets.toml");
    let short = list(&data, "short");
    let problems = list(&data, "problem")
        .iter()
        .map(|p| {
            let key = text(p, "key");
            let tickets = list(p, "ticket")
                .iter()
                .map(|t| (text(t, "subject"), text(t, "request"), text(t, "resolution")))
                .collect();
            let queries = list(p, "query")
                .iter()
                .chain(short.iter().filter(|q| text(q, "problem") == key))
                .map(|q| text(q, "text"))
                .collect();
            (key, tickets, queries)
        })
        .collect();
    let out_of_base = list(&data, "out_of_base")
        .iter()
        .chain(&list(&data, "short_out_of_base"))
        .map(|q| text(q, "text"))
        .collect();
    Set { problems, out_of_base }
}

/// The held-out sets: their file, the text of it, and the floors [`held_out_requests`] keeps
/// (ranking top-3, suggested top-3, out of base silent): a little under what was measured
/// when the set was added, so that a change which loses ground on requests nothing is fit on
/// fails. They are not the goals (95 %, 75 %, 90 %), which the blind set's figures are under.
pub const HELD_OUT: [(&str, &str, [f64; 3]); 2] = [
    (
        "fixtures/kb/heldout.toml",
        include_str!("../../fixtures/kb/heldout.toml"),
        [0.9, 0.65, 0.9],
    ),
    (
        "fixtures/kb/heldout-blind.toml",
        include_str!("../../fixtures/kb/heldout-blind.toml"),
        [0.75, 0.38, 0.76],
    ),
];

/// Requests written blind by a second writer (`fixtures/kb/calibration-blind.toml`): longer and
/// nearer the base than the labelled set's, like real mail. They join the calibration half in
/// the fit and in the threshold's calibration.
pub const BLIND_CALIBRATION: &str = include_str!("../../fixtures/kb/calibration-blind.toml");

/// The requests of a set searched in the labelled base ([`HELD_OUT`], [`BLIND_CALIBRATION`]):
/// (problem key, request), and the out-of-base ones.
pub fn requests_of(source: &str) -> (Vec<(String, String)>, Vec<String>) {
    let data: toml::Value = toml::from_str(source).expect("a set of requests");
    let inside = list(&data, "query")
        .iter()
        .map(|q| (text(q, "problem"), text(q, "text")))
        .collect();
    let outside = list(&data, "out_of_base").iter().map(|q| text(q, "text")).collect();
    (inside, outside)
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

/// A smaller base: problem `i` of the set with `keep(i)` of its tickets, or left out (its
/// requests are then about a problem the base does not hold).
pub fn subset(set: &Set, keep: impl Fn(usize) -> Option<usize>) -> Set {
    let problems = set
        .problems
        .iter()
        .enumerate()
        .filter_map(|(i, (k, tickets, queries))| {
            keep(i).map(|n| (k.clone(), tickets.iter().take(n).cloned().collect(), queries.clone()))
        })
        .collect();
    Set {
        problems,
        out_of_base: set.out_of_base.clone(),
    }
}

/// A first base like a customer's: about half the problems, each with one or two tickets
/// (drawn by `seed`).
pub fn small(set: &Set, seed: u64) -> Set {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let picks: Vec<Option<usize>> = (0..set.problems.len())
        .map(|_| (next() % 2 == 0).then(|| 1 + (next() % 2) as usize))
        .collect();
    subset(set, |i| picks[i])
}

/// What one query returned: per hit (best first), its problem and its evidence.
pub struct Outcome {
    pub hits: Vec<(String, Evidence)>,
}

impl Outcome {
    /// The problems of the hits suggested at `threshold` by `confidence`, best first.
    fn suggested_by(&self, confidence: &dyn Fn(&Evidence) -> f64, threshold: f64) -> Vec<&str> {
        self.hits
            .iter()
            .filter(|(_, e)| confidence(e) >= threshold)
            .map(|(k, _)| k.as_str())
            .collect()
    }
}

pub fn run(store: &Store, owner: &HashMap<i64, String>, query: &str) -> Outcome {
    let hits = search(store.conn(), query, 3, now()).expect("search");
    Outcome {
        hits: hits
            .iter()
            .map(|h| (owner.get(&h.entry.id).cloned().unwrap_or_default(), h.evidence))
            .collect(),
    }
}

/// A base with its requests searched: the in-base ones with their problem, the out-of-base
/// ones, and those about a problem of the set the base does not hold.
pub struct Searched {
    pub inside: Vec<(String, Outcome)>,
    pub outside: Vec<Outcome>,
    pub gone: Vec<Outcome>,
}

/// Searches the requests of `set` whose problem (or out-of-base index) has parity `half`
/// (`None`: all) in a base made of `base`.
pub fn searched(all: &Set, base: &Set, half: Option<usize>) -> Searched {
    let (store, owner) = load(base);
    let pick = |i: usize| half.is_none_or(|h| i % 2 == h);
    let mut out = Searched {
        inside: Vec::new(),
        outside: Vec::new(),
        gone: Vec::new(),
    };
    for (_, (k, _, queries)) in all.problems.iter().enumerate().filter(|(i, _)| pick(*i)) {
        let held = base.problems.iter().any(|p| &p.0 == k);
        for q in queries {
            let o = run(&store, &owner, q);
            if held {
                out.inside.push((k.clone(), o));
            } else {
                out.gone.push(o);
            }
        }
    }
    for (_, q) in all.out_of_base.iter().enumerate().filter(|(i, _)| pick(*i)) {
        out.outside.push(run(&store, &owner, q));
    }
    out
}

/// What a notice shows, in figures: top-3 and top-1 of the in-base requests (the right
/// problem among the suggested hits, first of them), and the share of out-of-base requests
/// (and of those about problems the base lacks) left without a suggestion.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub top3: f64,
    pub top1: f64,
    pub silent: f64,
    pub gone_silent: f64,
}

pub fn figures(s: &Searched, model: &Model, threshold: f64) -> Figures {
    figures_by(s, &|e| model.confidence(e, 1.0), threshold)
}

/// [`figures`] with any confidence function.
pub fn figures_by(s: &Searched, confidence: &dyn Fn(&Evidence) -> f64, threshold: f64) -> Figures {
    let share = |n: usize, of: usize| n as f64 / of.max(1) as f64;
    let shown: Vec<(&str, Vec<&str>)> = s
        .inside
        .iter()
        .map(|(k, o)| (k.as_str(), o.suggested_by(confidence, threshold)))
        .collect();
    let top3 = shown.iter().filter(|(k, s)| s.contains(k)).count();
    let top1 = shown.iter().filter(|(k, s)| s.first() == Some(k)).count();
    let quiet = |v: &[Outcome]| {
        v.iter()
            .filter(|o| o.suggested_by(confidence, threshold).is_empty())
            .count()
    };
    Figures {
        top3: share(top3, s.inside.len()),
        top1: share(top1, s.inside.len()),
        silent: share(quiet(&s.outside), s.outside.len()),
        gone_silent: share(quiet(&s.gone), s.gone.len()),
    }
}

/// The ranking alone (what `kb search` shows, weak hits marked): top-3 and top-1.
pub fn ranking(s: &Searched) -> (f64, f64) {
    let n = s.inside.len().max(1) as f64;
    let top3 = s
        .inside
        .iter()
        .filter(|(k, o)| o.hits.iter().any(|h| &h.0 == k))
        .count();
    let top1 = s
        .inside
        .iter()
        .filter(|(k, o)| o.hits.first().is_some_and(|h| &h.0 == k))
        .count();
    (top3 as f64 / n, top1 as f64 / n)
}

/// Logistic regression by Newton's method (a little L2 on the weights, none on the
/// intercept): the weights of [`Model`] from hits labelled right (the request's problem) or
/// wrong (another problem, or any hit of an out-of-base request).
pub fn fit(samples: &[(Evidence, bool)]) -> Model {
    let beta = fit_by(samples, &|e: &Evidence| e.features().to_vec());
    let mut weights = [0.0; FEATURES];
    weights.copy_from_slice(&beta[..FEATURES]);
    Model {
        weights,
        bias: beta[FEATURES],
    }
}

/// [`fit`] over any features: the weights, then the intercept.
pub fn fit_by(samples: &[(Evidence, bool)], features: &dyn Fn(&Evidence) -> Vec<f64>) -> Vec<f64> {
    let k = samples.first().map_or(0, |(e, _)| features(e).len()) + 1;
    let x = |e: &Evidence| {
        let mut v = features(e);
        v.push(1.0);
        v
    };
    let mut beta = vec![0.0f64; k];
    for _ in 0..100 {
        let mut g = vec![0.0f64; k];
        let mut h = vec![vec![0.0f64; k]; k];
        for (e, right) in samples {
            let v = x(e);
            let z: f64 = (0..k).map(|i| beta[i] * v[i]).sum();
            let p = 1.0 / (1.0 + (-z).exp());
            let y = if *right { 1.0 } else { 0.0 };
            for i in 0..k {
                g[i] += (p - y) * v[i];
                for j in 0..k {
                    h[i][j] += p * (1.0 - p) * v[i] * v[j];
                }
            }
        }
        for i in 0..k - 1 {
            g[i] += 0.01 * beta[i];
            h[i][i] += 0.01;
        }
        // Solve h · d = g (Gauss-Jordan with partial pivoting).
        let mut a = vec![vec![0.0f64; k + 1]; k];
        for i in 0..k {
            a[i][..k].copy_from_slice(&h[i]);
            a[i][k] = g[i];
        }
        for c in 0..k {
            let p = (c..k)
                .max_by(|r, s| a[*r][c].abs().total_cmp(&a[*s][c].abs()))
                .expect("rows");
            a.swap(c, p);
            let pivot = a[c].clone();
            if pivot[c] == 0.0 {
                continue;
            }
            for (r, row) in a.iter_mut().enumerate() {
                if r != c {
                    let f = row[c] / pivot[c];
                    for (x, p) in row.iter_mut().zip(&pivot).skip(c) {
                        *x -= f * p;
                    }
                }
            }
        }
        let d: Vec<f64> = (0..k)
            .map(|i| if a[i][i] != 0.0 { a[i][k] / a[i][i] } else { 0.0 })
            .collect();
        for i in 0..k {
            beta[i] -= d[i];
        }
        if d.iter().all(|v| v.abs() < 1e-9) {
            break;
        }
    }
    beta
}

/// The samples a searched base gives the fit: every hit of every request, right or wrong.
pub fn samples(s: &Searched) -> Vec<(Evidence, bool)> {
    let mut out = Vec::new();
    for (k, o) in &s.inside {
        out.extend(o.hits.iter().map(|(p, e)| (*e, p == k)));
    }
    for o in s.outside.iter().chain(&s.gone) {
        out.extend(o.hits.iter().map(|(_, e)| (*e, false)));
    }
    out
}

/// The calibration rule: the lowest threshold, in steps of 0.01, that leaves at least 90 % of
/// the out-of-base requests of every base without a suggestion, plus a margin of 0.05: a
/// half holds 30 of them, so one request more or less above the threshold moves the rate
/// by 3 points, and the rule must hold on requests it has not seen.
pub fn calibrate(bases: &[&Searched], model: &Model) -> f64 {
    let silent_enough = |t: f64| bases.iter().all(|s| figures(s, model, t).silent >= 0.9);
    let mut t = 0.0;
    while t < 1.0 && !silent_enough(t) {
        t += 0.01;
    }
    ((t * 100.0).round() / 100.0 + 0.05).min(1.0)
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// Prints the ranking's figures and the suggestions' at [`THRESHOLD`], and returns them
/// (ranking top-3, top-1, suggestions).
fn report(label: &str, s: &Searched) -> (f64, f64, Figures) {
    let (rank3, rank1) = ranking(s);
    let f = figures(s, &MODEL, THRESHOLD);
    eprintln!(
        "{label} ({} in the base, {} out of it): ranking top-3 {}, top-1 {}",
        s.inside.len(),
        s.outside.len(),
        pct(rank3),
        pct(rank1)
    );
    print_figures(&format!("threshold {THRESHOLD}"), &f);
    (rank3, rank1, f)
}

fn print_figures(label: &str, f: &Figures) {
    eprintln!(
        "  {label}: suggested top-3 {}, top-1 {}; out of base without suggestion {}; about a problem the base lacks, without suggestion {}",
        pct(f.top3),
        pct(f.top1),
        pct(f.silent),
        pct(f.gone_silent)
    );
}

/// The seeds of the smaller bases the model is fit and checked on.
const SMALL_BASES: [u64; 4] = [0, 1, 2, 3];

/// The weights in use are the fit on the calibration half and the blind requests; the
/// threshold is the calibration rule's; on the other half (problems and out-of-base requests
/// never fit on) the figures are printed and hold.
#[test]
fn the_confidence_model_is_fit_on_half_the_set_and_holds_on_the_other() {
    let set = set();
    let whole = subset(&set, |_| Some(usize::MAX));
    let smalls: Vec<Set> = SMALL_BASES.iter().map(|s| small(&set, *s)).collect();
    let calibration: Vec<Searched> = std::iter::once(&whole)
        .chain(&smalls)
        .map(|base| searched(&set, base, Some(0)))
        .chain(std::iter::once(requests_searched(&set, BLIND_CALIBRATION)))
        .collect();
    let model = fit(&calibration.iter().flat_map(samples).collect::<Vec<_>>());
    let threshold = calibrate(&calibration.iter().collect::<Vec<_>>(), &model);
    eprintln!(
        "fit on the calibration half and the blind requests: weights {:?}, bias {:.3}, threshold {threshold:.2} (in use: {MODEL:?}, {THRESHOLD})",
        model.weights.map(|w| (w * 1000.0).round() / 1000.0),
        model.bias
    );
    let close = |a: f64, b: f64| (a - b).abs() <= 0.02 + 0.02 * b.abs();
    assert!(
        model.weights.iter().zip(MODEL.weights).all(|(a, b)| close(*a, b)) && close(model.bias, MODEL.bias),
        "the fit gives {model:?}, the code uses {MODEL:?}"
    );
    assert!(
        (threshold - THRESHOLD).abs() <= 0.015,
        "the rule gives {threshold:.2}, the code uses {THRESHOLD}"
    );
    eprintln!("on the half never fit on:");
    let check = searched(&set, &whole, Some(1));
    let f = figures(&check, &MODEL, THRESHOLD);
    print_figures("the whole base", &f);
    let mut small_figures = Vec::new();
    for base in &smalls {
        let s = searched(&set, base, Some(1));
        small_figures.push(figures(&s, &MODEL, THRESHOLD));
    }
    let mean = |get: fn(&Figures) -> f64| small_figures.iter().map(get).sum::<f64>() / small_figures.len() as f64;
    let f_small = Figures {
        top3: mean(|f| f.top3),
        top1: mean(|f| f.top1),
        silent: mean(|f| f.silent),
        gone_silent: mean(|f| f.gone_silent),
    };
    print_figures("smaller bases (mean of 4)", &f_small);
    // Below the issue's goals (top-3 95 %, top-1 75 %): see ARCHITECTURE.md, "what a notice
    // suggests"; these floors keep what was reached.
    assert!(f.top3 >= 0.62 && f.top1 >= 0.56 && f.silent >= 0.9, "{f:?}");
    assert!(f_small.top3 >= 0.52 && f_small.silent >= 0.95, "{f_small:?}");
}

/// The whole set: the ranking (what `kb search` shows) and the suggestions (what a notice
/// shows).
#[test]
fn new_requests_find_their_solution_and_out_of_base_ones_get_none() {
    let set = set();
    assert!(set.problems.len() >= 60, "{} problems", set.problems.len());
    let s = searched(&set, &set, None);
    assert!(
        s.inside.len() >= 180 && s.outside.len() >= 60,
        "{} / {}",
        s.inside.len(),
        s.outside.len()
    );
    let (rank3, rank1, f) = report("knowledge-base retrieval", &s);
    let misses: Vec<String> = s
        .inside
        .iter()
        .filter(|(k, o)| !o.hits.iter().any(|h| &h.0 == k))
        .map(|(k, o)| format!("{k} → {:?}", o.hits.iter().map(|h| &h.0).collect::<Vec<_>>()))
        .collect();
    assert!(rank3 >= 0.93, "top-3 {}; misses:\n{}", pct(rank3), misses.join("\n"));
    assert!(rank1 >= 0.75, "top-1 {}", pct(rank1));
    assert!(f.silent >= 0.9, "out of base {}", pct(f.silent));
    assert!(f.top3 >= 0.6 && f.top1 >= 0.55, "{f:?}");
}

/// The requests of `source` ([`requests_of`]) searched in the whole labelled base; each names a
/// problem of the set (a misspelt key would count as a request its base cannot find).
fn requests_searched(set: &Set, source: &str) -> Searched {
    let (inside, outside) = requests_of(source);
    assert!(
        inside.iter().all(|(k, _)| set.problems.iter().any(|p| &p.0 == k)),
        "a request names a problem the set does not have"
    );
    let (store, owner) = load(set);
    Searched {
        inside: inside
            .iter()
            .map(|(k, q)| (k.clone(), run(&store, &owner, q)))
            .collect(),
        outside: outside.iter().map(|q| run(&store, &owner, q)).collect(),
        gone: Vec::new(),
    }
}

/// The held-out requests ([`HELD_OUT`]), never fit on: their figures, in the whole base.
#[test]
fn held_out_requests() {
    let set = set();
    for (file, source, [floor_rank3, floor_top3, floor_silent]) in HELD_OUT {
        let s = requests_searched(&set, source);
        assert!(s.inside.len() >= 30 && s.outside.len() >= 10, "{file}");
        let (rank3, _, f) = report(&format!("held-out requests of {file}"), &s);
        assert!(
            rank3 >= floor_rank3 && f.top3 >= floor_top3 && f.silent >= floor_silent,
            "{file}: ranking top-3 {rank3}, {f:?}"
        );
    }
}

/// What each threshold would give, on both halves: `cargo test --lib threshold_sweep --
/// --ignored --nocapture`.
#[test]
#[ignore = "a report, not a check"]
fn threshold_sweep() {
    let set = set();
    let whole = subset(&set, |_| Some(usize::MAX));
    let smalls: Vec<Set> = SMALL_BASES.iter().map(|s| small(&set, *s)).collect();
    for half in [0, 1] {
        let big = searched(&set, &whole, Some(half));
        let little: Vec<Searched> = smalls.iter().map(|b| searched(&set, b, Some(half))).collect();
        println!("half {half} (0: calibration)");
        for t in (30..=80).step_by(2) {
            let t = f64::from(t) / 100.0;
            let f = figures(&big, &MODEL, t);
            let sm: Vec<Figures> = little.iter().map(|s| figures(s, &MODEL, t)).collect();
            let m = |g: fn(&Figures) -> f64| sm.iter().map(g).sum::<f64>() / sm.len() as f64 * 100.0;
            println!(
                "  {t:.2}: whole base {:.1} / {:.1}, silent {:.1} | smaller bases {:.1} / {:.1}, silent {:.1}, lacking {:.1}",
                f.top3 * 100.0,
                f.top1 * 100.0,
                f.silent * 100.0,
                m(|f| f.top3),
                m(|f| f.top1),
                m(|f| f.silent),
                m(|f| f.gone_silent)
            );
        }
    }
}

/// Prints per-query evidence, for looking at by hand: `cargo test --lib retrieval_dump --
/// --ignored --nocapture`.
#[test]
#[ignore = "a report, not a check"]
fn retrieval_dump() {
    let set = set();
    let (store, owner) = load(&set);
    let show = |o: &Outcome| {
        o.hits
            .iter()
            .map(|(k, e)| {
                format!(
                    "{k} {:.2} ({})",
                    MODEL.confidence(e, 1.0),
                    e.named()
                        .iter()
                        .map(|(n, v)| format!("{n} {:.2}", v))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n        ")
    };
    for (k, _, qs) in &set.problems {
        for q in qs {
            let o = run(&store, &owner, q);
            let r = o.hits.iter().position(|h| &h.0 == k);
            println!("IN  {r:?} {k}: {q}\n      → {}", show(&o));
        }
    }
    for q in &set.out_of_base {
        println!("OUT {q}\n      → {}", show(&run(&store, &owner, q)));
    }
    // Not the blind held-out set: its requests stay unread, so that it measures what a
    // reader of the misses did not tune for.
    let sets = [
        (HELD_OUT[0].0, HELD_OUT[0].1),
        ("fixtures/kb/calibration-blind.toml", BLIND_CALIBRATION),
    ];
    for (file, source) in sets {
        let (inside, outside) = requests_of(source);
        for (k, q) in &inside {
            let o = run(&store, &owner, q);
            let r = o.hits.iter().position(|h| &h.0 == k);
            println!("{file} IN  {r:?} {k}: {q}\n      → {}", show(&o));
        }
        for q in &outside {
            println!("{file} OUT {q}\n      → {}", show(&run(&store, &owner, q)));
        }
    }
}

/// Which features generalize: for each candidate set, the fit and the calibration rule on the
/// calibration half, the figures on the other half and on the blind requests (which the
/// trials do not fit on):
/// `cargo test --lib feature_trials -- --ignored --nocapture`.
#[test]
#[ignore = "a report, not a check"]
fn feature_trials() {
    let set = set();
    let whole = subset(&set, |_| Some(usize::MAX));
    let smalls: Vec<Set> = SMALL_BASES.iter().map(|s| small(&set, *s)).collect();
    let bases: Vec<&Set> = std::iter::once(&whole).chain(&smalls).collect();
    let halves: [Vec<Searched>; 2] = [0, 1].map(|h| bases.iter().map(|b| searched(&set, b, Some(h))).collect());
    let held = requests_searched(&set, BLIND_CALIBRATION);
    let spec = std::env::var("KB_TRIALS").unwrap_or_else(|_| "held,title,share".into());
    let trials: Vec<Vec<&str>> = spec.split(';').map(|t| t.split(',').collect()).collect();
    for names in trials {
        let pick = |e: &Evidence| -> Vec<f64> {
            let all = e.named();
            names
                .iter()
                .map(|n| all.iter().find(|(k, _)| k == n).map(|(_, v)| *v).expect("feature"))
                .collect()
        };
        println!("{names:?}");
        let mut sums = [0.0f64; 9];
        // Fold 0: fit on the even half (as the tests do); fold 1: the other way round.
        for fold in 0..2 {
            let (calibration, check) = (&halves[fold], &halves[1 - fold]);
            let samples: Vec<(Evidence, bool)> = calibration.iter().flat_map(samples).collect();
            let beta = fit_by(&samples, &pick);
            let conf = |e: &Evidence| {
                let z: f64 = pick(e).iter().zip(&beta).map(|(x, w)| x * w).sum::<f64>() + beta[beta.len() - 1];
                1.0 / (1.0 + (-z).exp())
            };
            let silent_enough = |t: f64| calibration.iter().all(|s| figures_by(s, &conf, t).silent >= 0.9);
            let mut t = 0.0;
            while t < 1.0 && !silent_enough(t) {
                t += 0.01;
            }
            let threshold = ((t * 100.0).round() / 100.0 + 0.05).min(1.0);
            let f = figures_by(&check[0], &conf, threshold);
            let sm: Vec<Figures> = check[1..].iter().map(|s| figures_by(s, &conf, threshold)).collect();
            let m = |g: fn(&Figures) -> f64| sm.iter().map(g).sum::<f64>() / sm.len() as f64 * 100.0;
            let h = figures_by(&held, &conf, threshold);
            let mut own = 0.0;
            while own < 1.0 && figures_by(&check[0], &conf, own).silent < 0.9 {
                own += 0.005;
            }
            let o = figures_by(&check[0], &conf, own);
            let row = [
                f.top3 * 100.0,
                f.top1 * 100.0,
                f.silent * 100.0,
                m(|f| f.top3),
                m(|f| f.silent),
                h.top3 * 100.0,
                h.top1 * 100.0,
                h.silent * 100.0,
                o.top3 * 100.0,
            ];
            for (s, r) in sums.iter_mut().zip(row) {
                *s += r / 2.0;
            }
            println!(
                "   fold {fold}: w {:?} t {threshold:.2} | check {:.1}/{:.1}/{:.1} | small {:.1}/silent {:.1} | held-out {:.1}/{:.1}/{:.1} | own-90% top-3 {:.1}",
                beta.iter().map(|w| (w * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                row[6],
                row[7],
                row[8]
            );
        }
        println!(
            "   MEAN check {:.1}/{:.1}/{:.1} | small {:.1}/silent {:.1} | held-out {:.1}/{:.1}/{:.1} | own-90% top-3 {:.1}",
            sums[0], sums[1], sums[2], sums[3], sums[4], sums[5], sums[6], sums[7], sums[8]
        );
    }
}

/// Oracle: how many of the top 10 hits share the first hit's problem (labels, not a feature).
#[test]
#[ignore = "a report, not a check"]
fn oracle_agreement() {
    let set = set();
    for (label, base) in [
        ("whole", subset(&set, |_| Some(usize::MAX))),
        ("small0", small(&set, 0)),
    ] {
        let (store, owner) = load(&base);
        let count = |q: &str| -> (usize, bool, String) {
            let hits = search(store.conn(), q, 10, now()).expect("search");
            let ks: Vec<String> = hits
                .iter()
                .map(|h| owner.get(&h.entry.id).cloned().unwrap_or_default())
                .collect();
            let first = ks.first().cloned().unwrap_or_default();
            (ks.iter().take(5).filter(|k| **k == first).count(), true, first)
        };
        let mut inside = vec![0usize; 11];
        let mut right_first = vec![0usize; 11];
        for (k, _, qs) in &set.problems {
            if !base.problems.iter().any(|p| &p.0 == k) {
                continue;
            }
            for q in qs {
                let (n, _, first) = count(q);
                inside[n] += 1;
                if &first == k {
                    right_first[n] += 1;
                }
            }
        }
        let mut outside = vec![0usize; 11];
        for q in &set.out_of_base {
            outside[count(q).0] += 1;
        }
        println!(
            "{label}: in-base by top-5 agreement {inside:?} (first right {right_first:?}); out of base {outside:?}"
        );
    }
}

/// How well term overlap tells two entries of one problem (labels) from two of different ones.
#[test]
#[ignore = "a report, not a check"]
fn near_duplicate_overlap() {
    let set = set();
    let (store, owner) = load(&set);
    let ids: Vec<i64> = owner.keys().copied().collect();
    let fields = crate::store::kb::field_terms(store.conn(), &ids).expect("fields");
    let sets = |f: &crate::store::kb::FieldTerms, which: &[usize]| {
        let mut t: Vec<String> = which
            .iter()
            .flat_map(|i| f.fields[*i].split_ascii_whitespace().map(str::to_string))
            .collect();
        t.sort();
        t.dedup();
        t
    };
    let jac = |a: &[String], b: &[String]| {
        let c = a.iter().filter(|t| b.binary_search(t).is_ok()).count() as f64;
        c / ((a.len() + b.len()) as f64 - c).max(1.0)
    };
    for (label, which) in [
        ("all", &[0usize, 1, 2, 3][..]),
        ("solution", &[2]),
        ("title+solution", &[0, 2]),
        ("problem", &[1]),
    ] {
        let s: Vec<(String, Vec<String>)> = fields
            .iter()
            .map(|(id, f)| (owner[id].clone(), sets(f, which)))
            .collect();
        let (mut same, mut diff) = (Vec::new(), Vec::new());
        for i in 0..s.len() {
            for j in i + 1..s.len() {
                let v = jac(&s[i].1, &s[j].1);
                if s[i].0 == s[j].0 { same.push(v) } else { diff.push(v) }
            }
        }
        same.sort_by(f64::total_cmp);
        diff.sort_by(f64::total_cmp);
        let q = |v: &[f64], p: f64| v[((v.len() as f64 - 1.0) * p) as usize];
        println!(
            "{label}: same problem median {:.3} p25 {:.3} p10 {:.3}; different median {:.3} p99 {:.3} p999 {:.4}",
            q(&same, 0.5),
            q(&same, 0.25),
            q(&same, 0.1),
            q(&diff, 0.5),
            q(&diff, 0.99),
            q(&diff, 0.999)
        );
    }
}
