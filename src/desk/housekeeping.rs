//! The night's housekeeping: resolved tickets idle long enough are archived, and outgoing mail
//! that keeps failing is reported to the supervisors once.

use super::effect::{Alarm, Effect};
use crate::model::EventAction;

/// A resolved ticket idle for `days` days is archived, with its event.
pub fn archived(days: u32) -> Vec<Effect> {
    vec![
        Effect::Archive,
        Effect::Event {
            actor: "system".into(),
            action: EventAction::Archived,
            detail: format!("resolved and idle for {days} days"),
            about: None,
        },
    ]
}

/// One outgoing mail that keeps failing.
#[derive(Debug, Clone, Copy)]
pub struct StuckMail<'a> {
    /// The outbox row.
    pub outbox_id: i64,
    /// Who it is for.
    pub recipients: &'a str,
    /// How many attempts failed.
    pub attempts: u32,
    /// The last error.
    pub error: &'a str,
}

/// The supervisors hear of a stuck mail once; it stays queued and is retried.
pub fn stuck(mail: &StuckMail<'_>) -> Vec<Effect> {
    vec![
        Effect::AlertSupervisors(Alarm::Stuck {
            recipients: mail.recipients.to_string(),
            attempts: mail.attempts,
            error: mail.error.to_string(),
        }),
        Effect::StuckMailReported {
            outbox_id: mail.outbox_id,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_ticket_is_archived_with_its_reason() {
        assert_eq!(
            archived(30),
            vec![
                Effect::Archive,
                Effect::Event {
                    actor: "system".into(),
                    action: EventAction::Archived,
                    detail: "resolved and idle for 30 days".into(),
                    about: None,
                },
            ]
        );
    }

    #[test]
    fn a_stuck_mail_is_reported_and_marked_so_it_is_reported_once() {
        let effects = stuck(&StuckMail {
            outbox_id: 12,
            recipients: "mario.rossi@example.org",
            attempts: 8,
            error: "550 5.1.1 mailbox unavailable",
        });
        assert!(
            matches!(&effects[0], Effect::AlertSupervisors(Alarm::Stuck { attempts: 8, error, .. }) if error.starts_with("550"))
        );
        assert_eq!(effects[1], Effect::StuckMailReported { outbox_id: 12 });
    }
}
