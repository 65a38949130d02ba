//! Rows of `outbox`: queueing a mail (and its history row in `messages` when it concerns a
//! ticket), the rows due for an attempt, the outcome of each attempt, and a row's content.
//!
//! Owns those statements only. What a mail says, whether it is a draft, how it is composed,
//! sent and backed off are `outbox`'s decisions; timestamps are arguments. Functions take a
//! `&Connection`, so the caller queues a mail inside the transaction of the change that
//! caused it and records a chunk of attempts in one transaction.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use super::ts;
use super::types::{instant, naming_row};
use crate::model::TicketId;

/// A mail to queue.
#[derive(Debug, Clone, Copy)]
pub struct NewMail<'a> {
    /// The ticket it is about, if any.
    pub ticket: Option<TicketId>,
    /// Its Message-ID, fixed now.
    pub message_id: &'a str,
    /// Why it is sent (`ack`, `take_in`, `notify`, …).
    pub purpose: &'a str,
    /// The sender's address (for the ticket's history).
    pub from: &'a str,
    /// Envelope recipients, comma-separated.
    pub recipients: &'a str,
    /// Subject (for the ticket's history).
    pub subject: &'a str,
    /// Text (for the ticket's history).
    pub body: &'a str,
    /// The complete message, or empty for a draft.
    pub raw: &'a [u8],
    /// The draft to compose at the first attempt (JSON), if it is one.
    pub draft: Option<&'a str>,
    /// When it is queued (also when it is first due).
    pub queued_at: DateTime<Utc>,
}

/// Queues `mail`, due at once.
pub fn insert(conn: &Connection, mail: &NewMail<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (ticket_id, message_id, purpose, recipients, raw, draft, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    )?
    .execute(params![
        mail.ticket,
        mail.message_id,
        mail.purpose,
        mail.recipients,
        mail.raw,
        mail.draft,
        ts(mail.queued_at)
    ])?;
    Ok(())
}

/// Records `mail` among the messages of `ticket`, outgoing, as queued by the outbox.
pub fn insert_history(conn: &Connection, ticket: TicketId, mail: &NewMail<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO messages (ticket_id, direction, message_id, from_addr, to_addrs, subject, body_text, at,
             source, disposition)
         VALUES (?1, 'out', ?2, ?3, ?4, ?5, ?6, ?7, 'outbox', ?8)",
    )?
    .execute(params![
        ticket,
        mail.message_id,
        mail.from,
        mail.recipients,
        mail.subject,
        mail.body,
        ts(mail.queued_at),
        mail.purpose
    ])?;
    Ok(())
}

/// How many mails of `purpose` were queued for exactly `recipients` since `since`.
pub fn count_queued_since(
    conn: &Connection,
    purpose: &str,
    recipients: &str,
    since: DateTime<Utc>,
) -> rusqlite::Result<u32> {
    conn.prepare_cached("SELECT count(*) FROM outbox WHERE purpose = ?1 AND recipients = ?2 AND created_at >= ?3")?
        .query_row(params![purpose, recipients, ts(since)], |r| r.get(0))
}

/// What a queued row holds to be sent: its stored bytes or its draft, and what composing a
/// draft needs besides it.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// Why it is sent.
    pub purpose: String,
    /// The ticket it is about, if any.
    pub ticket: Option<TicketId>,
    /// The complete message (empty for a draft).
    pub raw: Vec<u8>,
    /// The draft (JSON), if it is one.
    pub draft: Option<String>,
    /// When it was queued (a draft's Date).
    pub queued_at: DateTime<Utc>,
}

/// The columns [`content_from_row`] reads, first in every query that reads a content.
const CONTENT_COLUMNS: &str = "id, purpose, ticket_id, raw, draft, created_at";

fn content_from_row(row: &Row<'_>) -> rusqlite::Result<Content> {
    naming_row(row, "outbox", 0, |r| {
        Ok(Content {
            purpose: r.get(1)?,
            ticket: r.get(2)?,
            raw: r.get(3)?,
            draft: r.get(4)?,
            queued_at: instant(r, 5)?,
        })
    })
}

/// The content of the row queued under `message_id` (an error when there is none).
pub fn find_content(conn: &Connection, message_id: &str) -> rusqlite::Result<Content> {
    conn.prepare_cached(&format!("SELECT {CONTENT_COLUMNS} FROM outbox WHERE message_id = ?1"))?
        .query_row([message_id], content_from_row)
}

