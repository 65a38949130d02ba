//! Rows of `tickets`, `events`, `messages` and `participants`: inserting, numbering and
//! reading them back for the CLI and the workflow.
//!
//! Ticket numbers come from `ticket_counters` inside the caller's write transaction, so a
//! rolled-back ticket gives its number back (no gaps) and two writers never share a number
//! (the immediate transaction serialises them).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::ts;
use super::types::{instant, naming_row};
use crate::model::{Channel, EventAction, Kind, Level, Status, TicketId};

/// What is needed to open a ticket.
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// Subject as the requester wrote it (token-free).
    pub subject: String,
    /// Channel it came through.
    pub channel: Channel,
    /// Problem, reminder or complaint.
    pub kind: Kind,
    /// Requester's address, if any (a phone caller may leave none).
    pub requester_email: Option<String>,
    /// Requester's display name, if known.
    pub requester_name: Option<String>,
    /// Requester's phone number, if known.
    pub requester_phone: Option<String>,
    /// Category from the portal form, if any.
    pub category: Option<String>,
    /// The building-permit application's number, if given.
    pub pratica: Option<String>,
    /// When the request was received.
    pub received_at: DateTime<Utc>,
    /// The year that numbers the ticket (local year of the help desk).
    pub year: i32,
}

/// A ticket as stored, with its counts.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRow {
    /// `TCK-YYYY-NNNNN`.
    pub id: TicketId,
    /// Subject.
    pub subject: String,
    /// Procedure state.
    pub status: Status,
    /// Support level.
    pub level: Level,
    /// Channel.
    pub channel: Channel,
    /// Problem, reminder or complaint.
    pub kind: Kind,
    /// Requester's address.
    pub requester_email: Option<String>,
    /// Requester's name.
    pub requester_name: Option<String>,
    /// Requester's phone.
    pub requester_phone: Option<String>,
    /// The building-permit practice it is about, when known.
    pub pratica: Option<String>,
    /// Assigned operator's address.
    pub assignee: Option<String>,
    /// Operator who closed the last cycle.
    pub resolver: Option<String>,
    /// Times the ticket was reopened.
    pub reopened: u32,
    /// Stored messages, both directions.
    pub messages: u32,
    /// Status-link secret.
    pub secret: String,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it: an address, `system` or `cli`.
    pub actor: String,
    /// What was done (`created`, `assigned`, ...).
    pub action: String,
    /// Free text.
    pub detail: String,
}

/// A stored message of a ticket, as the CLI shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRow {
    /// Received or queued.
    pub at: DateTime<Utc>,
    /// `in` or `out`.
    pub direction: String,
    /// Sender address.
    pub from: Option<String>,
    /// Recipients, comma-separated.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// The fresh text.
    pub text: String,
}

/// Takes the next number of `year` (inside the caller's write transaction).
pub fn next_ticket_number(conn: &Connection, year: i32) -> rusqlite::Result<u32> {
    conn.prepare_cached(
        "INSERT INTO ticket_counters (year, last_number) VALUES (?1, 1)
         ON CONFLICT (year) DO UPDATE SET last_number = last_number + 1
         RETURNING last_number",
    )?
    .query_row(params![year], |r| r.get(0))
}

/// Inserts a new ticket (status `new`, level 1) and its `created` event.
pub fn insert_ticket(conn: &Connection, ticket: &NewTicket, secret: &str, actor: &str) -> rusqlite::Result<TicketId> {
    let number = next_ticket_number(conn, ticket.year)?;
    let id = TicketId {
        year: ticket.year,
        number,
    };
    let at = ts(ticket.received_at);
    conn.prepare_cached(
        "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind,
             requester_email, requester_name, requester_phone, category, pratica, secret,
             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'new', 1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
    )?
    .execute(params![
        id,
        id.year,
        id.number,
        ticket.subject,
        ticket.channel,
        ticket.kind,
        ticket.requester_email,
        ticket.requester_name,
        ticket.requester_phone,
        ticket.category,
        ticket.pratica,
        secret,
        at,
    ])?;
    if let Some(email) = &ticket.requester_email {
        conn.prepare_cached("INSERT INTO participants (ticket_id, email, role) VALUES (?1, ?2, 'requester')")?
            .execute(params![id, email])?;
    }
    insert_event(
        conn,
        Some(id),
        ticket.received_at,
        actor,
        EventAction::Created,
        &format!("channel {}", ticket.channel),
        None,
    )?;
    Ok(id)
}

