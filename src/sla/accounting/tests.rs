//! The accounting's definitions of TP and TR and of the day a request belongs to, each with
//! the instants of issue 20 and the cases a minute either side of its deadline. Every figure
//! is worked out by hand from the contract's calendar (Monday to Friday, 08:00–13:00 and
//! 14:00–17:00, Europe/Rome; TP e-mail 45 min, phone 90 min; TR 6 h at first level, 8 h at
//! second level).

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};

use super::*;
use crate::sla::CalendarRules;

fn calendar() -> Calendar {
    Calendar::new(CalendarRules::default(), Vec::new())
}

/// Rome wall-clock time of 2026.
fn rome(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Rome
        .with_ymd_and_hms(2026, month, day, hour, minute, 0)
        .single()
        .expect("a valid Rome time")
        .with_timezone(&Utc)
}

fn weekday(month: u32, day: u32) -> Weekday {
    NaiveDate::from_ymd_opt(2026, month, day).expect("date").weekday()
}

/// A first-level cycle received on a working day at `start`, due for take-in at `due`.
fn cycle(start: DateTime<Utc>, due: DateTime<Utc>) -> Recorded {
    Recorded {
        level: Level::First,
        effective_start: start,
        take_in_due: due,
        take_in_done: None,
        resolution_done: None,
    }
}

fn met(minutes: i64) -> Verdict {
    Verdict::Met { minutes }
}

fn late(due: DateTime<Utc>, actual: DateTime<Utc>, minutes: i64) -> Verdict {
    Verdict::Breached {
        due,
        actual: Some(actual),
        minutes: Some(minutes),
    }
}

/// Case 1: received Monday 9 March 09:00 by e-mail (TP due 09:45); `#secondolivello Luca
/// Verdi` at 09:10 sent the letter naming the technician, which is the take-in; `#risolto` at
/// 09:40. TR at second level runs from 09:10: 230 min to 13:00, 180 min in the afternoon
/// (410), 70 more on Tuesday from 08:00: due Tuesday 10 March 09:10.
#[test]
fn an_escalation_naming_the_technician_ends_tp_and_tr_runs_at_second_level_from_it() {
    assert_eq!((weekday(3, 9), weekday(3, 10)), (Weekday::Mon, Weekday::Tue));
    let cal = calendar();
    let budgets = SlaBudgets::default();
    let now = rome(4, 2, 10, 0);
    let escalated = Recorded {
        level: Level::Second,
        take_in_done: Some(rome(3, 9, 9, 10)),
        resolution_done: Some(rome(3, 9, 9, 40)),
        ..cycle(rome(3, 9, 9, 0), rome(3, 9, 9, 45))
    };
    assert_eq!(take_in(&cal, &escalated, now), met(10));
    assert_eq!(resolution_due_of(&cal, &budgets, &escalated), Some(rome(3, 10, 9, 10)));
    assert_eq!(resolution(&cal, &budgets, &escalated, now), Some(met(30)));
    // The take-in a minute before its due time, at it, and a minute after.
    for (done, want) in [
        (rome(3, 9, 9, 44), met(44)),
        (rome(3, 9, 9, 45), met(45)),
        (rome(3, 9, 9, 46), late(rome(3, 9, 9, 45), rome(3, 9, 9, 46), 46)),
    ] {
        let c = Recorded {
            take_in_done: Some(done),
            ..escalated
        };
        assert_eq!(take_in(&cal, &c, now), want, "take-in at {done}");
    }
    // The resolution a minute before Tuesday 09:10, at it, and a minute after.
    for (done, want) in [
        (rome(3, 10, 9, 9), met(479)),
        (rome(3, 10, 9, 10), met(480)),
        (rome(3, 10, 9, 11), late(rome(3, 10, 9, 10), rome(3, 10, 9, 11), 481)),
    ] {
        let c = Recorded {
            resolution_done: Some(done),
            ..escalated
        };
        assert_eq!(resolution(&cal, &budgets, &c, now), Some(want), "resolved at {done}");
    }
    // The same cycle at first level would have been due on Monday at 16:10 (360 of the 410
    // minutes): the level the cycle ended at decides.
    let first = Recorded {
        level: Level::First,
        ..escalated
    };
    assert_eq!(resolution_due_of(&cal, &budgets, &first), Some(rome(3, 9, 16, 10)));
}

