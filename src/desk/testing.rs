//! Builders the desk's tests share: operators and instants of March 2026 in Rome.

use chrono::{DateTime, TimeZone, Utc};

use crate::config::Operator;
use crate::model::Level;

/// An operator at `level`, neither supervisor nor away.
pub fn operator(name: &str, email: &str, level: Level) -> Operator {
    Operator {
        name: name.into(),
        email: email.into(),
        level,
        supervisor: false,
        away: false,
        deputy: None,
    }
}

/// Day `d` of March 2026 at `h:m`, Rome time (9 March 2026 is a Monday).
pub fn rome(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Rome
        .with_ymd_and_hms(2026, 3, d, h, m, 0)
        .single()
        .expect("a valid Rome time")
        .with_timezone(&Utc)
}
