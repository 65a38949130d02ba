//! The digest's rules on hand-worked instants of December 2026 in Rome: Tuesday 1 December is
//! a working day, Saturday 5 and Sunday 6 are a weekend, Tuesday 8 is a national holiday
//! (Immacolata Concezione), and 14–15 December are a planned suspension in some tests.

use chrono::TimeZone;

use super::*;
use crate::commands::Command;
use crate::desk::testing::operator;
use crate::model::{Kind, Level};
use crate::sla::{CalendarRules, Suspension};

const GIULIA: &str = "giulia.bianchi@comune.example.it";
const MARCO: &str = "marco.rossi@comune.example.it";
const LUCA: &str = "luca.verdi@comune.example.it";

/// Day `d` of December 2026 at `h:m`, Rome time.
fn dec(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Rome
        .with_ymd_and_hms(2026, 12, d, h, m, 0)
        .single()
        .expect("a valid Rome time")
        .with_timezone(&Utc)
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("a valid day")
}

fn at_eight() -> NaiveTime {
    NaiveTime::from_hms_opt(8, 0, 0).expect("08:00")
}

fn calendar() -> Calendar {
    Calendar::new(CalendarRules::default(), Vec::new())
}

fn suspended_calendar() -> Calendar {
    Calendar::new(
        CalendarRules::default(),
        vec![Suspension {
            from: day(12, 14),
            to: day(12, 15),
            reason: "aggiornamento del portale".into(),
        }],
    )
}

#[test]
fn a_digest_goes_out_once_on_each_working_day_from_its_hour() {
    let cal = calendar();
    let check = |now, last| today(&cal, now, at_eight(), last);
    // Tuesday 1 December: before 08:00, at 08:00, and a daemon started at 10:00.
    assert_eq!(check(dec(1, 7, 59), None), (day(12, 1), Today::Early));
    assert_eq!(check(dec(1, 8, 0), None), (day(12, 1), Today::Due));
    assert_eq!(check(dec(1, 10, 0), Some(day(11, 30))), (day(12, 1), Today::Due));
    // Sent at 08:00: not again that day, restart or not.
    assert_eq!(check(dec(1, 10, 0), Some(day(12, 1))), (day(12, 1), Today::Sent));
    assert_eq!(check(dec(1, 23, 59), Some(day(12, 1))), (day(12, 1), Today::Sent));
    // Down all Wednesday 2: Thursday's check knows only Thursday, Wednesday's is never sent.
    assert_eq!(check(dec(3, 8, 5), Some(day(12, 1))), (day(12, 3), Today::Due));
    // Just after midnight in Rome is still the day before in UTC: the local day counts.
    assert_eq!(check(dec(2, 0, 30), Some(day(12, 1))), (day(12, 2), Today::Early));
}

#[test]
fn no_digest_on_a_weekend_a_holiday_or_a_suspended_day() {
    let cal = calendar();
    assert_eq!(
        today(&cal, dec(5, 9, 0), at_eight(), None),
        (day(12, 5), Today::Closed(ClosedReason::Saturday))
    );
    assert_eq!(
        today(&cal, dec(6, 9, 0), at_eight(), None),
        (day(12, 6), Today::Closed(ClosedReason::Sunday))
    );
    assert_eq!(
        today(&cal, dec(8, 8, 0), at_eight(), Some(day(12, 7))),
        (
            day(12, 8),
            Today::Closed(ClosedReason::National("Immacolata Concezione"))
        )
    );
    let suspended = suspended_calendar();
    assert_eq!(
        today(&suspended, dec(14, 8, 0), at_eight(), Some(day(12, 11))),
        (
            day(12, 14),
            Today::Closed(ClosedReason::Suspension("aggiornamento del portale".into()))
        )
    );
    assert_eq!(
        today(&suspended, dec(16, 8, 0), at_eight(), Some(day(12, 11))),
        (day(12, 16), Today::Due)
    );
}

#[test]
fn yesterdays_figures_are_the_previous_working_day_and_the_closed_days_after_it() {
    let cal = calendar();
    // An ordinary Tuesday: Monday.
    assert_eq!(figures_period(&cal, day(12, 1)), Some((day(11, 30), day(11, 30))));
    // A Monday after a weekend: Friday 4 to Sunday 6.
    assert_eq!(figures_period(&cal, day(12, 7)), Some((day(12, 4), day(12, 6))));
    // The Wednesday after the holiday of Tuesday 8: Monday 7 and the holiday.
    assert_eq!(figures_period(&cal, day(12, 9)), Some((day(12, 7), day(12, 8))));
    // After the suspension of 14–15 December: Friday 11 to Tuesday 15.
    assert_eq!(
        figures_period(&suspended_calendar(), day(12, 16)),
        Some((day(12, 11), day(12, 15)))
    );
}

