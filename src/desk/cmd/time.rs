//! `#tempo DURATION`: log time worked on the ticket (on any ticket, closed ones included);
//! `#tempo -30m` corrects an entry. The operator is told the ticket's new total.

use super::{CommandMail, Refusals, TicketFacts, Working};
use crate::commands::{Command, Done, Problem};
use crate::desk::effect::Effect;
use crate::model::EventAction;

/// The mail's entries together may not take the ticket's total below zero.
pub(super) fn check(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>, out: &mut Refusals) {
    let change: i64 = mail
        .commands
        .iter()
        .map(|c| match c {
            Command::Time(m) => i64::from(*m),
            _ => 0,
        })
        .sum();
    if ticket.time_logged + change < 0 {
        out.refuse(
            "#tempo",
            Problem::TimeBelowZero {
                ticket: ticket.id,
                logged: ticket.time_logged,
            },
        );
    }
}

/// Logs the minutes (or the correction) and says the new total.
pub(super) fn apply(work: &mut Working<'_>, mail: &CommandMail<'_>, minutes: i32) {
    work.effect(Effect::LogTime {
        by: mail.operator.email.clone(),
        minutes,
    });
    work.event(mail, EventAction::Time, &format!("{minutes} min"));
    work.ticket.time_logged += i64::from(minutes);
    let done = Done::TimeLogged {
        ticket: work.ticket.id,
        minutes: i64::from(minutes),
        total: work.ticket.time_logged,
    };
    work.done(done);
}
