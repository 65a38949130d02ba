//! The outbox: every outgoing mail is a row, queued in the transaction of the change that
//! caused it, and sent later by [`send_due`] with retries.
//!
//! A mail without attachments is queued as a [`Draft`] and composed at its first attempt
//! (composition is the costliest step of queueing, and queueing happens inside intake's
//! transaction); its addresses are checked when it is queued, and composition is
//! deterministic, so every attempt sends the same bytes.
//!
//! Owns the queue's rules and the transports (SMTP through lettre, or `.eml` files for the
//! embedded default); the `outbox` table's rows are read and written by `store::outbox`. A
//! message that keeps failing, or whose row does not read back, stays queued and is retried
//! with a capped backoff, forever; it is never dropped. A login the SMTP server refuses
//! ([`LoginRefused`]) is no attempt of any message: the pass ends and the rows stay as they
//! were, for the courier to try again on its login backoff. The instant a message actually
//! left is recorded in `sent_at`, which the SLA counts. Sending is at-least-once: a crash
//! between the server's acceptance and the `sent_at` update resends that one message with the
//! same Message-ID, which receiving clients collapse.

mod token;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use anyhow::Context;
use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::config::{Server, Smtp};

pub mod smtp;
use crate::model::{MailPurpose, TicketId};
use crate::notify::{OutgoingMail, Recipient, Sender, compose, new_message_id};
use crate::store::outbox::{self as rows, Content, DueRow, NewMail};
use crate::store::{Store, WriteTurns};

/// What composing a queued mail needs besides its row (purpose, ticket, Message-ID, date).
#[derive(Debug, Serialize, Deserialize)]
struct Draft {
    sender_name: String,
    sender_address: String,
    /// The help desk's time zone, for the `Date:` offset (drafts queued before it: UTC).
    #[serde(default)]
    timezone: Option<String>,
    /// (display name, address)
    to: Vec<(Option<String>, String)>,
    subject: String,
    body: String,
    in_reply_to: Option<String>,
    references: Vec<String>,
    automatic: bool,
}

impl Draft {
    fn of(sender: &Sender, mail: &OutgoingMail) -> Draft {
        Draft {
            sender_name: sender.name.clone(),
            sender_address: sender.address.clone(),
            timezone: Some(sender.timezone.name().to_string()),
            to: mail.to.iter().map(|r| (r.name.clone(), r.address.clone())).collect(),
            subject: mail.subject.clone(),
            body: mail.body.clone(),
            in_reply_to: mail.in_reply_to.clone(),
            references: mail.references.clone(),
            automatic: mail.automatic,
        }
    }

    fn compose(
        self,
        purpose: String,
        ticket: Option<TicketId>,
        message_id: &str,
        created_at: DateTime<Utc>,
    ) -> anyhow::Result<Vec<u8>> {
        let sender = Sender {
            name: self.sender_name,
            address: self.sender_address,
            timezone: self
                .timezone
                .as_deref()
                .and_then(|t| t.parse().ok())
                .unwrap_or(chrono_tz::UTC),
        };
        let mail = OutgoingMail {
            purpose: purpose
                .parse()
                .map_err(|e: String| anyhow::anyhow!("queued mail {message_id}: {e}"))?,
            ticket,
            to: self
                .to
                .into_iter()
                .map(|(name, address)| Recipient { name, address })
                .collect(),
            subject: self.subject,
            body: self.body,
            in_reply_to: self.in_reply_to,
            references: self.references,
            automatic: self.automatic,
            attachments: Vec::new(),
        };
        compose(&sender, &mail, message_id, created_at)
    }
}

/// Refuses, at queueing time, an address composition would refuse later.
fn check_address(address: &str) -> anyhow::Result<()> {
    address
        .parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("bad address {address:?}: {e}"))
}

/// The longest wait between two attempts.
const MAX_BACKOFF: TimeDelta = TimeDelta::hours(1);

/// Queues `mail` (inside the caller's transaction) and returns its Message-ID.
pub fn enqueue(conn: &Connection, sender: &Sender, mail: &OutgoingMail, now: DateTime<Utc>) -> anyhow::Result<String> {
    let message_id = new_message_id(sender, mail.ticket, mail.purpose);
    enqueue_as(conn, sender, mail, &message_id, now)
}

