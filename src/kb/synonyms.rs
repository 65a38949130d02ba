//! The help desk's thesaurus: words that people use for the same thing when they write about
//! CPortal, in Italian and in English, so a query finds solutions written in other words.
//!
//! Pure. Applied to queries only (the index keeps each entry's own words). Each group is one
//! sense, and lists its surface forms, Italian and English; a form may have several words
//! ("identità digitale"), which match when their stems stand next to each other in the query.
//! When any form of a group is in a query, the stems of every form are added, at a lower
//! weight than the query's own words (see `kb::search`).
//!
//! One sense per group, reviewed group by group (issue 19: "campo" sat with "descrizione,
//! testo, caratteri massimi", so a question about form fields found file names). Three rules
//! keep it so:
//! - a word with several senses on the portal is listed only inside the multi-word forms that
//!   fix its sense: "finestra" (a window of the building, or of the browser) only as
//!   "finestra popup", "ricevuta" (of a payment, or of a submission) only as "ricevuta di
//!   pagamento", "accesso" (logging in, or to the archive) is login, "accesso agli atti" is
//!   the archive;
//! - the longest form wins: words matched by a multi-word form are not matched again by a
//!   shorter form of another group ("sessione scaduta" is the session, not an expired
//!   certificate);
//! - each group names, in `not`, words of the nearest other sense it must not pull; the tests
//!   check every group against them, and that no single-word form sits in two groups.
//!
//! English requests: the query's English stems (when [`super::analyze::language`] says
//! English) are matched against the forms' English stems too, so "fields" and "greyed out"
//! reach "campi" and "non modificabile". The query is expanded, not translated: its own words
//! stay, since English tickets are in the base as well.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::analyze::{analyze, analyze_english};

/// One sense: its wordings, and words of a nearby sense it must not pull.
pub struct Group {
    /// What the group means (for the reader and the tests' messages).
    pub sense: &'static str,
    /// The wordings, as people write them.
    pub forms: &'static [&'static str],
    /// Words of another sense, close enough to be confused, that must stay out.
    pub not: &'static [&'static str],
}

