//! `#risposta NAME`: a stored answer (or a reviewed knowledge-base article) opens the text the
//! requester gets, above whatever the operator wrote below the tags (issue 15, item 6).
//!
//! The edge reads and fills the stored answers (the requester's name and the ticket number are
//! their variables); the desk only checks they exist and puts the text together.

use super::{CommandMail, Refusals, Working};
use crate::commands::{Command, Problem};
use crate::desk::effect::Effect;

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

/// An answer taken from a knowledge-base article (`kb:ID`) is a suggestion the operator
/// used: the base ranks it higher for similar requests (issue 19).
pub(super) fn apply(work: &mut Working<'_>, mail: &CommandMail<'_>, name: &str) {
    if let Some(entry) = kb_entry(name) {
        work.effect(Effect::RecordKbUse {
            by: mail.operator.email.clone(),
            entry,
        });
    }
}

/// The entry of `kb:ID` (`kb:12`, `kb:KB-12`).
pub fn kb_entry(name: &str) -> Option<i64> {
    let (prefix, id) = name.split_once(':')?;
    if !prefix.eq_ignore_ascii_case("kb") {
        return None;
    }
    id.trim_start_matches(['K', 'B', 'k', 'b', '-']).parse().ok()
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
