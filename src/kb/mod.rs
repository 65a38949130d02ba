//! The knowledge base built from resolved tickets: entries, Italian full-text search,
//! suggestions for new requests, the public FAQ export and recurring topics.
//!
//! Every resolved ticket becomes an entry (problem: the subject and the requester's first
//! message; solution: the resolution), redacted of personal data ([`redact`]) before it is
//! stored, indexed or shown outside its ticket. Text is analysed in Rust ([`analyze`]) and
//! the terms go to an SQLite FTS5 table ranked with BM25, boosted for reviewed articles and
//! for recent entries. Functions take the caller's connection, inside its transaction.

pub mod analyze;
pub mod export;
pub mod redact;
pub mod synonyms;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{parse_ts, ts};
use analyze::analyze;
use redact::redact;

/// How much a reviewed article's score is multiplied by.
const REVIEWED_BOOST: f64 = 1.5;
/// The extra weight of a brand-new entry, fading over a year.
const RECENCY_BOOST: f64 = 0.25;
/// How many postings (entries × terms) one search may score: the rarest terms of a query
/// are kept until this budget is spent, so latency stays bounded however large the base.
const POSTINGS_BUDGET: i64 = 6_000;
/// The rarest terms kept whatever the budget says.
const MIN_TERMS: usize = 2;

/// A knowledge-base entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Id (`KB-<id>` when shown).
    pub id: i64,
    /// The ticket it came from, if any.
    pub ticket: Option<String>,
    /// Title.
    pub title: String,
    /// The problem, redacted.
    pub problem: String,
    /// The solution, redacted.
    pub solution: String,
    /// Category, if any.
    pub category: Option<String>,
    /// Curated by an operator.
    pub reviewed: bool,
    /// When the problem was solved.
    pub resolved_at: DateTime<Utc>,
}

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
        let flat: String = self.entry.solution.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() <= chars {
            flat
        } else {
            format!("{}…", flat.chars().take(chars).collect::<String>().trim_end())
        }
    }
}

fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(0)?,
        ticket: r.get(1)?,
        title: r.get(2)?,
        problem: r.get(3)?,
        solution: r.get(4)?,
        category: r.get(5)?,
        reviewed: r.get(6)?,
        resolved_at: parse_ts(&r.get::<_, String>(7)?)?,
    })
}

const ENTRY_COLUMNS: &str = "id, ticket_id, title, problem, solution, category, reviewed, resolved_at";

fn reindex(conn: &Connection, id: i64, title: &str, problem: &str, solution: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM kb_index WHERE rowid = ?1")?
        .execute([id])?;
    // The title counts twice: it names the problem in the fewest words.
    let terms = [title, title, problem, solution]
        .iter()
        .flat_map(|t| analyze(t))
        .collect::<Vec<_>>()
        .join(" ");
    conn.prepare_cached("INSERT INTO kb_index (rowid, terms) VALUES (?1, ?2)")?
        .execute(params![id, terms])?;
    Ok(())
}

