//! Operator commands on a ticket: the refusal rules, checked for every command of a mail before
//! anything is applied (a mail is applied whole or not at all), and what each command does.
//!
//! [`decide`] checks the mail with [`refusals`] (the rules about the mail as a whole) and then
//! folds its commands, in order, into an in-memory copy of the ticket, each command delegated to
//! its own file like mini-redis's `cmd/`: `take`, `assign`, `escalate`, `resolve`, `note`,
//! `phone`, `set_kind`, `out_of_scope`, `remote`, `time`, `kb`, `answer` (the untagged text), and
//! `fresh_only` for the tags that belong in a new mail. Each file has the command's `check` and
//! its `apply`. The commands of a new mail that names no ticket have their own files too: `new`
//! (a phone request opened by an operator); `#assente` / `#presente` are `desk::absence`.
//! `cc` (`#cc`, and who a letter's copies go to) and `spam` (`#spam`) are issue 15's.

mod answer;
pub use answer::body_is_for_a_tag;
pub mod ask;
mod assign;
pub mod canned;
pub mod cc;
mod escalate;
mod fresh_only;
mod kb;
pub mod link;
pub mod new;
mod note;
mod out_of_scope;
mod phone;
mod remote;
mod resolve;
mod set_kind;
mod spam;
pub mod take;
mod time;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::effect::Effect;
use crate::commands::{Command, CommandError, Done, Problem};
use crate::config::Operator;
use crate::model::{Level, Status, TicketId};
use crate::sla::{Calendar, SlaBudgets};

/// What the rules know of the ticket a mail is about.
#[derive(Debug, Clone, Copy)]
pub struct TicketFacts<'a> {
    /// Its id, named in the problems.
    pub id: TicketId,
    /// Where it stands.
    pub status: Status,
    /// Its level.
    pub level: Level,
    /// The requester's address, when there is one.
    pub requester_email: Option<&'a str>,
    /// Letters reach the requester: they have an address, and no delivery failure of it is
    /// believed. A requester who reads no letter is taken in by the call-back (`#telefono`)
    /// and told of the resolution by the closing call, as one without e-mail is.
    pub reads_mail: bool,
    /// Who holds it.
    pub assignee: Option<&'a str>,
    /// When its current SLA cycle was taken in.
    pub take_in_at: Option<DateTime<Utc>>,
    /// When its current SLA cycle's resolution is due, once known.
    pub resolution_due: Option<DateTime<Utc>>,
    /// Whether it has a knowledge-base entry (it was resolved, not closed out of scope).
    pub has_kb_entry: bool,
    /// The request, as the requester wrote it (shown to whoever it is handed to).
    pub request: &'a str,
    /// Minutes of work logged on it so far (`#tempo`).
    pub time_logged: i64,
    /// How many open tickets are linked to it (it is an incident's master).
    pub followers: usize,
    /// The incident's master it is linked to, if any.
    pub master: Option<TicketId>,
    /// Who is in copy of its answers (`#cc`), lowercase.
    pub copies: &'a [String],
}

impl TicketFacts<'_> {
    /// Resolved or archived: nothing but notes, knowledge-base marks and time entries apply.
    pub fn is_closed(&self) -> bool {
        matches!(self.status, Status::Resolved | Status::Archived)
    }
}

/// One operator's mail about a ticket, with what surrounds it.
#[derive(Debug, Clone, Copy)]
pub struct CommandMail<'a> {
    /// Who sent it (authenticated).
    pub operator: &'a Operator,
    /// Its commands, in order.
    pub commands: &'a [Command],
    /// The text after the tags.
    pub body: &'a str,
    /// Every configured operator (for `#assegna` and `#secondolivello NAME`).
    pub roster: &'a [Operator],
    /// The help desk's time zone (for `#remoto`'s local time).
    pub timezone: Tz,
    /// The instant the mail is applied.
    pub now: DateTime<Utc>,
    /// The absences recorded (the roster already says who is away today).
    pub absences: &'a [crate::desk::absence::Absence],
    /// What the edge looked up for the commands that name something outside the ticket.
    pub lookups: Lookups<'a>,
    /// The help desk's own address (never put in copy).
    pub helpdesk: &'a str,
}

/// The stored answers, masters and knowledge-base entries a mail names, as the edge found
/// them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lookups<'a> {
    /// Each `#risposta` name with its filled text (`None`: no such answer).
    pub answers: &'a [(String, Option<String>)],
    /// The stored answers there are (to tell an operator who mistyped one).
    pub answer_names: &'a [String],
    /// Each `#collega` ticket with its incident's master (`None`: no such ticket).
    pub masters: &'a [(TicketId, Option<link::Master>)],
    /// Each knowledge-base entry a `#kb no` names, and whether it exists.
    pub kb_entries: &'a [(i64, bool)],
}

impl<'a> CommandMail<'a> {
    /// The day the mail is applied, in the help desk's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        self.now.with_timezone(&self.timezone).date_naive()
    }

    /// The operator of the roster called `name_or_email` (see [`operator_named`]).
    pub fn operator_named(&self, name_or_email: &str) -> Option<&'a Operator> {
        operator_named(self.roster, name_or_email)
    }
}

