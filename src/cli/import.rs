//! `sportello import`: a previous system's mail brought in as history (issue 16, section 4).
//!
//! Each message goes through intake as if it arrived at the instant its `Date:` says, oldest
//! first, so tickets thread as usual; but the context is quiet (no acknowledgment, no notice,
//! no letter: `workflow::Context::quiet`), the tickets are marked imported (the report leaves
//! them out of every figure), and those whose last message is older than `--resolved-before`
//! are closed as the previous system left them. Anything an edge still queued is dropped in
//! the same transaction: an import writes to nobody.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::{Failure, config_of};
use crate::clock::Clock;
use crate::exit;
use crate::ingest::{Fetched, Prepared};
use crate::store::{self, Store};

/// Where the history is.
pub enum Archive<'a> {
    /// An mbox file.
    Mbox(&'a Path),
    /// A Maildir folder (`cur/` and `new/`).
    Maildir(&'a Path),
}

/// Imports `archive`; prints what it did.
pub fn run(
    config_path: Option<&Path>,
    clock: Clock,
    archive: Archive<'_>,
    resolved_before: Option<NaiveDate>,
) -> Result<(), Failure> {
    let config = config_of(config_path)?;
    let now = clock.now();
    let mut messages = read(&archive, now).map_err(|e| Failure::new(exit::NOINPUT, e))?;
    // Oldest first, so a reply finds the request it answers.
    messages.sort_by_key(|m| m.received_at);
    crate::daemon::prepare_data_dir(&config)?;
    let mut store = Store::open(&config.database_path())?;
    let templates = crate::notify::templates::Templates::load(config.helpdesk.templates_dir.as_deref())?;
    let calendar = store::suspensions::calendar(store.conn(), &config.calendar)?;
    let key = crate::auth::load_or_create_key(&config.helpdesk.data_dir)?;
    let mut intake = crate::intake::Intake::new(&config, &calendar, &templates, key);
    intake.quiet = true;
    let tickets_before = store::tickets::last_rowid(store.conn())?;
    let outbox_before = store::outbox::last_id(store.conn())?;
    let total = messages.len();
    let mut quarantined = 0;
    for message in messages {
        let at = message.received_at;
        let chunk = Prepared::all(vec![message], config.intake.max_message_bytes);
        let outcomes = crate::intake::apply_batch(&mut store, &intake, &chunk, None, at)?;
        quarantined += outcomes
            .iter()
            .filter(|o| matches!(o, crate::intake::Outcome::Quarantined(_)))
            .count();
    }
    let tx = store.write()?;
    let imported = store::tickets::mark_imported(&tx, tickets_before, now)?;
    let resolved = match resolved_before {
        Some(day) => {
            let before = calendar
                .timezone()
                .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
                .earliest()
                .map_or_else(
                    || day.and_time(chrono::NaiveTime::MIN).and_utc(),
                    |t| t.with_timezone(&Utc),
                );
            store::tickets::resolve_imported(&tx, before, now)?
        }
        None => 0,
    };
    let dropped = store::outbox::discard_after(&tx, outbox_before)?;
    tx.commit().map_err(anyhow::Error::from)?;
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "mail queued while importing was dropped: an import writes to nobody"
        );
    }
    println!(
        "{total} messages imported as history: {imported} tickets ({resolved} closed as settled), \
         {quarantined} quarantined, no mail sent"
    );
    Ok(())
}

/// Every message of the archive, received at its `Date:` (or at `now` without a readable one).
fn read(archive: &Archive<'_>, now: DateTime<Utc>) -> anyhow::Result<Vec<Fetched>> {
    let fetched = |raw: Vec<u8>, source: String| Fetched {
        size: raw.len() as u64,
        received_at: date_of(&raw).unwrap_or(now),
        raw,
        source,
    };
    match archive {
        Archive::Mbox(path) => {
            let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            Ok(
                mail_parser::mailbox::mbox::MessageIterator::new(std::io::BufReader::new(file))
                    .enumerate()
                    .filter_map(|(i, m)| {
                        m.ok()
                            .map(|m| fetched(m.unwrap_contents(), format!("import:{}#{i}", path.display())))
                    })
                    .collect(),
            )
        }
        Archive::Maildir(dir) => {
            let mut files: Vec<PathBuf> = Vec::new();
            for sub in ["cur", "new"] {
                let folder = dir.join(sub);
                if let Ok(entries) = std::fs::read_dir(&folder) {
                    files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
                }
            }
            if files.is_empty() && !dir.join("cur").is_dir() {
                anyhow::bail!("{} is not a Maildir (no cur/ folder)", dir.display());
            }
            files.sort();
            files
                .into_iter()
                .map(|path| {
                    let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                    Ok(fetched(raw, format!("import:{}", path.display())))
                })
                .collect()
        }
    }
}

/// The instant of the message's `Date:` header.
fn date_of(raw: &[u8]) -> Option<DateTime<Utc>> {
    let parsed = mail_parser::MessageParser::default().parse_headers(raw)?;
    let date = parsed.date()?;
    DateTime::from_timestamp(date.to_timestamp(), 0)
}

#[cfg(test)]
mod tests {
    use super::date_of;

    #[test]
    fn the_date_header_says_when_history_arrived() {
        let raw = b"From: a@example.org\r\nDate: Tue, 3 Mar 2026 10:15:00 +0100\r\nSubject: x\r\n\r\nciao\r\n";
        assert_eq!(
            date_of(raw).map(|d| d.to_rfc3339()),
            Some("2026-03-03T09:15:00+00:00".to_string())
        );
        assert_eq!(date_of(b"From: a@example.org\r\n\r\nno date\r\n"), None);
    }
}
