//! The IMAP source (async-imap over tokio): connect, select, fetch batches past the
//! checkpoint, flag or move what was committed, and wait for news with IDLE or a poll.
//!
//! Owns the IMAP connection and nothing else: it never decides what a message means and
//! never writes the database (the checkpoint it proposes is committed by intake together
//! with the batch). Plain-text connections are refused by the config for non-loopback hosts.
//!
//! Exactly-once across crashes comes from the order: fetch UIDs above the checkpoint →
//! intake commits the batch and the new checkpoint → then `\Seen` / MOVE; a connection lost
//! between the last two steps is finished on the next connect. A UIDVALIDITY
//! change resets the checkpoint to 0 and re-scans; intake's dedup keys skip what was done.
//!
//! A first start ([`ImapSource::begin`] without a checkpoint) begins at the folder's current
//! end: the mail already there is left alone, and older unread mail is taken only on purpose
//! (`[mailbox] since`, `run --since`), as a catch-up list below the first checkpoint. Every
//! processed message is marked with this data folder's keyword (`$Sportello-<id>`) where the
//! server keeps keywords, and a folder marked by another data folder is refused
//! ([`ForeignMailbox`]): two help desks answering the same mail is worse than none.
//!
//! A login the server refuses is a [`LoginRefused`] (with the server's words, not async-imap's
//! debug dump), a silent step a [`TimedOut`] naming it, so that the daemon can tell a wrong
//! password from the network and say which setting to change.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use async_imap::Session;
use async_imap::extensions::idle::IdleResponse;
use std::collections::VecDeque;

use async_imap::types::Flag;
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

use super::Fetched;
use crate::config::{OAuth2, Secret, Server, Tls};
use crate::oauth2;
use crate::store::checkpoints::Checkpoint;

/// The UIDs (ascending) a batch takes, with their sizes: in order, until the bytes to fetch
/// reach `budget` (oversized messages are not fetched and cost nothing); always at least one.
fn within_budget(uids: Vec<u32>, sizes: Vec<(u32, u32)>, max_message: u64, budget: u64) -> (Vec<u32>, Vec<(u32, u32)>) {
    let size_of: std::collections::HashMap<u32, u64> =
        sizes.iter().map(|(uid, size)| (*uid, u64::from(*size))).collect();
    let taken = super::within_budget(uids, budget, |uid| {
        size_of.get(uid).copied().filter(|s| *s <= max_message).unwrap_or(0)
    });
    let sizes = sizes
        .into_iter()
        .filter(|(uid, _)| taken.binary_search(uid).is_ok())
        .collect();
    (taken, sizes)
}

/// Any byte stream async-imap can run on (plain TCP or TLS).
pub trait ImapStream: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> ImapStream for T {}

type Conn = Box<dyn ImapStream>;

/// Connection timeout for every network step.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(60);

/// Settings of one IMAP folder source.
#[derive(Debug, Clone)]
pub struct ImapSettings {
    /// Server and credentials.
    pub server: Server,
    /// Folder to read.
    pub folder: String,
    /// Use IDLE when offered.
    pub idle: bool,
    /// Poll interval (and IDLE refresh ceiling).
    pub poll: Duration,
    /// Move processed messages here instead of only flagging them.
    pub processed_folder: Option<String>,
    /// Messages larger than this are not fetched (RFC822.SIZE decides).
    pub max_message_bytes: u64,
    /// A batch ends once the messages it fetches add up to this many bytes.
    pub batch_bytes: u64,
    /// Also take the unread mail received since this day that was in the folder before this
    /// data folder first read it.
    pub since: Option<NaiveDate>,
    /// The keyword that marks mail processed by this data folder (`$Sportello-<id>`).
    pub keyword: String,
    /// Other data folders' keywords this one took over (`run --take-over`): not refused.
    pub taken_over: Vec<String>,
}

/// The prefix of every data folder's keyword.
pub const KEYWORD_PREFIX: &str = "$Sportello-";

/// The folder is already worked by another Sportello data folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignMailbox {
    /// The mailbox.
    pub mailbox: String,
    /// The other data folder's keyword found there.
    pub keyword: String,
    /// Ours.
    pub ours: String,
}

impl std::fmt::Display for ForeignMailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} holds mail marked {} by another Sportello data folder (this one marks {}): two help desks \
             on one mailbox would answer the same mail twice and give out the same ticket numbers. Point \
             this one at its own mailbox, or its data_dir at the data folder already in use. If that other \
             data folder is retired for good, start once with `sportello run --take-over`.",
            self.mailbox, self.keyword, self.ours
        )
    }
}

