//! Threading: which ticket a person's message belongs to, if any.
//!
//! Pure; the store is consulted through the two lookups the caller passes in. The order:
//! 1. In-Reply-To, then References (newest first), naming a Message-ID the help desk stored
//!    or sent;
//! 2. the subject token `[TCK-YYYY-NNNNN]` of an existing ticket, wherever it stands after
//!    any number of reply and forward prefixes;
//! 3. otherwise a new ticket.

use std::sync::LazyLock;

use regex::Regex;

use super::parse::InboundMail;
use crate::model::TicketId;

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadMatch {
    /// Its In-Reply-To or References name a message of this ticket.
    Reference(TicketId),
    /// Its subject carries this ticket's token.
    Token(TicketId),
    /// It belongs to no ticket: open one.
    New,
}

impl ThreadMatch {
    /// The ticket it matched, if any.
    pub fn ticket(self) -> Option<TicketId> {
        match self {
            ThreadMatch::Reference(t) | ThreadMatch::Token(t) => Some(t),
            ThreadMatch::New => None,
        }
    }
}

static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\[\s*(TCK-\d{4}-\d{5,9})\s*\]").expect("static regex is valid"));

/// Reply and forward prefixes of Italian, English, German and Nordic clients, nested, with
/// optional counters (`Re[2]:`) and full-width colons.
static PREFIXES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:\s*(?:re|r|ri|rif|i|inoltro|fwd|fw|aw|sv|vs|wg|tr|antw|res|enc)\s*(?:\[\d+\]|\(\d+\))?\s*[:：])+\s*",
    )
    .expect("static regex is valid")
});

/// The ticket token in a subject, if any.
pub fn subject_token(subject: &str) -> Option<TicketId> {
    TOKEN
        .captures_iter(subject)
        .find_map(|c| c.get(1)?.as_str().parse().ok())
}

/// Ticket numbers written anywhere in a text (`TCK-2026-00042`, with or without brackets), in
/// order, once each: a reply re-typed in a webmail keeps the quoted acknowledgment's number
/// even when it lost the subject token and the references.
pub fn mentioned_tickets(text: &str) -> Vec<TicketId> {
    let mut out: Vec<TicketId> = Vec::new();
    for found in MENTION.find_iter(text) {
        if let Ok(id) = found.as_str().parse::<TicketId>()
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}

static MENTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bTCK-\d{4}-\d{5,9}\b").expect("static regex is valid"));

/// The subject without reply/forward prefixes and ticket tokens: what a new ticket is called.
pub fn base_subject(subject: &str) -> String {
    let mut s = subject.to_string();
    // Prefixes may stand on both sides of a token ("R: [TCK-…] I: x"): strip until stable.
    loop {
        let stripped = PREFIXES.replace(&s, "").to_string();
        let stripped = TOKEN.replace_all(&stripped, "").trim().to_string();
        if stripped == s {
            return s;
        }
        s = stripped;
    }
}

/// Decides the thread. `ticket_of_message` maps a stored or sent Message-ID to its ticket;
/// `ticket_exists` says whether a token names a real ticket.
pub fn decide(
    mail: &InboundMail,
    ticket_of_message: impl Fn(&str) -> Option<TicketId>,
    ticket_exists: impl Fn(TicketId) -> bool,
) -> ThreadMatch {
    for id in mail.referenced_ids() {
        if let Some(ticket) = ticket_of_message(id) {
            return ThreadMatch::Reference(ticket);
        }
    }
    match subject_token(&mail.subject) {
        Some(ticket) if ticket_exists(ticket) => ThreadMatch::Token(ticket),
        _ => ThreadMatch::New,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_numbers_are_found_in_a_text_once_each() {
        let text = "> abbiamo ricevuto la sua richiesta, registrata con il numero TCK-2026-00042.\n\
                    > [TCK-2026-00042] e anche tck-2026-00007; non TCK-26-1 né XTCK-2026-00001";
        assert_eq!(
            mentioned_tickets(text),
            vec![TicketId { year: 2026, number: 42 }, TicketId { year: 2026, number: 7 }]
        );
        assert!(mentioned_tickets("nessun numero").is_empty());
    }

    fn t(n: u32) -> TicketId {
        TicketId { year: 2026, number: n }
    }

    #[test]
    fn tokens_are_found_behind_any_prefixes() {
        for subject in [
            "[TCK-2026-00042] Errore firma",
            "Re: [TCK-2026-00042] Errore firma",
            "R: RE: Rif: I: [TCK-2026-00042] Errore firma",
            "AW: SV: Fwd: [tck-2026-00042] x",
            "Re[2]: Fw: Errore [TCK-2026-00042]",
            "R： [ TCK-2026-00042 ] x",
        ] {
            assert_eq!(subject_token(subject), Some(t(42)), "{subject}");
        }
        assert_eq!(subject_token("TCK-2026-00042 without brackets"), None);
        assert_eq!(subject_token("[TCK-26-42]"), None);
    }

    #[test]
    fn base_subject_drops_prefixes_and_tokens_only() {
        assert_eq!(
            base_subject("R: RE: Rif: I: [TCK-2026-00042] Errore firma"),
            "Errore firma"
        );
        assert_eq!(base_subject("Re: Fwd: Problema"), "Problema");
        assert_eq!(base_subject("Richiesta: accesso SPID"), "Richiesta: accesso SPID");
        assert_eq!(base_subject("Ritardo pratica"), "Ritardo pratica");
        assert_eq!(base_subject("I: Inoltro: Intestazione errata"), "Intestazione errata");
    }

    #[test]
    fn references_win_over_tokens_and_unknown_tokens_open_tickets() {
        let mut mail = InboundMail {
            subject: "Re: [TCK-2026-00007] x".into(),
            in_reply_to: vec!["unknown@example.org".into()],
            references: vec!["ack-42@comune.example.it".into(), "unknown@example.org".into()],
            ..InboundMail::default()
        };
        let lookup = |id: &str| (id == "ack-42@comune.example.it").then_some(t(42));
        assert_eq!(decide(&mail, lookup, |_| true), ThreadMatch::Reference(t(42)));
        mail.references.clear();
        assert_eq!(decide(&mail, lookup, |_| true), ThreadMatch::Token(t(7)));
        assert_eq!(decide(&mail, lookup, |_| false), ThreadMatch::New);
    }
}
