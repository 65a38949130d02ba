//! What the desk decides, as data: the closed list of effects the apply seam
//! (`workflow::apply`) turns into rows and outbox mail inside the caller's transaction.

use chrono::{DateTime, NaiveDate, Utc};

use crate::model::{EventAction, Kind, Level, NoticeKind, Status, TicketId};

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

/// How a ticket was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Solved (`#risolto`): the resolution feeds the knowledge base.
    Resolved,
    /// Not the help desk's business (`#fuoriambito`).
    OutOfScope,
}

impl Outcome {
    /// The spelling of `tickets.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Resolved => "resolved",
            Outcome::OutOfScope => "out_of_scope",
        }
    }
}

/// What a letter records on the ticket's current SLA cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleStamp {
    /// The take-in confirmation: stops the take-in clock and starts the resolution one.
    TakeIn {
        /// When the resolution is due.
        resolution_due: DateTime<Utc>,
    },
    /// The notice of resolution: stops the resolution clock.
    Resolution,
    /// A ticket nobody took in is closed at once: the one letter that names the technician
    /// and closes it is both the take-in confirmation and the notice of resolution.
    TakeInAndResolution {
        /// When the resolution was due (for the accounting of its cycle).
        resolution_due: DateTime<Utc>,
    },
}

/// A letter to the requester, with what it says beyond the ticket's number and subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Letter {
    /// "Presa in carico": who handles the request and by when it will be resolved.
    TakeIn {
        /// The technician's name.
        technician: String,
        /// When it is due.
        resolution_due: DateTime<Utc>,
    },
    /// The request went to second level.
    Escalated {
        /// The new resolution deadline.
        resolution_due: DateTime<Utc>,
        /// The second-level technician it went to, when one was named.
        technician: Option<String>,
    },
    /// The resolution.
    Closing {
        /// The solution, as the operator wrote it.
        text: String,
        /// The technician's name.
        operator: String,
        /// The text ends with the operator's own signature: the automatic one is left out.
        signed: bool,
    },
    /// Not the help desk's business, with where to turn instead; the request is closed.
    OutOfScope {
        /// The operator's explanation.
        text: String,
        /// The technician's name.
        operator: String,
    },
    /// An invitation to a remote-desktop session (with its iCalendar attachment).
    Remote {
        /// When it starts.
        start: DateTime<Utc>,
        /// How long it lasts.
        minutes: u32,
        /// The technician's name.
        operator: String,
        /// The operator's words.
        text: String,
    },
    /// An operator's answer.
    Answer {
        /// What they wrote.
        text: String,
        /// Their name.
        operator: String,
        /// The text ends with the operator's own signature: the automatic one is left out.
        signed: bool,
    },
    /// The ticket reopened (naming the technician it went back to).
    Reopened {
        /// The technician's name, when it went straight back to one.
        technician: Option<String>,
    },
    /// The answer to a vote by mail (`desk::vote`): what was recorded and until when it can
    /// change, or that the vote is closed.
    Vote {
        /// The score the reply cast.
        score: crate::desk::privacy::Score,
        /// Recorded (false: the vote had closed).
        recorded: bool,
        /// Until when the vote can change (or when it closed).
        until: DateTime<Utc>,
    },
}

/// What an alarm to the supervisors is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmKind {
    /// A mail with an operator's From failed authentication: no command was applied.
    Unauthenticated,
    /// An outgoing mail keeps failing; it stays queued and is retried.
    Stuck,
    /// The service itself is in trouble (the mailbox, the outbox, no mail at all), or no longer.
    Service,
}

/// A trouble of the service itself that calls the supervisors when it lasts (`desk::alarms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceTrouble {
    /// The mailbox cannot be reached or refuses the login.
    Mailbox,
    /// The outbox cannot deliver.
    Outbox,
    /// No mail at all has arrived.
    Silence,
}

