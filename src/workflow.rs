//! The contract's procedure: what happens to a ticket when a requester writes, when an
//! operator commands, and which mails each step sends.
//!
//! Runs inside intake's transaction (every function takes the caller's `&Connection`), so a
//! ticket change, its audit events, its SLA cycle and its outgoing mails commit together or
//! not at all. The decisions are the desk's pure functions (`desk`), unit-tested alone; this
//! module loads their facts and applies their effects.
//!
//! States: `new` → `assigned` → `resolved` → `archived`; a requester's reply to a resolved or
//! archived ticket reopens it (a new SLA cycle) back to the technician who closed it.

use std::collections::BTreeMap;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use minijinja::{Value, context};
use rusqlite::Connection;

use crate::auth::{self, MacKey};
use crate::commands::{Command, CommandError, Done, Problem, TAGS, parse_commands};
use crate::config::{Config, Language, Operator, Transcript};
use crate::desk::{
    self,
    effect::{Alarm, AlarmKind, CycleStamp, Effect, Letter},
};
use crate::ingest::parse::InboundMail;
use crate::model::{Absence, Channel, EventAction, Kind, Level, MailPurpose, NoticeKind, TicketId};
use crate::notify::templates::Templates;
use crate::notify::{OutgoingMail, Recipient, Sender, format_local};
use crate::outbox;
use crate::sla::Calendar;
use crate::store::tickets::{self, NewTicket, TicketRow, insert_event};
use crate::store::{cycles, messages, operators};

pub mod digest;

/// Everything a workflow step needs besides the connection.
pub struct Context<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// The business calendar.
    pub calendar: &'a Calendar,
    /// Mail templates.
    pub templates: &'a Templates,
    /// The help desk's identity.
    pub sender: &'a Sender,
    /// The key of notification Message-IDs.
    pub key: &'a MacKey,
    /// The instant of this change.
    pub now: DateTime<Utc>,
    /// History being imported (`sportello import`): the decisions are recorded, but nobody is
    /// written to.
    pub quiet: bool,
}

impl Context<'_> {
    fn language(&self) -> Language {
        self.config.helpdesk.language
    }

    /// An instant as operators and requesters read it: local time, configured language.
    pub fn local(&self, t: DateTime<Utc>) -> String {
        format_local(t, self.calendar.timezone(), self.language())
    }

    /// The requester's status page of a ticket, or "" when the HTTP interface is off.
    pub fn status_link(&self, ticket: &TicketRow) -> String {
        match &self.config.http {
            Some(http) => format!("{}/t/{}/{}", http.public_url, ticket.id, ticket.secret),
            None => String::new(),
        }
    }

    /// The link of the closing letter that votes `score` for cycle `cycle` of a ticket (its
    /// status page's secret keys it, like the status page), or "" when the HTTP interface is off.
    pub fn vote_link(&self, ticket: &TicketRow, cycle: u32, score: desk::privacy::Score) -> String {
        match &self.config.http {
            Some(http) => format!(
                "{}/t/{}/{}/vote/{cycle}/{}",
                http.public_url,
                ticket.id,
                ticket.secret,
                score.code()
            ),
            None => String::new(),
        }
    }

    /// The privacy notice's facts every letter and page may show (`[privacy]`).
    pub fn privacy_vars(&self) -> Value {
        privacy_vars(self.config)
    }

    fn today(&self) -> NaiveDate {
        self.now.with_timezone(&self.calendar.timezone()).date_naive()
    }

    fn event(
        &self,
        conn: &Connection,
        ticket: Option<TicketId>,
        actor: &str,
        action: EventAction,
        detail: &str,
    ) -> anyhow::Result<()> {
        insert_event(conn, ticket, self.now, actor, action, detail, None)?;
        Ok(())
    }

    /// Records that `actor` handed `ticket` to `assignee` (who the accounting credits).
    fn assigned(&self, conn: &Connection, ticket: TicketId, actor: &str, assignee: &str) -> anyhow::Result<()> {
        tickets::record_event(
            conn,
            &tickets::NewEvent {
                ticket: Some(ticket),
                at: self.now,
                actor,
                action: EventAction::Assigned,
                detail: assignee,
                operator: Some(assignee),
                message: None,
            },
        )?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// SLA cycles
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// The apply seam
// ---------------------------------------------------------------------------------------------

/// True for the effects that send mail to someone: an import of history leaves them out.
fn writes_to_someone(effect: &Effect) -> bool {
    matches!(
        effect,
        Effect::Letter { .. }
            | Effect::Acknowledge { .. }
            | Effect::NotifyOperators { .. }
            | Effect::AlertSupervisors(_)
            | Effect::OperatorRefused { .. }
            | Effect::TellOperator { .. }
            | Effect::AskColleague { .. }
    )
}

/// Turns the desk's effects into rows and outbox mail, in order, inside the caller's
/// transaction: the one place where a decision of `desk` is written.
pub fn apply(conn: &Connection, ctx: &Context<'_>, about: Option<TicketId>, effects: &[Effect]) -> anyhow::Result<()> {
    // The ticket's row, read by the first effect that needs it and kept while the effects
    // after it leave the row as it is (see `keeps_ticket_row`): a new request's letter and
    // notice read it once, not once each.
    let mut ticket_row: Option<TicketRow> = None;
    for effect in effects {
        if ctx.quiet && writes_to_someone(effect) {
            continue;
        }
        // Most effects change one ticket; alarms, reports of stuck mail and events may concern none.
        let on_ticket = || about.with_context(|| format!("{effect:?} concerns a ticket, and none was given"));
        match effect {
            Effect::OpenCycle {
                number,
                received_at,
                effective_start,
                take_in_due,
                take_in_at,
                resolution_due,
                level,
                opening,
            } => {
                cycles::insert(
                    conn,
                    &cycles::NewCycle {
                        ticket: on_ticket()?,
                        number: *number,
                        received_at: *received_at,
                        effective_start: *effective_start,
                        take_in_due: *take_in_due,
                        take_in_at: *take_in_at,
                        level: *level,
                        resolution_due: *resolution_due,
                        opened_as: opening.as_str(),
                    },
                )?;
            }
            Effect::NotifyOperators {
                to,
                kind,
                reason,
                text,
                screening,
                note,
            } => {
                let operators: Vec<&Operator> = to.iter().filter_map(|a| ctx.config.operator(a)).collect();
                let row = reload_once(conn, &mut ticket_row, on_ticket()?)?;
                let mut notice = Notice::new(*kind, reason.clone()).with_text(text.clone());
                notice.screening = *screening;
                notice.note = note.clone();
                notify_operators(conn, ctx, row, &operators, notice)?;
            }
            Effect::SetKind(kind) => tickets::set_kind(conn, on_ticket()?, *kind, ctx.now)?,
            Effect::Reopen { status, assignee } => {
                tickets::reopen(conn, on_ticket()?, *status, assignee.as_deref(), ctx.now)?
            }
            Effect::Letter { letter, stamp } => {
                let ticket = on_ticket()?;
                let row = reload_once(conn, &mut ticket_row, ticket)?;
                let sent = send_letter(conn, ctx, row, letter)?;
                if let Some(stamp) = stamp {
                    let cycle = latest_cycle(conn, ticket)?;
                    match stamp {
                        CycleStamp::TakeIn { resolution_due } => {
                            cycles::take_in(conn, cycle.id, ctx.now, sent.as_deref(), *resolution_due)?
                        }
                        CycleStamp::Resolution => cycles::resolve(conn, cycle.id, sent.as_deref(), ctx.now)?,
                        CycleStamp::TakeInAndResolution { resolution_due } => {
                            cycles::take_in(conn, cycle.id, ctx.now, sent.as_deref(), *resolution_due)?;
                            cycles::resolve(conn, cycle.id, sent.as_deref(), ctx.now)?;
                        }
                    }
                }
            }
            Effect::Assign { technician, by } => {
                let ticket = on_ticket()?;
                tickets::assign(conn, ticket, technician, ctx.now)?;
                ctx.assigned(conn, ticket, by, technician)?;
            }
            Effect::Escalate { resolution_due } => {
                let ticket = on_ticket()?;
                tickets::set_level(conn, ticket, Level::Second, ctx.now)?;
                cycles::escalate(conn, latest_cycle(conn, ticket)?.id, *resolution_due)?;
            }
            Effect::Resolve { by, outcome } => tickets::resolve(conn, on_ticket()?, by, outcome.as_str(), ctx.now)?,
            Effect::TakeInByPhone { resolution_due } => {
                let cycle = latest_cycle(conn, on_ticket()?)?;
                cycles::take_in_by_phone(conn, cycle.id, ctx.now, *resolution_due)?;
            }
            Effect::ResolvedByPhone => {
                let cycle = latest_cycle(conn, on_ticket()?)?;
                cycles::resolve_by_phone(conn, cycle.id, ctx.now)?;
            }
            Effect::LogTime { by, minutes } => operators::log_time(conn, on_ticket()?, by, *minutes, ctx.now)?,
            Effect::RecordKbResolution { text } => {
                crate::kb::record_resolution(conn, &on_ticket()?.to_string(), text, ctx.now)?;
            }
            Effect::RecordKbUse { by, entry } => {
                let ticket = on_ticket()?.to_string();
                if !crate::kb::record_use(conn, &ticket, *entry, by, ctx.now)? {
                    tracing::warn!(ticket, entry, "answer from the knowledge base: no such entry");
                }
            }
            Effect::MarkKbWrong { by, entry } => {
                let ticket = on_ticket()?.to_string();
                if !crate::kb::mark_wrong(conn, &ticket, *entry, by, ctx.now)? {
                    tracing::warn!(ticket, entry, "#kb no: no such knowledge-base entry");
                }
            }
            Effect::ReviewKbEntry { by, title } => {
                let ticket = on_ticket()?;
                if crate::kb::mark_reviewed(conn, &ticket.to_string(), title.as_deref(), ctx.now)? {
                    ctx.event(
                        conn,
                        Some(ticket),
                        by,
                        EventAction::KbReviewed,
                        title.as_deref().unwrap_or(""),
                    )?;
                }
            }
            Effect::Acknowledge { take_in_due, dropped } => {
                let ticket = on_ticket()?;
                let row = reload_once(conn, &mut ticket_row, ticket)?;
                if let Some(id) = acknowledge(conn, ctx, row, *take_in_due, dropped.clone())? {
                    ctx.event(conn, Some(ticket), "system", EventAction::Acknowledged, &id)?;
                }
            }
            Effect::MarkAlert(alert) => {
                let cycle = latest_cycle(conn, on_ticket()?)?;
                cycles::mark_alert(conn, cycle.id, alert.as_str(), ctx.now)?;
            }
            Effect::RecordAbsence {
                operator,
                from,
                until,
                deputy,
            } => operators::record_absence(conn, operator, *from, *until, deputy.as_deref())?,
            Effect::AbsenceBegan { operator } => operators::absence_began(conn, operator)?,
            Effect::EndAbsence { operator } => operators::end_absence(conn, operator)?,
            Effect::TellOperator { to, done } => tell_operator(conn, ctx, to, done)?,
            Effect::AskColleague { colleague, question } => {
                let row = reload(conn, on_ticket()?)?;
                let Some(colleague) = ctx.config.operator(colleague) else {
                    continue;
                };
                let asker = asker_name(conn, ctx, row.id)?;
                let mut notice = Notice::new(NoticeKind::Question, asker);
                notice.screening = true;
                notice.note = question.clone();
                notify_operators(conn, ctx, &row, &[colleague], notice)?;
            }
            Effect::Link { master } => tickets::link(conn, on_ticket()?, *master, ctx.now)?,
            Effect::ResolveFollowers { by, text } => {
                let Some(operator) = ctx.config.operator(by) else {
                    continue;
                };
                for follower in tickets::open_followers(conn, on_ticket()?)? {
                    let report = ticket_commands(conn, ctx, operator, follower, &[Command::Resolve], text)?;
                    for e in &report.errors {
                        ctx.event(
                            conn,
                            Some(follower),
                            by,
                            EventAction::CommandRefused,
                            &format!("{} — {}", e.line, e.problem.text(ctx.language())),
                        )?;
                    }
                }
            }
            Effect::Archive => tickets::archive(conn, on_ticket()?, ctx.now)?,
            Effect::AlertSupervisors(alarm) => alert_supervisors(conn, ctx, about, alarm)?,
            Effect::StuckMailReported { outbox_id } => {
                crate::store::outbox::failure_reported(conn, *outbox_id, ctx.now)?
            }
            Effect::OperatorRefused { to, subject, reason } => tell_refused_operator(conn, ctx, to, subject, reason)?,
            Effect::Event {
                actor,
                action,
                detail,
                about: operator,
            } => tickets::record_event(
                conn,
                &tickets::NewEvent {
                    ticket: about,
                    at: ctx.now,
                    actor,
                    action: *action,
                    detail,
                    operator: operator.as_deref(),
                    message: None,
                },
            )?,
            Effect::SetCopy { address, copied } => {
                let ticket = on_ticket()?;
                if *copied {
                    crate::store::delivery::add_copied(conn, ticket, address, true)?;
                } else {
                    crate::store::delivery::remove_copied(conn, ticket, address)?;
                }
            }
            Effect::CloseAsSpam { by } => crate::store::spam::close_ticket(conn, on_ticket()?, by, ctx.now)?,
            Effect::QuarantineSender { address, until, by } => {
                crate::store::spam::mark_sender(conn, address, *until, about, by, ctx.now)?
            }
            Effect::RecordVote {
                cycle_id,
                score,
                comment,
                via,
            } => {
                crate::store::survey::record(
                    conn,
                    *cycle_id,
                    on_ticket()?,
                    score.number(),
                    comment,
                    via.as_str(),
                    ctx.now,
                )?;
            }
        }
        if !keeps_ticket_row(effect) {
            ticket_row = None;
        }
    }
    Ok(())
}

/// True for the effects that change nothing the effects read from the ticket's row (a cycle,
/// a letter or a notice with their history, an alert's mark, an event): the row read before
/// them still serves after them. Only its count of messages moves (a letter adds one), which
/// no effect reads. Any other effect may change the row, and the next reader reads it again.
fn keeps_ticket_row(effect: &Effect) -> bool {
    matches!(
        effect,
        Effect::OpenCycle { .. }
            | Effect::NotifyOperators { .. }
            | Effect::Letter { .. }
            | Effect::Acknowledge { .. }
            | Effect::MarkAlert(_)
            | Effect::Event { .. }
    )
}

/// The ticket's row from `cache`, read into it first when it is empty (one `apply` concerns
/// one ticket, so whatever the cache holds is that ticket's).
fn reload_once<'c>(
    conn: &Connection,
    cache: &'c mut Option<TicketRow>,
    ticket: TicketId,
) -> anyhow::Result<&'c TicketRow> {
    match cache {
        Some(row) => Ok(row),
        None => Ok(cache.insert(reload(conn, ticket)?)),
    }
}

