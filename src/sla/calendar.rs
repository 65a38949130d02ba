//! The business calendar: which days the help desk is closed (and why), and how much
//! *business time* passes between two instants.
//!
//! This module is pure: no I/O and no clock. Every instant is an argument, so the same
//! inputs always give the same answers.
//!
//! # Rules (from the contract)
//!
//! * **Wall clock.** Business hours are read on the wall clock of a configured time zone
//!   ([`CalendarRules::timezone`], default `Europe/Rome`), daylight-saving changes
//!   included. Every instant going in or out of this module is a `DateTime<Utc>`; the
//!   conversion to local time happens inside.
//! * **Service windows.** A sorted, non-overlapping list of local `(start, end)` times,
//!   default 08:00–13:00 and 14:00–17:00, Monday to Friday. A window includes its start
//!   and excludes its end.
//! * **Closed days.** Saturdays and Sundays; the Italian national holidays — 1 Jan
//!   (Capodanno), 6 Jan (Epifania), Easter Monday (Lunedì dell'Angelo, Gregorian computus
//!   for any year, see [`easter_sunday`]), 25 Apr (Festa della Liberazione), 1 May (Festa
//!   del Lavoro), 2 Jun (Festa della Repubblica), 15 Aug (Ferragosto), 4 Oct (San Francesco
//!   d'Assisi, **only from 2026 on**), 1 Nov (Ognissanti), 8 Dec (Immacolata Concezione),
//!   25 Dec (Natale), 26 Dec (Santo Stefano); the configured local holidays (month and
//!   day, every year, e.g. the patron saint on 06-29); the configured extra closed days;
//!   every day of a [`Suspension`] (inclusive date range). A *working day* is a day that
//!   is not closed. The list of national holidays is applied to every year as it is
//!   today: only San Francesco has a start year (the historical changes before 2001 are
//!   not modelled).
//! * **Effective start** ([`Calendar::effective_start`]). A request received on a closed
//!   day counts as received at [`CalendarRules::closed_day_start`] (default 09:00) local
//!   time of the next working day. A request received on a working day is taken at its
//!   real time, even before the first window, in the lunch gap or after the last window:
//!   then the clock simply waits for the next window.
//! * **Business time** passes only inside the windows of working days, second by second
//!   of real (UTC) time. The deadline for a budget ([`Calendar::add_business`]) is the
//!   *earliest* instant at which the business time elapsed since the start equals the
//!   budget, so it may be the end of a window (12:30 + 30 min = 13:00 the same day, not
//!   14:00). A budget of 0 (or less) gives the start itself, even when the start is
//!   outside a window: no business time has to pass, so nothing has to wait.
//! * **Precision.** Whole seconds. Sub-second parts of the inputs are discarded (every
//!   instant is rounded down to its second) before any computation, and every instant
//!   returned has no sub-second part.
//!
//! # Choices where the contract is silent
//!
//! * When a day has several closing reasons, [`Calendar::closed_reason`] reports the first
//!   of: Saturday, Sunday, national holiday, local holiday, extra closed day, suspension.
//!   The weekly closure comes first because it does not depend on any decision;
//!   [`Calendar::holidays`] still lists a named holiday falling on a weekend (with
//!   `on_weekend: true`). The same order decides whether a suspension day "costs" a
//!   working day (see the `suspension` module).
//! * Daylight saving: a local wall-clock time `t` of a given day is the *first* instant at
//!   which the local clock shows `t` or later. So a time repeated when clocks go back is
//!   its first occurrence, and a time skipped when clocks go forward is the instant of the
//!   change. Business time is real elapsed time: a window that contains a change is one
//!   hour shorter or longer that day. (In `Europe/Rome` the changes happen on Sunday
//!   nights, so they never touch a window.)
//! * Instants outside the years 1..=9999 are clamped into that range before walking the
//!   calendar. A deadline that cannot be reached — past year 9999, or a calendar without
//!   any business time for [`UNREACHABLE_AFTER_DAYS`] consecutive days (e.g. no windows
//!   at all) — is reported as `DateTime::<Utc>::MAX_UTC` ("never"), without panicking.
//! * [`Calendar::new`] normalises the windows (drops empty ones, sorts them and merges
//!   overlapping ones); [`CalendarRules::validate`] reports such problems to the caller
//!   that wants to refuse a bad configuration instead.
//!
//! # Performance
//!
//! Per-day facts (closed or not, and the UTC offset when it is the same for the whole
//! local day) are precomputed lazily in blocks of 256 days for the years 1900..=2200, in
//! `OnceLock`s, so a [`Calendar`] is `Send + Sync` and can be shared between threads.
//! Lookups for those days are O(1) array reads, and local times of an ordinary day are
//! converted with plain arithmetic instead of a time-zone lookup. Days outside that
//! range (and the rare days with an offset change) are computed directly. Walking the
//! calendar skips a whole working day at once when the remaining budget exceeds it.

use std::fmt;
use std::sync::OnceLock;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

