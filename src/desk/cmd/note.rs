//! `#nota`: an internal note, on any ticket, closed ones included.

use super::{CommandMail, Refusals, Working};
use crate::commands::Done;
use crate::commands::Problem;
use crate::model::EventAction;

/// A note needs its text.
pub(super) fn check(mail: &CommandMail<'_>, out: &mut Refusals) {
    if mail.body.is_empty() {
        out.refuse("#nota", Problem::NoteMissing);
    }
}

/// Records the note.
pub(super) fn apply(work: &mut Working<'_>, mail: &CommandMail<'_>) {
    work.event(mail, EventAction::Note, mail.body);
    let done = Done::Noted { ticket: work.ticket.id };
    work.done(done);
}
