//! Raw bytes → [`InboundMail`]: the facts intake needs from one message, decoded.
//!
//! Pure: no I/O, no clock, no store. Built on mail-parser, which decodes every charset and
//! transfer encoding and never panics; this module adds what a help desk needs on top:
//! the fresh text of a reply (see [`super::quote`]), sanitised attachment names, the PEC
//! envelope unwrapped to the original message, the delivery-status facts of a bounce, and
//! Outlook's `winmail.dat` replaced by the files inside it (see [`super::tnef`]).
//! The Subject, display names and file names are read again from the raw header bytes
//! where mail-parser's reading loses characters (see [`super::header`]). A message mail-parser cannot read at all is a [`ParseFailure`], which the caller
//! quarantines.

use mail_parser::{Address, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType};

use super::header;
use super::quote::fresh_text;
use super::tnef;

/// How deep PEC envelopes and forwarded messages are unwrapped.
const MAX_NESTING: usize = 3;

/// One address with its display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Lowercased address.
    pub address: String,
    /// Display name, decoded, if any.
    pub name: Option<String>,
}

/// An attachment as found in the message (bounded by the caller's limits afterwards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name, reduced to a safe base name.
    pub filename: String,
    /// `type/subtype`, lowercase.
    pub content_type: String,
    /// Decoded content.
    pub bytes: Vec<u8>,
}

/// The PEC (posta elettronica certificata) envelope, when the message came in one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pec {
    /// A certified message: the fields of [`InboundMail`] describe the original inside it.
    Envelope {
        /// The envelope's sender (the PEC provider writes "Per conto di: …").
        envelope_from: Option<String>,
    },
    /// A PEC receipt (`X-Ricevuta: accettazione`, `avvenuta-consegna`, …): never a request.
    Receipt(String),
}

/// What a delivery-status report says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryReport {
    /// Recipients whose delivery failed for good.
    pub failed: Vec<String>,
    /// Recipients whose delivery is only delayed.
    pub delayed: Vec<String>,
    /// Recipients the message reached (`Action: delivered`, `relayed`, `expanded`): a
    /// delivery receipt, when nobody failed.
    pub delivered: Vec<String>,
    /// Message-IDs of the original message, when the report quotes its headers.
    pub original_message_ids: Vec<String>,
}

/// What a message disposition notification (RFC 8098, a read receipt) says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DispositionReport {
    /// The disposition type, lowercase: `displayed`, `deleted`, `dispatched`, `processed`, …
    pub disposition: String,
    /// Message-IDs of the message it reports on (`Original-Message-ID`, quoted headers).
    pub original_message_ids: Vec<String>,
}

/// Everything intake uses from one message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboundMail {
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To ids, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// References ids, without angle brackets.
    pub references: Vec<String>,
    /// The author.
    pub from: Option<Person>,
    /// Reply-To, when given.
    pub reply_to: Option<Person>,
    /// To addresses, lowercased.
    pub to: Vec<String>,
    /// Cc addresses, lowercased.
    pub cc: Vec<String>,
    /// Decoded subject, on one line.
    pub subject: String,
    /// The whole body as text (HTML converted when there is no text part).
    pub text: String,
    /// The body without quoted history and signature.
    pub fresh_text: String,
    /// True when the only body was HTML.
    pub html_only: bool,
    /// Attachments, decoded.
    pub attachments: Vec<Attachment>,
    /// Unfolded values of selected headers, in message order, names lowercased:
    /// the loop-protection, list, PEC and authentication headers.
    pub headers: Vec<(String, String)>,
    /// The Return-Path, `Some("")` for the null sender `<>`.
    pub return_path: Option<String>,
    /// PEC facts, when the message is certified mail.
    pub pec: Option<Pec>,
    /// Delivery-status report, when the message is one.
    pub delivery_report: Option<DeliveryReport>,
    /// Disposition notification (read receipt), when the message is one.
    pub disposition_report: Option<DispositionReport>,
    /// The message carries Microsoft's `X-MS-…` headers: Exchange or Outlook wrote or relayed
    /// it (one sign of Exchange's read receipts that are no RFC 8098 report).
    pub microsoft_headers: bool,
    /// mail-parser met undecodable content somewhere (kept as data, not an error).
    pub encoding_problem: bool,
}

