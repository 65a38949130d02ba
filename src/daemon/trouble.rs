//! What a failed connection to a mail server means, in plain words: which server, which
//! section of the configuration, and what to change there (an untrusted certificate → set
//! `ca_file`, TLS spoken to a plain port, a refused login). Pure: it reads an error chain and
//! the server's settings and never touches the network. The daemon logs its words,
//! `check-config --connect` prints them, and `/healthz` carries them for a refused login.

use std::error::Error as StdError;

use tokio_rustls::rustls;

use crate::config::{Server, Tls};
use crate::ingest::imap;
use crate::oauth2;
use crate::outbox;

/// The two mail servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `[mailbox]`, where requests arrive.
    Imap,
    /// `[smtp]`, where replies leave.
    Smtp,
}

impl Service {
    /// The configuration section, as messages name it.
    pub fn section(self) -> &'static str {
        match self {
            Service::Imap => "[mailbox]",
            Service::Smtp => "[smtp]",
        }
    }

    /// The protocol's name.
    pub fn name(self) -> &'static str {
        match self {
            Service::Imap => "IMAP",
            Service::Smtp => "SMTP",
        }
    }

    /// The usual port of TLS from the first byte.
    fn implicit_port(self) -> u16 {
        match self {
            Service::Imap => 993,
            Service::Smtp => 465,
        }
    }

    /// The usual port of plain connections upgraded with STARTTLS.
    fn starttls_port(self) -> u16 {
        match self {
            Service::Imap => 143,
            Service::Smtp => 587,
        }
    }
}

/// What went wrong, as far as the fix is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// The server refused the login (or wants one we cannot give).
    LoginRefused,
    /// The certificate is signed by an authority this machine does not trust.
    UntrustedCertificate,
    /// The certificate names another host.
    WrongCertificateName,
    /// The certificate has expired or is not valid yet.
    ExpiredCertificate,
    /// TLS was spoken to a port that answers in plain text.
    TlsOnPlainPort,
    /// The server never greeted: plain text spoken to a port that expects TLS.
    NoGreeting,
    /// Nothing accepts connections on the host and port.
    NobodyListening,
    /// The host name does not resolve.
    UnknownHost,
    /// The server does not answer (a firewall, a server down).
    NoAnswer,
    /// Anything else.
    Other,
}

impl Trouble {
    /// Whether waiting cannot fix it: the configuration (or the server's) must change.
    pub fn needs_a_change(self) -> bool {
        !matches!(self, Trouble::NobodyListening | Trouble::NoAnswer | Trouble::Other)
    }
}

/// A failed connection, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// What went wrong.
    pub trouble: Trouble,
    /// What went wrong and what to change, in plain words, naming the server and the section.
    pub message: String,
}

