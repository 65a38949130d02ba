//! `#prendo`: take the ticket in.

use super::{Refusals, TicketFacts};

/// A closed ticket cannot be taken in.
pub(super) fn check(ticket: &TicketFacts<'_>, out: &mut Refusals) {
    if ticket.is_closed() {
        out.refuse("#prendo", format!("{} is {}", ticket.id, ticket.status));
    }
}
