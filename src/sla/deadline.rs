//! SLA due-time arithmetic on top of the business [`Calendar`]: take-in and resolution
//! deadlines of a ticket cycle, and whether a deadline was met.
//!
//! Pure: no I/O, no clock. The budgets are passed in (they come from the configuration),
//! never hard-coded; [`SlaBudgets::default`] holds the contract values.
//!
//! # Rules (from the contract)
//!
//! * Take-in due = [`Calendar::effective_start`] of the reception + the take-in budget of
//!   the channel (portal 30 min, e-mail 45, phone 90 by default), in business time.
//! * Resolution due = the take-in instant (when the ticket was actually taken in) + the
//!   resolution budget of the level (level 1 360 min, level 2 480 min by default), in
//!   business time. Escalating to level 2 recomputes from the *same* take-in instant with
//!   the level-2 budget.
//! * A reopened ticket starts a new cycle whose take-in instant is the reopening instant
//!   ([`CycleDeadlines::reopened`]).
//! * A deadline is met when the actual instant is at or before it ([`is_met`]).
//!
//! All instants are whole seconds (sub-second parts are discarded, as in the calendar).
//! A negative budget counts as 0 (deadline = start).

use chrono::{DateTime, Utc};

use super::calendar::{Calendar, truncate_to_second};
use crate::model::{Channel, Level};

/// SLA budgets in business minutes, per channel (take-in) and per level (resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlaBudgets {
    /// Take-in budget of a request from the portal (default 30).
    pub take_in_minutes_portal: i64,
    /// Take-in budget of a request by e-mail (default 45).
    pub take_in_minutes_email: i64,
    /// Take-in budget of a request by phone (default 90).
    pub take_in_minutes_phone: i64,
    /// Resolution budget at level 1 (default 360 = 6 h).
    pub resolution_minutes_level1: i64,
    /// Resolution budget at level 2 (default 480 = 8 h).
    pub resolution_minutes_level2: i64,
}

impl Default for SlaBudgets {
    /// The contract values.
    fn default() -> Self {
        SlaBudgets {
            take_in_minutes_portal: 30,
            take_in_minutes_email: 45,
            take_in_minutes_phone: 90,
            resolution_minutes_level1: 360,
            resolution_minutes_level2: 480,
        }
    }
}

impl SlaBudgets {
    /// Take-in budget of `channel`, in minutes.
    pub fn take_in_minutes(&self, channel: Channel) -> i64 {
        match channel {
            Channel::Portal => self.take_in_minutes_portal,
            Channel::Email => self.take_in_minutes_email,
            Channel::Phone => self.take_in_minutes_phone,
        }
    }

    /// Resolution budget of `level`, in minutes.
    pub fn resolution_minutes(&self, level: Level) -> i64 {
        match level {
            Level::First => self.resolution_minutes_level1,
            Level::Second => self.resolution_minutes_level2,
        }
    }
}

/// Minutes to seconds, negative budgets counting as 0 and huge ones saturating (the
/// calendar then reports them unreachable).
fn minutes_to_seconds(minutes: i64) -> i64 {
    minutes.max(0).saturating_mul(60)
}

/// The deadlines of one cycle of a ticket (the first cycle starts at reception, each
/// reopening starts a new one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CycleDeadlines {
    /// When the request (or the reopening) arrived, to the second.
    pub received: DateTime<Utc>,
    /// When the SLA clock started ([`Calendar::effective_start`] of `received`).
    pub effective_start: DateTime<Utc>,
    /// Deadline for taking the ticket in.
    pub take_in_due: DateTime<Utc>,
    /// Deadline for resolving it, known once the ticket is taken in.
    pub resolution_due: Option<DateTime<Utc>>,
}

impl CycleDeadlines {
    /// The first cycle of a request received at `received` on `channel`: take-in due
    /// computed, resolution due unknown until the take-in.
    pub fn new_request(
        cal: &Calendar,
        budgets: &SlaBudgets,
        channel: Channel,
        received: DateTime<Utc>,
    ) -> CycleDeadlines {
        let (effective_start, take_in_due) = take_in_due(cal, budgets, channel, received);
        CycleDeadlines {
            received: truncate_to_second(received),
            effective_start,
            take_in_due,
            resolution_due: None,
        }
    }

    /// The same cycle with its resolution due set from the take-in instant `taken_at` at
    /// `level`. Call it at take-in, and again with [`Level::Second`] and the *same*
    /// `taken_at` when the ticket is escalated.
    pub fn with_resolution(
        self,
        cal: &Calendar,
        budgets: &SlaBudgets,
        level: Level,
        taken_at: DateTime<Utc>,
    ) -> CycleDeadlines {
        CycleDeadlines {
            resolution_due: Some(resolution_due(cal, budgets, level, taken_at)),
            ..self
        }
    }

    /// A new cycle for a ticket reopened at `reopened_at` and handled at `level`: the
    /// reopening instant is the take-in instant, so `received`, `effective_start` and
    /// `take_in_due` are all `reopened_at` (the take-in is met by construction) and the
    /// resolution due runs from it.
    pub fn reopened(cal: &Calendar, budgets: &SlaBudgets, level: Level, reopened_at: DateTime<Utc>) -> CycleDeadlines {
        let at = truncate_to_second(reopened_at);
        CycleDeadlines {
            received: at,
            effective_start: at,
            take_in_due: at,
            resolution_due: Some(resolution_due(cal, budgets, level, at)),
        }
    }
}

/// The effective start of a request received at `received` on `channel`, and its take-in
/// deadline: `(effective_start, take_in_due)`.
pub fn take_in_due(
    cal: &Calendar,
    budgets: &SlaBudgets,
    channel: Channel,
    received: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = cal.effective_start(received);
    let due = cal.add_business(start, minutes_to_seconds(budgets.take_in_minutes(channel)));
    (start, due)
}

/// The resolution deadline of a ticket taken in at `taken_at` and handled at `level`.
/// For an escalation pass the original take-in instant with [`Level::Second`]; for a
/// reopening pass the reopening instant.
pub fn resolution_due(cal: &Calendar, budgets: &SlaBudgets, level: Level, taken_at: DateTime<Utc>) -> DateTime<Utc> {
    cal.add_business(taken_at, minutes_to_seconds(budgets.resolution_minutes(level)))
}

/// True when `actual` is at or before `due`. `actual` is compared to the second (its
/// sub-second part is discarded), like every instant of the SLA arithmetic.
pub fn is_met(due: DateTime<Utc>, actual: DateTime<Utc>) -> bool {
    actual.timestamp() <= due.timestamp()
}
