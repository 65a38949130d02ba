//! Configuration: `config.toml` → [`RawConfig`] (mirrors the file, no logic) → [`Config`]
//! (validated, typed). Validation happens once, here; downstream code never re-checks config.
//!
//! Every problem names its key, the bad value and what was expected, and all problems are
//! reported together. When no file exists the embedded trial configuration
//! ([`EMBEDDED_DEFAULTS`], the same text `sportello init` writes) applies. Relative paths are
//! resolved against the directory of the configuration file (the current directory for the
//! embedded defaults), so a service started from anywhere finds the same data.
//!
//! This module reads the config file, the `password_file`s and `api_token_file` (a missing
//! or empty one is a problem, one every user may read a warning) and the `ca_file`s (which
//! must hold PEM certificates) at load time, and nothing else.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::model::{Channel, Level};
use crate::sla::{CalendarRules, LocalHoliday, SlaBudgets, Window};

/// The trial configuration used when no file exists, and written by `sportello init`.
pub const EMBEDDED_DEFAULTS: &str = include_str!("default_config.toml");

/// What a secret looks like when the configuration is printed.
const MASK: &str = "********";

/// Moves the connection keys out of a section (both sections spell them the same).
macro_rules! take_server_fields {
    ($raw:expr) => {
        RawServerFields {
            host: $raw.host.take(),
            port: $raw.port.take(),
            tls: $raw.tls.take(),
            username: $raw.username.take(),
            password: $raw.password.take(),
            password_file: $raw.password_file.take(),
            ca_file: $raw.ca_file.take(),
            tls_name: $raw.tls_name.take(),
            login_retry_seconds: $raw.login_retry_seconds.take(),
            auth: $raw.auth.take(),
            oauth2: $raw.oauth2.take(),
        }
    };
}

/// Puts connection keys into a section for printing.
macro_rules! with_server_fields {
    ($section:expr, $fields:expr) => {{
        let f = $fields;
        let mut section = $section;
        section.host = f.host;
        section.port = f.port;
        section.tls = f.tls;
        section.username = f.username;
        section.password = f.password;
        section.password_file = f.password_file;
        section.ca_file = f.ca_file;
        section.tls_name = f.tls_name;
        section.login_retry_seconds = f.login_retry_seconds;
        section.auth = f.auth;
        section.oauth2 = f.oauth2;
        section
    }};
}

// ---------------------------------------------------------------------------------------------
// Validated configuration
// ---------------------------------------------------------------------------------------------

/// The validated configuration every module receives (or the part of it it needs).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where this configuration came from.
    pub origin: Origin,
    /// `[helpdesk]`: identity of the help desk and where its data lives.
    pub helpdesk: Helpdesk,
    /// `[mailbox]`: where requests arrive.
    pub mailbox: Mailbox,
    /// `[smtp]`: where outgoing mail goes.
    pub smtp: Smtp,
    /// `[calendar]`: the business calendar's rules.
    pub calendar: CalendarRules,
    /// `[sla]`: take-in and resolution budgets.
    pub sla: SlaBudgets,
    /// `[security]`: who may command the help desk by mail.
    pub security: Security,
    /// `[intake]`: bounds on what one message may cost.
    pub intake: Intake,
    /// `[operators]`: replies to operators.
    pub operators_settings: Operators,
    /// `[sla] warn_at_percent`: share of a budget after which the monitor warns (1-99).
    pub sla_warn_percent: u8,
    /// `[report] monthly_to`: who receives the monthly report by mail.
    pub report_monthly_to: Vec<String>,
    /// `[http]`: the portal channel, when enabled.
    pub http: Option<Http>,
    /// `[[operator]]`: the help-desk staff.
    pub operators: Vec<Operator>,
    /// `[alarms]`: when the service's own trouble calls the supervisors.
    pub alarms: Alarms,
    /// `[digest]`: the morning digest of each working day.
    pub digest: Digest,
    /// `[retention]`: how long citizens' data is kept.
    pub retention: Retention,
    /// `[privacy]`: the controller and the privacy notice.
    pub privacy: Privacy,
    /// `[survey]`: the satisfaction vote.
    pub survey: Survey,
    /// What validation found risky in the files it read (a password file every user of the
    /// machine can read); repeated by [`Config::warnings`].
    file_warnings: Vec<String>,
}

/// Where the configuration was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file on disk.
    File(PathBuf),
    /// No file existed at this path: the embedded trial defaults apply.
    EmbeddedDefaults(PathBuf),
}

/// User-facing language of templates and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Italian, the default.
    It,
    /// English.
    En,
}

impl Language {
    /// The two-letter code used in file names and config.
    pub fn code(self) -> &'static str {
        match self {
            Language::It => "it",
            Language::En => "en",
        }
    }
}

/// `[helpdesk]`.
#[derive(Debug, Clone)]
pub struct Helpdesk {
    /// Display name used in every outgoing mail.
    pub name: String,
    /// The support address users write to (lowercase).
    pub address: String,
    /// SQLite file, raw-mail archive and attachments live here.
    pub data_dir: PathBuf,
    /// Language of mails to requesters.
    pub language: Language,
    /// Resolved tickets are archived after this many days without activity.
    pub archive_after_days: u32,
    /// Folder whose `<lang>/<name>.txt` files replace the built-in templates.
    pub templates_dir: Option<PathBuf>,
    /// Where out-of-scope requesters are sent (text of the courteous refusal).
    pub out_of_scope_contacts: String,
}

/// When an operator gets a transcript of the commands applied from their mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transcript {
    /// After every command mail.
    Always,
    /// Only when something went wrong (a failed command is always answered).
    Errors,
}

/// `[http]`: the portal's HTTP interface (off unless `listen` is set).
#[derive(Debug, Clone)]
pub struct Http {
    /// Address to listen on, e.g. `127.0.0.1:8080` (behind the municipality's reverse proxy).
    pub listen: std::net::SocketAddr,
    /// The public base URL of the status pages (`https://…`), for the links in mails.
    pub public_url: String,
    /// Bearer token of the portal's server and of the phone system.
    pub api_token: Secret,
    /// Categories the form offers.
    pub categories: Vec<String>,
    /// Largest request body accepted (bytes).
    pub max_body_bytes: usize,
    /// Form submissions accepted per client address per hour.
    pub form_rate_per_hour: u32,
    /// Connections served at once; more are closed at accept (and never more than the open
    /// file limit leaves after the mailbox, the store and the outbox are served).
    pub max_connections: usize,
    /// A request's headers must arrive within this long, or the connection is closed.
    pub header_timeout: std::time::Duration,
    /// A request's body must arrive within this long, or it is answered 408.
    pub body_timeout: std::time::Duration,
}

/// `[digest]`: each operator's morning mail of what waits for them (`desk::digest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// Whether the daemon sends it (`sportello digest` works either way).
    pub enabled: bool,
    /// Local time of a working day from which it goes out (once a day).
    pub at: NaiveTime,
}

impl Default for Digest {
    fn default() -> Digest {
        Digest {
            enabled: true,
            at: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN),
        }
    }
}

/// `[operators]`: how the help desk talks back to operators.
#[derive(Debug, Clone)]
pub struct Operators {
    /// When to send a transcript.
    pub transcript: Transcript,
    /// The people a requester put in copy of a ticket (and those added with `#cc`) get its
    /// answers and closing letter too.
    pub copy_requester_cc: bool,
}

/// The default `out_of_scope_contacts`.
pub const DEFAULT_OUT_OF_SCOPE_CONTACTS: &str =
    "lo Sportello Unico per l'Edilizia del Comune (orari e recapiti sul sito istituzionale)";

/// How a connection to a mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Implicit,
    /// Plain connection upgraded with STARTTLS.
    Starttls,
    /// No TLS: loopback and tests only unless `allow_plain_remote` is set.
    None,
}

impl Tls {
    /// The spelling of the `tls` key.
    pub fn name(self) -> &'static str {
        match self {
            Tls::Implicit => "implicit",
            Tls::Starttls => "starttls",
            Tls::None => "none",
        }
    }
}

