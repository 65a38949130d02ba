//! Outgoing mail: rendering templates and composing RFC 5322 messages.
//!
//! Pure apart from loading templates at start: nothing here sends or stores. Every header is
//! built by lettre's typed builder (never by concatenating user input), so a subject or a
//! name carrying CR/LF cannot inject headers. Queueing and sending live in `outbox`.

pub mod ics;
pub mod letter;
pub mod templates;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use sha2::{Digest, Sha256};

use crate::config::Language;
use crate::model::{MailPurpose, TicketId};
use crate::sla::{Calendar, CalendarRules};

/// One recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Display name, if known.
    pub name: Option<String>,
    /// Address.
    pub address: String,
}

/// A mail the help desk wants to send, before it has an id or bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Why it is sent (`ack`, `take_in`, `notify`, …): stored with the outbox row.
    pub purpose: MailPurpose,
    /// The ticket it belongs to.
    pub ticket: Option<TicketId>,
    /// Recipients.
    pub to: Vec<Recipient>,
    /// Subject (must carry the ticket token when there is a ticket).
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// The message this one answers, without angle brackets.
    pub in_reply_to: Option<String>,
    /// The thread so far, without angle brackets, oldest first.
    pub references: Vec<String>,
    /// Automatic mail (acknowledgments, notices): marked `Auto-Submitted` (RFC 3834).
    pub automatic: bool,
    /// Files attached: (name, content type, bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
}

impl OutgoingMail {
    /// An automatic mail outside any conversation — a notice, an alert, an announcement, a
    /// report — with the subject and body of a rendered template.
    pub fn automatic(
        purpose: MailPurpose,
        ticket: Option<TicketId>,
        to: Vec<Recipient>,
        rendered: templates::Rendered,
    ) -> OutgoingMail {
        OutgoingMail {
            purpose,
            ticket,
            to,
            subject: rendered.subject,
            body: rendered.body,
            in_reply_to: None,
            references: Vec::new(),
            automatic: true,
            attachments: Vec::new(),
        }
    }
}

/// `text` on one line, at most `chars` characters, cut at a word boundary with "…".
pub fn excerpt(text: &str, chars: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= chars {
        return flat;
    }
    let cut: String = flat.chars().take(chars).collect();
    let words = match cut.rfind(' ') {
        // A single word longer than the excerpt is cut inside it: better than nothing.
        Some(space) if space > 0 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", words.trim_end_matches([',', ';', ':', '.', ' ']))
}

/// At most `max_bytes` of `text`, cut at the last line break (else space) before the bound and
/// never inside a character; true when something was cut.
pub fn bounded_text(text: &str, max_bytes: usize) -> (&str, bool) {
    if text.len() <= max_bytes {
        return (text, false);
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    let cut = head
        .rfind('\n')
        .filter(|at| *at > end / 2)
        .or_else(|| head.rfind(' ').filter(|at| *at > end / 2))
        .unwrap_or(end);
    (text[..cut].trim_end(), true)
}

/// How operators read who asked: "Mario Rossi <mario.rossi@…>", "Mario Rossi, tel. 06 123",
/// the address or number alone, "-" when nothing is known.
pub fn requester_label(name: Option<&str>, email: Option<&str>, phone: Option<&str>) -> String {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let mut label = match (name, email) {
        (Some(n), Some(e)) => format!("{n} <{e}>"),
        (Some(n), None) => n.to_string(),
        (None, Some(e)) => e.to_string(),
        (None, None) => String::new(),
    };
    if let Some(phone) = phone.map(str::trim).filter(|p| !p.is_empty()) {
        if label.is_empty() {
            label = format!("tel. {phone}");
        } else {
            label = format!("{label}, tel. {phone}");
        }
    }
    if label.is_empty() { "-".into() } else { label }
}

/// The identity mails are sent under.
#[derive(Debug, Clone)]
pub struct Sender {
    /// Display name.
    pub name: String,
    /// Address (From and envelope sender).
    pub address: String,
    /// The help desk's time zone: `Date:` is written in its offset, as people's clients do.
    pub timezone: Tz,
}

impl Sender {
    /// The help desk of `config`.
    pub fn of(config: &crate::config::Config) -> Sender {
        Sender {
            name: config.helpdesk.name.clone(),
            address: config.helpdesk.address.clone(),
            timezone: config.calendar.timezone,
        }
    }

    /// The domain of the help-desk address: Message-IDs are minted under it.
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map(|(_, d)| d).unwrap_or("localhost")
    }
}

/// A Message-ID (without brackets) for a new outgoing mail: ticket, purpose and randomness,
/// under the help desk's own domain.
pub fn new_message_id(sender: &Sender, ticket: Option<TicketId>, purpose: MailPurpose) -> String {
    let mut random = [0u8; 8];
    rand::fill(&mut random);
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let prefix = ticket.map(|t| t.to_string()).unwrap_or_else(|| "sportello".into());
    format!("{prefix}.{purpose}.{hex}@{}", sender.domain())
}

/// Outlook's Thread-Index for a ticket: a stable 22-byte header block derived from the
/// ticket, so every mail of one ticket falls into one conversation in Outlook (which ignores
/// References).
fn thread_index(ticket: TicketId) -> String {
    let digest = Sha256::digest(ticket.to_string().as_bytes());
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &digest[..22])
}

