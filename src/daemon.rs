//! The long-running daemon: takes the data folder's lock, opens the store, and runs passes
//! (intake, then housekeeping) until SIGINT or SIGTERM, while the courier task sends what
//! the passes queued in the outbox.
//!
//! Owns the runtime, the signals, the IMAP connection's lifetime and the loop's pacing.
//! A batch is never interrupted: the shutdown signal is looked at between batches and while
//! waiting, so shutdown always finishes the message in hand and leaves nothing half-done.
//! Business decisions are not made here; a failing IMAP or SMTP server is retried with
//! capped, jittered backoff, while a failing database stops the daemon (exit 75) so the
//! supervisor restarts it. A login the server refuses is no network failure: it is retried
//! after hours, not seconds (`[mailbox|smtp] login_retry_seconds`, doubling up to 4 h), and
//! reported to `/healthz` until a login works; [`trouble`] says what a failure means. The data
//! folder is checked before anything is written (exit 77 or 73, never 70).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use futures::FutureExt;
use tokio::sync::{Notify, watch};

use crate::auth::{self, MacKey};
use crate::clock::Clock;
use crate::config::{Config, LOGIN_RETRY_MAX, Mailbox, Origin, Server, Smtp};
use crate::exit::{self, Failure};
use crate::http::{Liveness, LoginRefusal, LoginWatch};
use crate::ingest::Prepared;
use crate::ingest::imap::{Beginning, ForeignMailbox, ImapSettings, ImapSource, KEYWORD_PREFIX};
use crate::ingest::maildir::MaildirSource;
use crate::intake::{self, Intake, Outcome};
use crate::lock::{DaemonLock, LockError};
use crate::notify::templates::Templates;
use crate::outbox::{self, Transport};
use crate::store::checkpoints;
use crate::store::checkpoints::Checkpoint;
use crate::store::{self, Store, WriteTurns, suspensions};

mod alarms;
mod folders;
pub mod trouble;

pub use folders::check_data_dir;
use folders::folder_failure;
use trouble::{Service, Trouble};

/// Pause between passes when the source cannot push news (Maildir).
const MAILDIR_POLL: Duration = Duration::from_secs(5);

/// How often the courier looks for due mail nobody woke it for (retries).
const COURIER_POLL: Duration = Duration::from_secs(5);

/// The page cache of intake's connection (KiB). A batch of 500 messages adds about 3 MiB to
/// the database (the raw mail, the ticket, its history and its acknowledgment) and touches the
/// index pages around them; with SQLite's default of 2 MiB the transaction spilled dirty pages
/// to the log in the middle of each batch and read evicted pages back: in the intake
/// benchmark's profile a quarter of applying a batch, 6 % with this cache (docs/performance.md).
/// The other connections keep the default: they write a few rows at a time.
const INTAKE_PAGE_CACHE_KIB: u32 = 8192;

/// The shortest pause between two checkpoints of the write-ahead log (a pass follows every
/// commit, and copying the log back while intake writes it would slow intake).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// How long shutdown waits for the courier to finish the mail in hand.
const COURIER_GRACE: Duration = Duration::from_secs(10);

/// The longest pause between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Checks that this process may use its folders, then creates the data folder, the local
/// Maildir and the file outbox when the config uses them, the store and the notification key.
pub fn prepare_data_dir(config: &Config) -> Result<(), Failure> {
    check_data_dir(config)?;
    create_data_dir(config)
}

fn create_data_dir(config: &Config) -> Result<(), Failure> {
    let data_dir = &config.helpdesk.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data folder {}", data_dir.display()))
        .map_err(folder_failure)?;
    if let Mailbox::Maildir { path } = &config.mailbox {
        for sub in ["new", "cur", "tmp"] {
            let dir = path.join(sub);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating Maildir folder {}", dir.display()))
                .map_err(folder_failure)?;
        }
    }
    if let Smtp::File { path } = &config.smtp {
        std::fs::create_dir_all(path)
            .with_context(|| format!("creating outbox folder {}", path.display()))
            .map_err(folder_failure)?;
    }
    Store::open(&config.database_path())?;
    // The key of operator-notification Message-IDs exists from the first start on.
    auth::load_or_create_key(data_dir).map_err(folder_failure)?;
    Ok(())
}

/// How `sportello run` was asked to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// One pass over every source and the outbox, then exit.
    pub once: bool,
    /// Take over an IMAP folder marked by another data folder (`--take-over`).
    pub take_over: bool,
}

/// Runs the daemon on a fresh tokio runtime until a signal (or after one pass with `once`).
pub fn run_blocking(config: Config, clock: Clock, options: RunOptions) -> Result<(), Failure> {
    // Two workers: the HTTP interface keeps answering while a pass works on the database.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // The handlers are registered before anything else: a SIGTERM that arrives while the
    // daemon takes its lock or opens the store is a clean shutdown too, never the default kill.
    runtime.block_on(async { run(config, clock, options, shutdown_signal()).await })
}

