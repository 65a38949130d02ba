//! Every refusal rule of the operator commands, one row each: the ticket, the mail, and the
//! problem expected (or none).

use super::*;
use crate::commands::{Done, parse_commands};
use crate::model::Kind;

const TICKET: TicketId = TicketId { year: 2026, number: 7 };
const HELPDESK: &str = "assistenza@comune.example.it";

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
        reads_mail: requester.is_some(),
        assignee: None,
        take_in_at: None,
        resolution_due: None,
        has_kb_entry: false,
        request: "Il portale rifiuta il file firmato.",
        time_logged: 0,
        followers: 0,
        master: None,
        copies: &[],
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
        absences: &[],
        lookups: Lookups::default(),
        helpdesk: HELPDESK,
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
        absences: &[],
        lookups: Lookups::default(),
        helpdesk: HELPDESK,
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
    assert_eq!(tag_of(&Command::Away(None)), "#assente");
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
        decision_on(&roster(), &[], ticket, sender, text)
    }

    /// The same with another roster of the day and the absences recorded.
    fn decision_on(
        roster: &[Operator],
        absences: &[crate::model::Absence],
        ticket: &TicketFacts<'_>,
        sender: usize,
        text: &str,
    ) -> Decision {
        decision_looking_up(roster, absences, Lookups::default(), ticket, sender, text)
    }

    /// The same with what the edge looked up (stored answers, masters).
    fn decision_looking_up(
        roster: &[Operator],
        absences: &[crate::model::Absence],
        lookups: Lookups<'_>,
        ticket: &TicketFacts<'_>,
        sender: usize,
        text: &str,
    ) -> Decision {
        let parsed = parse_commands(text);
        assert!(parsed.errors.is_empty(), "{text:?} parses: {:?}", parsed.errors);
        let calendar = Calendar::new(CalendarRules::default(), Vec::new());
        let sla = SlaBudgets::default();
        let local_time = |t: DateTime<Utc>| t.format("%d/%m %H:%M").to_string();
        let mail = CommandMail {
            operator: &roster[sender],
            commands: &parsed.commands,
            body: &parsed.body,
            roster,
            timezone: chrono_tz::Europe::Rome,
            now: now(),
            absences,
            lookups,
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

    const MARCO: usize = 1;

    /// The roster of the day with Giulia away until 12 March (Marco her deputy, or nobody).
    fn giulia_away(deputy: Option<&str>) -> (Vec<Operator>, Vec<crate::model::Absence>) {
        let absence = crate::model::Absence {
            operator: GIULIA_EMAIL.into(),
            from: chrono::NaiveDate::from_ymd_opt(2026, 3, 9).expect("a day"),
            until: chrono::NaiveDate::from_ymd_opt(2026, 3, 12).expect("a day"),
            deputy: deputy.map(str::to_string),
            began: true,
        };
        let roster = crate::desk::absence::roster_on(&roster(), std::slice::from_ref(&absence), now().date_naive());
        (roster, vec![absence])
    }

    #[test]
    fn a_second_take_on_a_held_ticket_is_refused_naming_the_holder() {
        // Issue 15, item 1: Marco's #prendo used to take Giulia's ticket over in silence.
        let d = decision(&taken(rome(10, 9, 30)), MARCO, "#prendo");
        assert!(d.effects.is_empty(), "{:?}", d.effects);
        assert_eq!(
            d.refusals,
            vec![CommandError {
                line: "#prendo".into(),
                problem: Problem::HeldBy {
                    ticket: TICKET,
                    holder: "Giulia Bianchi".into()
                }
            }]
        );
        // Nor may he hand it to himself or anyone else.
        let d = decision(&taken(rome(10, 9, 30)), MARCO, "#assegna Marco Rossi");
        assert!(matches!(
            &d.refusals[..],
            [CommandError {
                problem: Problem::HeldBy { .. },
                ..
            }]
        ));
        // On an untaken ticket anyone may assign it.
        assert!(decision(&fresh(), MARCO, "#assegna Giulia Bianchi").refusals.is_empty());
    }

    #[test]
    fn a_supervisor_takes_over_and_the_previous_holder_is_told() {
        let mut staff = roster();
        staff[MARCO].supervisor = true;
        let promised = rome(10, 9, 30);
        let d = decision_on(&staff, &[], &taken(promised), MARCO, "#prendo");
        assert!(d.refusals.is_empty(), "{:?}", d.refusals);
        assert_eq!(
            d.effects,
            vec![
                assign(MARCO_EMAIL, MARCO_EMAIL),
                Effect::Letter {
                    letter: Letter::TakeIn {
                        technician: "Marco Rossi".into(),
                        resolution_due: promised
                    },
                    stamp: None,
                },
                Effect::NotifyOperators {
                    to: vec![GIULIA_EMAIL.into()],
                    kind: NoticeKind::TakenOver,
                    reason: "Marco Rossi (da Marco Rossi)".into(),
                    text: String::new(),
                    screening: false,
                    note: String::new(),
                },
            ]
        );
    }

    #[test]
    fn the_holder_hands_on_once_and_the_same_name_twice_changes_nothing() {
        let d = decision(&taken(rome(10, 9, 30)), GIULIA, "#assegna Giulia Bianchi");
        assert!(d.effects.is_empty(), "{:?}", d.effects);
        assert!(d.nothing_changed);
        assert_eq!(
            d.applied,
            vec![Done::AlreadyWith {
                ticket: TICKET,
                technician: "Giulia Bianchi".into()
            }]
        );
        // The previous holder is not told about what she did herself.
        let d = decision(&taken(rome(10, 9, 30)), GIULIA, "#assegna Marco Rossi");
        assert!(!d.effects.iter().any(|e| matches!(
            e,
            Effect::NotifyOperators {
                kind: NoticeKind::TakenOver,
                ..
            }
        )));
    }

    #[test]
    fn an_absent_operator_gets_no_work_and_their_tickets_may_be_taken() {
        let (staff, absences) = giulia_away(Some(MARCO_EMAIL));
        // Handing her a ticket is refused, naming her last day and her deputy.
        let d = decision_on(&staff, &absences, &fresh(), MARCO, "#assegna Giulia Bianchi");
        assert_eq!(
            d.refusals[0].problem,
            Problem::OperatorAway {
                name: "Giulia Bianchi".into(),
                until: chrono::NaiveDate::from_ymd_opt(2026, 3, 12).expect("a day"),
                deputy: Some("Marco Rossi".into())
            }
        );
        // What she holds does not wait for her.
        let d = decision_on(&staff, &absences, &taken(rome(10, 9, 30)), MARCO, "#prendo");
        assert!(d.refusals.is_empty(), "{:?}", d.refusals);
        assert!(d.effects.iter().any(|e| matches!(e, Effect::NotifyOperators { kind: NoticeKind::TakenOver, to, .. } if to == &[GIULIA_EMAIL.to_string()])));
    }

    #[test]
    fn an_escalation_to_an_absent_technician_goes_to_their_deputy_else_to_level_two() {
        let mut staff = roster();
        staff.push(operator("Sara Neri", "sara.neri@comune.example.it", Level::Second));
        let luca = crate::model::Absence {
            operator: "luca.verdi@comune.example.it".into(),
            from: now().date_naive(),
            until: now().date_naive(),
            deputy: Some("sara.neri@comune.example.it".into()),
            began: true,
        };
        let today = crate::desk::absence::roster_on(&staff, std::slice::from_ref(&luca), now().date_naive());
        let d = decision_on(
            &today,
            std::slice::from_ref(&luca),
            &taken(rome(10, 9, 30)),
            GIULIA,
            "#secondolivello Luca Verdi",
        );
        assert!(
            d.effects.contains(&assign("sara.neri@comune.example.it", GIULIA_EMAIL)),
            "{:?}",
            d.effects
        );
        assert!(d.effects.iter().any(
            |e| matches!(e, Effect::NotifyOperators { kind: NoticeKind::Escalated, to, reason, .. }
            if to == &["sara.neri@comune.example.it".to_string()] && reason.contains("Luca Verdi è assente"))
        ));
        // Without a deputy: every second-level operator at work, not Luca.
        let no_deputy = crate::model::Absence { deputy: None, ..luca };
        let today = crate::desk::absence::roster_on(&staff, std::slice::from_ref(&no_deputy), now().date_naive());
        let d = decision_on(
            &today,
            &[no_deputy],
            &taken(rome(10, 9, 30)),
            GIULIA,
            "#secondolivello Luca Verdi",
        );
        assert!(!d.effects.iter().any(|e| matches!(e, Effect::Assign { .. })));
        assert!(d.effects.iter().any(
            |e| matches!(e, Effect::NotifyOperators { kind: NoticeKind::Escalated, to, .. }
            if to == &["sara.neri@comune.example.it".to_string()])
        ));
    }

    #[test]
    fn a_stored_answer_opens_the_text_to_the_requester() {
        let answers = [("spid".to_string(), Some("serve SPID di livello 2.".to_string()))];
        let names = ["pdfa".to_string(), "spid".to_string()];
        let lookups = Lookups {
            answers: &answers,
            answer_names: &names,
            masters: &[],
            kb_entries: &[],
        };
        let d = decision_looking_up(
            &roster(),
            &[],
            lookups,
            &taken(rome(10, 9, 30)),
            GIULIA,
            "#risposta spid\nMi faccia sapere.",
        );
        assert!(d.refusals.is_empty(), "{:?}", d.refusals);
        assert!(
            d.effects.iter().any(
                |e| matches!(e, Effect::Letter { letter: Letter::Answer { text, .. }, .. }
            if text == "serve SPID di livello 2.\n\nMi faccia sapere.")
            ),
            "{:?}",
            d.effects
        );
        // With #risolto it is the resolution.
        let d = decision_looking_up(
            &roster(),
            &[],
            lookups,
            &taken(rome(10, 9, 30)),
            GIULIA,
            "#risolto\n#risposta spid",
        );
        assert!(
            d.effects.iter().any(
                |e| matches!(e, Effect::Letter { letter: Letter::Closing { text, .. }, .. }
            if text == "serve SPID di livello 2.")
            ),
            "{:?}",
            d.effects
        );
        // A published article used as the answer is remembered for similar requests.
        let article = [("kb:12".to_string(), Some("Usi il formato PDF/A.".to_string()))];
        let lookups_kb = Lookups {
            answers: &article,
            ..lookups
        };
        let d = decision_looking_up(
            &roster(),
            &[],
            lookups_kb,
            &taken(rome(10, 9, 30)),
            GIULIA,
            "#risposta kb:12",
        );
        assert!(
            d.effects.contains(&Effect::RecordKbUse {
                by: GIULIA_EMAIL.into(),
                entry: 12
            }),
            "{:?}",
            d.effects
        );
        // A name that names nothing is refused with the names there are; nothing is sent.
        let missing = [("spdi".to_string(), None)];
        let lookups = Lookups {
            answers: &missing,
            ..lookups
        };
        let d = decision_looking_up(
            &roster(),
            &[],
            lookups,
            &taken(rome(10, 9, 30)),
            GIULIA,
            "#risposta spdi",
        );
        assert!(d.effects.is_empty());
        assert_eq!(
            d.refusals[0].problem,
            Problem::NoSuchAnswer {
                name: "spdi".into(),
                known: names.to_vec()
            }
        );
    }

    #[test]
    fn a_ticket_joins_an_incident_and_the_master_resolves_its_followers() {
        let master = TicketId { year: 2026, number: 40 };
        let open_master = [(
            master,
            Some(link::Master {
                root: master,
                status: Status::Assigned,
            }),
        )];
        let lookups = Lookups {
            masters: &open_master,
            kb_entries: &[],
            ..Lookups::default()
        };
        let d = decision_looking_up(&roster(), &[], lookups, &fresh(), GIULIA, &format!("#collega {master}"));
        assert_eq!(d.effects[0], Effect::Link { master });
        assert_eq!(d.applied, vec![Done::Linked { ticket: TICKET, master }]);
        // Refused: itself, an unknown ticket, a closed master.
        let itself = [(
            TICKET,
            Some(link::Master {
                root: TICKET,
                status: Status::New,
            }),
        )];
        let d = decision_looking_up(
            &roster(),
            &[],
            Lookups {
                masters: &itself,
                kb_entries: &[],
                ..lookups
            },
            &fresh(),
            GIULIA,
            &format!("#collega {TICKET}"),
        );
        assert_eq!(d.refusals[0].problem, Problem::LinkToItself);
        let unknown = [(master, None)];
        let d = decision_looking_up(
            &roster(),
            &[],
            Lookups {
                masters: &unknown,
                kb_entries: &[],
                ..lookups
            },
            &fresh(),
            GIULIA,
            &format!("#collega {master}"),
        );
        assert_eq!(d.refusals[0].problem, Problem::NoSuchTicket { ticket: master });
        let closed = [(
            master,
            Some(link::Master {
                root: master,
                status: Status::Resolved,
            }),
        )];
        let d = decision_looking_up(
            &roster(),
            &[],
            Lookups {
                masters: &closed,
                kb_entries: &[],
                ..lookups
            },
            &fresh(),
            GIULIA,
            &format!("#collega {master}"),
        );
        assert_eq!(d.refusals[0].problem, Problem::MasterClosed { master });
        // The master with three open followers: one resolution for all, one entry in the base.
        let with_followers = TicketFacts {
            followers: 3,
            ..taken(rome(10, 9, 30))
        };
        let d = decision(
            &with_followers,
            GIULIA,
            "#risolto\nRipristinato il servizio di protocollo.",
        );
        assert!(d.effects.contains(&Effect::ResolveFollowers {
            by: GIULIA_EMAIL.into(),
            text: "Ripristinato il servizio di protocollo.".into()
        }));
        assert!(d.effects.iter().any(|e| matches!(e, Effect::RecordKbResolution { .. })));
        assert!(d.applied.contains(&Done::IncidentClosed {
            master: TICKET,
            followers: 3
        }));
        // A follower closed with it has its own letter but feeds no entry of its own.
        let follower = TicketFacts {
            master: Some(master),
            ..taken(rome(10, 9, 30))
        };
        let d = decision(&follower, GIULIA, "#risolto\nRipristinato il servizio di protocollo.");
        assert!(d.effects.iter().any(|e| matches!(
            e,
            Effect::Letter {
                letter: Letter::Closing { .. },
                ..
            }
        )));
        assert!(
            !d.effects
                .iter()
                .any(|e| matches!(e, Effect::RecordKbResolution { .. } | Effect::ResolveFollowers { .. }))
        );
    }

    #[test]
    fn a_question_goes_to_a_colleague_and_never_to_the_requester() {
        let d = decision(
            &taken(rome(10, 9, 30)),
            GIULIA,
            "#chiedi Luca Verdi hai visto questo errore del protocollo?\nLo scrive da ieri.",
        );
        assert_eq!(
            d.effects[0],
            Effect::AskColleague {
                colleague: "luca.verdi@comune.example.it".into(),
                question: "hai visto questo errore del protocollo?\n\nLo scrive da ieri.".into()
            }
        );
        assert!(
            !d.effects.iter().any(|e| matches!(e, Effect::Letter { .. })),
            "{:?}",
            d.effects
        );
        assert_eq!(
            d.applied,
            vec![Done::Asked {
                ticket: TICKET,
                colleague: "Luca Verdi".into()
            }]
        );
        let refused = |text: &str| {
            decision(&taken(rome(10, 9, 30)), GIULIA, text).refusals[0]
                .problem
                .clone()
        };
        assert_eq!(refused("#chiedi Giulia Bianchi ciao?"), Problem::AskYourself);
        assert_eq!(refused("#chiedi Luca Verdi"), Problem::QuestionMissing);
        assert!(matches!(
            refused("#chiedi Anna Neri ciao?"),
            Problem::NoSuchOperator { .. }
        ));
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
        let entries = [(12, true)];
        let lookups = Lookups {
            kb_entries: &entries,
            ..Lookups::default()
        };
        let d = decision_looking_up(&roster(), &[], lookups, &fresh(), GIULIA, "#kb no KB-12");
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

    /// A mistyped number is refused, in the operator's language, and nothing is marked.
    #[test]
    fn a_suggestion_that_does_not_exist_cannot_be_marked() {
        let entries = [(99, false)];
        let lookups = Lookups {
            kb_entries: &entries,
            ..Lookups::default()
        };
        let d = decision_looking_up(&roster(), &[], lookups, &fresh(), GIULIA, "#kb no KB-99");
        assert!(d.effects.is_empty() && d.applied.is_empty(), "{d:?}");
        assert_eq!(
            d.refusals,
            [CommandError {
                line: "#kb no KB-99".into(),
                problem: Problem::KbNoSuchEntry { entry: 99 },
            }]
        );
        let it = d.refusals[0].problem.text(crate::config::Language::It);
        let en = d.refusals[0].problem.text(crate::config::Language::En);
        assert!(it.contains("KB-99 non esiste"), "{it}");
        assert!(en.contains("KB-99 does not exist"), "{en}");
        // Not looked up is not known to exist: refused too.
        let d = decision(&fresh(), GIULIA, "#kb no KB-12");
        assert!(
            matches!(
                d.refusals[..],
                [CommandError {
                    problem: Problem::KbNoSuchEntry { entry: 12 },
                    ..
                }]
            ),
            "{d:?}"
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
                    letter: Letter::Escalated {
                        resolution_due: due,
                        technician: None
                    },
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
        spam_days: 30,
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
            absences: &[],
            lookups: Lookups::default(),
            helpdesk: HELPDESK,
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
