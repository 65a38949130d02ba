//! What the desk decides, as data: the closed list of effects the apply seam
//! (`workflow::apply`) turns into rows and outbox mail inside the caller's transaction.

use chrono::{DateTime, Utc};

use crate::model::{EventAction, Kind, Level, NoticeKind, Status};

/// How an SLA cycle opened: a new request, or a reopening routed back to the technician who
/// closed it or to the first-level queue. The accounting counts reopenings by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleOpening {
    /// The first cycle of a new request.
    NewRequest,
    /// A requester wrote on a closed ticket and it went straight back to its closer.
    ReopenedToCloser,
    /// A requester wrote on a closed ticket and it went to the first-level queue (the closer
    /// is gone or away).
    ReopenedToQueue,
}

impl CycleOpening {
    /// The spelling of `cycles.opened_as`.
    pub fn as_str(self) -> &'static str {
        match self {
            CycleOpening::NewRequest => "new-request",
            CycleOpening::ReopenedToCloser => "reopened-to-closer",
            CycleOpening::ReopenedToQueue => "reopened-to-queue",
        }
    }
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
        /// When it was taken in: at once when it goes straight back to its closer.
        take_in_at: Option<DateTime<Utc>>,
        /// When it must be resolved, once taken in.
        resolution_due: Option<DateTime<Utc>>,
        /// The level it opens at.
        level: Level,
        /// Why it opened.
        opening: CycleOpening,
    },
    /// Tell these operators (addresses) about the ticket.
    NotifyOperators {
        /// Their addresses, in roster order.
        to: Vec<String>,
        /// What about.
        kind: NoticeKind,
        /// Why, when the notice says (a reopening's route, an overdue deadline).
        reason: String,
        /// The text shown in the notice (the request itself).
        text: String,
    },
    /// The requester's latest stance changes (a reminder, a complaint).
    SetKind(Kind),
    /// A closed ticket reopens: its status and assignee, one more reopening, the outcome and
    /// resolution time cleared.
    Reopen {
        /// `assigned` back to the closer, or `new` in the queue.
        status: Status,
        /// The closer it goes back to.
        assignee: Option<String>,
    },
    /// Tell the requester the ticket reopened (naming the technician it went back to).
    LetterReopened {
        /// The technician's name, when it went straight back to one.
        technician: Option<String>,
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
        /// What.
        action: EventAction,
        /// Details, for people.
        detail: String,
        /// The operator it concerns (the technician a reopened ticket went back to).
        about: Option<String>,
    },
}