/// Queues `mail` under a Message-ID chosen by the caller (the keyed ids of operator notices).
pub fn enqueue_as(
    conn: &Connection,
    sender: &Sender,
    mail: &OutgoingMail,
    message_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let message_id = message_id.to_string();
    // Whole seconds: the Date header of a draft is composed from the stored `created_at`.
    let now = now.trunc_subsecs(0);
    if mail.to.is_empty() {
        anyhow::bail!("a {} mail with no recipient", mail.purpose);
    }
    let (raw, draft) = if mail.attachments.is_empty() {
        check_address(&sender.address)?;
        for r in &mail.to {
            check_address(&r.address)?;
        }
        (Vec::new(), Some(serde_json::to_string(&Draft::of(sender, mail))?))
    } else {
        (compose(sender, mail, &message_id, now)?, None)
    };
    let recipients = mail.to.iter().map(|r| r.address.as_str()).collect::<Vec<_>>().join(",");
    let row = NewMail {
        ticket: mail.ticket,
        message_id: &message_id,
        purpose: mail.purpose.as_str(),
        from: &sender.address,
        recipients: &recipients,
        subject: &mail.subject,
        body: &mail.body,
        raw: &raw,
        draft: draft.as_deref(),
        queued_at: now,
    };
    rows::insert(conn, &row)?;
    // Mail about a ticket is part of its history (and of its thread: replies reference it).
    if let Some(ticket) = mail.ticket {
        rows::insert_history(conn, ticket, &row)?;
    }
    Ok(message_id)
}

/// How many acknowledgments went to `address` since `since` (the rate limit's count).
pub fn acks_since(conn: &Connection, address: &str, since: DateTime<Utc>) -> rusqlite::Result<u32> {
    rows::count_queued_since(conn, MailPurpose::Ack.as_str(), address, since)
}

/// The bytes of a queued mail: stored, or composed from its draft.
fn content_bytes(content: Content, message_id: &str) -> anyhow::Result<Vec<u8>> {
    let Some(draft) = content.draft else {
        return Ok(content.raw);
    };
    serde_json::from_str::<Draft>(&draft)?.compose(content.purpose, content.ticket, message_id, content.queued_at)
}

/// The complete message the outbox holds (or held) under `message_id`, as it is sent.
pub fn message_bytes(conn: &Connection, message_id: &str) -> anyhow::Result<Vec<u8>> {
    content_bytes(rows::find_content(conn, message_id)?, message_id)
}

/// A queued message due for an attempt.
struct Due {
    id: i64,
    message_id: String,
    recipients: String,
    attempts: u32,
    /// The bytes to send, or why they could not be composed (or the row not read).
    raw: anyhow::Result<Vec<u8>>,
}

impl Due {
    fn of(row: DueRow) -> Due {
        let DueRow {
            id,
            message_id,
            recipients,
            attempts,
            content,
        } = row;
        let raw = content
            .map_err(|e| anyhow::Error::from(e).context("reading the queued row"))
            .and_then(|content| content_bytes(content, &message_id));
        Due {
            id,
            message_id,
            recipients,
            attempts,
            raw,
        }
    }
}

/// The SMTP server refused our login, or wants one we cannot give (530 authentication
/// required, 534 mechanism too weak, 535 credentials invalid, or no mechanism offered). It
/// concerns no message: the mail stays queued, untouched, until a login works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRefused {
    /// The user we logged in as (none configured: the server wants a login).
    pub user: Option<String>,
    /// The reply code, when the server answered one.
    pub code: Option<u16>,
    /// The server's words (or lettre's, when no mechanism matched).
    pub reply: String,
}

impl std::fmt::Display for LoginRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let user = self.user.as_deref().unwrap_or("(no username)");
        match self.code {
            Some(code) => write!(f, "SMTP login as {user} refused ({code}): {}", self.reply),
            None => write!(f, "SMTP login as {user} impossible: {}", self.reply),
        }
    }
}

impl std::error::Error for LoginRefused {}

