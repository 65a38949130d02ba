//! Issue 20: which operator command records which SLA fact. Cases 1 and 2 of the issue, at
//! their instants and a minute either side of the take-in's due time; how the accounting
//! counts what is recorded here is `sla::accounting`'s tests.
//!
//! Hand-worked deadlines (Monday to Friday, 08:00–13:00 and 14:00–17:00, Europe/Rome): a
//! second-level resolution taken in on Monday 9 March at 09:10 is due on Tuesday at 09:10
//! (230 + 180 minutes on Monday, 70 on Tuesday); one at 09:44 on Tuesday at 09:44, one at
//! 09:46 on Tuesday at 09:46. A first-level resolution from a call-back on Tuesday 24 March at
//! 10:30 is due on Wednesday 25 at 08:30 (150 + 180, then 30); one from a closing call at
//! 11:00 without a call-back before, on Wednesday at 09:00.

use super::*;
use crate::commands::{Done, parse_commands};
use crate::desk::effect::{CycleStamp, Effect, Letter};
use crate::desk::testing::{operator, rome};
use crate::model::EventAction;
use crate::sla::CalendarRules;

const TICKET: TicketId = TicketId { year: 2026, number: 20 };
const GIULIA: &str = "giulia.bianchi@comune.example.it";
const LUCA: &str = "luca.verdi@comune.example.it";

fn roster() -> Vec<Operator> {
    vec![
        operator("Giulia Bianchi", GIULIA, Level::First),
        operator("Luca Verdi", LUCA, Level::Second),
    ]
}

fn ticket(requester: Option<&str>) -> TicketFacts<'_> {
    TicketFacts {
        id: TICKET,
        status: Status::New,
        level: Level::First,
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

/// The decision on `text` sent by the operator at `sender` (0 Giulia, 1 Luca) at `now`.
fn decision(ticket: &TicketFacts<'_>, sender: usize, text: &str, now: DateTime<Utc>) -> Decision {
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
        now,
        absences: &[],
        lookups: Lookups::default(),
        helpdesk: "assistenza@comune.example.it",
    };
    let setting = Setting {
        calendar: &calendar,
        sla: &sla,
        local_time: &local_time,
        spam_days: 30,
    };
    decide(ticket, &mail, &setting)
}

/// The stamps the decision's letters put on the cycle, in order.
fn stamps(d: &Decision) -> Vec<Option<CycleStamp>> {
    d.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Letter { stamp, .. } => Some(*stamp),
            _ => None,
        })
        .collect()
}

/// The SLA facts the decision records without a letter (a call-back, a closing call).
fn phone_facts(d: &Decision) -> Vec<&Effect> {
    d.effects
        .iter()
        .filter(|e| matches!(e, Effect::TakeInByPhone { .. } | Effect::ResolvedByPhone))
        .collect()
}

/// Case 1: received Monday 9 March 09:00 (TP due 09:45), `#secondolivello Luca Verdi` at
/// 09:10, `#risolto` at 09:40. The escalation's letter names the technician and is the first
/// to do so: it is the take-in, and the second level's budget runs from it.
#[test]
fn escalating_a_ticket_nobody_took_in_to_a_named_technician_is_its_take_in() {
    let fresh = ticket(Some("a@example.org"));
    for (at, due) in [
        (rome(9, 9, 10), rome(10, 9, 10)),
        (rome(9, 9, 44), rome(10, 9, 44)),
        (rome(9, 9, 46), rome(10, 9, 46)),
    ] {
        let d = decision(&fresh, 0, "#secondolivello Luca Verdi\nServe il remoto.", at);
        assert!(d.refusals.is_empty(), "{:?}", d.refusals);
        assert!(
            d.effects.contains(&Effect::Escalate { resolution_due: due }),
            "{:?}",
            d.effects
        );
        assert!(d.effects.contains(&Effect::Assign {
            technician: LUCA.into(),
            by: GIULIA.into()
        }));
        assert!(
            d.effects.contains(&Effect::Letter {
                letter: Letter::Escalated {
                    resolution_due: due,
                    technician: Some("Luca Verdi".into()),
                },
                stamp: Some(CycleStamp::TakeIn { resolution_due: due }),
            }),
            "escalated at {at}: {:?}",
            d.effects
        );
    }
    // Then `#risolto` at 09:40 on the ticket as the escalation left it: only the resolution.
    let escalated = TicketFacts {
        status: Status::Assigned,
        level: Level::Second,
        assignee: Some(LUCA),
        take_in_at: Some(rome(9, 9, 10)),
        resolution_due: Some(rome(10, 9, 10)),
        ..fresh
    };
    let d = decision(&escalated, 1, "#risolto\nCertificato sostituito.", rome(9, 9, 40));
    assert_eq!(stamps(&d), vec![Some(CycleStamp::Resolution)]);
    // Both in one mail: the escalation takes in, the closing only resolves.
    let d = decision(
        &fresh,
        0,
        "#secondolivello Luca Verdi\n#risolto\nCertificato sostituito.",
        rome(9, 9, 10),
    );
    assert_eq!(
        stamps(&d),
        vec![
            Some(CycleStamp::TakeIn {
                resolution_due: rome(10, 9, 10)
            }),
            Some(CycleStamp::Resolution)
        ]
    );
}

