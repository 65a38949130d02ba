//! The SQLite store: opening, pragmas, versioned migrations, and the row-level operations
//! every other module uses (in `tickets`, and later siblings per table group).
//!
//! Owns the database file and nothing else: no mail, no clock (every timestamp is an
//! argument), no business decisions. Functions take a `&Connection` so callers compose them
//! inside one transaction; the caller decides where the transaction starts and commits.
//!
//! Invariants: WAL mode, foreign keys on, a busy timeout; `PRAGMA user_version` is the number
//! of migrations applied, and a database newer than this binary is refused, never downgraded.

pub mod attachments;
pub mod checkpoints;
pub mod cycles;
pub mod delivery;
pub mod digest;
pub mod kb;
pub mod messages;
pub mod operators;
pub mod outbox;
pub mod portal;
pub mod privacy;
pub mod report;
pub mod spam;
pub mod survey;
pub mod suspensions;
pub mod tickets;
pub mod types;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};

/// Migrations in order; `user_version` N means the first N are applied.
/// Never edit a shipped migration: append a new one.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_core", include_str!("migrations/0001_core.sql")),
    ("0002_suspensions", include_str!("migrations/0002_suspensions.sql")),
    ("0003_workflow", include_str!("migrations/0003_workflow.sql")),
    ("0004_indexes", include_str!("migrations/0004_indexes.sql")),
    ("0005_sla_alerts", include_str!("migrations/0005_sla_alerts.sql")),
    ("0006_reports_sent", include_str!("migrations/0006_reports_sent.sql")),
    ("0007_kb", include_str!("migrations/0007_kb.sql")),
    ("0008_kb_vocab", include_str!("migrations/0008_kb_vocab.sql")),
    ("0009_outbox_drafts", include_str!("migrations/0009_outbox_drafts.sql")),
    (
        "0010_undeliverable_until",
        include_str!("migrations/0010_undeliverable_until.sql"),
    ),
    ("0011_first_start", include_str!("migrations/0011_first_start.sql")),
    ("0012_cycle_opening", include_str!("migrations/0012_cycle_opening.sql")),
    (
        "0013_event_operator",
        include_str!("migrations/0013_event_operator.sql"),
    ),
    (
        "0014_time_corrections",
        include_str!("migrations/0014_time_corrections.sql"),
    ),
    ("0015_absences", include_str!("migrations/0015_absences.sql")),
    ("0016_incidents", include_str!("migrations/0016_incidents.sql")),
    (
        "0017_resolution_by_phone",
        include_str!("migrations/0017_resolution_by_phone.sql"),
    ),
    ("0018_spam", include_str!("migrations/0018_spam.sql")),
    ("0019_digests", include_str!("migrations/0019_digests.sql")),
    ("0020_imported", include_str!("migrations/0020_imported.sql")),
    ("0021_privacy", include_str!("migrations/0021_privacy.sql")),
    ("0022_kb_fields", include_str!("migrations/0022_kb_fields.sql")),
    (
        "0023_retention_gaps",
        include_str!("migrations/0023_retention_gaps.sql"),
    ),
    ("0024_forget_loose", include_str!("migrations/0024_forget_loose.sql")),
    (
        "0025_retention_progress",
        include_str!("migrations/0025_retention_progress.sql"),
    ),
    (
        "0026_sender_lookups",
        include_str!("migrations/0026_sender_lookups.sql"),
    ),
];

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLITE_IOERR_SHMSIZE: the WAL index could not grow, which on a full disk is how SQLite
/// reports ENOSPC for its shared-memory file.
const SQLITE_IOERR_SHMSIZE: std::ffi::c_int = 4874;

/// Whether `error` comes from a full disk (or quota): the daemon waits for room instead of
/// failing, since nothing was committed and every message is still in its mailbox.
pub fn is_disk_full(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        if let Some(rusqlite::Error::SqliteFailure(e, _)) = cause.downcast_ref::<rusqlite::Error>() {
            return e.code == rusqlite::ErrorCode::DiskFull || e.extended_code == SQLITE_IOERR_SHMSIZE;
        }
        cause.downcast_ref::<std::io::Error>().is_some_and(|e| {
            matches!(
                e.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            )
        })
    })
}

