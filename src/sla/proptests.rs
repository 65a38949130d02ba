//! Property tests of the calendar laws, on calendars with every kind of closure (local
//! holiday, extra closed day, suspension) and on a time zone whose clock changes inside
//! the windows of working days, plus a brute-force minute-by-minute reference.

use std::sync::LazyLock;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Rome;
use proptest::prelude::*;

use super::calendar::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("test date")
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("test time")
}

/// Rome, with a local holiday (29 June), an extra closed day (Friday 14 August 2026) and
/// two suspensions (16–17 November 2026, and 28–30 December 2026 joining Christmas).
static ROME: LazyLock<Calendar> = LazyLock::new(|| {
    let rules = CalendarRules {
        local_holidays: vec![LocalHoliday {
            month: 6,
            day: 29,
            name: "Santi Pietro e Paolo".to_string(),
        }],
        extra_closed_days: vec![d(2026, 8, 14)],
        ..CalendarRules::default()
    };
    Calendar::new(
        rules,
        vec![
            Suspension {
                from: d(2026, 11, 16),
                to: d(2026, 11, 17),
                reason: "aggiornamento server".to_string(),
            },
            Suspension {
                from: d(2026, 12, 28),
                to: d(2026, 12, 30),
                reason: "inventario".to_string(),
            },
        ],
    )
});

/// Cairo: clock changes at midnight on a Friday (spring) and a Thursday (autumn), with
/// windows around midnight so that the changes fall inside windows, and odd windows.
static CAIRO: LazyLock<Calendar> = LazyLock::new(|| {
    let rules = CalendarRules {
        timezone: chrono_tz::Africa::Cairo,
        windows: vec![
            Window {
                start: t(0, 0),
                end: t(2, 0),
            },
            Window {
                start: t(9, 17),
                end: t(9, 18),
            },
            Window {
                start: t(22, 0),
                end: t(23, 30),
            },
        ],
        extra_closed_days: vec![d(2024, 10, 24)],
        ..CalendarRules::default()
    };
    Calendar::new(
        rules,
        vec![Suspension {
            from: d(2024, 4, 29),
            to: d(2024, 4, 29),
            reason: "x".to_string(),
        }],
    )
});

fn secs(y: i32, m: u32, day: u32) -> i64 {
    d(y, m, day).and_time(NaiveTime::MIN).and_utc().timestamp()
}

/// An instant with a random sub-second part between two dates.
fn instant_between(lo: i64, hi: i64) -> impl Strategy<Value = DateTime<Utc>> {
    (lo..hi, 0u32..1_000_000_000).prop_map(|(s, n)| DateTime::from_timestamp(s, n).expect("instant in range"))
}

/// Instants over 2024–2027 for Rome.
fn rome_instant() -> impl Strategy<Value = DateTime<Utc>> {
    instant_between(secs(2024, 1, 1), secs(2028, 1, 1))
}

/// Instants near the Cairo changes of 2024 (and sometimes anywhere in 2024).
fn cairo_instant() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        instant_between(secs(2024, 4, 20), secs(2024, 5, 5)),
        instant_between(secs(2024, 10, 25), secs(2024, 11, 8)),
        instant_between(secs(2024, 1, 1), secs(2025, 1, 1)),
    ]
}

fn which(cairo: bool) -> &'static Calendar {
    if cairo { &CAIRO } else { &ROME }
}

/// Any calendar with an instant of its interesting range.
fn cal_and_instant() -> impl Strategy<Value = (bool, DateTime<Utc>)> {
    prop_oneof![
        rome_instant().prop_map(|i| (false, i)),
        cairo_instant().prop_map(|i| (true, i)),
    ]
}

fn second(t: DateTime<Utc>) -> DateTime<Utc> {
    truncate_to_second(t)
}

/// The laws every (start, budget) pair must satisfy.
fn deadline_laws(cal: &Calendar, start: DateTime<Utc>, budget: i64) -> Result<(), TestCaseError> {
    let due = cal.add_business(start, budget);
    prop_assert!(due >= second(start), "deadline {due} before its start {start}");
    prop_assert_eq!(due.timestamp_subsec_nanos(), 0);
    if budget == 0 {
        prop_assert_eq!(due, second(start), "budget 0 must give the start itself");
        return Ok(());
    }
    let local_day = due.with_timezone(&cal.timezone()).date_naive();
    prop_assert!(
        cal.is_working_day(local_day),
        "deadline {due} on closed day {local_day}"
    );
    let last = due - Duration::seconds(1);
    // The last second before the deadline was business time: the deadline is inside a
    // window or exactly at its end, never elsewhere.
    prop_assert!(cal.is_open_at(last), "deadline {due} not in/at the end of a window");
    prop_assert_eq!(
        cal.elapsed_business(start, due),
        budget,
        "elapsed(start, add(start, m)) != m"
    );
    // Earliest such instant.
    prop_assert_eq!(
        cal.elapsed_business(start, last),
        budget - 1,
        "deadline not the earliest"
    );
    Ok(())
}

