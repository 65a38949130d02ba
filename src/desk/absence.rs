//! Absences (issue 15, item 2): who is away on a day and who stands in, what recording and
//! ending an absence does, and the hand-over when one begins.
//!
//! An absence runs from its first to its last day, both included, in the help desk's time
//! zone. While it runs the operator is *away* in the roster of the day ([`roster_on`]): every
//! rule that picks a recipient (new requests, escalations, reopenings, SLA warnings, notices
//! about their tickets) skips them and turns to their deputy, else to the queue. When it
//! begins, their open tickets go to the deputy (the requester is told the new name), or stay
//! with them when there is no deputy present. Every change is confirmed to the operator.
//!
//! Pure: the absences and tickets are read by the caller, the effects written by
//! `workflow::apply`.

use chrono::{DateTime, NaiveDate, Utc};

use super::effect::{Effect, Letter};
use crate::commands::{AbsenceSpec, Done, Problem};
use crate::config::Operator;
pub use crate::model::Absence;
use crate::model::{EventAction, NoticeKind, TicketId};

/// The roster as it stands on `day`: an operator covered by an absence is away, with the
/// absence's deputy (the configuration's `away` and `deputy` hold otherwise).
pub fn roster_on(configured: &[Operator], absences: &[Absence], day: NaiveDate) -> Vec<Operator> {
    configured
        .iter()
        .map(|op| {
            let running = absences
                .iter()
                .find(|a| a.operator.eq_ignore_ascii_case(&op.email) && a.covers(day));
            match running {
                Some(absence) => Operator {
                    away: true,
                    deputy: absence.deputy.clone().or_else(|| op.deputy.clone()),
                    ..op.clone()
                },
                None => op.clone(),
            }
        })
        .collect()
}

/// Records the absence `spec` of `operator` (a new one replaces the one recorded): refused when
/// it ends before today or before it starts, or names as deputy someone who is not another
/// operator.
pub fn record(
    operator: &Operator,
    spec: &AbsenceSpec,
    roster: &[Operator],
    today: NaiveDate,
) -> Result<(Vec<Effect>, Done), Problem> {
    let from = spec.from.unwrap_or(today);
    if spec.until < from || spec.until < today {
        return Err(Problem::BadAbsence {
            from,
            until: spec.until,
        });
    }
    let deputy = match spec.deputy.as_deref() {
        None => None,
        Some(wanted) => match super::cmd::operator_named(roster, wanted) {
            Some(d) if d.email.eq_ignore_ascii_case(&operator.email) => return Err(Problem::OwnDeputy),
            Some(d) => Some(d),
            None => {
                return Err(Problem::NoSuchOperator {
                    name: wanted.to_string(),
                    known: roster.iter().map(|o| o.name.clone()).collect(),
                });
            }
        },
    };
    let detail = match deputy {
        Some(d) => format!("{from}..{}; deputy {}", spec.until, d.email),
        None => format!("{from}..{}", spec.until),
    };
    let effects = vec![
        Effect::RecordAbsence {
            operator: operator.email.clone(),
            from,
            until: spec.until,
            deputy: deputy.map(|d| d.email.clone()),
        },
        Effect::Event {
            actor: operator.email.clone(),
            action: EventAction::Away,
            detail,
            about: None,
        },
    ];
    let done = Done::Away {
        from,
        until: spec.until,
        deputy: deputy.map(|d| d.name.clone()),
    };
    Ok((effects, done))
}

/// `#presente`: the recorded absence ends now (or there was none, and nothing changes).
pub fn back(operator: &Operator, recorded: Option<&Absence>) -> (Vec<Effect>, Done) {
    let Some(absence) = recorded else {
        return (Vec::new(), Done::Back { was_away: false });
    };
    let effects = vec![
        Effect::EndAbsence {
            operator: operator.email.clone(),
        },
        Effect::Event {
            actor: operator.email.clone(),
            action: EventAction::Away,
            detail: format!("back (absence {}..{} ended early)", absence.from, absence.until),
            about: None,
        },
    ];
    (effects, Done::Back { was_away: true })
}

/// What the day brings: absences to begin (their first day has come and they have not begun)
/// and absences that are over (their last day has passed).
pub fn due_on(absences: &[Absence], today: NaiveDate) -> (Vec<&Absence>, Vec<&Absence>) {
    let over = absences.iter().filter(|a| a.until < today).collect();
    let beginning = absences.iter().filter(|a| !a.began && a.covers(today)).collect();
    (beginning, over)
}

/// One open ticket the absent operator holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldTicket {
    /// Its id.
    pub id: TicketId,
    /// When its resolution is due (the letter to the requester repeats it), once known.
    pub resolution_due: Option<DateTime<Utc>>,
    /// Whether the requester has an address (a phone request without one gets no letter).
    pub has_requester_email: bool,
}

/// What beginning an absence does.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Beginning {
    /// Effects on each ticket handed to the deputy.
    pub per_ticket: Vec<(TicketId, Vec<Effect>)>,
    /// Effects concerning no single ticket: the absence marked begun, the operator told.
    pub effects: Vec<Effect>,
}

