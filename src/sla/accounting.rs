//! How the accounting counts one SLA cycle: the contract's definitions of TP and TR applied
//! to what was recorded, and the day a request belongs to.
//!
//! Pure: the recorded instants, the calendar, the budgets and "now" are arguments.
//!
//! # The contract's definitions, as counted here
//!
//! * **TP** (take-in) runs from the request's effective start to the help desk's confirmation
//!   that it took the request in: the instant the letter naming the technician *left* (whichever
//!   command first sent it: `#prendo`, `#assegna`, `#secondolivello NAME`, `#risolto`), or the
//!   call-back of a phone request without e-mail. It is met at or before its due time.
//! * **TR** (resolution) runs "fra la conferma dell'Help desk di aver preso in carico la
//!   richiesta e l'effettiva risoluzione": from the instant TP ended — never from the instant
//!   the take-in was processed, so minutes the confirmation spent in a mail outage do not count
//!   twice — to the notice of resolution: the instant the closing mail left, or, for a
//!   requester without e-mail, the closing call the operator recorded. Its due time is the
//!   level's budget (the cycle's level: second level once escalated) from that start.
//! * A clock not stopped yet is breached once its due time has passed and pending before; TR
//!   does not exist until TP ended.
//! * **The day a request belongs to**: requests on non-working days "si intendono come
//!   effettuate alle ore 9 del giorno lavorativo successivo", so a request counts on the local
//!   day of its effective start, and in that day's month: a request of Saturday 28 February is
//!   deemed received on Monday 2 March at 09:00 and belongs to March.

use chrono::{DateTime, NaiveDate, Utc};

use super::calendar::Calendar;
use super::deadline::{SlaBudgets, is_met, resolution_due};
use crate::model::Level;

/// What was recorded of one cycle, as the accounting reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The level the cycle ended at (second, once escalated).
    pub level: Level,
    /// When its take-in clock started.
    pub effective_start: DateTime<Utc>,
    /// When take-in was due.
    pub take_in_due: DateTime<Utc>,
    /// When TP ended: the take-in confirmation left, or the call-back was recorded.
    pub take_in_done: Option<DateTime<Utc>>,
    /// When the notice of resolution left (or the closing call was recorded).
    pub resolution_done: Option<DateTime<Utc>>,
}

/// Where one clock of one cycle stands for the accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Stopped at or before its due time, after `minutes` business minutes.
    Met {
        /// Business minutes the clock ran.
        minutes: i64,
    },
    /// Stopped after its due time (`actual`, after `minutes` business minutes), or still
    /// running past it (`actual` and `minutes` none).
    Breached {
        /// When it was due.
        due: DateTime<Utc>,
        /// When it stopped, if it did.
        actual: Option<DateTime<Utc>>,
        /// Business minutes it ran, if it stopped.
        minutes: Option<i64>,
    },
    /// Still running within its budget.
    Pending,
}

/// One clock from its start, due time and stop, at `now`.
fn verdict(
    calendar: &Calendar,
    start: DateTime<Utc>,
    due: DateTime<Utc>,
    done: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Verdict {
    match done {
        Some(done) => {
            let minutes = calendar.elapsed_business_minutes(start, done);
            if is_met(due, done) {
                Verdict::Met { minutes }
            } else {
                Verdict::Breached {
                    due,
                    actual: Some(done),
                    minutes: Some(minutes),
                }
            }
        }
        None if now > due => Verdict::Breached {
            due,
            actual: None,
            minutes: None,
        },
        None => Verdict::Pending,
    }
}

/// TP of the cycle: from its effective start to the confirmation, against its due time.
pub fn take_in(calendar: &Calendar, cycle: &Recorded, now: DateTime<Utc>) -> Verdict {
    verdict(
        calendar,
        cycle.effective_start,
        cycle.take_in_due,
        cycle.take_in_done,
        now,
    )
}

/// When TR of the cycle was due: the level's budget from the instant TP ended; none while
/// TP runs.
pub fn resolution_due_of(calendar: &Calendar, budgets: &SlaBudgets, cycle: &Recorded) -> Option<DateTime<Utc>> {
    cycle
        .take_in_done
        .map(|start| resolution_due(calendar, budgets, cycle.level, start))
}

/// TR of the cycle: from the instant TP ended to the notice of resolution, against the
/// level's budget from that instant; none while TP runs (TR has not started).
pub fn resolution(calendar: &Calendar, budgets: &SlaBudgets, cycle: &Recorded, now: DateTime<Utc>) -> Option<Verdict> {
    let start = cycle.take_in_done?;
    let due = resolution_due(calendar, budgets, cycle.level, start);
    Some(verdict(calendar, start, due, cycle.resolution_done, now))
}

/// The local day a request received at `received` belongs to: the day of its effective
/// start (the next working day for a request on a closed day).
pub fn accounting_day(calendar: &Calendar, received: DateTime<Utc>) -> NaiveDate {
    let start = calendar.effective_start(received);
    // No working day within reach: the request stays on the day it arrived.
    let start = if start == DateTime::<Utc>::MAX_UTC {
        received
    } else {
        start
    };
    start.with_timezone(&calendar.timezone()).date_naive()
}

#[cfg(test)]
mod tests;
