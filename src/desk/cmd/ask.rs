//! `#chiedi NAME question`: the thread goes to a colleague as an internal question, never to
//! the requester (issue 15, item 4). Their reply to it lands on the ticket as an internal note
//! (the edge knows the reply by its keyed Message-ID); with tags, it is a command like any.

use super::{CommandMail, Refusals, Working};
use crate::commands::{Done, Problem};
use crate::config::Operator;
use crate::desk::effect::Effect;
use crate::model::EventAction;

/// The colleague named at the start of `written` (the longest full name or address of the
/// roster that opens it), and the question that follows on the line.
pub fn colleague<'r>(roster: &'r [Operator], written: &str) -> Option<(&'r Operator, String)> {
    let lower = written.trim().to_lowercase();
    roster
        .iter()
        .flat_map(|op| [(op, op.email.to_lowercase()), (op, op.name.to_lowercase())])
        .filter(|(_, key)| {
            !key.is_empty()
                && lower.starts_with(key.as_str())
                && lower[key.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric())
        })
        .max_by_key(|(_, key)| key.len())
        .map(|(op, key)| {
            // The same number of characters from the text as written keeps its case.
            let rest: String = written.trim().chars().skip(key.chars().count()).collect();
            let rest = rest.trim_start_matches([',', ':', ' ']).trim().to_string();
            (op, rest)
        })
}

/// The question: the text on the tag's line and the text below the tags.
fn question(mail: &CommandMail<'_>, inline: &str) -> String {
    [inline, mail.body]
        .iter()
        .filter(|t| !t.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A colleague of the roster, not the sender, at work today; and a question.
pub(super) fn check(mail: &CommandMail<'_>, written: &str, out: &mut Refusals) {
    let line = format!("#chiedi {written}");
    match colleague(mail.roster, written) {
        None => out.refuse(line, super::no_such_operator(mail, written)),
        Some((op, _)) if op.email.eq_ignore_ascii_case(&mail.operator.email) => out.refuse(line, Problem::AskYourself),
        Some((op, inline)) => {
            if let Some(problem) = super::away_problem(mail, op) {
                out.refuse(line, problem);
            } else if question(mail, &inline).is_empty() {
                out.refuse(line, Problem::QuestionMissing);
            }
        }
    }
}

/// Sends the question with the thread to the colleague.
pub(super) fn apply(work: &mut Working<'_>, mail: &CommandMail<'_>, written: &str) {
    let Some((op, inline)) = colleague(mail.roster, written) else {
        return;
    };
    work.effect(Effect::AskColleague {
        colleague: op.email.clone(),
        question: question(mail, &inline),
    });
    work.event(mail, EventAction::Asked, &op.email);
    let done = Done::Asked {
        ticket: work.ticket.id,
        colleague: op.name.clone(),
    };
    work.done(done);
}

/// The colleague's untagged reply to the question: an internal note on the ticket (never a
/// word to the requester), passed on to whoever asked.
pub fn replied(
    ticket: crate::model::TicketId,
    colleague: &Operator,
    asker: Option<&str>,
    text: &str,
) -> (Vec<Effect>, Done) {
    let mut effects = vec![Effect::Event {
        actor: colleague.email.clone(),
        action: EventAction::Note,
        detail: text.to_string(),
        about: None,
    }];
    if let Some(asker) = asker.filter(|a| !a.eq_ignore_ascii_case(&colleague.email)) {
        effects.push(Effect::NotifyOperators {
            to: vec![asker.to_string()],
            kind: crate::model::NoticeKind::Reply,
            reason: colleague.name.clone(),
            text: String::new(),
            screening: false,
            note: text.to_string(),
        });
    }
    (effects, Done::Replied { ticket })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::testing::operator;
    use crate::model::Level;

    #[test]
    fn the_colleague_is_the_longest_name_that_opens_the_line() {
        let roster = [
            operator("Marco Rossi", "marco.rossi@comune.example.it", Level::First),
            operator("Marco Rossini", "m.rossini@comune.example.it", Level::Second),
        ];
        let (op, rest) = colleague(&roster, "Marco Rossini, hai già visto questo errore?").expect("found");
        assert_eq!(op.email, "m.rossini@comune.example.it");
        assert_eq!(rest, "hai già visto questo errore?");
        let (op, rest) = colleague(&roster, "marco rossi Puoi guardare?").expect("found");
        assert_eq!(op.email, "marco.rossi@comune.example.it");
        assert_eq!(rest, "Puoi guardare?");
        let (op, rest) = colleague(&roster, "m.rossini@comune.example.it").expect("found");
        assert_eq!((op.name.as_str(), rest.as_str()), ("Marco Rossini", ""));
        assert!(colleague(&roster, "Marcolino").is_none());
        assert!(colleague(&roster, "Marco Rossiello").is_none(), "a name is whole words");
    }

    #[test]
    fn a_reply_to_a_question_is_a_note_passed_on_to_who_asked() {
        let marco = operator("Marco Rossi", "marco.rossi@comune.example.it", Level::First);
        let ticket = crate::model::TicketId { year: 2026, number: 9 };
        let (effects, done) = replied(
            ticket,
            &marco,
            Some("giulia@comune.example.it"),
            "Sì, è il certificato scaduto.",
        );
        assert!(
            matches!(&effects[0], Effect::Event { action: EventAction::Note, detail, .. } if detail == "Sì, è il certificato scaduto.")
        );
        assert!(
            matches!(&effects[1], Effect::NotifyOperators { to, kind: crate::model::NoticeKind::Reply, note, .. }
            if to == &["giulia@comune.example.it".to_string()] && note.starts_with("Sì"))
        );
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::Letter { .. })),
            "never to the requester"
        );
        assert_eq!(done, Done::Replied { ticket });
    }
}
