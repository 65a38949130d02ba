//! Citizens' data (issue 17): the nightly retention, one person's export and erasure.
//!
//! The edge between the store's rows (`store::privacy`) and the pure decisions
//! (`desk::privacy`): it loads whose data a ticket holds, builds the redaction, and hands both
//! to the store inside the caller's transaction. Files under `attachments/` are deleted only
//! after that transaction commits ([`delete_files`]), so a rollback never leaves a row naming
//! a file that is gone.
//!
//! What anonymising keeps is what the accounting reads (see `store::privacy`): the monthly
//! report of a period reads the same before and after its tickets are anonymised.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::config::Config;
use crate::desk::privacy::{self as decide, EraseRefusal, Redactor};
use crate::model::{EventAction, Status, TicketId};
use crate::store::privacy::{self as rows, Role, Scrub};
use crate::store::tickets;

/// What one retention pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionRun {
    /// Tickets whose raw mail and files were deleted.
    pub raw_purged: usize,
    /// Tickets anonymised.
    pub anonymised: usize,
    /// Outgoing mail about no ticket (digests, operators' notices, alarms) whose stored bytes
    /// were deleted.
    pub mail_purged: usize,
    /// Quarantined messages whose raw mail was deleted.
    pub quarantine_purged: usize,
    /// Incoming messages of no ticket (noise, bounces, spam) whose raw mail was deleted.
    pub loose_purged: usize,
    /// Ended spam marks deleted.
    pub spam_marks: usize,
    /// Quarantine rows deleted after `personal_data_days`.
    pub quarantine_forgotten: usize,
    /// Messages of no ticket whose sender and text went after `personal_data_days`.
    pub loose_forgotten: usize,
    /// Audit events of no ticket scrubbed after `personal_data_days`.
    pub events_scrubbed: usize,
    /// Attachment contents to delete once the transaction has committed.
    pub files: Vec<String>,
}

fn operator_addresses(config: &Config) -> Vec<String> {
    let mut keep: Vec<String> = config.operators.iter().map(|o| o.email.clone()).collect();
    keep.push(config.helpdesk.address.clone());
    keep
}

/// Anonymises one ticket (its requester, participants and every text), returning the
/// contents to delete after the commit.
fn anonymise_ticket(
    conn: &Connection,
    config: &Config,
    ticket: TicketId,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    let identity = rows::identity(conn, ticket)?;
    let requester_name = tickets::find_ticket(conn, ticket)?.and_then(|t| t.requester_name);
    let redactor = Redactor::new(
        &identity.addresses,
        &identity.names,
        &identity.phones,
        &operator_addresses(config),
    );
    let text = |t: &str| redactor.text(t);
    let subject = |t: &str| decide::report_text(t, requester_name.as_deref());
    let is_person = |a: &str| redactor.is_person(a);
    let scrub = Scrub {
        text: &text,
        subject: &subject,
        is_person: &is_person,
    };
    Ok(rows::anonymise(
        conn,
        ticket,
        &scrub,
        &decide::anonymous_file_name,
        &crate::auth::random_secret(),
        now,
    )?)
}

impl RetentionRun {
    /// Whether the pass changed anything.
    pub fn did_work(&self) -> bool {
        self.raw_purged
            + self.anonymised
            + self.mail_purged
            + self.quarantine_purged
            + self.loose_purged
            + self.spam_marks
            + self.quarantine_forgotten
            + self.loose_forgotten
            + self.events_scrubbed
            > 0
    }
}

