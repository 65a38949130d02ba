//! The outbox's SMTP sessions: up to `[smtp] connections` of them send in parallel, each
//! reused for up to `messages_per_session` messages and parked between passes (closed after
//! [`IDLE_LIMIT`] unused), so a mail costs one MAIL/RCPT/DATA exchange, not a TCP connection,
//! a TLS handshake, EHLO and AUTH.
//!
//! Owns the session rules; what a result means for a row is `outbox`'s. A session the server
//! ends (a 421 answer, a connection dropped while parked or at its own message limit) is
//! replaced, and the mail in hand goes again on the new one without counting as an attempt,
//! once. A session the server will not open while others are working (a server accepting
//! only one at a time) leaves the work to them; only when no session at all can be opened
//! is the way out down. Every exchange has a deadline, so a silent server ends the pass
//! instead of holding it.
//!
//! The TCP connection (and implicit TLS, with `crate::tls`'s settings) is opened here rather
//! than by lettre, for one setting lettre does not make: `TCP_NODELAY`. lettre writes a
//! message's text and its final `.` in two writes; with Nagle's algorithm the second waits
//! for the server's delayed acknowledgment of the first, up to 40 ms per mail on Linux
//! (measured against a sink that answers at once: 11 ms per mail on average over loopback).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use super::{Due, smtp_error};
use crate::config::{Server, SmtpSessions, Tls};

/// A parked session unused this long is closed rather than reused: servers drop idle clients
/// (RFC 5321 asks them to wait at least 5 minutes; some wait less).
pub(super) const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// The deadline of opening a session (TCP, TLS, greeting, EHLO, AUTH) and of each message.
const DEADLINE: Duration = Duration::from_secs(60);

/// How long the server's 220 greeting (and its answer to EHLO) may take: a server expecting
/// TLS from the first byte never sends one to a plain connection.
const GREETING_WAIT: Duration = Duration::from_secs(30);

/// The SMTP server sent no greeting within [`GREETING_WAIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoGreeting;

impl std::fmt::Display for NoGreeting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the SMTP server sent no greeting within {} s",
            GREETING_WAIT.as_secs()
        )
    }
}

impl std::error::Error for NoGreeting {}

/// Attempts to open a session, for the last lane, when the server answered moments ago.
const REOPEN_ATTEMPTS: u32 = 3;

/// How the connection is secured.
enum Security {
    None,
    /// TLS from the first byte (`crate::tls`'s settings, the server's name to check).
    Implicit(TlsConnector, ServerName<'static>),
    /// lettre's upgrade after the greeting.
    Starttls(TlsParameters),
}

/// An implicit-TLS connection, as lettre takes a stream it did not open.
#[derive(Debug)]
struct ImplicitTls(tokio_rustls::client::TlsStream<TcpStream>);

impl tokio::io::AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// The connection an SMTP session runs on: TCP with `TCP_NODELAY`, and TLS from the first
/// byte when `implicit` names the connector and the server's name. Public for the latency
/// bench's echo robot, whose sessions must not wait on Nagle's algorithm either.
pub async fn connect(
    host: &str,
    port: u16,
    implicit: Option<(&TlsConnector, ServerName<'static>)>,
) -> anyhow::Result<Box<dyn AsyncTokioStream>> {
    let tcp = TcpStream::connect((host, port))
        .await
        .with_context(|| format!("connecting to {host}:{port}"))?;
    tcp.set_nodelay(true)
        .with_context(|| format!("setting TCP_NODELAY on {host}:{port}"))?;
    Ok(match implicit {
        Some((tls, name)) => Box::new(ImplicitTls(
            tls.connect(name, tcp)
                .await
                .with_context(|| format!("TLS with {host}:{port}"))?,
        )),
        None => Box::new(tcp),
    })
}

/// One open SMTP session.
struct Session {
    conn: AsyncSmtpConnection,
    /// Messages sent on it.
    sent: u32,
    /// Since when it has been parked.
    parked_at: Instant,
}

/// The SMTP server of `[smtp]` and its open sessions.
pub struct Sessions {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    /// `auth = "oauth2"`: each session logs in with a token (`outbox::token`) instead.
    oauth2: Option<Box<crate::config::OAuth2>>,
    /// `[smtp] username`, for the words of a refused login.
    pub(super) user: Option<String>,
    hello: ClientId,
    limits: SmtpSessions,
    parked: Mutex<Vec<Session>>,
}

/// A deadline passed: an I/O timeout, so it counts as a failure of the way out.
fn timed_out(step: &str) -> anyhow::Error {
    anyhow::Error::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!(
            "the SMTP server did not answer within {} s ({step})",
            DEADLINE.as_secs()
        ),
    ))
}

