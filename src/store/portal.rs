//! What the portal's HTTP interface reads on its own: the public part of a ticket's thread
//! (for the requester's status page), the gauges of `/metrics` and the probe of `/healthz`.
//!
//! Reads only; every change the portal makes goes through `workflow`.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::parse_ts;
use crate::model::{Status, TicketId};

/// A message of the public thread.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicMessage {
    /// Received or queued.
    pub at: DateTime<Utc>,
    /// From the requester (otherwise a letter of the help desk to them).
    pub incoming: bool,
    /// The fresh text.
    pub text: String,
}

/// The files the requester's side sent on `ticket` (kept ones only), for the status page.
pub fn public_files(conn: &Connection, ticket: TicketId) -> rusqlite::Result<Vec<super::attachments::StoredFile>> {
    conn.prepare_cached(
        "SELECT a.id, a.filename, a.content_type, a.size, a.sha256 FROM attachments a JOIN messages m ON m.id = a.message
         WHERE m.ticket_id = ?1 AND m.direction = 'in' AND m.flagged = 0
           AND m.disposition IN ('person', 'portal', 'phone', 'forward') AND a.sha256 IS NOT NULL
         ORDER BY a.id",
    )?
    .query_map([ticket.to_string()], super::attachments::stored_file)?
    .collect()
}

/// The public part of a ticket's thread, in order: the requester's messages and the letters
/// to them; never operators' notices, notes or internal mails, nor a stranger's message
/// flagged on the ticket.
pub fn public_thread(conn: &Connection, ticket: TicketId) -> rusqlite::Result<Vec<PublicMessage>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, direction, body_text FROM messages
         WHERE ticket_id = ?1 AND flagged = 0 AND (
             (direction = 'in' AND disposition IN ('person', 'portal', 'phone', 'forward'))
             OR (direction = 'out' AND disposition IN ('ack', 'take_in', 'answer', 'escalated', 'closing', 'out_of_scope',
                                                      'remote', 'reopened', 'attachments')))
         ORDER BY id",
    )?;
    let rows = stmt.query_map([ticket.to_string()], |r| {
        Ok(PublicMessage {
            at: parse_ts(&r.get::<_, String>(0)?)?,
            incoming: r.get::<_, String>(1)? == "in",
            text: r.get(2)?,
        })
    })?;
    rows.collect()
}

/// The number of tickets in each status, in [`Status::ALL`]'s order.
pub fn tickets_by_status(conn: &Connection) -> rusqlite::Result<Vec<(Status, i64)>> {
    let mut stmt = conn.prepare_cached("SELECT count(*) FROM tickets WHERE status = ?1")?;
    Status::ALL
        .iter()
        .map(|status| Ok((*status, stmt.query_row([status.as_str()], |r| r.get(0))?)))
        .collect()
}

/// The number of mails waiting to be sent.
pub fn outbox_pending(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM outbox WHERE sent_at IS NULL")?
        .query_row([], |r| r.get(0))
}

/// Whether the database answers a query at all (`/healthz`).
pub fn ping(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached("SELECT 1")?.query_row([], |_| Ok(()))
}
