//! The untagged text of an operator's mail: an answer to the requester.

use super::{CommandMail, Working};
use crate::commands::Command;
use crate::desk::effect::{Effect, Letter};
use crate::model::EventAction;

/// True when the text below the tags belongs to one of them: a resolution, a note, a call's
/// summary, an out-of-scope explanation, an invitation's words, the handover note to the
/// operator a ticket is assigned to or to second level (issue 21, item 3: it used to reach the
/// requester as an answer).
fn body_is_for_a_tag(commands: &[Command]) -> bool {
    commands.iter().any(|c| {
        matches!(
            c,
            Command::Resolve
                | Command::Note
                | Command::Phone(_)
                | Command::OutOfScope
                | Command::Remote { .. }
                | Command::Escalate(_)
                | Command::Assign(_)
        )
    })
}

/// Sends the untagged text to the requester.
pub(super) fn apply(work: &mut Working<'_>, mail: &CommandMail<'_>) {
    if mail.body.is_empty() || body_is_for_a_tag(mail.commands) {
        return;
    }
    work.effect(Effect::Letter {
        letter: Letter::Answer {
            text: mail.body.to_string(),
            operator: mail.operator.name.clone(),
        },
        stamp: None,
    });
    work.event(mail, EventAction::Answered, "");
    let line = format!("risposta inviata al richiedente di {}", work.ticket.id);
    work.done(line);
}
