//! Where one running SLA clock stands: business time elapsed and left, and whether it is
//! within budget, past the warning share of it, or breached. Pure, like the rest of `sla`.

use chrono::{DateTime, Utc};

use super::Calendar;

/// Which clock of the contract is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the take-in confirmation (TP).
    TakeIn,
    /// Taken in, waiting for the closing mail (TR).
    Resolution,
}

impl Phase {
    /// The spelling used in JSON and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::TakeIn => "take_in",
            Phase::Resolution => "resolution",
        }
    }
}

/// How a running clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Past its due time.
    Breached,
    /// Past the warning share of its budget.
    AtRisk,
    /// Within budget.
    Ok,
}

impl State {
    /// The spelling used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Breached => "breached",
            State::AtRisk => "at_risk",
            State::Ok => "ok",
        }
    }
}

/// Business seconds elapsed and left, and the state, of one clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    /// Business seconds since the clock started.
    pub elapsed_seconds: i64,
    /// Business seconds until the due time (negative once past it).
    pub left_seconds: i64,
    /// Where it stands.
    pub state: State,
}

/// Assesses a clock that started at `start` with `budget_seconds` and is due at `due`.
pub fn assess(
    calendar: &Calendar,
    start: DateTime<Utc>,
    due: DateTime<Utc>,
    budget_seconds: i64,
    now: DateTime<Utc>,
    warn_percent: u8,
) -> Assessment {
    let elapsed = calendar.elapsed_business(start, now);
    let left = if now > due {
        -calendar.elapsed_business(due, now)
    } else {
        calendar.elapsed_business(now, due)
    };
    let state = if now > due {
        State::Breached
    } else if elapsed * 100 >= budget_seconds * i64::from(warn_percent) {
        State::AtRisk
    } else {
        State::Ok
    };
    Assessment {
        elapsed_seconds: elapsed,
        left_seconds: left,
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::CalendarRules;
    use chrono::TimeZone;

    fn rome(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Rome
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_clock_is_ok_then_at_risk_then_breached_in_business_time() {
        let cal = Calendar::new(CalendarRules::default(), Vec::new());
        // E-mail take-in: 45 minutes from Friday 16:50 → Monday 08:35.
        let start = rome(2026, 3, 6, 16, 50);
        let due = rome(2026, 3, 9, 8, 35);
        let budget = 45 * 60;
        let at = |t| assess(&cal, start, due, budget, t, 75);
        // Saturday noon: only 10 business minutes have passed, the weekend pauses the clock.
        assert_eq!(
            at(rome(2026, 3, 7, 12, 0)),
            Assessment {
                elapsed_seconds: 600,
                left_seconds: 2100,
                state: State::Ok
            }
        );
        // Monday 08:24: 34 of 45 minutes (75.5 %): at risk.
        assert_eq!(at(rome(2026, 3, 9, 8, 24)).state, State::AtRisk);
        assert_eq!(
            at(rome(2026, 3, 9, 8, 35)).state,
            State::AtRisk,
            "due at exactly the deadline is still met"
        );
        let late = at(rome(2026, 3, 9, 9, 0));
        assert_eq!((late.state, late.left_seconds), (State::Breached, -25 * 60));
    }
}
