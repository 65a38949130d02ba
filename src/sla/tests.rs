//! Table-driven unit tests of the SLA calendar, deadlines and suspensions, with values
//! checked by hand (weekdays are also asserted through chrono, so a wrong assumption about
//! a date fails loudly instead of silently testing something else).

use std::fmt::{Debug, Display};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Rome;

use super::calendar::*;
use super::deadline::*;
use super::suspension::*;
use crate::model::{Channel, Level};

/// The single assertion helper: says which table row failed and how.
#[track_caller]
fn check<T: PartialEq + Debug>(what: impl Display, got: T, want: T) {
    assert!(got == want, "{what}\n   got: {got:?}\n  want: {want:?}");
}

/// A date from "YYYY-MM-DD".
fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

/// A Rome wall-clock time "YYYY-MM-DD HH:MM[:SS]" as a UTC instant (must be unambiguous).
fn at(s: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .expect("test local time");
    Rome.from_local_datetime(&naive)
        .single()
        .expect("unambiguous Rome time in a test")
        .with_timezone(&Utc)
}

/// A UTC instant from RFC 3339.
fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test RFC 3339 instant")
        .with_timezone(&Utc)
}

/// An instant shown in Rome time with its offset, e.g. "2026-03-30T08:35:00+02:00".
fn show(t: DateTime<Utc>) -> String {
    t.with_timezone(&Rome).to_rfc3339()
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("test time")
}

/// The contract defaults plus one closure of every configurable kind:
/// local holiday 29 June (a Monday in 2026), extra closed day Friday 14 August 2026,
/// suspension Monday 16 – Tuesday 17 November 2026.
fn test_calendar() -> Calendar {
    let rules = CalendarRules {
        local_holidays: vec![LocalHoliday {
            month: 6,
            day: 29,
            name: "Santi Pietro e Paolo".to_string(),
        }],
        extra_closed_days: vec![d("2026-08-14")],
        ..CalendarRules::default()
    };
    let suspensions = vec![Suspension {
        from: d("2026-11-16"),
        to: d("2026-11-17"),
        reason: "aggiornamento server".to_string(),
    }];
    Calendar::new(rules, suspensions)
}

#[test]
fn weekdays_assumed_by_the_tables() {
    use Weekday::*;
    let table = [
        ("2026-10-04", Sun),
        ("2027-10-04", Mon),
        ("2025-10-04", Sat),
        ("2024-10-04", Fri),
        ("2026-03-20", Fri),
        ("2026-03-23", Mon),
        ("2026-03-27", Fri),
        ("2026-03-29", Sun),
        ("2026-10-23", Fri),
        ("2026-10-25", Sun),
        ("2026-06-29", Mon),
        ("2026-08-14", Fri),
        ("2026-11-16", Mon),
        ("2025-04-25", Fri),
        ("2025-05-01", Thu),
        ("2025-12-24", Wed),
        ("2026-12-24", Thu),
        ("2026-12-26", Sat),
        ("2027-01-01", Fri),
        ("2024-04-26", Fri),
        ("2024-10-31", Thu),
    ];
    for (day, want) in table {
        check(day, d(day).weekday(), want);
    }
    // Last Sundays of March and October 2026 are the DST changes.
    check("29 Mar 2026 is the last Sunday", d("2026-04-05").weekday(), Sun);
    check("25 Oct 2026 is the last Sunday", d("2026-11-01").weekday(), Sun);
}

#[test]
fn easter() {
    let table = [
        // (year, Easter Sunday, Easter Monday)
        (2026, "2026-04-05", "2026-04-06"),
        (2027, "2027-03-28", "2027-03-29"),
        (2030, "2030-04-21", "2030-04-22"),
        (2024, "2024-03-31", "2024-04-01"),
        (2025, "2025-04-20", "2025-04-21"),
        (2019, "2019-04-21", "2019-04-22"),
        (2038, "2038-04-25", "2038-04-26"),
        (2011, "2011-04-24", "2011-04-25"),
        (2000, "2000-04-23", "2000-04-24"),
        (1818, "1818-03-22", "1818-03-23"), // earliest possible date
        (1943, "1943-04-25", "1943-04-26"), // latest possible date
        (2285, "2285-03-22", "2285-03-23"),
    ];
    let cal = Calendar::default();
    for (year, sunday, monday) in table {
        check(format!("Easter Sunday {year}"), easter_sunday(year), d(sunday));
        check(
            format!("Easter Sunday {year} weekday"),
            d(sunday).weekday(),
            Weekday::Sun,
        );
        let reason = cal.closed_reason(d(monday));
        // 25 April 2011 is both Easter Monday and Liberation Day: fixed date listed first.
        let want_name = if monday == "2011-04-25" {
            "Festa della Liberazione"
        } else {
            "Lunedì dell'Angelo"
        };
        check(
            format!("Easter Monday {monday}"),
            reason,
            Some(ClosedReason::National(want_name)),
        );
        // The Tuesday is a working day, unless it is 25 April (as in 2000).
        let tuesday = d(monday).succ_opt().expect("date");
        check(
            format!("Easter Tuesday after {monday}"),
            cal.is_working_day(tuesday),
            (tuesday.month(), tuesday.day()) != (4, 25),
        );
    }
    // Far years must not panic.
    for year in [i32::MIN, -1, 0, 1, 1582, 9999, 262_143, i32::MAX] {
        let _ = easter_sunday(year);
    }
}

