//! Rows of `attachments` and the content-addressed files under `data_dir/attachments/`.
//!
//! Owns both, so that a row never names a file that is not there. Which attachments to keep
//! is decided by the bounds the caller passes; nothing here reads the configuration.

use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// One attachment as it arrived (by mail or through the portal).
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// Safe base name.
    pub filename: &'a str,
    /// `type/subtype`.
    pub content_type: &'a str,
    /// Decoded content.
    pub bytes: &'a [u8],
}

/// The bounds of `[intake]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Attachments beyond this count are dropped with a note.
    pub max_attachments: u32,
    /// Larger attachments are dropped with a note.
    pub max_attachment_bytes: u64,
}

/// Stores the attachments of message `message_row` within `limits` and returns the names
/// dropped (each still gets a row with the reason). `durable` syncs each file to disk: portal
/// uploads have no raw message to decode them from again, while mail attachments do (see
/// [`save_blob`]).
pub fn store(
    conn: &Connection,
    data_dir: &Path,
    limits: Limits,
    message_row: i64,
    attachments: &[Incoming<'_>],
    durable: bool,
) -> anyhow::Result<Vec<String>> {
    let mut dropped = Vec::new();
    for (index, attachment) in attachments.iter().enumerate() {
        let size = attachment.bytes.len() as u64;
        let note = if index as u32 >= limits.max_attachments {
            Some(format!("more than {} attachments", limits.max_attachments))
        } else if size > limits.max_attachment_bytes {
            Some(format!(
                "{size} bytes, over the limit of {}",
                limits.max_attachment_bytes
            ))
        } else {
            None
        };
        let sha = match &note {
            Some(_) => {
                dropped.push(attachment.filename.to_string());
                None
            }
            None => Some(save_blob(data_dir, attachment.bytes, durable)?),
        };
        conn.prepare_cached(
            "INSERT INTO attachments (message, filename, content_type, size, sha256, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![message_row, attachment.filename, attachment.content_type, size as i64, sha, note])?;
    }
    Ok(dropped)
}

/// Writes a content-addressed file `attachments/ab/abcdef…` (once; atomically renamed into
/// place, so a reader never sees half a file).
///
/// NOTE: mail attachments are not fsynced (`durable` false). The file is a decoded copy of a
/// part of the raw message, which commits durably in `raw_messages` with the rest of the
/// batch; a file lost to a power cut can be decoded again from there. Syncing each one cost a
/// disk flush per attachment on the intake path (a quarter of the intake benchmark's time).
fn save_blob(data_dir: &Path, bytes: &[u8], durable: bool) -> anyhow::Result<String> {
    let sha: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    let dir = data_dir.join("attachments").join(&sha[..2]);
    let path = dir.join(&sha);
    if !path.exists() {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = dir.join(format!(".{sha}.tmp"));
        let file = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        std::io::Write::write_all(&mut &file, bytes).with_context(|| format!("writing {}", tmp.display()))?;
        if durable {
            file.sync_all().with_context(|| format!("syncing {}", tmp.display()))?;
        }
        std::fs::rename(&tmp, &path).with_context(|| format!("renaming {}", tmp.display()))?;
    }
    Ok(sha)
}

/// A stored attachment, as notices and letters list and carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The row.
    pub id: i64,
    /// Safe base name.
    pub filename: String,
    /// `type/subtype`.
    pub content_type: String,
    /// Size in bytes, as it arrived.
    pub size: u64,
    /// Its content's name under `attachments/`; none when it was dropped.
    pub sha256: Option<String>,
}

/// The columns [`stored_file`] reads, in its order.
const STORED_FILE_COLUMNS: &str = "id, filename, content_type, size, sha256";

/// A [`StoredFile`] from a row of `id, filename, content_type, size, sha256`.
pub(super) fn stored_file(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredFile> {
    Ok(StoredFile {
        id: r.get(0)?,
        filename: r.get(1)?,
        content_type: r.get(2)?,
        size: r.get::<_, i64>(3)?.max(0) as u64,
        sha256: r.get(4)?,
    })
}

fn files_of(conn: &Connection, message: i64) -> rusqlite::Result<Vec<StoredFile>> {
    conn.prepare_cached(&format!(
        "SELECT {STORED_FILE_COLUMNS} FROM attachments WHERE message = ?1 ORDER BY id"
    ))?
    .query_map([message], stored_file)?
    .collect()
}

/// The files of the requester's side's newest message on `ticket` (the request, or the reply
/// a notice is about).
pub fn of_latest_request(conn: &Connection, ticket: &str) -> rusqlite::Result<Vec<StoredFile>> {
    let newest: Option<i64> = conn
        .prepare_cached(
            "SELECT max(id) FROM messages WHERE ticket_id = ?1 AND direction = 'in'
               AND disposition IN ('person', 'portal', 'phone', 'forward') AND flagged = 0",
        )?
        .query_row([ticket], |r| r.get(0))?;
    newest.map_or_else(|| Ok(Vec::new()), |id| files_of(conn, id))
}

/// The files of the operator's mail being applied: the ticket's newest incoming message,
/// when it is an operator's (it was stored just before its commands are applied).
pub fn of_operator_mail(conn: &Connection, ticket: &str) -> rusqlite::Result<Vec<StoredFile>> {
    let newest: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT id, disposition FROM messages WHERE ticket_id = ?1 AND direction = 'in' ORDER BY id DESC LIMIT 1",
        )?
        .query_row([ticket], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match newest {
        Some((id, disposition)) if disposition == "operator" => files_of(conn, id),
        _ => Ok(Vec::new()),
    }
}

/// One stored file by its row.
pub fn find(conn: &Connection, id: i64) -> rusqlite::Result<Option<StoredFile>> {
    conn.prepare_cached(&format!("SELECT {STORED_FILE_COLUMNS} FROM attachments WHERE id = ?1"))?
        .query_row([id], stored_file)
        .optional()
}

/// The content of a stored file.
pub fn read(data_dir: &Path, sha256: &str) -> anyhow::Result<Vec<u8>> {
    // The name comes from our own rows, but a path is built from it: hex only.
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        anyhow::bail!("{sha256:?} is not an attachment's content name");
    }
    let path = data_dir.join("attachments").join(&sha256[..2]).join(sha256);
    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
}
