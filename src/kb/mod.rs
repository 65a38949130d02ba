//! The knowledge base built from resolved tickets: entries, Italian full-text search,
//! suggestions for new requests, the public FAQ export and recurring topics (of the resolved
//! problems, and of the satisfaction votes' comments).
//!
//! Every resolved ticket becomes an entry (problem: the subject and the requester's first
//! message; solution: the resolution), redacted of personal data ([`redact`]) before it is
//! stored, indexed or shown outside its ticket. Text is analysed in Rust ([`analyze`]) and
//! the terms of each field (title, problem, solution, category) go to the FTS5 index that
//! `store::kb` keeps (its rows and queries are the store's); [`search`] ranks them (BM25F,
//! the thesaurus, distinguishing terms, operators' verdicts) and says how sure it is.
//! Functions take the caller's connection, inside its transaction.
//!
//! Operators teach it: an entry sent as the answer ([`record_use`]: `#risposta kb:ID`, or a
//! resolution citing `KB-ID`) is raised for similar requests; one marked wrong
//! ([`mark_wrong`]: `#kb no ID`) is lowered.

pub mod analyze;
pub mod export;
pub mod redact;
pub mod search;
pub mod synonyms;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use rusqlite::Connection;

use crate::store::kb::{self as rows, EntryText, FieldTerms, NewEntry, Verdict};
use analyze::analyze;
use redact::redact;

// The entries' rows and look-ups are the store's; the knowledge base decides what goes in.
pub use crate::store::kb::{Entry, find, find_by_ticket, reviewed_entries};
pub use search::{Hit, THRESHOLD, search, suggest};

/// The version of the analysis the index was built with: entries indexed by an older one are
/// analysed again by [`reindex_stale`].
pub const INDEX_VERSION: i64 = 2;
/// How many stale entries a resolution re-indexes on its way (so a live desk converges
/// without anyone running `kb reindex`).
const REINDEX_ON_THE_WAY: i64 = 20;

/// An entry cited in a text, as notices and `kb search` show it: `KB-12`.
static CITATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bKB-(\d{1,12})\b").expect("static regex is valid"));

fn field_terms(text: &EntryText<'_>, category: Option<&str>) -> FieldTerms {
    let join = |t: &str| analyze(t).join(" ");
    FieldTerms {
        fields: [
            join(text.title),
            join(text.problem),
            join(text.solution),
            join(category.unwrap_or_default()),
        ],
    }
}

fn reindex(conn: &Connection, id: i64, text: &EntryText<'_>, category: Option<&str>) -> rusqlite::Result<()> {
    rows::index_entry(conn, id, &field_terms(text, category), INDEX_VERSION)
}

/// Analyses again up to `limit` entries indexed by an older analysis; returns how many.
pub fn reindex_stale(conn: &Connection, limit: i64) -> anyhow::Result<usize> {
    let ids = rows::stale_entries(conn, INDEX_VERSION, limit)?;
    for id in &ids {
        if let Some(entry) = find(conn, *id)? {
            let text = EntryText {
                title: &entry.title,
                problem: &entry.problem,
                solution: &entry.solution,
            };
            reindex(conn, *id, &text, entry.category.as_deref())?;
        }
    }
    Ok(ids.len())
}

/// A ticket's request as the feedback compares it: subject and first message, redacted and
/// analysed.
fn request_terms(conn: &Connection, ticket: &str) -> anyhow::Result<String> {
    let facts = rows::ticket_facts(conn, ticket)?;
    let text = redact(
        &format!("{}\n\n{}", facts.subject, facts.first_request.unwrap_or_default()),
        facts.requester_name.as_deref(),
    );
    Ok(analyze(&text).join(" "))
}

fn feedback(
    conn: &Connection,
    ticket: &str,
    entry: i64,
    verdict: Verdict,
    by: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    if !rows::exists(conn, entry)? {
        return Ok(false);
    }
    let terms = request_terms(conn, ticket)?;
    rows::record_feedback(conn, entry, ticket, verdict, &terms, by, now)?;
    Ok(true)
}

/// Entry `entry` was the answer to `ticket` (`#risposta kb:ID`, or cited by its resolution):
/// it ranks higher for requests like that ticket's. False when the entry does not exist.
pub fn record_use(conn: &Connection, ticket: &str, entry: i64, by: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    feedback(conn, ticket, entry, Verdict::Used, by, now)
}

