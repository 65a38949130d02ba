//! Every route of a requester's mail: thank-you, reopen to the closer or to the queue (gone,
//! away by the roster, away by #assente), complaint, reminder (take-in or resolution overdue),
//! plain news; and the pure phrase rule.

use super::*;
use crate::desk::testing::rome;
use crate::sla::CalendarRules;

#[test]
fn bare_thanks_are_recognised_conservatively() {
    for yes in [
        "Grazie, tutto risolto!",
        "grazie mille",
        "Perfetto, grazie.",
        "Thanks!",
        "Ok grazie\n\nMario Rossi",
        // Issue 21, item 5: these reopened their tickets.
        "Grazie mille, ora funziona!",
        "La ringrazio, problema risolto. Buona giornata",
        "Tutto risolto, ancora grazie.",
        "Thank you, it works now.",
    ] {
        assert!(is_bare_thanks(yes), "{yes}");
    }
    for no in [
        "Grazie, ma il problema si ripresenta.",
        "Grazie. Non funziona ancora.",
        "Grazie, posso chiedere un'altra cosa?",
        "Il file viene ancora rifiutato",
        "Thanks, but it is still broken",
        "Grazie, ma non funziona",
        "Grazie, il problema persiste.",
        "Grazie, il problema si ripresenta di nuovo",
        "Grazie ancora, non riesco a firmare",
        "Grazie, non va",
        "",
        "Buongiorno, allego il documento firmato come richiesto dal tecnico nella mail precedente, \
         fatemi sapere se serve altro per completare la pratica edilizia che devo presentare entro venerdì grazie",
    ] {
        assert!(!is_bare_thanks(no), "{no}");
    }
}

#[test]
fn reopened_tickets_go_back_to_their_closer_unless_gone_or_away() {
    let mut staff = roster(false);
    assert_eq!(reopen_route(&staff, Some(GIULIA)), ReopenRoute::BackTo(GIULIA.into()));
    assert!(matches!(reopen_route(&staff, Some("gone@x")), ReopenRoute::Queue(r) if r.contains("non è più")));
    assert!(matches!(reopen_route(&staff, None), ReopenRoute::Queue(_)));
    staff[0].away = true;
    assert!(matches!(reopen_route(&staff, Some(GIULIA)), ReopenRoute::Queue(r) if r.contains("assente")));
    staff[0].deputy = Some(MARCO.into());
    assert_eq!(
        reopen_route(&staff, Some(GIULIA)),
        ReopenRoute::Deputy {
            deputy: MARCO.into(),
            reason: "giulia è assente, la sostituisci".into()
        }
    );
    staff[1].away = true;
    assert!(
        matches!(reopen_route(&staff, Some(GIULIA)), ReopenRoute::Queue(r) if r.contains("assente")),
        "the deputy is away too"
    );
}

const GIULIA: &str = "giulia@comune.example.it";
const MARCO: &str = "marco@comune.example.it";
const LUCA: &str = "luca@comune.example.it";
const REQUESTER: &str = "anna@example.org";

fn operator(email: &str, level: Level, supervisor: bool, away: bool) -> Operator {
    let name = email.split('@').next().unwrap_or_default();
    Operator {
        supervisor,
        away,
        deputy: None,
        ..crate::desk::testing::operator(name, email, level)
    }
}

fn roster(giulia_away: bool) -> Vec<Operator> {
    vec![
        operator(GIULIA, Level::First, false, giulia_away),
        operator(MARCO, Level::First, false, false),
        operator(LUCA, Level::Second, true, false),
    ]
}

/// Monday 9 March 2026, 11:00 in Rome.
fn now() -> DateTime<Utc> {
    rome(9, 11, 0)
}

fn closed(resolver: Option<&str>) -> TicketFacts<'_> {
    TicketFacts {
        status: Status::Resolved,
        kind: Kind::Problem,
        level: Level::First,
        channel: Channel::Email,
        assignee: resolver,
        resolver,
        cycle: Some(CycleFacts {
            number: 1,
            take_in_due: rome(6, 9, 45),
            take_in_at: Some(rome(6, 9, 30)),
            resolution_due: Some(rome(6, 15, 30)),
        }),
        vote: None,
    }
}