#[test]
fn closed_reasons() {
    use ClosedReason::*;
    let cal = test_calendar();
    let table: Vec<(&str, Option<ClosedReason>)> = vec![
        // San Francesco from 2026: a Sunday in 2026 (weekend first), a Monday in 2027.
        ("2026-10-04", Some(Sunday)),
        ("2027-10-04", Some(National("San Francesco d'Assisi"))),
        // Not a holiday before 2026: a Saturday in 2025, a working Friday in 2024.
        ("2025-10-04", Some(Saturday)),
        ("2024-10-04", None),
        ("2026-01-01", Some(National("Capodanno"))),
        ("2026-01-06", Some(National("Epifania"))),
        ("2026-04-25", Some(Saturday)),
        ("2025-04-25", Some(National("Festa della Liberazione"))),
        ("2025-05-01", Some(National("Festa del Lavoro"))),
        ("2026-06-02", Some(National("Festa della Repubblica"))),
        ("2026-08-15", Some(Saturday)),
        ("2025-08-15", Some(National("Ferragosto"))),
        ("2026-11-01", Some(Sunday)),
        ("2027-11-01", Some(National("Ognissanti"))),
        ("2026-12-08", Some(National("Immacolata Concezione"))),
        ("2026-12-25", Some(National("Natale"))),
        ("2026-12-26", Some(Saturday)),
        ("2025-12-26", Some(National("Santo Stefano"))),
        ("2026-12-24", None),
        ("2026-06-29", Some(Local("Santi Pietro e Paolo".to_string()))),
        ("2026-08-14", Some(Extra)),
        ("2026-11-16", Some(Suspension("aggiornamento server".to_string()))),
        ("2026-11-17", Some(Suspension("aggiornamento server".to_string()))),
        ("2026-11-18", None),
        ("2026-03-23", None),
    ];
    for (day, want) in table {
        let working = want.is_none();
        check(format!("closed_reason({day})"), cal.closed_reason(d(day)), want);
        check(format!("is_working_day({day})"), cal.is_working_day(d(day)), working);
    }
    check(
        "suspension ignored",
        cal.closed_reason_without_suspensions(d("2026-11-16")),
        None,
    );
    check(
        "labels",
        (
            Suspension("x".to_string()).label_it(),
            National("Natale").label_en(),
            Sunday.to_string(),
        ),
        (
            "sospensione del servizio: x".to_string(),
            "national holiday: Natale".to_string(),
            "Sunday".to_string(),
        ),
    );
}

#[test]
fn holidays_of_a_year() {
    let cal = test_calendar();
    let list = cal.holidays(2026);
    let brief: Vec<(String, HolidayKind, bool)> = list
        .iter()
        .map(|h| (h.date.to_string(), h.kind, h.on_weekend))
        .collect();
    use HolidayKind::*;
    let want: Vec<(String, HolidayKind, bool)> = [
        ("2026-01-01", National, false),
        ("2026-01-06", National, false),
        ("2026-04-06", National, false),
        ("2026-04-25", National, true),
        ("2026-05-01", National, false),
        ("2026-06-02", National, false),
        ("2026-06-29", Local, false),
        ("2026-08-14", Extra, false),
        ("2026-08-15", National, true),
        ("2026-10-04", National, true),
        ("2026-11-01", National, true),
        ("2026-11-16", Suspension, false),
        ("2026-11-17", Suspension, false),
        ("2026-12-08", National, false),
        ("2026-12-25", National, false),
        ("2026-12-26", National, true),
    ]
    .iter()
    .map(|(s, k, w)| (s.to_string(), *k, *w))
    .collect();
    check("holidays(2026)", brief, want);
    check(
        "name of 4 Oct 2026",
        list.iter().find(|h| h.date == d("2026-10-04")).map(|h| h.name.clone()),
        Some("San Francesco d'Assisi".to_string()),
    );
    // 2025: no San Francesco, and none of the 2026-only configured dates except 29 June.
    let names_2025: Vec<String> = cal.holidays(2025).iter().map(|h| h.name.clone()).collect();
    check("holidays(2025) count", names_2025.len(), 12);
    check(
        "no San Francesco in 2025",
        names_2025.iter().any(|n| n.contains("Francesco")),
        false,
    );
    // Easter Monday on Liberation Day: both listed.
    check(
        "25 April 2011 twice",
        Calendar::default()
            .holidays(2011)
            .iter()
            .filter(|h| h.date == d("2011-04-25"))
            .count(),
        2,
    );
    check("far year", Calendar::default().holidays(i32::MAX).len(), 0);
}

#[test]
fn working_days_list() {
    let cal = Calendar::default();
    let got: Vec<String> = cal
        .working_days(d("2026-12-21"), d("2027-01-08"))
        .iter()
        .map(|d| d.to_string())
        .collect();
    let want = [
        "2026-12-21",
        "2026-12-22",
        "2026-12-23",
        "2026-12-24",
        "2026-12-28",
        "2026-12-29",
        "2026-12-30",
        "2026-12-31",
        "2027-01-04",
        "2027-01-05",
        "2027-01-07",
        "2027-01-08",
    ];
    check("working days over Christmas", got, want.map(String::from).to_vec());
    check(
        "reversed range",
        cal.working_days(d("2026-01-10"), d("2026-01-01")),
        vec![],
    );
}

