//! The morning digests' edge: load the facts (open cycles and where their clocks stand, the
//! latest message of each conversation, recent cycles, absences), ask `desk::digest`, render
//! `templates/<lang>/digest.txt`, and queue one mail per operator under a Message-ID keyed to
//! them (`MacKey::digest_local_part`), inside the caller's transaction together with the day's
//! checkpoint (`store::digest`), so a day's digests go out once, across restarts.
//!
//! A reply to a digest ([`on_reply`], called first by `workflow::on_operator_mail`) acts on the
//! tickets its tag lines name, each as a keyed reply to that ticket's notice would: the same
//! rules (`desk::cmd::decide`), the same answers (keyed to the ticket). It must quote a digest
//! minted for the authenticated sender, and name only tickets that digest listed.

use chrono::{NaiveDate, NaiveTime, TimeDelta};
use minijinja::{Value, context};
use rusqlite::Connection;

use super::{Context, Report, answer_operator, is_fresh_only, ticket_commands};
use crate::commands::{CommandError, Problem, parse_commands};
use crate::config::Operator;
use crate::desk::digest::{self as rules, Absent, Digest, Figures, Line, ReplyPlan, Today};
use crate::ingest::parse::InboundMail;
use crate::model::{MailPurpose, TicketId};
use crate::notify::{OutgoingMail, Recipient, format_date};
use crate::outbox;
use crate::sla::ClosedReason;
use crate::sla::standing::assess;
use crate::store::{cycles, digest as rows, operators};

/// One operator's digest, rendered and ready to queue.
#[derive(Debug, Clone)]
pub struct Composed {
    /// Who gets it.
    pub operator: Operator,
    /// The mail.
    pub mail: OutgoingMail,
    /// The tickets it lists (a reply may name these).
    pub tickets: Vec<TicketId>,
}

/// What a request to send the digests of a day found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The day is closed: no digest.
    Closed(NaiveDate, ClosedReason),
    /// The day's digests went out already.
    AlreadySent(NaiveDate),
    /// Before `[digest] at` (only the daemon waits for it).
    NotYet(NaiveDate),
    /// Queued, this many.
    Queued(NaiveDate, usize),
}

/// The daemon's check, at every housekeeping pass: when `[digest]` is enabled and the day's
/// digests are due (a working day, at or after `at`, not sent yet), queues them and moves the
/// checkpoint, in the caller's transaction. Returns how many were queued.
pub fn send_due(conn: &Connection, ctx: &Context<'_>) -> anyhow::Result<usize> {
    if !ctx.config.digest.enabled {
        return Ok(0);
    }
    match send(conn, ctx, ctx.config.digest.at, false)? {
        Outcome::Queued(_, count) => Ok(count),
        _ => Ok(0),
    }
}

/// Queues the digests of `ctx.now`'s local day when it is a working day and it is `at` or
/// later, unless they went out already (`again` queues them once more); `sportello digest`
/// passes midnight for `at` (by hand means now).
pub fn send(conn: &Connection, ctx: &Context<'_>, at: NaiveTime, again: bool) -> anyhow::Result<Outcome> {
    let last = rows::last_sent(conn)?;
    let (day, today) = rules::today(ctx.calendar, ctx.now, at, last);
    match today {
        Today::Closed(reason) => Ok(Outcome::Closed(day, reason)),
        Today::Sent if !again => Ok(Outcome::AlreadySent(day)),
        Today::Early => Ok(Outcome::NotYet(day)),
        Today::Sent | Today::Due => {
            let composed = compose(conn, ctx, day)?;
            for digest in &composed {
                enqueue(conn, ctx, digest)?;
            }
            rows::mark_sent(conn, day, ctx.now)?;
            Ok(Outcome::Queued(day, composed.len()))
        }
    }
}

/// Where the day stands, for `sportello digest --dry-run` (nothing is written).
pub fn day_state(conn: &Connection, ctx: &Context<'_>) -> anyhow::Result<(NaiveDate, Today)> {
    Ok(rules::today(
        ctx.calendar,
        ctx.now,
        NaiveTime::MIN,
        rows::last_sent(conn)?,
    ))
}

/// Queues one composed digest under its keyed Message-ID and records the tickets it lists.
fn enqueue(conn: &Connection, ctx: &Context<'_>, digest: &Composed) -> anyhow::Result<()> {
    let local = ctx.key.digest_local_part(&digest.operator.email);
    let id = outbox::enqueue_as(
        conn,
        ctx.sender,
        &digest.mail,
        &format!("{local}@{}", ctx.sender.domain()),
        ctx.now,
    )?;
    rows::record_lines(conn, &id, &digest.tickets)?;
    Ok(())
}