/// Entry `entry` was suggested for `ticket` and is wrong for it (`#kb no ID`): it ranks lower
/// for requests like that ticket's. False when the entry does not exist.
pub fn mark_wrong(conn: &Connection, ticket: &str, entry: i64, by: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    feedback(conn, ticket, entry, Verdict::Wrong, by, now)
}

/// The entries a text cites (`KB-12`), in order, each once.
pub fn cited(text: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = Vec::new();
    for c in CITATION.captures_iter(text) {
        if let Ok(id) = c[1].parse::<i64>()
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids
}

/// Creates or refreshes the entry of a resolved ticket (its latest resolution wins; a
/// reviewed title is kept). Returns the entry id.
pub fn record_resolution(conn: &Connection, ticket: &str, resolution: &str, now: DateTime<Utc>) -> anyhow::Result<i64> {
    let facts = rows::ticket_facts(conn, ticket)?;
    let name = facts.requester_name.as_deref();
    let problem = redact(
        format!("{}\n\n{}", facts.subject, facts.first_request.unwrap_or_default()).trim(),
        name,
    );
    let solution = redact(resolution.trim(), name);
    let existing = rows::find_by_ticket(conn, ticket)?;
    let title = match &existing {
        Some(entry) if entry.reviewed => entry.title.clone(),
        _ => redact(&facts.subject, name),
    };
    let text = EntryText {
        title: &title,
        problem: &problem,
        solution: &solution,
    };
    let id = match existing {
        Some(entry) => {
            rows::update_resolution(conn, entry.id, &text, facts.level, now)?;
            entry.id
        }
        None => rows::insert_entry(
            conn,
            &NewEntry {
                ticket,
                text,
                channel: facts.channel,
                level: facts.level,
                category: facts.category.as_deref(),
                created_at: facts.created_at,
                resolved_at: now,
            },
        )?,
    };
    reindex(conn, id, &text, facts.category.as_deref())?;
    // The entries the resolution cites were the answer: operators taught us something.
    for cited in cited(resolution).into_iter().filter(|c| *c != id) {
        if rows::exists(conn, cited)? {
            rows::record_feedback(
                conn,
                cited,
                ticket,
                Verdict::Used,
                &analyze(&problem).join(" "),
                "resolution",
                now,
            )?;
        }
    }
    reindex_stale(conn, REINDEX_ON_THE_WAY)?;
    Ok(id)
}

/// Marks a ticket's entry as a reviewed article, with a new title when given. False when
/// the ticket has no entry (not resolved yet).
pub fn mark_reviewed(conn: &Connection, ticket: &str, title: Option<&str>, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let Some(entry) = find_by_ticket(conn, ticket)? else {
        return Ok(false);
    };
    edit(conn, entry.id, title, None, Some(true), now)
}

/// Changes an entry (`kb edit`, `#kb`). The new text is redacted too. False when missing.
pub fn edit(
    conn: &Connection,
    id: i64,
    title: Option<&str>,
    solution: Option<&str>,
    reviewed: Option<bool>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let Some(mut entry) = find(conn, id)? else {
        return Ok(false);
    };
    if let Some(t) = title.map(str::trim).filter(|t| !t.is_empty()) {
        entry.title = redact(t, None);
    }
    if let Some(s) = solution.map(str::trim).filter(|s| !s.is_empty()) {
        entry.solution = redact(s, None);
    }
    if let Some(r) = reviewed {
        entry.reviewed = r;
    }
    rows::update_entry(conn, id, &entry.title, &entry.solution, entry.reviewed, now)?;
    let text = EntryText {
        title: &entry.title,
        problem: &entry.problem,
        solution: &entry.solution,
    };
    reindex(conn, id, &text, entry.category.as_deref())?;
    Ok(true)
}

/// A recurring term or category, with its count now and in the period before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// The term (a stem) or `categoria: …`.
    pub label: String,
    /// An example word for the stem, as people wrote it.
    pub example: String,
    /// Entries in the period.
    pub count: u32,
    /// Entries in the previous period of the same length.
    pub previous: u32,
}