#[test]
fn take_in() {
    use Channel::*;
    let cal = test_calendar();
    let budgets = SlaBudgets::default();
    // (what, channel, received (Rome), effective start, take-in due), shown in Rome time.
    let table = [
        (
            "Friday 16:50 e-mail: 10 min Friday + 35 min Monday",
            Email,
            at("2026-03-20 16:50"),
            "2026-03-20T16:50:00+01:00",
            "2026-03-23T08:35:00+01:00",
        ),
        (
            "Friday 16:50 before a local-holiday Monday",
            Email,
            at("2026-06-26 16:50"),
            "2026-06-26T16:50:00+02:00",
            "2026-06-30T08:35:00+02:00",
        ),
        (
            "lunch gap: waits for 14:00",
            Email,
            at("2026-03-24 13:20"),
            "2026-03-24T13:20:00+01:00",
            "2026-03-24T14:45:00+01:00",
        ),
        (
            "12:45 portal: 15 min before lunch, 15 after",
            Portal,
            at("2026-03-24 12:45"),
            "2026-03-24T12:45:00+01:00",
            "2026-03-24T14:15:00+01:00",
        ),
        (
            "before the first window",
            Portal,
            at("2026-03-24 07:10"),
            "2026-03-24T07:10:00+01:00",
            "2026-03-24T08:30:00+01:00",
        ),
        (
            "after the last window of a working day: real time, clock waits",
            Email,
            at("2026-03-24 18:00"),
            "2026-03-24T18:00:00+01:00",
            "2026-03-25T08:45:00+01:00",
        ),
        (
            "exactly 13:00 (not 14:00)",
            Portal,
            at("2026-03-24 12:30"),
            "2026-03-24T12:30:00+01:00",
            "2026-03-24T13:00:00+01:00",
        ),
        (
            "exactly 13:00 by e-mail",
            Email,
            at("2026-03-24 12:15"),
            "2026-03-24T12:15:00+01:00",
            "2026-03-24T13:00:00+01:00",
        ),
        (
            "exactly 17:00 by phone",
            Phone,
            at("2026-03-24 15:30"),
            "2026-03-24T15:30:00+01:00",
            "2026-03-24T17:00:00+01:00",
        ),
        (
            "Saturday: Monday 09:00",
            Email,
            at("2026-03-21 10:00"),
            "2026-03-23T09:00:00+01:00",
            "2026-03-23T09:45:00+01:00",
        ),
        (
            "Sunday just before midnight",
            Portal,
            utc("2026-03-22T22:59:59.900Z"),
            "2026-03-23T09:00:00+01:00",
            "2026-03-23T09:30:00+01:00",
        ),
        (
            "national holiday (Capodanno, Thursday): Friday 09:00",
            Phone,
            at("2026-01-01 11:00"),
            "2026-01-02T09:00:00+01:00",
            "2026-01-02T10:30:00+01:00",
        ),
        (
            "national holiday in the middle of the week (Epifania)",
            Email,
            at("2026-01-06 08:30"),
            "2026-01-07T09:00:00+01:00",
            "2026-01-07T09:45:00+01:00",
        ),
        (
            "local holiday from the rules",
            Email,
            at("2026-06-29 10:00"),
            "2026-06-30T09:00:00+02:00",
            "2026-06-30T09:45:00+02:00",
        ),
        (
            "suspension day: first working day after it",
            Email,
            at("2026-11-16 10:00"),
            "2026-11-18T09:00:00+01:00",
            "2026-11-18T09:45:00+01:00",
        ),
        (
            "extra closed day before Ferragosto weekend",
            Portal,
            at("2026-08-14 10:00"),
            "2026-08-17T09:00:00+02:00",
            "2026-08-17T09:30:00+02:00",
        ),
        (
            "Easter weekend 2025 (Friday late, Easter Monday closed)",
            Phone,
            at("2025-04-18 16:30"),
            "2025-04-18T16:30:00+02:00",
            "2025-04-22T09:00:00+02:00",
        ),
        (
            "25 April 2025 bridge: Thursday late to Monday",
            Phone,
            at("2025-04-24 16:30"),
            "2025-04-24T16:30:00+02:00",
            "2025-04-28T09:00:00+02:00",
        ),
        (
            "1 May 2025 (Thursday): the Friday bridge is a working day",
            Email,
            at("2025-04-30 16:45"),
            "2025-04-30T16:45:00+02:00",
            "2025-05-02T08:30:00+02:00",
        ),
        (
            "Christmas 2025: 24 Dec afternoon to Monday 29",
            Phone,
            at("2025-12-24 16:30"),
            "2025-12-24T16:30:00+01:00",
            "2025-12-29T09:00:00+01:00",
        ),
        (
            "Christmas 2026: 24 Dec afternoon to Monday 28",
            Phone,
            at("2026-12-24 16:00"),
            "2026-12-24T16:00:00+01:00",
            "2026-12-28T08:30:00+01:00",
        ),
        (
            "Christmas day itself",
            Email,
            at("2026-12-25 10:00"),
            "2026-12-28T09:00:00+01:00",
            "2026-12-28T09:45:00+01:00",
        ),
        (
            "DST spring: Friday before (+01:00) to Monday after (+02:00)",
            Email,
            at("2026-03-27 16:50"),
            "2026-03-27T16:50:00+01:00",
            "2026-03-30T08:35:00+02:00",
        ),
        (
            "DST spring: on the Sunday, in the skipped hour (02:30 local)",
            Email,
            utc("2026-03-29T01:30:00Z"),
            "2026-03-30T09:00:00+02:00",
            "2026-03-30T09:45:00+02:00",
        ),
        (
            "DST spring: Monday after",
            Portal,
            at("2026-03-30 08:00"),
            "2026-03-30T08:00:00+02:00",
            "2026-03-30T08:30:00+02:00",
        ),
        (
            "DST autumn: Friday before (+02:00) to Monday after (+01:00)",
            Email,
            at("2026-10-23 16:50"),
            "2026-10-23T16:50:00+02:00",
            "2026-10-26T08:35:00+01:00",
        ),
        (
            "DST autumn: first 02:30 of the Sunday",
            Portal,
            utc("2026-10-25T00:30:00Z"),
            "2026-10-26T09:00:00+01:00",
            "2026-10-26T09:30:00+01:00",
        ),
        (
            "DST autumn: second 02:30 of the Sunday",
            Portal,
            utc("2026-10-25T01:30:00Z"),
            "2026-10-26T09:00:00+01:00",
            "2026-10-26T09:30:00+01:00",
        ),
        (
            "DST autumn: Monday after",
            Phone,
            at("2026-10-26 16:00"),
            "2026-10-26T16:00:00+01:00",
            "2026-10-27T08:30:00+01:00",
        ),
        (
            "sub-second part is discarded",
            Portal,
            utc("2026-03-24T09:00:00.999Z"),
            "2026-03-24T10:00:00+01:00",
            "2026-03-24T10:30:00+01:00",
        ),
    ];
    for (what, channel, received, want_start, want_due) in table {
        let (start, due) = take_in_due(&cal, &budgets, channel, received);
        check(format!("{what}: effective start"), show(start), want_start.to_string());
        check(format!("{what}: take-in due"), show(due), want_due.to_string());
        let cycle = CycleDeadlines::new_request(&cal, &budgets, channel, received);
        check(
            format!("{what}: cycle"),
            (cycle.effective_start, cycle.take_in_due, cycle.resolution_due),
            (start, due, None),
        );
    }
}

