//! The morning digest (`[digest]`): at the opening of each working day every operator present
//! gets one mail of what waits for them, and the supervisors what the service looks like.
//!
//! Pure, like the rest of `desk`: the caller loads the facts (`workflow::digest`), and this
//! module decides whether today is a digest day and whether it is time ([`today`]), what each
//! operator's digest lists ([`digest_of`]), the previous working day's figures ([`figures`]),
//! and how a reply to a digest splits into commands per ticket ([`plan_reply`]).
//!
//! Supervisors also get the tickets at risk and breached, those held by an operator absent
//! today (no deputy took them over), the previous working day's figures and who is absent.
//!
//! Choices, written down here once:
//! - **A digest day** is a working day of the business calendar (no weekend, holiday, extra
//!   closed day or planned suspension); the digest goes out once, at the first check at or after
//!   `[digest] at` local time. A day whose digest did not go out by its end is not sent late.
//! - **Waiting on the requester**: the latest message of the conversation on an open ticket is
//!   an operator's answer to the requester (the ball is in the requester's court). The
//!   conversation is what people wrote: the requester's (or a participant's) mail, portal and
//!   phone messages, and operators' answers; the help desk's own letters (acknowledgment,
//!   take-in, escalation) are procedure and leave the ball where it was. Those tickets are listed
//!   apart from the operator's other open tickets, never twice.
//! - **The queue** of an operator is the open tickets of their level nobody holds (the first
//!   level's unassigned queue; for second level, the escalations sent to level 2 as a whole).
//! - **Nothing to report** still makes a short digest ("nessuna richiesta aperta"): a digest that
//!   does not arrive cannot be told from one that was not sent.
//! - **Yesterday's figures** are those of the previous working day together with the closed days
//!   after it (a Monday's cover Friday, Saturday and Sunday), so nothing received between two
//!   digests is left out. Each clock is decided once: met on the day it stopped in time,
//!   breached on the day its deadline passed.
//! - **Answering**: a reply to the digest names the ticket after each tag (`#prendo
//!   TCK-2026-00042`); lines naming different tickets act each on its own, as a keyed reply to
//!   that ticket's notice would (each decided and answered on its own: one refused ticket does
//!   not stop another). Only the tickets the digest listed can be named. A mistake in the mail
//!   itself (a tag line naming no ticket, an unknown tag, text below the tags when several
//!   tickets are named) refuses the whole mail; a reply whose tags need no ticket (`#coda`,
//!   `#assente`) is read as a new mail.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::queue::{self, QueueLine};
use super::roster;
use super::watch::business_span;
use crate::commands::{Command, CommandError, Problem, parse_commands};
use crate::config::{Language, Operator};
use crate::model::TicketId;
use crate::sla::standing::State;
use crate::sla::{Calendar, ClosedReason};

/// How far back a previous working day is looked for (a long suspension, then holidays).
const LOOK_BACK_DAYS: i64 = 60;

/// Where the digest of a day stands at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Today {
    /// The day is closed: no digest.
    Closed(ClosedReason),
    /// The day's digests went out already.
    Sent,
    /// A digest day, before `[digest] at`.
    Early,
    /// Time to send the day's digests.
    Due,
}

