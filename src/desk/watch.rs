//! The SLA watch: when a running clock of the contract passes the warning share of its budget
//! or its deadline, who is told, once.
//!
//! A warning goes to whoever must act (first level before the take-in, the assignee after
//! it); a breach goes to the supervisors. Each alert of a cycle is sent once: the caller loads
//! the ones already sent, and the decision marks the new one.

use chrono::{DateTime, Utc};

use super::effect::Effect;
use super::roster;
use crate::config::{Language, Operator};
use crate::model::{EventAction, NoticeKind};
use crate::sla::standing::{Phase, State};

/// One open ticket's running clock, as the rule needs it.
#[derive(Debug, Clone, Copy)]
pub struct Clock<'a> {
    /// Which clock runs.
    pub phase: Phase,
    /// Where it stands.
    pub state: State,
    /// Its deadline.
    pub due: DateTime<Utc>,
    /// Business seconds left (negative once past the deadline).
    pub left_seconds: i64,
    /// Who holds the ticket.
    pub assignee: Option<&'a str>,
}

/// What surrounds the rule.
#[derive(Clone, Copy)]
pub struct Setting<'a> {
    /// Every operator.
    pub roster: &'a [Operator],
    /// The language of the alerts.
    pub language: Language,
    /// How an instant is written to operators.
    pub local_time: &'a dyn Fn(DateTime<Utc>) -> String,
}

/// The alert a clock calls for now, if any.
pub fn alert_due(clock: &Clock<'_>) -> Option<EventAction> {
    match (clock.phase, clock.state) {
        (_, State::Ok) => None,
        (Phase::TakeIn, State::AtRisk) => Some(EventAction::TakeInWarning),
        (Phase::TakeIn, State::Breached) => Some(EventAction::TakeInBreach),
        (Phase::Resolution, State::AtRisk) => Some(EventAction::ResolutionWarning),
        (Phase::Resolution, State::Breached) => Some(EventAction::ResolutionBreach),
    }
}

/// The effects of one clock's alert: none when it needs none or it was sent already.
pub fn alerts(clock: &Clock<'_>, already_sent: &[EventAction], setting: &Setting<'_>) -> Vec<Effect> {
    let Some(alert) = alert_due(clock).filter(|a| !already_sent.contains(a)) else {
        return Vec::new();
    };
    let breached = clock.state == State::Breached;
    let to = match (breached, clock.phase) {
        (true, _) => roster::supervisors(setting.roster),
        (false, Phase::TakeIn) => roster::first_level(setting.roster),
        (false, Phase::Resolution) => roster::assignee_or_first_level(setting.roster, clock.assignee),
    };
    let minutes = clock.left_seconds.abs() / 60;
    let reason = reason(
        setting.language,
        clock.phase,
        breached,
        &(setting.local_time)(clock.due),
        minutes,
    );
    vec![
        Effect::MarkAlert(alert),
        Effect::NotifyOperators {
            to: roster::addresses(&to),
            kind: if breached {
                NoticeKind::Breach
            } else {
                NoticeKind::SlaWarning
            },
            reason: reason.clone(),
            text: String::new(),
            screening: false,
            note: String::new(),
        },
        Effect::Event {
            actor: "system".into(),
            action: alert,
            detail: reason,
            about: None,
        },
    ]
}

/// The one-line reason of an alert, in the help desk's language.
fn reason(language: Language, phase: Phase, breached: bool, when: &str, minutes: i64) -> String {
    let span = business_span(language, minutes);
    match (language, phase, breached) {
        (Language::It, Phase::TakeIn, false) => format!("presa in carico entro {when} (mancano {span})"),
        (Language::It, Phase::TakeIn, true) => format!("presa in carico scaduta {when} ({span} fa)"),
        (Language::It, Phase::Resolution, false) => format!("risoluzione entro {when} (mancano {span})"),
        (Language::It, Phase::Resolution, true) => format!("risoluzione scaduta {when} ({span} fa)"),
        (Language::En, Phase::TakeIn, false) => format!("take in by {when} ({span} left)"),
        (Language::En, Phase::TakeIn, true) => format!("take-in was due {when} ({span} ago)"),
        (Language::En, Phase::Resolution, false) => format!("resolve by {when} ({span} left)"),
        (Language::En, Phase::Resolution, true) => format!("resolution was due {when} ({span} ago)"),
    }
}

