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
    /// `#assegna` to the technician who holds the ticket already: nothing changed, nothing sent.
    AlreadyWith {
        /// The ticket.
        ticket: TicketId,
        /// The holder's name.
        technician: String,
    },
    /// `#assente`: an absence recorded.
    Away {
        /// The first day away.
        from: NaiveDate,
        /// The last day away.
        until: NaiveDate,
        /// Who stands in (their name), if anyone.
        deputy: Option<String>,
    },
    /// `#presente` (or `#assente no`): back before the absence's end, or no absence recorded.
    Back {
        /// Whether an absence was recorded (and has now ended).
        was_away: bool,
    },
    /// The absence began: the open tickets went to the deputy, or stay with the operator.
    AbsenceBegan {
        /// The last day away.
        until: NaiveDate,
        /// Who stands in (their name), if anyone.
        deputy: Option<String>,
        /// The open tickets handed to the deputy (none without a deputy).
        handed_over: Vec<TicketId>,
        /// The open tickets that stay with the operator (none with a deputy).
        kept: Vec<TicketId>,
    },
    /// The absence's last day passed.
    AbsenceEnded {
        /// That day.
        until: NaiveDate,
    },
    /// `#collega`: linked to an incident's master.
    Linked {
        /// The ticket.
        ticket: TicketId,
        /// The master.
        master: TicketId,
    },
    /// `#chiedi`: the question went to a colleague.
    Asked {
        /// The ticket.
        ticket: TicketId,
        /// The colleague's name.
        colleague: String,
    },
    /// The incident's master resolved: so were the open tickets linked to it.
    IncidentClosed {
        /// The master.
        master: TicketId,
        /// How many tickets were linked and open.
        followers: usize,
    },
    /// A colleague's reply to `#chiedi` recorded as an internal note.
    Replied {
        /// The ticket.
        ticket: TicketId,
    },
    /// `#cc`: someone put in copy, or taken out, or neither (they already were, or never were).
    Copy {
        /// The ticket.
        ticket: TicketId,
        /// The address.
        address: String,
        /// Added (`#cc`) or removed (`#cc -`).
        added: bool,
        /// False when it was so already: nothing changed.
        changed: bool,
    },
    /// `#spam`: closed silently; the sender's mail is quarantined until a day.
    Spam {
        /// The ticket.
        ticket: TicketId,
        /// The sender quarantined, and the last day of it; none without an address to mark.
        quarantined: Option<(String, NaiveDate)>,
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
            Done::Answered { ticket } => pick(
                format!("risposta inviata al richiedente di {ticket}"),
                format!("answer sent to the requester of {ticket}"),
            ),
            Done::PhoneRequestOpened { ticket } => pick(
                format!("aperta la richiesta telefonica {ticket}"),
                format!("phone request {ticket} opened"),
            ),
            Done::AlreadyWith { ticket, technician } => pick(
                format!("{ticket} è già in carico a {technician}: nessun messaggio inviato"),
                format!("{ticket} is already held by {technician}: no mail sent"),
            ),
            Done::Away { from, until, deputy } => {
                let days_it = format!("dal {} al {}", from.format("%d/%m/%Y"), until.format("%d/%m/%Y"));
                let days_en = format!("from {from} to {until}");
                match deputy {
                    Some(d) => pick(
                        format!(
                            "assente {days_it}: nuove richieste, secondo livello e riaperture vanno a {d}, che riceve anche le tue richieste aperte all'inizio dell'assenza"
                        ),
                        format!(
                            "away {days_en}: new requests, escalations and reopenings go to {d}, who also receives your open tickets when the absence begins"
                        ),
                    ),
                    None => pick(
                        format!(
                            "assente {days_it}, senza sostituto: non ricevi nuove richieste, passaggi né avvisi; le riaperture vanno in coda; le tue richieste aperte restano a te e i supervisori le vedono nel riepilogo"
                        ),
                        format!(
                            "away {days_en}, no deputy: you get no new requests, handovers or warnings; reopenings go to the queue; your open tickets stay with you and the supervisors see them in their digest"
                        ),
                    ),
                }
            }
            Done::Back { was_away: true } => pick(
                "rientrato: da ora ricevi di nuovo nuove richieste, passaggi e riaperture".into(),
                "back: from now on you receive new requests, handovers and reopenings again".into(),
            ),
            Done::Back { was_away: false } => pick(
                "non risultava nessuna assenza: nulla è cambiato".into(),
                "no absence was recorded: nothing changed".into(),
            ),
            Done::AbsenceBegan {
                until,
                deputy,
                handed_over,
                kept,
            } => {
                let list = |ids: &[TicketId]| ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                let day = until.format("%d/%m/%Y");
                match deputy {
                    Some(d) if handed_over.is_empty() => pick(
                        format!(
                            "la tua assenza è iniziata (fino al {day}); ti sostituisce {d}; non avevi richieste aperte"
                        ),
                        format!("your absence has begun (until {until}); {d} stands in; you had no open tickets"),
                    ),
                    Some(d) => pick(
                        format!(
                            "la tua assenza è iniziata (fino al {day}); le tue richieste aperte sono passate a {d}: {}",
                            list(handed_over)
                        ),
                        format!(
                            "your absence has begun (until {until}); your open tickets went to {d}: {}",
                            list(handed_over)
                        ),
                    ),
                    None if kept.is_empty() => pick(
                        format!("la tua assenza è iniziata (fino al {day}); non avevi richieste aperte"),
                        format!("your absence has begun (until {until}); you had no open tickets"),
                    ),
                    None => pick(
                        format!(
                            "la tua assenza è iniziata (fino al {day}); senza sostituto le tue richieste aperte restano a te e sono nel riepilogo dei supervisori: {}",
                            list(kept)
                        ),
                        format!(
                            "your absence has begun (until {until}); with no deputy your open tickets stay with you and are in the supervisors' digest: {}",
                            list(kept)
                        ),
                    ),
                }
            }
            Done::Linked { ticket, master } => pick(
                format!("{ticket} collegata a {master}: si chiuderà con #risolto su {master}"),
                format!("{ticket} linked to {master}: #risolto on {master} closes it"),
            ),
            Done::Asked { ticket, colleague } => pick(
                format!("domanda su {ticket} inviata a {colleague}: la risposta arriverà come nota interna"),
                format!("question about {ticket} sent to {colleague}: the reply will arrive as an internal note"),
            ),
            Done::IncidentClosed { master, followers } => pick(
                format!(
                    "risolte con {master} anche le {followers} richieste collegate, ognuna con la sua lettera di chiusura"
                ),
                format!(
                    "the {followers} tickets linked to {master} were resolved with it, each with its own closing letter"
                ),
            ),
            Done::Replied { ticket } => pick(
                format!("la tua risposta è registrata come nota interna su {ticket} e inoltrata a chi ha chiesto"),
                format!("your reply is recorded as an internal note on {ticket} and passed on to who asked"),
            ),
            Done::AbsenceEnded { until } => pick(
                format!(
                    "la tua assenza è finita il {}: da oggi ricevi di nuovo nuove richieste, passaggi e riaperture",
                    until.format("%d/%m/%Y")
                ),
                format!(
                    "your absence ended on {until}: from today you receive new requests, handovers and reopenings again"
                ),
            ),
            Done::Copy {
                ticket,
                address,
                added,
                changed,
            } => match (added, changed) {
                (true, true) => pick(
                    format!("{address} in copia su {ticket}: riceverà le risposte e la lettera di chiusura"),
                    format!("{address} copied on {ticket}: they will get the answers and the closing letter"),
                ),
                (true, false) => pick(
                    format!("{address} era già in copia su {ticket}: nessuna modifica"),
                    format!("{address} was already copied on {ticket}: nothing changed"),
                ),
                (false, true) => pick(
                    format!("{address} tolto dalle copie di {ticket}"),
                    format!("{address} taken out of the copies of {ticket}"),
                ),
                (false, false) => pick(
                    format!("{address} non era in copia su {ticket}: nessuna modifica"),
                    format!("{address} was not copied on {ticket}: nothing changed"),
                ),
            },
            Done::Spam { ticket, quarantined } => match quarantined {
                Some((sender, last_day)) => pick(
                    format!(
                        "{ticket} chiusa come spam, senza scrivere al mittente; la posta di {sender} andrà in quarantena fino al {}",
                        last_day.format("%d/%m/%Y")
                    ),
                    format!(
                        "{ticket} closed as spam, writing to nobody; mail from {sender} is quarantined until {last_day}"
                    ),
                ),
                None => pick(
                    format!("{ticket} chiusa come spam, senza scrivere a nessuno"),
                    format!("{ticket} closed as spam, writing to nobody"),
                ),
            },
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
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).expect("a day");
        let away = Done::Away {
            from: day(21),
            until: day(24),
            deputy: Some("Marco Rossi".into()),
        };
        assert!(
            away.text(Language::It)
                .starts_with("assente dal 21/12/2026 al 24/12/2026: nuove richieste")
        );
        assert!(away.text(Language::En).contains("go to Marco Rossi"));
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