fn mailbox(name: Option<&str>, address: &str) -> anyhow::Result<Mailbox> {
    let address = address
        .parse()
        .map_err(|e| anyhow::anyhow!("bad address {address:?}: {e}"))?;
    // A display name is data: strip control characters so it stays one header line.
    let name = name
        .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|n| !n.trim().is_empty());
    Ok(Mailbox::new(name, address))
}

fn raw_header(name: &'static str, value: &str) -> HeaderValue {
    let clean: String = value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    HeaderValue::new(HeaderName::new_from_ascii_str(name), clean)
}

/// The longest Message-ID we repeat in In-Reply-To or References: a longer one (a sender may
/// write ten kilobytes) could not be folded under RFC 5322's 998-octet line limit.
const MAX_ECHOED_ID: usize = 250;
/// References we send at most: the thread's first and its latest, as mail clients trim them.
const MAX_SENT_REFERENCES: usize = 10;

fn echoable(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ECHOED_ID
}

/// The References of an outgoing mail: the echoable ids, the first and the latest ones kept.
fn threading_references(references: &[String]) -> Vec<&str> {
    let ids: Vec<&str> = references
        .iter()
        .map(String::as_str)
        .filter(|id| echoable(id))
        .collect();
    if ids.len() <= MAX_SENT_REFERENCES {
        return ids;
    }
    let mut kept = vec![ids[0]];
    kept.extend_from_slice(&ids[ids.len() - (MAX_SENT_REFERENCES - 1)..]);
    kept
}