/// The ticket's current SLA cycle (every ticket has one from the moment it opens).
fn latest_cycle(conn: &Connection, ticket: TicketId) -> anyhow::Result<cycles::LatestCycle> {
    cycles::latest(conn, ticket)?.with_context(|| format!("ticket {ticket} has no SLA cycle"))
}

/// What intake noticed about a request that came by mail (nothing, for the other channels).
#[derive(Debug, Clone, Copy, Default)]
pub struct MailSigns<'a> {
    /// Tickets it may duplicate (the sender's open ones, or others' it quotes).
    pub possible_duplicates: &'a [TicketId],
    /// The trusted `Authentication-Results` saying `dmarc=fail`, when it does.
    pub dmarc_failure: Option<&'a str>,
}

/// A new request's ticket was just opened (its message and attachments stored): the desk's
/// rule for every channel — SLA cycle, first-level notice, acknowledgment — applied.
pub fn open_request(
    conn: &Connection,
    ctx: &Context<'_>,
    ticket: &TicketRow,
    received_at: DateTime<Utc>,
    text: &str,
    dropped: &[String],
    signs: &MailSigns<'_>,
) -> anyhow::Result<()> {
    let acks_last_hour = match &ticket.requester_email {
        Some(address) => outbox::acks_since(conn, address, ctx.now - chrono::TimeDelta::hours(1))?,
        None => 0,
    };
    let request = desk::request::NewRequest {
        channel: ticket.channel,
        received_at,
        text,
        requester_email: ticket.requester_email.as_deref(),
        dropped,
        acks_last_hour,
        possible_duplicates: signs.possible_duplicates,
        dmarc_failure: signs.dmarc_failure,
    };
    let (roster, _) = roster_today(conn, ctx)?;
    let setting = desk::request::Setting {
        calendar: ctx.calendar,
        sla: &ctx.config.sla,
        roster: &roster,
        ack_rate_per_hour: ctx.config.intake.ack_rate_per_hour,
    };
    apply(conn, ctx, Some(ticket.id), &desk::request::opened(&request, &setting))
}

// ---------------------------------------------------------------------------------------------
// Mail helpers
// ---------------------------------------------------------------------------------------------

/// Threading for a letter to the requester: In-Reply-To their latest message, References the
/// ticket's thread (oldest first, at most 10 ids).
fn thread_refs(conn: &Connection, ticket: TicketId) -> anyhow::Result<(Option<String>, Vec<String>)> {
    let rows = messages::thread_ids(conn, ticket)?;
    let last_in = rows.iter().rev().find(|(_, d)| d == "in").map(|(id, _)| id.clone());
    let mut refs: Vec<String> = rows.into_iter().map(|(id, _)| id).collect();
    if refs.len() > 10 {
        let keep_first = refs[0].clone();
        refs.drain(..refs.len() - 9);
        refs.insert(0, keep_first);
    }
    Ok((last_in, refs))
}

/// Sends a letter to the requester (no-op, with an event, when they have no usable address).
fn letter(
    conn: &Connection,
    ctx: &Context<'_>,
    ticket: &TicketRow,
    purpose: MailPurpose,
    template: &str,
    mut vars: BTreeMap<&'static str, Value>,
    attachments: Vec<(String, String, Vec<u8>)>,
) -> anyhow::Result<Option<String>> {
    let Some(address) = ticket.requester_email.clone() else {
        ctx.event(
            conn,
            Some(ticket.id),
            "system",
            EventAction::NoMail,
            &format!("{purpose}: the requester has no e-mail address"),
        )?;
        return Ok(None);
    };
    if crate::store::delivery::is_undeliverable(conn, ticket.id, &address, ctx.now)? {
        ctx.event(
            conn,
            Some(ticket.id),
            "system",
            EventAction::NoMail,
            &format!("{purpose}: {address} is undeliverable"),
        )?;
        return Ok(None);
    }
    vars.insert("ticket", Value::from(ticket.id.to_string()));
    vars.insert("subject", Value::from(ticket.subject.clone()));
    vars.insert("helpdesk", Value::from(ctx.sender.name.clone()));
    vars.insert(
        "name",
        Value::from(crate::notify::letter::addressee(ticket.requester_name.as_deref())),
    );
    vars.insert("privacy", ctx.privacy_vars());
    let rendered = ctx
        .templates
        .render(ctx.language(), template, Value::from(vars.clone()))?;
    let (in_reply_to, references) = thread_refs(conn, ticket.id)?;
    let mut copies = copies_of(conn, ctx, ticket, purpose, &address)?;
    // The vote's links open the requester's status page: the copies get the closing letter
    // apart, without them.
    if purpose == MailPurpose::Closing && !copies.is_empty() {
        vars.insert("vote_links", Value::from(BTreeMap::<String, String>::new()));
        vars.insert("copy", Value::from(true));
        let apart = ctx.templates.render(ctx.language(), template, Value::from(vars))?;
        let copy = OutgoingMail {
            purpose: MailPurpose::ClosingCopy,
            ticket: Some(ticket.id),
            to: std::mem::take(&mut copies)
                .into_iter()
                .map(|address| Recipient { name: None, address })
                .collect(),
            subject: apart.subject,
            body: apart.body,
            in_reply_to: in_reply_to.clone(),
            references: references.clone(),
            automatic: false,
            attachments: attachments.clone(),
        };
        outbox::enqueue(conn, ctx.sender, &copy, ctx.now)?;
    }
    let mail = OutgoingMail {
        purpose,
        ticket: Some(ticket.id),
        to: std::iter::once(Recipient {
            name: ticket.requester_name.clone(),
            address,
        })
        .chain(copies.into_iter().map(|address| Recipient { name: None, address }))
        .collect(),
        subject: rendered.subject,
        body: rendered.body,
        in_reply_to,
        references,
        automatic: !matches!(
            purpose,
            MailPurpose::Answer | MailPurpose::Closing | MailPurpose::Remote | MailPurpose::OutOfScope
        ),
        attachments,
    };
    Ok(Some(outbox::enqueue(conn, ctx.sender, &mail, ctx.now)?))
}