/// What is not a take-in: an escalation naming nobody (no technician, no name told), one of
/// a ticket taken in already (the cycle keeps its take-in and the budget runs from it), and
/// any letter to a requester without e-mail (none leaves: the call-back is the take-in).
#[test]
fn an_escalation_naming_nobody_or_after_the_take_in_records_no_take_in() {
    let fresh = ticket(Some("a@example.org"));
    let d = decision(&fresh, 0, "#secondolivello\nServe il remoto.", rome(9, 9, 10));
    assert_eq!(stamps(&d), vec![None]);
    let taken = TicketFacts {
        status: Status::Assigned,
        assignee: Some(GIULIA),
        take_in_at: Some(rome(9, 9, 5)),
        resolution_due: Some(rome(9, 15, 5)),
        ..fresh
    };
    let d = decision(&taken, 0, "#secondolivello Luca Verdi", rome(9, 9, 10));
    assert_eq!(stamps(&d), vec![None]);
    assert!(d.effects.contains(&Effect::Escalate {
        resolution_due: rome(10, 9, 5)
    }));
    let phone_only = ticket(None);
    let d = decision(&phone_only, 0, "#secondolivello Luca Verdi", rome(9, 9, 10));
    assert_eq!(stamps(&d), vec![None]);
    let d = decision(&phone_only, 0, "#prendo", rome(9, 9, 10));
    assert_eq!(
        stamps(&d),
        vec![None],
        "#prendo tells a requester without e-mail nothing"
    );
    assert_eq!(
        d.applied,
        vec![Done::Assigned {
            ticket: TICKET,
            technician: "Giulia Bianchi".into(),
            awaiting_call: true
        }]
    );
    // Taken by `#prendo` first, the call-back at 10:30 is still the take-in.
    let held = TicketFacts {
        status: Status::Assigned,
        assignee: Some(GIULIA),
        ..phone_only
    };
    let d = decision(&held, 0, "#telefono\nRichiamato.", rome(24, 10, 30));
    assert_eq!(
        phone_facts(&d),
        vec![&Effect::TakeInByPhone {
            resolution_due: rome(25, 8, 30)
        }]
    );
}

/// Case 2: a phone request without e-mail called back on Tuesday 24 March at 10:30
/// (`#telefono`), `#risolto` at 11:00. No closing mail can leave: the closing call is the
/// notice of resolution, recorded as such — by default, or with `#telefono` on the same mail.
#[test]
fn resolving_for_a_requester_without_e_mail_records_the_closing_call() {
    let called_back = TicketFacts {
        status: Status::Assigned,
        assignee: Some(GIULIA),
        take_in_at: Some(rome(24, 10, 30)),
        resolution_due: Some(rome(25, 8, 30)),
        ..ticket(None)
    };
    for text in [
        "#risolto\nRisolto al telefono.",
        "#telefono\n#risolto\nRisolto al telefono.",
    ] {
        let d = decision(&called_back, 0, text, rome(24, 11, 0));
        assert!(d.refusals.is_empty(), "{text}: {:?}", d.refusals);
        assert_eq!(stamps(&d), vec![None], "{text}: no mail to stamp");
        assert_eq!(phone_facts(&d), vec![&Effect::ResolvedByPhone], "{text}");
        assert!(
            d.effects.contains(&Effect::Event {
                actor: GIULIA.into(),
                action: EventAction::Resolved,
                detail: "Risolto al telefono.".into(),
                about: None,
            }),
            "{text}: {:?}",
            d.effects
        );
    }
    // Never called back before: the closing call is the take-in too (TR 0, due from 11:00).
    let untaken = ticket(None);
    for text in [
        "#risolto\nRisolto al telefono.",
        "#telefono\n#risolto\nRisolto al telefono.",
    ] {
        let d = decision(&untaken, 0, text, rome(24, 11, 0));
        assert_eq!(
            phone_facts(&d),
            vec![
                &Effect::TakeInByPhone {
                    resolution_due: rome(25, 9, 0)
                },
                &Effect::ResolvedByPhone
            ],
            "{text}"
        );
    }
    // With an address, the closing mail is the notice: no call is recorded as one.
    let by_mail = TicketFacts {
        requester_email: Some("a@example.org"),
        reads_mail: true,
        ..called_back
    };
    let d = decision(
        &by_mail,
        0,
        "#telefono\n#risolto\nRisolto al telefono.",
        rome(24, 11, 0),
    );
    assert!(phone_facts(&d).is_empty(), "{:?}", d.effects);
    assert_eq!(stamps(&d), vec![Some(CycleStamp::Resolution)]);
}

/// A requester whose address bounces reads no letter: like one without e-mail, `#prendo` is
/// no take-in (the operator is told the call-back is due), the call-back is, and the closing
/// call is the notice of resolution.
#[test]
fn a_requester_whose_address_bounces_is_taken_in_and_told_by_phone() {
    let bounced = TicketFacts {
        reads_mail: false,
        ..ticket(Some("a@example.org"))
    };
    let d = decision(&bounced, 0, "#prendo", rome(9, 9, 10));
    assert_eq!(stamps(&d), vec![None], "no take-in letter reaches them");
    assert!(
        d.applied.iter().any(|done| matches!(
            done,
            Done::Assigned {
                awaiting_call: true,
                ..
            }
        )),
        "{:?}",
        d.applied
    );
    let d = decision(
        &bounced,
        0,
        "#telefono\nRichiamato, spiegato come firmare.",
        rome(9, 9, 30),
    );
    assert_eq!(
        phone_facts(&d),
        vec![&Effect::TakeInByPhone {
            resolution_due: rome(9, 16, 30)
        }]
    );
    let called_back = TicketFacts {
        status: Status::Assigned,
        assignee: Some(GIULIA),
        take_in_at: Some(rome(9, 9, 30)),
        resolution_due: Some(rome(9, 16, 30)),
        ..bounced
    };
    let d = decision(&called_back, 0, "#risolto\nRisolto al telefono.", rome(9, 11, 0));
    assert_eq!(phone_facts(&d), vec![&Effect::ResolvedByPhone]);
}