/// A password, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret obtained at run time (an access token, a rotated refresh token).
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The secret's value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Connection settings shared by IMAP and SMTP.
#[derive(Debug, Clone)]
pub struct Server {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Transport security.
    pub tls: Tls,
    /// Login name (SMTP may have none).
    pub username: Option<String>,
    /// Password, from `password` or `password_file`.
    pub password: Option<Secret>,
    /// File with extra PEM root certificates to trust (tests, private CAs).
    pub ca_file: Option<PathBuf>,
    /// Name to verify in the server's certificate, when it differs from `host`.
    pub tls_name: Option<String>,
    /// The wait after the server refused the login, doubled at each refusal in a row up to
    /// [`LOGIN_RETRY_MAX`] (`login_retry_seconds`).
    pub login_retry: std::time::Duration,
    /// `auth = "oauth2"`: log in with an OAuth2 access token (SASL XOAUTH2 or OAUTHBEARER)
    /// instead of the password; `None` for `auth = "password"`.
    pub oauth2: Option<Box<OAuth2>>,
}

/// `[mailbox.oauth2]` / `[smtp.oauth2]`: where and how access tokens are obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2 {
    /// The token endpoint as written (`https://…`).
    pub token_url: String,
    /// Its host, port and path (with the query), as validated.
    pub token_host: String,
    /// The endpoint's port (443 unless written).
    pub token_port: u16,
    /// The endpoint's path and query.
    pub token_path: String,
    /// The application's (client's) id.
    pub client_id: String,
    /// The client secret, from `client_secret_file` (a public client with a refresh token
    /// may have none).
    pub client_secret: Option<Secret>,
    /// `client_secret_file`, as resolved.
    pub client_secret_file: Option<PathBuf>,
    /// The scope asked for (Microsoft 365: `https://outlook.office365.com/.default`).
    pub scope: Option<String>,
    /// How a token is obtained.
    pub grant: Grant,
    /// Extra PEM root certificates for the token endpoint (tests, private CAs).
    pub ca_file: Option<PathBuf>,
}

/// The OAuth2 grant (`grant`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// `client_credentials`: the application's own identity (a Microsoft 365 app registration
    /// allowed on a shared mailbox).
    ClientCredentials,
    /// `refresh_token`: a user's consent, kept as a refresh token (Google). A rotated token
    /// the provider returns replaces the file's, atomically.
    RefreshToken {
        /// `refresh_token_file`.
        file: PathBuf,
        /// Its content at load time.
        token: Secret,
    },
}

impl Grant {
    /// The spelling of `grant`.
    pub fn name(&self) -> &'static str {
        match self {
            Grant::ClientCredentials => "client_credentials",
            Grant::RefreshToken { .. } => "refresh_token",
        }
    }
}

/// Whether the running user may create files in `folder`.
fn writable(folder: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(folder.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `path` is a valid NUL-terminated string for the duration of the call.
    unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// Splits an `https://host[:port]/path` URL into host, port and path (with the query);
/// `None` for anything else (another scheme, user info, a fragment, no host).
pub fn https_endpoint(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("https://")?;
    if rest.contains(['#', ' ', '\\']) || rest.chars().any(char::is_control) {
        return None;
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            match after {
                "" => (host, 443),
                _ => (host, after.strip_prefix(':')?.parse::<u16>().ok().filter(|p| *p > 0)?),
            }
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().ok().filter(|p| *p > 0)?),
            None => (authority, 443),
        },
    };
    if host.is_empty() || host.contains([':', '[', ']']) && !authority.starts_with('[') {
        return None;
    }
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Some((host.to_string(), port, path))
}

/// The longest wait between two logins a server refused: a wrong or expired password is
/// tried a few times a day, never often enough to lock the account.
pub const LOGIN_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(4 * 3600);

/// The default first wait after a refused login (`login_retry_seconds`).
const LOGIN_RETRY_DEFAULT_SECONDS: u64 = 300;

/// `[alarms]`: how long, in service time, a trouble of the service itself lasts before the
/// supervisors are called (0: at its first sign during service hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alarms {
    /// The mailbox unreachable or refusing the login (`mailbox_minutes`, default 15).
    pub mailbox_minutes: u32,
    /// The outbox unable to deliver (`outbox_minutes`, default 30).
    pub outbox_minutes: u32,
    /// No mail at all (`silence_hours`, default 8: a working day).
    pub silence_hours: u32,
}

impl Default for Alarms {
    fn default() -> Alarms {
        Alarms {
            mailbox_minutes: 15,
            outbox_minutes: 30,
            silence_hours: 8,
        }
    }
}

/// `[mailbox]`: where requests arrive.
#[derive(Debug, Clone)]
pub enum Mailbox {
    /// A local Maildir (the embedded default).
    Maildir {
        /// The Maildir's root (holding `new/`, `cur/`, `tmp/`).
        path: PathBuf,
    },
    /// An IMAP folder.
    Imap {
        /// Server and credentials.
        server: Server,
        /// Folder to read.
        folder: String,
        /// Use IDLE when the server offers it.
        idle: bool,
        /// Seconds between polls without IDLE (and the IDLE refresh ceiling).
        poll_seconds: u64,
        /// Move processed messages here instead of only flagging them `\Seen`.
        processed_folder: Option<String>,
        /// Also take the unread mail received since this day that was in the folder before
        /// this data folder first read it (a first start otherwise begins at the folder's end).
        since: Option<NaiveDate>,
    },
}

/// `[smtp]`: where outgoing mail goes.
#[derive(Debug, Clone)]
pub enum Smtp {
    /// Write each message as an `.eml` file (the embedded default).
    File {
        /// Folder the files go to.
        path: PathBuf,
    },
    /// Send through an SMTP server.
    Server {
        /// Where and how to log in.
        server: Server,
        /// How many sessions, and how long each.
        sessions: SmtpSessions,
    },
}

/// `[smtp] connections` and `messages_per_session`: the courier keeps up to `connections`
/// SMTP sessions open in parallel and reuses each for up to `messages_per_session` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmtpSessions {
    /// Sessions sending in parallel (1-32).
    pub connections: u16,
    /// Messages sent on one session before it is closed and another one opened (1-10000).
    pub messages_per_session: u32,
}

impl Default for SmtpSessions {
    fn default() -> SmtpSessions {
        SmtpSessions {
            connections: 4,
            messages_per_session: 100,
        }
    }
}

/// Where the help desk's mailbox is hosted, which decides the headers that can be trusted to
/// say an operator's mail is genuine (see `auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// The municipality's own MX: its `Authentication-Results` with `trusted_authserv_id`.
    Generic,
    /// Google Workspace: Gmail's `Authentication-Results: mx.google.com; …`.
    Google,
    /// Microsoft 365 (Exchange Online): the tenant's own `X-MS-Exchange-Organization-AuthAs`
    /// marks for mail between its mailboxes, and Exchange's `Authentication-Results` (which
    /// names no authserv-id) for mail from outside.
    Microsoft365,
}

impl Provider {
    /// The spelling of `[security] provider`.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Generic => "generic",
            Provider::Google => "google",
            Provider::Microsoft365 => "microsoft365",
        }
    }
}

/// Gmail's authserv-id, the default of `trusted_authserv_id` with `provider = "google"`.
pub const GOOGLE_AUTHSERV_ID: &str = "mx.google.com";

/// `[security]`.
#[derive(Debug, Clone)]
pub struct Security {
    /// Where the mailbox is hosted.
    pub provider: Provider,
    /// authserv-id of the `Authentication-Results` header our own MX adds (with
    /// `provider = "google"`, Gmail's unless set; with `microsoft365`, an extra id accepted
    /// besides Exchange's own header, for hybrid set-ups).
    pub trusted_authserv_id: String,
    /// Honour operator commands without authentication (local trials only).
    pub allow_unauthenticated_operators: bool,
}

impl Security {
    /// True when operator mail can be checked at all: a known provider, or an authserv-id.
    pub fn checks_authentication(&self) -> bool {
        self.provider != Provider::Generic || !self.trusted_authserv_id.is_empty()
    }
}

/// `[intake]`: bounds that keep one message's cost finite.
#[derive(Debug, Clone)]
pub struct Intake {
    /// Larger messages are quarantined unread.
    pub max_message_bytes: u64,
    /// Larger attachments are dropped with a note in the ticket.
    pub max_attachment_bytes: u64,
    /// Attachments beyond this count are dropped with a note.
    pub max_attachments: u32,
    /// Acknowledgments to one sender per hour, so a robot cannot make us spam.
    pub ack_rate_per_hour: u32,
    /// Messages applied per transaction.
    pub batch_size: u32,
    /// Bytes of mail held per batch: a batch ends early at this bound (it always holds at
    /// least one message), so memory stays bounded whatever the messages' sizes.
    pub batch_bytes: u64,
    /// An operator notice quotes at most this much of a message's text (the ticket keeps it
    /// all).
    pub notice_text_bytes: usize,
    /// A notice (or an operator's answer) carries its files up to this many bytes in total;
    /// beyond that it lists them.
    pub notice_attachment_bytes: u64,
    /// Days the mail of a sender whose ticket was closed with `#spam` is quarantined.
    pub spam_days: u32,
}

