//! The SLA monitor: where every open ticket stands against its deadline, the warnings before
//! a breach, the breach reports, and the recomputation of due times when the calendar changes.
//!
//! [`assess`] is pure (business time elapsed, left, and the state `ok` / `at_risk` /
//! `breached`). [`open_standings`], [`watch`] and [`recompute_cycles`] read and write the store
//! (`store::cycles`) inside the caller's transaction; warnings go through the outbox like every
//! other mail and are recorded in `sla_alerts`, so none is sent twice, across restarts too. A
//! cycle whose stored facts do not read back is an error naming it, never skipped. Closed days
//! and suspensions pause everything because all time here is business time.

use chrono::{DateTime, SubsecRound, Utc};
use rusqlite::Connection;

use crate::config::Language;
use crate::model::{Channel, EventAction, Level, NoticeKind, TicketId};
use crate::sla::{Calendar, SlaBudgets, resolution_due, take_in_due};
use crate::store::cycles::{self, CycleTimes};
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
    let mut out = Vec::new();
    for cycle in cycles::open_cycles(conn)? {
        let (phase, started, due, budget) = match (cycle.take_in_at, cycle.resolution_due) {
            (Some(taken), Some(due)) => (
                Phase::Resolution,
                taken,
                due,
                budgets.resolution_minutes(cycle.level) * 60,
            ),
            _ => (
                Phase::TakeIn,
                cycle.effective_start,
                cycle.take_in_due,
                budgets.take_in_minutes(cycle.channel) * 60,
            ),
        };
        let assessment = assess(calendar, started, due, budget, now, warn_percent);
        out.push(Standing {
            ticket: cycle.ticket,
            subject: cycle.subject,
            channel: cycle.channel,
            level: cycle.level,
            assignee: cycle.assignee,
            cycle_id: cycle.cycle_id,
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
            (Phase::TakeIn, false) => EventAction::TakeInWarning,
            (Phase::TakeIn, true) => EventAction::TakeInBreach,
            (Phase::Resolution, false) => EventAction::ResolutionWarning,
            (Phase::Resolution, true) => EventAction::ResolutionBreach,
        };
        if !cycles::mark_alert(conn, s.cycle_id, kind.as_str(), ctx.now)? {
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
        let notice_kind = if breached {
            NoticeKind::Breach
        } else {
            NoticeKind::SlaWarning
        };
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

/// Recomputes every cycle's due times from its facts with the current calendar (after a
/// suspension is added or cancelled, or the configured calendar changed). Returns how many
/// cycles changed.
pub fn recompute_cycles(conn: &Connection, calendar: &Calendar, budgets: &SlaBudgets) -> anyhow::Result<usize> {
    let mut changed = 0;
    for CycleTimes {
        id,
        channel,
        level,
        received_at,
        effective_start,
        take_in_due: due,
        take_in_at,
        resolution_due: resolution,
        reopened_to_closer,
    } in cycles::all_cycles(conn)?
    {
        // A reopening that went straight back to its technician is taken in at once: its
        // instants are the reopening itself, whatever the calendar says.
        let (new_effective, new_due) = if reopened_to_closer {
            (received_at, received_at)
        } else {
            take_in_due(calendar, budgets, channel, received_at)
        };
        let new_resolution = take_in_at.map(|taken| resolution_due(calendar, budgets, level, taken));
        // The store keeps whole seconds: a cycle changes when what it would store differs.
        let (new_effective, new_due) = (new_effective.trunc_subsecs(0), new_due.trunc_subsecs(0));
        let new_resolution = new_resolution.map(|t| t.trunc_subsecs(0));
        if new_effective != effective_start || new_due != due || new_resolution != resolution {
            cycles::update_due_times(conn, id, new_effective, new_due, new_resolution)?;
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

    #[test]
    fn a_cycle_that_does_not_read_back_stops_the_monitor_naming_it() {
        let store = crate::store::Store::open_in_memory().expect("store");
        let conn = store.conn();
        let cal = Calendar::new(CalendarRules::default(), Vec::new());
        let budgets = SlaBudgets::default();
        conn.execute_batch(
            "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, secret, created_at, updated_at)
             VALUES ('TCK-2026-00001', 2026, 1, 'Firma', 'new', 1, 'email', 'problem', 's',
                     '2026-03-06T15:50:00Z', '2026-03-06T15:50:00Z');
             INSERT INTO cycles (ticket_id, number, received_at, effective_start, take_in_due, level)
             VALUES ('TCK-2026-00001', 1, '2026-03-06T15:50:00Z', '2026-03-06T15:50:00Z', '2026-03-09T07:35:00Z', 1);",
        )
        .expect("rows");
        let now = rome(2026, 3, 9, 9, 0);
        let standings = open_standings(conn, &cal, &budgets, now, 75).expect("standings");
        assert_eq!(standings.len(), 1);
        assert_eq!(standings[0].assessment.state, State::Breached);
        assert_eq!(recompute_cycles(conn, &cal, &budgets).expect("recompute"), 0);
        // What no code path writes: a channel the schema's CHECK would refuse.
        conn.execute_batch(
            "PRAGMA ignore_check_constraints = ON; UPDATE tickets SET channel = 'fax'; PRAGMA ignore_check_constraints = OFF;",
        )
        .expect("corrupt");
        for error in [
            open_standings(conn, &cal, &budgets, now, 75)
                .map(|s| s.len())
                .expect_err("not skipped"),
            recompute_cycles(conn, &cal, &budgets).expect_err("not skipped"),
        ] {
            let text = format!("{error:#}");
            assert!(
                text.contains("cycles row 1, column channel: unknown channel \"fax\""),
                "{text}"
            );
        }
    }
}
