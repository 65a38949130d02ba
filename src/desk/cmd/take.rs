//! `#prendo`: take the ticket in.

use super::{CommandMail, Refusals, Setting, TicketFacts, Working};
use crate::commands::Done;
use crate::commands::Problem;
use crate::config::Operator;
use crate::desk::effect::{CycleStamp, Effect, Letter};
use crate::model::{NoticeKind, Status};
use crate::sla::resolution_due;

/// A closed ticket cannot be taken in, and one another technician holds is taken over only by
/// a supervisor (issue 15, item 1: a second `#prendo` silently took it over).
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, out: &mut Refusals) {
    if ticket.is_closed() {
        out.refuse(
            "#prendo",
            Problem::Closed {
                ticket: ticket.id,
                status: ticket.status,
            },
        );
    } else if let Some(holder) = held_by_another(ticket, mail) {
        out.refuse(
            "#prendo",
            Problem::HeldBy {
                ticket: ticket.id,
                holder: holder.name.clone(),
            },
        );
    }
}

/// The technician holding the open ticket, when that is someone other than the sender who
/// is at work today — and the sender is no supervisor. A holder who is away, or no longer an
/// operator, holds nothing colleagues must wait for.
pub(super) fn held_by_another<'r>(ticket: &TicketFacts<'_>, mail: &CommandMail<'r>) -> Option<&'r Operator> {
    if ticket.status != Status::Assigned || crate::desk::roster::may_override(mail.operator) {
        return None;
    }
    let holder = crate::desk::roster::by_address(mail.roster, ticket.assignee?)?;
    (!holder.away && !holder.email.eq_ignore_ascii_case(&mail.operator.email)).then_some(holder)
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
/// handover note; so does the technician who held it before, unless they sent the mail.
pub(super) fn take_in<'a>(
    work: &mut Working<'a>,
    mail: &CommandMail<'a>,
    setting: &Setting<'_>,
    technician: &'a Operator,
) -> Done {
    // A requester without e-mail (or whose address bounces) reads no letter: their call-back
    // is the take-in (`phone`).
    let first_take_in = work.ticket.take_in_at.is_none() && work.ticket.reads_mail;
    let previous = work.ticket.assignee.filter(|_| work.ticket.status == Status::Assigned);
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
    tell_previous_holder(work, mail, previous, technician);
    work.ticket.status = Status::Assigned;
    work.ticket.assignee = Some(&technician.email);
    if first_take_in {
        work.ticket.take_in_at = Some(mail.now);
        work.ticket.resolution_due = Some(due);
    }
    Done::Assigned {
        ticket: work.ticket.id,
        technician: technician.name.clone(),
        awaiting_call: !work.ticket.reads_mail && work.ticket.take_in_at.is_none(),
    }
}

/// The technician who held the ticket before `technician` hears that it moved, unless they
/// moved it themselves (or it did not move).
pub(super) fn tell_previous_holder(
    work: &mut Working<'_>,
    mail: &CommandMail<'_>,
    previous: Option<&str>,
    technician: &Operator,
) {
    let Some(previous) = previous else { return };
    if previous.eq_ignore_ascii_case(&technician.email) || previous.eq_ignore_ascii_case(&mail.operator.email) {
        return;
    }
    work.effect(Effect::NotifyOperators {
        to: vec![previous.to_string()],
        kind: NoticeKind::TakenOver,
        reason: format!("{} (da {})", technician.name, mail.operator.name),
        text: String::new(),
        screening: false,
        note: mail.body.to_string(),
    });
}