#[test]
fn resolution() {
    use Level::*;
    let cal = test_calendar();
    let budgets = SlaBudgets::default();
    // (what, level, take-in instant (Rome), resolution due in Rome time)
    let table = [
        (
            "Monday 10:00 level 1: 3 h morning + 3 h afternoon",
            First,
            "2026-03-23 10:00",
            "2026-03-23T17:00:00+01:00",
        ),
        (
            "Monday 10:00 level 2: next working day 10:00",
            Second,
            "2026-03-23 10:00",
            "2026-03-24T10:00:00+01:00",
        ),
        (
            "Monday 08:00 level 2: exactly the whole day, ends 17:00",
            Second,
            "2026-03-23 08:00",
            "2026-03-23T17:00:00+01:00",
        ),
        (
            "Christmas 2025: 24 Dec 15:00 level 1 to Monday 29 12:00",
            First,
            "2025-12-24 15:00",
            "2025-12-29T12:00:00+01:00",
        ),
        (
            "Christmas 2026: 24 Dec 14:00 level 2 to Monday 28 13:00 exactly",
            Second,
            "2026-12-24 14:00",
            "2026-12-28T13:00:00+01:00",
        ),
        (
            "DST spring: Friday 14:00 level 2 to Monday 13:00 (+02:00)",
            Second,
            "2026-03-27 14:00",
            "2026-03-30T13:00:00+02:00",
        ),
        (
            "DST autumn: Friday 11:00 level 1 to Monday 09:00 (+01:00)",
            First,
            "2026-10-23 11:00",
            "2026-10-26T09:00:00+01:00",
        ),
        (
            "taken in on a Saturday: clock waits for Monday 08:00",
            First,
            "2026-03-21 10:00",
            "2026-03-23T15:00:00+01:00",
        ),
        (
            "before a suspension: Friday 13 Nov 16:00 level 2 to Wednesday 18 16:00",
            Second,
            "2026-11-13 16:00",
            "2026-11-18T16:00:00+01:00",
        ),
        (
            "2 June 2026 (Tuesday) skipped: Monday 15:00 level 2",
            Second,
            "2026-06-01 15:00",
            "2026-06-03T15:00:00+02:00",
        ),
    ];
    for (what, level, taken, want) in table {
        check(
            what,
            show(resolution_due(&cal, &budgets, level, at(taken))),
            want.to_string(),
        );
    }

    // Escalation: same take-in instant, level-2 budget.
    let taken = at("2026-03-23 10:00");
    let cycle = CycleDeadlines::new_request(&cal, &budgets, Channel::Portal, at("2026-03-23 09:40"))
        .with_resolution(&cal, &budgets, First, taken);
    check(
        "cycle level 1",
        cycle.resolution_due.map(show),
        Some("2026-03-23T17:00:00+01:00".to_string()),
    );
    let escalated = cycle.with_resolution(&cal, &budgets, Second, taken);
    check(
        "escalated",
        escalated.resolution_due.map(show),
        Some("2026-03-24T10:00:00+01:00".to_string()),
    );
    check("escalation keeps take-in due", escalated.take_in_due, cycle.take_in_due);

    // Reopening: the reopening instant is the take-in instant of the new cycle.
    let reopened = CycleDeadlines::reopened(&cal, &budgets, First, at("2026-03-20 16:00"));
    check(
        "reopened Friday 16:00 level 1",
        (show(reopened.take_in_due), reopened.resolution_due.map(show)),
        (
            "2026-03-20T16:00:00+01:00".to_string(),
            Some("2026-03-23T13:00:00+01:00".to_string()),
        ),
    );

    // Budgets are passed in, not hard-coded.
    let custom = SlaBudgets {
        resolution_minutes_level1: 30,
        take_in_minutes_email: 0,
        ..SlaBudgets::default()
    };
    check(
        "custom level-1 budget",
        show(resolution_due(&cal, &custom, First, at("2026-03-23 12:45"))),
        "2026-03-23T14:15:00+01:00".to_string(),
    );
    check(
        "zero take-in budget on a closed day: the effective start",
        show(take_in_due(&cal, &custom, Channel::Email, at("2026-03-21 10:00")).1),
        "2026-03-23T09:00:00+01:00".to_string(),
    );
}

