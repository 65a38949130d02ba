//! A forwarded message inside a mail: the original's sender, subject, text and files, whether
//! the client forwarded it inline (Outlook's "-----Messaggio originale-----" or its rule of
//! underscores with a "Da:/Inviato:/A:/Oggetto:" block, Gmail's "---------- Forwarded message
//! ---------", Thunderbird's "-------- Messaggio inoltrato --------", Apple Mail's "Inizio
//! messaggio inoltrato:") or attached it as `message/rfc822`.
//!
//! Pure: the parsed mail in, the original out. An operator's forward opens a ticket on behalf
//! of the original sender (intake decides that); a citizen's forward is an ordinary request.

use super::parse::{Attachment, InboundMail, Person, parse_mail};

/// The original message of a forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// Who wrote the original.
    pub from: Person,
    /// Its subject.
    pub subject: String,
    /// Its text.
    pub text: String,
    /// The forwarder's own words above it.
    pub own_text: String,
    /// The files it came with (for an attached original: the original's own files).
    pub attachments: Vec<Attachment>,
}

/// The forwarded original in `mail`, if it holds one.
pub fn original_of(mail: &InboundMail, max_bytes: u64) -> Option<Forwarded> {
    attached(mail, max_bytes).or_else(|| inline(mail))
}

/// A `message/rfc822` part (Thunderbird's and Outlook's "forward as attachment").
fn attached(mail: &InboundMail, max_bytes: u64) -> Option<Forwarded> {
    let part = mail.attachments.iter().find(|a| a.content_type == "message/rfc822")?;
    let inner = parse_mail(&part.bytes, max_bytes).ok()?;
    Some(Forwarded {
        from: inner.from.clone()?,
        subject: inner.subject.clone(),
        text: inner.text.clone(),
        own_text: mail.text.trim().to_string(),
        attachments: inner.attachments,
    })
}

/// An inline forward: a separator line, a header block, the original's text.
fn inline(mail: &InboundMail) -> Option<Forwarded> {
    // Apple Mail and some webmails quote the whole forward with "> ".
    let lines: Vec<String> = mail
        .text
        .lines()
        .map(|l| {
            let t = l.trim_end();
            t.strip_prefix("> ")
                .or_else(|| t.strip_prefix('>'))
                .unwrap_or(t)
                .to_string()
        })
        .collect();
    let start = lines.iter().position(|l| is_separator(l))?;
    let mut from = None;
    let mut subject = String::new();
    let mut at = start + 1;
    while lines.get(at).is_some_and(|l| l.trim().is_empty()) {
        at += 1;
    }
    while let Some(line) = lines.get(at) {
        let Some((key, value)) = line.split_once(':') else {
            break;
        };
        let key = key.trim().trim_matches('*').to_lowercase();
        let value = value.trim().trim_matches('*').trim();
        match key.as_str() {
            "da" | "from" | "mittente" => from = person(value),
            "oggetto" | "subject" => subject = value.to_string(),
            "a" | "to" | "cc" | "data" | "date" | "inviato" | "sent" | "inviato il" | "rispondi a" | "reply-to" => {}
            _ => break,
        }
        at += 1;
    }
    let own_text = mail
        .text
        .lines()
        .take(start)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string();
    let text = lines[at.min(lines.len())..].join("\n").trim().to_string();
    Some(Forwarded {
        from: from?,
        subject,
        text,
        own_text,
        attachments: mail.attachments.clone(),
    })
}

fn is_separator(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    let inner = lower.trim_matches(|c| c == '-' || c == ' ');
    (lower.starts_with("---")
        && matches!(
            inner,
            "messaggio originale" | "original message" | "forwarded message" | "messaggio inoltrato"
        ))
        || lower == "inizio messaggio inoltrato:"
        || lower == "begin forwarded message:"
        || (lower.len() >= 20 && lower.chars().all(|c| c == '_'))
}

