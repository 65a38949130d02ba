//! The rows of the GDPR lifecycle (issue 17): which archived tickets are due for the deletion
//! of their raw mail or for anonymising, whose data a ticket holds, one person's tickets and
//! everything that concerns them (the export), and the rewriting itself.
//!
//! Nothing here decides what a text becomes: the caller passes a [`Scrub`] (the redaction
//! `desk::privacy` builds on the knowledge base's). What stays is what the accounting reads:
//! ids, channels, levels, kinds, categories, outcomes, every SLA instant, the operators
//! (`events.operator`, `resolver`, `assignee`, `time_entries`), the outbox rows' `sent_at`.
//! Files under `attachments/` are not deleted here: the caller deletes the contents this
//! returns after its transaction commits (a rolled-back transaction must not lose a file its
//! rows still name), through [`delete_files`].

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::ts;
use super::types::{instant, naming_row, optional_instant};
use crate::model::{Status, TicketId};

/// How a text and an address are rewritten.
pub struct Scrub<'a> {
    /// A text with the person's data replaced.
    pub text: &'a dyn Fn(&str) -> String,
    /// The ticket's subject and a vote's comment, redacted as the report redacts them.
    pub subject: &'a dyn Fn(&str) -> String,
    /// Whether an address is one of the person's (it goes).
    pub is_person: &'a dyn Fn(&str) -> bool,
}

/// What an anonymised actor of the audit trail becomes.
pub const ANONYMOUS_ACTOR: &str = "anonimo";

/// The archived tickets whose last archiving happened before `before`, and whose raw mail
/// (`column` = `raw_purged_at`) or personal data (`anonymised_at`) is still there; at most
/// `limit`, oldest number first.
fn archived_before(
    conn: &Connection,
    column: &str,
    before: DateTime<Utc>,
    limit: u32,
) -> rusqlite::Result<Vec<TicketId>> {
    conn.prepare_cached(&format!(
        "SELECT t.id FROM tickets t
         WHERE t.status = 'archived' AND t.{column} IS NULL
           AND (SELECT max(e.at) FROM events e WHERE e.ticket_id = t.id AND e.action = 'archived') < ?1
         ORDER BY t.year, t.number LIMIT ?2"
    ))?
    .query_map(params![ts(before), limit], |r| r.get(0))?
    .collect()
}

/// Archived tickets due for the deletion of their raw mail and files.
pub fn due_for_raw_purge(conn: &Connection, before: DateTime<Utc>, limit: u32) -> rusqlite::Result<Vec<TicketId>> {
    archived_before(conn, "raw_purged_at", before, limit)
}

/// Archived tickets due for anonymising.
pub fn due_for_anonymising(conn: &Connection, before: DateTime<Utc>, limit: u32) -> rusqlite::Result<Vec<TicketId>> {
    archived_before(conn, "anonymised_at", before, limit)
}

/// Whose data a ticket holds: the requester and the people copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The requester's and the participants' addresses, lowercased.
    pub addresses: Vec<String>,
    /// Their names: the requester's, and the display names they wrote under.
    pub names: Vec<String>,
    /// The requester's phone number, as stored.
    pub phones: Vec<String>,
}

/// The people of `ticket` (its requester, its participants and the names they wrote under).
pub fn identity(conn: &Connection, ticket: TicketId) -> rusqlite::Result<Identity> {
    let mut identity = Identity::default();
    let row: Option<(Option<String>, Option<String>, Option<String>)> = conn
        .prepare_cached("SELECT requester_email, requester_name, requester_phone FROM tickets WHERE id = ?1")?
        .query_row([ticket], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((email, name, phone)) = row else {
        return Ok(identity);
    };
    identity.addresses.extend(email.map(|e| e.to_ascii_lowercase()));
    identity.names.extend(name.filter(|n| !n.trim().is_empty()));
    identity.phones.extend(phone.filter(|p| !p.trim().is_empty()));
    let participants: Vec<String> = conn
        .prepare_cached("SELECT email FROM participants WHERE ticket_id = ?1 ORDER BY email")?
        .query_map([ticket], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for address in participants {
        let address = address.to_ascii_lowercase();
        if !identity.addresses.contains(&address) {
            identity.addresses.push(address);
        }
    }
    let names: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT DISTINCT lower(from_addr), from_name FROM messages
             WHERE ticket_id = ?1 AND direction = 'in' AND from_addr IS NOT NULL AND from_name IS NOT NULL AND from_name <> ''",
        )?
        .query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (address, name) in names {
        if identity.addresses.contains(&address) && !identity.names.contains(&name) {
            identity.names.push(name);
        }
    }
    Ok(identity)
}

/// How a person is found on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// They opened it.
    Requester,
    /// They were copied (a participant).
    Copied,
    /// They wrote on it without being one of its people (stored flagged).
    UnverifiedSender,
}

impl Role {
    /// The word of the export.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Requester => "requester",
            Role::Copied => "cc",
            Role::UnverifiedSender => "unverified-sender",
        }
    }
}

/// A ticket that concerns a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonTicket {
    /// The ticket.
    pub ticket: TicketId,
    /// How they are on it (the strongest: requester, then copied, then unverified sender).
    pub role: Role,
    /// The ticket's state.
    pub status: Status,
}

/// Every ticket that concerns `address` (case-insensitive), by number.
pub fn tickets_of(conn: &Connection, address: &str) -> rusqlite::Result<Vec<PersonTicket>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.id, t.status,
                CASE WHEN lower(t.requester_email) = ?1 THEN 0
                     WHEN EXISTS (SELECT 1 FROM participants p WHERE p.ticket_id = t.id AND lower(p.email) = ?1) THEN 1
                     ELSE 2 END
         FROM tickets t
         WHERE lower(t.requester_email) = ?1
            OR EXISTS (SELECT 1 FROM participants p WHERE p.ticket_id = t.id AND lower(p.email) = ?1)
            OR EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND lower(m.from_addr) = ?1)
         ORDER BY t.year, t.number",
    )?;
    let rows = stmt.query_map([address.to_ascii_lowercase()], |r| {
        naming_row(r, "tickets", 0, |r| {
            let role = match r.get::<_, i64>(2)? {
                0 => Role::Requester,
                1 => Role::Copied,
                _ => Role::UnverifiedSender,
            };
            Ok(PersonTicket {
                ticket: r.get(0)?,
                status: r.get(1)?,
                role,
            })
        })
    })?;
    rows.collect()
}