#[test]
fn met_or_breached() {
    let due = at("2026-03-23 17:00");
    let table = [
        ("one second early", "2026-03-23T15:59:59Z", true),
        ("exactly on time", "2026-03-23T16:00:00Z", true),
        ("same second, sub-second late", "2026-03-23T16:00:00.900Z", true),
        ("one second late", "2026-03-23T16:00:01Z", false),
    ];
    for (what, actual, want) in table {
        check(what, is_met(due, utc(actual)), want);
    }
}

#[test]
fn add_business_edges() {
    let cal = test_calendar();
    // (what, start, budget seconds, due in Rome time)
    let table = [
        (
            "budget 0 inside a window",
            "2026-03-23 10:00",
            0,
            "2026-03-23T10:00:00+01:00",
        ),
        (
            "budget 0 outside a window: the start itself",
            "2026-03-21 10:00",
            0,
            "2026-03-21T10:00:00+01:00",
        ),
        (
            "negative budget counts as 0",
            "2026-03-23 12:00",
            -60,
            "2026-03-23T12:00:00+01:00",
        ),
        (
            "1 s from the lunch gap",
            "2026-03-23 13:30",
            1,
            "2026-03-23T14:00:01+01:00",
        ),
        (
            "one second before 13:00 + 1 s",
            "2026-03-23 12:59:59",
            1,
            "2026-03-23T13:00:00+01:00",
        ),
        (
            "whole week of business time from Monday 08:00",
            "2026-03-23 08:00",
            5 * 8 * 3600,
            "2026-03-27T17:00:00+01:00",
        ),
        (
            "a week and a second",
            "2026-03-23 08:00",
            5 * 8 * 3600 + 1,
            "2026-03-30T08:00:01+02:00",
        ),
    ];
    for (what, start, budget, want) in table {
        check(what, show(cal.add_business(at(start), budget)), want.to_string());
    }
    // Unreachable budgets and absurd instants: no panic, "never" is MAX_UTC.
    check(
        "huge budget",
        cal.add_business(at("2026-03-23 10:00"), i64::MAX),
        DateTime::<Utc>::MAX_UTC,
    );
    check(
        "from MAX_UTC",
        cal.add_business(DateTime::<Utc>::MAX_UTC, 60),
        DateTime::<Utc>::MAX_UTC,
    );
    let early = cal.add_business(DateTime::<Utc>::MIN_UTC, 60);
    check("from MIN_UTC gives something in year 1", early.year(), 1);
    check(
        "effective start of MIN_UTC does not panic",
        cal.effective_start(DateTime::<Utc>::MIN_UTC) >= DateTime::<Utc>::MIN_UTC,
        true,
    );
    check(
        "effective start of MAX_UTC",
        cal.effective_start(DateTime::<Utc>::MAX_UTC).timestamp(),
        DateTime::<Utc>::MAX_UTC.timestamp(),
    );
    check(
        "elapsed over everything is finite and positive",
        cal.elapsed_business(at("2026-01-01 00:00"), at("2027-01-01 00:00")) > 0,
        true,
    );

    // A calendar without windows never opens and never reaches a deadline.
    let closed = Calendar::new(
        CalendarRules {
            windows: vec![],
            ..CalendarRules::default()
        },
        vec![],
    );
    check(
        "no windows: add",
        closed.add_business(at("2026-03-23 10:00"), 60),
        DateTime::<Utc>::MAX_UTC,
    );
    check(
        "no windows: next opening",
        closed.next_opening(at("2026-03-23 10:00")),
        DateTime::<Utc>::MAX_UTC,
    );
    check("no windows: open", closed.is_open_at(at("2026-03-23 10:00")), false);
    check(
        "no windows: elapsed",
        closed.elapsed_business(at("2026-03-23 10:00"), at("2026-04-23 10:00")),
        0,
    );
}

#[test]
fn whole_supported_range_does_not_panic() {
    let cal = test_calendar();
    for year in 1900..=2200 {
        for (month, day) in [(1, 1), (3, 31), (6, 29), (10, 29), (12, 31)] {
            let date = NaiveDate::from_ymd_opt(year, month, day).expect("valid date");
            let noon = Utc.from_utc_datetime(&date.and_time(t(11, 0)));
            let start = cal.effective_start(noon);
            let due = cal.add_business(start, 480 * 60);
            check(format!("elapsed {date}"), cal.elapsed_business(start, due), 480 * 60);
            let _ = cal.closed_reason(date);
        }
    }
    // Outside the cached range, computed directly.
    for s in ["1850-06-03T10:00:00Z", "2300-06-03T10:00:00Z", "9999-12-20T10:00:00Z"] {
        let start = cal.effective_start(utc(s));
        let due = cal.add_business(start, 3600);
        check(format!("elapsed from {s}"), cal.elapsed_business(start, due), 3600);
    }
}

