//! Intake: turns each fetched message into exactly one recorded change.
//!
//! [`apply_batch`] is the one place that writes what a message caused: in ONE transaction
//! it stores the raw bytes, the ticket change, the events, the outbox rows and the mailbox
//! checkpoint. A message that makes any step fail is quarantined while the rest of the batch
//! commits: a message that cannot be read is quarantined before anything is written, and one
//! that fails half-way rolls the batch back, which is then applied again with that message
//! quarantined and a savepoint around each other one (so the common batch pays for no
//! savepoints, and a batch is applied at most twice). A full disk is nobody's fault: the
//! batch fails whole and stays in its mailbox. Sources
//! acknowledge (flag, move) a batch only after that commit; a crash repeats at most one batch,
//! and the repeats are recognised by their dedup key (Message-ID, or a hash of the content
//! when there is none) and skipped.
//!
//! What a message is (parsed, classified, threaded) is decided in `ingest`, which also holds
//! the mailbox sources; what it does to tickets is `workflow`'s.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Datelike, Utc};
use minijinja::context;
use rusqlite::Connection;

use crate::auth::MacKey;
use crate::config::Config;
use crate::ingest::classify::{self, Disposition};
use crate::ingest::parse::{self, InboundMail};
use crate::ingest::thread::{self, ThreadMatch};
use crate::ingest::{Fetched, Prepared, bounce};
use crate::model::{Channel, EventAction, Kind, MailPurpose, NoticeKind, TicketId};
use crate::notify::templates::Templates;
use crate::notify::{OutgoingMail, Recipient, Sender};
use crate::outbox;
use crate::sla::Calendar;
use crate::store::checkpoints::Checkpoint;
use crate::store::tickets::{self, NewTicket, insert_event};
use crate::store::{Store, checkpoints, delivery, messages};
use crate::workflow;

/// Addresses in To/Cc of a new request that become participants, at most.
const MAX_COPIED_PARTICIPANTS: usize = 20;

/// What intake did with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already applied before (a repeat after a crash, or a second copy): skipped.
    Duplicate,
    /// Opened a new ticket.
    NewTicket(TicketId),
    /// Added to an existing ticket.
    AddedTo(TicketId),
    /// Names a ticket but comes from a stranger: stored and flagged, nothing told.
    Flagged(TicketId),
    /// An authenticated operator's mail (commands or an answer), about this ticket if any.
    Operator(Option<TicketId>),
    /// A bounce: its failed recipients were marked on this many tickets.
    Bounce(usize),
    /// A read, not-read or delivery receipt, recorded on this ticket (none: ours it is not).
    Receipt(Option<TicketId>),
    /// Stored, no ticket, never answered (the disposition's label).
    Ignored(&'static str),
    /// Could not be read or applied: quarantined with this error.
    Quarantined(String),
    /// From a sender an operator closed a ticket of as spam: quarantined, no ticket, nothing
    /// answered, nobody told (until the mark's instant).
    Spam,
}

/// What intake needs besides the store.
pub struct Intake<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// The business calendar (with the stored suspensions).
    pub calendar: &'a Calendar,
    /// Mail templates.
    pub templates: &'a Templates,
    /// The help desk's identity.
    pub sender: Sender,
    /// The key of operator-notification Message-IDs.
    pub key: MacKey,
    /// History being imported: nobody is written to (`workflow::Context::quiet`).
    pub quiet: bool,
}

impl<'a> Intake<'a> {
    /// Intake context for a configuration.
    pub fn new(config: &'a Config, calendar: &'a Calendar, templates: &'a Templates, key: MacKey) -> Intake<'a> {
        Intake {
            config,
            calendar,
            templates,
            key,
            sender: Sender::of(config),
            quiet: false,
        }
    }
}

impl Intake<'_> {
    /// The workflow context of a change made at `now`.
    pub fn context(&self, now: DateTime<Utc>) -> workflow::Context<'_> {
        workflow::Context {
            config: self.config,
            calendar: self.calendar,
            templates: self.templates,
            sender: &self.sender,
            key: &self.key,
            now,
            quiet: self.quiet,
        }
    }
}

