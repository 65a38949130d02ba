//! Rows of `participants` — who takes part in a ticket and whether they can be reached (the
//! undeliverable marks) — and the look-up of our own sent mail that a delivery report must
//! refer to.
//!
//! Owns those statements only; whether a report is believed is decided in
//! `ingest::bounce`, and how long a mark lasts is the caller's argument.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::ts;
use crate::model::TicketId;

/// A mail the help desk queued: its ticket and its recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurMail {
    /// The ticket it was about, if any.
    pub ticket: Option<TicketId>,
    /// Its recipients, lowercased.
    pub recipients: Vec<String>,
}

/// The mail of ours with this Message-ID, if we ever queued one.
pub fn our_mail(conn: &Connection, message_id: &str) -> rusqlite::Result<Option<OurMail>> {
    let row: Option<(Option<TicketId>, String)> = conn
        .prepare_cached("SELECT ticket_id, recipients FROM outbox WHERE message_id = ?1")?
        .query_row([message_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((ticket, recipients)) = row else {
        return Ok(None);
    };
    Ok(Some(OurMail {
        ticket,
        recipients: recipients
            .split(',')
            .map(|a| a.trim().to_ascii_lowercase())
            .filter(|a| !a.is_empty())
            .collect(),
    }))
}

/// Marks `address` undeliverable on every ticket it takes part in, until `until`. Returns the
/// tickets where it was not marked already.
pub fn mark_undeliverable(
    conn: &Connection,
    address: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> rusqlite::Result<Vec<TicketId>> {
    let newly: Vec<TicketId> = conn
        .prepare_cached(
            "SELECT ticket_id FROM participants WHERE email = ?1
             AND NOT (undeliverable = 1 AND undeliverable_until > ?2) ORDER BY ticket_id",
        )?
        .query_map(params![address, ts(now)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    conn.prepare_cached("UPDATE participants SET undeliverable = 1, undeliverable_until = ?2 WHERE email = ?1")?
        .execute(params![address, ts(until)])?;
    Ok(newly)
}

/// Clears the marks of `address` (it wrote to us, so it works). Returns the tickets where a
/// mark still in force was cleared.
pub fn clear_undeliverable(conn: &Connection, address: &str, now: DateTime<Utc>) -> rusqlite::Result<Vec<TicketId>> {
    let cleared: Vec<TicketId> = conn
        .prepare_cached(
            "SELECT ticket_id FROM participants WHERE email = ?1
             AND undeliverable = 1 AND undeliverable_until > ?2 ORDER BY ticket_id",
        )?
        .query_map(params![address, ts(now)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if !cleared.is_empty() {
        conn.prepare_cached("UPDATE participants SET undeliverable = 0, undeliverable_until = NULL WHERE email = ?1")?
            .execute([address])?;
    }
    Ok(cleared)
}

/// True when `address` is marked undeliverable on `ticket` and the mark is still in force.
pub fn is_undeliverable(
    conn: &Connection,
    ticket: TicketId,
    address: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM participants WHERE ticket_id = ?1 AND email = ?2
                        AND undeliverable = 1 AND undeliverable_until > ?3)",
    )?
    .query_row(params![ticket.to_string(), address, ts(now)], |r| r.get(0))
}

/// True when `address` takes part in `ticket` (its requester or someone in copy).
pub fn is_participant(conn: &Connection, ticket: TicketId, address: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM participants WHERE ticket_id = ?1 AND email = ?2)")?
        .query_row(params![ticket.to_string(), address], |r| r.get(0))
}

/// Adds someone in copy of a new request as a participant (once).
pub fn add_copied(conn: &Connection, ticket: TicketId, address: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO participants (ticket_id, email, role) VALUES (?1, ?2, 'cc')")?
        .execute(params![ticket.to_string(), address])?;
    Ok(())
}