impl std::error::Error for ForeignMailbox {}

/// The server refused the login: a wrong or expired password, a locked account. Not a
/// network failure: trying again soon cannot help and may lock the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRefused {
    /// The user we logged in as.
    pub user: String,
    /// The server's own words, e.g. `[AUTHENTICATIONFAILED] Authentication failed.`
    pub answer: String,
}

impl std::fmt::Display for LoginRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IMAP login as {} refused: {}", self.user, self.answer)
    }
}

impl std::error::Error for LoginRefused {}

/// A network step got no answer within [`NETWORK_TIMEOUT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut {
    /// The step: `connect`, `greeting`, `login`, `fetch`, …
    pub step: &'static str,
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IMAP {} timed out after {} s", self.step, NETWORK_TIMEOUT.as_secs())
    }
}

impl std::error::Error for TimedOut {}

/// The server closed the connection before its greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoGreeting;

impl std::fmt::Display for NoGreeting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the IMAP server closed the connection without a greeting")
    }
}

impl std::error::Error for NoGreeting {}

/// The words of a server's NO or BAD answer as async-imap reports them (`code: None, info:
/// Some("[AUTHENTICATIONFAILED] Authentication failed.")`): the text the server wrote, or
/// the report itself when it has another shape.
pub fn server_words(report: &str) -> String {
    let Some(start) = report.find("info: Some(\"") else {
        return report.to_string();
    };
    let quoted = &report[start + "info: Some(\"".len()..];
    let Some(end) = quoted.rfind("\")") else {
        return report.to_string();
    };
    quoted[..end].replace("\\\"", "\"").replace("\\\\", "\\")
}

/// What a login's NO or BAD answer means: a refusal, unless the server says it is its own
/// temporary trouble (RFC 5530 `[UNAVAILABLE]`), which is retried like a network failure.
fn login_error(user: &str, error: async_imap::error::Error) -> anyhow::Error {
    match error {
        async_imap::error::Error::No(report) | async_imap::error::Error::Bad(report)
            if !report.contains("[UNAVAILABLE]") =>
        {
            LoginRefused {
                user: user.to_string(),
                answer: server_words(&report),
            }
            .into()
        }
        other => anyhow::Error::from(other).context(format!("IMAP login as {user}")),
    }
}

/// Where a connection begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Beginning {
    /// The folder has a checkpoint: intake goes on from it.
    Resume,
    /// This data folder never read the folder: commit this checkpoint (the folder's current
    /// end) before anything else, so that mail arriving from now on is never skipped.
    Fresh {
        /// The first checkpoint.
        checkpoint: Checkpoint,
        /// Messages already in the folder and left alone (`since` takes the others).
        left_alone: u32,
        /// Messages already in the folder that `since` takes: unread, received since then.
        taken: u32,
    },
}

impl ImapSettings {
    /// The mailbox name used for the checkpoint.
    pub fn mailbox_key(&self) -> String {
        format!(
            "imap://{}@{}:{}/{}",
            self.server.username.as_deref().unwrap_or(""),
            self.server.host,
            self.server.port,
            self.folder
        )
    }
}

/// A logged-in session with the folder selected.
pub struct ImapSource {
    settings: ImapSettings,
    session: Session<Conn>,
    uidvalidity: u32,
    /// The UID the next message will get (the folder's end), as SELECT reported it.
    uid_next: Option<u32>,
    /// Messages in the folder at SELECT.
    exists: u32,
    can_idle: bool,
    can_move: bool,
    /// The server keeps new keywords, so processed mail carries ours.
    marks_keyword: bool,
    /// Old unread mail still to take (`since`), below the first checkpoint, ascending.
    catch_up: VecDeque<u32>,
}

/// One fetched batch and what to do after it is committed.
pub struct ImapBatch {
    /// The messages, in UID order.
    pub messages: Vec<Fetched>,
    /// The checkpoint to commit with them.
    pub checkpoint: Checkpoint,
    /// Their UIDs, to flag or move after the commit.
    pub uids: Vec<u32>,
}

fn tls_config(server: &Server) -> anyhow::Result<Arc<ClientConfig>> {
    crate::tls::client_config(server.ca_file.as_deref())
}