/// Applies a batch in one transaction (see the module doc) and commits it with `checkpoint`.
pub fn apply_batch(
    store: &mut Store,
    intake: &Intake<'_>,
    batch: &[Prepared],
    checkpoint: Option<&Checkpoint>,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Outcome>> {
    // The message that failed half-way through the first attempt, with why.
    let mut failed: Option<(usize, String)> = None;
    // The first attempt pays no savepoint per message (failures after parsing are rare). If a
    // message fails half-way, what it wrote is mixed with the rest of the batch: the batch is
    // rolled back and applied again, that message quarantined and every other one inside its
    // own savepoint, so a batch is applied at most twice however many of its messages fail.
    let mut careful = false;
    'attempt: loop {
        let mut tx = store.write()?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for (index, prepared) in batch.iter().enumerate() {
            let error = match &failed {
                Some((failed_index, error)) if *failed_index == index => error.clone(),
                _ => match readable(intake, prepared) {
                    Err(unreadable) => unreadable,
                    Ok((mail, key)) => {
                        let applied = if careful {
                            let savepoint = tx.savepoint()?;
                            let applied = apply_one(&savepoint, intake, prepared, mail, key, now);
                            if applied.is_ok() {
                                savepoint.commit()?;
                            } // else dropped: rolled back
                            applied
                        } else {
                            apply_one(&tx, intake, prepared, mail, key, now)
                        };
                        match applied {
                            Ok(outcome) => {
                                outcomes.push(outcome);
                                continue;
                            }
                            // The database itself failing is not this message's fault: nothing
                            // of the batch commits, and the source keeps it for the next pass.
                            Err(error) if crate::store::is_disk_full(&error) => return Err(error),
                            Err(error) if careful => format!("{error:#}"),
                            Err(error) => {
                                failed = Some((index, format!("{error:#}")));
                                careful = true;
                                drop(tx);
                                continue 'attempt;
                            }
                        }
                    }
                },
            };
            quarantine(&tx, intake, prepared, &error, now)?;
            outcomes.push(Outcome::Quarantined(error));
        }
        if let Some(cp) = checkpoint {
            checkpoints::save(&tx, cp, now)?;
        }
        tx.commit()?;
        for (prepared, outcome) in batch.iter().zip(&outcomes) {
            let source = &prepared.fetched.source;
            match outcome {
                Outcome::NewTicket(t) => tracing::info!(ticket = %t, %source, "new ticket"),
                Outcome::AddedTo(t) => tracing::info!(ticket = %t, %source, "message added"),
                Outcome::Flagged(t) => tracing::warn!(ticket = %t, %source, "unverified sender flagged"),
                Outcome::Quarantined(error) => tracing::warn!(%source, "message quarantined: {error}"),
                other => tracing::debug!(%source, "{other:?}"),
            }
        }
        return Ok(outcomes);
    }
}

fn store_raw(conn: &Connection, prepared: &Prepared) -> rusqlite::Result<()> {
    messages::insert_raw(conn, &prepared.raw_sha, &prepared.fetched.raw)
}

fn quarantine(
    conn: &Connection,
    intake: &Intake<'_>,
    prepared: &Prepared,
    error: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let message = &prepared.fetched;
    // Over-size messages were not fetched; they stay in the source mailbox untouched but seen.
    let raw_sha = if message.raw.is_empty() {
        None
    } else {
        store_raw(conn, prepared)?;
        Some(&prepared.raw_sha)
    };
    let quarantine_id = messages::quarantine(conn, now, &message.source, raw_sha.map(String::as_str), error)?;
    insert_event(
        conn,
        None,
        now,
        "system",
        EventAction::Quarantined,
        &format!("{}: {error}", message.source),
        None,
    )?;
    // Tell the supervisors (or, without any, every operator) once, in this same transaction.
    let supervisors: Vec<Recipient> = {
        let ops = &intake.config.operators;
        let chosen: Vec<_> = if ops.iter().any(|o| o.supervisor) {
            ops.iter().filter(|o| o.supervisor).collect()
        } else {
            ops.iter().collect()
        };
        chosen
            .into_iter()
            .map(|o| Recipient {
                name: Some(o.name.clone()),
                address: o.email.clone(),
            })
            .collect()
    };
    if !supervisors.is_empty() {
        let rendered = intake.templates.render(
            intake.config.helpdesk.language,
            "quarantined",
            context! { source => message.source.clone(), error => error, size => message.size, helpdesk => intake.sender.name.clone() },
        )?;
        let notice = OutgoingMail::automatic(MailPurpose::Quarantined, None, supervisors, rendered);
        outbox::enqueue(conn, &intake.sender, &notice, now)?;
        messages::quarantine_reported(conn, quarantine_id, now)?;
    }
    Ok(())
}