/// Seconds in a civil day (UTC has no leap seconds in `chrono` arithmetic).
const SECS_PER_DAY: i64 = 86_400;
/// `NaiveDate::num_days_from_ce` of 1970-01-01: turns chrono's day count into days since
/// the Unix epoch, the numbering used internally ("day numbers").
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;
/// First year whose days are cached.
const CACHE_FIRST_YEAR: i32 = 1900;
/// Last year whose days are cached (the last block may run a little past it).
const CACHE_LAST_YEAR: i32 = 2200;
/// Days per cache block, as a power of two so that block and slot are shifts and masks.
const BLOCK_SHIFT: u32 = 8;
const BLOCK_DAYS: usize = 1 << BLOCK_SHIFT;
/// Marks a day whose UTC offset is not the same from its local midnight to the next.
const NON_UNIFORM: i32 = i32::MIN;
/// Widest distance between a local wall-clock time and UTC that the gap search assumes
/// (real offsets stay within about ±16 h, even historical local mean times).
const MAX_OFFSET_SECS: i64 = 26 * 3600;

/// How many consecutive days without any business time a walk tolerates before it
/// declares a deadline (or an opening) unreachable and answers `DateTime::<Utc>::MAX_UTC`.
/// Ten years: no real calendar is closed that long, only a broken one (e.g. no windows).
pub const UNREACHABLE_AFTER_DAYS: i64 = 3660;

/// One service window of a working day, in local wall-clock time: business time passes
/// from `start` (included) to `end` (excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// Local time at which the window opens.
    pub start: NaiveTime,
    /// Local time at which the window closes (a window cannot run past 23:59:59).
    pub end: NaiveTime,
}

impl Window {
    /// A window from hours and minutes, e.g. `Window::hm(8, 0, 13, 0)`; `None` if a time is
    /// invalid. It does not check that `start < end` (see [`CalendarRules::validate`]).
    pub const fn hm(start_h: u32, start_m: u32, end_h: u32, end_m: u32) -> Option<Window> {
        match (
            NaiveTime::from_hms_opt(start_h, start_m, 0),
            NaiveTime::from_hms_opt(end_h, end_m, 0),
        ) {
            (Some(start), Some(end)) => Some(Window { start, end }),
            _ => None,
        }
    }

    /// Nominal length in whole seconds (0 if `end <= start`).
    pub fn seconds(&self) -> i64 {
        let start = i64::from(self.start.num_seconds_from_midnight());
        let end = i64::from(self.end.num_seconds_from_midnight());
        (end - start).max(0)
    }
}

/// Why a day is closed. See the module documentation for the order used when several
/// reasons apply to the same day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClosedReason {
    /// Every Saturday.
    Saturday,
    /// Every Sunday.
    Sunday,
    /// An Italian national holiday, with its Italian name (e.g. `"Natale"`).
    National(&'static str),
    /// A configured local holiday, with its configured name.
    Local(String),
    /// A configured extra closed day.
    Extra,
    /// A day of a service suspension, with the suspension's reason.
    Suspension(String),
}

impl ClosedReason {
    /// Italian label for users, e.g. `"domenica"`, `"festa nazionale: Natale"`.
    pub fn label_it(&self) -> String {
        match self {
            ClosedReason::Saturday => "sabato".to_string(),
            ClosedReason::Sunday => "domenica".to_string(),
            ClosedReason::National(name) => format!("festa nazionale: {name}"),
            ClosedReason::Local(name) => format!("festa locale: {name}"),
            ClosedReason::Extra => "chiusura straordinaria".to_string(),
            ClosedReason::Suspension(reason) => format!("sospensione del servizio: {reason}"),
        }
    }

    /// English label for logs and operators, e.g. `"Sunday"`, `"national holiday: Natale"`.
    /// This is also the `Display` form.
    pub fn label_en(&self) -> String {
        match self {
            ClosedReason::Saturday => "Saturday".to_string(),
            ClosedReason::Sunday => "Sunday".to_string(),
            ClosedReason::National(name) => format!("national holiday: {name}"),
            ClosedReason::Local(name) => format!("local holiday: {name}"),
            ClosedReason::Extra => "extra closed day".to_string(),
            ClosedReason::Suspension(reason) => format!("service suspension: {reason}"),
        }
    }

    /// The kind of named closure, or `None` for a plain weekend day.
    pub fn kind(&self) -> Option<HolidayKind> {
        match self {
            ClosedReason::Saturday | ClosedReason::Sunday => None,
            ClosedReason::National(_) => Some(HolidayKind::National),
            ClosedReason::Local(_) => Some(HolidayKind::Local),
            ClosedReason::Extra => Some(HolidayKind::Extra),
            ClosedReason::Suspension(_) => Some(HolidayKind::Suspension),
        }
    }
}

impl fmt::Display for ClosedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label_en())
    }
}

/// The kind of a named closed day; the order of the variants is the order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HolidayKind {
    /// Italian national holiday.
    National,
    /// Configured local holiday (every year).
    Local,
    /// Configured extra closed day (one date).
    Extra,
    /// Day of a service suspension.
    Suspension,
}

impl HolidayKind {
    /// Italian label, e.g. `"festa nazionale"`.
    pub fn label_it(self) -> &'static str {
        match self {
            HolidayKind::National => "festa nazionale",
            HolidayKind::Local => "festa locale",
            HolidayKind::Extra => "chiusura straordinaria",
            HolidayKind::Suspension => "sospensione del servizio",
        }
    }

    /// English label, e.g. `"national holiday"`.
    pub fn label_en(self) -> &'static str {
        match self {
            HolidayKind::National => "national holiday",
            HolidayKind::Local => "local holiday",
            HolidayKind::Extra => "extra closed day",
            HolidayKind::Suspension => "service suspension",
        }
    }
}

