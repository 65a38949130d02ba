//! Decides what kind of mail a parsed message is before anything is threaded: a person's
//! request or reply, or noise that must never be answered (loop protection).
//!
//! Pure. The order matters and is, first match wins:
//! 1. our own address in From → `Loop` (never answer ourselves);
//! 2. a PEC receipt → `PecReceipt` (the provider's proof of delivery, not a request);
//! 3. a read, not-read or delivery receipt → `Receipt` (see [`receipt`]);
//! 4. a delivery-status report → `Bounce` (failed recipients) or `DelayNotice`;
//! 5. `X-Failed-Recipients`, or a MAILER-DAEMON/postmaster author → `Bounce` (plain-text
//!    bounces, which some MTAs also mark `Auto-Submitted`);
//! 6. RFC 3834 and vendor auto-reply headers → `AutoReply`;
//! 7. mailing-list headers → `MailingList`; the null sender → `Bounce`;
//! 8. auto-reply subjects ("Risposta automatica", "Fuori sede", …), as a last resort;
//! 9. otherwise a `Person`'s message.

use super::parse::InboundMail;

/// What intake does with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Written by a person: thread it, open or update a ticket.
    Person,
    /// Our own mail came back: store, never answer.
    Loop,
    /// A PEC provider's receipt (the kind, e.g. `accettazione`).
    PecReceipt(String),
    /// Delivery failed for these recipients (maybe none could be read).
    Bounce(Vec<String>),
    /// Delivery is only delayed: informational.
    DelayNotice,
    /// An automatic reply; the reason says which sign gave it away.
    AutoReply(String),
    /// Mailing-list or bulk traffic.
    MailingList,
    /// A receipt for mail we sent: it was read, deleted unread, or delivered.
    Receipt(ReceiptKind),
}

/// What a receipt says happened to our mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptKind {
    /// Displayed to its reader ("Letto:", "Read:", RFC 8098 `displayed`).
    Read,
    /// Deleted or refused without being read ("Non letto:", `deleted`, `denied`).
    NotRead,
    /// Delivered to the mailbox (`Action: delivered`, "Recapitato:", MDN `dispatched` or
    /// `processed`).
    Delivered,
}

impl ReceiptKind {
    /// How the ticket's event names it.
    pub fn label(self) -> &'static str {
        match self {
            ReceiptKind::Read => "read",
            ReceiptKind::NotRead => "not read",
            ReceiptKind::Delivered => "delivered",
        }
    }
}

impl Disposition {
    /// The label stored in `messages.disposition`.
    pub fn label(&self) -> &'static str {
        match self {
            Disposition::Person => "person",
            Disposition::Loop => "loop",
            Disposition::PecReceipt(_) => "pec-receipt",
            Disposition::Bounce(_) => "bounce",
            Disposition::DelayNotice => "delay-notice",
            Disposition::AutoReply(_) => "auto-reply",
            Disposition::MailingList => "mailing-list",
            Disposition::Receipt(_) => "receipt",
        }
    }
}

/// Subject openings of auto-replies that carry no header saying so.
const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "risposta automatica",
    "fuori sede",
    "fuori ufficio",
    "assente dall'ufficio",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "out of office",
    "out of the office",
    "abwesenheitsnotiz",
    "réponse automatique",
];

/// Classifies a parsed message; `helpdesk_address` is lowercase.
pub fn classify(mail: &InboundMail, helpdesk_address: &str) -> Disposition {
    let from = mail.from.as_ref().map(|p| p.address.as_str()).unwrap_or_default();
    if from == helpdesk_address
        || mail
            .header("x-loop")
            .is_some_and(|v| v.eq_ignore_ascii_case(helpdesk_address))
    {
        return Disposition::Loop;
    }
    if let Some(super::parse::Pec::Receipt(kind)) = &mail.pec {
        return Disposition::PecReceipt(kind.clone());
    }
    if let Some(kind) = receipt(mail) {
        return Disposition::Receipt(kind);
    }
    if let Some(report) = &mail.delivery_report {
        return if report.failed.is_empty() && !report.delayed.is_empty() {
            Disposition::DelayNotice
        } else {
            Disposition::Bounce(report.failed.clone())
        };
    }
    // Exim and others mark their bounces Auto-Submitted too: the explicit bounce signs win.
    let local = from.split('@').next().unwrap_or_default();
    if let Some(failed) = mail.header("x-failed-recipients") {
        let list = failed
            .split(',')
            .map(|a| a.trim().trim_matches(['<', '>']).to_ascii_lowercase());
        return Disposition::Bounce(list.filter(|a| a.contains('@')).collect());
    }
    if local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") {
        return Disposition::Bounce(Vec::new());
    }
    if let Some(reason) = auto_reply_header(mail) {
        return Disposition::AutoReply(reason);
    }
    if mail.header("list-id").is_some() || mail.header("list-post").is_some() {
        return Disposition::MailingList;
    }
    if let Some(p) = mail.header("precedence").map(|p| p.trim().to_ascii_lowercase()) {
        match p.as_str() {
            "list" => return Disposition::MailingList,
            "bulk" | "junk" => return Disposition::AutoReply(format!("Precedence: {p}")),
            _ => {}
        }
    }
    if mail.return_path.as_deref() == Some("") {
        return Disposition::Bounce(Vec::new());
    }
    let subject = mail.subject.to_lowercase();
    if let Some(prefix) = AUTO_REPLY_SUBJECTS.iter().find(|p| subject.starts_with(*p)) {
        return Disposition::AutoReply(format!("subject starts with {prefix:?}"));
    }
    Disposition::Person
}

