//! The command line: argument definitions (clap), dispatch, and the printing of results as
//! text or JSON. Exit codes follow sysexits.
//!
//! Owns argument parsing and output formatting only. Each subcommand loads the configuration,
//! opens what it needs and calls into the library; no business rule lives here.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::config::{Config, EMBEDDED_DEFAULTS, Origin};
pub use crate::exit::{self, Failure};
use crate::model::TicketId;
use crate::store::{self, Store, tickets};

mod calendar;
mod check;
mod import;
mod kb;
mod oauth2;
mod operator;
mod privacy;

/// Sportello: the e-mail help desk of CPortal.
#[derive(Debug, Parser)]
#[command(name = "sportello", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file. Without it, ./config.toml, or the embedded trial defaults when
    /// that does not exist; a file named here must exist (exit 78 otherwise).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Pretend the current time is this instant (RFC 3339), for tests and replays.
    #[arg(long, global = true, value_name = "RFC3339", value_parser = parse_instant)]
    pub now: Option<DateTime<Utc>>,
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented config.toml and the data folders (the embedded trial defaults).
    Init {
        /// Folder to initialise (default: the current folder).
        dir: Option<PathBuf>,
    },
    /// Validate the configuration, check that the data folder is usable by this user, and
    /// print the effective values (secrets masked).
    CheckConfig {
        /// Also log in to the IMAP and SMTP servers, as the daemon would, and say what worked
        /// (exit 78 when a login cannot work as configured, 75 when the server may be down).
        #[arg(long)]
        connect: bool,
    },
    /// Run the daemon until SIGINT or SIGTERM.
    Run {
        /// One pass over every source and the outbox, then exit.
        #[arg(long)]
        once: bool,
        /// Also take the unread mail received since this day (YYYY-MM-DD) that was in the IMAP
        /// folder before this data folder first read it; overrides `[mailbox] since`.
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
        since: Option<chrono::NaiveDate>,
        /// Work an IMAP folder although another Sportello data folder marked its mail (only
        /// when that data folder is retired for good).
        #[arg(long)]
        take_over: bool,
    },
    /// List tickets.
    Tickets {
        /// Only tickets not yet resolved.
        #[arg(long)]
        open: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one ticket.
    Ticket(TicketArgs),
    /// The SLA deadlines of one request: effective start, take-in due, resolution due.
    Sla(calendar::SlaArgs),
    /// The accounting report of a period (default: the last complete month).
    Report {
        /// First day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_day, requires = "to")]
        from: Option<chrono::NaiveDate>,
        /// Last day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_day, requires = "from")]
        to: Option<chrono::NaiveDate>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
        format: ReportFormat,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// With `--format csv`: the open-data table (monthly service levels and satisfaction,
        /// no personal data) of the period's whole months, for the transparency page.
        #[arg(long)]
        open_data: bool,
    },
    /// Write a backup of the data folder (a consistent snapshot of the database taken while
    /// the daemon runs, the attachments and the secret key, with checksums), or check one.
    Backup {
        /// Where to write the backup.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "verify",
            conflicts_with = "verify"
        )]
        out: Option<PathBuf>,
        /// Check this backup (every checksum, the database's integrity) instead.
        #[arg(long, value_name = "FILE")]
        verify: Option<PathBuf>,
    },
    /// Bring a previous system's mail in as history: tickets threaded as usual, no
    /// acknowledgment, no notice, no letter, left out of the service levels (marked imported).
    Import {
        /// An mbox file.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "maildir",
            conflicts_with = "maildir"
        )]
        mbox: Option<PathBuf>,
        /// A Maildir folder.
        #[arg(long, value_name = "DIR")]
        maildir: Option<PathBuf>,
        /// Close the imported tickets whose last message is older than this day (YYYY-MM-DD).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
        resolved_before: Option<chrono::NaiveDate>,
    },
    /// Rebuild a data folder from a backup: the folder (the configuration's, or --data-dir)
    /// must be missing or empty; the backup is verified first.
    Restore {
        /// The backup.
        file: PathBuf,
        /// The data folder to rebuild (default: the configuration's).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// The operators' absences: record one, end one, list who is away.
    #[command(subcommand)]
    Operator(operator::OperatorCommand),
    /// The knowledge base: search, curate, export the public FAQ, recurring topics.
    #[command(subcommand)]
    Kb(kb::KbCommand),
    /// The current service notice (open now? next opening; suspensions) for the portal.
    Notice {
        /// Output format.
        #[arg(long, value_enum, default_value_t = calendar::NoticeFormat::Text)]
        format: calendar::NoticeFormat,
    },
    /// The business calendar: holidays and working days.
    #[command(subcommand)]
    Calendar(calendar::CalendarCommand),
    /// Planned suspensions of the service.
    #[command(subcommand)]
    Suspension(calendar::SuspensionCommand),
    /// Open a phone ticket for a caller who left a number (as the `#nuovo #telefono` mail does).
    Phone {
        /// The number to call back.
        #[arg(long)]
        number: String,
        /// The caller's name.
        #[arg(long)]
        name: Option<String>,
        /// The caller's e-mail (they then get an acknowledgment).
        #[arg(long)]
        email: Option<String>,
        /// What the caller asked.
        #[arg(long)]
        summary: String,
        /// A subject (default: the summary's first line).
        #[arg(long, default_value = "")]
        subject: String,
    },
    /// Check an operator's real mail (saved as .eml, with all its headers) as intake would:
    /// print the verdict and the header that decided it. Exit 0 when its commands would be
    /// honoured, 1 when not. Use it before go-live on a mail each operator sends.
    AuthCheck {
        /// The saved message.
        file: PathBuf,
    },
    /// Take one message from a file or standard input (or every message of an mbox), as a
    /// mail transport agent piping mail would. Exit 0 when stored, 75 to make the MTA retry,
    /// 65 for a message that cannot be read at all (after quarantining it).
    Ingest {
        /// The message file, or - for standard input.
        #[arg(default_value = "-", conflicts_with = "mbox")]
        file: PathBuf,
        /// An mbox file holding many messages.
        #[arg(long, value_name = "FILE")]
        mbox: Option<PathBuf>,
    },
    /// Queue today's morning digests now, by hand (the daemon sends them at `[digest] at` on
    /// working days): once a day, never on a closed day; `--now` picks the day.
    Digest {
        /// Print the digests instead of queueing them (nothing is written).
        #[arg(long)]
        dry_run: bool,
        /// Queue them although the day's digests went out already.
        #[arg(long, conflicts_with = "dry_run")]
        again: bool,
    },
    /// One person's data on request: export it, or erase it (GDPR art. 15, 17).
    #[command(subcommand)]
    Privacy(privacy::PrivacyCommand),
    /// OAuth2 logins (`auth = "oauth2"` in [mailbox] or [smtp]).
    Oauth2 {
        /// What to do.
        #[command(subcommand)]
        action: Oauth2Action,
    },
}

