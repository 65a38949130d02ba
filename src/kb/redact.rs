//! Removes personal data from knowledge-base text before it is indexed or shown outside its
//! ticket: e-mail and PEC addresses, phone numbers, Italian tax codes (codice fiscale), IBANs,
//! street addresses with their house number (and postcode and town), and the requester's own
//! name.
//!
//! Pure. Each kind becomes a bracketed placeholder, so a reader still understands the text
//! ("scriva a [email]"). It errs on the side of removing: a number that looks like a phone
//! number goes, even if it was something else.
//!
//! Names are removed as names, not word by word (issue 19: for "Studio Tecnico Riva", "la
//! casella PEC dello studio" had become "dello [nome]"): the whole display name, its first and
//! last words together in either order ("Anna Ferrari", "Ferrari Anna" for "Anna Maria
//! Ferrari"), and a single word of it alone only when it is not an ordinary Italian word
//! ([`ORDINARY`]: "Ferrari" and "Anna" go, "Riva", "Studio" and "Rosa" stay unless they stand
//! in the name).

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

static STREET: LazyLock<Regex> = LazyLock::new(|| {
    // An Italian street address is a street word, a name of one to five words, and a house
    // number (with its letter or slash), then perhaps the postcode and the town: "Via Roma 12",
    // "v.le XX Settembre 5/B", "piazza G. Garibaldi, n. 3, 00185 Roma". Without a house
    // number it is no address ("inviato via PEC", "in piazza"), and "via" naming a means
    // ("via mail 2 volte") is told apart by the word after it.
    regex(
        r"(?i)\b(?:via|viale|v\.le|piazza|p\.za|p\.zza|piazzale|corso|c\.so|largo|vicolo|strada|str\.|località|loc\.|contrada|borgo|lungomare|lungotevere|salita|traversa|frazione|fraz\.)\s+(?:[\p{L}'.]+\s+){0,4}?[\p{L}'.]+,?\s+(?:n\.?\s*|nr\.?\s*|numero\s+|civico\s+)?\d{1,4}(?:\s*/\s*\w{1,3}|[a-z])?\b(?:,?\s+\d{5}\b(?:\s+(?-i:\p{Lu})[\p{L}'-]+(?:\s+\((?-i:\p{Lu}{2})\)|\s+(?-i:\p{Lu}{2})\b)?)?)?",
    )
});

/// The words after "via" that make it a means, not a street: "via PEC", "via mail 2 volte".
const MEANS: &[&str] = &[
    "pec", "mail", "email", "e-mail", "posta", "web", "portale", "internet", "fax", "sms", "telefono", "app", "chat",
    "whatsapp", "browser", "spid", "cie", "cns", "firma", "link", "modulo", "form",
];

/// Ordinary Italian words that are also names, or words of firms' names: a name made of them
/// is removed whole, never one of them alone. Accent-folded, lower case.
const ORDINARY: &[&str] = &[
    // Words of studios' and firms' names.
    "studio",
    "tecnico",
    "tecnica",
    "associato",
    "associati",
    "associata",
    "ingegneria",
    "architettura",
    "progetti",
    "progettazione",
    "servizi",
    "societa",
    "srl",
    "spa",
    "snc",
    "sas",
    "impresa",
    "edile",
    "edilizia",
    "costruzioni",
    "geometra",
    "architetto",
    "ingegnere",
    "ufficio",
    "comune",
    "gruppo",
    "consulenze",
    "immobiliare",
    "casa",
    // Particles of surnames.
    "de",
    "di",
    "del",
    "della",
    "dei",
    "degli",
    "da",
    "dal",
    "la",
    "lo",
    "le",
    "li",
    "van",
    "von",
    "san",
    "santa",
    // Surnames and first names that are everyday words.
    "riva",
    "costa",
    "monti",
    "monte",
    "conti",
    "conte",
    "fontana",
    "villa",
    "porta",
    "rosa",
    "rossi",
    "rosso",
    "bianchi",
    "bianco",
    "neri",
    "nero",
    "gallo",
    "greco",
    "colombo",
    "leone",
    "lupo",
    "marino",
    "serra",
    "sala",
    "testa",
    "pace",
    "grasso",
    "piazza",
    "palma",
    "campo",
    "sole",
    "mare",
    "valle",
    "ponte",
    "torre",
    "fiore",
    "guerra",
    "santi",
    "santo",
    "bruno",
    "carta",
    "ricci",
    "bosco",
    "castello",
    "porto",
    "cavallo",
    "orso",
    "franco",
    "marchi",
    "moro",
    "basso",
    "alto",
    "lungo",
    "gatti",
    "gatto",
    "ferro",
    "ferri",
    "fabbro",
    "fabbri",
    "rocca",
    "giardino",
    "felice",
    "serena",
    "chiara",
    "vera",
    "stella",
    "angelo",
    "gioia",
    "speranza",
    "fortunato",
    "benedetto",
    "grande",
    "piccolo",
    "bello",
    "bella",
    "buono",
    "pietra",
    "sasso",
    "prato",
    "pino",
    "pini",
    "olmo",
    "noce",
    "riso",
    "forte",
    "conforti",
    "martello",
    "barba",
    "capra",
    "coda",
    "vitale",
    "parente",
    "mancino",
    "cardinale",
    "abate",
    "papa",
    "re",
    "duca",
    "marchese",
    "medici",
    "pastore",
    "sarto",
    "fabbrica",
    "valente",
    "onesto",
    "fedele",
    "salvo",
    "salvi",
    "gentile",
    "amato",
    "caro",
    "giusto",
    "sereno",
    "nave",
    "mele",
    "poggio",
    "colle",
    "piano",
    "campi",
    "orti",
    "prati",
    "ruggiero",
    "vigna",
    "selva",
    "ferraro",
];

