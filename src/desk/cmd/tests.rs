//! Every refusal rule of the operator commands, one row each: the ticket, the mail, and the
//! problem expected (or none).

use chrono::NaiveDate;

use super::*;
use crate::commands::{Done, parse_commands};
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
        take_in_at: None,
        resolution_due: None,
        has_kb_entry: false,
        request: "Il portale rifiuta il file firmato.",
        time_logged: 0,
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
        .map(|e| (e.line, e.problem.text(crate::config::Language::En)))
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
        (&open, GIULIA, "", &[("(vuoto)", "neither tags nor text")]),
        (
            &resolved,
            GIULIA,
            "Grazie a lei.",
            &[("(risposta)", "TCK-2026-00007 is resolved: reopen it")],
        ),
        (&archived, GIULIA, "Ancora io.", &[("(risposta)", "is archived")]),
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
            &[("#remoto", "2026-03-09 09:00 is in the past")],
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
        (
            &resolved,
            GIULIA,
            "#kb Titolo",
            &[("#kb", "has no knowledge-base entry")],
        ),
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
    let resolved = TicketFacts {
        has_kb_entry: true,
        ..ticket(Status::Resolved, Level::First, Some("a@example.org"))
    };
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

// ---------------------------------------------------------------------------------------------
// What the commands do, once nothing refuses them
// ---------------------------------------------------------------------------------------------

mod decisions {
    use super::*;
    use crate::desk::effect::{CycleStamp, Effect, Letter, Outcome};
    use crate::model::{EventAction, NoticeKind};
    use crate::sla::{CalendarRules, SlaBudgets, resolution_due};

    const MARCO_EMAIL: &str = "marco.rossi@comune.example.it";
    const GIULIA_EMAIL: &str = "giulia.bianchi@comune.example.it";

    /// The decision on `text` sent by `sender` about `ticket`, at [`now`].
    fn decision(ticket: &TicketFacts<'_>, sender: usize, text: &str) -> Decision {
        let parsed = parse_commands(text);
        assert!(parsed.errors.is_empty(), "{text:?} parses: {:?}", parsed.errors);
        let roster = roster();
        let calendar = Calendar::new(CalendarRules::default(), Vec::new());
        let sla = SlaBudgets::default();
        let local_time = |t: DateTime<Utc>| t.format("%d/%m %H:%M").to_string();
        let mail = CommandMail {
            operator: &roster[sender],
            commands: &parsed.commands,
            body: &parsed.body,
            roster: &roster,
            timezone: chrono_tz::Europe::Rome,
            now: now(),
        };
        let setting = Setting {
            calendar: &calendar,
            sla: &sla,
            local_time: &local_time,
        };
        decide(ticket, &mail, &setting)
    }

    fn due(level: Level, from: DateTime<Utc>) -> DateTime<Utc> {
        resolution_due(
            &Calendar::new(CalendarRules::default(), Vec::new()),
            &SlaBudgets::default(),
            level,
            from,
        )
    }