/// `oauth2` subcommands.
#[derive(Debug, Subcommand)]
pub enum Oauth2Action {
    /// Fetch an access token from each configured token endpoint and log in to the IMAP and
    /// SMTP servers with it, printing each step (secrets masked). Exit 78 when only a change
    /// can fix what failed, 75 when the server may just be down.
    Test,
}

/// `ticket` subcommands.
#[derive(Debug, Args)]
pub struct TicketArgs {
    /// What to do with the ticket.
    #[command(subcommand)]
    pub action: TicketAction,
}

/// `ticket show`.
#[derive(Debug, Subcommand)]
pub enum TicketAction {
    /// Show a ticket with its messages and its full event history.
    Show {
        /// Ticket id, e.g. TCK-2026-00042.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Output formats of `sportello report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained page with charts.
    Html,
    /// `;`-separated, UTF-8 with BOM, for Italian spreadsheets.
    Csv,
    /// Every figure, for other tools.
    Json,
}

pub(crate) fn parse_day(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("{text:?} is not a date YYYY-MM-DD"))
}

pub(crate) fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 instant like 2026-03-09T10:15:00+01:00 ({e})"))
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    init_logging(cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => {
            eprintln!("sportello: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SPORTELLO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_wanted(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .with_writer(std::io::stderr);
    // A second init (tests calling main twice) is harmless: keep the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Colours only for a person at a terminal: never into a pipe, a file or journald (which
/// stored the escape codes), and never when `NO_COLOR` is set to anything but "" (no-color.org).
fn colour_wanted(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Loads the configuration, mapping problems to exit code 78.
/// The configuration `--config` names, or the implicit `config.toml`. Only the implicit file
/// may be absent (the trial defaults): a mistyped explicit path must never start a daemon
/// that honours unauthenticated commands.
pub fn config_of(explicit: Option<&Path>) -> Result<Config, Failure> {
    match explicit {
        Some(path) if !path.exists() => Err(Failure::new(
            exit::CONFIG,
            anyhow::anyhow!(
                "{}: no such configuration file (the embedded trial defaults apply only when --config is not given)",
                path.display()
            ),
        )),
        Some(path) => load_config(path),
        None => load_config(Path::new("config.toml")),
    }
}

/// Loads `path` (the embedded trial defaults when it does not exist), logging its warnings.
pub fn load_config(path: &Path) -> Result<Config, Failure> {
    let config = Config::load(path).map_err(|e| Failure::new(exit::CONFIG, anyhow::anyhow!("{e}")))?;
    if let Origin::EmbeddedDefaults(missing) = &config.origin {
        tracing::info!(
            "no configuration at {}: using the embedded trial defaults",
            missing.display()
        );
    }
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    Ok(config)
}

fn run(cli: Cli) -> Result<(), Failure> {
    let clock = match (cli.now, &cli.command) {
        (None, _) => Clock::System,
        (Some(t), Command::Run { once: false, .. }) => Clock::starting_at(t),
        (Some(t), _) => Clock::Fixed(t),
    };
    match cli.command {
        Command::Init { dir } => init(dir.as_deref().unwrap_or(Path::new("."))),
        Command::CheckConfig { connect } => check::check_config(&config_of(cli.config.as_deref())?, connect),
        Command::Run { once, since, take_over } => {
            let mut config = config_of(cli.config.as_deref())?;
            if let (Some(day), crate::config::Mailbox::Imap { since, .. }) = (since, &mut config.mailbox) {
                *since = Some(day);
            }
            crate::daemon::run_blocking(config, clock, crate::daemon::RunOptions { once, take_over })
        }
        Command::Tickets { open, json } => {
            let config = config_of(cli.config.as_deref())?;
            let store = Store::open(&config.database_path())?;
            let rows = tickets::list_tickets(store.conn(), open)?;
            let mut out = std::io::stdout().lock();
            if json {
                let list: Vec<Value> = rows.iter().map(ticket_json).collect();
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&list).map_err(anyhow::Error::from)?
                )
                .map_err(anyhow::Error::from)?;
            } else {
                for t in &rows {
                    writeln!(
                        out,
                        "{}  {:<8}  L{}  {:<6}  {:<24}  {}",
                        t.id,
                        t.status,
                        t.level.number(),
                        t.channel,
                        t.assignee.as_deref().unwrap_or("-"),
                        t.subject
                    )
                    .map_err(anyhow::Error::from)?;
                }
            }
            Ok(())
        }
        Command::Sla(args) => calendar::sla(&config_of(cli.config.as_deref())?, clock, &args),
        Command::Report {
            from,
            to,
            format,
            out,
            open_data,
        } => {
            let config = config_of(cli.config.as_deref())?;
            let store = Store::open(&config.database_path())?;
            let calendar = store::suspensions::calendar(store.conn(), &config.calendar)?;
            let now = clock.now();
            let period = match (from, to) {
                (Some(from), Some(to)) if from <= to => crate::report::Period { from, to },
                (Some(from), Some(to)) => {
                    return Err(Failure::new(
                        exit::USAGE,
                        anyhow::anyhow!("--to {to} is before --from {from}"),
                    ));
                }
                _ => crate::report::Period::last_month(now.with_timezone(&calendar.timezone()).date_naive()),
            };
            let report_of = |period| -> anyhow::Result<crate::report::Report> {
                let data = crate::report::gather(
                    store.conn(),
                    &calendar,
                    period,
                    now,
                    crate::report::operator_names(&config),
                )?;
                Ok(crate::report::compute(&data, &calendar, &config.sla))
            };
            let text = if open_data {
                if format != ReportFormat::Csv {
                    return Err(Failure::new(
                        exit::USAGE,
                        anyhow::anyhow!("--open-data is a CSV table: add --format csv"),
                    ));
                }
                let months = crate::report::open_data::whole_months(period).ok_or_else(|| {
                    Failure::new(
                        exit::USAGE,
                        anyhow::anyhow!(
                            "--open-data covers whole months: --from {} must be a month's first day and --to {} a month's last",
                            period.from,
                            period.to
                        ),
                    )
                })?;
                let reports = months.into_iter().map(report_of).collect::<anyhow::Result<Vec<_>>>()?;
                crate::report::open_data::render_csv(&reports)
            } else {
                let report = report_of(period)?;
                match format {
                    ReportFormat::Json => serde_json::to_string_pretty(&crate::report::render_json(&report, &calendar))
                        .map_err(anyhow::Error::from)?,
                    ReportFormat::Csv => crate::report::render_csv(&report, &calendar),
                    ReportFormat::Html => crate::report::render_html(
                        &report,
                        &calendar,
                        &crate::notify::templates::Templates::load(config.helpdesk.templates_dir.as_deref())?,
                        config.helpdesk.language,
                        &config.helpdesk.name,
                    )?,
                }
            };
            match out {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(())
        }
        Command::Backup { out, verify } => {
            let summary = match (out, verify) {
                (_, Some(file)) => {
                    let summary = crate::backup::verify(&file).map_err(|e| Failure::new(exit::DATAERR, e))?;
                    println!("{}: sound", file.display());
                    summary
                }
                (Some(out), None) => {
                    let config = config_of(cli.config.as_deref())?;
                    let summary = crate::backup::create(&config.helpdesk.data_dir, &out, clock.now())?;
                    println!("{}: written", out.display());
                    summary
                }
                (None, None) => {
                    return Err(Failure::new(
                        exit::USAGE,
                        anyhow::anyhow!("--out FILE or --verify FILE"),
                    ));
                }
            };
            println!(
                "{} files, {} bytes, database schema version {}",
                summary.files, summary.bytes, summary.schema
            );
            Ok(())
        }
        Command::Import {
            mbox,
            maildir,
            resolved_before,
        } => {
            let archive = match (&mbox, &maildir) {
                (Some(file), _) => import::Archive::Mbox(file),
                (None, Some(dir)) => import::Archive::Maildir(dir),
                (None, None) => {
                    return Err(Failure::new(
                        exit::USAGE,
                        anyhow::anyhow!("--mbox FILE or --maildir DIR"),
                    ));
                }
            };
            import::run(cli.config.as_deref(), clock, archive, resolved_before)
        }
        Command::Restore { file, data_dir } => {
            let data_dir = match data_dir {
                Some(dir) => dir,
                None => config_of(cli.config.as_deref())?.helpdesk.data_dir,
            };
            let summary = crate::backup::restore(&file, &data_dir).map_err(|e| Failure::new(exit::CANTCREAT, e))?;
            println!(
                "{} restored from {}: {} files, {} bytes; the database passes the integrity check",
                data_dir.display(),
                file.display(),
                summary.files,
                summary.bytes
            );
            Ok(())
        }
        Command::Operator(command) => operator::run(cli.config.as_deref(), clock, command),
        Command::Privacy(command) => privacy::run(cli.config.as_deref(), clock, command),
        Command::Kb(command) => kb::run(&config_of(cli.config.as_deref())?, clock, &command),
        Command::Notice { format } => calendar::notice(&config_of(cli.config.as_deref())?, clock, format),
        Command::Calendar(command) => calendar::calendar(&config_of(cli.config.as_deref())?, &command),
        Command::Suspension(command) => calendar::suspension(&config_of(cli.config.as_deref())?, clock, &command),
        Command::Phone {
            number,
            name,
            email,
            summary,
            subject,
        } => {
            let config = config_of(cli.config.as_deref())?;
            let usage = |m: &str| Failure::new(exit::USAGE, anyhow::anyhow!("{m}"));
            if email.as_deref().is_some_and(|e| !crate::config::is_plain_address(e)) {
                return Err(usage("--email must be a plain address like nome@example.it"));
            }
            if summary.trim().is_empty() {
                return Err(usage("--summary must say what the caller asked"));
            }
            let digits = number.chars().filter(char::is_ascii_digit).count();
            if !(6..=15).contains(&digits) || !number.chars().all(|c| c.is_ascii_digit() || " +-./()".contains(c)) {
                return Err(usage("--number must be a phone number (digits, spaces, + and - only)"));
            }
            crate::daemon::prepare_data_dir(&config)?;
            let mut store = Store::open(&config.database_path())?;
            let services = Services::load(&config)?;
            let calendar = store::suspensions::calendar(store.conn(), &config.calendar)?;
            let tx = store.write()?;
            let ctx = services.context(&config, &calendar, clock.now());
            let request = crate::workflow::PhoneRequest {
                number,
                name,
                email: email.map(|e| e.to_ascii_lowercase()),
                summary,
                subject,
            };
            let ticket = crate::workflow::open_phone_ticket(&tx, &ctx, "cli", &request)?;
            tx.commit()?;
            println!("{ticket}");
            Ok(())
        }
        Command::AuthCheck { file } => auth_check(&config_of(cli.config.as_deref())?, &file),
        Command::Ingest { file, mbox } => {
            let config = config_of(cli.config.as_deref())?;
            ingest_files(&config, clock, &file, mbox.as_deref())
        }
        Command::Ticket(TicketArgs {
            action: TicketAction::Show { id, json },
        }) => {
            let id: TicketId = id
                .parse()
                .map_err(|e: String| Failure::new(exit::USAGE, anyhow::anyhow!(e)))?;
            let config = config_of(cli.config.as_deref())?;
            let store = Store::open(&config.database_path())?;
            show_ticket(&store, id, json)
        }
        Command::Digest { dry_run, again } => digest(&config_of(cli.config.as_deref())?, clock, dry_run, again),
        Command::Oauth2 {
            action: Oauth2Action::Test,
        } => oauth2::test(&config_of(cli.config.as_deref())?),
    }
}

/// `sportello digest`: the day's digests queued by hand, or printed with `--dry-run`.
fn digest(config: &Config, clock: Clock, dry_run: bool, again: bool) -> Result<(), Failure> {
    use crate::workflow::digest::{self, Outcome};
    crate::daemon::prepare_data_dir(config)?;
    let mut store = Store::open(&config.database_path())?;
    let services = Services::load(config)?;
    let calendar = store::suspensions::calendar(store.conn(), &config.calendar)?;
    let tx = store.write()?;
    let ctx = services.context(config, &calendar, clock.now());
    let mut out = std::io::stdout().lock();
    if dry_run {
        let (day, today) = digest::day_state(&tx, &ctx)?;
        match today {
            crate::desk::digest::Today::Closed(reason) => {
                writeln!(out, "no digest on {day}: {}", reason.label_en()).map_err(anyhow::Error::from)?;
            }
            _ => {
                for d in digest::compose(&tx, &ctx, day)? {
                    writeln!(
                        out,
                        "To: {} <{}>\nSubject: {}\n\n{}\n",
                        d.operator.name, d.operator.email, d.mail.subject, d.mail.body
                    )
                    .map_err(anyhow::Error::from)?;
                }
            }
        }
        // Nothing is written: the transaction rolls back when dropped.
        return Ok(());
    }
    let outcome = digest::send(&tx, &ctx, chrono::NaiveTime::MIN, again)?;
    tx.commit()?;
    let line = match outcome {
        Outcome::Closed(day, reason) => format!("no digest on {day}: {}", reason.label_en()),
        Outcome::AlreadySent(day) => {
            format!("the digests of {day} were queued already (--again queues them once more)")
        }
        Outcome::NotYet(day) => format!("the digests of {day} are not due yet"),
        Outcome::Queued(day, count) => format!("{count} digests of {day} queued"),
    };
    writeln!(out, "{line}").map_err(anyhow::Error::from)?;
    Ok(())
}

/// What commands that change tickets need besides the store: templates, the notification
/// key and the help desk's identity.
pub(crate) struct Services {
    templates: crate::notify::templates::Templates,
    key: crate::auth::MacKey,
    sender: crate::notify::Sender,
}

impl Services {
    /// Loads the templates (with their override folder) and the key (created when missing).
    pub(crate) fn load(config: &Config) -> Result<Services, Failure> {
        Ok(Services {
            templates: crate::notify::templates::Templates::load(config.helpdesk.templates_dir.as_deref())?,
            key: crate::auth::load_or_create_key(&config.helpdesk.data_dir)?,
            sender: crate::notify::Sender::of(config),
        })
    }

    /// A workflow context at `now`.
    pub(crate) fn context<'a>(
        &'a self,
        config: &'a Config,
        calendar: &'a crate::sla::Calendar,
        now: DateTime<Utc>,
    ) -> crate::workflow::Context<'a> {
        crate::workflow::Context {
            config,
            calendar,
            templates: &self.templates,
            sender: &self.sender,
            key: &self.key,
            now,
            quiet: false,
        }
    }
}

/// `sportello ingest`: one message or an mbox, applied like mail from the mailbox.
fn ingest_files(config: &Config, clock: Clock, file: &Path, mbox: Option<&Path>) -> Result<(), Failure> {
    use std::io::Read;
    let now = clock.now();
    let messages: Vec<crate::ingest::Fetched> = match mbox {
        Some(path) => {
            let reader = std::fs::File::open(path)
                .with_context(|| format!("opening {}", path.display()))
                .map_err(|e| Failure::new(exit::DATAERR, e))?;
            mail_parser::mailbox::mbox::MessageIterator::new(std::io::BufReader::new(reader))
                .enumerate()
                .map(|(i, m)| {
                    let raw = m.map(|m| m.unwrap_contents()).unwrap_or_default();
                    crate::ingest::Fetched {
                        size: raw.len() as u64,
                        raw,
                        received_at: now,
                        source: format!("mbox:{}#{}", path.display(), i + 1),
                    }
                })
                .collect()
        }
        None => {
            let mut raw = Vec::new();
            let limit = config.intake.max_message_bytes + 1;
            let read = if file == Path::new("-") {
                std::io::stdin().lock().take(limit).read_to_end(&mut raw)
            } else {
                std::fs::File::open(file).and_then(|f| f.take(limit).read_to_end(&mut raw))
            };
            read.with_context(|| format!("reading {}", file.display()))
                .map_err(|e| Failure::new(exit::TEMPFAIL, e))?;
            vec![crate::ingest::Fetched {
                size: raw.len() as u64,
                raw,
                received_at: now,
                source: format!("cli:{}", file.display()),
            }]
        }
    };
    crate::daemon::prepare_data_dir(config)?;
    let mut store = Store::open(&config.database_path())?;
    let templates = crate::notify::templates::Templates::load(config.helpdesk.templates_dir.as_deref())?;
    let calendar = store::suspensions::calendar(store.conn(), &config.calendar)?;
    let key = crate::auth::load_or_create_key(&config.helpdesk.data_dir)?;
    let intake = crate::intake::Intake::new(config, &calendar, &templates, key);
    let mut unreadable = 0;
    let mut messages = messages.into_iter();
    loop {
        // Parsed a batch at a time: the parsed text is not held for the whole mbox at once.
        let batch: Vec<_> = messages.by_ref().take(config.intake.batch_size as usize).collect();
        if batch.is_empty() {
            break;
        }
        let chunk = crate::ingest::Prepared::all(batch, config.intake.max_message_bytes);
        let outcomes = crate::intake::apply_batch(&mut store, &intake, &chunk, None, now)?;
        for (message, outcome) in chunk.iter().zip(&outcomes) {
            println!("{}\t{}", message.fetched.source, describe(outcome));
            if matches!(outcome, crate::intake::Outcome::Quarantined(_)) {
                unreadable += 1;
            }
        }
    }
    if unreadable > 0 {
        return Err(Failure::new(
            exit::DATAERR,
            anyhow::anyhow!("{unreadable} message(s) quarantined"),
        ));
    }
    Ok(())
}

fn describe(outcome: &crate::intake::Outcome) -> String {
    use crate::intake::Outcome;
    match outcome {
        Outcome::Duplicate => "duplicate (already applied)".into(),
        Outcome::NewTicket(t) => format!("new ticket {t}"),
        Outcome::AddedTo(t) => format!("added to {t}"),
        Outcome::Operator(Some(t)) => format!("operator mail about {t}"),
        Outcome::Operator(None) => "operator mail".into(),
        Outcome::Flagged(t) => format!("names {t} but the sender is not a participant: stored and flagged"),
        Outcome::Bounce(n) => format!("bounce: recipients marked undeliverable on {n} ticket(s)"),
        Outcome::Receipt(Some(t)) => format!("receipt recorded on {t}"),
        Outcome::Receipt(None) => "receipt naming no ticket of ours: stored, nothing else".into(),
        Outcome::Ignored(why) => format!("stored, not answered ({why})"),
        Outcome::Quarantined(e) => format!("quarantined: {e}"),
        Outcome::Spam => "quarantined as spam: the sender's ticket was closed with #spam".into(),
    }
}

fn init(dir: &Path) -> Result<(), Failure> {
    let config_path = dir.join("config.toml");
    if config_path.exists() {
        return Err(Failure::new(
            exit::CONFIG,
            anyhow::anyhow!("{} already exists: not overwriting it", config_path.display()),
        ));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(&config_path, EMBEDDED_DEFAULTS).with_context(|| format!("writing {}", config_path.display()))?;
    let config = load_config(&config_path)?;
    crate::daemon::prepare_data_dir(&config)?;
    println!(
        "wrote {} and the data folder {}",
        config_path.display(),
        config.helpdesk.data_dir.display()
    );
    Ok(())
}

/// The JSON of one ticket in `tickets --json`.
fn ticket_json(t: &tickets::TicketRow) -> Value {
    json!({
        "id": t.id.to_string(),
        "subject": t.subject,
        "status": t.status.as_str(),
        "level": t.level.number(),
        "channel": t.channel.as_str(),
        "kind": t.kind.as_str(),
        "requester": t.requester_email,
        "pratica": t.pratica,
        "assignee": t.assignee,
        "reopened": t.reopened,
        "messages": t.messages,
        "created_at": store::ts(t.created_at),
    })
}

fn show_ticket(store: &Store, id: TicketId, as_json: bool) -> Result<(), Failure> {
    let ticket = tickets::find_ticket(store.conn(), id)?
        .ok_or_else(|| Failure::new(exit::DATAERR, anyhow::anyhow!("no ticket {id}")))?;
    let events = tickets::ticket_events(store.conn(), id)?;
    let messages = tickets::ticket_messages(store.conn(), id)?;
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| Failure::from(anyhow::Error::from(e));
    if as_json {
        let mut value = ticket_json(&ticket);
        value["events"] = events
            .iter()
            .map(|e| json!({"time": store::ts(e.at), "actor": e.actor, "action": e.action, "detail": e.detail}))
            .collect();
        value["messages"] = messages
            .iter()
            .map(|m| {
                json!({"time": store::ts(m.at), "direction": m.direction, "from": m.from,
                       "to": m.to, "subject": m.subject, "text": m.text})
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&value).map_err(anyhow::Error::from)?
        )
        .map_err(io)?;
        return Ok(());
    }
    writeln!(out, "{}  {}", ticket.id, ticket.subject).map_err(io)?;
    writeln!(
        out,
        "status {}  level {}  channel {}  kind {}  reopened {}",
        ticket.status,
        ticket.level.number(),
        ticket.channel,
        ticket.kind,
        ticket.reopened
    )
    .map_err(io)?;
    writeln!(
        out,
        "requester {}  assignee {}",
        ticket
            .requester_email
            .as_deref()
            .or(ticket.requester_phone.as_deref())
            .unwrap_or("-"),
        ticket.assignee.as_deref().unwrap_or("-")
    )
    .map_err(io)?;
    writeln!(out, "\nevents:").map_err(io)?;
    for e in &events {
        writeln!(
            out,
            "  {}  {:<28} {:<14} {}",
            store::ts(e.at),
            e.actor,
            e.action,
            e.detail
        )
        .map_err(io)?;
    }
    writeln!(out, "\nmessages:").map_err(io)?;
    for m in &messages {
        writeln!(
            out,
            "  {} {} {}  {}",
            store::ts(m.at),
            m.direction,
            m.from.as_deref().unwrap_or("-"),
            m.subject
        )
        .map_err(io)?;
        for line in m.text.lines() {
            writeln!(out, "      {line}").map_err(io)?;
        }
    }
    Ok(())
}

/// `sportello auth-check FILE`: the authentication verdict on one saved operator mail.
fn auth_check(config: &Config, file: &Path) -> Result<(), Failure> {
    let raw = std::fs::read(file)
        .with_context(|| format!("reading {}", file.display()))
        .map_err(|e| Failure::new(exit::NOINPUT, e))?;
    let mail = crate::ingest::parse::parse_mail(&raw, config.intake.max_message_bytes)
        .map_err(|e| Failure::new(exit::DATAERR, anyhow::anyhow!("{}: {e}", file.display())))?;
    let from = mail.from.as_ref().map(|p| p.address.as_str());
    let security = &config.security;
    let assessment = crate::auth::assess(from, &mail.headers, security);
    let operator = from.and_then(|f| config.operator(f));
    println!("From:       {}", from.unwrap_or("(none)"));
    match operator {
        Some(op) => println!("Operator:   {} (level {})", op.name, op.level.number()),
        None => println!("Operator:   none configured with this address: its commands are never honoured"),
    }
    let provider = security.provider.name();
    match security.provider {
        crate::config::Provider::Microsoft365 if security.trusted_authserv_id.is_empty() => {
            println!("Provider:   {provider}")
        }
        _ => println!(
            "Provider:   {provider} (authserv-id {:?})",
            security.trusted_authserv_id
        ),
    }
    match &assessment.verdict {
        crate::auth::Verdict::Pass(method) => println!("Verdict:    authenticated ({method})"),
        crate::auth::Verdict::Unchecked => {
            println!("Verdict:    NOT CHECKED: allow_unauthenticated_operators = true (local trials only)")
        }
        crate::auth::Verdict::Fail(why) => println!("Verdict:    NOT authenticated: {why}"),
    }
    match &assessment.decided_by {
        Some(header) => println!("Decided by: {}", crate::ingest::parse::one_line(header)),
        None => println!("Decided by: no header (see the verdict)"),
    }
    if assessment.verdict.allows() && operator.is_some() {
        return Ok(());
    }
    if !assessment.verdict.allows() {
        println!("{}", auth_hint(security.provider));
    }
    Err(Failure::new(
        exit::NOT_AUTHENTICATED,
        anyhow::anyhow!("commands in this mail would not be honoured"),
    ))
}

/// What to look at when a genuine operator mail fails the check.
fn auth_hint(provider: crate::config::Provider) -> &'static str {
    match provider {
        crate::config::Provider::Generic => {
            "Hint:       open the mail's headers: the topmost Authentication-Results is your MX's; its first \
             word is the authserv-id to set as [security] trusted_authserv_id, and it must show dmarc=pass \
             (or dkim/spf pass) for the operator's domain."
        }
        crate::config::Provider::Google => {
            "Hint:       Gmail writes Authentication-Results: mx.google.com; the operator's domain needs DKIM \
             signing and a DMARC record so that it shows dmarc=pass."
        }
        crate::config::Provider::Microsoft365 => {
            "Hint:       mail from the tenant carries X-MS-Exchange-Organization-AuthAs: Internal; mail from \
             outside needs dmarc=pass and compauth=pass in Exchange's Authentication-Results. Save the mail \
             from the help desk's mailbox (not the sender's Sent folder): only delivered mail has these headers."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::colour_wanted;
    use std::ffi::OsStr;

    #[test]
    fn colours_only_at_a_terminal_and_never_with_no_color() {
        assert!(colour_wanted(true, None));
        assert!(!colour_wanted(false, None), "a pipe, a file, journald");
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        assert!(colour_wanted(true, Some(OsStr::new(""))), "an empty NO_COLOR is unset");
    }
}