/// The night's retention, one bounded batch of each kind (`[retention] batch`): tickets
/// archived longer than `personal_data_days` are anonymised, then those archived longer than
/// `raw_mail_days` lose their raw mail and files (and their outgoing mail sent or given up,
/// its stored bytes). What belongs to no ticket has its own clock, from the instant it was
/// queued or received: outgoing mail about no ticket (the morning digests, notices and
/// answers to operators, alarms, monthly reports) sent or given up over `raw_mail_days` ago
/// loses its stored bytes, and so does the raw mail of quarantined messages and of incoming
/// mail that reached no ticket (noise, bounces, spam); spam marks that have ended go; after
/// `personal_data_days` quarantine rows go whole and messages of no ticket lose their sender
/// and text. A pass
/// that changed anything records one audit event with its counts. Runs in the caller's
/// transaction; the files go after it commits ([`delete_files`] with [`RetentionRun::files`]).
pub fn retention(conn: &Connection, config: &Config, now: DateTime<Utc>) -> anyhow::Result<RetentionRun> {
    let settings = &config.retention;
    let (raw_before, personal_before) = decide::cutoffs(now, settings.raw_mail_days, settings.personal_data_days);
    let given_up = crate::outbox::given_up_at();
    let mut run = RetentionRun {
        files: rows::take_deferred(conn)?,
        ..RetentionRun::default()
    };
    for ticket in rows::due_for_raw_purge(conn, raw_before, settings.batch)? {
        run.files.extend(rows::purge_raw(conn, ticket, given_up, now)?);
        run.raw_purged += 1;
    }
    for ticket in rows::due_for_anonymising(conn, personal_before, settings.batch)? {
        run.files.extend(anonymise_ticket(conn, config, ticket, now)?);
        run.anonymised += 1;
    }
    run.mail_purged = rows::purge_ticketless_mail(conn, raw_before, given_up, settings.batch)?;
    let loose = rows::purge_loose_raw(conn, raw_before, settings.batch)?;
    run.quarantine_purged = loose.quarantined;
    run.loose_purged = loose.messages;
    run.files.extend(loose.files);
    run.spam_marks = crate::store::spam::drop_expired(conn, now)?;
    let forgotten = rows::forget_loose(conn, personal_before, settings.batch)?;
    run.quarantine_forgotten = forgotten.quarantined;
    run.loose_forgotten = forgotten.messages;
    run.files.extend(forgotten.files);
    // The audit events of no ticket (quarantines, spam marks, refused operator mail) keep
    // what happened and when; addresses, numbers and street addresses in their detail go, and
    // so does a sender as actor (operators, the help desk and the system stay).
    let staff = operator_addresses(config);
    let text = |t: &str| crate::kb::redact::redact(t, None);
    let is_person = |a: &str| a.contains('@') && !staff.iter().any(|s| s.eq_ignore_ascii_case(a));
    let scrub = Scrub {
        text: &text,
        subject: &text,
        is_person: &is_person,
    };
    run.events_scrubbed = rows::scrub_old_ticketless_events(conn, &scrub, personal_before, settings.batch)?;
    if run.did_work() {
        tickets::insert_event(
            conn,
            None,
            now,
            "system",
            EventAction::Retention,
            &format!(
                "retention: raw mail and files of {} tickets deleted (archived over {raw} days), {} tickets anonymised \
                 (archived over {} days); stored bytes of {} sent mails about no ticket, raw mail of {} quarantined and \
                 {} other messages of no ticket deleted (over {raw} days); {} ended spam marks deleted; {} quarantined \
                 messages deleted, {} messages of no ticket stripped of sender and text and {} audit events of no \
                 ticket scrubbed (over {} days)",
                run.raw_purged,
                run.anonymised,
                settings.personal_data_days,
                run.mail_purged,
                run.quarantine_purged,
                run.loose_purged,
                run.spam_marks,
                run.quarantine_forgotten,
                run.loose_forgotten,
                run.events_scrubbed,
                settings.personal_data_days,
                raw = settings.raw_mail_days,
            ),
            None,
        )?;
    }
    Ok(run)
}

