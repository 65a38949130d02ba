//! Ranking: which entries answer a request, how sure we are, and what operators taught us.
//!
//! 1. **The query.** The request is analysed like the entries ([`analyze`]); when it reads
//!    as English, its English stems are matched against the thesaurus too. The thesaurus adds
//!    the other wordings of the senses it names (at [`EXPANSION`] of the request's own words'
//!    weight), and a sense's added wordings count once per entry (the best of them), so a
//!    group with many forms cannot outweigh the request's own words.
//! 2. **Candidates.** The query's most telling terms (weight × IDF), until a budget of
//!    postings is spent, so a common word cannot make one search read the whole base; the
//!    entries holding them, by the weight × IDF of the terms they hold (a sense once), give
//!    the best [`POOL`]. Only postings are read: FTS5's own BM25 would read every match's
//!    positions, and is three times slower at 100,000 entries.
//! 3. **BM25F.** Each candidate's indexed terms are read back, and scored field by field:
//!    a term's frequency in each field, weighted ([`FIELD_WEIGHTS`]) and divided by the field's
//!    length against its average, is summed before saturation (BM25F), then multiplied by the
//!    term's IDF over the whole base.
//! 4. **Distinguishing terms.** Near neighbours (the four signature problems: a `.p7m`
//!    envelope, an expired certificate, a revoked one, a smart-card reader) share most of
//!    their words; what tells them apart is the word few of them hold. Within the pool, a
//!    query term held by few candidates weighs up to `1 + DISTINGUISHING` times more, one held
//!    by all of them gains nothing.
//! 5. **Operators.** A verdict given on an earlier request similar to this one (at least
//!    [`MIN_SIMILARITY`], the harmonic mean of the share of this request's IDF that request
//!    holds and the share of that request's words this one holds): an entry used for
//!    it is raised (and brought into the pool, even when its words would not reach it), an
//!    entry marked wrong for it is lowered, in proportion to the similarity.
//! 6. **Confidence.** The probability that a hit is about the request's problem, from a
//!    logistic [`MODEL`] over its [`Evidence`]: how many of the request's own words the entry
//!    holds (a word, or another wording of its sense), which share of them that is, and how
//!    much of the entry's title (the problem in brief) the request names; operators' verdicts
//!    add their factor to its log-odds. Below [`THRESHOLD`] a hit is weak: `kb search` shows
//!    it marked, notices leave it out. Ranking and confidence are kept apart on purpose:
//!    BM25F orders entries well, but its scale depends on the request's length and the base's
//!    size; the evidence does not. The weights are fit, and the threshold calibrated, on half
//!    of the labelled set, in its whole base and in smaller ones drawn from it, and on
//!    requests written blind by another writer; the tests check that the constants are what
//!    the fit and the rule give (`retrieval_tests.rs`).
//!
//! Reviewed articles and recent entries are raised last, on the score only.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::analyze::{analyze, sense_terms};
use super::synonyms;
use crate::store::kb::{self as rows, Entry, Feedback, FieldTerms, Verdict};

