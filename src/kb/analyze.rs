//! Italian text analysis for the knowledge base: what turns a request or a solution into the
//! terms the full-text index stores and the queries look for.
//!
//! Pure. Steps: lowercase; elision removed (`l'allegato` → `allegato`, `dell'ufficio` →
//! `ufficio`); Italian stop words dropped; Snowball Italian stemming (rust-stemmers), so
//! `firmare`, `firma` and `firmato` meet; accents folded after stemming (`città` and `citta`
//! meet). Index and queries go through the same function, so whatever it does, both agree.
//! Redaction's placeholders (`[nome]`, `[telefono]`, …) are not words of the text: they are
//! skipped, or every entry with a phone number would share the term `telefon`.
//!
//! English requests are common enough (foreign owners, international studios) to be told
//! apart: [`language`] guesses a text's language from its function words, and
//! [`analyze_english`] gives the English stems the thesaurus matches English wordings with.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use rust_stemmers::{Algorithm, Stemmer};

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Italian));
static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));
/// What `redact` leaves in place of personal data.
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(?:nome|email|PEC|telefono|codice fiscale|IBAN|indirizzo)\]").expect("static regex is valid")
});

/// PDF/A as one word, however written (`pdf/a`, `PDF-A`, `PDF/A-1b`): split at the
/// slash it would be "pdf" and the stop word "a", and every PDF would look like a PDF/A.
static PDF_A: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bpdf[/-]a\b").expect("static regex is valid"));

/// English function words and courtesy (accent-folded), none of them an Italian word: they
/// are stop words in every text, and they tell an English request from an Italian one.
const ENGLISH_STOP_WORDS: &[&str] = &[
    "the", "and", "or", "of", "to", "is", "it", "on", "for", "my", "you", "with", "not", "an", "this", "that", "was",
    "are", "be", "been", "have", "has", "had", "do", "does", "did", "can", "cannot", "could", "would", "should",
    "will", "how", "what", "why", "when", "where", "which", "who", "there", "from", "at", "by", "as", "but", "if",
    "so", "we", "our", "your", "they", "their", "them", "he", "she", "his", "her", "its", "any", "all", "some",
    "hello", "hi", "dear", "thanks", "thank", "regards", "best", "please", "get", "got", "into", "than", "then",
    "also", "just", "only", "still", "yet", "very", "too", "about", "after", "before", "since", "because", "am", "i'm",
    "don't", "can't", "doesn't", "isn't", "it's", "i've", "way", "there's", "these", "those",
];

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
    // Words whose stems are portal words of a sense they do not have: "verso le dieci" is not
    // a payment ("versamento"), "è importante" is not an amount ("importo").
    "verso",
    "importante",
    "importanti",
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

/// The language a text is most likely written in: English when its English function words
/// outnumber its Italian ones (at least two of them), else Italian, the help desk's own.
pub fn language(text: &str) -> crate::config::Language {
    let (mut english, mut italian) = (0, 0);
    for word in text.to_lowercase().split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
        let word = fold(word);
        if ENGLISH_STOP_WORDS.contains(&word.as_str()) {
            english += 1;
        } else if STOP_WORDS.contains(&word.as_str()) {
            italian += 1;
        }
    }
    if english >= 2 && english > italian {
        crate::config::Language::En
    } else {
        crate::config::Language::It
    }
}

/// The English stems of a text, stop words dropped (what the thesaurus matches an English
/// request's wordings with; the index keeps [`analyze`]'s terms).
pub fn analyze_english(text: &str) -> Vec<String> {
    english_skipping(text, &[])
}

/// [`analyze_english`], the words in `skip` left out.
fn english_skipping(text: &str, skip: &[&str]) -> Vec<String> {
    lowered(text)
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.trim_matches(['\'', '’']))
        .filter(|w| !w.is_empty())
        .map(fold)
        .filter(|w| {
            !ENGLISH_STOP_WORDS.contains(&w.as_str())
                && !STOP_WORDS.contains(&w.as_str())
                && !skip.contains(&w.as_str())
        })
        .map(|w| ENGLISH.stem(&w).into_owned())
        .filter(|s| s.chars().count() >= 2 || s.chars().all(|c| c.is_ascii_digit()))
        .collect()
}

