//! The SLA monitor: where every open ticket stands against its deadline, the warnings before
//! a breach, the breach reports, and the recomputation of due times when the calendar changes.
//!
//! [`assess`] is pure (business time elapsed, left, and the state `ok` / `at_risk` /
//! `breached`). [`open_standings`], [`watch`] and [`recompute_cycles`] read and write the store
//! inside the caller's transaction; warnings go through the outbox like every other mail and
//! are recorded in `sla_alerts`, so none is sent twice, across restarts too. Closed days and
//! suspensions pause everything because all time here is business time.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use crate::config::Language;
use crate::model::{Channel, Level, TicketId};
use crate::sla::{Calendar, SlaBudgets, resolution_due, take_in_due};
use crate::store::{parse_ts, ts};
use crate::workflow::{self, Context, Notice};

/// Which clock of the contract is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the take-in confirmation (TP).
    TakeIn,
    /// Taken in, waiting for the closing mail (TR).
    Resolution,
}

impl Phase {
    /// The spelling used in JSON and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::TakeIn => "take_in",
            Phase::Resolution => "resolution",
        }
    }
}

/// How a running clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Past its due time.
    Breached,
    /// Past the warning share of its budget.
    AtRisk,
    /// Within budget.
    Ok,
}

impl State {
    /// The spelling used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Breached => "breached",
            State::AtRisk => "at_risk",
            State::Ok => "ok",
        }
    }
}

/// Business seconds elapsed and left, and the state, of one clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    /// Business seconds since the clock started.
    pub elapsed_seconds: i64,
    /// Business seconds until the due time (negative once past it).
    pub left_seconds: i64,
    /// Where it stands.
    pub state: State,
}

/// Assesses a clock that started at `start` with `budget_seconds` and is due at `due`.
pub fn assess(
    calendar: &Calendar,
    start: DateTime<Utc>,
    due: DateTime<Utc>,
    budget_seconds: i64,
    now: DateTime<Utc>,
    warn_percent: u8,
) -> Assessment {
    let elapsed = calendar.elapsed_business(start, now);
    let left = if now > due {
        -calendar.elapsed_business(due, now)
    } else {
        calendar.elapsed_business(now, due)
    };
    let state = if now > due {
        State::Breached
    } else if elapsed * 100 >= budget_seconds * i64::from(warn_percent) {
        State::AtRisk
    } else {
        State::Ok
    };
    Assessment {
        elapsed_seconds: elapsed,
        left_seconds: left,
        state,
    }
}

/// One open ticket's running clock.
#[derive(Debug, Clone)]
pub struct Standing {
    /// The ticket.
    pub ticket: TicketId,
    /// Its subject.
    pub subject: String,
    /// Its channel.
    pub channel: Channel,
    /// Its level.
    pub level: Level,
    /// Its assignee, if any.
    pub assignee: Option<String>,
    /// The cycle row.
    pub cycle_id: i64,
    /// Which clock runs.
    pub phase: Phase,
    /// When that clock started.
    pub started: DateTime<Utc>,
    /// Its due time.
    pub due: DateTime<Utc>,
    /// Its assessment now.
    pub assessment: Assessment,
}