/// The parsed message and its dedup key, or why it is quarantined unread (too large, or not
/// parseable): decided before anything is written.
fn readable<'p>(intake: &Intake<'_>, prepared: &'p Prepared) -> Result<(&'p InboundMail, &'p str), String> {
    let message = &prepared.fetched;
    let limit = intake.config.intake.max_message_bytes;
    if message.size > limit || message.raw.len() as u64 > limit {
        return Err(format!(
            "message of {} bytes is larger than intake.max_message_bytes ({limit})",
            message.size
        ));
    }
    match &prepared.parsed {
        Ok((mail, key)) => Ok((mail, key)),
        Err(e) => Err(e.to_string()),
    }
}

fn apply_one(
    conn: &Connection,
    intake: &Intake<'_>,
    prepared: &Prepared,
    mail: &InboundMail,
    key: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    if messages::is_known(conn, key)? {
        return Ok(Outcome::Duplicate);
    }
    store_raw(conn, prepared)?;
    let stored = StoredMail {
        mail,
        key,
        raw_sha: &prepared.raw_sha,
        fetched: &prepared.fetched,
    };
    // An answer to our remote-session invitation (Outlook's "Accettato: …", Google Calendar's
    // — marked auto-generated —, Apple's) is recorded on its ticket and told to its technician:
    // never a request of its own, whatever the classification of automatic mail would say.
    if let (Some(reply), Some(from)) = (crate::ingest::calendar::reply_of(&mail.attachments), mail.from.as_ref()) {
        let thread = thread_of(conn, mail)?.ticket();
        return apply_invitation_answer(
            conn,
            intake,
            &stored,
            &intake.context(now),
            &reply,
            thread,
            &from.address,
        );
    }
    match classify::classify(mail, &intake.config.helpdesk.address) {
        Disposition::Person => apply_person(conn, intake, &stored, now),
        Disposition::Bounce(failed) => apply_bounce(conn, intake, &stored, &failed, now),
        Disposition::Receipt(kind) => receipt::apply(conn, &stored, kind, now),
        other => {
            stored.insert(conn, None, other.label(), false)?;
            Ok(Outcome::Ignored(other.label()))
        }
    }
}

/// A message on its way into `messages`.
struct StoredMail<'a> {
    mail: &'a InboundMail,
    key: &'a str,
    raw_sha: &'a str,
    fetched: &'a Fetched,
}

impl StoredMail<'_> {
    /// Inserts the message row and returns its id.
    fn insert(
        &self,
        conn: &Connection,
        ticket: Option<TicketId>,
        disposition: &str,
        flagged: bool,
    ) -> rusqlite::Result<i64> {
        let m = self.mail;
        messages::insert_inbound(
            conn,
            &messages::Inbound {
                ticket,
                dedup_key: self.key,
                message_id: m.message_id.as_deref(),
                from_addr: m.from.as_ref().map(|p| p.address.as_str()),
                from_name: m.from.as_ref().and_then(|p| p.name.as_deref()),
                to_addrs: m.to.join(","),
                cc_addrs: m.cc.join(","),
                subject: &m.subject,
                body_text: &m.fresh_text,
                raw_sha256: self.raw_sha,
                at: self.fetched.received_at,
                source: &self.fetched.source,
                disposition,
                flagged,
            },
        )
    }
}

/// The ticket each referenced id belongs to (stored or sent by us), and whether the subject
/// token names a real ticket: the facts [`thread::decide`] needs, read up front.
fn thread_of(conn: &Connection, mail: &InboundMail) -> anyhow::Result<ThreadMatch> {
    let mut known: HashMap<String, TicketId> = HashMap::new();
    for id in mail.referenced_ids() {
        if let Some(t) = messages::ticket_of_message_id(conn, id)? {
            known.insert(id.to_string(), t);
        }
    }
    let token_exists = match thread::subject_token(&mail.subject) {
        Some(t) => tickets::find_ticket(conn, t)?.is_some(),
        None => false,
    };
    Ok(thread::decide(mail, |id| known.get(id).copied(), |_| token_exists))
}

