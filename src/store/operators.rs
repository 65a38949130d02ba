//! Rows about operators: their recorded absences (`operator_away`, from `#assente` and
//! `sportello operator away`) and the
//! time they log (`time_entries`, from `#tempo`).
//!
//! Owns those statements only; timestamps and days are arguments.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, params};

use super::ts;
use crate::model::{Absence, TicketId};

/// Every recorded absence. A stored day that does not read back is an error naming the row.
pub fn absences(conn: &Connection) -> rusqlite::Result<Vec<Absence>> {
    let day = |operator: &str, column: &str, text: String| {
        NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("operator_away row {operator:?}, column {column}: {text:?}: {e}").into(),
            )
        })
    };
    let mut statement =
        conn.prepare_cached("SELECT operator, from_day, until, deputy, began FROM operator_away ORDER BY operator")?;
    let rows = statement.query_map([], |r| {
        let operator: String = r.get(0)?;
        let from: Option<String> = r.get(1)?;
        let until: String = r.get(2)?;
        let until = day(&operator, "until", until)?;
        let from = match from {
            Some(text) => day(&operator, "from_day", text)?,
            None => until,
        };
        Ok(Absence {
            from,
            until,
            deputy: r.get(3)?,
            began: r.get(4)?,
            operator,
        })
    })?;
    rows.collect()
}

/// Records an absence of `operator` (replacing the one recorded); it has not begun yet.
pub fn record_absence(
    conn: &Connection,
    operator: &str,
    from: NaiveDate,
    until: NaiveDate,
    deputy: Option<&str>,
) -> rusqlite::Result<()> {
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    conn.prepare_cached(
        "INSERT INTO operator_away (operator, from_day, until, deputy, began) VALUES (?1, ?2, ?3, ?4, 0)
         ON CONFLICT (operator) DO UPDATE SET from_day = ?2, until = ?3, deputy = ?4, began = 0",
    )?
    .execute(params![operator, day(from), day(until), deputy])?;
    Ok(())
}

/// The absence of `operator` has begun (its hand-over is done).
pub fn absence_began(conn: &Connection, operator: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE operator_away SET began = 1 WHERE operator = ?1")?
        .execute([operator])?;
    Ok(())
}

/// The absence of `operator` is over.
pub fn end_absence(conn: &Connection, operator: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM operator_away WHERE operator = ?1")?
        .execute([operator])?;
    Ok(())
}

/// The operators whose recorded absence covers `day`, with its last day, in address order
/// (the digest's "absent today"). A stored day that does not read back is an error naming it.
pub fn absent_on(conn: &Connection, day: NaiveDate) -> rusqlite::Result<Vec<(String, NaiveDate)>> {
    Ok(absences(conn)?
        .into_iter()
        .filter(|a| a.covers(day))
        .map(|a| (a.operator, a.until))
        .collect())
}

/// Minutes logged on `ticket` so far, corrections included.
pub fn time_logged(conn: &Connection, ticket: TicketId) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT coalesce(sum(minutes), 0) FROM time_entries WHERE ticket_id = ?1")?
        .query_row([ticket], |r| r.get(0))
}

/// Logs `minutes` of `operator`'s work on `ticket` (negative: a correction).
pub fn log_time(
    conn: &Connection,
    ticket: TicketId,
    operator: &str,
    minutes: i32,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO time_entries (ticket_id, operator, minutes, at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![ticket, operator, minutes, ts(at)])?;
    Ok(())
}
