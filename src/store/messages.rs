//! Rows of `raw_messages`, `messages` (incoming mail as stored) and `quarantine`, and the
//! look-ups threading needs.
//!
//! Owns those statements only: what a message is and where it belongs is decided by
//! `ingest` and `intake`; timestamps are arguments.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::ts;
use super::types::{instant, naming_row};
use crate::model::TicketId;

/// True when a message with this dedup key was applied before.
pub fn is_known(conn: &Connection, dedup_key: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM messages WHERE dedup_key = ?1)")?
        .query_row([dedup_key], |r| r.get(0))
}

/// Keeps the raw bytes once per content hash.
pub fn insert_raw(conn: &Connection, sha256: &str, bytes: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO raw_messages (sha256, size, bytes) VALUES (?1, ?2, ?3)")?
        .execute(params![sha256, bytes.len() as i64, bytes])?;
    Ok(())
}

/// An incoming message's row.
#[derive(Debug, Clone)]
pub struct Inbound<'a> {
    /// The ticket it belongs to, if any.
    pub ticket: Option<TicketId>,
    /// What recognises a repeat.
    pub dedup_key: &'a str,
    /// Its Message-ID.
    pub message_id: Option<&'a str>,
    /// The author's address and name.
    pub from_addr: Option<&'a str>,
    /// The author's display name.
    pub from_name: Option<&'a str>,
    /// To addresses, comma-separated.
    pub to_addrs: String,
    /// Cc addresses, comma-separated.
    pub cc_addrs: String,
    /// Decoded subject.
    pub subject: &'a str,
    /// The fresh text.
    pub body_text: &'a str,
    /// Key of its raw bytes.
    pub raw_sha256: &'a str,
    /// When it reached our mailbox.
    pub at: DateTime<Utc>,
    /// Where it came from.
    pub source: &'a str,
    /// How intake classified it (`person`, `operator`, `bounce`, …).
    pub disposition: &'a str,
    /// Stored but not trusted (a stranger naming a ticket).
    pub flagged: bool,
}

/// Inserts an incoming message and returns its row id.
pub fn insert_inbound(conn: &Connection, m: &Inbound<'_>) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO messages (ticket_id, direction, dedup_key, message_id, from_addr, from_name, to_addrs,
             cc_addrs, subject, body_text, raw_sha256, at, source, disposition, flagged)
         VALUES (?1, 'in', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        m.ticket.map(|t| t.to_string()),
        m.dedup_key,
        m.message_id,
        m.from_addr,
        m.from_name,
        m.to_addrs,
        m.cc_addrs,
        m.subject,
        m.body_text,
        m.raw_sha256,
        ts(m.at),
        m.source,
        m.disposition,
        m.flagged,
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The ticket of a Message-ID we sent or stored, if any. A stored id that does not parse is
/// an error, never a message threaded nowhere.
pub fn ticket_of_message_id(conn: &Connection, message_id: &str) -> rusqlite::Result<Option<TicketId>> {
    conn.prepare_cached(
        "SELECT ticket_id FROM outbox WHERE message_id = ?1 AND ticket_id IS NOT NULL
         UNION ALL
         SELECT ticket_id FROM messages WHERE message_id = ?1 AND ticket_id IS NOT NULL
         LIMIT 1",
    )?
    .query_row([message_id], |r| r.get(0))
    .optional()
}

/// A message arrived on `ticket`: its `updated_at` moves.
pub fn touch_ticket(conn: &Connection, ticket: TicketId, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE tickets SET updated_at = ?2 WHERE id = ?1")?
        .execute(params![ticket.to_string(), ts(now)])?;
    Ok(())
}

/// Quarantines a message (its raw bytes already stored when it was readable at all) and
/// returns the quarantine row.
pub fn quarantine(
    conn: &Connection,
    at: DateTime<Utc>,
    source: &str,
    raw_sha256: Option<&str>,
    error: &str,
) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT INTO quarantine (at, source, raw_sha256, error) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![ts(at), source, raw_sha256, error])?;
    Ok(conn.last_insert_rowid())
}

/// The supervisors were told about quarantine row `id`.
pub fn quarantine_reported(conn: &Connection, id: i64, at: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE quarantine SET reported_at = ?2 WHERE id = ?1")?
        .execute(params![id, ts(at)])?;
    Ok(())
}

