//! Mail as it arrives: the two mailbox sources, and turning raw bytes into facts.
//!
//! The sources are [`maildir`] and [`imap`]: they hand over [`Fetched`] messages and
//! acknowledge them (flag, move) only after intake committed them. [`Prepared`] parses and
//! hashes a message ahead of the write transaction. The decisions about one message are pure
//! and live in the submodules: [`parse`] (bytes → facts), [`header`] (header text from raw bytes), [`quote`] (fresh text), [`classify`]
//! (person or noise), [`thread`] (which ticket), [`bounce`] (which delivery failures to
//! believe), [`tnef`] (the files inside Outlook's `winmail.dat`). What a message does to the help desk is `intake`'s: this module writes nothing.

pub mod bounce;
pub mod calendar;
pub mod classify;
pub mod forward;
pub mod header;
pub mod html;
pub mod imap;
pub mod maildir;
pub mod parse;
pub mod practice;
pub mod quote;
pub mod thread;
pub mod tnef;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use parse::{InboundMail, parse_mail};

/// One message as a source hands it over.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The raw bytes (empty when the message was too large to fetch).
    pub raw: Vec<u8>,
    /// Its size as the source reported it.
    pub size: u64,
    /// When it reached our mailbox (IMAP INTERNALDATE, Maildir delivery, or now).
    pub received_at: DateTime<Utc>,
    /// Where it came from, for the audit trail: `maildir:NAME`, `imap:FOLDER:UID`, `cli:FILE`.
    pub source: String,
}

/// A fetched message with the work that needs no database done ahead: parsed, its dedup
/// key and the hash of its bytes. Sources prepare the next batch while the current one is
/// applied, so this CPU work stays off the write transaction.
#[derive(Debug)]
pub struct Prepared {
    /// The message as the source handed it over.
    pub fetched: Fetched,
    /// The parsed message and its dedup key, or why it could not be parsed.
    pub parsed: Result<(InboundMail, String), parse::ParseFailure>,
    /// SHA-256 of the raw bytes, the key of `raw_messages`.
    pub raw_sha: String,
}

impl Prepared {
    /// Parses and hashes `fetched`; `max_bytes` bounds the parser's work.
    pub fn new(fetched: Fetched, max_bytes: u64) -> Prepared {
        let parsed = parse_mail(&fetched.raw, max_bytes).map(|mail| {
            let key = dedup_key(&mail);
            (mail, key)
        });
        let raw_sha = sha256_hex(&fetched.raw);
        Prepared {
            fetched,
            parsed,
            raw_sha,
        }
    }

    /// Prepares a whole batch.
    pub fn all(batch: Vec<Fetched>, max_bytes: u64) -> Vec<Prepared> {
        batch.into_iter().map(|f| Prepared::new(f, max_bytes)).collect()
    }
}

/// The first of `items`, in order, whose bytes add up to at most `budget`, but always at
/// least one: how both sources end a batch at `intake.batch_bytes`. `size` is what holding an
/// item costs (nothing for a message too large to be read).
pub fn within_budget<T>(mut items: Vec<T>, budget: u64, size: impl Fn(&T) -> u64) -> Vec<T> {
    let mut total = 0u64;
    let mut taken = 0;
    for item in &items {
        total = total.saturating_add(size(item));
        if taken > 0 && total > budget {
            break;
        }
        taken += 1;
    }
    items.truncate(taken);
    items
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The key that recognises a repeat: the Message-ID, or a hash of what the author wrote
/// (not of the bytes, which differ by route in their trace headers).
fn dedup_key(mail: &InboundMail) -> String {
    match &mail.message_id {
        Some(id) => format!("mid:{id}"),
        None => {
            let from = mail.from.as_ref().map(|p| p.address.as_str()).unwrap_or_default();
            let attachments: Vec<String> = mail.attachments.iter().map(|a| sha256_hex(&a.bytes)).collect();
            let content = format!("{from}\n{}\n{}\n{}", mail.subject, mail.text, attachments.join(","));
            format!("sha256:{}", sha256_hex(content.as_bytes()))
        }
    }
}
