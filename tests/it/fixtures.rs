//! Every real-world message in `fixtures/eml/` through the pure intake path, checked against
//! the facts written by hand in `fixtures/eml/MANIFEST.toml`, with CRLF and with LF line
//! endings; then the whole corpus through `apply_batch`, where nothing may fail the batch.

use std::path::{Path, PathBuf};

use sportello::auth;
use sportello::commands::parse_commands;
use sportello::config::{Provider, Security};
use sportello::desk::requester::is_bare_thanks;
use sportello::ingest::classify::{Disposition, classify};
use sportello::ingest::parse::{Pec, parse_mail, sanitize_filename};
use sportello::ingest::thread::subject_token;

const HELPDESK: &str = "assistenza@comune.example.it";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/eml")
}

fn manifest() -> toml::Table {
    let text = std::fs::read_to_string(fixtures_dir().join("MANIFEST.toml")).expect("MANIFEST.toml");
    toml::from_str(&text).expect("MANIFEST.toml parses")
}

fn strip_brackets(id: &str) -> String {
    id.trim().trim_start_matches('<').trim_end_matches('>').to_string()
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn to_lf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// Checks one fixture; returns the mismatches found.
fn check(name: &str, facts: &toml::Table, raw: &[u8]) -> Vec<String> {
    let mut problems = Vec::new();
    let s = |key: &str| facts.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let category = s("category");
    let mail = match parse_mail(raw, 50 << 20) {
        Ok(mail) => mail,
        Err(e) => {
            if category != "malformed" {
                problems.push(format!("{name}: does not parse: {e}"));
            }
            return problems;
        }
    };
    if category == "malformed" {
        // Whatever the parser recovered must still go through the rest without panicking.
        let _ = classify(&mail, HELPDESK);
        let _ = parse_commands(&mail.fresh_text);
        return problems;
    }
    let mut expect = |what: &str, ok: bool, detail: String| {
        if !ok {
            problems.push(format!("{name}: {what}: {detail}"));
        }
    };
    let from = mail.from.as_ref().map(|p| p.address.clone()).unwrap_or_default();
    if category == "pec" {
        // The envelope is unwrapped: the request is the inner message.
        return check_pec(name, facts, &mail);
    }
    expect(
        "from",
        from.eq_ignore_ascii_case(&s("from")),
        format!("{from:?} != {:?}", s("from")),
    );
    if let Some(want) = facts.get("from_name").and_then(|v| v.as_str()) {
        let got = mail.from.as_ref().and_then(|p| p.name.clone()).unwrap_or_default();
        expect("from_name", got == want, format!("{got:?} != {want:?}"));
    }
    expect(
        "subject",
        squash(&mail.subject) == squash(&s("subject")),
        format!("{:?} != {:?}", mail.subject, s("subject")),
    );
    let want_id = strip_brackets(&s("message_id"));
    let got_id = mail.message_id.clone().unwrap_or_default();
    expect("message_id", got_id == want_id, format!("{got_id:?} != {want_id:?}"));
    let want_irt = strip_brackets(&s("in_reply_to"));
    let got_irt = mail.in_reply_to.first().cloned().unwrap_or_default();
    expect(
        "in_reply_to",
        got_irt == want_irt,
        format!("{got_irt:?} != {want_irt:?}"),
    );
    let want_refs: Vec<String> = facts
        .get("references")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).map(strip_brackets).collect())
        .unwrap_or_default();
    expect(
        "references",
        mail.references == want_refs,
        format!("{:?} != {want_refs:?}", mail.references),
    );
    let token = subject_token(&mail.subject).map(|t| t.to_string()).unwrap_or_default();
    let want_token = s("token").trim_matches(['[', ']']).to_string();
    expect("token", token == want_token, format!("{token:?} != {want_token:?}"));
    let fresh = squash(&mail.fresh_text);
    let starts = squash(&s("fresh_text_starts"));
    expect(
        "fresh_text_starts",
        fresh.starts_with(&starts),
        format!(
            "{:?} does not start with {starts:?}",
            fresh.chars().take(120).collect::<String>()
        ),
    );
    let excludes = squash(&s("fresh_text_excludes"));
    expect(
        "fresh_text_excludes",
        excludes.is_empty() || !fresh.contains(&excludes),
        format!("still contains {excludes:?}"),
    );
    let want_attachments: Vec<String> = facts
        .get("attachments")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .map(|n| sanitize_filename(n, "allegato"))
                .collect()
        })
        .unwrap_or_default();
    let got_attachments: Vec<String> = mail.attachments.iter().map(|a| a.filename.clone()).collect();
    expect(
        "attachments",
        got_attachments == want_attachments,
        format!("{got_attachments:?} != {want_attachments:?}"),
    );

    let disposition = classify(&mail, HELPDESK);
    let is_failure = facts.get("is_failure").and_then(|v| v.as_bool()).unwrap_or(true);
    let class_ok = match category.as_str() {
        "new" | "reply" | "forward" | "operator" | "pec" => disposition == Disposition::Person,
        // Handled before classification: whatever it says, the answer is recorded (below).
        "calendar" => true,
        "pec-receipt" => matches!(disposition, Disposition::PecReceipt(_)),
        "autoreply" => matches!(disposition, Disposition::AutoReply(_)),
        "list" => matches!(disposition, Disposition::MailingList | Disposition::AutoReply(_)),
        "loop" => disposition == Disposition::Loop,
        "bounce" if is_failure => matches!(disposition, Disposition::Bounce(_)),
        "bounce" => disposition == Disposition::DelayNotice,
        "receipt" => matches!(disposition, Disposition::Receipt(kind) if kind.label() == s("receipt")),
        other => {
            problems.push(format!("{name}: unknown category {other}"));
            true
        }
    };
    if !class_ok {
        problems.push(format!("{name}: classified {disposition:?}, manifest says {category}"));
    }
    if category == "receipt" {
        // The mail it reports on: what the ticket is found by before the thread headers.
        let want = strip_brackets(&s("original_message_id"));
        let reported: Vec<&String> = mail
            .disposition_report
            .iter()
            .flat_map(|r| &r.original_message_ids)
            .chain(mail.delivery_report.iter().flat_map(|r| &r.original_message_ids))
            .chain(&mail.in_reply_to)
            .collect();
        if reported.first().map(|id| id.as_str()) != Some(want.as_str()) {
            problems.push(format!("{name}: reports on {reported:?}, manifest says {want}"));
        }
    }
    if category == "bounce" && is_failure {
        let failed = s("failed_recipient").to_lowercase();
        if let Disposition::Bounce(list) = &disposition
            && !failed.is_empty()
            && !list.is_empty()
            && !list.contains(&failed)
        {
            problems.push(format!("{name}: failed recipients {list:?} lack {failed}"));
        }
    }
    if category == "pec" {
        let inner_from = s("inner_from");
        let ok = matches!(mail.pec, Some(Pec::Envelope { .. })) && from.eq_ignore_ascii_case(&inner_from);
        if !inner_from.is_empty() && !ok {
            problems.push(format!(
                "{name}: PEC envelope not unwrapped to {inner_from} (got {from}, {:?})",
                mail.pec
            ));
        }
    }
    if category == "forward" {
        let original = sportello::ingest::forward::original_of(&mail, 50 << 20);
        let got = original
            .as_ref()
            .map(|f| (f.from.address.clone(), squash(&f.subject)))
            .unwrap_or_default();
        let want = (s("forwarded_from").to_lowercase(), squash(&s("forwarded_subject")));
        if got != want {
            problems.push(format!("{name}: forwarded original {got:?}, manifest says {want:?}"));
        }
    }
    if category == "calendar" {
        let reply = sportello::ingest::calendar::reply_of(&mail.attachments);
        let answer = reply
            .as_ref()
            .map(|r| r.answer.as_str().to_string())
            .unwrap_or_default();
        let ticket = reply
            .as_ref()
            .and_then(|r| r.ticket)
            .map(|t| t.to_string())
            .unwrap_or_default();
        if answer != s("calendar_answer") || ticket != s("calendar_ticket") {
            problems.push(format!(
                "{name}: calendar reply {answer:?} on {ticket:?}, manifest says {:?} on {:?}",
                s("calendar_answer"),
                s("calendar_ticket")
            ));
        }
    }
    if let Some(expected) = facts.get("is_bare_thanks").and_then(|v| v.as_bool())
        && is_bare_thanks(&mail.fresh_text) != expected
    {
        problems.push(format!(
            "{name}: is_bare_thanks should be {expected} for {:?}",
            mail.fresh_text
        ));
    }
    if category == "operator" {
        let parsed = parse_commands(&mail.fresh_text);
        let want_tags: Vec<String> = facts
            .get("tags")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str()).map(str::to_string).collect())
            .unwrap_or_default();
        let unknown = facts.get("unknown_tags").and_then(|v| v.as_array()).map_or(0, Vec::len);
        if parsed.commands.len() != want_tags.len() || parsed.errors.len() != unknown {
            problems.push(format!(
                "{name}: tags {want_tags:?} (+{unknown} unknown) but parsed {:?} errors {:?}",
                parsed.commands, parsed.errors
            ));
        }
        if let Some(authenticated) = facts.get("authenticated").and_then(|v| v.as_bool()) {
            // The mailbox's provider (manifest key `provider`, default: our own MX).
            let provider = match s("provider").as_str() {
                "microsoft365" => Provider::Microsoft365,
                "google" => Provider::Google,
                _ => Provider::Generic,
            };
            let security = Security {
                provider,
                trusted_authserv_id: match provider {
                    Provider::Generic => "mx.comune.example.it".into(),
                    Provider::Google => sportello::config::GOOGLE_AUTHSERV_ID.into(),
                    Provider::Microsoft365 => String::new(),
                },
                allow_unauthenticated_operators: false,
            };
            let verdict = auth::verify(mail.from.as_ref().map(|p| p.address.as_str()), &mail.headers, &security);
            let is_operator = from.ends_with("@comune.example.it");
            if (verdict.allows() && is_operator) != authenticated {
                problems.push(format!(
                    "{name}: authenticated should be {authenticated}, verdict {verdict:?}"
                ));
            }
        }
    }
    // Issue 15, item 8: whether our MX's header says the From failed DMARC (no acknowledgment).
    if let Some(dmarc_fail) = facts.get("dmarc_fail").and_then(|v| v.as_bool()) {
        let security = Security {
            provider: Provider::Generic,
            trusted_authserv_id: "mx.comune.example.it".into(),
            allow_unauthenticated_operators: false,
        };
        let failure = auth::dmarc_failure(&mail.headers, &security);
        if failure.is_some() != dmarc_fail {
            problems.push(format!("{name}: dmarc_fail should be {dmarc_fail}, found {failure:?}"));
        }
    }
    problems
}

