//! `#kb [TITLE]` on a ticket: publish its knowledge-base entry as a reviewed article.

use super::{CommandMail, Refusals, TicketFacts};
use crate::commands::Command;

/// The entry exists only once the ticket is resolved: by this mail's `#risolto` or before.
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, out: &mut Refusals) {
    if !ticket.is_closed() && !mail.commands.iter().any(|c| matches!(c, Command::Resolve)) {
        out.refuse(
            "#kb",
            format!(
                "{} is not resolved yet: add #kb to the #risolto mail, or later",
                ticket.id
            ),
        );
    }
}