/// The weight of a wording the thesaurus added, against 1 for the request's own words.
pub const EXPANSION: f64 = 1.0;
/// What a word no entry holds counts in the similarity of two requests (operators' verdicts),
/// against the IDF such a word would have.
const UNKNOWN: f64 = 0.5;
/// A title of fewer terms than this counts its share in proportion ([`Evidence::title`]): a
/// request naming the one word of a one-word title has said little.
const SHORT_TITLE: f64 = 3.0;
/// BM25F weights of the fields (title, problem, solution, category).
pub const FIELD_WEIGHTS: [f64; 4] = [2.0, 1.0, 0.7, 1.5];
/// BM25F length normalisation per field (0: none, 1: full).
const FIELD_B: [f64; 4] = [0.5, 0.75, 0.75, 0.3];
/// BM25's saturation.
const K1: f64 = 1.0;
/// How much more a term held by few of the candidates weighs.
pub const DISTINGUISHING: f64 = 0.5;
/// Candidates rescored.
pub const POOL: i64 = 50;
/// How many postings (entries × terms) FTS5 may score for one search.
const POSTINGS_BUDGET: i64 = 6_000;
/// The most telling terms kept whatever the budget says.
const MIN_TERMS: usize = 2;
/// Below this confidence, a hit is weak: shown marked by `kb search`, never suggested in a
/// notice. Calibrated on half of the labelled set (`fixtures/kb/tickets.toml`) and on the
/// requests written blind (`fixtures/kb/calibration-blind.toml`): the lowest threshold leaving
/// 90 % of their out-of-base requests without a suggestion, in the whole base and in smaller
/// ones, plus 0.05 (see `retrieval_tests.rs` and ARCHITECTURE.md, "Knowledge base").
pub const THRESHOLD: f64 = 0.60;
/// The [`POOL`] entries holding the most of the recall terms, by the weight × IDF of those
/// they hold (a sense counted once): the postings of each term are read, nothing is ranked in
/// the index (FTS5's BM25 would read every match's positions), and BM25F then rescores them.
fn candidates(conn: &Connection, query: &Query, recall: &[String]) -> rusqlite::Result<Vec<i64>> {
    let mut own: HashMap<i64, f64> = HashMap::new();
    let mut senses: HashMap<(i64, usize), f64> = HashMap::new();
    for term in recall {
        let Some(t) = query.terms.get(term) else { continue };
        let value = t.weight * t.idf;
        for id in rows::entries_with(conn, term)? {
            match t.group {
                None => *own.entry(id).or_default() += value,
                Some(g) => {
                    let best = senses.entry((id, g)).or_default();
                    *best = best.max(value);
                }
            }
        }
    }
    for ((id, _), value) in senses {
        *own.entry(id).or_default() += value;
    }
    let mut ranked: Vec<(i64, f64)> = own.into_iter().collect();
    // Best first; among equals, the newest entry.
    let order = |a: &(i64, f64), b: &(i64, f64)| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0));
    let pool = POOL as usize;
    if ranked.len() > pool {
        ranked.select_nth_unstable_by(pool, order);
        ranked.truncate(pool);
    }
    ranked.sort_by(order);
    Ok(ranked.into_iter().map(|(id, _)| id).collect())
}

/// How similar an earlier request must be for its verdicts to count.
pub const MIN_SIMILARITY: f64 = 0.4;
/// The most a use raises an entry (×(1 + USED_BOOST × similarity)).
const USED_BOOST: f64 = 1.0;
/// The most a "wrong" mark lowers an entry (×(1 − WRONG_PENALTY × similarity)).
const WRONG_PENALTY: f64 = 0.8;
/// How much a reviewed article's score is multiplied by.
const REVIEWED_BOOST: f64 = 1.2;
/// The extra weight of a brand-new entry, fading over a year.
const RECENCY_BOOST: f64 = 0.1;

/// A search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The entry.
    pub entry: Entry,
    /// Its score (higher is better): relevance, operators' verdicts, review and age.
    pub score: f64,
    /// How much of the request the entry answers, 0 to 1 (see the module's notes).
    pub confidence: f64,
    /// Under [`THRESHOLD`]: not to be suggested.
    pub weak: bool,
    /// What the confidence was computed from.
    pub evidence: Evidence,
}

/// The evidence that an entry is about the request's problem, which the confidence is
/// computed from ([`MODEL`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Evidence {
    /// How many of the request's own words the entry holds: 1 a word it holds, [`EXPANSION`]
    /// one whose sense it holds in another wording. A count: a request that tells its problem
    /// in many words of its own is not less about it, while two or three words in common are
    /// what any two requests about the portal share. On the labelled set this tells the
    /// right entry from the rest better than any share of the request's IDF.
    pub held: f64,
    /// The share of the IDF of the entry's title terms the request names (its words or the
    /// wordings of the senses it names), scaled down for a title shorter than [`SHORT_TITLE`]
    /// terms: the title is the problem in brief, so a request about a neighbouring problem
    /// names little of it.
    pub title: f64,
    /// The share of the request's own words the entry holds (as [`Evidence::held`] counts
    /// them): a short request the entry answers word for word holds few words, but all.
    pub share: f64,
}

/// How many numbers of the [`Evidence`] the model reads ([`Evidence::features`]).
pub const FEATURES: usize = 3;

impl Evidence {
    /// What the model reads, in the order of [`Model::weights`]: the words held, the title's
    /// share and the request's share.
    pub fn features(&self) -> [f64; FEATURES] {
        [self.held, self.title, self.share]
    }

    /// The features, named (for the trials of `retrieval_tests.rs`, which fit any subset;
    /// candidates measured and rejected are listed in docs/performance.md).
    #[cfg(test)]
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        vec![("held", self.held), ("title", self.title), ("share", self.share)]
    }
}