/// Who a letter of `purpose` to `requester` is copied to (`[operators] copy_requester_cc`):
/// the ticket's copies as `desk::cmd::cc` chooses them, for the answers and closing letters.
fn copies_of(
    conn: &Connection,
    ctx: &Context<'_>,
    ticket: &TicketRow,
    purpose: MailPurpose,
    requester: &str,
) -> anyhow::Result<Vec<String>> {
    if !desk::cmd::cc::is_copied(purpose) || !ctx.config.operators_settings.copy_requester_cc {
        return Ok(Vec::new());
    }
    let stored = crate::store::delivery::copies(conn, ticket.id, ctx.now)?;
    let copies: Vec<desk::cmd::cc::Copy<'_>> = stored
        .iter()
        .map(|c| desk::cmd::cc::Copy {
            address: &c.address,
            undeliverable: c.undeliverable,
        })
        .collect();
    let chosen = desk::cmd::cc::recipients(&copies, requester, &ctx.config.operators, &ctx.config.helpdesk.address);
    Ok(chosen.into_iter().map(str::to_string).collect())
}

/// How long the download link of a file too large to attach to a notice works.
pub const FILE_LINK_DAYS: i64 = 30;

/// A mail's attachments: (file name, content type, bytes).
type MailFiles = Vec<(String, String, Vec<u8>)>;

/// Files carried by a mail up to `[intake] notice_attachment_bytes` in total, and the list of
/// all of them for its text (name, type, size, and whether it is attached).
fn carried_files(
    ctx: &Context<'_>,
    files: &[crate::store::attachments::StoredFile],
) -> anyhow::Result<(MailFiles, Vec<Value>)> {
    let mut budget = ctx.config.intake.notice_attachment_bytes;
    let mut carried = Vec::new();
    let mut listed = Vec::new();
    for file in files {
        let attached = match &file.sha256 {
            Some(sha) if file.size <= budget => {
                let bytes = crate::store::attachments::read(&ctx.config.helpdesk.data_dir, sha)?;
                budget -= file.size;
                carried.push((file.filename.clone(), file.content_type.clone(), bytes));
                true
            }
            _ => false,
        };
        // Beyond the bound, a signed link that expires (when the HTTP interface is on).
        let link = match (&ctx.config.http, attached, &file.sha256) {
            (Some(http), false, Some(_)) => {
                let expires = (ctx.now + chrono::TimeDelta::days(FILE_LINK_DAYS)).timestamp();
                let data = format!("{}/{expires}", file.id);
                format!("{}/f/{data}/{}", http.public_url, ctx.key.sign("file", &data))
            }
            _ => String::new(),
        };
        listed.push(
            context! { name => file.filename.clone(), content_type => file.content_type.clone(),
            size => human_size(file.size), attached, kept => file.sha256.is_some(), link },
        );
    }
    Ok((carried, listed))
}

/// "820 B", "14 KB", "2,3 MB".
fn human_size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{} KB", bytes / 1024),
        _ => format!("{:.1} MB", bytes as f64 / 1_048_576.0).replace('.', ","),
    }
}

/// Sends the requester the desk's `letter`; returns its Message-ID, none when it could not
/// leave (no usable address: an event says so).
fn send_letter(
    conn: &Connection,
    ctx: &Context<'_>,
    ticket: &TicketRow,
    letter: &Letter,
) -> anyhow::Result<Option<String>> {
    let text = |t: &str| Value::from(t.to_string());
    let (purpose, template, vars, attachments) = match letter {
        Letter::TakeIn {
            technician,
            resolution_due,
        } => (
            MailPurpose::TakeIn,
            "take_in",
            BTreeMap::from([
                ("technician", text(technician)),
                ("resolution_due", Value::from(ctx.local(*resolution_due))),
            ]),
            Vec::new(),
        ),
        Letter::Escalated {
            resolution_due,
            technician,
        } => (
            MailPurpose::Escalated,
            "escalated",
            BTreeMap::from([
                ("resolution_due", Value::from(ctx.local(*resolution_due))),
                ("technician", Value::from(technician.clone().unwrap_or_default())),
            ]),
            Vec::new(),
        ),
        Letter::Closing {
            text: body,
            operator,
            signed,
        } => {
            // The three faces of the vote, for the cycle this letter closes.
            let cycle = latest_cycle(conn, ticket.id)?.number;
            let links: BTreeMap<String, String> = desk::privacy::Score::ALL
                .iter()
                .map(|score| (score.code().to_string(), ctx.vote_link(ticket, cycle, *score)))
                .filter(|(_, link)| !link.is_empty())
                .collect();
            (
                MailPurpose::Closing,
                "closing",
                BTreeMap::from([
                    ("text", text(body)),
                    ("operator", text(operator)),
                    ("signed", Value::from(*signed)),
                    ("vote_links", Value::from(links)),
                    ("vote_days", Value::from(ctx.config.survey.days)),
                    ("copy", Value::from(false)),
                ]),
                Vec::new(),
            )
        }
        Letter::OutOfScope { text: body, operator } => (
            MailPurpose::OutOfScope,
            "out_of_scope",
            BTreeMap::from([
                ("text", text(body)),
                ("operator", text(operator)),
                ("contacts", text(&ctx.config.helpdesk.out_of_scope_contacts)),
            ]),
            Vec::new(),
        ),
        Letter::Remote {
            start,
            minutes,
            operator,
            text: body,
        } => {
            let session = crate::notify::ics::Session {
                ticket: ticket.id,
                subject: &ticket.subject,
                attendee: ticket.requester_email.as_deref().unwrap_or_default(),
                technician: operator,
                start: *start,
                minutes: *minutes,
            };
            let ics = crate::notify::ics::invitation(&session, ctx.sender, ctx.now);
            (
                MailPurpose::Remote,
                "remote",
                BTreeMap::from([
                    ("when", Value::from(ctx.local(*start))),
                    ("minutes", Value::from(*minutes)),
                    ("operator", text(operator)),
                    ("text", text(body)),
                ]),
                vec![(
                    "assistenza-remota.ics".into(),
                    "text/calendar; method=REQUEST; charset=utf-8".into(),
                    ics.into_bytes(),
                )],
            )
        }
        Letter::Answer {
            text: body,
            operator,
            signed,
        } => (
            MailPurpose::Answer,
            "answer",
            BTreeMap::from([
                ("text", text(body)),
                ("operator", text(operator)),
                ("signed", Value::from(*signed)),
            ]),
            Vec::new(),
        ),
        Letter::Reopened { technician } => (
            MailPurpose::Reopened,
            "reopened",
            BTreeMap::from([("technician", text(technician.as_deref().unwrap_or_default()))]),
            Vec::new(),
        ),
        Letter::Vote { score, recorded, until } => (
            MailPurpose::Vote,
            "vote",
            BTreeMap::from([
                ("score", text(score.code())),
                ("recorded", Value::from(*recorded)),
                ("until", Value::from(ctx.local(*until))),
            ]),
            Vec::new(),
        ),
    };
    // An operator's own files (a PDF guide) go to the requester with their answer or
    // resolution, within the same bound as notices.
    let attachments = if matches!(letter, Letter::Answer { .. } | Letter::Closing { .. }) {
        let files = crate::store::attachments::of_operator_mail(conn, &ticket.id.to_string())?;
        carried_files(ctx, &files)?.0
    } else {
        attachments
    };
    self::letter(conn, ctx, ticket, purpose, template, vars, attachments)
}

/// What an operator notice is about.
pub struct Notice {
    /// The `kind` the operator template switches on.
    pub kind: NoticeKind,
    /// A short reason or detail.
    pub reason: String,
    /// The message text to quote.
    pub text: String,
    /// Include the ticket's whole screening (escalation).
    pub screening: bool,
    /// The handover note of the operator who passed the ticket on.
    pub note: String,
}

impl Notice {
    /// A notice of `kind` with a reason.
    pub fn new(kind: NoticeKind, reason: impl Into<String>) -> Notice {
        Notice {
            kind,
            reason: reason.into(),
            text: String::new(),
            screening: false,
            note: String::new(),
        }
    }

    /// Adds the quoted text.
    pub fn with_text(mut self, text: impl Into<String>) -> Notice {
        self.text = text.into();
        self
    }
}

/// Sends a notice to each operator in `to`, each under its own keyed Message-ID, so a reply
/// to it can command the ticket.
pub fn notify_operators(
    conn: &Connection,
    ctx: &Context<'_>,
    ticket: &TicketRow,
    to: &[&Operator],
    notice: Notice,
) -> anyhow::Result<()> {
    if to.is_empty() {
        return Ok(());
    }
    let cycle = cycles::latest(conn, ticket.id)?;
    let screening: Vec<Value> = if notice.screening {
        screening(conn, ctx, ticket.id)?
    } else {
        Vec::new()
    };
    // A new request comes with up to three similar past solutions, only those the knowledge
    // base is sure enough of (the notice says when there is none).
    let suggestions: Vec<Value> = if notice.kind == NoticeKind::New {
        crate::kb::suggest(conn, &format!("{} {}", ticket.subject, notice.text), 3, ctx.now)?
            .iter()
            .map(|h| context! { id => format!("KB-{}", h.entry.id), title => h.entry.title.clone(), excerpt => h.excerpt(120) })
            .collect()
    } else {
        Vec::new()
    };
    // What the requester sent comes along (issue 14, item 6: a reply with only a screenshot
    // reached the technician as an empty notice).
    let about_their_mail = matches!(
        notice.kind,
        NoticeKind::New | NoticeKind::Message | NoticeKind::Reopened | NoticeKind::Reminder | NoticeKind::Complaint
    );
    let (carried, files) = if about_their_mail {
        carried_files(
            ctx,
            &crate::store::attachments::of_latest_request(conn, &ticket.id.to_string())?,
        )?
    } else {
        (Vec::new(), Vec::new())
    };
    // A 2 MB one-line message must not make a 2 MB notice: the ticket keeps the whole text.
    let (quoted, text_cut) = crate::notify::bounded_text(&notice.text, ctx.config.intake.notice_text_bytes);
    let vars = context! {
        kind => notice.kind.as_str(),
        ticket => ticket.id.to_string(),
        subject => ticket.subject.clone(),
        requester => crate::notify::requester_label(ticket.requester_name.as_deref(), ticket.requester_email.as_deref(), ticket.requester_phone.as_deref()),
        pratica => ticket.pratica.clone().unwrap_or_default(),
        holder => ticket.assignee.as_deref().and_then(|a| ctx.config.operator(a)).map(|o| o.name.clone()).unwrap_or_default(),
        channel => ticket.channel.as_str(),
        level => ticket.level.number(),
        status => ticket.status.as_str(),
        take_in_due => cycle.as_ref().map(|c| ctx.local(c.take_in_due)).unwrap_or_default(),
        resolution_due => cycle.as_ref().and_then(|c| c.resolution_due).map(|t| ctx.local(t)).unwrap_or_default(),
        text => quoted,
        text_cut => text_cut,
        files => files,
        note => notice.note,
        marker => ticket.kind.as_str(),
        reason => notice.reason,
        screening => screening,
        suggestions => suggestions,
        helpdesk => ctx.sender.name.clone(),
    };
    let rendered = ctx.templates.render(ctx.language(), "operator", vars)?;
    for operator in to {
        // A question's reply is an internal note: its Message-ID says so.
        let local = if notice.kind == NoticeKind::Question {
            ctx.key.question_local_part(ticket.id, &operator.email)
        } else {
            ctx.key.notification_local_part(ticket.id, &operator.email)
        };
        let to = vec![Recipient {
            name: Some(operator.name.clone()),
            address: operator.email.clone(),
        }];
        // Every notice of a ticket refers to one root, so mail clients thread them together
        // (with the stable subject "[TCK-…] subject").
        let mail = OutgoingMail {
            references: vec![format!("{}.notices@{}", ticket.id, ctx.sender.domain())],
            attachments: carried.clone(),
            ..OutgoingMail::automatic(MailPurpose::Notify, Some(ticket.id), to, rendered.clone())
        };
        outbox::enqueue_as(
            conn,
            ctx.sender,
            &mail,
            &format!("{local}@{}", ctx.sender.domain()),
            ctx.now,
        )?;
    }
    Ok(())
}