/// A request or reply that came through the portal or the phone (no mail, no raw bytes).
#[derive(Debug, Clone)]
pub struct ChannelMessage<'a> {
    /// The ticket.
    pub ticket: TicketId,
    /// The author's address, when known.
    pub from_addr: Option<&'a str>,
    /// The author's name, when known.
    pub from_name: Option<&'a str>,
    /// Subject.
    pub subject: &'a str,
    /// Text.
    pub body_text: &'a str,
    /// When.
    pub at: DateTime<Utc>,
    /// `portal`, `phone` or `forward` (source and disposition alike).
    pub channel: &'a str,
}

/// Stores a portal or phone message and returns its row id.
pub fn insert_channel_message(conn: &Connection, m: &ChannelMessage<'_>) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO messages (ticket_id, direction, from_addr, from_name, subject, body_text, at, source, disposition)
         VALUES (?1, 'in', ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    )?
    .execute(params![
        m.ticket,
        m.from_addr,
        m.from_name,
        m.subject,
        m.body_text,
        ts(m.at),
        m.channel
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The request as the requester first wrote it (by mail, the portal or on the phone), if any.
pub fn request_text(conn: &Connection, ticket: TicketId) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT body_text FROM messages WHERE ticket_id = ?1 AND direction = 'in'
           AND disposition IN ('person', 'portal', 'phone', 'forward') ORDER BY id LIMIT 1",
    )?
    .query_row([ticket], |r| r.get(0))
    .optional()
}

/// The Message-IDs of a ticket's public thread, oldest first, each with its direction
/// (`in` or `out`): what a letter to the requester threads under. Only the requester's side's
/// mail and our letters to them: an operator's own mail (whose Message-ID names their internal
/// mail hosts), a notice or a flagged stranger's message never appear in a requester's
/// References (issue 14, item 8).
pub fn thread_ids(conn: &Connection, ticket: TicketId) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare_cached(
        "SELECT message_id, direction FROM messages WHERE ticket_id = ?1 AND message_id IS NOT NULL AND flagged = 0
           AND ((direction = 'in' AND disposition IN ('person', 'portal', 'phone', 'forward'))
             OR (direction = 'out' AND disposition IN ('ack', 'take_in', 'answer', 'escalated', 'closing', 'out_of_scope',
                                                      'remote', 'reopened', 'attachments', 'suspension')))
         ORDER BY id",
    )?
    .query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// One line of a ticket's screening: a message either way, or a note, call or time entry. An
/// operator's own command mails are left out (what they did shows as letters and events; a
/// refused one did nothing).
#[derive(Debug, Clone)]
pub struct ScreeningLine {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub who: String,
    /// What (`messaggio`, a disposition, or the event's action).
    pub what: String,
    /// Its text.
    pub text: String,
}

/// The whole screening so far: messages both ways and internal notes, in order.
pub fn screening(conn: &Connection, ticket: TicketId) -> rusqlite::Result<Vec<ScreeningLine>> {
    conn.prepare_cached(
        "SELECT at, who, what, text FROM (
             SELECT id * 2 AS ord, at, coalesce(from_addr, '') AS who,
                    CASE direction WHEN 'in' THEN 'messaggio' ELSE disposition END AS what, body_text AS text
             FROM messages WHERE ticket_id = ?1 AND disposition NOT IN ('notify', 'operator_reply')
               AND NOT (direction = 'in' AND disposition = 'operator')
             UNION ALL
             SELECT id * 2 + 1, at, actor, action, detail FROM events
             WHERE ticket_id = ?1 AND action IN ('note', 'phone', 'time')
         ) ORDER BY at, ord",
    )?
    .query_map([ticket], |r| {
        naming_row(r, "messages", 0, |r| {
            Ok(ScreeningLine {
                at: instant(r, 0)?,
                who: r.get(1)?,
                what: r.get(2)?,
                text: r.get(3)?,
            })
        })
    })?
    .collect()
}

/// When the latest incoming mail (not a portal or phone request, not imported history)
/// reached the mailbox, if any: what the silence alarm measures from.
pub fn last_mail_received(conn: &Connection) -> rusqlite::Result<Option<DateTime<Utc>>> {
    conn.prepare_cached(
        "SELECT id, at FROM messages WHERE direction = 'in' AND disposition NOT IN ('portal', 'phone')
           AND source NOT LIKE 'import:%'
         ORDER BY id DESC LIMIT 1",
    )?
    .query_row([], |r| naming_row(r, "messages", 0, |r| instant(r, 1)))
    .optional()
}