    fn fresh() -> TicketFacts<'static> {
        ticket(Status::New, Level::First, Some("a@example.org"))
    }

    /// Taken in by Giulia at 9:30, resolution due at `taken_due`.
    fn taken(taken_due: DateTime<Utc>) -> TicketFacts<'static> {
        TicketFacts {
            assignee: Some(GIULIA_EMAIL),
            take_in_at: Some(rome(9, 9, 30)),
            resolution_due: Some(taken_due),
            ..ticket(Status::Assigned, Level::First, Some("a@example.org"))
        }
    }

    fn assign(technician: &str, by: &str) -> Effect {
        Effect::Assign {
            technician: technician.into(),
            by: by.into(),
        }
    }

    fn event(action: EventAction, detail: &str) -> Effect {
        Effect::Event {
            actor: GIULIA_EMAIL.into(),
            action,
            detail: detail.into(),
            about: None,
        }
    }

    #[test]
    fn the_first_letter_naming_a_technician_is_the_take_in() {
        let d = decision(&fresh(), GIULIA, "#prendo");
        let due = due(Level::First, now());
        assert_eq!(
            d.effects,
            vec![
                assign(GIULIA_EMAIL, GIULIA_EMAIL),
                Effect::Letter {
                    letter: Letter::TakeIn {
                        technician: "Giulia Bianchi".into(),
                        resolution_due: due
                    },
                    stamp: Some(CycleStamp::TakeIn { resolution_due: due }),
                },
            ]
        );
        assert_eq!(
            d.applied,
            vec![Done::Assigned {
                ticket: TICKET,
                technician: "Giulia Bianchi".into(),
                awaiting_call: false
            }]
        );
        assert!(!d.nothing_changed && d.refusals.is_empty());
    }

    #[test]
    fn taking_what_one_holds_changes_nothing_and_says_so() {
        let d = decision(&taken(rome(10, 9, 30)), GIULIA, "#prendo");
        assert!(d.effects.is_empty(), "{:?}", d.effects);
        assert!(d.nothing_changed);
        assert_eq!(d.applied, vec![Done::AlreadyHeld { ticket: TICKET }]);
    }

    #[test]
    fn a_later_assignment_tells_the_new_name_but_keeps_the_cycle_and_its_deadline() {
        let promised = rome(10, 9, 30);
        let d = decision(
            &taken(promised),
            GIULIA,
            "#assegna Marco Rossi\nGuarda tu, conosci il caso.",
        );
        assert_eq!(
            d.effects,
            vec![
                assign(MARCO_EMAIL, GIULIA_EMAIL),
                Effect::Letter {
                    letter: Letter::TakeIn {
                        technician: "Marco Rossi".into(),
                        resolution_due: promised
                    },
                    stamp: None,
                },
                Effect::NotifyOperators {
                    to: vec![MARCO_EMAIL.into()],
                    kind: NoticeKind::Assigned,
                    reason: "da Giulia Bianchi".into(),
                    text: "Il portale rifiuta il file firmato.".into(),
                    screening: false,
                    note: "Guarda tu, conosci il caso.".into(),
                },
            ]
        );
    }

    #[test]
    fn closing_an_untaken_ticket_is_one_letter_that_is_take_in_and_resolution() {
        let d = decision(&fresh(), GIULIA, "#risolto\n#kb Firma CAdES\nRifirmi in CAdES.");
        let due = due(Level::First, now());
        assert_eq!(
            d.effects,
            vec![
                assign(GIULIA_EMAIL, GIULIA_EMAIL),
                Effect::Letter {
                    letter: Letter::Closing {
                        text: "Rifirmi in CAdES.".into(),
                        operator: "Giulia Bianchi".into(),
                        signed: false,
                    },
                    stamp: Some(CycleStamp::TakeInAndResolution { resolution_due: due }),
                },
                Effect::Resolve {
                    by: GIULIA_EMAIL.into(),
                    outcome: Outcome::Resolved
                },
                event(EventAction::Resolved, "Rifirmi in CAdES."),
                Effect::RecordKbResolution {
                    text: "Rifirmi in CAdES.".into()
                },
                Effect::ReviewKbEntry {
                    by: GIULIA_EMAIL.into(),
                    title: Some("Firma CAdES".into())
                },
            ]
        );
        assert_eq!(d.applied.len(), 2, "{:?}", d.applied);
        // Issue 21, item 11: #fuoriambito on an untaken ticket is one letter naming the technician.
        let d = decision(&fresh(), GIULIA, "#fuoriambito\nSi rivolga al SUAP.");
        let letters: Vec<&Effect> = d
            .effects
            .iter()
            .filter(|e| matches!(e, Effect::Letter { .. }))
            .collect();
        assert_eq!(
            letters,
            vec![&Effect::Letter {
                letter: Letter::OutOfScope {
                    text: "Si rivolga al SUAP.".into(),
                    operator: "Giulia Bianchi".into()
                },
                stamp: Some(CycleStamp::TakeInAndResolution { resolution_due: due }),
            }]
        );
        // Taken in already: the closing only stamps the resolution.
        let d = decision(&taken(rome(10, 9, 30)), GIULIA, "#risolto\nFatto.");
        assert!(
            matches!(
                &d.effects[0],
                Effect::Letter {
                    stamp: Some(CycleStamp::Resolution),
                    ..
                }
            ),
            "{:?}",
            d.effects
        );
    }

    #[test]
    fn a_suggestion_that_does_not_fit_is_marked_for_the_knowledge_base() {
        let d = decision(&fresh(), GIULIA, "#kb no KB-12");
        assert_eq!(
            d.effects,
            [Effect::MarkKbWrong {
                by: GIULIA_EMAIL.into(),
                entry: 12
            }]
        );
        assert!(
            matches!(d.applied[..], [Done::KbMarkedWrong { entry: 12, .. }]),
            "{:?}",
            d.applied
        );
    }

    #[test]
    fn an_out_of_scope_closing_feeds_no_knowledge_base() {
        let d = decision(&taken(rome(10, 9, 30)), GIULIA, "#fuoriambito\nSi rivolga al SUAP.");
        assert!(d.effects.contains(&Effect::Resolve {
            by: GIULIA_EMAIL.into(),
            outcome: Outcome::OutOfScope
        }));
        assert!(
            !d.effects
                .iter()
                .any(|e| matches!(e, Effect::RecordKbResolution { .. } | Effect::Assign { .. })),
            "{:?}",
            d.effects
        );
    }

    #[test]
    fn escalating_hands_the_note_to_level_two_and_only_the_letter_to_the_requester() {
        // Nobody took it in yet: the second level's budget runs from now.
        let d = decision(
            &fresh(),
            GIULIA,
            "#secondolivello\nHo verificato la firma: serve il remoto.",
        );
        let due = due(Level::Second, now());
        assert_eq!(
            d.effects,
            vec![
                Effect::Escalate { resolution_due: due },
                event(EventAction::Escalated, ""),
                Effect::Letter {
                    letter: Letter::Escalated { resolution_due: due },
                    stamp: None
                },
                Effect::NotifyOperators {
                    to: vec!["luca.verdi@comune.example.it".into()],
                    kind: NoticeKind::Escalated,
                    reason: "da Giulia Bianchi".into(),
                    text: String::new(),
                    screening: true,
                    note: "Ho verificato la firma: serve il remoto.".into(),
                },
            ]
        );
        // Taken in already: the second level's budget runs from the take-in.
        let d = decision(&taken(rome(10, 9, 30)), GIULIA, "#secondolivello Luca Verdi");
        assert_eq!(
            d.effects[0],
            Effect::Escalate {
                resolution_due: self::due(Level::Second, rome(9, 9, 30))
            }
        );
        assert_eq!(d.effects[2], assign("luca.verdi@comune.example.it", GIULIA_EMAIL));
    }

    #[test]
    fn a_call_back_takes_in_a_phone_request_without_e_mail() {
        let phone_only = ticket(Status::New, Level::First, None);
        let d = decision(&phone_only, GIULIA, "#telefono\nRichiamato: risolto a voce.");
        assert_eq!(
            d.effects,
            vec![
                event(EventAction::Phone, "Richiamato: risolto a voce."),
                Effect::TakeInByPhone {
                    resolution_due: due(Level::First, now())
                },
                assign(GIULIA_EMAIL, GIULIA_EMAIL),
            ]
        );
        // With an address, the call is only recorded: the letter is the take-in.
        let d = decision(&fresh(), GIULIA, "#telefono\nRichiamato.");
        assert_eq!(d.effects, vec![event(EventAction::Phone, "Richiamato.")]);
    }

    #[test]
    fn only_untagged_text_is_an_answer_to_the_requester() {
        let d = decision(&taken(rome(10, 9, 30)), GIULIA, "Provi con CAdES.");
        assert_eq!(
            d.effects,
            vec![
                Effect::Letter {
                    letter: Letter::Answer {
                        text: "Provi con CAdES.".into(),
                        operator: "Giulia Bianchi".into(),
                        signed: false,
                    },
                    stamp: None
                },
                event(EventAction::Answered, ""),
            ]
        );
        for tagged in ["#nota\nInterno.", "#secondolivello\nPer il 2° livello."] {
            let d = decision(&taken(rome(10, 9, 30)), GIULIA, tagged);
            assert!(
                !d.effects.iter().any(|e| matches!(
                    e,
                    Effect::Letter {
                        letter: Letter::Answer { .. },
                        ..
                    }
                )),
                "{tagged:?}: {:?}",
                d.effects
            );
        }
    }

    #[test]
    fn a_complaint_goes_to_the_supervisors_and_time_is_logged() {
        let d = decision(
            &taken(rome(10, 9, 30)),
            GIULIA,
            "#reclamo\n#tempo 30m\nIl cittadino è molto arrabbiato.",
        );
        assert_eq!(d.effects[0], Effect::SetKind(crate::model::Kind::Complaint));
        assert!(
            matches!(&d.effects[2], Effect::NotifyOperators { kind: NoticeKind::Complaint, to, .. } if to.len() == 3)
        );
        assert!(d.effects.contains(&Effect::LogTime {
            by: GIULIA_EMAIL.into(),
            minutes: 30
        }));
    }

    #[test]
    fn a_refused_mail_decides_nothing() {
        let d = decision(&fresh(), GIULIA, "#prendo\n#assegna Nessuno");
        assert!(d.effects.is_empty() && d.applied.is_empty());
        assert_eq!(d.refusals.len(), 1);
    }
}

