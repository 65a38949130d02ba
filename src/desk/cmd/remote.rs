//! `#remoto YYYY-MM-DD HH:MM [minutes]`: a remote-desktop session, with an invitation to the
//! requester.

use chrono::{NaiveDateTime, TimeZone, Utc};

use super::{CommandMail, Refusals, TicketFacts};
use crate::model::Level;

/// Second level only, a requester with an address to invite, and a real local time still to
/// come (a time skipped by the change to summer time is not one).
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, at: NaiveDateTime, out: &mut Refusals) {
    if mail.operator.level != Level::Second {
        out.refuse("#remoto", "remote-desktop sessions are for second-level operators");
    }
    if ticket.requester_email.is_none() {
        out.refuse("#remoto", "the requester has no e-mail address for the invitation");
    }
    if mail
        .timezone
        .from_local_datetime(&at)
        .earliest()
        .is_none_or(|t| t.with_timezone(&Utc) < mail.now)
    {
        out.refuse("#remoto", format!("{at} is in the past or not a valid local time"));
    }
}
