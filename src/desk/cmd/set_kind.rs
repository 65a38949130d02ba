//! `#sollecito` / `#reclamo`: mark the ticket a reminder or a complaint.

use super::{CommandMail, Refusals, TicketFacts, Working};
use crate::commands::Done;
use crate::commands::Problem;
use crate::desk::effect::Effect;
use crate::desk::roster;
use crate::model::{EventAction, Kind, NoticeKind};

/// Only on an open ticket.
pub(super) fn check(ticket: &TicketFacts<'_>, kind: Kind, out: &mut Refusals) {
    if ticket.is_closed() {
        let tag = if kind == Kind::Complaint {
            "#reclamo"
        } else {
            "#sollecito"
        };
        out.refuse(
            tag,
            Problem::Closed {
                ticket: ticket.id,
                status: ticket.status,
            },
        );
    }
}

/// Marks the ticket; a complaint goes to the supervisors with the operator's text.
pub(super) fn apply(work: &mut Working<'_>, mail: &CommandMail<'_>, kind: Kind) {
    work.effect(Effect::SetKind(kind));
    work.event(mail, EventAction::Kind, kind.as_str());
    if kind == Kind::Complaint {
        work.effect(Effect::NotifyOperators {
            to: roster::addresses(&roster::supervisors(mail.roster)),
            kind: NoticeKind::Complaint,
            reason: String::new(),
            text: mail.body.to_string(),
            screening: false,
            note: String::new(),
        });
    }
    let done = Done::KindSet {
        ticket: work.ticket.id,
        kind,
    };
    work.done(done);
}