async fn tls_wrap(server: &Server, tcp: impl ImapStream + 'static) -> anyhow::Result<Conn> {
    let name = server.tls_name.clone().unwrap_or_else(|| server.host.clone());
    let server_name = ServerName::try_from(name.clone()).map_err(|e| anyhow!("bad TLS name {name}: {e}"))?;
    let stream = TlsConnector::from(tls_config(server)?)
        .connect(server_name, tcp)
        .await?;
    Ok(Box::new(stream))
}

async fn timed<T>(step: &'static str, fut: impl std::future::Future<Output = T>) -> anyhow::Result<T> {
    tokio::time::timeout(NETWORK_TIMEOUT, fut)
        .await
        .map_err(|_| TimedOut { step }.into())
}

/// Connects to `server` and logs in: a [`LoginRefused`] when the server says no.
async fn login(server: &Server) -> anyhow::Result<Session<Conn>> {
    let tcp = timed("connect", TcpStream::connect((server.host.as_str(), server.port)))
        .await?
        .with_context(|| format!("connecting to {}:{}", server.host, server.port))?;
    let conn: Conn = match server.tls {
        Tls::Implicit => timed("TLS handshake", tls_wrap(server, tcp)).await??,
        Tls::None => Box::new(tcp),
        Tls::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            timed("greeting", client.read_response()).await??.ok_or(NoGreeting)?;
            timed("STARTTLS", client.run_command_and_check_ok("STARTTLS", None)).await??;
            timed("TLS handshake", tls_wrap(server, client.into_inner())).await??
        }
    };
    let mut client = async_imap::Client::new(conn);
    if server.tls != Tls::Starttls {
        timed("greeting", client.read_response()).await??.ok_or(NoGreeting)?;
    }
    let user = server.username.clone().unwrap_or_default();
    if let Some(settings) = &server.oauth2 {
        return token_login(server, settings, client, &user).await;
    }
    let password = server
        .password
        .as_ref()
        .map(|p| p.expose().to_string())
        .unwrap_or_default();
    timed("login", client.login(&user, &password))
        .await?
        .map_err(|(e, _)| login_error(&user, e))
}

/// The SASL mechanisms the server offers before the login (`AUTH=…` of CAPABILITY).
async fn offered_mechanisms(client: &mut async_imap::Client<Conn>) -> async_imap::error::Result<Vec<String>> {
    use async_imap::imap_proto::{Capability, Response};
    let (tx, rx) = async_channel::bounded(16);
    client.run_command_and_check_ok("CAPABILITY", Some(tx)).await?;
    let mut offered = Vec::new();
    while let Ok(answer) = rx.try_recv() {
        if let async_imap::types::UnsolicitedResponse::Other(data) = answer
            && let Response::Capabilities(caps) = data.parsed()
        {
            offered.extend(caps.iter().filter_map(|c| match c {
                Capability::Auth(m) => Some(m.to_string()),
                _ => None,
            }));
        }
    }
    Ok(offered)
}

/// The client's side of an OAuth2 SASL exchange: the token first, then (to the server's
/// error challenge) the answer that ends the exchange.
struct TokenAuthenticator {
    mechanism: oauth2::Mechanism,
    first: Option<Secret>,
}

impl async_imap::Authenticator for TokenAuthenticator {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        match self.first.take() {
            Some(first) => first.expose().as_bytes().to_vec(),
            None => self.mechanism.after_error().as_bytes().to_vec(),
        }
    }
}

/// Logs in with an OAuth2 access token, by OAUTHBEARER or XOAUTH2 (whichever the server
/// offers). A token the server refuses is given up and a fresh one tried once; a second
/// refusal is a [`LoginRefused`], like a wrong password.
async fn token_login(
    server: &Server,
    settings: &OAuth2,
    mut client: async_imap::Client<Conn>,
    user: &str,
) -> anyhow::Result<Session<Conn>> {
    let offered = timed("capabilities", offered_mechanisms(&mut client)).await??;
    let Some(mechanism) = oauth2::Mechanism::choose(offered.iter().map(String::as_str)) else {
        return Err(LoginRefused {
            user: user.to_string(),
            answer: format!(
                "the server offers neither OAUTHBEARER nor XOAUTH2 (it offers {})",
                if offered.is_empty() {
                    "no SASL mechanism".to_string()
                } else {
                    offered.join(", ")
                }
            ),
        }
        .into());
    };
    let mut tried_fresh = false;
    loop {
        let token = oauth2::access_token(settings).await?;
        let authenticator = TokenAuthenticator {
            mechanism,
            first: Some(mechanism.initial_response(user, &token.token, &server.host, server.port)),
        };
        match timed("login", client.authenticate(mechanism.name(), authenticator)).await? {
            Ok(session) => {
                tracing::debug!(mechanism = mechanism.name(), user, "IMAP login with an OAuth2 token");
                return Ok(session);
            }
            Err((e, back)) => {
                let error = login_error(user, e);
                if error.downcast_ref::<LoginRefused>().is_none() || tried_fresh {
                    return Err(error);
                }
                tracing::info!(
                    mechanism = mechanism.name(),
                    user,
                    "IMAP refused the OAuth2 token: fetching a new one"
                );
                oauth2::rejected(settings, &token.token).await;
                tried_fresh = true;
                client = back;
            }
        }
    }
}

