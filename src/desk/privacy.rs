//! The GDPR lifecycle's and the satisfaction vote's decisions (issue 17), pure.
//!
//! - What a text becomes when its person is forgotten: [`Redactor`], which is the knowledge
//!   base's own redaction (`kb::redact`: addresses, phones, tax codes, IBANs, names) given
//!   every name the ticket knows, plus the person's phone number as it was stored; the
//!   operators' addresses are kept (they are the accounting's, not the citizen's).
//! - The subject and a vote's comment are redacted exactly as the report redacts them
//!   ([`report_text`]), so that a report computed before and after anonymising is the same.
//! - When retention applies ([`cutoffs`]), whether an erasure may go ahead ([`may_erase`]),
//!   and which quarantined mail names a person ([`names_address`]). The vote's own rules
//!   (which reply is a vote, until when it may change) are `desk::vote`'s.

use chrono::{DateTime, TimeDelta, Utc};
use regex::Regex;

use crate::kb::redact::redact;
use crate::model::TicketId;

/// A subject or a vote's comment as the report shows it: the knowledge base's redaction with
/// the requester's name. Anonymising stores exactly this, and redacting it again changes
/// nothing, so the report reads the same before and after.
pub fn report_text(text: &str, requester_name: Option<&str>) -> String {
    redact(text, requester_name)
}

/// Rewrites the texts of one person (or of one ticket's people).
#[derive(Debug, Clone)]
pub struct Redactor {
    addresses: Vec<String>,
    names: Option<String>,
    phones: Vec<Regex>,
    keep: Vec<String>,
}

/// The mark a kept address hides behind while the redaction runs (private-use characters,
/// which no pattern of the redaction matches).
fn kept_mark(index: usize) -> String {
    format!("\u{E000}{index}\u{E001}")
}

impl Redactor {
    /// A redactor of the people with these `addresses`, `names` and `phones`; the addresses in
    /// `keep` (the operators') stay in the text.
    pub fn new(addresses: &[String], names: &[String], phones: &[String], keep: &[String]) -> Redactor {
        let phones = phones
            .iter()
            .filter_map(|p| {
                let digits: Vec<char> = p.chars().filter(char::is_ascii_digit).collect();
                // The national number: without the +39 / 0039 prefix, which people add or not.
                let national: &[char] = match digits.as_slice() {
                    ['0', '0', '3', '9', rest @ ..] | ['3', '9', rest @ ..] if rest.len() >= 6 => rest,
                    all => all,
                };
                (national.len() >= 6).then(|| {
                    let body = national
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(r"[\s./-]*");
                    Regex::new(&format!(r"(?:(?:\+|00)39[\s./-]*)?{body}")).ok()
                })?
            })
            .collect();
        let names: Vec<&str> = names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()).collect();
        Redactor {
            addresses: addresses.iter().map(|a| a.trim().to_ascii_lowercase()).collect(),
            names: (!names.is_empty()).then(|| names.join(" ")),
            phones,
            keep: keep.iter().map(|a| a.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether `address` is one of the person's.
    pub fn is_person(&self, address: &str) -> bool {
        let address = address.trim().to_ascii_lowercase();
        !address.is_empty() && self.addresses.contains(&address)
    }

    /// `text` with the person's data replaced by the knowledge base's placeholders.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (i, kept) in self.keep.iter().enumerate() {
            out = replace_ignoring_case(&out, kept, &kept_mark(i));
        }
        for phone in &self.phones {
            out = phone.replace_all(&out, "[telefono]").into_owned();
        }
        let mut out = names_inside_words(&redact(&out, self.names.as_deref()), self.names.as_deref());
        for (i, kept) in self.keep.iter().enumerate() {
            out = out.replace(&kept_mark(i), kept);
        }
        out
    }
}

impl Redactor {
    /// `text` with only the person's own address, phone and name replaced (the text of
    /// someone else's ticket, whose own data stays).
    pub fn only_theirs(&self, text: &str) -> String {
        let mut out = text.to_string();
        for address in &self.addresses {
            out = replace_ignoring_case(&out, address, "[email]");
        }
        for phone in &self.phones {
            out = phone.replace_all(&out, "[telefono]").into_owned();
        }
        names_inside_words(&out, self.names.as_deref())
    }
}

