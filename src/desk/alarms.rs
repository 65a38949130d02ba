//! Alarms that reach a person: when a trouble of the service itself — the mailbox unreachable
//! or refusing the login, the outbox unable to deliver, no mail at all — has lasted long
//! enough in service time to call the supervisors, and when it is over.
//!
//! One incident, one mail when it is raised and one when it ends. An incident is the trouble
//! as it began at one instant (`failing_since`): a trouble that clears and comes back is a new
//! incident (the first one ends); silence is measured from the last mail that arrived, so a
//! new mail ends it. Service time is the calendar's (windows, holidays, suspensions): a
//! mailbox down all night calls nobody until the office has been open `threshold` minutes
//! with it still down. A threshold of 0 calls at the first sign during service hours; for
//! silence it means never.

use chrono::{DateTime, Utc};

use super::effect::{Alarm, Effect, ServiceTrouble};
use crate::sla::Calendar;

/// What is known of one watched trouble at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// What is watched.
    pub trouble: ServiceTrouble,
    /// When the incident already raised began, if one is.
    pub raised: Option<DateTime<Utc>>,
    /// Since when the trouble lasts without a break (silence: the last mail, or the start of
    /// the daemon when none ever came); `None` while all is well.
    pub failing_since: Option<DateTime<Utc>>,
    /// How long, in seconds of service time, before it calls someone.
    pub threshold_seconds: i64,
    /// What the daemon last saw of it, for the mail.
    pub detail: String,
}

/// The decision about one watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// The incident raised after this decision (what to remember for the next one).
    pub raised: Option<DateTime<Utc>>,
    /// The alarm to send, if any: raised, or ended.
    pub effects: Vec<Effect>,
}

/// Whether `watch`'s trouble has lasted long enough, at `now`, to call the supervisors.
fn calls(watch: &Watch, since: DateTime<Utc>, now: DateTime<Utc>, calendar: &Calendar) -> bool {
    match (watch.trouble, watch.threshold_seconds) {
        (ServiceTrouble::Silence, t) if t <= 0 => false,
        (_, t) if t <= 0 => calendar.is_open_at(now),
        (_, t) => since <= now && calendar.elapsed_business(since, now) >= t,
    }
}

