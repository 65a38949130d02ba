//! `#risolto`: close the ticket; the text below the tag is the resolution the requester gets.

use super::{CommandMail, Refusals, TicketFacts};

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