/// Subject openings of receipts, lowercase, in the languages of the clients that write them
/// (Outlook and Exchange in Italian and English; Thunderbird's "Return Receipt"). Longest
/// first where one opens another.
const RECEIPT_SUBJECTS: &[(&str, ReceiptKind)] = &[
    ("non letto:", ReceiptKind::NotRead),
    ("not read:", ReceiptKind::NotRead),
    ("letto:", ReceiptKind::Read),
    ("read:", ReceiptKind::Read),
    ("recapitato:", ReceiptKind::Delivered),
    ("delivered:", ReceiptKind::Delivered),
    ("ricevuta di ritorno (visualizzato)", ReceiptKind::Read),
    ("return receipt (displayed)", ReceiptKind::Read),
    ("ricevuta di ritorno (eliminato)", ReceiptKind::NotRead),
    ("return receipt (deleted)", ReceiptKind::NotRead),
];

/// Whether the message is a receipt, and of what. Receipts are recognised by what machines
/// write, never by a subject alone (a person may start a subject with "Letto:"):
/// - an RFC 8098 disposition notification: its disposition says which;
/// - a delivery-status report in which every recipient was reached (a positive DSN);
/// - Exchange's own receipts, which are no RFC 8098 report when they stay inside Microsoft
///   (plain text or HTML): `Content-Class: urn:content-classes:MDN` (`…:DSN` with a delivery
///   receipt's subject), or a receipt subject on a message carrying Exchange's `X-MS-…` headers.
pub fn receipt(mail: &InboundMail) -> Option<ReceiptKind> {
    if let Some(report) = &mail.disposition_report {
        return Some(match report.disposition.as_str() {
            "displayed" => ReceiptKind::Read,
            "deleted" | "denied" => ReceiptKind::NotRead,
            // dispatched, processed, or a type of a later RFC: it reached its reader's
            // mailbox, whatever was done with it.
            _ => ReceiptKind::Delivered,
        });
    }
    if let Some(report) = &mail.delivery_report {
        let all_reached = report.failed.is_empty() && report.delayed.is_empty() && !report.delivered.is_empty();
        return all_reached.then_some(ReceiptKind::Delivered);
    }
    let subject = mail.subject.trim_start().to_lowercase();
    let by_subject = RECEIPT_SUBJECTS
        .iter()
        .find(|(prefix, _)| subject.starts_with(prefix))
        .map(|(_, kind)| *kind);
    match mail
        .header("content-class")
        .map(|c| c.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("urn:content-classes:mdn") => return Some(by_subject.unwrap_or(ReceiptKind::Read)),
        // Exchange marks its failure reports so too: only a delivery receipt's subject is one.
        Some("urn:content-classes:dsn") => return by_subject.filter(|kind| *kind == ReceiptKind::Delivered),
        _ => {}
    }
    by_subject.filter(|_| mail.microsoft_headers)
}

