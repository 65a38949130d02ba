//! `#cc ADDRESS` / `#cc -ADDRESS`: someone in copy of the ticket's answers and closing letter,
//! or taken out; and [`recipients`], who a letter's copies go to.
//!
//! A copy is not the requester: it gets the operators' answers and the letter that closes
//! the ticket, never the acknowledgment (which carries the requester's status link), the
//! take-in or any other letter about the requester's own procedure.

use super::{CommandMail, Refusals, TicketFacts, Working};
use crate::commands::{CopyRefusal, Done, Problem};
use crate::config::Operator;
use crate::desk::effect::Effect;
use crate::model::{EventAction, MailPurpose};

/// Never the requester (they get every letter), an operator or the help desk itself; taking
/// anyone out is always allowed (someone who was not a copy changes nothing).
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, address: &str, remove: bool, out: &mut Refusals) {
    if remove {
        return;
    }
    let who = if ticket.requester_email.is_some_and(|r| r.eq_ignore_ascii_case(address)) {
        Some(CopyRefusal::Requester)
    } else if is_operator(mail.roster, address) {
        Some(CopyRefusal::Operator)
    } else if mail.helpdesk.eq_ignore_ascii_case(address) {
        Some(CopyRefusal::HelpDesk)
    } else {
        None
    };
    if let Some(who) = who {
        out.refuse(
            format!("#cc {address}"),
            Problem::CopyRefused {
                address: address.to_string(),
                who,
            },
        );
    }
}

/// Adds or removes the copy; asking for what is so already changes nothing, and says so.
pub(super) fn apply(work: &mut Working<'_>, mail: &CommandMail<'_>, address: &str, remove: bool) {
    let copied = work.copies.iter().any(|c| c == address);
    let changed = copied == remove;
    if changed {
        work.effect(Effect::SetCopy {
            address: address.to_string(),
            copied: !remove,
        });
        let sign = if remove { '-' } else { '+' };
        work.event(mail, EventAction::Copy, &format!("{sign}{address}"));
        if remove {
            work.copies.retain(|c| c != address);
        } else {
            work.copies.push(address.to_string());
        }
    } else {
        work.decision.nothing_changed = true;
    }
    let done = Done::Copy {
        ticket: work.ticket.id,
        address: address.to_string(),
        added: !remove,
        changed,
    };
    work.done(done);
}

/// The letters the copies get: the operators' answers and the letters that close the ticket.
pub fn is_copied(purpose: MailPurpose) -> bool {
    matches!(
        purpose,
        MailPurpose::Answer | MailPurpose::Closing | MailPurpose::OutOfScope
    )
}

/// One person in copy, as the store knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copy<'a> {
    /// The address.
    pub address: &'a str,
    /// A believed delivery failure still holds: skipped, like an unreachable requester.
    pub undeliverable: bool,
}

/// Who a letter to `requester` is copied to: the copies that can be reached, each once, in
/// their order, never the requester again, an operator or the help desk's own address (a
/// requester may have put any of them in Cc of the first mail).
pub fn recipients<'c>(copies: &[Copy<'c>], requester: &str, roster: &[Operator], helpdesk: &str) -> Vec<&'c str> {
    let mut out: Vec<&'c str> = Vec::new();
    for copy in copies {
        let address = copy.address;
        let excluded = copy.undeliverable
            || address.eq_ignore_ascii_case(requester)
            || address.eq_ignore_ascii_case(helpdesk)
            || is_operator(roster, address)
            || out.iter().any(|a| a.eq_ignore_ascii_case(address));
        if !excluded {
            out.push(address);
        }
    }
    out
}

