//! What an operator's mail did, one line per command, written in the operator's language
//! when the transcript is sent (the counterpart of [`super::Problem`]).

use chrono::NaiveDate;

use crate::config::Language;
use crate::model::{Kind, TicketId};

/// One command carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// `#prendo` by the holder: nothing changed, nothing sent.
    AlreadyHeld {
        /// The ticket.
        ticket: TicketId,
    },
    /// The ticket went to a technician (the requester was told the name).
    Assigned {
        /// The ticket.
        ticket: TicketId,
        /// The technician's name.
        technician: String,
        /// A phone request without e-mail: the call-back is still due.
        awaiting_call: bool,
    },
    /// Moved to second level.
    Escalated {
        /// The ticket.
        ticket: TicketId,
    },
    /// Closed (resolved, or out of scope).
    Closed {
        /// The ticket.
        ticket: TicketId,
        /// Out of scope rather than resolved.
        out_of_scope: bool,
    },
    /// `#nota` recorded.
    Noted {
        /// The ticket.
        ticket: TicketId,
    },
    /// `#telefono` recorded.
    Called {
        /// The ticket.
        ticket: TicketId,
    },
    /// `#sollecito` / `#reclamo` recorded.
    KindSet {
        /// The ticket.
        ticket: TicketId,
        /// Which.
        kind: Kind,
    },
    /// A remote-desktop invitation sent.
    RemoteInvited {
        /// When, as operators read it.
        when: String,
    },
    /// `#tempo`: minutes logged (negative: a correction), and the new total.
    TimeLogged {
        /// The ticket.
        ticket: TicketId,
        /// The entry.
        minutes: i64,
        /// The ticket's total after it.
        total: i64,
    },
    /// `#kb`: the entry is published.
    KbReviewed {
        /// The ticket.
        ticket: TicketId,
    },
    /// `#kb no KB-N`: the entry is marked wrong for the ticket's request.
    KbMarkedWrong {
        /// The ticket.
        ticket: TicketId,
        /// The entry.
        entry: i64,
    },
    /// The untagged text went to the requester.
    Answered {
        /// The ticket.
        ticket: TicketId,
    },
    /// `#nuovo`: a phone request opened.
    PhoneRequestOpened {
        /// The new ticket.
        ticket: TicketId,
    },
    /// `#assente`: away until a day, or back.
    Away {
        /// The last day away; none when back.
        until: Option<NaiveDate>,
    },
}

impl Done {
    /// The line of the transcript.
    pub fn text(&self, language: Language) -> String {
        let it = language == Language::It;
        let pick = |italian: String, english: String| if it { italian } else { english };
        match self {
            Done::AlreadyHeld { ticket } => pick(
                format!("{ticket} è già assegnata a te: nessuna nuova presa in carico, nessun messaggio inviato"),
                format!("{ticket} is already yours: no new take-in, no mail sent"),
            ),
            Done::Assigned {
                ticket,
                technician,
                awaiting_call,
            } => {
                let (wait_it, wait_en) = if *awaiting_call {
                    (
                        " (in attesa della richiamata: usa #telefono)",
                        " (awaiting the call-back: use #telefono)",
                    )
                } else {
                    ("", "")
                };
                pick(
                    format!("{ticket} presa in carico da {technician}{wait_it}"),
                    format!("{ticket} taken in by {technician}{wait_en}"),
                )
            }
            Done::Escalated { ticket } => pick(
                format!("{ticket} passata al secondo livello"),
                format!("{ticket} moved to second level"),
            ),
            Done::Closed { ticket, out_of_scope } => match out_of_scope {
                true => pick(
                    format!("{ticket} chiusa come fuori ambito"),
                    format!("{ticket} closed as out of scope"),
                ),
                false => pick(
                    format!("{ticket} risolta e chiusa"),
                    format!("{ticket} resolved and closed"),
                ),
            },
            Done::Noted { ticket } => pick(
                format!("nota registrata su {ticket}"),
                format!("note recorded on {ticket}"),
            ),
            Done::Called { ticket } => pick(
                format!("telefonata registrata su {ticket}"),
                format!("call recorded on {ticket}"),
            ),
            Done::KindSet { ticket, kind } => {
                let word = match (kind, it) {
                    (Kind::Reminder, true) => "sollecito",
                    (Kind::Complaint, true) => "reclamo",
                    (Kind::Problem, true) => "problema",
                    (k, false) => k.as_str(),
                };
                pick(
                    format!("{ticket} segnata come {word}"),
                    format!("{ticket} marked as {word}"),
                )
            }
            Done::RemoteInvited { when } => pick(
                format!("invito al desktop remoto inviato per {when}"),
                format!("remote-desktop invitation sent for {when}"),
            ),
            Done::TimeLogged { ticket, minutes, total } => match *minutes < 0 {
                true => pick(
                    format!("correzione di {} su {ticket}: totale {}", span(-minutes), span(*total)),
                    format!("correction of {} on {ticket}: total {}", span(-minutes), span(*total)),
                ),
                false => pick(
                    format!("{} registrati su {ticket}: totale {}", span(*minutes), span(*total)),
                    format!("{} logged on {ticket}: total {}", span(*minutes), span(*total)),
                ),
            },
            Done::KbReviewed { ticket } => pick(
                format!("{ticket}: articolo della base di conoscenza pubblicato"),
                format!("{ticket}: knowledge-base article published"),
            ),
            Done::KbMarkedWrong { ticket, entry } => pick(
                format!("KB-{entry} segnata come non adatta a {ticket}: sarà proposta meno per richieste simili"),
                format!("KB-{entry} marked as not fitting {ticket}: it will be suggested less for similar requests"),
            ),
            Done::Answered { ticket } => pick(
                format!("risposta inviata al richiedente di {ticket}"),
                format!("answer sent to the requester of {ticket}"),
            ),
            Done::PhoneRequestOpened { ticket } => pick(
                format!("aperta la richiesta telefonica {ticket}"),
                format!("phone request {ticket} opened"),
            ),
            Done::Away { until: Some(day) } => pick(
                format!(
                    "assente fino al {}: le richieste riaperte andranno in coda",
                    day.format("%d/%m/%Y")
                ),
                format!("away until {day}: reopened tickets go to the queue"),
            ),
            Done::Away { until: None } => pick(
                "rientrato: le richieste riaperte tornano a te".into(),
                "back: reopened tickets come back to you".into(),
            ),
        }
    }
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
    use super::*;

    #[test]
    fn lines_speak_the_operators_language() {
        let ticket = TicketId { year: 2026, number: 7 };
        let time = Done::TimeLogged {
            ticket,
            minutes: -30,
            total: 90,
        };
        assert_eq!(
            time.text(Language::It),
            "correzione di 30 min su TCK-2026-00007: totale 1 h 30 min"
        );
        assert_eq!(
            time.text(Language::En),
            "correction of 30 min on TCK-2026-00007: total 1 h 30 min"
        );
        let assigned = Done::Assigned {
            ticket,
            technician: "Giulia Bianchi".into(),
            awaiting_call: false,
        };
        assert_eq!(
            assigned.text(Language::It),
            "TCK-2026-00007 presa in carico da Giulia Bianchi"
        );
        let away = Done::Away {
            until: NaiveDate::from_ymd_opt(2026, 12, 24),
        };
        assert!(away.text(Language::It).starts_with("assente fino al 24/12/2026"));
        assert_eq!(
            Done::Closed {
                ticket,
                out_of_scope: true
            }
            .text(Language::En),
            "TCK-2026-00007 closed as out of scope"
        );
    }
}