/// Appends one line to the audit trail.
pub fn insert_event(
    conn: &Connection,
    ticket: Option<TicketId>,
    at: DateTime<Utc>,
    actor: &str,
    action: EventAction,
    detail: &str,
    message: Option<i64>,
) -> rusqlite::Result<()> {
    record_event(
        conn,
        &NewEvent {
            ticket,
            at,
            actor,
            action,
            detail,
            operator: None,
            message,
        },
    )
}

/// One line of the audit trail.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The ticket, if the event is about one.
    pub ticket: Option<TicketId>,
    /// When.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: &'a str,
    /// What.
    pub action: EventAction,
    /// Free text for people.
    pub detail: &'a str,
    /// The operator it concerns (an assignment's assignee, the technician a reopened ticket
    /// went back to): what the accounting counts by.
    pub operator: Option<&'a str>,
    /// The message row that caused it.
    pub message: Option<i64>,
}

/// Appends `event` to the audit trail.
pub fn record_event(conn: &Connection, event: &NewEvent<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO events (ticket_id, at, actor, action, detail, operator, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        event.ticket,
        ts(event.at),
        event.actor,
        event.action,
        event.detail,
        event.operator,
        event.message
    ])?;
    Ok(())
}

const TICKET_COLUMNS: &str = "t.id, t.subject, t.status, t.level, t.channel, t.kind, t.requester_email,
     t.requester_name, t.requester_phone, t.assignee, t.resolver, t.reopened,
     (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id AND m.disposition NOT IN ('notify', 'operator_reply')), t.secret, t.created_at, t.updated_at,
     t.pratica";

fn ticket_from_row(row: &Row<'_>) -> rusqlite::Result<TicketRow> {
    naming_row(row, "tickets", 0, |row| {
        Ok(TicketRow {
            id: row.get(0)?,
            subject: row.get(1)?,
            status: row.get(2)?,
            level: row.get(3)?,
            channel: row.get(4)?,
            kind: row.get(5)?,
            requester_email: row.get(6)?,
            requester_name: row.get(7)?,
            requester_phone: row.get(8)?,
            assignee: row.get(9)?,
            resolver: row.get(10)?,
            reopened: row.get(11)?,
            messages: row.get(12)?,
            secret: row.get(13)?,
            created_at: instant(row, 14)?,
            updated_at: instant(row, 15)?,
            pratica: row.get(16)?,
        })
    })
}

/// The ticket with this id, if it exists.
pub fn find_ticket(conn: &Connection, id: TicketId) -> rusqlite::Result<Option<TicketRow>> {
    conn.prepare_cached(&format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?1"))?
        .query_row([id], ticket_from_row)
        .optional()
}

/// Every ticket (or only the open ones: `new` and `assigned`), oldest first.
pub fn list_tickets(conn: &Connection, open_only: bool) -> rusqlite::Result<Vec<TicketRow>> {
    let filter = if open_only {
        "WHERE t.status IN ('new', 'assigned')"
    } else {
        ""
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT {TICKET_COLUMNS} FROM tickets t {filter} ORDER BY t.year, t.number"
    ))?;
    let rows = stmt.query_map([], ticket_from_row)?;
    rows.collect()
}