/// Composes the complete message bytes.
pub fn compose(sender: &Sender, mail: &OutgoingMail, message_id: &str, date: DateTime<Utc>) -> anyhow::Result<Vec<u8>> {
    let mut builder = lettre::Message::builder()
        .from(mailbox(Some(&sender.name), &sender.address)?)
        .subject(
            mail.subject
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>(),
        )
        .message_id(Some(format!("<{message_id}>")))
        .date(date.into());
    for r in &mail.to {
        builder = builder.to(mailbox(r.name.as_deref(), &r.address)?);
    }
    if let Some(parent) = mail.in_reply_to.as_deref().filter(|id| echoable(id)) {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    let refs = threading_references(&mail.references);
    if !refs.is_empty() {
        let refs: Vec<String> = refs.iter().map(|r| format!("<{r}>")).collect();
        builder = builder.references(refs.join(" "));
    }
    if mail.automatic {
        builder = builder
            .raw_header(raw_header("Auto-Submitted", mail.purpose.auto_submitted()))
            .raw_header(raw_header("X-Auto-Response-Suppress", "All"));
    }
    if let Some(ticket) = mail.ticket {
        builder = builder
            .raw_header(raw_header(
                "Thread-Topic",
                &crate::ingest::thread::base_subject(&mail.subject),
            ))
            .raw_header(raw_header("Thread-Index", &thread_index(ticket)))
            .raw_header(raw_header("X-Sportello-Ticket", &ticket.to_string()));
    }
    let text = SinglePart::plain(mail.body.clone());
    let message = if mail.attachments.is_empty() {
        builder.singlepart(text)?
    } else {
        let mut parts = MultiPart::mixed().singlepart(text);
        for (name, content_type, bytes) in &mail.attachments {
            let ct = ContentType::parse(content_type).unwrap_or(ContentType::TEXT_PLAIN);
            parts = parts.singlepart(Attachment::new(name.clone()).body(bytes.clone(), ct));
        }
        builder.multipart(parts)?
    };
    Ok(with_local_date(
        message.formatted(),
        &date.with_timezone(&sender.timezone).to_rfc2822(),
    ))
}

/// The message with its `Date:` written in the help desk's offset (`+0100`, as people's own
/// clients write it) instead of lettre's UTC: lettre reads a `Date` back as HTTP dates, which
/// know only GMT, so the header is replaced in the composed bytes.
fn with_local_date(message: Vec<u8>, local: &str) -> Vec<u8> {
    let head_end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(message.len());
    let Some(start) = message[..head_end]
        .windows(8)
        .position(|w| w == b"\r\nDate: ")
        .map(|at| at + 2)
    else {
        return message;
    };
    let end = message[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(message.len(), |at| start + at);
    let mut out = Vec::with_capacity(message.len() + 8);
    out.extend_from_slice(&message[..start]);
    out.extend_from_slice(format!("Date: {local}").as_bytes());
    out.extend_from_slice(&message[end..]);
    out
}

const WEEKDAYS_IT: [&str; 7] = [
    "lunedì",
    "martedì",
    "mercoledì",
    "giovedì",
    "venerdì",
    "sabato",
    "domenica",
];
const MONTHS_IT: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];

/// A date as people write it: "lunedì 9 marzo 2026" / "Monday 9 March 2026".
pub fn format_date(day: chrono::NaiveDate, language: Language) -> String {
    match language {
        Language::It => format!(
            "{} {} {} {}",
            WEEKDAYS_IT[day.weekday().num_days_from_monday() as usize],
            day.day(),
            MONTHS_IT[day.month0() as usize],
            day.year()
        ),
        Language::En => day.format("%A %-d %B %Y").to_string(),
    }
}

/// An instant in the help desk's local time: "lunedì 9 marzo 2026 alle 09:45".
pub fn format_local(t: DateTime<Utc>, tz: Tz, language: Language) -> String {
    let local = t.with_timezone(&tz);
    let time = local.format("%H:%M");
    match language {
        Language::It => format!("{} alle {time}", format_date(local.date_naive(), language)),
        Language::En => format!("{} at {time}", format_date(local.date_naive(), language)),
    }
}

/// The service hours in words, from the configured windows.
pub fn service_hours(rules: &CalendarRules, language: Language) -> String {
    let windows: Vec<String> = rules
        .windows
        .iter()
        .map(|w| format!("{}–{}", w.start.format("%H:%M"), w.end.format("%H:%M")))
        .collect();
    match language {
        Language::It => format!("dal lunedì al venerdì, {}, festivi esclusi", windows.join(" e ")),
        Language::En => format!("Monday to Friday, {}, public holidays excluded", windows.join(" and ")),
    }
}

/// A sentence about the current or next suspension of the service, or "" when none is
/// planned from today on.
pub fn suspension_note(calendar: &Calendar, now: DateTime<Utc>, language: Language) -> String {
    let today = now.with_timezone(&calendar.timezone()).date_naive();
    let Some(next) = calendar
        .suspensions()
        .iter()
        .filter(|s| s.to >= today)
        .min_by_key(|s| s.from)
    else {
        return String::new();
    };
    let day_after = next
        .to
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|d| d.and_local_timezone(calendar.timezone()).earliest())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(now);
    let resumes = calendar.next_opening(day_after);
    let (from, to) = (format_date(next.from, language), format_date(next.to, language));
    let resumes = format_local(resumes, calendar.timezone(), language);
    match (language, next.from <= today) {
        (Language::It, true) => format!(
            "Il servizio è sospeso fino a {to} ({}); riprenderà {resumes}.",
            next.reason
        ),
        (Language::It, false) => {
            format!(
                "Avviso: il servizio sarà sospeso da {from} a {to} ({}); riprenderà {resumes}.",
                next.reason
            )
        }
        (Language::En, true) => format!(
            "The service is suspended until {to} ({}); it resumes {resumes}.",
            next.reason
        ),
        (Language::En, false) => {
            format!(
                "Notice: the service will be suspended from {from} to {to} ({}); it resumes {resumes}.",
                next.reason
            )
        }
    }
}

/// The current service notice, for the portal to show (`sportello notice`, later HTTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNotice {
    /// The help desk is inside a service window now.
    pub open_now: bool,
    /// The next opening (now when open).
    pub next_opening: DateTime<Utc>,
    /// The service hours in words.
    pub hours: String,
    /// Current and upcoming suspensions: (first day, last day, reason, in progress now).
    pub suspensions: Vec<(chrono::NaiveDate, chrono::NaiveDate, String, bool)>,
    /// One sentence about the nearest suspension, or "".
    pub message: String,
}

