//! Rows of `kb_entries`, the FTS5 index of their fields (`kb_fields`), the entry counts of its
//! terms (`kb_terms`) and operators' verdicts (`kb_feedback`): storing
//! entries, their index terms, and the full-text queries the knowledge base ranks with.
//!
//! Owns the SQL and the FTS5 query syntax only. Redaction, text analysis, scoring boosts and
//! what becomes an entry are decided in `kb`, which hands this module finished text and
//! terms; timestamps are arguments. Every function takes the caller's connection, so `kb`
//! composes them inside one transaction.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::ts;
use super::types::{instant, naming_row};
use crate::model::{Channel, Level};

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

const ENTRY_COLUMNS: &str = "id, ticket_id, title, problem, solution, category, reviewed, resolved_at";

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<Entry> {
    naming_row(row, "kb_entries", 0, |r| {
        Ok(Entry {
            id: r.get(0)?,
            ticket: r.get(1)?,
            title: r.get(2)?,
            problem: r.get(3)?,
            solution: r.get(4)?,
            category: r.get(5)?,
            reviewed: r.get(6)?,
            resolved_at: instant(r, 7)?,
        })
    })
}

/// What a resolved ticket contributes to its entry, as stored on the ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketFacts {
    /// The ticket's subject.
    pub subject: String,
    /// The requester's name (what redaction removes besides the patterns).
    pub requester_name: Option<String>,
    /// Its channel.
    pub channel: Channel,
    /// Its level.
    pub level: Level,
    /// Its category, if any.
    pub category: Option<String>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// The body of the requester's first message (mail or phone), if there is one.
    pub first_request: Option<String>,
}

/// The facts of `ticket` an entry is made of (an error when the ticket does not exist).
pub fn ticket_facts(conn: &Connection, ticket: &str) -> rusqlite::Result<TicketFacts> {
    let first_request: Option<String> = conn
        .prepare_cached(
            "SELECT body_text FROM messages WHERE ticket_id = ?1 AND direction = 'in' AND disposition IN ('person', 'phone', 'forward')
             ORDER BY id LIMIT 1",
        )?
        .query_row([ticket], |r| r.get(0))
        .optional()?;
    conn.prepare_cached(
        "SELECT id, subject, requester_name, channel, level, category, created_at FROM tickets WHERE id = ?1",
    )?
    .query_row([ticket], |row| {
        naming_row(row, "tickets", 0, |r| {
            Ok(TicketFacts {
                subject: r.get(1)?,
                requester_name: r.get(2)?,
                channel: r.get(3)?,
                level: r.get(4)?,
                category: r.get(5)?,
                created_at: instant(r, 6)?,
                first_request,
            })
        })
    })
}

/// A new entry, its text already redacted.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    /// The ticket it comes from.
    pub ticket: &'a str,
    /// Its text.
    pub text: EntryText<'a>,
    /// The ticket's channel.
    pub channel: Channel,
    /// The ticket's level.
    pub level: Level,
    /// The ticket's category.
    pub category: Option<&'a str>,
    /// When the ticket was opened.
    pub created_at: DateTime<Utc>,
    /// When it was resolved (also the entry's last change).
    pub resolved_at: DateTime<Utc>,
}

/// Stores a new entry (not yet indexed: see [`index_entry`]) and returns its id.
pub fn insert_entry(conn: &Connection, entry: &NewEntry<'_>) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO kb_entries (ticket_id, title, problem, solution, channel, level, category, created_at,
             resolved_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?
    .execute(params![
        entry.ticket,
        entry.text.title,
        entry.text.problem,
        entry.text.solution,
        entry.channel,
        entry.level,
        entry.category,
        ts(entry.created_at),
        ts(entry.resolved_at)
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The text of an entry, as it is stored and indexed.
#[derive(Debug, Clone, Copy)]
pub struct EntryText<'a> {
    /// Title.
    pub title: &'a str,
    /// The problem.
    pub problem: &'a str,
    /// The solution.
    pub solution: &'a str,
}

/// Replaces an entry's text with a newer resolution of its ticket, resolved at `resolved_at`.
pub fn update_resolution(
    conn: &Connection,
    id: i64,
    text: &EntryText<'_>,
    level: Level,
    resolved_at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE kb_entries SET title = ?2, problem = ?3, solution = ?4, level = ?5, resolved_at = ?6, updated_at = ?6
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        text.title,
        text.problem,
        text.solution,
        level,
        ts(resolved_at)
    ])?;
    Ok(())
}

/// Changes an entry's title, solution and reviewed mark (an edit at `now`).
pub fn update_entry(
    conn: &Connection,
    id: i64,
    title: &str,
    solution: &str,
    reviewed: bool,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE kb_entries SET title = ?2, solution = ?3, reviewed = ?4, updated_at = ?5 WHERE id = ?1",
    )?
    .execute(params![id, title, solution, reviewed, ts(now)])?;
    Ok(())
}