/// Logs in to `server` and looks at `folder` read-only (EXAMINE changes nothing), for
/// `check-config --connect`; returns how many messages the folder holds.
pub async fn probe(server: &Server, folder: &str) -> anyhow::Result<u32> {
    let mut session = login(server).await?;
    let mailbox = timed("examine", session.examine(folder))
        .await?
        .with_context(|| format!("opening folder {folder}"))?;
    let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
    Ok(mailbox.exists)
}

impl ImapSource {
    /// Connects, logs in and selects the folder.
    pub async fn connect(settings: ImapSettings) -> anyhow::Result<ImapSource> {
        let mut session = login(&settings.server).await?;
        let caps = timed("capabilities", session.capabilities()).await??;
        let (can_idle, can_move) = (caps.has_str("IDLE"), caps.has_str("MOVE"));
        let mailbox = timed("select", session.select(&settings.folder))
            .await?
            .with_context(|| format!("selecting folder {}", settings.folder))?;
        let uidvalidity = mailbox
            .uid_validity
            .ok_or_else(|| anyhow!("the server gave no UIDVALIDITY"))?;
        let keywords = mailbox
            .flags
            .iter()
            .chain(&mailbox.permanent_flags)
            .filter_map(|f| match f {
                Flag::Custom(k) => Some(k.as_ref()),
                _ => None,
            });
        if let Some(foreign) = foreign_keyword(keywords, &settings.keyword, &settings.taken_over) {
            return Err(ForeignMailbox {
                mailbox: settings.mailbox_key(),
                keyword: foreign.to_string(),
                ours: settings.keyword.clone(),
            }
            .into());
        }
        let marks_keyword = mailbox.permanent_flags.is_empty()
            || mailbox.permanent_flags.iter().any(|f| match f {
                Flag::MayCreate => true,
                Flag::Custom(k) => k.as_ref() == settings.keyword,
                _ => false,
            });
        if !marks_keyword {
            tracing::warn!(
                mailbox = %settings.mailbox_key(),
                "the server keeps no custom keywords: a second Sportello on this mailbox could not be detected"
            );
        }
        Ok(ImapSource {
            settings,
            session,
            uidvalidity,
            uid_next: mailbox.uid_next,
            exists: mailbox.exists,
            can_idle,
            can_move,
            marks_keyword,
            catch_up: VecDeque::new(),
        })
    }

    /// Decides where this connection begins (see the module doc) and lists the old unread
    /// mail to catch up on when `since` is set.
    pub async fn begin(&mut self, stored: Option<&Checkpoint>) -> anyhow::Result<Beginning> {
        // The first checkpoint, when this data folder never read the folder.
        let (first_uid, fresh) = match stored {
            Some(cp) if cp.uidvalidity == self.uidvalidity => (cp.first_uid, None),
            // A new UIDVALIDITY re-scans the whole folder (fetch_batch says so); dedup keys skip
            // what was done.
            Some(_) => (0, None),
            None => {
                let end = match self.uid_next {
                    Some(next) => next.saturating_sub(1),
                    None => {
                        let all = timed("search", self.session.uid_search("ALL")).await??;
                        all.into_iter().max().unwrap_or(0)
                    }
                };
                let checkpoint = Checkpoint {
                    mailbox: self.settings.mailbox_key(),
                    uidvalidity: self.uidvalidity,
                    last_uid: end,
                    first_uid: end,
                };
                (end, Some(checkpoint))
            }
        };
        self.catch_up.clear();
        if let (Some(since), true) = (self.settings.since, first_uid > 0) {
            let query = format!("UID 1:{first_uid} UNSEEN SINCE {}", since.format("%-d-%b-%Y"));
            let found = timed("search", self.session.uid_search(query)).await??;
            let mut old: Vec<u32> = found.into_iter().filter(|u| *u <= first_uid).collect();
            old.sort_unstable();
            if !old.is_empty() {
                tracing::info!(
                    messages = old.len(),
                    %since,
                    "taking the unread mail received since {since} that was in the folder before the first start"
                );
            }
            self.catch_up = old.into();
        }
        Ok(match fresh {
            None => Beginning::Resume,
            // What a first start leaves alone is what `since` does not take.
            Some(checkpoint) => {
                let taken = u32::try_from(self.catch_up.len()).unwrap_or(u32::MAX);
                Beginning::Fresh {
                    checkpoint,
                    left_alone: self.exists.saturating_sub(taken),
                    taken,
                }
            }
        })
    }

