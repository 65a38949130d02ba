//! Letters that read like a person wrote them (issue 15, item 9): whom a letter greets, and
//! its paragraphs wrapped again once the template's variables are filled in.
//!
//! Pure. [`addressee`] decides whether a requester's name can open a letter ("Gentile Mario
//! Rossi,") or the letter keeps "Gentile utente,"; [`reflow`] wraps a rendered letter's
//! paragraphs at [`WIDTH`] columns. `notify::templates` applies both to the letters to
//! requesters (never to the operators' notices, whose lines are columns and quotes).
//!
//! The choices, in the order they are applied:
//! - A name greets only when it reads like a person's: letters (any script), apostrophes,
//!   hyphens and abbreviation points, one to five words, at most 60 characters. An address
//!   ("mario.rossi@example.it"), a user name ("mrossi", "mario.rossi", a lowercase single
//!   word), anything with digits ("Studio 3A", "user123"), control characters, and the names
//!   of offices, firms, robots and placeholders ("Ufficio Tecnico", "Edil Rossi S.r.l.",
//!   "noreply", "Nome Cognome") greet nobody: "Gentile utente" is better than "Gentile
//!   Segreteria".
//! - Surrounding quotes and a trailing "(…)" or "[…]" are dropped ("Mario Rossi (Comune di
//!   Esempio)"), and Outlook's directory form "Rossi, Mario" becomes "Mario Rossi".
//! - A name written all in capitals (shouting, or a registry's habit) or all in lowercase is
//!   written as names are: "MARIO D'ANGELO" → "Mario D'Angelo". Mixed case is the person's own
//!   spelling and is kept ("Maria de Angelis", "McDonald").
//! - Titles stay: "Arch. Laura Ferrari" greets as "Gentile Arch. Laura Ferrari".
//!
//! Wrapping joins the lines of a paragraph and wraps them again at 72 columns, so a long date
//! filled in mid-line no longer leaves a ragged paragraph. Kept as they are: blank lines;
//! everything after a signature separator (`-- `); quoted lines (`>`); lines with a URL or an
//! address (`://`, `www.`, `mailto:`, `@`), never broken or joined; indented lines; a value
//! spanning several lines (an operator's own text, the configured contacts), which is the
//! writer's own layout. A line ends its paragraph when it ends a sentence or announces what
//! follows (`.`, `!`, `?`, `:`) or is shorter than half the width ("Cordiali saluti,", a name above the
//! help desk's), so the closing and the signature stay on their lines. A list item (`- `, `* `,
//! `• `, `1. `, `1) `, after any indent) is its own paragraph, wrapped under its own text. A
//! word longer than the width (a long file name) stands on a line of its own, unbroken.

use std::borrow::Cow;

/// The column letters are wrapped at.
pub const WIDTH: usize = 72;

/// Marks the start of a value that spans lines (set by `notify::templates` while rendering a
/// letter): its lines are kept as written. A private-use character no text carries.
pub const KEEP_START: char = '\u{E000}';
/// Marks the end of such a value.
pub const KEEP_END: char = '\u{E001}';

/// Words that make a display name an office's, a firm's, a robot's or a placeholder's.
const NOT_A_PERSON: &[&str] = &[
    "admin",
    "administrator",
    "amministratore",
    "amministrazione",
    "assistenza",
    "associati",
    "associazione",
    "azienda",
    "cliente",
    "comune",
    "condominio",
    "consorzio",
    "cooperativa",
    "customer",
    "daemon",
    "direzione",
    "ditta",
    "donotreply",
    "do-not-reply",
    "e-mail",
    "email",
    "fondazione",
    "gmbh",
    "group",
    "gruppo",
    "help",
    "helpdesk",
    "impresa",
    "inc",
    "info",
    "informazioni",
    "ltd",
    "mail",
    "mailer-daemon",
    "newsletter",
    "no-reply",
    "noreply",
    "notifiche",
    "notification",
    "notifications",
    "office",
    "pec",
    "posta",
    "postmaster",
    "protocollo",
    "provincia",
    "prova",
    "regione",
    "s.a.s.",
    "s.n.c.",
    "s.p.a.",
    "s.r.l.",
    "sas",
    "segreteria",
    "service",
    "servizi",
    "servizio",
    "settore",
    "sistema",
    "snc",
    "societa",
    "società",
    "spa",
    "srl",
    "staff",
    "studio",
    "support",
    "supporto",
    "system",
    "team",
    "test",
    "ufficio",
    "user",
    "utente",
];