fn cycle(
    received: DateTime<Utc>,
    take_in_due: DateTime<Utc>,
    taken: Option<DateTime<Utc>>,
    resolution_due: Option<DateTime<Utc>>,
    resolved: Option<DateTime<Utc>>,
) -> CycleFacts {
    CycleFacts {
        received_at: received,
        take_in_due,
        take_in_done: taken,
        resolution_due,
        resolution_done: resolved,
    }
}

#[test]
fn a_mondays_figures_count_friday_and_the_weekend_each_clock_once() {
    let cycles = [
        // Friday 09:00, taken in 09:30 (due 09:45), resolved 11:00 (due 15:30): all in time.
        cycle(
            dec(4, 9, 0),
            dec(4, 9, 45),
            Some(dec(4, 9, 30)),
            Some(dec(4, 15, 30)),
            Some(dec(4, 11, 0)),
        ),
        // Friday 16:50: its take-in is due on Monday 08:35, still running: not decided yet.
        cycle(dec(4, 16, 50), dec(7, 8, 35), None, None, None),
        // Thursday 16:30, due Friday 09:00, taken in late on Friday 10:00: breached on Friday;
        // resolved at 16:30, due 17:00: in time.
        cycle(
            dec(3, 16, 30),
            dec(4, 9, 0),
            Some(dec(4, 10, 0)),
            Some(dec(4, 17, 0)),
            Some(dec(4, 16, 30)),
        ),
        // Saturday (closed): received counts, its clocks start on Monday.
        cycle(dec(5, 10, 0), dec(7, 9, 45), None, None, None),
        // Thursday, taken in on Thursday, resolution due Friday 12:00 and not done: breached.
        cycle(
            dec(3, 9, 0),
            dec(3, 9, 45),
            Some(dec(3, 9, 10)),
            Some(dec(4, 12, 0)),
            None,
        ),
        // Thursday 16:50, taken in at 16:55, due Friday 08:35: met on Thursday, so nothing on
        // Friday although its deadline falls there.
        cycle(dec(3, 16, 50), dec(4, 8, 35), Some(dec(3, 16, 55)), None, None),
        // Monday 07:00 (today, before the digest): nothing of it is yesterday's.
        cycle(dec(7, 7, 0), dec(7, 8, 45), Some(dec(7, 7, 30)), None, None),
    ];
    let f = figures(&cycles, day(12, 4), day(12, 6), chrono_tz::Europe::Rome, dec(7, 8, 0));
    assert_eq!(
        (f.received, f.taken_in, f.resolved),
        (3, 2, 2),
        "received Friday 09:00, 16:50 and Saturday; taken in 09:30 and 10:00; resolved 11:00 and 16:30"
    );
    assert_eq!(f.take_in, Share { met: 1, decided: 2 });
    assert_eq!(f.resolution, Share { met: 2, decided: 3 });
    assert_eq!((f.take_in.percent(), f.resolution.percent()), (Some(50), Some(67)));
    assert_eq!(Share::default().percent(), None, "nothing decided is no percentage");
}

fn roster() -> Vec<Operator> {
    let mut luca = operator("Luca Verdi", LUCA, Level::Second);
    luca.supervisor = true;
    vec![
        operator("Giulia Bianchi", GIULIA, Level::First),
        operator("Marco Rossi", MARCO, Level::First),
        luca,
    ]
}

fn open(
    number: u32,
    level: Level,
    assignee: Option<&'static str>,
    due: DateTime<Utc>,
    state: State,
    last: Option<LastMessage<'static>>,
) -> OpenTicket<'static> {
    OpenTicket {
        queue: queue::OpenTicket {
            ticket: TicketId { year: 2026, number },
            subject: "Firma non valida",
            level,
            assignee,
            requester: Some("Anna Ferrari"),
            kind: Kind::Problem,
            take_in_due: if assignee.is_some() { dec(1, 8, 45) } else { due },
            take_in_at: assignee.map(|_| dec(1, 8, 40)),
            resolution_due: assignee.map(|_| due),
        },
        left_seconds: (due - dec(1, 8, 0)).num_seconds(),
        state,
        last,
    }
}

fn numbers(lines: &[Line]) -> Vec<u32> {
    lines.iter().map(|l| l.queue.ticket.number).collect()
}