const fn g(sense: &'static str, forms: &'static [&'static str], not: &'static [&'static str]) -> Group {
    Group { sense, forms, not }
}

/// The groups, one sense each.
pub const GROUPS: &[Group] = &[
    // Identity and access.
    g(
        "SPID",
        &["spid", "identità digitale", "digital identity", "credenziali spid"],
        &["cie", "password"],
    ),
    g(
        "electronic identity card (CIE)",
        &[
            "cie",
            "carta d'identità elettronica",
            "carta di identità elettronica",
            "identity card",
            "cieid",
        ],
        &["spid", "smart card"],
    ),
    g(
        "password",
        &[
            "password",
            "parola chiave",
            "parola d'ordine",
            "credenziali",
            "credentials",
        ],
        &["otp", "pin"],
    ),
    g(
        "logging in",
        &[
            "accesso",
            "accedere",
            "login",
            "log in",
            "autenticazione",
            "autenticarsi",
            "entrare",
            "signin",
        ],
        &["accesso agli atti", "firma"],
    ),
    g(
        "SPID security level",
        &[
            "livello 2",
            "secondo livello",
            "level 2",
            "l2",
            "livello di sicurezza",
            "grado di sicurezza",
            "livello di autenticazione",
            "authentication level",
            "security level",
        ],
        &["password"],
    ),
    g(
        "forgotten, to reset",
        &[
            "reimpostare",
            "reset",
            "dimenticato",
            "dimenticata",
            "non ricordo",
            "forgot",
            "forgotten",
        ],
        &["account bloccato"],
    ),
    g(
        "account locked after failed attempts",
        &[
            "account bloccato",
            "utenza bloccata",
            "account locked",
            "troppi tentativi",
            "tentativi",
            "attempts",
            "sbloccare",
            "unlock",
        ],
        &["password dimenticata", "sola lettura"],
    ),
    g(
        "registering an account",
        &[
            "registrazione",
            "registrarsi",
            "registrato",
            "registered account",
            "sign up",
            "signup",
            "iscritto al portale",
        ],
        &["protocollo", "albo"],
    ),
    g(
        "activating an account",
        &[
            "attivazione",
            "attivare",
            "attivarlo",
            "account non attivo",
            "activation",
            "activate",
            "conferma registrazione",
            "confirmation link",
        ],
        &["firma"],
    ),
    g(
        "professional register (albo)",
        &[
            "albo",
            "ordine degli architetti",
            "ordine degli ingegneri",
            "ordine professionale",
            "collegio dei geometri",
            "collegio geometri",
            "iscrizione all'albo",
            "iscrizione professionale",
            "numero di iscrizione",
            "dati professionali",
            "professional registration",
            "membership",
            "order of engineers",
            "order of architects",
        ],
        &["registrazione", "attivazione"],
    ),
    // Uploads and files.
    g(
        "uploading a file",
        &[
            "caricare",
            "allegare",
            "upload",
            "uploading",
            "caricamento",
            "allegato",
            "attach",
            "attachment",
        ],
        &["scaricare", "firma"],
    ),
    g(
        "downloading",
        &[
            "scaricare",
            "scarico",
            "scaricarlo",
            "download",
            "salvare sul computer",
            "zip",
            "fascicolo",
        ],
        &["caricare"],
    ),
    g(
        "a file, a document",
        &["file", "documento", "elaborato", "elaborati", "papers", "document"],
        &["nome del file", "tavole"],
    ),
    g(
        "drawing sheets",
        &[
            "tavole",
            "tavola",
            "elaborati grafici",
            "drawings",
            "plans",
            "cartiglio",
        ],
        &["dwg", "stampa"],
    ),
    g(
        "file size",
        &[
            "dimensione",
            "dimensioni",
            "troppo grande",
            "troppo pesante",
            "pesante",
            "enorme",
            "mb",
            "megabyte",
            "mega",
            "size",
            "too big",
            "too large",
            "peso massimo",
            "peso del file",
            "limite di dimensione",
            "dimensione massima",
            "maximum size",
            "max size",
        ],
        &["caratteri massimi", "formato a0"],
    ),
    g(
        "file name",
        &[
            "nome del file",
            "nome file",
            "filename",
            "file name",
            // Not "naming" alone: it stems as "name", the name a receipt is made out to.
            "file naming",
            "rinominare",
            "rename",
        ],
        &["descrizione", "campo"],
    ),
    g(
        "special characters",
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
        &["caratteri massimi"],
    ),
    g(
        "CAD formats",
        &["dwg", "cad", "autocad", "dxf", "revit"],
        &["tavole", "pdf/a"],
    ),
    g(
        "PDF/A",
        &[
            "pdf/a",
            "formato di archiviazione",
            "archiviazione a lungo termine",
            "conservazione a lungo termine",
            "archival format",
        ],
        &["p7m", "dwg"],
    ),
    g(
        "drawing scale",
        &[
            "in scala",
            "scala",
            "to scale",
            "scale",
            "rimpicciolite",
            "adatta alla pagina",
            "fit to page",
        ],
        &["dimensione"],
    ),
    g(
        "sheet orientation",
        &[
            "ruotate",
            "ruotato",
            "ruotare",
            "rotated",
            "sideways",
            "upright",
            "orientamento",
        ],
        &["scala"],
    ),
    // Signatures.
    g(
        "digital signature",
        &[
            "firma",
            "firmare",
            "firmato",
            "firme",
            "sottoscrizione",
            "sottoscritto",
            "signature",
            "signed",
            "sign",
        ],
        &["login", "timbrato"],
    ),
    g(
        "CAdES envelope",
        &["p7m", "cades", "busta crittografica", "busta"],
        &["pdf/a"],
    ),
    g(
        "expired",
        &[
            "scaduto",
            "scaduta",
            "scaduti",
            "scadute",
            "expired",
            "non più pagabile",
            "no longer valid",
            "no longer payable",
        ],
        &["revocato", "sessione"],
    ),
    g(
        "certificate revoked",
        &["revocato", "revocata", "revoked", "revoca"],
        &["scaduto"],
    ),
    g(
        "signature device and reader",
        &[
            "lettore",
            "smart card",
            "smartcard",
            "chiavetta",
            "token",
            "card reader",
            "usb key",
            "signing key",
            "signature key",
            "dispositivo di firma",
            "middleware",
        ],
        &["screen reader", "cie"],
    ),
    g(
        "remote signature and OTP",
        &[
            "otp",
            "codice otp",
            "firma remota",
            "remote signature",
            "one time password",
            "firma a distanza",
            "firma in remoto",
        ],
        &["codice fiscale", "smart card"],
    ),
    // Sessions and the browser.
    g(
        "session timeout",
        &[
            "sessione",
            "sessione scaduta",
            "session expired",
            "disconnesso",
            "disconnette",
            "timeout",
            "inattività",
            "scollegato",
            "logout",
            "logged out",
            "disconnessione",
            "rifare il login",
            "session",
        ],
        &["certificato scaduto", "collegamento"],
    ),
    g(
        "blank page",
        &[
            "pagina bianca",
            "pagina vuota",
            "schermata bianca",
            "schermo bianco",
            "schermo vuoto",
            "blank page",
            "blank",
            "empty page",
        ],
        &["zip vuoto"],
    ),
    g(
        "browser cache",
        &[
            "cache",
            "cronologia",
            "dati di navigazione",
            "cookie",
            "svuotare la cache",
            "clear cache",
        ],
        &["archivio"],
    ),
    g(
        "web browser",
        &[
            "browser",
            "navigatore",
            "explorer",
            "edge",
            "chrome",
            "firefox",
            "safari",
            "web browsers",
        ],
        &["lettore"],
    ),
    g(
        "supported, compatible",
        &["supportato", "compatibile", "supported", "compatible"],
        &["accettato"],
    ),
    g(
        "outdated software",
        &[
            "obsoleto",
            "outdated",
            "vecchia versione",
            "old version",
            // Not "non aggiornato" alone: without its stop word it is every "aggiornare"
            // ("visura aggiornata", "il modello aggiornato", another sense).
            "browser non aggiornato",
            "software non aggiornato",
            "programma non aggiornato",
        ],
        &["modulistica"],
    ),
    g(
        "popup windows",
        &[
            "popup",
            "pop-up",
            "pop up",
            "finestra popup",
            "finestra a comparsa",
            "finestre a comparsa",
            "nuova scheda",
            "new tab",
        ],
        &["spostare finestre"],
    ),
    g(
        "portal down or in maintenance",
        &[
            "manutenzione",
            "non raggiungibile",
            "irraggiungibile",
            "fuori servizio",
            "disservizio",
            "servizio non disponibile",
            "service unavailable",
            "503",
            "outage",
            "unreachable",
            "maintenance",
        ],
        &["sessione"],
    ),
    g(
        "smartphone, tablet",
        &[
            "cellulare",
            "smartphone",
            "telefonino",
            "mobile",
            "phone",
            "tablet",
            "android",
            "iphone",
        ],
        &["colloquio telefonico"],
    ),
    g(
        "NFC reading",
        &["nfc", "avvicino", "avvicinare", "appoggiare", "contactless", "tap"],
        &["smart card"],
    ),
    g(
        "screen reader and accessibility",
        &[
            "screen reader",
            "lettore di schermo",
            "sintesi vocale",
            "non vedente",
            "ipovedente",
            "accessibilità",
            "accessible",
            "blind",
            "jaws",
            "nvda",
            "solo tastiera",
            "keyboard only",
            "navigazione da tastiera",
        ],
        &["lettore"],
    ),
    // Forms.
    g(
        "a form field",
        &[
            "campo",
            "campi",
            "casella",
            "caselle",
            "field",
            "fields",
            "input box",
            "input boxes",
        ],
        &["descrizione", "nome del file", "caratteri massimi"],
    ),
    g(
        "fields that cannot be edited",
        &[
            // Not "non modificabile" alone: without its stop word it is every "modificare"
            // (changing an application, sharing it with a colleague who edits it). Not
            // "disabilitato" or "disabled" alone: a button is disabled too (the application
            // that cannot be sent, another sense).
            "campo non modificabile",
            "campi non modificabili",
            "dati non modificabili",
            "sola lettura",
            "campo disabilitato",
            "campi disabilitati",
            "campo disattivato",
            "campi disattivati",
            "campi grigi",
            "greyed out",
            "grayed out",
            "field disabled",
            "fields disabled",
            "disabled field",
            "disabled fields",
            "read-only field",
            "read-only fields",
            "grey",
        ],
        &["account bloccato"],
    ),
    g(
        "description length",
        &[
            "descrizione",
            "description",
            "caratteri massimi",
            "numero massimo di caratteri",
            // Not "too long" or "troppo lungo" alone: without their stop words they are every
            // "long" ("how long does the session last", "how long do I wait").
            "testo troppo lungo",
            "descrizione troppo lunga",
            "text too long",
            "description too long",
            "too many characters",
            "character limit",
            "limite di caratteri",
        ],
        &["campo", "nome del file"],
    ),
    g(
        "tax code",
        &[
            "codice fiscale",
            "tax code",
            "fiscal code",
            "omocodia",
            "omocodico",
            "codice omocodico",
        ],
        &["codice otp", "iuv"],
    ),
    g(
        "foreign subject",
        &["estero", "straniero", "foreign", "foreigner", "cittadino straniero"],
        &["codice fiscale"],
    ),
    g(
        "company as a subject",
        &["società", "azienda", "persona giuridica", "company", "partita iva"],
        &["fattura"],
    ),
    g(
        "official form templates",
        &[
            "modulistica",
            "modulo",
            "moduli",
            "modello",
            "modelli",
            "template",
            "versione vigente",
        ],
        &["tipo di pratica"],
    ),
    // Payments.
    g(
        "payment",
        &[
            "pagamento",
            "pagare",
            "payment",
            "pay",
            "paid",
            "fee",
            "fees",
            "diritti",
            "versamento",
            "importo",
            "unpaid",
            "non pagato",
            "pagopa",
            "saldare",
            "saldato",
            "versare",
        ],
        &["ricevuta di presentazione", "marca da bollo"],
    ),
    g(
        "payment receipt",
        &[
            "quietanza",
            "ricevuta di pagamento",
            "ricevuta pagopa",
            "ricevuta telematica",
            "payment receipt",
            "attestazione di pagamento",
            "prova del pagamento",
            "prova di pagamento",
            "attestato di pagamento",
            "conferma di pagamento",
            "proof of payment",
        ],
        &["ricevuta di presentazione", "protocollo"],
    ),
    g(
        "payment notice (pagoPA)",
        &[
            "avviso di pagamento",
            "avviso pagopa",
            "bollettino",
            "iuv",
            "payment notice",
            "codice avviso",
        ],
        &["codice fiscale", "notifica"],
    ),
    g(
        "invoice",
        &["fattura", "fattura elettronica", "invoice", "vat number", "vat", "iva"],
        &["quietanza"],
    ),
    g(
        "whom a receipt names",
        &[
            "intestata",
            "intestato",
            "intestazione",
            "debitore",
            "nominativo",
            // Not "in the name of": without its stop words it is "name", anyone's.
            "receipt in the name",
            "invoice in the name",
        ],
        &["titolare"],
    ),
    g(
        "building fees (oneri)",
        &[
            "oneri",
            "contributo di costruzione",
            "oneri di urbanizzazione",
            "building fees",
            "construction contribution",
            "urbanisation charges",
        ],
        &["diritti"],
    ),
    g(
        "instalments",
        &[
            "rate",
            "rateizzazione",
            "rateizzare",
            // Not "instalments" alone: in English it stems as "install" does (installing a
            // driver).
            "pay in instalments",
            "pay in installments",
            "payment in instalments",
            "a rate",
            "in più rate",
        ],
        &["proroga"],
    ),
    g(
        "stamp duty",
        &[
            "marca da bollo",
            "bollo",
            "imposta di bollo",
            "stamp duty",
            "assolvimento",
            "assolvere",
            "tabaccaio",
            "tabaccheria",
            "revenue stamp",
        ],
        &["timbrato"],
    ),
    // The application and its procedure.
    g(
        "submission receipt",
        &[
            "ricevuta di presentazione",
            "ricevuta di invio",
            "ricevuta di protocollo",
            "submission receipt",
            "proof of submission",
            "ricevuta di avvenuta presentazione",
            "attestazione di presentazione",
            "proof of filing",
        ],
        &["quietanza"],
    ),
    g(
        "summary of the application",
        &[
            "riepilogo",
            "riassuntivo",
            "riassunto",
            "versione stampabile",
            "summary",
        ],
        &["quietanza"],
    ),
    g(
        "deleting",
        &[
            "cancellare",
            "eliminare",
            "togliere",
            "tolgo",
            "rimuovere",
            "delete",
            "remove",
            "cestino",
            "bin",
            "trash",
            "get rid of",
        ],
        &["ritiro"],
    ),
    g(
        "withdrawing a submitted application",
        &[
            "ritiro",
            "ritirare",
            "rinuncia",
            "rinunciare",
            "annullare",
            "annullarla",
            "withdraw",
            "cancel",
            "comunicazione di ritiro",
        ],
        &["bozza"],
    ),
    g("draft", &["bozza", "bozze", "draft"], &["ritiro"]),
    g(
        "integration of documents",
        &[
            "integrazione",
            "integrazioni",
            "documenti mancanti",
            "mancano documenti",
            "documentazione integrativa",
            "missing documents",
            "missing papers",
            "richiesta di integrazione",
            "additional documents",
            "documenti aggiuntivi",
            "documentazione aggiuntiva",
            "documenti richiesti",
        ],
        &["variante"],
    ),
    g(
        "error",
        &[
            "errore",
            "errori",
            "error",
            "errors",
            // So that "tecnico" here is not the professional (the longest form wins).
            "problema tecnico",
            "errore tecnico",
            "technical problem",
        ],
        &["rifiutato"],
    ),
    g(
        "rejected",
        &[
            "scartato",
            "rifiutato",
            "respinto",
            "rejected",
            "refused",
            "rejects",
            "non accetta",
            "non accettato",
            "non valido",
            "non consentito",
            "non consentita",
            "invalid",
        ],
        &["errore"],
    ),
    g(
        "municipal office",
        &[
            "ufficio",
            "ufficio tecnico",
            "comune",
            "municipal office",
            "municipality",
            "town hall",
            "council",
        ],
        &["studio"],
    ),
    g(
        "application (pratica)",
        &[
            "pratica",
            "istanza",
            "application",
            "permit application",
            "permit request",
            "domanda",
        ],
        &["modulo"],
    ),
    g(
        "type of procedure",
        &[
            "tipo di pratica",
            "tipo di procedimento",
            "procedimento sbagliato",
            "quale procedura",
            "which procedure",
            "kind of application",
            "type of application",
            "cila",
            "scia",
        ],
        &["modulistica"],
    ),
    g(
        "regularising works done without a permit",
        &[
            "sanatoria",
            "accertamento di conformità",
            "regolarizzare",
            "regularise",
            "regularize",
            "senza titolo",
            "without any permit",
        ],
        &["agibilità"],
    ),
    g(
        "protocol number",
        &[
            "protocollo",
            "numero di protocollo",
            "protocol number",
            "registry reference",
            "protocollata",
            "segnatura",
            "segnatura di protocollo",
            "protocol",
        ],
        &["registrazione"],
    ),
    g(
        "certified e-mail (PEC)",
        &[
            "pec",
            "posta certificata",
            "posta elettronica certificata",
            "certified mail",
            "certified e-mail",
            "certified email",
            "casella certificata",
            "comunicazione certificata",
            "registered e-mail",
        ],
        &["spam", "promemoria"],
    ),
    g(
        "e-mail",
        &["email", "e-mail", "indirizzo di posta", "mail", "casella di posta"],
        &["campo"],
    ),
    g(
        "spam folder",
        &["spam", "posta indesiderata", "junk", "antispam"],
        &["pec"],
    ),
    g(
        "notifications and reminders",
        &[
            "notifica",
            "notifiche",
            "notification",
            "notifications",
            "promemoria",
            "reminder",
            "reminders",
        ],
        &["pec"],
    ),
    g(
        "power of attorney",
        &[
            "delega",
            "procura",
            "procura speciale",
            "proxy",
            "per conto del committente",
            "on behalf",
        ],
        &["collaboratore"],
    ),
    g(
        "sharing with a collaborator",
        &[
            "collaboratore",
            "collaboratori",
            "condividere",
            "condivisa",
            "condivisione",
            "collega",
            "colleague",
            "share",
            "assistant",
        ],
        &["delega", "procura"],
    ),
    g(
        "professional (technician)",
        &[
            "tecnico",
            // Not "progettista" alone: its stem is "progetto"'s, the drawings of every
            // application.
            "tecnico progettista",
            "progettista incaricato",
            "professionista",
            "architetto",
            "ingegnere",
            "geometra",
            "engineer",
            "architect",
            // Not "designer": it stems as "design", the structural design of a deposit.
        ],
        &["impresa"],
    ),
    g(
        "construction company",
        &[
            "impresa",
            "impresa esecutrice",
            "ditta",
            "construction company",
            "construction firm",
            "builder",
            "contractor",
        ],
        &["tecnico"],
    ),
    g("DURC", &["durc", "regolarità contributiva"], &["codice fiscale"]),
    g(
        "start of works",
        &[
            "inizio lavori",
            "inizio dei lavori",
            "avvio lavori",
            "start of works",
            "works begin",
            "start date",
        ],
        &["fine lavori"],
    ),
    g(
        "end of works",
        &[
            "fine lavori",
            "ultimazione lavori",
            "ultimazione dei lavori",
            "lavori terminati",
            "finiti i lavori",
            "end of works",
            "completion of works",
            "works are finished",
        ],
        &["inizio lavori"],
    ),
    g(
        "certificate of occupancy (agibilità)",
        &[
            "agibilità",
            "abitabilità",
            "sca",
            "certificate of occupancy",
            "habitability",
            "occupancy",
        ],
        &["sanatoria"],
    ),
    g(
        "variant to an approved project",
        &[
            "variante",
            "varianti",
            "variation",
            "variant",
            "modifica al progetto",
            "modified project",
        ],
        &["integrazione", "proroga"],
    ),
    g(
        "extension of a deadline",
        &[
            "proroga",
            "prorogare",
            "extension",
            "more time",
            "spostamento del termine",
        ],
        &["variante", "rate"],
    ),
    g(
        "review of the application",
        &[
            "istruttoria",
            "iter",
            "responsabile del procedimento",
            "under review",
            "funzionario",
            "who is handling",
            "avanzamento della pratica",
            "application status",
            "status",
        ],
        &["protocollo"],
    ),
    g(
        "appointment with the office",
        &[
            "appuntamento",
            "prenotazione",
            "prenotare",
            "prenota",
            "colloquio",
            "incontro",
            "orario di ricevimento",
            "ricevimento del pubblico",
            "meeting",
            "appointment",
            "book",
        ],
        &["ufficio"],
    ),
    g(
        "landscape protection",
        &[
            "paesaggistica",
            "paesaggistico",
            "vincolo paesaggistico",
            "zona vincolata",
            "landscape",
            "soprintendenza",
            "protected area",
        ],
        &["sismica"],
    ),
    g(
        "seismic deposit, structures",
        &[
            "sismico",
            "sismica",
            "deposito sismico",
            "zona sismica",
            "seismic",
            "earthquake",
            "strutturale",
            "strutturali",
            "structural",
            "strutture",
        ],
        &["paesaggistica"],
    ),
    g(
        "access to records (archive)",
        &[
            "accesso agli atti",
            "accesso atti",
            "visione",
            "titoli edilizi",
            "licenza edilizia",
            // Not "archivio" or "archive" alone: a zip archive of the application's files is
            // another sense.
            "archivio comunale",
            "archivio storico",
            "archivio edilizio",
            "municipal archive",
            "building records",
            "licences",
        ],
        &["login"],
    ),
    g(
        "the site map",
        &[
            "mappa",
            "cartina",
            "localizzazione",
            "map",
            "geolocalizzazione",
            "cartografia",
            "cartografico",
            "segnaposto",
            "marker",
            "geoportale",
        ],
        &["catasto"],
    ),
    g(
        "cadastral data",
        &[
            "catasto",
            "catastali",
            "catastale",
            "particella",
            "mappale",
            "subalterno",
            "foglio e particella",
            "cadastral",
        ],
        &["tavole"],
    ),
    g(
        "stamped copy of the permit",
        &[
            "timbrato",
            "timbrata",
            "timbro",
            "copia conforme",
            "permesso rilasciato",
            "stamped",
            "stamped copy",
        ],
        &["marca da bollo", "firma"],
    ),
    g("printing", &["stampare", "stampa", "print", "printing"], &["tavole"]),
    g(
        "duplicate",
        &[
            "duplicata",
            "duplicato",
            "doppia",
            "due volte",
            "duplicate",
            "twice",
            "doppio invio",
            // Not "identiche" alone: its stem is "identità"'s.
            "pratiche identiche",
            "domande identiche",
            "due identiche",
            "doppione",
            "double",
        ],
        &["variante"],
    ),
    g(
        "the portal, the website",
        &[
            "portale",
            "sito",
            "sito web",
            "piattaforma",
            "website",
            "portal",
            "site",
            "web site",
            "cportal",
        ],
        &["browser"],
    ),
    g(
        "sending, submitting the application",
        &[
            "inviare",
            "invio",
            "inoltrare",
            "inoltro",
            "trasmettere",
            "trasmissione",
            "trasmesso",
            "trasmessa",
            "depositare",
            "submit",
            "submitted",
            "submission",
        ],
        &["ricevuta di presentazione", "notifica"],
    ),
    g(
        "a co-owner, a co-applicant",
        &[
            "comproprietario",
            "comproprietari",
            "cointestatario",
            "cointestatari",
            "contitolare",
            "secondo proprietario",
            "altro proprietario",
            "co-owner",
            "co-applicant",
            "joint owner",
        ],
        &["collaboratore", "procura"],
    ),
    g(
        "pasting text",
        &[
            "copia e incolla",
            "incollare",
            "incollato",
            "incollo",
            "paste",
            "pasted",
            "copy and paste",
        ],
        &["caricare", "copia timbrata"],
    ),
    g(
        "a drop-down menu",
        &["menu a tendina", "tendina", "drop-down", "dropdown", "drop down"],
        &["popup"],
    ),
    g(
        "file type, extension",
        &[
            "estensione",
            "estensioni",
            "tipo di file",
            "formato del file",
            "file type",
            "file format",
            "file extension",
            // The formats people try to attach besides PDF (the CAD ones are their own sense).
            "png",
            "jpg",
            "jpeg",
            "tif",
            "tiff",
            "heic",
            "bmp",
            "gif",
            "doc",
            "docx",
            "odt",
            "xls",
            "xlsx",
            "rtf",
        ],
        &["dwg", "pdf/a"],
    ),
];

/// A form of a group, analysed both ways.
struct Form {
    italian: Vec<String>,
    english: Vec<String>,
}

/// Each group's forms, analysed at first use.
static ANALYSED: LazyLock<Vec<Vec<Form>>> = LazyLock::new(|| {
    GROUPS
        .iter()
        .map(|group| {
            group
                .forms
                .iter()
                .map(|form| Form {
                    italian: analyze(form),
                    english: analyze_english(form),
                })
                .filter(|f| !f.italian.is_empty())
                .collect()
        })
        .collect()
});

/// A form found in the query: its group, where, how many words.
#[derive(Clone, Copy)]
struct Match {
    group: usize,
    english: bool,
    start: usize,
    len: usize,
}

/// How many words may stand between two words of a form ("lo schermo resta completamente
/// vuoto" is a blank screen; "mancano alcuni documenti", missing documents).
const GAP: usize = 2;

/// Where `needle` occurs in `haystack`: its words in order, each at most [`GAP`] words after
/// the one before; the span from its first word to its last.
fn find_runs(haystack: &[String], needle: &[String], group: usize, english: bool, out: &mut Vec<Match>) {
    let Some(first) = needle.first() else { return };
    for (start, word) in haystack.iter().enumerate() {
        if word != first {
            continue;
        }
        let mut at = start;
        let mut whole = true;
        for next in &needle[1..] {
            let window = at + 1..(at + 2 + GAP).min(haystack.len());
            match haystack[window.clone()].iter().position(|w| w == next) {
                Some(offset) => at = window.start + offset,
                None => {
                    whole = false;
                    break;
                }
            }
        }
        if whole {
            out.push(Match {
                group,
                english,
                start,
                len: at + 1 - start,
            });
        }
    }
}

/// The groups a query names: every form found in its stems (and its English stems), the
/// longest first, a word taken by a longer form not matched again.
fn groups_in(italian: &[String], english: Option<&[String]>) -> Vec<usize> {
    let mut found = Vec::new();
    for (index, forms) in ANALYSED.iter().enumerate() {
        for form in forms {
            find_runs(italian, &form.italian, index, false, &mut found);
            if let Some(english) = english {
                find_runs(english, &form.english, index, true, &mut found);
            }
        }
    }
    found.sort_by(|a, b| b.len.cmp(&a.len).then(a.start.cmp(&b.start)));
    let mut taken_it = vec![false; italian.len()];
    let mut taken_en = vec![false; english.map_or(0, <[String]>::len)];
    let mut groups = Vec::new();
    for m in found {
        let taken = if m.english { &mut taken_en } else { &mut taken_it };
        let span = m.start..m.start + m.len;
        if taken[span.clone()].iter().any(|t| *t) {
            continue;
        }
        taken[span].iter_mut().for_each(|t| *t = true);
        if !groups.contains(&m.group) {
            groups.push(m.group);
        }
    }
    groups
}

/// The senses a query names (by group index), each with the stems of all its wordings.
pub fn expansion(terms: &[String], english: Option<&[String]>) -> Vec<(usize, Vec<String>)> {
    groups_in(terms, english)
        .into_iter()
        .map(|g| {
            let mut stems: Vec<String> = ANALYSED[g].iter().flat_map(|f| f.italian.iter().cloned()).collect();
            stems.sort();
            stems.dedup();
            (g, stems)
        })
        .collect()
}

/// The terms of a query with their weights: the query's own stems weigh 1, the stems of the
/// other wordings of the senses it names weigh `expansion` (the query's own weight wins).
pub fn expand_weighted(terms: &[String], english: Option<&[String]>, expansion: f64) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for group in groups_in(terms, english) {
        for form in &ANALYSED[group] {
            for stem in &form.italian {
                out.insert(stem.clone(), expansion);
            }
        }
    }
    for t in terms {
        out.insert(t.clone(), 1.0);
    }
    out
}

/// The query's stems plus those of every wording of the senses it names (Italian matching
/// only), sorted.
pub fn expand(terms: &[String]) -> Vec<String> {
    expand_weighted(terms, None, 0.5).into_keys().collect()
}

/// The senses (group indices) a text names, for the tests and `kb search --explain`.
pub fn senses(text: &str) -> Vec<&'static str> {
    let terms = analyze(text);
    let (naming, english) = super::analyze::sense_terms(text, &terms);
    let mut groups = groups_in(&naming, english.as_deref());
    groups.sort_unstable();
    groups.into_iter().map(|g| GROUPS[g].sense).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(text: &str) -> Vec<String> {
        let english = analyze_english(text);
        expand_weighted(&analyze(text), Some(&english), 0.5)
            .into_keys()
            .collect()
    }

    #[test]
    fn a_query_reaches_the_other_wordings_of_its_words() {
        let expanded_it = expand(&analyze("non ricordo la parola chiave"));
        for wording in ["password", "reset"] {
            assert!(
                expanded_it.contains(&analyze(wording)[0]),
                "{wording} missing from {expanded_it:?}"
            );
        }
        let english = expanded("the payment went through but the fee shows unpaid");
        assert!(english.contains(&analyze("pagamento")[0]), "{english:?}");
        // A lone generic word of a multi-word form does not drag the group in.
        let plain = expand(&analyze("firma digitale"));
        assert!(!plain.contains(&analyze("spid")[0]), "{plain:?}");
    }

    /// Words whose stem is another sense's wording name only what they mean: Italian words
    /// sharing a stem with a form of another sense, and English words whose Italian (or
    /// English) stem is an Italian form's.
    #[test]
    fn a_word_sharing_a_stem_with_another_sense_does_not_pull_it() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            // (request, senses it must name, senses it must not name)
            (
                "ho ricevuto una mail dal portale",
                &["e-mail"],
                &["appointment with the office"],
            ),
            (
                "vorrei un appuntamento in orario di ricevimento",
                &["appointment with the office"],
                &[],
            ),
            ("è importante, la pratica scade domani", &["expired"], &["payment"]),
            ("verso le dieci il portale non risponde", &[], &["payment"]),
            (
                "ho caricato il documento di identità del committente",
                &["uploading a file"],
                &["duplicate"],
            ),
            ("adesso vedo due pratiche identiche nell'elenco", &["duplicate"], &[]),
            (
                "il progetto non si carica",
                &["uploading a file"],
                &["professional (technician)"],
            ),
            (
                "ho un problema tecnico con la pratica",
                &["error"],
                &["professional (technician)"],
            ),
            (
                "ho scritto all'ufficio tecnico",
                &["municipal office"],
                &["professional (technician)"],
            ),
            (
                "il tecnico incaricato non vede la pratica",
                &["professional (technician)"],
                &[],
            ),
            ("ho un conto da pagare", &["payment"], &["power of attorney"]),
            ("the page does not load", &[], &["payment"]),
            (
                "my firm cannot submit the application",
                &["sending, submitting the application"],
                &["digital signature"],
            ),
            (
                "I cannot import the drawings into the form",
                &["drawing sheets"],
                &["payment"],
            ),
            ("the stamp on the printed copy is missing", &[], &["printing"]),
            ("my name is wrong on the profile", &[], &["whom a receipt names"]),
            (
                "the receipt is in the name of my client",
                &["whom a receipt names"],
                &[],
            ),
            ("the file name is too long", &["file name"], &["whom a receipt names"]),
            // Forms that lost their stop words: "PDF/A" in English, "non aggiornato",
            // "non modificabile", "too long".
            ("my PDF is signed but rejected", &["rejected"], &["PDF/A"]),
            ("the portal says my PDF is not PDF/A compliant", &["PDF/A"], &[]),
            ("dove trovo il modello aggiornato?", &[], &["outdated software"]),
            (
                "il mio browser non aggiornato non apre il portale",
                &["outdated software"],
                &[],
            ),
            (
                "come faccio a far modificare la pratica a un collega?",
                &[],
                &["fields that cannot be edited"],
            ),
            (
                "i campi non modificabili sono grigi",
                &["fields that cannot be edited"],
                &[],
            ),
            (
                "how long do I have to wait after too many attempts?",
                &[],
                &["description length"],
            ),
            ("the description is too long", &["description length"], &[]),
            // A button is disabled too: the application that cannot be sent.
            (
                "the submit button stays disabled",
                &["sending, submitting the application"],
                &["fields that cannot be edited"],
            ),
            // English stems shared across senses: "install"/"instalment", "design"/"designer".
            ("which drivers should I install?", &[], &["instalments"]),
            ("can I pay in instalments?", &["instalments"], &[]),
            (
                "where do we file the structural design?",
                &["seismic deposit, structures"],
                &["professional (technician)"],
            ),
            // A zip archive is not the municipal archive.
            (
                "can I download every attachment in one zip archive?",
                &["downloading"],
                &["access to records (archive)"],
            ),
            (
                "vorrei consultare l'archivio comunale",
                &["access to records (archive)"],
                &[],
            ),
            // The formats people try besides PDF, and a signing key (not a password).
            (
                "il file .tif non è consentito",
                &["file type, extension", "rejected"],
                &["CAD formats"],
            ),
            (
                "my signing key is not detected",
                &["signature device and reader"],
                &["password"],
            ),
        ];
        for (request, named, not) in cases {
            let got = senses(request);
            for sense in *named {
                assert!(got.contains(sense), "{request:?} names {got:?}, not {sense:?}");
            }
            for sense in *not {
                assert!(!got.contains(sense), "{request:?} names {sense:?} ({got:?})");
            }
        }
    }

    /// Every group, each of its forms: it names the group's sense and none of the senses of
    /// the nearby words the group lists in `not`; and none of those words names the group.
    #[test]
    fn each_group_holds_one_sense() {
        for group in GROUPS {
            assert!(
                !group.not.is_empty(),
                "{}: name a nearby sense it must not pull",
                group.sense
            );
            let nearby: Vec<&str> = group.not.iter().flat_map(|w| senses(w)).collect();
            for form in group.forms {
                let named = senses(form);
                assert!(
                    named.contains(&group.sense),
                    "{}: {form:?} names {named:?}",
                    group.sense
                );
                for other in &nearby {
                    assert!(
                        !named.contains(other),
                        "{}: {form:?} pulls {other:?} as well",
                        group.sense
                    );
                }
            }
            for other in group.not {
                assert!(
                    !senses(other).contains(&group.sense),
                    "{}: {other:?} pulls it in",
                    group.sense
                );
            }
        }
    }

    /// A single-word form names one sense only: were it in two groups, it would pull both.
    #[test]
    fn no_word_stands_for_two_senses() {
        let mut owner: BTreeMap<Vec<String>, &str> = BTreeMap::new();
        for (group, forms) in GROUPS.iter().zip(ANALYSED.iter()) {
            assert_eq!(
                forms.len(),
                group.forms.len(),
                "{}: a form analyses to nothing",
                group.sense
            );
            for form in forms {
                if let Some(first) = owner.insert(form.italian.clone(), group.sense)
                    && first != group.sense
                {
                    panic!("{:?} is in {first:?} and in {:?}", form.italian, group.sense);
                }
            }
        }
    }

    /// The confusions of issue 19 and their like, spelled out.
    #[test]
    fn words_that_look_alike_keep_their_senses() {
        // (text, a sense it names, if any; a sense it must not pull)
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("campi obbligatori vuoti", Some("a form field"), "description length"),
            ("campi", Some("a form field"), "file name"),
            (
                "fields greyed out",
                Some("fields that cannot be edited"),
                "account locked after failed attempts",
            ),
            ("invalid file name", Some("file name"), "description length"),
            ("sessione scaduta", Some("session timeout"), "expired"),
            ("accesso agli atti", Some("access to records (archive)"), "logging in"),
            ("spostare due finestre", None, "popup windows"),
            (
                "ricevuta di presentazione",
                Some("submission receipt"),
                "payment receipt",
            ),
            (
                "codice fiscale non valido",
                Some("tax code"),
                "remote signature and OTP",
            ),
            (
                "lettore di schermo",
                Some("screen reader and accessibility"),
                "signature device and reader",
            ),
            ("casella di posta", Some("e-mail"), "a form field"),
            ("how do I sign up", Some("registering an account"), "digital signature"),
        ];
        for (text, wanted, unwanted) in cases {
            let found = senses(text);
            assert!(!found.contains(unwanted), "{text:?} pulls {unwanted:?}: {found:?}");
            if let Some(wanted) = wanted {
                assert!(found.contains(wanted), "{text:?} misses {wanted:?}: {found:?}");
            }
        }
    }
}