/// The whole screening so far: messages both ways and internal notes, in order, at local
/// times, each cut at a word boundary.
fn screening(conn: &Connection, ctx: &Context<'_>, ticket: TicketId) -> anyhow::Result<Vec<Value>> {
    Ok(messages::screening(conn, ticket)?
        .into_iter()
        .map(|line| {
            context! { at => ctx.local(line.at), who => line.who, what => line.what,
            text => crate::notify::excerpt(&line.text, 300) }
        })
        .collect())
}

/// Who hears about a ticket: its assignee (their deputy while they are away), or first level
/// while it has none.
pub fn assignee_or_first_level(
    conn: &Connection,
    ctx: &Context<'_>,
    ticket: &TicketRow,
) -> anyhow::Result<Vec<Operator>> {
    let (roster, _) = roster_today(conn, ctx)?;
    Ok(
        desk::roster::assignee_or_first_level(&roster, ticket.assignee.as_deref())
            .into_iter()
            .cloned()
            .collect(),
    )
}

/// The roster as it stands today — the configured operators, those covered by a recorded
/// absence away (with its deputy) — and the absences recorded.
pub fn roster_today(conn: &Connection, ctx: &Context<'_>) -> anyhow::Result<(Vec<Operator>, Vec<Absence>)> {
    let absences = operators::absences(conn)?;
    let roster = desk::absence::roster_on(&ctx.config.operators, &absences, ctx.today());
    Ok((roster, absences))
}

/// The supervisors (every operator when none is marked supervisor).
pub fn supervisors(config: &Config) -> Vec<&Operator> {
    desk::roster::supervisors(&config.operators)
}

/// Stores a message's attachments within `[intake]`'s bounds; returns the names dropped.
pub fn store_attachments(
    conn: &Connection,
    config: &Config,
    message_row: i64,
    attachments: &[crate::ingest::parse::Attachment],
    durable: bool,
) -> anyhow::Result<Vec<String>> {
    let files: Vec<crate::store::attachments::Incoming<'_>> = attachments
        .iter()
        .map(|a| crate::store::attachments::Incoming {
            filename: &a.filename,
            content_type: &a.content_type,
            bytes: &a.bytes,
        })
        .collect();
    let limits = crate::store::attachments::Limits {
        max_attachments: config.intake.max_attachments,
        max_attachment_bytes: config.intake.max_attachment_bytes,
    };
    crate::store::attachments::store(conn, &config.helpdesk.data_dir, limits, message_row, &files, durable)
}

fn reload(conn: &Connection, ticket: TicketId) -> anyhow::Result<TicketRow> {
    tickets::find_ticket(conn, ticket)?.with_context(|| format!("ticket {ticket} vanished inside its transaction"))
}

// ---------------------------------------------------------------------------------------------
// New requests
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Requesters writing again
// ---------------------------------------------------------------------------------------------

/// A requester (or a participant) wrote on an existing ticket: the desk decides (reopen,
/// thank-you, complaint, reminder or news) on the facts loaded here, and the seam applies it.
pub fn on_requester_message(
    conn: &Connection,
    ctx: &Context<'_>,
    ticket: TicketId,
    author: &str,
    mail: &InboundMail,
) -> anyhow::Result<()> {
    wrote_again(conn, ctx, ticket, author, mail, true)
}

/// [`on_requester_message`]; `by_mail` false for a reply from the status page, which never
/// votes (the page has the vote's own form).
fn wrote_again(
    conn: &Connection,
    ctx: &Context<'_>,
    ticket: TicketId,
    author: &str,
    mail: &InboundMail,
    by_mail: bool,
) -> anyhow::Result<()> {
    let row = reload(conn, ticket)?;
    let cycle = cycles::latest(conn, ticket)?;
    let (roster, _) = roster_today(conn, ctx)?;
    let closed = matches!(
        row.status,
        crate::model::Status::Resolved | crate::model::Status::Archived
    );
    let vote = if by_mail && closed {
        Some(VoteState::load(conn, ticket)?)
    } else {
        None
    };
    let facts = desk::requester::TicketFacts {
        status: row.status,
        kind: row.kind,
        level: row.level,
        channel: row.channel,
        assignee: row.assignee.as_deref(),
        resolver: row.resolver.as_deref(),
        cycle: cycle.map(|c| desk::requester::CycleFacts {
            number: c.number,
            take_in_due: c.take_in_due,
            take_in_at: c.take_in_at,
            resolution_due: c.resolution_due,
        }),
        vote: vote.as_ref().map(|v| v.facts(&row)),
    };
    let message = desk::requester::Message {
        author,
        subject: &mail.subject,
        text: &mail.fresh_text,
    };
    let local_time = |t: DateTime<Utc>| ctx.local(t);
    let setting = desk::requester::Setting {
        calendar: ctx.calendar,
        sla: &ctx.config.sla,
        roster: &roster,
        now: ctx.now,
        today: ctx.today(),
        local_time: &local_time,
        language: ctx.language(),
        survey_days: ctx.config.survey.days,
    };
    apply(
        conn,
        ctx,
        Some(ticket),
        &desk::requester::wrote_again(&facts, &message, &setting),
    )
}

// ---------------------------------------------------------------------------------------------
// The satisfaction vote
// ---------------------------------------------------------------------------------------------

/// What the vote's rule needs of a ticket, as stored: its latest cycle's number, that cycle
/// when a closing letter closed it, and its vote.
#[derive(Debug, Clone)]
pub struct VoteState {
    /// The latest cycle's number (0 when the ticket has none).
    pub latest: u32,
    /// The latest cycle, when a closing letter closed it.
    pub closed: Option<crate::store::survey::ClosedCycle>,
    /// Its vote, if any.
    pub vote: Option<crate::store::survey::Vote>,
}

impl VoteState {
    /// Loads it for `ticket`.
    pub fn load(conn: &Connection, ticket: TicketId) -> anyhow::Result<VoteState> {
        let latest = cycles::latest(conn, ticket)?.map_or(0, |c| c.number);
        let closed = crate::store::survey::closed_cycle(conn, ticket)?;
        let vote = match &closed {
            Some(c) => crate::store::survey::vote_of(conn, c.cycle_id)?,
            None => None,
        };
        Ok(VoteState { latest, closed, vote })
    }

    /// The facts `desk::vote` decides on.
    pub fn facts<'a>(&'a self, row: &'a TicketRow) -> desk::vote::Facts<'a> {
        desk::vote::Facts {
            latest: self.latest,
            closed: self.closed.as_ref().map(|c| desk::vote::Closed {
                cycle_id: c.cycle_id,
                resolved_at: c.resolved_at,
                technician: c.technician.as_deref(),
            }),
            vote: self.vote.as_ref().and_then(|v| {
                Some(desk::vote::Recorded {
                    score: desk::privacy::Score::from_number(v.score)?,
                    comment: &v.comment,
                })
            }),
            requester: row.requester_email.as_deref(),
            requester_name: row.requester_name.as_deref(),
        }
    }
}

/// The rule's setting at this instant.
fn vote_setting<'a>(ctx: &Context<'_>, roster: &'a [Operator]) -> desk::vote::Setting<'a> {
    desk::vote::Setting {
        roster,
        now: ctx.now,
        days: ctx.config.survey.days,
    }
}

/// The requester voted from the confirmation page: the desk's verdict, applied.
pub fn cast_vote(
    conn: &Connection,
    ctx: &Context<'_>,
    row: &TicketRow,
    cycle: u32,
    score: desk::privacy::Score,
    comment: &str,
) -> anyhow::Result<desk::vote::Verdict> {
    let state = VoteState::load(conn, row.id)?;
    let (roster, _) = roster_today(conn, ctx)?;
    let voter = row.requester_email.as_deref().unwrap_or("portal");
    let (verdict, effects) = desk::vote::cast(
        &state.facts(row),
        cycle,
        score,
        comment,
        desk::vote::Via::Web,
        voter,
        &vote_setting(ctx, &roster),
    );
    apply(conn, ctx, Some(row.id), &effects)?;
    Ok(verdict)
}

