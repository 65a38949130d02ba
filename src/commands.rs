//! Operator command tags: the lines `#tag [arguments]` at the very top of an operator's mail.
//!
//! Pure parsing: text in, [`Parsed`] out (commands, mistakes, and the body that follows the
//! tags). Italian and English names both work, in any case. Parsing never fails: each
//! mistake becomes a [`CommandError`] the operator is told about by mail. Applying commands
//! is the workflow's job.

use chrono::{NaiveDate, NaiveDateTime};

use crate::model::Kind;

/// One command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `#prendo` / `#take`: assign the ticket to the sender.
    Take,
    /// `#assegna NAME-OR-EMAIL` / `#assign`.
    Assign(String),
    /// `#secondolivello` / `#escalate` [NAME-OR-EMAIL].
    Escalate(Option<String>),
    /// `#risolto` / `#resolve`: the body is the resolution.
    Resolve,
    /// `#nota` / `#note`: the body is an internal note.
    Note,
    /// `#telefono` / `#phone` [NUMBER]: on a reply, the body summarises a call; with `#nuovo`
    /// the number is the caller's.
    Phone(Option<String>),
    /// `#sollecito` / `#reminder`, `#reclamo` / `#complaint`.
    SetKind(Kind),
    /// `#fuoriambito` / `#outofscope`.
    OutOfScope,
    /// `#remoto` / `#remote` YYYY-MM-DD HH:MM [minutes].
    Remote {
        /// Local start time.
        at: NaiveDateTime,
        /// Planned length.
        minutes: u32,
    },
    /// `#tempo` / `#time` DURATION.
    Time(u32),
    /// `#coda` / `#queue`.
    Queue,
    /// `#aiuto` / `#help`.
    Help,
    /// `#nuovo` / `#new` [CALLER NAME].
    New(Option<String>),
    /// `#email ADDRESS`: the caller's address, with `#nuovo`.
    Email(String),
    /// `#assente` / `#away` [YYYY-MM-DD]: away until that day (or back, with `#assente no`).
    Away(Option<NaiveDate>),
    /// `#kb` [TEXT]: on a ticket, mark its knowledge-base entry a reviewed article (TEXT is the
    /// title); in a new mail, search the knowledge base for TEXT.
    Kb(Option<String>),
}

/// A tag line that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// The line as written.
    pub line: String,
    /// What is wrong, in English (the reply template translates the frame, not this).
    pub problem: String,
}

/// The result of parsing an operator's mail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// Commands in order.
    pub commands: Vec<Command>,
    /// Mistakes; when any, nothing is applied.
    pub errors: Vec<CommandError>,
    /// The text after the tag lines.
    pub body: String,
}

/// Every tag: (Italian, English).
pub const TAGS: &[(&str, &str)] = &[
    ("prendo", "take"),
    ("assegna", "assign"),
    ("secondolivello", "escalate"),
    ("risolto", "resolve"),
    ("nota", "note"),
    ("telefono", "phone"),
    ("sollecito", "reminder"),
    ("reclamo", "complaint"),
    ("fuoriambito", "outofscope"),
    ("remoto", "remote"),
    ("tempo", "time"),
    ("coda", "queue"),
    ("aiuto", "help"),
    ("nuovo", "new"),
    ("email", "email"),
    ("assente", "away"),
    ("kb", "kb"),
];

/// Parses the tag lines at the top of `text`.
pub fn parse_commands(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    // Operators often write "#nota chiamato l'utente" on one line: that text opens the body.
    let mut inline_text: Vec<String> = Vec::new();
    let mut lines = text.lines().peekable();
    while lines.peek().is_some_and(|l| l.trim().is_empty()) {
        lines.next();
    }
    while let Some(line) = lines.peek() {
        let trimmed = line.trim();
        if !trimmed.starts_with('#') {
            break;
        }
        // Several tags may share a line: "#prendo #tempo 20m".
        for chunk in split_tags(trimmed) {
            match parse_one(chunk) {
                Ok((cmd, inline)) => {
                    parsed.commands.push(cmd);
                    if !inline.is_empty() {
                        inline_text.push(inline);
                    }
                }
                Err(problem) => parsed.errors.push(CommandError {
                    line: chunk.to_string(),
                    problem,
                }),
            }
        }
        lines.next();
    }
    inline_text.push(lines.collect::<Vec<_>>().join("\n"));
    parsed.body = inline_text.join("\n").trim().to_string();
    parsed
}

/// Splits "#a x #b y" into "#a x" and "#b y" (a `#` starts a tag only after whitespace).
fn split_tags(line: &str) -> Vec<&str> {
    let mut starts: Vec<usize> = line
        .char_indices()
        .filter(|(i, c)| *c == '#' && (*i == 0 || line[..*i].ends_with(char::is_whitespace)))
        .map(|(i, _)| i)
        .collect();
    // A phone number such as "+39 #…" is not a thing; but "#telefono +39 333" must keep its
    // argument, and "#remoto 2026-03-12 15:00" too: only '#' followed by a letter starts a tag.
    starts.retain(|i| line[i + 1..].chars().next().is_some_and(char::is_alphabetic));
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    starts
        .iter()
        .enumerate()
        .map(|(n, &s)| line[s..starts.get(n + 1).copied().unwrap_or(line.len())].trim())
        .collect()
}