fn apply_person(
    conn: &Connection,
    intake: &Intake<'_>,
    stored: &StoredMail<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let mail = stored.mail;
    let Some(from) = mail.from.as_ref() else {
        anyhow::bail!("the message has no sender address");
    };
    let ctx = intake.context(now);
    // A sender an operator closed a ticket of with #spam reaches no ticket for a while, new or
    // old (a reply to the spam ticket would reopen it); operators are never quarantined.
    if intake.config.operator(&from.address).is_none()
        && let Some(mark) = crate::store::spam::sender_mark(conn, &from.address, now)?
    {
        return quarantine_spam(conn, stored, &from.address, &mark, now);
    }
    let thread = thread_of(conn, mail)?.ticket();
    // Whoever writes can be written to: a delivery failure recorded earlier no longer holds.
    for t in delivery::clear_undeliverable(conn, &from.address, now)? {
        insert_event(
            conn,
            Some(t),
            now,
            &from.address,
            EventAction::Deliverable,
            "wrote again",
            None,
        )?;
    }

    // An operator's mail commands only when our MX authenticated it; otherwise the
    // supervisors are alerted and it is handled like anybody else's mail.
    if let Some(operator) = intake.config.operator(&from.address)
        && workflow::authenticate(conn, &ctx, operator, mail)?
    {
        // A citizen's mail the operator received directly and forwarded to the help desk is
        // their request: a ticket on the citizen's behalf (issue 14, item 5).
        if thread.is_none()
            && let Some(forwarded) = crate::ingest::forward::original_of(mail, intake.config.intake.max_message_bytes)
            && intake.config.operator(&forwarded.from.address).is_none()
            && forwarded.from.address != intake.config.helpdesk.address
        {
            let ticket = forwarded_request(conn, intake, stored, &ctx, operator, &forwarded)?;
            return Ok(Outcome::NewTicket(ticket));
        }
        let row = stored.insert(conn, thread, "operator", false)?;
        workflow::store_attachments(conn, intake.config, row, &mail.attachments, false)?;
        let touched = workflow::on_operator_mail(conn, &ctx, operator, mail, thread)?;
        return Ok(Outcome::Operator(touched));
    }

    // A reply that lost its token and references (re-typed in a webmail) may still quote the
    // acknowledgment's number: it threads there when the ticket is the sender's own, never
    // into someone else's; otherwise the new ticket's notice names the possible duplicates.
    let (thread, possible_duplicates) = match thread {
        Some(ticket) => (Some(ticket), Vec::new()),
        None => quoted_ticket(conn, mail, &from.address)?,
    };

    if let Some(ticket) = thread {
        let known = delivery::is_participant(conn, ticket, &from.address)?;
        let row = stored.insert(conn, Some(ticket), "person", !known)?;
        if !known {
            insert_event(
                conn,
                Some(ticket),
                now,
                &from.address,
                EventAction::UnverifiedSender,
                "stored and flagged, sender told nothing",
                Some(row),
            )?;
            let ticket_row = tickets::find_ticket(conn, ticket)?.context("ticket vanished inside its transaction")?;
            let to = workflow::assignee_or_first_level(conn, &ctx, &ticket_row)?;
            let to: Vec<&crate::config::Operator> = to.iter().collect();
            let notice =
                workflow::Notice::new(NoticeKind::Flagged, from.address.clone()).with_text(mail.fresh_text.clone());
            workflow::notify_operators(conn, &ctx, &ticket_row, &to, notice)?;
            return Ok(Outcome::Flagged(ticket));
        }
        let dropped = workflow::store_attachments(conn, intake.config, row, &mail.attachments, false)?;
        insert_event(
            conn,
            Some(ticket),
            now,
            &from.address,
            EventAction::Message,
            &mail.subject,
            Some(row),
        )?;
        messages::touch_ticket(conn, ticket, now)?;
        workflow::on_requester_message(conn, &ctx, ticket, &from.address, mail)?;
        if !dropped.is_empty() {
            let ticket_row = tickets::find_ticket(conn, ticket)?.context("ticket vanished inside its transaction")?;
            let rendered = intake.templates.render(
                intake.config.helpdesk.language,
                "attachments_dropped",
                context! { ticket => ticket.to_string(), subject => ticket_row.subject.clone(),
                helpdesk => intake.sender.name.clone(), dropped => dropped,
                name => crate::notify::letter::addressee(from.name.as_deref()) },
            )?;
            let notice = reply_to(mail, from, ticket, MailPurpose::Attachments, rendered);
            outbox::enqueue(conn, &intake.sender, &notice, now)?;
        }
        return Ok(Outcome::AddedTo(ticket));
    }

    let subject = thread::base_subject(&mail.subject);
    let received = stored.fetched.received_at;
    let year = received.with_timezone(&intake.calendar.timezone()).year();
    let new = NewTicket {
        subject: if subject.is_empty() {
            "(senza oggetto)".into()
        } else {
            subject
        },
        channel: Channel::Email,
        kind: if mail.subject.to_lowercase().contains("reclamo") {
            Kind::Complaint
        } else {
            Kind::Problem
        },
        requester_email: Some(from.address.clone()),
        requester_name: from.name.clone(),
        requester_phone: None,
        category: None,
        pratica: crate::ingest::practice::practice_number(&mail.subject, &mail.fresh_text),
        received_at: received,
        year,
    };
    let ticket = tickets::insert_ticket(conn, &new, &crate::auth::random_secret(), &from.address)?;
    // People in copy may follow up on the ticket; a message addressed to thousands is not a
    // conversation, so only the first few become participants. Those in Cc get the answers
    // and the closing letter too (`[operators] copy_requester_cc`); the other To recipients
    // (the help desk's aliases, a list) do not.
    let addressed = mail
        .to
        .iter()
        .map(|a| (a, false))
        .chain(mail.cc.iter().map(|a| (a, true)));
    let copied = addressed.filter(|(cc, _)| {
        **cc != from.address && **cc != intake.config.helpdesk.address && intake.config.operator(cc).is_none()
    });
    for (cc, in_cc) in copied.take(MAX_COPIED_PARTICIPANTS) {
        delivery::add_copied(conn, ticket, cc, in_cc)?;
    }
    let row = stored.insert(conn, Some(ticket), "person", false)?;
    let dropped = workflow::store_attachments(conn, intake.config, row, &mail.attachments, false)?;
    let row = tickets::find_ticket(conn, ticket)?.context("ticket vanished inside its transaction")?;
    // No acknowledgment to a From our MX found failing DMARC (backscatter): issue 15, item 8.
    let dmarc_failure = crate::auth::dmarc_failure(&mail.headers, &intake.config.security);
    let signs = workflow::MailSigns {
        possible_duplicates: &possible_duplicates,
        dmarc_failure: dmarc_failure.as_deref(),
    };
    workflow::open_request(conn, &ctx, &row, received, &mail.fresh_text, &dropped, &signs)?;
    Ok(Outcome::NewTicket(ticket))
}

