//! Every refusal rule of the operator commands, one row each: the ticket, the mail, and the
//! problem expected (or none).

use chrono::NaiveDate;

use super::*;
use crate::commands::parse_commands;
use crate::model::Kind;

const TICKET: TicketId = TicketId { year: 2026, number: 7 };

use crate::desk::testing::{operator, rome};

fn roster() -> Vec<Operator> {
    vec![
        operator("Giulia Bianchi", "giulia.bianchi@comune.example.it", Level::First),
        operator("Marco Rossi", "marco.rossi@comune.example.it", Level::First),
        operator("Luca Verdi", "luca.verdi@comune.example.it", Level::Second),
    ]
}

fn ticket(status: Status, level: Level, requester: Option<&str>) -> TicketFacts<'_> {
    TicketFacts {
        id: TICKET,
        status,
        level,
        requester_email: requester,
        assignee: None,
    }
}

/// The instant mails are applied: Monday 9 March 2026, 10:00 in Rome.
fn now() -> DateTime<Utc> {
    rome(9, 10, 0)
}

/// The problems of `text` (tags and body, as an operator writes it) sent by the operator at
/// `sender` (an index into the roster) about `ticket`.
fn problems(ticket: &TicketFacts<'_>, sender: usize, text: &str) -> Vec<(String, String)> {
    let parsed = parse_commands(text);
    assert!(parsed.errors.is_empty(), "{text:?} parses: {:?}", parsed.errors);
    let roster = roster();
    let mail = CommandMail {
        operator: &roster[sender],
        commands: &parsed.commands,
        body: &parsed.body,
        roster: &roster,
        timezone: chrono_tz::Europe::Rome,
        now: now(),
    };
    refusals(ticket, &mail)
        .into_iter()
        .map(|e| (e.line, e.problem))
        .collect()
}

const GIULIA: usize = 0;

/// (ticket, sender, mail, expected: (line, words the problem contains)).
type Case<'a> = (&'a TicketFacts<'a>, usize, &'a str, &'a [(&'a str, &'a str)]);
const LUCA: usize = 2;

#[test]
fn every_refusal_rule() {
    let open = ticket(Status::Assigned, Level::First, Some("a@example.org"));
    let resolved = ticket(Status::Resolved, Level::First, Some("a@example.org"));
    let archived = ticket(Status::Archived, Level::First, Some("a@example.org"));
    let second = ticket(Status::Assigned, Level::Second, Some("a@example.org"));
    let phone_only = ticket(Status::Assigned, Level::Second, None);
    let table: &[Case<'_>] = &[
        // The mail as a whole.
        (&open, GIULIA, "", &[("(empty)", "neither tags nor text")]),
        (
            &resolved,
            GIULIA,
            "Grazie a lei.",
            &[("(answer)", "TCK-2026-00007 is resolved: reopen it")],
        ),
        (&archived, GIULIA, "Ancora io.", &[("(answer)", "is archived")]),
        // #prendo
        (
            &resolved,
            GIULIA,
            "#prendo",
            &[("#prendo", "TCK-2026-00007 is resolved")],
        ),
        (&archived, GIULIA, "#prendo", &[("#prendo", "is archived")]),
        // #assegna
        (
            &open,
            GIULIA,
            "#assegna Mario Neri",
            &[("#assegna Mario Neri", "no operator is called \"Mario Neri\"")],
        ),
        (
            &resolved,
            GIULIA,
            "#assegna Marco Rossi",
            &[("#assegna", "is resolved")],
        ),
        // #secondolivello
        (
            &open,
            GIULIA,
            "#secondolivello Marco Rossi",
            &[(
                "#secondolivello Marco Rossi",
                "Marco Rossi is not a second-level operator",
            )],
        ),
        (
            &open,
            GIULIA,
            "#secondolivello Nessuno",
            &[("#secondolivello Nessuno", "no operator is called")],
        ),
        (
            &second,
            LUCA,
            "#secondolivello",
            &[("#secondolivello", "already at second level")],
        ),
        (
            &resolved,
            GIULIA,
            "#secondolivello",
            &[("#secondolivello", "is resolved")],
        ),
        (
            &resolved,
            GIULIA,
            "#secondolivello Luca Verdi",
            &[("#secondolivello", "is resolved")],
        ),
        // #sollecito / #reclamo
        (&resolved, GIULIA, "#sollecito", &[("#sollecito", "is resolved")]),
        (&archived, GIULIA, "#reclamo", &[("#reclamo", "is archived")]),
        // #risolto
        (
            &resolved,
            GIULIA,
            "#risolto\nFatto.",
            &[("#risolto", "is already resolved")],
        ),
        (
            &open,
            GIULIA,
            "#risolto",
            &[("#risolto", "write the resolution below the tag")],
        ),
        // #fuoriambito
        (
            &archived,
            GIULIA,
            "#fuoriambito",
            &[("#fuoriambito", "is already archived")],
        ),
        // #nota, #telefono
        (&open, GIULIA, "#nota", &[("#nota", "write the note below the tag")]),
        (
            &open,
            GIULIA,
            "#telefono",
            &[("#telefono", "write a summary of the call")],
        ),
        // #remoto
        (
            &second,
            GIULIA,
            "#remoto 2026-03-10 10:00",
            &[("#remoto", "for second-level operators")],
        ),
        (
            &phone_only,
            LUCA,
            "#remoto 2026-03-10 10:00",
            &[("#remoto", "no e-mail address for the invitation")],
        ),
        (
            &second,
            LUCA,
            "#remoto 2026-03-09 09:00",
            &[("#remoto", "2026-03-09 09:00:00 is in the past")],
        ),
        // 02:30 on the last Sunday of March does not exist in Rome.
        (
            &second,
            LUCA,
            "#remoto 2026-03-29 02:30",
            &[("#remoto", "not a valid local time")],
        ),
        (
            &phone_only,
            GIULIA,
            "#remoto 2026-03-01 10:00",
            &[
                ("#remoto", "second-level"),
                ("#remoto", "no e-mail"),
                ("#remoto", "in the past"),
            ],
        ),
        // #kb
        (&open, GIULIA, "#kb", &[("#kb", "is not resolved yet")]),
        // Tags that belong in a new mail.
        (&open, GIULIA, "#coda", &[("#coda", "goes in a new mail")]),
        (&open, GIULIA, "#aiuto", &[("#aiuto", "goes in a new mail")]),
        (&open, GIULIA, "#nuovo Mario Rossi", &[("#nuovo", "goes in a new mail")]),
        (
            &open,
            GIULIA,
            "#email a@example.org",
            &[("#email", "goes in a new mail")],
        ),
        (
            &open,
            GIULIA,
            "#assente 2026-03-20",
            &[("#assente", "goes in a new mail")],
        ),
        // Several problems in one mail are all reported, in order.
        (
            &resolved,
            GIULIA,
            "#prendo\n#risolto",
            &[("#prendo", "is resolved"), ("#risolto", "is already resolved")],
        ),
    ];
    for (ticket, sender, text, expected) in table {
        let got = problems(ticket, *sender, text);
        assert_eq!(got.len(), expected.len(), "{text:?} on {:?}: {got:?}", ticket.status);
        for ((line, problem), (want_line, want_words)) in got.iter().zip(expected.iter()) {
            assert_eq!(line, want_line, "{text:?}: {got:?}");
            assert!(
                problem.contains(want_words),
                "{text:?}: {problem:?} lacks {want_words:?}"
            );
        }
    }
}