/// The local day of `now`.
pub fn local_day(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// Whether the digests of `now`'s local day are due: never on a closed day, once a day
/// (`last_sent` is the last day they went out), at or after `at` local time.
pub fn today(
    calendar: &Calendar,
    now: DateTime<Utc>,
    at: NaiveTime,
    last_sent: Option<NaiveDate>,
) -> (NaiveDate, Today) {
    let local = now.with_timezone(&calendar.timezone());
    let day = local.date_naive();
    let state = if let Some(reason) = calendar.closed_reason(day) {
        Today::Closed(reason)
    } else if last_sent.is_some_and(|last| last >= day) {
        Today::Sent
    } else if local.time() < at {
        Today::Early
    } else {
        Today::Due
    };
    (day, state)
}

/// The days yesterday's figures cover: the working day before `today` and the closed days
/// after it, up to the day before `today`. None when no working day precedes it within
/// [`LOOK_BACK_DAYS`].
pub fn figures_period(calendar: &Calendar, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let yesterday = today.pred_opt()?;
    (1..=LOOK_BACK_DAYS)
        .map(|back| today - TimeDelta::days(back))
        .find(|d| calendar.is_working_day(*d))
        .map(|from| (from, yesterday))
}

/// One open ticket's current cycle, as the digest needs it.
#[derive(Debug, Clone)]
pub struct OpenTicket<'a> {
    /// The ticket and what `#coda` shows of it.
    pub queue: queue::OpenTicket<'a>,
    /// Business seconds left on the running clock (negative once past its deadline).
    pub left_seconds: i64,
    /// Where the running clock stands (the SLA watch's own assessment).
    pub state: State,
    /// The latest message of the conversation, if any.
    pub last: Option<LastMessage<'a>>,
}

/// The latest message people wrote on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastMessage<'a> {
    /// An operator's answer to the requester (else the requester's or a participant's).
    pub by_desk: bool,
    /// Who wrote it: the operator's address, or the requester's name or address.
    pub who: &'a str,
    /// When.
    pub at: DateTime<Utc>,
}

/// One line of a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The ticket as `#coda` shows it: deadline words, due, holder, requester, marker.
    pub queue: QueueLine,
    /// Business seconds left (negative once past the deadline).
    pub left_seconds: i64,
    /// Ok, at risk or breached.
    pub state: State,
    /// The latest message: who (a name when it is an operator) and when.
    pub last: Option<(String, DateTime<Utc>)>,
    /// Someone holds the ticket (`queue.holder` names them).
    pub held: bool,
}

/// An operator absent today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absent {
    /// Their name.
    pub name: String,
    /// Their address.
    pub email: String,
    /// The last day of the absence; None when the configuration marks them away.
    pub until: Option<NaiveDate>,
}

/// One clock's tally over the figures' days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Share {
    /// Stopped in time.
    pub met: u32,
    /// Decided (met, or breached on one of the days).
    pub decided: u32,
}

impl Share {
    /// Met as a whole percentage of the decided ones (None when none was decided).
    pub fn percent(&self) -> Option<u32> {
        (self.decided > 0).then(|| ((f64::from(self.met) * 100.0 / f64::from(self.decided)).round()) as u32)
    }
}

/// The figures of the previous working day (and the closed days after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    /// The first day counted.
    pub from: NaiveDate,
    /// The last day counted.
    pub to: NaiveDate,
    /// Requests received (new and reopened: each opens an SLA cycle).
    pub received: u32,
    /// Taken in (the confirmation left, or the call-back was recorded).
    pub taken_in: u32,
    /// Resolved (the closing mail left).
    pub resolved: u32,
    /// Take-in (TP) met over decided.
    pub take_in: Share,
    /// Resolution (TR) met over decided.
    pub resolution: Share,
}

/// One SLA cycle's instants, as the figures need them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleFacts {
    /// Received.
    pub received_at: DateTime<Utc>,
    /// Take-in due.
    pub take_in_due: DateTime<Utc>,
    /// When the take-in confirmation left (or the call-back was recorded).
    pub take_in_done: Option<DateTime<Utc>>,
    /// Resolution due, once taken in.
    pub resolution_due: Option<DateTime<Utc>>,
    /// When the closing mail left.
    pub resolution_done: Option<DateTime<Utc>>,
}

