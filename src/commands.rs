//! Operator command tags: the lines `#tag [arguments]` at the very top of an operator's mail.
//!
//! Pure parsing: text in, [`Parsed`] out (commands, mistakes, and the body that follows the
//! tags). Italian and English names both work, in any case. Parsing never fails: each
//! mistake becomes a [`CommandError`] the operator is told about by mail. Applying commands
//! is the workflow's job.

mod done;
mod problem;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

pub use done::Done;
pub use problem::{CopyRefusal, Expected, Problem};

use crate::model::{Kind, TicketId};

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
    /// `#tempo` / `#time` DURATION: minutes worked (negative: a correction, `#tempo -30m`).
    Time(i32),
    /// `#coda` / `#queue`.
    Queue,
    /// `#aiuto` / `#help`.
    Help,
    /// `#nuovo` / `#new` [CALLER NAME].
    New(Option<String>),
    /// `#email ADDRESS`: the caller's address, with `#nuovo`.
    Email(String),
    /// `#assente` / `#away`: an absence (`#assente dal 2026-12-04 al 2026-12-10 sostituto NAME`,
    /// or `#assente 2026-12-10`: from today until that day), or back (`#assente no`,
    /// `#presente`).
    Away(Option<AbsenceSpec>),
    /// `#kb` [TEXT]: on a ticket, mark its knowledge-base entry a reviewed article (TEXT is the
    /// title); in a new mail, search the knowledge base for TEXT.
    Kb(Option<String>),
    /// `#risposta` / `#answer` NAME: a stored answer (`risposte/NAME.txt`), or `kb:ID` a
    /// reviewed knowledge-base article, above the text written below the tags.
    Canned(String),
    /// `#risposte` / `#answers`: the stored answers there are.
    CannedList,
    /// `#chiedi` / `#ask` NAME [QUESTION]: ask a colleague about the ticket (the question may
    /// go on below); their reply is an internal note. The argument is the name and the
    /// question as written: the roster tells where the name ends.
    Ask(String),
    /// `#collega` / `#link` TCK-…: the ticket is one of an incident's, whose master is the
    /// ticket named; resolving the master resolves it.
    Link(TicketId),
    /// `#cc ADDRESS`: the address gets the answers and the closing letter too; `#cc -ADDRESS`
    /// takes it out of the copies.
    Cc {
        /// The address, lowercase.
        address: String,
        /// `-ADDRESS`: take it out.
        remove: bool,
    },
    /// `#spam`: close the ticket silently as spam; its sender's mail is quarantined for a while.
    Spam,
    /// `#privacy esporta|cancella ADDRESS [reason]` (`export|erase`), in a new mail, supervisors
    /// only: one person's data exported (as an attachment) or erased (issue 17).
    Privacy {
        /// Erase (true) or export.
        erase: bool,
        /// The person's address, lowercased.
        address: String,
        /// The rest of the line: why (kept with the erasure).
        reason: String,
    },
}

/// An absence as an operator writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsenceSpec {
    /// The first day away; none: from today.
    pub from: Option<NaiveDate>,
    /// The last day away.
    pub until: NaiveDate,
    /// The colleague who stands in (a name or an address, as written).
    pub deputy: Option<String>,
}

/// A tag line that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// The line as written.
    pub line: String,
    /// What is wrong (worded in the operator's language when they are told).
    pub problem: Problem,
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
    ("presente", "back"),
    ("risposta", "answer"),
    ("risposte", "answers"),
    ("chiedi", "ask"),
    ("collega", "link"),
    ("kb", "kb"),
    ("cc", "cc"),
    ("spam", "spam"),
    ("privacy", "privacy"),
];