/// The analysed terms of an entry, per field, each separated by spaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldTerms {
    /// The fields, in [`FIELDS`] order: title, problem, solution, category.
    pub fields: [String; 4],
}

/// The indexed fields, in the index's column order.
pub const FIELDS: [&str; 4] = ["title", "problem", "solution", "category"];

impl FieldTerms {
    /// How many terms each field holds.
    pub fn lengths(&self) -> [i64; 4] {
        self.fields
            .each_ref()
            .map(|f| f.split_ascii_whitespace().count() as i64)
    }
}

/// Replaces the index terms of entry `id`, keeps the per-field length totals, and marks the
/// entry indexed by analysis `version`.
pub fn index_entry(conn: &Connection, id: i64, terms: &FieldTerms, version: i64) -> rusqlite::Result<()> {
    let old = conn
        .prepare_cached("SELECT title, problem, solution, category FROM kb_fields WHERE rowid = ?1")?
        .query_row([id], |r| {
            Ok(FieldTerms {
                fields: [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?],
            })
        })
        .optional()?;
    let new = terms.lengths();
    let (was, entries) = match &old {
        Some(old) => (old.lengths(), 0),
        None => ([0; 4], 1),
    };
    conn.prepare_cached("DELETE FROM kb_fields WHERE rowid = ?1")?
        .execute([id])?;
    let [title, problem, solution, category] = &terms.fields;
    conn.prepare_cached(
        "INSERT INTO kb_fields (rowid, title, problem, solution, category) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, title, problem, solution, category])?;
    conn.prepare_cached(
        "UPDATE kb_field_lengths SET entries = entries + ?1, title = title + ?2, problem = problem + ?3,
             solution = solution + ?4, category = category + ?5 WHERE id = 1",
    )?
    .execute(params![
        entries,
        new[0] - was[0],
        new[1] - was[1],
        new[2] - was[2],
        new[3] - was[3]
    ])?;
    conn.prepare_cached("UPDATE kb_entries SET index_version = ?2 WHERE id = ?1")?
        .execute(params![id, version])?;
    // The entry counts of the terms it gained and lost.
    let distinct = |t: &FieldTerms| {
        let mut all: Vec<String> = t
            .fields
            .iter()
            .flat_map(|f| f.split_ascii_whitespace().map(str::to_string))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    let now = distinct(terms);
    let before = old.as_ref().map(distinct).unwrap_or_default();
    let mut gain = conn.prepare_cached(
        "INSERT INTO kb_terms (term, docs) VALUES (?1, 1) ON CONFLICT (term) DO UPDATE SET docs = docs + 1",
    )?;
    for t in now.iter().filter(|t| before.binary_search(t).is_err()) {
        gain.execute([t])?;
    }
    let mut lose = conn.prepare_cached("UPDATE kb_terms SET docs = docs - 1 WHERE term = ?1")?;
    for t in before.iter().filter(|t| now.binary_search(t).is_err()) {
        lose.execute([t])?;
    }
    Ok(())
}

/// How many entries the index holds, and the total length of each field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldLengths {
    /// Entries indexed.
    pub entries: i64,
    /// Terms in all, per field.
    pub totals: [i64; 4],
}

/// The index's size, for BM25F's averages.
pub fn field_lengths(conn: &Connection) -> rusqlite::Result<FieldLengths> {
    conn.prepare_cached("SELECT entries, title, problem, solution, category FROM kb_field_lengths WHERE id = 1")?
        .query_row([], |r| {
            Ok(FieldLengths {
                entries: r.get(0)?,
                totals: [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?],
            })
        })
}

/// Up to `limit` entries indexed by an analysis older than `version`.
pub fn stale_entries(conn: &Connection, version: i64, limit: i64) -> rusqlite::Result<Vec<i64>> {
    // By the index on index_version: ordered by id, SQLite would walk every entry.
    conn.prepare_cached(
        "SELECT id FROM kb_entries INDEXED BY kb_entries_stale WHERE index_version < ?1 ORDER BY index_version, id LIMIT ?2",
    )?
        .query_map(params![version, limit], |r| r.get(0))?
        .collect()
}

/// The indexed terms of each of `ids` that is in the index.
pub fn field_terms(conn: &Connection, ids: &[i64]) -> rusqlite::Result<Vec<(i64, FieldTerms)>> {
    let mut stmt =
        conn.prepare_cached("SELECT rowid, title, problem, solution, category FROM kb_fields WHERE rowid = ?1")?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let row = stmt
            .query_row([id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    FieldTerms {
                        fields: [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?],
                    },
                ))
            })
            .optional()?;
        out.extend(row);
    }
    Ok(out)
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