/// Resolves on SIGINT or SIGTERM; the handlers are installed when this is called (inside
/// the runtime), not when the future is first polled.
fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind: SignalKind, name: &'static str| match signal(kind) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("cannot listen for {name}: {e}");
            None
        }
    };
    let mut terminate = listen(SignalKind::terminate(), "SIGTERM");
    let mut interrupt = listen(SignalKind::interrupt(), "SIGINT");
    // SIGHUP (an SSH session closing, a logrotate hook) used to end the daemon without a word:
    // it is logged and ignored; a new configuration takes effect at the next start.
    let mut hangup = listen(SignalKind::hangup(), "SIGHUP");
    async move {
        loop {
            tokio::select! {
                _ = received(terminate.as_mut()) => break,
                _ = received(interrupt.as_mut()) => break,
                _ = received(hangup.as_mut()) => tracing::warn!(
                    "SIGHUP ignored: the daemon keeps running; restart it to apply a changed configuration"
                ),
            }
        }
        tracing::info!("shutdown requested: finishing the work in hand");
    }
}

/// Resolves when `signal` arrives; never when it could not be listened for.
async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Reconnection backoff: doubling from 1 s, capped, with ±25 % jitter so several daemons
/// restarting together do not hammer the server in step.
fn backoff(failures: u32) -> Duration {
    let base = Duration::from_secs(1u64 << failures.min(9)).min(MAX_BACKOFF);
    let jitter = rand::random_range(0.75..1.25);
    base.mul_f64(jitter)
}

/// The wait after `refusals` logins in a row the server refused: `first`, doubled at each
/// further refusal, capped at [`LOGIN_RETRY_MAX`] (4 h). A wrong or expired password cannot
/// fix itself, and every attempt counts against the account's lockout policy: with the
/// default 5 minutes, 4 attempts in the first hour, 11 in the first day, 6 a day after.
/// No jitter: the schedule is what the documentation promises.
fn login_backoff(refusals: u32, first: Duration) -> Duration {
    first
        .saturating_mul(1u32 << refusals.saturating_sub(1).min(16))
        .min(LOGIN_RETRY_MAX)
}

/// Records one more refused login in `watch` (what `/healthz` reports) and returns how many
/// there were in a row and the wait before the next attempt.
fn refused_login(watch: &LoginWatch, server: &Server, now: DateTime<Utc>, message: String) -> (u32, Duration) {
    let previous = watch.refusal();
    let attempts = previous.as_ref().map_or(1, |p| p.attempts + 1);
    let wait = login_backoff(attempts, server.login_retry);
    watch.set(Some(LoginRefusal {
        since: previous.map_or(now, |p| p.since),
        attempts,
        next_attempt: now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX),
        message,
    }));
    (attempts, wait)
}

/// A login worked: the refusals in `watch`, if any, are over, and the log says so (as a
/// warning, so that whoever watches only warnings and errors sees the all-clear too).
fn login_works(watch: &LoginWatch, service: Service) {
    if let Some(refusal) = watch.refusal() {
        watch.set(None);
        tracing::warn!(
            attempts = refusal.attempts,
            since = %refusal.since,
            "{} login works again ({}): the refusals are over",
            service.name(),
            service.section()
        );
    }
}

