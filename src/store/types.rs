//! How the model's types are stored: `ToSql`/`FromSql` for `Channel`, `Status` and `Kind`
//! (their one spelling from `model`), `Level` (the number 1 or 2) and `TicketId`
//! (`TCK-YYYY-NNNNN`), plus the reading of stored instants.
//!
//! Lives in the store so that `model` stays plain data without rusqlite. A stored value that
//! does not parse is a conversion error, never a default or a skipped row; [`naming_row`]
//! adds which row and column it came from, so an operator can find and mend it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rusqlite::Row;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, Type, Value, ValueRef};

use crate::model::{Channel, EventAction, Kind, Level, Status, TicketId};

/// Parses a text column with the type's canonical spelling (`FromStr`).
fn spelled<T: FromStr<Err = String>>(value: ValueRef<'_>) -> FromSqlResult<T> {
    value
        .as_str()?
        .parse()
        .map_err(|e: String| FromSqlError::Other(e.into()))
}

/// The enums of `model::spelled_enum!` are stored as their canonical spelling.
macro_rules! stored_as_spelling {
    ($($name:ty),+) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                spelled(value)
            }
        }
    )+};
}

stored_as_spelling!(Channel, Status, Kind, EventAction);

impl ToSql for Level {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(i64::from(self.number())))
    }
}

impl FromSql for Level {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let number = value.as_i64()?;
        Level::from_number(number)
            .ok_or_else(|| FromSqlError::Other(format!("level {number} is neither 1 nor 2").into()))
    }
}

impl ToSql for TicketId {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Owned(Value::Text(self.to_string())))
    }
}

impl FromSql for TicketId {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        spelled(value)
    }
}

/// An instant as [`super::ts`] writes it. A newtype rather than `FromSql` for
/// `DateTime<Utc>`, whose impl rusqlite's `chrono` feature would own.
struct Instant(DateTime<Utc>);

impl FromSql for Instant {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        DateTime::parse_from_rfc3339(value.as_str()?)
            .map(|t| Instant(t.with_timezone(&Utc)))
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// Reads column `index` as an instant written by [`super::ts`] (the error names that column,
/// which [`super::parse_ts`] over a fetched string cannot).
pub fn instant(row: &Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    row.get::<_, Instant>(index).map(|t| t.0)
}

/// Reads column `index` as an instant, or NULL.
pub fn optional_instant(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    row.get::<_, Option<Instant>>(index).map(|t| t.map(|t| t.0))
}

/// A stored value that does not read back, and where it is.
#[derive(Debug)]
struct CorruptRow {
    table: &'static str,
    key: String,
    column: String,
    problem: String,
}

impl fmt::Display for CorruptRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} row {}, column {}: {}",
            self.table, self.key, self.column, self.problem
        )
    }
}

impl std::error::Error for CorruptRow {}

/// Reads `row` with `read`; a value that does not convert becomes an error naming the row of
/// `table` (by its column `key`, read as it is stored) and the column. Other errors pass as
/// they are. Costs nothing until a value fails.
pub fn naming_row<T>(
    row: &Row<'_>,
    table: &'static str,
    key: usize,
    read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    read(row).map_err(|error| {
        let (index, stored, problem) = match error {
            rusqlite::Error::FromSqlConversionFailure(index, stored, e) => (index, stored, e.to_string()),
            rusqlite::Error::InvalidColumnType(index, _, stored) => (index, stored, format!("unexpected {stored}")),
            rusqlite::Error::IntegralValueOutOfRange(index, n) => {
                (index, Type::Integer, format!("{n} is out of range"))
            }
            rusqlite::Error::Utf8Error(index, e) => (index, Type::Text, e.to_string()),
            other => return other,
        };
        let column = row
            .as_ref()
            .column_name(index)
            .map_or_else(|_| format!("#{index}"), str::to_string);
        let key = match row.get_ref(key) {
            Ok(ValueRef::Integer(n)) => n.to_string(),
            Ok(ValueRef::Text(text)) => format!("{:?}", String::from_utf8_lossy(text)),
            Ok(other) => format!("({})", other.data_type()),
            Err(_) => format!("(no column #{key})"),
        };
        rusqlite::Error::FromSqlConversionFailure(
            index,
            stored,
            Box::new(CorruptRow {
                table,
                key,
                column,
                problem,
            }),
        )
    })
}