/// How many entries hold `term` in the index, if any does.
pub fn term_documents(conn: &Connection, term: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT docs FROM kb_terms WHERE term = ?1")?
        .query_row([term], |r| r.get(0))
        .optional()
}

/// An FTS5 expression matching any of `terms`, each quoted so that no operator is read in
/// user text.
fn any_of(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The entries holding `term` in any field (their ids, in no promised order): reads the
/// term's postings only, no positions and no ranking.
pub fn entries_with(conn: &Connection, term: &str) -> rusqlite::Result<Vec<i64>> {
    conn.prepare_cached("SELECT rowid FROM kb_fields WHERE kb_fields MATCH ?1")?
        .query_map([any_of(&[term.to_string()])], |r| r.get(0))?
        .collect()
}

/// What an operator did with an entry on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Sent or cited as the answer.
    Used,
    /// Marked wrong for that request (`#kb no ID`).
    Wrong,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Used => "used",
            Verdict::Wrong => "wrong",
        }
    }
}

/// Records `verdict` on entry `entry` for `ticket`, whose request's analysed terms are
/// `terms`; the latest verdict on a pair replaces an earlier one.
pub fn record_feedback(
    conn: &Connection,
    entry: i64,
    ticket: &str,
    verdict: Verdict,
    terms: &str,
    by: &str,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO kb_feedback (entry_id, ticket_id, verdict, terms, by, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (entry_id, ticket_id) DO UPDATE SET verdict = excluded.verdict, terms = excluded.terms,
                 by = excluded.by, at = excluded.at
             RETURNING id",
        )?
        .query_row(params![entry, ticket, verdict.as_str(), terms, by, ts(at)], |r| {
            r.get(0)
        })?;
    conn.prepare_cached("DELETE FROM kb_feedback_index WHERE rowid = ?1")?
        .execute([id])?;
    conn.prepare_cached("INSERT INTO kb_feedback_index (rowid, terms) VALUES (?1, ?2)")?
        .execute(params![id, terms])?;
    Ok(())
}

/// A verdict given on an earlier request.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    /// The entry.
    pub entry: i64,
    /// Used or wrong.
    pub verdict: Verdict,
    /// That request's analysed terms, separated by spaces.
    pub terms: String,
}

/// The verdicts given on the `limit` earlier requests most similar to `terms` (by BM25 over
/// their terms).
pub fn similar_feedback(conn: &Connection, terms: &[String], limit: i64) -> rusqlite::Result<Vec<Feedback>> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT f.entry_id, f.verdict, f.terms
         FROM (SELECT rowid AS id, bm25(kb_feedback_index) AS score FROM kb_feedback_index
               WHERE kb_feedback_index MATCH ?1 ORDER BY score LIMIT ?2) AS near
         JOIN kb_feedback f ON f.id = near.id
         ORDER BY near.score",
    )?;
    let rows = stmt.query_map(params![any_of(terms), limit], |row| {
        naming_row(row, "kb_feedback", 0, |r| {
            let verdict = match r.get::<_, String>(1)?.as_str() {
                "used" => Verdict::Used,
                "wrong" => Verdict::Wrong,
                other => {
                    return Err(rusqlite::Error::FromSqlConversionFailure(
                        1,
                        rusqlite::types::Type::Text,
                        format!("{other:?} is not a verdict (used, wrong)").into(),
                    ));
                }
            };
            Ok(Feedback {
                entry: r.get(0)?,
                verdict,
                terms: r.get(2)?,
            })
        })
    })?;
    rows.collect()
}

/// Whether entry `id` exists.
pub fn exists(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM kb_entries WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()
        .map(|r| r.is_some())
}

/// An entry's text as the topics count it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRow {
    /// Title.
    pub title: String,
    /// The problem.
    pub problem: String,
    /// Category, if any.
    pub category: Option<String>,
    /// When it was resolved.
    pub resolved_at: DateTime<Utc>,
}

/// Hands `visit` every entry resolved in [from, to), one at a time (a long period is never
/// held in memory whole).
pub fn for_each_resolved_between(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    mut visit: impl FnMut(TopicRow),
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, title, problem, category, resolved_at FROM kb_entries WHERE resolved_at >= ?1 AND resolved_at < ?2",
    )?;
    let mut rows = stmt.query(params![ts(from), ts(to)])?;
    while let Some(row) = rows.next()? {
        visit(naming_row(row, "kb_entries", 0, |r| {
            Ok(TopicRow {
                title: r.get(1)?,
                problem: r.get(2)?,
                category: r.get(3)?,
                resolved_at: instant(r, 4)?,
            })
        })?);
    }
    Ok(())
}

/// Every reviewed entry (the public FAQ), by category then title.
pub fn reviewed_entries(conn: &Connection) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM kb_entries WHERE reviewed = 1 ORDER BY coalesce(category, ''), title, id"
    ))?;
    stmt.query_map([], entry_from_row)?.collect()
}