/// The id of the latest queued row (0 when none): a sending pass takes the rows up to it.
pub fn last_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT coalesce(max(id), 0) FROM outbox")?
        .query_row([], |r| r.get(0))
}

/// Drops what was queued after row `after` and never sent (an import's safety net: history
/// writes to nobody); returns how many.
pub fn discard_after(conn: &Connection, after: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM outbox WHERE id > ?1 AND sent_at IS NULL")?
        .execute([after])
}

/// A queued row due for an attempt.
#[derive(Debug)]
pub struct DueRow {
    /// Row id.
    pub id: i64,
    /// Its Message-ID.
    pub message_id: String,
    /// Envelope recipients, comma-separated.
    pub recipients: String,
    /// Attempts so far.
    pub attempts: u32,
    /// What to send, or why the stored row does not read back: that one mail's failure (it
    /// is recorded as a failed attempt and stays queued), not the whole pass's.
    pub content: rusqlite::Result<Content>,
}

/// Up to `limit` unsent rows with `after_id < id <= up_to_id` whose next attempt is due at
/// `now`, in queueing order.
pub fn due(
    conn: &Connection,
    now: DateTime<Utc>,
    after_id: i64,
    up_to_id: i64,
    limit: u32,
) -> rusqlite::Result<Vec<DueRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CONTENT_COLUMNS}, message_id, recipients, attempts FROM outbox
         WHERE sent_at IS NULL AND next_attempt_at <= ?1 AND id > ?2 AND id <= ?3 ORDER BY id LIMIT ?4"
    ))?;
    let rows = stmt.query_map(params![ts(now), after_id, up_to_id, limit], |r| {
        Ok(DueRow {
            id: r.get(0)?,
            message_id: r.get(6)?,
            recipients: r.get(7)?,
            attempts: r.get(8)?,
            content: content_from_row(r),
        })
    })?;
    rows.collect()
}

/// Records that row `id` left at `at`.
pub fn mark_sent(conn: &Connection, id: i64, at: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE outbox SET sent_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1")?
        .execute(params![id, ts(at)])?;
    Ok(())
}

/// Records a failed attempt of row `id`: its count of attempts, when to try again, and why.
pub fn mark_failed(
    conn: &Connection,
    id: i64,
    attempts: u32,
    next_attempt_at: DateTime<Utc>,
    error: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1")?
        .execute(params![id, attempts, ts(next_attempt_at), error])?;
    Ok(())
}

/// A queued mail that keeps failing and nobody was told about yet.
#[derive(Debug, Clone)]
pub struct Stuck {
    /// Row id.
    pub id: i64,
    /// Its recipients.
    pub recipients: String,
    /// The last error.
    pub last_error: String,
    /// How many attempts failed.
    pub attempts: u32,
    /// Its ticket, if any.
    pub ticket: Option<TicketId>,
}

/// Mail unsent after `min_attempts` attempts whose failure was not reported yet (the
/// reports of stuck mail themselves aside).
pub fn stuck(conn: &Connection, min_attempts: u32) -> rusqlite::Result<Vec<Stuck>> {
    conn.prepare_cached(
        "SELECT id, recipients, coalesce(last_error, ''), attempts, ticket_id FROM outbox
         WHERE sent_at IS NULL AND failure_reported_at IS NULL AND attempts >= ?1 AND purpose <> 'stuck'",
    )?
    .query_map([min_attempts], stuck_row)?
    .collect()
}

/// A row selected as (id, recipients, last error, attempts, ticket).
fn stuck_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stuck> {
    naming_row(r, "outbox", 0, |r| {
        Ok(Stuck {
            id: r.get(0)?,
            recipients: r.get(1)?,
            last_error: r.get(2)?,
            attempts: r.get(3)?,
            ticket: r.get(4)?,
        })
    })
}

/// Mail the SMTP server refused for good (its next attempt set to `given_up`) whose refusal
/// was not reported yet.
pub fn refused_unreported(conn: &Connection, given_up: DateTime<Utc>) -> rusqlite::Result<Vec<Stuck>> {
    conn.prepare_cached(
        "SELECT id, recipients, coalesce(last_error, ''), attempts, ticket_id FROM outbox
         WHERE sent_at IS NULL AND failure_reported_at IS NULL AND next_attempt_at = ?1",
    )?
    .query_map([ts(given_up)], stuck_row)?
    .collect()
}

/// The supervisors were told mail `id` is stuck.
pub fn failure_reported(conn: &Connection, id: i64, at: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE outbox SET failure_reported_at = ?2 WHERE id = ?1")?
        .execute(params![id, ts(at)])?;
    Ok(())
}