/// The text both analyses split: lower case, redaction placeholders out, PDF/A one word.
fn lowered(text: &str) -> String {
    PDF_A
        .replace_all(&PLACEHOLDER.replace_all(text, " ").to_lowercase(), "pdfa")
        .into_owned()
}

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
    analyze_skipping(text, &[])
}

/// English words whose Italian stem is a portal word of another sense: "page" stems as
/// "pag" (pagamento), "firm" as "firm" (firma), "import" as "import" (importo), "stamp" as
/// "stamp" (stampa, printing), "rate" as "rat" (rata), "name" as "nam" (the name a receipt is
/// made out to).
const ENGLISH_FALSE_FRIENDS: &[&str] = &[
    "page",
    "pages",
    "firm",
    "firms",
    "import",
    "imported",
    "importing",
    "stamp",
    "rate",
    "rates",
    "name",
    "names",
    "named",
];

/// English words whose English stem is an Italian wording's of another sense: "firm" as
/// "firme" (signatures) stems in English.
const ENGLISH_STEM_FALSE_FRIENDS: &[&str] = &["firm", "firms"];

/// The stems a request names the thesaurus' senses with, given its [`analyze`] `terms`:
/// those, and when the request reads as English its English stems too ([`analyze_english`]),
/// without the English words whose stems are another sense's: [`ENGLISH_FALSE_FRIENDS`]
/// among the Italian stems, [`ENGLISH_STEM_FALSE_FRIENDS`] among the English ones. An Italian
/// request's terms are used as they are, not analysed again.
pub fn sense_terms<'t>(text: &str, terms: &'t [String]) -> (Cow<'t, [String]>, Option<Vec<String>>) {
    if language(text) == crate::config::Language::En {
        (
            Cow::Owned(analyze_skipping(text, ENGLISH_FALSE_FRIENDS)),
            Some(english_skipping(text, ENGLISH_STEM_FALSE_FRIENDS)),
        )
    } else {
        (Cow::Borrowed(terms), None)
    }
}

/// [`analyze`], the words in `skip` left out.
fn analyze_skipping(text: &str, skip: &[&str]) -> Vec<String> {
    let lower = lowered(text);
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
        let folded = fold(word);
        if word.is_empty()
            || STOP_WORDS.contains(&folded.as_str())
            || ENGLISH_STOP_WORDS.contains(&folded.as_str())
            || skip.contains(&folded.as_str())
        {
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
        assert_eq!(analyze("PDF/A p7m"), vec!["pdfa".to_string(), "p7m".to_string()]);
        assert_eq!(analyze("pdf/a-1b"), analyze("PDFA 1b"));
        assert_eq!(analyze("il PDF a colori"), ["pdf", "color"]);
    }

    #[test]
    fn placeholders_of_redaction_are_not_terms() {
        assert_eq!(
            analyze("mi chiami al [telefono], sono [nome]"),
            analyze("mi chiami al, sono")
        );
        assert!(analyze("il telefono non carica").contains(&one("telefono")));
    }

    #[test]
    fn the_language_of_a_request() {
        use crate::config::Language::{En, It};
        for (text, expected) in [
            ("the upload fails with invalid file name", En),
            ("Hello, all the fields are greyed out and I cannot type", En),
            ("Buongiorno, il file firmato non viene accettato", It),
            ("il portale dice file name non valido", It),
            ("PDF/A", It),
        ] {
            assert_eq!(language(text), expected, "{text}");
        }
        assert_eq!(
            analyze_english("fields greyed out, uploading"),
            ["field", "grey", "out", "upload"]
        );
    }
}