impl InboundMail {
    /// The first value of a header kept in [`InboundMail::headers`] (name lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a kept header, top to bottom.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The ids this message says it answers: In-Reply-To first, then References newest first.
    pub fn referenced_ids(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.in_reply_to
            .iter()
            .chain(self.references.iter().rev())
            .map(String::as_str)
            .filter(|id| seen.insert(*id))
            .collect()
    }
}

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseFailure {
    /// No header section could be found: not an e-mail.
    NotAMessage,
    /// The MIME parser itself failed on this input (a bug it has, caught).
    ParserPanicked,
    /// Larger than the configured bound; not parsed at all.
    TooLarge {
        /// Its size.
        size: usize,
        /// The bound.
        limit: u64,
    },
}

impl std::fmt::Display for ParseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseFailure::NotAMessage => write!(f, "not an e-mail message: no header section found"),
            ParseFailure::ParserPanicked => write!(f, "the MIME structure is too broken to read"),
            ParseFailure::TooLarge { size, limit } => {
                write!(
                    f,
                    "message of {size} bytes is larger than intake.max_message_bytes ({limit})"
                )
            }
        }
    }
}

/// Headers kept verbatim for classification and authentication.
const KEPT_HEADERS: &[&str] = &[
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "list-post",
    "x-trasporto",
    "x-ricevuta",
    "x-riferimento-message-id",
    "authentication-results",
    "x-ms-exchange-organization-authas",
    "x-ms-exchange-organization-authsource",
    "x-loop",
    "x-sportello-ticket",
    "x-failed-recipients",
    "thread-topic",
    "content-class",
];

/// Parses one raw message. `max_bytes` bounds the work: larger input is refused unread.
pub fn parse_mail(raw: &[u8], max_bytes: u64) -> Result<InboundMail, ParseFailure> {
    if raw.len() as u64 > max_bytes {
        return Err(ParseFailure::TooLarge {
            size: raw.len(),
            limit: max_bytes,
        });
    }
    // mail-parser promises never to panic, but fuzzing found inputs that make it (see
    // fixtures/eml/regressions/): a panic there is one bad message, never a dead daemon.
    let parsed = std::panic::catch_unwind(|| {
        let message = MessageParser::default().parse(raw)?;
        Some(checked(&message).map(|()| from_message(&message, 0)))
    });
    match parsed {
        Ok(Some(result)) => result,
        Ok(None) => Err(ParseFailure::NotAMessage),
        Err(_) => Err(ParseFailure::ParserPanicked),
    }
}

/// Refuses what parsed but is not mail at all.
fn checked(message: &Message<'_>) -> Result<(), ParseFailure> {
    // mail-parser accepts almost anything; a "message" without a single header that every
    // e-mail carries is garbage, not mail.
    const EVERY_MAIL_HAS_ONE: [&str; 9] = [
        "from",
        "sender",
        "to",
        "date",
        "subject",
        "message-id",
        "received",
        "return-path",
        "mime-version",
    ];
    let is_mail = message.headers().iter().any(|h| {
        EVERY_MAIL_HAS_ONE
            .iter()
            .any(|known| h.name().eq_ignore_ascii_case(known))
    });
    if !is_mail {
        return Err(ParseFailure::NotAMessage);
    }
    Ok(())
}

