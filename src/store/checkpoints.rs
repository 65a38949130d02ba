//! Rows of `mailbox_checkpoints` (how far each IMAP folder has been applied) and the data
//! folder's identity in `instance`.
//!
//! Owns those statements only: where a first start begins and when a checkpoint moves are
//! the IMAP source's and intake's decisions; timestamps are arguments.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::ts;

/// An IMAP folder's position, committed together with the batch it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Which mailbox (e.g. `imap://user@host/INBOX`).
    pub mailbox: String,
    /// The folder's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The highest UID done.
    pub last_uid: u32,
    /// The highest UID the folder had when this data folder first read it: mail at or below
    /// it was there before and is taken only on purpose (`since`). 0: the whole folder.
    pub first_uid: u32,
}

/// The stored checkpoint of a mailbox, if any.
pub fn load(conn: &Connection, mailbox: &str) -> rusqlite::Result<Option<Checkpoint>> {
    conn.prepare_cached("SELECT uidvalidity, last_uid, first_uid FROM mailbox_checkpoints WHERE mailbox = ?1")?
        .query_row([mailbox], |r| {
            Ok(Checkpoint {
                mailbox: mailbox.to_string(),
                uidvalidity: r.get(0)?,
                last_uid: r.get(1)?,
                first_uid: r.get(2)?,
            })
        })
        .optional()
}

/// Writes `checkpoint` (inside the caller's transaction, with the batch it covers).
pub fn save(conn: &Connection, checkpoint: &Checkpoint, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO mailbox_checkpoints (mailbox, uidvalidity, last_uid, first_uid, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = ?2, last_uid = ?3, first_uid = ?4, updated_at = ?5",
    )?
    .execute(params![
        checkpoint.mailbox,
        checkpoint.uidvalidity,
        checkpoint.last_uid,
        checkpoint.first_uid,
        ts(now)
    ])?;
    Ok(())
}

/// This data folder's id (eight hex digits, made by migration 0011).
pub fn instance_id(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row("SELECT id FROM instance", [], |r| r.get(0))
}

/// The other data folders' keywords taken over on `mailbox`.
pub fn taken_over(conn: &Connection, mailbox: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT keyword FROM mailbox_takeovers WHERE mailbox = ?1 ORDER BY keyword")?
        .query_map([mailbox], |r| r.get(0))?
        .collect()
}

/// Records that `keyword` on `mailbox` was taken over on purpose.
pub fn record_takeover(conn: &Connection, mailbox: &str, keyword: &str, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO mailbox_takeovers (mailbox, keyword, at) VALUES (?1, ?2, ?3)")?
        .execute(params![mailbox, keyword, ts(now)])?;
    Ok(())
}