    /// The next batch above the checkpoint (None if nothing new): at most `max` messages,
    /// and no more after their sizes reach `batch_bytes` (but always at least one).
    pub async fn fetch_batch(&mut self, stored: Option<&Checkpoint>, max: usize) -> anyhow::Result<Option<ImapBatch>> {
        let (last_uid, first_uid) = match stored {
            Some(cp) if cp.uidvalidity == self.uidvalidity => (cp.last_uid, cp.first_uid),
            Some(cp) => {
                tracing::warn!(
                    old = cp.uidvalidity,
                    new = self.uidvalidity,
                    "UIDVALIDITY changed: re-scanning the folder; duplicates will be skipped"
                );
                (0, 0)
            }
            None => (0, 0),
        };
        // The catch-up list comes first; its batches leave the checkpoint where it is (all of
        // it lies below the first checkpoint).
        let catching_up = !self.catch_up.is_empty();
        let uids: Vec<u32> = if catching_up {
            let n = max.min(self.catch_up.len());
            self.catch_up.drain(..n).collect()
        } else {
            let found = timed(
                "search",
                self.session.uid_search(format!("UID {}:*", last_uid.saturating_add(1))),
            )
            .await??;
            // "n:*" always matches the highest UID, even when it is below n.
            let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last_uid).collect();
            uids.sort_unstable();
            uids.truncate(max);
            uids
        };
        if uids.is_empty() {
            return Ok(None);
        }
        let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");

