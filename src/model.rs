//! Plain data shared by every module: ticket identifiers, channels, levels, states and kinds.
//!
//! Nothing here touches I/O or the clock. Each enum carries the one spelling used in the
//! database, the CLI and JSON (`as_str` / `FromStr`), so every layer writes them the same way.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

/// Declares a closed set of values with one canonical lowercase spelling each.
macro_rules! spelled_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling (database, CLI, JSON).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} {other:?} (expected one of: {})",
                        stringify!($name).to_lowercase(),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

spelled_enum! {
    /// How a request reached the help desk (the contract's three channels).
    Channel {
        /// The form inside CPortal: the preferred channel.
        Portal => "portal",
        /// E-mail to the help-desk address.
        Email => "email",
        /// A phone call: the caller leaves a number and is called back.
        Phone => "phone",
    }
}

spelled_enum! {
    /// Where a ticket is in the contract's procedure.
    Status {
        /// Received, nobody has taken it in yet.
        New => "new",
        /// Taken in by one technician.
        Assigned => "assigned",
        /// Closed as resolved; a reply reopens it.
        Resolved => "resolved",
        /// Resolved and untouched for `archive_after_days`; a reply still reopens it.
        Archived => "archived",
    }
}

spelled_enum! {
    /// What the requester's latest stance on the ticket is.
    Kind {
        /// A problem report: the normal case.
        Problem => "problem",
        /// A reminder ("sollecito") on an overdue ticket.
        Reminder => "reminder",
        /// A complaint ("reclamo"): always reaches the supervisors.
        Complaint => "complaint",
    }
}

spelled_enum! {
    /// What an audit event records (`events.action`): one spelling each, for the writers and
    /// for the accounting that reads them back.
    EventAction {
        /// A ticket was opened.
        Created => "created",
        /// The requester was acknowledged (the outbox Message-ID in the detail).
        Acknowledged => "acknowledged",
        /// The acknowledgment was not sent: the address had its hourly share.
        AckSuppressed => "ack-suppressed",
        /// A letter could not be sent (no address, or an undeliverable one).
        NoMail => "no-mail",
        /// A requester or participant wrote on the ticket.
        Message => "message",
        /// A stranger wrote naming the ticket: stored, flagged, told nothing.
        UnverifiedSender => "unverified-sender",
        /// A thank-you after closure that did not reopen the ticket.
        Thanks => "thanks",
        /// An operator forwarded a citizen's mail: the ticket was opened on the citizen's behalf.
        Forwarded => "forwarded",
        /// The requester answered the remote-session invitation (accepted, declined, …).
        InvitationAnswered => "invitation-answered",
        /// A closed ticket reopened.
        Reopened => "reopened",
        /// A requester wrote after a deadline passed.
        Reminder => "reminder",
        /// The requester's stance changed (reminder, complaint).
        Kind => "kind",
        /// An operator took the ticket in, or it was handed to one.
        Assigned => "assigned",
        /// An operator answered the requester.
        Answered => "answered",
        /// The ticket moved to second level.
        Escalated => "escalated",
        /// The ticket was closed as resolved.
        Resolved => "resolved",
        /// The ticket was closed as outside the service.
        OutOfScope => "out-of-scope",
        /// An internal note.
        Note => "note",
        /// A phone call with the requester.
        Phone => "phone",
        /// A remote-desktop session was planned.
        Remote => "remote",
        /// Time worked was logged.
        Time => "time",
        /// The ticket's knowledge-base entry became a reviewed article.
        KbReviewed => "kb-reviewed",
        /// An operator recorded an absence or their return.
        Away => "away",
        /// An operator's command was refused (the line and why in the detail).
        CommandRefused => "command-refused",
        /// The ticket was linked to an incident's master (`#collega`; the master in the detail).
        Linked => "linked",
        /// An operator asked a colleague (`#chiedi`; the colleague in the detail).
        Asked => "asked",
        /// Mail from an operator's address failed authentication.
        UnauthenticatedOperatorMail => "unauthenticated-operator-mail",
        /// A believed delivery failure marked the address undeliverable.
        Undeliverable => "undeliverable",
        /// The address wrote again: its undeliverable mark no longer holds.
        Deliverable => "deliverable",
        /// A delivery report that refers to no mail of ours: nothing marked.
        UnverifiedBounce => "unverified-bounce",
        /// A read, not-read or delivery receipt for mail of the ticket: recorded, nothing else.
        Receipt => "receipt",
        /// A message could not be read or applied.
        Quarantined => "quarantined",
        /// A resolved ticket idle long enough was archived.
        Archived => "archived",
        /// The take-in deadline is near.
        TakeInWarning => "take_in_warning",
        /// The take-in deadline passed.
        TakeInBreach => "take_in_breach",
        /// The resolution deadline is near.
        ResolutionWarning => "resolution_warning",
        /// The resolution deadline passed.
        ResolutionBreach => "resolution_breach",
        /// An operator added or removed someone in copy (`#cc`; `+address` or `-address`).
        Copy => "cc",
        /// The ticket was closed as spam: no letter, out of the SLA figures.
        Spam => "spam",
        /// Mail from a sender marked as spam was quarantined without reaching a ticket.
        SpamQuarantined => "spam-quarantined",
        /// The night's retention deleted raw mail or anonymised tickets (the counts in the detail).
        Retention => "retention",
        /// A person's data was erased on request (who asked, and why; never whose).
        PrivacyErased => "privacy-erased",
        /// A person's data was exported on request (who asked; never whose).
        PrivacyExported => "privacy-exported",
        /// The requester voted their satisfaction with the closed cycle.
        Voted => "voted",
    }
}