/// A wait as a person reads it: `90 s`, `5 min`, `2 h 40 min`.
fn in_words(wait: Duration) -> String {
    let seconds = wait.as_secs();
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7200 => format!("{} min", seconds / 60),
        _ if seconds % 3600 < 60 => format!("{} h", seconds / 3600),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

/// A failed pass: retried later (by systemd, or by whoever runs `--once`); a full disk says so
/// in words (`Failure::from`).
fn retry_later(error: anyhow::Error) -> Failure {
    Failure::new(exit::TEMPFAIL, Failure::from(error).error)
}

type Shutdown<'a> = Pin<&'a mut (dyn Future<Output = ()> + 'a)>;

/// The daemon loop; `shutdown` is any future (tests pass their own).
pub async fn run(
    config: Config,
    clock: Clock,
    options: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Failure> {
    let once = options.once;
    check_data_dir(&config)?;
    let lock = DaemonLock::acquire(&config.helpdesk.data_dir).map_err(|e| match e {
        held @ LockError::Held { .. } => Failure::new(exit::TEMPFAIL, held),
        other => folder_failure(anyhow::Error::from(other)),
    })?;
    create_data_dir(&config)?;
    let mut store = Store::open(&config.database_path())?
        .without_automatic_checkpoints()?
        .with_page_cache(INTAKE_PAGE_CACHE_KIB)?;
    let templates = Templates::load(config.helpdesk.templates_dir.as_deref())?;
    let key = auth::load_or_create_key(&config.helpdesk.data_dir)?;
    let transport = Transport::from_config(&config.smtp)?;
    let turns = WriteTurns::default();
    let courier_wake = Arc::new(Notify::new());
    let (finish_courier, courier_finishing) = watch::channel(false);
    let liveness = Arc::new(Liveness::default());
    let courier = Courier {
        store: Store::open(&config.database_path())?.without_automatic_checkpoints()?,
        turns: turns.clone(),
        transport,
        smtp: match &config.smtp {
            Smtp::Server { server, .. } => Some(server.clone()),
            Smtp::File { .. } => None,
        },
        liveness: liveness.clone(),
        envelope_from: config.helpdesk.address.clone(),
        clock,
        wake: courier_wake.clone(),
        once,
    };
    let mut courier_task = tokio::spawn(courier.run(courier_finishing));
    let (stop_alarms, alarms_stopping) = watch::channel(false);
    let alarms_task = (!once).then(|| -> Result<_, Failure> {
        let watcher = alarms::Watcher {
            store: Store::open(&config.database_path())?.without_automatic_checkpoints()?,
            config: config.clone(),
            templates: Templates::load(config.helpdesk.templates_dir.as_deref())?,
            key: key.clone(),
            clock,
            turns: turns.clone(),
            liveness: liveness.clone(),
            courier: courier_wake.clone(),
        };
        Ok(tokio::spawn(watcher.run(alarms_stopping)))
    });
    let alarms_task = alarms_task.transpose()?;
    let (stop_http, http_task) = match (&config.http, once) {
        (Some(http), false) => {
            let listener = tokio::net::TcpListener::bind(http.listen)
                .await
                .map_err(|e| Failure::new(exit::TEMPFAIL, anyhow::anyhow!("cannot listen on {}: {e}", http.listen)))?;
            let state = crate::http::AppState::new(
                config.clone(),
                clock,
                liveness.clone(),
                turns.clone(),
                courier_wake.clone(),
            )?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            tracing::info!(listen = %http.listen, "HTTP interface listening");
            let task = tokio::spawn(crate::http::serve(listener, state, async {
                let _ = stopped.await;
            }));
            (Some(stop), Some(task))
        }
        _ => (None, None),
    };
    // The configured calendar may have changed since the last run: due times follow it.
    {
        let _turn = turns.lock().await;
        let calendar = suspensions::calendar(store.conn(), &config.calendar)?;
        let tx = store.write()?;
        let changed = crate::monitor::recompute_cycles(&tx, &calendar, &config.sla)?;
        tx.commit()?;
        if changed > 0 {
            tracing::info!(changed, "SLA due times recomputed for the current calendar");
        }
    }
    // What an installer checks first: which build, which file, which servers.
    let targets = Targets::of(&config);
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %targets.configuration,
        mailbox = %targets.mailbox,
        smtp = %targets.smtp,
        data_dir = %config.helpdesk.data_dir.display(),
        lock = %lock.path().display(),
        now = %clock.now(),
        "sportello started"
    );
    let pass = Pass {
        config: &config,
        templates: &templates,
        key: &key,
        clock,
        turns: &turns,
        courier: &courier_wake,
        liveness: &liveness,
        take_over: options.take_over,
    };
    let shutdown = std::pin::pin!(shutdown);
    let mut shutdown: Shutdown<'_> = shutdown;
    let mut imap: Option<ImapSource> = None;
    let mut failures = 0u32;
    let mut disk_was_full = false;
    loop {
        let mut disk_full = false;
        // Set when the server refused the login: the next attempt waits hours, not seconds.
        let mut login_wait: Option<Duration> = None;
        // A full disk pauses the long-running daemon (see below); anything else, or a full disk
        // in a one-shot pass, ends it with "retry later".
        let mut pause_if_full = |error: anyhow::Error, what: &str| {
            if !once && store::is_disk_full(&error) {
                disk_full = true;
                Ok(())
            } else {
                Err(retry_later(error.context(what.to_string())))
            }
        };
        let intake_result = match &config.mailbox {
            Mailbox::Maildir { path } => {
                drain_maildir(&pass, &mut store, &MaildirSource::new(path), &mut shutdown).await
            }
            Mailbox::Imap { .. } => drain_imap(&pass, &mut store, &mut imap, &mut shutdown).await,
        };
        match intake_result {
            Ok(stop) => {
                liveness.mailbox_trouble.works();
                liveness.last_intake.store(clock.now().timestamp(), Ordering::Relaxed);
                if matches!(config.mailbox, Mailbox::Imap { .. }) {
                    liveness
                        .last_imap_poll
                        .store(clock.now().timestamp(), Ordering::Relaxed);
                }
                failures = 0;
                if stop {
                    break;
                }
            }
            Err(PassError::Store(e)) => pause_if_full(e, "database failure")?,
            Err(PassError::Refused(e)) => return Err(Failure::new(exit::CONFIG, e)),
            Err(PassError::Source(e)) => {
                imap = None;
                match &config.mailbox {
                    Mailbox::Imap { server, .. } => {
                        let diagnosis = trouble::diagnose(Service::Imap, server, &e);
                        liveness.mailbox_trouble.failed(clock.now(), diagnosis.message.clone());
                        if diagnosis.trouble == Trouble::LoginRefused {
                            let (attempts, wait) =
                                refused_login(&liveness.mailbox_login, server, clock.now(), diagnosis.message.clone());
                            login_wait = Some(wait);
                            tracing::error!(
                                attempts,
                                retry_in_seconds = wait.as_secs(),
                                "{} Next attempt in {} ([mailbox] login_retry_seconds, doubling up to 4 h).",
                                diagnosis.message,
                                in_words(wait)
                            );
                        } else {
                            failures += 1;
                            tracing::warn!(failures, "mailbox unavailable, will retry: {}", diagnosis.message);
                        }
                    }
                    Mailbox::Maildir { .. } => {
                        failures += 1;
                        liveness.mailbox_trouble.failed(clock.now(), format!("{e:#}"));
                        tracing::warn!(failures, "mailbox unavailable, will retry: {e:#}");
                    }
                }
            }
        }
        let turn = turns.lock().await;
        let housekept = housekeeping(&pass, &mut store);
        drop(turn);
        match housekept {
            Ok(()) => courier_wake.notify_one(),
            Err(e) => pause_if_full(e, "housekeeping")?,
        }
        // A full disk stops the daemon taking mail without ending it: nothing was committed,
        // the mail stays in its mailbox, and the passes after the backoff try again.
        if disk_full {
            failures += 1;
            tracing::error!(
                data_dir = %config.helpdesk.data_dir.display(),
                failures,
                "the data folder is full: no mail is taken until there is room; nothing is lost"
            );
        } else if disk_was_full {
            // At the error's level, so whoever watches errors also sees the all-clear.
            tracing::warn!("room in the data folder again: taking mail");
        }
        disk_was_full = disk_full;
        if once {
            break;
        }
        let pause = match login_wait {
            Some(wait) => Some(wait),
            None => (failures > 0).then(|| backoff(failures)),
        };
        let wait: Pin<Box<dyn Future<Output = Option<ImapSource>> + '_>> = if let Some(pause) = pause {
            Box::pin(tokio::time::sleep(pause).map(|_| None))
        } else {
            match imap.take() {
                Some(source) => Box::pin(async move {
                    match source.wait().await {
                        Ok(source) => Some(source),
                        Err(e) => {
                            tracing::warn!("IMAP wait failed, reconnecting: {e:#}");
                            None
                        }
                    }
                }),
                None => Box::pin(tokio::time::sleep(MAILDIR_POLL).map(|_| None)),
            }
        };
        tokio::select! {
            _ = &mut shutdown => break,
            source = wait => imap = source,
            // The courier ends only when told to: anything else (a panic) would silently
            // stop all mail, so the daemon stops too and its supervisor restarts it.
            joined = &mut courier_task => {
                let why = match joined {
                    Ok(Ok(())) => "ended".to_string(),
                    Ok(Err(e)) => format!("failed: {e:#}"),
                    Err(e) => format!("crashed: {e}"),
                };
                return Err(retry_later(anyhow::anyhow!("the courier {why}")));
            }
        }
    }
    // A one-shot pass ends once everything it queued has been sent (or has failed and waits
    // for its retry); a signal gives the courier a moment to finish the mail in hand.
    let _ = finish_courier.send(true);
    let _ = stop_alarms.send(true);
    if let Some(task) = alarms_task {
        let _ = task.await;
    }
    let courier_result = if once {
        courier_task.await.map_err(anyhow::Error::from).and_then(|r| r)
    } else {
        match tokio::time::timeout(COURIER_GRACE, courier_task).await {
            Ok(joined) => joined.map_err(anyhow::Error::from).and_then(|r| r),
            Err(_) => {
                tracing::warn!(
                    "stopped the courier in the middle of sending: the mail in hand is sent again at the next start"
                );
                Ok(())
            }
        }
    };
    if let (Some(stop), Some(task)) = (stop_http, http_task) {
        let _ = stop.send(());
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("HTTP interface stopped with an error: {e}"),
            Err(e) => tracing::warn!("HTTP interface task failed: {e}"),
        }
    }
    if let Some(source) = imap {
        source.logout().await;
    }
    courier_result.map_err(|e| retry_later(e.context("outbox")))?;
    tracing::info!("sportello stopped");
    Ok(())
}

