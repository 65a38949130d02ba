//! Why an operator's mail, or one line of it, is not applied: one closed list, written in the
//! operator's language when they are told (issue 21, item 13: every error was English).
//!
//! The parser and the desk's refusal rules say *what* is wrong as data; [`Problem::text`] is the
//! one place that words it, in Italian or English.

use chrono::{NaiveDate, NaiveDateTime};

use crate::config::Language;
use crate::model::{Status, TicketId};

/// What an argument should have been.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// An operator's name or address (`#assegna`).
    Operator,
    /// An e-mail address (`#email`).
    Address,
    /// A stored answer's name (`#risposta`).
    AnswerName,
    /// A ticket number (`#collega`).
    Ticket,
    /// A knowledge-base entry (`#kb no KB-12`).
    KbEntry,
}

/// One reason a mail (or a line of it) is not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A tag below the text (or a signature), where it would have reached the requester.
    TagOutOfPlace {
        /// The tag found.
        tag: String,
        /// Its line in the text written above the quote, from 1.
        line_number: usize,
    },
    /// A tag nobody knows, maybe with the one meant.
    UnknownTag {
        /// As written, without `#`.
        tag: String,
        /// The known tag it is closest to.
        suggestion: Option<String>,
    },
    /// A tag without the argument it needs.
    MissingArgument {
        /// The tag (Italian spelling, without `#`).
        tag: &'static str,
        /// What it needs.
        expected: Expected,
    },
    /// A tag that takes no argument was given one.
    UnexpectedArgument {
        /// The tag.
        tag: &'static str,
        /// What followed it.
        found: String,
    },
    /// `#tempo` with something that is no duration.
    BadDuration {
        /// What was written.
        found: String,
    },
    /// `#email` with something that is no address.
    BadAddress {
        /// What was written.
        found: String,
    },
    /// `#remoto` without a date and a time (and minutes from 5 to 480).
    BadRemote {
        /// What was written.
        found: String,
    },
    /// `#assente` without a day.
    AwayWithoutDay,
    /// `#assente` with something that is no day.
    BadDay {
        /// What was written.
        found: String,
    },
    /// `#assente` ending before it starts.
    BadAbsence {
        /// The first day written.
        from: NaiveDate,
        /// The last day written.
        until: NaiveDate,
    },
    /// `#assente … sostituto NAME` naming the operator themselves.
    OwnDeputy,
    /// `#prendo` or `#assegna` on a ticket another technician holds (issue 15, item 1).
    HeldBy {
        /// The ticket.
        ticket: TicketId,
        /// The holder's name.
        holder: String,
    },
    /// `#assegna NAME` or `#secondolivello NAME` naming an operator who is away.
    OperatorAway {
        /// Their name.
        name: String,
        /// Their last day away.
        until: NaiveDate,
        /// Who stands in for them, if anyone.
        deputy: Option<String>,
    },
    /// The same, for an operator marked away in the configuration (no last day known).
    OperatorOff {
        /// Their name.
        name: String,
        /// Who stands in for them, if anyone.
        deputy: Option<String>,
    },
    /// `#risposta` with something that cannot name a stored answer.
    BadAnswerName {
        /// What was written.
        found: String,
    },
    /// `#risposta NAME` when no stored answer (or reviewed article) is called so.
    NoSuchAnswer {
        /// The name written.
        name: String,
        /// The stored answers there are.
        known: Vec<String>,
    },
    /// `#collega` with something that is no ticket number.
    BadTicket {
        /// What was written.
        found: String,
    },
    /// `#collega` naming a ticket that does not exist.
    NoSuchTicket {
        /// The number written.
        ticket: TicketId,
    },
    /// `#collega` naming the ticket itself (or one linked to it).
    LinkToItself,
    /// `#collega` naming a master that is closed already.
    MasterClosed {
        /// The master.
        master: TicketId,
    },
    /// `#chiedi` naming the sender.
    AskYourself,
    /// `#chiedi NAME` without the question.
    QuestionMissing,
    /// Neither tags nor text.
    EmptyMail,
    /// Untagged text on a closed ticket.
    AnswerOnClosed {
        /// The ticket.
        ticket: TicketId,
        /// Resolved or archived.
        status: Status,
    },
    /// A command that needs an open ticket, on a closed one.
    Closed {
        /// The ticket.
        ticket: TicketId,
        /// Resolved or archived.
        status: Status,
    },
    /// Closing a ticket that is closed.
    AlreadyClosed {
        /// The ticket.
        ticket: TicketId,
        /// Resolved or archived.
        status: Status,
    },
    /// Nobody of that name.
    NoSuchOperator {
        /// As written.
        name: String,
        /// Who there is (names), so the operator can pick.
        known: Vec<String>,
    },
    /// `#secondolivello NAME` naming a first-level operator.
    NotSecondLevel {
        /// Their name.
        name: String,
    },
    /// `#secondolivello` on a ticket at second level.
    AlreadySecondLevel {
        /// The ticket.
        ticket: TicketId,
    },
    /// `#risolto` without the resolution.
    ResolutionMissing,
    /// `#nota` without its text.
    NoteMissing,
    /// `#telefono` on a ticket without the call's summary.
    CallSummaryMissing,
    /// `#remoto` by a first-level operator.
    RemoteIsSecondLevel,
    /// `#remoto` for a requester without e-mail.
    RemoteWithoutAddress,
    /// `#remoto` at a time past, or skipped by the clock change.
    RemoteTimeInvalid {
        /// The local time written.
        at: NaiveDateTime,
    },
    /// `#kb` on a ticket not resolved yet.
    KbNotResolved {
        /// The ticket.
        ticket: TicketId,
    },
    /// `#kb` on a ticket closed without a resolution.
    KbNoEntry {
        /// The ticket.
        ticket: TicketId,
    },
    /// A tag that belongs in a new mail, in a reply about a ticket.
    NewMailOnly,
    /// `#nuovo` without `#telefono NUMBER`.
    PhoneNumberMissing,
    /// `#telefono` with something that is no phone number.
    NotAPhoneNumber,
    /// `#nuovo` without the caller's request.
    CallerRequestMissing,
    /// `#tempo -…` taking away more than was logged.
    TimeBelowZero {
        /// The ticket.
        ticket: TicketId,
        /// Minutes logged so far.
        logged: i64,
    },
    /// A ticket command in a mail that names no ticket.
    TicketMissing,
    /// A mail that names no ticket and has no tags.
    NoTags,
    /// Commands on a ticket not sent as a reply to one of our mails about it.
    NotAReply,
    /// `#cc` with something that is not one address.
    BadCopy {
        /// What was written.
        found: String,
    },
    /// `#cc` naming someone who gets the letters anyway, or must never be copied.
    CopyRefused {
        /// The address.
        address: String,
        /// Who they are.
        who: CopyRefusal,
    },
    /// `#spam` with a tag that would work the ticket or write to the requester.
    SpamNotAlone {
        /// The other tag.
        tag: &'static str,
    },
    /// A tag line of a reply to the digest that names no ticket.
    DigestTicketMissing,
    /// A reply to the digest naming several tickets, with text below the tags for none of them.
    DigestTextForWhom,
    /// A reply to the digest naming a ticket the digest did not list.
    NotInDigest {
        /// The ticket named.
        ticket: TicketId,
    },
    /// `#kb no KB-N` naming an entry the knowledge base does not hold.
    KbNoSuchEntry {
        /// The entry named.
        entry: i64,
    },
}