#[test]
fn time_corrections_show_the_total_and_never_go_below_zero() {
    let calendar = crate::sla::Calendar::new(crate::sla::CalendarRules::default(), Vec::new());
    let sla = crate::sla::SlaBudgets::default();
    let local_time = |t: DateTime<Utc>| t.to_string();
    let setting = Setting {
        calendar: &calendar,
        sla: &sla,
        local_time: &local_time,
    };
    let roster = roster();
    let run = |logged: i64, text: &str| {
        let parsed = parse_commands(text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let facts = TicketFacts {
            time_logged: logged,
            ..ticket(Status::Resolved, Level::First, Some("a@example.org"))
        };
        let mail = CommandMail {
            operator: &roster[GIULIA],
            commands: &parsed.commands,
            body: &parsed.body,
            roster: &roster,
            timezone: chrono_tz::Europe::Rome,
            now: now(),
        };
        decide(&facts, &mail, &setting)
    };
    let d = run(90, "#tempo -30m");
    assert!(d.effects.contains(&crate::desk::effect::Effect::LogTime {
        by: "giulia.bianchi@comune.example.it".into(),
        minutes: -30
    }));
    assert_eq!(
        d.applied,
        [Done::TimeLogged {
            ticket: TICKET,
            minutes: -30,
            total: 60
        }]
    );
    let d = run(0, "#tempo 1,5h");
    assert_eq!(
        d.applied,
        [Done::TimeLogged {
            ticket: TICKET,
            minutes: 90,
            total: 90
        }]
    );
    let d = run(10, "#tempo -30m");
    assert!(d.effects.is_empty());
    assert_eq!(
        d.refusals[0].problem.text(crate::config::Language::It),
        "su TCK-2026-00007 sono registrati solo 10 minuti: la correzione li porterebbe sotto zero"
    );
}

#[test]
fn an_unknown_operator_is_answered_with_the_names_there_are() {
    let open = ticket(Status::Assigned, Level::First, Some("a@example.org"));
    let problems = problems(&open, GIULIA, "#assegna Mario Neri");
    assert!(
        problems[0]
            .1
            .ends_with("the operators are: Giulia Bianchi, Marco Rossi, Luca Verdi"),
        "{problems:?}"
    );
}
