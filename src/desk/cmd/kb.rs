//! `#kb [TITLE]` on a ticket: publish its knowledge-base entry as a reviewed article.

use super::{CommandMail, Refusals, TicketFacts, Working};
use crate::commands::{Command, Done, Problem};
use crate::desk::effect::Effect;

/// The entry exists only once the ticket is resolved: by this mail's `#risolto` or before; a
/// ticket closed out of scope has none.
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, out: &mut Refusals) {
    let resolves_now = mail.commands.iter().any(|c| matches!(c, Command::Resolve));
    if ticket.is_closed() && !ticket.has_kb_entry && !resolves_now {
        out.refuse("#kb", Problem::KbNoEntry { ticket: ticket.id });
    } else if !ticket.is_closed() && !resolves_now {
        out.refuse("#kb", Problem::KbNotResolved { ticket: ticket.id });
    }
}

/// Publishes the entry (the mail's `#risolto`, if any, was folded in before).
pub(super) fn apply(work: &mut Working<'_>, mail: &CommandMail<'_>, title: Option<&str>) {
    if !work.ticket.has_kb_entry {
        return;
    }
    work.effect(Effect::ReviewKbEntry {
        by: mail.operator.email.clone(),
        title: title.map(str::to_string),
    });
    let done = Done::KbReviewed { ticket: work.ticket.id };
    work.done(done);
}
