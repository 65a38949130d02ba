//! `#collega TCK-…`: the ticket is one of an incident's many (issue 15, item 7). When the
//! portal itself breaks, dozens of requests say the same thing: each is linked to one master,
//! and resolving the master resolves every open ticket linked to it, each with its own closing
//! letter and its own SLA facts.

use super::{CommandMail, Refusals, TicketFacts, Working};
use crate::commands::{Done, Problem};
use crate::desk::effect::Effect;
use crate::model::{EventAction, Status, TicketId};

/// What the edge found about a master named by `#collega`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Master {
    /// The incident's master: the ticket named, or the master it is itself linked to.
    pub root: TicketId,
    /// Where the master stands.
    pub status: Status,
}

/// The master must exist, be another ticket, and still be open; a closed ticket is not linked.
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, named: TicketId, out: &mut Refusals) {
    let line = format!("#collega {named}");
    match master_of(mail, named) {
        None => out.refuse(line, Problem::NoSuchTicket { ticket: named }),
        Some(m) if m.root == ticket.id || named == ticket.id => out.refuse(line, Problem::LinkToItself),
        Some(m) if matches!(m.status, Status::Resolved | Status::Archived) => {
            out.refuse(line, Problem::MasterClosed { master: m.root })
        }
        Some(_) if ticket.is_closed() => out.refuse(
            line,
            Problem::Closed {
                ticket: ticket.id,
                status: ticket.status,
            },
        ),
        Some(_) => {}
    }
}

fn master_of(mail: &CommandMail<'_>, named: TicketId) -> Option<Master> {
    mail.lookups
        .masters
        .iter()
        .find(|(n, _)| *n == named)
        .and_then(|(_, m)| *m)
}

/// Links the ticket to the incident's master (a ticket linked to a linked ticket joins the
/// master itself, so an incident is one level deep).
pub(super) fn apply(work: &mut Working<'_>, mail: &CommandMail<'_>, named: TicketId) {
    let Some(master) = master_of(mail, named) else { return };
    work.effect(Effect::Link { master: master.root });
    work.event(mail, EventAction::Linked, &master.root.to_string());
    let done = Done::Linked {
        ticket: work.ticket.id,
        master: master.root,
    };
    work.done(done);
}