fn is_operator(roster: &[Operator], address: &str) -> bool {
    roster.iter().any(|o| o.email.eq_ignore_ascii_case(address))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::commands::parse_commands;
    use crate::desk::cmd::{Decision, Setting, decide};
    use crate::desk::effect::Letter;
    use crate::desk::testing::{operator, rome};
    use crate::model::{Level, Status, TicketId};
    use crate::sla::{Calendar, CalendarRules, SlaBudgets};

    pub(in crate::desk::cmd) const TICKET: TicketId = TicketId { year: 2026, number: 15 };
    pub(in crate::desk::cmd) const GIULIA: &str = "giulia.bianchi@comune.example.it";
    pub(in crate::desk::cmd) const HELPDESK: &str = "assistenza@comune.example.it";

    /// An open ticket of `requester` (none: a phone caller) with `copies`.
    pub(in crate::desk::cmd) fn facts<'a>(
        status: Status,
        requester: Option<&'a str>,
        copies: &'a [String],
    ) -> TicketFacts<'a> {
        TicketFacts {
            id: TICKET,
            status,
            level: Level::First,
            requester_email: requester,
            reads_mail: requester.is_some(),
            assignee: Some(GIULIA),
            take_in_at: Some(rome(9, 9, 30)),
            resolution_due: Some(rome(9, 15, 30)),
            has_kb_entry: false,
            request: "Offerta imperdibile",
            time_logged: 0,
            followers: 0,
            master: None,
            copies,
        }
    }

    /// What Giulia's mail `text` about `ticket` does on Monday 9 March 2026 at 10:00.
    pub(in crate::desk::cmd) fn decide_text(ticket: &TicketFacts<'_>, text: &str) -> Decision {
        let parsed = parse_commands(text);
        assert!(parsed.errors.is_empty(), "{text:?}: {:?}", parsed.errors);
        let roster = [
            operator("Giulia Bianchi", GIULIA, Level::First),
            operator("Luca Verdi", "luca.verdi@comune.example.it", Level::Second),
        ];
        let calendar = Calendar::new(CalendarRules::default(), Vec::new());
        let sla = SlaBudgets::default();
        let local_time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339();
        let mail = CommandMail {
            operator: &roster[0],
            commands: &parsed.commands,
            body: &parsed.body,
            roster: &roster,
            timezone: chrono_tz::Europe::Rome,
            now: rome(9, 10, 0),
            absences: &[],
            lookups: crate::desk::cmd::Lookups::default(),
            helpdesk: HELPDESK,
        };
        let setting = Setting {
            calendar: &calendar,
            sla: &sla,
            local_time: &local_time,
            spam_days: 30,
        };
        decide(ticket, &mail, &setting)
    }

    fn refused(decision: &Decision) -> Vec<String> {
        decision
            .refusals
            .iter()
            .map(|e| format!("{}: {}", e.line, e.problem.text(crate::config::Language::En)))
            .collect()
    }

    #[test]
    fn a_copy_is_added_once_and_removed_and_each_change_is_confirmed() {
        let none: Vec<String> = Vec::new();
        let ticket = facts(Status::Assigned, Some("mario.rossi@example.org"), &none);
        let d = decide_text(&ticket, "#cc Anna.Verdi@example.org");
        assert!(d.refusals.is_empty(), "{d:?}");
        assert_eq!(
            d.effects,
            [
                Effect::SetCopy {
                    address: "anna.verdi@example.org".into(),
                    copied: true
                },
                Effect::Event {
                    actor: GIULIA.into(),
                    action: EventAction::Copy,
                    detail: "+anna.verdi@example.org".into(),
                    about: None
                }
            ]
        );
        assert_eq!(
            d.applied,
            [Done::Copy {
                ticket: TICKET,
                address: "anna.verdi@example.org".into(),
                added: true,
                changed: true
            }]
        );
        assert!(!d.nothing_changed);
        // The same address twice in one mail: the second line sees the first.
        let d = decide_text(&ticket, "#cc anna@example.org\n#cc anna@example.org");
        assert_eq!(
            d.effects.iter().filter(|e| matches!(e, Effect::SetCopy { .. })).count(),
            1
        );
        assert!(d.nothing_changed, "the operator is told the second changed nothing");

        let copied = vec!["anna@example.org".to_string()];
        let ticket = facts(Status::Resolved, Some("mario.rossi@example.org"), &copied);
        let d = decide_text(&ticket, "#cc -anna@example.org");
        assert!(
            d.refusals.is_empty(),
            "taking a copy out is fine on a closed ticket: {d:?}"
        );
        assert_eq!(
            d.effects[0],
            Effect::SetCopy {
                address: "anna@example.org".into(),
                copied: false
            }
        );
        let d = decide_text(&ticket, "#cc -someone@example.org");
        assert!(d.effects.is_empty() && d.nothing_changed, "{d:?}");
        assert_eq!(
            d.applied[0].text(crate::config::Language::It),
            "someone@example.org non era in copia su TCK-2026-00015: nessuna modifica"
        );
    }

    #[test]
    fn the_requester_an_operator_and_the_help_desk_are_never_copies() {
        let none: Vec<String> = Vec::new();
        let ticket = facts(Status::Assigned, Some("mario.rossi@example.org"), &none);
        for (text, why) in [
            ("#cc MARIO.ROSSI@example.org", "is the requester"),
            ("#cc luca.verdi@comune.example.it", "is an operator"),
            ("#cc assistenza@comune.example.it", "help desk's own address"),
        ] {
            let d = decide_text(&ticket, text);
            let refused = refused(&d);
            assert!(refused.len() == 1 && refused[0].contains(why), "{text}: {refused:?}");
            assert!(d.effects.is_empty());
        }
        // With an answer below: the mail is refused whole, the answer included.
        let d = decide_text(&ticket, "#cc luca.verdi@comune.example.it\nBuongiorno, ecco la guida.");
        assert!(d.effects.is_empty() && !d.refusals.is_empty());
    }

    #[test]
    fn the_text_below_cc_is_an_answer() {
        let none: Vec<String> = Vec::new();
        let ticket = facts(Status::Assigned, Some("mario.rossi@example.org"), &none);
        let d = decide_text(&ticket, "#cc anna@example.org\nMetto in copia la collega.");
        assert!(
            d.effects
                .iter()
                .any(|e| matches!(e, Effect::Letter { letter: Letter::Answer { text, .. }, .. } if text == "Metto in copia la collega.")),
            "{d:?}"
        );
        assert!(
            matches!(d.effects[0], Effect::SetCopy { .. }),
            "the copy comes first: {d:?}"
        );
    }

    #[test]
    fn copies_skip_the_unreachable_the_requester_operators_and_the_help_desk() {
        let roster = [operator(
            "Giulia Bianchi",
            "giulia.bianchi@comune.example.it",
            Level::First,
        )];
        let copy = |address, undeliverable| Copy { address, undeliverable };
        let copies = [
            copy("anna.verdi@example.org", false),
            copy("gone@example.org", true),
            copy("Mario.Rossi@example.org", false),
            copy("giulia.bianchi@comune.example.it", false),
            copy("assistenza@comune.example.it", false),
            copy("studio@example.org", false),
            copy("ANNA.VERDI@example.org", false),
        ];
        assert_eq!(
            recipients(
                &copies,
                "mario.rossi@example.org",
                &roster,
                "Assistenza@comune.example.it"
            ),
            ["anna.verdi@example.org", "studio@example.org"]
        );
        assert!(recipients(&[], "mario.rossi@example.org", &roster, "assistenza@comune.example.it").is_empty());
    }

    #[test]
    fn only_answers_and_closing_letters_are_copied() {
        let copied: Vec<MailPurpose> = MailPurpose::ALL.iter().copied().filter(|p| is_copied(*p)).collect();
        assert_eq!(
            copied,
            [MailPurpose::Answer, MailPurpose::Closing, MailPurpose::OutOfScope],
            "never the acknowledgment (the requester's status link), the take-in or a notice"
        );
    }
}