/// Counts the cycles' facts over the local days `from..=to`; `now` is the digest's instant
/// (a deadline counts as breached only once passed).
pub fn figures(cycles: &[CycleFacts], from: NaiveDate, to: NaiveDate, tz: Tz, now: DateTime<Utc>) -> Figures {
    let within = |t: DateTime<Utc>| (from..=to).contains(&local_day(tz, t));
    let mut out = Figures {
        from,
        to,
        received: 0,
        taken_in: 0,
        resolved: 0,
        take_in: Share::default(),
        resolution: Share::default(),
    };
    // Met on the day the clock stopped in time; breached on the day its deadline passed.
    // (A clock met before the days counted is not breached on them when its deadline falls
    // there.)
    let tally = |share: &mut Share, due: DateTime<Utc>, done: Option<DateTime<Utc>>| match done.filter(|d| *d <= due) {
        Some(done) => {
            let counted = u32::from(within(done));
            share.met += counted;
            share.decided += counted;
        }
        None if due < now && within(due) => share.decided += 1,
        None => {}
    };
    for c in cycles {
        out.received += u32::from(within(c.received_at));
        out.taken_in += u32::from(c.take_in_done.is_some_and(within));
        out.resolved += u32::from(c.resolution_done.is_some_and(within));
        tally(&mut out.take_in, c.take_in_due, c.take_in_done);
        if let Some(due) = c.resolution_due {
            tally(&mut out.resolution, due, c.resolution_done);
        }
    }
    out
}

/// Who is absent on `today`: marked away in the configuration, or with a recorded absence
/// (`recorded`: operator address and last day) covering it. Only configured operators.
pub fn absent_today(roster: &[Operator], recorded: &[(String, NaiveDate)], today: NaiveDate) -> Vec<Absent> {
    roster
        .iter()
        .filter_map(|o| {
            let until = recorded
                .iter()
                .filter(|(who, until)| who.eq_ignore_ascii_case(&o.email) && *until >= today)
                .map(|(_, until)| *until)
                .max();
            match (o.away, until) {
                (true, _) => Some(Absent {
                    name: o.name.clone(),
                    email: o.email.clone(),
                    until: None,
                }),
                (false, Some(until)) => Some(Absent {
                    name: o.name.clone(),
                    email: o.email.clone(),
                    until: Some(until),
                }),
                (false, None) => None,
            }
        })
        .collect()
}

/// The operators who get a digest today: every configured one not absent.
pub fn recipients<'r>(roster: &'r [Operator], recorded: &[(String, NaiveDate)], today: NaiveDate) -> Vec<&'r Operator> {
    roster
        .iter()
        .filter(|o| {
            !o.away
                && !recorded
                    .iter()
                    .any(|(who, until)| who.eq_ignore_ascii_case(&o.email) && *until >= today)
        })
        .collect()
}

/// The supervisors' part of a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversight {
    /// Open tickets past the warning share of their running clock, most urgent first.
    pub at_risk: Vec<Line>,
    /// Open tickets past their deadline, most overdue first.
    pub breached: Vec<Line>,
    /// Open tickets held by an operator absent today (no deputy took them over).
    pub held_by_absent: Vec<Line>,
    /// Yesterday's figures (None when no working day precedes today).
    pub figures: Option<Figures>,
    /// Operators absent today.
    pub absent: Vec<Absent>,
}

/// One operator's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The operator's address.
    pub operator: String,
    /// Their open tickets where the ball is in their court, by deadline.
    pub mine: Vec<Line>,
    /// Their open tickets waiting on the requester, by deadline.
    pub waiting: Vec<Line>,
    /// The tickets of their level nobody holds, by deadline.
    pub queue: Vec<Line>,
    /// For supervisors.
    pub oversight: Option<Oversight>,
}

impl Digest {
    /// Nothing open waits for this operator (the short digest).
    pub fn nothing_open(&self) -> bool {
        self.mine.is_empty() && self.waiting.is_empty() && self.queue.is_empty()
    }

    /// Every ticket the digest lists, once each, in order: a reply may name these.
    pub fn tickets(&self) -> Vec<TicketId> {
        let oversight = self
            .oversight
            .iter()
            .flat_map(|o| o.at_risk.iter().chain(&o.breached).chain(&o.held_by_absent));
        let mut out: Vec<TicketId> = Vec::new();
        for line in self
            .mine
            .iter()
            .chain(&self.waiting)
            .chain(&self.queue)
            .chain(oversight)
        {
            if !out.contains(&line.queue.ticket) {
                out.push(line.queue.ticket);
            }
        }
        out
    }
}