fn canonical(tag: &str) -> Option<&'static str> {
    let lower = tag.to_lowercase();
    TAGS.iter()
        .find(|(it, en)| *it == lower || *en == lower)
        .map(|(it, _)| *it)
}

/// One tag, and the free text written on its line for the tags whose argument is the body.
fn parse_one(chunk: &str) -> Result<(Command, String), String> {
    let rest = chunk.trim_start_matches('#');
    let (tag, args) = match rest.split_once(char::is_whitespace) {
        Some((t, a)) => (t, a.trim()),
        None => (rest, ""),
    };
    match canonical(tag) {
        Some("nota" | "risolto" | "fuoriambito") if !args.is_empty() => {
            parse_tag(&format!("#{tag}")).map(|c| (c, args.to_string()))
        }
        // "#telefono +39 333…" names the caller's number; "#telefono richiamato, …" is a summary.
        Some("telefono") if !args.is_empty() && !looks_like_phone(args) => {
            parse_tag("#telefono").map(|c| (c, args.to_string()))
        }
        _ => parse_tag(chunk).map(|c| (c, String::new())),
    }
}

fn looks_like_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    digits >= 6 && text.chars().all(|c| c.is_ascii_digit() || " +-./()".contains(c))
}

fn parse_tag(chunk: &str) -> Result<Command, String> {
    let rest = chunk.trim_start_matches('#');
    let (tag, args) = match rest.split_once(char::is_whitespace) {
        Some((t, a)) => (t, a.trim()),
        None => (rest, ""),
    };
    let Some(name) = canonical(tag) else {
        return Err(match suggestion(tag) {
            Some(s) => format!("unknown tag #{tag}; did you mean #{s}?"),
            None => format!("unknown tag #{tag}; #aiuto lists them all"),
        });
    };
    let needs = |what: &str| -> Result<String, String> {
        if args.is_empty() {
            Err(format!("#{name} needs {what}"))
        } else {
            Ok(args.to_string())
        }
    };
    let none = |cmd: Command| -> Result<Command, String> {
        if args.is_empty() {
            Ok(cmd)
        } else {
            Err(format!("#{name} takes no arguments (found {args:?})"))
        }
    };
    match name {
        "prendo" => none(Command::Take),
        "assegna" => needs("an operator's name or address").map(Command::Assign),
        "secondolivello" => Ok(Command::Escalate((!args.is_empty()).then(|| args.to_string()))),
        "risolto" => none(Command::Resolve),
        "nota" => none(Command::Note),
        "telefono" => Ok(Command::Phone((!args.is_empty()).then(|| args.to_string()))),
        "sollecito" => none(Command::SetKind(Kind::Reminder)),
        "reclamo" => none(Command::SetKind(Kind::Complaint)),
        "fuoriambito" => none(Command::OutOfScope),
        "remoto" => parse_remote(args),
        "tempo" => parse_duration(args)
            .map(Command::Time)
            .ok_or_else(|| format!("#tempo needs a duration like 20m, 1h or 1h30m (found {args:?})")),
        "coda" => none(Command::Queue),
        "aiuto" => none(Command::Help),
        "nuovo" => Ok(Command::New((!args.is_empty()).then(|| args.to_string()))),
        "email" => {
            let address = needs("an e-mail address")?;
            if crate::config::is_plain_address(&address) {
                Ok(Command::Email(address.to_ascii_lowercase()))
            } else {
                Err(format!(
                    "#email needs an address like nome@example.it (found {address:?})"
                ))
            }
        }
        "kb" => Ok(Command::Kb((!args.is_empty()).then(|| args.to_string()))),
        "assente" => match args.to_lowercase().as_str() {
            "" => Err("#assente needs the last day away (YYYY-MM-DD), or \"no\" when back".into()),
            "no" | "rientrato" | "back" => Ok(Command::Away(None)),
            date => NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map(|d| Command::Away(Some(d)))
                .map_err(|_| format!("#assente needs a date YYYY-MM-DD (found {args:?})")),
        },
        _ => Err(format!("tag #{name} is not handled")),
    }
}

/// `YYYY-MM-DD HH:MM [minutes]`.
fn parse_remote(args: &str) -> Result<Command, String> {
    let bad = || format!("#remoto needs a date, a time and optionally minutes: 2026-03-12 15:00 45 (found {args:?})");
    let words: Vec<&str> = args.split_whitespace().collect();
    if words.len() < 2 || words.len() > 3 {
        return Err(bad());
    }
    let at =
        NaiveDateTime::parse_from_str(&format!("{} {}", words[0], words[1]), "%Y-%m-%d %H:%M").map_err(|_| bad())?;
    let minutes = match words.get(2) {
        Some(m) => m
            .trim_end_matches("m")
            .parse()
            .ok()
            .filter(|m| (5..=480).contains(m))
            .ok_or_else(bad)?,
        None => 30,
    };
    Ok(Command::Remote { at, minutes })
}