/// The absence of `absent` begins: with a deputy present on `roster_today`, each open ticket is
/// handed to them — the requester is told the new technician's name (same deadline, no new
/// take-in) and the deputy gets the ticket with the reason; without one, the tickets stay and
/// the supervisors see them in their digest. Either way the absent operator is told.
pub fn begin(absence: &Absence, absent: &Operator, roster_today: &[Operator], held: &[HeldTicket]) -> Beginning {
    let deputy = absence
        .deputy
        .as_deref()
        .and_then(|d| super::roster::by_address(roster_today, d))
        .filter(|d| !d.away);
    let mut out = Beginning::default();
    if let Some(deputy) = deputy {
        for ticket in held {
            let mut effects = vec![
                Effect::Assign {
                    technician: deputy.email.clone(),
                    by: absent.email.clone(),
                },
                Effect::Event {
                    actor: "system".into(),
                    action: EventAction::Assigned,
                    detail: format!("{} away until {}: handed to the deputy", absent.email, absence.until),
                    about: Some(deputy.email.clone()),
                },
            ];
            if let (Some(due), true) = (ticket.resolution_due, ticket.has_requester_email) {
                effects.push(Effect::Letter {
                    letter: Letter::TakeIn {
                        technician: deputy.name.clone(),
                        resolution_due: due,
                    },
                    stamp: None,
                });
            }
            effects.push(Effect::NotifyOperators {
                to: vec![deputy.email.clone()],
                kind: NoticeKind::Assigned,
                reason: format!(
                    "sostituisci {}, assente fino al {}",
                    absent.name,
                    absence.until.format("%d/%m/%Y")
                ),
                text: String::new(),
                screening: true,
                note: String::new(),
            });
            out.per_ticket.push((ticket.id, effects));
        }
    }
    let ids: Vec<TicketId> = held.iter().map(|t| t.id).collect();
    let (handed_over, kept) = if deputy.is_some() {
        (ids, Vec::new())
    } else {
        (Vec::new(), ids)
    };
    out.effects.push(Effect::AbsenceBegan {
        operator: absent.email.clone(),
    });
    out.effects.push(Effect::TellOperator {
        to: absent.email.clone(),
        done: Done::AbsenceBegan {
            until: absence.until,
            deputy: deputy.map(|d| d.name.clone()),
            handed_over,
            kept,
        },
    });
    out
}