/// The configuration file, the mailbox and the way out, as the start-up line and
/// `check-config --connect` name them.
pub struct Targets {
    /// The configuration file (or the embedded defaults).
    pub configuration: String,
    /// `imap://user@host:port/folder (tls …)`, or the Maildir.
    pub mailbox: String,
    /// `smtp://user@host:port (tls …)`, or the folder of `.eml` files.
    pub smtp: String,
}

impl Targets {
    /// The targets of `config`.
    pub fn of(config: &Config) -> Targets {
        let configuration = match &config.origin {
            Origin::File(path) => path.display().to_string(),
            Origin::EmbeddedDefaults(missing) => format!("embedded trial defaults (no {})", missing.display()),
        };
        let login = |server: &Server| match &server.username {
            Some(user) => format!("{user}@{}:{}", server.host, server.port),
            None => format!("{}:{}", server.host, server.port),
        };
        let mailbox = match &config.mailbox {
            Mailbox::Imap { server, folder, .. } => {
                format!("imap://{}/{folder} (tls {})", login(server), server.tls.name())
            }
            Mailbox::Maildir { path } => format!("maildir {}", path.display()),
        };
        let smtp = match &config.smtp {
            Smtp::Server { server, .. } => format!("smtp://{} (tls {})", login(server), server.tls.name()),
            Smtp::File { path } => format!(".eml files in {}", path.display()),
        };
        Targets {
            configuration,
            mailbox,
            smtp,
        }
    }
}