/// What surrounds the digests of one day.
#[derive(Clone, Copy)]
pub struct Setting<'a> {
    /// Every operator.
    pub roster: &'a [Operator],
    /// The operators' language.
    pub language: Language,
    /// The digest's instant.
    pub now: DateTime<Utc>,
}

/// The digest of `operator` from every open ticket; `figures` and `absent` go to supervisors.
pub fn digest_of(
    operator: &Operator,
    open: &[OpenTicket<'_>],
    figures: Option<Figures>,
    absent: &[Absent],
    setting: &Setting<'_>,
) -> Digest {
    let lines = |keep: &dyn Fn(&OpenTicket<'_>) -> bool| lines(open, keep, setting);
    let holds = |t: &OpenTicket<'_>| {
        t.queue
            .assignee
            .is_some_and(|a| a.eq_ignore_ascii_case(&operator.email))
    };
    let waits = |t: &OpenTicket<'_>| t.last.is_some_and(|m| m.by_desk);
    let supervisor = roster::supervisors(setting.roster)
        .iter()
        .any(|s| s.email.eq_ignore_ascii_case(&operator.email));
    Digest {
        operator: operator.email.clone(),
        mine: lines(&|t| holds(t) && !waits(t)),
        waiting: lines(&|t| holds(t) && waits(t)),
        queue: lines(&|t| t.queue.assignee.is_none() && t.queue.level == operator.level),
        oversight: supervisor.then(|| Oversight {
            at_risk: lines(&|t| t.state == State::AtRisk),
            breached: lines(&|t| t.state == State::Breached),
            held_by_absent: lines(&|t| {
                t.queue
                    .assignee
                    .is_some_and(|a| absent.iter().any(|o| o.email.eq_ignore_ascii_case(a)))
            }),
            figures,
            absent: absent.to_vec(),
        }),
    }
}

/// The kept tickets as digest lines, most urgent first (the order of `#coda`).
fn lines(open: &[OpenTicket<'_>], keep: &dyn Fn(&OpenTicket<'_>) -> bool, setting: &Setting<'_>) -> Vec<Line> {
    let kept: Vec<&OpenTicket<'_>> = open.iter().filter(|t| keep(t)).collect();
    let by_ticket: BTreeMap<TicketId, &OpenTicket<'_>> = kept.iter().map(|t| (t.queue.ticket, *t)).collect();
    let facts: Vec<queue::OpenTicket<'_>> = kept.iter().map(|t| t.queue.clone()).collect();
    queue::lines(&facts, setting.roster, setting.language, setting.now)
        .into_iter()
        .filter_map(|q| {
            let t = by_ticket.get(&q.ticket)?;
            let last = t.last.map(|m| {
                let who = if m.by_desk {
                    roster::by_address(setting.roster, m.who).map_or_else(|| m.who.to_string(), |o| o.name.clone())
                } else {
                    m.who.to_string()
                };
                (who, m.at)
            });
            Some(Line {
                held: t.queue.assignee.is_some(),
                left_seconds: t.left_seconds,
                state: t.state,
                last,
                queue: q,
            })
        })
        .collect()
}

/// Business time left in words, negative once past the deadline: "2 h 15 min lavorativi",
/// "-25 min lavorativi".
pub fn left_words(language: Language, left_seconds: i64) -> String {
    let span = business_span(language, left_seconds.abs() / 60);
    if left_seconds < 0 { format!("-{span}") } else { span }
}

/// A clock's state in words.
pub fn state_words(language: Language, state: State) -> &'static str {
    match (language, state) {
        (Language::It, State::Ok) => "in tempo",
        (Language::It, State::AtRisk) => "a rischio",
        (Language::It, State::Breached) => "scaduta",
        (Language::En, State::Ok) => "on time",
        (Language::En, State::AtRisk) => "at risk",
        (Language::En, State::Breached) => "breached",
    }
}

/// What a reply to a digest asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyPlan {
    /// No tag line names a ticket: the mail is read as a new mail would be (`#coda`,
    /// `#assente`, …), or refused by the caller when its tags need a ticket.
    NoTicket,
    /// Mistakes: nothing is applied, the operator is told each.
    Refused(Vec<CommandError>),
    /// The commands for each ticket named, in the order first named.
    Tickets(Vec<TicketCommands>),
}