/// The confidence model: a logistic combination of the [`Evidence`], its weights fit on the
/// calibration half of the labelled set (`src/kb/retrieval_tests.rs`, which checks that the
/// fit gives these).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    /// Per feature ([`Evidence::features`]).
    pub weights: [f64; FEATURES],
    /// The intercept.
    pub bias: f64,
}

impl Model {
    /// The log-odds that the entry is about the request's problem.
    pub fn logit(&self, e: &Evidence) -> f64 {
        self.weights.iter().zip(e.features()).map(|(w, x)| w * x).sum::<f64>() + self.bias
    }

    /// The probability that the entry is about the request's problem, with what operators
    /// taught (a factor: above 1 raised, below lowered) added to its log-odds.
    pub fn confidence(&self, e: &Evidence, taught: f64) -> f64 {
        let z = self.logit(e) + taught.max(1e-6).ln();
        1.0 / (1.0 + (-z).exp())
    }
}

/// The weights in use (see [`Model`]).
pub const MODEL: Model = Model {
    weights: [0.485, 3.717, 1.61],
    bias: -4.709,
};

impl Hit {
    /// A one-line excerpt of the solution.
    pub fn excerpt(&self, chars: usize) -> String {
        crate::notify::excerpt(&self.entry.solution, chars)
    }
}

/// A query term: its weight in the query, its IDF, and the sense it was added for (None: the
/// request's own word).
#[derive(Debug, Clone)]
struct Term {
    weight: f64,
    idf: f64,
    group: Option<usize>,
}

fn idf(entries: f64, docs: f64) -> f64 {
    (1.0 + (entries - docs + 0.5) / (docs + 0.5)).ln()
}

/// The query as weighted terms, with what an entry holding all its own words would score.
struct Query {
    terms: BTreeMap<String, Term>,
    /// The request's own terms (deduplicated), for similarity with earlier requests.
    own: Vec<String>,
    /// Sum of the IDFs of the request's own words, known to the index or not.
    ideal: f64,
    /// Each own word's IDF (unknown words: that of a word no entry holds).
    own_idf: HashMap<String, f64>,
    /// The senses named, with all their stems.
    senses: Vec<(usize, Vec<String>)>,
}

fn query(conn: &Connection, text: &str, entries: f64) -> rusqlite::Result<Query> {
    let italian = analyze(text);
    let (naming, english) = sense_terms(text, &italian);
    let groups = synonyms::expansion(&naming, english.as_deref());
    let mut own = italian.clone();
    own.sort();
    own.dedup();
    let unknown = idf(entries, 0.0);
    let mut terms = BTreeMap::new();
    let mut ideal = 0.0;
    let mut own_idf = HashMap::new();
    for t in &own {
        let docs = rows::term_documents(conn, t)?.unwrap_or(0);
        let i = if docs > 0 {
            idf(entries, docs as f64)
        } else {
            unknown * UNKNOWN
        };
        ideal += i;
        own_idf.insert(t.clone(), i);
        if docs > 0 {
            terms.insert(
                t.clone(),
                Term {
                    weight: 1.0,
                    idf: i,
                    group: None,
                },
            );
        }
    }
    for (group, stems) in groups.clone() {
        for stem in stems {
            if terms.contains_key(&stem) {
                continue;
            }
            if let Some(docs) = rows::term_documents(conn, &stem)?.filter(|d| *d > 0) {
                terms.insert(
                    stem,
                    Term {
                        weight: EXPANSION,
                        idf: idf(entries, docs as f64),
                        group: Some(group),
                    },
                );
            }
        }
    }
    Ok(Query {
        terms,
        own,
        ideal,
        own_idf,
        senses: groups,
    })
}

/// How many entries hold a term, recovered from its IDF (for the postings budget).
fn docs_of(entries: f64, idf: f64) -> f64 {
    // idf = ln(1 + (N - d + 0.5) / (d + 0.5))  ⇒  d = (N + 1) / e^idf - 0.5
    ((entries + 1.0) / idf.exp() - 0.5).max(0.0)
}

/// The terms FTS5 ranks candidates by: the most telling first (weight × IDF), until the
/// postings budget is spent.
fn recall_terms(query: &Query, entries: f64) -> Vec<String> {
    let mut by_value: Vec<(&String, &Term)> = query.terms.iter().collect();
    by_value.sort_by(|a, b| {
        (b.1.weight * b.1.idf)
            .total_cmp(&(a.1.weight * a.1.idf))
            .then(a.0.cmp(b.0))
    });
    let mut spent = 0.0;
    by_value
        .into_iter()
        .enumerate()
        .take_while(|(i, (_, term))| {
            spent += docs_of(entries, term.idf);
            *i < MIN_TERMS || spent <= POSTINGS_BUDGET as f64
        })
        .map(|(_, (t, _))| t.clone())
        .collect()
}