/// `[[operator]]`: one member of the help-desk staff.
#[derive(Debug, Clone)]
pub struct Operator {
    /// Full name, used to sign answers and in take-in confirmations.
    pub name: String,
    /// Address commands must come from (lowercase).
    pub email: String,
    /// 1 or 2.
    pub level: Level,
    /// Supervisors receive complaints, breaches and security alerts.
    pub supervisor: bool,
    /// Away operators get no new requests, handovers, reopenings or warnings (set here, or
    /// for the day by a recorded absence: `#assente`, `sportello operator away`).
    pub away: bool,
    /// The address of the colleague who stands in while they are away (from `deputy` here,
    /// or from the recorded absence).
    pub deputy: Option<String>,
}

impl Config {
    /// Loads `path`, or the embedded defaults when no file exists there.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
                Config::parse(&text, &base, Origin::File(path.to_path_buf()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let base = std::env::current_dir().unwrap_or_default();
                Config::parse(EMBEDDED_DEFAULTS, &base, Origin::EmbeddedDefaults(path.to_path_buf()))
            }
            Err(e) => Err(ConfigError::single(
                Some(path),
                Problem::new("", path.display().to_string(), format!("a readable file ({e})")),
            )),
        }
    }

    /// Parses and validates configuration text; relative paths resolve against `base`.
    pub fn parse(text: &str, base: &Path, origin: Origin) -> Result<Config, ConfigError> {
        let file = match &origin {
            Origin::File(p) => Some(p.as_path()),
            Origin::EmbeddedDefaults(_) => None,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError {
            file: file.map(Path::to_path_buf),
            problems: vec![Problem::from_toml(&e, text)],
        })?;
        let mut v = Validator {
            base,
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        let config = v.config(raw, origin.clone());
        if v.problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError {
                file: file.map(Path::to_path_buf),
                problems: v.problems,
            })
        }
    }

    /// The operator with this address (case-insensitive), if any.
    pub fn operator(&self, email: &str) -> Option<&Operator> {
        self.operators.iter().find(|o| o.email.eq_ignore_ascii_case(email))
    }

    /// Path of the SQLite database.
    pub fn database_path(&self) -> PathBuf {
        self.helpdesk.data_dir.join("sportello.db")
    }

    /// The effective configuration as TOML, every default filled in, secrets masked.
    pub fn effective_toml(&self) -> String {
        let server = |s: &Server| RawServerFields {
            host: Some(s.host.clone()),
            port: Some(s.port),
            tls: Some(s.tls.name().to_string()),
            username: s.username.clone(),
            password: s.password.as_ref().map(|_| MASK.to_string()),
            password_file: None,
            ca_file: s.ca_file.as_ref().map(|p| p.display().to_string()),
            tls_name: s.tls_name.clone(),
            login_retry_seconds: Some(s.login_retry.as_secs()),
            auth: Some(if s.oauth2.is_some() { "oauth2" } else { "password" }.to_string()),
            oauth2: s.oauth2.as_ref().map(|o| RawOAuth2 {
                token_url: Some(o.token_url.clone()),
                client_id: Some(o.client_id.clone()),
                client_secret_file: o.client_secret_file.as_ref().map(|p| p.display().to_string()),
                scope: o.scope.clone(),
                grant: Some(o.grant.name().to_string()),
                refresh_token_file: match &o.grant {
                    Grant::RefreshToken { file, .. } => Some(file.display().to_string()),
                    Grant::ClientCredentials => None,
                },
                ca_file: o.ca_file.as_ref().map(|p| p.display().to_string()),
            }),
        };
        let mailbox = match &self.mailbox {
            Mailbox::Maildir { path } => RawMailbox {
                kind: Some("maildir".into()),
                path: Some(path.display().to_string()),
                ..RawMailbox::default()
            },
            Mailbox::Imap {
                server: s,
                folder,
                idle,
                poll_seconds,
                processed_folder,
                since,
            } => with_server_fields!(
                RawMailbox {
                    kind: Some("imap".into()),
                    folder: Some(folder.clone()),
                    idle: Some(*idle),
                    poll_seconds: Some(*poll_seconds),
                    processed_folder: processed_folder.clone(),
                    since: since.map(|d| d.format("%Y-%m-%d").to_string()),
                    ..RawMailbox::default()
                },
                server(s)
            ),
        };
        let smtp = match &self.smtp {
            Smtp::File { path } => RawSmtp {
                kind: Some("file".into()),
                path: Some(path.display().to_string()),
                ..RawSmtp::default()
            },
            Smtp::Server { server: s, sessions } => {
                with_server_fields!(
                    RawSmtp {
                        kind: Some("smtp".into()),
                        connections: Some(sessions.connections),
                        messages_per_session: Some(sessions.messages_per_session),
                        ..RawSmtp::default()
                    },
                    server(s)
                )
            }
        };
        let fmt_time = |t: NaiveTime| t.format("%H:%M").to_string();
        let raw = RawConfig {
            helpdesk: RawHelpdesk {
                name: Some(self.helpdesk.name.clone()),
                address: Some(self.helpdesk.address.clone()),
                data_dir: Some(self.helpdesk.data_dir.display().to_string()),
                language: Some(self.helpdesk.language.code().into()),
                archive_after_days: Some(self.helpdesk.archive_after_days.into()),
                templates_dir: self.helpdesk.templates_dir.as_ref().map(|d| d.display().to_string()),
                out_of_scope_contacts: Some(self.helpdesk.out_of_scope_contacts.clone()),
            },
            mailbox,
            smtp,
            calendar: RawCalendar {
                timezone: Some(self.calendar.timezone.name().into()),
                windows: Some(
                    self.calendar
                        .windows
                        .iter()
                        .map(|w| format!("{}-{}", fmt_time(w.start), fmt_time(w.end)))
                        .collect(),
                ),
                closed_day_start: Some(fmt_time(self.calendar.closed_day_start)),
                local_holidays: Some(
                    self.calendar
                        .local_holidays
                        .iter()
                        .map(|h| format!("{:02}-{:02} {}", h.month, h.day, h.name).trim_end().to_string())
                        .collect(),
                ),
                extra_closed_days: Some(
                    self.calendar
                        .extra_closed_days
                        .iter()
                        .map(|d| d.format("%Y-%m-%d").to_string())
                        .collect(),
                ),
            },
            sla: RawSla {
                take_in_minutes: Some(RawTakeIn {
                    portal: Some(self.sla.take_in_minutes(Channel::Portal)),
                    email: Some(self.sla.take_in_minutes(Channel::Email)),
                    phone: Some(self.sla.take_in_minutes(Channel::Phone)),
                }),
                resolution_minutes: Some(RawResolution {
                    level1: Some(self.sla.resolution_minutes(Level::First)),
                    level2: Some(self.sla.resolution_minutes(Level::Second)),
                }),
                warn_at_percent: Some(self.sla_warn_percent.into()),
            },
            report: RawReport {
                monthly_to: Some(self.report_monthly_to.clone()),
            },
            alarms: RawAlarms {
                mailbox_minutes: Some(self.alarms.mailbox_minutes.into()),
                outbox_minutes: Some(self.alarms.outbox_minutes.into()),
                silence_hours: Some(self.alarms.silence_hours.into()),
            },
            http: match &self.http {
                None => RawHttp::default(),
                Some(h) => RawHttp {
                    listen: Some(h.listen.to_string()),
                    public_url: Some(h.public_url.clone()),
                    api_token: Some(MASK.to_string()),
                    api_token_file: None,
                    categories: Some(h.categories.clone()),
                    max_body_bytes: Some(h.max_body_bytes as i64),
                    form_rate_per_hour: Some(h.form_rate_per_hour.into()),
                    max_connections: Some(h.max_connections as i64),
                    header_timeout_seconds: Some(h.header_timeout.as_secs() as i64),
                    body_timeout_seconds: Some(h.body_timeout.as_secs() as i64),
                },
            },
            security: RawSecurity {
                provider: Some(self.security.provider.name().to_string()),
                trusted_authserv_id: Some(self.security.trusted_authserv_id.clone()),
                allow_unauthenticated_operators: Some(self.security.allow_unauthenticated_operators),
            },
            intake: RawIntake {
                max_message_bytes: Some(self.intake.max_message_bytes as i64),
                max_attachment_bytes: Some(self.intake.max_attachment_bytes as i64),
                max_attachments: Some(self.intake.max_attachments.into()),
                ack_rate_per_hour: Some(self.intake.ack_rate_per_hour.into()),
                batch_size: Some(self.intake.batch_size.into()),
                batch_bytes: Some(self.intake.batch_bytes as i64),
                notice_text_bytes: Some(self.intake.notice_text_bytes as i64),
                notice_attachment_bytes: Some(self.intake.notice_attachment_bytes as i64),
                spam_days: Some(self.intake.spam_days.into()),
            },
            operators: RawOperators {
                transcript: Some(
                    match self.operators_settings.transcript {
                        Transcript::Always => "always",
                        Transcript::Errors => "errors",
                    }
                    .into(),
                ),
                copy_requester_cc: Some(self.operators_settings.copy_requester_cc),
            },
            retention: self.retention.raw(),
            privacy: self.privacy.raw(),
            survey: self.survey.raw(),
            operator: self
                .operators
                .iter()
                .map(|o| RawOperator {
                    name: Some(o.name.clone()),
                    email: Some(o.email.clone()),
                    level: Some(o.level.number().into()),
                    supervisor: Some(o.supervisor),
                    away: Some(o.away),
                    deputy: o.deputy.clone(),
                })
                .collect(),
            digest: RawDigest {
                enabled: Some(self.digest.enabled),
                at: Some(self.digest.at.format("%H:%M").to_string()),
            },
        };
        toml::to_string(&raw).unwrap_or_else(|e| format!("# cannot print the configuration: {e}\n"))
    }

    /// Warnings worth repeating at every start (the configuration is valid but risky).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = self.file_warnings.clone();
        if self.security.allow_unauthenticated_operators && !self.security.checks_authentication() {
            out.push(
                "security.allow_unauthenticated_operators = true: anyone who writes From an operator's \
                 address can command the help desk; use this for a local trial only"
                    .to_string(),
            );
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key, e.g. `calendar.windows[0]` (empty when the file itself is at fault).
    pub key: String,
    /// The offending value as written.
    pub value: String,
    /// What was expected instead.
    pub expected: String,
}