#[test]
fn each_operator_gets_their_tickets_the_waiting_ones_and_their_levels_queue() {
    let roster = roster();
    let requester_wrote = Some(LastMessage {
        by_desk: false,
        who: "Anna Ferrari",
        at: dec(1, 7, 30),
    });
    let giulia_answered = Some(LastMessage {
        by_desk: true,
        who: GIULIA,
        at: dec(1, 7, 40),
    });
    let tickets = vec![
        open(1, Level::First, Some(GIULIA), dec(1, 15, 0), State::Ok, requester_wrote),
        open(2, Level::First, Some(GIULIA), dec(1, 11, 0), State::Ok, giulia_answered),
        open(3, Level::First, None, dec(1, 7, 45), State::Breached, requester_wrote),
        open(4, Level::Second, None, dec(2, 12, 0), State::Ok, None),
        open(
            5,
            Level::First,
            Some(MARCO),
            dec(1, 9, 0),
            State::AtRisk,
            requester_wrote,
        ),
        open(6, Level::First, Some(GIULIA), dec(1, 10, 0), State::AtRisk, None),
    ];
    let setting = Setting {
        roster: &roster,
        language: Language::It,
        now: dec(1, 8, 0),
    };
    let absent = vec![Absent {
        name: "Marco Rossi".into(),
        email: MARCO.into(),
        until: Some(day(12, 4)),
    }];
    let figures = Some(figures(
        &[],
        day(11, 30),
        day(11, 30),
        chrono_tz::Europe::Rome,
        dec(1, 8, 0),
    ));

    let giulia = digest_of(&roster[0], &tickets, figures, &absent, &setting);
    assert_eq!(numbers(&giulia.mine), vec![6, 1], "hers, nearest deadline first");
    assert_eq!(numbers(&giulia.waiting), vec![2], "her answer was the last word");
    assert_eq!(numbers(&giulia.queue), vec![3], "first level's unassigned queue");
    assert_eq!(giulia.oversight, None, "not a supervisor");
    assert_eq!(
        giulia.tickets(),
        vec![6, 1, 2, 3]
            .into_iter()
            .map(|number| TicketId { year: 2026, number })
            .collect::<Vec<_>>()
    );
    let waiting = &giulia.waiting[0];
    assert_eq!(waiting.last, Some(("Giulia Bianchi".to_string(), dec(1, 7, 40))));
    assert_eq!(
        (waiting.queue.deadline, waiting.queue.due, waiting.left_seconds),
        ("risoluzione entro", dec(1, 11, 0), 3 * 3600)
    );
    let queued = &giulia.queue[0];
    assert_eq!(
        (queued.queue.deadline, queued.held, queued.state, queued.left_seconds),
        ("presa in carico entro", false, State::Breached, -15 * 60)
    );
    assert_eq!(queued.last, Some(("Anna Ferrari".to_string(), dec(1, 7, 30))));

    let luca = digest_of(&roster[2], &tickets, figures, &absent, &setting);
    assert!(luca.mine.is_empty() && luca.waiting.is_empty());
    assert_eq!(numbers(&luca.queue), vec![4], "second level's own queue");
    let oversight = luca.oversight.as_ref().expect("a supervisor");
    assert_eq!(numbers(&oversight.at_risk), vec![5, 6]);
    assert_eq!(numbers(&oversight.breached), vec![3]);
    assert_eq!(
        numbers(&oversight.held_by_absent),
        vec![5],
        "Marco is away, his ticket stays"
    );
    assert_eq!(oversight.figures, figures);
    assert_eq!(oversight.absent, absent);
    assert!(!luca.nothing_open());

    // Nobody's tickets: the short digest.
    let nothing = digest_of(&roster[1], &[], None, &[], &setting);
    assert!(nothing.nothing_open() && nothing.tickets().is_empty());
}

#[test]
fn absent_operators_get_no_digest_and_are_listed_for_the_supervisors() {
    let mut roster = roster();
    roster.push({
        let mut away = operator("Sara Neri", "sara.neri@comune.example.it", Level::First);
        away.away = true;
        away
    });
    let recorded = vec![
        ("Marco.Rossi@comune.example.it".to_string(), day(12, 4)),
        (GIULIA.to_string(), day(11, 30)),
        ("gone@comune.example.it".to_string(), day(12, 31)),
    ];
    let present: Vec<&str> = recipients(&roster, &recorded, day(12, 1))
        .iter()
        .map(|o| o.email.as_str())
        .collect();
    assert_eq!(
        present,
        vec![GIULIA, LUCA],
        "Marco until Friday 4, Sara in the configuration"
    );
    assert_eq!(
        absent_today(&roster, &recorded, day(12, 1)),
        vec![
            Absent {
                name: "Marco Rossi".into(),
                email: MARCO.into(),
                until: Some(day(12, 4))
            },
            Absent {
                name: "Sara Neri".into(),
                email: "sara.neri@comune.example.it".into(),
                until: None
            },
        ]
    );
    // The last day of the absence is still absent; the day after, back.
    assert_eq!(recipients(&roster, &recorded, day(12, 4)).len(), 2);
    assert_eq!(recipients(&roster, &recorded, day(12, 7)).len(), 3);
}

