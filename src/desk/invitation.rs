//! The requester answered the remote-session invitation: the answer is recorded on the ticket
//! and its technician is told in one line ("ha accettato", "propone un altro orario: …").
//! Never a new ticket, a reopening, a reminder or an acknowledgment.

use super::effect::Effect;
use super::roster;
use crate::config::{Language, Operator};
use crate::model::{EventAction, InvitationAnswer, NoticeKind};

/// The answer, as the caller read it.
#[derive(Debug, Clone, Copy)]
pub struct Answered<'a> {
    /// Who answered.
    pub author: &'a str,
    /// What.
    pub answer: InvitationAnswer,
    /// For a counter-proposal: the time proposed, as operators read it.
    pub proposed: Option<&'a str>,
}

/// What the answer does; `technician` (the one who sent the invitation, else the holder) hears it.
pub fn answered(
    answered: &Answered<'_>,
    technician: Option<&str>,
    roster: &[Operator],
    language: Language,
) -> Vec<Effect> {
    let it = language == Language::It;
    let line = match (answered.answer, it) {
        (InvitationAnswer::Accepted, true) => "ha accettato l'invito all'assistenza remota".to_string(),
        (InvitationAnswer::Declined, true) => "ha rifiutato l'invito all'assistenza remota".to_string(),
        (InvitationAnswer::Tentative, true) => "ha risposto «forse» all'invito all'assistenza remota".to_string(),
        (InvitationAnswer::Counter, true) => match answered.proposed {
            Some(when) => format!("propone un altro orario: {when}"),
            None => "propone un altro orario".to_string(),
        },
        (InvitationAnswer::Accepted, false) => "accepted the remote-session invitation".to_string(),
        (InvitationAnswer::Declined, false) => "declined the remote-session invitation".to_string(),
        (InvitationAnswer::Tentative, false) => "answered \"maybe\" to the remote-session invitation".to_string(),
        (InvitationAnswer::Counter, false) => match answered.proposed {
            Some(when) => format!("proposes another time: {when}"),
            None => "proposes another time".to_string(),
        },
    };
    vec![
        Effect::Event {
            actor: answered.author.to_string(),
            action: EventAction::InvitationAnswered,
            detail: format!(
                "{}{}",
                answered.answer,
                answered.proposed.map(|p| format!(" {p}")).unwrap_or_default()
            ),
            about: None,
        },
        Effect::NotifyOperators {
            to: roster::addresses(&roster::assignee_or_first_level(roster, technician)),
            kind: NoticeKind::Invitation,
            reason: line,
            text: String::new(),
            screening: false,
            note: String::new(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::testing::operator;
    use crate::model::Level;

    #[test]
    fn the_technician_is_told_in_one_line_and_nothing_else_happens() {
        let roster = [
            operator("Luca Verdi", "luca@comune.example.it", Level::Second),
            operator("Giulia Bianchi", "giulia@comune.example.it", Level::First),
        ];
        let table: &[(InvitationAnswer, Option<&str>, &str)] = &[
            (
                InvitationAnswer::Accepted,
                None,
                "ha accettato l'invito all'assistenza remota",
            ),
            (
                InvitationAnswer::Declined,
                None,
                "ha rifiutato l'invito all'assistenza remota",
            ),
            (
                InvitationAnswer::Tentative,
                None,
                "ha risposto «forse» all'invito all'assistenza remota",
            ),
            (
                InvitationAnswer::Counter,
                Some("mercoledì 16 dicembre 2026 alle 10:00"),
                "propone un altro orario: mercoledì 16 dicembre 2026 alle 10:00",
            ),
        ];
        for (answer, proposed, line) in table {
            let effects = answered(
                &Answered {
                    author: "anna@example.org",
                    answer: *answer,
                    proposed: *proposed,
                },
                Some("luca@comune.example.it"),
                &roster,
                Language::It,
            );
            assert_eq!(effects.len(), 2, "an event and one notice, nothing else: {effects:?}");
            assert!(
                matches!(&effects[1], Effect::NotifyOperators { to, reason, kind: NoticeKind::Invitation, .. }
                    if to == &["luca@comune.example.it".to_string()] && reason == line),
                "{effects:?}"
            );
        }
    }
}
