//! A new request, whichever channel brought it (e-mail, the portal's form, a phone call):
//! one rule for its SLA cycle, its first-level notice and its acknowledgment.

use chrono::{DateTime, Utc};

use super::effect::{CycleOpening, Effect};
use super::roster;
use crate::config::Operator;
use crate::model::{Channel, EventAction, Level, NoticeKind, TicketId};
use crate::sla::{Calendar, SlaBudgets, take_in_due};

/// What the rule knows of a request whose ticket was just opened.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    /// How it arrived: it sets the take-in budget.
    pub channel: Channel,
    /// When it arrived (the mailbox's delivery time for mail).
    pub received_at: DateTime<Utc>,
    /// What first level is shown.
    pub text: &'a str,
    /// Where the acknowledgment goes; none for a caller who left no address.
    pub requester_email: Option<&'a str>,
    /// Attachments dropped on the way in (named in the acknowledgment).
    pub dropped: &'a [String],
    /// Acknowledgments already queued for that address in the past hour (every channel).
    pub acks_last_hour: u32,
    /// Tickets this one may duplicate (the sender's open ones, or others' quoted in the text).
    pub possible_duplicates: &'a [TicketId],
    /// The trusted `Authentication-Results` header saying `dmarc=fail`, when it does: the From
    /// is most likely forged (see `auth::dmarc_failure`).
    pub dmarc_failure: Option<&'a str>,
}

