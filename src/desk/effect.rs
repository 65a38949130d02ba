//! What the desk decides, as data: the closed list of effects the apply seam
//! (`workflow::apply`) turns into rows and outbox mail inside the caller's transaction.

use chrono::{DateTime, Utc};

use crate::model::Level;

/// How an SLA cycle opened: a new request, or a reopening routed back to the technician who
/// closed it or to the first-level queue. The accounting counts reopenings by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleOpening {
    /// The first cycle of a new request.
    NewRequest,
}

/// One thing the desk decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Open an SLA cycle of the ticket.
    OpenCycle {
        /// 1 for a new request.
        number: u32,
        /// When the request (or the reopening message) arrived.
        received_at: DateTime<Utc>,
        /// When the clock starts (the next business instant).
        effective_start: DateTime<Utc>,
        /// When it must be taken in.
        take_in_due: DateTime<Utc>,
        /// The level it opens at.
        level: Level,
        /// Why it opened.
        opening: CycleOpening,
    },
    /// Tell these operators (addresses) about the ticket.
    NotifyOperators {
        /// Their addresses, in roster order.
        to: Vec<String>,
        /// What about (`new`, …: the notice template's kind).
        kind: &'static str,
        /// The text shown in the notice (the request itself).
        text: String,
    },
    /// Send the requester the acknowledgment: the number, the take-in due time, the hours,
    /// any suspension and the status link.
    Acknowledge {
        /// Take-in due, as promised.
        take_in_due: DateTime<Utc>,
        /// Attachments dropped on the way in.
        dropped: Vec<String>,
    },
    /// Record an audit event on the ticket.
    Event {
        /// Who (an address, or `system`).
        actor: String,
        /// What (the event action).
        action: &'static str,
        /// Details.
        detail: String,
    },
}