#[test]
fn every_fixture_matches_its_hand_written_facts() {
    let manifest = manifest();
    assert!(manifest.len() >= 100, "the manifest lists {} fixtures", manifest.len());
    let mut problems = Vec::new();
    for (name, facts) in &manifest {
        let facts = facts.as_table().expect("each fixture is a table");
        let raw = std::fs::read(fixtures_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        problems.extend(check(name, facts, &raw));
        problems.extend(check(&format!("{name} (LF)"), facts, &to_lf(&raw)));
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_fixture_file_is_in_the_manifest() {
    let manifest = manifest();
    let mut missing = Vec::new();
    for dir in std::fs::read_dir(fixtures_dir()).expect("fixtures") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).expect("category") {
            let path = file.expect("entry").path();
            let rel = path
                .strip_prefix(fixtures_dir())
                .expect("prefix")
                .to_string_lossy()
                .into_owned();
            if rel.ends_with(".eml") && !manifest.contains_key(&rel) {
                missing.push(rel);
            }
        }
    }
    assert!(missing.is_empty(), "fixtures without facts: {missing:?}");
}

fn check_pec(name: &str, facts: &toml::Table, mail: &sportello::ingest::parse::InboundMail) -> Vec<String> {
    let s = |key: &str| facts.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let from = mail.from.as_ref().map(|p| p.address.clone()).unwrap_or_default();
    let mut problems = Vec::new();
    if !matches!(mail.pec, Some(Pec::Envelope { .. })) {
        problems.push(format!("{name}: PEC envelope not recognised: {:?}", mail.pec));
    }
    let got_id = mail.message_id.clone().unwrap_or_default();
    let checks = [
        (
            "inner_from",
            from.eq_ignore_ascii_case(&s("inner_from")),
            format!("{from} != {}", s("inner_from")),
        ),
        (
            "inner_subject",
            squash(&mail.subject) == squash(&s("inner_subject")),
            format!("{} != {}", mail.subject, s("inner_subject")),
        ),
        (
            "inner_message_id",
            got_id == strip_brackets(&s("inner_message_id")),
            format!("{got_id:?}"),
        ),
        (
            "fresh_text_starts",
            squash(&mail.fresh_text).starts_with(&squash(&s("fresh_text_starts"))),
            format!("{:?}", mail.fresh_text.chars().take(100).collect::<String>()),
        ),
        (
            "classify",
            classify(mail, HELPDESK) == Disposition::Person,
            format!("{:?}", classify(mail, HELPDESK)),
        ),
    ];
    for (what, ok, detail) in checks {
        if !ok {
            problems.push(format!("{name}: {what}: {detail}"));
        }
    }
    if let Some(irt) = facts.get("inner_in_reply_to").and_then(|v| v.as_str()) {
        let got = mail.in_reply_to.first().cloned().unwrap_or_default();
        if got != strip_brackets(irt) {
            problems.push(format!("{name}: inner_in_reply_to {got:?} != {irt:?}"));
        }
    }
    problems
}

#[test]
fn the_whole_corpus_goes_through_intake_without_failing_a_batch() {
    use sportello::config::{Config, Origin};
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::parse(
        "[security]\ntrusted_authserv_id = \"mx.comune.example.it\"\n\
         [[operator]]\nname = \"Giulia Bianchi\"\nemail = \"giulia.bianchi@comune.example.it\"\n\
         [[operator]]\nname = \"Luca Verdi\"\nemail = \"luca.verdi@comune.example.it\"\nlevel = 2\nsupervisor = true\n",
        dir.path(),
        Origin::File(dir.path().join("config.toml")),
    )
    .expect("config");
    let calendar = sportello::sla::Calendar::new(config.calendar.clone(), Vec::new());
    let templates = sportello::notify::templates::Templates::load(None).expect("templates");
    let intake = sportello::intake::Intake::new(
        &config,
        &calendar,
        &templates,
        sportello::auth::MacKey::from_bytes([3; 32]),
    );
    let mut store = sportello::store::Store::open_in_memory().expect("store");
    let manifest = manifest();
    let batch: Vec<sportello::ingest::Fetched> = manifest
        .keys()
        .map(|name| {
            let raw = std::fs::read(fixtures_dir().join(name)).expect("read");
            sportello::ingest::Fetched {
                size: raw.len() as u64,
                raw,
                received_at: chrono::DateTime::parse_from_rfc3339("2026-03-09T09:00:00+01:00")
                    .expect("t")
                    .into(),
                source: format!("fixture:{name}"),
            }
        })
        .collect();
    let now = chrono::DateTime::parse_from_rfc3339("2026-03-09T09:00:00+01:00")
        .expect("t")
        .into();
    let batch = sportello::ingest::Prepared::all(batch, config.intake.max_message_bytes);
    let outcomes = sportello::intake::apply_batch(&mut store, &intake, &batch, None, now).expect("the batch commits");
    assert_eq!(outcomes.len(), batch.len());
    let quarantined: Vec<&String> = batch
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| matches!(o, sportello::intake::Outcome::Quarantined(_)))
        .map(|(m, _)| &m.fetched.source)
        .collect();
    // Only messages that are not mail at all may end in quarantine.
    for source in &quarantined {
        let name = source.trim_start_matches("fixture:");
        let category = manifest[name]
            .get("category")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        assert_eq!(category, "malformed", "{name} was quarantined");
    }
    let tickets = sportello::store::tickets::list_tickets(store.conn(), false).expect("tickets");
    assert!(tickets.len() >= 20, "the requests became tickets ({})", tickets.len());
    // Noise opened no ticket: no ticket's requester is a robot.
    assert!(tickets.iter().all(|t| {
        !t.requester_email
            .as_deref()
            .unwrap_or_default()
            .contains("mailer-daemon")
    }));
}