/// Business minutes in words a person reads at a glance: "40 min", "3 h 05 min",
/// "1126 h" (issue 21: "67575 min lavorativi fa" said nothing).
pub fn business_span(language: Language, minutes: i64) -> String {
    let business = match language {
        Language::It => "lavorativi",
        Language::En => "business",
    };
    let (hours, rest) = (minutes / 60, minutes % 60);
    match (hours, rest) {
        (0, m) => format!("{m} min {business}"),
        (h, 0) => format!("{h} h {business}"),
        (h, m) if h < 10 => format!("{h} h {m:02} min {business}"),
        (h, _) => format!("{h} h {business}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::testing::{operator, rome};
    use crate::model::Level;

    const GIULIA: &str = "giulia.bianchi@comune.example.it";
    const MARCO: &str = "marco.rossi@comune.example.it";
    const ANNA: &str = "anna.neri@comune.example.it";

    fn roster() -> Vec<Operator> {
        let mut anna = operator("Anna Neri", ANNA, Level::First);
        anna.supervisor = true;
        vec![
            operator("Giulia Bianchi", GIULIA, Level::First),
            operator("Marco Rossi", MARCO, Level::First),
            anna,
        ]
    }

    fn clock(phase: Phase, state: State, left_minutes: i64) -> Clock<'static> {
        Clock {
            phase,
            state,
            due: rome(9, 9, 45),
            left_seconds: left_minutes * 60,
            assignee: Some(MARCO),
        }
    }

    fn decide(clock: &Clock<'_>, sent: &[EventAction]) -> Vec<Effect> {
        let roster = roster();
        let local = |t: DateTime<Utc>| t.format("%H:%M UTC").to_string();
        alerts(
            clock,
            sent,
            &Setting {
                roster: &roster,
                language: Language::It,
                local_time: &local,
            },
        )
    }

    fn told(effects: &[Effect]) -> Option<(Vec<String>, NoticeKind, String)> {
        effects.iter().find_map(|e| match e {
            Effect::NotifyOperators { to, kind, reason, .. } => Some((to.clone(), *kind, reason.clone())),
            _ => None,
        })
    }

    #[test]
    fn who_hears_of_each_clock() {
        // (phase, state, alert marked, who is told)
        let table: &[(Phase, State, Option<EventAction>, &[&str])] = &[
            (Phase::TakeIn, State::Ok, None, &[]),
            (Phase::Resolution, State::Ok, None, &[]),
            (
                Phase::TakeIn,
                State::AtRisk,
                Some(EventAction::TakeInWarning),
                &[GIULIA, MARCO, ANNA],
            ),
            (
                Phase::Resolution,
                State::AtRisk,
                Some(EventAction::ResolutionWarning),
                &[MARCO],
            ),
            (Phase::TakeIn, State::Breached, Some(EventAction::TakeInBreach), &[ANNA]),
            (
                Phase::Resolution,
                State::Breached,
                Some(EventAction::ResolutionBreach),
                &[ANNA],
            ),
        ];
        for (phase, state, alert, to) in table {
            let effects = decide(&clock(*phase, *state, 10), &[]);
            assert_eq!(
                effects.first().and_then(|e| match e {
                    Effect::MarkAlert(a) => Some(*a),
                    _ => None,
                }),
                *alert,
                "{phase:?} {state:?}"
            );
            let expected: Vec<String> = to.iter().map(|a| a.to_string()).collect();
            assert_eq!(
                told(&effects).map(|t| t.0).unwrap_or_default(),
                expected,
                "{phase:?} {state:?}"
            );
        }
    }

    #[test]
    fn an_alert_is_sent_once_and_a_warning_does_not_stop_the_breach() {
        let at_risk = clock(Phase::TakeIn, State::AtRisk, 10);
        assert!(decide(&at_risk, &[EventAction::TakeInWarning]).is_empty());
        let breached = clock(Phase::TakeIn, State::Breached, -25);
        let effects = decide(&breached, &[EventAction::TakeInWarning]);
        let (_, kind, reason) = told(&effects).expect("told");
        assert_eq!(kind, NoticeKind::Breach);
        assert_eq!(reason, "presa in carico scaduta 08:45 UTC (25 min lavorativi fa)");
        assert!(decide(&breached, &[EventAction::TakeInWarning, EventAction::TakeInBreach]).is_empty());
    }

    #[test]
    fn spans_read_in_hours_and_minutes() {
        assert_eq!(business_span(Language::It, 25), "25 min lavorativi");
        assert_eq!(business_span(Language::It, 185), "3 h 05 min lavorativi");
        assert_eq!(business_span(Language::It, 120), "2 h lavorativi");
        assert_eq!(business_span(Language::It, 67575), "1126 h lavorativi");
        assert_eq!(business_span(Language::En, 90), "1 h 30 min business");
    }
}