impl ServiceTrouble {
    /// Its spelling in templates, logs and `/healthz`.
    pub fn name(self) -> &'static str {
        match self {
            ServiceTrouble::Mailbox => "mailbox",
            ServiceTrouble::Outbox => "outbox",
            ServiceTrouble::Silence => "silence",
        }
    }
}

/// An alarm to the supervisors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alarm {
    /// See [`AlarmKind::Unauthenticated`].
    Unauthenticated {
        /// The From address of the refused mail.
        from: String,
        /// Its subject.
        subject: String,
        /// The verdict.
        reason: String,
        /// The beginning of its text, for the supervisors to judge.
        text: String,
    },
    /// See [`AlarmKind::Stuck`].
    Stuck {
        /// Who it is for.
        recipients: String,
        /// How many attempts failed.
        attempts: u32,
        /// The last error.
        error: String,
    },
    /// See [`AlarmKind::Service`]: one mail when the incident is raised, one when it ends.
    Service {
        /// What is in trouble.
        trouble: ServiceTrouble,
        /// The incident is over.
        ended: bool,
        /// When the trouble began (silence: the last mail that arrived).
        since: DateTime<Utc>,
        /// What the daemon last saw of it, in plain words.
        detail: String,
    },
}

impl Alarm {
    /// Which alarm.
    pub fn kind(&self) -> AlarmKind {
        match self {
            Alarm::Unauthenticated { .. } => AlarmKind::Unauthenticated,
            Alarm::Stuck { .. } => AlarmKind::Stuck,
            Alarm::Service { .. } => AlarmKind::Service,
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
        /// The text shown in the notice (the request itself, a handover note).
        text: String,
        /// Include the ticket's whole screening so far (an escalation).
        screening: bool,
        /// The note of the operator who handed the ticket on (the text below `#assegna` or
        /// `#secondolivello`), shown apart from the request.
        note: String,
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
    /// Send the requester a letter; `stamp` records on the current SLA cycle what the letter
    /// is (the take-in confirmation, the notice of resolution), with the letter's Message-ID —
    /// also when the requester has no usable address and no letter leaves.
    Letter {
        /// Which letter.
        letter: Letter,
        /// What it stamps on the cycle.
        stamp: Option<CycleStamp>,
    },
    /// The ticket is handed to `technician` (an address) by `by`: the accounting credits them.
    Assign {
        /// Who now holds it.
        technician: String,
        /// Who handed it over.
        by: String,
    },
    /// The ticket moves to second level; its resolution is now due at `resolution_due`.
    Escalate {
        /// The second level's resolution deadline.
        resolution_due: DateTime<Utc>,
    },
    /// The ticket is closed by `by`.
    Resolve {
        /// Who closed it (the technician a reopening goes back to).
        by: String,
        /// How.
        outcome: Outcome,
    },
    /// A phone request without e-mail is taken in by the operator's call-back itself.
    TakeInByPhone {
        /// When its resolution is due.
        resolution_due: DateTime<Utc>,
    },
    /// A requester without e-mail was told of the resolution by the closing call the operator
    /// recorded: for them that call is the notice of resolution, and stops the resolution
    /// clock (no closing mail can leave).
    ResolvedByPhone,
    /// `by` worked `minutes` on the ticket (negative: a correction).
    LogTime {
        /// The operator.
        by: String,
        /// How long.
        minutes: i32,
    },
    /// The resolution text becomes (or updates) the ticket's knowledge-base entry.
    RecordKbResolution {
        /// The resolution, as the operator wrote it (redacted on the way in).
        text: String,
    },
    /// Entry `entry` was the answer given on the ticket (`#risposta kb:ID`): `kb::record_use`,
    /// so it ranks higher for similar requests.
    RecordKbUse {
        /// Who answered with it.
        by: String,
        /// The entry.
        entry: i64,
    },
    /// Entry `entry` was suggested for the ticket and is wrong for its request (`#kb no KB-N`):
    /// `kb::mark_wrong`.
    MarkKbWrong {
        /// Who said so.
        by: String,
        /// The entry.
        entry: i64,
    },
    /// The ticket's knowledge-base entry is published as reviewed (`#kb [TITLE]`), with an event.
    ReviewKbEntry {
        /// Who reviewed it.
        by: String,
        /// Its new title, when given.
        title: Option<String>,
    },
    /// Send the requester the acknowledgment: the number, the take-in due time, the hours,
    /// any suspension and the status link.
    Acknowledge {
        /// Take-in due, as promised.
        take_in_due: DateTime<Utc>,
        /// Attachments dropped on the way in.
        dropped: Vec<String>,
    },
    /// Record that the current SLA cycle's `alert` (a warning or breach) was sent: it is
    /// never sent twice, across restarts too.
    MarkAlert(EventAction),
    /// Record an operator's absence (replacing the one recorded).
    RecordAbsence {
        /// The operator's address.
        operator: String,
        /// The first day away.
        from: NaiveDate,
        /// The last day away.
        until: NaiveDate,
        /// The deputy's address.
        deputy: Option<String>,
    },
    /// The operator's absence has begun: its hand-over is done.
    AbsenceBegan {
        /// The operator's address.
        operator: String,
    },
    /// The operator's absence is over (or they are back early): the record goes.
    EndAbsence {
        /// The operator's address.
        operator: String,
    },
    /// Tell an operator, by mail, about a change to their own state that no mail of theirs
    /// asked for just now (their absence beginning or ending).
    TellOperator {
        /// The operator's address.
        to: String,
        /// What happened.
        done: crate::commands::Done,
    },
    /// A resolved ticket idle long enough is archived.
    Archive,
    /// Tell the supervisors about something that concerns no single ticket.
    AlertSupervisors(Alarm),
    /// The supervisors were told that this outbox mail cannot leave: they are not told twice.
    StuckMailReported {
        /// The outbox row.
        outbox_id: i64,
    },
    /// Tell an operator that a mail with their address was refused, and what to ask the IT for.
    OperatorRefused {
        /// The operator's configured address (never the From of the refused mail).
        to: String,
        /// The refused mail's subject.
        subject: String,
        /// The verdict: what the check found missing.
        reason: String,
    },
    /// Send the thread to a colleague as an internal question (`#chiedi`), keyed so that their
    /// reply is an internal note.
    AskColleague {
        /// The colleague's address.
        colleague: String,
        /// The question.
        question: String,
    },
    /// Link the ticket to an incident's master.
    Link {
        /// The master.
        master: TicketId,
    },
    /// The master of an incident was resolved: so is each open ticket linked to it, by the
    /// same operator with the same resolution, each with its own letter and SLA facts.
    ResolveFollowers {
        /// The operator who resolved the master.
        by: String,
        /// The resolution.
        text: String,
    },
    /// Record an audit event (on the ticket, when there is one).
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
    /// `address` is put in copy of the ticket's answers and closing letter (`copied`), or
    /// taken out of the copies.
    SetCopy {
        /// The address, lowercase.
        address: String,
        /// In copy from now on, or no longer.
        copied: bool,
    },
    /// The ticket is closed as spam by `by`: no letter; the accounting leaves it out of the
    /// SLA figures and counts it apart.
    CloseAsSpam {
        /// The operator.
        by: String,
    },
    /// Mail from `address` is quarantined as spam, never reaching a ticket, until `until`.
    QuarantineSender {
        /// The sender, lowercase.
        address: String,
        /// When the quarantine ends.
        until: DateTime<Utc>,
        /// The operator who marked it.
        by: String,
    },
    /// Record (or change) the satisfaction vote of a cycle closed by a closing letter.
    RecordVote {
        /// The cycle's row.
        cycle_id: i64,
        /// The score.
        score: crate::desk::privacy::Score,
        /// The comment, cleaned ("" when none).
        comment: String,
        /// How it arrived.
        via: crate::desk::vote::Via,
    },
}
