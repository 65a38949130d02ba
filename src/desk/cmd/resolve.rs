//! `#risolto`: close the ticket; the text below the tag is the resolution the requester gets.

use super::{CommandMail, Refusals, Setting, TicketFacts, Working};
use crate::commands::Done;
use crate::commands::Problem;
use crate::desk::effect::{CycleStamp, Effect, Letter, Outcome};
use crate::model::{EventAction, Status};
use crate::sla::resolution_due;

/// Not twice, and never without the resolution text.
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, out: &mut Refusals) {
    if ticket.is_closed() {
        out.refuse(
            "#risolto",
            Problem::AlreadyClosed {
                ticket: ticket.id,
                status: ticket.status,
            },
        );
    } else if mail.body.is_empty() {
        out.refuse("#risolto", Problem::ResolutionMissing);
    }
}

/// Closes the ticket as resolved.
pub(super) fn apply<'a>(work: &mut Working<'a>, mail: &CommandMail<'a>, setting: &Setting<'_>) {
    close(work, mail, setting, Outcome::Resolved);
}

/// Closes the ticket with one letter that names the technician: for a ticket nobody took in
/// yet, that letter is also the take-in (issue 21, item 11: a take-in letter and a closing
/// letter in the same second contradicted each other); it stops the resolution clock; a
/// resolution (never an out-of-scope closing, which solves nothing) feeds the knowledge base.
/// A requester without e-mail gets no letter: the closing call the operator records (with
/// `#telefono` on the same mail, or by default) is their notice of resolution, and their
/// take-in too when nobody called them back before (issue 20, case 2).
pub(super) fn close<'a>(work: &mut Working<'a>, mail: &CommandMail<'a>, setting: &Setting<'_>, outcome: Outcome) {
    let untaken = work.ticket.take_in_at.is_none();
    let due = resolution_due(setting.calendar, setting.sla, work.ticket.level, mail.now);
    let by_phone = !work.ticket.reads_mail;
    let stamp = match (by_phone, untaken) {
        (true, _) => None,
        (false, true) => Some(CycleStamp::TakeInAndResolution { resolution_due: due }),
        (false, false) => Some(CycleStamp::Resolution),
    };
    if work.ticket.status == Status::New {
        work.effect(Effect::Assign {
            technician: mail.operator.email.clone(),
            by: mail.operator.email.clone(),
        });
    }
    let letter = match outcome {
        Outcome::Resolved => Letter::Closing {
            text: mail.body.to_string(),
            operator: mail.operator.name.clone(),
            signed: super::answer::is_signed(mail.body, &mail.operator.name),
        },
        Outcome::OutOfScope => Letter::OutOfScope {
            text: mail.body.to_string(),
            operator: mail.operator.name.clone(),
        },
    };
    work.effect(Effect::Letter { letter, stamp });
    if by_phone {
        if untaken {
            work.effect(Effect::TakeInByPhone { resolution_due: due });
        }
        work.effect(Effect::ResolvedByPhone);
    }
    work.effect(Effect::Resolve {
        by: mail.operator.email.clone(),
        outcome,
    });
    let action = match outcome {
        Outcome::Resolved => EventAction::Resolved,
        Outcome::OutOfScope => EventAction::OutOfScope,
    };
    work.event(mail, action, mail.body);
    // One incident is one solution: the master's entry speaks for the tickets linked to it.
    if outcome == Outcome::Resolved && work.ticket.master.is_none() {
        work.effect(Effect::RecordKbResolution {
            text: mail.body.to_string(),
        });
        work.ticket.has_kb_entry = true;
    }
    if outcome == Outcome::Resolved && work.ticket.followers > 0 {
        work.effect(Effect::ResolveFollowers {
            by: mail.operator.email.clone(),
            text: mail.body.to_string(),
        });
    }
    if work.ticket.take_in_at.is_none() {
        work.ticket.take_in_at = Some(mail.now);
    }
    if work.ticket.status == Status::New {
        work.ticket.assignee = Some(&mail.operator.email);
    }
    work.ticket.status = Status::Resolved;
    let done = Done::Closed {
        ticket: work.ticket.id,
        out_of_scope: outcome == Outcome::OutOfScope,
    };
    work.done(done);
    if outcome == Outcome::Resolved && work.ticket.followers > 0 {
        let done = Done::IncidentClosed {
            master: work.ticket.id,
            followers: work.ticket.followers,
        };
        work.done(done);
    }
}