/// The privacy notice's facts (`[privacy]`) as templates read them: `controller` and `url`,
/// each "" when not configured (the wording then says something generic, with no link).
pub fn privacy_vars(config: &Config) -> Value {
    context! {
        controller => config.privacy.controller.clone(),
        url => config.privacy.notice_url.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Operators' mail
// ---------------------------------------------------------------------------------------------

/// The result of one operator mail, for the reply and the transcript.
#[derive(Debug, Default)]
struct Report {
    applied: Vec<Done>,
    errors: Vec<CommandError>,
    /// Something the operator asked for changed nothing: they are told even without a
    /// transcript, or they would wonder why the requester heard nothing.
    nothing_changed: bool,
}

impl Report {
    fn error(line: &str, problem: Problem) -> Report {
        Report {
            applied: Vec::new(),
            errors: vec![CommandError {
                line: line.into(),
                problem,
            }],
            nothing_changed: false,
        }
    }
}

/// An authenticated operator's mail: commands, answers, or fresh requests (`#nuovo`, …).
/// `thread` is the ticket it replies to, if any. Returns the ticket touched.
pub fn on_operator_mail(
    conn: &Connection,
    ctx: &Context<'_>,
    operator: &Operator,
    mail: &InboundMail,
    thread: Option<TicketId>,
) -> anyhow::Result<Option<TicketId>> {
    // A reply to a morning digest names its tickets on its tag lines (`#prendo TCK-…`).
    if thread.is_none()
        && let Some(touched) = digest::on_reply(conn, ctx, operator, mail)?
    {
        return Ok(touched);
    }
    let parsed = parse_commands(&mail.fresh_text);
    let (report, touched) = if !parsed.errors.is_empty() {
        (
            Report {
                applied: Vec::new(),
                errors: parsed.errors.clone(),
                nothing_changed: false,
            },
            thread,
        )
    } else if let Some(ticket) = thread.filter(|_| !is_fresh_only(&parsed.commands)) {
        let keyed = mail
            .referenced_ids()
            .iter()
            .any(|id| ctx.key.verifies(id, ticket, &operator.email));
        if !keyed {
            (Report::error(&format!("[{ticket}]"), Problem::NotAReply), Some(ticket))
        } else if parsed.commands.is_empty() && is_question_reply(ctx, mail, ticket, operator) {
            (question_reply(conn, ctx, operator, ticket, &parsed.body)?, Some(ticket))
        } else {
            (
                ticket_commands(conn, ctx, operator, ticket, &parsed.commands, &parsed.body)?,
                Some(ticket),
            )
        }
    } else {
        fresh_commands(conn, ctx, operator, mail, &parsed.commands, &parsed.body)?
    };
    answer_operator(conn, ctx, operator, mail, touched, &report)?;
    Ok(touched)
}

/// True when the mail answers a question about `ticket` we sent this operator (`#chiedi`).
fn is_question_reply(ctx: &Context<'_>, mail: &InboundMail, ticket: TicketId, operator: &Operator) -> bool {
    mail.referenced_ids()
        .iter()
        .any(|id| ctx.key.verifies_question(id, ticket, &operator.email))
}

/// A colleague's untagged reply to `#chiedi`: an internal note, passed on to who asked.
fn question_reply(
    conn: &Connection,
    ctx: &Context<'_>,
    operator: &Operator,
    ticket: TicketId,
    body: &str,
) -> anyhow::Result<Report> {
    if body.is_empty() {
        return Ok(Report::error("(vuoto)", Problem::EmptyMail));
    }
    let asker = tickets::asker(conn, ticket, &operator.email)?;
    let (effects, done) = desk::cmd::ask::replied(ticket, operator, asker.as_deref(), body);
    apply(conn, ctx, Some(ticket), &effects)?;
    Ok(Report {
        applied: vec![done],
        errors: Vec::new(),
        // The colleague is told where their words went: not to the requester.
        nothing_changed: true,
    })
}

/// An operator forwarded a citizen's mail that had reached them directly: the ticket is opened
/// on the citizen's behalf (by the caller), and the tags the operator wrote above the forward
/// apply to it at once (`#prendo` takes it) — the ticket is theirs, so no keyed reference is
/// asked for.
pub fn on_forwarded_request(
    conn: &Connection,
    ctx: &Context<'_>,
    operator: &Operator,
    mail: &InboundMail,
    ticket: TicketId,
    own_text: &str,
) -> anyhow::Result<()> {
    let parsed = parse_commands(own_text);
    let report = if !parsed.errors.is_empty() {
        Report {
            applied: Vec::new(),
            errors: parsed.errors.clone(),
            nothing_changed: false,
        }
    } else if parsed.commands.is_empty() {
        // The forwarder's own words ("vi giro la richiesta") are for colleagues, not the citizen.
        Report::default()
    } else {
        // Text under the tags goes with a tag that takes it (#risolto, #nota, …); it is never an
        // answer to the citizen, who did not write to this operator.
        let body = if desk::cmd::body_is_for_a_tag(&parsed.commands) {
            parsed.body.as_str()
        } else {
            ""
        };
        ticket_commands(conn, ctx, operator, ticket, &parsed.commands, body)?
    };
    answer_operator(conn, ctx, operator, mail, Some(ticket), &report)
}

/// Records the refusals of an operator's mail and answers them: always on a mistake or a
/// command that changed nothing, with the transcript too when configured.
fn answer_operator(
    conn: &Connection,
    ctx: &Context<'_>,
    operator: &Operator,
    mail: &InboundMail,
    touched: Option<TicketId>,
    report: &Report,
) -> anyhow::Result<()> {
    for e in &report.errors {
        ctx.event(
            conn,
            touched,
            &operator.email,
            EventAction::CommandRefused,
            &format!("{} — {}", e.line, e.problem.text(ctx.language())),
        )?;
    }
    let transcript = ctx.config.operators_settings.transcript == Transcript::Always;
    if !report.errors.is_empty() || report.nothing_changed || (transcript && !report.applied.is_empty()) {
        reply_to_operator(
            conn,
            ctx,
            operator,
            mail,
            touched,
            context! {
                kind => "result",
                errors => report.errors.iter().map(|e| context! { line => e.line.clone(), problem => e.problem.text(ctx.language()) }).collect::<Vec<_>>(),
                applied => report.applied.iter().map(|d| d.text(ctx.language())).collect::<Vec<_>>(),
            },
        )?;
    }
    Ok(())
}

/// True when the commands are the ones that need no ticket.
fn is_fresh_only(commands: &[Command]) -> bool {
    !commands.is_empty()
        && commands.iter().all(|c| {
            matches!(
                c,
                Command::Queue
                    | Command::Help
                    | Command::New(_)
                    | Command::Away(_)
                    | Command::Email(_)
                    | Command::CannedList
                    | Command::Privacy { .. }
            )
        })
        && commands.iter().any(|c| !matches!(c, Command::Email(_)))
}

/// Answers an operator's mail. An answer about a ticket is keyed to it like a notice (its
/// Message-ID verifies for this operator and ticket), so replying to an error or a transcript
/// acts on the ticket (issue 21, item 4), and its subject keeps the ticket number.
fn reply_to_operator(
    conn: &Connection,
    ctx: &Context<'_>,
    operator: &Operator,
    mail: &InboundMail,
    about: Option<TicketId>,
    vars: Value,
) -> anyhow::Result<()> {
    reply_to_operator_with_files(conn, ctx, operator, mail, about, vars, Vec::new())
}

/// [`reply_to_operator`] carrying files (a `#privacy esporta` export).
fn reply_to_operator_with_files(
    conn: &Connection,
    ctx: &Context<'_>,
    operator: &Operator,
    mail: &InboundMail,
    about: Option<TicketId>,
    vars: Value,
    attachments: Vec<(String, String, Vec<u8>)>,
) -> anyhow::Result<()> {
    let base = context! { subject => crate::ingest::thread::base_subject(&mail.subject), helpdesk => ctx.sender.name.clone(),
    ticket => about.map(|t| t.to_string()).unwrap_or_default(),
    errors => Vec::<Value>::new(), applied => Vec::<String>::new(), queue => Vec::<Value>::new(),
    tags => Vec::<Value>::new(), results => Vec::<Value>::new(), reason => "" };
    let merged = context! { ..vars, ..base };
    let rendered = ctx.templates.render(ctx.language(), "operator_reply", merged)?;
    let reply = OutgoingMail {
        purpose: MailPurpose::OperatorReply,
        ticket: about,
        to: vec![Recipient {
            name: Some(operator.name.clone()),
            address: operator.email.clone(),
        }],
        subject: rendered.subject,
        body: rendered.body,
        in_reply_to: mail.message_id.clone(),
        references: mail.references.iter().cloned().chain(mail.message_id.clone()).collect(),
        automatic: true,
        attachments,
    };
    match about {
        Some(ticket) => {
            let local = ctx.key.notification_local_part(ticket, &operator.email);
            outbox::enqueue_as(
                conn,
                ctx.sender,
                &reply,
                &format!("{local}@{}", ctx.sender.domain()),
                ctx.now,
            )?;
        }
        None => {
            outbox::enqueue(conn, ctx.sender, &reply, ctx.now)?;
        }
    }
    Ok(())
}

/// An operator's commands on `ticket`: the desk checks them all and decides (load → decide →
/// apply); a mail is applied whole or not at all.
fn ticket_commands(
    conn: &Connection,
    ctx: &Context<'_>,
    operator: &Operator,
    ticket: TicketId,
    commands: &[Command],
    body: &str,
) -> anyhow::Result<Report> {
    let row = reload(conn, ticket)?;
    let cycle = cycles::latest(conn, ticket)?;
    let request = messages::request_text(conn, ticket)?.unwrap_or_default();
    let copies: Vec<String> = crate::store::delivery::copies(conn, ticket, ctx.now)?
        .into_iter()
        .map(|c| c.address)
        .collect();
    let facts = desk::cmd::TicketFacts {
        id: row.id,
        status: row.status,
        level: row.level,
        requester_email: row.requester_email.as_deref(),
        reads_mail: match &row.requester_email {
            Some(address) => !crate::store::delivery::is_undeliverable(conn, ticket, address, ctx.now)?,
            None => false,
        },
        assignee: row.assignee.as_deref(),
        take_in_at: cycle.as_ref().and_then(|c| c.take_in_at),
        resolution_due: cycle.as_ref().and_then(|c| c.resolution_due),
        has_kb_entry: crate::store::kb::find_by_ticket(conn, &ticket.to_string())?.is_some(),
        request: &request,
        time_logged: operators::time_logged(conn, ticket)?,
        followers: tickets::open_followers(conn, ticket)?.len(),
        master: tickets::master_of(conn, ticket)?,
        copies: &copies,
    };
    let (roster, absences) = roster_today(conn, ctx)?;
    let answers = stored_answers(conn, ctx, &row, commands)?;
    let answer_names = canned_answer_names(ctx);
    let masters = masters_named(conn, commands)?;
    let kb_entries = kb_entries_named(conn, commands)?;
    let mail = desk::cmd::CommandMail {
        operator,
        commands,
        body,
        roster: &roster,
        timezone: ctx.calendar.timezone(),
        now: ctx.now,
        absences: &absences,
        lookups: desk::cmd::Lookups {
            answers: &answers,
            answer_names: &answer_names,
            masters: &masters,
            kb_entries: &kb_entries,
        },
        helpdesk: &ctx.config.helpdesk.address,
    };
    let local_time = |t: DateTime<Utc>| ctx.local(t);
    let setting = desk::cmd::Setting {
        calendar: ctx.calendar,
        sla: &ctx.config.sla,
        local_time: &local_time,
        spam_days: ctx.config.intake.spam_days,
    };
    let decision = desk::cmd::decide(&facts, &mail, &setting);
    apply(conn, ctx, Some(ticket), &decision.effects)?;
    Ok(Report {
        applied: decision.applied,
        errors: decision.refusals,
        nothing_changed: decision.nothing_changed,
    })
}

/// The stored answers a mail names (`#risposta`), each filled in for the ticket: the
/// requester's name (`nome`) and the ticket number (`ticket`); `kb:ID` is a published
/// knowledge-base article's solution. `None` for a name that names nothing (the desk refuses
/// it).
fn stored_answers(
    conn: &Connection,
    ctx: &Context<'_>,
    row: &TicketRow,
    commands: &[Command],
) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    for command in commands {
        let Command::Canned(name) = command else { continue };
        let text = match name.split_once(':') {
            Some(_) => {
                let id = desk::cmd::canned::kb_entry(name).unwrap_or(-1);
                crate::store::kb::find(conn, id)?
                    .filter(|entry| entry.reviewed)
                    .map(|entry| entry.solution)
            }
            None => {
                let vars = context! { nome => row.requester_name.clone().unwrap_or_default(),
                name => row.requester_name.clone().unwrap_or_default(), ticket => row.id.to_string() };
                // An administrator's mistake in an answer must not stop the operator's mail.
                ctx.templates.canned_answer(name, vars).unwrap_or_else(|e| {
                    tracing::warn!("{e:#}");
                    None
                })
            }
        };
        out.push((name.clone(), text));
    }
    Ok(out)
}

/// The names of the stored answers there are.
fn canned_answer_names(ctx: &Context<'_>) -> Vec<String> {
    ctx.templates.canned_answer_names()
}

/// Each ticket a mail names with `#collega`, with its incident's master: the ticket itself, or
/// the master it is linked to already.
fn masters_named(
    conn: &Connection,
    commands: &[Command],
) -> anyhow::Result<Vec<(TicketId, Option<desk::cmd::link::Master>)>> {
    let mut out = Vec::new();
    for command in commands {
        let Command::Link(named) = command else { continue };
        let root = tickets::master_of(conn, *named)?.unwrap_or(*named);
        let master = tickets::find_ticket(conn, root)?.map(|row| desk::cmd::link::Master {
            root,
            status: row.status,
        });
        let master = if tickets::find_ticket(conn, *named)?.is_some() {
            master
        } else {
            None
        };
        out.push((*named, master));
    }
    Ok(out)
}

/// Each knowledge-base entry a `#kb no` of the mail names, and whether it exists.
fn kb_entries_named(conn: &Connection, commands: &[Command]) -> anyhow::Result<Vec<(i64, bool)>> {
    let mut out = Vec::new();
    for command in commands {
        if let Command::KbWrong(entry) = command {
            out.push((*entry, crate::store::kb::exists(conn, *entry)?));
        }
    }
    Ok(out)
}

/// The name of the operator who asked about `ticket` (`#chiedi`): the latest `asked` event's
/// actor, recorded just before the question is sent.
fn asker_name(conn: &Connection, ctx: &Context<'_>, ticket: TicketId) -> anyhow::Result<String> {
    let actor = tickets::latest_actor(conn, ticket, EventAction::Asked)?;
    Ok(actor
        .as_deref()
        .and_then(|a| ctx.config.operator(a))
        .map(|o| o.name.clone())
        .unwrap_or_default())
}

/// Mails that need no ticket: `#nuovo`, `#coda`, `#aiuto`, `#assente`, `#risposte`.
fn fresh_commands(
    conn: &Connection,
    ctx: &Context<'_>,
    operator: &Operator,
    mail: &InboundMail,
    commands: &[Command],
    body: &str,
) -> anyhow::Result<(Report, Option<TicketId>)> {
    if commands.is_empty() {
        return Ok((Report::error("(nessun tag)", Problem::NoTags), None));
    }
    let mut report = Report::default();
    let mut touched = None;
    let opens_phone_request = commands.iter().any(|c| matches!(c, Command::New(_)));
    match desk::cmd::new::phone_call(commands, body) {
        None => {}
        Some(Err(refusal)) => report.errors.push(refusal),
        Some(Ok(call)) => {
            let phone = PhoneRequest {
                number: call.number,
                name: call.name,
                email: call.email,
                summary: body.to_string(),
                subject: crate::ingest::thread::base_subject(&mail.subject),
            };
            let ticket = open_phone_ticket(conn, ctx, &operator.email, &phone)?;
            report.applied.push(Done::PhoneRequestOpened { ticket });
            touched = Some(ticket);
        }
    }
    for command in commands {
        match command {
            Command::Queue => {
                let queue = open_queue(conn, ctx)?;
                reply_to_operator(
                    conn,
                    ctx,
                    operator,
                    mail,
                    None,
                    context! { kind => "queue", queue => queue },
                )?;
            }
            Command::CannedList => {
                let results: Vec<Value> = ctx
                    .templates
                    .canned_answer_names()
                    .into_iter()
                    .map(|name| context! { id => name, title => "", ticket => "", excerpt => "" })
                    .collect();
                reply_to_operator(
                    conn,
                    ctx,
                    operator,
                    mail,
                    None,
                    context! { kind => "answers", results => results },
                )?;
            }
            Command::Help => {
                let tags: Vec<Value> = TAGS
                    .iter()
                    .map(|(it, en)| context! { it => *it, en => *en, example => tag_example(it) })
                    .collect();
                reply_to_operator(
                    conn,
                    ctx,
                    operator,
                    mail,
                    None,
                    context! { kind => "help", tags => tags },
                )?;
            }
            Command::Kb(query) => {
                let query = query.clone().unwrap_or_else(|| body.to_string());
                let hits = crate::kb::search(conn, &query, 5, ctx.now)?;
                let results: Vec<Value> = hits
                    .iter()
                    .map(|h| {
                        context! { id => format!("KB-{}", h.entry.id), title => h.entry.title.clone(),
                        ticket => h.entry.ticket.clone().unwrap_or_default(), excerpt => h.excerpt(160),
                        confidence => (h.confidence * 100.0).round() as i64, weak => h.weak }
                    })
                    .collect();
                reply_to_operator(
                    conn,
                    ctx,
                    operator,
                    mail,
                    None,
                    context! { kind => "kb", results => results, reason => query },
                )?;
            }
            Command::Away(spec) => match change_absence(conn, ctx, operator, spec.as_ref())? {
                Ok(done) => {
                    report.applied.push(done);
                    // A change of the operator's own state is always confirmed.
                    report.nothing_changed = true;
                }
                Err(problem) => report.errors.push(CommandError {
                    line: "#assente".into(),
                    problem,
                }),
            },
            Command::Privacy { erase, address, reason } => {
                privacy_by_mail(conn, ctx, operator, mail, *erase, address, reason)?;
            }
            // Parts of the phone request, above.
            Command::New(_) | Command::Email(_) => {}
            Command::Phone(_) if opens_phone_request => {}
            // A command on a ticket in a mail that names none is answered, never dropped.
            other => report.errors.push(CommandError {
                line: desk::cmd::tag_of(other).into(),
                problem: Problem::TicketMissing,
            }),
        }
    }
    Ok((report, touched))
}

fn tag_example(tag: &str) -> &'static str {
    match tag {
        "prendo" => "#prendo",
        "assegna" => "#assegna Marco Rossi",
        "secondolivello" => "#secondolivello Luca Verdi",
        "risolto" => "#risolto + testo della soluzione",
        "nota" => "#nota + testo interno",
        "telefono" => "#telefono + sintesi della chiamata",
        "sollecito" => "#sollecito",
        "reclamo" => "#reclamo",
        "fuoriambito" => "#fuoriambito",
        "remoto" => "#remoto 2026-03-12 15:00 45",
        "tempo" => "#tempo 1h30m",
        "coda" => "#coda (in un nuovo messaggio)",
        "aiuto" => "#aiuto (in un nuovo messaggio)",
        "nuovo" => "#nuovo Mario Rossi + #telefono +39 333 1234567 + richiesta",
        "email" => "#email mario.rossi@example.it (con #nuovo)",
        "assente" => "#assente dal 2026-08-17 al 2026-08-31 sostituto Marco Rossi / #assente 2026-08-31",
        "presente" => "#presente (rientro prima della fine dell'assenza)",
        "kb" => "#kb Titolo (con #risolto) / #kb parole da cercare (in un nuovo messaggio)",
        "cc" => "#cc anna.verdi@example.it / #cc -anna.verdi@example.it",
        "spam" => "#spam (chiude senza scrivere al mittente)",
        _ => "",
    }
}

