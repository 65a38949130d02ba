//! `#secondolivello [NAME]`: move the ticket to second level, maybe to a named operator.

use super::{CommandMail, Refusals, TicketFacts};
use crate::model::Level;

/// A named operator must exist and be second-level; without a name the ticket must not be at
/// second level already; a closed ticket is not escalated at all (before the desk, a named
/// second-level operator slipped past that last rule).
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, who: Option<&str>, out: &mut Refusals) {
    match who {
        Some(who) => match mail.operator_named(who) {
            Some(op) if op.level == Level::Second => {}
            Some(op) => {
                return out.refuse(
                    format!("#secondolivello {who}"),
                    format!("{} is not a second-level operator", op.name),
                );
            }
            None => {
                return out.refuse(
                    format!("#secondolivello {who}"),
                    format!("no operator is called {who:?}"),
                );
            }
        },
        None if ticket.level == Level::Second => {
            return out.refuse("#secondolivello", format!("{} is already at second level", ticket.id));
        }
        None => {}
    }
    if ticket.is_closed() {
        out.refuse("#secondolivello", format!("{} is {}", ticket.id, ticket.status));
    }
}
