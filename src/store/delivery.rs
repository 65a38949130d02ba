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

/// Adds someone addressed by a new request as a participant (once): `copied` when they were
/// in its Cc, and so get the answers and the closing letter too.
pub fn add_copied(conn: &Connection, ticket: TicketId, address: &str, copied: bool) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO participants (ticket_id, email, role, copied) VALUES (?1, ?2, 'cc', ?3)
         ON CONFLICT (ticket_id, email) DO UPDATE SET copied = max(copied, excluded.copied) WHERE role = 'cc'",
    )?
    .execute(params![ticket.to_string(), address, copied])?;
    Ok(())
}

/// Takes someone out of a ticket's copies (`#cc -address`): they get no more letters, and
/// still take part (what they write is added to the ticket). Returns whether they were a copy.
pub fn remove_copied(conn: &Connection, ticket: TicketId, address: &str) -> rusqlite::Result<bool> {
    let removed = conn
        .prepare_cached(
            "UPDATE participants SET copied = 0 WHERE ticket_id = ?1 AND email = ?2 AND role = 'cc' AND copied = 1",
        )?
        .execute(params![ticket.to_string(), address])?;
    Ok(removed > 0)
}

/// One person in copy of a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The address, as stored (lowercase).
    pub address: String,
    /// A believed delivery failure's mark is still in force.
    pub undeliverable: bool,
}

/// Everyone in copy of `ticket` (its requester's Cc and `#cc`, not its requester), in address
/// order, with whether a delivery failure's mark still holds at `now`.
pub fn copies(conn: &Connection, ticket: TicketId, now: DateTime<Utc>) -> rusqlite::Result<Vec<Copied>> {
    conn.prepare_cached(
        "SELECT email, undeliverable = 1 AND COALESCE(undeliverable_until > ?2, 0)
         FROM participants WHERE ticket_id = ?1 AND role = 'cc' AND copied = 1 ORDER BY email",
    )?
    .query_map(params![ticket.to_string(), ts(now)], |r| {
        Ok(Copied {
            address: r.get(0)?,
            undeliverable: r.get(1)?,
        })
    })?
    .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::store::{MIGRATIONS, Store, migrate};

    const TICKET: TicketId = TicketId { year: 2026, number: 1 };

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, 9, 0, 0).single().expect("instant")
    }

    fn addresses(conn: &Connection, now: DateTime<Utc>) -> Vec<(String, bool)> {
        copies(conn, TICKET, now)
            .expect("copies")
            .into_iter()
            .map(|c| (c.address, c.undeliverable))
            .collect()
    }

    fn with_ticket(conn: &Connection) {
        conn.execute_batch(
            "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, requester_email,
                 secret, created_at, updated_at)
             VALUES ('TCK-2026-00001', 2026, 1, 'Firma', 'new', 1, 'email', 'problem', 'mario@example.org',
                 's', '2026-12-01T09:00:00Z', '2026-12-01T09:00:00Z');
             INSERT INTO participants (ticket_id, email, role) VALUES ('TCK-2026-00001', 'mario@example.org', 'requester');",
        )
        .expect("ticket");
    }

    #[test]
    fn the_cc_of_a_request_and_cc_additions_are_copies_the_other_to_recipients_are_not() {
        let store = Store::open_in_memory().expect("store");
        let conn = store.conn();
        with_ticket(conn);
        add_copied(conn, TICKET, "alias@comune.example.it", false).expect("to");
        add_copied(conn, TICKET, "anna@example.org", true).expect("cc");
        add_copied(conn, TICKET, "mario@example.org", true).expect("the requester stays the requester");
        assert_eq!(addresses(conn, at(1)), [("anna@example.org".to_string(), false)]);
        assert!(is_participant(conn, TICKET, "alias@comune.example.it").expect("participant"));
        // `#cc` on a To recipient makes them a copy; `#cc -` takes a copy out, once.
        add_copied(conn, TICKET, "alias@comune.example.it", true).expect("#cc");
        assert_eq!(addresses(conn, at(1)).len(), 2);
        assert!(remove_copied(conn, TICKET, "alias@comune.example.it").expect("remove"));
        assert!(!remove_copied(conn, TICKET, "alias@comune.example.it").expect("again"));
        assert!(!remove_copied(conn, TICKET, "mario@example.org").expect("never the requester"));
        assert!(
            is_participant(conn, TICKET, "alias@comune.example.it").expect("participant"),
            "still takes part"
        );
        // A bounce's mark shows while it holds.
        mark_undeliverable(conn, "anna@example.org", at(1), at(10)).expect("mark");
        assert_eq!(addresses(conn, at(2)), [("anna@example.org".to_string(), true)]);
        assert_eq!(addresses(conn, at(11)), [("anna@example.org".to_string(), false)]);
    }

    #[test]
    fn tickets_opened_before_the_upgrade_get_their_copies_from_the_stored_cc() {
        let conn = Connection::open_in_memory().expect("db");
        let conn = &conn;
        let before = MIGRATIONS
            .iter()
            .position(|(name, _)| *name == "0018_spam")
            .expect("0018_spam");
        migrate(conn, before).expect("the schema before issue 15");
        with_ticket(conn);
        conn.execute_batch(
            "INSERT INTO raw_messages (sha256, size, bytes) VALUES ('r', 1, x'00');
             INSERT INTO messages (ticket_id, direction, dedup_key, to_addrs, cc_addrs, subject, body_text, raw_sha256,
                 at, source, disposition)
             VALUES ('TCK-2026-00001', 'in', 'k', 'assistenza@comune.example.it,alias@comune.example.it',
                 'anna@example.org,luisa@example.org', 'Firma', 'testo', 'r', '2026-12-01T09:00:00Z', 'test', 'person');
             INSERT INTO participants (ticket_id, email, role) VALUES
                 ('TCK-2026-00001', 'alias@comune.example.it', 'cc'),
                 ('TCK-2026-00001', 'anna@example.org', 'cc'),
                 ('TCK-2026-00001', 'luisa@example.org', 'cc');",
        )
        .expect("rows of version 14");
        migrate(conn, MIGRATIONS.len()).expect("upgrade");
        let copied: Vec<String> = addresses(conn, at(1)).into_iter().map(|(a, _)| a).collect();
        assert_eq!(copied, ["anna@example.org", "luisa@example.org"]);
    }
}
