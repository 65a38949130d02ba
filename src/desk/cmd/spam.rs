//! `#spam`: the ticket is closed writing to nobody (a letter to a spammer confirms the address
//! works, and backscatter gets a help desk blacklisted); the accounting counts it apart and
//! leaves it out of the SLA figures; the sender's mail is quarantined for `[intake] spam_days`.

use super::{CommandMail, Refusals, Setting, TicketFacts, Working, tag_of};
use crate::commands::{Command, Done, Problem};
use crate::desk::effect::Effect;
use crate::model::{EventAction, Status};

/// Not on a closed ticket; and alone, but for an internal note and time logged: every other
/// tag would write to the requester or work a ticket that is being thrown away.
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, out: &mut Refusals) {
    if ticket.is_closed() {
        out.refuse(
            "#spam",
            Problem::AlreadyClosed {
                ticket: ticket.id,
                status: ticket.status,
            },
        );
    }
    for command in mail.commands {
        if !matches!(command, Command::Spam | Command::Note | Command::Time(_)) {
            out.refuse("#spam", Problem::SpamNotAlone { tag: tag_of(command) });
        }
    }
}

/// Closes the ticket as spam and quarantines its sender, unless the sender is an operator or
/// the help desk (a ticket typed in by one of them) or there is no address at all.
pub(super) fn apply(work: &mut Working<'_>, mail: &CommandMail<'_>, setting: &Setting<'_>) {
    work.event(mail, EventAction::Spam, mail.body);
    work.effect(Effect::CloseAsSpam {
        by: mail.operator.email.clone(),
    });
    let sender = work.ticket.requester_email.filter(|address| {
        !address.eq_ignore_ascii_case(mail.helpdesk)
            && !mail.roster.iter().any(|o| o.email.eq_ignore_ascii_case(address))
    });
    let quarantined = sender.map(|address| {
        let address = address.to_ascii_lowercase();
        let until = mail.now + chrono::TimeDelta::days(i64::from(setting.spam_days));
        work.effect(Effect::QuarantineSender {
            address: address.clone(),
            until,
            by: mail.operator.email.clone(),
        });
        (address, until.with_timezone(&mail.timezone).date_naive())
    });
    work.ticket.status = Status::Resolved;
    let done = Done::Spam {
        ticket: work.ticket.id,
        quarantined,
    };
    work.done(done);
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::super::cc::tests::{GIULIA, HELPDESK, TICKET, decide_text, facts};
    use crate::commands::Done;
    use crate::config::Language;
    use crate::desk::effect::Effect;
    use crate::desk::testing::rome;
    use crate::model::{EventAction, Status};

    #[test]
    fn spam_closes_writing_to_nobody_and_quarantines_the_sender() {
        let none: Vec<String> = Vec::new();
        for status in [Status::New, Status::Assigned] {
            let ticket = facts(status, Some("Offerte@Example.net"), &none);
            let d = decide_text(&ticket, "#spam pubblicità di un corso\n\nGiulia");
            assert!(d.refusals.is_empty(), "{d:?}");
            assert_eq!(
                d.effects,
                [
                    Effect::Event {
                        actor: GIULIA.into(),
                        action: EventAction::Spam,
                        detail: "pubblicità di un corso\n\nGiulia".into(),
                        about: None
                    },
                    Effect::CloseAsSpam { by: GIULIA.into() },
                    Effect::QuarantineSender {
                        address: "offerte@example.net".into(),
                        until: rome(9, 10, 0) + chrono::TimeDelta::days(30),
                        by: GIULIA.into()
                    }
                ],
                "{status:?}: no letter, no take-in, no answer with the text below"
            );
            assert_eq!(
                d.applied,
                [Done::Spam {
                    ticket: TICKET,
                    quarantined: Some((
                        "offerte@example.net".into(),
                        NaiveDate::from_ymd_opt(2026, 4, 8).expect("day")
                    ))
                }]
            );
            assert_eq!(
                d.applied[0].text(Language::It),
                "TCK-2026-00015 chiusa come spam, senza scrivere al mittente; la posta di offerte@example.net andrà in quarantena fino al 08/04/2026"
            );
        }
    }

    #[test]
    fn nobody_of_the_help_desk_is_ever_quarantined() {
        let none: Vec<String> = Vec::new();
        for requester in [None, Some(HELPDESK), Some("luca.verdi@comune.example.it")] {
            let d = decide_text(&facts(Status::New, requester, &none), "#spam");
            assert!(
                d.effects.iter().any(|e| matches!(e, Effect::CloseAsSpam { .. }))
                    && !d.effects.iter().any(|e| matches!(e, Effect::QuarantineSender { .. })),
                "{requester:?}: {d:?}"
            );
            assert_eq!(
                d.applied,
                [Done::Spam {
                    ticket: TICKET,
                    quarantined: None
                }]
            );
        }
    }

    #[test]
    fn spam_goes_alone_and_only_on_an_open_ticket() {
        let none: Vec<String> = Vec::new();
        let open = facts(Status::Assigned, Some("offerte@example.net"), &none);
        for (text, with) in [
            ("#spam\n#risolto\nFatto.", "#risolto"),
            ("#spam\n#prendo", "#prendo"),
            ("#spam #cc a@example.org", "#cc"),
            ("#fuoriambito\n#spam", "#fuoriambito"),
        ] {
            let d = decide_text(&open, text);
            assert!(d.effects.is_empty(), "{text}: {d:?}");
            assert!(
                d.refusals.iter().any(|e| e
                    .problem
                    .text(Language::En)
                    .contains(&format!("does not go with {with}"))),
                "{text}: {:?}",
                d.refusals
            );
        }
        let d = decide_text(&open, "#spam\n#tempo 5m\n#nota\nvenditore di corsi");
        assert!(d.refusals.is_empty(), "{d:?}");
        for status in [Status::Resolved, Status::Archived] {
            let d = decide_text(&facts(status, Some("offerte@example.net"), &none), "#spam");
            assert!(d.effects.is_empty());
            assert!(d.refusals[0].problem.text(Language::En).contains("is already"), "{d:?}");
        }
    }
}
