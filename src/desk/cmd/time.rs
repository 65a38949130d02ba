//! `#tempo DURATION`: log time worked on the ticket (on any ticket, closed ones included);
//! `#tempo -30m` corrects an entry. The operator is told the ticket's new total.

use super::{CommandMail, Refusals, TicketFacts, Working};
use crate::commands::{Command, Problem};
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
    let total = span(work.ticket.time_logged);
    let line = if minutes < 0 {
        format!(
            "correzione di {} su {}: totale {total}",
            span(i64::from(-minutes)),
            work.ticket.id
        )
    } else {
        format!(
            "{} registrati su {}: totale {total}",
            span(i64::from(minutes)),
            work.ticket.id
        )
    };
    work.done(line);
}

/// "45 min", "2 h", "1 h 30 min".
fn span(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn totals_read_in_hours_and_minutes() {
        assert_eq!(span(45), "45 min");
        assert_eq!(span(120), "2 h");
        assert_eq!(span(90), "1 h 30 min");
        assert_eq!(span(0), "0 min");
    }
}