/// Creates or refreshes the entry of a resolved ticket (its latest resolution wins; a
/// reviewed title is kept). Returns the entry id.
pub fn record_resolution(conn: &Connection, ticket: &str, resolution: &str, now: DateTime<Utc>) -> anyhow::Result<i64> {
    let (subject, name, channel, level, category, created): (
        String,
        Option<String>,
        String,
        i64,
        Option<String>,
        String,
    ) = conn
        .prepare_cached(
            "SELECT subject, requester_name, channel, level, category, created_at FROM tickets WHERE id = ?1",
        )?
        .query_row([ticket], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })?;
    let first: Option<String> = conn
        .prepare_cached(
            "SELECT body_text FROM messages WHERE ticket_id = ?1 AND direction = 'in' AND disposition IN ('person', 'phone')
             ORDER BY id LIMIT 1",
        )?
        .query_row([ticket], |r| r.get(0))
        .optional()?;
    let name = name.as_deref();
    let problem = redact(format!("{subject}\n\n{}", first.unwrap_or_default()).trim(), name);
    let solution = redact(resolution.trim(), name);
    let title = redact(&subject, name);
    let existing: Option<(i64, String, bool)> = conn
        .prepare_cached("SELECT id, title, reviewed FROM kb_entries WHERE ticket_id = ?1")?
        .query_row([ticket], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let id = match existing {
        Some((id, old_title, reviewed)) => {
            let title = if reviewed { old_title } else { title };
            conn.prepare_cached(
                "UPDATE kb_entries SET title = ?2, problem = ?3, solution = ?4, level = ?5, resolved_at = ?6, updated_at = ?6
                 WHERE id = ?1",
            )?
            .execute(params![id, title, problem, solution, level, ts(now)])?;
            reindex(conn, id, &title, &problem, &solution)?;
            id
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO kb_entries (ticket_id, title, problem, solution, channel, level, category, created_at,
                     resolved_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            )?
            .execute(params![
                ticket,
                title,
                problem,
                solution,
                channel,
                level,
                category,
                created,
                ts(now)
            ])?;
            let id = conn.last_insert_rowid();
            reindex(conn, id, &title, &problem, &solution)?;
            id
        }
    };
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

/// The entry of a ticket.
pub fn find_by_ticket(conn: &Connection, ticket: &str) -> rusqlite::Result<Option<Entry>> {
    conn.prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM kb_entries WHERE ticket_id = ?1"))?
        .query_row([ticket], entry_from_row)
        .optional()
}

/// An entry by id.
pub fn find(conn: &Connection, id: i64) -> rusqlite::Result<Option<Entry>> {
    conn.prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM kb_entries WHERE id = ?1"))?
        .query_row([id], entry_from_row)
        .optional()
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
    conn.prepare_cached(
        "UPDATE kb_entries SET title = ?2, solution = ?3, reviewed = ?4, updated_at = ?5 WHERE id = ?1",
    )?
    .execute(params![id, entry.title, entry.solution, entry.reviewed, ts(now)])?;
    reindex(conn, id, &entry.title, &entry.problem, &entry.solution)?;
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
        let docs: Option<i64> = conn
            .prepare_cached("SELECT doc FROM kb_vocab WHERE term = ?1")?
            .query_row([&term], |r| r.get(0))
            .optional()?;
        if let Some(docs) = docs.filter(|d| *d > 0) {
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
    // Each term quoted, so FTS5 reads no operator in user text; any term may match.
    let expression = terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" OR ");
    // Score in the index alone, then read only the pool's entries: joining before the sort
    // would read every matching entry's text.
    let pool = (limit * 4).max(20) as i64;
    let ranked: Vec<(i64, f64)> = conn
        .prepare_cached(
            "SELECT rowid, bm25(kb_index) FROM kb_index WHERE kb_index MATCH ?1 ORDER BY bm25(kb_index) LIMIT ?2",
        )?
        .query_map(params![expression, pool], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
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
    let mut stmt = conn.prepare_cached(
        "SELECT title, problem, category, resolved_at FROM kb_entries WHERE resolved_at >= ?1 AND resolved_at < ?2",
    )?;
    let mut rows = stmt.query(params![ts(before), ts(to)])?;
    while let Some(r) = rows.next()? {
        let (title, problem, category): (String, String, Option<String>) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let in_period = parse_ts(&r.get::<_, String>(3)?)? >= from;
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for word in format!("{title} {problem}").split(|c: char| !c.is_alphanumeric()) {
            if let Some(stem) = analyze(word).into_iter().next().filter(|s| s.chars().count() >= 3) {
                seen.entry(stem).or_insert_with(|| word.to_lowercase());
            }
        }
        if let Some(c) = category {
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
    }
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

/// Every reviewed entry (the public FAQ), by category then title.
pub fn reviewed_entries(conn: &Connection) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM kb_entries WHERE reviewed = 1 ORDER BY coalesce(category, ''), title, id"
    ))?;
    stmt.query_map([], entry_from_row)?.collect()
}

#[cfg(test)]
mod tests;
