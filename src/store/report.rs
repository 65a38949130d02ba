//! The accounting report's reads (the tickets opened, the SLA cycles received, the audit
//! events and the time logged over a span of instants) and `reports_sent`, the record that a
//! period's report was mailed.
//!
//! Reads return every row of the span as stored, typed: which rows belong to the reporting
//! period is the report's decision (`crate::report::gather`). A stored value that does not
//! read back (a channel, a level, a kind, an instant) is an error, never a skipped row: a
//! report that silently leaves tickets out would misstate what the supplier is paid for.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use super::types::naming_row;
use super::{parse_ts, ts};
use crate::model::{Channel, EventAction, Kind, Level};

/// One ticket as the report needs it.
#[derive(Debug, Clone)]
pub struct TicketFacts {
    /// `TCK-…`.
    pub id: String,
    /// Subject.
    pub subject: String,
    /// Channel.
    pub channel: Channel,
    /// Level now.
    pub level: Level,
    /// Problem, reminder or complaint.
    pub kind: Kind,
    /// `resolved`, `out_of_scope`, `spam` (closed with `#spam`) or None while open.
    pub outcome: Option<String>,
    /// Category from the portal form.
    pub category: Option<String>,
    /// Who closed it last.
    pub resolver: Option<String>,
    /// Times reopened.
    pub reopened: u32,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// The incident's master it is linked to (`#collega`), if any.
    pub master: Option<String>,
}

/// One SLA cycle with the instants its clocks actually stopped.
#[derive(Debug, Clone)]
pub struct CycleFacts {
    /// The ticket.
    pub ticket: String,
    /// Channel of the ticket.
    pub channel: Channel,
    /// Level of the cycle (second, once escalated).
    pub level: Level,
    /// Received (the clock's origin before the effective start).
    pub received_at: DateTime<Utc>,
    /// Effective start.
    pub effective_start: DateTime<Utc>,
    /// Take-in due.
    pub take_in_due: DateTime<Utc>,
    /// When TP ended: the take-in confirmation left, or the call-back was recorded (the
    /// instant TR starts).
    pub take_in_done: Option<DateTime<Utc>>,
    /// When the notice of resolution left, or the closing call was recorded.
    pub resolution_done: Option<DateTime<Utc>>,
}

/// One audit event the report counts (assignments, closings, escalations, reopenings).
#[derive(Debug, Clone)]
pub struct EventFacts {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: EventAction,
    /// The operator it concerns: an assignment's assignee, the technician a reopened ticket
    /// went straight back to.
    pub operator: Option<String>,
    /// For a reopening: who made the closing it undid (the latest closing of the ticket
    /// before it), wherever the reopening was routed.
    pub closer: Option<String>,
}

/// Time an operator logged with `#tempo`.
#[derive(Debug, Clone)]
pub struct TimeEntry {
    /// The operator's address.
    pub operator: String,
    /// Minutes.
    pub minutes: i64,
    /// When it was logged.
    pub at: DateTime<Utc>,
}

fn conversion_error(index: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, message.into())
}

fn parse_column<T: std::str::FromStr<Err = String>>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    text.parse().map_err(|e| conversion_error(index, e))
}

fn level_column(row: &Row<'_>, index: usize) -> rusqlite::Result<Level> {
    let number: i64 = row.get(index)?;
    Level::from_number(number).ok_or_else(|| conversion_error(index, format!("level {number}")))
}

fn instant(row: &Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    parse_ts(&row.get::<_, String>(index)?)
}

fn optional_instant(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    row.get::<_, Option<String>>(index)?.map(|t| parse_ts(&t)).transpose()
}

/// The tickets created at or after `from` and before `until`.
pub fn tickets_created(
    conn: &Connection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> rusqlite::Result<Vec<TicketFacts>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, subject, channel, level, kind, CASE WHEN spam_at IS NOT NULL THEN 'spam' ELSE outcome END,
                category, resolver, reopened, created_at, master_id
         FROM tickets WHERE created_at >= ?1 AND created_at < ?2 AND imported_at IS NULL",
    )?;
    let rows = stmt.query_map(params![ts(from), ts(until)], |r| {
        Ok(TicketFacts {
            id: r.get(0)?,
            subject: r.get(1)?,
            channel: parse_column(r, 2)?,
            level: level_column(r, 3)?,
            kind: parse_column(r, 4)?,
            outcome: r.get(5)?,
            category: r.get(6)?,
            resolver: r.get(7)?,
            reopened: r.get(8)?,
            created_at: instant(r, 9)?,
            master: r.get(10)?,
        })
    })?;
    rows.collect()
}