fn from_message(message: &Message<'_>, depth: usize) -> InboundMail {
    let headers: Vec<(String, String)> = message
        .headers_raw()
        .filter_map(|(name, value)| {
            let lower = name.to_ascii_lowercase();
            KEPT_HEADERS.contains(&lower.as_str()).then(|| (lower, unfold(value)))
        })
        .collect();

    if let Some(receipt) = headers
        .iter()
        .find(|(n, _)| n == "x-ricevuta")
        .map(|(_, v)| v.trim().to_ascii_lowercase())
    {
        let mut mail = plain_fields(message, headers);
        mail.pec = Some(Pec::Receipt(receipt));
        return mail;
    }

    // Certified mail ("posta-certificata") and the anomaly envelope ("errore": ordinary mail
    // that reached a PEC box) both carry the original as postacert.eml.
    let is_pec = headers.iter().any(|(n, _)| n == "x-trasporto");
    if is_pec
        && depth < MAX_NESTING
        && let Some(inner) = find_postacert(message)
    {
        let mut mail = from_message(inner, depth + 1);
        mail.pec = Some(Pec::Envelope {
            envelope_from: first_person(message.from()).map(|p| p.address),
        });
        // Authentication of the envelope is what our MX checked; keep the envelope's
        // headers for classification and the inner ones as well.
        let mut envelope_headers = headers;
        envelope_headers.append(&mut mail.headers);
        mail.headers = envelope_headers;
        return mail;
    }

    let mut mail = plain_fields(message, headers);
    mail.delivery_report = delivery_report(message);
    mail.disposition_report = disposition_report(message);
    mail
}

fn plain_fields(message: &Message<'_>, headers: Vec<(String, String)>) -> InboundMail {
    let (text, html_only) = body_text(message);
    let charset = text_charset(message);
    let attachments = attachments(message, charset.as_deref());
    let subject = raw_header(message, message.headers(), "subject")
        .map(|raw| header::decode(raw, charset.as_deref()))
        .unwrap_or_default();
    InboundMail {
        message_id: message.message_id().map(clean_id).filter(|id| !id.is_empty()),
        in_reply_to: bounded_references(id_list(message.in_reply_to())),
        references: bounded_references(id_list(message.references())),
        from: person(message, "from", charset.as_deref()),
        reply_to: person(message, "reply-to", charset.as_deref()),
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        subject: one_line(&subject),
        fresh_text: fresh_text(&text),
        text,
        html_only,
        attachments,
        headers,
        return_path: return_path(message),
        pec: None,
        delivery_report: None,
        disposition_report: None,
        microsoft_headers: message
            .headers()
            .iter()
            .any(|h| h.name().get(..5).is_some_and(|p| p.eq_ignore_ascii_case("x-ms-"))),
        encoding_problem: message.parts.iter().any(|p| p.is_encoding_problem),
    }
}

/// The charset of the message's first text part that names one: what raw 8-bit header
/// bytes were most likely written in (see [`header`]).
fn text_charset(message: &Message<'_>) -> Option<String> {
    message
        .text_bodies()
        .chain(message.html_bodies())
        .find_map(|part| part.content_type()?.attribute("charset").map(str::to_string))
}

/// The raw bytes of a header's value (the first with that name) among `headers`.
fn raw_header<'m>(message: &'m Message<'_>, headers: &[mail_parser::Header<'_>], name: &str) -> Option<&'m [u8]> {
    let header = headers.iter().find(|h| h.name().eq_ignore_ascii_case(name))?;
    // Header offsets count from the start of the outermost message, which is what the
    // `raw_message` field holds (the method gives a nested message's own bytes).
    message
        .raw_message
        .get(header.offset_start() as usize..header.offset_end() as usize)
}

/// The first address of a From-like header with its display name decoded by the rule of
/// [`header`]: mail-parser reads the header again after [`header::normalise`] when its own
/// reading would lose characters.
fn person(message: &Message<'_>, name: &str, charset: Option<&str>) -> Option<Person> {
    let parsed = match name {
        "from" => message.from(),
        _ => message.reply_to(),
    };
    let person = first_person(parsed)?;
    let Some(raw) = raw_header(message, message.headers(), name).filter(|raw| header::needs_normalising(raw)) else {
        return Some(person);
    };
    let rewritten = format!("From: {}\r\n\r\n", header::normalise(raw, charset));
    let reread = MessageParser::default().parse_headers(rewritten.as_bytes());
    Some(Person {
        name: reread
            .as_ref()
            .and_then(|m| first_person(m.from()))
            .and_then(|p| p.name),
        ..person
    })
}

