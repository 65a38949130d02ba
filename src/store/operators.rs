//! Rows about operators: their recorded absences (`operator_away`, from `#assente`) and the
//! time they log (`time_entries`, from `#tempo`).
//!
//! Owns those statements only; timestamps and days are arguments.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::ts;
use crate::model::TicketId;

/// The last day of `operator`'s recorded absence, if any. A stored day that does not read
/// back is an error naming it.
pub fn away_until(conn: &Connection, operator: &str) -> rusqlite::Result<Option<NaiveDate>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT until FROM operator_away WHERE operator = ?1")?
        .query_row([operator], |r| r.get(0))
        .optional()?;
    text.map(|t| {
        NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("operator_away row {operator:?}, column until: {t:?}: {e}").into(),
            )
        })
    })
    .transpose()
}

/// The operators whose recorded absence covers `day`, with its last day, in address order
/// (the digest's "absent today"). A stored day that does not read back is an error naming it.
pub fn absent_on(conn: &Connection, day: NaiveDate) -> rusqlite::Result<Vec<(String, NaiveDate)>> {
    // Every row is read, so one whose day does not read back is an error, never left out.
    let mut stmt = conn.prepare_cached("SELECT operator, until FROM operator_away ORDER BY operator")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (operator, text) = row?;
        let until = NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                format!("operator_away row {operator:?}, column until: {text:?}: {e}").into(),
            )
        })?;
        if until >= day {
            out.push((operator, until));
        }
    }
    Ok(out)
}

/// Records `operator` away until `day` (included), or back with `None`.
pub fn set_away(conn: &Connection, operator: &str, until: Option<NaiveDate>) -> rusqlite::Result<()> {
    match until {
        Some(day) => conn
            .prepare_cached(
                "INSERT INTO operator_away (operator, until) VALUES (?1, ?2)
                 ON CONFLICT (operator) DO UPDATE SET until = ?2",
            )?
            .execute(params![operator, day.format("%Y-%m-%d").to_string()])?,
        None => conn
            .prepare_cached("DELETE FROM operator_away WHERE operator = ?1")?
            .execute([operator])?,
    };
    Ok(())
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
