//! `#sollecito` / `#reclamo`: mark the ticket a reminder or a complaint.

use super::{Refusals, TicketFacts};
use crate::model::Kind;

/// Only on an open ticket.
pub(super) fn check(ticket: &TicketFacts<'_>, kind: Kind, out: &mut Refusals) {
    if ticket.is_closed() {
        let tag = if kind == Kind::Complaint {
            "#reclamo"
        } else {
            "#sollecito"
        };
        out.refuse(tag, format!("{} is {}", ticket.id, ticket.status));
    }
}
