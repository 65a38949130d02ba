//! `#assegna NAME`: hand the ticket to another operator.

use super::{CommandMail, Refusals, Setting, TicketFacts, Working};
use crate::commands::{Done, Problem};

/// The operator must exist and be at work; a closed ticket is not handed on, and one held by
/// another technician only by them or a supervisor.
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, who: &str, out: &mut Refusals) {
    let Some(named) = mail.operator_named(who) else {
        return out.refuse(format!("#assegna {who}"), super::no_such_operator(mail, who));
    };
    if let Some(problem) = super::away_problem(mail, named) {
        out.refuse(format!("#assegna {who}"), problem);
    } else if let Some(holder) = super::take::held_by_another(ticket, mail) {
        out.refuse(
            format!("#assegna {who}"),
            Problem::HeldBy {
                ticket: ticket.id,
                holder: holder.name.clone(),
            },
        );
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

/// Hands the ticket to the operator named (see `take::take_in`) — unless they hold it already:
/// the requester is told a new name once, never the same one twice.
pub(super) fn apply<'a>(work: &mut Working<'a>, mail: &CommandMail<'a>, setting: &Setting<'_>, who: &str) {
    // `check` refused the mail when nobody is called so.
    let Some(technician) = mail.operator_named(who) else {
        return;
    };
    if super::take::is_already_held(&work.ticket, &technician.email) {
        work.decision.nothing_changed = true;
        let done = Done::AlreadyWith {
            ticket: work.ticket.id,
            technician: technician.name.clone(),
        };
        return work.done(done);
    }
    let done = super::take::take_in(work, mail, setting, technician);
    work.done(done);
}
