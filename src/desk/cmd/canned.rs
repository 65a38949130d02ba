//! `#risposta NAME`: a stored answer (or a reviewed knowledge-base article) opens the text the
//! requester gets, above whatever the operator wrote below the tags (issue 15, item 6).
//!
//! The edge reads and fills the stored answers (the requester's name and the ticket number are
//! their variables); the desk only checks they exist and puts the text together.

use super::{CommandMail, Refusals};
use crate::commands::{Command, Problem};

/// Each answer named must exist.
pub(super) fn check(mail: &CommandMail<'_>, name: &str, out: &mut Refusals) {
    if text_of(mail, name).is_none() {
        out.refuse(
            format!("#risposta {name}"),
            Problem::NoSuchAnswer {
                name: name.to_string(),
                known: mail.lookups.answer_names.to_vec(),
            },
        );
    }
}

fn text_of<'a>(mail: &CommandMail<'a>, name: &str) -> Option<&'a str> {
    mail.lookups
        .answers
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, text)| text.as_deref())
}

/// The text below the tags with the stored answers named above it, in the order named; `None`
/// when the mail names none (or one that does not exist: `check` refuses it).
pub fn with_answers(mail: &CommandMail<'_>) -> Option<String> {
    let texts: Vec<&str> = mail
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Canned(name) => text_of(mail, name),
            _ => None,
        })
        .map(str::trim_end)
        .collect();
    if texts.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = texts;
    if !mail.body.is_empty() {
        parts.push(mail.body);
    }
    Some(parts.join("\n\n"))
}