/// The SLA cycles received at or after `from` and before `until`, with the instants their
/// clocks actually stopped: a take-in when its confirmation left (or at the call-back of a
/// phone request without e-mail, or at once for a reopening that went straight back to its
/// technician), a resolution when the closing mail left (or at the closing call recorded for
/// a requester without e-mail). The cycles of a ticket closed as spam are left out: nobody was
/// to take it in or resolve it (issue 15, item 8).
pub fn cycles_received(
    conn: &Connection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> rusqlite::Result<Vec<CycleFacts>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.ticket_id, t.channel, c.level, c.received_at, c.effective_start, c.take_in_due,
                coalesce(c.take_in_phone_at, (SELECT sent_at FROM outbox o WHERE o.message_id = c.take_in_message_id),
                         CASE WHEN c.take_in_due = c.received_at THEN c.take_in_at END),
                coalesce(c.resolution_phone_at,
                         (SELECT sent_at FROM outbox o WHERE o.message_id = c.resolution_message_id))
         FROM cycles c JOIN tickets t ON t.id = c.ticket_id
         WHERE c.received_at >= ?1 AND c.received_at < ?2 AND t.spam_at IS NULL AND t.imported_at IS NULL",
    )?;
    let rows = stmt.query_map(params![ts(from), ts(until)], |r| {
        Ok(CycleFacts {
            ticket: r.get(0)?,
            channel: parse_column(r, 1)?,
            level: level_column(r, 2)?,
            received_at: instant(r, 3)?,
            effective_start: instant(r, 4)?,
            take_in_due: instant(r, 5)?,
            take_in_done: optional_instant(r, 6)?,
            resolution_done: optional_instant(r, 7)?,
        })
    })?;
    rows.collect()
}

/// The events the report counts, at or after `from` and before `until`; a reopening with
/// the actor of the ticket's latest closing before it.
pub fn counted_events(
    conn: &Connection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> rusqlite::Result<Vec<EventFacts>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.at, e.actor, e.action, e.operator, e.id,
                CASE WHEN e.action = 'reopened' THEN
                    (SELECT c.actor FROM events c
                     WHERE c.ticket_id = e.ticket_id AND c.action IN ('resolved', 'out-of-scope') AND c.id < e.id
                     ORDER BY c.id DESC LIMIT 1)
                END
         FROM events e
         WHERE e.at >= ?1 AND e.at < ?2 AND e.action IN ('assigned', 'resolved', 'out-of-scope', 'escalated', 'reopened')",
    )?;
    let rows = stmt.query_map(params![ts(from), ts(until)], |r| {
        naming_row(r, "events", 4, |r| {
            Ok(EventFacts {
                at: instant(r, 0)?,
                actor: r.get(1)?,
                action: r.get(2)?,
                operator: r.get(3)?,
                closer: r.get(5)?,
            })
        })
    })?;
    rows.collect()
}

/// The time logged at or after `from` and before `until`.
pub fn time_logged(conn: &Connection, from: DateTime<Utc>, until: DateTime<Utc>) -> rusqlite::Result<Vec<TimeEntry>> {
    let mut stmt = conn.prepare_cached("SELECT operator, minutes, at FROM time_entries WHERE at >= ?1 AND at < ?2")?;
    let rows = stmt.query_map(params![ts(from), ts(until)], |r| {
        Ok(TimeEntry {
            operator: r.get(0)?,
            minutes: r.get(1)?,
            at: instant(r, 2)?,
        })
    })?;
    rows.collect()
}

