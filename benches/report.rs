//! The accounting report over a year with 100,000 tickets (goal: under a second).
//!
//! Fills a fresh database with a year of generated tickets, cycles and audit events, then
//! times gather + compute + render (JSON and HTML) for the whole year. The baseline, measured
//! in the same run, is a bare scan that reads the same rows without computing anything.

use std::time::Instant;

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use rusqlite::params;
use sportello::config::Language;
use sportello::notify::templates::Templates;
use sportello::report::{Period, compute, gather, render_html, render_json};
use sportello::sla::{Calendar, CalendarRules, SlaBudgets};
use sportello::store::{Store, ts};

const TICKETS: u32 = 100_000;

fn fill(store: &mut Store) {
    let tx = store.write().expect("tx");
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).single().expect("date");
    let mut state = 0x9e37_79b9_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let subjects = [
        "Firma digitale non valida",
        "Pagamento pagoPA",
        "Accesso SPID",
        "Caricamento file",
        "PDF/A",
    ];
    let channels = ["portal", "email", "phone"];
    let operators = ["giulia.bianchi@comune.example.it", "marco.rossi@comune.example.it"];
    for n in 1..=TICKETS {
        let received = start + TimeDelta::seconds((next() % (364 * 86_400)) as i64);
        let id = format!("TCK-2026-{n:05}");
        let channel = channels[(next() % 3) as usize];
        let resolved = next() % 10 < 8;
        let op = operators[(next() % 2) as usize];
        tx.execute(
            "INSERT INTO tickets (id, year, number, subject, status, level, channel, kind, requester_email, secret,
                 created_at, updated_at, outcome, resolver)
             VALUES (?1, 2026, ?2, ?3, ?4, 1, ?5, 'problem', 'x@example.org', 's', ?6, ?6, ?7, ?8)",
            params![
                id,
                n,
                subjects[(next() % 5) as usize],
                if resolved { "resolved" } else { "assigned" },
                channel,
                ts(received),
                resolved.then_some("resolved"),
                resolved.then_some(op)
            ],
        )
        .expect("ticket");
        let taken = received + TimeDelta::minutes((next() % 90) as i64);
        let done = taken + TimeDelta::minutes((next() % 600) as i64);
        tx.execute(
            "INSERT INTO cycles (ticket_id, number, received_at, effective_start, take_in_due, take_in_at,
                 take_in_phone_at, level, resolution_due, resolved_at)
             VALUES (?1, 1, ?2, ?2, ?3, ?4, ?4, 1, ?5, ?6)",
            params![
                id,
                ts(received),
                ts(received + TimeDelta::minutes(45)),
                ts(taken),
                ts(taken + TimeDelta::hours(6)),
                resolved.then_some(ts(done))
            ],
        )
        .expect("cycle");
        tx.execute(
            "INSERT INTO events (ticket_id, at, actor, action, detail) VALUES (?1, ?2, ?3, 'assigned', ?3)",
            params![id, ts(taken), op],
        )
        .expect("event");
        if resolved {
            tx.execute(
                "INSERT INTO events (ticket_id, at, actor, action, detail) VALUES (?1, ?2, ?3, 'resolved', '')",
                params![id, ts(done), op],
            )
            .expect("event");
        }
    }
    tx.commit().expect("commit");
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("sportello.db")).expect("store");
    let t = Instant::now();
    fill(&mut store);
    println!(
        "report benchmark: {TICKETS} tickets over 2026 (filled in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let calendar = Calendar::new(CalendarRules::default(), Vec::new());
    let period = Period {
        from: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
        to: NaiveDate::from_ymd_opt(2026, 12, 31).expect("date"),
    };
    let now = Utc.with_ymd_and_hms(2027, 1, 10, 9, 0, 0).single().expect("date");

    let t = Instant::now();
    let scanned: i64 = store
        .conn()
        .query_row(
            "SELECT (SELECT count(*) FROM tickets) + (SELECT count(*) FROM cycles) + (SELECT count(*) FROM events)",
            [],
            |r| r.get(0),
        )
        .expect("scan");
    let baseline = t.elapsed();

    let templates = Templates::load(None).expect("templates");
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let data = gather(store.conn(), &calendar, period, now, Default::default()).expect("gather");
        let report = compute(&data, &calendar, &SlaBudgets::default());
        let json = render_json(&report, &calendar);
        let html = render_html(&report, &calendar, &templates, Language::It, "Help desk CPortal").expect("html");
        assert_eq!(json["requests"]["total"], TICKETS);
        assert!(html.len() > 1000);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "  baseline: count the {scanned} rows        {:>8.3} s",
        baseline.as_secs_f64()
    );
    // The interactive commands over the same 100,000 tickets.
    let timed = |label: &str, work: &dyn Fn() -> usize| {
        let t = Instant::now();
        let n = work();
        println!("  {label:<44} {:>8.3} s  ({n} rows)", t.elapsed().as_secs_f64());
    };
    timed("tickets (list every ticket with its counts)", &|| {
        sportello::store::tickets::list_tickets(store.conn(), false)
            .expect("list")
            .len()
    });
    timed("tickets --open", &|| {
        sportello::store::tickets::list_tickets(store.conn(), true)
            .expect("list")
            .len()
    });
    timed("ticket show (one ticket, events, messages)", &|| {
        let id = "TCK-2026-54321".parse().expect("id");
        sportello::store::tickets::find_ticket(store.conn(), id)
            .expect("find")
            .map_or(0, |_| 1)
            + sportello::store::tickets::ticket_events(store.conn(), id)
                .expect("events")
                .len()
    });
    timed("sla status (every open ticket's clock)", &|| {
        sportello::monitor::open_standings(store.conn(), &calendar, &Default::default(), now, 75)
            .expect("standings")
            .len()
    });
    println!(
        "  report of the year (gather+compute+JSON+HTML, best of 3) {:>8.3} s  (goal < 1 s)",
        best
    );
}