/// Every open ticket's running clock, most urgent first (breached, then least time left).
pub fn open_standings(
    conn: &Connection,
    calendar: &Calendar,
    budgets: &SlaBudgets,
    now: DateTime<Utc>,
    warn_percent: u8,
) -> anyhow::Result<Vec<Standing>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.id, t.subject, t.channel, t.level, t.assignee, c.id, c.effective_start, c.take_in_due,
                c.take_in_at, c.resolution_due
         FROM tickets t JOIN cycles c ON c.ticket_id = t.id
         WHERE t.status IN ('new', 'assigned')
           AND c.number = (SELECT max(number) FROM cycles WHERE ticket_id = t.id)",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, Option<String>>(8)?,
            r.get::<_, Option<String>>(9)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, subject, channel, level, assignee, cycle_id, effective, take_in_due, taken, resolution_due) = row?;
        let (Ok(ticket), Ok(channel), Some(level)) = (
            id.parse::<TicketId>(),
            channel.parse::<Channel>(),
            Level::from_number(level),
        ) else {
            continue;
        };
        let (phase, started, due, budget) = match (taken, resolution_due) {
            (Some(taken), Some(due)) => (
                Phase::Resolution,
                parse_ts(&taken)?,
                parse_ts(&due)?,
                budgets.resolution_minutes(level) * 60,
            ),
            _ => (
                Phase::TakeIn,
                parse_ts(&effective)?,
                parse_ts(&take_in_due)?,
                budgets.take_in_minutes(channel) * 60,
            ),
        };
        let assessment = assess(calendar, started, due, budget, now, warn_percent);
        out.push(Standing {
            ticket,
            subject,
            channel,
            level,
            assignee,
            cycle_id,
            phase,
            started,
            due,
            assessment,
        });
    }
    out.sort_by_key(|s| (s.assessment.state, s.assessment.left_seconds, s.ticket));
    Ok(out)
}

/// Sends the warnings and breach reports that are due and not yet sent; returns how many.
pub fn watch(conn: &Connection, ctx: &Context<'_>) -> anyhow::Result<usize> {
    let standings = open_standings(
        conn,
        ctx.calendar,
        &ctx.config.sla,
        ctx.now,
        ctx.config.sla_warn_percent,
    )?;
    let mut sent = 0;
    for s in standings.iter().filter(|s| s.assessment.state != State::Ok) {
        let breached = s.assessment.state == State::Breached;
        let kind = match (s.phase, breached) {
            (Phase::TakeIn, false) => "take_in_warning",
            (Phase::TakeIn, true) => "take_in_breach",
            (Phase::Resolution, false) => "resolution_warning",
            (Phase::Resolution, true) => "resolution_breach",
        };
        let fresh = conn
            .prepare_cached("INSERT OR IGNORE INTO sla_alerts (cycle_id, kind, at) VALUES (?1, ?2, ?3)")?
            .execute(params![s.cycle_id, kind, ts(ctx.now)])?
            == 1;
        if !fresh {
            continue;
        }
        let ticket = crate::store::tickets::find_ticket(conn, s.ticket)?
            .ok_or_else(|| anyhow::anyhow!("ticket {} vanished inside its transaction", s.ticket))?;
        let to = if breached {
            workflow::supervisors(ctx.config)
        } else {
            match s.phase {
                Phase::TakeIn => workflow::first_level(ctx.config),
                Phase::Resolution => workflow::assignee_or_first_level(ctx.config, &ticket),
            }
        };
        let minutes = s.assessment.left_seconds.abs() / 60;
        let reason = alert_reason(ctx, s.phase, breached, s.due, minutes);
        let notice_kind = if breached { "breach" } else { "sla_warning" };
        workflow::notify_operators(conn, ctx, &ticket, &to, Notice::new(notice_kind, reason.clone()))?;
        crate::store::tickets::insert_event(conn, Some(s.ticket), ctx.now, "system", kind, &reason, None)?;
        sent += 1;
    }
    Ok(sent)
}

/// The one-line reason of an alert, in the help desk's language.
fn alert_reason(ctx: &Context<'_>, phase: Phase, breached: bool, due: DateTime<Utc>, minutes: i64) -> String {
    let when = crate::notify::format_local(due, ctx.calendar.timezone(), ctx.config.helpdesk.language);
    match (ctx.config.helpdesk.language, phase, breached) {
        (Language::It, Phase::TakeIn, false) => format!("presa in carico entro {when} ({minutes} min lavorativi)"),
        (Language::It, Phase::TakeIn, true) => format!("presa in carico scaduta {when} ({minutes} min lavorativi fa)"),
        (Language::It, Phase::Resolution, false) => format!("risoluzione entro {when} ({minutes} min lavorativi)"),
        (Language::It, Phase::Resolution, true) => format!("risoluzione scaduta {when} ({minutes} min lavorativi fa)"),
        (Language::En, Phase::TakeIn, false) => format!("take in by {when} ({minutes} business minutes left)"),
        (Language::En, Phase::TakeIn, true) => format!("take-in was due {when} ({minutes} business minutes ago)"),
        (Language::En, Phase::Resolution, false) => format!("resolve by {when} ({minutes} business minutes left)"),
        (Language::En, Phase::Resolution, true) => {
            format!("resolution was due {when} ({minutes} business minutes ago)")
        }
    }
}