        // Sizes first, so an oversized message is never downloaded.
        let sizes: Vec<(u32, u32)> = timed("fetch sizes", async {
            let stream = self.session.uid_fetch(&set, "(UID RFC822.SIZE)").await?;
            let fetched: Vec<_> = stream.try_collect().await?;
            Ok::<_, async_imap::error::Error>(
                fetched
                    .iter()
                    .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
                    .collect(),
            )
        })
        .await??;
        let (taken, sizes) = within_budget(
            uids.clone(),
            sizes,
            self.settings.max_message_bytes,
            self.settings.batch_bytes,
        );
        if catching_up {
            // What the byte budget left for the next batch goes back to the front of the list.
            for uid in uids.iter().rev().filter(|u| taken.binary_search(u).is_err()) {
                self.catch_up.push_front(*uid);
            }
        }
        let uids = taken;
        let Some(&highest) = uids.last() else { return Ok(None) };
        let highest = if catching_up { last_uid } else { highest };
        let wanted: Vec<u32> = sizes
            .iter()
            .filter(|(_, size)| u64::from(*size) <= self.settings.max_message_bytes)
            .map(|(uid, _)| *uid)
            .collect();
        let mut messages: Vec<Fetched> = Vec::with_capacity(uids.len());
        if !wanted.is_empty() {
            let wanted_set = wanted.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let fetched = timed("fetch", async {
                let stream = self
                    .session
                    .uid_fetch(&wanted_set, "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[])")
                    .await?;
                stream.try_collect::<Vec<_>>().await
            })
            .await??;
            for f in &fetched {
                let Some(uid) = f.uid else { continue };
                let raw = f.body().unwrap_or_default().to_vec();
                let received_at: DateTime<Utc> = f
                    .internal_date()
                    .map(|d| d.with_timezone(&Utc))
                    .unwrap_or_else(Utc::now);
                messages.push(Fetched {
                    size: raw.len() as u64,
                    raw,
                    received_at,
                    source: format!("imap:{}:{uid}", self.settings.folder),
                });
            }
        }
        for (uid, size) in sizes.iter().filter(|(uid, _)| !wanted.contains(uid)) {
            messages.push(Fetched {
                raw: Vec::new(),
                size: u64::from(*size),
                received_at: Utc::now(),
                source: format!("imap:{}:{uid}", self.settings.folder),
            });
        }
        messages.sort_by_key(|m| {
            m.source
                .rsplit(':')
                .next()
                .and_then(|u| u.parse::<u32>().ok())
                .unwrap_or(0)
        });
        let checkpoint = Checkpoint {
            mailbox: self.settings.mailbox_key(),
            uidvalidity: self.uidvalidity,
            last_uid: highest,
            first_uid,
        };
        Ok(Some(ImapBatch {
            messages,
            checkpoint,
            uids,
        }))
    }

    /// Finishes the marking a lost connection interrupted: messages at or below the committed
    /// checkpoint that are still unseen (or, with a processed folder, still here) were applied
    /// but never flagged or moved. Called once per connection; returns how many it marked.
    /// Mail at or below the first checkpoint was never ours (but for the catch-up list, which
    /// `begin` recomputes: a leftover there is applied again and skipped as a duplicate).
    pub async fn acknowledge_leftovers(&mut self, stored: Option<&Checkpoint>) -> anyhow::Result<usize> {
        let Some(cp) = stored.filter(|cp| cp.uidvalidity == self.uidvalidity && cp.last_uid > cp.first_uid) else {
            return Ok(0);
        };
        let unseen = if self.settings.processed_folder.is_some() {
            ""
        } else {
            " UNSEEN"
        };
        let found = timed(
            "search",
            self.session
                .uid_search(format!("UID {}:{}{unseen}", cp.first_uid + 1, cp.last_uid)),
        )
        .await??;
        let mut leftovers: Vec<u32> = found
            .into_iter()
            .filter(|u| *u > cp.first_uid && *u <= cp.last_uid)
            .collect();
        leftovers.sort_unstable();
        self.acknowledge(&leftovers).await?;
        Ok(leftovers.len())
    }

    /// Marks a committed batch: `\Seen`, or MOVE to the processed folder when configured.
    pub async fn acknowledge(&mut self, uids: &[u32]) -> anyhow::Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let flags = if self.marks_keyword {
            format!("+FLAGS.SILENT (\\Seen {})", self.settings.keyword)
        } else {
            "+FLAGS.SILENT (\\Seen)".to_string()
        };
        timed("store", async {
            let stream = self.session.uid_store(&set, &flags).await?;
            stream.try_collect::<Vec<_>>().await?;
            Ok::<_, async_imap::error::Error>(())
        })
        .await??;
        if let Some(folder) = self.settings.processed_folder.clone() {
            if self.can_move {
                timed("move", self.session.uid_mv(&set, &folder)).await??;
            } else {
                timed("copy", self.session.uid_copy(&set, &folder)).await??;
                timed("store", async {
                    let stream = self.session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?;
                    stream.try_collect::<Vec<_>>().await?;
                    Ok::<_, async_imap::error::Error>(())
                })
                .await??;
                timed("expunge", async {
                    let stream = self.session.uid_expunge(&set).await?;
                    stream.try_collect::<Vec<_>>().await?;
                    Ok::<_, async_imap::error::Error>(())
                })
                .await??;
            }
        }
        Ok(())
    }

    /// Waits for news: IDLE until the server reports something or `poll` passes, or a
    /// plain sleep without IDLE. Returns the source (IDLE consumes and gives back the session).
    pub async fn wait(mut self) -> anyhow::Result<ImapSource> {
        if !(self.settings.idle && self.can_idle) {
            tokio::time::sleep(self.settings.poll).await;
            timed("noop", self.session.noop()).await??;
            return Ok(self);
        }
        // What the server said outside the commands' answers. Nothing reads it but this:
        // what came before was seen by the pass that just fetched.
        let news = self.session.unsolicited_responses.clone();
        while news.try_recv().is_ok() {}
        let mut idle = self.session.idle();
        timed("idle", idle.init()).await??;
        // A server may report mail that arrived since the last command before it confirms
        // IDLE: the library keeps those lines aside and the wait would not wake for them, so
        // the mail would sit until the poll interval. They end the IDLE at once instead.
        let arrived = std::iter::from_fn(|| news.try_recv().ok()).any(|said| {
            matches!(
                said,
                async_imap::types::UnsolicitedResponse::Exists(_) | async_imap::types::UnsolicitedResponse::Recent(_)
            )
        });
        if !arrived {
            let (wait, _stop) = idle.wait_with_timeout(self.settings.poll);
            match wait.await? {
                IdleResponse::NewData(_) | IdleResponse::Timeout | IdleResponse::ManualInterrupt => {}
            }
        }
        self.session = timed("idle done", idle.done()).await??;
        Ok(self)
    }

    /// Logs out politely (errors ignored: the connection is going away anyway).
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

