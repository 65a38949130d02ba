//! The iCalendar invitation (RFC 5545, iMIP `METHOD:REQUEST`) attached to a remote-desktop
//! session's letter. Pure: the caller passes the instant it was written (`DTSTAMP`).

use chrono::{DateTime, TimeDelta, Utc};

use super::Sender;
use crate::model::TicketId;

/// One remote-desktop session.
#[derive(Debug, Clone, Copy)]
pub struct Session<'a> {
    /// The ticket it is about.
    pub ticket: TicketId,
    /// The ticket's subject.
    pub subject: &'a str,
    /// The requester invited.
    pub attendee: &'a str,
    /// The technician's name.
    pub technician: &'a str,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// How long it lasts.
    pub minutes: u32,
}

/// The invitation, CRLF-terminated lines folded at 75 octets. Its UID is stable for one
/// ticket and start, so a reply (accepted, declined) can be matched back to the ticket.
pub fn invitation(session: &Session<'_>, sender: &Sender, written_at: DateTime<Utc>) -> String {
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let end = session.start + TimeDelta::minutes(i64::from(session.minutes));
    let summary = text(&format!("Assistenza remota {} - {}", session.ticket, session.subject));
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//Sportello//Help desk CPortal//IT".into(),
        "METHOD:REQUEST".into(),
        "BEGIN:VEVENT".into(),
        format!(
            "UID:{}.remote.{}@{}",
            session.ticket,
            session.start.timestamp(),
            sender.domain()
        ),
        format!("DTSTAMP:{}", stamp(written_at)),
        format!("DTSTART:{}", stamp(session.start)),
        format!("DTEND:{}", stamp(end)),
        format!("SUMMARY:{summary}"),
        format!(
            "DESCRIPTION:{}",
            text(&format!(
                "Tecnico: {}. Richiesta {}.",
                session.technician, session.ticket
            ))
        ),
        format!("ORGANIZER;CN={}:mailto:{}", text(&sender.name), sender.address),
        format!("ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{}", session.attendee),
        "STATUS:CONFIRMED".into(),
        "END:VEVENT".into(),
        "END:VCALENDAR".into(),
    ];
    lines.iter().map(|l| fold(l)).collect::<Vec<_>>().join("\r\n") + "\r\n"
}

/// A TEXT value: backslash, semicolon, comma and newlines escaped (RFC 5545 §3.3.11).
fn text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace(['\r', '\n'], " ")
}

/// Folds a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sender() -> Sender {
        Sender {
            name: "Help desk CPortal, Comune".into(),
            address: "helpdesk@comune.example.it".into(),
            timezone: chrono_tz::Europe::Rome,
        }
    }

    #[test]
    fn lines_fold_at_75_octets_without_splitting_characters() {
        let folded = fold(&format!("SUMMARY:{}", "è".repeat(60)));
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(folded.replace("\r\n ", ""), format!("SUMMARY:{}", "è".repeat(60)));
    }

    #[test]
    fn an_invitation_has_escaped_text_and_folded_lines() {
        let start = Utc.with_ymd_and_hms(2026, 3, 12, 14, 0, 0).single().expect("valid");
        let subject = "Firma digitale; il file .p7m, non si carica — perché? ".repeat(2);
        let session = Session {
            ticket: TicketId { year: 2026, number: 7 },
            subject: subject.trim(),
            attendee: "mario.rossi@example.org",
            technician: "Luca Verdi",
            start,
            minutes: 45,
        };
        let ics = invitation(&session, &sender(), start - TimeDelta::days(2));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.contains("DTSTART:20260312T140000Z\r\n"));
        assert!(ics.contains("DTEND:20260312T144500Z\r\n"));
        assert!(ics.contains("ORGANIZER;CN=Help desk CPortal\\, Comune:mailto:helpdesk@comune.example.it"));
        assert!(ics.contains("Firma digitale\\; il file .p7m\\, non"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "folded: {line:?}");
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!(
            "UID:TCK-2026-00007.remote.{}@comune.example.it\r\n",
            start.timestamp()
        )));
    }
}
