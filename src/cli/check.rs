//! `sportello check-config [--connect]`: what can be known before the first start.
//!
//! The configuration is validated when it is loaded (every problem names its key); this adds
//! what the daemon would only find at start — a data folder its user may not use — and, with
//! `--connect`, logs in to the IMAP and SMTP servers as the daemon would and says what worked,
//! or what failed in the words of `daemon::trouble`. Everything it prints on standard output
//! is valid TOML (its own lines are comments), so the effective configuration can be saved.

use crate::config::{Config, Mailbox, Origin, Smtp};
use crate::daemon::trouble::{self, Diagnosis, Service};
use crate::daemon::{self, Targets};
use crate::exit::{self, Failure};

/// Runs the checks on `config`, printing the effective configuration and, with `connect`,
/// the result of each login; a failed login is exit 78 when only a change can fix it, 75
/// when it may be the server's passing trouble.
pub(crate) fn check_config(config: &Config, connect: bool) -> Result<(), Failure> {
    daemon::check_data_dir(config)?;
    match &config.origin {
        Origin::File(p) => println!("# {}: valid", p.display()),
        Origin::EmbeddedDefaults(p) => println!("# {} does not exist: embedded defaults, valid", p.display()),
    }
    print!("{}", config.effective_toml());
    if !connect {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?;
    let targets = Targets::of(config);
    let mut failed: Vec<Diagnosis> = Vec::new();
    println!("\n# --connect");
    match &config.mailbox {
        Mailbox::Imap { server, folder, .. } => match runtime.block_on(crate::ingest::imap::probe(server, folder)) {
            Ok(messages) => println!(
                "# IMAP {}: logged in; folder {folder} holds {messages} messages",
                targets.mailbox
            ),
            Err(e) => {
                let diagnosis = trouble::diagnose(Service::Imap, server, &e);
                println!("# IMAP {}: FAILED: {}", targets.mailbox, diagnosis.message);
                failed.push(diagnosis);
            }
        },
        Mailbox::Maildir { .. } => println!("# mailbox: {}, no server to connect to", targets.mailbox),
    }
    match &config.smtp {
        Smtp::Server { server, .. } => match runtime.block_on(crate::outbox::probe(server)) {
            Ok(()) if server.username.is_some() => println!("# SMTP {}: logged in", targets.smtp),
            Ok(()) => println!("# SMTP {}: connected (no username: no login)", targets.smtp),
            Err(e) => {
                let diagnosis = trouble::diagnose(Service::Smtp, server, &e);
                println!("# SMTP {}: FAILED: {}", targets.smtp, diagnosis.message);
                failed.push(diagnosis);
            }
        },
        Smtp::File { .. } => println!("# smtp: {}, no server to connect to", targets.smtp),
    }
    outcome(&failed, "a connection failed")
}

/// Success when nothing failed; else exit 78 when a failure needs a change of configuration or
/// account (a refused login, a wrong name), 75 when waiting may fix it (a server down).
pub(super) fn outcome(failed: &[Diagnosis], what: &str) -> Result<(), Failure> {
    if failed.is_empty() {
        return Ok(());
    }
    let code = if failed.iter().any(|d| d.trouble.needs_a_change()) {
        exit::CONFIG
    } else {
        exit::TEMPFAIL
    };
    Err(Failure::new(
        code,
        anyhow::anyhow!("{what}: see the FAILED lines above"),
    ))
}