/// Whole names that are a form's placeholder, not a person.
const PLACEHOLDERS: &[&str] = &[
    "cognome nome",
    "first last",
    "firstname lastname",
    "name surname",
    "nome cognome",
    "your name",
];

/// The requester's name as a letter greets them, or `None` for "Gentile utente" (see the
/// module's doc for every choice).
pub fn addressee(name: Option<&str>) -> Option<String> {
    let quotes: &[char] = &['"', '\'', '“', '”', '‘', '’', '«', '»'];
    let mut name = name?.trim().trim_matches(quotes).trim().to_string();
    if name.chars().any(char::is_control) || name.contains('@') {
        return None;
    }
    // "Mario Rossi (Comune di Esempio)", "Mario Rossi [Studio]".
    for (open, close) in [('(', ')'), ('[', ']')] {
        if name.ends_with(close)
            && let Some(at) = name.rfind(open)
        {
            name.truncate(at);
            name = name.trim_end().to_string();
        }
    }
    // Outlook's directory order: "Rossi, Mario".
    if let Some((last, first)) = name.split_once(',')
        && !first.contains(',')
        && !last.trim().is_empty()
        && !first.trim().is_empty()
    {
        name = format!("{} {}", first.trim(), last.trim());
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    if words.is_empty() || words.len() > 5 || name.chars().count() > 60 {
        return None;
    }
    let person_like = |w: &str| {
        w.chars().any(char::is_alphabetic)
            && w.chars().all(|c| c.is_alphabetic() || "'’-.".contains(c))
            && w.starts_with(char::is_alphabetic)
    };
    if !words.iter().all(|w| person_like(w)) {
        return None;
    }
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    if lower.iter().any(|w| NOT_A_PERSON.contains(&w.as_str())) || PLACEHOLDERS.contains(&lower.join(" ").as_str()) {
        return None;
    }
    // One word is a person's only when written as a name is: "Mario", "ROSSI"; not "mrossi"
    // or "mario.rossi".
    if let [only] = words.as_slice()
        && (only.contains('.') || only.chars().all(|c| !c.is_uppercase()))
    {
        return None;
    }
    let letters = || words.iter().flat_map(|w| w.chars()).filter(|c| c.is_alphabetic());
    let shouting = letters().all(char::is_uppercase);
    let whispering = letters().all(char::is_lowercase);
    let words: Vec<String> = if shouting || whispering {
        words.iter().map(|w| title_case(w)).collect()
    } else {
        words.iter().map(|w| w.to_string()).collect()
    };
    Some(words.join(" "))
}

/// "D'ANGELO" → "D'Angelo", "rossi-bianchi" → "Rossi-Bianchi".
fn title_case(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut start = true;
    for c in word.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = "'’-.".contains(c);
    }
    out
}

/// How one line of a letter takes part in wrapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Empty: between paragraphs.
    Blank,
    /// Written out as it is.
    Kept,
    /// Opens a list item: `indent` is where its text starts.
    Item { indent: usize },
    /// Prose, joined with the next line of prose.
    Prose,
}

fn kind(line: &str) -> Line {
    let trimmed = line.trim_start();
    if trimmed.is_empty() {
        return Line::Blank;
    }
    let has_link = ["://", "www.", "mailto:", "@"].iter().any(|m| line.contains(m));
    if trimmed.starts_with('>') || has_link {
        return Line::Kept;
    }
    let lead = line.len() - trimmed.len();
    if let Some(marker) = list_marker(trimmed) {
        return Line::Item { indent: lead + marker };
    }
    if lead > 0 { Line::Kept } else { Line::Prose }
}

/// The length of a list marker opening `text` (`- `, `* `, `• `, `– `, `1. `, `12) `), if any.
fn list_marker(text: &str) -> Option<usize> {
    for bullet in ["- ", "* ", "• ", "– "] {
        if text.starts_with(bullet) {
            return Some(bullet.len());
        }
    }
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    let rest = &text[digits..];
    (digits > 0 && digits <= 3 && (rest.starts_with(". ") || rest.starts_with(") "))).then_some(digits + 2)
}

/// True when a line of prose closes its paragraph (see the module's doc).
fn ends_paragraph(line: &str) -> bool {
    let line = line.trim_end();
    line.ends_with(['.', '!', '?', ':']) || line.chars().count() < WIDTH / 2
}

