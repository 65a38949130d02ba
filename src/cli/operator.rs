//! `sportello operator away|back|list`: the operators' absences from the command line, with the
//! same rules and the same confirmation mail as `#assente` / `#presente`.

use std::path::Path;

use clap::Subcommand;

use super::{Failure, Services, config_of, parse_day};
use crate::clock::Clock;
use crate::commands::AbsenceSpec;
use crate::desk::effect::Effect;
use crate::exit;
use crate::store::{self, Store};

/// `operator` subcommands.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Record an absence (it replaces the one recorded). The operator gets no new requests,
    /// escalations, reopenings or warnings while it runs; their open tickets go to the deputy
    /// when it begins.
    Away {
        /// The operator's address or full name.
        operator: String,
        /// The last day away, YYYY-MM-DD.
        #[arg(long, value_parser = parse_day)]
        until: chrono::NaiveDate,
        /// The first day away, YYYY-MM-DD (default: today).
        #[arg(long, value_parser = parse_day)]
        from: Option<chrono::NaiveDate>,
        /// The colleague who stands in (address or full name).
        #[arg(long)]
        deputy: Option<String>,
    },
    /// End the operator's absence now.
    Back {
        /// The operator's address or full name.
        operator: String,
    },
    /// The operators, who is away today and who stands in.
    List,
}

/// Runs an `operator` subcommand.
pub fn run(config_path: Option<&Path>, clock: Clock, command: OperatorCommand) -> Result<(), Failure> {
    let config = config_of(config_path)?;
    crate::daemon::prepare_data_dir(&config)?;
    let mut store = Store::open(&config.database_path())?;
    let services = Services::load(&config)?;
    let calendar = store::suspensions::calendar(store.conn(), &config.calendar)?;
    let tx = store.write()?;
    let ctx = services.context(&config, &calendar, clock.now());
    let named = |who: &str| {
        crate::desk::cmd::operator_named(&config.operators, who).ok_or_else(|| {
            let known: Vec<&str> = config.operators.iter().map(|o| o.name.as_str()).collect();
            Failure::new(
                exit::USAGE,
                anyhow::anyhow!("no operator is called {who:?}; the operators are: {}", known.join(", ")),
            )
        })
    };
    match command {
        OperatorCommand::List => {
            let (roster, absences) = crate::workflow::roster_today(&tx, &ctx)?;
            for op in &roster {
                let recorded = absences.iter().find(|a| a.operator == op.email);
                let state = match recorded {
                    Some(a) if a.covers(ctx.now.with_timezone(&calendar.timezone()).date_naive()) => {
                        format!("away {}..{}", a.from, a.until)
                    }
                    Some(a) => format!("present; away {}..{}", a.from, a.until),
                    None if op.away => "away (configuration)".to_string(),
                    None => "present".to_string(),
                };
                let deputy = match op.deputy.as_deref().or(recorded.and_then(|a| a.deputy.as_deref())) {
                    Some(d) => format!(", deputy {d}"),
                    None => String::new(),
                };
                println!(
                    "{:<32} level {}{}  {state}{deputy}",
                    op.email,
                    op.level.number(),
                    if op.supervisor { ", supervisor" } else { "" }
                );
            }
            Ok(())
        }
        OperatorCommand::Away {
            operator,
            until,
            from,
            deputy,
        } => {
            let op = named(&operator)?;
            let spec = AbsenceSpec { from, until, deputy };
            change(&tx, &ctx, op, Some(&spec))?;
            tx.commit().map_err(anyhow::Error::from)?;
            Ok(())
        }
        OperatorCommand::Back { operator } => {
            let op = named(&operator)?;
            change(&tx, &ctx, op, None)?;
            tx.commit().map_err(anyhow::Error::from)?;
            Ok(())
        }
    }
}

/// Applies the change and mails the operator the confirmation `#assente` would have given.
fn change(
    conn: &rusqlite::Connection,
    ctx: &crate::workflow::Context<'_>,
    op: &crate::config::Operator,
    spec: Option<&AbsenceSpec>,
) -> Result<(), Failure> {
    match crate::workflow::change_absence(conn, ctx, op, spec)? {
        Ok(done) => {
            println!("{}", done.text(ctx.config.helpdesk.language));
            crate::workflow::apply(
                conn,
                ctx,
                None,
                &[Effect::TellOperator {
                    to: op.email.clone(),
                    done,
                }],
            )?;
            Ok(())
        }
        Err(problem) => Err(Failure::new(
            exit::USAGE,
            anyhow::anyhow!("{}", problem.text(crate::config::Language::En)),
        )),
    }
}
