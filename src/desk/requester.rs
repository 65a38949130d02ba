//! A requester (or someone in copy) writes again on a ticket: a closed one reopens — straight
//! back to the technician who closed it, or to the queue when that technician is gone or
//! away — unless the mail is a bare thank-you or the requester's vote on the closing letter
//! (`desk::vote::by_mail`: recorded, never a reopening); an open one becomes a complaint, a reminder
//! when a deadline has passed, or just news for whoever holds it.

use chrono::{DateTime, NaiveDate, Utc};

use super::effect::{CycleOpening, Effect, Letter};
use super::roster;
use crate::config::{Language, Operator};
use crate::model::{Channel, EventAction, Kind, Level, NoticeKind, Status};
use crate::sla::{Calendar, SlaBudgets, resolution_due, take_in_due};

/// The ticket as the rule needs it.
#[derive(Debug, Clone)]
pub struct TicketFacts<'a> {
    /// Where it stands.
    pub status: Status,
    /// The requester's latest stance.
    pub kind: Kind,
    /// Its level.
    pub level: Level,
    /// How it arrived (the take-in budget of a reopening to the queue).
    pub channel: Channel,
    /// Who holds it.
    pub assignee: Option<&'a str>,
    /// Who closed it.
    pub resolver: Option<&'a str>,
    /// Its latest SLA cycle.
    pub cycle: Option<CycleFacts>,
    /// What the satisfaction vote knows of it (a closed ticket; None otherwise).
    pub vote: Option<super::vote::Facts<'a>>,
}

/// The latest SLA cycle.
#[derive(Debug, Clone, Copy)]
pub struct CycleFacts {
    /// 1 for the first.
    pub number: u32,
    /// Take-in due.
    pub take_in_due: DateTime<Utc>,
    /// When it was taken in.
    pub take_in_at: Option<DateTime<Utc>>,
    /// Resolution due, once taken in.
    pub resolution_due: Option<DateTime<Utc>>,
}

/// The mail (or status-page reply).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// Who wrote.
    pub author: &'a str,
    /// Its subject ("reclamo" in it makes a complaint).
    pub subject: &'a str,
    /// Its fresh text.
    pub text: &'a str,
}

/// What surrounds the rule.
#[derive(Clone, Copy)]
pub struct Setting<'a> {
    /// The business calendar.
    pub calendar: &'a Calendar,
    /// The budgets.
    pub sla: &'a SlaBudgets,
    /// Every operator.
    pub roster: &'a [Operator],
    /// The instant the mail is applied.
    pub now: DateTime<Utc>,
    /// Today, in the help desk's time zone.
    pub today: NaiveDate,
    /// How an instant is written to operators (local time, configured language).
    pub local_time: &'a dyn Fn(DateTime<Utc>) -> String,
    /// The operators' language (the reasons their notices give).
    pub language: Language,
    /// `[survey] days`: how long after the closing a reply may vote.
    pub survey_days: u32,
}

/// Where a reopened ticket goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReopenRoute {
    /// Back to the technician who closed it (their address).
    BackTo(String),
    /// To the deputy of the technician who closed it, who is away (the deputy's address, and
    /// the reason the deputy is told).
    Deputy {
        /// The deputy's address.
        deputy: String,
        /// Why it went to them.
        reason: String,
    },
    /// To the first-level queue, with the reason.
    Queue(String),
}

/// The contract: a reopened ticket goes back to the technician who closed it — unless they are
/// no longer an operator, and then to the first-level queue with the reason; while they are
/// away (on the roster of the day), to their deputy, else to the queue.
pub fn reopen_route(roster: &[Operator], resolver: Option<&str>) -> ReopenRoute {
    let Some(address) = resolver else {
        return ReopenRoute::Queue("nessun tecnico l'aveva chiusa".into());
    };
    let Some(closer) = roster::by_address(roster, address) else {
        return ReopenRoute::Queue(format!("{address} non è più un operatore"));
    };
    if !closer.away {
        return ReopenRoute::BackTo(closer.email.clone());
    }
    match roster::stand_in(roster, closer) {
        Some(deputy) => ReopenRoute::Deputy {
            deputy: deputy.email.clone(),
            reason: format!("{} è assente, la sostituisci", closer.name),
        },
        None => ReopenRoute::Queue(format!("{} è assente", closer.name)),
    }
}

