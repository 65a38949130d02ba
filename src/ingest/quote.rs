//! Separates what a person just wrote from the history their client quoted below it.
//!
//! Pure text in, text out. The raw message is always kept elsewhere, so this may cut
//! generously. The rules, tried on each line from the top:
//! - an attribution line — Gmail's "Il giorno … ha scritto:" / "On … wrote:" (also when the
//!   client wrapped it over two lines), Thunderbird's "Il 09/03/26 10:15, X ha scritto:",
//!   Apple Mail's "Il giorno 9 mar 2026, alle ore 10:15, X ha scritto:" — is dropped when
//!   `>` quoting follows it (the reply may be above, below or between the quotes:
//!   Thunderbird and many professionals answer below), and ends the fresh text otherwise;
//! - a separator ends it: "-----Messaggio originale-----", "-----Original Message-----",
//!   Outlook's line of underscores, forward banners;
//! - an Outlook header block ends it: a "Da:"/"From:" line (or its German, Swedish, French,
//!   Spanish, Dutch equivalent) followed within three lines by "Inviato:"/"Sent:"/"Data:"/…;
//! - a signature ends it: the "-- " delimiter, "Inviato da iPhone" and its relatives;
//! - `>` quoted lines are dropped wherever they are.
//!
//! When nothing fresh is left (a bare forward, say), the whole text is kept instead: the
//! forwarded content is then the request.

/// The fresh text of a message body, trimmed.
pub fn fresh_text(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = cut_index(&lines);
    let mut kept: Vec<&str> = Vec::with_capacity(end);
    let mut i = 0;
    while i < end {
        if lines[i].trim_start().starts_with('>') {
            i += 1;
            continue;
        }
        // An attribution that introduces `>` quoting: drop it (and its wrapped second line).
        let span = attribution_span(&lines, i);
        if span > 0 {
            i += span;
            continue;
        }
        kept.push(lines[i]);
        i += 1;
    }
    let fresh = trim_blank_lines(&kept);
    if fresh.is_empty() {
        trim_blank_lines(&lines)
    } else {
        fresh
    }
}

/// Index of the first line that belongs to quoted history or a signature.
fn cut_index(lines: &[&str]) -> usize {
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if is_separator(trimmed) || is_signature_start(line) || is_outlook_header_block(lines, i) {
            return i;
        }
        // An attribution (maybe wrapped over two lines: "Il giorno lun 9 mar 2026 alle ore
        // 10:15 Help" / "desk CPortal <assistenza@…> ha scritto:") not followed by `>` quoting
        // introduces unmarked history: everything after it goes.
        let span = attribution_span(lines, i);
        if span > 0 && !quoting_follows(lines, i + span) {
            return i;
        }
    }
    lines.len()
}

/// How many lines (1 or 2) the attribution starting at `i` takes, or 0 when there is none.
fn attribution_span(lines: &[&str], i: usize) -> usize {
    let trimmed = lines[i].trim();
    if is_attribution(trimmed) {
        return 1;
    }
    match lines.get(i + 1) {
        Some(next) if starts_attribution(trimmed) && is_attribution(&format!("{trimmed} {}", next.trim())) => 2,
        _ => 0,
    }
}

/// True when the first non-blank line from `from` on is `>` quoted.
fn quoting_follows(lines: &[&str], from: usize) -> bool {
    lines
        .iter()
        .skip(from)
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_start().starts_with('>'))
}

fn starts_attribution(line: &str) -> bool {
    let lower = line.to_lowercase();
    lower.starts_with("il giorno ") || lower.starts_with("on ") || lower.starts_with("il ") || lower.starts_with("le ")
}

fn is_attribution(line: &str) -> bool {
    let lower = line.to_lowercase();
    let ends = lower.ends_with("ha scritto:") || lower.ends_with("wrote:") || lower.ends_with("a écrit :");
    ends && starts_attribution(line)
}

fn is_separator(line: &str) -> bool {
    let lower = line.to_lowercase();
    let dashed = |label: &str| {
        let inner = lower.trim_matches(|c| c == '-' || c == ' ');
        lower.starts_with("---") && inner == label
    };
    dashed("messaggio originale")
        || dashed("original message")
        || dashed("forwarded message")
        || dashed("messaggio inoltrato")
        || lower == "inizio messaggio inoltrato:"
        || lower == "begin forwarded message:"
        || (line.len() >= 20 && line.chars().all(|c| c == '_'))
}

