//! Rows of `attachments` and the content-addressed files under `data_dir/attachments/`.
//!
//! Owns both, so that a row never names a file that is not there. Which attachments to keep
//! is decided by the bounds the caller passes; nothing here reads the configuration.

use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, params};
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
