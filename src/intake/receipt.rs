//! Receipts (read, not read, delivered): an event on their ticket and nothing else.
//!
//! A receipt is a machine's answer to our mail, not the requester writing: it never reopens
//! or opens a ticket, is never answered and tells no operator. Its ticket is the one of the
//! mail it reports on (the report's original Message-ID, then In-Reply-To and References),
//! else the subject token. A receipt naming no ticket of ours is stored like other noise and
//! logged.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::{Outcome, StoredMail};
use crate::ingest::classify::ReceiptKind;
use crate::ingest::thread;
use crate::model::{EventAction, TicketId};
use crate::store::messages;
use crate::store::tickets::{self, insert_event};

/// At most this many referenced ids are looked up (a hostile receipt may list thousands).
const MAX_REFERENCES: usize = 20;

/// Records the receipt on its ticket, if it names one of ours.
pub(super) fn apply(
    conn: &Connection,
    stored: &StoredMail<'_>,
    kind: ReceiptKind,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let ticket = ticket_of(conn, stored)?;
    let row = stored.insert(conn, ticket, "receipt", false)?;
    let Some(ticket) = ticket else {
        tracing::info!(
            source = %stored.fetched.source,
            "{} receipt names no ticket of ours: stored, nothing else",
            kind.label()
        );
        return Ok(Outcome::Receipt(None));
    };
    let reporter = stored.mail.from.as_ref().map_or("system", |p| p.address.as_str());
    insert_event(
        conn,
        Some(ticket),
        now,
        reporter,
        EventAction::Receipt,
        &format!("{}: {}", kind.label(), stored.mail.subject),
        Some(row),
    )?;
    Ok(Outcome::Receipt(Some(ticket)))
}

fn ticket_of(conn: &Connection, stored: &StoredMail<'_>) -> anyhow::Result<Option<TicketId>> {
    let mail = stored.mail;
    let reported = mail
        .disposition_report
        .iter()
        .flat_map(|r| r.original_message_ids.iter())
        .chain(mail.delivery_report.iter().flat_map(|r| r.original_message_ids.iter()))
        .map(String::as_str);
    for id in reported.chain(mail.referenced_ids()).take(MAX_REFERENCES) {
        if let Some(ticket) = messages::ticket_of_message_id(conn, id)? {
            return Ok(Some(ticket));
        }
    }
    match thread::subject_token(&mail.subject) {
        Some(token) => Ok(tickets::find_ticket(conn, token)?.map(|_| token)),
        None => Ok(None),
    }
}