/// Parses the tag lines at the top of `text` (after an optional greeting line: operators
/// write "Ciao,\n#prendo"). A tag anywhere else — below the text, below a signature — is a
/// mistake: the line is never sent to a requester, and the mail is refused saying where it was
/// found and how to write it.
pub fn parse_commands(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    // Operators often write "#nota chiamato l'utente" on one line: that text opens the body.
    let mut inline_text: Vec<String> = Vec::new();
    let all: Vec<&str> = text.lines().collect();
    let mut at = 0;
    let skip_blank = |at: &mut usize| {
        while all.get(*at).is_some_and(|l| l.trim().is_empty()) {
            *at += 1;
        }
    };
    skip_blank(&mut at);
    if all.get(at).is_some_and(|l| is_greeting(l)) {
        let mut after = at + 1;
        skip_blank(&mut after);
        // A greeting before the tags greets the help desk: it is not part of the text after them.
        if all.get(after).is_some_and(|l| l.trim().starts_with('#')) {
            at = after;
        }
    }
    while let Some(line) = all.get(at) {
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
        at += 1;
    }
    for (n, line) in all.iter().enumerate().skip(at) {
        if let Some(tag) = stray_tag(line) {
            parsed.errors.push(CommandError {
                line: line.trim().to_string(),
                problem: Problem::TagOutOfPlace {
                    tag,
                    line_number: n + 1,
                },
            });
        }
    }
    inline_text.push(all[at.min(all.len())..].join("\n"));
    parsed.body = inline_text.join("\n").trim().to_string();
    parsed
}

/// A short opening line such as "Ciao,", "Buongiorno Marco!", "Hi all," before the tags.
pub fn is_greeting(line: &str) -> bool {
    let line = line.trim();
    let words = line.split_whitespace().count();
    !line.starts_with('#') && (1..=4).contains(&words) && line.chars().count() <= 40 && line.ends_with([',', '!', ':'])
}

