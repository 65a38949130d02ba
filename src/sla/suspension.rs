//! Validation of a new service suspension before it is stored.
//!
//! Pure: no I/O, no clock — "today" is an argument.
//!
//! # Rules (from the contract)
//!
//! * `from <= to` (both days included).
//! * It must start at least [`MIN_NOTICE_DAYS`] (5) calendar days after today:
//!   `from - today >= 5`.
//! * It must not overlap an existing suspension (sharing even one day is an overlap).
//! * At most [`MAX_WORKING_DAYS_PER_YEAR`] (8) *working* days suspended per calendar
//!   year. Only days that would otherwise be working days count: weekends, national and
//!   local holidays and extra closed days are free. A suspension spanning New Year counts
//!   each part in its own year.
//!
//! The checks run in that order and the first failure is reported. Existing suspensions
//! are taken from the `existing` argument (the authoritative list, e.g. from the store);
//! the calendar is used only for its rules, so whether it already contains the
//! suspensions makes no difference. A suspension costing 0 working days (e.g. a weekend)
//! is accepted: the contract limits only working days.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{Datelike, NaiveDate};

use super::calendar::{Calendar, Suspension};

/// Maximum number of working days that suspensions may close in one calendar year.
pub const MAX_WORKING_DAYS_PER_YEAR: u32 = 8;

/// Minimum notice, in calendar days between today and the first suspended day.
pub const MIN_NOTICE_DAYS: i64 = 5;

/// What a valid new suspension costs in one calendar year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct YearCost {
    /// The calendar year.
    pub year: i32,
    /// Working days of that year closed by the new suspension.
    pub working_days: u32,
    /// Working days of that year already closed by existing suspensions.
    pub already_used: u32,
    /// The yearly limit ([`MAX_WORKING_DAYS_PER_YEAR`]).
    pub limit: u32,
}

impl YearCost {
    /// Working days still available in that year once the new suspension is stored.
    pub fn remaining_after(&self) -> u32 {
        self.limit.saturating_sub(self.already_used + self.working_days)
    }
}

/// What a valid new suspension costs: one entry per calendar year it touches, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SuspensionCost {
    /// Cost per calendar year, sorted by year.
    pub per_year: Vec<YearCost>,
}

impl SuspensionCost {
    /// Working days closed by the new suspension, all years together.
    pub fn total_working_days(&self) -> u32 {
        self.per_year.iter().map(|y| y.working_days).sum()
    }

    /// Working days closed by the new suspension in `year` (0 if it does not touch it).
    pub fn working_days_in(&self, year: i32) -> u32 {
        self.per_year
            .iter()
            .find(|y| y.year == year)
            .map_or(0, |y| y.working_days)
    }
}

/// Why a new suspension is refused. `Display` gives an English message with the numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SuspensionError {
    /// `to` is before `from`.
    EndsBeforeStart {
        /// First day requested.
        from: NaiveDate,
        /// Last day requested.
        to: NaiveDate,
    },
    /// Fewer than [`MIN_NOTICE_DAYS`] calendar days between today and `from`.
    TooSoon {
        /// First day requested.
        from: NaiveDate,
        /// Today, as passed in.
        today: NaiveDate,
        /// The required notice in days.
        min_notice_days: i64,
    },
    /// Shares at least one day with an existing suspension.
    Overlaps {
        /// First day requested.
        from: NaiveDate,
        /// Last day requested.
        to: NaiveDate,
        /// The existing suspension it overlaps.
        existing: Suspension,
    },
    /// The yearly quota of working days would be exceeded.
    QuotaExceeded {
        /// The calendar year over quota.
        year: i32,
        /// Working days of that year the new suspension would close.
        requested: u32,
        /// Working days of that year already closed by existing suspensions.
        already_used: u32,
        /// The yearly limit.
        limit: u32,
    },
}

