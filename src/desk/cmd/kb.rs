//! `#kb [TITLE]` on a ticket: publish its knowledge-base entry as a reviewed article.
//! `#kb no KB-N` on a ticket (a reply to its notice): entry N, suggested for it, does not fit
//! its request; the knowledge base suggests it less for similar ones. An entry that does not
//! exist (a mistyped number) is refused, so the operator is not told it was marked.

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

/// `#kb no KB-N`: the entry must exist (the edge looked it up).
pub(super) fn check_wrong(mail: &CommandMail<'_>, entry: i64, out: &mut Refusals) {
    let exists = mail
        .lookups
        .kb_entries
        .iter()
        .any(|(id, exists)| *id == entry && *exists);
    if !exists {
        out.refuse(format!("#kb no KB-{entry}"), Problem::KbNoSuchEntry { entry });
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

/// Marks a suggested entry wrong for this ticket's request.
pub(super) fn apply_wrong(work: &mut Working<'_>, mail: &CommandMail<'_>, entry: i64) {
    work.effect(Effect::MarkKbWrong {
        by: mail.operator.email.clone(),
        entry,
    });
    let done = Done::KbMarkedWrong {
        ticket: work.ticket.id,
        entry,
    };
    work.done(done);
}