/// The commands a digest reply gives one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketCommands {
    /// The ticket named.
    pub ticket: TicketId,
    /// Its commands, in order.
    pub commands: Vec<Command>,
    /// Its text (the text on its tag lines; the text below the tags when it is the only ticket).
    pub body: String,
}

/// Splits a reply to a digest into commands per ticket. Each tag line names its ticket right
/// after its first tag (`#prendo TCK-2026-00042`, `#nota TCK-2026-00042 chiamato l'utente`); a
/// tag line naming none is a mistake once any line names one; the text below the tags belongs
/// to the ticket only when the mail names one ticket.
pub fn plan_reply(text: &str) -> ReplyPlan {
    let lines: Vec<&str> = text.lines().collect();
    let mut at = 0;
    let skip_blank = |at: &mut usize| {
        while lines.get(*at).is_some_and(|l| l.trim().is_empty()) {
            *at += 1;
        }
    };
    skip_blank(&mut at);
    if lines.get(at).is_some_and(|l| crate::commands::is_greeting(l)) {
        let mut after = at + 1;
        skip_blank(&mut after);
        if lines.get(after).is_some_and(|l| l.trim().starts_with('#')) {
            at = after;
        }
    }
    let mut groups: Vec<(TicketId, Vec<String>)> = Vec::new();
    let mut unnamed: Vec<String> = Vec::new();
    while let Some(line) = lines.get(at).map(|l| l.trim()) {
        if !line.starts_with('#') {
            break;
        }
        match named_ticket(line) {
            Some((ticket, rest)) => match groups.iter_mut().find(|(t, _)| *t == ticket) {
                Some((_, own)) => own.push(rest),
                None => groups.push((ticket, vec![rest])),
            },
            None => unnamed.push(line.to_string()),
        }
        at += 1;
    }
    if groups.is_empty() {
        return ReplyPlan::NoTicket;
    }
    let below = lines[at.min(lines.len())..].join("\n");
    let mut errors: Vec<CommandError> = unnamed
        .into_iter()
        .map(|line| CommandError {
            line,
            problem: Problem::DigestTicketMissing,
        })
        .collect();
    if groups.len() > 1 && !below.trim().is_empty() {
        errors.push(CommandError {
            line: below
                .trim()
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(60)
                .collect(),
            problem: Problem::DigestTextForWhom,
        });
    }
    let only_one = groups.len() == 1;
    let mut planned = Vec::new();
    for (ticket, own) in groups {
        let mut text = own.join("\n");
        if only_one {
            text = format!("{text}\n{below}");
        }
        let parsed = parse_commands(&text);
        errors.extend(parsed.errors.into_iter().map(|e| CommandError {
            line: format!("{ticket}: {}", e.line),
            problem: e.problem,
        }));
        planned.push(TicketCommands {
            ticket,
            commands: parsed.commands,
            body: parsed.body,
        });
    }
    if errors.is_empty() {
        ReplyPlan::Tickets(planned)
    } else {
        ReplyPlan::Refused(errors)
    }
}

/// The ticket a tag line names right after its first tag, and the line without it.
fn named_ticket(line: &str) -> Option<(TicketId, String)> {
    let (tag, rest) = line.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let (word, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let ticket: TicketId = word.trim_matches(|c: char| "[]()<>,;:.".contains(c)).parse().ok()?;
    let after = after.trim();
    Some((
        ticket,
        if after.is_empty() {
            tag.to_string()
        } else {
            format!("{tag} {after}")
        },
    ))
}

/// The reply's tickets that were not in the digest answered.
pub fn unlisted(plan: &[TicketCommands], listed: &[TicketId]) -> Vec<CommandError> {
    plan.iter()
        .filter(|t| !listed.contains(&t.ticket))
        .map(|t| CommandError {
            line: t.ticket.to_string(),
            problem: Problem::NotInDigest { ticket: t.ticket },
        })
        .collect()
}

#[cfg(test)]
mod tests;
