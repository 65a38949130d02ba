//! Which delivery failures to believe.
//!
//! Pure. A bounce is believed only when it refers to mail the help desk sent: a Message-ID
//! of ours quoted by the report (its `text/rfc822-headers` or `message/rfc822` part), in its
//! In-Reply-To or References, or on a `Message-ID:` line of a plain-text bounce that quotes
//! the original (Exim, qmail). Anybody can write `X-Failed-Recipients: victim@…`; only the
//! victim's own mail server holds the Message-ID of what we sent her. Even then, only the
//! recipients of that original mail can be marked: a report about mail sent to one person
//! never silences another.
//!
//! A mark lasts [`UNDELIVERABLE_DAYS`] and is cleared as soon as the address writes again.

use super::parse::InboundMail;

/// How long a believed failure keeps mail from being sent to an address. Long enough that a
/// dead mailbox is not written to on every step of a ticket, short enough that a full
/// mailbox or a provider's outage does not silence a citizen for the rest of her tickets.
pub const UNDELIVERABLE_DAYS: i64 = 30;

/// At most this many referenced ids are looked up (a hostile report may list thousands).
const MAX_REFERENCES: usize = 20;

/// The Message-IDs a bounce refers to, most direct first, without duplicates.
pub fn referenced_ids(mail: &InboundMail) -> Vec<String> {
    let report = mail
        .delivery_report
        .iter()
        .flat_map(|r| r.original_message_ids.iter().cloned());
    let quoted = quoted_message_ids(&mail.text);
    let threaded = mail.in_reply_to.iter().chain(mail.references.iter().rev()).cloned();
    let mut ids: Vec<String> = Vec::new();
    for id in report.chain(quoted).chain(threaded) {
        if ids.len() == MAX_REFERENCES {
            break;
        }
        if !id.is_empty() && !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// `Message-ID: <…>` lines of a plain-text bounce that copies the original's headers.
fn quoted_message_ids(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines().filter_map(|line| {
        let line = line.trim_start_matches(['>', ' ', '\t']);
        let (name, value) = line.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case("message-id") {
            return None;
        }
        let value = value.trim();
        let inner = value.strip_prefix('<')?.split_once('>')?.0.trim();
        (inner.contains('@') && !inner.contains(char::is_whitespace)).then(|| inner.to_string())
    })
}

/// The addresses to mark, given what the report lists as failed and the recipients of the
/// original mail it refers to: the listed ones among the original's recipients. A report
/// that lists nobody is about the original's recipient only when there was just one (with
/// several, a Cc'd recipient holding the same Message-ID could otherwise silence the rest).
pub fn believed_failures(listed: &[String], original_recipients: &[String]) -> Vec<String> {
    if listed.is_empty() {
        return match original_recipients {
            [only] => vec![only.clone()],
            _ => Vec::new(),
        };
    }
    original_recipients
        .iter()
        .filter(|r| listed.iter().any(|l| l.eq_ignore_ascii_case(r)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse::DeliveryReport;

    fn s(items: &[&str]) -> Vec<String> {
        items.iter().map(|i| i.to_string()).collect()
    }

    #[test]
    fn ids_come_from_the_report_the_quoted_headers_and_the_thread() {
        let mail = InboundMail {
            delivery_report: Some(DeliveryReport {
                original_message_ids: s(&["a@comune.example.it"]),
                ..Default::default()
            }),
            text: "This is a copy of the message, including all the headers.\n\
                   Message-ID: <b@comune.example.it>\n  message-id:<c@comune.example.it>\n\
                   > Message-Id: <d@comune.example.it>\nSubject: x\nMessage-ID: not an id\n"
                .into(),
            in_reply_to: s(&["e@comune.example.it"]),
            references: s(&["f@comune.example.it", "a@comune.example.it"]),
            ..Default::default()
        };
        assert_eq!(
            referenced_ids(&mail),
            s(&[
                "a@comune.example.it",
                "b@comune.example.it",
                "c@comune.example.it",
                "d@comune.example.it",
                "e@comune.example.it",
                "f@comune.example.it"
            ])
        );
    }

    #[test]
    fn a_plain_mail_with_a_failed_recipients_header_refers_to_nothing() {
        let mail = InboundMail {
            headers: vec![("x-failed-recipients".into(), "victim@example.org".into())],
            subject: "ciao".into(),
            text: "ciao".into(),
            ..Default::default()
        };
        assert!(referenced_ids(&mail).is_empty());
    }

    #[test]
    fn lookups_are_bounded() {
        let mail = InboundMail {
            references: (0..10_000).map(|i| format!("{i}@evil.example")).collect(),
            ..Default::default()
        };
        assert_eq!(referenced_ids(&mail).len(), MAX_REFERENCES);
    }

    #[test]
    fn only_the_originals_recipients_are_marked() {
        let original = s(&["mario@example.org", "cc@example.org"]);
        assert_eq!(
            believed_failures(&s(&["MARIO@example.org"]), &original),
            s(&["mario@example.org"])
        );
        // A report naming someone the original was not sent to marks nobody.
        assert!(believed_failures(&s(&["victim@example.net"]), &original).is_empty());
        // Naming nobody: only an original with a single recipient says whom it is about.
        assert!(believed_failures(&[], &original).is_empty());
        assert_eq!(
            believed_failures(&[], &s(&["mario@example.org"])),
            s(&["mario@example.org"])
        );
        assert!(believed_failures(&s(&["victim@example.net"]), &[]).is_empty());
    }
}