/// The courier sends what the outbox holds on a connection of its own, as soon as a pass
/// commits (so acknowledgments leave while a backlog is still being applied) and every
/// [`COURIER_POLL`] for retries; and checkpoints the write-ahead log, off the intake path.
/// When `finishing` turns true it makes one last pass and ends; its errors end the daemon
/// only then, and only in a one-shot run (the long-running one logs them and tries again).
struct Courier {
    /// Its own connection: sending never waits for intake's transaction to end.
    store: Store,
    turns: WriteTurns,
    transport: Transport,
    /// `[smtp]` when mail goes to a server: what a failure is told against, and its login's
    /// backoff.
    smtp: Option<Server>,
    /// Where a refused SMTP login is reported (`/healthz`).
    liveness: Arc<Liveness>,
    envelope_from: String,
    clock: Clock,
    wake: Arc<Notify>,
    once: bool,
}

impl Courier {
    async fn run(self, mut finishing: watch::Receiver<bool>) -> anyhow::Result<()> {
        let Courier {
            mut store,
            turns,
            transport,
            smtp,
            liveness,
            envelope_from,
            clock,
            wake,
            once,
        } = self;
        let mut failures = 0u32;
        // Set while the SMTP server refuses the login: the queued mail waits that long.
        let mut login_wait: Option<Duration> = None;
        let mut checkpointed_at: Option<tokio::time::Instant> = None;
        loop {
            // A dropped sender (the daemon ending on an error) finishes the courier too.
            let last = *finishing.borrow_and_update() || finishing.has_changed().is_err();
            let started = tokio::time::Instant::now();
            let sent = if last && login_wait.is_some() {
                // The server refused the login on the last attempt: one more at shutdown
                // would only count against the account, and there is no mail in hand.
                Ok(outbox::SendReport::default())
            } else {
                outbox::send_due(&mut store, &turns, &transport, &envelope_from, || clock.now()).await
            };
            let sent_in = started.elapsed();
            // The log is checkpointed whatever sending did (intake leaves it to this task), at
            // most every CHECKPOINT_EVERY, and at the last pass.
            let checkpointed = if last || checkpointed_at.is_none_or(|at| at.elapsed() >= CHECKPOINT_EVERY) {
                checkpointed_at = Some(tokio::time::Instant::now());
                store.checkpoint()
            } else {
                Ok(())
            };
            let checkpoint_in = started.elapsed() - sent_in;
            match sent.and_then(|report| checkpointed.map(|()| report).map_err(anyhow::Error::from)) {
                Ok(report) => {
                    failures = 0;
                    login_wait = None;
                    alarms::outbox_pass(&liveness, &report, smtp.as_ref(), clock.now());
                    if let Some(server) = &smtp {
                        if report.answered {
                            login_works(&liveness.smtp_login, Service::Smtp);
                        }
                        if let Some(stopped) = &report.stopped {
                            let diagnosis = trouble::diagnose(Service::Smtp, server, stopped);
                            if diagnosis.trouble == Trouble::LoginRefused {
                                let (attempts, wait) =
                                    refused_login(&liveness.smtp_login, server, clock.now(), diagnosis.message.clone());
                                login_wait = Some(wait);
                                tracing::error!(
                                    attempts,
                                    retry_in_seconds = wait.as_secs(),
                                    "{} Next attempt in {} ([smtp] login_retry_seconds, doubling up to 4 h).",
                                    diagnosis.message,
                                    in_words(wait)
                                );
                            } else {
                                tracing::warn!("outbox: {}", diagnosis.message);
                            }
                        }
                    }
                    if report.sent + report.failed > 0 {
                        tracing::info!(
                            sent = report.sent,
                            failed = report.failed,
                            send_ms = sent_in.as_millis() as u64,
                            checkpoint_ms = checkpoint_in.as_millis() as u64,
                            "outbox pass"
                        )
                    }
                }
                Err(e) if last && once => return Err(e),
                Err(e) => {
                    failures += 1;
                    tracing::error!(failures, "outbox pass failed, will try again: {e:#}");
                }
            }
            if last {
                transport.close().await;
                return Ok(());
            }
            // After a failure (a full disk, a database error) the next pass waits on the
            // daemon's backoff, not on the next commit: mail the failed pass could not record
            // as sent is sent again, so it must not be every few seconds.
            // A refused login waits on its own, longer backoff: commits do not wake it.
            let pause = match login_wait {
                Some(wait) => wait,
                None if failures > 0 => backoff(failures),
                None => COURIER_POLL,
            };
            // No gathering delay: a commit's mail leaves at once, while intake applies the
            // next batch; what commits during a pass is taken by the next one.
            tokio::select! {
                _ = wake.notified(), if failures == 0 && login_wait.is_none() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = finishing.changed() => continue,
            }
        }
    }
}

