//! `sportello privacy export|erase`: one person's data on request (GDPR art. 15 and 17).

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::{Failure, config_of};
use crate::clock::Clock;
use crate::desk::privacy::EraseRefusal;
use crate::exit;
use crate::store::Store;

/// `privacy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Export every ticket, message, event and file that concerns an address (as requester,
    /// copied, or unverified sender): dati.json, the raw mail, the files and a README in Italian.
    Export {
        /// The person's e-mail address.
        #[arg(long, value_name = "ADDRESS")]
        requester: String,
        /// A new (or empty) folder to write the export to.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Forget an address now: its tickets are anonymised (the accounting stays), its words,
    /// raw mail and files go from other people's tickets. Refused while one of its tickets is
    /// open, unless --force. Records who asked, when and why; never what.
    Erase {
        /// The person's e-mail address.
        #[arg(long, value_name = "ADDRESS")]
        requester: String,
        /// Why (the request's reference, say): kept in the audit trail.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
        /// Erase even though a ticket of theirs is still open.
        #[arg(long)]
        force: bool,
    },
}

/// Runs a `privacy` subcommand.
pub fn run(config_path: Option<&Path>, clock: Clock, command: PrivacyCommand) -> Result<(), Failure> {
    let config = config_of(config_path)?;
    let mut store = Store::open(&config.database_path())?;
    let usage = |m: String| Failure::new(exit::USAGE, anyhow::anyhow!(m));
    let address = match &command {
        PrivacyCommand::Export { requester, .. } | PrivacyCommand::Erase { requester, .. } => requester.trim(),
    };
    if !crate::config::is_plain_address(address) {
        return Err(usage(format!(
            "{address:?} is not an e-mail address like nome@example.it"
        )));
    }
    let now = clock.now();
    match &command {
        PrivacyCommand::Export { out, .. } => {
            let tx = store.write()?;
            let (files, tickets) = crate::privacy::export(&tx, &config, address, now)?;
            crate::privacy::write_export(out, &files).map_err(|e| Failure::new(exit::CANTCREAT, e))?;
            crate::privacy::record_export(&tx, "cli", now)?;
            tx.commit()?;
            println!("{tickets} tickets, {} files written to {}", files.len(), out.display());
            Ok(())
        }
        PrivacyCommand::Erase { reason, force, .. } => {
            let tx = store.write()?;
            match crate::privacy::erase(&tx, &config, address, reason, "cli", *force, now)? {
                Ok(erased) => {
                    tx.commit()?;
                    crate::store::privacy::truncate_log(store.conn())?;
                    let files = crate::privacy::delete_files(&config, &erased.files)?;
                    println!(
                        "{} tickets anonymised, {} others left, {} loose messages scrubbed, {} quarantined messages deleted, {} files deleted, {} knowledge-base entries redacted again",
                        erased.anonymised, erased.left, erased.loose, erased.quarantined, files, erased.kb_fixed
                    );
                    Ok(())
                }
                Err(EraseRefusal::Unknown) => Err(Failure::new(
                    exit::DATAERR,
                    anyhow::anyhow!("nothing stored concerns {address}"),
                )),
                Err(EraseRefusal::Open(open)) => Err(Failure::new(
                    exit::DATAERR,
                    anyhow::anyhow!(
                        "{address} still has open tickets ({}): close them first, or erase with --force",
                        open.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                    ),
                )),
            }
        }
    }
}