/// A named closed day of a year, as listed by [`Calendar::holidays`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Holiday {
    /// The local date.
    pub date: NaiveDate,
    /// Italian name of a national holiday, configured name of a local one,
    /// `"Chiusura straordinaria"` for an extra closed day, the reason of a suspension.
    pub name: String,
    /// What kind of closure it is.
    pub kind: HolidayKind,
    /// True when the date is a Saturday or a Sunday (closed anyway).
    pub on_weekend: bool,
}

/// A service suspension: every day from `from` to `to`, both included, is closed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Suspension {
    /// First closed day.
    pub from: NaiveDate,
    /// Last closed day (included).
    pub to: NaiveDate,
    /// Why the service is suspended (shown to users).
    pub reason: String,
}

impl Suspension {
    /// True if `day` is one of the suspended days.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// True if the two suspensions share at least one day (both must have `from <= to`).
    pub fn overlaps(&self, other: &Suspension) -> bool {
        self.from <= other.to && other.from <= self.to
    }
}

/// A local holiday repeated every year on the same month and day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalHoliday {
    /// Month, 1..=12.
    pub month: u32,
    /// Day of the month, 1..=31.
    pub day: u32,
    /// Name shown to users, e.g. `"Santi Pietro e Paolo"`.
    pub name: String,
}

impl LocalHoliday {
    /// The date of this holiday in `year`, or `None` if it does not exist that year
    /// (29 February in a common year, or an invalid month/day, which never matches).
    pub fn date_in(&self, year: i32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
    }
}

/// The configurable part of the calendar (the contract defaults come from `Default`).
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarRules {
    /// Time zone of the wall clock (default `Europe/Rome`).
    pub timezone: Tz,
    /// Service windows of every working day, sorted and non-overlapping
    /// (default 08:00–13:00 and 14:00–17:00).
    pub windows: Vec<Window>,
    /// Local time at which a request received on a closed day counts as received, on the
    /// next working day (default 09:00).
    pub closed_day_start: NaiveTime,
    /// Local holidays repeated every year (default none).
    pub local_holidays: Vec<LocalHoliday>,
    /// Single extra closed days (default none).
    pub extra_closed_days: Vec<NaiveDate>,
}

/// 08:00–13:00, checked at compile time.
const MORNING: Window = match Window::hm(8, 0, 13, 0) {
    Some(w) => w,
    None => panic!("08:00-13:00 is a valid window"),
};
/// 14:00–17:00, checked at compile time.
const AFTERNOON: Window = match Window::hm(14, 0, 17, 0) {
    Some(w) => w,
    None => panic!("14:00-17:00 is a valid window"),
};
/// 09:00, checked at compile time.
const NINE: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(t) => t,
    None => panic!("09:00 is a valid time"),
};

impl Default for CalendarRules {
    fn default() -> Self {
        CalendarRules {
            timezone: chrono_tz::Europe::Rome,
            windows: vec![MORNING, AFTERNOON],
            closed_day_start: NINE,
            local_holidays: Vec::new(),
            extra_closed_days: Vec::new(),
        }
    }
}

/// A problem found by [`CalendarRules::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesError {
    /// There is no window at all: no business time would ever pass.
    NoWindows,
    /// Window number `index` (from 0) does not end after it starts.
    EmptyWindow {
        /// Position in the list.
        index: usize,
        /// The offending window.
        window: Window,
    },
    /// Window number `index` starts before the previous one ends.
    UnsortedWindows {
        /// Position in the list.
        index: usize,
        /// The offending window.
        window: Window,
    },
    /// A local holiday with a month/day that exists in no year.
    InvalidLocalHoliday {
        /// The offending holiday.
        holiday: LocalHoliday,
    },
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RulesError::NoWindows => f.write_str("no service window is configured"),
            RulesError::EmptyWindow { index, window } => write!(
                f,
                "service window #{} ({}-{}) does not end after it starts",
                index + 1,
                window.start,
                window.end
            ),
            RulesError::UnsortedWindows { index, window } => write!(
                f,
                "service window #{} ({}-{}) starts before the previous one ends",
                index + 1,
                window.start,
                window.end
            ),
            RulesError::InvalidLocalHoliday { holiday } => write!(
                f,
                "local holiday {:02}-{:02} ({}) is not a valid date",
                holiday.month, holiday.day, holiday.name
            ),
        }
    }
}

impl std::error::Error for RulesError {}