/// What the passes of the daemon's loop work with.
struct Pass<'a> {
    config: &'a Config,
    templates: &'a Templates,
    key: &'a MacKey,
    clock: Clock,
    /// Taken around every write transaction.
    turns: &'a WriteTurns,
    /// Woken after every commit that may have queued mail.
    courier: &'a Notify,
    /// Where a login that works again is reported (`/healthz`).
    liveness: &'a Liveness,
    /// `run --take-over`.
    take_over: bool,
}

impl Pass<'_> {
    /// Applies one batch (the caller holds the write turn) and wakes the courier for the
    /// mail it queued.
    fn apply(
        &self,
        store: &mut Store,
        batch: &[Prepared],
        checkpoint: Option<&Checkpoint>,
    ) -> anyhow::Result<Vec<Outcome>> {
        let started = std::time::Instant::now();
        let calendar = suspensions::calendar(store.conn(), &self.config.calendar)?;
        let intake = Intake::new(self.config, &calendar, self.templates, self.key.clone());
        let outcomes = intake::apply_batch(store, &intake, batch, checkpoint, self.clock.now())?;
        self.courier.notify_one();
        let quarantined = outcomes.iter().filter(|o| matches!(o, Outcome::Quarantined(_))).count();
        // How long the batch held the write turn, commit included: what a backlog waits on.
        let apply_ms = started.elapsed().as_millis() as u64;
        tracing::info!(messages = outcomes.len(), quarantined, apply_ms, "batch committed");
        Ok(outcomes)
    }
}

/// Archives idle resolved tickets and reports stuck mail (see `workflow::housekeeping`), runs
/// the SLA watch, and queues the monthly report and the morning digests when they are due.
fn housekeeping(pass: &Pass<'_>, store: &mut Store) -> anyhow::Result<()> {
    let Pass {
        config,
        templates,
        key,
        clock,
        ..
    } = *pass;
    let calendar = suspensions::calendar(store.conn(), &config.calendar)?;
    let sender = crate::notify::Sender::of(config);
    let tx = store.write()?;
    let ctx = crate::workflow::Context {
        config,
        calendar: &calendar,
        templates,
        sender: &sender,
        key,
        now: clock.now(),
        quiet: false,
    };
    let (archived, stuck) = crate::workflow::housekeeping(&tx, &ctx)?;
    let alerts = crate::monitor::watch(&tx, &ctx)?;
    let refused = crate::workflow::report_refused_mail(&tx, &ctx)?;
    if crate::report::mail_monthly(&tx, &ctx)? {
        tracing::info!("monthly report mailed");
    }
    // The morning digests: due once a working day from `[digest] at`, queued with their
    // checkpoint in this transaction.
    let digests = crate::workflow::digest::send_due(&tx, &ctx)?;
    if digests > 0 {
        tracing::info!(digests, "morning digests queued");
    }
    let retention = crate::privacy::retention(&tx, config, ctx.now)?;
    tx.commit()?;
    if retention.did_work() || !retention.files.is_empty() {
        let files = crate::privacy::delete_files(config, &retention.files)?;
        tracing::info!(
            anonymised = retention.anonymised,
            raw_purged = retention.raw_purged,
            mail_purged = retention.mail_purged,
            quarantine_purged = retention.quarantine_purged,
            loose_purged = retention.loose_purged,
            spam_marks = retention.spam_marks,
            files,
            "retention"
        );
    }
    if archived + stuck + alerts + refused > 0 {
        tracing::info!(archived, stuck, alerts, refused, "housekeeping and SLA monitor");
    }
    Ok(())
}

/// Why a pass stopped early.
enum PassError {
    /// The database failed: fatal.
    Store(anyhow::Error),
    /// The mailbox failed: retried.
    Source(anyhow::Error),
    /// The mailbox must not be worked by this data folder (another one's): fatal, exit 78.
    Refused(anyhow::Error),
}

/// Applies every message waiting in the Maildir; true when shutdown was requested.
async fn drain_maildir(
    pass: &Pass<'_>,
    store: &mut Store,
    source: &MaildirSource,
    shutdown: &mut Shutdown<'_>,
) -> Result<bool, PassError> {
    let limits = &pass.config.intake;
    loop {
        let batch = source
            .fetch_batch(limits.batch_size as usize, limits.max_message_bytes, limits.batch_bytes)
            .map_err(PassError::Source)?;
        if batch.is_empty() {
            return Ok(false);
        }
        let (paths, fetched): (Vec<_>, Vec<_>) = batch.into_iter().map(|i| (i.path, i.fetched)).unzip();
        let prepared = Prepared::all(fetched, limits.max_message_bytes);
        {
            let _turn = pass.turns.lock().await;
            pass.apply(store, &prepared, None).map_err(PassError::Store)?;
        }
        for path in &paths {
            // Already committed: a failure here only means the message is seen again later
            // and skipped as a duplicate.
            if let Err(e) = source.acknowledge(path) {
                tracing::warn!("{e:#}");
            }
        }
        if shutdown.as_mut().now_or_never().is_some() {
            return Ok(true);
        }
    }
}

