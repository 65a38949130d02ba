//! The help desk's thesaurus: words that people use for the same thing when they write about
//! CPortal, in Italian and in English, so a query finds solutions written in other words.
//!
//! Pure. Applied to queries only (the index keeps each entry's own words). Each group lists
//! surface forms; a form may have several words ("identità digitale"), which match when their
//! stems stand next to each other in the query. When any form of a group is in a query, the
//! stems of every form are added.

use std::sync::LazyLock;

use super::analyze::analyze;

/// Groups of interchangeable wordings (written as people write them; analysed at start).
const GROUPS: &[&[&str]] = &[
    &["spid", "identità digitale", "digital identity", "credenziali spid"],
    &[
        "cie",
        "carta d'identità elettronica",
        "carta di identità elettronica",
        "documento elettronico",
        "identity card",
    ],
    &["password", "parola chiave", "parola d'ordine", "credenziali"],
    &[
        "accesso",
        "accedere",
        "login",
        "log in",
        "autenticazione",
        "autenticarsi",
        "entrare",
        "sign in",
    ],
    &["livello", "grado di sicurezza", "level", "l2", "livello 2"],
    &[
        "reimpostare",
        "reset",
        "recuperare",
        "dimenticato",
        "non ricordo",
        "ricordo",
        "forgot",
        "forgotten",
    ],
    &[
        "caricare",
        "allegare",
        "upload",
        "uploading",
        "caricamento",
        "allegato",
        "attach",
    ],
    &["file", "documento", "elaborato", "elaborati", "papers", "document"],
    &[
        "dimensione",
        "grande",
        "enorme",
        "pesante",
        "mega",
        "mb",
        "megabyte",
        "soglia",
        "limite",
        "size",
        "big",
        "large",
    ],
    &[
        "sessione",
        "collegamento",
        "disconnesso",
        "disconnette",
        "timeout",
        "inattività",
        "scollegato",
        "logout",
        "logged out",
    ],
    &[
        "pagina bianca",
        "schermo vuoto",
        "vuoto",
        "bianca",
        "blank",
        "empty page",
        "non si vede niente",
    ],
    &["cache", "cronologia", "dati di navigazione", "svuotare", "cookie"],
    &[
        "browser",
        "navigatore",
        "explorer",
        "edge",
        "chrome",
        "firefox",
        "safari",
    ],
    &["supportato", "compatibile", "supported", "compatible"],
    &["vecchio", "obsoleto", "old", "outdated", "aggiornare", "update"],
    &["popup", "pop-up", "finestra", "nuova scheda", "window"],
    &[
        "pagamento",
        "pagare",
        "payment",
        "pay",
        "paid",
        "fee",
        "diritti",
        "versamento",
        "importo",
        "unpaid",
        "non pagato",
        "pagopa",
    ],
    &["ricevuta", "quietanza", "receipt", "attestazione"],
    &[
        "firma",
        "firmare",
        "firmato",
        "sottoscrizione",
        "signature",
        "signed",
        "sign",
    ],
    &["p7m", "cades", "busta crittografica"],
    &["cancellare", "eliminare", "togliere", "rimuovere", "delete", "remove"],
    &["bozza", "draft", "prova", "non presentata", "non inviata"],
    &["nome del file", "nome file", "filename", "file name", "naming"],
    &[
        "caratteri speciali",
        "parentesi",
        "spazi",
        "accenti",
        "apostrofi",
        "brackets",
        "blanks",
        "spaces",
        "special characters",
    ],
    &[
        "integrazione",
        "integrazioni",
        "documenti mancanti",
        "missing",
        "richiesti",
        "requested",
        "ulteriore documentazione",
    ],
    &["cellulare", "smartphone", "telefono", "mobile", "phone", "tablet"],
    &["nfc", "avvicino", "avvicinare", "appoggiare", "contactless", "tap"],
    &[
        "errore",
        "error",
        "scartato",
        "rifiutato",
        "respinto",
        "rejected",
        "blocca",
        "bloccato",
        "non accetta",
        "non valido",
    ],
    &["ufficio", "comune", "municipal office", "municipality", "sportello"],
    &["pratica", "domanda", "istanza", "application", "richiesta edilizia"],
    &["protocollo", "numero di protocollo", "protocol number", "registrazione"],
    &["pec", "posta certificata", "certified mail", "notifica", "notifiche"],
    &[
        "delega",
        "procura",
        "procura speciale",
        "proxy",
        "per conto di",
        "on behalf",
    ],
    &[
        "tecnico",
        "progettista",
        "professionista",
        "architetto",
        "ingegnere",
        "geometra",
        "engineer",
        "architect",
    ],
    &["mappa", "cartina", "localizzazione", "map", "geolocalizzazione"],
    &["catasto", "catastali", "foglio", "particella", "mappale", "subalterno"],
    &[
        "descrizione",
        "testo",
        "campo",
        "description",
        "caratteri massimi",
        "troppo lungo",
    ],
    &[
        "timbrato",
        "timbrata",
        "copia conforme",
        "titolo",
        "permesso rilasciato",
        "stamped",
    ],
    &["stampare", "stampa", "print", "pdf riepilogo", "riepilogo"],
    &[
        "screen reader",
        "lettore di schermo",
        "non vedente",
        "ipovedente",
        "accessibilità",
        "blind",
    ],
    &["dwg", "cad", "autocad", "dxf", "drawing"],
    &["pdf/a", "pdfa", "pdf a", "conversione", "convertire", "archiviazione"],
    &["scaduto", "scaduta", "revocato", "expired", "revoked", "validità"],
    &[
        "lettore",
        "smart card",
        "smartcard",
        "chiavetta",
        "token",
        "driver",
        "card reader",
    ],
    &["otp", "codice", "sms", "firma remota", "remote signature"],
    &["marca da bollo", "bollo", "imposta di bollo", "stamp duty"],
    &["email", "e-mail", "indirizzo di posta", "mail", "casella"],
    &["duplicata", "duplicato", "doppia", "due volte", "duplicate", "twice"],
];

/// Each group as lists of stem sequences.
static ANALYSED: LazyLock<Vec<Vec<Vec<String>>>> = LazyLock::new(|| {
    GROUPS
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|form| analyze(form))
                .filter(|stems| !stems.is_empty())
                .collect()
        })
        .collect()
});

fn contains_run(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The query's stems plus those of every wording of the groups it mentions.
pub fn expand(terms: &[String]) -> Vec<String> {
    let mut out = terms.to_vec();
    for group in ANALYSED.iter() {
        if group.iter().any(|form| contains_run(terms, form)) {
            for form in group {
                out.extend(form.iter().cloned());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_reaches_the_other_wordings_of_its_words() {
        let expanded = expand(&analyze("non ricordo la parola chiave"));
        for wording in ["password", "reset"] {
            assert!(
                expanded.contains(&analyze(wording)[0]),
                "{wording} missing from {expanded:?}"
            );
        }
        let english = expand(&analyze("the payment went through but the fee shows unpaid"));
        assert!(english.contains(&analyze("pagamento")[0]), "{english:?}");
        // A lone generic word of a multi-word form does not drag the group in.
        let plain = expand(&analyze("firma digitale"));
        assert!(!plain.contains(&analyze("spid")[0]), "{plain:?}");
    }
}
