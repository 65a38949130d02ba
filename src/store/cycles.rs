//! Rows of `cycles` as the SLA monitor reads and recomputes them (each cycle's received
//! instant, effective start, take-in and resolution due times), and of `sla_alerts`, the
//! once-per-cycle marks of the warnings and breach reports already sent.
//!
//! Owns those statements only: where a clock stands, which alert is due and what the due
//! times should be are the monitor's decisions (`monitor`, over `sla`); timestamps are
//! arguments. Functions take a `&Connection`, so the monitor marks an alert and queues its
//! mail in one transaction. A row whose channel, level, ticket id or instant does not read
//! back is an error naming the row, never a skipped row.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::ts;
use super::types::{instant, naming_row, optional_instant};
use crate::model::{Channel, EventAction, Kind, Level, TicketId};

/// The latest cycle of an open ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenCycle {
    /// The ticket.
    pub ticket: TicketId,
    /// Its subject.
    pub subject: String,
    /// Its channel.
    pub channel: Channel,
    /// Its level.
    pub level: Level,
    /// Its assignee, if any.
    pub assignee: Option<String>,
    /// The requester: name, else address, else phone number.
    pub requester: Option<String>,
    /// The requester's latest stance (a reminder, a complaint).
    pub kind: Kind,
    /// The cycle row.
    pub cycle_id: i64,
    /// When the take-in clock started.
    pub effective_start: DateTime<Utc>,
    /// When take-in is due.
    pub take_in_due: DateTime<Utc>,
    /// When it was taken in, if it was.
    pub take_in_at: Option<DateTime<Utc>>,
    /// When resolution is due, once taken in.
    pub resolution_due: Option<DateTime<Utc>>,
}

/// The latest cycle of every open ticket (`new` or `assigned`), in no particular order.
pub fn open_cycles(conn: &Connection) -> rusqlite::Result<Vec<OpenCycle>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, t.id, t.subject, t.channel, t.level, t.assignee, c.effective_start, c.take_in_due,
                c.take_in_at, c.resolution_due,
                coalesce(t.requester_name, t.requester_email, t.requester_phone), t.kind
         FROM tickets t JOIN cycles c ON c.ticket_id = t.id
         WHERE t.status IN ('new', 'assigned')
           AND c.number = (SELECT max(number) FROM cycles WHERE ticket_id = t.id)",
    )?;
    let rows = stmt.query_map([], |row| {
        naming_row(row, "cycles", 0, |r| {
            Ok(OpenCycle {
                cycle_id: r.get(0)?,
                ticket: r.get(1)?,
                subject: r.get(2)?,
                channel: r.get(3)?,
                level: r.get(4)?,
                assignee: r.get(5)?,
                effective_start: instant(r, 6)?,
                take_in_due: instant(r, 7)?,
                take_in_at: optional_instant(r, 8)?,
                resolution_due: optional_instant(r, 9)?,
                requester: r.get(10)?,
                kind: r.get(11)?,
            })
        })
    })?;
    rows.collect()
}

/// The alerts already sent for the latest cycle of every open ticket: (cycle row, alert).
pub fn alerts_of_open_cycles(conn: &Connection) -> rusqlite::Result<Vec<(i64, EventAction)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.cycle_id, a.kind FROM sla_alerts a
         JOIN cycles c ON c.id = a.cycle_id JOIN tickets t ON t.id = c.ticket_id
         WHERE t.status IN ('new', 'assigned')",
    )?;
    let rows = stmt.query_map([], |row| {
        naming_row(row, "sla_alerts", 0, |r| Ok((r.get(0)?, r.get(1)?)))
    })?;
    rows.collect()
}

/// Marks alert `kind` (`take_in_warning`, `take_in_breach`, `resolution_warning`,
/// `resolution_breach`) of cycle `cycle_id` as sent at `at`. False when it was marked
/// already: that alert is never sent twice.
pub fn mark_alert(conn: &Connection, cycle_id: i64, kind: &str, at: DateTime<Utc>) -> rusqlite::Result<bool> {
    let inserted = conn
        .prepare_cached("INSERT OR IGNORE INTO sla_alerts (cycle_id, kind, at) VALUES (?1, ?2, ?3)")?
        .execute(params![cycle_id, kind, ts(at)])?;
    Ok(inserted == 1)
}

/// A cycle's stored facts and due times, for recomputing the due times.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleTimes {
    /// The cycle row.
    pub id: i64,
    /// Its ticket's channel.
    pub channel: Channel,
    /// Its level.
    pub level: Level,
    /// When its request was received.
    pub received_at: DateTime<Utc>,
    /// When its take-in clock started.
    pub effective_start: DateTime<Utc>,
    /// When take-in is due.
    pub take_in_due: DateTime<Utc>,
    /// When it was taken in, if it was.
    pub take_in_at: Option<DateTime<Utc>>,
    /// When resolution is due, once taken in.
    pub resolution_due: Option<DateTime<Utc>>,
    /// It reopened straight back to its closer (`opened_as`): taken in at the reopening.
    pub reopened_to_closer: bool,
}

