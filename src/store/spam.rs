//! Tickets closed as spam (`tickets.spam_at`) and the senders whose mail is quarantined for a
//! while after it (`spam_senders`).
//!
//! Owns those statements only: who may be marked and for how long is decided in
//! `desk::cmd::spam`; intake asks [`sender_mark`] before a person's mail reaches a ticket.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{parse_ts, ts};
use crate::model::TicketId;

/// `by` closed the ticket as spam at `at`: resolved, no outcome, no letter; the accounting
/// counts it apart and leaves it out of the SLA figures.
pub fn close_ticket(conn: &Connection, id: TicketId, by: &str, at: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE tickets SET status = 'resolved', resolver = ?2, outcome = NULL, spam_at = ?3,
             resolved_at = ?3, updated_at = ?3 WHERE id = ?1",
    )?
    .execute(params![id, by, ts(at)])?;
    Ok(())
}

/// Mail from `address` (lowercase) is quarantined as spam until `until`; a later mark replaces
/// an earlier one.
pub fn mark_sender(
    conn: &Connection,
    address: &str,
    until: DateTime<Utc>,
    ticket: Option<TicketId>,
    by: &str,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO spam_senders (address, until, ticket_id, marked_by, marked_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (address) DO UPDATE SET until = excluded.until, ticket_id = excluded.ticket_id,
             marked_by = excluded.marked_by, marked_at = excluded.marked_at",
    )?
    .execute(params![address, ts(until), ticket.map(|t| t.to_string()), by, ts(at)])?;
    Ok(())
}

/// A sender's mark still in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpamMark {
    /// Until when their mail is quarantined.
    pub until: DateTime<Utc>,
    /// The ticket closed as spam.
    pub ticket: Option<TicketId>,
}

/// The mark of `address` (lowercase) when it is still in force at `now`.
pub fn sender_mark(conn: &Connection, address: &str, now: DateTime<Utc>) -> rusqlite::Result<Option<SpamMark>> {
    let row: Option<(String, Option<TicketId>)> = conn
        .prepare_cached("SELECT until, ticket_id FROM spam_senders WHERE address = ?1 AND until > ?2")?
        .query_row(params![address, ts(now)], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(until, ticket)| {
        Ok(SpamMark {
            until: parse_ts(&until)?,
            ticket,
        })
    })
    .transpose()
}

/// The mark of `address` (lowercase), in force or not: until when, and when it was made.
pub fn mark_of(conn: &Connection, address: &str) -> rusqlite::Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT until, marked_at FROM spam_senders WHERE address = ?1")?
        .query_row([address], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(until, at)| Ok((parse_ts(&until)?, parse_ts(&at)?)))
        .transpose()
}

/// Forgets the mark of `address` (lowercase): their address goes (an erasure), and with it the
/// quarantine of their mail. True when there was one.
pub fn forget_sender(conn: &Connection, address: &str) -> rusqlite::Result<bool> {
    let deleted = conn
        .prepare_cached("DELETE FROM spam_senders WHERE address = ?1")?
        .execute([address])?;
    Ok(deleted > 0)
}

/// Deletes the marks that ended before `before` (they quarantine nothing any more, and name
/// their sender); returns how many.
pub fn drop_expired(conn: &Connection, before: DateTime<Utc>) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM spam_senders WHERE until < ?1")?
        .execute([ts(before)])
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::store::Store;

    #[test]
    fn a_mark_holds_until_its_day_and_a_later_one_replaces_it() {
        let store = Store::open_in_memory().expect("store");
        let conn = store.conn();
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("instant");
        let until = at + chrono::TimeDelta::days(30);
        mark_sender(conn, "spam@example.net", until, None, "giulia@comune.example.it", at).expect("mark");
        let mark = sender_mark(conn, "spam@example.net", at).expect("read");
        assert_eq!(mark, Some(SpamMark { until, ticket: None }));
        assert_eq!(sender_mark(conn, "other@example.net", at).expect("read"), None);
        assert_eq!(
            sender_mark(conn, "spam@example.net", until).expect("read"),
            None,
            "over at its instant"
        );
        let later = until + chrono::TimeDelta::days(10);
        mark_sender(conn, "spam@example.net", later, None, "marco@comune.example.it", until).expect("again");
        assert_eq!(
            sender_mark(conn, "spam@example.net", until)
                .expect("read")
                .map(|m| m.until),
            Some(later)
        );
    }

    /// Issue 17: an ended mark is dropped by retention, any mark by an erasure.
    #[test]
    fn ended_marks_and_erased_senders_are_forgotten() {
        let store = Store::open_in_memory().expect("store");
        let conn = store.conn();
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("instant");
        let until = at + chrono::TimeDelta::days(30);
        mark_sender(conn, "a@example.net", until, None, "giulia@comune.example.it", at).expect("mark");
        mark_sender(
            conn,
            "b@example.net",
            until + chrono::TimeDelta::days(1),
            None,
            "giulia@comune.example.it",
            at,
        )
        .expect("mark");
        assert_eq!(mark_of(conn, "a@example.net").expect("read"), Some((until, at)));
        assert_eq!(drop_expired(conn, until).expect("drop"), 0, "not before its end");
        assert_eq!(
            drop_expired(conn, until + chrono::TimeDelta::seconds(1)).expect("drop"),
            1
        );
        assert_eq!(mark_of(conn, "a@example.net").expect("read"), None);
        assert!(forget_sender(conn, "b@example.net").expect("forget"));
        assert!(!forget_sender(conn, "b@example.net").expect("forget"));
        assert_eq!(mark_of(conn, "b@example.net").expect("read"), None);
    }
}
