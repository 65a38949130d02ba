//! The open-data table (issue 17, section 5): `sportello report --format csv --open-data`, the
//! monthly service levels for the municipality's transparency page.
//!
//! Pure. One row per month and `channel/level` group, then one for the whole month: requests,
//! TP and TR compliance, closings and the satisfaction votes with their shares. Counts and
//! shares only — the figures of the accounting report, by the same rules — so nothing in it
//! names, addresses or numbers a person: no ticket ids, no subjects, categories or topics (the
//! requesters' words), no technicians (operators are people too), no comments, no instants. The
//! columns are documented in docs/open-data.md; the conventions are the report's CSV's
//! (`;`-separated, UTF-8 with BOM, Italian headers and values, a decimal comma).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{Datelike, Months};

use super::satisfaction::Votes;
use super::{Compliance, Period, Report, csv_label, decimal};
use crate::desk::privacy::Score;

/// The header row.
pub const HEADER: &str = "mese;canale;livello;richieste;\
TP rispettati;TP violati;TP in corso;TP % rispettati;\
TR rispettati;TR violati;TR in corso;TR % rispettati;\
chiusure;giudizi;tasso di risposta %;positivi;neutri;negativi;positivi %;neutri %;negativi %";

/// What a group or a month's total row is called in the `canale` and `livello` columns.
const ALL: &str = "tutti";

/// The months of `period`, each whole; None unless it starts on a first day and ends on a
/// last day of a month (a partial month would read as a month's figures).
pub fn whole_months(period: Period) -> Option<Vec<Period>> {
    let last_day = |first: chrono::NaiveDate| first.checked_add_months(Months::new(1)).and_then(|d| d.pred_opt());
    if period.from.day() != 1 || period.to.succ_opt().is_none_or(|next| next.day() != 1) {
        return None;
    }
    let mut months = Vec::new();
    let mut first = period.from;
    while first <= period.to {
        let to = last_day(first)?;
        months.push(Period { from: first, to });
        first = to.succ_opt()?;
    }
    Some(months)
}

/// The sum of several groups' compliance (their minutes left out: the table has none).
fn sum<'c>(groups: impl Iterator<Item = &'c Compliance>) -> Compliance {
    groups.fold(Compliance::default(), |mut all, c| {
        all.met += c.met;
        all.breached += c.breached;
        all.pending += c.pending;
        all
    })
}

fn clock_columns(c: &Compliance) -> String {
    format!("{};{};{};{}", c.met, c.breached, c.pending, decimal(c.percent()))
}

/// A group's vote columns (closings, votes, response rate, each face's count and share), as
/// both the report's satisfaction table and this table write them.
pub(super) fn vote_columns(v: &Votes) -> String {
    format!(
        "{};{};{};{};{};{};{};{};{}",
        v.closings,
        v.cast(),
        decimal(v.response_rate()),
        v.positive,
        v.neutral,
        v.negative,
        decimal(v.share(Score::Positive)),
        decimal(v.share(Score::Neutral)),
        decimal(v.share(Score::Negative))
    )
}