/// The SMTP replies that say the login, not the message, is at fault.
const LOGIN_CODES: [u16; 3] = [530, 534, 535];

/// A lettre error as the courier needs it: a [`LoginRefused`] for a login problem, the
/// error itself otherwise.
fn smtp_error(error: lettre::transport::smtp::Error, user: Option<&str>) -> anyhow::Error {
    let code = error.status().and_then(|c| c.to_string().parse::<u16>().ok());
    let words = || {
        use std::error::Error;
        error
            .source()
            .map(ToString::to_string)
            .unwrap_or_else(|| error.to_string())
    };
    match code {
        Some(code) if LOGIN_CODES.contains(&code) => LoginRefused {
            user: user.map(str::to_string),
            code: Some(code),
            reply: words(),
        }
        .into(),
        None if error.is_client() && error.to_string().contains("authentication mechanism") => LoginRefused {
            user: user.map(str::to_string),
            code: None,
            reply: words(),
        }
        .into(),
        _ => error.into(),
    }
}

/// Where mail goes.
pub enum Transport {
    /// `.eml` files in a folder.
    Files(PathBuf),
    /// An SMTP server, through sessions kept open and used in parallel.
    Smtp(Box<smtp::Sessions>),
}

impl Transport {
    /// Builds the transport of the `[smtp]` section.
    pub fn from_config(smtp: &Smtp) -> anyhow::Result<Transport> {
        match smtp {
            Smtp::File { path } => Ok(Transport::Files(path.clone())),
            Smtp::Server { server, sessions } => Ok(Transport::Smtp(Box::new(smtp::Sessions::new(server, *sessions)?))),
        }
    }

    /// Says goodbye on the SMTP sessions kept open (the courier is ending).
    pub async fn close(&self) {
        if let Transport::Smtp(sessions) = self {
            sessions.close().await;
        }
    }
}

/// Connects to `server` and logs in (as sending would), then says goodbye: for
/// `check-config --connect`. A refused login is a [`LoginRefused`].
pub async fn probe(server: &Server) -> anyhow::Result<()> {
    // The very path the courier's sessions take: TCP, TLS, EHLO, the login (a token when
    // `[smtp] auth = "oauth2"`), then NOOP and QUIT.
    smtp::Sessions::new(server, crate::config::SmtpSessions::default())?
        .probe()
        .await
}

/// Writes one message as `<folder>/<row id>-<message id>.eml`, atomically (temp + rename),
/// so a reader never sees half a file.
fn write_file(dir: &Path, due: &Due, raw: &[u8]) -> anyhow::Result<()> {
    let safe: String = due
        .message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = format!("{:08}-{safe}.eml", due.id);
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, raw).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(&name)).with_context(|| format!("renaming {}", tmp.display()))?;
    Ok(())
}

/// Backoff after `attempts` failures: 1, 2, 4 … minutes, capped at an hour.
fn backoff(attempts: u32) -> TimeDelta {
    let minutes = 1i64 << attempts.saturating_sub(1).min(10);
    TimeDelta::minutes(minutes).min(MAX_BACKOFF)
}

/// What one sending pass did.
#[derive(Debug, Default)]
pub struct SendReport {
    /// Messages that left.
    pub sent: u32,
    /// Messages that failed this time (still queued).
    pub failed: u32,
    /// The SMTP server answered about a message (took it or refused it): a login, if it
    /// asks for one, works.
    pub answered: bool,
    /// Why the pass ended before its last message: the way out failed (no connection, TLS, a
    /// full disk), or the server refused the login (a [`LoginRefused`], recorded against no
    /// message).
    pub stopped: Option<anyhow::Error>,
}

/// Sends every message queued before the pass began and due at `now` (reading the clock
/// again for each `sent_at`), in chunks. Mail queued meanwhile waits for the next pass, so
/// a pass ends even while intake keeps queueing.
pub async fn send_due(
    store: &mut Store,
    turns: &WriteTurns,
    transport: &Transport,
    envelope_from: &str,
    now: impl Fn() -> DateTime<Utc> + Sync,
) -> anyhow::Result<SendReport> {
    match transport {
        Transport::Files(dir) => send_files(store, turns, dir, &now).await,
        Transport::Smtp(sessions) => send_smtp(store, turns, sessions, envelope_from, &now).await,
    }
}

