//! `sportello oauth2 test`: fetch a token from each configured token endpoint and log in to
//! the servers with it, saying what was done at each step, secrets masked.

use crate::config::{Config, Grant, Mailbox, OAuth2, Server, Smtp};
use crate::daemon::Targets;
use crate::daemon::trouble::{self, Diagnosis, Service};
use crate::exit::{self, Failure};

/// A token as it may be shown: its length only.
fn masked(token: &crate::config::Secret) -> String {
    format!("******** ({} characters)", token.expose().len())
}

fn describe(section: &str, settings: &OAuth2) -> String {
    let secret = match &settings.client_secret_file {
        Some(file) => format!("client secret from {} (********)", file.display()),
        None => "no client secret".into(),
    };
    let grant = match &settings.grant {
        Grant::ClientCredentials => "client_credentials".to_string(),
        Grant::RefreshToken { file, .. } => format!("refresh_token from {} (********)", file.display()),
    };
    format!(
        "[{section}.oauth2] token endpoint {}, client {}, {secret}, grant {grant}, scope {}",
        settings.token_url,
        settings.client_id,
        settings.scope.as_deref().unwrap_or("(none)")
    )
}

/// Runs the test, printing each step on standard output.
pub(crate) fn test(config: &Config) -> Result<(), Failure> {
    let imap = match &config.mailbox {
        Mailbox::Imap { server, folder, .. } if server.oauth2.is_some() => Some((server, folder)),
        _ => None,
    };
    let smtp = match &config.smtp {
        Smtp::Server { server, .. } if server.oauth2.is_some() => Some(server),
        _ => None,
    };
    if imap.is_none() && smtp.is_none() {
        return Err(Failure::new(
            exit::CONFIG,
            anyhow::anyhow!("neither [mailbox] nor [smtp] has auth = \"oauth2\": nothing to test"),
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?;
    let targets = Targets::of(config);
    let mut failed: Vec<Diagnosis> = Vec::new();
    let mut token_step = |service: Service, server: &Server| -> bool {
        let Some(settings) = &server.oauth2 else { return false };
        let section = service.section().trim_matches(['[', ']']);
        println!("{}", describe(section, settings));
        match runtime.block_on(crate::oauth2::access_token(settings)) {
            Ok(token) => {
                let how = if token.fresh {
                    "fetched"
                } else {
                    "already fetched (cached)"
                };
                println!(
                    "  token: {how}: {}, valid {} s",
                    masked(&token.token),
                    token.lifetime.as_secs()
                );
                true
            }
            Err(e) => {
                let diagnosis = trouble::diagnose(service, server, &e);
                println!("  token: FAILED: {}", diagnosis.message);
                failed.push(diagnosis);
                false
            }
        }
    };
    let imap_token = imap.is_some_and(|(server, _)| token_step(Service::Imap, server));
    let smtp_token = smtp.is_some_and(|server| token_step(Service::Smtp, server));
    if let Some((server, folder)) = imap.filter(|_| imap_token) {
        match runtime.block_on(crate::ingest::imap::probe(server, folder)) {
            Ok(messages) => println!(
                "IMAP {}: logged in with the token (OAUTHBEARER or XOAUTH2, as offered); folder {folder} holds {messages} messages",
                targets.mailbox
            ),
            Err(e) => {
                let diagnosis = trouble::diagnose(Service::Imap, server, &e);
                println!("IMAP {}: FAILED: {}", targets.mailbox, diagnosis.message);
                failed.push(diagnosis);
            }
        }
    }
    if let Some(server) = smtp.filter(|_| smtp_token) {
        match runtime.block_on(crate::outbox::probe(server)) {
            Ok(()) => println!("SMTP {}: logged in with the token (XOAUTH2)", targets.smtp),
            Err(e) => {
                let diagnosis = trouble::diagnose(Service::Smtp, server, &e);
                println!("SMTP {}: FAILED: {}", targets.smtp, diagnosis.message);
                failed.push(diagnosis);
            }
        }
    }
    super::check::outcome(&failed, "an OAuth2 step failed")
}