/// The audit trail of a ticket, in order.
pub fn ticket_events(conn: &Connection, id: TicketId) -> rusqlite::Result<Vec<EventRow>> {
    let mut stmt = conn.prepare("SELECT at, actor, action, detail FROM events WHERE ticket_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([id], |r| {
        Ok(EventRow {
            at: instant(r, 0)?,
            actor: r.get(1)?,
            action: r.get(2)?,
            detail: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// The messages of a ticket, in order.
pub fn ticket_messages(conn: &Connection, id: TicketId) -> rusqlite::Result<Vec<MessageRow>> {
    let mut stmt = conn.prepare(
        "SELECT at, direction, from_addr, to_addrs, subject, body_text FROM messages WHERE ticket_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(MessageRow {
            at: instant(r, 0)?,
            direction: r.get(1)?,
            from: r.get(2)?,
            to: r.get(3)?,
            subject: r.get(4)?,
            text: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// The ticket's level changes.
pub fn set_level(conn: &Connection, id: TicketId, level: Level, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE tickets SET level = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, level, ts(now)])?;
    Ok(())
}

/// The requester's stance changes (a reminder, a complaint).
pub fn set_kind(conn: &Connection, id: TicketId, kind: Kind, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE tickets SET kind = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, kind, ts(now)])?;
    Ok(())
}

/// `assignee` holds the ticket now.
pub fn assign(conn: &Connection, id: TicketId, assignee: &str, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE tickets SET status = 'assigned', assignee = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, assignee, ts(now)])?;
    Ok(())
}

/// A closed ticket reopens: `status` and `assignee`, one more reopening, no outcome (and no
/// longer spam: someone it concerns wrote again once the sender's quarantine was over).
pub fn reopen(
    conn: &Connection,
    id: TicketId,
    status: Status,
    assignee: Option<&str>,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE tickets SET status = ?2, assignee = ?3, reopened = reopened + 1, outcome = NULL,
             resolved_at = NULL, spam_at = NULL, updated_at = ?4 WHERE id = ?1",
    )?
    .execute(params![id, status, assignee, ts(now)])?;
    Ok(())
}

/// `resolver` closed the ticket at `at` with `outcome` (`resolved` or `out_of_scope`).
pub fn resolve(
    conn: &Connection,
    id: TicketId,
    resolver: &str,
    outcome: &str,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE tickets SET status = 'resolved', resolver = ?2, outcome = ?3, resolved_at = ?4, updated_at = ?4
         WHERE id = ?1",
    )?
    .execute(params![id, resolver, outcome, ts(at)])?;
    Ok(())
}

/// Who last recorded `action` on `ticket` (the technician who sent the latest invitation).
pub fn latest_actor(conn: &Connection, ticket: TicketId, action: EventAction) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT actor FROM events WHERE ticket_id = ?1 AND action = ?2 ORDER BY id DESC LIMIT 1")?
        .query_row(params![ticket, action], |r| r.get(0))
        .optional()
}

/// The open tickets (`new`, `assigned`) whose requester is `address`, oldest first.
pub fn open_of_requester(conn: &Connection, address: &str) -> rusqlite::Result<Vec<TicketId>> {
    conn.prepare_cached(
        "SELECT id FROM tickets WHERE requester_email = ?1 AND status IN ('new', 'assigned') ORDER BY created_at, id",
    )?
    .query_map([address], |r| naming_row(r, "tickets", 0, |r| r.get(0)))?
    .collect()
}

/// The rowid of the newest ticket (0 when none): what an import created lies above it.
pub fn last_rowid(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT coalesce(max(rowid), 0) FROM tickets")?
        .query_row([], |r| r.get(0))
}

/// Marks the tickets created after rowid `after` as imported history; returns how many.
pub fn mark_imported(conn: &Connection, after: i64, now: DateTime<Utc>) -> rusqlite::Result<usize> {
    conn.prepare_cached("UPDATE tickets SET imported_at = ?2 WHERE rowid > ?1 AND imported_at IS NULL")?
        .execute(params![after, ts(now)])
}

/// Closes the open imported tickets whose last message is older than `before`, as the
/// previous system left them settled (no letter: they are history). Returns how many.
pub fn resolve_imported(conn: &Connection, before: DateTime<Utc>, now: DateTime<Utc>) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "UPDATE tickets SET status = 'resolved', outcome = 'resolved', updated_at = ?2,
                resolved_at = coalesce((SELECT max(m.at) FROM messages m WHERE m.ticket_id = tickets.id), created_at)
         WHERE imported_at IS NOT NULL AND status IN ('new', 'assigned')
           AND coalesce((SELECT max(m.at) FROM messages m WHERE m.ticket_id = tickets.id), created_at) < ?1",
    )?
    .execute(params![ts(before), ts(now)])
}