/// A phone request: a caller who left a number.
#[derive(Debug, Clone)]
pub struct PhoneRequest {
    /// The number to call back.
    pub number: String,
    /// The caller's name, if given.
    pub name: Option<String>,
    /// The caller's e-mail, if given.
    pub email: Option<String>,
    /// What the caller asked.
    pub summary: String,
    /// Subject (defaults to the summary's first line).
    pub subject: String,
}

/// Opens a phone ticket (take-in within the phone budget) and notifies first level; the
/// caller gets an acknowledgment when they left an e-mail address.
pub fn open_phone_ticket(
    conn: &Connection,
    ctx: &Context<'_>,
    actor: &str,
    phone: &PhoneRequest,
) -> anyhow::Result<TicketId> {
    let subject = if phone.subject.trim().is_empty() {
        phone
            .summary
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(80)
            .collect()
    } else {
        phone.subject.clone()
    };
    let year = chrono::Datelike::year(&ctx.now.with_timezone(&ctx.calendar.timezone()));
    let new = NewTicket {
        subject,
        channel: Channel::Phone,
        kind: Kind::Problem,
        requester_email: phone.email.clone(),
        requester_name: phone.name.clone(),
        requester_phone: Some(phone.number.clone()),
        category: None,
        pratica: crate::ingest::practice::practice_number(&phone.subject, &phone.summary),
        received_at: ctx.now,
        year,
    };
    let ticket = tickets::insert_ticket(conn, &new, &auth::random_secret(), actor)?;
    messages::insert_channel_message(
        conn,
        &messages::ChannelMessage {
            ticket,
            from_addr: phone.email.as_deref(),
            from_name: phone.name.as_deref(),
            subject: &new.subject,
            body_text: &phone.summary,
            at: ctx.now,
            channel: "phone",
        },
    )?;
    let row = reload(conn, ticket)?;
    let text = format!("Tel. {}\n{}", phone.number, phone.summary);
    open_request(conn, ctx, &row, ctx.now, &text, &[], &MailSigns::default())?;
    Ok(ticket)
}

