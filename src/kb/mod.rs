//! The knowledge base built from resolved tickets: entries, Italian full-text search,
//! suggestions for new requests, the public FAQ export and recurring topics.
//!
//! Every resolved ticket becomes an entry (problem: the subject and the requester's first
//! message; solution: the resolution), redacted of personal data ([`redact`]) before it is
//! stored, indexed or shown outside its ticket. Text is analysed in Rust ([`analyze`]) and
//! the terms go to the FTS5 index that `store::kb` keeps (its rows and queries are the
//! store's), ranked there with BM25 and re-ranked here for reviewed articles and recent
//! entries. Functions take the caller's connection, inside its transaction.

pub mod analyze;
pub mod export;
pub mod redact;
pub mod synonyms;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::store::kb::{self as rows, EntryText, NewEntry};
use analyze::analyze;
use redact::redact;

// The entries' rows and look-ups are the store's; the knowledge base decides what goes in.
pub use crate::store::kb::{Entry, find, find_by_ticket, reviewed_entries};

/// How much a reviewed article's score is multiplied by.
const REVIEWED_BOOST: f64 = 1.5;
/// The extra weight of a brand-new entry, fading over a year.
const RECENCY_BOOST: f64 = 0.25;
/// How many postings (entries × terms) one search may score: the rarest terms of a query
/// are kept until this budget is spent, so latency stays bounded however large the base.
const POSTINGS_BUDGET: i64 = 6_000;
/// The rarest terms kept whatever the budget says.
const MIN_TERMS: usize = 2;

/// A search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The entry.
    pub entry: Entry,
    /// Its score (higher is better).
    pub score: f64,
}

impl Hit {
    /// A one-line excerpt of the solution.
    pub fn excerpt(&self, chars: usize) -> String {
        crate::notify::excerpt(&self.entry.solution, chars)
    }
}

fn reindex(conn: &Connection, id: i64, text: &EntryText<'_>) -> rusqlite::Result<()> {
    // The title counts twice: it names the problem in the fewest words.
    let terms = [text.title, text.title, text.problem, text.solution]
        .iter()
        .flat_map(|t| analyze(t))
        .collect::<Vec<_>>()
        .join(" ");
    rows::index_entry(conn, id, &terms)
}

/// Creates or refreshes the entry of a resolved ticket (its latest resolution wins; a
/// reviewed title is kept). Returns the entry id.
pub fn record_resolution(conn: &Connection, ticket: &str, resolution: &str, now: DateTime<Utc>) -> anyhow::Result<i64> {
    let facts = rows::ticket_facts(conn, ticket)?;
    let name = facts.requester_name.as_deref();
    let problem = redact(
        format!("{}\n\n{}", facts.subject, facts.first_request.unwrap_or_default()).trim(),
        name,
    );
    let solution = redact(resolution.trim(), name);
    let existing = rows::find_by_ticket(conn, ticket)?;
    let title = match &existing {
        Some(entry) if entry.reviewed => entry.title.clone(),
        _ => redact(&facts.subject, name),
    };
    let text = EntryText {
        title: &title,
        problem: &problem,
        solution: &solution,
    };
    let id = match existing {
        Some(entry) => {
            rows::update_resolution(conn, entry.id, &text, facts.level, now)?;
            entry.id
        }
        None => rows::insert_entry(
            conn,
            &NewEntry {
                ticket,
                text,
                channel: facts.channel,
                level: facts.level,
                category: facts.category.as_deref(),
                created_at: facts.created_at,
                resolved_at: now,
            },
        )?,
    };
    reindex(conn, id, &text)?;
    Ok(id)
}

/// Marks a ticket's entry as a reviewed article, with a new title when given. False when
/// the ticket has no entry (not resolved yet).
pub fn mark_reviewed(conn: &Connection, ticket: &str, title: Option<&str>, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let Some(entry) = find_by_ticket(conn, ticket)? else {
        return Ok(false);
    };
    edit(conn, entry.id, title, None, Some(true), now)
}

