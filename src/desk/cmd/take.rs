//! `#prendo`: take the ticket in.

use super::{CommandMail, Refusals, Setting, TicketFacts, Working};
use crate::commands::Done;
use crate::commands::Problem;
use crate::config::Operator;
use crate::desk::effect::{CycleStamp, Effect, Letter};
use crate::model::{NoticeKind, Status};
use crate::sla::resolution_due;

/// A closed ticket cannot be taken in.
pub(super) fn check(ticket: &TicketFacts<'_>, out: &mut Refusals) {
    if ticket.is_closed() {
        out.refuse(
            "#prendo",
            Problem::Closed {
                ticket: ticket.id,
                status: ticket.status,
            },
        );
    }
}

/// True when `operator` already holds the open ticket: `#prendo` again changes nothing,
/// sends the requester no second "presa in carico", and counts no second take-in.
pub fn is_already_held(ticket: &TicketFacts<'_>, operator: &str) -> bool {
    ticket.status == Status::Assigned && ticket.assignee.is_some_and(|a| a.eq_ignore_ascii_case(operator))
}

/// Takes the ticket in for its sender — or, when they hold it already, changes nothing and
/// says so.
pub(super) fn apply<'a>(work: &mut Working<'a>, mail: &CommandMail<'a>, setting: &Setting<'_>) {
    if is_already_held(&work.ticket, &mail.operator.email) {
        work.decision.nothing_changed = true;
        let done = Done::AlreadyHeld { ticket: work.ticket.id };
        return work.done(done);
    }
    let done = take_in(work, mail, setting, mail.operator);
    work.done(done);
}

/// Hands the ticket to `technician`, with the letter that names them to the requester. The
/// first such letter of a cycle is its take-in confirmation, which stops the take-in clock;
/// every later one only tells the requester who now handles the ticket. The technician hears
/// about it unless they sent the mail, with the request and the text below the tags as the
/// handover note.
pub(super) fn take_in<'a>(
    work: &mut Working<'a>,
    mail: &CommandMail<'a>,
    setting: &Setting<'_>,
    technician: &'a Operator,
) -> Done {
    // A requester without e-mail reads no letter: their call-back is the take-in (`phone`).
    let first_take_in = work.ticket.take_in_at.is_none() && work.ticket.requester_email.is_some();
    let due = match work.ticket.resolution_due {
        Some(due) if !first_take_in => due,
        _ => resolution_due(setting.calendar, setting.sla, work.ticket.level, mail.now),
    };
    work.effect(Effect::Assign {
        technician: technician.email.clone(),
        by: mail.operator.email.clone(),
    });
    work.effect(Effect::Letter {
        letter: Letter::TakeIn {
            technician: technician.name.clone(),
            resolution_due: due,
        },
        stamp: first_take_in.then_some(CycleStamp::TakeIn { resolution_due: due }),
    });
    if technician.email != mail.operator.email {
        work.effect(Effect::NotifyOperators {
            to: vec![technician.email.clone()],
            kind: NoticeKind::Assigned,
            reason: format!("da {}", mail.operator.name),
            text: work.ticket.request.to_string(),
            screening: false,
            note: mail.body.to_string(),
        });
    }
    work.ticket.status = Status::Assigned;
    work.ticket.assignee = Some(&technician.email);
    if first_take_in {
        work.ticket.take_in_at = Some(mail.now);
        work.ticket.resolution_due = Some(due);
    }
    Done::Assigned {
        ticket: work.ticket.id,
        technician: technician.name.clone(),
        awaiting_call: work.ticket.requester_email.is_none() && work.ticket.take_in_at.is_none(),
    }
}