/// Case 2: a phone request without e-mail on Tuesday 24 March 10:00 (TP due 11:30), called
/// back at 10:30, the closing call recorded at 11:00. TR from 10:30: 150 min to 13:00, 180 in
/// the afternoon (330), 30 more on Wednesday: due Wednesday 25 March 08:30.
#[test]
fn the_closing_call_recorded_for_a_requester_without_e_mail_ends_tr() {
    assert_eq!(weekday(3, 24), Weekday::Tue);
    let cal = calendar();
    let budgets = SlaBudgets::default();
    let now = rome(4, 2, 10, 0);
    let phoned = Recorded {
        take_in_done: Some(rome(3, 24, 10, 30)),
        resolution_done: Some(rome(3, 24, 11, 0)),
        ..cycle(rome(3, 24, 10, 0), rome(3, 24, 11, 30))
    };
    assert_eq!(take_in(&cal, &phoned, now), met(30));
    assert_eq!(resolution_due_of(&cal, &budgets, &phoned), Some(rome(3, 25, 8, 30)));
    assert_eq!(resolution(&cal, &budgets, &phoned, now), Some(met(30)));
    for (done, want) in [
        (rome(3, 25, 8, 29), met(359)),
        (rome(3, 25, 8, 30), met(360)),
        (rome(3, 25, 8, 31), late(rome(3, 25, 8, 30), rome(3, 25, 8, 31), 361)),
    ] {
        let c = Recorded {
            resolution_done: Some(done),
            ..phoned
        };
        assert_eq!(
            resolution(&cal, &budgets, &c, now),
            Some(want),
            "closing call at {done}"
        );
    }
    // Nothing recorded (what the report saw before): breached once due, not yet stopped.
    let unrecorded = Recorded {
        resolution_done: None,
        ..phoned
    };
    assert_eq!(
        resolution(&cal, &budgets, &unrecorded, now),
        Some(Verdict::Breached {
            due: rome(3, 25, 8, 30),
            actual: None,
            minutes: None
        })
    );
    assert_eq!(
        resolution(&cal, &budgets, &unrecorded, rome(3, 25, 8, 30)),
        Some(Verdict::Pending),
        "still within its budget at the due minute itself"
    );
}

/// Case 3: received Tuesday 10 March 10:05 by e-mail (TP due 10:50); the take-in processed at
/// 10:44 left at 10:47 after a mail outage. TP ends at 10:47 (42 min) and TR starts there:
/// 133 min to 13:00, 180 in the afternoon (313), 47 more on Wednesday: due Wednesday 11 March
/// 08:47 (from 10:44 it would have been 08:44, and 08:46 a breach).
#[test]
fn tr_starts_when_the_take_in_confirmation_left() {
    assert_eq!((weekday(3, 10), weekday(3, 11)), (Weekday::Tue, Weekday::Wed));
    let cal = calendar();
    let budgets = SlaBudgets::default();
    let now = rome(4, 2, 10, 0);
    let delayed = Recorded {
        take_in_done: Some(rome(3, 10, 10, 47)),
        resolution_done: Some(rome(3, 11, 8, 46)),
        ..cycle(rome(3, 10, 10, 5), rome(3, 10, 10, 50))
    };
    assert_eq!(take_in(&cal, &delayed, now), met(42));
    assert_eq!(resolution_due_of(&cal, &budgets, &delayed), Some(rome(3, 11, 8, 47)));
    for (done, want) in [
        (rome(3, 11, 8, 46), met(359)),
        (rome(3, 11, 8, 47), met(360)),
        (rome(3, 11, 8, 48), late(rome(3, 11, 8, 47), rome(3, 11, 8, 48), 361)),
    ] {
        let c = Recorded {
            resolution_done: Some(done),
            ..delayed
        };
        assert_eq!(resolution(&cal, &budgets, &c, now), Some(want), "resolved at {done}");
    }
    // While the confirmation has not left, TP runs and TR has not started.
    let queued = Recorded {
        take_in_done: None,
        resolution_done: None,
        ..delayed
    };
    assert_eq!(resolution(&cal, &budgets, &queued, now), None);
    assert_eq!(resolution_due_of(&cal, &budgets, &queued), None);
    assert_eq!(take_in(&cal, &queued, rome(3, 10, 10, 46)), Verdict::Pending);
}

/// Case 4: a request of Saturday 28 February is deemed received on Monday 2 March at 09:00
/// and belongs to March; one of Friday 27 February at 23:59, a working day, stays in
/// February (its clock starts on Monday at 08:00, but it was made on Friday).
#[test]
fn a_request_on_a_closed_day_belongs_to_the_next_working_day() {
    assert_eq!(
        (weekday(2, 27), weekday(2, 28), weekday(3, 1), weekday(3, 2)),
        (Weekday::Fri, Weekday::Sat, Weekday::Sun, Weekday::Mon)
    );
    let cal = calendar();
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("date");
    assert_eq!(cal.effective_start(rome(2, 28, 10, 0)), rome(3, 2, 9, 0));
    for (received, want) in [
        (rome(2, 28, 10, 0), day(3, 2)),
        (rome(2, 27, 23, 59), day(2, 27)),
        (rome(2, 28, 0, 0), day(3, 2)),
        (rome(3, 1, 23, 59), day(3, 2)),
        (rome(3, 2, 0, 0), day(3, 2)),
    ] {
        assert_eq!(accounting_day(&cal, received), want, "received {received}");
    }
}