impl fmt::Display for SuspensionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuspensionError::EndsBeforeStart { from, to } => write!(
                f,
                "suspension ends on {to}, before it starts on {from}: the last day must not precede the first"
            ),
            SuspensionError::TooSoon {
                from,
                today,
                min_notice_days,
            } => {
                let ahead = (*from - *today).num_days();
                let earliest = today
                    .checked_add_signed(chrono::Duration::days(*min_notice_days))
                    .map_or_else(|| "-".to_string(), |d| d.to_string());
                write!(
                    f,
                    "suspension must start at least {min_notice_days} calendar days after today \
                     ({today}), so on {earliest} or later; it starts on {from}, {ahead} days \
                     after today: {ahead} < {min_notice_days}"
                )
            }
            SuspensionError::Overlaps { from, to, existing } => write!(
                f,
                "suspension {from} to {to} overlaps the existing suspension {} to {} ({})",
                existing.from, existing.to, existing.reason
            ),
            SuspensionError::QuotaExceeded {
                year,
                requested,
                already_used,
                limit,
            } => write!(
                f,
                "suspension would use {requested} working days of {year}, which already has \
                 {already_used} of {limit} used: {} > {limit}",
                requested + already_used
            ),
        }
    }
}

impl std::error::Error for SuspensionError {}

/// Checks a new suspension against the rules (see the module documentation) and, if it
/// is acceptable, says how many working days it uses in each year.
///
/// `cal` supplies the rules (weekends, holidays, extra closed days); `existing` is the
/// list of suspensions already stored; `today` is the local date of the request.
pub fn check_new_suspension(
    cal: &Calendar,
    existing: &[Suspension],
    new: &Suspension,
    today: NaiveDate,
) -> Result<SuspensionCost, SuspensionError> {
    if new.to < new.from {
        return Err(SuspensionError::EndsBeforeStart {
            from: new.from,
            to: new.to,
        });
    }
    if (new.from - today).num_days() < MIN_NOTICE_DAYS {
        return Err(SuspensionError::TooSoon {
            from: new.from,
            today,
            min_notice_days: MIN_NOTICE_DAYS,
        });
    }
    if let Some(clash) = existing.iter().filter(|s| s.from <= s.to).find(|s| s.overlaps(new)) {
        return Err(SuspensionError::Overlaps {
            from: new.from,
            to: new.to,
            existing: clash.clone(),
        });
    }

    let mut per_year = Vec::new();
    // Year by year, stopping at the first year over quota, so that even an absurdly long
    // suspension costs at most a year or so of day checks before it is refused.
    for year in new.from.year()..=new.to.year() {
        let requested = count_working_days(cal, std::iter::once(new), year);
        let already_used = count_working_days(cal, existing.iter(), year);
        if requested + already_used > MAX_WORKING_DAYS_PER_YEAR {
            return Err(SuspensionError::QuotaExceeded {
                year,
                requested,
                already_used,
                limit: MAX_WORKING_DAYS_PER_YEAR,
            });
        }
        per_year.push(YearCost {
            year,
            working_days: requested,
            already_used,
            limit: MAX_WORKING_DAYS_PER_YEAR,
        });
    }
    Ok(SuspensionCost { per_year })
}

/// Distinct days of `year` covered by `suspensions` that would otherwise be working days.
fn count_working_days<'a>(cal: &Calendar, suspensions: impl Iterator<Item = &'a Suspension>, year: i32) -> u32 {
    let (Some(jan1), Some(dec31)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return 0;
    };
    let mut days = BTreeSet::new();
    for s in suspensions {
        let from = s.from.max(jan1);
        let to = s.to.min(dec31);
        for day in from.iter_days().take_while(|d| *d <= to) {
            if cal.closed_reason_without_suspensions(day).is_none() {
                days.insert(day);
            }
        }
    }
    // At most 366 days, so the count always fits.
    u32::try_from(days.len()).unwrap_or(u32::MAX)
}