/// The most frequent terms and categories of the entries resolved in [from, to), with the
/// trend against the period just before.
pub fn topics(conn: &Connection, from: DateTime<Utc>, to: DateTime<Utc>, limit: usize) -> anyhow::Result<Vec<Topic>> {
    let before = from - (to - from);
    let mut now_counts: BTreeMap<String, (u32, String)> = BTreeMap::new();
    let mut previous: BTreeMap<String, u32> = BTreeMap::new();
    rows::for_each_resolved_between(conn, before, to, |entry| {
        let in_period = entry.resolved_at >= from;
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for word in format!("{} {}", entry.title, entry.problem).split(|c: char| !c.is_alphanumeric()) {
            if let Some(stem) = analyze(word).into_iter().next().filter(|s| s.chars().count() >= 3) {
                seen.entry(stem).or_insert_with(|| word.to_lowercase());
            }
        }
        if let Some(c) = entry.category {
            seen.insert(format!("categoria: {c}"), c);
        }
        for (stem, example) in seen {
            if in_period {
                let e = now_counts.entry(stem).or_insert((0, example));
                e.0 += 1;
            } else {
                *previous.entry(stem).or_default() += 1;
            }
        }
    })?;
    let mut list: Vec<Topic> = now_counts
        .into_iter()
        .filter(|(_, (n, _))| *n >= 2)
        .map(|(label, (count, example))| Topic {
            previous: previous.get(&label).copied().unwrap_or(0),
            label,
            example,
            count,
        })
        .collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then(a.label.cmp(&b.label)));
    list.truncate(limit);
    Ok(list)
}

/// Text in square brackets: the redaction's placeholders (`[nome]`, `[codice fiscale]`), or an
/// editor's mark; never a requester's word.
static BRACKETED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[[^\[\]]{1,40}\]").expect("static regex is valid"));

/// A term of the satisfaction comments, with how many comments of each face hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentTopic {
    /// The term (a stem).
    pub label: String,
    /// An example word for the stem, as people wrote it.
    pub example: String,
    /// Negative votes' comments holding it.
    pub negative: u32,
    /// Neutral votes' comments holding it.
    pub neutral: u32,
    /// Positive votes' comments holding it.
    pub positive: u32,
}

impl CommentTopic {
    /// Comments holding it, all faces.
    pub fn total(&self) -> u32 {
        self.negative + self.neutral + self.positive
    }
}

/// The recurring terms of the satisfaction comments on the cycles closed in [from, to) — what
/// requesters say the portal and the service should do better: each comment redacted as the
/// report shows it (the requester's name and every address, phone, tax code and IBAN out)
/// before a word of it is counted; the terms in at least two comments, those of the most
/// negative comments first (then neutral, then all comments).
pub fn comment_topics(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: usize,
) -> anyhow::Result<Vec<CommentTopic>> {
    let mut counts: BTreeMap<String, CommentTopic> = BTreeMap::new();
    for closing in crate::store::survey::closings_between(conn, from, to)? {
        let Some(score) = closing.score else { continue };
        let comment = redact(&closing.comment, closing.requester_name.as_deref());
        // The redaction's placeholders ("[nome]", "[telefono]") are no one's words: they go
        // before the words are split, or the word inside the brackets would count.
        let comment = BRACKETED.replace_all(&comment, " ");
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for word in comment.split(|c: char| !c.is_alphanumeric()) {
            if let Some(stem) = analyze(word).into_iter().next().filter(|s| s.chars().count() >= 3) {
                seen.entry(stem).or_insert_with(|| word.to_lowercase());
            }
        }
        for (stem, example) in seen {
            let topic = counts.entry(stem.clone()).or_insert_with(|| CommentTopic {
                label: stem,
                example,
                negative: 0,
                neutral: 0,
                positive: 0,
            });
            // `votes.score`: 1 positive, 2 neutral, 3 negative.
            match score {
                1 => topic.positive += 1,
                2 => topic.neutral += 1,
                3 => topic.negative += 1,
                other => anyhow::bail!("votes: the vote on {} is {other}, not 1, 2 or 3", closing.ticket),
            }
        }
    }
    let mut list: Vec<CommentTopic> = counts.into_values().filter(|t| t.total() >= 2).collect();
    list.sort_by(|a, b| {
        b.negative
            .cmp(&a.negative)
            .then(b.neutral.cmp(&a.neutral))
            .then(b.total().cmp(&a.total()))
            .then_with(|| a.label.cmp(&b.label))
    });
    list.truncate(limit);
    Ok(list)
}

#[cfg(test)]
mod retrieval_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod topics_tests;