spelled_enum! {
    /// Why a mail leaves the help desk (`outbox.purpose`): the letter, notice or report it is.
    MailPurpose {
        /// The acknowledgment of a new request.
        Ack => "ack",
        /// The take-in confirmation naming the technician.
        TakeIn => "take_in",
        /// An operator's answer to the requester.
        Answer => "answer",
        /// The requester is told the ticket went to second level.
        Escalated => "escalated",
        /// The resolution.
        Closing => "closing",
        /// The request is outside the service: whom to ask instead.
        OutOfScope => "out_of_scope",
        /// A remote-desktop invitation.
        Remote => "remote",
        /// The requester is told the ticket reopened.
        Reopened => "reopened",
        /// The requester is told which attachments were dropped.
        Attachments => "attachments",
        /// A notice to operators (under a keyed Message-ID).
        Notify => "notify",
        /// An answer to an operator's command mail.
        OperatorReply => "operator_reply",
        /// The supervisors are told a message was quarantined.
        Quarantined => "quarantined",
        /// The supervisors are told of a refused operator mail.
        Security => "security",
        /// The operator is told a mail with their address was refused, and what to ask the IT.
        AuthRefused => "auth_refused",
        /// The supervisors are told a mail keeps failing.
        Stuck => "stuck",
        /// Requesters are told of a planned suspension.
        Suspension => "suspension",
        /// The monthly accounting report.
        Report => "report",
        /// An operator's morning digest (under a keyed Message-ID).
        Digest => "digest",
        /// The supervisors are told the service is in trouble (mailbox, outbox, silence), or no longer.
        ServiceAlarm => "service_alarm",
        /// The requester is told what their vote by mail recorded (or that the vote is closed).
        Vote => "vote",
        /// The closing letter as the requester's copies get it: without the vote's links,
        /// which are the requester's (they open the status page) and a copy cannot use.
        ClosingCopy => "closing_copy",
    }
}

impl MailPurpose {
    /// The `Auto-Submitted` value of an automatic mail of this purpose (RFC 3834): a reply to
    /// the message that caused it, or generated by the help desk on its own (a notice, an
    /// alarm, a report).
    pub fn auto_submitted(self) -> &'static str {
        match self {
            MailPurpose::Ack
            | MailPurpose::Attachments
            | MailPurpose::OperatorReply
            | MailPurpose::Quarantined
            | MailPurpose::Vote => "auto-replied",
            _ => "auto-generated",
        }
    }
}

spelled_enum! {
    /// A requester's answer to a remote-session invitation (iMIP).
    InvitationAnswer {
        /// Accepted.
        Accepted => "accepted",
        /// Declined.
        Declined => "declined",
        /// Maybe.
        Tentative => "tentative",
        /// Another time proposed (`METHOD:COUNTER`).
        Counter => "counter",
    }
}

