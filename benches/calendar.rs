//! Throughput of the SLA calendar (a `harness = false` bench: plain `fn main` printing
//! figures; run with `cargo bench --bench calendar`).
//!
//! Generates 1,000,000 pseudo-random requests (fixed-seed xorshift, received instants
//! spread over 2025–2027, random channel and level), computes for each the effective
//! start, the take-in due and the resolution due (taken in exactly at the take-in due),
//! and compares the time with a baseline loop that only converts each instant to local
//! time with chrono-tz, measured in the same run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use sportello::model::{Channel, Level};
use sportello::sla::{Calendar, CalendarRules, LocalHoliday, SlaBudgets, resolution_due, take_in_due};

const REQUESTS: usize = 1_000_000;
const ROUNDS: usize = 5;

/// xorshift64* with a fixed seed: reproducible and dependency-free.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn midnight_utc(y: i32, m: u32, d: u32) -> i64 {
    NaiveDate::from_ymd_opt(y, m, d)
        .expect("valid constant date")
        .and_hms_opt(0, 0, 0)
        .expect("valid constant time")
        .and_utc()
        .timestamp()
}

/// Best (smallest) wall time of `ROUNDS` runs of `f`, and the last checksum.
fn best_of(mut f: impl FnMut() -> i64) -> (Duration, i64) {
    let mut best = Duration::MAX;
    let mut sum = 0;
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        sum = black_box(f());
        best = best.min(t0.elapsed());
    }
    (best, sum)
}

fn main() {
    let lo = midnight_utc(2025, 1, 1);
    let hi = midnight_utc(2028, 1, 1);
    let span = u64::try_from(hi - lo).expect("positive span");
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let channels = [Channel::Portal, Channel::Email, Channel::Phone];
    let levels = [Level::First, Level::Second];
    let requests: Vec<(DateTime<Utc>, Channel, Level)> = (0..REQUESTS)
        .map(|_| {
            let r = rng.next();
            let offset = i64::try_from(r % span).expect("fits");
            let received = DateTime::from_timestamp(lo + offset, 0).expect("in range");
            let channel = channels[(r >> 40) as usize % 3];
            let level = levels[(r >> 50) as usize % 2];
            (received, channel, level)
        })
        .collect();

    let rules = CalendarRules {
        local_holidays: vec![LocalHoliday {
            month: 6,
            day: 29,
            name: "Santi Pietro e Paolo".to_string(),
        }],
        ..CalendarRules::default()
    };
    let tz = rules.timezone;
    let budgets = SlaBudgets::default();

    let t0 = Instant::now();
    let cal = Calendar::new(rules, Vec::new());
    let build = t0.elapsed();

    let run = |cal: &Calendar| -> i64 {
        let mut sum = 0i64;
        for &(received, channel, level) in &requests {
            let (start, take_in) = take_in_due(cal, &budgets, channel, black_box(received));
            let resolution = resolution_due(cal, &budgets, level, take_in);
            sum = sum.wrapping_add(start.timestamp() ^ take_in.timestamp() ^ resolution.timestamp());
        }
        sum
    };

    // First pass on a fresh calendar: includes filling the lazy per-day cache.
    let t0 = Instant::now();
    let cold_sum = black_box(run(&cal));
    let cold = t0.elapsed();

    let (warm, warm_sum) = best_of(|| run(&cal));
    assert_eq!(cold_sum, warm_sum, "the cache must not change results");

    let (baseline, _) = best_of(|| {
        let mut sum = 0i64;
        for &(received, _, _) in &requests {
            let local = black_box(received).with_timezone(&tz).naive_local();
            sum = sum.wrapping_add(local.and_utc().timestamp());
        }
        sum
    });

    let per = |d: Duration| d.as_nanos() as f64 / REQUESTS as f64;
    println!("SLA calendar bench: {REQUESTS} requests received 2025-2027 (Europe/Rome)");
    println!(
        "  Calendar::new                               {:>10.3} ms",
        build.as_secs_f64() * 1e3
    );
    println!(
        "  first pass (fills the lazy cache)           {:>10.3} ms  {:>7.1} ns/request",
        cold.as_secs_f64() * 1e3,
        per(cold)
    );
    println!(
        "  effective start + take-in + resolution due  {:>10.3} ms  {:>7.1} ns/request  (best of {ROUNDS})",
        warm.as_secs_f64() * 1e3,
        per(warm)
    );
    println!(
        "  baseline: UTC -> local conversion only      {:>10.3} ms  {:>7.1} ns/instant  (best of {ROUNDS})",
        baseline.as_secs_f64() * 1e3,
        per(baseline)
    );
    println!(
        "  ratio deadlines / baseline                  {:>10.2}x",
        warm.as_secs_f64() / baseline.as_secs_f64()
    );
    println!("  checksum {warm_sum}");
}
