//! Backup and restore of a data folder (issue 16, section 3): one file holding a consistent
//! snapshot of the database (SQLite's online backup, taken while the daemon runs), the
//! attachments and the secret key, with a manifest of checksums.
//!
//! The file is a tar archive: `sportello.db`, `secret.key`, `attachments/…`, and last
//! `MANIFEST`, one line per entry (`sha256  size  path`) after a header naming the schema
//! version and when it was taken. Verifying reads every entry, recomputes its checksum, compares
//! both ways with the manifest and runs SQLite's integrity check on the database; restoring
//! verifies first and only writes into a data folder that is missing or empty.
//!
//! Owns the archive and the files of the data folder; the database's snapshot and integrity
//! check are `store`'s.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::store::{self, Store};

const MANIFEST: &str = "MANIFEST";
const DATABASE: &str = "sportello.db";
const KEY: &str = "secret.key";
const ATTACHMENTS: &str = "attachments";

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Files in it besides the manifest.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// The database's schema version.
    pub schema: usize,
}

/// Writes a backup of `data_dir` to `out` (through a temporary file renamed at the end, so a
/// half-written backup never has the final name).
pub fn create(data_dir: &Path, out: &Path, now: DateTime<Utc>) -> anyhow::Result<Summary> {
    let database = data_dir.join(DATABASE);
    if !database.is_file() {
        bail!("{} holds no database: nothing to back up", data_dir.display());
    }
    let partial = out.with_extension("partial");
    let snapshot = out.with_extension("db-snapshot");
    let written = (|| -> anyhow::Result<Summary> {
        let store = Store::open(&database)?;
        store::snapshot(store.conn(), &snapshot)?;
        let schema = store::schema_version(store.conn())?;
        drop(store);
        let file = std::fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        let mut archive = tar::Builder::new(std::io::BufWriter::new(file));
        let mut manifest: Vec<(String, u64, String)> = Vec::new();
        add_file(&mut archive, &snapshot, DATABASE, &mut manifest)?;
        let key = data_dir.join(KEY);
        if key.is_file() {
            add_file(&mut archive, &key, KEY, &mut manifest)?;
        }
        let attachments = data_dir.join(ATTACHMENTS);
        if attachments.is_dir() {
            for path in files_under(&attachments)? {
                let relative = path.strip_prefix(data_dir).unwrap_or(&path);
                let name = relative.to_string_lossy().replace('\\', "/");
                add_file(&mut archive, &path, &name, &mut manifest)?;
            }
        }
        let mut text = format!(
            "# sportello backup 1\n# taken {}\n# schema {schema}\n",
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        for (sha, size, name) in &manifest {
            text.push_str(&format!("{sha}  {size}  {name}\n"));
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(now.timestamp().max(0) as u64);
        header.set_cksum();
        archive.append_data(&mut header, MANIFEST, text.as_bytes())?;
        let mut writer = archive.into_inner()?;
        writer.flush()?;
        writer.get_ref().sync_all()?;
        Ok(Summary {
            files: manifest.len(),
            bytes: manifest.iter().map(|(_, size, _)| size).sum(),
            schema,
        })
    })();
    let _ = std::fs::remove_file(&snapshot);
    match written {
        Ok(summary) => {
            std::fs::rename(&partial, out).with_context(|| format!("naming the backup {}", out.display()))?;
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn add_file<W: Write>(
    archive: &mut tar::Builder<W>,
    path: &Path,
    name: &str,
    manifest: &mut Vec<(String, u64, String)>,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    archive
        .append_data(&mut header, name, bytes.as_slice())
        .with_context(|| format!("adding {name}"))?;
    manifest.push((hex(&Sha256::digest(&bytes)), bytes.len() as u64, name.to_string()));
    Ok(())
}

fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One entry as read back: its checksum and size.
struct Read1 {
    sha: String,
    size: u64,
}

/// Reads the whole backup, writing each entry under `into` when given; checks every checksum
/// against the manifest both ways and the database's integrity.
fn read_back(file: &Path, into: Option<&Path>) -> anyhow::Result<Summary> {
    let reader = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(reader));
    let scratch = tempfile_dir(file)?;
    let mut seen: BTreeMap<String, Read1> = BTreeMap::new();
    let mut manifest_text = None;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().to_string();
        if !is_safe_name(&name) {
            bail!(
                "{}: the entry {name:?} would be written outside the data folder",
                file.display()
            );
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        if name == MANIFEST {
            manifest_text = Some(String::from_utf8(bytes).context("the manifest is not text")?);
            continue;
        }
        let target = into.unwrap_or(scratch.path()).join(&name);
        // Only the database is needed for the check when nothing is restored.
        if into.is_some() || name == DATABASE {
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)?;
            }
            write_private(&target, &bytes)?;
        }
        seen.insert(
            name,
            Read1 {
                sha: hex(&Sha256::digest(&bytes)),
                size: bytes.len() as u64,
            },
        );
    }
    let manifest =
        manifest_text.with_context(|| format!("{} has no manifest: not a sportello backup", file.display()))?;
    let mut schema = None;
    let mut listed = 0;
    for line in manifest.lines() {
        if let Some(rest) = line.strip_prefix("# schema ") {
            schema = rest.trim().parse::<usize>().ok();
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, "  ");
        let (Some(sha), Some(size), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            bail!("{}: a manifest line does not read: {line:?}", file.display());
        };
        listed += 1;
        match seen.get(name) {
            None => bail!("{}: {name} is in the manifest but not in the backup", file.display()),
            Some(found) if found.sha != sha || size.parse::<u64>().ok() != Some(found.size) => {
                bail!(
                    "{}: {name} does not match its checksum: the backup is damaged",
                    file.display()
                )
            }
            Some(_) => {}
        }
    }
    if listed != seen.len() {
        bail!("{}: the backup holds files its manifest does not list", file.display());
    }
    if !seen.contains_key(DATABASE) {
        bail!("{}: the backup holds no database", file.display());
    }
    let database = into.unwrap_or(scratch.path()).join(DATABASE);
    let problems = store::integrity_problems(&database)?;
    if !problems.is_empty() {
        bail!(
            "{}: the database fails SQLite's integrity check: {}",
            file.display(),
            problems.join("; ")
        );
    }
    Ok(Summary {
        files: seen.len(),
        bytes: seen.values().map(|r| r.size).sum(),
        schema: schema.unwrap_or_default(),
    })
}

/// Checks a backup without restoring it.
pub fn verify(file: &Path) -> anyhow::Result<Summary> {
    read_back(file, None)
}

/// Rebuilds `data_dir` from a backup: it must be missing or empty. The backup is verified
/// whole before anything is written; the restored database then passes the integrity check
/// and opens (migrating when this binary is newer).
pub fn restore(file: &Path, data_dir: &Path) -> anyhow::Result<Summary> {
    if data_dir.exists() && std::fs::read_dir(data_dir)?.next().is_some() {
        bail!(
            "{} is not empty: restore only into a missing or empty data folder",
            data_dir.display()
        );
    }
    verify(file)?;
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let summary = read_back(file, Some(data_dir))?;
    Store::open(&data_dir.join(DATABASE))?;
    Ok(summary)
}

/// Only plain relative names: no absolute path, no `..`.
fn is_safe_name(name: &str) -> bool {
    let path = Path::new(name);
    !name.is_empty() && path.components().all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// A scratch folder next to the backup (same disk), removed when dropped.
fn tempfile_dir(near: &Path) -> anyhow::Result<Scratch> {
    let parent = near
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut nonce = [0u8; 8];
    rand::fill(&mut nonce);
    let dir = parent.join(format!(".sportello-verify-{}", hex(&nonce)));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(Scratch(dir))
}

struct Scratch(PathBuf);

impl Scratch {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        Store::open(&dir.path().join(DATABASE)).expect("store");
        std::fs::write(dir.path().join(KEY), [7u8; 32]).expect("key");
        std::fs::create_dir_all(dir.path().join("attachments/ab")).expect("dir");
        std::fs::write(dir.path().join("attachments/ab/abcdef"), b"%PDF-1.7 tavola").expect("file");
        dir
    }

    #[test]
    fn a_backup_verifies_and_restores_into_an_empty_folder_only() {
        let source = data_folder();
        let out = tempfile::tempdir().expect("out");
        let file = out.path().join("backup.tar");
        let made = create(source.path(), &file, Utc::now()).expect("backup");
        assert_eq!(made.files, 3, "database, key, one attachment");
        assert_eq!(verify(&file).expect("verifies"), made);
        let target = out.path().join("restored");
        restore(&file, &target).expect("restores");
        assert_eq!(
            std::fs::read(target.join("attachments/ab/abcdef")).expect("attachment"),
            b"%PDF-1.7 tavola"
        );
        assert_eq!(std::fs::read(target.join(KEY)).expect("key"), [7u8; 32]);
        let again = restore(&file, &target).expect_err("not into a folder with data");
        assert!(format!("{again:#}").contains("not empty"), "{again:#}");
    }

    #[test]
    fn a_damaged_backup_is_refused() {
        let source = data_folder();
        let out = tempfile::tempdir().expect("out");
        let file = out.path().join("backup.tar");
        create(source.path(), &file, Utc::now()).expect("backup");
        let mut bytes = std::fs::read(&file).expect("read");
        // The attachment's bytes sit in the archive as written: flip one.
        let at = bytes
            .windows(8)
            .position(|w| w == b"%PDF-1.7")
            .expect("the attachment is in the archive");
        bytes[at + 3] ^= 0x20;
        std::fs::write(&file, &bytes).expect("write");
        let problem = verify(&file).expect_err("damaged");
        assert!(
            format!("{problem:#}").contains("does not match its checksum"),
            "{problem:#}"
        );
        let target = out.path().join("restored");
        assert!(restore(&file, &target).is_err());
        assert!(!target.join(DATABASE).exists(), "nothing written from a damaged backup");
    }

    #[test]
    fn entry_names_cannot_leave_the_data_folder() {
        assert!(is_safe_name("attachments/ab/abcdef"));
        for bad in ["/etc/passwd", "../x", "attachments/../../x", ""] {
            assert!(!is_safe_name(bad), "{bad}");
        }
    }
}