/// `text` wrapped at `width` columns after `first` (the first line's prefix) and `rest` (the
/// next lines' prefix); words are never broken.
fn wrap(text: &str, first: &str, rest: &str, width: usize, out: &mut Vec<Cow<'_, str>>) {
    let mut line = first.to_string();
    // Columns, counted as the line grows: a letter is reflowed for every mail queued.
    let mut columns = first.chars().count();
    let rest_columns = rest.chars().count();
    let mut empty = true;
    for word in text.split_whitespace() {
        let word_columns = word.chars().count();
        if empty {
            empty = false;
        } else if columns + 1 + word_columns <= width {
            line.push(' ');
            columns += 1;
        } else {
            out.push(Cow::Owned(std::mem::replace(&mut line, rest.to_string())));
            columns = rest_columns;
        }
        line.push_str(word);
        columns += word_columns;
    }
    out.push(Cow::Owned(line));
}

/// A rendered letter with its paragraphs wrapped at [`WIDTH`] (see the module's doc); the
/// [`KEEP_START`]/[`KEEP_END`] marks are taken out.
pub fn reflow(text: &str) -> String {
    let mut out: Vec<Cow<'_, str>> = Vec::new();
    let mut lines = text.split('\n').peekable();
    let mut keeping = false;
    let mut signature = false;
    // The paragraph being gathered: its text, and its prefixes (first line, next lines).
    let mut gathered: Option<(String, String, String)> = None;
    let flush = |gathered: &mut Option<(String, String, String)>, out: &mut Vec<Cow<'_, str>>| {
        if let Some((text, first, rest)) = gathered.take() {
            wrap(&text, &first, &rest, WIDTH, out);
        }
    };
    while let Some(raw) = lines.next() {
        let opens = raw.contains(KEEP_START);
        let closes = raw.contains(KEEP_END);
        let line: Cow<'_, str> = if opens || closes {
            Cow::Owned(raw.chars().filter(|c| *c != KEEP_START && *c != KEEP_END).collect())
        } else {
            Cow::Borrowed(raw)
        };
        if signature || keeping || opens || line.trim_end() == "--" {
            flush(&mut gathered, &mut out);
            signature |= line.trim_end() == "--";
            keeping = (keeping || opens) && !closes;
            out.push(line);
            continue;
        }
        match kind(&line) {
            Line::Blank | Line::Kept => {
                flush(&mut gathered, &mut out);
                out.push(line);
            }
            Line::Item { indent } => {
                flush(&mut gathered, &mut out);
                let (marker, text) = line.split_at(indent);
                gathered = Some((text.trim().to_string(), marker.to_string(), " ".repeat(indent)));
                // The item's continuation lines: indented under its text, neither a list item
                // nor anything kept.
                while let Some(next) = lines.peek() {
                    let lead = next.len() - next.trim_start().len();
                    let plain = !next.contains([KEEP_START, KEEP_END]);
                    if plain
                        && lead >= indent
                        && !next.trim().is_empty()
                        && matches!(kind(next.trim_start()), Line::Prose)
                    {
                        if let Some((text, _, _)) = gathered.as_mut() {
                            text.push(' ');
                            text.push_str(next.trim());
                        }
                        lines.next();
                    } else {
                        break;
                    }
                }
                flush(&mut gathered, &mut out);
            }
            Line::Prose => {
                match gathered.as_mut() {
                    Some((text, _, _)) => {
                        text.push(' ');
                        text.push_str(line.trim());
                    }
                    None => gathered = Some((line.trim().to_string(), String::new(), String::new())),
                }
                if ends_paragraph(&line) {
                    flush(&mut gathered, &mut out);
                }
            }
        }
    }
    flush(&mut gathered, &mut out);
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persons_name_greets_and_anything_else_does_not() {
        for (written, greeted) in [
            ("Mario Rossi", "Mario Rossi"),
            ("\"Mario Rossi\"", "Mario Rossi"),
            ("MARIO ROSSI", "Mario Rossi"),
            ("mario de luca", "Mario De Luca"),
            ("GIUSEPPE D'ANGELO", "Giuseppe D'Angelo"),
            ("Maria de Angelis", "Maria de Angelis"),
            ("Rossi, Mario", "Mario Rossi"),
            ("Mario Rossi (Comune di Esempio)", "Mario Rossi"),
            ("Arch. Laura Ferrari", "Arch. Laura Ferrari"),
            ("Dott.ssa Anna Verdi-Neri", "Dott.ssa Anna Verdi-Neri"),
            ("Mario", "Mario"),
            ("ROSSI", "Rossi"),
            ("Zoë Müller", "Zoë Müller"),
        ] {
            assert_eq!(addressee(Some(written)).as_deref(), Some(greeted), "{written:?}");
        }
        for nobody in [
            "",
            "   ",
            "mario.rossi@example.it",
            "<mario.rossi@example.it>",
            "mrossi",
            "mario.rossi",
            "noreply",
            "No-Reply CPortal",
            "Ufficio Tecnico",
            "SEGRETERIA GENERALE",
            "Edil Rossi S.r.l.",
            "Studio Tecnico Ferrari",
            "Studio 3A",
            "user123",
            "Nome Cognome",
            "Mario\r\nBcc: x@example.net",
            "Un nome davvero troppo lungo per una persona vera qualunque",
            "Anna Maria Luisa Carla Rossi Bianchi",
            "!!!",
        ] {
            assert_eq!(addressee(Some(nobody)), None, "{nobody:?}");
        }
        assert_eq!(addressee(None), None);
    }

    #[test]
    fn a_paragraph_is_wrapped_again_after_a_long_value() {
        // ack.txt's paragraph with a long date filled in: the template's own line breaks
        // would leave a 95-column line and a 2-word one.
        let rendered = "Un operatore la prenderà in carico entro mercoledì 30 dicembre 2026 alle ore 10:45 e le comunicherà il nome del\ntecnico che se ne occuperà. Per aggiungere informazioni risponda a questo messaggio\nlasciando invariato il numero della richiesta nell'oggetto.";
        let wrapped = reflow(rendered);
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH), "{wrapped}");
        assert!(
            lines[..lines.len() - 1].iter().all(|l| l.chars().count() > WIDTH - 15),
            "no ragged line inside the paragraph: {wrapped}"
        );
        assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>(),
            rendered.split_whitespace().collect::<Vec<_>>(),
            "not a word lost or changed"
        );
    }

    #[test]
    fn lists_quotes_links_signatures_and_an_operators_own_lines_stay() {
        let rendered = format!(
            "Gentile Mario Rossi,\n\nI seguenti allegati superano i limiti consentiti e non sono stati acquisiti:\n  - planimetria-piano-terra-e-primo-piano-versione-definitiva-firmata.pdf\n  - b.pdf\n\nPuò seguire lo stato della richiesta e rispondere anche da questa pagina:\nhttps://assistenza.comune.example.it/t/TCK-2026-00001/0123456789abcdef0123456789abcdef\n\n> la sua domanda\n\n{KEEP_START}Buongiorno,\nriga corta\nun'altra{KEEP_END}\n\nCordiali saluti,\nHelp desk CPortal\n-- \nUfficio SUE, via Roma 1, tel. 06 1234 5678 — una riga lunga che nessuno deve toccare mai\nseconda riga"
        );
        let expected = "Gentile Mario Rossi,\n\nI seguenti allegati superano i limiti consentiti e non sono stati\nacquisiti:\n  - planimetria-piano-terra-e-primo-piano-versione-definitiva-firmata.pdf\n  - b.pdf\n\nPuò seguire lo stato della richiesta e rispondere anche da questa\npagina:\nhttps://assistenza.comune.example.it/t/TCK-2026-00001/0123456789abcdef0123456789abcdef\n\n> la sua domanda\n\nBuongiorno,\nriga corta\nun'altra\n\nCordiali saluti,\nHelp desk CPortal\n-- \nUfficio SUE, via Roma 1, tel. 06 1234 5678 — una riga lunga che nessuno deve toccare mai\nseconda riga";
        assert_eq!(reflow(&rendered), expected);
    }

    #[test]
    fn a_long_list_item_wraps_under_its_own_text() {
        let rendered = "Come prepararsi:\n  - tenga a portata di mano il dispositivo di firma digitale e le credenziali SPID/CIE del titolare;\n  - all'ora indicata il tecnico la chiamerà e le indicherà come consentire l'accesso remoto:\n    non dovrà mai comunicare password.";
        assert_eq!(
            reflow(rendered),
            "Come prepararsi:\n  - tenga a portata di mano il dispositivo di firma digitale e le\n    credenziali SPID/CIE del titolare;\n  - all'ora indicata il tecnico la chiamerà e le indicherà come\n    consentire l'accesso remoto: non dovrà mai comunicare password."
        );
    }

    #[test]
    fn a_short_line_or_a_sentence_ends_its_paragraph() {
        assert_eq!(
            reflow("Cordiali saluti,\nGiulia Bianchi\nHelp desk CPortal"),
            "Cordiali saluti,\nGiulia Bianchi\nHelp desk CPortal"
        );
        assert_eq!(
            reflow(
                "Orari del servizio: lunedì-venerdì 8:00-13:00 e 14:00-17:00.\nIl servizio riguarda esclusivamente le difficoltà informatiche."
            ),
            "Orari del servizio: lunedì-venerdì 8:00-13:00 e 14:00-17:00.\nIl servizio riguarda esclusivamente le difficoltà informatiche."
        );
    }
}