/// The header that marks an automatic reply, if any.
fn auto_reply_header(mail: &InboundMail) -> Option<String> {
    if let Some(v) = mail.header("auto-submitted") {
        let value = v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if value != "no" {
            return Some(format!("Auto-Submitted: {value}"));
        }
    }
    for name in ["x-autoreply", "x-autorespond"] {
        if mail.header(name).is_some() {
            return Some(format!("{name} present"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse::{DeliveryReport, Person};

    fn mail(from: &str, headers: &[(&str, &str)], subject: &str) -> InboundMail {
        InboundMail {
            from: Some(Person {
                address: from.into(),
                name: None,
            }),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            subject: subject.into(),
            ..InboundMail::default()
        }
    }

    const HD: &str = "assistenza@comune.example.it";

    #[test]
    fn people_are_people() {
        assert_eq!(
            classify(&mail("a@example.org", &[], "Problema firma"), HD),
            Disposition::Person
        );
        assert_eq!(
            classify(&mail("a@example.org", &[("auto-submitted", "no")], "x"), HD),
            Disposition::Person
        );
        // "R: Risposta automatica" is a person replying to one, not an auto-reply itself.
        assert_eq!(
            classify(&mail("a@example.org", &[], "R: risposta automatica?"), HD),
            Disposition::Person
        );
    }

    #[test]
    fn noise_is_recognised_in_order() {
        assert_eq!(classify(&mail(HD, &[], "x"), HD), Disposition::Loop);
        assert!(matches!(
            classify(&mail("a@example.org", &[("auto-submitted", "auto-replied")], "x"), HD),
            Disposition::AutoReply(_)
        ));
        assert!(matches!(
            classify(&mail("a@example.org", &[("x-autoreply", "yes")], "x"), HD),
            Disposition::AutoReply(_)
        ));
        assert_eq!(
            classify(&mail("a@example.org", &[("list-id", "<x.example.org>")], "x"), HD),
            Disposition::MailingList
        );
        assert_eq!(
            classify(&mail("a@example.org", &[("precedence", "list")], "x"), HD),
            Disposition::MailingList
        );
        assert!(matches!(
            classify(&mail("a@example.org", &[("precedence", "bulk")], "x"), HD),
            Disposition::AutoReply(_)
        ));
        assert!(matches!(
            classify(&mail("a@example.org", &[], "Fuori sede fino al 20"), HD),
            Disposition::AutoReply(_)
        ));
        assert_eq!(
            classify(&mail("MAILER-DAEMON@mx.example.org", &[], "Undelivered"), HD),
            Disposition::Bounce(vec![])
        );
        let mut null_sender = mail("x@example.org", &[], "Undelivered Mail");
        null_sender.return_path = Some(String::new());
        assert_eq!(classify(&null_sender, HD), Disposition::Bounce(vec![]));
    }

    #[test]
    fn receipts_are_told_by_what_machines_write() {
        use crate::ingest::parse::DispositionReport;
        let mdn = |disposition: &str| {
            let mut m = mail("mario@example.org", &[], "Letto: [TCK-2026-00001] x");
            m.disposition_report = Some(DispositionReport {
                disposition: disposition.into(),
                ..Default::default()
            });
            classify(&m, HD)
        };
        assert_eq!(mdn("displayed"), Disposition::Receipt(ReceiptKind::Read));
        assert_eq!(mdn("deleted"), Disposition::Receipt(ReceiptKind::NotRead));
        assert_eq!(mdn("denied"), Disposition::Receipt(ReceiptKind::NotRead));
        assert_eq!(mdn("dispatched"), Disposition::Receipt(ReceiptKind::Delivered));

        // A positive DSN is a receipt; one failed recipient makes the report a bounce.
        let mut dsn = mail("mailer-daemon@example.org", &[], "Successful Mail Delivery Report");
        dsn.delivery_report = Some(DeliveryReport {
            delivered: vec!["u@example.com".into()],
            ..Default::default()
        });
        assert_eq!(classify(&dsn, HD), Disposition::Receipt(ReceiptKind::Delivered));
        dsn.delivery_report = Some(DeliveryReport {
            delivered: vec!["u@example.com".into()],
            failed: vec!["v@example.com".into()],
            ..Default::default()
        });
        assert_eq!(classify(&dsn, HD), Disposition::Bounce(vec!["v@example.com".into()]));

        // Exchange's own receipts: the content class, or a receipt subject with X-MS- headers.
        let mdn_class = [("content-class", "urn:content-classes:MDN")];
        assert_eq!(
            classify(&mail("m@example.org", &mdn_class, "Non letto: x"), HD),
            Disposition::Receipt(ReceiptKind::NotRead)
        );
        assert_eq!(
            classify(&mail("m@example.org", &mdn_class, "x"), HD),
            Disposition::Receipt(ReceiptKind::Read)
        );
        let dsn_class = [("content-class", "urn:content-classes:DSN")];
        assert_eq!(
            classify(&mail("m@example.org", &dsn_class, "Recapitato: x"), HD),
            Disposition::Receipt(ReceiptKind::Delivered)
        );
        assert_eq!(
            classify(&mail("m@example.org", &dsn_class, "Recapito non riuscito: x"), HD),
            Disposition::Person
        );
        let mut exchange = mail("m@example.org", &[], "Read: [TCK-2026-00001] x");
        assert_eq!(
            classify(&exchange, HD),
            Disposition::Person,
            "a subject alone is no receipt"
        );
        exchange.microsoft_headers = true;
        assert_eq!(classify(&exchange, HD), Disposition::Receipt(ReceiptKind::Read));
        exchange.subject = "R: Letto: x".into();
        assert_eq!(classify(&exchange, HD), Disposition::Person, "a person answering one");
        exchange.subject = "Not read: x".into();
        assert_eq!(classify(&exchange, HD), Disposition::Receipt(ReceiptKind::NotRead));
        exchange.subject = "Recapitato: x".into();
        assert_eq!(classify(&exchange, HD), Disposition::Receipt(ReceiptKind::Delivered));
    }

    #[test]
    fn reports_distinguish_failure_from_delay() {
        let mut m = mail("mailer-daemon@example.org", &[], "x");
        m.delivery_report = Some(DeliveryReport {
            failed: vec!["u@example.com".into()],
            ..Default::default()
        });
        assert_eq!(classify(&m, HD), Disposition::Bounce(vec!["u@example.com".into()]));
        m.delivery_report = Some(DeliveryReport {
            delayed: vec!["u@example.com".into()],
            ..Default::default()
        });
        assert_eq!(classify(&m, HD), Disposition::DelayNotice);
    }
}