/// Records that the report of `period` (a key such as `2026-03-01..2026-03-31`) was mailed at
/// `at`; false when it already was (inside the caller's transaction, so the mail and the
/// record commit together).
pub fn mark_mailed(conn: &Connection, period: &str, at: DateTime<Utc>) -> rusqlite::Result<bool> {
    let inserted = conn
        .prepare_cached("INSERT OR IGNORE INTO reports_sent (period, at) VALUES (?1, ?2)")?
        .execute(params![period, ts(at)])?;
    Ok(inserted == 1)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::store::Store;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0)
            .single()
            .expect("instant")
    }

    #[test]
    fn a_stored_value_that_does_not_read_back_is_an_error_not_a_missing_row() {
        let store = Store::open_in_memory().expect("store");
        let conn = store.conn();
        let insert = |id: &str, channel: &str| {
            conn.execute(
                "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, secret, created_at, updated_at)
                 VALUES (?1, 2026, substr(?1, 10), 'Firma', 'new', 1, ?2, 'problem', 's', ?3, ?3)",
                params![id, channel, ts(at(2, 9))],
            )
        };
        insert("TCK-2026-00001", "email").expect("ticket");
        let read = tickets_created(conn, at(1, 0), at(31, 0)).expect("read");
        assert_eq!(read.len(), 1);
        assert_eq!((read[0].channel, read[0].level), (Channel::Email, Level::First));
        // A row the schema would refuse today (written by another version, or by hand).
        conn.execute_batch("PRAGMA ignore_check_constraints = ON")
            .expect("pragma");
        insert("TCK-2026-00002", "fax").expect("ticket");
        let error = tickets_created(conn, at(1, 0), at(31, 0)).expect_err("an unknown channel");
        assert!(error.to_string().contains("fax"), "{error}");
        conn.execute(
            "UPDATE tickets SET channel = 'email', level = 3 WHERE id = 'TCK-2026-00002'",
            [],
        )
        .expect("update");
        let error = tickets_created(conn, at(1, 0), at(31, 0)).expect_err("an unknown level");
        assert!(error.to_string().contains("level 3"), "{error}");
    }

    /// Issue 20: a reopening carries whoever made the closing it undid, however it was routed
    /// (to the queue: no `operator`); and the closings of requesters without e-mail made before
    /// migration 15 are read as their closing calls.
    #[test]
    fn a_reopening_names_its_closer_and_old_closing_calls_stop_the_resolution_clock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sportello.db");
        {
            let conn = Connection::open(&path).expect("open");
            crate::store::migrate(&conn, 14).expect("up to migration 14");
            conn.execute_batch(
                "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, requester_phone, secret,
                     created_at, updated_at)
                 VALUES ('TCK-2026-00001', 2026, 1, 'Accesso', 'resolved', 1, 'phone', 'problem', '+39 333', 's',
                     '2026-03-24T09:00:00Z', '2026-03-24T10:00:00Z'),
                        ('TCK-2026-00002', 2026, 2, 'Accesso', 'resolved', 1, 'phone', 'problem', '+39 334', 's',
                     '2026-03-24T09:00:00Z', '2026-03-24T10:00:00Z');
                 -- Called back at 09:30, closed at 10:00; closed at once at 10:00 without a call-back.
                 INSERT INTO cycles (ticket_id, number, received_at, effective_start, take_in_due, take_in_at,
                     take_in_phone_at, level, resolution_due, resolved_at)
                 VALUES ('TCK-2026-00001', 1, '2026-03-24T09:00:00Z', '2026-03-24T09:00:00Z', '2026-03-24T10:30:00Z',
                     '2026-03-24T09:30:00Z', '2026-03-24T09:30:00Z', 1, '2026-03-25T07:30:00Z', '2026-03-24T10:00:00Z'),
                        ('TCK-2026-00002', 1, '2026-03-24T09:00:00Z', '2026-03-24T09:00:00Z', '2026-03-24T10:30:00Z',
                     '2026-03-24T10:00:00Z', NULL, 1, '2026-03-25T08:00:00Z', '2026-03-24T10:00:00Z');
                 INSERT INTO events (ticket_id, at, actor, action, detail, operator) VALUES
                     ('TCK-2026-00001', '2026-03-24T10:00:00Z', 'giulia@example.org', 'resolved', 'a', NULL),
                     ('TCK-2026-00001', '2026-03-25T10:00:00Z', 'requester', 'reopened', 'queue', NULL),
                     ('TCK-2026-00001', '2026-03-25T11:00:00Z', 'marco@example.org', 'resolved', 'b', NULL),
                     ('TCK-2026-00001', '2026-03-26T10:00:00Z', 'requester', 'reopened', 'back', 'marco@example.org');",
            )
            .expect("rows of version 14");
        }
        let store = Store::open(&path).expect("upgrade");
        let conn = store.conn();
        let cycles = cycles_received(conn, at(1, 0), at(31, 0)).expect("cycles");
        let facts: Vec<_> = cycles
            .iter()
            .map(|c| (c.ticket.as_str(), c.take_in_done, c.resolution_done))
            .collect();
        assert_eq!(
            facts,
            [
                (
                    "TCK-2026-00001",
                    Some(at(24, 9) + TimeDelta::minutes(30)),
                    Some(at(24, 10))
                ),
                ("TCK-2026-00002", Some(at(24, 10)), Some(at(24, 10))),
            ]
        );
        let reopenings: Vec<_> = counted_events(conn, at(1, 0), at(31, 0))
            .expect("events")
            .into_iter()
            .filter(|e| e.action == EventAction::Reopened)
            .map(|e| (e.operator, e.closer))
            .collect();
        assert_eq!(
            reopenings,
            [
                (None, Some("giulia@example.org".to_string())),
                (
                    Some("marco@example.org".to_string()),
                    Some("marco@example.org".to_string())
                ),
            ]
        );
    }

    #[test]
    fn a_period_is_mailed_once() {
        let store = Store::open_in_memory().expect("store");
        let conn = store.conn();
        assert!(mark_mailed(conn, "2026-03-01..2026-03-31", at(1, 8)).expect("first"));
        assert!(!mark_mailed(conn, "2026-03-01..2026-03-31", at(1, 9)).expect("again"));
        assert!(mark_mailed(conn, "2026-04-01..2026-04-30", at(1, 9)).expect("next"));
    }
}