/// How similar an earlier request (its terms, space-separated) is to this one: the harmonic
/// mean of the share of this request's IDF the earlier one holds and the share of the
/// earlier one's words this one holds (so a one-word query is not "similar" to every request
/// containing that word).
fn similarity(query: &Query, terms: &str) -> f64 {
    if query.ideal <= 0.0 {
        return 0.0;
    }
    let mut theirs: Vec<&str> = terms.split_ascii_whitespace().collect();
    theirs.sort_unstable();
    theirs.dedup();
    if theirs.is_empty() {
        return 0.0;
    }
    let shared: Vec<&String> = query
        .own
        .iter()
        .filter(|t| theirs.binary_search(&t.as_str()).is_ok())
        .collect();
    let ours = shared.iter().filter_map(|t| query.own_idf.get(*t)).sum::<f64>() / query.ideal;
    let their_share = shared.len() as f64 / theirs.len() as f64;
    if ours + their_share <= 0.0 {
        return 0.0;
    }
    (2.0 * ours * their_share / (ours + their_share)).min(1.0)
}

/// Per entry, the similarity of the nearest request it was used for and of the nearest it
/// was marked wrong for.
fn verdicts(query: &Query, feedback: &[Feedback]) -> HashMap<i64, (f64, f64)> {
    let mut out: HashMap<i64, (f64, f64)> = HashMap::new();
    for f in feedback {
        let sim = similarity(query, &f.terms);
        if sim < MIN_SIMILARITY {
            continue;
        }
        let e = out.entry(f.entry).or_default();
        match f.verdict {
            Verdict::Used => e.0 = e.0.max(sim),
            Verdict::Wrong => e.1 = e.1.max(sim),
        }
    }
    out
}

/// What an entry holds of the request (see [`Evidence`]); `entry_idf` caches the IDF of the
/// titles' terms across the hits of one search.
fn evidence(
    conn: &Connection,
    query: &Query,
    fields: &FieldTerms,
    entries: f64,
    entry_idf: &mut HashMap<String, f64>,
) -> rusqlite::Result<Evidence> {
    let holds = |t: &str| fields.fields.iter().any(|f| f.split_ascii_whitespace().any(|w| w == t));
    let mut held = 0.0;
    for t in &query.own {
        if holds(t) {
            held += 1.0;
        } else if query
            .senses
            .iter()
            .any(|(_, stems)| stems.contains(t) && stems.iter().any(|s| holds(s)))
        {
            held += EXPANSION;
        }
    }
    let mut title: Vec<&str> = fields.fields[0].split_ascii_whitespace().collect();
    title.sort_unstable();
    title.dedup();
    let (mut named, mut of) = (0.0, 0.0);
    let title_terms = title.len();
    for t in title {
        let i = match entry_idf.get(t) {
            Some(i) => *i,
            None => {
                let docs = rows::term_documents(conn, t)?.unwrap_or(1).max(1);
                let i = idf(entries, docs as f64);
                entry_idf.insert(t.to_string(), i);
                i
            }
        };
        of += i;
        if query.terms.contains_key(t) {
            named += i;
        }
    }
    Ok(Evidence {
        held,
        share: if query.own.is_empty() {
            0.0
        } else {
            held / query.own.len() as f64
        },
        title: if of > 0.0 {
            named / of * (title_terms as f64 / SHORT_TITLE).min(1.0)
        } else {
            0.0
        },
    })
}

/// One candidate's BM25F score, given the pool-level factor of each term.
fn bm25f(query: &Query, fields: &FieldTerms, averages: [f64; 4], distinguishing: &HashMap<&str, f64>) -> f64 {
    let lengths = fields.lengths();
    let mut tf: HashMap<&str, f64> = HashMap::new();
    for (f, text) in fields.fields.iter().enumerate() {
        let norm = if averages[f] > 0.0 {
            1.0 - FIELD_B[f] + FIELD_B[f] * lengths[f] as f64 / averages[f]
        } else {
            1.0
        };
        for term in text.split_ascii_whitespace() {
            if let Some((key, _)) = query.terms.get_key_value(term) {
                *tf.entry(key.as_str()).or_default() += FIELD_WEIGHTS[f] / norm;
            }
        }
    }
    let mut own = 0.0;
    // A sense added by the thesaurus counts once: the best of its wordings.
    let mut senses: HashMap<usize, f64> = HashMap::new();
    for (term, freq) in tf {
        let Some(t) = query.terms.get(term) else { continue };
        let local = distinguishing.get(term).copied().unwrap_or(1.0);
        let value = t.weight * t.idf * local * freq / (K1 + freq);
        match t.group {
            None => own += value,
            Some(g) => {
                let best = senses.entry(g).or_default();
                *best = best.max(value);
            }
        }
    }
    own + senses.values().sum::<f64>()
}

