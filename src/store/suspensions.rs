//! Rows of `suspensions`: the planned suspensions of the service, and the calendar they
//! complete. Cancelled suspensions stay in the table (with `cancelled_at`) for the record.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, params};

use super::{parse_ts, ts};
use crate::sla::{Calendar, CalendarRules, Suspension};

/// A stored suspension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuspensionRow {
    /// Row id (what `suspension cancel` takes).
    pub id: i64,
    /// The suspended days and why.
    pub suspension: Suspension,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When requesters were told (by the SLA monitor's notices).
    pub announced_at: Option<DateTime<Utc>>,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
}

fn date(text: &str, index: usize) -> rusqlite::Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e)))
}

fn optional_ts(text: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    text.map(|t| parse_ts(&t)).transpose()
}

/// Every suspension, active ones only unless `include_cancelled`, by first day.
pub fn list_suspensions(conn: &Connection, include_cancelled: bool) -> rusqlite::Result<Vec<SuspensionRow>> {
    let filter = if include_cancelled {
        ""
    } else {
        "WHERE cancelled_at IS NULL"
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT id, from_date, to_date, reason, created_at, announced_at, cancelled_at
         FROM suspensions {filter} ORDER BY from_date, id"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok(SuspensionRow {
            id: r.get(0)?,
            suspension: Suspension {
                from: date(&r.get::<_, String>(1)?, 1)?,
                to: date(&r.get::<_, String>(2)?, 2)?,
                reason: r.get(3)?,
            },
            created_at: parse_ts(&r.get::<_, String>(4)?)?,
            announced_at: optional_ts(r.get(5)?)?,
            cancelled_at: optional_ts(r.get(6)?)?,
        })
    })?;
    rows.collect()
}

/// Stores a suspension (already validated by `sla::check_new_suspension`) and returns its id.
pub fn insert_suspension(conn: &Connection, s: &Suspension, now: DateTime<Utc>) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT INTO suspensions (from_date, to_date, reason, created_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![
            s.from.format("%Y-%m-%d").to_string(),
            s.to.format("%Y-%m-%d").to_string(),
            s.reason,
            ts(now)
        ])?;
    Ok(conn.last_insert_rowid())
}

/// Cancels an active suspension; false when there is no active one with that id.
pub fn cancel_suspension(conn: &Connection, id: i64, now: DateTime<Utc>) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE suspensions SET cancelled_at = ?2 WHERE id = ?1 AND cancelled_at IS NULL")?
        .execute(params![id, ts(now)])?;
    Ok(changed == 1)
}

/// The business calendar: the configured rules plus the active stored suspensions.
pub fn calendar(conn: &Connection, rules: &CalendarRules) -> rusqlite::Result<Calendar> {
    let suspensions = list_suspensions(conn, false)?
        .into_iter()
        .map(|r| r.suspension)
        .collect();
    Ok(Calendar::new(rules.clone(), suspensions))
}

/// Requesters were told about suspension `id` at `at`.
pub fn mark_announced(conn: &Connection, id: i64, at: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE suspensions SET announced_at = ?2 WHERE id = ?1")?
        .execute(params![id, ts(at)])?;
    Ok(())
}
