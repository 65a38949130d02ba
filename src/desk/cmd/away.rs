//! `#assente DATE` / `#assente no` in a new mail: the operator is away until that day (their
//! reopened tickets go to the queue meanwhile), or back.

use chrono::NaiveDate;

use crate::commands::Done;
use crate::config::Operator;
use crate::desk::effect::Effect;
use crate::model::EventAction;

/// What the absence changes, and the line confirming it to the operator.
pub fn apply(operator: &Operator, until: Option<NaiveDate>) -> (Vec<Effect>, Done) {
    let effects = vec![
        Effect::SetAway {
            operator: operator.email.clone(),
            until,
        },
        Effect::Event {
            actor: operator.email.clone(),
            action: EventAction::Away,
            detail: until.map_or_else(|| "back".to_string(), |d| d.to_string()),
            about: None,
        },
    ];
    (effects, Done::Away { until })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::testing::operator;
    use crate::model::Level;

    #[test]
    fn an_absence_is_recorded_and_confirmed() {
        let giulia = operator("Giulia Bianchi", "giulia@comune.example.it", Level::First);
        let day = NaiveDate::from_ymd_opt(2026, 12, 4);
        let (effects, done) = apply(&giulia, day);
        assert_eq!(
            effects[0],
            Effect::SetAway {
                operator: "giulia@comune.example.it".into(),
                until: day
            }
        );
        assert_eq!(done, Done::Away { until: day });
        let (effects, done) = apply(&giulia, None);
        assert!(matches!(&effects[1], Effect::Event { detail, .. } if detail == "back"));
        assert_eq!(done, Done::Away { until: None });
    }
}