/// Applies every message past the IMAP checkpoint; connects first when needed.
async fn drain_imap(
    pass: &Pass<'_>,
    store: &mut Store,
    imap: &mut Option<ImapSource>,
    shutdown: &mut Shutdown<'_>,
) -> Result<bool, PassError> {
    let config = pass.config;
    let Mailbox::Imap {
        server,
        folder,
        idle,
        poll_seconds,
        processed_folder,
        since,
    } = &config.mailbox
    else {
        return Ok(false);
    };
    let store_error = |e: rusqlite::Error| PassError::Store(e.into());
    let mut settings = ImapSettings {
        server: server.clone(),
        folder: folder.clone(),
        idle: *idle,
        poll: Duration::from_secs(*poll_seconds),
        processed_folder: processed_folder.clone(),
        max_message_bytes: config.intake.max_message_bytes,
        batch_bytes: config.intake.batch_bytes,
        since: *since,
        keyword: format!(
            "{KEYWORD_PREFIX}{}",
            checkpoints::instance_id(store.conn()).map_err(store_error)?
        ),
        taken_over: Vec::new(),
    };
    let mailbox = settings.mailbox_key();
    settings.taken_over = checkpoints::taken_over(store.conn(), &mailbox).map_err(store_error)?;
    let mut checkpoint = checkpoints::load(store.conn(), &mailbox).map_err(store_error)?;
    // The connection is taken out while batches flow and put back only when the pass ends
    // well: after any error the caller reconnects.
    let mut source = match imap.take() {
        Some(source) => source,
        None => {
            let mut connected = loop {
                let connecting = tokio::select! {
                    _ = shutdown.as_mut() => return Ok(true),
                    c = ImapSource::connect(settings.clone()) => c,
                };
                let foreign = match connecting {
                    Ok(connected) => break connected,
                    Err(e) => match e.downcast::<ForeignMailbox>() {
                        Ok(foreign) => foreign,
                        Err(other) => return Err(PassError::Source(other)),
                    },
                };
                // Each taken-over keyword is recorded, so a folder marked by a few retired data
                // folders needs one --take-over; more than a handful is not a take-over.
                if !pass.take_over || settings.taken_over.len() >= 8 {
                    return Err(PassError::Refused(foreign.into()));
                }
                tracing::warn!(mailbox = %mailbox, keyword = %foreign.keyword, "taking over a folder marked by another data folder");
                let _turn = pass.turns.lock().await;
                let tx = store.write().map_err(store_error)?;
                checkpoints::record_takeover(&tx, &mailbox, &foreign.keyword, pass.clock.now()).map_err(store_error)?;
                tx.commit().map_err(store_error)?;
                settings.taken_over.push(foreign.keyword);
            };
            login_works(&pass.liveness.mailbox_login, Service::Imap);
            tracing::info!(mailbox = %mailbox, "IMAP connected");
            if let Beginning::Fresh {
                checkpoint: first,
                left_alone,
                taken,
            } = connected.begin(checkpoint.as_ref()).await.map_err(PassError::Source)?
            {
                // A warning when mail is left alone: whoever installs must see it.
                let said = match since {
                    Some(since) => format!(
                        "first start on this folder: the {taken} unread messages received since {since} are \
                         taken; the {left_alone} other messages already there are left alone, and mail arriving \
                         from now on becomes tickets"
                    ),
                    None => format!(
                        "first start on this folder: only mail arriving from now on becomes tickets; the \
                         {left_alone} messages already there are left alone ([mailbox] since or `run --since \
                         YYYY-MM-DD` takes the older unread mail on purpose)"
                    ),
                };
                if left_alone > 0 {
                    tracing::warn!(mailbox = %mailbox, left_alone, "{said}");
                } else {
                    tracing::info!(mailbox = %mailbox, "{said}");
                }
                let _turn = pass.turns.lock().await;
                tokio::task::block_in_place(|| pass.apply(store, &[], Some(&first))).map_err(PassError::Store)?;
                checkpoint = Some(first);
            }
            let marked = connected
                .acknowledge_leftovers(checkpoint.as_ref())
                .await
                .map_err(PassError::Source)?;
            if marked > 0 {
                tracing::info!(
                    marked,
                    "finished marking messages applied before the connection was lost"
                );
            }
            connected
        }
    };
    let batch_size = config.intake.batch_size as usize;
    let max_bytes = config.intake.max_message_bytes;
    let mut pending = fetch_prepared(&mut source, checkpoint, batch_size, max_bytes)
        .await
        .map_err(PassError::Source)?;
    // The UIDs of the last committed batch, flagged together with the next fetch.
    let mut flag_next: Vec<u32> = Vec::new();
    while let Some(batch) = pending {
        // The connection works while this batch is applied: it flags the previous batch
        // (committed already) and fetches and parses the next one. A fetch changes nothing on
        // the server (BODY.PEEK) and starts from this batch's checkpoint, and flagging only
        // ever follows a commit, so the exactly-once order holds while IMAP round trips and
        // parsing overlap the database work.
        let next_from = batch.checkpoint.clone();
        let to_flag = std::mem::take(&mut flag_next);
        let connection_work = tokio::spawn(async move {
            let flagged = source.acknowledge(&to_flag).await;
            let next = match flagged {
                Ok(()) => fetch_prepared(&mut source, Some(next_from), batch_size, max_bytes).await,
                Err(e) => Err(e),
            };
            (source, next)
        });
        // block_in_place hands this worker's other tasks (the one just spawned) to another
        // thread while SQLite works here; the daemon's runtime is multi-threaded.
        let turn = pass.turns.lock().await;
        let applied = tokio::task::block_in_place(|| pass.apply(store, &batch.messages, Some(&batch.checkpoint)));
        drop(turn);
        let (returned, next) = connection_work
            .await
            .map_err(|e| PassError::Source(anyhow::anyhow!("IMAP task failed: {e}")))?;
        source = returned;
        applied.map_err(PassError::Store)?;
        flag_next = batch.uids;
        if shutdown.as_mut().now_or_never().is_some() {
            // The signal is consumed: this path must end the pass with "stop", never with an
            // error (the caller would wait on the finished signal again). Unflagged messages
            // are flagged by the next connection (`acknowledge_leftovers`).
            match source.acknowledge(&flag_next).await {
                Ok(()) => *imap = Some(source),
                Err(e) => tracing::warn!("could not flag the last batch before stopping: {e:#}"),
            }
            return Ok(true);
        }
        pending = next.map_err(PassError::Source)?;
    }
    source.acknowledge(&flag_next).await.map_err(PassError::Source)?;
    *imap = Some(source);
    Ok(false)
}