/// The quarantined messages that name `address` (in their raw mail, their source or the
/// reason they were quarantined).
fn quarantined_of(conn: &Connection, address: &str) -> anyhow::Result<Vec<rows::Quarantined>> {
    let mut theirs = Vec::new();
    rows::for_each_quarantined(conn, |q| {
        let named = [
            q.source.as_bytes(),
            q.error.as_bytes(),
            q.bytes.as_deref().unwrap_or_default(),
        ]
        .iter()
        .any(|b| decide::names_address(b, address));
        if named {
            theirs.push(q);
        }
    })?;
    Ok(theirs)
}

/// Notes contents an erasure inside a longer transaction (an operator's mail) stopped naming:
/// the next housekeeping pass deletes them, after that transaction has committed.
pub fn defer_file_deletion(conn: &Connection, shas: &[String]) -> anyhow::Result<()> {
    Ok(rows::defer_deletion(conn, shas)?)
}

/// Deletes the attachment contents a committed transaction stopped naming.
pub fn delete_files(config: &Config, shas: &[String]) -> anyhow::Result<usize> {
    rows::delete_files(&config.helpdesk.data_dir, shas)
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// One file of an export: its path inside the export and its bytes.
pub type ExportFile = (String, Vec<u8>);

/// The README of an export, in Italian.
const README: &str = "\
Esportazione dei dati personali (art. 15 GDPR)
==============================================

Questa cartella contiene tutti i dati che il servizio di assistenza conserva e che riguardano
l'indirizzo indicato in dati.json (come richiedente, come persona in copia o come mittente
non verificato di un messaggio).

File contenuti:

