//! SLA time arithmetic of the help desk: the business calendar (working days, service
//! windows, closures), the deadlines derived from it, and the validation of service
//! suspensions.
//!
//! Everything here is pure: no I/O and no clock. The current time, the configuration and
//! the stored suspensions are always passed in, so results are reproducible and testable.
//! All instants are `DateTime<Utc>` with whole-second precision; local time (default
//! `Europe/Rome`) is used only inside [`calendar`].
//!
//! * [`accounting`] — how the monthly report counts TP and TR of a cycle, and the day a
//!   request belongs to.
//! * [`calendar`] — closed days and their reasons, business time, effective start.
//! * [`deadline`] — take-in and resolution deadlines of a ticket cycle, met/breached.
//! * [`standing`] — where a running clock stands (ok, at risk, breached).
//! * [`suspension`] — checks a new suspension against notice, overlap and yearly quota.

pub mod accounting;
pub mod calendar;
pub mod deadline;
pub mod standing;
pub mod suspension;

pub use calendar::{
    Calendar, CalendarRules, ClosedReason, Holiday, HolidayKind, LocalHoliday, RulesError, Suspension,
    UNREACHABLE_AFTER_DAYS, Window, easter_sunday, truncate_to_second,
};
pub use deadline::{CycleDeadlines, SlaBudgets, is_met, resolution_due, take_in_due};
pub use suspension::{
    MAX_WORKING_DAYS_PER_YEAR, MIN_NOTICE_DAYS, SuspensionCost, SuspensionError, YearCost, check_new_suspension,
};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