/// Changes an entry (`kb edit`, `#kb`). The new text is redacted too. False when missing.
pub fn edit(
    conn: &Connection,
    id: i64,
    title: Option<&str>,
    solution: Option<&str>,
    reviewed: Option<bool>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let Some(mut entry) = find(conn, id)? else {
        return Ok(false);
    };
    if let Some(t) = title.map(str::trim).filter(|t| !t.is_empty()) {
        entry.title = redact(t, None);
    }
    if let Some(s) = solution.map(str::trim).filter(|s| !s.is_empty()) {
        entry.solution = redact(s, None);
    }
    if let Some(r) = reviewed {
        entry.reviewed = r;
    }
    rows::update_entry(conn, id, &entry.title, &entry.solution, entry.reviewed, now)?;
    let text = EntryText {
        title: &entry.title,
        problem: &entry.problem,
        solution: &entry.solution,
    };
    reindex(conn, id, &text)?;
    Ok(true)
}

/// The entries that best answer `query`, best first.
pub fn search(conn: &Connection, query: &str, limit: usize, now: DateTime<Utc>) -> anyhow::Result<Vec<Hit>> {
    // The query, widened to the other wordings people use for the same things.
    let terms = synonyms::expand(&analyze(query));
    if terms.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    // Rarest first (the most telling ones, by IDF); terms no entry holds are dropped.
    let mut by_rarity: Vec<(i64, String)> = Vec::with_capacity(terms.len());
    for term in terms {
        if let Some(docs) = rows::term_documents(conn, &term)?.filter(|d| *d > 0) {
            by_rarity.push((docs, term));
        }
    }
    by_rarity.sort();
    let mut spent = 0;
    let terms: Vec<String> = by_rarity
        .into_iter()
        .enumerate()
        .take_while(|(i, (docs, _))| {
            spent += docs;
            *i < MIN_TERMS || spent <= POSTINGS_BUDGET
        })
        .map(|(_, (_, term))| term)
        .collect();
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    // Score in the index alone, then read only the pool's entries: joining before the sort
    // would read every matching entry's text.
    let pool = (limit * 4).max(20) as i64;
    let ranked = rows::rank_any(conn, &terms, pool)?;
    // Re-rank the pool with the boosts, which BM25 alone does not know.
    let mut hits = Vec::with_capacity(ranked.len());
    for (id, bm25) in ranked {
        let Some(entry) = find(conn, id)? else { continue };
        let age_days = (now - entry.resolved_at).num_days().max(0) as f64;
        let recency = 1.0 + RECENCY_BOOST * (-age_days / 365.0).exp();
        let reviewed = if entry.reviewed { REVIEWED_BOOST } else { 1.0 };
        // bm25() is lower for better matches: negate it.
        hits.push(Hit {
            score: -bm25 * reviewed * recency,
            entry,
        });
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.id.cmp(&b.entry.id)));
    hits.truncate(limit);
    Ok(hits)
}

/// A recurring term or category, with its count now and in the period before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// The term (a stem) or `categoria: …`.
    pub label: String,
    /// An example word for the stem, as people wrote it.
    pub example: String,
    /// Entries in the period.
    pub count: u32,
    /// Entries in the previous period of the same length.
    pub previous: u32,
}

/// The most frequent terms and categories of the entries resolved in [from, to), with the
/// trend against the period just before.
pub fn topics(conn: &Connection, from: DateTime<Utc>, to: DateTime<Utc>, limit: usize) -> anyhow::Result<Vec<Topic>> {
    let before = from - (to - from);
    let mut now_counts: BTreeMap<String, (u32, String)> = BTreeMap::new();
    let mut previous: BTreeMap<String, u32> = BTreeMap::new();
    rows::for_each_resolved_between(conn, before, to, |entry| {
        let in_period = entry.resolved_at >= from;
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for word in format!("{} {}", entry.title, entry.problem).split(|c: char| !c.is_alphanumeric()) {
            if let Some(stem) = analyze(word).into_iter().next().filter(|s| s.chars().count() >= 3) {
                seen.entry(stem).or_insert_with(|| word.to_lowercase());
            }
        }
        if let Some(c) = entry.category {
            seen.insert(format!("categoria: {c}"), c);
        }
        for (stem, example) in seen {
            if in_period {
                let e = now_counts.entry(stem).or_insert((0, example));
                e.0 += 1;
            } else {
                *previous.entry(stem).or_default() += 1;
            }
        }
    })?;
    let mut list: Vec<Topic> = now_counts
        .into_iter()
        .filter(|(_, (n, _))| *n >= 2)
        .map(|(label, (count, example))| Topic {
            previous: previous.get(&label).copied().unwrap_or(0),
            label,
            example,
            count,
        })
        .collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    list.truncate(limit);
    Ok(list)
}

#[cfg(test)]
mod tests;