fn open(assignee: Option<&str>, cycle: CycleFacts) -> TicketFacts<'_> {
    TicketFacts {
        status: if assignee.is_some() {
            Status::Assigned
        } else {
            Status::New
        },
        kind: Kind::Problem,
        level: Level::First,
        channel: Channel::Email,
        assignee,
        resolver: None,
        cycle: Some(cycle),
        vote: None,
    }
}

fn decide(ticket: &TicketFacts<'_>, subject: &str, text: &str, roster: &[Operator]) -> Vec<Effect> {
    let calendar = Calendar::new(CalendarRules::default(), Vec::new());
    let sla = SlaBudgets::default();
    let local_time = |t: DateTime<Utc>| {
        t.with_timezone(&chrono_tz::Europe::Rome)
            .format("%d/%m %H:%M")
            .to_string()
    };
    let setting = Setting {
        calendar: &calendar,
        sla: &sla,
        roster,
        now: now(),
        today: NaiveDate::from_ymd_opt(2026, 3, 9).expect("date"),
        local_time: &local_time,
        language: Language::En,
        survey_days: 14,
    };
    let message = Message {
        author: REQUESTER,
        subject,
        text,
    };
    wrote_again(ticket, &message, &setting)
}

fn notified(effects: &[Effect]) -> (Vec<String>, NoticeKind, String) {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::NotifyOperators { to, kind, reason, .. } => Some((to.clone(), *kind, reason.clone())),
            _ => None,
        })
        .expect("someone is notified")
}

fn actions(effects: &[Effect]) -> Vec<EventAction> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Event { action, .. } => Some(*action),
            _ => None,
        })
        .collect()
}

#[test]
fn a_bare_thanks_after_closure_reopens_nothing_and_tells_the_closer() {
    let effects = decide(&closed(Some(GIULIA)), "Re: x", "Grazie mille!", &roster(false));
    assert_eq!(actions(&effects), [EventAction::Thanks]);
    assert_eq!(
        notified(&effects),
        (vec![GIULIA.to_string()], NoticeKind::Message, String::new())
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Reopen { .. } | Effect::OpenCycle { .. }))
    );
}

/// (closer, Giulia away?, her deputy, back to whom, or why the queue).
type RouteCase<'a> = (Option<&'a str>, bool, Option<&'a str>, Option<&'a str>, &'a str);