/// Every cycle, of every ticket.
pub fn all_cycles(conn: &Connection) -> rusqlite::Result<Vec<CycleTimes>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, t.channel, c.received_at, c.effective_start, c.take_in_due, c.take_in_at, c.level,
                c.resolution_due, c.opened_as = 'reopened-to-closer'
         FROM cycles c JOIN tickets t ON t.id = c.ticket_id",
    )?;
    let rows = stmt.query_map([], |row| {
        naming_row(row, "cycles", 0, |r| {
            Ok(CycleTimes {
                id: r.get(0)?,
                channel: r.get(1)?,
                received_at: instant(r, 2)?,
                effective_start: instant(r, 3)?,
                take_in_due: instant(r, 4)?,
                take_in_at: optional_instant(r, 5)?,
                level: r.get(6)?,
                resolution_due: optional_instant(r, 7)?,
                reopened_to_closer: r.get(8)?,
            })
        })
    })?;
    rows.collect()
}

/// Stores new due times of cycle `id`.
pub fn update_due_times(
    conn: &Connection,
    id: i64,
    effective_start: DateTime<Utc>,
    take_in_due: DateTime<Utc>,
    resolution_due: Option<DateTime<Utc>>,
) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE cycles SET effective_start = ?2, take_in_due = ?3, resolution_due = ?4 WHERE id = ?1")?
        .execute(params![
            id,
            ts(effective_start),
            ts(take_in_due),
            resolution_due.map(ts)
        ])?;
    Ok(())
}

/// The latest cycle of one ticket, as the procedure reads it.
#[derive(Debug, Clone)]
pub struct LatestCycle {
    /// Row id.
    pub id: i64,
    /// 1 for the first opening.
    pub number: u32,
    /// Take-in due.
    pub take_in_due: DateTime<Utc>,
    /// When it was taken in, if it was.
    pub take_in_at: Option<DateTime<Utc>>,
    /// Resolution due, once taken in.
    pub resolution_due: Option<DateTime<Utc>>,
}

/// The latest cycle of `ticket`.
pub fn latest(conn: &Connection, ticket: TicketId) -> rusqlite::Result<Option<LatestCycle>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(
        "SELECT id, number, take_in_due, take_in_at, resolution_due FROM cycles WHERE ticket_id = ?1
         ORDER BY number DESC LIMIT 1",
    )?
    .query_row([ticket], |r| {
        naming_row(r, "cycles", 0, |r| {
            Ok(LatestCycle {
                id: r.get(0)?,
                number: r.get(1)?,
                take_in_due: instant(r, 2)?,
                take_in_at: optional_instant(r, 3)?,
                resolution_due: optional_instant(r, 4)?,
            })
        })
    })
    .optional()
}

/// A cycle to open.
#[derive(Debug, Clone)]
pub struct NewCycle<'a> {
    /// The ticket.
    pub ticket: TicketId,
    /// 1 for a new request.
    pub number: u32,
    /// When the request or reopening arrived.
    pub received_at: DateTime<Utc>,
    /// When the clock starts.
    pub effective_start: DateTime<Utc>,
    /// Take-in due.
    pub take_in_due: DateTime<Utc>,
    /// Taken in already (straight back to the closer).
    pub take_in_at: Option<DateTime<Utc>>,
    /// The level.
    pub level: Level,
    /// Resolution due, when taken in already.
    pub resolution_due: Option<DateTime<Utc>>,
    /// How it opened (`cycles.opened_as`).
    pub opened_as: &'a str,
}

/// Opens a cycle.
pub fn insert(conn: &Connection, cycle: &NewCycle<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO cycles (ticket_id, number, received_at, effective_start, take_in_due, take_in_at,
             level, resolution_due, opened_as)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        cycle.ticket,
        cycle.number,
        ts(cycle.received_at),
        ts(cycle.effective_start),
        ts(cycle.take_in_due),
        cycle.take_in_at.map(ts),
        cycle.level,
        cycle.resolution_due.map(ts),
        cycle.opened_as,
    ])?;
    Ok(())
}

/// The cycle was taken in at `at`, confirmed by our mail `message_id`.
pub fn take_in(
    conn: &Connection,
    cycle_id: i64,
    at: DateTime<Utc>,
    message_id: Option<&str>,
    resolution_due: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE cycles SET take_in_at = ?2, take_in_message_id = ?3, resolution_due = ?4 WHERE id = ?1",
    )?
    .execute(params![cycle_id, ts(at), message_id, ts(resolution_due)])?;
    Ok(())
}

/// A phone request without e-mail was taken in by the call-back at `at`.
pub fn take_in_by_phone(
    conn: &Connection,
    cycle_id: i64,
    at: DateTime<Utc>,
    resolution_due: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE cycles SET take_in_at = ?2, take_in_phone_at = ?2, resolution_due = ?3 WHERE id = ?1")?
        .execute(params![cycle_id, ts(at), ts(resolution_due)])?;
    Ok(())
}

/// The cycle moved to second level, with its new resolution due time.
pub fn escalate(conn: &Connection, cycle_id: i64, resolution_due: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE cycles SET level = 2, resolution_due = ?2 WHERE id = ?1")?
        .execute(params![cycle_id, ts(resolution_due)])?;
    Ok(())
}

/// The cycle was resolved at `at` by our closing mail `message_id`.
pub fn resolve(conn: &Connection, cycle_id: i64, message_id: Option<&str>, at: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE cycles SET resolution_message_id = ?2, resolved_at = ?3 WHERE id = ?1")?
        .execute(params![cycle_id, message_id, ts(at)])?;
    Ok(())
}

/// The cycle of a requester without e-mail was resolved at `at` by the closing call the
/// operator recorded: for them, that call is the notice of resolution.
pub fn resolve_by_phone(conn: &Connection, cycle_id: i64, at: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE cycles SET resolved_at = ?2, resolution_phone_at = ?2 WHERE id = ?1")?
        .execute(params![cycle_id, ts(at)])?;
    Ok(())
}