- LEGGIMI.txt            questo file.
- dati.json              i dati in formato JSON (leggibile da qualsiasi programma):
                           \"richieste\": ogni richiesta (ticket) con il ruolo della persona,
                           l'oggetto, lo stato, il canale, i dati del richiedente, i messaggi
                           scambiati (testo, mittente, destinatari, data), gli allegati e la
                           cronologia delle operazioni (\"eventi\");
                           \"messaggi_senza_richiesta\": messaggi ricevuti che non hanno aperto
                           alcuna richiesta;
                           \"quarantena\": messaggi messi da parte senza essere letti come
                           richieste (illeggibili, troppo grandi, o di un mittente segnalato
                           come spam), con il motivo;
                           \"segnalazione_spam\": se l'indirizzo è stato segnalato come spam,
                           quando e fino a quando;
                           \"valutazioni\": i giudizi di soddisfazione espressi.
- messaggi/N.eml         il messaggio di posta originale numero N, così come è arrivato
                         (apribile con qualsiasi programma di posta), se è ancora conservato.
- quarantena/N.eml       il messaggio in quarantena numero N, così come è stato conservato
                         (di un messaggio troppo grande, solo la parte iniziale), se c'è ancora.
- allegati/N-NOME        l'allegato numero N, con il suo nome originale, se è ancora conservato.

Le date sono in formato ISO 8601 (UTC). I messaggi originali e gli allegati vengono cancellati
dopo il periodo di conservazione previsto; i testi restano finché la richiesta non viene resa
anonima.
";

fn ts(t: DateTime<Utc>) -> String {
    crate::store::ts(t)
}

/// A file name safe inside the export folder.
fn safe(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').trim().to_string();
    if cleaned.is_empty() { "file".into() } else { cleaned }
}

/// Everything that concerns `address`: the JSON, the raw mail and the files, with the README.
/// Returns the files in export order (README first) and how many tickets it covers.
pub fn export(
    conn: &Connection,
    config: &Config,
    address: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<(Vec<ExportFile>, usize)> {
    let address = address.trim().to_ascii_lowercase();
    let is_them = |a: &str| a.trim().eq_ignore_ascii_case(&address);
    let names = |list: &str| list.split(',').any(is_them);
    let mut files: Vec<ExportFile> = vec![("LEGGIMI.txt".into(), README.as_bytes().to_vec())];
    let mut raws: BTreeMap<i64, String> = BTreeMap::new();
    let mut carried = Vec::new();
    let mut requests = Vec::new();
    let person_tickets = rows::tickets_of(conn, &address)?;
    for pt in &person_tickets {
        let t = rows::export_ticket(conn, pt.ticket)?;
        let messages: Vec<_> = rows::export_messages(conn, pt.ticket)?
            .into_iter()
            .filter(|m| match pt.role {
                Role::Requester => true,
                Role::Copied => m.from.as_deref().is_some_and(is_them) || names(&m.to) || names(&m.cc),
                Role::UnverifiedSender => m.from.as_deref().is_some_and(is_them),
            })
            .collect();
        let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
        let attachments = rows::export_files(conn, &ids)?;
        let events: Vec<Value> = rows::export_events(conn, pt.ticket)?
            .into_iter()
            .filter(|e| pt.role == Role::Requester || is_them(&e.actor))
            .map(|e| json!({"data": ts(e.at), "autore": e.actor, "azione": e.action, "dettaglio": e.detail}))
            .collect();
        for m in &messages {
            if let Some(sha) = &m.raw_sha256 {
                raws.insert(m.id, sha.clone());
            }
        }
        let attachments: Vec<Value> = attachments
            .into_iter()
            .map(|a| {
                let file = a.sha256.as_ref().map(|sha| {
                    let path = format!("allegati/{}-{}", a.id, safe(&a.filename));
                    carried.push((path.clone(), sha.clone()));
                    path
                });
                json!({"id": a.id, "messaggio": a.message, "nome": a.filename, "tipo": a.content_type,
                       "dimensione": a.size, "file": file})
            })
            .collect();
        let (email, name, phone) = if pt.role == Role::Requester {
            t.requester.clone()
        } else {
            (None, None, None)
        };
        requests.push(json!({
            "ticket": t.id.to_string(),
            "ruolo": pt.role.as_str(),
            "oggetto": t.subject,
            "stato": t.status,
            "canale": t.channel,
            "livello": t.level,
            "categoria": t.category,
            "pratica": if pt.role == Role::Requester { t.pratica.clone() } else { None },
            "richiedente": {"email": email, "nome": name, "telefono": phone},
            "partecipanti": t.participants.iter().filter(|(a, _)| pt.role == Role::Requester || is_them(a))
                .map(|(a, r)| json!({"email": a, "ruolo": r})).collect::<Vec<_>>(),
            "aperta": ts(t.created_at),
            "risolta": t.resolved_at.map(ts),
            "messaggi": messages.iter().map(|m| json!({
                "id": m.id, "direzione": m.direction, "data": ts(m.at), "da": m.from, "nome": m.from_name,
                "a": m.to, "cc": m.cc, "oggetto": m.subject, "testo": m.text, "non_verificato": m.flagged,
                "originale": m.raw_sha256.as_ref().map(|_| format!("messaggi/{}.eml", m.id)),
            })).collect::<Vec<_>>(),
            "allegati": attachments,
            "eventi": events,
        }));
    }
    let votes: Vec<Value> = crate::store::survey::votes_of(conn, &address)?
        .into_iter()
        .map(|(ticket, score, comment, at)| json!({"ticket": ticket, "voto": score, "commento": comment, "data": ts(at)}))
        .collect();
    // What reached no ticket: their loose messages and the quarantine.
    let loose: Vec<Value> = rows::export_loose_messages(conn, &address)?
        .into_iter()
        .map(|m| {
            if let Some(sha) = &m.raw_sha256 {
                raws.insert(m.id, sha.clone());
            }
            json!({
                "id": m.id, "data": ts(m.at), "da": m.from, "nome": m.from_name, "a": m.to, "cc": m.cc,
                "oggetto": m.subject, "testo": m.text,
                "originale": m.raw_sha256.as_ref().map(|_| format!("messaggi/{}.eml", m.id)),
            })
        })
        .collect();
    let mut quarantined_files = Vec::new();
    let quarantine: Vec<Value> = quarantined_of(conn, &address)?
        .into_iter()
        .map(|q| {
            let file = q.bytes.map(|bytes| {
                let path = format!("quarantena/{}.eml", q.id);
                quarantined_files.push((path.clone(), bytes));
                path
            });
            json!({"id": q.id, "data": ts(q.at), "motivo": q.error, "originale": file})
        })
        .collect();
    let spam_mark = crate::store::spam::mark_of(conn, &address)?
        .map(|(until, at)| json!({"segnalata_il": ts(at), "fino_al": ts(until)}));
    let data = json!({
        "indirizzo": address,
        "esportato_il": ts(now),
        "titolare": config.privacy.controller,
        "richieste": requests,
        "messaggi_senza_richiesta": loose,
        "quarantena": quarantine,
        "segnalazione_spam": spam_mark,
        "valutazioni": votes,
    });
    files.push((
        "dati.json".into(),
        serde_json::to_vec_pretty(&data).context("writing the export's JSON")?,
    ));
    for (id, sha) in raws {
        if let Some(bytes) = rows::raw_message(conn, &sha)? {
            files.push((format!("messaggi/{id}.eml"), bytes));
        }
    }
    files.extend(quarantined_files);
    for (path, sha) in carried {
        let bytes = crate::store::attachments::read(&config.helpdesk.data_dir, &sha)?;
        files.push((path, bytes));
    }
    Ok((files, person_tickets.len()))
}

/// Writes an export's files under `dir` (created; an existing non-empty folder is refused).
pub fn write_export(dir: &Path, files: &[ExportFile]) -> anyhow::Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        anyhow::bail!("{} is not empty: choose a new folder for the export", dir.display());
    }
    for (name, bytes) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Erasure
// ---------------------------------------------------------------------------------------------

/// What an erasure did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// Tickets they opened, anonymised whole.
    pub anonymised: usize,
    /// Other people's tickets they were copied on or wrote to, which they left.
    pub left: usize,
    /// Messages of theirs that opened no ticket, scrubbed.
    pub loose: usize,
    /// Quarantined messages naming them, deleted (with their spam mark, if any).
    pub quarantined: usize,
    /// Knowledge-base entries that still named them and were redacted again (expected 0).
    pub kb_fixed: usize,
    /// Attachment contents to delete once the transaction has committed.
    pub files: Vec<String>,
}

