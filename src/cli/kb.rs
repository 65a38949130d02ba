//! `sportello kb …`: the knowledge base from the command line. Output only; the work is in
//! `crate::kb`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use chrono::{NaiveDate, TimeDelta};
use clap::Subcommand;
use serde_json::{Value, json};

use super::{Failure, exit, parse_day};
use crate::clock::Clock;
use crate::config::Config;
use crate::store::{Store, suspensions};

/// `sportello kb …`.
#[derive(Debug, Subcommand)]
pub enum KbCommand {
    /// Search the knowledge base.
    Search {
        /// What to look for (any Italian wording).
        query: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// How many results.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Analyse again the entries indexed by an older version (after an upgrade; resolutions
    /// also do it a few entries at a time).
    Reindex,
    /// Change an entry: its title, its solution, whether it is a reviewed (public) article.
    Edit {
        /// The entry id (the number of KB-N).
        id: i64,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        /// New solution text.
        #[arg(long)]
        solution: Option<String>,
        /// Reviewed article (published in the FAQ): yes or no.
        #[arg(long, value_parser = parse_yes_no)]
        reviewed: Option<bool>,
    },
    /// Write the public FAQ site (reviewed articles only) into a folder.
    Export {
        /// The folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Recurring terms and categories of the resolved problems, with their trend; then the
    /// recurring terms of the satisfaction votes' comments on the closings of the period, the
    /// negative ones first.
    Topics {
        /// First day (default: 30 days ago).
        #[arg(long, value_parser = parse_day, requires = "to")]
        from: Option<NaiveDate>,
        /// Last day.
        #[arg(long, value_parser = parse_day, requires = "from")]
        to: Option<NaiveDate>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_yes_no(text: &str) -> Result<bool, String> {
    match text {
        "yes" | "si" | "sì" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        other => Err(format!("{other:?}: expected yes or no")),
    }
}

fn print(text: impl std::fmt::Display) -> Result<(), Failure> {
    writeln!(std::io::stdout().lock(), "{text}")
        .context("writing to standard output")
        .map_err(Failure::from)
}

/// Runs a `kb` subcommand.
pub fn run(config: &Config, clock: Clock, command: &KbCommand) -> Result<(), Failure> {
    let mut store = Store::open(&config.database_path())?;
    let now = clock.now();
    match command {
        KbCommand::Search { query, json, limit } => {
            let hits = crate::kb::search(store.conn(), query, *limit, now)?;
            if *json {
                let list: Vec<Value> = hits
                    .iter()
                    .map(|h| {
                        json!({"id": h.entry.id, "ticket": h.entry.ticket, "title": h.entry.title,
                               "reviewed": h.entry.reviewed, "score": (h.score * 1000.0).round() / 1000.0,
                               "confidence": (h.confidence * 1000.0).round() / 1000.0, "weak": h.weak,
                               "excerpt": h.excerpt(200)})
                    })
                    .collect();
                return print(serde_json::to_string_pretty(&list).map_err(anyhow::Error::from)?);
            }
            if hits.is_empty() {
                return print("no results");
            }
            // A weak match is shown, marked: an operator may still recognise it, but a notice
            // would not suggest it.
            let mut lines: Vec<String> = hits
                .iter()
                .map(|h| {
                    let mark = if h.entry.reviewed { "*" } else { " " };
                    let weak = if h.weak { "  (weak)" } else { "" };
                    format!(
                        "KB-{}{mark} {:>3.0} %{weak}  {}\n      {}",
                        h.entry.id,
                        h.confidence * 100.0,
                        h.entry.title,
                        h.excerpt(160)
                    )
                })
                .collect();
            if hits.iter().all(|h| h.weak) {
                lines.push(format!(
                    "no similar solution above the threshold ({:.0} %): a notice would suggest none",
                    crate::kb::THRESHOLD * 100.0
                ));
            }
            print(lines.join("\n"))
        }
        KbCommand::Reindex => {
            let mut total = 0;
            loop {
                let tx = store.write()?;
                let n = crate::kb::reindex_stale(&tx, 1_000)?;
                tx.commit().context("committing the re-indexed entries")?;
                total += n;
                if n == 0 {
                    break;
                }
            }
            print(format!("{total} entries re-indexed"))
        }
        KbCommand::Edit {
            id,
            title,
            solution,
            reviewed,
        } => {
            let tx = store.write()?;
            let changed = crate::kb::edit(&tx, *id, title.as_deref(), solution.as_deref(), *reviewed, now)?;
            tx.commit()?;
            if changed {
                print(format!("KB-{id} updated"))
            } else {
                Err(Failure::new(
                    exit::DATAERR,
                    anyhow::anyhow!("no knowledge-base entry KB-{id}"),
                ))
            }
        }
        KbCommand::Export { out } => {
            let entries = crate::kb::reviewed_entries(store.conn())?;
            let templates = crate::notify::templates::Templates::load(config.helpdesk.templates_dir.as_deref())?;
            let site = crate::kb::export::Site {
                templates: &templates,
                language: config.helpdesk.language,
                timezone: config.calendar.timezone,
            };
            let n = crate::kb::export::write_site(out, site, &entries)?;
            print(format!("{n} article(s) written to {}", out.display()))
        }
        KbCommand::Topics { from, to, json } => {
            let calendar = suspensions::calendar(store.conn(), &config.calendar)?;
            let tz = calendar.timezone();
            let start_of = |d: NaiveDate| {
                d.and_hms_opt(0, 0, 0)
                    .and_then(|t| t.and_local_timezone(tz).earliest())
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .unwrap_or(now)
            };
            let (from, to) = match (from, to) {
                (Some(f), Some(t)) if f <= t => (start_of(*f), start_of(*t + TimeDelta::days(1))),
                (Some(_), Some(_)) => return Err(Failure::new(exit::USAGE, anyhow::anyhow!("--to is before --from"))),
                _ => (now - TimeDelta::days(30), now),
            };
            let topics = crate::kb::topics(store.conn(), from, to, 20)?;
            let comments = crate::kb::comment_topics(store.conn(), from, to, 20)?;
            if *json {
                let list: Vec<Value> = topics
                    .iter()
                    .map(|t| {
                        json!({"term": t.example, "stem": t.label, "count": t.count, "previous": t.previous,
                                    "trend": i64::from(t.count) - i64::from(t.previous)})
                    })
                    .collect();
                let from_comments: Vec<Value> = comments
                    .iter()
                    .map(|t| {
                        json!({"term": t.example, "stem": t.label, "negative": t.negative, "neutral": t.neutral,
                                    "positive": t.positive})
                    })
                    .collect();
                let both = json!({"resolved": list, "satisfaction_comments": from_comments});
                return print(serde_json::to_string_pretty(&both).map_err(anyhow::Error::from)?);
            }
            let mut lines: Vec<String> = topics
                .iter()
                .map(|t| {
                    format!(
                        "{:<24} {:>4}  (prima {:>3}, {:+})",
                        t.example,
                        t.count,
                        t.previous,
                        i64::from(t.count) - i64::from(t.previous)
                    )
                })
                .collect();
            if lines.is_empty() {
                lines.push("no recurring topics".to_string());
            }
            // What requesters said when they voted: a separate list, the terms of the
            // negative comments first (signals of what to improve in the portal).
            lines.push(String::new());
            lines.push("dai commenti di soddisfazione (prima i negativi):".to_string());
            if comments.is_empty() {
                lines.push("  nessun termine ricorrente".to_string());
            }
            lines.extend(comments.iter().map(|t| {
                format!(
                    "{:<24} {:>4}  (negativi {}, neutri {}, positivi {})",
                    t.example,
                    t.total(),
                    t.negative,
                    t.neutral,
                    t.positive
                )
            }));
            print(lines.join("\n"))
        }
    }
}
