//! `#fuoriambito`: the request is not the help desk's; the requester is told whom to ask.

use super::{Refusals, TicketFacts};

/// Not on a ticket that is closed already.
pub(super) fn check(ticket: &TicketFacts<'_>, out: &mut Refusals) {
    if ticket.is_closed() {
        out.refuse("#fuoriambito", format!("{} is already {}", ticket.id, ticket.status));
    }
}
