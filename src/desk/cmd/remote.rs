//! `#remoto YYYY-MM-DD HH:MM [minutes]`: a remote-desktop session, with an invitation to the
//! requester.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

use super::{CommandMail, Refusals, Setting, TicketFacts, Working};
use crate::commands::Done;
use crate::commands::Problem;
use crate::desk::effect::{Effect, Letter};
use crate::model::{EventAction, Level};

/// Second level only, a requester with an address to invite, and a real local time still to
/// come (a time skipped by the change to summer time is not one).
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, at: NaiveDateTime, out: &mut Refusals) {
    if mail.operator.level != Level::Second {
        out.refuse("#remoto", Problem::RemoteIsSecondLevel);
    }
    if ticket.requester_email.is_none() {
        out.refuse("#remoto", Problem::RemoteWithoutAddress);
    }
    if start_of(mail, at).is_none_or(|t| t < mail.now) {
        out.refuse("#remoto", Problem::RemoteTimeInvalid { at });
    }
}

/// The session's start: `at` in the help desk's time zone (the earlier instant when the clock
/// change repeats it), none when the clock change skips it.
fn start_of(mail: &CommandMail<'_>, at: NaiveDateTime) -> Option<DateTime<Utc>> {
    mail.timezone
        .from_local_datetime(&at)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Sends the invitation.
pub(super) fn apply(
    work: &mut Working<'_>,
    mail: &CommandMail<'_>,
    setting: &Setting<'_>,
    at: NaiveDateTime,
    minutes: u32,
) {
    // `check` refused the mail when `at` is no instant.
    let Some(start) = start_of(mail, at) else { return };
    work.effect(Effect::Letter {
        letter: Letter::Remote {
            start,
            minutes,
            operator: mail.operator.name.clone(),
            text: mail.body.to_string(),
        },
        stamp: None,
    });
    work.event(
        mail,
        EventAction::Remote,
        &format!("{} for {minutes} min", start.format("%Y-%m-%dT%H:%M:%SZ")),
    );
    work.done(Done::RemoteInvited {
        when: (setting.local_time)(start),
    });
}