/// The reply code of an SMTP error, if the server answered one.
pub(super) fn reply_code(error: &anyhow::Error) -> Option<u16> {
    error.chain().find_map(|cause| {
        cause
            .downcast_ref::<lettre::transport::smtp::Error>()
            .and_then(|e| e.status())
            .and_then(|code| code.to_string().parse().ok())
    })
}

/// Whether the session, rather than the message, ended: the server said 421 (closing the
/// channel) or said nothing (the connection dropped).
fn session_ended(error: &anyhow::Error) -> bool {
    match reply_code(error) {
        Some(code) => code == 421,
        None => {
            !super::about_this_message(error) || error.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some())
        }
    }
}

impl Sessions {
    /// The sessions of `server`, none open yet.
    pub(super) fn new(server: &Server, limits: SmtpSessions) -> anyhow::Result<Sessions> {
        let tls_name = server.tls_name.clone().unwrap_or_else(|| server.host.clone());
        let parameters = || -> anyhow::Result<TlsParameters> {
            let mut params = TlsParameters::builder(tls_name.clone());
            if let Some(ca) = &server.ca_file {
                let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
                params = params.add_root_certificate(Certificate::from_pem(&pem)?);
            }
            Ok(params.build_rustls()?)
        };
        let security = match server.tls {
            Tls::Implicit => Security::Implicit(
                TlsConnector::from(crate::tls::client_config(server.ca_file.as_deref())?),
                ServerName::try_from(tls_name.clone())
                    .with_context(|| format!("[smtp] tls_name: {tls_name:?} is no host name"))?,
            ),
            Tls::Starttls => Security::Starttls(parameters()?),
            Tls::None => Security::None,
        };
        let credentials = match (&server.username, &server.password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.expose().to_string())),
            _ => None,
        };
        Ok(Sessions {
            host: server.host.clone(),
            port: server.port,
            security,
            credentials,
            oauth2: server.oauth2.clone(),
            user: server.username.clone(),
            hello: ClientId::default(),
            limits,
            parked: Mutex::new(Vec::new()),
        })
    }

    /// How many sessions may send in parallel.
    pub(super) fn connections(&self) -> usize {
        usize::from(self.limits.connections.max(1))
    }

    fn parked(&self) -> MutexGuard<'_, Vec<Session>> {
        self.parked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a session: TCP, TLS (implicit or STARTTLS), greeting, EHLO, AUTH.
    async fn open(&self) -> anyhow::Result<Session> {
        let user = self.user.as_deref();
        let opening = async {
            let implicit = match &self.security {
                Security::Implicit(tls, name) => Some((tls, name.clone())),
                _ => None,
            };
            let stream = connect(&self.host, self.port, implicit).await?;
            let mut conn = match tokio::time::timeout(
                GREETING_WAIT,
                AsyncSmtpConnection::connect_with_transport(stream, &self.hello),
            )
            .await
            {
                Ok(greeted) => greeted.map_err(|e| smtp_error(e, user))?,
                Err(_) => return Err(anyhow::Error::from(NoGreeting)),
            };
            if let Security::Starttls(params) = &self.security {
                conn.starttls(params.clone(), &self.hello)
                    .await
                    .map_err(|e| smtp_error(e, user))?;
            }
            if let Some(settings) = &self.oauth2 {
                super::token::authenticate(&mut conn, user, settings).await?;
            } else if let Some(credentials) = &self.credentials {
                conn.auth(DEFAULT_MECHANISMS, credentials)
                    .await
                    .map_err(|e| smtp_error(e, user))?;
            }
            anyhow::Ok(conn)
        };
        let conn = tokio::time::timeout(DEADLINE, opening)
            .await
            .map_err(|_| timed_out("opening a session"))??;
        Ok(Session {
            conn,
            sent: 0,
            parked_at: Instant::now(),
        })
    }

    /// Opens a session, asks NOOP and says goodbye: `check-config --connect` and `oauth2 test`
    /// try the way out exactly as sending will.
    pub(super) async fn probe(&self) -> anyhow::Result<()> {
        let mut session = self.open().await?;
        let answered = tokio::time::timeout(DEADLINE, session.conn.test_connected())
            .await
            .unwrap_or(false);
        let _ = tokio::time::timeout(Duration::from_secs(5), session.conn.quit()).await;
        anyhow::ensure!(answered, "the server did not answer NOOP after the login");
        Ok(())
    }

    /// The most recently parked session still fresh enough to reuse.
    fn unpark(&self) -> Option<Session> {
        let mut parked = self.parked();
        while let Some(session) = parked.pop() {
            if session.parked_at.elapsed() < IDLE_LIMIT && !session.conn.has_broken() {
                return Some(session);
            }
            // Stale: closed without a word (the server has probably forgotten it already).
        }
        None
    }

    fn park(&self, mut session: Session) {
        if session.conn.has_broken() {
            return;
        }
        session.parked_at = Instant::now();
        self.parked().push(session);
    }

    /// Says goodbye on the sessions parked longer than [`IDLE_LIMIT`].
    pub(super) async fn tidy(&self) {
        let stale: Vec<Session> = {
            let mut parked = self.parked();
            let (stale, fresh) = parked.drain(..).partition(|s| s.parked_at.elapsed() >= IDLE_LIMIT);
            *parked = fresh;
            stale
        };
        for session in stale {
            quit(session).await;
        }
    }

    /// Says goodbye on every parked session (the courier is ending).
    pub(super) async fn close(&self) {
        let all: Vec<Session> = self.parked().drain(..).collect();
        for session in all {
            quit(session).await;
        }
    }

    /// Sends one message on `session`.
    async fn send(&self, session: &mut Session, envelope: &Envelope, raw: &[u8]) -> anyhow::Result<()> {
        let user = self.user.as_deref();
        match tokio::time::timeout(DEADLINE, session.conn.send(envelope, raw)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(smtp_error(e, user)),
            Err(_) => {
                // The session is in an unknown state: it is not used again.
                session.conn.abort().await;
                Err(timed_out("sending a message"))
            }
        }
    }

    /// One lane of a pass: opens (or takes back) a session and sends jobs from `work` until
    /// there are none left or the pass stops, reporting each outcome through `events`.
    pub(super) async fn lane(
        &self,
        work: &Mutex<Work>,
        events: &UnboundedSender<Event>,
        envelope_from: &str,
        now: &(dyn Fn() -> DateTime<Utc> + Sync),
    ) {
        let mut session: Option<Session> = None;
        // Whether this lane had a session in this pass: the server answered moments ago.
        let mut worked = false;
        let mut reopen_attempts = 0u32;
        loop {
            if lock(work).stop {
                break;
            }
            let Some(mut current) = session.take() else {
                if lock(work).queue.is_empty() {
                    break;
                }
                if let Some(parked) = self.unpark() {
                    session = Some(parked);
                    continue;
                }
                match self.open().await {
                    Ok(opened) => {
                        worked = true;
                        session = Some(opened);
                        continue;
                    }
                    Err(e) if e.downcast_ref::<super::LoginRefused>().is_some() => {
                        lock(work).stop = true;
                        let _ = events.send(Event::LoginRefused(e));
                        break;
                    }
                    Err(e) => match not_opened(work, e, worked, &mut reopen_attempts, events) {
                        Next::Retire => return,
                        Next::Retry(wait) => {
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        Next::Stop => break,
                    },
                }
            };
            let job = {
                let mut w = lock(work);
                let job = w.queue.pop_front();
                if job.is_some() {
                    w.in_flight += 1;
                }
                job
            };
            let Some(mut job) = job else {
                self.park(current);
                break;
            };
            let reused = current.sent > 0;
            let result = match (&job.due.raw, envelope(envelope_from, &job.due)) {
                (Err(e), _) => Err(anyhow::anyhow!("composing the message: {e:#}")),
                (Ok(_), Err(e)) => Err(e),
                (Ok(raw), Ok(envelope)) => self.send(&mut current, &envelope, raw).await,
            };
            let at = now();
            let result = match result {
                Err(e) if session_ended(&e) && !(reused && job.resent) => {
                    // The server ended the session (its own message limit, an idle timeout, a
                    // 421): the mail goes again on a new session without counting as an
                    // attempt. On a session that had sent nothing yet, it is as if the session
                    // had not opened: the others take the work, or the last lane tries again.
                    tracing::debug!(message_id = %job.due.message_id, "the SMTP session ended: {e:#}");
                    job.resent |= reused;
                    {
                        let mut w = lock(work);
                        w.in_flight -= 1;
                        w.queue.push_front(job);
                    }
                    if reused {
                        continue;
                    }
                    match not_opened(work, e, worked, &mut reopen_attempts, events) {
                        Next::Retire => return,
                        Next::Retry(wait) => {
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        Next::Stop => break,
                    }
                }
                other => other,
            };
            let way_out = result
                .as_ref()
                .err()
                .is_some_and(|e| !super::about_this_message(e) || session_ended(e));
            if result.is_ok() {
                reopen_attempts = 0;
                current.sent += 1;
                if current.sent >= self.limits.messages_per_session {
                    quit(current).await;
                } else {
                    session = Some(current);
                }
            } else if !current.conn.has_broken() && !way_out {
                session = Some(current);
            }
            let down = if way_out {
                result.as_ref().err().map(|e| anyhow::anyhow!("{e:#}"))
            } else {
                None
            };
            {
                let mut w = lock(work);
                w.in_flight -= 1;
                if way_out {
                    w.stop = true;
                }
            }
            let _ = events.send(Event::Done(job.due, result, at));
            if let Some(e) = down {
                let _ = events.send(Event::Down(e));
                break;
            }
        }
        if let Some(current) = session {
            self.park(current);
        }
        let mut w = lock(work);
        w.live = w.live.saturating_sub(1);
    }
}

/// What a lane does after a session would not open (or ended before its first message).
enum Next {
    /// Leave the work to the other lanes (this one is no longer live).
    Retire,
    /// Try to open again after this wait.
    Retry(Duration),
    /// The way out is down (reported): end the lane.
    Stop,
}

fn not_opened(
    work: &Mutex<Work>,
    error: anyhow::Error,
    worked: bool,
    reopen_attempts: &mut u32,
    events: &UnboundedSender<Event>,
) -> Next {
    let mut w = lock(work);
    if w.live > 1 {
        // Others are sending (or trying to): they take this lane's share.
        w.live -= 1;
        tracing::debug!("an SMTP session could not be opened, the others send: {error:#}");
        return Next::Retire;
    }
    if worked && *reopen_attempts < REOPEN_ATTEMPTS && !w.stop {
        *reopen_attempts += 1;
        return Next::Retry(Duration::from_millis(100u64 << *reopen_attempts));
    }
    w.stop = true;
    drop(w);
    let _ = events.send(Event::Down(error));
    Next::Stop
}

/// QUIT, briefly waited for; errors do not matter (the session is going away).
async fn quit(mut session: Session) {
    let _ = tokio::time::timeout(Duration::from_secs(5), session.conn.quit()).await;
}

fn lock(work: &Mutex<Work>) -> MutexGuard<'_, Work> {
    work.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The envelope of a queued mail: the help desk's address and the row's recipients.
pub(super) fn envelope(envelope_from: &str, due: &Due) -> anyhow::Result<Envelope> {
    let from = envelope_from
        .parse()
        .with_context(|| format!("envelope sender {envelope_from}"))?;
    let to = due
        .recipients
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| r.parse().with_context(|| format!("recipient {r}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Envelope::new(Some(from), to)?)
}

/// A mail to send in this pass.
pub(super) struct Job {
    pub(super) due: Due,
    /// Already sent again once on a new session.
    resent: bool,
}

impl Job {
    pub(super) fn new(due: Due) -> Job {
        Job { due, resent: false }
    }
}

/// What the lanes of a pass share.
pub(super) struct Work {
    /// Mail not taken yet, in queueing order.
    pub(super) queue: VecDeque<Job>,
    /// Mail a lane is sending.
    pub(super) in_flight: usize,
    /// Lanes still running.
    pub(super) live: usize,
    /// Take no more mail: the login was refused or the way out failed.
    pub(super) stop: bool,
}

impl Work {
    pub(super) fn new(lanes: usize) -> Work {
        Work {
            queue: VecDeque::new(),
            in_flight: 0,
            live: lanes,
            stop: false,
        }
    }

    pub(super) fn lock(work: &Mutex<Work>) -> MutexGuard<'_, Work> {
        lock(work)
    }
}

/// What a lane reports.
pub(super) enum Event {
    /// An attempt and its outcome, at the instant it ended.
    Done(Due, anyhow::Result<()>, DateTime<Utc>),
    /// The server refused the login: the pass stops, nothing is recorded against the rest.
    LoginRefused(anyhow::Error),
    /// No session could be opened, or the way out failed under one: the rest of the queue
    /// is not tried.
    Down(anyhow::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_or_dropped_session_ended_and_a_message_of_its_own_did_not() {
        // lettre's own errors cannot be made outside lettre (tests/it/courier.rs meets the
        // 421s and the drops of a real session); the I/O and composing cases can.
        let dropped =
            anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset)).context("sending a message");
        assert!(session_ended(&dropped));
        assert_eq!(reply_code(&dropped), None);
        assert!(session_ended(&timed_out("sending a message")));
        let composing = anyhow::anyhow!("composing the message: missing To");
        assert!(!session_ended(&composing), "the session can send the next mail");
        let recipient = anyhow::anyhow!("recipient not an address");
        assert!(!session_ended(&recipient));
    }
}