#[test]
fn what_is_allowed_is_not_refused() {
    let open = ticket(Status::Assigned, Level::First, Some("a@example.org"));
    let new = ticket(Status::New, Level::First, Some("a@example.org"));
    let resolved = ticket(Status::Resolved, Level::First, Some("a@example.org"));
    let second = ticket(Status::Assigned, Level::Second, Some("a@example.org"));
    let table: &[(&TicketFacts<'_>, usize, &str)] = &[
        (&new, GIULIA, "#prendo"),
        (&open, GIULIA, "Provi a rifirmare con CAdES."),
        (&open, GIULIA, "#assegna marco.rossi@comune.example.it"),
        (&open, GIULIA, "#assegna MARCO ROSSI"),
        (&open, GIULIA, "#secondolivello"),
        (&open, GIULIA, "#secondolivello Luca Verdi\nServe l'accesso remoto."),
        (&open, GIULIA, "#risolto\nFatto."),
        (&open, GIULIA, "#risolto\n#kb Firma CAdES\nFatto."),
        (&resolved, GIULIA, "#kb"),
        (&resolved, GIULIA, "#nota\nIl cittadino ha richiamato."),
        (&resolved, GIULIA, "#tempo 30m"),
        (&open, GIULIA, "#fuoriambito"),
        (&open, GIULIA, "#sollecito"),
        (&open, GIULIA, "#reclamo"),
        (&open, GIULIA, "#telefono\nRichiamato, risolto a voce."),
        (&second, LUCA, "#remoto 2026-03-10 10:00 45"),
    ];
    for (ticket, sender, text) in table {
        assert_eq!(
            problems(ticket, *sender, text),
            Vec::new(),
            "{text:?} on {:?}",
            ticket.status
        );
    }
}

#[test]
fn operators_are_found_by_address_then_name_in_any_case() {
    let roster = roster();
    let mail = CommandMail {
        operator: &roster[0],
        commands: &[],
        body: "",
        roster: &roster,
        timezone: chrono_tz::Europe::Rome,
        now: now(),
    };
    assert_eq!(
        mail.operator_named(" Luca.Verdi@Comune.Example.it ").map(|o| o.level),
        Some(Level::Second)
    );
    assert_eq!(
        mail.operator_named("luca verdi").map(|o| o.name.as_str()),
        Some("Luca Verdi")
    );
    assert!(mail.operator_named("Luca").is_none(), "no guessing from part of a name");
}

#[test]
fn tags_are_named_in_italian() {
    assert_eq!(tag_of(&Command::SetKind(Kind::Complaint)), "#reclamo");
    assert_eq!(tag_of(&Command::SetKind(Kind::Reminder)), "#sollecito");
    assert_eq!(tag_of(&Command::Away(NaiveDate::from_ymd_opt(2026, 3, 20))), "#assente");
}

#[test]
fn taking_a_ticket_one_already_holds_is_a_no_op() {
    let mut held = ticket(Status::Assigned, Level::First, Some("a@example.org"));
    held.assignee = Some("giulia.bianchi@comune.example.it");
    assert!(take::is_already_held(&held, "Giulia.Bianchi@comune.example.it"));
    assert!(
        !take::is_already_held(&held, "marco.rossi@comune.example.it"),
        "someone else takes it over"
    );
    let new = ticket(Status::New, Level::First, Some("a@example.org"));
    assert!(!take::is_already_held(&new, "giulia.bianchi@comune.example.it"));
}
