//! `#assegna NAME`: hand the ticket to another operator.

use super::{CommandMail, Refusals, Setting, TicketFacts, Working};
use crate::commands::Problem;

/// The operator must exist; a closed ticket is not handed on.
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, who: &str, out: &mut Refusals) {
    if mail.operator_named(who).is_none() {
        out.refuse(format!("#assegna {who}"), super::no_such_operator(mail, who));
    } else if ticket.is_closed() {
        out.refuse(
            "#assegna",
            Problem::Closed {
                ticket: ticket.id,
                status: ticket.status,
            },
        );
    }
}

/// Hands the ticket to the operator named (see `take::take_in`).
pub(super) fn apply<'a>(work: &mut Working<'a>, mail: &CommandMail<'a>, setting: &Setting<'_>, who: &str) {
    // `check` refused the mail when nobody is called so.
    if let Some(technician) = mail.operator_named(who) {
        let done = super::take::take_in(work, mail, setting, technician);
        work.done(done);
    }
}