#[test]
fn every_reopen_route() {
    let cases: &[RouteCase<'_>] = &[
        (Some(GIULIA), false, None, Some(GIULIA), ""),
        (Some(GIULIA), false, Some(MARCO), Some(GIULIA), ""),
        (Some(GIULIA), true, None, None, "è assente"),
        (
            Some(GIULIA),
            true,
            Some(MARCO),
            Some(MARCO),
            "giulia è assente, la sostituisci",
        ),
        (
            Some("gone@comune.example.it"),
            false,
            None,
            None,
            "non è più un operatore",
        ),
        (None, false, None, None, "nessun tecnico"),
    ];
    for (closer, giulia_away, deputy, back_to, why) in cases {
        let mut roster = roster(*giulia_away);
        roster[0].deputy = deputy.map(str::to_string);
        let effects = decide(&closed(*closer), "Re: x", "Il problema si ripresenta.", &roster);
        let case = format!("{closer:?} away={giulia_away} deputy={deputy:?}");
        match back_to {
            Some(technician) => {
                // Straight back: taken in at once, resolution due from now at its level.
                assert!(
                    matches!(&effects[0], Effect::OpenCycle { number: 2, take_in_at: Some(t), resolution_due: Some(_),
                        opening: CycleOpening::ReopenedToCloser, .. } if *t == now()),
                    "{case}: {effects:?}"
                );
                assert_eq!(
                    effects[1],
                    Effect::Reopen {
                        status: Status::Assigned,
                        assignee: Some(technician.to_string())
                    },
                    "{case}"
                );
                assert_eq!(
                    notified(&effects),
                    (vec![technician.to_string()], NoticeKind::Reopened, why.to_string()),
                    "{case}"
                );
                let name = technician.split('@').next().unwrap_or_default();
                assert!(
                    matches!(&effects[3], Effect::Letter { letter: Letter::Reopened { technician: Some(n) }, stamp: None } if n == name),
                    "{case}"
                );
            }
            None => {
                // To the queue: a fresh take-in clock for the channel, first level told why.
                assert!(
                    matches!(&effects[0], Effect::OpenCycle { number: 2, take_in_at: None, take_in_due,
                        opening: CycleOpening::ReopenedToQueue, .. } if *take_in_due == rome(9, 11, 45)),
                    "{case}: {effects:?}"
                );
                assert_eq!(
                    effects[1],
                    Effect::Reopen {
                        status: Status::New,
                        assignee: None
                    },
                    "{case}"
                );
                let (to, kind, reason) = notified(&effects);
                assert_eq!(kind, NoticeKind::Reopened);
                assert!(reason.contains(why), "{case}: {reason}");
                assert!(
                    !to.contains(&GIULIA.to_string()) || !giulia_away,
                    "{case}: the away closer is not told"
                );
                assert!(to.contains(&MARCO.to_string()), "{case}: first level is");
                assert!(
                    matches!(
                        &effects[3],
                        Effect::Letter {
                            letter: Letter::Reopened { technician: None },
                            stamp: None
                        }
                    ),
                    "{case}"
                );
            }
        }
        assert_eq!(actions(&effects), [EventAction::Reopened], "{case}");
        // The accounting counts the reopening against the technician it went back to — the
        // closer, also when their deputy takes it.
        let about = effects.iter().find_map(|e| match e {
            Effect::Event { about, .. } => Some(about.clone()),
            _ => None,
        });
        let against = if *giulia_away && deputy.is_some() {
            *closer
        } else {
            *back_to
        };
        assert_eq!(about, Some(against.map(str::to_string)), "{case}");
    }
}

#[test]
fn an_open_ticket_becomes_a_complaint_a_reminder_or_news() {
    let on_time = CycleFacts {
        number: 1,
        take_in_due: rome(9, 11, 30),
        take_in_at: None,
        resolution_due: None,
    };
    // "reclamo" in the subject: a complaint, for the supervisors.
    let effects = decide(
        &open(None, on_time),
        "Reclamo formale",
        "Scrivo ancora.",
        &roster(false),
    );
    assert_eq!(effects[0], Effect::SetKind(Kind::Complaint));
    assert_eq!(
        notified(&effects),
        (vec![LUCA.to_string()], NoticeKind::Complaint, String::new())
    );
    // Take-in overdue: a reminder to the assignee and the supervisors.
    let late_take_in = CycleFacts {
        take_in_due: rome(9, 10, 0),
        ..on_time
    };
    let effects = decide(
        &open(None, late_take_in),
        "Re: x",
        "Nessuno mi ha risposto.",
        &roster(false),
    );
    assert_eq!(effects[0], Effect::SetKind(Kind::Reminder));
    assert_eq!(actions(&effects), [EventAction::Reminder]);
    let (to, kind, reason) = notified(&effects);
    assert_eq!((to, kind), (vec![LUCA.to_string()], NoticeKind::Reminder));
    assert_eq!(reason, "take-in was due 09/03 10:00");
    // Resolution overdue on an assigned ticket: the assignee and the supervisors, once each.
    let late_resolution = CycleFacts {
        take_in_at: Some(rome(9, 8, 30)),
        resolution_due: Some(rome(9, 10, 30)),
        ..on_time
    };
    let effects = decide(
        &open(Some(LUCA), late_resolution),
        "Re: x",
        "Ancora niente?",
        &roster(false),
    );
    let (to, _, reason) = notified(&effects);
    assert_eq!(to, vec![LUCA.to_string()], "the supervisor holds it: told once");
    assert_eq!(reason, "resolution was due 09/03 10:30");
    // A reminder already marked stays a reminder (no second SetKind).
    let mut reminder = open(Some(GIULIA), late_resolution);
    reminder.kind = Kind::Reminder;
    let effects = decide(&reminder, "Re: x", "Ancora niente?", &roster(false));
    assert!(!effects.iter().any(|e| matches!(e, Effect::SetKind(_))));
    assert_eq!(notified(&effects).0, vec![GIULIA.to_string(), LUCA.to_string()]);
    // On time: news for the assignee, or first level while nobody holds it.
    let effects = decide(&open(Some(GIULIA), on_time), "Re: x", "Allego il file.", &roster(false));
    assert_eq!(
        effects,
        vec![Effect::NotifyOperators {
            to: vec![GIULIA.to_string()],
            kind: NoticeKind::Message,
            reason: String::new(),
            text: "Allego il file.".into(),
            screening: false,
            note: String::new(),
        }]
    );
    let effects = decide(&open(None, on_time), "Re: x", "Allego il file.", &roster(true));
    assert_eq!(notified(&effects).0, vec![MARCO.to_string()], "Giulia is away");
}

