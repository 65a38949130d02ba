//! `#fuoriambito`: the request is not the help desk's; the requester is told whom to ask.

use super::{CommandMail, Refusals, Setting, TicketFacts, Working};
use crate::commands::Problem;
use crate::desk::effect::Outcome;

/// Not on a ticket that is closed already.
pub(super) fn check(ticket: &TicketFacts<'_>, out: &mut Refusals) {
    if ticket.is_closed() {
        out.refuse(
            "#fuoriambito",
            Problem::AlreadyClosed {
                ticket: ticket.id,
                status: ticket.status,
            },
        );
    }
}

/// Closes the ticket as out of scope (see `resolve::close`).
pub(super) fn apply<'a>(work: &mut Working<'a>, mail: &CommandMail<'a>, setting: &Setting<'_>) {
    super::resolve::close(work, mail, setting, Outcome::OutOfScope);
}