/// The rows due after `after_id` (up to `last_id`), at most a chunk, moving `after_id` on.
fn next_due(store: &Store, now: DateTime<Utc>, after_id: &mut i64, last_id: i64) -> anyhow::Result<Vec<Due>> {
    let due: Vec<Due> = rows::due(store.conn(), now, *after_id, last_id, CHUNK)?
        .into_iter()
        .map(Due::of)
        .collect();
    if let Some(last) = due.last() {
        *after_id = last.id;
    }
    Ok(due)
}

/// Writes the due mail as files, one after the other, on a blocking thread (file creation
/// is the kernel's work, and it must not hold up the async workers intake's connection and
/// the HTTP interface run on). Files are named by their row, so rewriting one after a crash
/// overwrites it: a chunk's results are recorded together, in one transaction under the
/// write turn, after its files are written. A failure of the disk counts for the rest of the
/// chunk, untried, and ends the pass.
async fn send_files(
    store: &mut Store,
    turns: &WriteTurns,
    dir: &Path,
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> anyhow::Result<SendReport> {
    let mut total = SendReport::default();
    let mut after_id = 0i64;
    let last_id = rows::last_id(store.conn())?;
    loop {
        let due = next_due(store, now(), &mut after_id, last_id)?;
        if due.is_empty() {
            return Ok(total);
        }
        let target = dir.to_path_buf();
        let (written, stopped) = tokio::task::spawn_blocking(move || write_files(&target, due))
            .await
            .context("the task writing the outbox files failed")?;
        let at = now();
        let mut results: Vec<_> = written.into_iter().map(|(item, result)| (item, result, at)).collect();
        let _turn = turns.lock().await;
        record(store, &mut results, &mut total)?;
        if let Some(e) = stopped {
            total.stopped = Some(e);
            return Ok(total);
        }
    }
}

/// Writes each mail of a chunk as a file; after a failure of the disk the rest is not tried
/// (each counts that failure as its own attempt) and the failure is returned beside.
fn write_files(dir: &Path, due: Vec<Due>) -> (Vec<(Due, anyhow::Result<()>)>, Option<anyhow::Error>) {
    let mut results = Vec::with_capacity(due.len());
    // The folder once a chunk (an operator may have removed it), not once a file.
    if let Err(e) = std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display())) {
        let why = format!("not tried: {e:#}");
        results.extend(due.into_iter().map(|item| (item, Err(anyhow::anyhow!("{why}")))));
        return (results, Some(e));
    }
    let mut due = due.into_iter();
    while let Some(item) = due.next() {
        let result = match &item.raw {
            Ok(raw) => write_file(dir, &item, raw),
            Err(e) => Err(anyhow::anyhow!("composing the message: {e:#}")),
        };
        match result {
            Err(e) if !about_this_message(&e) => {
                let why = format!("not tried, the previous attempt failed: {e:#}");
                results.push((item, Err(anyhow::anyhow!("{e:#}"))));
                results.extend(due.by_ref().map(|item| (item, Err(anyhow::anyhow!("{why}")))));
                return (results, Some(e));
            }
            other => results.push((item, other)),
        }
    }
    (results, None)
}

