//! Rows of `kb_entries` and the FTS5 tables over them (`kb_index`, `kb_vocab`): storing
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

/// Replaces the index terms of entry `id` (`terms`: analysed terms separated by spaces).
pub fn index_entry(conn: &Connection, id: i64, terms: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM kb_index WHERE rowid = ?1")?
        .execute([id])?;
    conn.prepare_cached("INSERT INTO kb_index (rowid, terms) VALUES (?1, ?2)")?
        .execute(params![id, terms])?;
    Ok(())
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
    conn.prepare_cached("SELECT doc FROM kb_vocab WHERE term = ?1")?
        .query_row([term], |r| r.get(0))
        .optional()
}

/// The best `limit` entries holding any of `terms`, by BM25 alone: (entry id, bm25), best
/// (lowest) first. Scores in the index only, without reading the entries' text.
pub fn rank_any(conn: &Connection, terms: &[String], limit: i64) -> rusqlite::Result<Vec<(i64, f64)>> {
    // Each term quoted, so FTS5 reads no operator in user text; any term may match.
    let expression = terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" OR ");
    conn.prepare_cached(
        "SELECT rowid, bm25(kb_index) FROM kb_index WHERE kb_index MATCH ?1 ORDER BY bm25(kb_index) LIMIT ?2",
    )?
    .query_map(params![expression, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
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