/// The operator called `name_or_email`: the address first, then the full name, both without
/// regard to case.
pub fn operator_named<'r>(roster: &'r [Operator], name_or_email: &str) -> Option<&'r Operator> {
    let wanted = name_or_email.trim().to_lowercase();
    roster
        .iter()
        .find(|o| o.email == wanted)
        .or_else(|| roster.iter().find(|o| o.name.to_lowercase() == wanted))
}

/// Why `named` cannot be handed work today: they are away (with their last day and deputy,
/// so the sender can pick the deputy). The last day is not in the roster, so it is looked up
/// in the absences the mail carries.
fn away_problem(mail: &CommandMail<'_>, named: &Operator) -> Option<Problem> {
    if !named.away {
        return None;
    }
    let until = mail
        .absences
        .iter()
        .find(|a| a.operator.eq_ignore_ascii_case(&named.email) && a.covers(mail.today()))
        .map(|a| a.until);
    let deputy = crate::desk::roster::stand_in(mail.roster, named).map(|d| d.name.clone());
    Some(match until {
        Some(until) => Problem::OperatorAway {
            name: named.name.clone(),
            until,
            deputy,
        },
        // Away by the configuration: no last day is known.
        None => Problem::OperatorOff {
            name: named.name.clone(),
            deputy,
        },
    })
}

/// "Nobody is called so", with the names of who there is.
fn no_such_operator(mail: &CommandMail<'_>, who: &str) -> Problem {
    Problem::NoSuchOperator {
        name: who.to_string(),
        known: mail.roster.iter().map(|o| o.name.clone()).collect(),
    }
}

/// Collects the problems of one mail, each with the line it is about.
#[derive(Debug, Default)]
pub struct Refusals(Vec<CommandError>);

impl Refusals {
    fn refuse(&mut self, line: impl Into<String>, problem: Problem) {
        self.0.push(CommandError {
            line: line.into(),
            problem,
        });
    }
}

/// What surrounds the decision besides the mail: the deadlines' arithmetic.
#[derive(Clone, Copy)]
pub struct Setting<'a> {
    /// The business calendar.
    pub calendar: &'a Calendar,
    /// The budgets.
    pub sla: &'a SlaBudgets,
    /// How an instant is written to operators (local time, configured language).
    pub local_time: &'a dyn Fn(DateTime<Utc>) -> String,
    /// Days a spam sender's mail is quarantined (`[intake] spam_days`).
    pub spam_days: u32,
}

/// What one operator mail about a ticket does.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// The problems that refuse the mail whole; when there are any, nothing else is decided.
    pub refusals: Vec<CommandError>,
    /// What to write, in order.
    pub effects: Vec<Effect>,
    /// One line per command carried out, for the operator's transcript.
    pub applied: Vec<Done>,
    /// Something the operator asked for changed nothing: they are told even without a
    /// transcript, or they would wonder why the requester heard nothing.
    pub nothing_changed: bool,
}

/// The desk's copy of the ticket while one mail is decided: each command's effects are folded
/// into `ticket`, so the next command sees them without anything being read again.
struct Working<'a> {
    ticket: TicketFacts<'a>,
    decision: Decision,
    /// Who is in copy, as the mail's `#cc` lines change it.
    copies: Vec<String>,
}

impl Working<'_> {
    fn effect(&mut self, effect: Effect) {
        self.decision.effects.push(effect);
    }

    fn done(&mut self, done: Done) {
        self.decision.applied.push(done);
    }

    /// An audit event by the mail's operator.
    fn event(&mut self, mail: &CommandMail<'_>, action: crate::model::EventAction, detail: &str) {
        self.effect(Effect::Event {
            actor: mail.operator.email.clone(),
            action,
            detail: detail.to_string(),
            about: None,
        });
    }
}