/// The first text body, or the first HTML body converted, and whether HTML was all there was.
fn body_text(message: &Message<'_>) -> (String, bool) {
    let has_plain = message.text_bodies().any(|p| matches!(p.body, PartType::Text(_)));
    if has_plain {
        let text = message
            .text_bodies()
            .filter_map(|p| match &p.body {
                PartType::Text(t) => Some(t.as_ref()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n");
        return (normalise_newlines(&text), false);
    }
    match message.body_html(0) {
        Some(html) => (normalise_newlines(&super::html::to_text(&html)), true),
        None => (String::new(), false),
    }
}

/// Parts of a delivery report that describe the failure rather than carry a file.
const REPORT_PARTS: &[&str] = &[
    "message/delivery-status",
    "message/global-delivery-status",
    "message/disposition-notification",
    "text/rfc822-headers",
    "message/rfc822-headers",
    "message/rfc822",
    "message/global",
];

fn attachments(message: &Message<'_>, charset: Option<&str>) -> Vec<Attachment> {
    let is_report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    message
        .attachments()
        .filter(|part| {
            let ct = part
                .content_type()
                .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_ascii_lowercase())
                .unwrap_or_default();
            !(is_report && REPORT_PARTS.contains(&ct.as_str()))
        })
        .map(|part| {
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase();
            let bytes = match &part.body {
                PartType::Message(inner) => inner.raw_message().to_vec(),
                _ => part.contents().to_vec(),
            };
            let fallback = if content_type == "message/rfc822" {
                "messaggio.eml"
            } else {
                "allegato"
            };
            let name = continued_filename(message, part)
                .or_else(|| normalised_filename(message, part, charset))
                .or_else(|| part.attachment_name().map(str::to_string));
            Attachment {
                filename: sanitize_filename(name.as_deref().unwrap_or(fallback), fallback),
                content_type,
                bytes,
            }
        })
        .flat_map(unpack_tnef)
        .collect()
}

/// How many files one `winmail.dat` may yield: the ceiling of `[intake] max_attachments`.
/// Parsing knows no configuration; `store::attachments` applies the configured counts and
/// sizes afterwards, recording what it drops with a note, which a decoder could only drop
/// silently.
const TNEF_MAX_FILES: usize = 1000;

/// Outlook's TNEF part (`winmail.dat`), replaced by the files inside it: the requester sent
/// those files, and nobody at the help desk can open a `winmail.dat`. Kept as it came when
/// nothing in it decodes, so no file is lost.
fn unpack_tnef(attachment: Attachment) -> Vec<Attachment> {
    let is_tnef = matches!(
        attachment.content_type.as_str(),
        "application/ms-tnef" | "application/vnd.ms-tnef"
    ) || attachment.filename.eq_ignore_ascii_case("winmail.dat");
    if !is_tnef {
        return vec![attachment];
    }
    let limits = tnef::Limits {
        max_files: TNEF_MAX_FILES,
        // No file inside can be larger than the part that holds it.
        max_file_bytes: attachment.bytes.len(),
    };
    let files = tnef::decode(&attachment.bytes, limits);
    if files.is_empty() {
        return vec![attachment];
    }
    files
        .into_iter()
        .map(|file| Attachment {
            filename: sanitize_filename(file.name.as_deref().unwrap_or("allegato"), "allegato"),
            content_type: file.content_type.unwrap_or_else(|| "application/octet-stream".into()),
            bytes: file.bytes,
        })
        .collect()
}

/// An RFC 2231 file name continued over several parameters (`filename*0*=UTF-8''…;
/// filename*1*=…`), reassembled from the raw header: the segments must be joined as bytes
/// before decoding, since a client may split a UTF-8 character between two of them.
fn continued_filename(message: &Message<'_>, part: &mail_parser::MessagePart<'_>) -> Option<String> {
    let value = raw_header(message, &part.headers, "content-disposition")?;
    let value = String::from_utf8_lossy(value);
    if !value.to_ascii_lowercase().contains("filename*0") {
        return None;
    }
    let mut segments: Vec<(u32, bool, String)> = Vec::new();
    for param in value.split(';') {
        let Some((key, val)) = param.trim().split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let Some(rest) = key.strip_prefix("filename*") else {
            continue;
        };
        let encoded = rest.ends_with('*');
        let Ok(index) = rest.trim_end_matches('*').parse::<u32>() else {
            continue;
        };
        segments.push((index, encoded, val.trim().trim_matches('"').to_string()));
    }
    segments.sort_by_key(|(i, _, _)| *i);
    let mut bytes = Vec::new();
    let mut charset = String::from("utf-8");
    for (index, encoded, val) in segments {
        let mut text = val.as_str();
        if encoded && index == 0 {
            let mut pieces = text.splitn(3, '\'');
            if let (Some(cs), Some(_lang), Some(rest)) = (pieces.next(), pieces.next(), pieces.next()) {
                charset = cs.to_ascii_lowercase();
                text = rest;
            }
        }
        if encoded {
            let mut chars = text.bytes();
            while let Some(b) = chars.next() {
                if b == b'%' {
                    let hex: Vec<u8> = chars.by_ref().take(2).collect();
                    let value = std::str::from_utf8(&hex)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    bytes.push(value.unwrap_or(b'?'));
                } else {
                    bytes.push(b);
                }
            }
        } else {
            bytes.extend_from_slice(text.as_bytes());
        }
    }
    Some(header::decode_bytes(&charset, &bytes))
}

/// A file name whose raw parameters mail-parser would misread (raw 8-bit bytes, a name split
/// over several encoded-words), read again from the part's headers after
/// [`header::normalise`].
fn normalised_filename(
    message: &Message<'_>,
    part: &mail_parser::MessagePart<'_>,
    charset: Option<&str>,
) -> Option<String> {
    let disposition = raw_header(message, &part.headers, "content-disposition");
    let content_type = raw_header(message, &part.headers, "content-type");
    if !disposition
        .into_iter()
        .chain(content_type)
        .any(header::needs_normalising)
    {
        return None;
    }
    let mut rewritten = String::new();
    for (name, raw) in [("Content-Disposition", disposition), ("Content-Type", content_type)] {
        if let Some(raw) = raw {
            rewritten.push_str(&format!("{name}: {}\r\n", header::normalise(raw, charset).trim_end()));
        }
    }
    rewritten.push_str("\r\n");
    let reread = MessageParser::default().parse_headers(rewritten.as_bytes())?;
    let name = reread
        .content_disposition()
        .and_then(|cd| cd.attribute("filename"))
        .or_else(|| reread.content_type().and_then(|ct| ct.attribute("name")))?;
    Some(name.to_string())
}

/// The original message inside a PEC envelope (`postacert.eml`).
fn find_postacert<'a>(message: &'a Message<'a>) -> Option<&'a Message<'a>> {
    let mut fallback = None;
    for part in message.attachments() {
        if let PartType::Message(inner) = &part.body {
            if part
                .attachment_name()
                .is_some_and(|n| n.eq_ignore_ascii_case("postacert.eml"))
            {
                return Some(inner);
            }
            fallback.get_or_insert(inner);
        }
    }
    fallback
}

/// Whether the message is a `multipart/report` of this `report-type`.
fn is_report(message: &Message<'_>, report_type: &str) -> bool {
    message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case(report_type))
    })
}