/// Builds the service notice at `now`.
pub fn service_notice(calendar: &Calendar, now: DateTime<Utc>, language: Language) -> ServiceNotice {
    let today = now.with_timezone(&calendar.timezone()).date_naive();
    let mut suspensions: Vec<_> = calendar
        .suspensions()
        .iter()
        .filter(|s| s.to >= today)
        .map(|s| (s.from, s.to, s.reason.clone(), s.from <= today))
        .collect();
    suspensions.sort();
    ServiceNotice {
        open_now: calendar.is_open_at(now),
        next_opening: calendar.next_opening(now),
        hours: service_hours(calendar.rules(), language),
        suspensions,
        message: suspension_note(calendar, now, language),
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requesters_are_named_as_operators_read_them() {
        let label = requester_label;
        assert_eq!(
            label(Some("Mario Rossi"), Some("mario.rossi@example.org"), None),
            "Mario Rossi <mario.rossi@example.org>"
        );
        assert_eq!(
            label(Some("Mario Rossi"), None, Some("06 1234567")),
            "Mario Rossi, tel. 06 1234567"
        );
        assert_eq!(label(Some(" "), Some("a@example.org"), None), "a@example.org");
        assert_eq!(label(None, None, Some("06 1234567")), "tel. 06 1234567");
        assert_eq!(label(None, None, None), "-");
    }

    #[test]
    fn notice_texts_are_bounded_at_a_line_or_a_word() {
        assert_eq!(bounded_text("breve", 100), ("breve", false));
        assert_eq!(
            bounded_text("riga uno\nriga due\nriga tre", 20),
            ("riga uno\nriga due", true)
        );
        assert_eq!(bounded_text("parola parola parola", 15), ("parola parola", true));
        let one_line = "x".repeat(2_000_000);
        let (head, cut) = bounded_text(&one_line, 32 * 1024);
        assert!(cut && head.len() == 32 * 1024);
        let accents = "è".repeat(100);
        let (head, _) = bounded_text(&accents, 51);
        assert_eq!(head.len(), 50, "never inside a character");
    }

    #[test]
    fn excerpts_end_at_a_word() {
        assert_eq!(
            excerpt("Il portale\n rifiuta   il file", 100),
            "Il portale rifiuta il file"
        );
        assert_eq!(
            excerpt("Il portale rifiuta il file firmato", 22),
            "Il portale rifiuta il…"
        );
        assert_eq!(excerpt("Il portale, rifiuta", 12), "Il portale…");
        assert_eq!(excerpt("Precipitevolissimevolmente", 10), "Precipitev…");
    }
    use chrono::TimeZone;

    #[test]
    fn dates_read_naturally_in_both_languages() {
        let t = Utc.with_ymd_and_hms(2026, 3, 9, 8, 45, 0).single().expect("date");
        assert_eq!(
            format_local(t, chrono_tz::Europe::Rome, Language::It),
            "lunedì 9 marzo 2026 alle 09:45"
        );
        assert_eq!(
            format_local(t, chrono_tz::Europe::Rome, Language::En),
            "Monday 9 March 2026 at 09:45"
        );
        let hours = service_hours(&CalendarRules::default(), Language::It);
        assert_eq!(
            hours,
            "dal lunedì al venerdì, 08:00–13:00 e 14:00–17:00, festivi esclusi"
        );
    }

    #[test]
    fn suspension_note_announces_and_then_reports_the_resumption() {
        let s = crate::sla::Suspension {
            from: chrono::NaiveDate::from_ymd_opt(2026, 8, 10).expect("d"),
            to: chrono::NaiveDate::from_ymd_opt(2026, 8, 14).expect("d"),
            reason: "ferie estive".into(),
        };
        let cal = Calendar::new(CalendarRules::default(), vec![s]);
        let before = Utc.with_ymd_and_hms(2026, 8, 3, 9, 0, 0).single().expect("date");
        let note = suspension_note(&cal, before, Language::It);
        // 15 August is a holiday and the 16th a Sunday: work resumes on Monday the 17th.
        assert!(
            note.starts_with("Avviso: il servizio sarà sospeso da lunedì 10 agosto 2026"),
            "{note}"
        );
        assert!(note.contains("riprenderà lunedì 17 agosto 2026 alle 08:00"), "{note}");
        let during = Utc.with_ymd_and_hms(2026, 8, 11, 9, 0, 0).single().expect("date");
        assert!(
            suspension_note(&cal, during, Language::It).starts_with("Il servizio è sospeso fino a venerdì 14 agosto")
        );
        let after = Utc.with_ymd_and_hms(2026, 8, 20, 9, 0, 0).single().expect("date");
        assert_eq!(suspension_note(&cal, after, Language::En), "");
    }

    fn sender() -> Sender {
        Sender {
            name: "Help desk CPortal".into(),
            address: "assistenza@comune.example.it".into(),
            timezone: chrono_tz::Europe::Rome,
        }
    }

    #[test]
    fn a_tickets_thread_index_is_stable_22_bytes_in_base64() {
        let ticket = TicketId { year: 2026, number: 1 };
        let index = thread_index(ticket);
        assert_eq!(index, thread_index(ticket), "the same for every mail of the ticket");
        assert_ne!(index, thread_index(TicketId { year: 2026, number: 2 }));
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &index).expect("base64");
        assert_eq!(bytes.len(), 22);
    }

    #[test]
    fn user_text_cannot_inject_headers() {
        let mail = OutgoingMail {
            purpose: MailPurpose::Ack,
            ticket: Some(TicketId { year: 2026, number: 1 }),
            to: vec![Recipient {
                name: Some("Mario\r\nBcc: victim@example.net".into()),
                address: "m@example.com".into(),
            }],
            subject: "[TCK-2026-00001] Ciao\r\nBcc: victim@example.net".into(),
            body: "corpo".into(),
            in_reply_to: Some("abc@example.com".into()),
            references: vec!["abc@example.com".into()],
            automatic: true,
            attachments: vec![],
        };
        let at = Utc.with_ymd_and_hms(2026, 3, 9, 9, 0, 0).single().expect("date");
        let raw = compose(&sender(), &mail, "TCK-2026-00001.ack.1@comune.example.it", at).expect("compose");
        let text = String::from_utf8_lossy(&raw);
        assert!(
            !text.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "{text}"
        );
        let parsed = crate::ingest::parse::parse_mail(&raw, 1 << 20).expect("our own mail parses");
        assert_eq!(
            parsed.message_id.as_deref(),
            Some("TCK-2026-00001.ack.1@comune.example.it")
        );
        assert_eq!(parsed.in_reply_to, vec!["abc@example.com"]);
        assert_eq!(parsed.to, vec!["m@example.com"]);
        assert!(parsed.subject.starts_with("[TCK-2026-00001] Ciao"));
        assert_eq!(parsed.header("auto-submitted"), Some("auto-replied"));
        // A notice answers nothing: the help desk generated it (RFC 3834).
        let notice = OutgoingMail {
            purpose: MailPurpose::Notify,
            ..mail
        };
        let raw = compose(&sender(), &notice, "n.1@comune.example.it", at).expect("compose");
        let parsed = crate::ingest::parse::parse_mail(&raw, 1 << 20).expect("parses");
        assert_eq!(parsed.header("auto-submitted"), Some("auto-generated"));
        assert!(String::from_utf8_lossy(&raw).contains("Date: Mon, 9 Mar 2026 10:00:00 +0100\r\n"));
    }

    #[test]
    fn message_ids_are_unique_and_under_our_domain() {
        let a = new_message_id(&sender(), None, MailPurpose::Ack);
        let b = new_message_id(&sender(), None, MailPurpose::Ack);
        assert_ne!(a, b);
        assert!(a.ends_with("@comune.example.it"));
    }

    #[test]
    fn no_header_line_of_ours_exceeds_998_octets() {
        let long_ids: Vec<String> = (0..40)
            .map(|n| format!("{n}.{}@relay.example.net", "x".repeat(200)))
            .collect();
        let mail = OutgoingMail {
            purpose: MailPurpose::Ack,
            ticket: Some(TicketId { year: 2026, number: 1 }),
            to: vec![Recipient {
                name: None,
                address: "m@example.com".into(),
            }],
            subject: format!("[TCK-2026-00001] {}", "parola ".repeat(300)),
            body: "corpo".into(),
            in_reply_to: Some(format!("{}@relay.example.net", "y".repeat(2000))),
            references: long_ids,
            automatic: true,
            attachments: vec![],
        };
        let at = Utc.with_ymd_and_hms(2026, 3, 9, 9, 0, 0).single().expect("date");
        let raw = compose(&sender(), &mail, "TCK-2026-00001.ack.1@comune.example.it", at).expect("compose");
        let text = String::from_utf8_lossy(&raw);
        let longest = text.split("\r\n").map(str::len).max().unwrap_or(0);
        assert!(longest <= 998, "a line of {longest} octets");
    }
}