/// Another data folder's keyword among the folder's, unless it was taken over.
fn foreign_keyword<'k>(
    mut keywords: impl Iterator<Item = &'k str>,
    ours: &str,
    taken_over: &[String],
) -> Option<&'k str> {
    keywords.find(|k| {
        k.len() > KEYWORD_PREFIX.len()
            && k.get(..KEYWORD_PREFIX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(KEYWORD_PREFIX))
            && !k.eq_ignore_ascii_case(ours)
            && !taken_over.iter().any(|t| t.eq_ignore_ascii_case(k))
    })
}

#[cfg(test)]
mod tests {
    use super::{LoginRefused, foreign_keyword, login_error, server_words, within_budget};

    #[test]
    fn a_refused_login_keeps_the_servers_words_and_a_temporary_one_is_no_refusal() {
        let no = async_imap::error::Error::No(
            "code: None, info: Some(\"[AUTHENTICATIONFAILED] Authentication \\\"failed\\\".\")".into(),
        );
        let refused = login_error("assistenza@example.it", no);
        assert_eq!(
            refused.downcast_ref::<LoginRefused>(),
            Some(&LoginRefused {
                user: "assistenza@example.it".into(),
                answer: "[AUTHENTICATIONFAILED] Authentication \"failed\".".into(),
            })
        );
        let busy = async_imap::error::Error::No("code: None, info: Some(\"[UNAVAILABLE] Try later\")".into());
        assert!(login_error("u", busy).downcast_ref::<LoginRefused>().is_none());
        let lost = async_imap::error::Error::ConnectionLost;
        assert!(login_error("u", lost).downcast_ref::<LoginRefused>().is_none());
        assert_eq!(server_words("something else"), "something else");
    }

    #[test]
    fn another_data_folders_keyword_is_foreign_unless_taken_over() {
        let ours = "$Sportello-0a1b2c3d";
        let flags = ["\\Seen", "$Forwarded", "$Sportello-0a1b2c3d", "$Junk"];
        assert_eq!(foreign_keyword(flags.into_iter(), ours, &[]), None);
        let flags = ["$Forwarded", "$sportello-99aa88bb", "$Sportello-0a1b2c3d"];
        assert_eq!(
            foreign_keyword(flags.into_iter(), ours, &[]),
            Some("$sportello-99aa88bb")
        );
        assert_eq!(
            foreign_keyword(flags.into_iter(), ours, &["$Sportello-99AA88BB".to_string()]),
            None
        );
        assert_eq!(
            foreign_keyword(["$Sportello-"].into_iter(), ours, &[]),
            None,
            "the bare prefix names nobody"
        );
    }

    #[test]
    fn a_batch_stops_at_its_byte_budget_but_always_takes_one() {
        let uids = vec![3, 5, 8, 9];
        let sizes = vec![(3, 400), (5, 400), (8, 400), (9, 10)];
        assert_eq!(within_budget(uids.clone(), sizes.clone(), 1000, 900).0, vec![3, 5]);
        assert_eq!(
            within_budget(uids.clone(), sizes.clone(), 1000, 100).0,
            vec![3],
            "at least one"
        );
        assert_eq!(within_budget(uids.clone(), sizes.clone(), 1000, 10_000).0, uids);
        // Oversized messages are not fetched, so they cost nothing against the budget.
        let (taken, kept) = within_budget(uids.clone(), sizes, 300, 900);
        assert_eq!(taken, vec![3, 5, 8, 9]);
        assert_eq!(kept.len(), 4);
        // A UID that vanished between SEARCH and FETCH has no size: it costs nothing.
        assert_eq!(
            within_budget(vec![1, 2, 4], vec![(2, 50), (4, 5)], 1000, 60).0,
            vec![1, 2, 4]
        );
    }
}
