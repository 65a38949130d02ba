//! `#prendo`: take the ticket in.

use super::{Refusals, TicketFacts};

/// A closed ticket cannot be taken in.
pub(super) fn check(ticket: &TicketFacts<'_>, out: &mut Refusals) {
    if ticket.is_closed() {
        out.refuse("#prendo", format!("{} is {}", ticket.id, ticket.status));
    }
}

/// True when `operator` already holds the open ticket: `#prendo` again changes nothing,
/// sends the requester no second "presa in carico", and counts no second take-in.
pub fn is_already_held(ticket: &TicketFacts<'_>, operator: &str) -> bool {
    ticket.status == crate::model::Status::Assigned && ticket.assignee.is_some_and(|a| a.eq_ignore_ascii_case(operator))
}