#[test]
fn elapsed() {
    let cal = test_calendar();
    // (what, from, to, seconds)
    let table = [
        (
            "Monday 10:00 to 17:00",
            at("2026-03-23 10:00"),
            at("2026-03-23 17:00"),
            6 * 3600,
        ),
        ("over lunch", at("2026-03-23 12:00"), at("2026-03-23 15:00"), 2 * 3600),
        (
            "Friday 16:50 to Monday 08:35",
            at("2026-03-20 16:50"),
            at("2026-03-23 08:35"),
            45 * 60,
        ),
        ("reversed", at("2026-03-23 17:00"), at("2026-03-23 10:00"), 0),
        ("empty", at("2026-03-23 10:00"), at("2026-03-23 10:00"), 0),
        (
            "a week across the spring DST change",
            at("2026-03-23 00:00"),
            at("2026-03-30 00:00"),
            5 * 8 * 3600,
        ),
        (
            "a week across the autumn DST change",
            at("2026-10-19 00:00"),
            at("2026-10-26 00:00"),
            5 * 8 * 3600,
        ),
        (
            "Christmas week 2026: Thu 24 + Mon-Thu 28-31",
            at("2026-12-24 00:00"),
            at("2027-01-01 00:00"),
            5 * 8 * 3600,
        ),
        (
            "November 2026 has 21 working days minus 2 suspended",
            at("2026-11-01 00:00"),
            at("2026-12-01 00:00"),
            19 * 8 * 3600,
        ),
        (
            "sub-seconds discarded",
            utc("2026-03-23T09:00:00.999Z"),
            utc("2026-03-23T09:00:01.001Z"),
            1,
        ),
    ];
    for (what, from, to, want) in table {
        check(what, cal.elapsed_business(from, to), want);
    }
    check(
        "minutes rounded down",
        cal.elapsed_business_minutes(at("2026-03-23 10:00"), at("2026-03-23 10:00:59")),
        0,
    );
    check(
        "minutes",
        cal.elapsed_business_minutes(at("2026-03-23 10:00"), at("2026-03-23 14:30")),
        3 * 60 + 30,
    );
}

#[test]
fn open_and_next_opening() {
    let cal = test_calendar();
    // (what, instant, open?, next opening in Rome time)
    let table = [
        ("08:00 opens", "2026-03-23 08:00", true, "2026-03-23T08:00:00+01:00"),
        (
            "07:59:59 closed",
            "2026-03-23 07:59:59",
            false,
            "2026-03-23T08:00:00+01:00",
        ),
        (
            "12:59:59 open",
            "2026-03-23 12:59:59",
            true,
            "2026-03-23T12:59:59+01:00",
        ),
        ("13:00 closed", "2026-03-23 13:00", false, "2026-03-23T14:00:00+01:00"),
        ("17:00 closed", "2026-03-23 17:00", false, "2026-03-24T08:00:00+01:00"),
        ("Saturday", "2026-03-28 10:00", false, "2026-03-30T08:00:00+02:00"),
        (
            "before a suspension",
            "2026-11-13 17:30",
            false,
            "2026-11-18T08:00:00+01:00",
        ),
        (
            "Ferragosto bridge",
            "2026-08-13 17:00",
            false,
            "2026-08-17T08:00:00+02:00",
        ),
    ];
    for (what, instant, open, next) in table {
        check(format!("{what}: open"), cal.is_open_at(at(instant)), open);
        check(
            format!("{what}: next"),
            show(cal.next_opening(at(instant))),
            next.to_string(),
        );
    }
}

#[test]
fn skipped_days_explain_a_deadline() {
    use ClosedReason::*;
    let cal = test_calendar();
    check(
        "Christmas 2026",
        cal.skipped_days(at("2026-12-24 16:00"), at("2026-12-28 08:30")),
        vec![
            (d("2026-12-25"), National("Natale")),
            (d("2026-12-26"), Saturday),
            (d("2026-12-27"), Sunday),
        ],
    );
    check(
        "suspension",
        cal.skipped_days(at("2026-11-13 16:00"), at("2026-11-18 15:00")),
        vec![
            (d("2026-11-14"), Saturday),
            (d("2026-11-15"), Sunday),
            (d("2026-11-16"), Suspension("aggiornamento server".to_string())),
            (d("2026-11-17"), Suspension("aggiornamento server".to_string())),
        ],
    );
    check(
        "reversed",
        cal.skipped_days(at("2026-12-28 08:30"), at("2026-12-24 16:00")),
        vec![],
    );
}

/// A zone whose clock changes on working days and at midnight: Africa/Cairo in 2024
/// goes from +02:00 to +03:00 at the start of Friday 26 April (00:00 does not exist) and
/// back at the end of Thursday 31 October (23:00–24:00 happens twice). Windows around
/// midnight exercise the slow path of days with an offset change.
fn cairo_calendar() -> Calendar {
    let rules = CalendarRules {
        timezone: chrono_tz::Africa::Cairo,
        windows: vec![
            Window {
                start: t(0, 0),
                end: t(2, 0),
            },
            Window {
                start: t(22, 0),
                end: t(23, 30),
            },
        ],
        ..CalendarRules::default()
    };
    Calendar::new(rules, vec![])
}