/// An open database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating data folder {}", dir.display()))?;
        }
        let conn = Connection::open(path).with_context(|| format!("opening database {}", path.display()))?;
        snapshot_before_migrating(&conn, path)?;
        Store::setup(conn).with_context(|| format!("preparing database {}", path.display()))
    }

    /// An in-memory database with the full schema (tests and benchmarks).
    pub fn open_in_memory() -> anyhow::Result<Store> {
        Store::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> anyhow::Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // journal_mode answers with a row, so it cannot go through execute().
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if mode != "wal" && mode != "memory" {
            bail!("the database refused WAL mode (journal_mode = {mode})");
        }
        // FULL: a commit is on disk before intake acknowledges the batch to the mailbox (in WAL
        // mode that is one fsync of the log per batch).
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;")?;
        // Deleted and rewritten content is overwritten in the file, not left in free pages:
        // data erased or anonymised (issue 17) must not linger in the database's bytes.
        conn.execute_batch("PRAGMA secure_delete = ON;")?;
        // Intake runs the same few dozen statements for every message: keep them all prepared.
        conn.set_prepared_statement_cache_capacity(128);
        // And keep them prepared for real: without the query planner stability guarantee,
        // SQLite marks some plans (an ORDER BY on an index, a LIKE) as depending on the bound
        // values and prepares such a statement again every time the cache hands it out.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        migrate(&conn, MIGRATIONS.len())?;
        Ok(Store { conn })
    }

    /// The connection, for reads and for single statements.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Starts a write transaction that takes the write lock at once, so two processes never
    /// both read a counter and then race to write it.
    pub fn write(&mut self) -> rusqlite::Result<Transaction<'_>> {
        self.conn.transaction_with_behavior(TransactionBehavior::Immediate)
    }

    /// Stops this connection's commits from checkpointing the write-ahead log. Every daemon
    /// connection is opened so: an automatic checkpoint runs inside the commit that crosses
    /// the log's threshold, under the write turn, and copying a long log into the database
    /// held intake up for tens of milliseconds a batch. The courier checkpoints instead
    /// ([`Store::checkpoint`]), outside the turn, at most once a second.
    pub fn without_automatic_checkpoints(self) -> rusqlite::Result<Store> {
        self.conn.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
        Ok(self)
    }

    /// Gives this connection a page cache of `kib` KiB instead of SQLite's 2 MiB, so a large
    /// transaction keeps its dirty pages in memory until it commits.
    pub fn with_page_cache(self, kib: u32) -> rusqlite::Result<Store> {
        self.conn.execute_batch(&format!("PRAGMA cache_size = -{kib}"))?;
        Ok(self)
    }

    /// Copies what the write-ahead log holds back into the database, without waiting for
    /// (or blocking) writers.
    pub fn checkpoint(&self) -> rusqlite::Result<()> {
        self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
    }
}

/// The daemon's writers (intake, housekeeping, the courier, the portal's handlers) take turns
/// through this fair lock before they open a write transaction. SQLite's own busy handler only sleeps and
/// retries, so a writer committing back to back (intake draining a backlog) would starve
/// the others until it is done.
pub type WriteTurns = std::sync::Arc<tokio::sync::Mutex<()>>;

/// How many snapshots taken before a migration are kept next to the database.
const SNAPSHOTS_KEPT: usize = 3;

/// Before a database that holds data is migrated, a consistent snapshot of it goes to
/// `backups/before-<first migration>.db` next to it (the last three are kept), and the log says
/// so: an upgrade that goes wrong can be undone with the snapshot and the previous binary.
fn snapshot_before_migrating(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    let current = schema_version(conn)?;
    if current == 0 || current >= MIGRATIONS.len() {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new(".")).join("backups");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let first = MIGRATIONS[current].0;
    let target = dir.join(format!("before-{first}.db"));
    snapshot(conn, &target)?;
    tracing::warn!(
        from = current,
        to = MIGRATIONS.len(),
        snapshot = %target.display(),
        "the database schema is upgraded; a snapshot of it as it was is kept"
    );
    let mut kept: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&dir)?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("before-"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    kept.sort();
    let excess = kept.len().saturating_sub(SNAPSHOTS_KEPT);
    for (_, old) in kept.into_iter().take(excess) {
        let _ = std::fs::remove_file(old);
    }
    Ok(())
}

/// A consistent copy of the database at `target`, taken with SQLite's online backup while
/// other connections keep writing (never a copy of the file, which may be mid-transaction).
pub fn snapshot(conn: &Connection, target: &Path) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(target);
    conn.backup(rusqlite::MAIN_DB, target, rusqlite::backup::NO_PROGRESS)
        .with_context(|| format!("writing a snapshot of the database to {}", target.display()))
}

/// SQLite's integrity check of the database at `path`: empty when it is sound, else what is
/// wrong.
pub fn integrity_problems(path: &Path) -> anyhow::Result<Vec<String>> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut statement = conn.prepare("PRAGMA integrity_check")?;
    let lines: Vec<String> = statement
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(lines.into_iter().filter(|l| l != "ok").collect())
}

/// The schema version a database is at.
pub fn schema_version(conn: &Connection) -> rusqlite::Result<usize> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(usize::try_from(v).unwrap_or(usize::MAX))
}

/// Applies the migrations missing up to `target` (a count of migrations), each in its own
/// transaction together with the version bump. Refuses a database newer than this binary.
pub fn migrate(conn: &Connection, target: usize) -> anyhow::Result<()> {
    let current = schema_version(conn)?;
    if current > MIGRATIONS.len() {
        bail!(
            "the database schema is version {current}, newer than this sportello knows ({}): \
             run a newer sportello, or restore a backup made for this version",
            MIGRATIONS.len()
        );
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().take(target).skip(current) {
        let version = index + 1;
        // BEGIN IMMEDIATE: two processes starting together must not both apply a migration.
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let applied = (|| -> anyhow::Result<()> {
            // Another process may have migrated while we waited for the lock.
            if schema_version(conn)? >= version {
                return Ok(());
            }
            conn.execute_batch(sql)
                .with_context(|| format!("applying migration {name}"))?;
            conn.execute_batch(&format!("PRAGMA user_version = {version}"))?;
            Ok(())
        })();
        match applied {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Formats an instant the one way the database stores it: RFC 3339, UTC, whole seconds,
/// so that text order is time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Reads back an instant written by [`ts`].
pub fn parse_ts(text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

#[cfg(test)]
mod tests;