/// The raw mail of `ticket`'s messages and the contents of its attachments go (the text, the
/// file names and the sizes stay); so do the stored bytes of its outgoing mail already sent,
/// or given up (`given_up`: the next attempt of mail the server refused for good).
/// Returns the attachment contents no row names any more (to delete after the commit).
pub fn purge_raw(
    conn: &Connection,
    ticket: TicketId,
    given_up: DateTime<Utc>,
    now: DateTime<Utc>,
) -> rusqlite::Result<Vec<String>> {
    let raws: Vec<String> = conn
        .prepare_cached("SELECT DISTINCT raw_sha256 FROM messages WHERE ticket_id = ?1 AND raw_sha256 IS NOT NULL")?
        .query_map([ticket], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    conn.prepare_cached("UPDATE messages SET raw_sha256 = NULL WHERE ticket_id = ?1 AND raw_sha256 IS NOT NULL")?
        .execute([ticket])?;
    drop_unreferenced_raw(conn, &raws)?;
    let files: Vec<String> = conn
        .prepare_cached(
            "SELECT DISTINCT a.sha256 FROM attachments a JOIN messages m ON m.id = a.message
             WHERE m.ticket_id = ?1 AND a.sha256 IS NOT NULL",
        )?
        .query_map([ticket], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    conn.prepare_cached(
        "UPDATE attachments SET sha256 = NULL, note = 'deleted after the retention period'
         WHERE sha256 IS NOT NULL AND message IN (SELECT id FROM messages WHERE ticket_id = ?1)",
    )?
    .execute([ticket])?;
    conn.prepare_cached(
        "UPDATE outbox SET raw = x'', draft = NULL
         WHERE ticket_id = ?1 AND (sent_at IS NOT NULL OR next_attempt_at = ?2)",
    )?
    .execute(params![ticket, ts(given_up)])?;
    conn.prepare_cached("UPDATE tickets SET raw_purged_at = ?2 WHERE id = ?1")?
        .execute(params![ticket, ts(now)])?;
    unreferenced_files(conn, files)
}

/// Outgoing mail about no ticket (the morning digests, notices and answers to operators,
/// alarms, the monthly reports) that was sent, or given up (`given_up`: its next attempt is
/// never), and was queued before `before` loses its stored bytes (`raw`, `draft`); the row
/// stays — its Message-ID, purpose, recipients and times, which bounces and the accounting
/// read. At most `limit`, oldest first; returns how many.
pub fn purge_ticketless_mail(
    conn: &Connection,
    before: DateTime<Utc>,
    given_up: DateTime<Utc>,
    limit: u32,
) -> rusqlite::Result<usize> {
    // The terms of the partial index `outbox_ticketless_bytes`, so only the rows still
    // holding bytes are read; a row sent before `before` was queued before it too.
    conn.prepare_cached(
        "UPDATE outbox SET raw = x'', draft = NULL WHERE id IN (
             SELECT id FROM outbox
             WHERE ticket_id IS NULL AND (raw <> x'' OR draft IS NOT NULL) AND created_at < ?1
               AND (sent_at < ?1 OR (sent_at IS NULL AND next_attempt_at = ?2))
             ORDER BY created_at LIMIT ?3)",
    )?
    .execute(params![ts(before), ts(given_up), limit])
}

/// What [`purge_loose_raw`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoosePurge {
    /// Quarantine rows that lost their raw mail.
    pub quarantined: usize,
    /// Messages of no ticket that lost their raw mail (and files).
    pub messages: usize,
    /// Attachment contents no row names any more, to delete after the commit.
    pub files: Vec<String>,
}

