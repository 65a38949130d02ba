//! Rows of `votes`: the satisfaction vote of one SLA cycle closed by a closing letter, and
//! the reads of the vote's page and of the report's satisfaction section.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::ts;
use super::types::{instant, naming_row, optional_instant};
use crate::model::{Channel, Level, TicketId};

/// The cycle a vote on a ticket is about: its latest, closed by a closing letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedCycle {
    /// The cycle's row.
    pub cycle_id: i64,
    /// When it was resolved (the closing letter was queued then).
    pub resolved_at: DateTime<Utc>,
    /// Who resolved it.
    pub technician: Option<String>,
}

/// The subquery naming the technician who resolved cycle `c`.
const RESOLVER: &str = "(SELECT e.actor FROM events e WHERE e.ticket_id = c.ticket_id AND e.action = 'resolved'
                         AND e.at <= c.resolved_at ORDER BY e.at DESC, e.id DESC LIMIT 1)";

/// The latest cycle of `ticket`, when a closing letter ended it (None while it is open, or
/// when it was closed otherwise, as outside the service).
pub fn closed_cycle(conn: &Connection, ticket: TicketId) -> rusqlite::Result<Option<ClosedCycle>> {
    conn.prepare_cached(&format!(
        "SELECT c.id, c.resolved_at, {RESOLVER} FROM cycles c
         WHERE c.ticket_id = ?1 AND c.resolved_at IS NOT NULL
           AND c.number = (SELECT max(number) FROM cycles WHERE ticket_id = ?1)
           AND EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = c.resolution_message_id AND o.purpose = 'closing')"
    ))?
    .query_row([ticket], |r| {
        naming_row(r, "cycles", 0, |r| {
            Ok(ClosedCycle {
                cycle_id: r.get(0)?,
                resolved_at: instant(r, 1)?,
                technician: r.get(2)?,
            })
        })
    })
    .optional()
}

/// A recorded vote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    /// 1 positive, 2 neutral, 3 negative.
    pub score: u8,
    /// The comment (may be empty).
    pub comment: String,
    /// `web` or `mail`.
    pub via: String,
    /// First cast.
    pub at: DateTime<Utc>,
    /// Last changed.
    pub changed_at: Option<DateTime<Utc>>,
}

/// The vote of cycle `cycle_id`, if any.
pub fn vote_of(conn: &Connection, cycle_id: i64) -> rusqlite::Result<Option<Vote>> {
    conn.prepare_cached("SELECT score, comment, via, at, changed_at, cycle_id FROM votes WHERE cycle_id = ?1")?
        .query_row([cycle_id], |r| {
            naming_row(r, "votes", 5, |r| {
                Ok(Vote {
                    score: r.get(0)?,
                    comment: r.get(1)?,
                    via: r.get(2)?,
                    at: instant(r, 3)?,
                    changed_at: optional_instant(r, 4)?,
                })
            })
        })
        .optional()
}

/// Records (or changes) the vote of cycle `cycle_id` of `ticket`. True when it is a change.
pub fn record(
    conn: &Connection,
    cycle_id: i64,
    ticket: TicketId,
    score: u8,
    comment: &str,
    via: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let changed = vote_of(conn, cycle_id)?.is_some();
    conn.prepare_cached(
        "INSERT INTO votes (cycle_id, ticket_id, score, comment, via, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (cycle_id) DO UPDATE SET score = excluded.score, comment = excluded.comment,
                                              via = excluded.via, changed_at = excluded.at",
    )?
    .execute(params![cycle_id, ticket, score, comment, via, ts(now)])?;
    Ok(changed)
}

/// One cycle closed by a closing letter, with its vote, as the report counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosingFacts {
    /// The ticket.
    pub ticket: String,
    /// Its channel.
    pub channel: Channel,
    /// The cycle's level.
    pub level: Level,
    /// Who resolved it.
    pub technician: Option<String>,
    /// When it was resolved.
    pub resolved_at: DateTime<Utc>,
    /// The vote's score, if one was cast.
    pub score: Option<u8>,
    /// The vote's comment ("" when none).
    pub comment: String,
    /// The requester's name (what the comment's redaction removes), while it is stored.
    pub requester_name: Option<String>,
}

/// The cycles resolved at or after `from` and before `until` by a closing letter that left
/// (one refused for good, or still queued, offered nobody the vote; and anonymising drops the
/// mail never sent, so a count of it would change), with votes.
pub fn closings_between(
    conn: &Connection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> rusqlite::Result<Vec<ClosingFacts>> {
    conn.prepare_cached(&format!(
        "SELECT c.ticket_id, t.channel, c.level, {RESOLVER}, c.resolved_at, v.score, coalesce(v.comment, ''),
                t.requester_name, c.id
         FROM cycles c JOIN tickets t ON t.id = c.ticket_id LEFT JOIN votes v ON v.cycle_id = c.id
         WHERE c.resolved_at >= ?1 AND c.resolved_at < ?2
           AND EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = c.resolution_message_id AND o.purpose = 'closing'
                                                AND o.sent_at IS NOT NULL)
         ORDER BY c.resolved_at, c.id"
    ))?
    .query_map(params![ts(from), ts(until)], |r| {
        naming_row(r, "cycles", 8, |r| {
            Ok(ClosingFacts {
                ticket: r.get(0)?,
                channel: r.get(1)?,
                level: r.get(2)?,
                technician: r.get(3)?,
                resolved_at: instant(r, 4)?,
                score: r.get(5)?,
                comment: r.get(6)?,
                requester_name: r.get(7)?,
            })
        })
    })?
    .collect()
}

/// A vote as the export shows it: (ticket, score, comment, cast at).
pub type PersonVote = (String, u8, String, DateTime<Utc>);

/// The votes on the tickets `address` opened.
pub fn votes_of(conn: &Connection, address: &str) -> rusqlite::Result<Vec<PersonVote>> {
    conn.prepare_cached(
        "SELECT v.ticket_id, v.score, v.comment, v.at, v.cycle_id FROM votes v JOIN tickets t ON t.id = v.ticket_id
         WHERE lower(t.requester_email) = ?1 ORDER BY v.at, v.cycle_id",
    )?
    .query_map([address.to_ascii_lowercase()], |r| {
        naming_row(r, "votes", 4, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, instant(r, 3)?)))
    })?
    .collect()
}