proptest! {
    #[test]
    fn deadlines_from_effective_starts((cairo, received) in cal_and_instant(), budget in 0i64..200_000) {
        let cal = which(cairo);
        let start = cal.effective_start(received);
        prop_assert!(start >= second(received));
        prop_assert!(cal.is_working_day(start.with_timezone(&cal.timezone()).date_naive()));
        deadline_laws(cal, start, budget)?;
    }

    #[test]
    fn deadlines_from_arbitrary_starts((cairo, start) in cal_and_instant(), budget in 0i64..200_000) {
        deadline_laws(which(cairo), start, budget)?;
    }

    #[test]
    fn deadlines_from_starts_inside_windows((cairo, t) in cal_and_instant(), budget in 0i64..100_000) {
        let cal = which(cairo);
        let start = cal.next_opening(t);
        prop_assert!(cal.is_open_at(start));
        deadline_laws(cal, start, budget)?;
    }

    #[test]
    fn rome_deadline_is_inside_a_window_or_at_its_end(received in rome_instant(), budget in 1i64..200_000) {
        let cal = &*ROME;
        let due = cal.add_business(cal.effective_start(received), budget);
        let local = due.with_timezone(&Rome).time();
        let inside = cal.rules().windows.iter().any(|w| w.start <= local && local < w.end);
        let at_end = cal.rules().windows.iter().any(|w| w.end == local);
        prop_assert!(inside || at_end, "deadline at {local}");
        prop_assert_eq!(inside, cal.is_open_at(due));
    }

    #[test]
    fn add_is_monotonic_in_start((cairo, a) in cal_and_instant(), gap in 0i64..400_000, budget in 0i64..100_000) {
        let cal = which(cairo);
        let b = a + Duration::seconds(gap);
        prop_assert!(cal.add_business(a, budget) <= cal.add_business(b, budget));
    }

    #[test]
    fn add_is_monotonic_in_budget((cairo, start) in cal_and_instant(), m1 in 0i64..100_000, extra in 0i64..100_000) {
        let cal = which(cairo);
        prop_assert!(cal.add_business(start, m1) <= cal.add_business(start, m1 + extra));
    }

    #[test]
    fn elapsed_is_additive((cairo, a) in cal_and_instant(), g1 in 0i64..600_000, g2 in 0i64..600_000) {
        let cal = which(cairo);
        let b = a + Duration::seconds(g1);
        let c = b + Duration::seconds(g2);
        let (ab, bc, ac) = (cal.elapsed_business(a, b), cal.elapsed_business(b, c), cal.elapsed_business(a, c));
        prop_assert_eq!(ab + bc, ac);
        prop_assert!(ab >= 0 && ab <= g1 + 1);
        prop_assert_eq!(cal.elapsed_business(c, a), 0);
    }

    #[test]
    fn next_opening_is_open_and_nothing_before_it((cairo, t) in cal_and_instant()) {
        let cal = which(cairo);
        let open = cal.next_opening(t);
        prop_assert!(open >= second(t));
        prop_assert!(cal.is_open_at(open));
        prop_assert_eq!(cal.elapsed_business(t, open), 0);
        prop_assert_eq!(cal.is_open_at(t), open == second(t));
    }
}

/// Brute-force reference for Rome: is the whole minute starting at `t` business time?
/// Independent of the calendar's cache, offsets and walks (only the closed-day rules are
/// shared), using chrono-tz directly.
fn open_minute_ref(cal: &Calendar, t: DateTime<Utc>) -> bool {
    let local = t.with_timezone(&Rome);
    cal.closed_reason(local.date_naive()).is_none()
        && cal
            .rules()
            .windows
            .iter()
            .any(|w| w.start <= local.time() && local.time() < w.end)
}

/// Reference effective start: next working day at 09:00 if closed.
fn effective_start_ref(cal: &Calendar, received: DateTime<Utc>) -> DateTime<Utc> {
    let mut day = received.with_timezone(&Rome).date_naive();
    if cal.closed_reason(day).is_none() {
        return received;
    }
    loop {
        day = day.succ_opt().expect("date");
        if cal.closed_reason(day).is_none() {
            return Rome
                .from_local_datetime(&day.and_time(t(9, 0)))
                .single()
                .expect("09:00 exists in Rome")
                .with_timezone(&Utc);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn matches_minute_by_minute_reference(minute in (secs(2025, 12, 1) / 60)..(secs(2027, 1, 31) / 60), budget_min in 1i64..1500) {
        let cal = &*ROME;
        let received = DateTime::from_timestamp(minute * 60, 0).expect("instant");
        let start = effective_start_ref(cal, received);
        prop_assert_eq!(cal.effective_start(received), start);
        let mut t = start;
        let mut counted = 0;
        let due = loop {
            if open_minute_ref(cal, t) {
                counted += 1;
                if counted == budget_min {
                    break t + Duration::minutes(1);
                }
            }
            t += Duration::minutes(1);
        };
        prop_assert_eq!(cal.add_business(start, budget_min * 60), due);
    }
}