/// `20m`, `1h`, `1h30m`, `1h30`, `90` (minutes): 1 to 24 hours of work.
pub fn parse_duration(text: &str) -> Option<u32> {
    let t = text.trim().to_lowercase().replace(' ', "");
    let minutes = if let Ok(m) = t.parse::<u32>() {
        m
    } else if let Some((h, rest)) = t.split_once('h') {
        let hours: u32 = h.parse().ok()?;
        let m: u32 = match rest.trim_end_matches('m') {
            "" => 0,
            m => m.parse().ok().filter(|m| *m < 60)?,
        };
        hours * 60 + m
    } else {
        t.strip_suffix('m')?.parse().ok()?
    };
    (1..=24 * 60).contains(&minutes).then_some(minutes)
}

/// The closest known tag within two edits, for "did you mean".
fn suggestion(tag: &str) -> Option<&'static str> {
    let lower = tag.to_lowercase();
    TAGS.iter()
        .flat_map(|(it, en)| [*it, *en])
        .map(|known| (strsim::levenshtein(&lower, known), known))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, known)| known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, commands: &[Command], body: &str) {
        let parsed = parse_commands(text);
        assert!(parsed.errors.is_empty(), "{text:?}: {:?}", parsed.errors);
        assert_eq!(parsed.commands, commands, "{text:?}");
        assert_eq!(parsed.body, body, "{text:?}");
    }

    #[test]
    fn tags_in_both_languages_and_any_case() {
        check("#prendo\nCiao", &[Command::Take], "Ciao");
        check("#TAKE", &[Command::Take], "");
        check(
            "\n\n#Risolto\nHo sistemato il certificato.",
            &[Command::Resolve],
            "Ho sistemato il certificato.",
        );
        check("#assegna Marco Rossi", &[Command::Assign("Marco Rossi".into())], "");
        check("#escalate", &[Command::Escalate(None)], "");
        check(
            "#tempo 1h30m\n#nota\nchiamato l'utente",
            &[Command::Time(90), Command::Note],
            "chiamato l'utente",
        );
        check("#prendo #tempo 20m", &[Command::Take, Command::Time(20)], "");
        check("#reclamo", &[Command::SetKind(Kind::Complaint)], "");
        check(
            "#remoto 2026-03-12 15:00 45",
            &[Command::Remote {
                at: NaiveDateTime::parse_from_str("2026-03-12 15:00", "%Y-%m-%d %H:%M").expect("dt"),
                minutes: 45,
            }],
            "",
        );
        check(
            "#nuovo Mario Rossi\n#telefono +39 333 1234567\nNon riesce ad accedere con SPID.",
            &[
                Command::New(Some("Mario Rossi".into())),
                Command::Phone(Some("+39 333 1234567".into())),
            ],
            "Non riesce ad accedere con SPID.",
        );
        check("Nessun tag qui.\n#prendo", &[], "Nessun tag qui.\n#prendo");
        check(
            "#assente 2026-08-31",
            &[Command::Away(NaiveDate::from_ymd_opt(2026, 8, 31))],
            "",
        );
    }

    #[test]
    fn mistakes_are_explained() {
        let parsed = parse_commands("#risolot\ntesto");
        assert_eq!(parsed.errors[0].problem, "unknown tag #risolot; did you mean #risolto?");
        assert_eq!(parsed.body, "testo");
        assert!(parse_commands("#assegna").errors[0].problem.contains("needs"));
        assert!(parse_commands("#tempo tanto").errors[0].problem.contains("duration"));
        assert!(
            parse_commands("#remoto domani").errors[0]
                .problem
                .contains("2026-03-12 15:00")
        );
        assert!(
            parse_commands("#prendo subito").errors[0]
                .problem
                .contains("no arguments")
        );
        assert!(parse_commands("#xyzzy").errors[0].problem.contains("#aiuto"));
    }

    #[test]
    fn text_on_the_tag_line_opens_the_body() {
        check(
            "#nota chiamato l'utente\naltro",
            &[Command::Note],
            "chiamato l'utente\naltro",
        );
        check(
            "#telefono richiamato, risolto",
            &[Command::Phone(None)],
            "richiamato, risolto",
        );
        check("#risolto Fatto.", &[Command::Resolve], "Fatto.");
    }

    #[test]
    fn durations() {
        for (text, minutes) in [
            ("20m", Some(20)),
            ("1h", Some(60)),
            ("1h30m", Some(90)),
            ("1h30", Some(90)),
            ("45", Some(45)),
        ] {
            assert_eq!(parse_duration(text), minutes, "{text}");
        }
        for bad in ["", "0", "1h75m", "25h", "abc", "-5"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
