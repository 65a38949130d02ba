//! The building-permit practice a request is about, when the requester names it ("pratica PdC
//! 2026/0456", "SCIA n. 1234/2026", "pratica edilizia 2026-0456"): it fills the ticket's
//! practice field, so operators see it without reading the text and the report can group by it.
//!
//! Only what is unmistakably a practice number is taken: a kind of practice (PdC, SCIA, CILA,
//! CIL, DIA, SCA, PAS, P.E.) or the word "pratica" right before a number. A date or a phone
//! number elsewhere in the text is never one.

use std::sync::LazyLock;

use regex::Regex;

/// "PdC 2026/0456", "SCIA n. 1234/2026", "CILA nr 77".
static BY_KIND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(PdC|P\.d\.C\.|SCIA|CILAS|CILA|CIL|DIA|SCA|PAS|P\.E\.|PE)\s*(?:n(?:r|um(?:ero)?)?\.?\s*°?\s*|°\s*)?(\d{1,7}(?:\s*[/-]\s*\d{2,7})?)\b",
    )
    .expect("static regex is valid")
});

/// "pratica 2026/0456", "pratica edilizia n. 1234-2026", "pratica n° 45678".
static BY_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bpratica(?:\s+edilizia)?\s+(?:n(?:r|um(?:ero)?)?\.?\s*°?\s*|°\s*)?(\d{1,7}\s*[/-]\s*\d{2,7}|\d{3,7})\b",
    )
    .expect("static regex is valid")
});

/// The practice named first in the subject, else in the text.
pub fn practice_number(subject: &str, text: &str) -> Option<String> {
    [subject, text].into_iter().find_map(named_in)
}

fn named_in(text: &str) -> Option<String> {
    let compact = |number: &str| number.split_whitespace().collect::<String>();
    if let Some(c) = BY_KIND.captures(text) {
        let kind = c.get(1)?.as_str();
        // A bare "PE" is a practice only with a number shaped like one ("PE 123/2026").
        if kind.eq_ignore_ascii_case("pe") && !c.get(2)?.as_str().contains(['/', '-']) {
            return BY_WORD.captures(text).and_then(|c| Some(compact(c.get(1)?.as_str())));
        }
        let kind = if kind.eq_ignore_ascii_case("pdc") || kind.eq_ignore_ascii_case("p.d.c.") {
            "PdC".to_string()
        } else {
            kind.to_ascii_uppercase()
        };
        return Some(format!("{kind} {}", compact(c.get(2)?.as_str())));
    }
    BY_WORD.captures(text).and_then(|c| Some(compact(c.get(1)?.as_str())))
}

#[cfg(test)]
mod tests {
    use super::practice_number;

    #[test]
    fn practices_are_found_as_people_write_them() {
        let found = |text: &str| practice_number("", text);
        let table: &[(&str, Option<&str>)] = &[
            (
                "Non riesco a caricare la pratica PdC 2026/0456 sul portale",
                Some("PdC 2026/0456"),
            ),
            ("riguarda la SCIA n. 1234/2026", Some("SCIA 1234/2026")),
            ("cila nr 77 bloccata", Some("CILA 77")),
            ("Rif. P.d.C. 2026 / 0456", Some("PdC 2026/0456")),
            ("la pratica edilizia n. 1234-2026 risulta sospesa", Some("1234-2026")),
            ("pratica n° 45678", Some("45678")),
            ("PE 123/2026", Some("PE 123/2026")),
            // What is not a practice number.
            ("la pratica del 12/03/2026 non si apre", None),
            ("chiamatemi al 333 1234567", None),
            ("ho una pratica aperta da mesi", None),
            ("il PE del comune", None),
            ("pratica 12", None),
        ];
        for (text, expected) in table {
            assert_eq!(found(text).as_deref(), *expected, "{text:?}");
        }
        assert_eq!(
            practice_number("Errore invio SCIA 88/2026", "vedi pratica 2026/0001").as_deref(),
            Some("SCIA 88/2026"),
            "the subject first"
        );
    }
}