#[test]
fn a_thank_you_is_judged_without_its_signature_and_disclaimer() {
    let outlook = "Grazie mille, ora funziona!\n\nCordiali saluti,\nGeom. Marco Neri\nStudio Tecnico Neri\nTel. 0461 123456\n\n\
                   AVVISO DI RISERVATEZZA: questo messaggio e gli eventuali allegati sono destinati esclusivamente al \
                   destinatario. Se ha ricevuto il messaggio per errore, ne dia comunicazione al mittente e lo cancelli. \
                   È vietato ogni altro uso non autorizzato.";
    assert!(is_bare_thanks(outlook));
    let separated = "La ringrazio, problema risolto.\n-- \nArch. Paola Riva\nOrdine degli Architetti, n. 1234\nPer errori nel portale scrivere all'assistenza";
    assert!(is_bare_thanks(separated));
    let english = "Thanks a lot, it works now.\n\nKind regards\nJohn Smith\n\nThis e-mail and any attachments are confidential. \
                   If you are not the intended recipient, please notify the sender and delete it; any other use is prohibited.";
    assert!(is_bare_thanks(english));
    let iphone = "Grazie!\n\nInviato da iPhone";
    assert!(is_bare_thanks(iphone));
    // The signature hides no doubt that stands above it.
    assert!(!is_bare_thanks(
        "Grazie, ma non funziona ancora.\n\nCordiali saluti,\nMarco Neri"
    ));
    assert!(!is_bare_thanks("Grazie. Il problema persiste.\n-- \nPaola"));
    assert_eq!(without_signature("Testo.\n________________\nDa: helpdesk"), "Testo.");
}

/// The ticket closed by a closing letter on 6 March (cycle 1, resolved by Giulia).
fn closed_by_letter(resolver: Option<&str>) -> TicketFacts<'_> {
    TicketFacts {
        vote: Some(crate::desk::vote::Facts {
            latest: 1,
            closed: Some(crate::desk::vote::Closed {
                cycle_id: 1,
                resolved_at: rome(6, 15, 0),
                technician: resolver,
            }),
            vote: None,
            requester: Some(REQUESTER),
            requester_name: Some("Anna Ferrari"),
        }),
        ..closed(resolver)
    }
}

#[test]
fn a_reply_that_is_only_a_vote_is_recorded_and_does_not_reopen() {
    let staff = roster(false);
    let effects = decide(
        &closed_by_letter(Some(GIULIA)),
        "Re: [TCK-2026-00001] Risolta",
        "2",
        &staff,
    );
    assert!(
        matches!(
            effects[0],
            Effect::RecordVote {
                score: crate::desk::privacy::Score::Neutral,
                ..
            }
        ),
        "{effects:?}"
    );
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Reopen { .. })),
        "{effects:?}"
    );
    // Anything more is a message: it reopens as before.
    let effects = decide(
        &closed_by_letter(Some(GIULIA)),
        "Re: [TCK-2026-00001] Risolta",
        "2, ma il file viene ancora rifiutato",
        &staff,
    );
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Reopen { .. })),
        "{effects:?}"
    );
    // Without a closing letter (facts: none), "2" is a message too.
    let effects = decide(&closed(Some(GIULIA)), "Re: risolta", "2", &staff);
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Reopen { .. })),
        "{effects:?}"
    );
}