fn is_ordinary(word: &str) -> bool {
    ORDINARY.contains(&crate::kb::analyze::fold(&word.to_lowercase()).as_str())
}

/// The words of a display name that name someone: titles (`Arch.`, `Ing.`, …) and
/// punctuation left out.
fn name_words(name: &str) -> Vec<&str> {
    const TITLES: &[&str] = &[
        "arch", "ing", "geom", "dott", "dottssa", "dr", "avv", "sig", "sigra", "prof", "per", "ind", "p", "mr", "mrs",
        "ms",
    ];
    name.split(|c: char| c.is_whitespace() || c == ',' || c == '"' || c == '(' || c == ')')
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.chars().count() >= 2 && w.chars().all(|c| c.is_alphabetic() || c == '\'' || c == '-'))
        .filter(|w| {
            let bare: String = w.to_lowercase().chars().filter(|c| c.is_alphabetic()).collect();
            !TITLES.contains(&bare.as_str())
        })
        .collect()
}

/// Particles that belong to the surname after them ("De Luca", "Dalla Costa").
const PARTICLES: &[&str] = &[
    "de", "di", "del", "della", "dalla", "da", "dal", "la", "lo", "van", "von", "d'",
];

/// The forms of a name to remove, longest first, as one pattern: the whole name, first name
/// and surname in either order, the surname with its particle, and each word that is not an
/// ordinary word.
fn name_pattern(name: &str) -> Option<Regex> {
    let words = name_words(name);
    let first = *words.first()?;
    // The surname: the last word, with the particles before it.
    let mut from = words.len() - 1;
    while from > 1 && PARTICLES.contains(&words[from - 1].to_lowercase().as_str()) {
        from -= 1;
    }
    let surname = &words[from..];
    let phrase = |ws: &[&str]| ws.iter().map(|w| regex::escape(w)).collect::<Vec<_>>().join(r"\s+");
    let mut forms = vec![phrase(&words)];
    if words.len() >= 2 {
        forms.push(format!("{}{}{}", regex::escape(first), r"\s+", phrase(surname)));
        forms.push(format!("{}{}{}", phrase(surname), r"\s+", regex::escape(first)));
        if surname.len() >= 2 {
            forms.push(phrase(surname));
        }
    }
    for w in &words {
        if !is_ordinary(w) {
            forms.push(regex::escape(w));
        }
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    Regex::new(&format!(r"(?i)\b(?:{})\b", forms.join("|"))).ok()
}

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
    let out = STREET.replace_all(&out, |c: &regex::Captures<'_>| {
        let found = &c[0];
        let second = found.split_whitespace().nth(1).unwrap_or_default().to_lowercase();
        let second = second.trim_end_matches([',', '.']);
        if MEANS.contains(&second) {
            found.to_string()
        } else {
            "[indirizzo]".to_string()
        }
    });
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
    match requester_name.and_then(name_pattern) {
        Some(name) => name.replace_all(&out, "[nome]").into_owned(),
        None => out.into_owned(),
    }
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
            (
                "abito in Via Roma 12, al secondo piano",
                "abito in [indirizzo], al secondo piano",
            ),
            (
                "residente in viale XX Settembre 5/B a Genova",
                "residente in [indirizzo] a Genova",
            ),
            (
                "studio in piazza G. Garibaldi, n. 3, 00185 Roma (RM).",
                "studio in [indirizzo].",
            ),
            ("sede: Corso Vittorio Emanuele II 104", "sede: [indirizzo]"),
            ("loc. Case Sparse 7", "[indirizzo]"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input, None), expected, "{input}");
        }
    }

    #[test]
    fn every_form_of_the_name_goes_and_ordinary_words_stay() {
        let cases = [
            (
                "Anna Maria Ferrari",
                "Sono Anna Maria Ferrari (Ferrari Anna per l'ufficio), mi firmo Anna Ferrari. Grazie, Anna",
                "Sono [nome] ([nome] per l'ufficio), mi firmo [nome]. Grazie, [nome]",
            ),
            (
                "Studio Tecnico Riva",
                "Lo Studio Tecnico Riva usa la casella PEC dello studio; risponde il tecnico di turno. Studio Riva",
                "Lo [nome] usa la casella PEC dello studio; risponde il tecnico di turno. [nome]",
            ),
            (
                "Arch. Rosa Bianchi",
                "Ho cambiato la rosa dei fornitori e i fogli bianchi. Cordiali saluti, Rosa Bianchi - arch. Bianchi Rosa",
                "Ho cambiato la rosa dei fornitori e i fogli bianchi. Cordiali saluti, [nome] - arch. [nome]",
            ),
            (
                "Marco De Luca",
                "Ing. DE LUCA, di Marco: il file di Luca",
                "Ing. [nome], di [nome]: il file di [nome]",
            ),
        ];
        for (name, text, expected) in cases {
            assert_eq!(redact(text, Some(name)), expected, "{name}");
        }
        // A name of titles only, or nothing, removes nothing.
        assert_eq!(redact("l'arch. ha scritto", Some("Arch.")), "l'arch. ha scritto");
    }

    #[test]
    fn streets_without_a_number_and_means_stay() {
        for text in [
            "ho inviato via PEC 2 volte la domanda",
            "spedito via mail 3 giorni fa",
            "caricato via portale 10 file",
            "ci vediamo in piazza",
            "la strada per il caricamento è lunga",
            "via libera al permesso",
        ] {
            assert_eq!(redact(text, None), text);
        }
    }

    #[test]
    fn ordinary_numbers_stay() {
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