/// Sends the due mail over up to `[smtp] connections` sessions in parallel (see
/// [`smtp::Sessions`]). Results are recorded in one transaction at a time under the daemon's
/// write turn: as soon as there are results the pass queues for the turn, and while it waits
/// (intake may hold the turn for a whole batch) the sessions go on sending; whatever came in
/// meanwhile is recorded together. A crash resends only the mail whose result was not
/// recorded yet, byte for byte the same message under the same Message-ID.
async fn send_smtp(
    store: &mut Store,
    turns: &WriteTurns,
    sessions: &smtp::Sessions,
    envelope_from: &str,
    now: &(dyn Fn() -> DateTime<Utc> + Sync),
) -> anyhow::Result<SendReport> {
    use futures::StreamExt;
    use smtp::{Event, Job, Work};

    sessions.tidy().await;
    let mut total = SendReport::default();
    let mut after_id = 0i64;
    let last_id = rows::last_id(store.conn())?;
    let first = next_due(store, now(), &mut after_id, last_id)?;
    if first.is_empty() {
        return Ok(total);
    }
    let mut exhausted = first.len() < CHUNK as usize;
    let lanes = sessions.connections().min(first.len());
    let work = std::sync::Mutex::new(Work::new(lanes));
    Work::lock(&work).queue.extend(first.into_iter().map(Job::new));
    let (events, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let mut running: futures::stream::FuturesUnordered<_> = (0..lanes)
        .map(|_| sessions.lane(&work, &events, envelope_from, now))
        .collect();
    let mut results: Vec<(Due, anyhow::Result<()>, DateTime<Utc>)> = Vec::new();
    let mut turn: Option<Pin<Box<dyn Future<Output = tokio::sync::OwnedMutexGuard<()>> + Send>>> = None;
    // Why the rest of the queue is not tried (the way out failed), if it is not.
    let mut down: Option<String> = None;
    fn take(
        event: Event,
        results: &mut Vec<(Due, anyhow::Result<()>, DateTime<Utc>)>,
        total: &mut SendReport,
        down: &mut Option<String>,
    ) {
        match event {
            Event::Done(due, result, at) => {
                total.answered |= answered(&result);
                results.push((due, result, at));
            }
            // A refused login is no attempt of any message: nothing is recorded against the
            // rest (neither given up nor counted as failing), and the courier waits for the
            // login to work on its own long backoff.
            Event::LoginRefused(e) => total.stopped = Some(e),
            // A failure of the way out (no connection, a timeout) would fail the rest of the
            // pass the same way, one timeout at a time: the rest of the queue counts it as its
            // own failed attempt, untried. The rows keep its words; the report keeps the error
            // itself, for the courier to tell what it means.
            Event::Down(e) => {
                if down.is_none() {
                    *down = Some(format!("{e:#}"));
                }
                if total.stopped.is_none() {
                    total.stopped = Some(e);
                }
            }
        }
    }
    loop {
        tokio::select! {
            ended = running.next() => {
                if ended.is_none() {
                    break;
                }
            }
            Some(event) = reports.recv() => take(event, &mut results, &mut total, &mut down),
            _turn = async {
                match turn.as_mut() {
                    Some(waiting) => waiting.await,
                    None => std::future::pending().await,
                }
            }, if turn.is_some() => {
                turn = None;
                record(store, &mut results, &mut total)?;
            }
        }
        while let Ok(event) = reports.try_recv() {
            take(event, &mut results, &mut total, &mut down);
        }
        if turn.is_none() && !results.is_empty() {
            turn = Some(Box::pin(turns.clone().lock_owned()));
        }
        let (queued, in_flight, stop) = {
            let w = Work::lock(&work);
            (w.queue.len(), w.in_flight, w.stop)
        };
        if !exhausted && !stop && queued < LOW_WATER {
            let more = next_due(store, now(), &mut after_id, last_id)?;
            exhausted = more.len() < CHUNK as usize;
            Work::lock(&work).queue.extend(more.into_iter().map(Job::new));
        }
        // Nothing in hand and nothing left to take: a lane still opening a session (a server
        // that makes it wait for another session to end) is not waited for.
        let nothing_left = Work::lock(&work).queue.is_empty() && exhausted;
        if in_flight == 0 && (stop || nothing_left) {
            break;
        }
    }
    drop(running);
    while let Ok(event) = reports.try_recv() {
        take(event, &mut results, &mut total, &mut down);
    }
    if let Some(why) = &down {
        let untried: Vec<Job> = Work::lock(&work).queue.drain(..).collect();
        for job in untried {
            results.push((
                job.due,
                Err(anyhow::anyhow!("not tried, the previous attempt failed: {why}")),
                now(),
            ));
        }
    }
    if !results.is_empty() {
        let _turn = match turn.take() {
            Some(waiting) => waiting.await,
            None => turns.clone().lock_owned().await,
        };
        record(store, &mut results, &mut total)?;
    }
    Ok(total)
}

/// Whether the SMTP server answered about the message: it took it, or refused it with a
/// reply code (after the login, if one is asked for).
fn answered(result: &anyhow::Result<()>) -> bool {
    match result {
        Ok(()) => true,
        Err(e) => e.chain().any(|cause| {
            cause
                .downcast_ref::<lettre::transport::smtp::Error>()
                .is_some_and(|smtp| smtp.status().is_some())
        }),
    }
}

/// Rows a sending pass reads at a time.
const CHUNK: u32 = 200;

/// Below this many mails waiting for a session, the SMTP pass reads the next chunk.
const LOW_WATER: usize = CHUNK as usize / 2;

/// Whether a sending failure concerns this message only (the server refused it, or it could
/// not be composed) rather than the way out (no connection, a timeout, a full disk).
fn about_this_message(error: &anyhow::Error) -> bool {
    for cause in error.chain() {
        if let Some(smtp) = cause.downcast_ref::<lettre::transport::smtp::Error>() {
            return smtp.is_transient() || smtp.is_permanent();
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return false;
        }
    }
    true
}

/// The next attempt of a mail the SMTP server refused for good: never.
pub fn given_up_at() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map_or(DateTime::<Utc>::MAX_UTC, |t| t.and_utc())
}