spelled_enum! {
    /// What a notice to operators is about (the `operator` template's `kind`).
    NoticeKind {
        /// A new request for first level.
        New => "new",
        /// The requester (or a participant) wrote.
        Message => "message",
        /// The ticket was handed to the operator.
        Assigned => "assigned",
        /// The ticket moved to second level.
        Escalated => "escalated",
        /// The requester reopened a closed ticket.
        Reopened => "reopened",
        /// The requester wrote after a deadline passed.
        Reminder => "reminder",
        /// The requester complained.
        Complaint => "complaint",
        /// A stranger wrote naming the ticket.
        Flagged => "flagged",
        /// Mail to the requester could not be delivered.
        Bounce => "bounce",
        /// A deadline is near.
        SlaWarning => "sla_warning",
        /// A deadline passed.
        Breach => "breach",
        /// The requester answered a remote-session invitation.
        Invitation => "invitation",
        /// The ticket the operator held went to another technician.
        TakenOver => "taken_over",
        /// A colleague asks about the ticket (`#chiedi`): a reply is an internal note.
        Question => "question",
        /// The colleague asked replied (their note).
        Reply => "reply",
        /// The requester's satisfaction vote was negative, with a comment.
        NegativeVote => "negative_vote",
    }
}

/// One recorded absence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absence {
    /// The operator's address.
    pub operator: String,
    /// The first day away.
    pub from: NaiveDate,
    /// The last day away.
    pub until: NaiveDate,
    /// The deputy's address, if anyone stands in.
    pub deputy: Option<String>,
    /// Whether its beginning was carried out (the hand-over done, the operator told).
    pub began: bool,
}

impl Absence {
    /// True when `day` is one of its days.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.until
    }
}

/// Support level handling a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// First level: takes requests in and assigns one technician.
    First,
    /// Second level: complex or critical problems, remote desktop allowed.
    Second,
}

impl Level {
    /// The level as the number the contract and the JSON use (1 or 2).
    pub fn number(self) -> u8 {
        match self {
            Level::First => 1,
            Level::Second => 2,
        }
    }

    /// The level for a number, if it is 1 or 2.
    pub fn from_number(n: i64) -> Option<Level> {
        match n {
            1 => Some(Level::First),
            2 => Some(Level::Second),
            _ => None,
        }
    }
}

/// A ticket identifier, `TCK-YYYY-NNNNN`: numbered per year, no gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketId {
    /// The year the ticket was opened (its counter's year).
    pub year: i32,
    /// The ticket's number within its year, from 1.
    pub number: u32,
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TCK-{:04}-{:05}", self.year, self.number)
    }
}

impl FromStr for TicketId {
    type Err = String;

    /// Parses `TCK-YYYY-NNNNN` (case-insensitive prefix, at least five digits of number).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a ticket id (expected TCK-YYYY-NNNNN)");
        let rest = s
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("TCK-"))
            .and_then(|_| s.get(4..))
            .ok_or_else(bad)?;
        let (year, number) = rest.split_once('-').ok_or_else(bad)?;
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if year.len() != 4 || !digits(year) || number.len() < 5 || number.len() > 9 || !digits(number) {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let number: u32 = number.parse().map_err(|_| bad())?;
        if number == 0 {
            return Err(bad());
        }
        Ok(TicketId { year, number })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_id_round_trips_and_rejects_garbage() {
        let id: TicketId = "TCK-2026-00042".parse().expect("valid id");
        assert_eq!(id, TicketId { year: 2026, number: 42 });
        assert_eq!(id.to_string(), "TCK-2026-00042");
        assert_eq!("tck-2026-123456".parse::<TicketId>().map(|t| t.number), Ok(123456));
        for bad in [
            "",
            "TCK-",
            "TCK-26-00001",
            "TCK-2026-1",
            "TCK-2026-00000",
            "XYZ-2026-00001",
            "TCK-2026-0000a",
            "TCK-2026-0000١",
        ] {
            assert!(bad.parse::<TicketId>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn enums_spell_themselves_the_same_both_ways() {
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>(), Ok(*c));
        }
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(*s));
        }
        assert!(
            "closed"
                .parse::<Status>()
                .unwrap_err()
                .contains("new, assigned, resolved, archived")
        );
        assert_eq!(Level::from_number(2), Some(Level::Second));
        assert_eq!(Level::from_number(3), None);
    }

    #[test]
    fn every_event_action_has_one_spelling_that_reads_back() {
        let mut seen = std::collections::HashSet::new();
        for action in EventAction::ALL {
            assert!(seen.insert(action.as_str()), "{} spelled twice", action.as_str());
            assert_eq!(action.as_str().parse::<EventAction>(), Ok(*action));
        }
        // The accounting's reads name these spellings in SQL: they must exist.
        for read_back in [
            "assigned",
            "resolved",
            "out-of-scope",
            "escalated",
            "reopened",
            "note",
            "phone",
            "time",
        ] {
            assert!(read_back.parse::<EventAction>().is_ok(), "{read_back}");
        }
    }
}