/// A cycle's stored facts, as text, for [`recompute_cycles`].
struct CycleFacts {
    id: i64,
    channel: String,
    received: String,
    effective: String,
    due: String,
    taken: Option<String>,
    level: i64,
    resolution: Option<String>,
}

/// Recomputes every cycle's due times from its facts with the current calendar (after a
/// suspension is added or cancelled, or the configured calendar changed). Returns how many
/// cycles changed.
pub fn recompute_cycles(conn: &Connection, calendar: &Calendar, budgets: &SlaBudgets) -> anyhow::Result<usize> {
    let rows: Vec<CycleFacts> = {
        let mut stmt = conn.prepare_cached(
            "SELECT c.id, t.channel, c.received_at, c.effective_start, c.take_in_due, c.take_in_at, c.level,
                    c.resolution_due
             FROM cycles c JOIN tickets t ON t.id = c.ticket_id",
        )?;
        stmt.query_map([], |r| {
            Ok(CycleFacts {
                id: r.get(0)?,
                channel: r.get(1)?,
                received: r.get(2)?,
                effective: r.get(3)?,
                due: r.get(4)?,
                taken: r.get(5)?,
                level: r.get(6)?,
                resolution: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?
    };
    let mut changed = 0;
    for CycleFacts {
        id,
        channel,
        received,
        effective,
        due,
        taken,
        level,
        resolution,
    } in rows
    {
        let (Ok(channel), Some(level)) = (channel.parse::<Channel>(), Level::from_number(level)) else {
            continue;
        };
        let received_at = parse_ts(&received)?;
        // A reopening that went straight back to its technician is taken in at once: its
        // instants are the reopening itself, whatever the calendar says.
        let reopened_back = taken.as_deref() == Some(received.as_str()) && due == received;
        let (new_effective, new_due) = if reopened_back {
            (received_at, received_at)
        } else {
            take_in_due(calendar, budgets, channel, received_at)
        };
        let new_resolution = match &taken {
            Some(t) => Some(ts(resolution_due(calendar, budgets, level, parse_ts(t)?))),
            None => None,
        };
        if ts(new_effective) != effective || ts(new_due) != due || new_resolution != resolution {
            conn.prepare_cached(
                "UPDATE cycles SET effective_start = ?2, take_in_due = ?3, resolution_due = ?4 WHERE id = ?1",
            )?
            .execute(params![id, ts(new_effective), ts(new_due), new_resolution])?;
            changed += 1;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::CalendarRules;
    use chrono::TimeZone;

    fn rome(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Rome
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_clock_is_ok_then_at_risk_then_breached_in_business_time() {
        let cal = Calendar::new(CalendarRules::default(), Vec::new());
        // E-mail take-in: 45 minutes from Friday 16:50 → Monday 08:35.
        let start = rome(2026, 3, 6, 16, 50);
        let due = rome(2026, 3, 9, 8, 35);
        let budget = 45 * 60;
        let at = |t| assess(&cal, start, due, budget, t, 75);
        // Saturday noon: only 10 business minutes have passed, the weekend pauses the clock.
        assert_eq!(
            at(rome(2026, 3, 7, 12, 0)),
            Assessment {
                elapsed_seconds: 600,
                left_seconds: 2100,
                state: State::Ok
            }
        );
        // Monday 08:24: 34 of 45 minutes (75.5 %): at risk.
        assert_eq!(at(rome(2026, 3, 9, 8, 24)).state, State::AtRisk);
        assert_eq!(
            at(rome(2026, 3, 9, 8, 35)).state,
            State::AtRisk,
            "due at exactly the deadline is still met"
        );
        let late = at(rome(2026, 3, 9, 9, 0));
        assert_eq!((late.state, late.left_seconds), (State::Breached, -25 * 60));
    }
}