/// What the first-level notice says of possible duplicates ("" when there are none).
fn duplicates_reason(tickets: &[TicketId]) -> String {
    match tickets {
        [] => String::new(),
        [one] => format!("possibile duplicato di {one}"),
        many => format!(
            "possibile duplicato di {}",
            many.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The service's settings the rule applies.
#[derive(Debug, Clone, Copy)]
pub struct Setting<'a> {
    /// The business calendar.
    pub calendar: &'a Calendar,
    /// The take-in budgets.
    pub sla: &'a SlaBudgets,
    /// Every operator (first level is notified).
    pub roster: &'a [Operator],
    /// At most this many acknowledgments to one address per hour: a robot, or someone posting
    /// the form with another person's address, cannot make the help desk mail-bomb anyone.
    pub ack_rate_per_hour: u32,
}

/// Opens the first SLA cycle (take-in within the channel's budget, counted from the next
/// business instant), notifies first level, and acknowledges the request unless the
/// requester left no address, the address already had its hourly share, or our MX found its
/// From failing DMARC: an acknowledgment to a forged From is backscatter, mail to someone who
/// never wrote, which is how help desks get blacklisted. The ticket opens all the same (a
/// real person behind a misconfigured domain still reaches first level), and an event says
/// why nobody was answered.
pub fn opened(request: &NewRequest<'_>, setting: &Setting<'_>) -> Vec<Effect> {
    let (effective_start, due) = take_in_due(setting.calendar, setting.sla, request.channel, request.received_at);
    let mut effects = vec![
        Effect::OpenCycle {
            number: 1,
            received_at: request.received_at,
            effective_start,
            take_in_due: due,
            take_in_at: None,
            resolution_due: None,
            level: Level::First,
            opening: CycleOpening::NewRequest,
        },
        Effect::NotifyOperators {
            to: roster::addresses(&roster::first_level(setting.roster)),
            kind: NoticeKind::New,
            reason: duplicates_reason(request.possible_duplicates),
            text: request.text.to_string(),
            screening: false,
            note: String::new(),
        },
    ];
    match request.requester_email {
        None => {}
        Some(_) if request.dmarc_failure.is_some() => effects.push(Effect::Event {
            actor: "system".into(),
            action: EventAction::AckSuppressed,
            detail: format!(
                "no acknowledgment: the sender failed DMARC, so the From is likely forged ({})",
                request.dmarc_failure.unwrap_or_default()
            ),
            about: None,
        }),
        Some(_) if request.acks_last_hour >= setting.ack_rate_per_hour => effects.push(Effect::Event {
            actor: "system".into(),
            action: EventAction::AckSuppressed,
            detail: "acknowledgment rate limit reached for this sender".into(),
            about: None,
        }),
        Some(_) => effects.push(Effect::Acknowledge {
            take_in_due: due,
            dropped: request.dropped.to_vec(),
        }),
    }
    effects
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::sla::CalendarRules;

    use crate::desk::testing::rome;

    fn operator(email: &str, level: Level) -> Operator {
        crate::desk::testing::operator(email, email, level)
    }

    fn decide(channel: Channel, received_at: DateTime<Utc>, email: Option<&str>, acks_last_hour: u32) -> Vec<Effect> {
        let calendar = Calendar::new(CalendarRules::default(), Vec::new());
        let sla = SlaBudgets::default();
        let roster = [
            operator("g@comune.example.it", Level::First),
            operator("l@comune.example.it", Level::Second),
            operator("m@comune.example.it", Level::First),
            Operator {
                away: true,
                ..operator("away@comune.example.it", Level::First)
            },
        ];
        let request = NewRequest {
            channel,
            received_at,
            text: "Il portale rifiuta il file.",
            requester_email: email,
            dropped: &[],
            acks_last_hour,
            possible_duplicates: &[],
            dmarc_failure: None,
        };
        let setting = Setting {
            calendar: &calendar,
            sla: &sla,
            roster: &roster,
            ack_rate_per_hour: 5,
        };
        opened(&request, &setting)
    }

    fn due_of(effects: &[Effect]) -> DateTime<Utc> {
        match effects.first() {
            Some(Effect::OpenCycle { take_in_due, .. }) => *take_in_due,
            other => panic!("the first effect opens the cycle: {other:?}"),
        }
    }

    #[test]
    fn each_channel_has_its_take_in_budget() {
        // Monday 10:00: portal 30 min, e-mail 45, phone 90, all in business time.
        let monday = rome(9, 10, 0);
        assert_eq!(
            due_of(&decide(Channel::Portal, monday, Some("a@example.org"), 0)),
            rome(9, 10, 30)
        );
        assert_eq!(
            due_of(&decide(Channel::Email, monday, Some("a@example.org"), 0)),
            rome(9, 10, 45)
        );
        assert_eq!(due_of(&decide(Channel::Phone, monday, None, 0)), rome(9, 11, 30));
        // Friday 16:50 by mail: 10 minutes on Friday, 35 on Monday morning.
        assert_eq!(
            due_of(&decide(Channel::Email, rome(6, 16, 50), Some("a@example.org"), 0)),
            rome(9, 8, 35)
        );
        // Saturday: the contract starts the clock at 9:00 of the next working day.
        let saturday = decide(Channel::Portal, rome(7, 11, 0), Some("a@example.org"), 0);
        assert!(
            matches!(saturday[0], Effect::OpenCycle { effective_start, take_in_due, .. }
                if effective_start == rome(9, 9, 0) && take_in_due == rome(9, 9, 30)),
            "{saturday:?}"
        );
    }

    #[test]
    fn the_notice_names_possible_duplicates() {
        assert_eq!(duplicates_reason(&[]), "");
        let one = [TicketId { year: 2026, number: 42 }];
        assert_eq!(duplicates_reason(&one), "possibile duplicato di TCK-2026-00042");
        let two = [one[0], TicketId { year: 2026, number: 7 }];
        assert_eq!(
            duplicates_reason(&two),
            "possibile duplicato di TCK-2026-00042, TCK-2026-00007"
        );
    }

    #[test]
    fn first_level_is_notified_with_the_request_but_not_who_is_away() {
        let effects = decide(Channel::Email, rome(9, 10, 0), Some("a@example.org"), 0);
        assert!(
            matches!(&effects[1], Effect::NotifyOperators { to, kind: NoticeKind::New, text, .. }
            if to == &["g@comune.example.it", "m@comune.example.it"] && text.contains("rifiuta"))
        );
    }

    #[test]
    fn the_acknowledgment_rule_is_the_same_for_every_channel() {
        for channel in [Channel::Email, Channel::Portal, Channel::Phone] {
            let effects = decide(channel, rome(9, 10, 0), Some("a@example.org"), 4);
            assert!(
                matches!(effects.last(), Some(Effect::Acknowledge { take_in_due, .. }) if *take_in_due == due_of(&effects)),
                "{channel:?}: {effects:?}"
            );
            // The sixth in an hour to one address: suppressed and recorded, whatever the channel.
            let effects = decide(channel, rome(9, 10, 0), Some("victim@example.org"), 5);
            assert!(
                matches!(
                    effects.last(),
                    Some(Effect::Event {
                        action: EventAction::AckSuppressed,
                        ..
                    })
                ),
                "{channel:?}: {effects:?}"
            );
            assert!(!effects.iter().any(|e| matches!(e, Effect::Acknowledge { .. })));
        }
        // A caller who left no address gets nothing, and nothing is recorded about it.
        let effects = decide(Channel::Phone, rome(9, 10, 0), None, 0);
        assert_eq!(effects.len(), 2);
    }

    #[test]
    fn a_dmarc_failure_opens_the_ticket_but_acknowledges_nobody() {
        let calendar = Calendar::new(CalendarRules::default(), Vec::new());
        let sla = SlaBudgets::default();
        let roster = [operator("g@comune.example.it", Level::First)];
        let header = "Authentication-Results: mx.comune.example.it; dmarc=fail header.from=banca.example.com";
        let request = NewRequest {
            channel: Channel::Email,
            received_at: rome(9, 10, 0),
            text: "Il suo conto è bloccato",
            requester_email: Some("avvisi@banca.example.com"),
            dropped: &[],
            acks_last_hour: 0,
            possible_duplicates: &[],
            dmarc_failure: Some(header),
        };
        let setting = Setting {
            calendar: &calendar,
            sla: &sla,
            roster: &roster,
            ack_rate_per_hour: 5,
        };
        let effects = opened(&request, &setting);
        assert!(matches!(effects[0], Effect::OpenCycle { .. }), "{effects:?}");
        assert!(matches!(
            &effects[1],
            Effect::NotifyOperators {
                kind: NoticeKind::New,
                ..
            }
        ));
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::Acknowledge { .. })),
            "{effects:?}"
        );
        assert!(
            matches!(effects.last(), Some(Effect::Event { action: EventAction::AckSuppressed, detail, .. })
                if detail.contains("DMARC") && detail.contains(header)),
            "{effects:?}"
        );
    }
}