/// The raw mail of quarantined messages, and of incoming mail that reached no ticket (noise,
/// bounces, receipts, spam, operators' mail about no ticket), received before `before`: it
/// goes with the messages' files; the rows stay (when, where from, why; the text). At most
/// `limit` of each, oldest first.
pub fn purge_loose_raw(conn: &Connection, before: DateTime<Utc>, limit: u32) -> rusqlite::Result<LoosePurge> {
    let quarantined: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT id, raw_sha256 FROM quarantine WHERE raw_sha256 IS NOT NULL AND at < ?1 ORDER BY at LIMIT ?2",
        )?
        .query_map(params![ts(before), limit], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut unlink = conn.prepare_cached("UPDATE quarantine SET raw_sha256 = NULL WHERE id = ?1")?;
    for (id, _) in &quarantined {
        unlink.execute([id])?;
    }
    let messages: Vec<(i64, String)> = conn
        .prepare_cached(
            // The partial index holds only the ticketless rows still naming raw mail: the
            // planner, without statistics, would rather walk every ticketless message.
            "SELECT id, raw_sha256 FROM messages INDEXED BY messages_loose_raw
             WHERE ticket_id IS NULL AND raw_sha256 IS NOT NULL AND at < ?1
             ORDER BY at LIMIT ?2",
        )?
        .query_map(params![ts(before), limit], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut unlink = conn.prepare_cached("UPDATE messages SET raw_sha256 = NULL WHERE id = ?1")?;
    let mut files_of =
        conn.prepare_cached("SELECT sha256 FROM attachments WHERE message = ?1 AND sha256 IS NOT NULL")?;
    let mut drop_files = conn.prepare_cached(
        "UPDATE attachments SET sha256 = NULL, note = 'deleted after the retention period'
         WHERE message = ?1 AND sha256 IS NOT NULL",
    )?;
    let mut files = Vec::new();
    for (id, _) in &messages {
        unlink.execute([id])?;
        for sha in files_of.query_map([id], |r| r.get::<_, String>(0))? {
            files.push(sha?);
        }
        drop_files.execute([id])?;
    }
    let shas: Vec<String> = quarantined
        .iter()
        .chain(messages.iter())
        .map(|(_, sha)| sha.clone())
        .collect();
    drop_unreferenced_raw(conn, &shas)?;
    Ok(LoosePurge {
        quarantined: quarantined.len(),
        messages: messages.len(),
        files: unreferenced_files(conn, files)?,
    })
}

/// Deletes the raw messages among `shas` that no message and no quarantine row names.
fn drop_unreferenced_raw(conn: &Connection, shas: &[String]) -> rusqlite::Result<()> {
    let mut delete = conn.prepare_cached(
        "DELETE FROM raw_messages WHERE sha256 = ?1
           AND NOT EXISTS (SELECT 1 FROM messages WHERE raw_sha256 = ?1)
           AND NOT EXISTS (SELECT 1 FROM quarantine WHERE raw_sha256 = ?1)",
    )?;
    for sha in shas {
        delete.execute([sha])?;
    }
    Ok(())
}

/// The contents among `shas` that no attachment row names any more.
fn unreferenced_files(conn: &Connection, shas: Vec<String>) -> rusqlite::Result<Vec<String>> {
    let mut named = conn.prepare_cached("SELECT count(*) FROM attachments WHERE sha256 = ?1")?;
    let mut out = Vec::new();
    for sha in shas {
        let count: i64 = named.query_row([&sha], |r| r.get(0))?;
        if count == 0 {
            out.push(sha);
        }
    }
    Ok(out)
}

/// A comma-separated address list without the person's addresses.
fn without_person(list: &str, scrub: &Scrub<'_>) -> String {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty() && !(scrub.is_person)(a))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rewrites one message row: the person's addresses out of its lists, the sender's name and
/// address gone when they are the person's, the subject and text scrubbed. With `raw`, its
/// raw mail goes too.
fn scrub_messages(conn: &Connection, ids: &[i64], scrub: &Scrub<'_>) -> rusqlite::Result<()> {
    let mut read = conn.prepare_cached(
        "SELECT from_addr, from_name, to_addrs, cc_addrs, subject, body_text FROM messages WHERE id = ?1",
    )?;
    let mut write = conn.prepare_cached(
        "UPDATE messages SET from_addr = ?2, from_name = ?3, to_addrs = ?4, cc_addrs = ?5, subject = ?6, body_text = ?7
         WHERE id = ?1",
    )?;
    for id in ids {
        let (from, name, to, cc, subject, body): (Option<String>, Option<String>, String, String, String, String) =
            read.query_row([id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })?;
        let person = from.as_deref().is_some_and(|f| (scrub.is_person)(f));
        let (from, name) = if person {
            (None, None)
        } else {
            (from, name.map(|n| (scrub.text)(&n)))
        };
        write.execute(params![
            id,
            from,
            name,
            without_person(&to, scrub),
            without_person(&cc, scrub),
            (scrub.text)(&subject),
            (scrub.text)(&body)
        ])?;
    }
    Ok(())
}

/// Rewrites the audit trail of `ticket`: a person as actor becomes [`ANONYMOUS_ACTOR`], every
/// detail is scrubbed. When, what and the operator concerned stay.
fn scrub_events(conn: &Connection, ticket: TicketId, scrub: &Scrub<'_>) -> rusqlite::Result<()> {
    let rows: Vec<(i64, String, String)> = conn
        .prepare_cached("SELECT id, actor, detail FROM events WHERE ticket_id = ?1")?
        .query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut write = conn.prepare_cached("UPDATE events SET actor = ?2, detail = ?3 WHERE id = ?1")?;
    for (id, actor, detail) in rows {
        let actor = if (scrub.is_person)(&actor) {
            ANONYMOUS_ACTOR.to_string()
        } else {
            actor
        };
        let scrubbed = (scrub.text)(&detail);
        write.execute(params![id, actor, scrubbed])?;
    }
    Ok(())
}

/// Anonymises `ticket` in place: its raw mail and files go ([`purge_raw`]); its requester's
/// address, name, phone and practice number, its participants, the person's addresses in
/// every message and outgoing mail, the names of its files, and every text (subject, messages,
/// events, the vote's comment) are scrubbed; the status link gets `new_secret`, so the old one
/// shows nothing. Outgoing mail not sent yet is dropped: nobody is left to send it to.
/// Returns the attachment contents no row names any more.
pub fn anonymise(
    conn: &Connection,
    ticket: TicketId,
    scrub: &Scrub<'_>,
    file_name: &dyn Fn(&str) -> String,
    new_secret: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Vec<String>> {
    // Unsent mail is deleted below whatever its state: no mail is given up here.
    let files = purge_raw(conn, ticket, DateTime::<Utc>::MAX_UTC, now)?;
    let subject: String = conn
        .prepare_cached("SELECT subject FROM tickets WHERE id = ?1")?
        .query_row([ticket], |r| r.get(0))?;
    conn.prepare_cached(
        "UPDATE tickets SET requester_email = NULL, requester_name = NULL, requester_phone = NULL, pratica = NULL,
                subject = ?2, secret = ?3, anonymised_at = ?4
         WHERE id = ?1",
    )?
    .execute(params![ticket, (scrub.subject)(&subject), new_secret, ts(now)])?;
    conn.prepare_cached("DELETE FROM participants WHERE ticket_id = ?1")?
        .execute([ticket])?;
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT id FROM messages WHERE ticket_id = ?1")?
        .query_map([ticket], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    scrub_messages(conn, &ids, scrub)?;
    let names: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT a.id, a.filename FROM attachments a JOIN messages m ON m.id = a.message WHERE m.ticket_id = ?1",
        )?
        .query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut rename = conn.prepare_cached("UPDATE attachments SET filename = ?2 WHERE id = ?1")?;
    for (id, name) in names {
        rename.execute(params![id, file_name(&name)])?;
    }
    scrub_events(conn, ticket, scrub)?;
    scrub_outbox(conn, Some(ticket), scrub)?;
    conn.prepare_cached("DELETE FROM outbox WHERE ticket_id = ?1 AND sent_at IS NULL")?
        .execute([ticket])?;
    scrub_votes(conn, ticket, scrub.subject)?;
    Ok(files)
}

/// Rewrites the comment of every vote on `ticket` (one per cycle: a reopened ticket may have
/// several) with `text`.
fn scrub_votes(conn: &Connection, ticket: TicketId, text: &dyn Fn(&str) -> String) -> rusqlite::Result<()> {
    let comments: Vec<(i64, String)> = conn
        .prepare_cached("SELECT cycle_id, comment FROM votes WHERE ticket_id = ?1 AND comment <> ''")?
        .query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut write = conn.prepare_cached("UPDATE votes SET comment = ?2 WHERE cycle_id = ?1")?;
    for (cycle, comment) in comments {
        let scrubbed = text(&comment);
        if scrubbed != comment {
            write.execute(params![cycle, scrubbed])?;
        }
    }
    Ok(())
}

/// The person's addresses leave the recipients of the outgoing mail of `ticket` (every row
/// when None that names them), with the stored bytes of the rows that named them.
fn scrub_outbox(conn: &Connection, ticket: Option<TicketId>, scrub: &Scrub<'_>) -> rusqlite::Result<()> {
    let rows: Vec<(i64, String)> = match ticket {
        Some(t) => conn
            .prepare_cached("SELECT id, recipients FROM outbox WHERE ticket_id = ?1")?
            .query_map([t], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?,
        None => conn
            .prepare_cached("SELECT id, recipients FROM outbox")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?,
    };
    let mut write = conn.prepare_cached("UPDATE outbox SET recipients = ?2, raw = x'', draft = NULL WHERE id = ?1")?;
    for (id, recipients) in rows {
        let kept = without_person(&recipients, scrub);
        if ticket.is_some() || kept != recipients.split(',').map(str::trim).collect::<Vec<_>>().join(", ") {
            write.execute(params![id, kept])?;
        }
    }
    Ok(())
}

/// A person copied on someone else's ticket, or writing on it unverified, leaves it: their
/// participant row goes; their address, name and phone leave every message, event and
/// outgoing mail of the ticket (`scrub.text` replaces only theirs, so the requester's own data
/// stays); the messages they sent are redacted whole (`own`) and lose their files; the raw
/// mail of every message that named them goes.
pub fn leave_ticket(
    conn: &Connection,
    ticket: TicketId,
    scrub: &Scrub<'_>,
    own: &dyn Fn(&str) -> String,
) -> rusqlite::Result<Vec<String>> {
    let mut remove = conn.prepare_cached("DELETE FROM participants WHERE ticket_id = ?1 AND email = ?2")?;
    let participants: Vec<String> = conn
        .prepare_cached("SELECT email FROM participants WHERE ticket_id = ?1")?
        .query_map([ticket], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for address in participants.iter().filter(|a| (scrub.is_person)(a)) {
        remove.execute(params![ticket, address])?;
    }
    type Row = (i64, Option<String>, String, String, String, String, Option<String>);
    let rows: Vec<Row> = conn
        .prepare_cached(
            "SELECT id, from_addr, to_addrs, cc_addrs, subject, body_text, raw_sha256 FROM messages WHERE ticket_id = ?1",
        )?
        .query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let named = |list: &str| list.split(',').map(str::trim).any(|a| (scrub.is_person)(a));
    let mut touched = Vec::new();
    let mut sent_by_them = Vec::new();
    let mut raws = Vec::new();
    for (id, from, to, cc, subject, body, raw) in rows {
        let theirs = from.as_deref().is_some_and(|f| (scrub.is_person)(f));
        if theirs {
            sent_by_them.push(id);
        }
        if theirs || named(&to) || named(&cc) || (scrub.text)(&subject) != subject || (scrub.text)(&body) != body {
            touched.push(id);
            raws.extend(raw);
        }
    }
    let own_scrub = Scrub {
        text: own,
        subject: own,
        is_person: scrub.is_person,
    };
    scrub_messages(conn, &sent_by_them, &own_scrub)?;
    scrub_messages(conn, &touched, scrub)?;
    let mut unlink = conn.prepare_cached("UPDATE messages SET raw_sha256 = NULL WHERE id = ?1")?;
    for id in &touched {
        unlink.execute([id])?;
    }
    drop_unreferenced_raw(conn, &raws)?;
    let mut files = Vec::new();
    for id in &sent_by_them {
        let shas: Vec<String> = conn
            .prepare_cached("SELECT sha256 FROM attachments WHERE message = ?1 AND sha256 IS NOT NULL")?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        conn.prepare_cached(
            "UPDATE attachments SET sha256 = NULL, filename = 'allegato', note = 'deleted on request' WHERE message = ?1",
        )?
        .execute([id])?;
        files.extend(shas);
    }
    let subject: String = conn
        .prepare_cached("SELECT subject FROM tickets WHERE id = ?1")?
        .query_row([ticket], |r| r.get(0))?;
    conn.prepare_cached("UPDATE tickets SET subject = ?2 WHERE id = ?1")?
        .execute(params![ticket, (scrub.text)(&subject)])?;
    scrub_events(conn, ticket, scrub)?;
    scrub_votes(conn, ticket, scrub.text)?;
    scrub_outbox_naming(conn, ticket, scrub)?;
    // What left already (notices quoting their words, letters copying them) is not needed
    // any more: its stored bytes go.
    conn.prepare_cached("UPDATE outbox SET raw = x'', draft = NULL WHERE ticket_id = ?1 AND sent_at IS NOT NULL")?
        .execute([ticket])?;
    unreferenced_files(conn, files)
}

/// The outgoing mail about no ticket (digests, answers to operators) that names the person:
/// sent, its stored bytes go; still queued, it leaves with their data replaced (a composed one
/// is dropped, since its bytes cannot be rewritten safely).
pub fn scrub_ticketless_mail(conn: &Connection, scrub: &Scrub<'_>) -> rusqlite::Result<usize> {
    let rows: Vec<(i64, Option<String>, Vec<u8>, bool)> = conn
        .prepare_cached("SELECT id, draft, raw, sent_at IS NOT NULL FROM outbox WHERE ticket_id IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut changed = 0;
    for (id, draft, raw, sent) in rows {
        let raw_text = String::from_utf8_lossy(&raw);
        let in_draft = draft.as_deref().is_some_and(|d| (scrub.text)(d) != d);
        let in_raw = !raw.is_empty() && (scrub.text)(&raw_text) != raw_text;
        if !in_draft && !in_raw {
            continue;
        }
        changed += 1;
        match (sent, draft) {
            (true, _) => conn
                .prepare_cached("UPDATE outbox SET raw = x'', draft = NULL WHERE id = ?1")?
                .execute([id])?,
            (false, Some(draft)) if !in_raw => conn
                .prepare_cached("UPDATE outbox SET draft = ?2 WHERE id = ?1")?
                .execute(params![id, (scrub.text)(&draft)])?,
            (false, _) => conn.prepare_cached("DELETE FROM outbox WHERE id = ?1")?.execute([id])?,
        };
    }
    Ok(changed)
}

/// The outgoing mail of `ticket` that was addressed to the person loses their address and its
/// stored bytes (unsent mail only to them is dropped).
fn scrub_outbox_naming(conn: &Connection, ticket: TicketId, scrub: &Scrub<'_>) -> rusqlite::Result<()> {
    let rows: Vec<(i64, String, bool)> = conn
        .prepare_cached("SELECT id, recipients, sent_at IS NOT NULL FROM outbox WHERE ticket_id = ?1")?
        .query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, recipients, sent) in rows {
        if !recipients.split(',').map(str::trim).any(|a| (scrub.is_person)(a)) {
            continue;
        }
        let kept = without_person(&recipients, scrub);
        if !sent && kept.is_empty() {
            conn.prepare_cached("DELETE FROM outbox WHERE id = ?1")?.execute([id])?;
        } else {
            conn.prepare_cached("UPDATE outbox SET recipients = ?2, raw = x'', draft = NULL WHERE id = ?1")?
                .execute(params![id, kept])?;
        }
    }
    Ok(())
}

/// What [`forget_loose`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LooseForgotten {
    /// Quarantine rows deleted.
    pub quarantined: usize,
    /// Messages of no ticket whose sender and text went.
    pub messages: usize,
    /// Attachment contents no row names any more (when `personal_data_days` is the shorter
    /// period, the files are still there), to delete after the commit.
    pub files: Vec<String>,
}

/// After `personal_data_days`: quarantine rows from before `before` are deleted (with their
/// raw mail, if still kept), and incoming messages of no ticket lose their sender, recipients,
/// subject and text, their attachments' names too (their raw mail went at `raw_mail_days`, and
/// goes now if it is still there). At most `limit` of each, oldest first.
pub fn forget_loose(conn: &Connection, before: DateTime<Utc>, limit: u32) -> rusqlite::Result<LooseForgotten> {
    let quarantined: Vec<i64> = conn
        .prepare_cached("SELECT id FROM quarantine INDEXED BY quarantine_at WHERE at < ?1 ORDER BY at LIMIT ?2")?
        .query_map(params![ts(before), limit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    drop_quarantined(conn, &quarantined)?;
    let messages: Vec<(i64, Option<String>)> = conn
        .prepare_cached(
            "SELECT id, raw_sha256 FROM messages INDEXED BY messages_loose_named
             WHERE ticket_id IS NULL AND from_addr IS NOT NULL AND at < ?1 ORDER BY at LIMIT ?2",
        )?
        .query_map(params![ts(before), limit], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut forget = conn.prepare_cached(
        "UPDATE messages SET from_addr = NULL, from_name = NULL, to_addrs = '', cc_addrs = '', subject = '',
                             body_text = '', raw_sha256 = NULL
         WHERE id = ?1",
    )?;
    let mut files_of =
        conn.prepare_cached("SELECT sha256 FROM attachments WHERE message = ?1 AND sha256 IS NOT NULL")?;
    let mut files = Vec::new();
    let mut rename = conn.prepare_cached(
        "UPDATE attachments SET filename = 'allegato', sha256 = NULL,
                                note = coalesce(note, 'deleted after the retention period')
         WHERE message = ?1",
    )?;
    for (id, _) in &messages {
        forget.execute([id])?;
        for sha in files_of.query_map([id], |r| r.get::<_, String>(0))? {
            files.push(sha?);
        }
        rename.execute([id])?;
    }
    let raws: Vec<String> = messages.iter().filter_map(|(_, raw)| raw.clone()).collect();
    drop_unreferenced_raw(conn, &raws)?;
    files.sort();
    files.dedup();
    Ok(LooseForgotten {
        quarantined: quarantined.len(),
        messages: messages.len(),
        files: unreferenced_files(conn, files)?,
    })
}

/// The person's messages that opened no ticket (noise, bounces, quarantined replies): their
/// address, name and raw mail go, their text is scrubbed. Returns how many.
pub fn scrub_loose_messages(conn: &Connection, scrub: &Scrub<'_>, address: &str) -> rusqlite::Result<usize> {
    let rows: Vec<(i64, Option<String>)> = conn
        .prepare_cached("SELECT id, raw_sha256 FROM messages WHERE ticket_id IS NULL AND lower(from_addr) = ?1")?
        .query_map([address.to_ascii_lowercase()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    scrub_messages(conn, &ids, scrub)?;
    let mut unlink = conn.prepare_cached("UPDATE messages SET raw_sha256 = NULL WHERE id = ?1")?;
    for id in &ids {
        unlink.execute([id])?;
    }
    let raws: Vec<String> = rows.into_iter().filter_map(|(_, raw)| raw).collect();
    drop_unreferenced_raw(conn, &raws)?;
    scrub_outbox(conn, None, scrub)?;
    Ok(ids.len())
}

/// The audit events about no ticket (quarantines, spam marks, retention and privacy runs)
/// that name the person: their details scrubbed, the person as actor becomes
/// [`ANONYMOUS_ACTOR`]. Returns how many changed.
pub fn scrub_ticketless_events(conn: &Connection, scrub: &Scrub<'_>) -> rusqlite::Result<usize> {
    let rows: Vec<(i64, String, String)> = conn
        .prepare_cached("SELECT id, actor, detail FROM events WHERE ticket_id IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut write = conn.prepare_cached("UPDATE events SET actor = ?2, detail = ?3 WHERE id = ?1")?;
    let mut changed = 0;
    for (id, actor, detail) in rows {
        let new_actor = if (scrub.is_person)(&actor) {
            ANONYMOUS_ACTOR.to_string()
        } else {
            actor.clone()
        };
        let new_detail = (scrub.text)(&detail);
        if new_actor != actor || new_detail != detail {
            write.execute(params![id, new_actor, new_detail])?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// The audit events of no ticket from before `before` not scrubbed yet (after the last one a
/// pass scrubbed, in id order): their detail through `scrub.text`, a person as actor becomes
/// [`ANONYMOUS_ACTOR`]. At most `limit`; returns how many were read (each is read once).
pub fn scrub_old_ticketless_events(
    conn: &Connection,
    scrub: &Scrub<'_>,
    before: DateTime<Utc>,
    limit: u32,
) -> rusqlite::Result<usize> {
    let after: i64 = conn
        .prepare_cached("SELECT last_id FROM retention_progress WHERE kind = 'ticketless_events'")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let rows: Vec<(i64, String, String)> = conn
        .prepare_cached(
            "SELECT id, actor, detail FROM events WHERE ticket_id IS NULL AND id > ?1 AND at < ?2
             ORDER BY id LIMIT ?3",
        )?
        .query_map(params![after, ts(before), limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut write = conn.prepare_cached("UPDATE events SET actor = ?2, detail = ?3 WHERE id = ?1")?;
    for (id, actor, detail) in &rows {
        let new_actor = if (scrub.is_person)(actor) {
            ANONYMOUS_ACTOR.to_string()
        } else {
            actor.clone()
        };
        let new_detail = (scrub.text)(detail);
        if &new_actor != actor || &new_detail != detail {
            write.execute(params![id, new_actor, new_detail])?;
        }
    }
    if let Some((last, _, _)) = rows.last() {
        conn.prepare_cached(
            "INSERT INTO retention_progress (kind, last_id) VALUES ('ticketless_events', ?1)
             ON CONFLICT (kind) DO UPDATE SET last_id = excluded.last_id",
        )?
        .execute([last])?;
    }
    Ok(rows.len())
}

/// One quarantined message, with its raw mail while it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The row.
    pub id: i64,
    /// When it was quarantined.
    pub at: DateTime<Utc>,
    /// Where it came from (a mailbox and its position, a file).
    pub source: String,
    /// Why it was quarantined.
    pub error: String,
    /// Its raw mail's content name, if kept.
    pub raw_sha256: Option<String>,
    /// Its raw mail, if kept.
    pub bytes: Option<Vec<u8>>,
}

/// Hands `visit` every quarantined message, oldest first, one at a time (the erasure and the
/// export look for a person's in all of them: which are theirs is the caller's decision).
pub fn for_each_quarantined(conn: &Connection, mut visit: impl FnMut(Quarantined)) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT q.id, q.at, q.source, q.error, q.raw_sha256, r.bytes
         FROM quarantine q LEFT JOIN raw_messages r ON r.sha256 = q.raw_sha256 ORDER BY q.at, q.id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        visit(naming_row(row, "quarantine", 0, |r| {
            Ok(Quarantined {
                id: r.get(0)?,
                at: instant(r, 1)?,
                source: r.get(2)?,
                error: r.get(3)?,
                raw_sha256: r.get(4)?,
                bytes: r.get(5)?,
            })
        })?);
    }
    Ok(())
}

/// Deletes the quarantine rows `ids`, and their raw mail where nothing else names it.
pub fn drop_quarantined(conn: &Connection, ids: &[i64]) -> rusqlite::Result<()> {
    let mut read = conn.prepare_cached("SELECT raw_sha256 FROM quarantine WHERE id = ?1")?;
    let mut delete = conn.prepare_cached("DELETE FROM quarantine WHERE id = ?1")?;
    let mut shas = Vec::new();
    for id in ids {
        if let Some(sha) = read
            .query_row([id], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten()
        {
            shas.push(sha);
        }
        delete.execute([id])?;
    }
    drop_unreferenced_raw(conn, &shas)
}

/// How many of the person's messages opened no ticket.
pub fn loose_messages(conn: &Connection, address: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached("SELECT count(*) FROM messages WHERE ticket_id IS NULL AND lower(from_addr) = ?1")?
        .query_row([address.to_ascii_lowercase()], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as usize)
}

/// The display names `address` wrote under, anywhere.
pub fn names_of(conn: &Connection, address: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT DISTINCT from_name FROM messages WHERE lower(from_addr) = ?1 AND from_name IS NOT NULL AND from_name <> ''
         ORDER BY from_name",
    )?
    .query_map([address.to_ascii_lowercase()], |r| r.get(0))?
    .collect()
}

/// Notes contents to delete from the disk at the next housekeeping pass.
pub fn defer_deletion(conn: &Connection, shas: &[String]) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached("INSERT OR IGNORE INTO files_to_delete (sha256) VALUES (?1)")?;
    for sha in shas {
        insert.execute([sha])?;
    }
    Ok(())
}

/// Takes the contents noted by [`defer_deletion`] that no attachment names (any still named
/// stay on the disk and leave the list).
pub fn take_deferred(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let shas: Vec<String> = conn
        .prepare_cached("SELECT sha256 FROM files_to_delete ORDER BY sha256")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    conn.prepare_cached("DELETE FROM files_to_delete")?.execute([])?;
    unreferenced_files(conn, shas)
}

/// Copies the write-ahead log into the database and empties it, so the page images written
/// before an erasure do not outlive it in the log (waits for readers; run after the commit).
pub fn truncate_log(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
}

/// Deletes the attachment contents `shas` under `data_dir` (after the commit that stopped
/// naming them); a content already gone is no error. Returns how many files went.
pub fn delete_files(data_dir: &Path, shas: &[String]) -> anyhow::Result<usize> {
    let mut deleted = 0;
    for sha in shas {
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            anyhow::bail!("{sha:?} is not an attachment's content name");
        }
        let path = data_dir.join("attachments").join(&sha[..2]).join(sha);
        match std::fs::remove_file(&path) {
            Ok(()) => deleted += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(anyhow::Error::from(e).context(format!("deleting {}", path.display()))),
        }
    }
    Ok(deleted)
}

/// The requesters' names of the tickets created at or after `from` and before `until` (the
/// report's redaction of their subjects removes them).
pub fn requester_names_created(
    conn: &Connection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> rusqlite::Result<std::collections::BTreeMap<String, String>> {
    conn.prepare_cached(
        "SELECT id, requester_name FROM tickets WHERE created_at >= ?1 AND created_at < ?2 AND requester_name IS NOT NULL",
    )?
    .query_map(params![ts(from), ts(until)], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

// ---------------------------------------------------------------------------------------------
// The export
// ---------------------------------------------------------------------------------------------

/// One ticket as the export shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportTicket {
    /// `TCK-…`.
    pub id: TicketId,
    /// Subject.
    pub subject: String,
    /// State.
    pub status: String,
    /// Channel.
    pub channel: String,
    /// Level.
    pub level: i64,
    /// The requester's address, name and phone, as stored.
    pub requester: (Option<String>, Option<String>, Option<String>),
    /// The practice number.
    pub pratica: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// The participants (address, role).
    pub participants: Vec<(String, String)>,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Resolved, if it is.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// One message of the export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportMessage {
    /// The row.
    pub id: i64,
    /// `in` or `out`.
    pub direction: String,
    /// Sender.
    pub from: Option<String>,
    /// Sender's name.
    pub from_name: Option<String>,
    /// Recipients.
    pub to: String,
    /// Copied.
    pub cc: String,
    /// Subject.
    pub subject: String,
    /// Text.
    pub text: String,
    /// Received or queued.
    pub at: DateTime<Utc>,
    /// Whether it was stored flagged (an unverified sender).
    pub flagged: bool,
    /// Its raw mail's content name, if kept.
    pub raw_sha256: Option<String>,
}

/// One attachment of the export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportFile {
    /// The row.
    pub id: i64,
    /// The message it came with.
    pub message: i64,
    /// Name.
    pub filename: String,
    /// Type.
    pub content_type: String,
    /// Size.
    pub size: i64,
    /// Content name, if kept.
    pub sha256: Option<String>,
}

/// One audit event of the export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Detail.
    pub detail: String,
}

/// The stored facts of `ticket` for the export.
pub fn export_ticket(conn: &Connection, ticket: TicketId) -> rusqlite::Result<ExportTicket> {
    let participants: Vec<(String, String)> = conn
        .prepare_cached("SELECT email, role FROM participants WHERE ticket_id = ?1 ORDER BY role DESC, email")?
        .query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    conn.prepare_cached(
        "SELECT id, subject, status, channel, level, requester_email, requester_name, requester_phone, pratica,
                category, created_at, resolved_at
         FROM tickets WHERE id = ?1",
    )?
    .query_row([ticket], |r| {
        naming_row(r, "tickets", 0, |r| {
            Ok(ExportTicket {
                id: r.get(0)?,
                subject: r.get(1)?,
                status: r.get(2)?,
                channel: r.get(3)?,
                level: r.get(4)?,
                requester: (r.get(5)?, r.get(6)?, r.get(7)?),
                pratica: r.get(8)?,
                category: r.get(9)?,
                participants,
                created_at: instant(r, 10)?,
                resolved_at: optional_instant(r, 11)?,
            })
        })
    })
}

/// The messages of `ticket` the person may see (operator notices and internal mail aside),
/// oldest first.
pub fn export_messages(conn: &Connection, ticket: TicketId) -> rusqlite::Result<Vec<ExportMessage>> {
    conn.prepare_cached(
        "SELECT id, direction, from_addr, from_name, to_addrs, cc_addrs, subject, body_text, at, flagged, raw_sha256
         FROM messages WHERE ticket_id = ?1 AND disposition NOT IN ('notify', 'operator_reply', 'operator')
         ORDER BY at, id",
    )?
    .query_map([ticket], export_message)?
    .collect()
}

/// A message row selected as the two exports select it (id, direction, from, name, to, cc,
/// subject, text, at, flagged, raw mail).
fn export_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExportMessage> {
    naming_row(r, "messages", 0, |r| {
        Ok(ExportMessage {
            id: r.get(0)?,
            direction: r.get(1)?,
            from: r.get(2)?,
            from_name: r.get(3)?,
            to: r.get(4)?,
            cc: r.get(5)?,
            subject: r.get(6)?,
            text: r.get(7)?,
            at: instant(r, 8)?,
            flagged: r.get(9)?,
            raw_sha256: r.get(10)?,
        })
    })
}

/// The messages `address` sent that reached no ticket (noise, bounces, mail quarantined as
/// spam), oldest first.
pub fn export_loose_messages(conn: &Connection, address: &str) -> rusqlite::Result<Vec<ExportMessage>> {
    conn.prepare_cached(
        "SELECT id, direction, from_addr, from_name, to_addrs, cc_addrs, subject, body_text, at, flagged, raw_sha256
         FROM messages WHERE ticket_id IS NULL AND lower(from_addr) = ?1
         ORDER BY at, id",
    )?
    .query_map([address.to_ascii_lowercase()], export_message)?
    .collect()
}

/// The attachments of the messages `ids`.
pub fn export_files(conn: &Connection, ids: &[i64]) -> rusqlite::Result<Vec<ExportFile>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, message, filename, content_type, size, sha256 FROM attachments WHERE message = ?1 ORDER BY id",
    )?;
    let mut out = Vec::new();
    for id in ids {
        let rows = stmt.query_map([id], |r| {
            Ok(ExportFile {
                id: r.get(0)?,
                message: r.get(1)?,
                filename: r.get(2)?,
                content_type: r.get(3)?,
                size: r.get(4)?,
                sha256: r.get(5)?,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// The audit trail of `ticket`, oldest first.
pub fn export_events(conn: &Connection, ticket: TicketId) -> rusqlite::Result<Vec<ExportEvent>> {
    conn.prepare_cached("SELECT at, actor, action, detail, id FROM events WHERE ticket_id = ?1 ORDER BY at, id")?
        .query_map([ticket], |r| {
            naming_row(r, "events", 4, |r| {
                Ok(ExportEvent {
                    at: instant(r, 0)?,
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    detail: r.get(3)?,
                })
            })
        })?
        .collect()
}

/// The raw mail stored under `sha256`, if it is still there.
pub fn raw_message(conn: &Connection, sha256: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT bytes FROM raw_messages WHERE sha256 = ?1")?
        .query_row([sha256], |r| r.get(0))
        .optional()
}

/// The ids of the knowledge-base entries whose title, problem or solution contains one of
/// `needles` (case-insensitive).
pub fn kb_entries_naming(conn: &Connection, needles: &[String]) -> rusqlite::Result<Vec<(i64, Option<String>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, ticket_id FROM kb_entries
         WHERE instr(lower(title), ?1) > 0 OR instr(lower(problem), ?1) > 0 OR instr(lower(solution), ?1) > 0",
    )?;
    let mut out: Vec<(i64, Option<String>)> = Vec::new();
    for needle in needles.iter().filter(|n| !n.trim().is_empty()) {
        for row in stmt.query_map([needle.to_lowercase()], |r| Ok((r.get(0)?, r.get(1)?)))? {
            let row = row?;
            if !out.contains(&row) {
                out.push(row);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::store::{Store, survey};

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).single().expect("instant")
    }

    const NEVER: &str = "9999-12-31T23:59:59Z";

    fn never() -> DateTime<Utc> {
        parse_ts_of(NEVER)
    }

    fn parse_ts_of(text: &str) -> DateTime<Utc> {
        crate::store::parse_ts(text).expect("instant")
    }

    /// An outgoing row: its ticket, when queued, when sent, its next attempt.
    fn queued(
        conn: &Connection,
        id: &str,
        ticket: Option<&str>,
        created: DateTime<Utc>,
        sent: Option<DateTime<Utc>>,
        next: &str,
    ) {
        conn.execute(
            "INSERT INTO outbox (ticket_id, message_id, purpose, recipients, raw, draft, created_at, next_attempt_at, sent_at)
             VALUES (?1, ?2, 'digest', 'giulia@comune.example.it', x'4d61726961', '{\"body\": \"Maria Rossi\"}', ?3, ?4, ?5)",
            params![ticket, id, ts(created), next, sent.map(ts)],
        )
        .expect("outbox row");
    }

    fn kept_bytes(conn: &Connection, id: &str) -> bool {
        conn.query_row(
            "SELECT raw <> x'' OR draft IS NOT NULL FROM outbox WHERE message_id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("row stays")
    }

    #[test]
    fn old_mail_about_no_ticket_loses_its_bytes_once_sent_or_given_up() {
        let store = Store::open_in_memory().expect("store");
        let conn = store.conn();
        conn.execute(
            "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, secret, created_at, updated_at)
             VALUES ('TCK-2026-00001', 2026, 1, 'Firma', 'resolved', 1, 'email', 'problem', 's', ?1, ?1)",
            [ts(at(2025, 1, 1))],
        )
        .expect("ticket");
        let old = at(2025, 1, 10);
        let later = old + TimeDelta::minutes(5);
        queued(conn, "sent-old", None, old, Some(later), &ts(later));
        queued(conn, "refused-old", None, old, None, NEVER);
        queued(conn, "retrying-old", None, old, None, &ts(at(2026, 3, 2)));
        queued(
            conn,
            "sent-recent",
            None,
            at(2026, 2, 20),
            Some(at(2026, 2, 20)),
            &ts(at(2026, 2, 20)),
        );
        queued(conn, "ticket-old", Some("TCK-2026-00001"), old, Some(later), &ts(later));
        let before = at(2026, 3, 1) - TimeDelta::days(365);
        assert_eq!(
            purge_ticketless_mail(conn, before, never(), 1).expect("purge"),
            1,
            "bounded"
        );
        assert_eq!(purge_ticketless_mail(conn, before, never(), 10).expect("purge"), 1);
        assert_eq!(
            purge_ticketless_mail(conn, before, never(), 10).expect("purge"),
            0,
            "done"
        );
        for (id, kept) in [
            ("sent-old", false),
            ("refused-old", false),
            ("retrying-old", true),
            ("sent-recent", true),
            ("ticket-old", true),
        ] {
            assert_eq!(kept_bytes(conn, id), kept, "{id}");
        }
        // The ticket's own mail goes with its raw mail, given-up mail included.
        queued(conn, "ticket-refused", Some("TCK-2026-00001"), old, None, NEVER);
        queued(
            conn,
            "ticket-retrying",
            Some("TCK-2026-00001"),
            old,
            None,
            &ts(at(2026, 3, 2)),
        );
        let ticket: TicketId = "TCK-2026-00001".parse().expect("id");
        purge_raw(conn, ticket, never(), at(2026, 3, 1)).expect("purge");
        for (id, kept) in [
            ("ticket-old", false),
            ("ticket-refused", false),
            ("ticket-retrying", true),
        ] {
            assert_eq!(kept_bytes(conn, id), kept, "{id}");
        }
    }

    #[test]
    fn old_quarantined_and_ticketless_raw_mail_goes_what_a_ticket_names_stays() {
        let store = Store::open_in_memory().expect("store");
        let conn = store.conn();
        let insert_raw = |sha: &str| crate::store::messages::insert_raw(conn, sha, b"From: x").expect("raw");
        for sha in ["q-old", "q-new", "m-old", "shared"] {
            insert_raw(sha);
        }
        let old = at(2025, 1, 10);
        for (sha, when) in [("q-old", old), ("q-new", at(2026, 2, 27)), ("shared", old)] {
            crate::store::messages::quarantine(conn, when, "imap://x/INBOX;UID=1", Some(sha), "not an e-mail")
                .expect("q");
        }
        conn.execute(
            "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, secret, created_at, updated_at)
             VALUES ('TCK-2026-00001', 2026, 1, 'Firma', 'new', 1, 'email', 'problem', 's', ?1, ?1)",
            [ts(old)],
        )
        .expect("ticket");
        for (ticket, sha) in [(None, "m-old"), (Some("TCK-2026-00001"), "shared")] {
            conn.execute(
                "INSERT INTO messages (ticket_id, direction, body_text, raw_sha256, at, disposition)
                 VALUES (?1, 'in', 'x', ?2, ?3, 'bounce')",
                params![ticket, sha, ts(old)],
            )
            .expect("message");
        }
        let purged = purge_loose_raw(conn, at(2026, 3, 1) - TimeDelta::days(365), 10).expect("purge");
        assert_eq!((purged.quarantined, purged.messages), (2, 1));
        let raws: Vec<String> = conn
            .prepare("SELECT sha256 FROM raw_messages ORDER BY sha256")
            .expect("select")
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows");
        // `shared` is also a ticket's message: it stays for the ticket's own retention.
        assert_eq!(raws, ["q-new", "shared"]);
        let quarantine_rows: i64 = conn
            .query_row("SELECT count(*) FROM quarantine", [], |r| r.get(0))
            .expect("count");
        assert_eq!(quarantine_rows, 3, "the rows stay");
    }

    /// A closing letter refused for good (or never sent) offered nobody the vote: it is no
    /// closing for the report, before anonymising as after, when the mail never sent is gone.
    #[test]
    fn only_a_closing_letter_that_left_is_a_closing_before_and_after_anonymising() {
        let store = Store::open_in_memory().expect("store");
        let conn = store.conn();
        let at = at(2026, 3, 10);
        for (n, sent, next) in [(1, Some(ts(at)), ts(at)), (2, None, "9999-12-31T23:59:59Z".to_string())] {
            let id = format!("TCK-2026-{n:05}");
            conn.execute(
                "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, requester_email,
                     requester_name, secret, created_at, updated_at)
                 VALUES (?1, 2026, ?2, 'Firma', 'archived', 1, 'email', 'problem', 'anna@example.org', 'Anna Neri', 's',
                     ?3, ?3)",
                params![id, n, ts(at)],
            )
            .expect("ticket");
            conn.execute(
                "INSERT INTO outbox (ticket_id, message_id, purpose, recipients, raw, created_at, next_attempt_at, sent_at)
                 VALUES (?1, ?2, 'closing', 'anna@example.org', x'00', ?3, ?4, ?5)",
                params![id, format!("c{n}@example.org"), ts(at), next, sent],
            )
            .expect("letter");
            conn.execute(
                "INSERT INTO cycles (ticket_id, number, received_at, effective_start, take_in_due, level,
                     resolution_message_id, resolved_at)
                 VALUES (?1, 1, ?2, ?2, ?2, 1, ?3, ?2)",
                params![id, ts(at), format!("c{n}@example.org")],
            )
            .expect("cycle");
        }
        let from = at - chrono::TimeDelta::days(1);
        let until = at + chrono::TimeDelta::days(1);
        let tickets = |conn: &Connection| -> Vec<String> {
            survey::closings_between(conn, from, until)
                .expect("closings")
                .into_iter()
                .map(|c| c.ticket)
                .collect()
        };
        assert_eq!(tickets(conn), ["TCK-2026-00001"]);
        let keep = |t: &str| t.to_string();
        let nobody = |_: &str| false;
        let scrub = Scrub {
            text: &keep,
            subject: &keep,
            is_person: &nobody,
        };
        for n in [1, 2] {
            let ticket: TicketId = format!("TCK-2026-{n:05}").parse().expect("id");
            anonymise(conn, ticket, &scrub, &|n: &str| n.to_string(), "new", until).expect("anonymise");
        }
        assert_eq!(tickets(conn), ["TCK-2026-00001"]);
    }
}