/// `text` with each part of `names` (3 letters or more) replaced wherever no letter touches
/// it: also inside `documento_Carla_Fontana.pdf`, where the knowledge base's word boundaries
/// (`_` and digits are word characters) do not see it.
fn names_inside_words(text: &str, names: Option<&str>) -> String {
    let mut out = text.to_string();
    for part in names
        .unwrap_or_default()
        .split_whitespace()
        .filter(|p| p.chars().count() >= 3)
    {
        if let Ok(word) = Regex::new(&format!(r"(?i)(^|[^\p{{L}}])({})([^\p{{L}}]|$)", regex::escape(part))) {
            // Twice: a match consumes the character after it, which may start the next one.
            for _ in 0..2 {
                out = word.replace_all(&out, "${1}[nome]${3}").into_owned();
            }
        }
    }
    out
}

/// `text` with every occurrence of `needle` (ASCII case ignored) replaced by `with`.
fn replace_ignoring_case(text: &str, needle: &str, with: &str) -> String {
    if needle.is_empty() {
        return text.to_string();
    }
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, _) in lower.match_indices(needle) {
        out.push_str(&text[last..at]);
        out.push_str(with);
        last = at + needle.len();
    }
    out.push_str(&text[last..]);
    out
}

/// What an anonymised attachment is called: "allegato" with the original extension (a name
/// like `CI_Mario_Rossi.pdf` names its person in ways no pattern finds).
pub fn anonymous_file_name(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() && ext.len() <= 5 && ext.chars().all(|c| c.is_ascii_alphanumeric()) => {
            format!("allegato.{}", ext.to_ascii_lowercase())
        }
        _ => "allegato".to_string(),
    }
}

/// The instants before which an archiving makes a ticket's raw mail, and its personal data,
/// due: `now` less `raw_mail_days`, and less `personal_data_days`.
pub fn cutoffs(now: DateTime<Utc>, raw_mail_days: u32, personal_data_days: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        now - TimeDelta::days(i64::from(raw_mail_days)),
        now - TimeDelta::days(i64::from(personal_data_days)),
    )
}

/// Whether `bytes` (a quarantined message's raw mail, its source or its reason) name
/// `address`: the address anywhere in them, ASCII case ignored. A quarantined message could
/// not be read, or was never read as mail (spam), so its sender is found in its bytes —
/// From, Reply-To, a signature — rather than in parsed headers it may not have.
pub fn names_address(bytes: &[u8], address: &str) -> bool {
    let needle = address.trim().as_bytes();
    !needle.is_empty() && bytes.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// Why an erasure does not go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EraseRefusal {
    /// Nothing concerns that address.
    Unknown,
    /// These tickets of theirs are open (`--force` erases anyway).
    Open(Vec<TicketId>),
}

/// Whether a person with these tickets (`open` of them not closed) may be erased now.
pub fn may_erase(tickets: usize, open: &[TicketId], force: bool) -> Result<(), EraseRefusal> {
    if tickets == 0 {
        Err(EraseRefusal::Unknown)
    } else if !open.is_empty() && !force {
        Err(EraseRefusal::Open(open.to_vec()))
    } else {
        Ok(())
    }
}

/// A satisfaction vote: the three faces of "Mettiamoci la faccia".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    /// Satisfied (1).
    Positive,
    /// Neither (2).
    Neutral,
    /// Not satisfied (3).
    Negative,
}

impl Score {
    /// All three, in the order the letter and the page show them.
    pub const ALL: [Score; 3] = [Score::Positive, Score::Neutral, Score::Negative];

    /// The stored number (1, 2, 3).
    pub fn number(self) -> u8 {
        match self {
            Score::Positive => 1,
            Score::Neutral => 2,
            Score::Negative => 3,
        }
    }

    /// The score of a stored number.
    pub fn from_number(n: u8) -> Option<Score> {
        match n {
            1 => Some(Score::Positive),
            2 => Some(Score::Neutral),
            3 => Some(Score::Negative),
            _ => None,
        }
    }