impl Problem {
    fn new(key: impl Into<String>, value: impl Into<String>, expected: impl Into<String>) -> Problem {
        Problem {
            key: key.into(),
            value: value.into(),
            expected: expected.into(),
        }
    }

    /// Turns a TOML syntax or type error into a problem naming the key on the offending line.
    fn from_toml(e: &toml::de::Error, text: &str) -> Problem {
        let message = e.message().trim_end().to_string();
        let key = match message.strip_prefix("unknown field `") {
            Some(rest) => rest.split('`').next().unwrap_or_default().to_string(),
            None => e.span().map(|span| key_at(text, span.start)).unwrap_or_default(),
        };
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        let expected = match line {
            Some(line) => format!("{message} (line {line})"),
            None => message,
        };
        Problem {
            key,
            value: String::new(),
            expected,
        }
    }
}

/// The dotted key whose value starts on the line holding byte `offset`: the nearest
/// `[table]` header above it, plus the `key =` of that line.
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or_default();
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(['[', ']']).trim().to_string());
    match (table, key) {
        (Some(t), Some(k)) => format!("{t}.{k}"),
        (None, Some(k)) => k.to_string(),
        (Some(t), None) => t,
        (None, None) => String::new(),
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.key.is_empty(), self.value.is_empty()) {
            (true, _) => write!(f, "{}", self.expected),
            (false, true) => write!(f, "{}: {}", self.key, self.expected),
            (false, false) => write!(f, "{} = {}: expected {}", self.key, self.value, self.expected),
        }
    }
}