#[test]
fn business_time_left_is_negative_once_breached() {
    assert_eq!(left_words(Language::It, 8100), "2 h 15 min lavorativi");
    assert_eq!(left_words(Language::It, -1500), "-25 min lavorativi");
    assert_eq!(left_words(Language::En, -3600), "-1 h business");
    assert_eq!(state_words(Language::It, State::AtRisk), "a rischio");
}

fn t(number: u32) -> TicketId {
    TicketId { year: 2026, number }
}

fn planned(text: &str) -> Vec<(u32, Vec<Command>, String)> {
    match plan_reply(text) {
        ReplyPlan::Tickets(plan) => plan
            .into_iter()
            .map(|p| (p.ticket.number, p.commands, p.body))
            .collect(),
        other => panic!("{text:?}: {other:?}"),
    }
}

fn refused(text: &str) -> Vec<(String, Problem)> {
    match plan_reply(text) {
        ReplyPlan::Refused(errors) => errors.into_iter().map(|e| (e.line, e.problem)).collect(),
        other => panic!("{text:?}: {other:?}"),
    }
}

#[test]
fn each_line_of_a_reply_acts_on_the_ticket_it_names() {
    assert_eq!(
        planned("#prendo TCK-2026-00042"),
        vec![(42, vec![Command::Take], String::new())]
    );
    assert_eq!(
        planned("Ciao,\n#prendo TCK-2026-00042\n#PRENDO [tck-2026-00043]\n"),
        vec![
            (42, vec![Command::Take], String::new()),
            (43, vec![Command::Take], String::new())
        ]
    );
    // Lines for one ticket gather; text on a tag's line is its body.
    assert_eq!(
        planned("#prendo TCK-2026-00042\n#tempo TCK-2026-00043 20m\n#nota TCK-2026-00042 chiamato l'utente"),
        vec![
            (42, vec![Command::Take, Command::Note], "chiamato l'utente".to_string()),
            (43, vec![Command::Time(20)], String::new()),
        ]
    );
    // One ticket named: the text below the tags is its, as in a reply to its notice.
    assert_eq!(
        planned("#risolto TCK-2026-00042\nRifirmato il file in CAdES."),
        vec![(42, vec![Command::Resolve], "Rifirmato il file in CAdES.".to_string())]
    );
    // Only the word after the tag names the ticket: another number is text.
    assert_eq!(
        planned("#nota TCK-2026-00042 doppione di TCK-2026-00040"),
        vec![(42, vec![Command::Note], "doppione di TCK-2026-00040".to_string())]
    );
}

#[test]
fn a_reply_naming_no_ticket_is_left_to_the_caller_and_mistakes_refuse_the_whole_mail() {
    assert_eq!(plan_reply("#prendo"), ReplyPlan::NoTicket);
    assert_eq!(plan_reply("#coda"), ReplyPlan::NoTicket);
    assert_eq!(plan_reply("Grazie del riepilogo"), ReplyPlan::NoTicket);
    assert_eq!(
        refused("#prendo TCK-2026-00042\n#prendo"),
        vec![("#prendo".to_string(), Problem::DigestTicketMissing)]
    );
    assert_eq!(
        refused("#prendo TCK-2026-00042\n#prendo TCK-2026-00043\n\nGrazie, ci penso io."),
        vec![("Grazie, ci penso io.".to_string(), Problem::DigestTextForWhom)]
    );
    let two_on_a_line = refused("#prendo TCK-2026-00042 TCK-2026-00043");
    assert_eq!(two_on_a_line.len(), 1);
    assert_eq!(two_on_a_line[0].0, "TCK-2026-00042: #prendo TCK-2026-00043");
    assert!(matches!(
        two_on_a_line[0].1,
        Problem::UnexpectedArgument { tag: "prendo", .. }
    ));
    let typo = refused("#prnedo TCK-2026-00042");
    assert!(matches!(&typo[0].1, Problem::UnknownTag { suggestion: Some(s), .. } if s == "prendo"));
}

#[test]
fn only_the_tickets_the_digest_listed_can_be_named() {
    let ReplyPlan::Tickets(plan) = plan_reply("#prendo TCK-2026-00042\n#prendo TCK-2026-00043") else {
        panic!("planned")
    };
    assert!(unlisted(&plan, &[t(43), t(42)]).is_empty());
    let errors = unlisted(&plan, &[t(42)]);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].problem, Problem::NotInDigest { ticket: t(43) });
    assert!(
        errors[0]
            .problem
            .text(Language::It)
            .contains("TCK-2026-00043 non è nel riepilogo")
    );
}