/// Quarantines a marked spam sender's mail: its raw bytes and its row kept (a repeat of the
/// batch is a duplicate), a quarantine row and an event saying why; no notice to anyone, or
/// a spammer would keep the supervisors busy.
fn quarantine_spam(
    conn: &Connection,
    stored: &StoredMail<'_>,
    sender: &str,
    mark: &crate::store::spam::SpamMark,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    stored.insert(conn, None, "spam", false)?;
    let why = match mark.ticket {
        Some(ticket) => format!(
            "spam: {sender} closed as spam on {ticket}, quarantined until {}",
            crate::store::ts(mark.until)
        ),
        None => format!("spam: {sender} quarantined until {}", crate::store::ts(mark.until)),
    };
    messages::quarantine(conn, now, &stored.fetched.source, Some(stored.raw_sha), &why)?;
    insert_event(
        conn,
        mark.ticket,
        now,
        "system",
        EventAction::SpamQuarantined,
        &why,
        None,
    )?;
    Ok(Outcome::Spam)
}

/// Opens the ticket of a request an operator forwarded: requester, name, text and files from
/// the original; the SLA clock from the forward's arrival; the forwarding operator recorded;
/// the acknowledgment to the original sender; the operator's own tags applied.
fn forwarded_request(
    conn: &Connection,
    intake: &Intake<'_>,
    stored: &StoredMail<'_>,
    ctx: &workflow::Context<'_>,
    operator: &crate::config::Operator,
    forwarded: &crate::ingest::forward::Forwarded,
) -> anyhow::Result<TicketId> {
    let received = stored.fetched.received_at;
    let subject = thread::base_subject(&forwarded.subject);
    let new = NewTicket {
        subject: if subject.is_empty() {
            thread::base_subject(&stored.mail.subject)
        } else {
            subject
        },
        channel: Channel::Email,
        kind: Kind::Problem,
        requester_email: Some(forwarded.from.address.clone()),
        requester_name: forwarded.from.name.clone(),
        requester_phone: None,
        category: None,
        pratica: crate::ingest::practice::practice_number(&forwarded.subject, &forwarded.text),
        received_at: received,
        year: received.with_timezone(&intake.calendar.timezone()).year(),
    };
    let ticket = tickets::insert_ticket(conn, &new, &crate::auth::random_secret(), &operator.email)?;
    // The operator's mail itself (raw kept), then the citizen's request as the ticket's first words.
    stored.insert(conn, Some(ticket), "operator", false)?;
    let original = messages::insert_channel_message(
        conn,
        &messages::ChannelMessage {
            ticket,
            from_addr: Some(&forwarded.from.address),
            from_name: forwarded.from.name.as_deref(),
            subject: &new.subject,
            body_text: &forwarded.text,
            at: received,
            channel: "forward",
        },
    )?;
    let dropped = workflow::store_attachments(conn, intake.config, original, &forwarded.attachments, false)?;
    insert_event(
        conn,
        Some(ticket),
        received,
        &operator.email,
        EventAction::Forwarded,
        &format!("on behalf of {}", forwarded.from.address),
        None,
    )?;
    let row = tickets::find_ticket(conn, ticket)?.context("ticket vanished inside its transaction")?;
    workflow::open_request(
        conn,
        ctx,
        &row,
        received,
        &forwarded.text,
        &dropped,
        &workflow::MailSigns::default(),
    )?;
    workflow::on_forwarded_request(conn, ctx, operator, stored.mail, ticket, &forwarded.own_text)?;
    Ok(ticket)
}

