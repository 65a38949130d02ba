//! A mail with an operator's From that fails authentication: no command is applied, the
//! supervisors get an alarm naming the From address and the verdict, and the operator — at the
//! address configured for them, never the From of the mail — is told what was checked and what
//! to ask the IT for. An attacker forging the From must not be able to flood the real operator:
//! at most [`OPERATOR_WARNINGS_PER_HOUR`] such letters an hour.

use super::effect::{Alarm, Effect};
use crate::config::Operator;
use crate::model::EventAction;

/// Letters to one operator about refused mail, per hour.
pub const OPERATOR_WARNINGS_PER_HOUR: u32 = 3;

/// The refused mail.
#[derive(Debug, Clone, Copy)]
pub struct RefusedMail<'a> {
    /// Its From address.
    pub from: &'a str,
    /// Its subject (one line).
    pub subject: &'a str,
    /// Its fresh text.
    pub text: &'a str,
    /// Why it failed.
    pub reason: &'a str,
}

/// What a refused operator mail does.
pub fn refused(operator: &Operator, mail: &RefusedMail<'_>, warnings_last_hour: u32) -> Vec<Effect> {
    let mut effects = vec![
        Effect::Event {
            actor: operator.email.clone(),
            action: EventAction::UnauthenticatedOperatorMail,
            detail: mail.reason.to_string(),
            about: None,
        },
        Effect::AlertSupervisors(Alarm::Unauthenticated {
            from: mail.from.to_string(),
            subject: mail.subject.to_string(),
            reason: mail.reason.to_string(),
            text: mail.text.chars().take(2000).collect(),
        }),
    ];
    if warnings_last_hour < OPERATOR_WARNINGS_PER_HOUR {
        effects.push(Effect::OperatorRefused {
            to: operator.email.clone(),
            subject: mail.subject.to_string(),
            reason: mail.reason.to_string(),
        });
    }
    effects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::testing::operator;
    use crate::model::Level;

    #[test]
    fn the_operator_is_told_at_their_own_address_and_not_flooded() {
        let giulia = operator("Giulia Bianchi", "giulia.bianchi@comune.example.it", Level::First);
        let mail = RefusedMail {
            from: "Giulia.Bianchi@comune.example.it",
            subject: "Re: [TCK-2026-00007] Firma",
            text: "#risolto\nfatto",
            reason: "mx.comune.example.it did not authenticate comune.example.it",
        };
        let effects = refused(&giulia, &mail, 0);
        assert!(
            matches!(&effects[1], Effect::AlertSupervisors(Alarm::Unauthenticated { from, reason, .. })
            if from == "Giulia.Bianchi@comune.example.it" && reason.contains("did not authenticate"))
        );
        assert_eq!(
            effects[2],
            Effect::OperatorRefused {
                to: "giulia.bianchi@comune.example.it".into(),
                subject: "Re: [TCK-2026-00007] Firma".into(),
                reason: "mx.comune.example.it did not authenticate comune.example.it".into(),
            }
        );
        let later = refused(&giulia, &mail, OPERATOR_WARNINGS_PER_HOUR);
        assert_eq!(later.len(), 2, "the supervisors still hear of every one: {later:?}");
        assert!(!later.iter().any(|e| matches!(e, Effect::OperatorRefused { .. })));
    }
}
