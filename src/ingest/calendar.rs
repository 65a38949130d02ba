//! A requester's answer to the remote-session invitation we sent (iMIP, RFC 6047): Outlook's
//! "Accettato: …", Gmail's "Invito accettato", Apple Calendar's reply — a `text/calendar` part
//! with `METHOD:REPLY` (accepted, declined, tentative) or `METHOD:COUNTER` (another time
//! proposed), carrying the UID of our invitation. It is matched to its ticket by that UID and
//! recorded as the requester's answer; it is never a new request, a reopening or a reason for an
//! acknowledgment.
//!
//! Pure: the parts in, the answer out. Only the few properties the help desk needs are read,
//! from unfolded content lines (RFC 5545 §3.1).

use chrono::{NaiveDateTime, TimeZone, Utc};

use super::parse::Attachment;
pub use crate::model::InvitationAnswer as Answer;
use crate::model::TicketId;

/// A calendar reply to one of our invitations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarReply {
    /// What was answered.
    pub answer: Answer,
    /// The UID of the invitation answered.
    pub uid: String,
    /// The ticket our UID names (`TCK-….remote.…@…`), when it is one of ours.
    pub ticket: Option<TicketId>,
    /// For a counter-proposal: the time proposed, in UTC when the reply says so, else as written.
    pub proposed: Option<Proposed>,
}

/// A proposed start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proposed {
    /// An instant (`DTSTART:20261215T150000Z`).
    Utc(chrono::DateTime<Utc>),
    /// A local time in a zone the reply names (`DTSTART;TZID=…:20261215T160000`), read as the
    /// help desk's own local time.
    Local(NaiveDateTime),
}

/// The calendar reply among the mail's parts, if any.
pub fn reply_of(parts: &[Attachment]) -> Option<CalendarReply> {
    parts
        .iter()
        .filter(|p| p.content_type.starts_with("text/calendar") || p.filename.to_ascii_lowercase().ends_with(".ics"))
        .find_map(|p| parse(&String::from_utf8_lossy(&p.bytes)))
}