/// The `type/subtype` of a part, lowercase.
fn part_type(part: &mail_parser::MessagePart<'_>) -> Option<String> {
    let ct = part.content_type()?;
    Some(format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_ascii_lowercase())
}

/// The Message-ID of the original a report quotes (its headers, or the whole message).
fn quoted_original_id(part: &mail_parser::MessagePart<'_>) -> Option<String> {
    match part_type(part)?.as_str() {
        "text/rfc822-headers" | "message/rfc822-headers" => MessageParser::default()
            .parse_headers(part.contents())?
            .message_id()
            .map(clean_id),
        "message/rfc822" | "message/global" => match &part.body {
            PartType::Message(inner) => inner.message_id().map(clean_id),
            _ => None,
        },
        _ => None,
    }
}

/// Reads the per-recipient blocks of a `message/delivery-status` part.
fn delivery_report(message: &Message<'_>) -> Option<DeliveryReport> {
    if !is_report(message, "delivery-status") {
        return None;
    }
    let mut report = DeliveryReport::default();
    for part in &message.parts {
        match part_type(part).as_deref() {
            Some("message/delivery-status" | "message/global-delivery-status") => {
                read_status_fields(&String::from_utf8_lossy(part.contents()), &mut report);
            }
            _ => report.original_message_ids.extend(quoted_original_id(part)),
        }
    }
    Some(report)
}