/// The absence is over: the record goes, and the operator is told they receive work again.
pub fn ended(absence: &Absence) -> Vec<Effect> {
    vec![
        Effect::EndAbsence {
            operator: absence.operator.clone(),
        },
        Effect::TellOperator {
            to: absence.operator.clone(),
            done: Done::AbsenceEnded { until: absence.until },
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::roster;
    use crate::desk::testing::operator;
    use crate::model::Level;

    const GIULIA: &str = "giulia@comune.example.it";
    const MARCO: &str = "marco@comune.example.it";

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).expect("a day")
    }

    fn staff() -> Vec<Operator> {
        vec![
            operator("Giulia Bianchi", GIULIA, Level::First),
            operator("Marco Rossi", MARCO, Level::First),
            operator("Luca Verdi", "luca@comune.example.it", Level::Second),
        ]
    }

    fn absence(from: u32, until: u32, deputy: Option<&str>) -> Absence {
        Absence {
            operator: GIULIA.into(),
            from: day(from),
            until: day(until),
            deputy: deputy.map(str::to_string),
            began: false,
        }
    }

    #[test]
    fn an_absence_covers_its_days_both_included_and_makes_the_operator_away_on_them() {
        let a = absence(4, 8, Some(MARCO));
        assert!(!a.covers(day(3)) && a.covers(day(4)) && a.covers(day(8)) && !a.covers(day(9)));
        let before = roster_on(&staff(), std::slice::from_ref(&a), day(3));
        assert!(!before[0].away, "not yet");
        let during = roster_on(&staff(), std::slice::from_ref(&a), day(4));
        assert!(during[0].away);
        assert_eq!(during[0].deputy.as_deref(), Some(MARCO));
        assert!(!during[1].away, "only the absent operator");
        assert_eq!(
            roster::addresses(&roster::first_level(&during)),
            [MARCO],
            "new requests skip her"
        );
    }

    #[test]
    fn recording_an_absence_is_confirmed_and_checks_its_days_and_deputy() {
        let staff = staff();
        let giulia = &staff[0];
        let spec = |from: Option<u32>, until: u32, deputy: Option<&str>| AbsenceSpec {
            from: from.map(day),
            until: day(until),
            deputy: deputy.map(str::to_string),
        };
        let (effects, done) = record(giulia, &spec(Some(4), 8, Some("marco rossi")), &staff, day(1)).expect("ok");
        assert_eq!(
            effects[0],
            Effect::RecordAbsence {
                operator: GIULIA.into(),
                from: day(4),
                until: day(8),
                deputy: Some(MARCO.into())
            }
        );
        assert_eq!(
            done,
            Done::Away {
                from: day(4),
                until: day(8),
                deputy: Some("Marco Rossi".into())
            }
        );
        // The one-date form: from today.
        let (effects, _) = record(giulia, &spec(None, 4, None), &staff, day(1)).expect("ok");
        assert!(matches!(&effects[0], Effect::RecordAbsence { from, deputy: None, .. } if *from == day(1)));
        assert_eq!(
            record(giulia, &spec(None, 4, None), &staff, day(5)),
            Err(Problem::BadAbsence {
                from: day(5),
                until: day(4)
            }),
            "an absence already over"
        );
        assert_eq!(
            record(giulia, &spec(Some(4), 8, Some(GIULIA)), &staff, day(1)),
            Err(Problem::OwnDeputy)
        );
        assert!(matches!(
            record(giulia, &spec(Some(4), 8, Some("Anna Neri")), &staff, day(1)),
            Err(Problem::NoSuchOperator { .. })
        ));
    }

    #[test]
    fn coming_back_ends_the_absence_and_without_one_changes_nothing() {
        let staff = staff();
        let a = absence(4, 8, None);
        let (effects, done) = back(&staff[0], Some(&a));
        assert_eq!(
            effects[0],
            Effect::EndAbsence {
                operator: GIULIA.into()
            }
        );
        assert_eq!(done, Done::Back { was_away: true });
        assert_eq!(back(&staff[0], None), (Vec::new(), Done::Back { was_away: false }));
    }

    #[test]
    fn the_day_says_which_absences_begin_and_which_are_over() {
        let future = absence(4, 8, None);
        let begun = Absence {
            began: true,
            ..absence(1, 3, None)
        };
        let all = [future.clone(), begun.clone()];
        let (beginning, over) = due_on(&all, day(3));
        assert!(beginning.is_empty() && over.is_empty());
        let (beginning, over) = due_on(&all, day(4));
        assert_eq!(beginning, [&future]);
        assert_eq!(over, [&begun]);
        // A daemon down on the first day still begins it on a later one.
        let (beginning, _) = due_on(&all, day(6));
        assert_eq!(beginning, [&future]);
    }

    #[test]
    fn an_absence_hands_the_open_tickets_to_the_deputy_who_tells_the_requester_the_name() {
        let staff = staff();
        let a = absence(4, 8, Some(MARCO));
        let today = roster_on(&staff, std::slice::from_ref(&a), day(4));
        let due = Utc::now();
        let held = [
            HeldTicket {
                id: TicketId { year: 2026, number: 1 },
                resolution_due: Some(due),
                has_requester_email: true,
            },
            HeldTicket {
                id: TicketId { year: 2026, number: 2 },
                resolution_due: None,
                has_requester_email: false,
            },
        ];
        let out = begin(&a, &staff[0], &today, &held);
        assert_eq!(out.per_ticket.len(), 2);
        let (_, first) = &out.per_ticket[0];
        assert_eq!(
            first[0],
            Effect::Assign {
                technician: MARCO.into(),
                by: GIULIA.into()
            }
        );
        assert!(first.contains(&Effect::Letter {
            letter: Letter::TakeIn {
                technician: "Marco Rossi".into(),
                resolution_due: due
            },
            stamp: None
        }));
        assert!(
            first
                .iter()
                .any(|e| matches!(e, Effect::NotifyOperators { to, reason, .. }
                if to == &[MARCO.to_string()] && reason.contains("assente fino al 08/12/2026"))),
            "{first:?}"
        );
        let (_, phone) = &out.per_ticket[1];
        assert!(
            !phone.iter().any(|e| matches!(e, Effect::Letter { .. })),
            "no letter without an address"
        );
        assert!(out.effects.contains(&Effect::TellOperator {
            to: GIULIA.into(),
            done: Done::AbsenceBegan {
                until: day(8),
                deputy: Some("Marco Rossi".into()),
                handed_over: vec![held[0].id, held[1].id],
                kept: Vec::new(),
            }
        }));
    }

    #[test]
    fn without_a_deputy_present_the_tickets_stay_and_the_operator_is_told() {
        let staff = staff();
        let a = absence(4, 8, Some(MARCO));
        let marco_away_too = Absence {
            operator: MARCO.into(),
            ..absence(1, 31, None)
        };
        let today = roster_on(&staff, &[a.clone(), marco_away_too], day(4));
        let held = [HeldTicket {
            id: TicketId { year: 2026, number: 1 },
            resolution_due: None,
            has_requester_email: true,
        }];
        let out = begin(&a, &staff[0], &today, &held);
        assert!(out.per_ticket.is_empty());
        assert!(out.effects.contains(&Effect::TellOperator {
            to: GIULIA.into(),
            done: Done::AbsenceBegan {
                until: day(8),
                deputy: None,
                handed_over: Vec::new(),
                kept: vec![held[0].id],
            }
        }));
        assert_eq!(
            ended(&a)[1],
            Effect::TellOperator {
                to: GIULIA.into(),
                done: Done::AbsenceEnded { until: day(8) }
            }
        );
    }
}
