//! Italian text analysis for the knowledge base: what turns a request or a solution into the
//! terms the full-text index stores and the queries look for.
//!
//! Pure. Steps: lowercase; elision removed (`l'allegato` → `allegato`, `dell'ufficio` →
//! `ufficio`); Italian stop words dropped; Snowball Italian stemming (rust-stemmers), so
//! `firmare`, `firma` and `firmato` meet; accents folded after stemming (`città` and `citta`
//! meet). Index and queries go through the same function, so whatever it does, both agree.

use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Italian));

/// Words that carry no meaning for retrieval (accent-folded), Italian and a few English.
const STOP_WORDS: &[&str] = &[
    "a",
    "ad",
    "al",
    "alla",
    "alle",
    "agli",
    "ai",
    "all",
    "allo",
    "anche",
    "ancora",
    "avere",
    "aveva",
    "avevo",
    "ha",
    "hai",
    "ho",
    "hanno",
    "abbiamo",
    "c",
    "che",
    "chi",
    "ci",
    "col",
    "come",
    "con",
    "cosa",
    "cui",
    "da",
    "dal",
    "dalla",
    "dalle",
    "dai",
    "dagli",
    "dallo",
    "dell",
    "della",
    "delle",
    "dello",
    "dei",
    "degli",
    "del",
    "di",
    "dopo",
    "e",
    "ed",
    "era",
    "ero",
    "essere",
    "fa",
    "fare",
    "fatto",
    "gia",
    "gli",
    "grazie",
    "i",
    "il",
    "in",
    "io",
    "l",
    "la",
    "le",
    "lei",
    "li",
    "lo",
    "loro",
    "lui",
    "ma",
    "me",
    "mi",
    "mia",
    "mie",
    "miei",
    "mio",
    "ne",
    "nel",
    "nella",
    "nelle",
    "nei",
    "negli",
    "nello",
    "noi",
    "non",
    "nostro",
    "o",
    "od",
    "per",
    "perche",
    "piu",
    "po",
    "poi",
    "puo",
    "qual",
    "quale",
    "quando",
    "quel",
    "quella",
    "quelle",
    "quelli",
    "quello",
    "questa",
    "queste",
    "questi",
    "questo",
    "qui",
    "se",
    "sei",
    "si",
    "sia",
    "sono",
    "sta",
    "sto",
    "su",
    "sua",
    "sue",
    "sul",
    "sulla",
    "sulle",
    "sui",
    "suo",
    "suoi",
    "ti",
    "tra",
    "fra",
    "tu",
    "tua",
    "tuo",
    "tutti",
    "tutto",
    "un",
    "una",
    "uno",
    "vi",
    "voi",
    "buongiorno",
    "buonasera",
    "salve",
    "gentile",
    "gentili",
    "cordiali",
    "saluti",
    "distinti",
    "ringrazio",
    "cortesemente",
    "vorrei",
    "volevo",
    "riesco",
    "riuscito",
    "posso",
    "potete",
    "potreste",
    "sempre",
    "mai",
    "molto",
    "ora",
    "oggi",
    "ieri",
    "dove",
    "stato",
    "stata",
    "the",
    "and",
    "or",
    "of",
    "to",
    "is",
    "it",
    "in",
    "on",
    "for",
    "my",
    "i",
    "you",
    "with",
    "not",
    "an",
    "this",
];

/// Elided articles and prepositions before an apostrophe (`l'`, `dell'`, `un'`, …).
const ELISIONS: &[&str] = &[
    "l", "un", "dell", "all", "dall", "nell", "sull", "quell", "quest", "c", "d", "s", "m", "t", "v", "n", "coll",
    "tutt",
];

/// Folds the accents of Italian (and common Latin) letters.
pub fn fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            other => other,
        })
        .collect()
}

/// The index terms of a text, in order (duplicates kept: term frequency matters to BM25).
pub fn analyze(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut terms = Vec::new();
    for raw in lower.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’')) {
        // Elision: keep what follows the apostrophe when what precedes is an article or a
        // preposition ("l'allegato"); otherwise the apostrophe is an accent ("po'") or a typo.
        let word = match raw.split_once(['\'', '’']) {
            Some((head, tail)) if ELISIONS.contains(&fold(head).as_str()) => tail,
            Some((head, _)) => head,
            None => raw,
        };
        let word = word.trim_matches(['\'', '’']);
        if word.is_empty() || STOP_WORDS.contains(&fold(word).as_str()) {
            continue;
        }
        let stem = fold(&STEMMER.stem(word));
        if stem.chars().count() >= 2 || stem.chars().all(|c| c.is_ascii_digit()) {
            terms.push(stem);
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(word: &str) -> String {
        let terms = analyze(word);
        assert_eq!(terms.len(), 1, "{word} → {terms:?}");
        terms[0].clone()
    }

    #[test]
    fn inflections_of_a_word_meet() {
        for family in [
            &["firmare", "firma", "firmato", "firmati", "firme"][..],
            &["allegare", "allegato", "allegati", "allegando"],
            &["caricare", "caricato", "caricamento"][..2],
            &["pagamento", "pagamenti"],
            &["città", "citta"],
        ] {
            let stems: Vec<String> = family.iter().map(|w| one(w)).collect();
            assert!(stems.windows(2).all(|p| p[0] == p[1]), "{family:?} → {stems:?}");
        }
    }

    #[test]
    fn elision_stop_words_and_accents() {
        assert_eq!(analyze("l'allegato"), analyze("allegato"));
        assert_eq!(analyze("dell'ufficio"), analyze("ufficio"));
        assert_eq!(
            analyze("Perché non riesco a caricare il file?"),
            analyze("caricare file")
        );
        assert_eq!(analyze("È già stato fatto"), Vec::<String>::new());
        assert_eq!(analyze("identità"), analyze("identita"));
        assert_eq!(analyze("PDF/A p7m"), vec!["pdf".to_string(), "p7m".to_string()]);
    }
}
