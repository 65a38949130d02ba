//! The morning digests' rows: `digest_checkpoint` (the last day whose digests were queued),
//! `digest_lines` (the tickets each digest listed), and the reads a digest needs beyond the
//! open cycles of `store::cycles`: the latest message of each open ticket's conversation and
//! the instants of the recent SLA cycles (yesterday's figures).
//!
//! Owns those statements only: which day is due, what a digest lists and what the figures are
//! is `desk::digest`'s decision; instants and days are arguments. A stored value that does not
//! read back is an error naming its row and column, never a skipped row.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::ts;
use super::types::{instant, naming_row, optional_instant};
use crate::model::TicketId;

/// The last local day whose digests were queued, if any.
pub fn last_sent(conn: &Connection) -> rusqlite::Result<Option<NaiveDate>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT day FROM digest_checkpoint WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    text.map(|t| {
        NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("digest_checkpoint row 1, column day: {t:?}: {e}").into(),
            )
        })
    })
    .transpose()
}

/// Records that the digests of `day` were queued at `at` (inside the caller's transaction, so
/// the mails and the record commit together). False when `day` is not after the last day
/// recorded: the checkpoint never goes back.
pub fn mark_sent(conn: &Connection, day: NaiveDate, at: DateTime<Utc>) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO digest_checkpoint (id, day, at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET day = excluded.day, at = excluded.at
             WHERE excluded.day > digest_checkpoint.day",
        )?
        .execute(params![day.format("%Y-%m-%d").to_string(), ts(at)])?;
    Ok(changed == 1)
}

/// Records the tickets the digest `message_id` lists.
pub fn record_lines(conn: &Connection, message_id: &str, tickets: &[TicketId]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached("INSERT OR IGNORE INTO digest_lines (message_id, ticket_id) VALUES (?1, ?2)")?;
    for ticket in tickets {
        stmt.execute(params![message_id, ticket])?;
    }
    Ok(())
}

/// The tickets the digest `message_id` listed (none for an id we never queued).
pub fn listed(conn: &Connection, message_id: &str) -> rusqlite::Result<Vec<TicketId>> {
    let mut stmt = conn.prepare_cached("SELECT ticket_id FROM digest_lines WHERE message_id = ?1 ORDER BY rowid")?;
    let rows = stmt.query_map([message_id], |r| naming_row(r, "digest_lines", 0, |r| r.get(0)))?;
    rows.collect()
}

/// The latest message people wrote on an open ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastMessage {
    /// An operator's answer to the requester (else the requester's or a participant's mail,
    /// a portal or phone message, an answer to an invitation).
    pub by_desk: bool,
    /// The operator's address, or the author's name, else address.
    pub who: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The latest message of the conversation on each open ticket (`new` or `assigned`): what
/// people wrote — the requester's and participants' mail (never a stranger's flagged one), portal
/// and phone messages, answers to an invitation, and operators' answers (the `answered`
/// events, which name the operator). The help desk's own letters are not part of it.
pub fn last_messages(conn: &Connection) -> rusqlite::Result<HashMap<TicketId, LastMessage>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.id,
                (SELECT at || char(9) || dir || char(9) || who FROM (
                     SELECT m.at AS at, 0 AS dir, coalesce(m.from_name, m.from_addr, '') AS who, m.id AS ord
                     FROM messages m
                     WHERE m.ticket_id = t.id AND m.direction = 'in' AND m.flagged = 0
                       AND m.disposition IN ('person', 'portal', 'phone', 'forward', 'invitation')
                     UNION ALL
                     SELECT e.at, 1, e.actor, e.id FROM events e
                     WHERE e.ticket_id = t.id AND e.action = 'answered'
                 ) ORDER BY at DESC, dir DESC, ord DESC LIMIT 1)
         FROM tickets t WHERE t.status IN ('new', 'assigned')",
    )?;
    let rows = stmt.query_map([], |r| {
        naming_row(r, "tickets", 0, |r| {
            let ticket: TicketId = r.get(0)?;
            let latest: Option<String> = r.get(1)?;
            Ok((ticket, latest))
        })
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (ticket, latest) = row?;
        let Some(latest) = latest else { continue };
        let mut parts = latest.splitn(3, '\t');
        let (Some(at), Some(dir), Some(who)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(conversion(format!("ticket {ticket}: latest message {latest:?}")));
        };
        let at = DateTime::parse_from_rfc3339(at)
            .map_err(|e| conversion(format!("ticket {ticket}: latest message at {at:?}: {e}")))?
            .with_timezone(&Utc);
        out.insert(
            ticket,
            LastMessage {
                by_desk: dir == "1",
                who: who.to_string(),
                at,
            },
        );
    }
    Ok(out)
}