/// Why an address cannot be put in copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyRefusal {
    /// The requester (they get every letter).
    Requester,
    /// An operator (operators follow tickets through notices, never through letters).
    Operator,
    /// The help desk's own address (a loop).
    HelpDesk,
}

impl Problem {
    /// The problem in words, for the operator.
    pub fn text(&self, language: Language) -> String {
        let it = language == Language::It;
        let status = |s: &Status| match (s, it) {
            (Status::New, true) => "da prendere in carico",
            (Status::Assigned, true) => "in carico",
            (Status::Resolved, true) => "risolta",
            (Status::Archived, true) => "archiviata",
            (s, false) => s.as_str(),
        };
        let pick = |italian: String, english: String| if it { italian } else { english };
        match self {
            Problem::UnknownTag { tag, suggestion } => match suggestion {
                Some(s) => pick(
                    format!("tag #{tag} sconosciuto: forse intendevi #{s}?"),
                    format!("unknown tag #{tag}; did you mean #{s}?"),
                ),
                None => pick(
                    format!("tag #{tag} sconosciuto: #aiuto li elenca tutti"),
                    format!("unknown tag #{tag}; #help lists them all"),
                ),
            },
            Problem::TagOutOfPlace { tag, line_number } => pick(
                format!("{tag} è alla riga {line_number}, sotto il testo: i tag vanno all'inizio della risposta, uno per riga (al massimo dopo una riga di saluto); il messaggio non è stato inviato a nessuno"),
                format!("{tag} is on line {line_number}, below the text: tags go at the top of the reply, one per line (after a greeting line at most); the mail was sent to nobody"),
            ),
            Problem::MissingArgument { tag, expected } => match expected {
                Expected::Operator => pick(
                    format!("#{tag} vuole il nome o l'indirizzo di un operatore"),
                    format!("#{tag} needs an operator's name or address"),
                ),
                Expected::Address => pick(
                    format!("#{tag} vuole un indirizzo e-mail"),
                    format!("#{tag} needs an e-mail address"),
                ),
                Expected::AnswerName => pick(
                    format!("#{tag} vuole il nome di una risposta salvata (#risposte le elenca) o kb:NUMERO"),
                    format!("#{tag} needs the name of a stored answer (#risposte lists them) or kb:NUMBER"),
                ),
                Expected::Ticket => pick(
                    format!("#{tag} vuole il numero della richiesta principale, come TCK-2026-00042"),
                    format!("#{tag} needs the master ticket's number, like TCK-2026-00042"),
                ),
                Expected::KbEntry => pick(
                    format!("#{tag} no vuole la voce suggerita che non fa al caso, come #kb no KB-12"),
                    format!("#{tag} no needs the suggested entry that does not fit, as in #kb no KB-12"),
                ),
            },
            Problem::UnexpectedArgument { tag, found } => pick(
                format!("#{tag} non vuole altro sulla sua riga (trovato {found:?}): scrivi il testo sotto i tag"),
                format!("#{tag} takes no arguments (found {found:?}): write the text below the tags"),
            ),
            Problem::BadDuration { found } => pick(
                format!("#tempo vuole una durata come 20m, 30 min, 1h, 1 ora, 1h30 o 1,5h, oppure -30m per correggere (trovato {found:?})"),
                format!("#tempo needs a duration like 20m, 1h, 1h30m or 1.5h, or -30m to correct (found {found:?})"),
            ),
            Problem::BadAddress { found } => pick(
                format!("#email vuole un indirizzo come nome@example.it (trovato {found:?})"),
                format!("#email needs an address like nome@example.it (found {found:?})"),
            ),
            Problem::BadRemote { found } => pick(
                format!("#remoto vuole data, ora e, se vuoi, i minuti (da 5 a 480): 12/03/2026 15:00 45 (trovato {found:?})"),
                format!("#remoto needs a date, a time and optionally minutes (5 to 480): 2026-03-12 15:00 45 (found {found:?})"),
            ),
            Problem::AwayWithoutDay => pick(
                "#assente vuole l'ultimo giorno di assenza (24/12/2026), oppure \"no\" al rientro".into(),
                "#assente needs the last day away (2026-12-24), or \"no\" when back".into(),
            ),
            Problem::BadDay { found } => pick(
                format!("#assente vuole una data come 24/12/2026 o 2026-12-24 (trovato {found:?})"),
                format!("#assente needs a date like 2026-12-24 or 24/12/2026 (found {found:?})"),
            ),
            Problem::BadAbsence { from, until } => pick(
                format!(
                    "l'assenza finisce ({}) prima di cominciare ({})",
                    until.format("%d/%m/%Y"),
                    from.format("%d/%m/%Y")
                ),
                format!("the absence ends ({until}) before it starts ({from})"),
            ),
            Problem::OwnDeputy => pick(
                "il sostituto dev'essere un altro operatore".into(),
                "the deputy must be another operator".into(),
            ),
            Problem::HeldBy { ticket, holder } => pick(
                format!("{ticket} è in carico a {holder}: può passarla ad altri solo {holder} o un supervisore (#assegna); per lavorarci insieme usa #nota o #chiedi"),
                format!("{ticket} is held by {holder}: only {holder} or a supervisor may hand it on (#assegna); to work on it together use #nota or #chiedi"),
            ),
            Problem::OperatorAway { name, until, deputy } => {
                let (it_deputy, en_deputy) = match deputy {
                    Some(d) => (format!(": la sostituisce {d}"), format!(": {d} stands in")),
                    None => (String::new(), String::new()),
                };
                pick(
                    format!("{name} è assente fino al {}{it_deputy}", until.format("%d/%m/%Y")),
                    format!("{name} is away until {until}{en_deputy}"),
                )
            }
            Problem::OperatorOff { name, deputy } => match deputy {
                Some(d) => pick(
                    format!("{name} è assente: la sostituisce {d}"),
                    format!("{name} is away: {d} stands in"),
                ),
                None => pick(format!("{name} è assente"), format!("{name} is away")),
            },
            Problem::BadAnswerName { found } => pick(
                format!("{found:?} non è il nome di una risposta salvata: lettere, cifre, - e _, oppure kb:NUMERO"),
                format!("{found:?} is not a stored answer's name: letters, digits, - and _, or kb:NUMBER"),
            ),
            Problem::NoSuchAnswer { name, known } => {
                let list = if known.is_empty() { "nessuna".to_string() } else { known.join(", ") };
                let list_en = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                pick(
                    format!("nessuna risposta salvata si chiama {name:?} (né è un articolo pubblicato della base di conoscenza); le risposte sono: {list}"),
                    format!("no stored answer is called {name:?} (nor is it a published knowledge-base article); the answers are: {list_en}"),
                )
            }
            Problem::BadTicket { found } => pick(
                format!("{found:?} non è un numero di richiesta come TCK-2026-00042"),
                format!("{found:?} is not a ticket number like TCK-2026-00042"),
            ),
            Problem::NoSuchTicket { ticket } => {
                pick(format!("la richiesta {ticket} non esiste"), format!("ticket {ticket} does not exist"))
            }
            Problem::LinkToItself => pick(
                "una richiesta non può essere collegata a sé stessa".into(),
                "a ticket cannot be linked to itself".into(),
            ),
            Problem::MasterClosed { master } => pick(
                format!("{master} è già chiusa: chiudi questa con #risolto"),
                format!("{master} is closed already: close this one with #risolto"),
            ),
            Problem::AskYourself => pick(
                "#chiedi vuole il nome di un collega, non il tuo".into(),
                "#chiedi needs a colleague's name, not yours".into(),
            ),
            Problem::QuestionMissing => pick(
                "scrivi la domanda per il collega dopo il nome o sotto i tag".into(),
                "write the question for your colleague after the name or below the tags".into(),
            ),
            Problem::EmptyMail => pick(
                "il messaggio non ha né tag né testo".into(),
                "the mail has neither tags nor text".into(),
            ),
            Problem::AnswerOnClosed { ticket, status: s } => pick(
                format!("{ticket} è {}: si riapre solo se scrive il richiedente; per un appunto usa #nota", status(s)),
                format!("{ticket} is {}: reopen it by writing as the requester, or use #nota", status(s)),
            ),
            Problem::Closed { ticket, status: s } => {
                pick(format!("{ticket} è {}", status(s)), format!("{ticket} is {}", status(s)))
            }
            Problem::AlreadyClosed { ticket, status: s } => pick(
                format!("{ticket} è già {}", status(s)),
                format!("{ticket} is already {}", status(s)),
            ),
            Problem::NoSuchOperator { name, known } => pick(
                format!("nessun operatore si chiama {name:?}; gli operatori sono: {}", known.join(", ")),
                format!("no operator is called {name:?}; the operators are: {}", known.join(", ")),
            ),
            Problem::NotSecondLevel { name } => pick(
                format!("{name} non è un operatore di secondo livello"),
                format!("{name} is not a second-level operator"),
            ),
            Problem::AlreadySecondLevel { ticket } => pick(
                format!("{ticket} è già al secondo livello"),
                format!("{ticket} is already at second level"),
            ),
            Problem::ResolutionMissing => pick(
                "scrivi la soluzione sotto il tag: viene inviata al richiedente".into(),
                "write the resolution below the tag: it is sent to the requester".into(),
            ),
            Problem::NoteMissing => pick("scrivi la nota sotto il tag".into(), "write the note below the tag".into()),
            Problem::CallSummaryMissing => pick(
                "scrivi una sintesi della telefonata sotto il tag".into(),
                "write a summary of the call below the tag".into(),
            ),
            Problem::RemoteIsSecondLevel => pick(
                "le sessioni di desktop remoto sono del secondo livello".into(),
                "remote-desktop sessions are for second-level operators".into(),
            ),
            Problem::RemoteWithoutAddress => pick(
                "il richiedente non ha un indirizzo e-mail a cui mandare l'invito".into(),
                "the requester has no e-mail address for the invitation".into(),
            ),
            Problem::RemoteTimeInvalid { at } => pick(
                format!("{} è nel passato o non esiste nell'ora locale", at.format("%d/%m/%Y %H:%M")),
                format!("{} is in the past or not a valid local time", at.format("%Y-%m-%d %H:%M")),
            ),
            Problem::KbNotResolved { ticket } => pick(
                format!("{ticket} non è ancora risolta: aggiungi #kb al messaggio con #risolto, o dopo"),
                format!("{ticket} is not resolved yet: add #kb to the #risolto mail, or later"),
            ),
            Problem::KbNoEntry { ticket } => pick(
                format!("{ticket} non ha una voce nella base di conoscenza: è stata chiusa senza soluzione (#fuoriambito)"),
                format!("{ticket} has no knowledge-base entry: it was closed without a resolution (#fuoriambito)"),
            ),
            Problem::NewMailOnly => pick(
                "questo tag va in un messaggio nuovo, non in una risposta su una richiesta".into(),
                "this tag goes in a new mail, not in a reply about a ticket".into(),
            ),
            Problem::PhoneNumberMissing => pick(
                "una richiesta telefonica vuole #telefono NUMERO".into(),
                "a phone ticket needs #telefono NUMBER".into(),
            ),
            Problem::NotAPhoneNumber => pick(
                "non è un numero di telefono (da 6 a 15 cifre; spazi, +, - ammessi)".into(),
                "not a phone number (6 to 15 digits; spaces, + and - allowed)".into(),
            ),
            Problem::CallerRequestMissing => pick(
                "scrivi la richiesta di chi ha chiamato sotto i tag".into(),
                "write the caller's request below the tags".into(),
            ),
            Problem::TimeBelowZero { ticket, logged } => pick(
                format!("su {ticket} sono registrati solo {logged} minuti: la correzione li porterebbe sotto zero"),
                format!("only {logged} minutes are logged on {ticket}: the correction would take them below zero"),
            ),
            Problem::TicketMissing => pick(
                "questo comando agisce su una richiesta e il messaggio non ne indica nessuna: rispondi alla notifica della richiesta, o alla risposta che la riguarda".into(),
                "this command acts on a ticket, and this mail names none: reply to the notice about the ticket, or to the answer about it".into(),
            ),
            Problem::NoTags => pick(
                "il messaggio non indica una richiesta e non ha tag: per lavorare su una richiesta rispondi alla sua notifica, oppure inizia con #nuovo, #coda o #aiuto".into(),
                "this mail names no ticket and has no tags: reply to a notification to work on a ticket, or start with #nuovo, #coda or #aiuto".into(),
            ),
            Problem::NotAReply => pick(
                "i comandi e le risposte su una richiesta vanno inviati rispondendo a una notifica ricevuta su di essa".into(),
                "commands and answers on a ticket must be sent as a reply to a notification you received about it".into(),
            ),
            Problem::BadCopy { found } => pick(
                format!("#cc vuole un indirizzo come nome@example.it, o -nome@example.it per toglierlo dalle copie (trovato {found:?})"),
                format!("#cc needs one address like name@example.it, or -name@example.it to take it out of the copies (found {found:?})"),
            ),
            Problem::CopyRefused { address, who } => match who {
                CopyRefusal::Requester => pick(
                    format!("{address} è il richiedente: riceve già tutte le lettere"),
                    format!("{address} is the requester: they get every letter already"),
                ),
                CopyRefusal::Operator => pick(
                    format!("{address} è un operatore: gli operatori seguono le richieste dalle notifiche, non in copia delle lettere"),
                    format!("{address} is an operator: operators follow tickets through notices, not as copies of the letters"),
                ),
                CopyRefusal::HelpDesk => pick(
                    format!("{address} è l'indirizzo dell'help desk: non può ricevere copie"),
                    format!("{address} is the help desk's own address: it cannot be copied"),
                ),
            },
            Problem::SpamNotAlone { tag } => pick(
                format!("#spam chiude la richiesta senza scrivere a nessuno: non va insieme a {tag} (al massimo con #nota e #tempo)"),
                format!("#spam closes the ticket writing to nobody: it does not go with {tag} (#nota and #tempo at most)"),
            ),
            Problem::DigestTicketMissing => pick(
                "in una risposta al riepilogo ogni tag indica la sua richiesta subito dopo il tag, ad esempio #prendo TCK-2026-00042 (i tag che non riguardano una richiesta, come #coda o #assente, vanno in un messaggio a parte)".into(),
                "in a reply to the digest every tag names its ticket right after the tag, e.g. #prendo TCK-2026-00042 (tags that concern no ticket, such as #coda or #assente, go in a mail of their own)".into(),
            ),
            Problem::DigestTextForWhom => pick(
                "la risposta nomina più richieste e il testo sotto i tag non dice per quale è: scrivilo sulla riga del tag (#nota TCK-2026-00042 testo), oppure rispondi alla notifica della richiesta".into(),
                "the reply names several tickets and the text below the tags does not say for which: write it on the tag's line (#nota TCK-2026-00042 text), or reply to the ticket's notice".into(),
            ),
            Problem::NotInDigest { ticket } => pick(
                format!("{ticket} non è nel riepilogo a cui rispondi: rispondi alla notifica della richiesta"),
                format!("{ticket} is not in the digest you replied to: reply to the ticket's notice"),
            ),
            Problem::KbNoSuchEntry { entry } => pick(
                format!("KB-{entry} non esiste nella base di conoscenza: controlla il numero tra i suggerimenti della notifica; nessuna voce è stata segnalata"),
                format!("KB-{entry} does not exist in the knowledge base: check the number among the notice's suggestions; nothing was marked"),
            ),
        }
    }
}