fn is_signature_start(line: &str) -> bool {
    let trimmed = line.trim().to_lowercase();
    line.trim_end_matches('\r') == "-- "
        || trimmed == "--"
        || trimmed.starts_with("inviato da iphone")
        || trimmed.starts_with("inviato da ipad")
        || trimmed.starts_with("inviato dal mio ")
        || trimmed.starts_with("inviato da outlook")
        || trimmed.starts_with("sent from my ")
        || trimmed.starts_with("get outlook for ")
        || trimmed.starts_with("scarica outlook per ")
}

/// "Da: …" followed by "Inviato: …" (or the English and webmail variants) within 3 lines.
fn is_outlook_header_block(lines: &[&str], i: usize) -> bool {
    let starts = |l: &str, keys: &[&str]| {
        let t = l.trim().trim_start_matches('*').to_lowercase();
        keys.iter().any(|k| t.starts_with(k))
    };
    if !starts(lines[i], &["da:", "from:", "von:", "från:", "de:", "fra:", "van:"]) {
        return false;
    }
    let second = [
        "inviato:",
        "sent:",
        "data:",
        "date:",
        "gesendet:",
        "skickat:",
        "envoyé:",
        "enviado:",
        "fecha:",
        "verzonden:",
    ];
    lines.iter().skip(i + 1).take(3).any(|l| starts(l, &second))
}

fn trim_blank_lines(lines: &[&str]) -> String {
    let start = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(start, |e| e + 1);
    lines[start..end]
        .iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::fresh_text;

    fn check(input: &str, expected: &str) {
        assert_eq!(fresh_text(input), expected, "input:\n{input}");
    }

    #[test]
    fn strips_each_clients_history() {
        check(
            "Ho riprovato, ora funziona.\n\nIl giorno lun 9 mar 2026 alle ore 10:15 Help desk CPortal <assistenza@comune.example.it> ha scritto:\n> Gentile utente,\n> proviamo",
            "Ho riprovato, ora funziona.",
        );
        check(
            "Still broken.\n\nOn Mon, 9 Mar 2026 at 10:15, Help desk CPortal <\nassistenza@comune.example.it> wrote:\n> old",
            "Still broken.",
        );
        check(
            "Grazie.\n\nIl giorno lun 9 mar 2026 alle ore 10:15 Help desk CPortal\n<assistenza@comune.example.it> ha scritto:\n> x",
            "Grazie.",
        );
        check(
            "Nuovo errore.\n\nIl 09/03/26 10:15, Help desk CPortal ha scritto:\n> vecchio",
            "Nuovo errore.",
        );
        check(
            "Allego lo screenshot.\n\n________________________________\nDa: Help desk CPortal <assistenza@comune.example.it>\nInviato: lunedì 9 marzo 2026 10:15\nA: Mario\nOggetto: R: x\n\nvecchio",
            "Allego lo screenshot.",
        );
        check(
            "See below.\n\nFrom: Help desk CPortal\nSent: Monday, March 9, 2026 10:15 AM\nTo: Mario\nvecchio",
            "See below.",
        );
        check("Ok.\n\n-----Messaggio originale-----\nDa: x\nvecchio", "Ok.");
        check("Firmato.\n-- \nIng. Mario Esposito\nStudio tecnico", "Firmato.");
        check("Non va.\n\nInviato da iPhone", "Non va.");
        check("Risposta sopra\n> citazione\naltra riga", "Risposta sopra\naltra riga");
    }

    #[test]
    fn a_bare_forward_keeps_the_forwarded_request() {
        let text = "---------- Forwarded message ---------\nDa: Mario <m@example.com>\nData: 9 mar 2026\n\nNon riesco a firmare.";
        assert_eq!(fresh_text(text), text);
    }

    #[test]
    fn ordinary_sentences_are_not_mistaken_for_history() {
        check(
            "Il tecnico mi ha scritto ieri che va bene.\nData: la pratica è del 3 marzo.",
            "Il tecnico mi ha scritto ieri che va bene.\nData: la pratica è del 3 marzo.",
        );
    }
}