#[test]
fn offset_change_inside_windows() {
    let cal = cairo_calendar();
    // (what, from, to, seconds)
    let table = [
        // Thursday 25 April 2024 is closed (Liberazione). Friday: window 00:00–02:00 starts
        // at the change (22:00Z) and ends at 02:00 +03:00 (23:00Z): 1 h; then 22:00–23:30
        // +03:00: 1 h 30.
        ("spring Friday", "2024-04-25T00:00:00Z", "2024-04-27T00:00:00Z", 9000),
        // Thursday 31 October: 00:00–02:00 +03:00 (2 h) and 22:00–23:30 first occurrence
        // (+03:00, 1 h 30); the repeated 23:00–23:30 is not counted twice. Friday 1
        // November is closed (Ognissanti).
        ("autumn Thursday", "2024-10-30T21:00:00Z", "2024-11-02T00:00:00Z", 12600),
        (
            "ordinary Monday",
            "2024-04-28T21:00:00Z",
            "2024-04-29T21:00:00Z",
            3 * 3600 + 1800,
        ),
    ];
    for (what, from, to, want) in table {
        check(what, cal.elapsed_business(utc(from), utc(to)), want);
    }
    let table = [
        (
            "spring: waits for the change instant",
            "2024-04-25T21:30:00Z",
            1800,
            "2024-04-25T22:30:00+00:00",
        ),
        (
            "spring: window end at 02:00 +03:00",
            "2024-04-25T21:30:00Z",
            3600,
            "2024-04-25T23:00:00+00:00",
        ),
        (
            "autumn: evening window first occurrence",
            "2024-10-31T19:00:00Z",
            5400,
            "2024-10-31T20:30:00+00:00",
        ),
        (
            "autumn: then Monday 4 November 00:00 +02:00",
            "2024-10-31T19:00:00Z",
            5401,
            "2024-11-03T22:00:01+00:00",
        ),
    ];
    for (what, start, budget, want) in table {
        check(
            what,
            cal.add_business(utc(start), budget).to_rfc3339(),
            want.to_string(),
        );
    }
    check(
        "open right after the skipped midnight",
        cal.is_open_at(utc("2024-04-25T22:00:00Z")),
        true,
    );
    check(
        "closed just before it (Thursday closed)",
        cal.is_open_at(utc("2024-04-25T21:59:59Z")),
        false,
    );
}

#[test]
fn rules_validation() {
    check("defaults", CalendarRules::default().validate(), Ok(()));
    let overlapping = CalendarRules {
        windows: vec![
            Window {
                start: t(8, 0),
                end: t(13, 0),
            },
            Window {
                start: t(12, 0),
                end: t(17, 0),
            },
        ],
        ..CalendarRules::default()
    };
    check(
        "overlapping windows",
        overlapping.validate().map_err(|e| e.to_string()),
        Err("service window #2 (12:00:00-17:00:00) starts before the previous one ends".to_string()),
    );
    // The calendar normalises them instead: 08:00–17:00 in one piece.
    let cal = Calendar::new(overlapping, vec![]);
    check("normalised", cal.working_day_seconds(), 9 * 3600);
    let bad_holiday = CalendarRules {
        local_holidays: vec![LocalHoliday {
            month: 2,
            day: 30,
            name: "x".to_string(),
        }],
        ..CalendarRules::default()
    };
    check("invalid local holiday", bad_holiday.validate().is_err(), true);
    let leap = CalendarRules {
        local_holidays: vec![LocalHoliday {
            month: 2,
            day: 29,
            name: "bisestile".to_string(),
        }],
        ..CalendarRules::default()
    };
    check("29 February accepted", leap.validate(), Ok(()));
    let cal = Calendar::new(leap, vec![]);
    check(
        "29 Feb 2028 closed",
        cal.closed_reason(d("2028-02-29")),
        Some(ClosedReason::Local("bisestile".to_string())),
    );
    check(
        "no windows",
        CalendarRules {
            windows: vec![],
            ..CalendarRules::default()
        }
        .validate(),
        Err(RulesError::NoWindows),
    );
}

#[test]
fn calendar_is_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Calendar>();
    // And actually shared: threads filling the lazy cache concurrently agree.
    let cal = std::sync::Arc::new(test_calendar());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let cal = cal.clone();
            std::thread::spawn(move || cal.add_business(at("2026-12-24 14:00"), 480 * 60))
        })
        .collect();
    for h in handles {
        check(
            "thread result",
            h.join().map(show).ok(),
            Some("2026-12-28T13:00:00+01:00".to_string()),
        );
    }
}

fn susp(from: &str, to: &str, reason: &str) -> Suspension {
    Suspension {
        from: d(from),
        to: d(to),
        reason: reason.to_string(),
    }
}