/// Whether the server refused this mail with a permanent reply (5xx, not a login problem).
fn refused_for_good(error: &anyhow::Error) -> bool {
    error.downcast_ref::<LoginRefused>().is_none()
        && error.chain().any(|cause| {
            cause
                .downcast_ref::<lettre::transport::smtp::Error>()
                .is_some_and(|smtp| smtp.is_permanent())
        })
}

/// Records sending attempts in one transaction: `sent_at` for those that left, the error and
/// the next attempt for those that failed.
fn record(
    store: &mut Store,
    results: &mut Vec<(Due, anyhow::Result<()>, DateTime<Utc>)>,
    report: &mut SendReport,
) -> anyhow::Result<()> {
    let conn = store.write()?;
    for (item, result, at) in results.drain(..) {
        match result {
            Ok(()) => {
                rows::mark_sent(&conn, item.id, at)?;
                tracing::debug!(message_id = %item.message_id, to = %item.recipients, "mail sent");
                report.sent += 1;
            }
            Err(e) if refused_for_good(&e) => {
                // A 5xx about this mail (an unknown recipient, a rejected message): trying
                // again gets the same answer. Given up, and reported once to its technician.
                let attempts = item.attempts + 1;
                rows::mark_failed(
                    &conn,
                    item.id,
                    attempts,
                    given_up_at(),
                    &format!("refused for good: {e:#}"),
                )?;
                tracing::warn!(message_id = %item.message_id, to = %item.recipients,
                    "the SMTP server refused this mail for good: not retried, its technician is told: {e:#}");
                report.failed += 1;
            }
            Err(e) => {
                let attempts = item.attempts + 1;
                let next = at + backoff(attempts);
                rows::mark_failed(&conn, item.id, attempts, next, &format!("{e:#}"))?;
                tracing::warn!(message_id = %item.message_id, attempts, "sending failed, will retry at {next}: {e:#}");
                report.failed += 1;
            }
        }
    }
    conn.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(to: &str) -> OutgoingMail {
        OutgoingMail {
            purpose: MailPurpose::Ack,
            ticket: None,
            to: vec![Recipient {
                name: Some("Anna Ferrari".into()),
                address: to.into(),
            }],
            subject: "Richiesta ricevuta".into(),
            body: "Gentile utente,\nla sua richiesta è stata registrata.\n".into(),
            in_reply_to: Some("abc@example.org".into()),
            references: vec!["abc@example.org".into()],
            automatic: true,
            attachments: Vec::new(),
        }
    }

    fn sender() -> Sender {
        Sender {
            name: "Assistenza CPortal".into(),
            address: "assistenza@comune.example.it".into(),
            timezone: chrono_tz::Europe::Rome,
        }
    }

    #[test]
    fn a_draft_composes_the_same_bytes_at_every_attempt() {
        let store = Store::open_in_memory().expect("store");
        let queued_at = DateTime::parse_from_rfc3339("2026-03-09T10:15:42.7+01:00")
            .expect("t")
            .with_timezone(&Utc);
        let id = enqueue(store.conn(), &sender(), &mail("anna@example.org"), queued_at).expect("queued");
        let first = message_bytes(store.conn(), &id).expect("composed");
        let again = message_bytes(store.conn(), &id).expect("composed again");
        assert_eq!(first, again);
        let parsed = crate::ingest::parse::parse_mail(&first, 1 << 20).expect("parses");
        assert_eq!(parsed.message_id.as_deref(), Some(id.as_str()));
        assert_eq!(parsed.subject, "Richiesta ricevuta");
        assert!(parsed.text.contains("è stata registrata"), "{}", parsed.text);
        let text = String::from_utf8_lossy(&first);
        assert!(
            text.contains("Date: Mon, 9 Mar 2026 10:15:42 +0100"),
            "the local offset: {text}"
        );
        assert!(text.contains("In-Reply-To: <abc@example.org>"), "{text}");
        assert!(text.contains("Auto-Submitted: auto-replied"), "{text}");
    }

    #[test]
    fn a_failure_of_the_way_out_stops_the_pass_and_one_of_the_message_does_not() {
        let disk = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::StorageFull)).context("writing x.eml");
        assert!(!about_this_message(&disk));
        let composing = anyhow::anyhow!("composing the message: missing To");
        assert!(about_this_message(&composing));
    }

    #[test]
    fn a_bad_address_is_refused_when_queued_not_when_sent() {
        let store = Store::open_in_memory().expect("store");
        let refused = enqueue(store.conn(), &sender(), &mail("not an address"), Utc::now());
        assert!(refused.is_err());
        let mut nobody = mail("anna@example.org");
        nobody.to.clear();
        assert!(enqueue(store.conn(), &sender(), &nobody, Utc::now()).is_err());
        let queued: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
            .expect("count");
        assert_eq!(queued, 0);
    }

    #[test]
    fn a_row_that_does_not_read_back_fails_alone_and_stays_queued() {
        let mut store = Store::open_in_memory().expect("store");
        let queued_at = DateTime::parse_from_rfc3339("2026-03-09T10:15:00+01:00")
            .expect("t")
            .with_timezone(&Utc);
        let bad = enqueue(store.conn(), &sender(), &mail("anna@example.org"), queued_at).expect("queued");
        enqueue(store.conn(), &sender(), &mail("bruno@example.org"), queued_at).expect("queued");
        // What no code path writes: a ticket id that is not one.
        store
            .conn()
            .execute_batch("PRAGMA foreign_keys = OFF; UPDATE outbox SET ticket_id = 'TCK-1' WHERE id = 1; PRAGMA foreign_keys = ON;")
            .expect("corrupt");
        let dir = tempfile::tempdir().expect("tempdir");
        let transport = Transport::Files(dir.path().to_path_buf());
        let turns = WriteTurns::default();
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let later = queued_at + TimeDelta::minutes(1);
        let report = runtime
            .block_on(send_due(
                &mut store,
                &turns,
                &transport,
                "assistenza@comune.example.it",
                || later,
            ))
            .expect("the pass goes on");
        assert_eq!((report.sent, report.failed), (1, 1));
        assert!(report.stopped.is_none(), "one row's failure is not the way out's");
        let (attempts, sent, error): (u32, Option<String>, String) = store
            .conn()
            .query_row(
                "SELECT attempts, sent_at, last_error FROM outbox WHERE message_id = ?1",
                [&bad],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("still queued");
        assert_eq!((attempts, sent), (1, None));
        assert!(
            error.contains("outbox row 1, column ticket_id: \"TCK-1\" is not a ticket id"),
            "{error}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).expect("files").count(), 1);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), TimeDelta::minutes(1));
        assert_eq!(backoff(2), TimeDelta::minutes(2));
        assert_eq!(backoff(4), TimeDelta::minutes(8));
        assert_eq!(backoff(50), MAX_BACKOFF);
    }
}