/// The tag a line of the text starts with — a known one, or `#` and a word — if any.
fn stray_tag(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix('#')?;
    let word: String = rest.chars().take_while(|c| c.is_alphabetic()).collect();
    (!word.is_empty()).then(|| format!("#{word}"))
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
fn parse_one(chunk: &str) -> Result<(Command, String), Problem> {
    let rest = chunk.trim_start_matches('#');
    let (tag, args) = match rest.split_once(char::is_whitespace) {
        Some((t, a)) => (t, a.trim()),
        None => (rest, ""),
    };
    match canonical(tag) {
        Some("nota" | "risolto" | "fuoriambito" | "spam") if !args.is_empty() => {
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

fn parse_tag(chunk: &str) -> Result<Command, Problem> {
    let rest = chunk.trim_start_matches('#');
    let (tag, args) = match rest.split_once(char::is_whitespace) {
        Some((t, a)) => (t, a.trim()),
        None => (rest, ""),
    };
    let Some(name) = canonical(tag) else {
        // "#secondo livello": the tag split in two words.
        let joined = args.split_whitespace().next().map(|w| format!("{tag}{w}"));
        let suggestion = joined
            .as_deref()
            .and_then(canonical)
            .or_else(|| suggestion(tag))
            .map(str::to_string);
        return Err(Problem::UnknownTag {
            tag: tag.to_string(),
            suggestion,
        });
    };
    let needs = |expected: Expected| -> Result<String, Problem> {
        if args.is_empty() {
            Err(Problem::MissingArgument { tag: name, expected })
        } else {
            Ok(args.to_string())
        }
    };
    let none = |cmd: Command| -> Result<Command, Problem> {
        if args.is_empty() {
            Ok(cmd)
        } else {
            Err(Problem::UnexpectedArgument {
                tag: name,
                found: args.to_string(),
            })
        }
    };
    match name {
        "prendo" => none(Command::Take),
        "assegna" => needs(Expected::Operator).map(Command::Assign),
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
            .ok_or_else(|| Problem::BadDuration {
                found: args.to_string(),
            }),
        "coda" => none(Command::Queue),
        "aiuto" => none(Command::Help),
        "nuovo" => Ok(Command::New((!args.is_empty()).then(|| args.to_string()))),
        "email" => {
            let address = needs(Expected::Address)?;
            if crate::config::is_plain_address(&address) {
                Ok(Command::Email(address.to_ascii_lowercase()))
            } else {
                Err(Problem::BadAddress { found: address })
            }
        }
        "kb" => Ok(Command::Kb((!args.is_empty()).then(|| args.to_string()))),
        "cc" => parse_copy(&needs(Expected::Address)?),
        "spam" => none(Command::Spam),
        "assente" => match args.to_lowercase().as_str() {
            "" => Err(Problem::AwayWithoutDay),
            "no" | "rientrato" | "rientrata" | "back" => Ok(Command::Away(None)),
            _ => parse_absence(args).map(|spec| Command::Away(Some(spec))),
        },
        "presente" => none(Command::Away(None)),
        "risposta" => {
            let name = needs(Expected::AnswerName)?;
            if is_answer_name(&name) {
                Ok(Command::Canned(name.to_lowercase()))
            } else {
                Err(Problem::BadAnswerName { found: name })
            }
        }
        "risposte" => none(Command::CannedList),
        "chiedi" => needs(Expected::Operator).map(Command::Ask),
        "privacy" => {
            let mut words = args.split_whitespace();
            let erase = match words.next().map(str::to_lowercase).as_deref() {
                Some("esporta" | "export") => false,
                Some("cancella" | "erase") => true,
                _ => {
                    return Err(Problem::UnexpectedArgument {
                        tag: name,
                        found: args.to_string(),
                    });
                }
            };
            let address = words.next().unwrap_or_default().to_string();
            if !crate::config::is_plain_address(&address) {
                return Err(Problem::BadAddress { found: address });
            }
            Ok(Command::Privacy {
                erase,
                address: address.to_ascii_lowercase(),
                reason: words.collect::<Vec<_>>().join(" "),
            })
        }
        "collega" => {
            let named = needs(Expected::Ticket)?;
            named
                .parse::<TicketId>()
                .map(Command::Link)
                .map_err(|_| Problem::BadTicket { found: named })
        }
        other => Err(Problem::UnknownTag {
            tag: other.to_string(),
            suggestion: None,
        }),
    }
}

/// `[dal|from] DAY [al|to] DAY [sostituto|deputy NAME]`, or `DAY [sostituto NAME]` (from
/// today until that day). The words around the days are optional, in Italian or English.
fn parse_absence(args: &str) -> Result<AbsenceSpec, Problem> {
    // ASCII lowering keeps every byte where it was, so offsets found in `lower` cut `args`.
    let lower = args.to_ascii_lowercase();
    let deputy_at = ["sostituto", "sostituta", "sostituisce", "deputy", "cover", "covered by"]
        .iter()
        .filter_map(|word| {
            lower
                .match_indices(word)
                .find(|(at, _)| *at == 0 || lower[..*at].ends_with(char::is_whitespace))
                .map(|(at, _)| (at, word.len()))
        })
        .min();
    let (days, deputy) = match deputy_at {
        Some((at, len)) => {
            let name = args[at + len..].trim().trim_start_matches(':').trim();
            if name.is_empty() {
                return Err(Problem::MissingArgument {
                    tag: "assente",
                    expected: Expected::Operator,
                });
            }
            (&args[..at], Some(name.to_string()))
        }
        None => (args, None),
    };
    let filler = [
        "dal", "da", "dall'", "from", "al", "a", "to", "fino", "until", "il", "till", ",",
    ];
    let mut dates = Vec::new();
    for word in days.split_whitespace() {
        let word = word.trim_end_matches(',');
        if filler.contains(&word.to_lowercase().as_str()) || word.is_empty() {
            continue;
        }
        let day = parse_day(word).ok_or_else(|| Problem::BadDay {
            found: word.to_string(),
        })?;
        dates.push(day);
    }
    let (from, until) = match dates.as_slice() {
        [until] => (None, *until),
        [from, until] if from <= until => (Some(*from), *until),
        [from, until] => {
            return Err(Problem::BadAbsence {
                from: *from,
                until: *until,
            });
        }
        [] => return Err(Problem::AwayWithoutDay),
        _ => {
            return Err(Problem::BadDay {
                found: days.trim().to_string(),
            });
        }
    };
    Ok(AbsenceSpec { from, until, deputy })
}

/// A stored answer's name: letters, digits, `-`, `_` (it names a file, so never a path), or
/// `kb:` and a knowledge-base id.
fn is_answer_name(name: &str) -> bool {
    let plain =
        |n: &str| !n.is_empty() && n.len() <= 64 && n.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    match name.split_once(':') {
        Some((kb, id)) if kb.eq_ignore_ascii_case("kb") => {
            let id = id.trim_start_matches(['K', 'B', 'k', 'b', '-']);
            !id.is_empty() && id.chars().all(|c| c.is_ascii_digit())
        }
        Some(_) => false,
        None => plain(name),
    }
}

/// `ADDRESS` or `-ADDRESS` (`+ADDRESS` too, `<…>` allowed): one plain address, so nothing but
/// an address can ever reach a header.
fn parse_copy(args: &str) -> Result<Command, Problem> {
    let (remove, rest) = match args.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, args.strip_prefix('+').unwrap_or(args)),
    };
    let rest = rest.trim();
    let address = rest
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or(rest)
        .trim();
    if crate::config::is_plain_address(address) {
        Ok(Command::Cc {
            address: address.to_ascii_lowercase(),
            remove,
        })
    } else {
        Err(Problem::BadCopy {
            found: args.to_string(),
        })
    }
}

/// A day as people write it: `2026-12-24`, `24/12/2026`, `24-12-2026`, `24.12.2026`, `24/12/26`.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Some(d);
    }
    let parts: Vec<&str> = t.split(['/', '-', '.']).collect();
    let [d, m, y] = parts.as_slice() else { return None };
    let (d, m): (u32, u32) = (d.parse().ok()?, m.parse().ok()?);
    let y: i32 = match y.len() {
        4 => y.parse().ok()?,
        2 => 2000 + y.parse::<i32>().ok()?,
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y, m, d)
}