/// Reads the `message/disposition-notification` part of a read receipt (RFC 8098 §3.2).
fn disposition_report(message: &Message<'_>) -> Option<DispositionReport> {
    if !is_report(message, "disposition-notification") {
        return None;
    }
    let mut report = DispositionReport::default();
    let mut original = None;
    for part in &message.parts {
        match part_type(part).as_deref() {
            Some("message/disposition-notification" | "message/global-disposition-notification") => {
                let fields = normalise_newlines(&String::from_utf8_lossy(part.contents()));
                for line in fields.lines() {
                    let Some((name, value)) = line.split_once(':') else {
                        continue;
                    };
                    match name.trim().to_ascii_lowercase().as_str() {
                        // "manual-action/MDN-sent-manually; displayed/…modifiers"
                        "disposition" => {
                            let kind = value.rsplit(';').next().unwrap_or_default();
                            let kind = kind.split('/').next().unwrap_or_default();
                            report.disposition = kind.trim().to_ascii_lowercase();
                        }
                        // The first one is the field; a hostile report may repeat it.
                        "original-message-id" if original.is_none() => {
                            original = Some(clean_id(value)).filter(|id| !id.is_empty());
                        }
                        _ => {}
                    }
                }
            }
            _ => report.original_message_ids.extend(quoted_original_id(part)),
        }
    }
    if let Some(id) = original {
        report.original_message_ids.insert(0, id);
    }
    Some(report)
}

/// Parses `Final-Recipient` / `Action` pairs; each recipient block ends at a blank line.
fn read_status_fields(text: &str, report: &mut DeliveryReport) {
    let normalised = normalise_newlines(text);
    for block in normalised.split("\n\n") {
        let mut recipient = None;
        let mut action = None;
        for line in block.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            // "rfc822; user@example.org"
            let address = || {
                let a = value
                    .rsplit(';')
                    .next()
                    .unwrap_or(value)
                    .trim()
                    .trim_matches(['<', '>']);
                a.contains('@').then(|| a.to_ascii_lowercase())
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "final-recipient" => recipient = address().or(recipient),
                "original-recipient" if recipient.is_none() => recipient = address(),
                "action" => action = Some(value.trim().to_ascii_lowercase()),
                _ => {}
            }
        }
        if let (Some(r), Some(a)) = (recipient, action) {
            match a.as_str() {
                "failed" => report.failed.push(r),
                "delayed" => report.delayed.push(r),
                "delivered" | "relayed" | "expanded" => report.delivered.push(r),
                _ => {}
            }
        }
    }
}

fn return_path(message: &Message<'_>) -> Option<String> {
    let raw = message.header_raw(HeaderName::ReturnPath)?;
    let inner = raw.trim().trim_start_matches('<').trim_end_matches('>').trim();
    Some(inner.to_ascii_lowercase())
}

fn first_person(address: Option<&Address<'_>>) -> Option<Person> {
    let addr = address?.first()?;
    let email = addr.address()?.trim().to_ascii_lowercase();
    if email.is_empty() {
        return None;
    }
    Some(Person {
        address: email,
        name: addr.name().map(one_line).filter(|n| !n.is_empty()),
    })
}

