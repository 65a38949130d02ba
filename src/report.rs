//! The monthly accounting report ("consuntivazione"): what the municipality checks before
//! paying the supplier.
//!
//! Three steps: [`gather`] reads the period's facts through `store::report` (the only I/O
//! here) and keeps those of the period's local days; [`compute`] turns them into every figure
//! (pure: counts, SLA compliance with median and 90th percentile in business minutes,
//! per-technician work, rates, recurring problems, breaches); [`render_json`], [`render_csv`]
//! and [`render_html`] format them (pure). The HTML is the template
//! `templates/pages/report.html` with the wording of the help desk's language, times in the
//! calendar's time zone: one self-contained file with inline SVG charts, no scripts, no
//! external assets, printable. [`mail_monthly`] mails it with the letter
//! `templates/<lang>/report.txt`.
//!
//! What counts (the contract's definitions, applied by the pure `sla::accounting`): the
//! tickets and SLA cycles whose requests belong to the period — a request belongs to the local
//! day of its effective start, so one made on a closed day counts on the next working day, in
//! that day's month. A take-in is measured to the instant its confirmation actually left (or
//! to the call-back record for phone requests without e-mail); the resolution from that same
//! instant to the instant the closing mail left (or to the closing call recorded for a
//! requester without e-mail), against the budget of the cycle's level from that instant. A
//! clock still running whose due time has passed counts as breached; one still within its
//! budget is "pending" and in neither column. A reopening counts against the technician who
//! made the closing it undid, wherever it was routed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};
use minijinja::context;
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::config::Language;
use crate::model::{Channel, EventAction, Level, MailPurpose};
use crate::notify::templates::Templates;
use crate::sla::accounting::{self, Recorded, Verdict, accounting_day};
use crate::sla::{Calendar, MAX_WORKING_DAYS_PER_YEAR, SlaBudgets};
use crate::store;
pub use crate::store::report::{CycleFacts, TicketFacts};

pub mod open_data;
pub mod satisfaction;

use crate::desk::privacy::Score;
use satisfaction::{Closing, Satisfaction};

/// The reporting period: whole local days, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

impl Period {
    /// The last complete calendar month before `today`.
    pub fn last_month(today: NaiveDate) -> Period {
        let first_this_month = today.with_day(1).unwrap_or(today);
        let to = first_this_month.pred_opt().unwrap_or(first_this_month);
        Period {
            from: to.with_day(1).unwrap_or(to),
            to,
        }
    }

    fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }
}

/// The figures of the technician at `address`, created empty on first use.
fn technician<'t>(technicians: &'t mut BTreeMap<String, Technician>, address: &str) -> &'t mut Technician {
    technicians.entry(address.to_string()).or_default()
}

/// An audit event the accounting counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedEvent {
    /// Who did it.
    pub actor: String,
    /// What.
    pub action: EventAction,
    /// The operator it concerns (an assignment's assignee, the technician a reopened ticket
    /// went back to).
    pub operator: Option<String>,
    /// For a reopening: who made the closing it undid.
    pub closer: Option<String>,
}

/// A request of the period made on a closed day, and when it is deemed received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deemed {
    /// The ticket.
    pub ticket: String,
    /// When it arrived.
    pub received: DateTime<Utc>,
    /// When it counts from (09:00 of the next working day).
    pub deemed: DateTime<Utc>,
}

/// The facts of a period.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// The period.
    pub period: Period,
    /// When the report was made.
    pub now: DateTime<Utc>,
    /// Tickets opened in the period.
    pub tickets: Vec<TicketFacts>,
    /// Cycles received in the period.
    pub cycles: Vec<CycleFacts>,
    /// Audit events in the period.
    pub events: Vec<CountedEvent>,
    /// Minutes logged in the period per operator.
    pub time_logged: BTreeMap<String, i64>,
    /// Operators' names by address.
    pub names: BTreeMap<String, String>,
    /// The cycles resolved in the period by a closing letter, with their votes (comments
    /// redacted).
    pub closings: Vec<Closing>,
}

fn local_day(calendar: &Calendar, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&calendar.timezone()).date_naive()
}

/// How many days before the period a request may arrive and still belong to it: a closed
/// stretch (Christmas with a suspension, the summer break) is far shorter.
const LONGEST_CLOSED_STRETCH_DAYS: i64 = 60;

/// Reads the period's facts. `names` maps operator addresses to names (from the config).
pub fn gather(
    conn: &Connection,
    calendar: &Calendar,
    period: Period,
    now: DateTime<Utc>,
    names: BTreeMap<String, String>,
) -> anyhow::Result<ReportData> {
    // A day's instants in UTC can fall on the previous or next UTC date: read a day more on
    // each side, then keep what falls in the period by local date. Requests are read from
    // further back: one made on a closed day belongs to the next working day.
    let from = (period.from - TimeDelta::days(1)).and_time(NaiveTime::MIN).and_utc();
    let requests_from = from - TimeDelta::days(LONGEST_CLOSED_STRETCH_DAYS);
    let until = (period.to + TimeDelta::days(2)).and_time(NaiveTime::MIN).and_utc();
    let in_period = |t: DateTime<Utc>| period.contains(local_day(calendar, t));
    let belongs = |received: DateTime<Utc>| period.contains(accounting_day(calendar, received));
    let mut tickets = store::report::tickets_created(conn, requests_from, until)?;
    tickets.retain(|t| belongs(t.created_at));
    // Subjects as the knowledge base redacts them: the report names nobody, and reads the
    // same after the period's tickets are anonymised (issue 17).
    let requesters = store::privacy::requester_names_created(conn, requests_from, until)?;
    for t in &mut tickets {
        t.subject = crate::desk::privacy::report_text(&t.subject, requesters.get(&t.id).map(String::as_str));
    }
    let mut cycles = store::report::cycles_received(conn, requests_from, until)?;
    cycles.retain(|c| belongs(c.received_at));
    let events = store::report::counted_events(conn, from, until)?
        .into_iter()
        .filter(|e| in_period(e.at))
        .map(|e| CountedEvent {
            actor: e.actor,
            action: e.action,
            operator: e.operator,
            closer: e.closer,
        })
        .collect();
    let mut time_logged = BTreeMap::new();
    for entry in store::report::time_logged(conn, from, until)? {
        if in_period(entry.at) {
            *time_logged.entry(entry.operator).or_insert(0) += entry.minutes;
        }
    }
    // A vote belongs to its closing's period, like the rest of the work done; its comment is
    // shown as anonymising stores it (the redaction with the requester's name), so the report
    // reads the same before and after.
    let mut closings = Vec::new();
    for c in store::survey::closings_between(conn, from, until)? {
        if !in_period(c.resolved_at) {
            continue;
        }
        let score = c
            .score
            .map(|n| {
                Score::from_number(n)
                    .ok_or_else(|| anyhow::anyhow!("votes: the vote on {} is {n}, not 1, 2 or 3", c.ticket))
            })
            .transpose()?;
        closings.push(Closing {
            comment: crate::desk::privacy::report_text(&c.comment, c.requester_name.as_deref()),
            ticket: c.ticket,
            channel: c.channel,
            level: c.level,
            technician: c.technician,
            resolved_at: c.resolved_at,
            score,
        });
    }
    Ok(ReportData {
        period,
        now,
        tickets,
        cycles,
        events,
        time_logged,
        names,
        closings,
    })
}