/// A calendar reply: on the ticket its UID (or its references) names, when the sender takes
/// part in it; otherwise it answers nothing of ours, and is stored as noise.
fn apply_invitation_answer(
    conn: &Connection,
    intake: &Intake<'_>,
    stored: &StoredMail<'_>,
    ctx: &workflow::Context<'_>,
    reply: &crate::ingest::calendar::CalendarReply,
    thread: Option<TicketId>,
    sender: &str,
) -> anyhow::Result<Outcome> {
    let mut ticket = None;
    for candidate in reply.ticket.into_iter().chain(thread) {
        if tickets::find_ticket(conn, candidate)?.is_some() && delivery::is_participant(conn, candidate, sender)? {
            ticket = Some(candidate);
            break;
        }
    }
    let Some(ticket) = ticket else {
        stored.insert(conn, None, "invitation", false)?;
        return Ok(Outcome::Ignored("invitation"));
    };
    stored.insert(conn, Some(ticket), "invitation", false)?;
    let proposed = reply.proposed.map(|p| match p {
        crate::ingest::calendar::Proposed::Utc(at) => ctx.local(at),
        crate::ingest::calendar::Proposed::Local(at) => at.format("%d/%m/%Y %H:%M").to_string(),
    });
    let row = tickets::find_ticket(conn, ticket)?.context("ticket vanished inside its transaction")?;
    // The technician who sent the invitation hears the answer (else whoever holds the ticket).
    let inviter = tickets::latest_actor(conn, ticket, EventAction::Remote)?;
    let answered = crate::desk::invitation::Answered {
        author: sender,
        answer: reply.answer,
        proposed: proposed.as_deref(),
    };
    let effects = crate::desk::invitation::answered(
        &answered,
        inviter.as_deref().or(row.assignee.as_deref()),
        &intake.config.operators,
        intake.config.helpdesk.language,
    );
    workflow::apply(conn, ctx, Some(ticket), &effects)?;
    Ok(Outcome::AddedTo(ticket))
}