impl CalendarRules {
    /// Checks what [`Calendar::new`] would otherwise silently normalise: windows present,
    /// each non-empty, sorted and non-overlapping; local holidays on a real date (29
    /// February is accepted: it exists in leap years).
    pub fn validate(&self) -> Result<(), RulesError> {
        if self.windows.is_empty() {
            return Err(RulesError::NoWindows);
        }
        for (index, window) in self.windows.iter().enumerate() {
            if window.end <= window.start {
                return Err(RulesError::EmptyWindow { index, window: *window });
            }
            if index > 0 && window.start < self.windows[index - 1].end {
                return Err(RulesError::UnsortedWindows { index, window: *window });
            }
        }
        for holiday in &self.local_holidays {
            // 2000 is a leap year, so 29 February passes.
            if holiday.date_in(2000).is_none() {
                return Err(RulesError::InvalidLocalHoliday {
                    holiday: holiday.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Easter Sunday of `year` in the Gregorian calendar (anonymous Gregorian algorithm, also
/// known as Meeus/Jones/Butcher), valid for any year; years before 1583 get the proleptic
/// Gregorian date. For a year outside chrono's range the nearest representable date is
/// returned instead of panicking.
pub fn easter_sunday(year: i32) -> NaiveDate {
    // Euclidean division keeps every intermediate value in its usual range even for
    // negative years, so the month is always 3 or 4 and the day always valid.
    let y = i64::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    // month is 3 or 4 and day 1..=31 by construction, so the casts cannot truncate.
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or(if year < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

/// Easter Monday (Lunedì dell'Angelo) of `year`.
fn easter_monday(year: i32) -> Option<NaiveDate> {
    easter_sunday(year).succ_opt()
}

/// The national holidays on a fixed date: (month, day, name, first year it applies).
/// Only San Francesco has a start year (reinstated by law from 2026).
const FIXED_NATIONAL: [(u32, u32, &str, i32); 11] = [
    (1, 1, "Capodanno", i32::MIN),
    (1, 6, "Epifania", i32::MIN),
    (4, 25, "Festa della Liberazione", i32::MIN),
    (5, 1, "Festa del Lavoro", i32::MIN),
    (6, 2, "Festa della Repubblica", i32::MIN),
    (8, 15, "Ferragosto", i32::MIN),
    (10, 4, "San Francesco d'Assisi", 2026),
    (11, 1, "Ognissanti", i32::MIN),
    (12, 8, "Immacolata Concezione", i32::MIN),
    (12, 25, "Natale", i32::MIN),
    (12, 26, "Santo Stefano", i32::MIN),
];

/// Name of Easter Monday.
const EASTER_MONDAY: &str = "Lunedì dell'Angelo";

/// Name of the national holiday falling on `day`, if any (a fixed-date holiday first when
/// Easter Monday falls on it, as on 25 April 2011).
fn national_holiday(day: NaiveDate) -> Option<&'static str> {
    let (year, month, dom) = (day.year(), day.month(), day.day());
    if let Some(&(_, _, name, _)) = FIXED_NATIONAL
        .iter()
        .find(|&&(m, d, _, from)| m == month && d == dom && year >= from)
    {
        return Some(name);
    }
    // Easter Monday falls between 23 March and 26 April: skip the computus otherwise.
    if matches!(month, 3 | 4) && easter_monday(year) == Some(day) {
        return Some(EASTER_MONDAY);
    }
    None
}

/// Every national holiday of `year` (two entries on the same date are possible, e.g.
/// Easter Monday on 25 April 2011), sorted by date.
fn national_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let mut out: Vec<(NaiveDate, &'static str)> = FIXED_NATIONAL
        .iter()
        .filter(|&&(_, _, _, from)| year >= from)
        .filter_map(|&(month, day, name, _)| Some((NaiveDate::from_ymd_opt(year, month, day)?, name)))
        .collect();
    if let Some(monday) = easter_monday(year).filter(|d| d.year() == year) {
        out.push((monday, EASTER_MONDAY));
    }
    out.sort();
    out
}

/// Day number (days since 1970-01-01) of a date.
fn day_number(day: NaiveDate) -> i64 {
    i64::from(day.num_days_from_ce()) - UNIX_EPOCH_DAYS_FROM_CE
}

/// Date of a day number, if chrono can represent it.
fn date_of(dn: i64) -> Option<NaiveDate> {
    i32::try_from(dn + UNIX_EPOCH_DAYS_FROM_CE)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// Whole seconds since the Unix epoch, sub-second part discarded (rounded down).
fn secs_of(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// The instant of a count of seconds; out of chrono's range means "never".
fn instant(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `t` without its sub-second part (rounded down to the whole second), the precision of
/// every instant in the SLA arithmetic.
pub fn truncate_to_second(t: DateTime<Utc>) -> DateTime<Utc> {
    instant(secs_of(t))
}

/// Seconds since local midnight of a time of day (sub-second part discarded).
fn secs_of_day(t: NaiveTime) -> i64 {
    i64::from(t.num_seconds_from_midnight())
}

/// Precomputed facts of `BLOCK_DAYS` consecutive local days.
#[derive(Debug, Clone)]
struct Block {
    /// Bit i set: day i of the block is closed.
    closed: [u64; BLOCK_DAYS / 64],
    /// UTC offset (local minus UTC, seconds) valid for the whole local day i, or
    /// `NON_UNIFORM` when the offset changes during that day.
    offset: [i32; BLOCK_DAYS],
}

/// The business calendar: rules plus suspensions, with lazily precomputed per-day facts.
/// Cheap to query, `Send + Sync`, and cheap to share behind an `Arc`.
#[derive(Clone)]
pub struct Calendar {
    /// The rules, with the windows normalised.
    rules: CalendarRules,
    /// Suspensions sorted by start date.
    suspensions: Vec<Suspension>,
    /// Extra closed days, sorted and deduplicated (binary search).
    extra: Vec<NaiveDate>,
    /// Windows as (start, end) seconds from local midnight, non-empty, sorted, disjoint.
    windows: Vec<(i64, i64)>,
    /// Sum of the window lengths: business seconds of an ordinary working day.
    day_len: i64,
    /// `closed_day_start` in seconds from local midnight.
    closed_day_start: i64,
    /// Day number of the first cached day.
    cache_first_dn: i64,
    /// Lazily built blocks of per-day facts.
    blocks: Vec<OnceLock<Box<Block>>>,
    /// Inputs are clamped to [min_secs, max_secs] before walking the calendar.
    min_secs: i64,
    max_secs: i64,
    /// Walks stop (as unreachable) after this day number.
    max_dn: i64,
}

impl fmt::Debug for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The cache is an implementation detail and would be huge.
        f.debug_struct("Calendar")
            .field("rules", &self.rules)
            .field("suspensions", &self.suspensions)
            .finish_non_exhaustive()
    }
}

impl Default for Calendar {
    /// The contract calendar: default rules and no suspensions.
    fn default() -> Self {
        Calendar::new(CalendarRules::default(), Vec::new())
    }
}

/// Normalises windows: drops empty ones, sorts, merges overlapping or touching ones.
fn normalise_windows(windows: &[Window]) -> Vec<Window> {
    let mut sorted: Vec<Window> = windows.iter().copied().filter(|w| w.seconds() > 0).collect();
    sorted.sort_by_key(|w| (w.start, w.end));
    let mut out: Vec<Window> = Vec::with_capacity(sorted.len());
    for w in sorted {
        match out.last_mut() {
            Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
            _ => out.push(w),
        }
    }
    out
}

/// Intervals (UTC seconds) of one day's windows.
enum Intervals<'a> {
    /// Constant offset all day: plain arithmetic on the nominal windows.
    Uniform {
        base: i64,
        windows: std::slice::Iter<'a, (i64, i64)>,
    },
    /// Offset change during the day: converted one by one.
    Converted(std::vec::IntoIter<(i64, i64)>),
}

impl Iterator for Intervals<'_> {
    type Item = (i64, i64);

    fn next(&mut self) -> Option<(i64, i64)> {
        match self {
            Intervals::Uniform { base, windows } => windows.next().map(|&(s, e)| (*base + s, *base + e)),
            Intervals::Converted(it) => it.next(),
        }
    }
}

impl Calendar {
    /// Builds a calendar from its rules and the known suspensions. The windows are
    /// normalised (see the module documentation); nothing is validated or rejected here.
    pub fn new(rules: CalendarRules, suspensions: Vec<Suspension>) -> Calendar {
        let mut rules = rules;
        rules.windows = normalise_windows(&rules.windows);
        let windows: Vec<(i64, i64)> = rules
            .windows
            .iter()
            .map(|w| (secs_of_day(w.start), secs_of_day(w.end)))
            .collect();
        let day_len = windows.iter().map(|(s, e)| e - s).sum();
        let mut suspensions = suspensions;
        suspensions.sort_by_key(|s| (s.from, s.to));
        let mut extra = rules.extra_closed_days.clone();
        extra.sort();
        extra.dedup();

        let first = NaiveDate::from_ymd_opt(CACHE_FIRST_YEAR, 1, 1)
            .expect("1 January of the first cached year is a valid date");
        let last = NaiveDate::from_ymd_opt(CACHE_LAST_YEAR, 12, 31)
            .expect("31 December of the last cached year is a valid date");
        let cache_first_dn = day_number(first);
        let cache_days = usize::try_from(day_number(last) - cache_first_dn + 1)
            .expect("the cached range is a positive number of days");
        let blocks = (0..cache_days.div_ceil(BLOCK_DAYS)).map(|_| OnceLock::new()).collect();

        // Supported range: years 1..=9999, with two days of margin so that converting a
        // clamped instant to local time, and looking one day further, stays representable.
        let min_dn = day_number(NaiveDate::from_ymd_opt(1, 1, 3).expect("0001-01-03 is valid"));
        let max_dn = day_number(NaiveDate::from_ymd_opt(9999, 12, 29).expect("9999-12-29 is valid"));

        Calendar {
            closed_day_start: secs_of_day(rules.closed_day_start),
            rules,
            suspensions,
            extra,
            windows,
            day_len,
            cache_first_dn,
            blocks,
            min_secs: min_dn * SECS_PER_DAY,
            max_secs: max_dn * SECS_PER_DAY,
            max_dn,
        }
    }

    /// The rules in force (windows as normalised by [`Calendar::new`]).
    pub fn rules(&self) -> &CalendarRules {
        &self.rules
    }

    /// The suspensions known to this calendar, sorted by start date.
    pub fn suspensions(&self) -> &[Suspension] {
        &self.suspensions
    }

    /// The time zone of the wall clock.
    pub fn timezone(&self) -> Tz {
        self.rules.timezone
    }

    /// Business seconds of an ordinary working day (sum of the window lengths).
    pub fn working_day_seconds(&self) -> i64 {
        self.day_len
    }

    /// Why `day` is closed, or `None` if it is a working day. When several reasons apply,
    /// the first of Saturday, Sunday, national, local, extra, suspension is reported.
    pub fn closed_reason(&self, day: NaiveDate) -> Option<ClosedReason> {
        self.closed_reason_without_suspensions(day).or_else(|| {
            self.suspensions
                .iter()
                .find(|s| s.contains(day))
                .map(|s| ClosedReason::Suspension(s.reason.clone()))
        })
    }

    /// Like [`Calendar::closed_reason`] but ignoring suspensions: tells whether a day
    /// would be a working day if no suspension existed (used to count what a suspension
    /// costs).
    pub fn closed_reason_without_suspensions(&self, day: NaiveDate) -> Option<ClosedReason> {
        match day.weekday() {
            Weekday::Sat => return Some(ClosedReason::Saturday),
            Weekday::Sun => return Some(ClosedReason::Sunday),
            _ => {}
        }
        if let Some(name) = national_holiday(day) {
            return Some(ClosedReason::National(name));
        }
        if let Some(local) = self
            .rules
            .local_holidays
            .iter()
            .find(|h| h.month == day.month() && h.day == day.day())
        {
            return Some(ClosedReason::Local(local.name.clone()));
        }
        if self.extra.binary_search(&day).is_ok() {
            return Some(ClosedReason::Extra);
        }
        None
    }

    /// True if `day` is not closed for any reason. O(1) for the years 1900..=2200.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        !self.day_info(day_number(day)).0
    }

    /// The named closed days of `year` (national, local, extra, suspension days; not the
    /// plain weekends), sorted by date then kind. Named days falling on a Saturday or a
    /// Sunday are included with `on_weekend: true`. A date may appear more than once when
    /// it has several names (e.g. a suspension over a holiday).
    pub fn holidays(&self, year: i32) -> Vec<Holiday> {
        let mut out: Vec<Holiday> = Vec::new();
        let mut push = |date: NaiveDate, name: String, kind: HolidayKind| {
            let on_weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
            out.push(Holiday {
                date,
                name,
                kind,
                on_weekend,
            });
        };
        for (date, name) in national_holidays(year) {
            push(date, name.to_string(), HolidayKind::National);
        }
        for local in &self.rules.local_holidays {
            if let Some(date) = local.date_in(year) {
                push(date, local.name.clone(), HolidayKind::Local);
            }
        }
        for &date in self.extra.iter().filter(|d| d.year() == year) {
            push(date, "Chiusura straordinaria".to_string(), HolidayKind::Extra);
        }
        if let (Some(jan1), Some(dec31)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year, 12, 31),
        ) {
            for s in &self.suspensions {
                let from = s.from.max(jan1);
                let to = s.to.min(dec31);
                for date in from.iter_days().take_while(|d| *d <= to) {
                    push(date, s.reason.clone(), HolidayKind::Suspension);
                }
            }
        }
        out.sort_by(|a, b| (a.date, a.kind, &a.name).cmp(&(b.date, b.kind, &b.name)));
        out.dedup();
        out
    }

    /// The working days from `from` to `to`, both included (empty if `from > to`).
    pub fn working_days(&self, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        from.iter_days()
            .take_while(|d| *d <= to)
            .filter(|d| self.is_working_day(*d))
            .collect()
    }

    /// When the SLA clock of a request received at `received` starts: `received` itself
    /// (to the second) if its local day is a working day, otherwise `closed_day_start`
    /// local time of the next working day. `MAX_UTC` if no working day follows within
    /// [`UNREACHABLE_AFTER_DAYS`].
    pub fn effective_start(&self, received: DateTime<Utc>) -> DateTime<Utc> {
        let real = secs_of(received);
        let u = self.clamp(real);
        let mut dn = self.local_dn(u);
        if !self.day_info(dn).0 {
            return instant(real);
        }
        for _ in 0..UNREACHABLE_AFTER_DAYS {
            dn += 1;
            if dn > self.max_dn {
                break;
            }
            let (closed, off) = self.day_info(dn);
            if !closed {
                let start = self.local_instant(dn, off, self.closed_day_start);
                // Never before the real reception, whatever the time zone does.
                return instant(start.max(real));
            }
        }
        DateTime::<Utc>::MAX_UTC
    }

    /// The deadline of a budget: the earliest instant at which `budget_seconds` of
    /// business time have elapsed since `start`. It may be the end of a window. A budget
    /// of 0 or less gives `start` itself (to the second). `MAX_UTC` if unreachable (see
    /// the module documentation).
    pub fn add_business(&self, start: DateTime<Utc>, budget_seconds: i64) -> DateTime<Utc> {
        let real = secs_of(start);
        if budget_seconds <= 0 {
            return instant(real);
        }
        // Business time never runs faster than real time, so a budget longer than the
        // whole supported range cannot be met: answer at once instead of walking.
        let cur = self.clamp(real);
        if budget_seconds > self.max_secs - cur {
            return DateTime::<Utc>::MAX_UTC;
        }
        match self.add_business_secs(cur, budget_seconds) {
            Some(due) => instant(due),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }

    /// Core of [`Calendar::add_business`] on whole seconds; `rem > 0`.
    fn add_business_secs(&self, cur: i64, mut rem: i64) -> Option<i64> {
        let mut dn = self.local_dn(cur);
        let mut idle_days = 0;
        loop {
            if dn > self.max_dn || idle_days > UNREACHABLE_AFTER_DAYS {
                return None;
            }
            let (closed, off) = self.day_info(dn);
            let before = rem;
            if !closed {
                if off != NON_UNIFORM {
                    let base = dn * SECS_PER_DAY - i64::from(off);
                    // Whole day ahead of us and not enough to finish: skip it in one step.
                    // (Strictly greater: an exact fit ends at the last window's end.)
                    let day_ahead = self.windows.first().is_some_and(|&(s, _)| cur <= base + s);
                    if day_ahead && rem > self.day_len {
                        rem -= self.day_len;
                    } else {
                        for &(s, e) in &self.windows {
                            if let Some(due) = consume(cur, &mut rem, base + s, base + e) {
                                return Some(due);
                            }
                        }
                    }
                } else {
                    for (s, e) in self.intervals(dn, off) {
                        if let Some(due) = consume(cur, &mut rem, s, e) {
                            return Some(due);
                        }
                    }
                }
            }
            idle_days = if rem < before { 0 } else { idle_days + 1 };
            dn += 1;
        }
    }

    /// Business seconds elapsed from `from` to `to` (0 if `to <= from`), counting only the
    /// windows of working days. Exactly additive: `elapsed(a, b) + elapsed(b, c) ==
    /// elapsed(a, c)` for `a <= b <= c`. Linear in the number of days spanned.
    pub fn elapsed_business(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        let a = self.clamp(secs_of(from));
        let b = self.clamp(secs_of(to));
        if b <= a || self.windows.is_empty() {
            return 0;
        }
        let (first_s, last_e) = (self.windows[0].0, self.windows[self.windows.len() - 1].1);
        let mut total = 0;
        let mut dn = self.local_dn(a);
        // One day past max_dn at most: b is clamped to the start of max_dn (UTC).
        while dn <= self.max_dn + 1 {
            let (closed, off) = self.day_info(dn);
            if off != NON_UNIFORM {
                let base = dn * SECS_PER_DAY - i64::from(off);
                if base >= b {
                    break;
                }
                if !closed {
                    if a <= base + first_s && base + last_e <= b {
                        total += self.day_len;
                    } else {
                        for &(s, e) in &self.windows {
                            total += overlap(a, b, base + s, base + e);
                        }
                    }
                }
            } else {
                match self.day_start_slow(dn) {
                    Some(day_start) if day_start < b => {}
                    _ => break,
                }
                if !closed {
                    for (s, e) in self.intervals(dn, off) {
                        total += overlap(a, b, s, e);
                    }
                }
            }
            dn += 1;
        }
        total
    }

    /// [`Calendar::elapsed_business`] in whole minutes (rounded down).
    pub fn elapsed_business_minutes(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        self.elapsed_business(from, to) / 60
    }

    /// The closed days from the local date of `from` to the local date of `to`, both
    /// included, with their reasons: what a human explanation of a deadline needs.
    /// Empty if `to < from`.
    pub fn skipped_days(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(NaiveDate, ClosedReason)> {
        if to < from {
            return Vec::new();
        }
        let first = self.local_dn(self.clamp(secs_of(from)));
        let last = self.local_dn(self.clamp(secs_of(to)));
        (first..=last)
            .filter(|&dn| self.day_info(dn).0)
            .filter_map(|dn| {
                let date = date_of(dn)?;
                Some((date, self.closed_reason(date)?))
            })
            .collect()
    }

    /// True if business time is passing at `t`: a window of a working day contains it
    /// (window start included, end excluded).
    pub fn is_open_at(&self, t: DateTime<Utc>) -> bool {
        let u = secs_of(t);
        self.next_interval(self.clamp(u)).is_some_and(|(start, _)| start <= u)
    }

    /// The first instant at or after `t` (to the second) at which business time passes:
    /// `t` itself if open. `MAX_UTC` if there is none within [`UNREACHABLE_AFTER_DAYS`].
    pub fn next_opening(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let u = secs_of(t);
        match self.next_interval(self.clamp(u)) {
            Some((start, _)) => instant(start.max(u)),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }

    /// The first non-empty business interval (UTC seconds) ending after `u`.
    fn next_interval(&self, u: i64) -> Option<(i64, i64)> {
        let first = self.local_dn(u);
        let last = (first + UNREACHABLE_AFTER_DAYS).min(self.max_dn);
        (first..=last).find_map(|dn| {
            let (closed, off) = self.day_info(dn);
            if closed {
                return None;
            }
            self.intervals(dn, off).find(|&(s, e)| e > u && e > s)
        })
    }

    /// Clamps whole seconds into the supported range.
    fn clamp(&self, secs: i64) -> i64 {
        secs.clamp(self.min_secs, self.max_secs)
    }

    /// The business intervals of local day `dn` (closed or not), in UTC seconds, in order.
    fn intervals(&self, dn: i64, off: i32) -> Intervals<'_> {
        if off != NON_UNIFORM {
            return Intervals::Uniform {
                base: dn * SECS_PER_DAY - i64::from(off),
                windows: self.windows.iter(),
            };
        }
        let converted = match date_of(dn) {
            Some(date) => self
                .rules
                .windows
                .iter()
                .map(|w| {
                    let s = self.local_to_utc(date.and_time(w.start));
                    let e = self.local_to_utc(date.and_time(w.end));
                    (s, e.max(s))
                })
                .collect(),
            None => Vec::new(),
        };
        Intervals::Converted(converted.into_iter())
    }

    /// UTC seconds of local time `secs_of_day` on local day `dn`.
    fn local_instant(&self, dn: i64, off: i32, secs_of_day: i64) -> i64 {
        if off != NON_UNIFORM {
            return dn * SECS_PER_DAY + secs_of_day - i64::from(off);
        }
        let naive = date_of(dn).and_then(|d| {
            let t = NaiveTime::from_num_seconds_from_midnight_opt(u32::try_from(secs_of_day).ok()?, 0)?;
            Some(d.and_time(t))
        });
        match naive {
            Some(naive) => self.local_to_utc(naive),
            None => dn * SECS_PER_DAY + secs_of_day,
        }
    }

    /// Closed flag and uniform offset of local day `dn`: cached for 1900..=2200.
    #[inline]
    fn day_info(&self, dn: i64) -> (bool, i32) {
        let idx = dn - self.cache_first_dn;
        if idx >= 0 {
            let block = (idx >> BLOCK_SHIFT) as usize;
            if let Some(cell) = self.blocks.get(block) {
                let blk = cell.get_or_init(|| Box::new(self.build_block(block)));
                let slot = (idx as usize) & (BLOCK_DAYS - 1);
                let closed = (blk.closed[slot / 64] >> (slot % 64)) & 1 == 1;
                return (closed, blk.offset[slot]);
            }
        }
        (self.closed_slow(dn), self.uniform_offset_slow(dn))
    }

    /// Computes one cache block.
    fn build_block(&self, block: usize) -> Block {
        let first = self.cache_first_dn + (block * BLOCK_DAYS) as i64;
        let mut blk = Block {
            closed: [0; BLOCK_DAYS / 64],
            offset: [NON_UNIFORM; BLOCK_DAYS],
        };
        // The end of a day is the start of the next: convert each midnight once.
        let mut start = self.day_start_slow(first);
        for slot in 0..BLOCK_DAYS {
            let dn = first + slot as i64;
            let next = self.day_start_slow(dn + 1);
            if let (Some(s), Some(e)) = (start, next) {
                blk.offset[slot] = self.uniform_offset_between(dn, s, e);
            }
            if self.closed_slow(dn) {
                blk.closed[slot / 64] |= 1 << (slot % 64);
            }
            start = next;
        }
        blk
    }

    /// Closed flag computed from the rules (days chrono cannot represent are closed).
    fn closed_slow(&self, dn: i64) -> bool {
        date_of(dn).is_none_or(|d| self.closed_reason(d).is_some())
    }

    /// Uniform offset of day `dn` computed from the time zone.
    fn uniform_offset_slow(&self, dn: i64) -> i32 {
        match (self.day_start_slow(dn), self.day_start_slow(dn + 1)) {
            (Some(s), Some(e)) => self.uniform_offset_between(dn, s, e),
            _ => NON_UNIFORM,
        }
    }

    /// The offset of day `dn` that starts at UTC `start` and ends at `end`, if the offset
    /// is the same for the whole day, else `NON_UNIFORM`. A day of 24 h whose first and
    /// last second share the offset, which maps its midnight exactly, is uniform (two
    /// changes cancelling out within one day do not happen in the tz database).
    fn uniform_offset_between(&self, dn: i64, start: i64, end: i64) -> i32 {
        if end - start != SECS_PER_DAY {
            return NON_UNIFORM;
        }
        let off = self.offset_at(start);
        if self.offset_at(end - 1) != off || dn * SECS_PER_DAY - start != off {
            return NON_UNIFORM;
        }
        i32::try_from(off).unwrap_or(NON_UNIFORM)
    }

    /// UTC seconds of local midnight starting day `dn`.
    fn day_start_slow(&self, dn: i64) -> Option<i64> {
        date_of(dn).map(|d| self.local_to_utc(d.and_time(NaiveTime::MIN)))
    }

    /// Local minus UTC, in seconds, at UTC instant `secs`.
    fn offset_at(&self, secs: i64) -> i64 {
        match DateTime::from_timestamp(secs, 0) {
            Some(t) => i64::from(
                self.rules
                    .timezone
                    .offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc(),
            ),
            None => 0,
        }
    }

    /// The first UTC instant (seconds) at which the local clock shows `naive` or later:
    /// the only one normally, the first of two when clocks go back, the instant of the
    /// change when `naive` is skipped by clocks going forward. Non-decreasing in `naive`.
    fn local_to_utc(&self, naive: NaiveDateTime) -> i64 {
        match self.rules.timezone.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.timestamp(),
            LocalResult::Ambiguous(a, b) => a.timestamp().min(b.timestamp()),
            LocalResult::None => {
                // Skipped time: binary search for the first instant whose local time is at
                // or after `naive`. Invariant: local(lo) < n <= local(hi).
                let n = naive.and_utc().timestamp();
                let (mut lo, mut hi) = (n - MAX_OFFSET_SECS, n + MAX_OFFSET_SECS);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if mid + self.offset_at(mid) >= n {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                hi
            }
        }
    }

    /// Local day number of UTC second `u`. Uses the cached offsets: if `u` shifted by the
    /// offset of its UTC day lands on a local day with that same uniform offset, that day
    /// is the answer (it contains `u`); otherwise ask the time zone.
    #[inline]
    fn local_dn(&self, u: i64) -> i64 {
        let utc_dn = u.div_euclid(SECS_PER_DAY);
        let (_, off) = self.day_info(utc_dn);
        if off != NON_UNIFORM {
            let dn = (u + i64::from(off)).div_euclid(SECS_PER_DAY);
            if dn == utc_dn || self.day_info(dn).1 == off {
                return dn;
            }
        }
        (u + self.offset_at(u)).div_euclid(SECS_PER_DAY)
    }
}

/// Consumes business time of interval `[s, e)` from `cur` on; returns the deadline if the
/// remaining budget `rem` (> 0) ends inside it (or exactly at its end).
#[inline]
fn consume(cur: i64, rem: &mut i64, s: i64, e: i64) -> Option<i64> {
    if e <= cur {
        return None;
    }
    let s = s.max(cur);
    let avail = e - s;
    if avail <= 0 {
        return None;
    }
    if *rem <= avail {
        return Some(s + *rem);
    }
    *rem -= avail;
    None
}

/// Length of `[a, b) ∩ [s, e)`.
#[inline]
fn overlap(a: i64, b: i64, s: i64, e: i64) -> i64 {
    (e.min(b) - s.max(a)).max(0)
}
