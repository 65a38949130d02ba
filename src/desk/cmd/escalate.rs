//! `#secondolivello [NAME]`: move the ticket to second level, maybe to a named operator.

use super::{CommandMail, Refusals, Setting, TicketFacts, Working};
use crate::commands::Done;
use crate::commands::Problem;
use crate::config::Operator;
use crate::desk::effect::{CycleStamp, Effect, Letter};
use crate::model::{EventAction, Level, NoticeKind, Status};
use crate::sla::resolution_due;

/// A named operator must exist and be second-level; without a name the ticket must not be at
/// second level already; a closed ticket is not escalated at all (before the desk, a named
/// second-level operator slipped past that last rule).
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, who: Option<&str>, out: &mut Refusals) {
    match who {
        Some(who) => match mail.operator_named(who) {
            Some(op) if op.level == Level::Second => {}
            Some(op) => {
                return out.refuse(
                    format!("#secondolivello {who}"),
                    Problem::NotSecondLevel { name: op.name.clone() },
                );
            }
            None => {
                return out.refuse(format!("#secondolivello {who}"), super::no_such_operator(mail, who));
            }
        },
        None if ticket.level == Level::Second => {
            return out.refuse("#secondolivello", Problem::AlreadySecondLevel { ticket: ticket.id });
        }
        None => {}
    }
    if ticket.is_closed() {
        out.refuse(
            "#secondolivello",
            Problem::Closed {
                ticket: ticket.id,
                status: ticket.status,
            },
        );
    }
}

/// Moves the ticket to second level: its resolution is due by the second level's budget from
/// the take-in (or from now, when nobody took it in yet); the requester gets the escalation
/// letter only, naming the technician when one is named — for a ticket nobody took in yet,
/// that letter is its take-in (issue 20, case 1) —, and level 2 — the operator named, else every second-level operator present —
/// gets the handover note (the text below the tags) with the whole screening.
pub(super) fn apply<'a>(work: &mut Working<'a>, mail: &CommandMail<'a>, setting: &Setting<'_>, who: Option<&str>) {
    let start = work.ticket.take_in_at.unwrap_or(mail.now);
    let due = resolution_due(setting.calendar, setting.sla, Level::Second, start);
    work.effect(Effect::Escalate { resolution_due: due });
    work.event(mail, EventAction::Escalated, who.unwrap_or(""));
    let previous = work.ticket.assignee.filter(|_| work.ticket.status == Status::Assigned);
    let (named, why) = level_two_for(mail, who.and_then(|w| mail.operator_named(w)));
    if let Some(technician) = named {
        super::take::tell_previous_holder(work, mail, previous, technician);
        work.effect(Effect::Assign {
            technician: technician.email.clone(),
            by: mail.operator.email.clone(),
        });
        work.ticket.status = Status::Assigned;
        work.ticket.assignee = Some(&technician.email);
    }
    // The first letter of a cycle naming a technician is its take-in; a requester without
    // e-mail hears no letter, and is taken in by the call-back instead.
    let takes_in = named.is_some() && work.ticket.take_in_at.is_none() && work.ticket.reads_mail;
    work.effect(Effect::Letter {
        letter: Letter::Escalated {
            resolution_due: due,
            technician: named.map(|t| t.name.clone()),
        },
        stamp: takes_in.then_some(CycleStamp::TakeIn { resolution_due: due }),
    });
    if takes_in {
        work.ticket.take_in_at = Some(mail.now);
    }
    let to = match named {
        Some(technician) => vec![technician.email.clone()],
        None => mail
            .roster
            .iter()
            .filter(|o| o.level == Level::Second && !o.away)
            .map(|o| o.email.clone())
            .collect(),
    };
    work.effect(Effect::NotifyOperators {
        to,
        kind: NoticeKind::Escalated,
        reason: match why {
            Some(why) => format!("da {}; {why}", mail.operator.name),
            None => format!("da {}", mail.operator.name),
        },
        text: String::new(),
        screening: true,
        note: mail.body.to_string(),
    });
    work.ticket.level = Level::Second;
    work.ticket.resolution_due = Some(due);
    let done = Done::Escalated { ticket: work.ticket.id };
    work.done(done);
}

/// Who at second level gets the ticket when `named` was asked for: them when at work; while
/// they are away, their deputy when that is a second-level operator at work, else nobody in
/// particular (every second-level operator at work hears of it) — with the reason.
fn level_two_for<'r>(mail: &CommandMail<'r>, named: Option<&'r Operator>) -> (Option<&'r Operator>, Option<String>) {
    let Some(named) = named else { return (None, None) };
    if !named.away {
        return (Some(named), None);
    }
    match crate::desk::roster::stand_in(mail.roster, named).filter(|d| d.level == Level::Second) {
        Some(deputy) => (
            Some(deputy),
            Some(format!("{} è assente, lo sostituisce {}", named.name, deputy.name)),
        ),
        None => (None, Some(format!("{} è assente", named.name))),
    }
}