/// The entries that best answer `text`, best first, each with its confidence; weak ones
/// included (marked).
pub fn search(conn: &Connection, text: &str, limit: usize, now: DateTime<Utc>) -> anyhow::Result<Vec<Hit>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let stats = rows::field_lengths(conn)?;
    let entries = stats.entries.max(1) as f64;
    let query = query(conn, text, entries)?;
    if query.terms.is_empty() {
        return Ok(Vec::new());
    }
    let recall = recall_terms(&query, entries);
    let mut pool = candidates(conn, &query, &recall)?;
    // What operators said about similar requests; an entry used for one joins the pool.
    let feedback = rows::similar_feedback(conn, &query.own, 20)?;
    let verdicts = verdicts(&query, &feedback);
    for (id, (used, _)) in &verdicts {
        if *used > 0.0 && !pool.contains(id) {
            pool.push(*id);
        }
    }
    let candidates = rows::field_terms(conn, &pool)?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    // Terms few candidates hold tell the near neighbours apart.
    let n = candidates.len() as f64;
    let mut held: HashMap<&str, f64> = HashMap::new();
    for (_, fields) in &candidates {
        let mut seen: Vec<&str> = fields
            .fields
            .iter()
            .flat_map(|f| f.split_ascii_whitespace())
            .filter_map(|t| query.terms.get_key_value(t).map(|(k, _)| k.as_str()))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        for t in seen {
            *held.entry(t).or_default() += 1.0;
        }
    }
    let distinguishing: HashMap<&str, f64> = held
        .iter()
        .map(|(t, h)| (*t, 1.0 + DISTINGUISHING * (1.0 - h / n)))
        .collect();
    let averages = stats.totals.map(|total| {
        if stats.entries > 0 {
            total as f64 / stats.entries as f64
        } else {
            0.0
        }
    });
    let mut scored: Vec<(i64, f64, f64)> = candidates
        .iter()
        .map(|(id, fields)| {
            let relevance = bm25f(&query, fields, averages, &distinguishing);
            let (used, wrong) = verdicts.get(id).copied().unwrap_or_default();
            let taught = (1.0 + USED_BOOST * used) * (1.0 - WRONG_PENALTY * wrong);
            (*id, relevance * taught, taught)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    // Review and age only reorder what is nearly level: read the entries of a wider cut.
    scored.truncate((limit * 3).max(10));
    let fields_of: HashMap<i64, &FieldTerms> = candidates.iter().map(|(id, f)| (*id, f)).collect();
    let mut entry_idf: HashMap<String, f64> = HashMap::new();
    let mut hits = Vec::with_capacity(scored.len());
    for (id, score, taught) in scored {
        let Some(fields) = fields_of.get(&id) else { continue };
        let Some(entry) = rows::find(conn, id)? else { continue };
        let evidence = evidence(conn, &query, fields, entries, &mut entry_idf)?;
        let confidence = MODEL.confidence(&evidence, taught);
        let age_days = (now - entry.resolved_at).num_days().max(0) as f64;
        let recency = 1.0 + RECENCY_BOOST * (-age_days / 365.0).exp();
        let reviewed = if entry.reviewed { REVIEWED_BOOST } else { 1.0 };
        hits.push(Hit {
            score: score * reviewed * recency,
            confidence,
            weak: confidence < THRESHOLD,
            evidence,
            entry,
        });
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.id.cmp(&b.entry.id)));
    hits.truncate(limit);
    Ok(hits)
}

/// What a notice suggests: the best hits that are not weak (none when the base has no
/// answer: the notice then says so).
pub fn suggest(conn: &Connection, text: &str, limit: usize, now: DateTime<Utc>) -> anyhow::Result<Vec<Hit>> {
    let mut hits = search(conn, text, limit, now)?;
    hits.retain(|h| !h.weak);
    Ok(hits)
}
