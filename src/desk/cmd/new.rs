//! `#nuovo [NAME]` in a new mail: an operator opens a phone request for a caller, with
//! `#telefono NUMBER` (required), `#email ADDRESS` (optional) and the request below the tags.

use crate::commands::{Command, CommandError, Problem};

/// A phone request as the operator typed it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneCall {
    /// The caller's name, when given.
    pub name: Option<String>,
    /// The number to call back.
    pub number: String,
    /// The caller's e-mail, when given.
    pub email: Option<String>,
}

/// The call of a `#nuovo` mail, or why it cannot open a ticket; `None` when the mail has no
/// `#nuovo`.
pub fn phone_call(commands: &[Command], body: &str) -> Option<Result<PhoneCall, CommandError>> {
    let name = commands.iter().find_map(|c| match c {
        Command::New(name) => Some(name.clone()),
        _ => None,
    })?;
    let refuse = |line: String, problem: Problem| Some(Err(CommandError { line, problem }));
    let number = commands.iter().find_map(|c| match c {
        Command::Phone(n) => n.clone(),
        _ => None,
    });
    let email = commands.iter().find_map(|c| match c {
        Command::Email(e) => Some(e.clone()),
        _ => None,
    });
    match number {
        None => refuse("#nuovo".into(), Problem::PhoneNumberMissing),
        Some(number) if !is_phone_number(&number) => refuse(format!("#telefono {number}"), Problem::NotAPhoneNumber),
        Some(_) if body.is_empty() => refuse("#nuovo".into(), Problem::CallerRequestMissing),
        Some(number) => Some(Ok(PhoneCall { name, number, email })),
    }
}

/// Six to fifteen digits, with the separators people write.
fn is_phone_number(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (6..=15).contains(&digits) && text.chars().all(|c| c.is_ascii_digit() || " +-./()".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::parse_commands;

    fn call(text: &str) -> Option<Result<PhoneCall, (String, String)>> {
        let parsed = parse_commands(text);
        assert!(parsed.errors.is_empty(), "{text:?}: {:?}", parsed.errors);
        phone_call(&parsed.commands, &parsed.body)
            .map(|r| r.map_err(|e| (e.line, e.problem.text(crate::config::Language::En))))
    }

    #[test]
    fn phone_numbers() {
        assert!(is_phone_number("+39 333 1234567"));
        assert!(is_phone_number("06-1234567"));
        assert!(is_phone_number("(06) 123.4567"));
        assert!(!is_phone_number("chiamami"));
        assert!(!is_phone_number("12"));
        assert!(!is_phone_number("1234567890123456"), "more than 15 digits");
    }

    #[test]
    fn every_rule_of_a_phone_request() {
        assert_eq!(call("#coda"), None, "no #nuovo: not a phone request");
        assert_eq!(
            call("#nuovo Mario Rossi\nNon riesce ad accedere."),
            Some(Err(("#nuovo".into(), "a phone ticket needs #telefono NUMBER".into())))
        );
        assert!(matches!(
            call("#nuovo Mario Rossi\n#telefono 0612345678901234567\nNon accede."),
            Some(Err((line, problem))) if line == "#telefono 0612345678901234567" && problem.starts_with("not a phone number")
        ));
        assert!(matches!(
            call("#nuovo Mario Rossi\n#telefono +39 333 1234567"),
            Some(Err((_, problem))) if problem.contains("request below the tags")
        ));
        assert_eq!(
            call("#nuovo Mario Rossi\n#telefono +39 333 1234567\n#email mario.rossi@example.org\nNon accede."),
            Some(Ok(PhoneCall {
                name: Some("Mario Rossi".into()),
                number: "+39 333 1234567".into(),
                email: Some("mario.rossi@example.org".into()),
            }))
        );
    }
}