    /// The word in links and in the report (`positivo`, `neutro`, `negativo`).
    pub fn code(self) -> &'static str {
        match self {
            Score::Positive => "positivo",
            Score::Neutral => "neutro",
            Score::Negative => "negativo",
        }
    }

    /// The score a link's word names.
    pub fn from_code(code: &str) -> Option<Score> {
        Score::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Whether a vote is told to the supervisors and the technician: a negative one with words.
pub fn tell_of(score: Score, comment: &str) -> bool {
    score == Score::Negative && !comment.trim().is_empty()
}

/// The longest comment kept, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// A comment as it is stored: trimmed, at most [`MAX_COMMENT_CHARS`], control characters out
/// (line breaks kept).
pub fn clean_comment(comment: &str) -> String {
    comment
        .trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(MAX_COMMENT_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_person_goes_and_the_operator_stays() {
        let r = Redactor::new(
            &["anna.ferrari@example.org".into()],
            &["Anna Ferrari".into()],
            &["+39 333 123 4567".into()],
            &["giulia.bianchi@comune.example.it".into()],
        );
        assert_eq!(
            r.text("Sono Anna Ferrari (anna.ferrari@example.org, tel. 333-1234567); ha risposto Giulia.Bianchi@comune.example.it"),
            "Sono [nome] ([email], tel. [telefono]); ha risposto giulia.bianchi@comune.example.it"
        );
        // The stored number in a spacing the generic pattern does not know.
        assert_eq!(r.text("chiamare 3 3 3 1 2 3 4 5 6 7"), "chiamare [telefono]");
        assert_eq!(r.text("- documento_anna_FERRARI.pdf"), "- documento_[nome]_[nome].pdf");
        assert_eq!(r.text("Annamaria Ferraris"), "Annamaria Ferraris");
        assert!(r.is_person(" Anna.Ferrari@Example.org"));
        assert!(!r.is_person("giulia.bianchi@comune.example.it"));
        assert!(!r.is_person(""));
    }

    #[test]
    fn on_someone_else_s_ticket_only_their_data_goes() {
        let r = Redactor::new(&["carla@example.org".into()], &["Carla Fontana".into()], &[], &[]);
        assert_eq!(
            r.only_theirs("In copia Carla Fontana (CARLA@example.org); io sono al 333 7654321, lucia@example.com"),
            "In copia [nome] [nome] ([email]); io sono al 333 7654321, lucia@example.com"
        );
    }

    #[test]
    fn the_report_s_redaction_is_stable_under_anonymising() {
        let subject = "Firma di Mario Rossi, mario@example.org, 333 1234567";
        let once = report_text(subject, Some("Mario Rossi"));
        assert_eq!(once, "Firma di [nome], [email], [telefono]");
        assert_eq!(report_text(&once, None), once);
    }

    #[test]
    fn file_names_keep_only_their_kind() {
        assert_eq!(anonymous_file_name("CI_Mario_Rossi.PDF"), "allegato.pdf");
        assert_eq!(anonymous_file_name("scansione"), "allegato");
        assert_eq!(anonymous_file_name("nome.con spazi e altro"), "allegato");
    }

    #[test]
    fn a_quarantined_message_names_its_sender_in_any_case() {
        let raw = b"From: Carla <Carla.Fontana@Example.org>\r\nSubject: scansione\r\n\r\n\xff\xfe";
        assert!(names_address(raw, "carla.fontana@example.org"));
        assert!(!names_address(raw, "carla.fontana@example.com"));
        assert!(!names_address(raw, " "));
        assert!(!names_address(b"", "carla@example.org"));
    }

    #[test]
    fn an_open_ticket_stops_an_erasure_unless_forced() {
        let open: TicketId = "TCK-2026-00007".parse().expect("id");
        assert_eq!(may_erase(0, &[], false), Err(EraseRefusal::Unknown));
        assert_eq!(may_erase(2, &[open], false), Err(EraseRefusal::Open(vec![open])));
        assert_eq!(may_erase(2, &[open], true), Ok(()));
        assert_eq!(may_erase(1, &[], false), Ok(()));
    }

    #[test]
    fn only_a_negative_vote_with_words_is_told() {
        assert!(tell_of(Score::Negative, "la pagina non funziona"));
        assert!(!tell_of(Score::Negative, "  "));
        assert!(!tell_of(Score::Neutral, "così così"));
        assert_eq!(clean_comment("  ok\u{7}\n bene "), "ok\n bene");
    }
}