/// Links `ticket` to the incident's `master`.
pub fn link(conn: &Connection, ticket: TicketId, master: TicketId, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE tickets SET master_id = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![ticket, master, ts(now)])?;
    Ok(())
}

/// The master `ticket` is linked to, if any.
pub fn master_of(conn: &Connection, ticket: TicketId) -> rusqlite::Result<Option<TicketId>> {
    conn.prepare_cached("SELECT master_id FROM tickets WHERE id = ?1 AND master_id IS NOT NULL")?
        .query_row([ticket], |r| naming_row(r, "tickets", 0, |r| r.get(0)))
        .optional()
}

/// The open tickets linked to `master`, oldest first.
pub fn open_followers(conn: &Connection, master: TicketId) -> rusqlite::Result<Vec<TicketId>> {
    conn.prepare_cached(
        "SELECT id FROM tickets WHERE master_id = ?1 AND status IN ('new', 'assigned') ORDER BY created_at, id",
    )?
    .query_map([master], |r| naming_row(r, "tickets", 0, |r| r.get(0)))?
    .collect()
}

/// The operator who last asked `colleague` about `ticket` (`#chiedi`).
pub fn asker(conn: &Connection, ticket: TicketId, colleague: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT actor FROM events WHERE ticket_id = ?1 AND action = 'asked' AND detail = ?2 COLLATE NOCASE
         ORDER BY id DESC LIMIT 1",
    )?
    .query_row(params![ticket, colleague], |r| r.get(0))
    .optional()
}

/// The open tickets `operator` holds, oldest first.
pub fn open_held_by(conn: &Connection, operator: &str) -> rusqlite::Result<Vec<TicketId>> {
    conn.prepare_cached(
        "SELECT id FROM tickets WHERE assignee = ?1 COLLATE NOCASE AND status = 'assigned' ORDER BY created_at, id",
    )?
    .query_map([operator], |r| naming_row(r, "tickets", 0, |r| r.get(0)))?
    .collect()
}

/// Resolved tickets untouched since `cutoff`: the ones to archive.
pub fn idle_resolved(conn: &Connection, cutoff: DateTime<Utc>) -> rusqlite::Result<Vec<TicketId>> {
    conn.prepare_cached("SELECT id FROM tickets WHERE status = 'resolved' AND updated_at < ?1 ORDER BY id")?
        .query_map([ts(cutoff)], |r| naming_row(r, "tickets", 0, |r| r.get(0)))?
        .collect()
}

/// A resolved ticket is archived (a reply still reopens it).
pub fn archive(conn: &Connection, id: TicketId, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE tickets SET status = 'archived', updated_at = ?2 WHERE id = ?1")?
        .execute(params![id, ts(now)])?;
    Ok(())
}

/// An open ticket whose requester can be written to.
#[derive(Debug, Clone)]
pub struct OpenRequester {
    /// The requester's address.
    pub email: String,
    /// Their name.
    pub name: Option<String>,
    /// The ticket.
    pub ticket: TicketId,
    /// Its subject.
    pub subject: String,
}

/// Open tickets with a deliverable requester, by requester then ticket.
pub fn open_requesters(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<Vec<OpenRequester>> {
    conn.prepare_cached(
        "SELECT t.requester_email, t.requester_name, t.id, t.subject FROM tickets t
         WHERE t.status IN ('new', 'assigned') AND t.requester_email IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM participants p WHERE p.ticket_id = t.id
                           AND p.email = t.requester_email AND p.undeliverable = 1
                           AND p.undeliverable_until > ?1)
         ORDER BY t.requester_email, t.year, t.number",
    )?
    .query_map([ts(now)], |r| {
        naming_row(r, "tickets", 2, |r| {
            Ok(OpenRequester {
                email: r.get(0)?,
                name: r.get(1)?,
                ticket: r.get(2)?,
                subject: r.get(3)?,
            })
        })
    })?
    .collect()
}
