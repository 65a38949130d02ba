//! The SLA monitor: where every open ticket stands against its deadline, the warnings before
//! a breach, the breach reports, and the recomputation of due times when the calendar changes.
//!
//! [`assess`] (in `sla::standing`) is pure: business time elapsed, left, and the state `ok` /
//! `at_risk` / `breached`; who hears of it is `desk::watch`'s decision. [`open_standings`],
//! [`watch`] and [`recompute_cycles`] read and write the store (`store::cycles`) inside the
//! caller's transaction; warnings go through the outbox like every other mail and are recorded
//! in `sla_alerts`, so none is sent twice, across restarts too. A
//! cycle whose stored facts do not read back is an error naming it, never skipped. Closed days
//! and suspensions pause everything because all time here is business time.

use chrono::{DateTime, SubsecRound, Utc};
use rusqlite::Connection;

use std::collections::HashMap;

use crate::desk;
use crate::model::{Channel, EventAction, Level, TicketId};
use crate::sla::{Calendar, SlaBudgets, resolution_due, take_in_due};
use crate::store::cycles::{self, CycleTimes};
use crate::workflow::{self, Context};

pub use crate::sla::standing::{Assessment, Phase, State, assess};

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
/// Load (every open clock, the alerts already sent) → decide (`desk::watch`) → apply.
pub fn watch(conn: &Connection, ctx: &Context<'_>) -> anyhow::Result<usize> {
    let standings = open_standings(
        conn,
        ctx.calendar,
        &ctx.config.sla,
        ctx.now,
        ctx.config.sla_warn_percent,
    )?;
    let mut sent_by_cycle: HashMap<i64, Vec<EventAction>> = HashMap::new();
    for (cycle, alert) in cycles::alerts_of_open_cycles(conn)? {
        sent_by_cycle.entry(cycle).or_default().push(alert);
    }
    let local_time = |t: DateTime<Utc>| ctx.local(t);
    let (roster, _) = crate::workflow::roster_today(conn, ctx)?;
    let setting = desk::watch::Setting {
        roster: &roster,
        language: ctx.config.helpdesk.language,
        local_time: &local_time,
    };
    let mut sent = 0;
    for s in &standings {
        let clock = desk::watch::Clock {
            phase: s.phase,
            state: s.assessment.state,
            due: s.due,
            left_seconds: s.assessment.left_seconds,
            assignee: s.assignee.as_deref(),
        };
        let already = sent_by_cycle.get(&s.cycle_id).map(Vec::as_slice).unwrap_or_default();
        let effects = desk::watch::alerts(&clock, already, &setting);
        if !effects.is_empty() {
            workflow::apply(conn, ctx, Some(s.ticket), &effects)?;
            sent += 1;
        }
    }
    Ok(sent)
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
    use crate::desk::testing::rome;
    use crate::sla::CalendarRules;

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
        let now = rome(9, 9, 0);
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