/// For a mail that threads nowhere: the sender's own ticket whose number its text quotes, or
/// else the tickets it may duplicate (quoted numbers of others' tickets, the sender's open ones).
fn quoted_ticket(
    conn: &Connection,
    mail: &InboundMail,
    sender: &str,
) -> anyhow::Result<(Option<TicketId>, Vec<TicketId>)> {
    let mut others = Vec::new();
    for id in thread::mentioned_tickets(&mail.text) {
        if tickets::find_ticket(conn, id)?.is_none() {
            continue;
        }
        if delivery::is_participant(conn, id, sender)? {
            return Ok((Some(id), Vec::new()));
        }
        others.push(id);
    }
    for id in tickets::open_of_requester(conn, sender)? {
        if !others.contains(&id) {
            others.push(id);
        }
    }
    Ok((None, others))
}

/// An automatic reply to `mail`, threaded under it.
fn reply_to(
    mail: &InboundMail,
    from: &parse::Person,
    ticket: TicketId,
    purpose: MailPurpose,
    rendered: crate::notify::templates::Rendered,
) -> OutgoingMail {
    let mut references = mail.references.clone();
    references.extend(mail.message_id.clone());
    OutgoingMail {
        purpose,
        ticket: Some(ticket),
        to: vec![Recipient {
            name: from.name.clone(),
            address: from.address.clone(),
        }],
        subject: rendered.subject,
        body: rendered.body,
        in_reply_to: mail.message_id.clone(),
        references,
        automatic: true,
        attachments: Vec::new(),
    }
}

fn apply_bounce(
    conn: &Connection,
    intake: &Intake<'_>,
    stored: &StoredMail<'_>,
    listed: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let ctx = intake.context(now);
    // Believed only for mail of ours it refers to, and only for that mail's recipients.
    let mut ticket_of_original = None;
    let mut failed: Vec<String> = Vec::new();
    for id in bounce::referenced_ids(stored.mail) {
        if let Some(original) = delivery::our_mail(conn, &id)? {
            ticket_of_original = ticket_of_original.or(original.ticket);
            for address in bounce::believed_failures(listed, &original.recipients) {
                if !failed.contains(&address) {
                    failed.push(address);
                }
            }
        }
    }
    let row = stored.insert(conn, ticket_of_original, "bounce", false)?;
    if failed.is_empty() {
        let detail = if listed.is_empty() {
            "refers to no mail of ours: nothing marked".to_string()
        } else {
            format!(
                "for {} refers to no mail of ours to them: nothing marked",
                listed.join(", ")
            )
        };
        insert_event(
            conn,
            ticket_of_original,
            now,
            "system",
            EventAction::UnverifiedBounce,
            &detail,
            Some(row),
        )?;
        return Ok(Outcome::Bounce(0));
    }
    let until = stored.fetched.received_at + chrono::Duration::days(bounce::UNDELIVERABLE_DAYS);
    let mut touched = 0;
    for address in &failed {
        for t in delivery::mark_undeliverable(conn, address, now, until)? {
            insert_event(
                conn,
                Some(t),
                stored.fetched.received_at,
                "system",
                EventAction::Undeliverable,
                address,
                Some(row),
            )?;
            // The assigned operator (or first level) learns that the requester cannot be reached.
            let ticket_row = tickets::find_ticket(conn, t)?.context("ticket vanished inside its transaction")?;
            let to = workflow::assignee_or_first_level(conn, &ctx, &ticket_row)?;
            let to: Vec<&crate::config::Operator> = to.iter().collect();
            workflow::notify_operators(
                conn,
                &ctx,
                &ticket_row,
                &to,
                workflow::Notice::new(NoticeKind::Bounce, address.clone()),
            )?;
            touched += 1;
        }
    }
    Ok(Outcome::Bounce(touched))
}

mod receipt;
#[cfg(test)]
mod tests;