fn conversion(message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, message.into())
}

/// One SLA cycle's instants, as yesterday's figures need them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleInstants {
    /// Received.
    pub received_at: DateTime<Utc>,
    /// Take-in due.
    pub take_in_due: DateTime<Utc>,
    /// When the take-in confirmation left (or the call-back was recorded, or at once for a
    /// reopening that went straight back to its technician).
    pub take_in_done: Option<DateTime<Utc>>,
    /// Resolution due, once taken in.
    pub resolution_due: Option<DateTime<Utc>>,
    /// When the closing mail left.
    pub resolution_done: Option<DateTime<Utc>>,
}

/// The SLA cycles with any instant (received, due, done) at or after `from`, with the instants
/// their clocks actually stopped, counted as the accounting report counts them.
pub fn cycles_touching(conn: &Connection, from: DateTime<Utc>) -> rusqlite::Result<Vec<CycleInstants>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, received_at, take_in_due, take_in_done, resolution_due, resolution_done FROM (
             SELECT c.id, c.received_at, c.take_in_due,
                    coalesce(c.take_in_phone_at,
                             (SELECT sent_at FROM outbox o WHERE o.message_id = c.take_in_message_id),
                             CASE WHEN c.take_in_due = c.received_at THEN c.take_in_at END) AS take_in_done,
                    c.resolution_due,
                    (SELECT sent_at FROM outbox o WHERE o.message_id = c.resolution_message_id) AS resolution_done
             FROM cycles c)
         WHERE received_at >= ?1 OR take_in_due >= ?1 OR take_in_done >= ?1
            OR resolution_due >= ?1 OR resolution_done >= ?1",
    )?;
    let rows = stmt.query_map([ts(from)], |r| {
        naming_row(r, "cycles", 0, |r| {
            Ok(CycleInstants {
                received_at: instant(r, 1)?,
                take_in_due: instant(r, 2)?,
                take_in_done: optional_instant(r, 3)?,
                resolution_due: optional_instant(r, 4)?,
                resolution_done: optional_instant(r, 5)?,
            })
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).expect("day")
    }

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        day(d).and_hms_opt(h, 0, 0).expect("time").and_utc()
    }

    #[test]
    fn the_checkpoint_moves_forward_only() {
        let store = Store::open_in_memory().expect("store");
        let conn = store.conn();
        assert_eq!(last_sent(conn).expect("read"), None);
        assert!(mark_sent(conn, day(1), at(1, 7)).expect("first"));
        assert!(!mark_sent(conn, day(1), at(1, 9)).expect("same day again"));
        assert_eq!(last_sent(conn).expect("read"), Some(day(1)));
        assert!(mark_sent(conn, day(2), at(2, 7)).expect("next day"));
        assert!(!mark_sent(conn, day(1), at(2, 8)).expect("never back"));
        assert_eq!(last_sent(conn).expect("read"), Some(day(2)));
        conn.execute("UPDATE digest_checkpoint SET day = '2 dicembre'", [])
            .expect("corrupt");
        let error = last_sent(conn).expect_err("a day that does not read back");
        assert!(
            error.to_string().contains("digest_checkpoint row 1, column day"),
            "{error}"
        );
    }

    #[test]
    fn the_latest_message_is_what_people_wrote() {
        let store = Store::open_in_memory().expect("store");
        let conn = store.conn();
        conn.execute_batch(
            "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, secret, created_at, updated_at)
             VALUES ('TCK-2026-00001', 2026, 1, 'Firma', 'assigned', 1, 'email', 'problem', 's', '2026-11-30T08:00:00Z', '2026-11-30T08:00:00Z'),
                    ('TCK-2026-00002', 2026, 2, 'SPID', 'new', 1, 'email', 'problem', 's', '2026-11-30T08:00:00Z', '2026-11-30T08:00:00Z'),
                    ('TCK-2026-00003', 2026, 3, 'Vecchia', 'resolved', 1, 'email', 'problem', 's', '2026-11-30T08:00:00Z', '2026-11-30T08:00:00Z');
             INSERT INTO messages (ticket_id, direction, from_addr, from_name, at, disposition, flagged) VALUES
               ('TCK-2026-00001', 'in', 'anna@example.org', 'Anna Ferrari', '2026-11-30T08:00:00Z', 'person', 0),
               ('TCK-2026-00001', 'out', 'assistenza@comune.example.it', NULL, '2026-11-30T08:00:01Z', 'ack', 0),
               ('TCK-2026-00001', 'in', 'giulia@comune.example.it', NULL, '2026-11-30T09:00:00Z', 'operator', 0),
               ('TCK-2026-00001', 'out', 'assistenza@comune.example.it', NULL, '2026-11-30T09:00:00Z', 'answer', 0),
               ('TCK-2026-00002', 'in', 'mario@example.org', NULL, '2026-11-30T10:00:00Z', 'person', 0),
               ('TCK-2026-00002', 'in', 'stranger@example.org', NULL, '2026-11-30T11:00:00Z', 'person', 1),
               ('TCK-2026-00003', 'in', 'anna@example.org', NULL, '2026-11-30T12:00:00Z', 'person', 0);
             INSERT INTO events (ticket_id, at, actor, action) VALUES
               ('TCK-2026-00001', '2026-11-30T09:00:00Z', 'giulia@comune.example.it', 'answered'),
               ('TCK-2026-00002', '2026-11-30T10:30:00Z', 'giulia@comune.example.it', 'note');",
        )
        .expect("rows");
        let last = last_messages(conn).expect("read");
        let t = |n| TicketId { year: 2026, number: n };
        assert_eq!(
            last.get(&t(1)),
            Some(&LastMessage {
                by_desk: true,
                who: "giulia@comune.example.it".into(),
                at: "2026-11-30T09:00:00Z".parse().expect("instant"),
            }),
            "the operator's answer, not the acknowledgment nor the command mail"
        );
        assert_eq!(
            last.get(&t(2)),
            Some(&LastMessage {
                by_desk: false,
                who: "mario@example.org".into(),
                at: "2026-11-30T10:00:00Z".parse().expect("instant"),
            }),
            "a stranger's flagged mail and an internal note are not the conversation"
        );
        assert_eq!(last.get(&t(3)), None, "closed tickets are not read");
    }

    #[test]
    fn the_absences_covering_a_day_are_read_and_a_bad_one_is_named() {
        use crate::store::operators::{absent_on, record_absence};
        let store = Store::open_in_memory().expect("store");
        let conn = store.conn();
        record_absence(conn, "marco@x", day(1), day(4), None).expect("away");
        record_absence(conn, "anna@x", day(1), day(1), Some("marco@x")).expect("away");
        let november = NaiveDate::from_ymd_opt(2026, 11, 30).expect("a day");
        record_absence(conn, "sara@x", november, november, None).expect("away");
        record_absence(conn, "luca@x", day(2), day(3), None).expect("away");
        assert_eq!(
            absent_on(conn, day(1)).expect("read"),
            vec![("anna@x".to_string(), day(1)), ("marco@x".to_string(), day(4))],
            "the last day included; a past absence and one still to come not"
        );
        assert_eq!(absent_on(conn, day(5)).expect("read"), Vec::new());
        conn.execute(
            "UPDATE operator_away SET until = '1/1/2027' WHERE operator = 'sara@x'",
            [],
        )
        .expect("corrupt");
        let error = absent_on(conn, day(1)).expect_err("a day that does not read back");
        assert!(error.to_string().contains("operator_away row \"sara@x\""), "{error}");
    }

    #[test]
    fn the_lines_of_a_digest_are_recorded_and_read_back() {
        let store = Store::open_in_memory().expect("store");
        let conn = store.conn();
        conn.execute_batch(
            "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, secret, created_at, updated_at)
             VALUES ('TCK-2026-00001', 2026, 1, 'Firma', 'new', 1, 'email', 'problem', 's', '2026-11-30T08:00:00Z', '2026-11-30T08:00:00Z'),
                    ('TCK-2026-00002', 2026, 2, 'SPID', 'new', 1, 'email', 'problem', 's', '2026-11-30T08:00:00Z', '2026-11-30T08:00:00Z');",
        )
        .expect("rows");
        let t = |n| TicketId { year: 2026, number: n };
        record_lines(conn, "digest.aa.bb@x", &[t(2), t(1)]).expect("record");
        assert_eq!(listed(conn, "digest.aa.bb@x").expect("read"), vec![t(2), t(1)]);
        assert!(listed(conn, "digest.cc.dd@x").expect("read").is_empty());
    }
}