/// The table of `months` (each the report of one whole month, oldest first).
pub fn render_csv(months: &[Report]) -> String {
    let mut out = String::from("\u{feff}");
    let _ = writeln!(out, "{HEADER}");
    let none = Compliance::default();
    for report in months {
        let month = report.period.from.format("%Y-%m");
        let s = &report.satisfaction;
        let groups: BTreeSet<&String> = report
            .by_group
            .keys()
            .chain(report.take_in.keys())
            .chain(report.resolution.keys())
            .chain(s.by_group.keys())
            .collect();
        for group in groups {
            let (channel, level) = group.split_once('/').unwrap_or((group.as_str(), ""));
            let _ = writeln!(
                out,
                "{month};{};{level};{};{};{};{}",
                csv_label(channel),
                report.by_group.get(group).copied().unwrap_or(0),
                clock_columns(report.take_in.get(group).unwrap_or(&none)),
                clock_columns(report.resolution.get(group).unwrap_or(&none)),
                vote_columns(&s.by_group.get(group).copied().unwrap_or_default())
            );
        }
        let _ = writeln!(
            out,
            "{month};{ALL};{ALL};{};{};{};{}",
            report.total,
            clock_columns(&sum(report.take_in.values())),
            clock_columns(&sum(report.resolution.values())),
            vote_columns(&s.by_group.values().fold(Votes::default(), |all, v| all.plus(*v)))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;

    use super::*;
    use crate::report::satisfaction::Satisfaction;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn only_whole_months_make_the_table() {
        let months = whole_months(Period {
            from: day(2025, 12, 1),
            to: day(2026, 2, 28),
        })
        .expect("whole months");
        assert_eq!(
            months,
            [
                Period {
                    from: day(2025, 12, 1),
                    to: day(2025, 12, 31)
                },
                Period {
                    from: day(2026, 1, 1),
                    to: day(2026, 1, 31)
                },
                Period {
                    from: day(2026, 2, 1),
                    to: day(2026, 2, 28)
                },
            ]
        );
        for (from, to) in [
            (day(2026, 3, 2), day(2026, 3, 31)),
            (day(2026, 3, 1), day(2026, 3, 30)),
            (day(2026, 2, 1), day(2026, 2, 27)),
        ] {
            assert_eq!(whole_months(Period { from, to }), None, "{from}..{to}");
        }
    }

    /// One month by hand: two groups, the total summing them.
    #[test]
    fn a_month_s_rows_and_its_total() {
        let compliance = |met, breached, pending| Compliance {
            met,
            breached,
            pending,
            minutes: vec![10; (met + breached) as usize],
        };
        let votes = |closings, positive, neutral, negative| Votes {
            closings,
            positive,
            neutral,
            negative,
        };
        let report = Report {
            period: Period {
                from: day(2026, 3, 1),
                to: day(2026, 3, 31),
            },
            total: 5,
            by_channel: BTreeMap::new(),
            by_level: BTreeMap::new(),
            by_group: BTreeMap::from([("email/1".into(), 4), ("phone/1".into(), 1)]),
            by_kind: BTreeMap::new(),
            by_outcome: BTreeMap::new(),
            by_category: BTreeMap::from([("Mario Rossi".into(), 5)]),
            take_in: BTreeMap::from([
                ("email/1".into(), compliance(3, 1, 0)),
                ("email/2".into(), compliance(1, 0, 0)),
                ("phone/1".into(), compliance(0, 0, 1)),
            ]),
            resolution: BTreeMap::from([("email/1".into(), compliance(2, 1, 1))]),
            technicians: BTreeMap::new(),
            names: BTreeMap::from([("op@example.org".into(), "Giulia Bianchi".into())]),
            reopen_rate: None,
            out_of_scope_rate: None,
            suspension_days_used: 0,
            per_day: BTreeMap::new(),
            deemed: Vec::new(),
            topics: vec![("rossi".into(), 2)],
            breaches: Vec::new(),
            incidents: 0,
            incident_tickets: 0,
            satisfaction: Satisfaction {
                by_group: BTreeMap::from([
                    ("email/1".into(), votes(3, 1, 0, 1)),
                    ("email/2".into(), votes(1, 1, 0, 0)),
                ]),
                ..Satisfaction::default()
            },
        };
        let csv = render_csv(&[report]);
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(
            lines,
            [
                HEADER,
                "2026-03;e-mail;1;4;3;1;0;75,0;2;1;1;66,7;3;2;66,7;1;0;1;50,0;0,0;50,0",
                "2026-03;e-mail;2;0;1;0;0;100,0;0;0;0;;1;1;100,0;1;0;0;100,0;0,0;0,0",
                "2026-03;telefono;1;1;0;0;1;;0;0;0;;0;0;;0;0;0;;;",
                // TP: 4 met, 1 breached, 1 pending; TR as e-mail/1's; 4 closings, 3 votes: 2 positive, 1 negative.
                "2026-03;tutti;tutti;5;4;1;1;80,0;2;1;1;66,7;4;3;75,0;2;0;1;66,7;0,0;33,3",
            ]
        );
        assert!(!csv.contains("Rossi") && !csv.contains("Giulia") && !csv.contains("rossi"));
    }
}
