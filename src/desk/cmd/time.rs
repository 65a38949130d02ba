//! `#tempo DURATION`: log time worked on the ticket (on any ticket, closed ones included).

use super::{CommandMail, Working};
use crate::desk::effect::Effect;
use crate::model::EventAction;

/// Logs the minutes.
pub(super) fn apply(work: &mut Working<'_>, mail: &CommandMail<'_>, minutes: u32) {
    work.effect(Effect::LogTime {
        by: mail.operator.email.clone(),
        minutes,
    });
    work.event(mail, EventAction::Time, &format!("{minutes} min"));
    let line = format!("{minutes} minuti registrati su {}", work.ticket.id);
    work.done(line);
}