/// Compliance of one clock for one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Compliance {
    /// Met (done at or before due).
    pub met: u32,
    /// Breached (done late, or still running past due).
    pub breached: u32,
    /// Still running within budget.
    pub pending: u32,
    /// Business minutes taken by the finished ones, sorted.
    pub minutes: Vec<i64>,
}

impl Compliance {
    /// Met as a share of the decided ones, in percent (None when none is decided).
    pub fn percent(&self) -> Option<f64> {
        let decided = self.met + self.breached;
        (decided > 0).then(|| f64::from(self.met) * 100.0 / f64::from(decided))
    }

    /// The median of the business minutes.
    pub fn median(&self) -> Option<i64> {
        percentile(&self.minutes, 50)
    }

    /// The 90th percentile of the business minutes.
    pub fn p90(&self) -> Option<i64> {
        percentile(&self.minutes, 90)
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// One breach for the list.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    /// Ticket.
    pub ticket: String,
    /// Channel.
    pub channel: Channel,
    /// Level.
    pub level: Level,
    /// `TP` or `TR`.
    pub clock: &'static str,
    /// Due.
    pub due: DateTime<Utc>,
    /// Actual, or None while still running.
    pub actual: Option<DateTime<Utc>>,
}

/// Per-technician figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Technician {
    /// Tickets taken in (assigned to them).
    pub taken: u32,
    /// Tickets they resolved (out-of-scope closings included).
    pub resolved: u32,
    /// Escalations they made.
    pub escalated: u32,
    /// Tickets they closed that were reopened in the period.
    pub reopened: u32,
    /// Minutes logged with `#tempo`.
    pub minutes: i64,
}

/// Every figure of the report.
#[derive(Debug, Clone)]
pub struct Report {
    /// The period.
    pub period: Period,
    /// Tickets opened.
    pub total: u32,
    /// By channel.
    pub by_channel: BTreeMap<String, u32>,
    /// By level.
    pub by_level: BTreeMap<String, u32>,
    /// By `channel/level` (the ticket's channel and its level now).
    pub by_group: BTreeMap<String, u32>,
    /// By kind.
    pub by_kind: BTreeMap<String, u32>,
    /// By outcome (`resolved`, `out_of_scope`, `open`).
    pub by_outcome: BTreeMap<String, u32>,
    /// By category.
    pub by_category: BTreeMap<String, u32>,
    /// Take-in compliance per "channel/level".
    pub take_in: BTreeMap<String, Compliance>,
    /// Resolution compliance per "channel/level".
    pub resolution: BTreeMap<String, Compliance>,
    /// Per technician (by address).
    pub technicians: BTreeMap<String, Technician>,
    /// Operators' names.
    pub names: BTreeMap<String, String>,
    /// Reopenings / closings, percent.
    pub reopen_rate: Option<f64>,
    /// Out-of-scope closings / closings, percent.
    pub out_of_scope_rate: Option<f64>,
    /// Suspension working days used in the year of the period's end.
    pub suspension_days_used: u32,
    /// Requests per local day of the period (the day each belongs to).
    pub per_day: BTreeMap<NaiveDate, u32>,
    /// The period's requests made on a closed day, counted from the next working day.
    pub deemed: Vec<Deemed>,
    /// Most frequent subject words: (word, count).
    pub topics: Vec<(String, u32)>,
    /// Breaches, oldest first.
    pub breaches: Vec<Breach>,
    /// Incidents: masters with tickets of the period linked to them (`#collega`).
    pub incidents: u32,
    /// The tickets of those incidents: each master and the period's tickets linked to it.
    pub incident_tickets: u32,
    /// How the requesters judged the period's closings.
    pub satisfaction: Satisfaction,
}

/// Words too common to say anything about a problem.
const STOP_WORDS: &[&str] = &[
    "il",
    "lo",
    "la",
    "i",
    "gli",
    "le",
    "un",
    "uno",
    "una",
    "di",
    "del",
    "della",
    "dei",
    "delle",
    "dello",
    "da",
    "in",
    "con",
    "su",
    "per",
    "tra",
    "fra",
    "e",
    "o",
    "a",
    "al",
    "alla",
    "ai",
    "alle",
    "non",
    "mi",
    "ci",
    "si",
    "che",
    "come",
    "sul",
    "sulla",
    "nel",
    "nella",
    "richiesta",
    "problema",
    "problemi",
    "errore",
    "aiuto",
    "assistenza",
    "urgente",
    "the",
    "a",
    "an",
    "of",
    "to",
    "and",
    "for",
    "on",
    "with",
    "is",
    "not",
    "my",
    "re",
    "r",
    "fw",
    "fwd",
    "i",
    "info",
    "senza",
    "oggetto",
    "pratica",
    "portale",
    "cportal",
];

/// Counts one clock's verdict in its group, and a breach in the list.
fn count(
    compliance: &mut Compliance,
    breaches: &mut Vec<Breach>,
    cycle: &CycleFacts,
    clock: &'static str,
    verdict: Verdict,
) {
    match verdict {
        Verdict::Met { minutes } => {
            compliance.met += 1;
            compliance.minutes.push(minutes);
        }
        Verdict::Breached { due, actual, minutes } => {
            compliance.breached += 1;
            compliance.minutes.extend(minutes);
            breaches.push(Breach {
                ticket: cycle.ticket.clone(),
                channel: cycle.channel,
                level: cycle.level,
                clock,
                due,
                actual,
            });
        }
        Verdict::Pending => compliance.pending += 1,
    }
}