/// What the mail does to the ticket.
pub fn wrote_again(ticket: &TicketFacts<'_>, message: &Message<'_>, setting: &Setting<'_>) -> Vec<Effect> {
    let event = |action: EventAction, detail: String| Effect::Event {
        actor: message.author.to_string(),
        action,
        detail,
        about: None,
    };
    let notify = |to: Vec<&Operator>, kind: NoticeKind, reason: String| Effect::NotifyOperators {
        to: roster::addresses(&to),
        kind,
        reason,
        text: message.text.to_string(),
        screening: false,
        note: String::new(),
    };
    // A reply to the closing letter that is only a vote is the vote, never a reopening.
    if matches!(ticket.status, Status::Resolved | Status::Archived)
        && let Some(vote) = &ticket.vote
        && let Some(effects) = super::vote::by_mail(
            vote,
            message.author,
            message.text,
            &super::vote::Setting {
                roster: setting.roster,
                now: setting.now,
                days: setting.survey_days,
            },
        )
    {
        return effects;
    }
    match ticket.status {
        Status::Resolved | Status::Archived if is_bare_thanks(message.text) => {
            let closer = ticket.resolver.and_then(|r| roster::by_address(setting.roster, r));
            vec![
                event(EventAction::Thanks, "a thank-you after closure: not reopened".into()),
                notify(closer.into_iter().collect(), NoticeKind::Message, String::new()),
            ]
        }
        Status::Resolved | Status::Archived => reopen(ticket, message, setting),
        Status::New | Status::Assigned => {
            if message.subject.to_lowercase().contains("reclamo") && ticket.kind != Kind::Complaint {
                return vec![
                    Effect::SetKind(Kind::Complaint),
                    event(EventAction::Kind, "complaint (reclamo in the subject)".into()),
                    notify(
                        roster::supervisors(setting.roster),
                        NoticeKind::Complaint,
                        String::new(),
                    ),
                ];
            }
            let overdue = ticket.cycle.and_then(|c| match c.take_in_at {
                None if setting.now > c.take_in_due => Some(match setting.language {
                    Language::It => format!("presa in carico scaduta {}", (setting.local_time)(c.take_in_due)),
                    Language::En => format!("take-in was due {}", (setting.local_time)(c.take_in_due)),
                }),
                Some(_) => c
                    .resolution_due
                    .filter(|due| setting.now > *due)
                    .map(|due| match setting.language {
                        Language::It => format!("risoluzione scaduta {}", (setting.local_time)(due)),
                        Language::En => format!("resolution was due {}", (setting.local_time)(due)),
                    }),
                None => None,
            });
            let assignee: Vec<&Operator> = ticket
                .assignee
                .and_then(|a| roster::by_address(setting.roster, a))
                .into_iter()
                .collect();
            match overdue {
                Some(reason) => {
                    let mut effects = Vec::new();
                    if ticket.kind == Kind::Problem {
                        effects.push(Effect::SetKind(Kind::Reminder));
                    }
                    effects.push(event(EventAction::Reminder, reason.clone()));
                    let mut to = assignee;
                    for s in roster::supervisors(setting.roster) {
                        if !to.iter().any(|o| o.email == s.email) {
                            to.push(s);
                        }
                    }
                    effects.push(notify(to, NoticeKind::Reminder, reason));
                    effects
                }
                None => vec![notify(
                    roster::assignee_or_first_level(setting.roster, ticket.assignee),
                    NoticeKind::Message,
                    String::new(),
                )],
            }
        }
    }
}

/// A closed ticket reopens: a new cycle, routed by [`reopen_route`].
fn reopen(ticket: &TicketFacts<'_>, message: &Message<'_>, setting: &Setting<'_>) -> Vec<Effect> {
    let now = setting.now;
    let route = reopen_route(setting.roster, ticket.resolver);
    let number = ticket.cycle.map_or(1, |c| c.number + 1);
    let cycle = match &route {
        // The reopening is the new take-in instant: the ticket goes straight back to its closer
        // (or to the closer's deputy).
        ReopenRoute::BackTo(_) | ReopenRoute::Deputy { .. } => Effect::OpenCycle {
            number,
            received_at: now,
            effective_start: now,
            take_in_due: now,
            take_in_at: Some(now),
            resolution_due: Some(resolution_due(setting.calendar, setting.sla, ticket.level, now)),
            level: ticket.level,
            opening: CycleOpening::ReopenedToCloser,
        },
        ReopenRoute::Queue(_) => {
            let (effective_start, due) = take_in_due(setting.calendar, setting.sla, ticket.channel, now);
            Effect::OpenCycle {
                number,
                received_at: now,
                effective_start,
                take_in_due: due,
                take_in_at: None,
                resolution_due: None,
                level: ticket.level,
                opening: CycleOpening::ReopenedToQueue,
            }
        }
    };
    let (status, assignee, reason) = match &route {
        ReopenRoute::BackTo(email) => (Status::Assigned, Some(email.clone()), String::new()),
        ReopenRoute::Deputy { deputy, reason } => (Status::Assigned, Some(deputy.clone()), reason.clone()),
        ReopenRoute::Queue(why) => (Status::New, None, why.clone()),
    };
    let technician = assignee.as_deref().and_then(|a| roster::by_address(setting.roster, a));
    let to = match technician {
        Some(op) => vec![op],
        None => roster::first_level(setting.roster),
    };
    vec![
        cycle,
        Effect::Reopen {
            status,
            assignee: assignee.clone(),
        },
        Effect::Event {
            actor: message.author.to_string(),
            action: EventAction::Reopened,
            detail: format!("cycle {number}; {}", assignee.clone().unwrap_or_else(|| reason.clone())),
            // A reopening counts against the technician who closed the ticket, also when their
            // deputy takes it.
            about: match &route {
                ReopenRoute::Deputy { .. } => ticket.resolver.map(str::to_string),
                _ => assignee.clone(),
            },
        },
        Effect::Letter {
            letter: Letter::Reopened {
                technician: technician.map(|t| t.name.clone()),
            },
            stamp: None,
        },
        Effect::NotifyOperators {
            to: roster::addresses(&to),
            kind: NoticeKind::Reopened,
            reason,
            text: message.text.to_string(),
            screening: false,
            note: String::new(),
        },
    ]
}