/// Forgets `address` now (GDPR art. 17), inside the caller's transaction: every ticket they
/// opened is anonymised as retention would; on other people's tickets their address, words,
/// raw mail and files go and the requester's stay; their messages that opened nothing are
/// scrubbed; their quarantined mail and spam mark go; the knowledge base is checked for
/// anything still naming them. Refused while one of their tickets is open, unless `force`. Records who asked (`actor`), when and why
/// (`reason`) — never what was erased.
pub fn erase(
    conn: &Connection,
    config: &Config,
    address: &str,
    reason: &str,
    actor: &str,
    force: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<Erased, EraseRefusal>> {
    let address = address.trim().to_ascii_lowercase();
    let person_tickets = rows::tickets_of(conn, &address)?;
    let loose_count = rows::loose_messages(conn, &address)?;
    let quarantined = quarantined_of(conn, &address)?;
    let spam_mark = crate::store::spam::mark_of(conn, &address)?.is_some();
    let open: Vec<TicketId> = person_tickets
        .iter()
        .filter(|t| t.role == Role::Requester && matches!(t.status, Status::New | Status::Assigned))
        .map(|t| t.ticket)
        .collect();
    let held = person_tickets.len() + loose_count + quarantined.len() + usize::from(spam_mark);
    if let Err(refusal) = decide::may_erase(held, &open, force) {
        return Ok(Err(refusal));
    }
    // Everything the help desk knows them by, from every ticket: the names they wrote under,
    // the phone they left, for the redaction of the tickets they did not open.
    let mut names = Vec::new();
    let mut phones = Vec::new();
    for pt in person_tickets.iter().filter(|t| t.role == Role::Requester) {
        if let Some(t) = tickets::find_ticket(conn, pt.ticket)? {
            names.extend(t.requester_name);
            phones.extend(t.requester_phone);
        }
    }
    names.extend(rows::names_of(conn, &address)?);
    names.sort();
    names.dedup();
    phones.sort();
    phones.dedup();
    let mut erased = Erased::default();
    let keep = operator_addresses(config);
    let person = Redactor::new(std::slice::from_ref(&address), &names, &phones, &keep);
    for pt in &person_tickets {
        if pt.role == Role::Requester {
            erased.files.extend(anonymise_ticket(conn, config, pt.ticket, now)?);
            erased.anonymised += 1;
        } else {
            let theirs = |t: &str| person.only_theirs(t);
            let own = |t: &str| person.text(t);
            let is_person = |a: &str| person.is_person(a);
            let scrub = Scrub {
                text: &theirs,
                subject: &theirs,
                is_person: &is_person,
            };
            erased.files.extend(rows::leave_ticket(conn, pt.ticket, &scrub, &own)?);
            erased.left += 1;
        }
    }
    {
        let text = |t: &str| person.text(t);
        let is_person = |a: &str| person.is_person(a);
        let scrub = Scrub {
            text: &text,
            subject: &text,
            is_person: &is_person,
        };
        erased.loose = rows::scrub_loose_messages(conn, &scrub, &address)?;
        // Mail about no single ticket (the morning digests, answers to operators) quotes
        // requesters' names and subjects too.
        rows::scrub_ticketless_mail(conn, &scrub)?;
        // The quarantine keeps their mail as it came (unread, or spam), and their spam mark
        // names them: both go. The audit events about no ticket (a quarantine's reason) lose
        // their data, and only theirs.
        let ids: Vec<i64> = quarantined.iter().map(|q| q.id).collect();
        rows::drop_quarantined(conn, &ids)?;
        erased.quarantined = ids.len();
        crate::store::spam::forget_sender(conn, &address)?;
        let theirs = |t: &str| person.only_theirs(t);
        let only_theirs = Scrub {
            text: &theirs,
            subject: &theirs,
            is_person: &is_person,
        };
        rows::scrub_ticketless_events(conn, &only_theirs)?;
    }
    // The knowledge base's entries were redacted when they were made; check that none still
    // names them, and redact again any that does.
    let mut needles = vec![address.clone()];
    needles.extend(names.iter().flat_map(|n| {
        n.split_whitespace()
            .filter(|p| p.chars().count() >= 3)
            .map(str::to_string)
    }));
    needles.extend(phones.iter().cloned());
    for (id, ticket) in rows::kb_entries_naming(conn, &needles)? {
        let Some(entry) = crate::kb::find(conn, id)? else {
            continue;
        };
        let solution = person.text(&entry.solution);
        match ticket {
            Some(ticket) => {
                crate::kb::record_resolution(conn, &ticket, &solution, now)?;
                let title = person.text(&entry.title);
                crate::kb::edit(conn, id, Some(&title), Some(&solution), None, now)?;
            }
            None => {
                let title = person.text(&entry.title);
                crate::kb::edit(conn, id, Some(&title), Some(&solution), None, now)?;
            }
        }
        erased.kb_fixed += 1;
    }
    let reason = reason.trim();
    tickets::insert_event(
        conn,
        None,
        now,
        actor,
        EventAction::PrivacyErased,
        if reason.is_empty() { "erasure requested" } else { reason },
        None,
    )?;
    Ok(Ok(erased))
}

/// Records that `actor` exported someone's data (never whose).
pub fn record_export(conn: &Connection, actor: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    tickets::insert_event(
        conn,
        None,
        now,
        actor,
        EventAction::PrivacyExported,
        "data export",
        None,
    )?;
    Ok(())
}