/// Every cause of `error`, the errors wrapped inside an `io::Error` included (rustls's
/// certificate errors travel that way, and `io::Error::source` skips them).
fn causes(error: &anyhow::Error) -> Vec<&(dyn StdError + 'static)> {
    let mut out = Vec::new();
    for cause in error.chain() {
        out.push(cause);
        let mut inner = cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .map(|e| e as &(dyn StdError + 'static));
        while let Some(e) = inner {
            out.push(e);
            inner = e.source();
        }
    }
    out
}

/// The error chain in words, without async-imap's debug dump of a server's answer.
fn plain(error: &anyhow::Error) -> String {
    let mut words: Vec<String> = Vec::new();
    for cause in error.chain() {
        if let Some(async_imap::error::Error::No(report) | async_imap::error::Error::Bad(report)) =
            cause.downcast_ref::<async_imap::error::Error>()
        {
            words.push(format!("the server answered \"{}\"", imap::server_words(report)));
            break;
        }
        words.push(cause.to_string());
    }
    // anyhow's chain repeats a source a wrapper already printed: say each part once.
    words.dedup_by(|later, earlier| earlier.ends_with(later.as_str()));
    words.join(": ")
}

/// What `error`, met while connecting to `server` for `service`, means and what to change.
pub fn diagnose(service: Service, server: &Server, error: &anyhow::Error) -> Diagnosis {
    let all = causes(error);
    let section = service.section();
    let name = service.name();
    let at = format!("{name} server {}:{} ({section})", server.host, server.port);
    let (trouble, message) = if let Some(refused) = all.iter().find_map(|c| c.downcast_ref::<oauth2::Refused>()) {
        (Trouble::LoginRefused, token_refusal(section, refused))
    } else if let Some(refused) = all.iter().find_map(|c| c.downcast_ref::<imap::LoginRefused>()) {
        match server.oauth2 {
            Some(_) => (
                Trouble::LoginRefused,
                token_login_refusal(&at, section, &refused.user, &refused.answer),
            ),
            None => (Trouble::LoginRefused, imap_refusal(&at, section, refused)),
        }
    } else if let Some(refused) = all.iter().find_map(|c| c.downcast_ref::<outbox::LoginRefused>()) {
        match (&server.oauth2, refused.code) {
            (Some(_), Some(_)) => (
                Trouble::LoginRefused,
                token_login_refusal(&at, section, refused.user.as_deref().unwrap_or(""), &refused.reply),
            ),
            _ => (Trouble::LoginRefused, smtp_refusal(&at, section, refused)),
        }
    } else if let Some(tls) = all.iter().find_map(|c| c.downcast_ref::<rustls::Error>()) {
        tls_trouble(service, server, &at, tls)
    } else {
        network_trouble(service, server, &at, &all, error)
    };
    Diagnosis { trouble, message }
}

/// The provider refused the client or its grant: no token, no login.
fn token_refusal(section: &str, refused: &oauth2::Refused) -> String {
    let section = format!("{}.oauth2]", section.trim_end_matches(']'));
    let fix = match refused.error.as_str() {
        "invalid_grant" => format!(
            "the refresh token has expired or was revoked (a changed password, withdrawn consent), or the \
             client credentials do not fit this tenant: obtain a new refresh token and put it in {section} \
             refresh_token_file, or check the tenant in token_url"
        ),
        "invalid_scope" => format!("the scope is not granted to this application: check {section} scope"),
        _ => format!(
            "the client secret has expired or was revoked, or the application registration was removed: create a \
             new secret, put it in {section} client_secret_file (and check client_id), then restart sportello"
        ),
    };
    format!("{refused}. {}.", capitalized(&fix))
}

/// The mail server refused a fresh OAuth2 token (twice).
fn token_login_refusal(at: &str, section: &str, user: &str, answer: &str) -> String {
    if answer.starts_with("the server offers neither") {
        return format!(
            "{at} cannot take an OAuth2 login: {answer}. Check host and port, or set {section} auth = \"password\"."
        );
    }
    format!(
        "{at} refused the OAuth2 token of {user}, twice with a fresh one: \"{answer}\". The token is valid but \
         this application may not use the mailbox: grant it access to {user} (Microsoft 365: the IMAP.AccessAsApp \
         and SMTP.SendAsApp permissions and Add-MailboxPermission for its service principal), or check {section} \
         username and the scope in {section}.oauth2."
    )
}

fn imap_refusal(at: &str, section: &str, refused: &imap::LoginRefused) -> String {
    let answer = &refused.answer;
    let why = if answer.contains("[PRIVACYREQUIRED]") {
        format!("it accepts this login only over TLS: set {section} tls = \"starttls\" or \"implicit\"")
    } else if answer.contains("[EXPIRED]") {
        format!(
            "the password has expired: have it renewed, then put the new one in {section} password_file and \
             restart sportello"
        )
    } else {
        format!(
            "the password is wrong or has expired, or the account is locked or may not use IMAP: check \
             {section} username and the password in {section} password_file (or password) with the mail \
             administrator, then restart sportello"
        )
    };
    format!(
        "{at} refused the login of {}: \"{answer}\". {}.",
        refused.user,
        capitalized(&why)
    )
}

fn smtp_refusal(at: &str, section: &str, refused: &outbox::LoginRefused) -> String {
    let reply = &refused.reply;
    let user = refused.user.as_deref().unwrap_or("(no username)");
    let waiting = "The mail waits in the outbox, untouched, and leaves once a login works";
    match refused.code {
        Some(530) => format!(
            "{at} takes mail only after a login, or over TLS: \"{reply}\". Set {section} username and \
             password_file, and tls = \"starttls\" or \"implicit\". {waiting}."
        ),
        Some(534) => format!(
            "{at} refuses this way of logging in (534): \"{reply}\". It usually asks for TLS: set {section} tls = \
             \"starttls\" or \"implicit\". {waiting}."
        ),
        Some(code) => format!(
            "{at} refused the login of {user} ({code}): \"{reply}\". The password is wrong or has expired, or \
             the account may not send mail: check {section} username and the password in {section} \
             password_file (or password) with the mail administrator, then restart sportello. {waiting}."
        ),
        None => format!(
            "{at} offers no way to log in on this connection ({reply}). Servers often offer it only over TLS: \
             set {section} tls = \"starttls\" (port 587) or \"implicit\" (port 465); for a relay that needs no \
             login, remove {section} username. {waiting}."
        ),
    }
}

fn tls_trouble(service: Service, server: &Server, at: &str, error: &rustls::Error) -> (Trouble, String) {
    use rustls::CertificateError as Cert;
    let section = service.section();
    match error {
        rustls::Error::InvalidCertificate(Cert::UnknownIssuer) => {
            let ca = match &server.ca_file {
                Some(ca) => format!(
                    " ({section} ca_file, {}, does not hold the authority that signed it)",
                    ca.display()
                ),
                None => String::new(),
            };
            (
                Trouble::UntrustedCertificate,
                format!(
                    "The certificate of {at} is signed by an authority this machine does not trust \
                     (UnknownIssuer){ca}. If the server uses a private certificate authority (the \
                     municipality's own), set {section} ca_file to that authority's certificate, in PEM form."
                ),
            )
        }
        rustls::Error::InvalidCertificate(Cert::NotValidForName | Cert::NotValidForNameContext { .. }) => {
            let name = server.tls_name.as_deref().unwrap_or(&server.host);
            (
                Trouble::WrongCertificateName,
                format!(
                    "The certificate of {at} is not valid for the name {name}. Connect by the name the \
                     certificate carries: set {section} host to it, or {section} tls_name when connecting \
                     by address."
                ),
            )
        }
        rustls::Error::InvalidCertificate(
            Cert::Expired | Cert::ExpiredContext { .. } | Cert::NotValidYet | Cert::NotValidYetContext { .. },
        ) => (
            Trouble::ExpiredCertificate,
            format!(
                "The certificate of {at} has expired or is not valid yet: the server's administrator must \
                 renew it (check this machine's clock too)."
            ),
        ),
        rustls::Error::InvalidMessage(_) if server.tls == Tls::Implicit => (
            Trouble::TlsOnPlainPort,
            format!(
                "{at} answered in plain text, not TLS: port {} does not speak TLS from the first byte. Set \
                 {section} tls = \"starttls\" for this port, or port = {} for tls = \"implicit\".",
                server.port,
                service.implicit_port()
            ),
        ),
        other => (Trouble::Other, format!("TLS with {at} failed: {other}.")),
    }
}

fn network_trouble(
    service: Service,
    server: &Server,
    at: &str,
    all: &[&(dyn StdError + 'static)],
    error: &anyhow::Error,
) -> (Trouble, String) {
    let section = service.section();
    let io_kind = all
        .iter()
        .find_map(|c| c.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    let imap_step = all
        .iter()
        .find_map(|c| c.downcast_ref::<imap::TimedOut>())
        .map(|t| t.step);
    // lettre reads the 220 greeting until its timeout, then calls what it has (nothing) an
    // incomplete response.
    let unreadable_reply = all.iter().any(|c| {
        c.downcast_ref::<lettre::transport::smtp::Error>()
            .is_some_and(lettre::transport::smtp::Error::is_response)
    });
    let never_greeted = imap_step == Some("greeting")
        || all.iter().any(|c| c.downcast_ref::<imap::NoGreeting>().is_some())
        || all
            .iter()
            .any(|c| c.downcast_ref::<crate::outbox::smtp::NoGreeting>().is_some())
        || unreadable_reply;
    if server.tls != Tls::Implicit && never_greeted {
        return (
            Trouble::NoGreeting,
            format!(
                "{at} sent no greeting: port {} probably expects TLS from the first byte. Set {section} tls = \
                 \"implicit\" (usually port {}), or use the port of plain and STARTTLS connections (usually {}).",
                server.port,
                service.implicit_port(),
                service.starttls_port()
            ),
        );
    }
    let words = plain(error);
    if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        return (
            Trouble::NobodyListening,
            format!(
                "Nothing accepts connections on {}:{} ({section}): the {} server is down, or {section} port is \
                 wrong (usually {} with tls = \"implicit\", {} with \"starttls\").",
                server.host,
                server.port,
                service.name(),
                service.implicit_port(),
                service.starttls_port()
            ),
        );
    }
    let unresolved = all.iter().any(|c| {
        let text = c.to_string();
        text.contains("failed to lookup address") || text.contains("could not resolve")
    });
    if unresolved {
        return (
            Trouble::UnknownHost,
            format!(
                "The host name {} ({section} host) does not resolve: check the name, and this machine's DNS.",
                server.host
            ),
        );
    }
    let silent = imap_step.is_some()
        || matches!(
            io_kind,
            Some(
                std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
            )
        );
    if silent {
        return (
            Trouble::NoAnswer,
            format!(
                "{at} does not answer ({words}): the server is down or overloaded, or a firewall drops the \
                 connection."
            ),
        );
    }
    (Trouble::Other, format!("{at}: {words}."))
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn server(port: u16, tls: Tls) -> Server {
        Server {
            host: "mail.comune.example.it".into(),
            port,
            tls,
            username: Some("assistenza@comune.example.it".into()),
            password: None,
            ca_file: None,
            tls_name: None,
            login_retry: Duration::from_secs(300),
            oauth2: None,
        }
    }

    /// A rustls error as tokio-rustls and lettre hand it over: inside an `io::Error`, under
    /// the caller's context.
    fn tls_error(error: rustls::Error) -> anyhow::Error {
        anyhow::Error::from(std::io::Error::new(std::io::ErrorKind::InvalidData, error)).context("TLS handshake")
    }

    #[test]
    fn an_untrusted_certificate_names_ca_file_of_its_section() {
        let error = tls_error(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        let found = diagnose(Service::Imap, &server(993, Tls::Implicit), &error);
        assert_eq!(found.trouble, Trouble::UntrustedCertificate);
        assert!(
            found
                .message
                .contains("IMAP server mail.comune.example.it:993 ([mailbox])"),
            "{}",
            found.message
        );
        assert!(found.message.contains("set [mailbox] ca_file"), "{}", found.message);
        let mut with_ca = server(465, Tls::Implicit);
        with_ca.ca_file = Some(PathBuf::from("/etc/sportello/ca.pem"));
        let found = diagnose(Service::Smtp, &with_ca, &error);
        assert!(found.message.contains("set [smtp] ca_file"), "{}", found.message);
        assert!(
            found.message.contains("/etc/sportello/ca.pem, does not hold"),
            "{}",
            found.message
        );
        assert!(found.trouble.needs_a_change());
    }

    #[test]
    fn certificate_names_and_dates_say_what_to_change() {
        let name = tls_error(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName,
        ));
        let found = diagnose(Service::Smtp, &server(465, Tls::Implicit), &name);
        assert_eq!(found.trouble, Trouble::WrongCertificateName);
        assert!(found.message.contains("[smtp] tls_name"), "{}", found.message);
        let expired = tls_error(rustls::Error::InvalidCertificate(rustls::CertificateError::Expired));
        assert_eq!(
            diagnose(Service::Imap, &server(993, Tls::Implicit), &expired).trouble,
            Trouble::ExpiredCertificate
        );
    }

    #[test]
    fn tls_against_a_plain_port_and_plain_against_a_tls_port() {
        let plain_text = tls_error(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        let found = diagnose(Service::Imap, &server(143, Tls::Implicit), &plain_text);
        assert_eq!(found.trouble, Trouble::TlsOnPlainPort);
        assert!(
            found.message.contains("port 143 does not speak TLS") && found.message.contains("tls = \"starttls\""),
            "{}",
            found.message
        );
        let silent = anyhow::Error::from(imap::TimedOut { step: "greeting" });
        let found = diagnose(Service::Imap, &server(993, Tls::Starttls), &silent);
        assert_eq!(found.trouble, Trouble::NoGreeting);
        assert!(
            found.message.contains("Set [mailbox] tls = \"implicit\""),
            "{}",
            found.message
        );
        // (lettre's own errors cannot be made outside lettre: `tests/it/ops.rs` meets its
        // silent greeting on the real relay's TLS port.)
        // With implicit TLS configured, a silent server is only silent.
        let found = diagnose(Service::Imap, &server(993, Tls::Implicit), &silent);
        assert_eq!(found.trouble, Trouble::NoAnswer);
        assert!(!found.trouble.needs_a_change());
    }

    #[test]
    fn a_refused_imap_login_is_said_in_plain_words() {
        let refused = anyhow::Error::from(imap::LoginRefused {
            user: "assistenza@comune.example.it".into(),
            answer: imap::server_words("code: None, info: Some(\"[AUTHENTICATIONFAILED] Authentication failed.\")"),
        });
        let found = diagnose(Service::Imap, &server(993, Tls::Implicit), &refused);
        assert_eq!(found.trouble, Trouble::LoginRefused);
        assert_eq!(
            found.message,
            "IMAP server mail.comune.example.it:993 ([mailbox]) refused the login of assistenza@comune.example.it: \
             \"[AUTHENTICATIONFAILED] Authentication failed.\". The password is wrong or has expired, or the \
             account is locked or may not use IMAP: check [mailbox] username and the password in [mailbox] \
             password_file (or password) with the mail administrator, then restart sportello."
        );
        assert!(!found.message.contains("Some("), "no debug output");
        let expired = anyhow::Error::from(imap::LoginRefused {
            user: "u".into(),
            answer: "[EXPIRED] Password expired.".into(),
        });
        assert!(
            diagnose(Service::Imap, &server(993, Tls::Implicit), &expired)
                .message
                .contains("The password has expired")
        );
    }

    #[test]
    fn smtp_535_is_a_login_problem_and_the_mail_waits() {
        let refused = anyhow::Error::from(outbox::LoginRefused {
            user: Some("assistenza@comune.example.it".into()),
            code: Some(535),
            reply: "5.7.8 Authentication credentials invalid".into(),
        });
        let found = diagnose(Service::Smtp, &server(465, Tls::Implicit), &refused);
        assert_eq!(found.trouble, Trouble::LoginRefused);
        assert!(
            found
                .message
                .contains("refused the login of assistenza@comune.example.it (535)")
                && found.message.contains("[smtp] password_file")
                && found.message.contains("waits in the outbox"),
            "{}",
            found.message
        );
        assert!(!found.message.contains("permanent"), "{}", found.message);
        let required = anyhow::Error::from(outbox::LoginRefused {
            user: None,
            code: Some(530),
            reply: "5.7.0 Authentication required".into(),
        });
        let found = diagnose(Service::Smtp, &server(587, Tls::Starttls), &required);
        assert!(found.message.contains("Set [smtp] username"), "{}", found.message);
    }

    #[test]
    fn network_failures_name_the_port_or_the_host() {
        let refused = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
            .context("connecting to mail.comune.example.it:993");
        let found = diagnose(Service::Imap, &server(993, Tls::Implicit), &refused);
        assert_eq!(found.trouble, Trouble::NobodyListening);
        assert!(found.message.contains("[mailbox] port is wrong"), "{}", found.message);
        let unknown = anyhow::Error::from(std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        ));
        let found = diagnose(Service::Smtp, &server(465, Tls::Implicit), &unknown);
        assert_eq!(found.trouble, Trouble::UnknownHost);
        assert!(
            found.message.contains("([smtp] host) does not resolve"),
            "{}",
            found.message
        );
    }

    #[test]
    fn anything_else_is_the_error_in_words_without_debug_output() {
        let error = anyhow::Error::from(async_imap::error::Error::No(
            "code: None, info: Some(\"Mailbox doesn't exist: Richieste\")".into(),
        ))
        .context("selecting folder Richieste");
        let found = diagnose(Service::Imap, &server(993, Tls::Implicit), &error);
        assert_eq!(found.trouble, Trouble::Other);
        assert_eq!(
            found.message,
            "IMAP server mail.comune.example.it:993 ([mailbox]): selecting folder Richieste: the server answered \
             \"Mailbox doesn't exist: Richieste\"."
        );
    }
}
