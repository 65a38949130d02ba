//! The one place that reads the wall clock.
//!
//! Every other module receives `now` as an argument. `--now RFC3339` pins the clock for
//! one-shot commands (replays, tests) and shifts it for the long-running daemon, so a whole
//! day of the help desk can be replayed from any instant.

use chrono::{DateTime, TimeDelta, Utc};

/// Where "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// Always this instant (one-shot commands with `--now`).
    Fixed(DateTime<Utc>),
    /// The system clock moved by a constant offset (the daemon with `--now`): time still
    /// passes, starting from the given instant.
    Shifted(TimeDelta),
}

impl Clock {
    /// A clock that starts at `start` and keeps running.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock::Shifted(start - Utc::now())
    }

    /// The current instant according to this clock.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => *t,
            Clock::Shifted(offset) => Utc::now() + *offset,
        }
    }
}
