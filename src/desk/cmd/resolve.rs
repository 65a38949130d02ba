//! `#risolto`: close the ticket; the text below the tag is the resolution the requester gets.

use super::{CommandMail, Refusals, Setting, TicketFacts, Working};
use crate::desk::effect::{CycleStamp, Effect, Letter, Outcome};
use crate::model::{EventAction, Status};

/// Not twice, and never without the resolution text.
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, out: &mut Refusals) {
    if ticket.is_closed() {
        out.refuse("#risolto", format!("{} is already {}", ticket.id, ticket.status));
    } else if mail.body.is_empty() {
        out.refuse(
            "#risolto",
            "write the resolution below the tag: it is sent to the requester",
        );
    }
}

/// Closes the ticket as resolved.
pub(super) fn apply<'a>(work: &mut Working<'a>, mail: &CommandMail<'a>, setting: &Setting<'_>) {
    close(work, mail, setting, Outcome::Resolved);
}

/// Closes the ticket: a ticket nobody took in is taken in first by the closer; the closing
/// letter stops the resolution clock; a resolution (never an out-of-scope closing, which solves
/// nothing) feeds the knowledge base.
pub(super) fn close<'a>(work: &mut Working<'a>, mail: &CommandMail<'a>, setting: &Setting<'_>, outcome: Outcome) {
    if work.ticket.status == Status::New {
        let line = super::take::take_in(work, mail, setting, mail.operator);
        work.done(line);
    }
    let letter = match outcome {
        Outcome::Resolved => Letter::Closing {
            text: mail.body.to_string(),
            operator: mail.operator.name.clone(),
        },
        Outcome::OutOfScope => Letter::OutOfScope {
            text: mail.body.to_string(),
        },
    };
    work.effect(Effect::Letter {
        letter,
        stamp: Some(CycleStamp::Resolution),
    });
    work.effect(Effect::Resolve {
        by: mail.operator.email.clone(),
        outcome,
    });
    let action = match outcome {
        Outcome::Resolved => EventAction::Resolved,
        Outcome::OutOfScope => EventAction::OutOfScope,
    };
    work.event(mail, action, mail.body);
    if outcome == Outcome::Resolved {
        work.effect(Effect::RecordKbResolution {
            text: mail.body.to_string(),
        });
        work.ticket.has_kb_entry = true;
    }
    work.ticket.status = Status::Resolved;
    let line = format!("{} chiusa ({action})", work.ticket.id);
    work.done(line);
}