/// An IMAP batch ready to apply.
struct PreparedBatch {
    messages: Vec<Prepared>,
    checkpoint: Checkpoint,
    uids: Vec<u32>,
}

/// Fetches the batch after `checkpoint` and prepares it (parsing is CPU work: it runs off
/// the async workers).
async fn fetch_prepared(
    source: &mut ImapSource,
    checkpoint: Option<Checkpoint>,
    batch_size: usize,
    max_bytes: u64,
) -> anyhow::Result<Option<PreparedBatch>> {
    let Some(batch) = source.fetch_batch(checkpoint.as_ref(), batch_size).await? else {
        return Ok(None);
    };
    let messages = tokio::task::block_in_place(|| Prepared::all(batch.messages, max_bytes));
    Ok(Some(PreparedBatch {
        messages,
        checkpoint: batch.checkpoint,
        uids: batch.uids,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    #[test]
    fn refused_logins_back_off_to_hours_and_stay_under_lockout_thresholds() {
        let first = minutes(5);
        let waits: Vec<Duration> = (1..=9).map(|n| login_backoff(n, first)).collect();
        assert_eq!(
            waits,
            [5, 10, 20, 40, 80, 160, 240, 240, 240].map(minutes),
            "doubling from login_retry_seconds up to 4 h"
        );
        assert_eq!(login_backoff(u32::MAX, first), LOGIN_RETRY_MAX);
        // The promise of the documentation: attempts at 0, 5, 15, 35 min in the first hour,
        // 11 in the first day, and no window of 30 minutes with more than 3.
        let mut at = Duration::ZERO;
        let mut attempts = vec![at];
        for n in 1.. {
            at += login_backoff(n, first);
            if at >= minutes(24 * 60) {
                break;
            }
            attempts.push(at);
        }
        assert_eq!(attempts.iter().filter(|a| **a < minutes(60)).count(), 4);
        assert_eq!(attempts.len(), 11);
        assert!(attempts.windows(4).all(|w| w[3] - w[0] > minutes(30)));
    }

    #[test]
    fn a_refusal_counts_from_its_first_attempt_and_a_login_ends_it() {
        let watch = LoginWatch::default();
        let server = Server {
            host: "mail.comune.example.it".into(),
            port: 993,
            tls: crate::config::Tls::Implicit,
            username: Some("assistenza@comune.example.it".into()),
            password: None,
            ca_file: None,
            tls_name: None,
            login_retry: minutes(5),
            oauth2: None,
        };
        let t0 = DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .expect("t")
            .with_timezone(&Utc);
        assert_eq!(refused_login(&watch, &server, t0, "no".into()), (1, minutes(5)));
        let t1 = t0 + TimeDelta::minutes(5);
        assert_eq!(refused_login(&watch, &server, t1, "no".into()), (2, minutes(10)));
        let refusal = watch.refusal().expect("reported");
        assert_eq!(refusal.since, t0);
        assert_eq!(refusal.next_attempt, t1 + TimeDelta::minutes(10));
        login_works(&watch, Service::Imap);
        assert_eq!(watch.refusal(), None);
        assert_eq!(
            refused_login(&watch, &server, t1, "no".into()),
            (1, minutes(5)),
            "a new run of refusals"
        );
    }

    #[test]
    fn waits_are_said_in_words() {
        assert_eq!(in_words(Duration::from_secs(90)), "90 s");
        assert_eq!(in_words(minutes(5)), "5 min");
        assert_eq!(in_words(minutes(160)), "2 h 40 min");
        assert_eq!(in_words(minutes(240)), "4 h");
    }
}