/// The digests of `day` as of `ctx.now`, one per operator present, rendered (nothing written).
pub fn compose(conn: &Connection, ctx: &Context<'_>, day: NaiveDate) -> anyhow::Result<Vec<Composed>> {
    let roster = &ctx.config.operators;
    let recorded = operators::absent_on(conn, day)?;
    let recipients = rules::recipients(roster, &recorded, day);
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    let open_cycles = cycles::open_cycles(conn)?;
    let latest = rows::last_messages(conn)?;
    let open: Vec<rules::OpenTicket<'_>> = open_cycles
        .iter()
        .map(|c| {
            // The running clock, as the SLA watch assesses it (`monitor::open_standings`).
            let (started, due, budget) = match (c.take_in_at, c.resolution_due) {
                (Some(taken), Some(due)) => (taken, due, ctx.config.sla.resolution_minutes(c.level) * 60),
                _ => (
                    c.effective_start,
                    c.take_in_due,
                    ctx.config.sla.take_in_minutes(c.channel) * 60,
                ),
            };
            let standing = assess(ctx.calendar, started, due, budget, ctx.now, ctx.config.sla_warn_percent);
            rules::OpenTicket {
                queue: super::queue_ticket(c),
                left_seconds: standing.left_seconds,
                state: standing.state,
                last: latest.get(&c.ticket).map(|m| rules::LastMessage {
                    by_desk: m.by_desk,
                    who: &m.who,
                    at: m.at,
                }),
            }
        })
        .collect();
    let supervisors = crate::desk::roster::supervisors(roster);
    let any_supervisor = recipients
        .iter()
        .any(|r| supervisors.iter().any(|s| s.email.eq_ignore_ascii_case(&r.email)));
    let figures = match rules::figures_period(ctx.calendar, day) {
        Some((from, to)) if any_supervisor => {
            // A local day's instants can fall on the UTC day before: read from a day earlier.
            let start = (from - TimeDelta::days(1)).and_time(NaiveTime::MIN).and_utc();
            let cycles: Vec<rules::CycleFacts> = rows::cycles_touching(conn, start)?
                .into_iter()
                .map(|c| rules::CycleFacts {
                    received_at: c.received_at,
                    take_in_due: c.take_in_due,
                    take_in_done: c.take_in_done,
                    resolution_due: c.resolution_due,
                    resolution_done: c.resolution_done,
                })
                .collect();
            Some(rules::figures(&cycles, from, to, ctx.calendar.timezone(), ctx.now))
        }
        _ => None,
    };
    let absent = rules::absent_today(roster, &recorded, day);
    let setting = rules::Setting {
        roster,
        language: ctx.language(),
        now: ctx.now,
    };
    recipients
        .into_iter()
        .map(|operator| {
            let digest = rules::digest_of(operator, &open, figures, &absent, &setting);
            render(ctx, operator, day, &digest)
        })
        .collect()
}

