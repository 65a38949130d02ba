//! `#assegna NAME`: hand the ticket to another operator.

use super::{CommandMail, Refusals, TicketFacts};

/// The operator must exist; a closed ticket is not handed on.
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, who: &str, out: &mut Refusals) {
    if mail.operator_named(who).is_none() {
        out.refuse(format!("#assegna {who}"), format!("no operator is called {who:?}"));
    } else if ticket.is_closed() {
        out.refuse("#assegna", format!("{} is {}", ticket.id, ticket.status));
    }
}