/// Every problem found in one configuration.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// The file at fault (None for the embedded defaults).
    pub file: Option<PathBuf>,
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    fn single(file: Option<&Path>, problem: Problem) -> ConfigError {
        ConfigError {
            file: file.map(Path::to_path_buf),
            problems: vec![problem],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(p) => writeln!(f, "invalid configuration in {}:", p.display())?,
            None => writeln!(f, "invalid embedded configuration:")?,
        }
        for p in &self.problems {
            for (i, line) in p.to_string().lines().enumerate() {
                if i == 0 {
                    writeln!(f, "  - {line}")?;
                } else {
                    writeln!(f, "    {line}")?;
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

// ---------------------------------------------------------------------------------------------
// Raw configuration: mirrors the file
// ---------------------------------------------------------------------------------------------

/// The file as written; every key optional so defaults can be filled in and reported.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    helpdesk: RawHelpdesk,
    #[serde(default)]
    mailbox: RawMailbox,
    #[serde(default)]
    smtp: RawSmtp,
    #[serde(default)]
    calendar: RawCalendar,
    #[serde(default)]
    sla: RawSla,
    #[serde(default)]
    security: RawSecurity,
    #[serde(default)]
    intake: RawIntake,
    #[serde(default)]
    operators: RawOperators,
    #[serde(default)]
    report: RawReport,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    alarms: RawAlarms,
    #[serde(default)]
    retention: privacy::RawRetention,
    #[serde(default)]
    privacy: privacy::RawPrivacy,
    #[serde(default)]
    survey: privacy::RawSurvey,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    operator: Vec<RawOperator>,
    #[serde(default)]
    digest: RawDigest,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawHelpdesk {
    name: Option<String>,
    address: Option<String>,
    data_dir: Option<String>,
    language: Option<String>,
    archive_after_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    templates_dir: Option<String>,
    out_of_scope_contacts: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawOperators {
    transcript: Option<String>,
    copy_requester_cc: Option<bool>,
}

/// Connection keys shared by `[mailbox]` (IMAP) and `[smtp]`. Written out in both sections
/// rather than flattened, because serde's flatten loses the position toml needs to name a
/// mistyped key.
#[derive(Debug, Default)]
struct RawServerFields {
    host: Option<String>,
    port: Option<u16>,
    tls: Option<String>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<String>,
    ca_file: Option<String>,
    tls_name: Option<String>,
    login_retry_seconds: Option<u64>,
    auth: Option<String>,
    oauth2: Option<RawOAuth2>,
}

/// `[mailbox.oauth2]` and `[smtp.oauth2]`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawOAuth2 {
    token_url: Option<String>,
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    grant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_file: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawMailbox {
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    login_retry_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    folder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idle: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    poll_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    processed_folder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_plain_remote: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth2: Option<RawOAuth2>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    login_retry_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_plain_remote: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connections: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages_per_session: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth2: Option<RawOAuth2>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    timezone: Option<String>,
    windows: Option<Vec<String>>,
    closed_day_start: Option<String>,
    local_holidays: Option<Vec<String>>,
    extra_closed_days: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawSla {
    take_in_minutes: Option<RawTakeIn>,
    resolution_minutes: Option<RawResolution>,
    warn_at_percent: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_token_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    categories: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_body_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    form_rate_per_hour: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_connections: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header_timeout_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_timeout_seconds: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawAlarms {
    mailbox_minutes: Option<i64>,
    outbox_minutes: Option<i64>,
    silence_hours: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawReport {
    monthly_to: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    enabled: Option<bool>,
    at: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawTakeIn {
    portal: Option<i64>,
    email: Option<i64>,
    phone: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawResolution {
    level1: Option<i64>,
    level2: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawSecurity {
    provider: Option<String>,
    trusted_authserv_id: Option<String>,
    allow_unauthenticated_operators: Option<bool>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawIntake {
    max_message_bytes: Option<i64>,
    max_attachment_bytes: Option<i64>,
    max_attachments: Option<i64>,
    ack_rate_per_hour: Option<i64>,
    batch_size: Option<i64>,
    batch_bytes: Option<i64>,
    notice_text_bytes: Option<i64>,
    notice_attachment_bytes: Option<i64>,
    spam_days: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawOperator {
    name: Option<String>,
    email: Option<String>,
    level: Option<i64>,
    supervisor: Option<bool>,
    away: Option<bool>,
    deputy: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Validation: raw → typed, collecting every problem
// ---------------------------------------------------------------------------------------------

struct Validator<'a> {
    base: &'a Path,
    problems: Vec<Problem>,
    /// Risks that do not stop the daemon (see [`Config::warnings`]).
    warnings: Vec<String>,
}

impl Validator<'_> {
    fn problem(&mut self, key: impl Into<String>, value: impl fmt::Debug, expected: impl Into<String>) {
        self.problems.push(Problem::new(key, format!("{value:?}"), expected));
    }

    fn config(&mut self, raw: RawConfig, origin: Origin) -> Config {
        let helpdesk = self.helpdesk(raw.helpdesk);
        let mailbox = self.mailbox(raw.mailbox, &helpdesk.data_dir);
        let smtp = self.smtp(raw.smtp, &helpdesk.data_dir);
        let calendar = self.calendar(raw.calendar);
        let warn_at_percent = raw.sla.warn_at_percent;
        let sla = self.sla(raw.sla);
        let security = self.security(raw.security);
        let intake = self.intake(raw.intake);
        let sla_warn_percent = match warn_at_percent {
            None => 75,
            Some(p) if (1..=99).contains(&p) => p as u8,
            Some(p) => {
                self.problem("sla.warn_at_percent", p, "a percentage from 1 to 99");
                75
            }
        };
        let mut report_monthly_to = Vec::new();
        for (i, address) in raw.report.monthly_to.unwrap_or_default().into_iter().enumerate() {
            if is_plain_address(&address) {
                report_monthly_to.push(address.to_ascii_lowercase());
            } else {
                self.problem(format!("report.monthly_to[{i}]"), &address, "an e-mail address");
            }
        }
        let http = self.http(raw.http);
        let alarms = self.alarms(raw.alarms);
        let digest = self.digest(raw.digest);
        let operators = self.operators(raw.operator);
        let transcript = match raw.operators.transcript.as_deref().unwrap_or("errors") {
            "always" => Transcript::Always,
            "errors" => Transcript::Errors,
            other => {
                self.problem("operators.transcript", other, "\"always\" or \"errors\"");
                Transcript::Errors
            }
        };
        let operators_settings = Operators {
            transcript,
            copy_requester_cc: raw.operators.copy_requester_cc.unwrap_or(true),
        };
        if !operators.is_empty() && !security.checks_authentication() && !security.allow_unauthenticated_operators {
            self.problems.push(Problem::new(
                "security.trusted_authserv_id",
                "\"\"",
                "the authserv-id of your MX's Authentication-Results header when operators are \
                 configured (or security.allow_unauthenticated_operators = true, for a local trial only)",
            ));
        }
        Config {
            origin,
            helpdesk,
            mailbox,
            smtp,
            calendar,
            sla,
            security,
            intake,
            operators_settings,
            sla_warn_percent,
            report_monthly_to,
            http,
            operators,
            alarms,
            digest,
            retention: self.retention(raw.retention),
            privacy: self.privacy(raw.privacy),
            survey: self.survey(raw.survey),
            file_warnings: std::mem::take(&mut self.warnings),
        }
    }

    fn alarms(&mut self, raw: RawAlarms) -> Alarms {
        let defaults = Alarms::default();
        let mut bounded = |key: &str, value: Option<i64>, default: u32, max: i64, unit: &str| match value {
            None => default,
            Some(v) if (0..=max).contains(&v) => v as u32,
            Some(v) => {
                self.problem(
                    format!("alarms.{key}"),
                    v,
                    format!("{unit} of service time from 0 (at the first sign) to {max}"),
                );
                default
            }
        };
        Alarms {
            mailbox_minutes: bounded(
                "mailbox_minutes",
                raw.mailbox_minutes,
                defaults.mailbox_minutes,
                1440,
                "minutes",
            ),
            outbox_minutes: bounded(
                "outbox_minutes",
                raw.outbox_minutes,
                defaults.outbox_minutes,
                1440,
                "minutes",
            ),
            silence_hours: bounded(
                "silence_hours",
                raw.silence_hours,
                defaults.silence_hours,
                240,
                "hours (0: never)",
            ),
        }
    }

    fn digest(&mut self, raw: RawDigest) -> Digest {
        let mut digest = Digest::default();
        if let Some(enabled) = raw.enabled {
            digest.enabled = enabled;
        }
        if let Some(text) = raw.at {
            match NaiveTime::parse_from_str(text.trim(), "%H:%M") {
                Ok(t) => digest.at = t,
                Err(_) => self.problem(
                    "digest.at",
                    &text,
                    "a local time \"HH:MM\" from 00:00 to 23:59 at which the digest of a working day goes out, e.g. \"08:00\"",
                ),
            }
        }
        digest
    }

    fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    fn helpdesk(&mut self, raw: RawHelpdesk) -> Helpdesk {
        let name = raw.name.unwrap_or_else(|| "Help desk CPortal".into());
        if name.trim().is_empty() || name.contains(['\r', '\n']) {
            self.problem("helpdesk.name", &name, "a non-empty name on one line");
        }
        let address = raw.address.unwrap_or_else(|| "assistenza@comune.example.it".into());
        if !is_plain_address(&address) {
            self.problem(
                "helpdesk.address",
                &address,
                "an e-mail address like assistenza@comune.example.it",
            );
        }
        let data_dir = raw.data_dir.unwrap_or_else(|| "var".into());
        if data_dir.is_empty() {
            self.problem("helpdesk.data_dir", &data_dir, "a folder path");
        }
        let language = match raw.language.as_deref().unwrap_or("it") {
            "it" => Language::It,
            "en" => Language::En,
            other => {
                self.problem("helpdesk.language", other, "\"it\" or \"en\"");
                Language::It
            }
        };
        let archive_after_days = raw.archive_after_days.unwrap_or(30);
        let archive_after_days = match u32::try_from(archive_after_days) {
            Ok(d) if (1..=3650).contains(&d) => d,
            _ => {
                self.problem(
                    "helpdesk.archive_after_days",
                    archive_after_days,
                    "a number of days from 1 to 3650",
                );
                30
            }
        };
        let templates_dir = raw.templates_dir.map(|d| self.path(&d));
        if let Some(dir) = &templates_dir
            && !dir.is_dir()
        {
            self.problem(
                "helpdesk.templates_dir",
                dir.display().to_string(),
                "an existing folder of templates",
            );
        }
        let out_of_scope_contacts = raw
            .out_of_scope_contacts
            .unwrap_or_else(|| DEFAULT_OUT_OF_SCOPE_CONTACTS.into());
        Helpdesk {
            name,
            address: address.to_ascii_lowercase(),
            data_dir: self.path(&data_dir),
            language,
            archive_after_days,
            templates_dir,
            out_of_scope_contacts,
        }
    }

    fn server(&mut self, section: &str, raw: RawServerFields, allow_plain_remote: bool, need_login: bool) -> Server {
        let key = |k: &str| format!("{section}.{k}");
        let host = raw.host.unwrap_or_default();
        if host.is_empty() || host.contains(char::is_whitespace) {
            self.problem(key("host"), &host, "a host name or address");
        }
        let tls = match raw.tls.as_deref().unwrap_or("implicit") {
            "implicit" => Tls::Implicit,
            "starttls" => Tls::Starttls,
            "none" => Tls::None,
            other => {
                self.problem(key("tls"), other, "\"implicit\", \"starttls\" or \"none\"");
                Tls::Implicit
            }
        };
        if tls == Tls::None && !allow_plain_remote && !is_loopback(&host) {
            self.problem(
                key("tls"),
                "none",
                format!(
                    "\"implicit\" or \"starttls\" for a non-loopback host ({host}); \
                     set {section}.allow_plain_remote = true to send passwords in clear anyway"
                ),
            );
        }
        let default_port = match (section, tls) {
            ("mailbox", Tls::Implicit) => 993,
            ("mailbox", _) => 143,
            (_, Tls::Implicit) => 465,
            _ => 587,
        };
        let port = raw.port.unwrap_or(default_port);
        if port == 0 {
            self.problem(key("port"), port, "a TCP port from 1 to 65535");
        }
        let password = match (raw.password, raw.password_file) {
            (Some(_), Some(_)) => {
                self.problem(
                    key("password_file"),
                    "…",
                    format!("either {section}.password or {section}.password_file, not both"),
                );
                None
            }
            (Some(p), None) => Some(Secret(p)),
            (None, Some(file)) => self
                .secret_file(&key("password_file"), &file, "the password")
                .map(|text| Secret(text.trim_end_matches(['\r', '\n']).to_string())),
            (None, None) => None,
        };
        let by_password = raw.auth.as_deref().unwrap_or("password") == "password";
        let oauth2 = match raw.auth.as_deref().unwrap_or("password") {
            "password" => {
                if raw.oauth2.is_some() {
                    self.problem(
                        key("auth"),
                        "password",
                        format!("\"oauth2\" when {section}.oauth2 is set (or remove {section}.oauth2)"),
                    );
                }
                None
            }
            "oauth2" => {
                if password.is_some() {
                    self.problem(
                        key("password"),
                        "…",
                        format!("no password with {section}.auth = \"oauth2\" (the login uses an access token)"),
                    );
                }
                if raw.username.is_none() {
                    self.problems.push(Problem::new(
                        key("username"),
                        "",
                        format!("{section}.username (the mailbox's address) with {section}.auth = \"oauth2\""),
                    ));
                }
                match raw.oauth2 {
                    Some(o) => self.oauth2(&format!("{section}.oauth2"), o).map(Box::new),
                    None => {
                        self.problems.push(Problem::new(
                            format!("{section}.oauth2"),
                            "",
                            format!(
                                "a [{section}.oauth2] table (token_url, client_id, client_secret_file, scope, grant) \
                                 with {section}.auth = \"oauth2\""
                            ),
                        ));
                        None
                    }
                }
            }
            other => {
                self.problem(key("auth"), other, "\"password\" or \"oauth2\"");
                None
            }
        };
        if need_login && by_password && (raw.username.is_none() || password.is_none()) {
            self.problems.push(Problem::new(
                key("username"),
                "",
                format!("{section}.username and {section}.password (or password_file) for IMAP"),
            ));
        }
        let ca_file = raw.ca_file.map(|p| self.path(&p));
        if let Some(ca) = &ca_file {
            self.ca_file(&key("ca_file"), ca);
        }
        let login_retry_seconds = raw.login_retry_seconds.unwrap_or(LOGIN_RETRY_DEFAULT_SECONDS);
        if !(1..=LOGIN_RETRY_MAX.as_secs()).contains(&login_retry_seconds) {
            self.problem(
                key("login_retry_seconds"),
                login_retry_seconds,
                format!(
                    "seconds from 1 to {} (the wait after a refused login, doubled up to 4 hours)",
                    LOGIN_RETRY_MAX.as_secs()
                ),
            );
        }
        Server {
            host,
            port,
            tls,
            username: raw.username,
            password,
            ca_file,
            tls_name: raw.tls_name,
            login_retry: std::time::Duration::from_secs(login_retry_seconds.clamp(1, LOGIN_RETRY_MAX.as_secs())),
            oauth2,
        }
    }

    /// `[mailbox.oauth2]` / `[smtp.oauth2]` (`table` names it).
    fn oauth2(&mut self, table: &str, raw: RawOAuth2) -> Option<OAuth2> {
        let key = |k: &str| format!("{table}.{k}");
        let problems_before = self.problems.len();
        let token_url = raw.token_url.unwrap_or_default();
        let endpoint = https_endpoint(&token_url);
        if endpoint.is_none() {
            self.problem(
                key("token_url"),
                &token_url,
                "the provider's token endpoint, an https:// URL (Microsoft 365: \
                 https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token; Google: https://oauth2.googleapis.com/token)",
            );
        }
        let client_id = raw.client_id.unwrap_or_default();
        if client_id.trim().is_empty() || client_id.chars().any(char::is_control) {
            self.problem(key("client_id"), &client_id, "the application's (client's) id");
        }
        let client_secret_file = raw.client_secret_file.map(|f| self.path(&f));
        let client_secret = match &client_secret_file {
            Some(file) => self
                .secret_file(
                    &key("client_secret_file"),
                    &file.display().to_string(),
                    "the client secret",
                )
                .map(|text| Secret(text.trim_end_matches(['\r', '\n']).to_string())),
            None => None,
        };
        let scope = raw.scope.filter(|s| !s.trim().is_empty());
        let grant = match raw.grant.as_deref().unwrap_or("client_credentials") {
            "client_credentials" => {
                if raw.refresh_token_file.is_some() {
                    self.problem(
                        key("refresh_token_file"),
                        "…",
                        "no refresh_token_file with grant = \"client_credentials\" (or grant = \"refresh_token\")",
                    );
                }
                if client_secret_file.is_none() {
                    self.problem(
                        key("client_secret_file"),
                        "",
                        "a file with the client secret (grant = \"client_credentials\" needs one)",
                    );
                }
                if scope.is_none() {
                    self.problem(
                        key("scope"),
                        "",
                        "the scope to ask for (Microsoft 365: \"https://outlook.office365.com/.default\")",
                    );
                }
                Some(Grant::ClientCredentials)
            }
            "refresh_token" => match raw.refresh_token_file {
                None => {
                    self.problem(
                        key("refresh_token_file"),
                        "",
                        "a file holding the refresh token (grant = \"refresh_token\" needs one)",
                    );
                    None
                }
                Some(f) => {
                    let file = self.path(&f);
                    let token = self
                        .secret_file(
                            &key("refresh_token_file"),
                            &file.display().to_string(),
                            "the refresh token",
                        )
                        .map(|text| Secret(text.trim().to_string()));
                    // A rotated refresh token replaces the file (a new file renamed over it):
                    // its folder must be writable, or the next start has a spent token.
                    let folder = match file.parent() {
                        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                        _ => PathBuf::from("."),
                    };
                    if !writable(&folder) {
                        self.problem(
                            key("refresh_token_file"),
                            file.display().to_string(),
                            format!(
                                "a file in a folder the user running sportello may write ({} is not): the \
                                 provider rotates the refresh token and the new one is saved there",
                                folder.display()
                            ),
                        );
                    }
                    token.map(|token| Grant::RefreshToken { file, token })
                }
            },
            other => {
                self.problem(key("grant"), other, "\"client_credentials\" or \"refresh_token\"");
                None
            }
        };
        let ca_file = raw.ca_file.map(|p| self.path(&p));
        if let Some(ca) = &ca_file {
            self.ca_file(&key("ca_file"), ca);
        }
        let (token_host, token_port, token_path) = endpoint?;
        let grant = grant?;
        if self.problems.len() > problems_before {
            return None;
        }
        Some(OAuth2 {
            token_url,
            token_host,
            token_port,
            token_path,
            client_id,
            client_secret,
            client_secret_file,
            scope,
            grant,
            ca_file,
        })
    }

    /// Reads a file holding a secret (`what`): a missing or empty file can only fail a login,
    /// so it is a problem; one every user of the machine may read is a warning.
    fn secret_file(&mut self, key: &str, file: &str, what: &str) -> Option<String> {
        let path = self.path(file);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                self.problem(key, file, format!("a readable file with {what} ({e})"));
                return None;
            }
        };
        if text.trim().is_empty() {
            self.problem(key, file, format!("a file with {what} (this one is empty)"));
            return None;
        }
        if let Ok(meta) = std::fs::metadata(&path) {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o004 != 0 {
                self.warnings.push(format!(
                    "{key} = {}: every user of this machine can read {what} (mode {mode:04o}); \
                     `chmod 0640` it, with the group of the user running sportello",
                    path.display()
                ));
            }
        }
        Some(text)
    }

    /// `ca_file` must hold PEM certificates: a missing or unreadable one can only fail every
    /// TLS handshake.
    fn ca_file(&mut self, key: &str, path: &Path) {
        use tokio_rustls::rustls::RootCertStore;
        use tokio_rustls::rustls::pki_types::CertificateDer;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        let shown = path.display().to_string();
        let pem = match std::fs::read(path) {
            Ok(pem) => pem,
            Err(e) => {
                self.problem(key, shown, format!("a readable PEM file of CA certificates ({e})"));
                return;
            }
        };
        let mut certificates = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            // Read as the TLS handshake will read it: a trust anchor parsed from the DER.
            let anchor = cert
                .map_err(|e| e.to_string())
                .and_then(|c| RootCertStore::empty().add(c).map_err(|e| e.to_string()));
            if let Err(e) = anchor {
                self.problem(
                    key,
                    shown,
                    format!(
                        "a PEM file of CA certificates (certificate {} does not read: {e})",
                        certificates + 1
                    ),
                );
                return;
            }
            certificates += 1;
        }
        if certificates == 0 {
            self.problem(
                key,
                shown,
                "a PEM file of CA certificates (\"-----BEGIN CERTIFICATE-----\" blocks); this one holds none",
            );
        }
    }

    fn mailbox(&mut self, mut raw: RawMailbox, data_dir: &Path) -> Mailbox {
        match raw.kind.as_deref().unwrap_or("maildir") {
            "maildir" => Mailbox::Maildir {
                path: raw
                    .path
                    .map(|p| self.path(&p))
                    .unwrap_or_else(|| data_dir.join("inbox")),
            },
            "imap" => {
                let poll_seconds = raw.poll_seconds.unwrap_or(60);
                if !(1..=3600).contains(&poll_seconds) {
                    self.problem("mailbox.poll_seconds", poll_seconds, "seconds from 1 to 3600");
                }
                let since = raw.since.as_deref().filter(|d| !d.trim().is_empty()).and_then(|d| {
                    let day = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok();
                    if day.is_none() {
                        self.problem("mailbox.since", d, "a date YYYY-MM-DD");
                    }
                    day
                });
                let fields = take_server_fields!(raw);
                let server = self.server("mailbox", fields, raw.allow_plain_remote.unwrap_or(false), true);
                Mailbox::Imap {
                    server,
                    folder: raw.folder.unwrap_or_else(|| "INBOX".into()),
                    idle: raw.idle.unwrap_or(true),
                    poll_seconds,
                    processed_folder: raw.processed_folder.filter(|f| !f.is_empty()),
                    since,
                }
            }
            other => {
                self.problem("mailbox.kind", other, "\"maildir\" or \"imap\"");
                Mailbox::Maildir {
                    path: data_dir.join("inbox"),
                }
            }
        }
    }

    fn smtp(&mut self, mut raw: RawSmtp, data_dir: &Path) -> Smtp {
        match raw.kind.as_deref().unwrap_or("file") {
            "file" => Smtp::File {
                path: raw
                    .path
                    .map(|p| self.path(&p))
                    .unwrap_or_else(|| data_dir.join("outbox")),
            },
            "smtp" => {
                let defaults = SmtpSessions::default();
                let connections = raw.connections.unwrap_or(defaults.connections);
                if !(1..=32).contains(&connections) {
                    self.problem("smtp.connections", connections, "sessions in parallel, from 1 to 32");
                }
                let messages_per_session = raw.messages_per_session.unwrap_or(defaults.messages_per_session);
                if !(1..=10_000).contains(&messages_per_session) {
                    self.problem(
                        "smtp.messages_per_session",
                        messages_per_session,
                        "messages per session, from 1 to 10000",
                    );
                }
                let fields = take_server_fields!(raw);
                Smtp::Server {
                    server: self.server("smtp", fields, raw.allow_plain_remote.unwrap_or(false), false),
                    sessions: SmtpSessions {
                        connections: connections.clamp(1, 32),
                        messages_per_session: messages_per_session.clamp(1, 10_000),
                    },
                }
            }
            other => {
                self.problem("smtp.kind", other, "\"file\" or \"smtp\"");
                Smtp::File {
                    path: data_dir.join("outbox"),
                }
            }
        }
    }

    fn calendar(&mut self, raw: RawCalendar) -> CalendarRules {
        let mut rules = CalendarRules::default();
        if let Some(tz) = raw.timezone {
            match tz.parse::<Tz>() {
                Ok(parsed) => rules.timezone = parsed,
                Err(_) => self.problem("calendar.timezone", &tz, "an IANA time zone such as \"Europe/Rome\""),
            }
        }
        if let Some(windows) = raw.windows {
            let mut parsed = Vec::new();
            for (i, text) in windows.iter().enumerate() {
                match parse_window(text) {
                    Some(w) => parsed.push(w),
                    None => self.problem(
                        format!("calendar.windows[{i}]"),
                        text,
                        "a time window \"HH:MM-HH:MM\" with the start before the end, e.g. \"08:00-13:00\"",
                    ),
                }
            }
            if parsed.is_empty() && !windows.is_empty() {
                // Already reported per entry.
            } else if parsed.is_empty() {
                self.problem("calendar.windows", &windows, "at least one service window");
            } else if parsed.windows(2).any(|pair| pair[1].start < pair[0].end) {
                self.problem(
                    "calendar.windows",
                    &windows,
                    "windows in order of time that do not overlap",
                );
            } else {
                rules.windows = parsed;
            }
        }
        if let Some(text) = raw.closed_day_start {
            match NaiveTime::parse_from_str(&text, "%H:%M") {
                Ok(t) => rules.closed_day_start = t,
                Err(_) => self.problem("calendar.closed_day_start", &text, "a time \"HH:MM\", e.g. \"09:00\""),
            }
        }
        if let Some(list) = raw.local_holidays {
            rules.local_holidays.clear();
            for (i, text) in list.iter().enumerate() {
                match parse_local_holiday(text) {
                    Some(h) => rules.local_holidays.push(h),
                    None => self.problem(
                        format!("calendar.local_holidays[{i}]"),
                        text,
                        "a day \"MM-DD\", optionally followed by its name, e.g. \"06-29 Santi Pietro e Paolo\"",
                    ),
                }
            }
        }
        if let Some(list) = raw.extra_closed_days {
            rules.extra_closed_days.clear();
            for (i, text) in list.iter().enumerate() {
                match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                    Ok(d) => rules.extra_closed_days.push(d),
                    Err(_) => self.problem(
                        format!("calendar.extra_closed_days[{i}]"),
                        text,
                        "a date \"YYYY-MM-DD\"",
                    ),
                }
            }
        }
        rules
    }

    fn minutes(&mut self, key: &str, value: Option<i64>, default: i64) -> i64 {
        match value {
            None => default,
            Some(m) if (1..=10_000).contains(&m) => m,
            Some(m) => {
                self.problem(key, m, "minutes of business time from 1 to 10000");
                default
            }
        }
    }

    fn sla(&mut self, raw: RawSla) -> SlaBudgets {
        let defaults = SlaBudgets::default();
        let take_in = raw.take_in_minutes.unwrap_or_default();
        let resolution = raw.resolution_minutes.unwrap_or_default();
        let mut budgets = defaults;
        budgets.take_in_minutes_portal = self.minutes(
            "sla.take_in_minutes.portal",
            take_in.portal,
            defaults.take_in_minutes_portal,
        );
        budgets.take_in_minutes_email = self.minutes(
            "sla.take_in_minutes.email",
            take_in.email,
            defaults.take_in_minutes_email,
        );
        budgets.take_in_minutes_phone = self.minutes(
            "sla.take_in_minutes.phone",
            take_in.phone,
            defaults.take_in_minutes_phone,
        );
        budgets.resolution_minutes_level1 = self.minutes(
            "sla.resolution_minutes.level1",
            resolution.level1,
            defaults.resolution_minutes_level1,
        );
        budgets.resolution_minutes_level2 = self.minutes(
            "sla.resolution_minutes.level2",
            resolution.level2,
            defaults.resolution_minutes_level2,
        );
        budgets
    }

    fn bounded(&mut self, key: &str, value: Option<i64>, default: i64, range: std::ops::RangeInclusive<i64>) -> i64 {
        match value {
            None => default,
            Some(v) if range.contains(&v) => v,
            Some(v) => {
                self.problem(key, v, format!("a number from {} to {}", range.start(), range.end()));
                default
            }
        }
    }

    fn intake(&mut self, raw: RawIntake) -> Intake {
        const MIB: i64 = 1024 * 1024;
        let max_message_bytes = self.bounded(
            "intake.max_message_bytes",
            raw.max_message_bytes,
            50 * MIB,
            1024..=1024 * MIB,
        );
        let max_attachment_bytes = self.bounded(
            "intake.max_attachment_bytes",
            raw.max_attachment_bytes,
            20 * MIB,
            0..=1024 * MIB,
        );
        let max_attachments = self.bounded("intake.max_attachments", raw.max_attachments, 20, 0..=1000);
        let ack_rate_per_hour = self.bounded("intake.ack_rate_per_hour", raw.ack_rate_per_hour, 5, 1..=10_000);
        let batch_size = self.bounded("intake.batch_size", raw.batch_size, 500, 1..=10_000);
        let batch_bytes = self.bounded("intake.batch_bytes", raw.batch_bytes, 32 * MIB, MIB..=4096 * MIB);
        let notice_text_bytes = self.bounded("intake.notice_text_bytes", raw.notice_text_bytes, 32 * 1024, 1024..=MIB);
        let notice_attachment_bytes = self.bounded(
            "intake.notice_attachment_bytes",
            raw.notice_attachment_bytes,
            10 * MIB,
            0..=100 * MIB,
        );
        let spam_days = self.bounded("intake.spam_days", raw.spam_days, 30, 1..=366);
        // The ranges above fit in the target types, so these conversions cannot fail.
        Intake {
            max_message_bytes: max_message_bytes as u64,
            max_attachment_bytes: max_attachment_bytes as u64,
            max_attachments: max_attachments as u32,
            ack_rate_per_hour: ack_rate_per_hour as u32,
            batch_size: batch_size as u32,
            batch_bytes: batch_bytes as u64,
            notice_text_bytes: notice_text_bytes as usize,
            notice_attachment_bytes: notice_attachment_bytes as u64,
            spam_days: spam_days as u32,
        }
    }

    fn security(&mut self, raw: RawSecurity) -> Security {
        let provider = match raw.provider.as_deref().map(str::trim).unwrap_or("generic") {
            "generic" => Provider::Generic,
            "google" => Provider::Google,
            "microsoft365" => Provider::Microsoft365,
            other => {
                self.problem(
                    "security.provider",
                    other,
                    "\"generic\", \"google\" or \"microsoft365\"",
                );
                Provider::Generic
            }
        };
        let mut trusted_authserv_id = raw.trusted_authserv_id.unwrap_or_default().trim().to_ascii_lowercase();
        if provider == Provider::Google && trusted_authserv_id.is_empty() {
            trusted_authserv_id = GOOGLE_AUTHSERV_ID.to_string();
        }
        Security {
            provider,
            trusted_authserv_id,
            allow_unauthenticated_operators: raw.allow_unauthenticated_operators.unwrap_or(false),
        }
    }

    fn http(&mut self, raw: RawHttp) -> Option<Http> {
        let listen = raw.listen.filter(|l| !l.trim().is_empty())?;
        let address = match listen.parse::<std::net::SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                self.problem("http.listen", &listen, "an address and port such as \"127.0.0.1:8080\"");
                return None;
            }
        };
        let public_url = raw.public_url.unwrap_or_else(|| format!("http://{address}"));
        if !(public_url.starts_with("https://") || public_url.starts_with("http://"))
            || public_url.contains(char::is_whitespace)
        {
            self.problem(
                "http.public_url",
                &public_url,
                "the public base URL, e.g. \"https://assistenza.comune.example.it\"",
            );
        }
        // The outer None: a problem already reported (both keys, an unreadable or empty file).
        let token = match (raw.api_token, raw.api_token_file) {
            (Some(_), Some(_)) => {
                self.problem(
                    "http.api_token_file",
                    "…",
                    "either http.api_token or http.api_token_file, not both",
                );
                None
            }
            (Some(t), None) => Some(Some(t)),
            (None, Some(file)) => self
                .secret_file("http.api_token_file", &file, "the token")
                .map(|text| Some(text.trim().to_string())),
            (None, None) => Some(None),
        };
        let token = match token {
            None => String::new(),
            Some(Some(t)) if t.len() >= 16 => t,
            Some(Some(_)) => {
                self.problem("http.api_token", "…", "a token of at least 16 characters");
                String::new()
            }
            Some(None) => {
                self.problems.push(Problem::new(
                    "http.api_token",
                    "",
                    "a bearer token (or api_token_file) when http.listen is set",
                ));
                String::new()
            }
        };
        let categories = raw.categories.unwrap_or_else(|| {
            [
                "Accesso (SPID, CIE)",
                "Firma digitale",
                "Caricamento dei file",
                "Pagamenti (pagoPA)",
                "Compilazione della pratica",
                "Altro",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        });
        if categories.is_empty()
            || categories
                .iter()
                .any(|c| c.trim().is_empty() || c.contains(['\r', '\n']))
        {
            self.problem(
                "http.categories",
                &categories,
                "a non-empty list of one-line category names",
            );
        }
        let max_body_bytes = self.bounded("http.max_body_bytes", raw.max_body_bytes, 25 << 20, 1024..=(1 << 30));
        let form_rate_per_hour = self.bounded("http.form_rate_per_hour", raw.form_rate_per_hour, 10, 1..=10_000);
        let max_connections = self.bounded("http.max_connections", raw.max_connections, 256, 1..=100_000);
        let header_timeout = self.bounded("http.header_timeout_seconds", raw.header_timeout_seconds, 10, 1..=600);
        let body_timeout = self.bounded("http.body_timeout_seconds", raw.body_timeout_seconds, 30, 1..=3600);
        Some(Http {
            listen: address,
            public_url: public_url.trim_end_matches('/').to_string(),
            api_token: Secret(token),
            categories,
            max_body_bytes: max_body_bytes as usize,
            form_rate_per_hour: form_rate_per_hour as u32,
            max_connections: max_connections as usize,
            header_timeout: std::time::Duration::from_secs(header_timeout as u64),
            body_timeout: std::time::Duration::from_secs(body_timeout as u64),
        })
    }

    fn operators(&mut self, raw: Vec<RawOperator>) -> Vec<Operator> {
        let mut out: Vec<Operator> = Vec::new();
        let deputies: Vec<Option<String>> = raw.iter().map(|o| o.deputy.clone()).collect();
        for (i, op) in raw.into_iter().enumerate() {
            let key = |k: &str| format!("operator[{i}].{k}");
            let name = op.name.unwrap_or_default();
            if name.trim().is_empty() || name.contains(['\r', '\n']) {
                self.problem(key("name"), &name, "the operator's full name on one line");
            }
            let email = op.email.unwrap_or_default();
            if !is_plain_address(&email) {
                self.problem(key("email"), &email, "the operator's e-mail address");
            } else if out.iter().any(|o| o.email.eq_ignore_ascii_case(&email)) {
                self.problem(key("email"), &email, "an address not used by another operator");
            }
            let level = match op.level {
                None => Level::First,
                Some(n) => Level::from_number(n).unwrap_or_else(|| {
                    self.problem(key("level"), n, "1 or 2");
                    Level::First
                }),
            };
            out.push(Operator {
                name: name.trim().to_string(),
                email: email.to_ascii_lowercase(),
                level,
                supervisor: op.supervisor.unwrap_or(false),
                away: op.away.unwrap_or(false),
                deputy: None,
            });
        }
        // Deputies are named by name or address, so they are resolved once everyone is known.
        for (i, deputy) in deputies.into_iter().enumerate() {
            let Some(wanted) = deputy else { continue };
            let key = wanted.trim().to_lowercase();
            let found = out
                .iter()
                .find(|o| o.email == key)
                .or_else(|| out.iter().find(|o| o.name.to_lowercase() == key))
                .map(|o| o.email.clone());
            match found {
                Some(address) if address != out[i].email => out[i].deputy = Some(address),
                _ => self.problem(
                    format!("operator[{i}].deputy"),
                    &wanted,
                    "the name or address of another configured operator",
                ),
            }
        }
        out
    }
}

/// `"08:00-13:00"` → a window with start < end.
fn parse_window(text: &str) -> Option<Window> {
    let (a, b) = text.split_once('-')?;
    let start = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
    let end = NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?;
    (start < end).then_some(Window { start, end })
}

/// `"06-29"` or `"06-29 Santi Pietro e Paolo"` → a local holiday (29 February is allowed).
fn parse_local_holiday(text: &str) -> Option<LocalHoliday> {
    let (day, name) = match text.split_once(' ') {
        Some((d, n)) => (d, n.trim()),
        None => (text, ""),
    };
    let (m, d) = day.split_once('-')?;
    if m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month: u32 = m.parse().ok()?;
    let day: u32 = d.parse().ok()?;
    // 2024 is a leap year, so every real month-day pair exists in it.
    NaiveDate::from_ymd_opt(2024, month, day)?;
    let name = if name.is_empty() {
        "Festa locale".to_string()
    } else {
        name.to_string()
    };
    Some(LocalHoliday { month, day, name })
}

/// A bare `local@domain` address: no display name, no spaces, no header-breaking characters.
pub fn is_plain_address(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    // One @ only: `a@b@c.example` is no mailbox a relay would accept.
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && text
            .chars()
            .all(|c| c.is_ascii_graphic() && !"<>()[]\\,;:\"".contains(c))
}

/// True for names and addresses that stay on this machine.
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

mod privacy;
pub use privacy::{Privacy, Retention, Survey};

#[cfg(test)]
mod tests;