/// Raises an incident that has lasted long enough, ends one that is over, and otherwise
/// leaves things as they are.
pub fn judge(watch: &Watch, now: DateTime<Utc>, calendar: &Calendar) -> Judged {
    let alarm = |ended: bool, since: DateTime<Utc>| {
        Effect::AlertSupervisors(Alarm::Service {
            trouble: watch.trouble,
            ended,
            since,
            detail: watch.detail.clone(),
        })
    };
    match (watch.raised, watch.failing_since) {
        // The same incident goes on: it was told once.
        (Some(raised), Some(since)) if raised == since => Judged {
            raised: Some(raised),
            effects: Vec::new(),
        },
        // Over (or replaced by a new trouble, which is judged on its own next time).
        (Some(raised), _) => Judged {
            raised: None,
            effects: vec![alarm(true, raised)],
        },
        (None, Some(since)) if calls(watch, since, now, calendar) => Judged {
            raised: Some(since),
            effects: vec![alarm(false, since)],
        },
        (None, _) => Judged {
            raised: None,
            effects: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::CalendarRules;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("time").with_timezone(&Utc)
    }

    fn calendar() -> Calendar {
        Calendar::new(CalendarRules::default(), Vec::new())
    }

    fn watch(trouble: ServiceTrouble, raised: Option<&str>, since: Option<&str>, minutes: i64) -> Watch {
        Watch {
            trouble,
            raised: raised.map(at),
            failing_since: since.map(at),
            threshold_seconds: minutes * 60,
            detail: "IMAP server imap.example.it:993 ([mailbox]): connection refused".into(),
        }
    }

    fn raised_since(judged: &Judged) -> Option<(bool, DateTime<Utc>)> {
        match judged.effects.as_slice() {
            [Effect::AlertSupervisors(Alarm::Service { ended, since, .. })] => Some((*ended, *since)),
            [] => None,
            other => panic!("one alarm at most: {other:?}"),
        }
    }

    #[test]
    fn a_mailbox_down_for_fifteen_service_minutes_is_raised_once_and_ended_once() {
        let cal = calendar();
        // Tuesday 1 December 2026, 10:00 in Rome (09:00 UTC): down since 09:50 Rome.
        let down = watch(ServiceTrouble::Mailbox, None, Some("2026-12-01T08:50:00Z"), 15);
        let early = judge(&down, at("2026-12-01T09:04:59Z"), &cal);
        assert_eq!(
            (early.raised, raised_since(&early)),
            (None, None),
            "14 min 59 s: not yet"
        );
        let raised = judge(&down, at("2026-12-01T09:05:00Z"), &cal);
        let since = at("2026-12-01T08:50:00Z");
        assert_eq!(raised.raised, Some(since));
        assert_eq!(raised_since(&raised), Some((false, since)));
        let still = Watch {
            raised: raised.raised,
            ..down.clone()
        };
        assert_eq!(judge(&still, at("2026-12-01T11:00:00Z"), &cal).effects, [], "told once");
        let back = Watch {
            failing_since: None,
            ..still
        };
        let ended = judge(&back, at("2026-12-01T11:01:00Z"), &cal);
        assert_eq!(ended.raised, None);
        assert_eq!(raised_since(&ended), Some((true, since)));
        assert_eq!(
            judge(&Watch { raised: None, ..back }, at("2026-12-01T11:02:00Z"), &cal).effects,
            []
        );
    }

    #[test]
    fn only_service_time_counts() {
        let cal = calendar();
        // Down from Friday 16:55 Rome: 5 service minutes on Friday, the weekend is closed,
        // Monday opens at 08:00: 10 more minutes make 15 at 08:10.
        let down = watch(ServiceTrouble::Mailbox, None, Some("2026-12-04T15:55:00Z"), 15);
        assert_eq!(judge(&down, at("2026-12-06T12:00:00Z"), &cal).effects, [], "Sunday");
        assert_eq!(
            judge(&down, at("2026-12-07T07:09:00Z"), &cal).effects,
            [],
            "Monday 08:09"
        );
        assert!(
            raised_since(&judge(&down, at("2026-12-07T07:10:00Z"), &cal)).is_some(),
            "Monday 08:10"
        );
        // Threshold 0: at the first sign, but only while the office is open.
        let at_once = watch(ServiceTrouble::Outbox, None, Some("2026-12-05T10:00:00Z"), 0);
        assert_eq!(
            judge(&at_once, at("2026-12-05T10:00:00Z"), &cal).effects,
            [],
            "Saturday"
        );
        assert!(raised_since(&judge(&at_once, at("2026-12-07T08:00:00Z"), &cal)).is_some());
    }

    #[test]
    fn silence_ends_with_the_next_mail_and_a_flapping_trouble_is_a_new_incident() {
        let cal = calendar();
        let last_mail = "2026-12-01T08:00:00Z";
        let silent = watch(ServiceTrouble::Silence, None, Some(last_mail), 8 * 60);
        assert_eq!(
            judge(&silent, at("2026-12-01T15:59:00Z"), &cal).effects,
            [],
            "Tuesday, 7 service hours"
        );
        let raised = judge(&silent, at("2026-12-02T09:00:00Z"), &cal);
        assert_eq!(raised_since(&raised), Some((false, at(last_mail))));
        let new_mail = Watch {
            raised: raised.raised,
            failing_since: Some(at("2026-12-02T09:30:00Z")),
            ..silent.clone()
        };
        let ended = judge(&new_mail, at("2026-12-02T09:30:05Z"), &cal);
        assert_eq!(raised_since(&ended), Some((true, at(last_mail))));
        // silence_hours = 0: never.
        let off = Watch {
            threshold_seconds: 0,
            ..silent
        };
        assert_eq!(judge(&off, at("2026-12-09T09:00:00Z"), &cal).effects, []);
        // The mailbox came back and failed again: the first incident ends, the second is
        // judged on its own time.
        let again = watch(
            ServiceTrouble::Mailbox,
            Some("2026-12-01T08:00:00Z"),
            Some("2026-12-01T10:00:00Z"),
            15,
        );
        let judged = judge(&again, at("2026-12-01T10:00:30Z"), &cal);
        assert_eq!(raised_since(&judged), Some((true, at("2026-12-01T08:00:00Z"))));
        assert_eq!(judged.raised, None);
    }
}