/// Computes every figure from the facts (pure), by the contract's definitions
/// (`sla::accounting`) and the configured `budgets`.
pub fn compute(data: &ReportData, calendar: &Calendar, budgets: &SlaBudgets) -> Report {
    let mut report = Report {
        period: data.period,
        total: data.tickets.len() as u32,
        by_channel: BTreeMap::new(),
        by_level: BTreeMap::new(),
        by_group: BTreeMap::new(),
        by_kind: BTreeMap::new(),
        by_outcome: BTreeMap::new(),
        by_category: BTreeMap::new(),
        take_in: BTreeMap::new(),
        resolution: BTreeMap::new(),
        technicians: BTreeMap::new(),
        names: data.names.clone(),
        reopen_rate: None,
        out_of_scope_rate: None,
        suspension_days_used: 0,
        per_day: BTreeMap::new(),
        deemed: Vec::new(),
        topics: Vec::new(),
        breaches: Vec::new(),
        incidents: 0,
        incident_tickets: 0,
        satisfaction: satisfaction::compute(&data.closings),
    };
    let mut day = data.period.from;
    while day <= data.period.to {
        report.per_day.insert(day, 0);
        day = day.succ_opt().unwrap_or(data.period.to + chrono::TimeDelta::days(1));
    }
    let mut words: BTreeMap<String, u32> = BTreeMap::new();
    for t in &data.tickets {
        *report.by_channel.entry(t.channel.as_str().into()).or_default() += 1;
        *report.by_level.entry(t.level.number().to_string()).or_default() += 1;
        *report
            .by_group
            .entry(format!("{}/{}", t.channel.as_str(), t.level.number()))
            .or_default() += 1;
        *report.by_kind.entry(t.kind.as_str().into()).or_default() += 1;
        *report
            .by_outcome
            .entry(t.outcome.clone().unwrap_or_else(|| "open".into()))
            .or_default() += 1;
        *report
            .by_category
            .entry(t.category.clone().unwrap_or_else(|| "-".into()))
            .or_default() += 1;
        let deemed = calendar.effective_start(t.created_at);
        let day = accounting_day(calendar, t.created_at);
        *report.per_day.entry(day).or_default() += 1;
        if day != local_day(calendar, t.created_at) {
            report.deemed.push(Deemed {
                ticket: t.id.clone(),
                received: t.created_at,
                deemed,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for word in t
            .subject
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric() && c != '/')
        {
            let word = word.trim_matches('/');
            if word.chars().count() >= 3 && !STOP_WORDS.contains(&word) && !word.chars().all(|c| c.is_ascii_digit()) {
                seen.insert(word.to_string());
            }
        }
        for w in seen {
            *words.entry(w).or_default() += 1;
        }
    }
    let mut topics: Vec<(String, u32)> = words.into_iter().filter(|(_, n)| *n >= 2).collect();
    topics.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    topics.truncate(10);
    report.topics = topics;

    for c in &data.cycles {
        let group = format!("{}/{}", c.channel.as_str(), c.level.number());
        let recorded = Recorded {
            level: c.level,
            effective_start: c.effective_start,
            take_in_due: c.take_in_due,
            take_in_done: c.take_in_done,
            resolution_done: c.resolution_done,
        };
        let tp = accounting::take_in(calendar, &recorded, data.now);
        count(
            report.take_in.entry(group.clone()).or_default(),
            &mut report.breaches,
            c,
            "TP",
            tp,
        );
        if let Some(tr) = accounting::resolution(calendar, budgets, &recorded, data.now) {
            count(
                report.resolution.entry(group).or_default(),
                &mut report.breaches,
                c,
                "TR",
                tr,
            );
        }
    }
    report
        .deemed
        .sort_by(|a, b| a.deemed.cmp(&b.deemed).then_with(|| a.ticket.cmp(&b.ticket)));
    for compliance in report.take_in.values_mut().chain(report.resolution.values_mut()) {
        compliance.minutes.sort_unstable();
    }
    report
        .breaches
        .sort_by(|a, b| a.due.cmp(&b.due).then_with(|| a.ticket.cmp(&b.ticket)));

    let (mut closings, mut out_of_scope, mut reopenings) = (0u32, 0u32, 0u32);
    for event in &data.events {
        match event.action {
            EventAction::Assigned => {
                if let Some(assignee) = &event.operator {
                    technician(&mut report.technicians, assignee).taken += 1;
                }
            }
            EventAction::Resolved | EventAction::OutOfScope => {
                technician(&mut report.technicians, &event.actor).resolved += 1;
                closings += 1;
                if event.action == EventAction::OutOfScope {
                    out_of_scope += 1;
                }
            }
            EventAction::Escalated => technician(&mut report.technicians, &event.actor).escalated += 1,
            EventAction::Reopened => {
                reopenings += 1;
                // Counted against the technician whose closing it undid, whether it went back
                // to them, to a deputy or to the queue: the routing says who handles it next,
                // not whose resolution did not hold.
                if let Some(closer) = &event.closer {
                    technician(&mut report.technicians, closer).reopened += 1;
                }
            }
            _ => {}
        }
    }
    for (op, minutes) in &data.time_logged {
        report.technicians.entry(op.clone()).or_default().minutes += minutes;
    }
    let rate = |n: u32, d: u32| (d > 0).then(|| f64::from(n) * 100.0 / f64::from(d));
    report.reopen_rate = rate(reopenings, closings);
    let masters: std::collections::BTreeSet<&str> = data.tickets.iter().filter_map(|t| t.master.as_deref()).collect();
    report.incidents = masters.len() as u32;
    report.incident_tickets = (data.tickets.iter().filter(|t| t.master.is_some()).count() + masters.len()) as u32;
    report.out_of_scope_rate = rate(out_of_scope, closings);
    let year = data.period.to.year();
    let rules_only = Calendar::new(calendar.rules().clone(), Vec::new());
    report.suspension_days_used = calendar
        .suspensions()
        .iter()
        .flat_map(|s| {
            let from = s.from.max(NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(s.from));
            let to = s.to.min(NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(s.to));
            if from <= to {
                rules_only.working_days(from, to)
            } else {
                Vec::new()
            }
        })
        .count() as u32;
    report
}

fn pct(v: Option<f64>) -> Value {
    v.map(|p| json!((p * 10.0).round() / 10.0)).unwrap_or(Value::Null)
}

fn compliance_json(map: &BTreeMap<String, Compliance>) -> Value {
    map.iter()
        .map(|(group, c)| {
            (
                group.clone(),
                json!({"met": c.met, "breached": c.breached, "pending": c.pending, "percent_met": pct(c.percent()),
                       "median_minutes": c.median(), "p90_minutes": c.p90()}),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn votes_json(v: &satisfaction::Votes) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    out.insert("closings".into(), json!(v.closings));
    out.insert("votes".into(), json!(v.cast()));
    out.insert("response_rate_percent".into(), pct(v.response_rate()));
    for score in Score::ALL {
        let code = satisfaction::json_code(score);
        out.insert(code.into(), json!(v.count(score)));
        out.insert(format!("{code}_percent"), pct(v.share(score)));
    }
    out
}

fn satisfaction_json(report: &Report) -> Value {
    let s = &report.satisfaction;
    let groups = |map: &BTreeMap<String, satisfaction::Votes>| {
        map.iter()
            .map(|(k, v)| (k.clone(), Value::from(votes_json(v))))
            .collect::<serde_json::Map<_, _>>()
    };
    let mut out = votes_json(&s.total);
    out.insert("by_channel".into(), groups(&s.by_channel).into());
    out.insert("by_level".into(), groups(&s.by_level).into());
    out.insert(
        "by_technician".into(),
        s.by_technician
            .iter()
            .map(|(op, v)| {
                let mut figures = serde_json::Map::new();
                figures.insert("name".into(), json!(report.names.get(op)));
                figures.extend(votes_json(v));
                (op.clone(), Value::from(figures))
            })
            .collect::<serde_json::Map<_, _>>()
            .into(),
    );
    out.insert(
        "comments".into(),
        s.comments
            .iter()
            .map(|c| json!({"ticket": c.ticket, "vote": satisfaction::json_code(c.score), "comment": c.text}))
            .collect(),
    );
    out.into()
}

/// Every figure as JSON.
pub fn render_json(report: &Report, calendar: &Calendar) -> Value {
    let local = |t: DateTime<Utc>| {
        t.with_timezone(&calendar.timezone())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    };
    let mut out = json!({
        "period": {"from": report.period.from.to_string(), "to": report.period.to.to_string()},
        "requests": {
            "total": report.total,
            "by_channel": report.by_channel,
            "by_level": report.by_level,
            "by_kind": report.by_kind,
            "by_outcome": report.by_outcome,
            "by_category": report.by_category,
            "per_day": report.per_day.iter().map(|(d, n)| (d.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        },
        "take_in": compliance_json(&report.take_in),
        "resolution": compliance_json(&report.resolution),
        "technicians": report.technicians.iter().map(|(op, t)| (op.clone(), json!({
            "name": report.names.get(op), "taken": t.taken, "resolved": t.resolved, "escalated": t.escalated,
            "reopened": t.reopened, "minutes_logged": t.minutes,
        }))).collect::<serde_json::Map<_, _>>(),
        "reopen_rate_percent": pct(report.reopen_rate),
        "incidents": { "count": report.incidents, "tickets": report.incident_tickets },
        "out_of_scope_rate_percent": pct(report.out_of_scope_rate),
        "suspension_days_used": report.suspension_days_used,
        "suspension_days_allowed": MAX_WORKING_DAYS_PER_YEAR,
        "topics": report.topics.iter().map(|(w, n)| json!({"term": w, "count": n})).collect::<Vec<_>>(),
        "satisfaction": satisfaction_json(report),
        "deemed_received": report.deemed.iter().map(|d| json!({
            "ticket": d.ticket, "received": local(d.received), "deemed": local(d.deemed),
        })).collect::<Vec<_>>(),
    });
    // Moved in rather than written inside `json!`, which would copy every breach once more.
    out["breaches"] = report
        .breaches
        .iter()
        .map(|b| {
            json!({
                "ticket": b.ticket, "channel": b.channel.as_str(), "level": b.level.number(), "clock": b.clock,
                "due": local(b.due), "actual": b.actual.map(local),
            })
        })
        .collect();
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The Italian word of a stored code in the CSV (channels, kinds, outcomes); anything else
/// (a category, a level) as it is.
fn csv_label(code: &str) -> &str {
    match code {
        "portal" => "portale",
        "email" => "e-mail",
        "phone" => "telefono",
        "problem" => "problema",
        "reminder" => "sollecito",
        "complaint" => "reclamo",
        "open" => "aperte",
        "resolved" => "risolte",
        "out_of_scope" => "fuori ambito",
        "-" => "non indicata",
        other => other,
    }
}

fn decimal(v: Option<f64>) -> String {
    // An Italian spreadsheet reads a decimal comma.
    v.map(|p| format!("{p:.1}").replace('.', ",")).unwrap_or_default()
}

/// The contract's rule for requests on closed days, as the CSV's legend states it (the HTML
/// page words it in `templates/<lang>/words/report.html`).
const DEEMED_NOTE_IT: &str = "le richieste effettuate nei giorni non lavorativi o festivi si intendono effettuate alle ore 9 del giorno lavorativo successivo e sono contate in quel giorno e nel suo mese";

/// What the satisfaction figures count, as the CSV's legend states it (the HTML page words it
/// in `templates/<lang>/words/report.html`).
const SATISFACTION_NOTE_IT: &str = "chiusure: richieste chiuse nel periodo con la lettera di chiusura, che offre il giudizio (positivo, neutro, negativo); un giudizio conta nel mese della sua chiusura; tasso di risposta: giudizi espressi su chiusure; le quote sono sui giudizi espressi; i commenti sono privati dei dati personali";

/// The name of the technician at `address` in the report's tables (the address when it is
/// not configured; "non indicato" for a closing without one on record).
fn technician_name(report: &Report, address: &str) -> String {
    if address == satisfaction::NO_TECHNICIAN {
        return "non indicato".into();
    }
    report
        .names
        .get(address)
        .cloned()
        .unwrap_or_else(|| address.to_string())
}

/// The report as CSV: `;`-separated, UTF-8 with BOM, one section after another.
pub fn render_csv(report: &Report, calendar: &Calendar) -> String {
    let mut out = String::from("\u{feff}");
    let local = |t: DateTime<Utc>| {
        t.with_timezone(&calendar.timezone())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let _ = writeln!(out, "sezione;voce;valore");
    let _ = writeln!(out, "periodo;dal;{}", report.period.from);
    let _ = writeln!(out, "periodo;al;{}", report.period.to);
    let _ = writeln!(out, "richieste;totale;{}", report.total);
    for (section, map) in [
        ("canale", &report.by_channel),
        ("livello", &report.by_level),
        ("tipo", &report.by_kind),
        ("esito", &report.by_outcome),
        ("categoria", &report.by_category),
    ] {
        for (k, v) in map {
            let _ = writeln!(out, "{section};{};{v}", csv_field(csv_label(k)));
        }
    }
    let _ = writeln!(
        out,
        "\nsla;canale/livello;rispettati;violati;in corso;percentuale;mediana min;90° percentile min"
    );
    for (name, map) in [("TP", &report.take_in), ("TR", &report.resolution)] {
        for (group, c) in map {
            let _ = writeln!(
                out,
                "{name};{group};{};{};{};{};{};{}",
                c.met,
                c.breached,
                c.pending,
                decimal(c.percent()),
                c.median().map(|m| m.to_string()).unwrap_or_default(),
                c.p90().map(|m| m.to_string()).unwrap_or_default()
            );
        }
    }
    let _ = writeln!(
        out,
        "\ntecnico;nome;prese in carico;risolte;secondo livello;riaperte;minuti registrati"
    );
    for (op, t) in &report.technicians {
        let name = report.names.get(op).cloned().unwrap_or_default();
        let _ = writeln!(
            out,
            "{};{};{};{};{};{};{}",
            csv_field(op),
            csv_field(&name),
            t.taken,
            t.resolved,
            t.escalated,
            t.reopened,
            t.minutes
        );
    }
    let _ = writeln!(out, "\nindicatore;valore");
    let _ = writeln!(out, "tasso di riapertura %;{}", decimal(report.reopen_rate));
    let _ = writeln!(out, "tasso fuori ambito %;{}", decimal(report.out_of_scope_rate));
    let _ = writeln!(
        out,
        "incidenti (richieste collegate);{} ({})",
        report.incidents, report.incident_tickets
    );
    let _ = writeln!(
        out,
        "giorni di sospensione usati;{} di {MAX_WORKING_DAYS_PER_YEAR}",
        report.suspension_days_used
    );
    let s = &report.satisfaction;
    let _ = writeln!(
        out,
        "\nsoddisfazione;gruppo;chiusure;giudizi;tasso di risposta %;positivi;neutri;negativi;positivi %;neutri %;negativi %"
    );
    let mut groups: Vec<(&str, String, &satisfaction::Votes)> = vec![("totale", String::new(), &s.total)];
    groups.extend(
        s.by_channel
            .iter()
            .map(|(k, v)| ("canale", csv_label(k).to_string(), v)),
    );
    groups.extend(s.by_level.iter().map(|(k, v)| ("livello", k.clone(), v)));
    groups.extend(
        s.by_technician
            .iter()
            .map(|(op, v)| ("tecnico", technician_name(report, op), v)),
    );
    for (section, group, v) in groups {
        let _ = writeln!(out, "{section};{};{}", csv_field(&group), open_data::vote_columns(v));
    }
    let _ = writeln!(out, "\ncommento alla richiesta;giudizio;testo");
    for c in &s.comments {
        let _ = writeln!(out, "{};{};{}", c.ticket, c.score.code(), csv_field(&c.text));
    }
    let _ = writeln!(out, "\ntema ricorrente;richieste");
    for (w, n) in &report.topics {
        let _ = writeln!(out, "{};{n}", csv_field(w));
    }
    let _ = writeln!(out, "\nlegenda;significato");
    let _ = writeln!(
        out,
        "TP;tempo di presa in carico: dalla ricezione (orario di servizio) alla conferma che nomina il tecnico"
    );
    let _ = writeln!(
        out,
        "TR;tempo di risoluzione: dall'invio della conferma di presa in carico alla comunicazione di chiusura (per chi non ha e-mail: la telefonata di chiusura registrata)"
    );
    let _ = writeln!(out, "giorni non lavorativi;{DEEMED_NOTE_IT}");
    let _ = writeln!(out, "soddisfazione;{SATISFACTION_NOTE_IT}");
    let _ = writeln!(
        out,
        "canale/livello;per TP il canale di arrivo (email, portal, phone), per TR il livello (1 primo, 2 secondo)"
    );
    let _ = writeln!(out, "\nricevuta in giorno non lavorativo;ricevuta;contata dal");
    for d in &report.deemed {
        let _ = writeln!(out, "{};{};{}", d.ticket, local(d.received), local(d.deemed));
    }
    let _ = writeln!(out, "\nviolazione;canale;livello;tempo;scadenza;effettivo");
    for b in &report.breaches {
        let _ = writeln!(
            out,
            "{};{};{};{};{};{}",
            b.ticket,
            csv_label(b.channel.as_str()),
            b.level.number(),
            b.clock,
            local(b.due),
            b.actual.map(local).unwrap_or_else(|| "non ancora".into())
        );
    }
    out
}

/// An instant in the calendar's time zone, to the minute, as the HTML report writes it
/// (`09/03/2026 08:35`). Written by hand: a year's report formats two instants per breach,
/// and chrono's `format` reads its pattern anew each time.
fn local_minute(calendar: &Calendar, t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&calendar.timezone());
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}",
        l.day(),
        l.month(),
        l.year(),
        l.hour(),
        l.minute()
    )
}

/// One row of the HTML report's breaches, as its template reads it (`ticket`, `channel`,
/// `level`, `clock`, `due`, `actual`). A year's report lists a breach per late clock, so the
/// rows are plain objects rather than maps built key by key.
#[derive(Debug)]
struct BreachRow {
    ticket: String,
    channel: &'static str,
    level: u8,
    clock: &'static str,
    due: String,
    actual: Option<String>,
}

impl minijinja::value::Object for BreachRow {
    fn get_value(self: &std::sync::Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        use minijinja::Value;
        Some(match key.as_str()? {
            "ticket" => Value::from(self.ticket.as_str()),
            "channel" => Value::from(self.channel),
            "level" => Value::from(self.level),
            "clock" => Value::from(self.clock),
            "due" => Value::from(self.due.as_str()),
            "actual" => Value::from(self.actual.as_deref()),
            _ => return None,
        })
    }
}

/// The report as one self-contained, printable HTML page with inline SVG charts: the page
/// `templates/pages/report.html` in `language`, times in the calendar's time zone.
pub fn render_html(
    report: &Report,
    calendar: &Calendar,
    templates: &Templates,
    language: Language,
    helpdesk: &str,
) -> anyhow::Result<String> {
    use minijinja::Value;
    // A decimal comma in Italian, as in the CSV.
    let one_decimal = |p: f64| match language {
        Language::It => format!("{p:.1}").replace('.', ","),
        Language::En => format!("{p:.1}"),
    };
    let percent = |v: Option<f64>| v.map(|p| format!("{} %", one_decimal(p))).unwrap_or_else(|| "–".into());
    let minutes = |v: Option<i64>| v.map(|m| m.to_string()).unwrap_or_else(|| "–".into());
    let pair = |label: Value, n: u32| Value::from(vec![label, Value::from(n)]);
    let pairs = |map: &BTreeMap<String, u32>| {
        Value::from_iter(map.iter().map(|(code, n)| pair(Value::from(code.as_str()), *n)))
    };
    let mut sla = Vec::new();
    let mut bars = Vec::new();
    for (clock, map) in [("TP", &report.take_in), ("TR", &report.resolution)] {
        for (group, c) in map {
            sla.push(vec![
                clock.to_string(),
                group.clone(),
                c.met.to_string(),
                c.breached.to_string(),
                percent(c.percent()),
                minutes(c.median()),
                minutes(c.p90()),
            ]);
            if let Some(p) = c.percent() {
                bars.push(context! { label => format!("{clock} {group}"), value => p, text => percent(Some(p)) });
            }
        }
    }
    let mut buckets = [
        ("0-15", 0),
        ("15-30", 0),
        ("30-45", 0),
        ("45-60", 0),
        ("60-90", 0),
        ("90+", 0),
    ];
    for c in report.take_in.values() {
        for m in &c.minutes {
            let i = match m {
                0..15 => 0,
                15..30 => 1,
                30..45 => 2,
                45..60 => 3,
                60..90 => 4,
                _ => 5,
            };
            buckets[i].1 += 1;
        }
    }
    let technicians: Vec<Vec<String>> = report
        .technicians
        .iter()
        .map(|(op, t)| {
            vec![
                report.names.get(op).cloned().unwrap_or_else(|| op.clone()),
                t.taken.to_string(),
                t.resolved.to_string(),
                t.escalated.to_string(),
                t.reopened.to_string(),
                format!("{}h{:02}", t.minutes / 60, t.minutes % 60),
            ]
        })
        .collect();
    let breaches = Value::from_iter(report.breaches.iter().map(|b| {
        Value::from_object(BreachRow {
            ticket: b.ticket.clone(),
            channel: b.channel.as_str(),
            level: b.level.number(),
            clock: b.clock,
            due: local_minute(calendar, b.due),
            actual: b.actual.map(|t| local_minute(calendar, t)),
        })
    }));
    let satisfaction = {
        let s = &report.satisfaction;
        let row = |kind: &str, code: String, v: &satisfaction::Votes| {
            context! {
                kind, code,
                closings => v.closings, votes => v.cast(), rate => percent(v.response_rate()),
                positive => v.positive, neutral => v.neutral, negative => v.negative,
                positive_share => percent(v.share(Score::Positive)),
                neutral_share => percent(v.share(Score::Neutral)),
                negative_share => percent(v.share(Score::Negative)),
            }
        };
        let mut rows = vec![row("total", String::new(), &s.total)];
        rows.extend(s.by_channel.iter().map(|(k, v)| row("channel", k.clone(), v)));
        rows.extend(s.by_level.iter().map(|(k, v)| row("level", k.clone(), v)));
        // The chart shows the groups of the service (all, channels, levels); people's figures
        // are in the table.
        let chart = rows.clone();
        rows.extend(s.by_technician.iter().map(|(op, v)| {
            let name = if op == satisfaction::NO_TECHNICIAN {
                op.clone()
            } else {
                report.names.get(op).cloned().unwrap_or_else(|| op.clone())
            };
            row("technician", name, v)
        }));
        let comments: Vec<Value> = s
            .comments
            .iter()
            .map(|c| context! { ticket => c.ticket.as_str(), face => c.score.code(), text => c.text.as_str() })
            .collect();
        context! {
            closings => s.total.closings,
            votes => s.total.cast(),
            rate => percent(s.total.response_rate()),
            rows,
            chart,
            comments,
        }
    };
    let context = context! {
        helpdesk,
        from => report.period.from.format("%d/%m/%Y").to_string(),
        to => report.period.to.format("%d/%m/%Y").to_string(),
        total => report.total,
        by_channel => pairs(&report.by_channel),
        by_level => pairs(&report.by_level),
        by_kind => pairs(&report.by_kind),
        by_outcome => pairs(&report.by_outcome),
        by_category => pairs(&report.by_category),
        per_day => Value::from_iter(
            report.per_day.iter().map(|(d, n)| pair(Value::from(d.format("%d").to_string()), *n)),
        ),
        sla,
        sla_bars => bars,
        distribution => Value::from_iter(buckets.iter().map(|(l, n)| pair(Value::from(*l), *n))),
        technicians,
        reopen_rate => percent(report.reopen_rate),
        out_of_scope_rate => percent(report.out_of_scope_rate),
        incidents => report.incidents,
        incident_tickets => report.incident_tickets,
        suspension_used => report.suspension_days_used,
        suspension_allowed => MAX_WORKING_DAYS_PER_YEAR,
        topics => report.topics.iter().map(|(t, n)| vec![t.clone(), n.to_string()]).collect::<Vec<_>>(),
        deemed => report
            .deemed
            .iter()
            .map(|d| vec![d.ticket.clone(), local_minute(calendar, d.received), local_minute(calendar, d.deemed)])
            .collect::<Vec<_>>(),
        breaches,
        satisfaction,
    };
    templates.page(language, "report", context)
}

/// Operators' names by address, for the per-technician table.
pub fn operator_names(config: &crate::config::Config) -> BTreeMap<String, String> {
    config
        .operators
        .iter()
        .map(|o| (o.email.clone(), o.name.clone()))
        .collect()
}

/// On the first working day of a month, mails last month's HTML report to
/// `[report] monthly_to`, once (inside the caller's transaction). Returns true when it did.
pub fn mail_monthly(conn: &Connection, ctx: &crate::workflow::Context<'_>) -> anyhow::Result<bool> {
    let config = ctx.config;
    if config.report_monthly_to.is_empty() {
        return Ok(false);
    }
    let today = local_day(ctx.calendar, ctx.now);
    let first_working = ctx
        .calendar
        .working_days(today.with_day(1).unwrap_or(today), today)
        .first()
        .copied();
    if first_working != Some(today) {
        return Ok(false);
    }
    let period = Period::last_month(today);
    let key = format!("{}..{}", period.from, period.to);
    if !store::report::mark_mailed(conn, &key, ctx.now)? {
        return Ok(false);
    }
    let data = gather(conn, ctx.calendar, period, ctx.now, operator_names(config))?;
    let report = compute(&data, ctx.calendar, &config.sla);
    let language = config.helpdesk.language;
    let html = render_html(&report, ctx.calendar, ctx.templates, language, &config.helpdesk.name)?;
    let letter = ctx.templates.render(
        language,
        "report",
        context! {
            from => period.from.to_string(),
            to => period.to.to_string(),
            total => report.total,
            breaches => report.breaches.len(),
        },
    )?;
    let to = config
        .report_monthly_to
        .iter()
        .map(|a| crate::notify::Recipient {
            name: None,
            address: a.clone(),
        })
        .collect();
    let mail = crate::notify::OutgoingMail {
        attachments: vec![(
            format!("consuntivo-{}.html", period.from.format("%Y-%m")),
            "text/html; charset=utf-8".into(),
            html.into_bytes(),
        )],
        ..crate::notify::OutgoingMail::automatic(MailPurpose::Report, None, to, letter)
    };
    crate::outbox::enqueue(conn, ctx.sender, &mail, ctx.now)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v = [5, 10, 20, 40, 80];
        assert_eq!(percentile(&v, 50), Some(20));
        assert_eq!(percentile(&v, 90), Some(80));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn last_month_is_the_previous_complete_month() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert_eq!(
            Period::last_month(d(2026, 3, 15)),
            Period {
                from: d(2026, 2, 1),
                to: d(2026, 2, 28)
            }
        );
        assert_eq!(
            Period::last_month(d(2026, 1, 1)),
            Period {
                from: d(2025, 12, 1),
                to: d(2025, 12, 31)
            }
        );
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .expect("instant")
    }

    /// March 2026 with one ticket and one late take-in, whatever the test puts in its text.
    fn march(subject: &str, category: &str, operator: &str, ticket: &str) -> ReportData {
        let d = |day| NaiveDate::from_ymd_opt(2026, 3, day).expect("date");
        ReportData {
            period: Period { from: d(1), to: d(31) },
            now: at("2026-04-02T08:00:00Z"),
            tickets: vec![TicketFacts {
                id: ticket.into(),
                subject: subject.into(),
                channel: Channel::Portal,
                level: Level::First,
                kind: crate::model::Kind::Problem,
                outcome: Some("resolved".into()),
                category: Some(category.into()),
                resolver: Some("op@example.org".into()),
                reopened: 0,
                created_at: at("2026-03-02T14:00:00Z"),
                master: None,
            }],
            cycles: vec![CycleFacts {
                ticket: ticket.into(),
                channel: Channel::Portal,
                level: Level::First,
                received_at: at("2026-03-02T14:00:00Z"),
                effective_start: at("2026-03-02T14:00:00Z"),
                take_in_due: at("2026-03-02T14:45:00Z"),
                take_in_done: Some(at("2026-03-02T15:30:00Z")),
                resolution_done: None,
            }],
            events: vec![CountedEvent {
                actor: "op@example.org".into(),
                action: EventAction::Resolved,
                operator: None,
                closer: None,
            }],
            time_logged: BTreeMap::new(),
            names: BTreeMap::from([("op@example.org".to_string(), operator.to_string())]),
            closings: Vec::new(),
        }
    }

    /// Issue 21, item 9: the report listed a technician called "giulia.bianchi@… è assente",
    /// read back from the free text of a reopening routed to the queue. Technicians come from
    /// the events' address columns only. And (issue 20) a reopening counts against the
    /// technician whose closing it undid wherever it was routed — back to them, to the queue
    /// because they were away, to a deputy —: the contract sends it back to "il tecnico che
    /// l'ha gestita e chiusa", and the figure says whose resolution did not hold.
    /// Issue 15, item 7: an incident is a master with the period's tickets linked to it.
    #[test]
    fn incidents_count_their_masters_and_tickets() {
        let calendar = Calendar::new(crate::sla::CalendarRules::default(), Vec::new());
        let mut data = march("Protocollo", "Protocollo", "Operatore", "TCK-2026-00010");
        let base = data.tickets[0].clone();
        let linked = |id: &str, master: &str| TicketFacts {
            id: id.into(),
            master: Some(master.into()),
            ..base.clone()
        };
        data.tickets.push(linked("TCK-2026-00011", "TCK-2026-00010"));
        data.tickets.push(linked("TCK-2026-00012", "TCK-2026-00010"));
        data.tickets.push(linked("TCK-2026-00021", "TCK-2026-00020"));
        let report = compute(&data, &calendar, &SlaBudgets::default());
        assert_eq!(
            (report.incidents, report.incident_tickets),
            (2, 5),
            "two masters, three linked"
        );
        assert!(render_csv(&report, &calendar).contains("incidenti (richieste collegate);2 (5)"));
        assert_eq!(
            render_json(&report, &calendar)["incidents"],
            serde_json::json!({"count": 2, "tickets": 5})
        );
    }

    #[test]
    fn a_reopening_counts_against_its_closer_wherever_it_was_routed() {
        let calendar = Calendar::new(crate::sla::CalendarRules::default(), Vec::new());
        let mut data = march("Firma", "Firma digitale", "Operatore", "TCK-2026-00001");
        let reopened = |operator: Option<&str>, closer: Option<&str>| CountedEvent {
            actor: "anna@example.org".into(),
            action: EventAction::Reopened,
            operator: operator.map(String::from),
            closer: closer.map(String::from),
        };
        // To the queue (the closer away), back to the closer, to the closer's deputy, and one
        // whose closing is not on record.
        data.events.push(reopened(None, Some("op@example.org")));
        data.events
            .push(reopened(Some("op@example.org"), Some("op@example.org")));
        data.events
            .push(reopened(Some("deputy@example.org"), Some("op@example.org")));
        data.events.push(reopened(None, None));
        let report = compute(&data, &calendar, &SlaBudgets::default());
        let names: Vec<&String> = report.technicians.keys().collect();
        assert_eq!(names, ["op@example.org"], "no technician made of an event's text");
        assert_eq!(report.technicians["op@example.org"].reopened, 3);
        assert_eq!(report.technicians["op@example.org"].resolved, 1);
        assert_eq!(report.reopen_rate, Some(400.0), "4 reopenings of 1 closing");
    }

    #[test]
    fn the_html_report_escapes_every_value_it_shows() {
        let calendar = Calendar::new(crate::sla::CalendarRules::default(), Vec::new());
        let hostile = "<script>alert(1)</script>";
        let data = march(hostile, &format!("{hostile}&co"), "<b>Op</b>", "<i>TCK</i>");
        let report = compute(&data, &calendar, &SlaBudgets::default());
        let templates = Templates::load(None).expect("templates");
        let html = render_html(
            &report,
            &calendar,
            &templates,
            Language::It,
            "<img src=x onerror=alert(2)>",
        )
        .expect("html");
        assert!(
            !html.contains("<script") && !html.contains("<b>") && !html.contains("<i>") && !html.contains("<img"),
            "{html}"
        );
        for escaped in [
            "&lt;img src=x onerror=alert(2)&gt; · Periodo",
            "<td>&lt;script&gt;alert(1)&lt;/script&gt;&amp;co</td>",
            "<td>&lt;b&gt;Op&lt;/b&gt;</td>",
            "<td>&lt;i&gt;TCK&lt;/i&gt;</td>",
        ] {
            assert!(html.contains(escaped), "{escaped} missing:\n{html}");
        }
    }

    #[test]
    fn the_html_report_follows_the_language_and_the_calendar_s_time_zone() {
        let rules = crate::sla::CalendarRules {
            timezone: chrono_tz::Asia::Tokyo,
            ..Default::default()
        };
        let calendar = Calendar::new(rules, Vec::new());
        let report = compute(
            &march("Firma", "Firma digitale", "Giulia", "TCK-2026-00001"),
            &calendar,
            &SlaBudgets::default(),
        );
        let templates = Templates::load(None).expect("templates");
        let html = render_html(&report, &calendar, &templates, Language::En, "Help desk").expect("html");
        assert!(
            html.contains("<html lang=\"en\">") && html.contains("<h2>Breaches</h2>"),
            "{html}"
        );
        // 14:45 and 15:30 UTC are 23:45 and 00:30 the next day in Tokyo.
        assert!(
            html.contains("<td>TCK-2026-00001</td><td>portal</td><td>1</td><td>TP</td><td>02/03/2026 23:45</td><td>03/03/2026 00:30</td>"),
            "{html}"
        );
        let italian = render_html(&report, &calendar, &templates, Language::It, "Help desk").expect("html");
        assert!(
            italian.contains("<td>portale</td>") && italian.contains("<td>risolte</td><td>1</td>"),
            "{italian}"
        );
    }

    /// The satisfaction section: figures, an accessible chart (title, description, a table
    /// as its text alternative), the comments escaped, in both languages.
    #[test]
    fn the_satisfaction_section_has_an_accessible_chart_and_its_table() {
        let calendar = Calendar::new(crate::sla::CalendarRules::default(), Vec::new());
        let mut data = march("Firma", "Firma digitale", "Giulia", "TCK-2026-00001");
        let closing = |n: u32, channel, score: Option<u8>, comment: &str| Closing {
            ticket: format!("TCK-2026-{n:05}"),
            channel,
            level: Level::First,
            technician: Some("op@example.org".into()),
            resolved_at: at("2026-03-10T10:00:00Z"),
            score: score.and_then(Score::from_number),
            comment: comment.into(),
        };
        data.closings = vec![
            closing(1, Channel::Email, Some(1), ""),
            closing(2, Channel::Email, Some(3), "<b>Lento</b> & confuso"),
            closing(3, Channel::Email, None, ""),
            closing(4, Channel::Portal, Some(2), ""),
        ];
        let report = compute(&data, &calendar, &SlaBudgets::default());
        let templates = Templates::load(None).expect("templates");
        let html = render_html(&report, &calendar, &templates, Language::It, "Help desk").expect("html");
        for needle in [
            "<h2>Soddisfazione degli utenti (Mettiamoci la faccia)</h2>",
            "<p class=\"big\">3 giudizi su 4 chiusure: tasso di risposta 75,0 %.</p>",
            "<svg role=\"img\" aria-labelledby=\"sat-chart-title sat-chart-desc\"",
            "<title id=\"sat-chart-title\">Giudizi positivi, neutri e negativi per canale e per livello</title><desc id=\"sat-chart-desc\">",
            // All: 1 of each face, 127 + 126 + 127 units; e-mail 1 positive, 1 negative: 190 each.
            "<rect x=\"150\" y=\"30\" width=\"127\" height=\"16\" fill=\"#0066cc\"",
            "<rect x=\"340\" y=\"54\" width=\"190\" height=\"16\" fill=\"#b71c1c\"",
            "<text x=\"435\" y=\"66\" font-size=\"11\" fill=\"#ffffff\" text-anchor=\"middle\">50,0 %</text>",
            "<text x=\"538\" y=\"67\" font-size=\"13\">2 giudizi</text>",
            "<th scope=\"row\">Tutte le chiusure</th><td>4</td><td>3</td><td>75,0 %</td><td>1 (33,3 %)</td><td>1 (33,3 %)</td><td>1 (33,3 %)</td>",
            "<th scope=\"row\">Canale: e-mail</th><td>3</td><td>2</td><td>66,7 %</td>",
            "<th scope=\"row\">Livello 1</th><td>4</td>",
            "<th scope=\"row\">Tecnico: Giulia</th><td>4</td>",
            "<td>TCK-2026-00002</td><td>negativo</td><td>&lt;b&gt;Lento&lt;/b&gt; &amp; confuso</td>",
        ] {
            assert!(html.contains(needle), "{needle} missing:\n{html}");
        }
        assert!(!html.contains("<b>Lento"), "{html}");
        // The chart leaves the technicians to the table: all, two channels, one level.
        let chart = &html
            [html.find("sat-chart-title").expect("chart")..html.find("</svg>\n<table><caption>").expect("chart's end")];
        assert_eq!(chart.matches("font-size=\"13\">Tecnico").count(), 0, "{chart}");
        assert_eq!(
            chart.matches("giudizi</text>").count() + chart.matches("giudizio</text>").count(),
            4,
            "{chart}"
        );
        let english = render_html(&report, &calendar, &templates, Language::En, "Help desk").expect("html");
        assert!(
            english.contains("<p class=\"big\">3 votes on 4 closings: response rate 75.0 %.</p>")
                && english.contains("<td>TCK-2026-00002</td><td>negative</td>"),
            "{english}"
        );
        // JSON and CSV carry the same figures.
        let json = render_json(&report, &calendar);
        assert_eq!(json["satisfaction"]["closings"], 4);
        assert_eq!(json["satisfaction"]["response_rate_percent"], 75.0);
        assert_eq!(json["satisfaction"]["by_channel"]["portal"]["neutral_percent"], 100.0);
        assert_eq!(
            json["satisfaction"]["by_technician"]["op@example.org"]["name"],
            "Giulia"
        );
        assert_eq!(
            json["satisfaction"]["comments"],
            serde_json::json!([{"ticket": "TCK-2026-00002", "vote": "negative", "comment": "<b>Lento</b> & confuso"}])
        );
        let csv = render_csv(&report, &calendar);
        for row in [
            "totale;;4;3;75,0;1;1;1;33,3;33,3;33,3",
            "canale;e-mail;3;2;66,7;1;0;1;50,0;0,0;50,0",
            "tecnico;Giulia;4;3;75,0;1;1;1;33,3;33,3;33,3",
            "TCK-2026-00002;negativo;<b>Lento</b> & confuso",
        ] {
            assert!(csv.contains(row), "{row} missing:\n{csv}");
        }
    }

    #[test]
    fn without_closings_the_section_says_so() {
        let calendar = Calendar::new(crate::sla::CalendarRules::default(), Vec::new());
        let report = compute(
            &march("Firma", "Firma digitale", "Giulia", "TCK-2026-00001"),
            &calendar,
            &SlaBudgets::default(),
        );
        let templates = Templates::load(None).expect("templates");
        let html = render_html(&report, &calendar, &templates, Language::It, "Help desk").expect("html");
        assert!(
            html.contains("<p>Nessuna richiesta è stata chiusa con la lettera di chiusura nel periodo.</p>")
                && !html.contains("sat-chart-title"),
            "{html}"
        );
    }

    #[test]
    fn csv_escapes_separators_and_uses_a_decimal_comma() {
        assert_eq!(csv_field("a;b"), "\"a;b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(decimal(Some(66.666)), "66,7");
    }
}