/// A time of day: `15:00`, `15.00`, `9:30`.
fn parse_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(&text.replace('.', ":"), "%H:%M").ok()
}

/// `DAY HH:MM [minutes]` (see [`parse_day`]; minutes 5 to 480, `45` or `45m`).
fn parse_remote(args: &str) -> Result<Command, Problem> {
    let bad = || Problem::BadRemote {
        found: args.to_string(),
    };
    let words: Vec<&str> = args.split_whitespace().collect();
    if words.len() < 2 || words.len() > 3 {
        return Err(bad());
    }
    let day = parse_day(words[0]).ok_or_else(bad)?;
    let time = parse_time(words[1]).ok_or_else(bad)?;
    let minutes = match words.get(2) {
        Some(m) => parse_duration(m)
            .and_then(|m| u32::try_from(m).ok())
            .filter(|m| (5..=480).contains(m))
            .ok_or_else(bad)?,
        None => 30,
    };
    Ok(Command::Remote {
        at: day.and_time(time),
        minutes,
    })
}

/// Minutes of work as people write them: `20m`, `20 min`, `20 minuti`, `1h`, `1 ora`, `2 ore`,
/// `1h30m`, `1h30`, `1h 30m`, `1,5h`, `1.5 ore`, `90` (minutes); up to 24 hours. A leading `-`
/// makes it a correction.
pub fn parse_duration(text: &str) -> Option<i32> {
    let t = text.trim().to_lowercase();
    let (sign, t) = match t.strip_prefix('-') {
        Some(rest) => (-1, rest.trim().to_string()),
        None => (1, t),
    };
    let t: String = t.split_whitespace().collect::<Vec<_>>().join("");
    let hour_words = ["ore", "ora", "hours", "hour", "h"];
    let minute_words = ["minuti", "minuto", "minutes", "minute", "mins", "min", "m"];
    let split_unit = |s: &str, units: &[&str]| -> Option<usize> { units.iter().filter_map(|u| s.find(u)).min() };
    let minutes: f64 = if let Some(at) = split_unit(&t, &hour_words) {
        let hours: f64 = t[..at].replace(',', ".").parse().ok()?;
        let after = hour_words
            .iter()
            .find_map(|u| t[at..].strip_prefix(u))
            .unwrap_or_default();
        let rest = minute_words
            .iter()
            .find_map(|u| after.strip_suffix(u))
            .unwrap_or(after)
            .trim_start_matches(['e', ' ']);
        let extra: f64 = match rest {
            "" => 0.0,
            m => m.parse::<u32>().ok().filter(|m| *m < 60).map(f64::from)?,
        };
        hours * 60.0 + extra
    } else {
        let number = minute_words.iter().find_map(|u| t.strip_suffix(u)).unwrap_or(&t);
        f64::from(number.parse::<u32>().ok()?)
    };
    let minutes = minutes.round();
    (1.0..=1440.0).contains(&minutes).then(|| sign * minutes as i32)
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
    use crate::config::Language;

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
        // Issue 14, item 4: a tag below the text is never text for the requester.
        assert!(!parse_commands("Nessun tag qui.\n#prendo").errors.is_empty());
        check(
            "#assente 2026-08-31",
            &[Command::Away(Some(AbsenceSpec {
                from: None,
                until: NaiveDate::from_ymd_opt(2026, 8, 31).expect("a day"),
                deputy: None,
            }))],
            "",
        );
    }

    #[test]
    fn mistakes_are_explained_in_the_operators_language() {
        let first = |text: &str, language| parse_commands(text).errors[0].problem.text(language);
        let parsed = parse_commands("#risolot\ntesto");
        assert_eq!(parsed.body, "testo");
        assert_eq!(
            first("#risolot", Language::It),
            "tag #risolot sconosciuto: forse intendevi #risolto?"
        );
        assert_eq!(
            first("#risolot", Language::En),
            "unknown tag #risolot; did you mean #risolto?"
        );
        assert!(first("#secondo livello", Language::It).contains("forse intendevi #secondolivello?"));
        assert!(first("#assegna", Language::En).contains("needs"));
        assert!(first("#assegna", Language::It).contains("vuole il nome"));
        assert!(first("#tempo tanto", Language::En).contains("duration"));
        assert!(first("#remoto domani", Language::En).contains("2026-03-12 15:00"));
        assert!(first("#remoto domani", Language::It).contains("12/03/2026 15:00"));
        assert!(first("#prendo subito", Language::En).contains("no arguments"));
        assert!(first("#xyzzy", Language::It).contains("#aiuto"));
        assert!(first("#assente presto", Language::It).contains("24/12/2026"));
    }

    #[test]
    fn days_and_times_as_people_type_them() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 24);
        for text in ["2026-12-24", "24/12/2026", "24-12-2026", "24.12.2026", "24/12/26"] {
            assert_eq!(parse_day(text), day, "{text}");
        }
        for bad in ["31/02/2026", "24/12", "2026/12/24/1", "domani"] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        let until_christmas = |from, deputy: Option<&str>| {
            Command::Away(Some(AbsenceSpec {
                from,
                until: day.expect("a day"),
                deputy: deputy.map(str::to_string),
            }))
        };
        check("#assente 24/12/2026", &[until_christmas(None, None)], "");
        let first = NaiveDate::from_ymd_opt(2026, 12, 21);
        check(
            "#assente dal 21/12/2026 al 24/12/2026 sostituto Marco Rossi",
            &[until_christmas(first, Some("Marco Rossi"))],
            "",
        );
        check(
            "#away from 2026-12-21 to 2026-12-24 deputy marco.rossi@comune.example.it",
            &[until_christmas(first, Some("marco.rossi@comune.example.it"))],
            "",
        );
        check(
            "#assente 24/12/2026 sostituta Giulia Bianchi",
            &[until_christmas(None, Some("Giulia Bianchi"))],
            "",
        );
        check("#presente", &[Command::Away(None)], "");
        check("#assente no", &[Command::Away(None)], "");
        let problem = |text: &str| parse_commands(text).errors[0].problem.clone();
        assert_eq!(
            problem("#assente dal 24/12/2026 al 21/12/2026"),
            Problem::BadAbsence {
                from: day.expect("a day"),
                until: first.expect("a day")
            }
        );
        assert!(matches!(
            problem("#assente 24/12/2026 sostituto"),
            Problem::MissingArgument { .. }
        ));
        assert!(matches!(problem("#assente dal lunedì"), Problem::BadDay { .. }));
        check(
            "#remoto 12/03/2026 15.00 1h",
            &[Command::Remote {
                at: NaiveDateTime::parse_from_str("2026-03-12 15:00", "%Y-%m-%d %H:%M").expect("dt"),
                minutes: 60,
            }],
            "",
        );
    }

    #[test]
    fn tags_after_a_greeting_count_and_tags_below_the_text_refuse_the_mail() {
        check("Ciao,\n#prendo\nme ne occupo io.", &[Command::Take], "me ne occupo io.");
        check("Buongiorno a tutti!\n\n#nota\nvisto", &[Command::Note], "visto");
        check("Ciao,\nprovi a rifirmare.", &[], "Ciao,\nprovi a rifirmare.");
        let below = parse_commands("Provi a rifirmare con CAdES.\n\nGiulia Bianchi\nUfficio SUE\n#prendo");
        assert_eq!(below.errors.len(), 1, "{below:?}");
        assert_eq!(
            below.errors[0].problem,
            Problem::TagOutOfPlace {
                tag: "#prendo".into(),
                line_number: 5
            }
        );
        assert!(below.errors[0].problem.text(Language::It).contains("riga 5"));
        let in_text = parse_commands("Ho visto la pratica.\n#risolto\nFatto.");
        assert!(matches!(&in_text.errors[0].problem, Problem::TagOutOfPlace { tag, .. } if tag == "#risolto"));
        // Not tags: a number, a heading, a hash inside a line.
        check(
            "Vedi punto\n#1 della guida\n# Titolo\nil tasto # in alto",
            &[],
            "Vedi punto\n#1 della guida\n# Titolo\nil tasto # in alto",
        );
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
    fn copies_and_spam() {
        let add = |a: &str| Command::Cc {
            address: a.into(),
            remove: false,
        };
        check("#cc anna.verdi@example.org", &[add("anna.verdi@example.org")], "");
        check("#CC <Anna.Verdi@Example.org>", &[add("anna.verdi@example.org")], "");
        check("#cc +anna@example.org", &[add("anna@example.org")], "");
        check(
            "#cc -anna@example.org #cc b@example.org",
            &[
                Command::Cc {
                    address: "anna@example.org".into(),
                    remove: true,
                },
                add("b@example.org"),
            ],
            "",
        );
        for bad in [
            "#cc anna",
            "#cc anna@example.org, b@example.org",
            "#cc Anna <anna@example.org>",
            "#cc \"a b\"@example.org",
            "#cc a@example.org\u{7}",
        ] {
            let parsed = parse_commands(bad);
            assert!(
                matches!(
                    parsed.errors.as_slice(),
                    [CommandError {
                        problem: Problem::BadCopy { .. },
                        ..
                    }]
                ),
                "{bad}: {parsed:?}"
            );
        }
        assert!(matches!(
            parse_commands("#cc").errors[0].problem,
            Problem::MissingArgument { tag: "cc", .. }
        ));
        check("#spam", &[Command::Spam], "");
        check(
            "#spam pubblicità di un corso\naltro",
            &[Command::Spam],
            "pubblicità di un corso\naltro",
        );
        let first = |text: &str, language| parse_commands(text).errors[0].problem.text(language);
        assert_eq!(
            first("#cc mario", Language::It),
            "#cc vuole un indirizzo come nome@example.it, o -nome@example.it per toglierlo dalle copie (trovato \"mario\")"
        );
    }

    #[test]
    fn durations() {
        for (text, minutes) in [
            ("20m", 20),
            ("1h", 60),
            ("1h30m", 90),
            ("1h30", 90),
            ("1h 30m", 90),
            ("1 ora e 30", 90),
            ("45", 45),
            ("30 min", 30),
            ("30 minuti", 30),
            ("1 ora", 60),
            ("2 ore", 120),
            ("1,5h", 90),
            ("1.5 ore", 90),
            ("-30m", -30),
            ("- 1 ora", -60),
        ] {
            assert_eq!(parse_duration(text), Some(minutes), "{text}");
        }
        for bad in ["", "0", "1h75m", "25h", "abc", "m", "ore", "-0", "1,5"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