/// Checks the mail and, when nothing refuses it, decides what each of its commands does. The
/// stored answers named (`#risposta`) open the text below the tags first.
pub fn decide<'a>(ticket: &TicketFacts<'a>, mail: &CommandMail<'a>, setting: &Setting<'_>) -> Decision {
    let composed = canned::with_answers(mail);
    let mail = &CommandMail {
        body: composed.as_deref().unwrap_or(mail.body),
        ..*mail
    };
    let refusals = refusals(ticket, mail);
    if !refusals.is_empty() {
        return Decision {
            refusals,
            ..Decision::default()
        };
    }
    let mut work = Working {
        ticket: *ticket,
        decision: Decision::default(),
        copies: ticket.copies.to_vec(),
    };
    for command in mail.commands {
        match command {
            Command::Take => take::apply(&mut work, mail, setting),
            Command::Assign(who) => assign::apply(&mut work, mail, setting, who),
            Command::Escalate(who) => escalate::apply(&mut work, mail, setting, who.as_deref()),
            Command::Resolve => resolve::apply(&mut work, mail, setting),
            Command::OutOfScope => out_of_scope::apply(&mut work, mail, setting),
            Command::Note => note::apply(&mut work, mail),
            Command::Phone(_) => phone::apply(&mut work, mail, setting),
            Command::SetKind(kind) => set_kind::apply(&mut work, mail, *kind),
            Command::Remote { at, minutes } => remote::apply(&mut work, mail, setting, *at, *minutes),
            Command::Time(minutes) => time::apply(&mut work, mail, *minutes),
            Command::Ask(written) => ask::apply(&mut work, mail, written),
            Command::Link(master) => link::apply(&mut work, mail, *master),
            // Its text is in the body already; a knowledge-base article used is remembered.
            Command::Canned(name) => canned::apply(&mut work, mail, name),
            Command::Cc { address, remove } => cc::apply(&mut work, mail, address, *remove),
            Command::Spam => spam::apply(&mut work, mail, setting),
            // Curating the entry waits until every other command (a resolution above all) ran.
            Command::Kb(_) => {}
            Command::KbWrong(entry) => kb::apply_wrong(&mut work, mail, *entry),
            // Refused above.
            Command::Queue
            | Command::Help
            | Command::New(_)
            | Command::Email(_)
            | Command::Away(_)
            | Command::CannedList
            | Command::Privacy { .. } => {}
        }
    }
    if let Some(Command::Kb(title)) = mail.commands.iter().find(|c| matches!(c, Command::Kb(_))) {
        kb::apply(&mut work, mail, title.as_deref());
    }
    answer::apply(&mut work, mail);
    work.decision
}

/// Every reason to refuse the mail; empty when it may be applied.
pub fn refusals(ticket: &TicketFacts<'_>, mail: &CommandMail<'_>) -> Vec<CommandError> {
    let mut out = Refusals::default();
    if mail.commands.is_empty() && mail.body.is_empty() {
        out.refuse("(vuoto)", Problem::EmptyMail);
    }
    if mail.commands.is_empty() && ticket.is_closed() {
        out.refuse(
            "(risposta)",
            Problem::AnswerOnClosed {
                ticket: ticket.id,
                status: ticket.status,
            },
        );
    }
    for command in mail.commands {
        match command {
            Command::Take => take::check(ticket, mail, &mut out),
            Command::Assign(who) => assign::check(ticket, mail, who, &mut out),
            Command::Escalate(who) => escalate::check(ticket, mail, who.as_deref(), &mut out),
            Command::Resolve => resolve::check(ticket, mail, &mut out),
            Command::Note => note::check(mail, &mut out),
            Command::Phone(_) => phone::check(mail, &mut out),
            Command::SetKind(kind) => set_kind::check(ticket, *kind, &mut out),
            Command::OutOfScope => out_of_scope::check(ticket, &mut out),
            Command::Remote { at, .. } => remote::check(ticket, mail, *at, &mut out),
            Command::Kb(_) => kb::check(ticket, mail, &mut out),
            // Any ticket may say a suggestion did not fit it, open or closed; the entry must
            // exist.
            Command::KbWrong(entry) => kb::check_wrong(mail, *entry, &mut out),
            Command::Canned(name) => canned::check(mail, name, &mut out),
            Command::Ask(written) => ask::check(mail, written, &mut out),
            Command::Link(master) => link::check(ticket, mail, *master, &mut out),
            Command::Queue
            | Command::Help
            | Command::New(_)
            | Command::Email(_)
            | Command::Away(_)
            | Command::CannedList
            | Command::Privacy { .. } => fresh_only::check(command, &mut out),
            Command::Time(_) => {}
            Command::Cc { address, remove } => cc::check(ticket, mail, address, *remove, &mut out),
            Command::Spam => spam::check(ticket, mail, &mut out),
        }
    }
    time::check(ticket, mail, &mut out);
    out.0
}

/// The tag as an operator reads it in a refusal (`#prendo`, …: the Italian spelling).
pub fn tag_of(command: &Command) -> &'static str {
    match command {
        Command::Take => "#prendo",
        Command::Assign(_) => "#assegna",
        Command::Escalate(_) => "#secondolivello",
        Command::Resolve => "#risolto",
        Command::Note => "#nota",
        Command::Phone(_) => "#telefono",
        Command::SetKind(crate::model::Kind::Complaint) => "#reclamo",
        Command::SetKind(_) => "#sollecito",
        Command::OutOfScope => "#fuoriambito",
        Command::Remote { .. } => "#remoto",
        Command::Time(_) => "#tempo",
        Command::Queue => "#coda",
        Command::Help => "#aiuto",
        Command::New(_) => "#nuovo",
        Command::Email(_) => "#email",
        Command::Away(_) => "#assente",
        Command::Kb(_) | Command::KbWrong(_) => "#kb",
        Command::Canned(_) => "#risposta",
        Command::CannedList => "#risposte",
        Command::Ask(_) => "#chiedi",
        Command::Link(_) => "#collega",
        Command::Cc { .. } => "#cc",
        Command::Spam => "#spam",
        Command::Privacy { .. } => "#privacy",
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod sla_tests;