/// "Name <addr>", "Name [mailto:addr]", "<addr>", "addr".
fn person(value: &str) -> Option<Person> {
    let (name, address) = if let Some((name, rest)) = value.rsplit_once('<') {
        (name, rest.trim_end_matches('>'))
    } else if let Some((name, rest)) = value.rsplit_once("[mailto:") {
        (name, rest.trim_end_matches(']'))
    } else {
        ("", value)
    };
    let address = address.trim().to_ascii_lowercase();
    if !crate::config::is_plain_address(&address) {
        return None;
    }
    let name = name.trim().trim_matches('"').trim();
    Some(Person {
        address,
        name: (!name.is_empty()).then(|| name.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(text: &str) -> InboundMail {
        InboundMail {
            text: text.into(),
            ..InboundMail::default()
        }
    }

    #[test]
    fn each_clients_inline_forward_gives_the_original() {
        let outlook = "Vi giro la richiesta.\n\n________________________________\nDa: Mario Rossi <mario.rossi@example.org>\n\
                       Inviato: lunedì 9 marzo 2026 09:12\nA: Giulia Bianchi <giulia.bianchi@comune.example.it>\n\
                       Oggetto: Firma non valida\n\nNon riesco a firmare la pratica.";
        let f = original_of(&mail(outlook), 1 << 20).expect("forward");
        assert_eq!(f.from.address, "mario.rossi@example.org");
        assert_eq!(f.from.name.as_deref(), Some("Mario Rossi"));
        assert_eq!(f.subject, "Firma non valida");
        assert_eq!(f.text, "Non riesco a firmare la pratica.");
        assert_eq!(f.own_text, "Vi giro la richiesta.");
        let gmail = "#prendo\n\n---------- Forwarded message ---------\nFrom: Anna Neri <anna@example.net>\nDate: Mon, 9 Mar 2026 at 09:12\n\
                     Subject: Errore upload\nTo: <giulia@comune.example.it>\n\n\nIl file non si carica.";
        let f = original_of(&mail(gmail), 1 << 20).expect("forward");
        assert_eq!(
            (f.from.address.as_str(), f.subject.as_str(), f.own_text.as_str()),
            ("anna@example.net", "Errore upload", "#prendo")
        );
        let thunderbird = "-------- Messaggio inoltrato --------\nOggetto: \tPEC non arriva\nData: \tMon, 9 Mar 2026 09:12:00 +0100\n\
                           Mittente: \tStudio Riva <studio.riva@example.net>\nA: \tgiulia@comune.example.it\n\nLa PEC non arriva.";
        assert_eq!(
            original_of(&mail(thunderbird), 1 << 20).map(|f| f.from.address),
            Some("studio.riva@example.net".into())
        );
        let apple = "Ecco.\n\n> Inizio messaggio inoltrato:\n> \n> Da: Luca Bruni <luca.bruni@example.com>\n> Oggetto: SPID\n\
                     > Data: 9 marzo 2026 alle ore 09:12:00 CET\n> A: giulia@comune.example.it\n> \n> Non entro con SPID.";
        let f = original_of(&mail(apple), 1 << 20).expect("forward");
        assert_eq!(
            (f.from.address.as_str(), f.text.as_str()),
            ("luca.bruni@example.com", "Non entro con SPID.")
        );
        let outlook_mailto = "-----Messaggio originale-----\nDa: Paola Riva [mailto:paola@example.org]\nInviato: lunedì 9 marzo 2026\n\
                              Oggetto: Aiuto\n\nTesto.";
        assert_eq!(
            original_of(&mail(outlook_mailto), 1 << 20).map(|f| f.from.address),
            Some("paola@example.org".into())
        );
    }

    #[test]
    fn what_is_not_a_forward_gives_nothing() {
        assert_eq!(original_of(&mail("Buongiorno, il portale non va."), 1 << 20), None);
        // A separator without a sender that reads back is no forward we can act on.
        assert_eq!(
            original_of(
                &mail("---------- Forwarded message ---------\nDa: qualcuno\n\ntesto"),
                1 << 20
            ),
            None
        );
    }
}