/// A bare thank-you after closure, which must not reopen the ticket. Conservative: short,
/// says thanks, and has no sign of a remaining problem. The signs are phrases, not single
/// words: "ora funziona" and "problema risolto" are thanks, "non funziona" and "il problema
/// persiste" are not; a question, a "ma" or an "ancora" (but "ancora grazie") is a doubt.
/// When in doubt it is not a thank-you, and the ticket reopens.
pub fn is_bare_thanks(text: &str) -> bool {
    let lower = without_signature(text).to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.len() > 25 || lower.contains('?') {
        return false;
    }
    let says_thanks = words.iter().any(|w| THANKS.contains(w))
        || words
            .windows(2)
            .any(|p| matches!(p, ["problema" | "tutto", "risolto"] | ["thank", "you"]));
    if !says_thanks {
        return false;
    }
    let doubtful_word = words
        .iter()
        .enumerate()
        .any(|(i, w)| TROUBLE_WORDS.contains(w) && !(*w == "ancora" && words.get(i + 1) == Some(&"grazie")));
    let doubtful_phrase = TROUBLE_PHRASES.iter().any(|phrase| {
        let phrase: Vec<&str> = phrase.split(' ').collect();
        words.windows(phrase.len()).any(|w| w == phrase.as_slice())
    });
    !doubtful_word && !doubtful_phrase
}

/// The text a person wrote, without what mail clients and offices add below it: a signature
/// after `-- ` or after a closing formula ("Cordiali saluti"), an Outlook rule, a "Sent from
/// my phone" line, the usual confidentiality and privacy disclaimers (issue 14, item 9: a
/// thank-you with a legal disclaimer reopened its ticket).
pub fn without_signature(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        let lower = trimmed.to_lowercase();
        if trimmed == "--" || trimmed == "-- " || (trimmed.len() >= 8 && trimmed.chars().all(|c| c == '_' || c == '-'))
        {
            break;
        }
        if DISCLAIMER_STARTS.iter().any(|start| lower.starts_with(start)) {
            break;
        }
        kept.push(line);
        let formula = lower.trim_end_matches([',', '.', '!', ' ']);
        if CLOSING_FORMULAS.contains(&formula) {
            break;
        }
    }
    kept.join("\n")
}

/// How a signature's closing line reads; what follows it is a name, a role, a phone number.
const CLOSING_FORMULAS: &[&str] = &[
    "cordiali saluti",
    "distinti saluti",
    "saluti",
    "un saluto",
    "cordialmente",
    "best regards",
    "kind regards",
    "regards",
    "best",
];

/// How disclaimers and client footers begin (lowercase, at the start of a line).
const DISCLAIMER_STARTS: &[&str] = &[
    "questo messaggio",
    "questa e-mail",
    "questa email",
    "il presente messaggio",
    "le informazioni contenute",
    "avviso di riservatezza",
    "informativa privacy",
    "informativa sulla privacy",
    "ai sensi del",
    "ai sensi dell",
    "rispetta l'ambiente",
    "pensa all'ambiente",
    "inviato da",
    "this e-mail",
    "this email",
    "this message",
    "the information contained",
    "confidentiality notice",
    "confidential:",
    "disclaimer",
    "please consider the environment",
    "sent from my",
];

/// Words that say thanks.
const THANKS: &[&str] = &[
    "grazie",
    "ringrazio",
    "ringraziamo",
    "ringraziamenti",
    "thanks",
    "thank",
    "perfetto",
    "ok",
];

/// Words that, wherever they stand, mean the problem may not be over.
const TROUBLE_WORDS: &[&str] = &[
    "ancora",
    "errore",
    "errori",
    "però",
    "pero",
    "ma",
    "invece",
    "purtroppo",
    "riaprire",
    "riaprite",
    "nuovamente",
    "persiste",
    "ripresenta",
    "still",
    "again",
    "error",
    "but",
    "however",
    "sempre",
    "altro",
    "altra",
];

/// Phrases that mean it is not solved ("funziona" or "problema" alone are not signs).
const TROUBLE_PHRASES: &[&str] = &[
    "non funziona",
    "non va",
    "non riesco",
    "non è",
    "non ha",
    "non si",
    "di nuovo",
    "stesso problema",
    "il problema",
    "un problema",
    "not working",
    "doesn't work",
    "does not work",
    "not solved",
    "the problem",
    "an issue",
];

#[cfg(test)]
mod tests;
