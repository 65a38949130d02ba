//! Helpers shared by the workflow and report tests: a configuration with three operators,
//! operator mails that pass (or fail) authentication, and reading the outbox.

use crate::support::{Sandbox, code, stderr, stdout};

pub const CONFIG: &str = r#"
[helpdesk]
address = "assistenza@comune.example.it"
[security]
trusted_authserv_id = "mx.comune.example.it"
[[operator]]
name = "Giulia Bianchi"
email = "giulia.bianchi@comune.example.it"
level = 1
[[operator]]
name = "Marco Rossi"
email = "marco.rossi@comune.example.it"
level = 1
[[operator]]
name = "Luca Verdi"
email = "luca.verdi@comune.example.it"
level = 2
supervisor = true
"#;

pub const AUTH_PASS: &str = "Authentication-Results: mx.comune.example.it; dkim=pass header.d=comune.example.it; \
                         spf=pass smtp.mailfrom=comune.example.it; dmarc=pass header.from=comune.example.it\r\n";

/// One outgoing mail as the outbox holds it.
pub struct Sent {
    pub message_id: String,
    pub purpose: String,
    pub recipients: String,
    pub ticket: Option<String>,
    pub text: String,
}

pub fn outbox(sandbox: &Sandbox) -> Vec<Sent> {
    let conn = rusqlite::Connection::open(sandbox.path("var/sportello.db")).expect("db");
    let mut stmt = conn
        .prepare("SELECT message_id, purpose, recipients, ticket_id FROM outbox ORDER BY id")
        .expect("prepare");
    stmt.query_map([], |r| {
        let message_id: String = r.get(0)?;
        let raw = sportello::outbox::message_bytes(&conn, &message_id).expect("our mail composes");
        let parsed = sportello::ingest::parse::parse_mail(&raw, 1 << 22).expect("our mail parses");
        Ok(Sent {
            message_id,
            purpose: r.get(1)?,
            recipients: r.get(2)?,
            ticket: r.get(3)?,
            text: format!(
                "Subject: {}\n{}\n{}",
                parsed.subject,
                parsed.text,
                String::from_utf8_lossy(&raw)
            ),
        })
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// The newest mail of `purpose` to `address`.
pub fn last(sandbox: &Sandbox, purpose: &str, address: &str) -> Sent {
    outbox(sandbox)
        .into_iter()
        .rev()
        .find(|m| m.purpose == purpose && m.recipients.contains(address))
        .unwrap_or_else(|| panic!("no {purpose} mail to {address}"))
}

pub fn count(sandbox: &Sandbox, purpose: &str, address: &str) -> usize {
    outbox(sandbox)
        .iter()
        .filter(|m| m.purpose == purpose && m.recipients.contains(address))
        .count()
}

pub fn ingest(sandbox: &Sandbox, now: &str, raw: String) -> String {
    let out = sandbox.run_with_input(&[&format!("--now={now}"), "ingest", "-"], raw.as_bytes());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    stdout(&out)
}

pub fn operator_mail(from: &str, subject: &str, in_reply_to: Option<&str>, auth: bool, id: &str, body: &str) -> String {
    let reply = in_reply_to
        .map(|r| format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n"))
        .unwrap_or_default();
    let auth = if auth { AUTH_PASS } else { "" };
    format!(
        "{auth}From: Operatore <{from}>\r\nTo: assistenza@comune.example.it\r\nSubject: {subject}\r\n\
         Message-ID: <{id}@comune.example.it>\r\n{reply}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

pub fn ticket(sandbox: &Sandbox, id: &str) -> serde_json::Value {
    let out = sandbox.run(&["ticket", "show", id, "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("json")
}

/// The Message-ID of the newest mail of `purpose` to `address` about `ticket`.
pub fn last_message_id(sandbox: &Sandbox, purpose: &str, address: &str, ticket: &str) -> String {
    outbox(sandbox)
        .into_iter()
        .rev()
        .find(|m| m.purpose == purpose && m.recipients.contains(address) && m.ticket.as_deref() == Some(ticket))
        .unwrap_or_else(|| panic!("no {purpose} mail to {address} about {ticket}"))
        .message_id
}