/// The acknowledgment of a request that did not come by mail (portal, phone with e-mail):
/// the number, the take-in due time, the hours, any suspension and the status link.
fn acknowledge(
    conn: &Connection,
    ctx: &Context<'_>,
    row: &TicketRow,
    due: DateTime<Utc>,
    dropped: Vec<String>,
) -> anyhow::Result<Option<String>> {
    letter(
        conn,
        ctx,
        row,
        MailPurpose::Ack,
        "ack",
        BTreeMap::from([
            (
                "hours",
                Value::from(crate::notify::service_hours(&ctx.config.calendar, ctx.language())),
            ),
            ("take_in_due", Value::from(ctx.local(due))),
            ("dropped", Value::from(dropped)),
            (
                "status_note",
                Value::from(crate::notify::suspension_note(ctx.calendar, ctx.now, ctx.language())),
            ),
            ("status_link", Value::from(ctx.status_link(row))),
        ]),
        Vec::new(),
    )
}

/// A request from the portal's form (validated by the HTTP layer).
#[derive(Debug, Clone)]
pub struct PortalRequest {
    /// The requester's name.
    pub name: String,
    /// The requester's address.
    pub email: String,
    /// A phone number, if given.
    pub phone: Option<String>,
    /// The building-permit application's number, if given.
    pub pratica: Option<String>,
    /// One of the configured categories.
    pub category: String,
    /// Subject.
    pub subject: String,
    /// What went wrong.
    pub description: String,
    /// Uploaded files (names already sanitised).
    pub attachments: Vec<crate::ingest::parse::Attachment>,
}

/// Opens a portal ticket (take-in within the portal budget): ticket, message, attachments,
/// SLA cycle, first-level notice and the acknowledgment with the status link, all in the
/// caller's transaction. Returns the ticket and its status-page secret.
pub fn open_portal_ticket(conn: &Connection, ctx: &Context<'_>, request: &PortalRequest) -> anyhow::Result<TicketRow> {
    let year = chrono::Datelike::year(&ctx.now.with_timezone(&ctx.calendar.timezone()));
    let new = NewTicket {
        subject: request.subject.clone(),
        channel: Channel::Portal,
        kind: Kind::Problem,
        requester_email: Some(request.email.clone()),
        requester_name: Some(request.name.clone()),
        requester_phone: request.phone.clone(),
        category: Some(request.category.clone()),
        pratica: request.pratica.clone(),
        received_at: ctx.now,
        year,
    };
    let ticket = tickets::insert_ticket(conn, &new, &auth::random_secret(), &request.email)?;
    let text = match &request.pratica {
        Some(p) => format!("Pratica {p}\n\n{}", request.description),
        None => request.description.clone(),
    };
    let message_row = messages::insert_channel_message(
        conn,
        &messages::ChannelMessage {
            ticket,
            from_addr: Some(&request.email),
            from_name: Some(&request.name),
            subject: &request.subject,
            body_text: &text,
            at: ctx.now,
            channel: "portal",
        },
    )?;
    let dropped = store_attachments(conn, ctx.config, message_row, &request.attachments, true)?;
    open_request(
        conn,
        ctx,
        &reload(conn, ticket)?,
        ctx.now,
        &text,
        &dropped,
        &MailSigns::default(),
    )?;
    reload(conn, ticket)
}

/// The requester replied from the status page: recorded like an e-mail reply (a resolved
/// ticket reopens, an overdue one becomes a reminder).
pub fn portal_reply(conn: &Connection, ctx: &Context<'_>, ticket: &TicketRow, text: &str) -> anyhow::Result<()> {
    let author = ticket.requester_email.clone().unwrap_or_else(|| "portal".into());
    let row = messages::insert_channel_message(
        conn,
        &messages::ChannelMessage {
            ticket: ticket.id,
            from_addr: Some(&author),
            from_name: ticket.requester_name.as_deref(),
            subject: &ticket.subject,
            body_text: text,
            at: ctx.now,
            channel: "portal",
        },
    )?;
    insert_event(
        conn,
        Some(ticket.id),
        ctx.now,
        &author,
        EventAction::Message,
        "reply from the status page",
        Some(row),
    )?;
    messages::touch_ticket(conn, ticket.id, ctx.now)?;
    let mail = InboundMail {
        subject: format!("Re: [{}] {}", ticket.id, ticket.subject),
        fresh_text: text.to_string(),
        text: text.to_string(),
        ..InboundMail::default()
    };
    wrote_again(conn, ctx, ticket.id, &author, &mail, false)
}

/// What the queue's rules know of an open cycle (`#coda`, the digests).
pub(crate) fn queue_ticket(c: &cycles::OpenCycle) -> desk::queue::OpenTicket<'_> {
    desk::queue::OpenTicket {
        ticket: c.ticket,
        subject: &c.subject,
        level: c.level,
        assignee: c.assignee.as_deref(),
        requester: c.requester.as_deref(),
        kind: c.kind,
        take_in_due: c.take_in_due,
        take_in_at: c.take_in_at,
        resolution_due: c.resolution_due,
    }
}