#[test]
fn new_suspensions() {
    let cal = test_calendar();
    let existing = vec![
        // Monday 2 to Monday 9 February 2026: 6 working days.
        susp("2026-02-02", "2026-02-09", "migrazione"),
        // 6 working days of 2027: Monday 1 – Monday 8 March.
        susp("2027-03-01", "2027-03-08", "trasloco"),
    ];
    let today = d("2026-03-01");
    // (what, new suspension, Ok(per-year (year, days)) or Err(message))
    type Row = (&'static str, Suspension, Result<Vec<(i32, u32)>, String>);
    let table: Vec<Row> = vec![
        (
            "exactly 5 days of notice",
            susp("2026-03-06", "2026-03-06", "r"),
            Ok(vec![(2026, 1)]),
        ),
        (
            "4 days of notice",
            susp("2026-03-05", "2026-03-05", "r"),
            Err("suspension must start at least 5 calendar days after today (2026-03-01), so on 2026-03-06 or later; it starts on 2026-03-05, 4 days after today: 4 < 5".to_string()),
        ),
        (
            "in the past",
            susp("2026-02-20", "2026-02-20", "r"),
            Err("suspension must start at least 5 calendar days after today (2026-03-01), so on 2026-03-06 or later; it starts on 2026-02-20, -9 days after today: -9 < 5".to_string()),
        ),
        (
            "ends before it starts",
            susp("2026-04-10", "2026-04-09", "r"),
            Err("suspension ends on 2026-04-09, before it starts on 2026-04-10: the last day must not precede the first".to_string()),
        ),
        (
            "overlaps an existing one by one day",
            susp("2027-03-08", "2027-03-10", "r"),
            Err("suspension 2027-03-08 to 2027-03-10 overlaps the existing suspension 2027-03-01 to 2027-03-08 (trasloco)".to_string()),
        ),
        (
            "3 more working days in 2026 is too many",
            susp("2026-04-01", "2026-04-03", "r"),
            Err("suspension would use 3 working days of 2026, which already has 6 of 8 used: 9 > 8".to_string()),
        ),
        (
            "Easter Monday and the weekend are free: Fri 3 – Tue 7 April costs 2",
            susp("2026-04-03", "2026-04-07", "r"),
            Ok(vec![(2026, 2)]),
        ),
        (
            "local holiday and extra closed day are free",
            susp("2026-06-29", "2026-06-29", "r"),
            Ok(vec![(2026, 0)]),
        ),
        (
            "spanning New Year: 30-31 Dec 2026 and 4-5 Jan 2027",
            susp("2026-12-30", "2027-01-05", "r"),
            Ok(vec![(2026, 2), (2027, 2)]),
        ),
        (
            "spanning New Year, second year over quota",
            susp("2026-12-31", "2027-01-07", "r"),
            Err("suspension would use 3 working days of 2027, which already has 6 of 8 used: 9 > 8".to_string()),
        ),
        (
            "overlap is checked before the quota",
            susp("2026-04-01", "9999-12-31", "r"),
            Err("suspension 2026-04-01 to 9999-12-31 overlaps the existing suspension 2027-03-01 to 2027-03-08 (trasloco)".to_string()),
        ),
    ];
    for (what, new, want) in table {
        let got = check_new_suspension(&cal, &existing, &new, today)
            .map(|cost| {
                cost.per_year
                    .iter()
                    .map(|y| (y.year, y.working_days))
                    .collect::<Vec<_>>()
            })
            .map_err(|e| e.to_string());
        check(what, got, want);
    }
    check(
        "very long suspension refused at its first year",
        check_new_suspension(&cal, &[], &susp("2026-04-01", "9999-12-31", "r"), today).map_err(|e| e.to_string()),
        Err("suspension would use 190 working days of 2026, which already has 0 of 8 used: 190 > 8".to_string()),
    );
    let cost =
        check_new_suspension(&cal, &existing, &susp("2026-12-30", "2027-01-05", "r"), today).expect("valid suspension");
    check("total", cost.total_working_days(), 4);
    check("in 2027", cost.working_days_in(2027), 2);
    check("remaining in 2027", cost.per_year[1].remaining_after(), 0);
}

#[test]
fn holidays_agree_with_closed_reason() {
    let cal = test_calendar();
    for year in (1900..=1910).chain(2020..=2030).chain(2190..=2200) {
        let listed: std::collections::BTreeSet<NaiveDate> = cal.holidays(year).iter().map(|h| h.date).collect();
        let jan1 = NaiveDate::from_ymd_opt(year, 1, 1).expect("date");
        for day in jan1.iter_days().take_while(|x| x.year() == year) {
            let reason = cal.closed_reason(day);
            let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
            // A listed day is closed; a weekday is listed exactly when it is closed.
            if listed.contains(&day) {
                check(format!("{day} listed and closed"), reason.is_some(), true);
            }
            if !weekend {
                check(
                    format!("{day} listed iff closed"),
                    listed.contains(&day),
                    reason.is_some(),
                );
            }
            check(format!("{day} cache"), cal.is_working_day(day), reason.is_none());
        }
    }
}

#[test]
fn extreme_dates_do_not_panic() {
    let cal = test_calendar();
    for day in [
        NaiveDate::MIN,
        NaiveDate::MAX,
        d("0001-01-01"),
        d("9999-12-31"),
        d("1583-10-15"),
    ] {
        let _ = cal.is_working_day(day);
        let _ = cal.closed_reason(day);
        let _ = cal.holidays(day.year());
        let _ = cal.working_days(day, day);
    }
    for instant in [
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
        utc("0001-01-01T00:00:00Z"),
        utc("9999-12-31T23:59:59Z"),
    ] {
        let _ = cal.effective_start(instant);
        let _ = cal.next_opening(instant);
        let _ = cal.is_open_at(instant);
        let _ = cal.add_business(instant, 8 * 3600);
        let _ = cal.skipped_days(instant, instant);
        let _ = cal.elapsed_business(instant, utc("0001-02-01T00:00:00Z"));
    }
    check(
        "elapsed to MAX_UTC is finite",
        cal.elapsed_business(utc("9999-01-01T00:00:00Z"), DateTime::<Utc>::MAX_UTC) > 0,
        true,
    );
}