/// Renders one digest (`digest.txt`).
fn render(ctx: &Context<'_>, operator: &Operator, day: NaiveDate, digest: &Digest) -> anyhow::Result<Composed> {
    let language = ctx.language();
    let line = |l: &Line| -> Value {
        let (last_who, last_at) = match &l.last {
            Some((who, at)) => (who.clone(), ctx.local(*at)),
            None => (String::new(), String::new()),
        };
        context! {
            ticket => l.queue.ticket.to_string(), subject => l.queue.subject.clone(), level => l.queue.level,
            holder => l.queue.holder.clone(), held => l.held, requester => l.queue.requester.clone(),
            deadline => l.queue.deadline, due => ctx.local(l.queue.due), marker => l.queue.marker,
            left => rules::left_words(language, l.left_seconds), state => rules::state_words(language, l.state),
            last_who => last_who, last_at => last_at,
        }
    };
    let lines = |list: &[Line]| -> Vec<Value> { list.iter().map(line).collect() };
    let figures = |f: &Figures| -> Value {
        let percent = |p: Option<u32>| p.map(|p| format!("{p}%")).unwrap_or_else(|| "—".into());
        context! {
            from => format_date(f.from, language), to => format_date(f.to, language), one_day => f.from == f.to,
            received => f.received, taken_in => f.taken_in, resolved => f.resolved,
            tp_met => f.take_in.met, tp_decided => f.take_in.decided, tp_percent => percent(f.take_in.percent()),
            tr_met => f.resolution.met, tr_decided => f.resolution.decided, tr_percent => percent(f.resolution.percent()),
        }
    };
    let absent = |a: &Absent| -> Value {
        context! { name => a.name.clone(), until => a.until.map(|d| format_date(d, language)).unwrap_or_default() }
    };
    let tickets = digest.tickets();
    let oversight = digest.oversight.as_ref();
    let vars = context! {
        name => operator.name.clone(),
        day => format_date(day, language),
        helpdesk => ctx.sender.name.clone(),
        nothing_open => digest.nothing_open(),
        mine => lines(&digest.mine),
        waiting => lines(&digest.waiting),
        queue => lines(&digest.queue),
        supervisor => oversight.is_some(),
        at_risk => oversight.map(|o| lines(&o.at_risk)).unwrap_or_default(),
        breached => oversight.map(|o| lines(&o.breached)).unwrap_or_default(),
        held_by_absent => oversight.map(|o| lines(&o.held_by_absent)).unwrap_or_default(),
        figures => oversight.and_then(|o| o.figures.as_ref()).map(figures),
        absent => oversight.map(|o| o.absent.iter().map(absent).collect::<Vec<_>>()).unwrap_or_default(),
        // The instructions' example: a ticket to take, else any the digest lists.
        example => digest.queue.first().map(|l| l.queue.ticket).or(tickets.first().copied())
            .map(|t| t.to_string()).unwrap_or_else(|| "TCK-2026-00042".into()),
    };
    let rendered = ctx.templates.render(language, "digest", vars)?;
    let to = vec![Recipient {
        name: Some(operator.name.clone()),
        address: operator.email.clone(),
    }];
    Ok(Composed {
        operator: operator.clone(),
        mail: OutgoingMail::automatic(MailPurpose::Digest, None, to, rendered),
        tickets,
    })
}

/// Whether a referenced Message-ID has the shape of a digest's (verified separately).
fn looks_like_digest(id: &str) -> bool {
    id.starts_with("digest.")
}

/// An authenticated operator's mail that names no ticket by its thread: when it answers a
/// digest, its tag lines act on the tickets they name (`#prendo TCK-2026-00042`), each ticket's
/// commands decided and answered on their own. None when it is no reply to a digest, or names
/// no ticket and asks for nothing a ticket needs (`#coda`, `#assente`, …: read as a new mail);
/// otherwise the ticket touched first, if any.
pub fn on_reply(
    conn: &Connection,
    ctx: &Context<'_>,
    operator: &Operator,
    mail: &InboundMail,
) -> anyhow::Result<Option<Option<TicketId>>> {
    let referenced = mail.referenced_ids();
    if !referenced.iter().any(|id| looks_like_digest(id)) {
        return Ok(None);
    }
    let answered = referenced
        .iter()
        .find(|id| looks_like_digest(id) && ctx.key.verifies_digest(id, &operator.email));
    let refuse = |errors: Vec<CommandError>| -> anyhow::Result<Option<Option<TicketId>>> {
        let report = Report {
            applied: Vec::new(),
            errors,
            nothing_changed: false,
        };
        answer_operator(conn, ctx, operator, mail, None, &report)?;
        Ok(Some(None))
    };
    let plan = match rules::plan_reply(&mail.fresh_text) {
        ReplyPlan::NoTicket => {
            let parsed = parse_commands(&mail.fresh_text);
            if !parsed.errors.is_empty() || parsed.commands.is_empty() || is_fresh_only(&parsed.commands) {
                return Ok(None);
            }
            let errors = parsed
                .commands
                .iter()
                .map(|c| CommandError {
                    line: crate::desk::cmd::tag_of(c).into(),
                    problem: Problem::DigestTicketMissing,
                })
                .collect();
            return refuse(errors);
        }
        ReplyPlan::Refused(errors) => return refuse(errors),
        ReplyPlan::Tickets(plan) => plan,
    };
    let Some(answered) = answered else {
        return refuse(vec![CommandError {
            line: plan.iter().map(|t| t.ticket.to_string()).collect::<Vec<_>>().join(", "),
            problem: Problem::NotAReply,
        }]);
    };
    let unlisted = rules::unlisted(&plan, &rows::listed(conn, answered)?);
    if !unlisted.is_empty() {
        return refuse(unlisted);
    }
    for t in &plan {
        let report = ticket_commands(conn, ctx, operator, t.ticket, &t.commands, &t.body)?;
        answer_operator(conn, ctx, operator, mail, Some(t.ticket), &report)?;
    }
    Ok(Some(plan.first().map(|t| t.ticket)))
}