fn addresses(address: Option<&Address<'_>>) -> Vec<String> {
    address
        .map(|a| {
            a.iter()
                .filter_map(|a| a.address())
                .map(|s| s.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default()
}

/// References kept of an incoming mail: its first (the thread's root) and its latest, as mail
/// clients trim them. A hostile mail may carry a hundred thousand; each one kept costs a
/// look-up while threading.
const MAX_KEPT_REFERENCES: usize = 50;

fn bounded_references(mut ids: Vec<String>) -> Vec<String> {
    if ids.len() > MAX_KEPT_REFERENCES {
        let latest = ids.split_off(ids.len() - (MAX_KEPT_REFERENCES - 1));
        ids.truncate(1);
        ids.extend(latest);
    }
    ids
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![clean_id(t)],
        HeaderValue::TextList(list) => list.iter().map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|id| !id.is_empty())
    .collect()
}

/// A Message-ID without brackets or surrounding space.
pub fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

/// Joins folded header lines and collapses runs of whitespace.
fn unfold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text on one line: CR, LF and other control characters become spaces.
pub fn one_line(text: &str) -> String {
    let cleaned: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    unfold(&cleaned)
}

fn normalise_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Unicode's bidirectional controls: in a file name shown to people, U+202E (right-to-left
/// override) makes `fattura<U+202E>fdp.exe` read as `fatturaexe.pdf`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Reduces a sender-supplied file name to a safe base name: no directories, no control or
/// bidirectional characters, no leading dots, at most 100 characters.
pub fn sanitize_filename(name: &str, fallback: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c) && !matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let limited: String = trimmed.chars().take(100).collect();
    if limited.is_empty() {
        fallback.to_string()
    } else {
        limited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Outlook mail whose only file is `winmail.dat` with `tnef` inside, in base64.
    fn mail_with_winmail_dat(tnef: &[u8]) -> InboundMail {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(tnef);
        let raw = format!(
            "From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\ntesto\r\n\
             --b\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
        );
        parse_mail(raw.as_bytes(), 1 << 20).expect("parses")
    }

    /// One TNEF attribute: level, id, length, data, checksum.
    fn tnef_attr(level: u8, id: u32, data: &[u8]) -> Vec<u8> {
        let sum = data.iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
        let mut out = vec![level];
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    #[test]
    fn winmail_dat_is_replaced_by_its_files_with_safe_names() {
        let mut tnef = vec![0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00];
        tnef.extend(tnef_attr(2, 0x0006_9002, &[0; 14]));
        tnef.extend(tnef_attr(2, 0x0001_8010, b"..\\..\\relazione\r\n.pdf\0"));
        tnef.extend(tnef_attr(2, 0x0006_800F, b"%PDF"));
        let mail = mail_with_winmail_dat(&tnef);
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].filename, "relazione.pdf");
        assert_eq!(mail.attachments[0].content_type, "application/octet-stream");
        assert_eq!(mail.attachments[0].bytes, b"%PDF");
    }

    #[test]
    fn a_winmail_dat_that_does_not_decode_is_kept_as_it_came() {
        let mail = mail_with_winmail_dat(b"not TNEF at all");
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].filename, "winmail.dat");
        assert_eq!(mail.attachments[0].content_type, "application/ms-tnef");
        assert_eq!(mail.attachments[0].bytes, b"not TNEF at all");
    }

    #[test]
    fn filenames_lose_their_paths_and_tricks() {
        assert_eq!(sanitize_filename("../../etc/passwd", "x"), "passwd");
        assert_eq!(sanitize_filename("..\\..\\boot.ini", "x"), "boot.ini");
        assert_eq!(sanitize_filename("...", "allegato"), "allegato");
        assert_eq!(sanitize_filename(".htaccess", "x"), "htaccess");
        assert_eq!(
            sanitize_filename("relazione\r\ntecnica.pdf", "x"),
            "relazionetecnica.pdf"
        );
        assert_eq!(sanitize_filename(&"a".repeat(300), "x").len(), 100);
        // Right-to-left override and the other bidi controls are dropped from names.
        assert_eq!(sanitize_filename("fattura\u{202E}fdp.exe", "x"), "fatturafdp.exe");
        assert_eq!(sanitize_filename("\u{2067}a\u{2069}\u{200F}.pdf", "x"), "a.pdf");
    }

    #[test]
    fn oversized_and_headerless_input_is_refused() {
        assert_eq!(
            parse_mail(b"Subject: x\r\n\r\nbody", 5),
            Err(ParseFailure::TooLarge { size: 18, limit: 5 })
        );
        assert_eq!(parse_mail(b"", 1000), Err(ParseFailure::NotAMessage));
    }

    // See: fixtures/eml/regressions/0001-fuzz-mail-parser-invalid-part-id.eml (found by scripts/fuzz).
    #[test]
    fn regression_0001_a_parser_panic_becomes_a_parse_failure() {
        let raw = include_bytes!("../../fixtures/eml/regressions/0001-fuzz-mail-parser-invalid-part-id.eml");
        // Silence the default hook's backtrace for the expected panic inside mail-parser.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let result = parse_mail(raw, 1 << 20);
        std::panic::set_hook(hook);
        assert_eq!(result, Err(ParseFailure::ParserPanicked));
    }

    #[test]
    fn reads_the_disposition_and_the_original_of_a_read_receipt() {
        let raw = b"From: mario@example.org\r\nTo: assistenza@comune.example.it\r\nSubject: Letto: x\r\n\
Content-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nLetto.\r\n\
--b\r\nContent-Type: message/disposition-notification\r\n\r\n\
Final-Recipient: rfc822;mario@example.org\r\nOriginal-Message-ID: <a@comune.example.it>\r\n\
Original-Message-ID: <evil@example.org>\r\n\
Disposition: manual-action/MDN-sent-manually; displayed/error\r\n\
--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <b@comune.example.it>\r\n\r\n--b--\r\n";
        let mail = parse_mail(raw, 1 << 20).expect("parses");
        let report = mail.disposition_report.expect("a disposition report");
        assert_eq!(report.disposition, "displayed");
        assert_eq!(
            report.original_message_ids,
            vec!["a@comune.example.it", "b@comune.example.it"]
        );
        assert!(mail.delivery_report.is_none());
        assert!(!mail.microsoft_headers);
    }

    #[test]
    fn a_positive_dsn_lists_whom_it_reached() {
        let raw = b"From: MAILER-DAEMON@mx.example.org\r\nTo: assistenza@comune.example.it\r\n\
Subject: Successful Mail Delivery Report\r\nX-MS-Exchange-Organization-SCL: -1\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n\
--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
Final-Recipient: rfc822; u@example.org\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n\
Final-Recipient: rfc822; v@example.org\r\nAction: relayed\r\nStatus: 2.0.0\r\n--b--\r\n";
        let mail = parse_mail(raw, 1 << 20).expect("parses");
        let report = mail.delivery_report.expect("a delivery report");
        assert_eq!(report.delivered, vec!["u@example.org", "v@example.org"]);
        assert!(report.failed.is_empty() && report.delayed.is_empty());
        assert!(mail.microsoft_headers);
    }

    #[test]
    fn reads_a_simple_message() {
        let raw = b"From: Anna Ferrari <Arch.Ferrari@Example.org>\r\nTo: assistenza@comune.example.it\r\n\
Subject: =?UTF-8?Q?Errore_caricamento_file_firmato_=E2=80=93_pratica?=\r\n\
Message-ID: <abc@example.org>\r\nIn-Reply-To: <TCK-2026-00042.ack.1@comune.example.it>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nBuongiorno,\r\nnon riesco.\r\n";
        let mail = parse_mail(raw, 1 << 20).expect("parses");
        assert_eq!(mail.message_id.as_deref(), Some("abc@example.org"));
        assert_eq!(
            mail.from.as_ref().map(|p| p.address.as_str()),
            Some("arch.ferrari@example.org")
        );
        assert_eq!(mail.subject, "Errore caricamento file firmato – pratica");
        assert_eq!(mail.in_reply_to, vec!["TCK-2026-00042.ack.1@comune.example.it"]);
        assert_eq!(mail.fresh_text, "Buongiorno,\nnon riesco.");
    }
}