/// Open tickets, most urgent first, for `#coda` (one query, then `desk::queue`).
fn open_queue(conn: &Connection, ctx: &Context<'_>) -> anyhow::Result<Vec<Value>> {
    let open = cycles::open_cycles(conn)?;
    let facts: Vec<desk::queue::OpenTicket<'_>> = open.iter().map(queue_ticket).collect();
    Ok(desk::queue::lines(&facts, &ctx.config.operators, ctx.language(), ctx.now)
        .into_iter()
        .map(|l| {
            context! { ticket => l.ticket.to_string(), subject => l.subject, level => l.level, holder => l.holder,
            requester => l.requester, deadline => l.deadline, due => ctx.local(l.due), overdue => l.overdue, marker => l.marker }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Housekeeping
// ---------------------------------------------------------------------------------------------

/// Attempts after which the supervisors are told a message is stuck (it is still retried).
pub const STUCK_AFTER_ATTEMPTS: u32 = 8;

/// Periodic duties, in one transaction: archive resolved tickets idle for
/// `archive_after_days`, and tell the supervisors (once) about mail that keeps failing.
pub fn housekeeping(conn: &Connection, ctx: &Context<'_>) -> anyhow::Result<(usize, usize)> {
    absences_of_the_day(conn, ctx)?;
    let days = ctx.config.helpdesk.archive_after_days;
    let idle = tickets::idle_resolved(conn, ctx.now - chrono::TimeDelta::days(i64::from(days)))?;
    for ticket in &idle {
        apply(conn, ctx, Some(*ticket), &desk::housekeeping::archived(days))?;
    }
    let stuck = crate::store::outbox::stuck(conn, STUCK_AFTER_ATTEMPTS)?;
    for mail in &stuck {
        let facts = desk::housekeeping::StuckMail {
            outbox_id: mail.id,
            recipients: &mail.recipients,
            attempts: mail.attempts,
            error: &mail.last_error,
        };
        apply(conn, ctx, mail.ticket, &desk::housekeeping::stuck(&facts))?;
    }
    Ok((idle.len(), stuck.len()))
}

/// Begins the absences whose first day has come (the hand-over of each one's open tickets) and
/// ends those whose last day has passed, telling each operator. Returns how many changed.
pub fn absences_of_the_day(conn: &Connection, ctx: &Context<'_>) -> anyhow::Result<usize> {
    let (roster, absences) = roster_today(conn, ctx)?;
    let (beginning, over) = desk::absence::due_on(&absences, ctx.today());
    for absence in &over {
        apply(conn, ctx, None, &desk::absence::ended(absence))?;
    }
    for absence in &beginning {
        let Some(absent) = desk::roster::by_address(&roster, &absence.operator) else {
            // No longer an operator: nothing to hand over, nobody to tell.
            apply(
                conn,
                ctx,
                None,
                &[Effect::EndAbsence {
                    operator: absence.operator.clone(),
                }],
            )?;
            continue;
        };
        let mut held = Vec::new();
        for ticket in tickets::open_held_by(conn, &absent.email)? {
            let row = reload(conn, ticket)?;
            held.push(desk::absence::HeldTicket {
                id: ticket,
                resolution_due: cycles::latest(conn, ticket)?.and_then(|c| c.resolution_due),
                has_requester_email: row.requester_email.is_some(),
            });
        }
        let beginning = desk::absence::begin(absence, absent, &roster, &held);
        for (ticket, effects) in &beginning.per_ticket {
            apply(conn, ctx, Some(*ticket), effects)?;
        }
        apply(conn, ctx, None, &beginning.effects)?;
    }
    Ok(over.len() + beginning.len())
}

/// Records `operator`'s absence `spec`, or ends it (`None`): the desk decides, and an absence
/// from today begins at once, in this same transaction. The operator's mistake comes back as
/// the problem to tell them.
pub fn change_absence(
    conn: &Connection,
    ctx: &Context<'_>,
    operator: &Operator,
    spec: Option<&crate::commands::AbsenceSpec>,
) -> anyhow::Result<Result<Done, Problem>> {
    let (roster, absences) = roster_today(conn, ctx)?;
    let recorded = absences
        .iter()
        .find(|a| a.operator.eq_ignore_ascii_case(&operator.email));
    let decided = match spec {
        Some(spec) => desk::absence::record(operator, spec, &roster, ctx.today()),
        None => Ok(desk::absence::back(operator, recorded)),
    };
    let Ok((effects, done)) = decided else {
        return Ok(decided.map(|(_, done)| done));
    };
    apply(conn, ctx, None, &effects)?;
    absences_of_the_day(conn, ctx)?;
    Ok(Ok(done))
}

/// Mails an operator about a change to their own state (their absence beginning or ending).
fn tell_operator(conn: &Connection, ctx: &Context<'_>, to: &str, done: &Done) -> anyhow::Result<()> {
    let Some(operator) = ctx.config.operator(to) else {
        return Ok(());
    };
    let subject = match ctx.language() {
        Language::It => "La tua assenza",
        Language::En => "Your absence",
    };
    let vars = context! { kind => "result", subject => subject, helpdesk => ctx.sender.name.clone(),
    ticket => "", errors => Vec::<Value>::new(), applied => vec![done.text(ctx.language())],
    queue => Vec::<Value>::new(), tags => Vec::<Value>::new(), results => Vec::<Value>::new(), reason => "" };
    let rendered = ctx.templates.render(ctx.language(), "operator_reply", vars)?;
    let mail = OutgoingMail {
        purpose: MailPurpose::OperatorReply,
        ticket: None,
        to: vec![Recipient {
            name: Some(operator.name.clone()),
            address: operator.email.clone(),
        }],
        subject: rendered.subject,
        body: rendered.body,
        in_reply_to: None,
        references: Vec::new(),
        automatic: true,
        attachments: Vec::new(),
    };
    outbox::enqueue(conn, ctx.sender, &mail, ctx.now)?;
    Ok(())
}

/// Tells each requester with open tickets, once, about a planned suspension, and records
/// when it was announced. Returns how many requesters were told.
pub fn announce_suspension(conn: &Connection, ctx: &Context<'_>, suspension_id: i64) -> anyhow::Result<usize> {
    let mut by_requester: BTreeMap<String, (Option<String>, Vec<Value>)> = BTreeMap::new();
    for open in tickets::open_requesters(conn, ctx.now)? {
        let entry = by_requester
            .entry(open.email)
            .or_insert_with(|| (open.name, Vec::new()));
        entry
            .1
            .push(context! { id => open.ticket.to_string(), subject => open.subject });
    }
    let note = crate::notify::suspension_note(ctx.calendar, ctx.now, ctx.language());
    for (email, (name, tickets)) in &by_requester {
        let rendered = ctx.templates.render(
            ctx.language(),
            "suspension_notice",
            context! { note => note.clone(), tickets => tickets.clone(), helpdesk => ctx.sender.name.clone(),
            name => crate::notify::letter::addressee(name.as_deref()) },
        )?;
        let to = vec![Recipient {
            name: name.clone(),
            address: email.clone(),
        }];
        let mail = OutgoingMail::automatic(MailPurpose::Suspension, None, to, rendered);
        outbox::enqueue(conn, ctx.sender, &mail, ctx.now)?;
    }
    crate::store::suspensions::mark_announced(conn, suspension_id, ctx.now)?;
    Ok(by_requester.len())
}

// ---------------------------------------------------------------------------------------------
// Pure decisions
// ---------------------------------------------------------------------------------------------

/// An alarm to the supervisors (`about`: the ticket it concerns, if any).
fn alert_supervisors(
    conn: &Connection,
    ctx: &Context<'_>,
    about: Option<TicketId>,
    alarm: &Alarm,
) -> anyhow::Result<()> {
    let to: Vec<Recipient> = supervisors(ctx.config)
        .iter()
        .map(|o| Recipient {
            name: Some(o.name.clone()),
            address: o.email.clone(),
        })
        .collect();
    if to.is_empty() {
        return Ok(());
    }
    let security = &ctx.config.security;
    let vars = match alarm {
        Alarm::Unauthenticated {
            from,
            subject,
            reason,
            text,
        } => context! { kind => "unauthenticated", from, subject, reason, text,
        provider => security.provider.name(), authserv_id => security.trusted_authserv_id.clone() },
        Alarm::Stuck {
            recipients,
            attempts,
            error,
        } => context! { kind => "stuck", recipients, attempts, error },
        Alarm::Service {
            trouble,
            ended,
            since,
            detail,
        } => context! { kind => "service", trouble => trouble.name(), ended, detail,
        since => ctx.local(*since) },
    };
    let vars = context! { ..vars, ..context! { helpdesk => ctx.sender.name.clone() } };
    let rendered = ctx.templates.render(ctx.language(), "alarm", vars)?;
    let purpose = match alarm.kind() {
        AlarmKind::Unauthenticated => MailPurpose::Security,
        AlarmKind::Stuck => MailPurpose::Stuck,
        AlarmKind::Service => MailPurpose::ServiceAlarm,
    };
    outbox::enqueue(
        conn,
        ctx.sender,
        &OutgoingMail::automatic(purpose, about, to, rendered),
        ctx.now,
    )?;
    Ok(())
}

/// Tells an operator, at their configured address, that a mail with their address was refused.
fn tell_refused_operator(
    conn: &Connection,
    ctx: &Context<'_>,
    to: &str,
    subject: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let Some(operator) = ctx.config.operator(to) else {
        return Ok(());
    };
    let security = &ctx.config.security;
    let domain = operator.email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    let rendered = ctx.templates.render(
        ctx.language(),
        "auth_refused",
        context! { subject, reason, provider => security.provider.name(),
        authserv_id => security.trusted_authserv_id.clone(), domain, helpdesk => ctx.sender.name.clone() },
    )?;
    let recipient = vec![Recipient {
        name: Some(operator.name.clone()),
        address: operator.email.clone(),
    }];
    let mail = OutgoingMail::automatic(MailPurpose::AuthRefused, None, recipient, rendered);
    outbox::enqueue(conn, ctx.sender, &mail, ctx.now)?;
    Ok(())
}

/// Checks the operator's authentication; on failure alerts the supervisors and says why.
pub fn authenticate(
    conn: &Connection,
    ctx: &Context<'_>,
    operator: &Operator,
    mail: &InboundMail,
) -> anyhow::Result<bool> {
    let verdict = auth::verify(
        mail.from.as_ref().map(|p| p.address.as_str()),
        &mail.headers,
        &ctx.config.security,
    );
    if verdict.allows() {
        return Ok(true);
    }
    let reason = match verdict {
        auth::Verdict::Fail(why) => why,
        _ => String::new(),
    };
    let warned = crate::store::outbox::count_queued_since(
        conn,
        MailPurpose::AuthRefused.as_str(),
        &operator.email,
        ctx.now - chrono::TimeDelta::hours(1),
    )?;
    let subject = crate::ingest::parse::one_line(&mail.subject);
    let refused = desk::security::RefusedMail {
        from: mail.from.as_ref().map(|p| p.address.as_str()).unwrap_or_default(),
        subject: &subject,
        text: &mail.fresh_text,
        reason: &reason,
    };
    apply(conn, ctx, None, &desk::security::refused(operator, &refused, warned))?;
    Ok(false)
}

/// Reports each mail the SMTP server refused for good (5xx) once: to the technician of its
/// ticket (or first level), as a failed delivery — the address marked unreachable when the
/// mail had that one recipient — and to the supervisors when it belongs to no ticket. Returns
/// how many were reported.
pub fn report_refused_mail(conn: &Connection, ctx: &Context<'_>) -> anyhow::Result<usize> {
    let refused = crate::store::outbox::refused_unreported(conn, outbox::given_up_at())?;
    for mail in &refused {
        let reply = mail.last_error.trim_start_matches("refused for good: ");
        let ticket = match mail.ticket {
            Some(id) => tickets::find_ticket(conn, id)?,
            None => None,
        };
        match ticket {
            Some(ticket) => {
                let single = !mail.recipients.contains(',');
                if single {
                    let until = ctx.now + chrono::Duration::days(crate::ingest::bounce::UNDELIVERABLE_DAYS);
                    crate::store::delivery::mark_undeliverable(conn, &mail.recipients, ctx.now, until)?;
                }
                let to = assignee_or_first_level(conn, ctx, &ticket)?;
                let to: Vec<&Operator> = to.iter().collect();
                notify_operators(
                    conn,
                    ctx,
                    &ticket,
                    &to,
                    Notice::new(NoticeKind::Bounce, format!("{} ({reply})", mail.recipients)),
                )?;
            }
            None => apply(
                conn,
                ctx,
                None,
                &[Effect::AlertSupervisors(Alarm::Stuck {
                    recipients: mail.recipients.clone(),
                    attempts: mail.attempts,
                    error: mail.last_error.clone(),
                })],
            )?,
        }
        crate::store::outbox::failure_reported(conn, mail.id, ctx.now)?;
    }
    Ok(refused.len())
}

// ---------------------------------------------------------------------------------------------
// Citizens' data by mail (issue 17)
// ---------------------------------------------------------------------------------------------

/// `#privacy esporta|cancella ADDRESS`: a supervisor's request for one person's data (the
/// export comes back as attachments of the answer) or its erasure (refused while a ticket of
/// theirs is open: the command line's `--force` is the deliberate way past that). Anyone else
/// is refused. The answer names what was done; the audit trail records who asked, never whose.
fn privacy_by_mail(
    conn: &Connection,
    ctx: &Context<'_>,
    operator: &Operator,
    mail: &InboundMail,
    erase: bool,
    address: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let english = ctx.language() == Language::En;
    let say = |it: &str, en: &str| if english { en.to_string() } else { it.to_string() };
    let (vars, attachments) = if !operator.supervisor {
        (
            context! { kind => "refused", reason => say("#privacy è riservato ai supervisori.", "#privacy is for supervisors only.") },
            Vec::new(),
        )
    } else if erase {
        let why = if reason.trim().is_empty() {
            "richiesta per posta"
        } else {
            reason
        };
        match crate::privacy::erase(conn, ctx.config, address, why, &operator.email, false, ctx.now)? {
            Ok(erased) => {
                // The files go once the transaction commits; until then a row still names them.
                // Mail intake commits right after, and the night's retention finds none left.
                crate::privacy::defer_file_deletion(conn, &erased.files)?;
                let line = if english {
                    format!(
                        "{address}: {} tickets anonymised, {} other tickets left.",
                        erased.anonymised, erased.left
                    )
                } else {
                    format!(
                        "{address}: {} richieste rese anonime, {} altre richieste ripulite.",
                        erased.anonymised, erased.left
                    )
                };
                (context! { kind => "privacy", applied => vec![line] }, Vec::new())
            }
            Err(crate::desk::privacy::EraseRefusal::Unknown) => (
                context! { kind => "refused", reason => say(&format!("nessun dato riguarda {address}."), &format!("nothing stored concerns {address}.")) },
                Vec::new(),
            ),
            Err(crate::desk::privacy::EraseRefusal::Open(open)) => {
                let list = open.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                (
                    context! { kind => "refused", reason => say(
                        &format!("{address} ha richieste ancora aperte ({list}): chiudile prima, oppure usa sportello privacy erase --force."),
                        &format!("{address} still has open tickets ({list}): close them first, or use sportello privacy erase --force."),
                    ) },
                    Vec::new(),
                )
            }
        }
    } else {
        let (files, count) = crate::privacy::export(conn, ctx.config, address, ctx.now)?;
        crate::privacy::record_export(conn, &operator.email, ctx.now)?;
        let line = if english {
            format!("{address}: export of {count} tickets attached ({} files).", files.len())
        } else {
            format!(
                "{address}: esportazione di {count} richieste in allegato ({} file).",
                files.len()
            )
        };
        let attachments = files
            .into_iter()
            .map(|(name, bytes)| {
                let kind = if name.ends_with(".json") {
                    "application/json"
                } else if name.ends_with(".txt") {
                    "text/plain; charset=utf-8"
                } else if name.ends_with(".eml") {
                    "message/rfc822"
                } else {
                    "application/octet-stream"
                };
                (name.replace('/', "_"), kind.to_string(), bytes)
            })
            .collect();
        (context! { kind => "privacy", applied => vec![line] }, attachments)
    };
    reply_to_operator_with_files(conn, ctx, operator, mail, None, vars, attachments)
}