fn parse(ics: &str) -> Option<CalendarReply> {
    let unfolded = ics
        .replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\n ", "")
        .replace("\n\t", "");
    let lines: Vec<&str> = unfolded.lines().map(str::trim_end).collect();
    let value = |name: &str| -> Option<&str> {
        lines.iter().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            let base = key.split(';').next()?;
            base.eq_ignore_ascii_case(name).then_some(value)
        })
    };
    let method = value("METHOD")?.trim().to_ascii_uppercase();
    let uid = value("UID")?.trim().to_string();
    let answer = match method.as_str() {
        "COUNTER" => Answer::Counter,
        "REPLY" => {
            let attendee = lines.iter().find(|l| {
                l.split(':')
                    .next()
                    .and_then(|k| k.split(';').next())
                    .is_some_and(|k| k.eq_ignore_ascii_case("ATTENDEE"))
            })?;
            let params = attendee.split_once(':').map(|(k, _)| k.to_ascii_uppercase())?;
            if params.contains("PARTSTAT=ACCEPTED") {
                Answer::Accepted
            } else if params.contains("PARTSTAT=DECLINED") {
                Answer::Declined
            } else if params.contains("PARTSTAT=TENTATIVE") {
                Answer::Tentative
            } else {
                return None;
            }
        }
        _ => return None,
    };
    let proposed = if answer == Answer::Counter {
        lines.iter().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            if !key.split(';').next()?.eq_ignore_ascii_case("DTSTART") {
                return None;
            }
            let value = value.trim();
            match value.strip_suffix('Z') {
                Some(utc) => NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
                    .ok()
                    .map(|t| Proposed::Utc(Utc.from_utc_datetime(&t))),
                None => NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
                    .ok()
                    .map(Proposed::Local),
            }
        })
    } else {
        None
    };
    let ticket = uid
        .split_once(".remote.")
        .and_then(|(id, _)| id.parse::<TicketId>().ok());
    Some(CalendarReply {
        answer,
        uid,
        ticket,
        proposed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(content_type: &str, filename: &str, body: &str) -> Attachment {
        Attachment {
            filename: filename.into(),
            content_type: content_type.into(),
            bytes: body.as_bytes().to_vec(),
        }
    }

    const UID: &str = "TCK-2026-00007.remote.1797346800@comune.example.it";

    #[test]
    fn outlook_gmail_and_apple_replies_are_read() {
        // Outlook: METHOD:REPLY, ATTENDEE folded over two lines, PARTSTAT after ROLE.
        let outlook = format!(
            "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n\
             ATTENDEE;PARTSTAT=ACCEPTED;CN=Anna Ferrari:mailto:anna.ferrari@example\r\n .org\r\nUID:{UID}\r\n\
             SUMMARY;LANGUAGE=it-IT:Accettato: Assistenza remota\r\nDTSTART:20261215T140000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        let reply = reply_of(&[part("text/calendar", "invite.ics", &outlook)]).expect("a reply");
        assert_eq!(reply.answer, Answer::Accepted);
        assert_eq!(reply.ticket, Some(TicketId { year: 2026, number: 7 }));
        // Gmail: lowercase mailto, DECLINED.
        let gmail = format!(
            "BEGIN:VCALENDAR\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\nVERSION:2.0\nMETHOD:REPLY\nBEGIN:VEVENT\n\
             UID:{UID}\nATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=DECLINED;CN=anna@example.org;X-NUM-GUESTS=0:mailto:anna@example.org\n\
             END:VEVENT\nEND:VCALENDAR\n"
        );
        assert_eq!(
            reply_of(&[part("application/ics", "invite.ics", &gmail)]).map(|r| r.answer),
            Some(Answer::Declined)
        );
        // Apple Calendar: TENTATIVE.
        let apple = format!(
            "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:-//Apple Inc.//iPhone 17.0//EN\r\nBEGIN:VEVENT\r\nUID:{UID}\r\n\
             ATTENDEE;CN=\"Anna Ferrari\";PARTSTAT=TENTATIVE:mailto:anna@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        assert_eq!(
            reply_of(&[part("text/calendar", "", &apple)]).map(|r| r.answer),
            Some(Answer::Tentative)
        );
    }

    #[test]
    fn a_counter_proposal_carries_its_time() {
        let outlook_counter = format!(
            "BEGIN:VCALENDAR\r\nMETHOD:COUNTER\r\nBEGIN:VEVENT\r\nUID:{UID}\r\n\
             DTSTART;TZID=\"W. Europe Standard Time\":20261216T100000\r\nDTEND;TZID=\"W. Europe Standard Time\":20261216T103000\r\n\
             END:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        let reply = reply_of(&[part("text/calendar", "invite.ics", &outlook_counter)]).expect("a counter");
        assert_eq!(reply.answer, Answer::Counter);
        assert_eq!(
            reply.proposed,
            NaiveDateTime::parse_from_str("2026-12-16 10:00", "%Y-%m-%d %H:%M")
                .ok()
                .map(Proposed::Local)
        );
        let utc = format!(
            "BEGIN:VCALENDAR\nMETHOD:COUNTER\nBEGIN:VEVENT\nUID:{UID}\nDTSTART:20261216T090000Z\nEND:VEVENT\nEND:VCALENDAR\n"
        );
        assert!(matches!(
            reply_of(&[part("text/calendar", "x.ics", &utc)]).and_then(|r| r.proposed),
            Some(Proposed::Utc(_))
        ));
    }

    #[test]
    fn what_is_no_reply_to_us_is_none() {
        // An invitation from someone else (METHOD:REQUEST), a plain file, an unknown UID.
        let request = "BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nUID:abc@example.net\nEND:VEVENT\nEND:VCALENDAR\n";
        assert_eq!(reply_of(&[part("text/calendar", "x.ics", request)]), None);
        assert_eq!(reply_of(&[part("application/pdf", "guida.pdf", "%PDF-1.7")]), None);
        let foreign = "BEGIN:VCALENDAR\nMETHOD:REPLY\nBEGIN:VEVENT\nUID:xyz@example.net\nATTENDEE;PARTSTAT=ACCEPTED:mailto:a@example.org\nEND:VEVENT\nEND:VCALENDAR\n";
        assert_eq!(
            reply_of(&[part("text/calendar", "x.ics", foreign)]).and_then(|r| r.ticket),
            None
        );
    }
}
