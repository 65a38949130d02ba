//! `sportello sla`, `calendar …` and `suspension …`: the business calendar from the command
//! line. Output formatting only; the arithmetic is `crate::sla`.

use std::io::Write;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{Failure, exit, parse_instant};
use crate::clock::Clock;
use crate::config::Config;
use crate::model::{Channel, Level};
use crate::sla::{Calendar, Suspension, check_new_suspension, resolution_due, take_in_due};
use crate::store::{Store, suspensions};

/// `sportello sla`: the deadlines of one request, or `sla status` for every open ticket.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SlaArgs {
    /// `status`: every open ticket against its deadline.
    #[command(subcommand)]
    pub command: Option<SlaCommand>,
    /// When the request was received (RFC 3339).
    #[arg(long, value_parser = parse_instant, required = true)]
    pub received: Option<DateTime<Utc>>,
    /// The channel it came through.
    #[arg(long, value_parser = parse_channel, required = true)]
    pub channel: Option<Channel>,
    /// When it was taken in (RFC 3339): adds the resolution due time.
    #[arg(long, value_parser = parse_instant)]
    pub taken: Option<DateTime<Utc>>,
    /// Support level for the resolution budget.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub level: u8,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `sportello sla status`.
#[derive(Debug, Subcommand)]
pub enum SlaCommand {
    /// Every open ticket with its due time, the business time left and its state
    /// (ok, at_risk, breached), most urgent first.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `sportello calendar …`.
#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// The closed days of a year other than plain weekends: national, local, extra, suspended.
    Holidays {
        /// The year.
        #[arg(long)]
        year: i32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The working days between two dates (inclusive), suspensions included.
    WorkingDays {
        /// First day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        /// Last day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `sportello suspension …`.
#[derive(Debug, Subcommand)]
pub enum SuspensionCommand {
    /// Plan a suspension (at most 8 working days a year, at least 5 days ahead, no overlap).
    Add {
        /// First suspended day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        from: NaiveDate,
        /// Last suspended day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        to: NaiveDate,
        /// Why (shown to users), e.g. "ferie estive".
        #[arg(long)]
        reason: String,
    },
    /// List the planned suspensions.
    List {
        /// Include cancelled ones.
        #[arg(long)]
        all: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a planned suspension.
    Cancel {
        /// Its id, from `suspension list`.
        id: i64,
    },
}

fn parse_channel(text: &str) -> Result<Channel, String> {
    text.parse()
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("{text:?} is not a date YYYY-MM-DD"))
}

fn out() -> impl Write {
    std::io::stdout().lock()
}

fn print(text: impl std::fmt::Display) -> Result<(), Failure> {
    writeln!(out(), "{text}")
        .context("writing to standard output")
        .map_err(Failure::from)
}

fn local(calendar: &Calendar, t: DateTime<Utc>) -> String {
    t.with_timezone(&calendar.timezone())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn open_calendar(config: &Config) -> Result<(Store, Calendar), Failure> {
    let store = Store::open(&config.database_path())?;
    let calendar = suspensions::calendar(store.conn(), &config.calendar)?;
    Ok((store, calendar))
}

/// `sportello sla`: the deadlines of one request.
pub fn sla(config: &Config, clock: Clock, args: &SlaArgs) -> Result<(), Failure> {
    if let Some(SlaCommand::Status { json }) = &args.command {
        return sla_status(config, clock, *json);
    }
    let (Some(received), Some(channel)) = (args.received, args.channel) else {
        return Err(Failure::new(
            exit::USAGE,
            anyhow::anyhow!("sla needs --received and --channel (or: sla status)"),
        ));
    };
    let args = ResolvedSlaArgs {
        received,
        channel,
        taken: args.taken,
        level: args.level,
        json: args.json,
    };
    let args = &args;
    let (_store, calendar) = open_calendar(config)?;
    let (effective_start, take_in) = take_in_due(&calendar, &config.sla, args.channel, args.received);
    let level = if args.level == 2 { Level::Second } else { Level::First };
    let resolution = args
        .taken
        .map(|taken| resolution_due(&calendar, &config.sla, level, taken));
    if args.json {
        let mut value = json!({
            "received": local(&calendar, args.received),
            "channel": args.channel.as_str(),
            "effective_start": local(&calendar, effective_start),
            "take_in_due": local(&calendar, take_in),
            "take_in_minutes": config.sla.take_in_minutes(args.channel),
        });
        if let (Some(taken), Some(due)) = (args.taken, resolution) {
            value["taken"] = json!(local(&calendar, taken));
            value["level"] = json!(level.number());
            value["resolution_due"] = json!(local(&calendar, due));
            value["resolution_minutes"] = json!(config.sla.resolution_minutes(level));
        }
        return print(serde_json::to_string_pretty(&value).map_err(anyhow::Error::from)?);
    }
    let mut text = format!(
        "received         {}\neffective start  {}{}\ntake-in due      {}  ({} business minutes, {} channel)\n",
        local(&calendar, args.received),
        local(&calendar, effective_start),
        if effective_start != args.received
            && !calendar.is_working_day(args.received.with_timezone(&calendar.timezone()).date_naive())
        {
            "  (received on a closed day: counts from the next working day's start)"
        } else {
            ""
        },
        local(&calendar, take_in),
        config.sla.take_in_minutes(args.channel),
        args.channel,
    );
    let mut span_end = take_in;
    if let (Some(taken), Some(due)) = (args.taken, resolution) {
        text.push_str(&format!(
            "taken in         {}\nresolution due   {}  ({} business minutes, level {})\n",
            local(&calendar, taken),
            local(&calendar, due),
            config.sla.resolution_minutes(level),
            level.number()
        ));
        span_end = span_end.max(due);
    }
    let skipped = calendar.skipped_days(args.received.min(effective_start), span_end);
    if !skipped.is_empty() {
        text.push_str("closed days skipped:\n");
        for (day, reason) in skipped {
            text.push_str(&format!("  {day}  {reason}\n"));
        }
    }
    print(text.trim_end())
}

/// `sla` arguments once the subcommand is ruled out.
struct ResolvedSlaArgs {
    received: DateTime<Utc>,
    channel: Channel,
    taken: Option<DateTime<Utc>>,
    level: u8,
    json: bool,
}

fn business(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let minutes = seconds.abs() / 60;
    format!("{sign}{}h{:02}", minutes / 60, minutes % 60)
}

/// `sportello sla status`.
fn sla_status(config: &Config, clock: Clock, as_json: bool) -> Result<(), Failure> {
    let (store, calendar) = open_calendar(config)?;
    let now = clock.now();
    let standings = crate::monitor::open_standings(store.conn(), &calendar, &config.sla, now, config.sla_warn_percent)?;
    if as_json {
        let list: Vec<Value> = standings
            .iter()
            .map(|s| {
                json!({
                    "id": s.ticket.to_string(),
                    "subject": s.subject,
                    "channel": s.channel.as_str(),
                    "level": s.level.number(),
                    "assignee": s.assignee,
                    "phase": s.phase.as_str(),
                    "started": local(&calendar, s.started),
                    "due": local(&calendar, s.due),
                    "elapsed_minutes": s.assessment.elapsed_seconds / 60,
                    "left_minutes": s.assessment.left_seconds / 60,
                    "state": s.assessment.state.as_str(),
                })
            })
            .collect();
        return print(serde_json::to_string_pretty(&list).map_err(anyhow::Error::from)?);
    }
    if standings.is_empty() {
        return print("no open tickets");
    }
    let lines: Vec<String> = standings
        .iter()
        .map(|s| {
            format!(
                "{}  {:<8}  {:<10}  due {}  left {:>7}  {:<24}  {}",
                s.ticket,
                s.assessment.state.as_str(),
                s.phase.as_str(),
                local(&calendar, s.due),
                business(s.assessment.left_seconds),
                s.assignee.as_deref().unwrap_or("-"),
                s.subject
            )
        })
        .collect();
    print(lines.join("\n"))
}

/// Output formats of `sportello notice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NoticeFormat {
    /// Plain text.
    Text,
    /// JSON for the portal.
    Json,
    /// An accessible HTML fragment to embed.
    Html,
}

/// `sportello notice`: the current service notice.
pub fn notice(config: &Config, clock: Clock, format: NoticeFormat) -> Result<(), Failure> {
    let (_store, calendar) = open_calendar(config)?;
    let now = clock.now();
    let language = config.helpdesk.language;
    let n = crate::notify::service_notice(&calendar, now, language);
    let it = language == crate::config::Language::It;
    match format {
        NoticeFormat::Json => {
            let suspensions: Vec<Value> = n
                .suspensions
                .iter()
                .map(|(from, to, reason, current)| {
                    json!({"from": from.to_string(), "to": to.to_string(), "reason": reason, "current": current})
                })
                .collect();
            print(
                serde_json::to_string_pretty(&json!({
                    "open_now": n.open_now,
                    "next_opening": local(&calendar, n.next_opening),
                    "hours": n.hours,
                    "suspensions": suspensions,
                    "message": n.message,
                }))
                .map_err(anyhow::Error::from)?,
            )
        }
        NoticeFormat::Text => {
            let state = match (it, n.open_now) {
                (true, true) => "Il servizio di assistenza è aperto ora.".to_string(),
                (true, false) => format!(
                    "Il servizio di assistenza è chiuso; riapre {}.",
                    crate::notify::format_local(n.next_opening, calendar.timezone(), language)
                ),
                (false, true) => "The help desk is open now.".to_string(),
                (false, false) => format!(
                    "The help desk is closed; it opens again {}.",
                    crate::notify::format_local(n.next_opening, calendar.timezone(), language)
                ),
            };
            let hours = if it {
                format!("Orari: {}.", n.hours)
            } else {
                format!("Hours: {}.", n.hours)
            };
            let mut text = format!("{state}\n{hours}");
            if !n.message.is_empty() {
                text.push('\n');
                text.push_str(&n.message);
            }
            print(text)
        }
        NoticeFormat::Html => {
            let templates = crate::notify::templates::Templates::load(config.helpdesk.templates_dir.as_deref())?;
            let html = templates.page(
                language,
                "notice",
                minijinja::context! {
                    open_now => n.open_now,
                    next_opening => crate::notify::format_local(n.next_opening, calendar.timezone(), language),
                    hours => n.hours.as_str(),
                    message => n.message.as_str(),
                },
            )?;
            print(html)
        }
    }
}

/// `sportello calendar …`.
pub fn calendar(config: &Config, command: &CalendarCommand) -> Result<(), Failure> {
    let (_store, calendar) = open_calendar(config)?;
    match command {
        CalendarCommand::Holidays { year, json } => {
            let holidays = calendar.holidays(*year);
            if *json {
                let list: Vec<Value> = holidays
                    .iter()
                    .map(|h| {
                        json!({"date": h.date.to_string(), "name": h.name, "kind": h.kind.label_en().to_lowercase(),
                               "on_weekend": h.on_weekend})
                    })
                    .collect();
                return print(serde_json::to_string_pretty(&list).map_err(anyhow::Error::from)?);
            }
            let lines: Vec<String> = holidays
                .iter()
                .map(|h| {
                    let weekend = if h.on_weekend { "  (on a weekend)" } else { "" };
                    format!(
                        "{}  {:<10}  {}{weekend}",
                        h.date,
                        h.kind.label_en().to_lowercase(),
                        h.name
                    )
                })
                .collect();
            print(lines.join("\n"))
        }
        CalendarCommand::WorkingDays { from, to, json } => {
            if to < from {
                return Err(Failure::new(
                    exit::USAGE,
                    anyhow::anyhow!("--to {to} is before --from {from}"),
                ));
            }
            let days = calendar.working_days(*from, *to);
            if *json {
                let list: Vec<String> = days.iter().map(NaiveDate::to_string).collect();
                return print(
                    serde_json::to_string_pretty(&json!({"from": from.to_string(), "to": to.to_string(),
                                                         "count": days.len(), "days": list}))
                    .map_err(anyhow::Error::from)?,
                );
            }
            let mut text = format!("{} working days from {from} to {to}\n", days.len());
            for day in &days {
                text.push_str(&format!("  {day} {}\n", day.format("%a")));
            }
            print(text.trim_end())
        }
    }
}

/// `sportello suspension …`.
pub fn suspension(config: &Config, clock: Clock, command: &SuspensionCommand) -> Result<(), Failure> {
    let (mut store, calendar) = open_calendar(config)?;
    let now = clock.now();
    match command {
        SuspensionCommand::Add { from, to, reason } => {
            if reason.trim().is_empty() || reason.contains(['\r', '\n']) {
                return Err(Failure::new(
                    exit::USAGE,
                    anyhow::anyhow!("--reason must be one non-empty line"),
                ));
            }
            let new = Suspension {
                from: *from,
                to: *to,
                reason: reason.trim().to_string(),
            };
            let tx = store.write()?;
            // Read the existing ones inside the write transaction: two admins adding at once
            // cannot both pass the quota check.
            let existing: Vec<Suspension> = suspensions::list_suspensions(&tx, false)?
                .into_iter()
                .map(|r| r.suspension)
                .collect();
            let today = now.with_timezone(&calendar.timezone()).date_naive();
            let rules_only = Calendar::new(config.calendar.clone(), Vec::new());
            let cost = check_new_suspension(&rules_only, &existing, &new, today)
                .map_err(|e| Failure::new(exit::DATAERR, anyhow::anyhow!("{e}")))?;
            let id = suspensions::insert_suspension(&tx, &new, now)?;
            // Due times move with the calendar, and requesters with open tickets are told once.
            let updated = suspensions::calendar(&tx, &config.calendar)?;
            let recomputed = crate::monitor::recompute_cycles(&tx, &updated, &config.sla)?;
            let services = super::Services::load(config)?;
            let told = crate::workflow::announce_suspension(&tx, &services.context(config, &updated, now), id)?;
            tx.commit()?;
            let mut text = format!(
                "suspension {id} added: {from} to {to} ({}); {told} requester(s) with open tickets notified, \
                 {recomputed} SLA cycle(s) recomputed",
                new.reason
            );
            for year in &cost.per_year {
                text.push_str(&format!(
                    "\n  {}: {} working day(s), {} of {} used in the year",
                    year.year,
                    year.working_days,
                    year.already_used + year.working_days,
                    year.limit
                ));
            }
            print(text)
        }
        SuspensionCommand::List { all, json } => {
            let rows = suspensions::list_suspensions(store.conn(), *all)?;
            if *json {
                let list: Vec<Value> = rows
                    .iter()
                    .map(|r| {
                        json!({
                            "id": r.id,
                            "from": r.suspension.from.to_string(),
                            "to": r.suspension.to.to_string(),
                            "reason": r.suspension.reason,
                            "working_days": Calendar::new(config.calendar.clone(), Vec::new())
                                .working_days(r.suspension.from, r.suspension.to).len(),
                            "created_at": crate::store::ts(r.created_at),
                            "announced_at": r.announced_at.map(crate::store::ts),
                            "cancelled_at": r.cancelled_at.map(crate::store::ts),
                        })
                    })
                    .collect();
                return print(serde_json::to_string_pretty(&list).map_err(anyhow::Error::from)?);
            }
            if rows.is_empty() {
                return print("no suspensions planned");
            }
            let lines: Vec<String> = rows
                .iter()
                .map(|r| {
                    let state = match (r.cancelled_at, r.announced_at) {
                        (Some(_), _) => "cancelled",
                        (None, Some(_)) => "announced",
                        (None, None) => "planned",
                    };
                    format!(
                        "{:>4}  {} to {}  {:<9}  {}",
                        r.id, r.suspension.from, r.suspension.to, state, r.suspension.reason
                    )
                })
                .collect();
            print(lines.join("\n"))
        }
        SuspensionCommand::Cancel { id } => {
            let tx = store.write()?;
            if suspensions::cancel_suspension(&tx, *id, now)? {
                let updated = suspensions::calendar(&tx, &config.calendar)?;
                let recomputed = crate::monitor::recompute_cycles(&tx, &updated, &config.sla)?;
                tx.commit()?;
                print(format!(
                    "suspension {id} cancelled; {recomputed} SLA cycle(s) recomputed"
                ))
            } else {
                Err(Failure::new(
                    exit::DATAERR,
                    anyhow::anyhow!("no active suspension with id {id}"),
                ))
            }
        }
    }
}
