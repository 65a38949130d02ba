//! `#coda`: the open tickets, most urgent first, as an operator reads them — who holds each,
//! who asked, and which deadline runs ("presa in carico entro" before the take-in,
//! "risoluzione entro" after it).

use chrono::{DateTime, Utc};

use super::roster;
use crate::config::{Language, Operator};
use crate::model::{Kind, Level, TicketId};

/// One open ticket and its current cycle.
#[derive(Debug, Clone)]
pub struct OpenTicket<'a> {
    /// The ticket.
    pub ticket: TicketId,
    /// Its subject.
    pub subject: &'a str,
    /// Its level.
    pub level: Level,
    /// Who holds it (an address).
    pub assignee: Option<&'a str>,
    /// Who asked (name, address or phone).
    pub requester: Option<&'a str>,
    /// A reminder or a complaint stands out.
    pub kind: Kind,
    /// When the take-in is due.
    pub take_in_due: DateTime<Utc>,
    /// When it was taken in.
    pub take_in_at: Option<DateTime<Utc>>,
    /// When the resolution is due, once taken in.
    pub resolution_due: Option<DateTime<Utc>>,
}

/// One line of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLine {
    /// The ticket.
    pub ticket: TicketId,
    /// Its subject.
    pub subject: String,
    /// Its level.
    pub level: u8,
    /// Who holds it, by name ("da prendere" when nobody does).
    pub holder: String,
    /// Who asked.
    pub requester: String,
    /// Which deadline runs, in words.
    pub deadline: &'static str,
    /// That deadline.
    pub due: DateTime<Utc>,
    /// Past it.
    pub overdue: bool,
    /// "SOLLECITO" / "RECLAMO", or empty.
    pub marker: &'static str,
}

/// The queue, most urgent first: the earliest running deadline (so the overdue ones) first.
pub fn lines(open: &[OpenTicket<'_>], roster: &[Operator], language: Language, now: DateTime<Utc>) -> Vec<QueueLine> {
    let it = language == Language::It;
    let mut out: Vec<QueueLine> = open
        .iter()
        .map(|t| {
            let (deadline, due) = match (t.take_in_at, t.resolution_due) {
                (Some(_), Some(due)) => (if it { "risoluzione entro" } else { "resolve by" }, due),
                _ => (if it { "presa in carico entro" } else { "take in by" }, t.take_in_due),
            };
            let holder = match t.assignee {
                Some(a) => roster::by_address(roster, a).map_or_else(|| a.to_string(), |o| o.name.clone()),
                None => (if it { "da prendere" } else { "unassigned" }).to_string(),
            };
            let marker = match (t.kind, it) {
                (Kind::Problem, _) => "",
                (Kind::Reminder, true) => "SOLLECITO",
                (Kind::Reminder, false) => "REMINDER",
                (Kind::Complaint, true) => "RECLAMO",
                (Kind::Complaint, false) => "COMPLAINT",
            };
            QueueLine {
                ticket: t.ticket,
                subject: t.subject.to_string(),
                level: t.level.number(),
                holder,
                requester: t.requester.unwrap_or("-").to_string(),
                deadline,
                due,
                overdue: due < now,
                marker,
            }
        })
        .collect();
    out.sort_by_key(|l| (l.due, l.ticket));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::testing::{operator, rome};

    fn open(number: u32, assignee: Option<&'static str>, taken: bool, due: DateTime<Utc>) -> OpenTicket<'static> {
        OpenTicket {
            ticket: TicketId { year: 2026, number },
            subject: "Firma non valida",
            level: Level::First,
            assignee,
            requester: Some("Mario Rossi"),
            kind: if number == 3 { Kind::Complaint } else { Kind::Problem },
            take_in_due: if taken { rome(9, 8, 45) } else { due },
            take_in_at: taken.then(|| rome(9, 8, 40)),
            resolution_due: taken.then_some(due),
        }
    }

    #[test]
    fn the_queue_says_who_holds_what_and_which_deadline_runs_most_urgent_first() {
        let roster = vec![operator("Giulia Bianchi", "giulia@comune.example.it", Level::First)];
        let queue = lines(
            &[
                open(1, None, false, rome(9, 11, 0)),
                open(2, Some("giulia@comune.example.it"), true, rome(10, 12, 0)),
                open(3, Some("gone@comune.example.it"), true, rome(9, 9, 30)),
            ],
            &roster,
            Language::It,
            rome(9, 10, 0),
        );
        let summary: Vec<(u32, &str, &str, bool, &str)> = queue
            .iter()
            .map(|l| (l.ticket.number, l.holder.as_str(), l.deadline, l.overdue, l.marker))
            .collect();
        assert_eq!(
            summary,
            vec![
                (3, "gone@comune.example.it", "risoluzione entro", true, "RECLAMO"),
                (1, "da prendere", "presa in carico entro", false, ""),
                (2, "Giulia Bianchi", "risoluzione entro", false, ""),
            ]
        );
        assert_eq!(queue[0].requester, "Mario Rossi");
    }
}
