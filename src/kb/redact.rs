//! Removes personal data from knowledge-base text before it is indexed or shown outside its
//! ticket: e-mail and PEC addresses, phone numbers, Italian tax codes (codice fiscale), IBANs,
//! and the requester's own name.
//!
//! Pure. Each kind becomes a bracketed placeholder, so a reader still understands the text
//! ("scriva a [email]"). It errs on the side of removing: a number that looks like a phone
//! number goes, even if it was something else.

use std::sync::LazyLock;

use regex::Regex;

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("static regex is valid")
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)\b[a-z0-9._%+-]+@([a-z0-9-]+\.)+[a-z]{2,}\b"));
static CODICE_FISCALE: LazyLock<Regex> = LazyLock::new(|| {
    // Letters, then digits that omocodia may turn into the letters L M N P Q R S T U V.
    regex(r"(?i)\b[a-z]{6}[0-9lmnpqrstuv]{2}[a-z][0-9lmnpqrstuv]{2}[a-z][0-9lmnpqrstuv]{3}[a-z]\b")
});
static IBAN: LazyLock<Regex> = LazyLock::new(|| {
    // Upper case, as banks print them: compact, or in groups of four separated by spaces.
    regex(r"\b[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b")
});
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    // Italian mobile (3xx) and landline (0x…) numbers, with or without +39 / 0039, in the
    // spacings people write; not preceded by a letter, a dash or a slash (pratica numbers).
    regex(r"(?:^|[^\w/-])((?:\+|00)39[ .-]?)?((?:3\d{2}|0\d{1,3})(?:[ .-]?\d){6,8})\b")
});

/// The text with personal data replaced; `requester_name` (when known) is removed too.
pub fn redact(text: &str, requester_name: Option<&str>) -> String {
    let out = EMAIL.replace_all(text, |c: &regex::Captures<'_>| {
        let address = c[0].to_lowercase();
        let domain = address.rsplit('@').next().unwrap_or_default();
        if domain.contains("pec") || domain.contains("legalmail") || domain.contains("postacert") {
            "[PEC]".to_string()
        } else {
            "[email]".to_string()
        }
    });
    let out = IBAN.replace_all(&out, |c: &regex::Captures<'_>| {
        // An IBAN has at least 15 characters and mostly digits; shorter codes are kept.
        let compact: String = c[0].chars().filter(|ch| !ch.is_whitespace()).collect();
        let digits = compact.chars().filter(char::is_ascii_digit).count();
        if compact.len() >= 15 && digits * 2 > compact.len() {
            "[IBAN]".to_string()
        } else {
            c[0].to_string()
        }
    });
    let out = CODICE_FISCALE.replace_all(&out, "[codice fiscale]");
    let out = PHONE.replace_all(&out, |c: &regex::Captures<'_>| {
        let whole = &c[0];
        let lead = whole
            .chars()
            .next()
            .filter(|ch| !ch.is_ascii_digit() && *ch != '+')
            .map(String::from)
            .unwrap_or_default();
        format!("{lead}[telefono]")
    });
    let mut out = out.into_owned();
    if let Some(name) = requester_name {
        for part in name.split_whitespace().filter(|p| p.chars().count() >= 3) {
            let word = regex(&format!(r"(?i)\b{}\b", regex::escape(part)));
            out = word.replace_all(&out, "[nome]").into_owned();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_personal_data_goes() {
        let cases = [
            ("scriva a mario.rossi@example.com grazie", "scriva a [email] grazie"),
            ("la mia PEC studio.gallo@pec.example.it", "la mia PEC [PEC]"),
            ("legale: avv.bruno@legalmail.example.it", "legale: [PEC]"),
            (
                "mi chiami al 333 1234567 oppure 3331234567",
                "mi chiami al [telefono] oppure [telefono]",
            ),
            ("ufficio +39 06 1234 5678.", "ufficio [telefono]."),
            ("fisso 0039 02-12345678", "fisso [telefono]"),
            ("CF RSSMRA80A01H501U intestatario", "CF [codice fiscale] intestatario"),
            ("omocodico RSSMRA80A01H5LMU", "omocodico [codice fiscale]"),
            (
                "IBAN IT60X0542811101000000123456 per il rimborso",
                "IBAN [IBAN] per il rimborso",
            ),
            ("IBAN IT60 X054 2811 1010 0000 0123 456.", "IBAN [IBAN]."),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input, None), expected, "{input}");
        }
    }

    #[test]
    fn the_requesters_name_goes_but_ordinary_numbers_stay() {
        assert_eq!(
            redact("Buongiorno, sono Anna Ferrari. Grazie, Anna", Some("Anna Ferrari")),
            "Buongiorno, sono [nome] [nome]. Grazie, [nome]"
        );
        for keep in [
            "pratica PE-2026-001234",
            "file di 20 MB",
            "versione 2.3.19",
            "il 12/03/2026 alle 15:00",
            "CAP 00184",
        ] {
            assert_eq!(redact(keep, None), keep);
        }
    }
}
