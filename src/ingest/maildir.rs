//! The Maildir source (the embedded default): messages are files in `new/`; after their
//! batch is committed they move to `cur/` with the `S` (seen) flag.
//!
//! Owns the Maildir folders and nothing else. The delivery time is the file's modification
//! time (the MDA writes the file once, then renames it into `new/`). A file larger than the
//! bound is not read: intake quarantines it by name and it stays in the Maildir.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::Fetched;

/// A Maildir folder.
#[derive(Debug, Clone)]
pub struct MaildirSource {
    root: PathBuf,
}

/// A fetched message and the file it came from.
#[derive(Debug)]
pub struct MaildirItem {
    /// The message.
    pub fetched: Fetched,
    /// Its file in `new/`.
    pub path: PathBuf,
}

impl MaildirSource {
    /// The Maildir rooted at `root` (holding `new/`, `cur/`, `tmp/`).
    pub fn new(root: &Path) -> MaildirSource {
        MaildirSource {
            root: root.to_path_buf(),
        }
    }

    /// Up to `max` messages from `new/`, oldest delivery first, and no more once the ones
    /// read add up to `batch_bytes` (but always one); larger than `max_bytes` are not read.
    pub fn fetch_batch(&self, max: usize, max_bytes: u64, batch_bytes: u64) -> anyhow::Result<Vec<MaildirItem>> {
        let new_dir = self.root.join("new");
        let mut entries: Vec<(std::time::SystemTime, PathBuf, u64)> = Vec::new();
        for entry in std::fs::read_dir(&new_dir).with_context(|| format!("reading {}", new_dir.display()))? {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let meta = match entry.metadata() {
                Ok(m) if m.is_file() => m,
                // Vanished or not a file: another reader, or junk; skip it.
                _ => continue,
            };
            entries.push((
                meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                entry.path(),
                meta.len(),
            ));
        }
        entries.sort();
        entries.truncate(max);
        // Oversized messages are not read, so they hold no memory.
        let entries = super::within_budget(
            entries,
            batch_bytes,
            |(_, _, size)| {
                if *size > max_bytes { 0 } else { *size }
            },
        );
        let mut items = Vec::with_capacity(entries.len());
        for (modified, path, size) in entries {
            let raw = if size > max_bytes {
                Vec::new()
            } else {
                match std::fs::read(&path) {
                    Ok(raw) => raw,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
                }
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            items.push(MaildirItem {
                fetched: Fetched {
                    raw,
                    size,
                    received_at: DateTime::<Utc>::from(modified),
                    source: format!("maildir:{name}"),
                },
                path,
            });
        }
        Ok(items)
    }

    /// Moves a committed message (its file in `new/`) to `cur/` with the seen flag.
    pub fn acknowledge(&self, path: &Path) -> anyhow::Result<()> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = self.root.join("cur").join(seen_name(&name));
        std::fs::rename(path, &target).with_context(|| format!("moving {} to {}", path.display(), target.display()))
    }
}

/// The `cur/` name of a `new/` file: the `:2,` info with `S` added, flags kept sorted.
fn seen_name(name: &str) -> String {
    match name.split_once(":2,") {
        Some((base, flags)) => {
            let mut flags: Vec<char> = flags.chars().filter(|c| c.is_ascii_alphabetic()).collect();
            if !flags.contains(&'S') {
                flags.push('S');
            }
            flags.sort_unstable();
            flags.dedup();
            format!("{base}:2,{}", flags.into_iter().collect::<String>())
        }
        None => format!("{name}:2,S"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_flag_is_added_once_and_sorted() {
        assert_eq!(seen_name("1700000000.M1P2.host"), "1700000000.M1P2.host:2,S");
        assert_eq!(seen_name("x:2,F"), "x:2,FS");
        assert_eq!(seen_name("x:2,S"), "x:2,S");
    }

    #[test]
    fn fetches_oldest_first_skips_dotfiles_and_moves_to_cur() {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        let write = |name: &str, body: &str, age_secs: u64| {
            let path = dir.path().join("new").join(name);
            std::fs::write(&path, body).expect("write");
            let time = std::time::SystemTime::now() - std::time::Duration::from_secs(age_secs);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(time))
                .expect("mtime");
        };
        write("b", "Subject: b\r\n\r\nB", 10);
        write("a", "Subject: a\r\n\r\nA", 20);
        write(".hidden", "x", 30);
        write("big", &"x".repeat(100), 5);
        let source = MaildirSource::new(dir.path());
        let items = source.fetch_batch(10, 50, 1 << 20).expect("fetch");
        let names: Vec<&str> = items.iter().map(|i| i.fetched.source.as_str()).collect();
        assert_eq!(names, vec!["maildir:a", "maildir:b", "maildir:big"]);
        assert!(
            items[2].fetched.raw.is_empty() && items[2].fetched.size == 100,
            "oversized is not read"
        );
        source.acknowledge(&items[0].path).expect("ack");
        assert!(dir.path().join("cur/a:2,S").exists());
        assert_eq!(
            source.fetch_batch(1, 50, 1 << 20).expect("fetch").len(),
            1,
            "max is honoured"
        );
        // "b" (15 bytes) fits a 20-byte budget alone; "big" is not read, so it costs nothing.
        let names = |items: Vec<MaildirItem>| -> Vec<String> { items.into_iter().map(|i| i.fetched.source).collect() };
        assert_eq!(
            names(source.fetch_batch(10, 50, 20).expect("fetch")),
            vec!["maildir:b", "maildir:big"]
        );
        assert_eq!(
            names(source.fetch_batch(10, 50, 1).expect("fetch")),
            vec!["maildir:b"],
            "at least one"
        );
    }
}
