//! The untagged text of an operator's mail: an answer to the requester.

use super::{CommandMail, Working};
use crate::commands::{Command, Done};
use crate::desk::effect::{Effect, Letter};
use crate::model::EventAction;

/// True when the text below the tags belongs to one of them: a resolution, a note, a call's
/// summary, an out-of-scope explanation, an invitation's words, the handover note to the
/// operator a ticket is assigned to or to second level (issue 21, item 3: it used to reach the
/// requester as an answer).
pub fn body_is_for_a_tag(commands: &[Command]) -> bool {
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
                | Command::Ask(_)
                | Command::Spam
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
            signed: is_signed(mail.body, &mail.operator.name),
        },
        stamp: None,
    });
    work.event(mail, EventAction::Answered, "");
    let done = Done::Answered { ticket: work.ticket.id };
    work.done(done);
}

/// True when the operator signed the text themselves: a signature separator (`-- `), or their
/// full name on one of its last lines. The letter then carries one signature, theirs (issue
/// 21, item 22: answers carried two).
pub(super) fn is_signed(text: &str, name: &str) -> bool {
    let name = name.trim().to_lowercase();
    let last_lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .rev()
        .take(6)
        .collect();
    last_lines.iter().any(|l| *l == "--" || *l == "-- ")
        || (!name.is_empty() && last_lines.iter().any(|l| l.to_lowercase().contains(&name)))
}

#[cfg(test)]
mod tests {
    use super::is_signed;

    #[test]
    fn an_operator_who_signs_gets_no_second_signature() {
        let name = "Giulia Bianchi";
        assert!(is_signed(
            "Provi con CAdES.\n\nCordiali saluti,\nGiulia Bianchi\nUfficio SUE",
            name
        ));
        assert!(is_signed("Provi con CAdES.\n-- \nUfficio tecnico, tel. 06 123", name));
        assert!(is_signed("Provi con CAdES.\n\ngiulia bianchi", name), "in any case");
        assert!(!is_signed("Provi con CAdES.", name));
        assert!(
            !is_signed(
                "Giulia Bianchi le ha già scritto ieri.\n1\n2\n3\n4\n5\n6\nProvi con CAdES.",
                name
            ),
            "the name in the text, far from its end, is no signature"
        );
    }
}
