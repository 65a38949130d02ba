//! Sportello: an e-mail-first help-desk ticketing daemon for CPortal's technical help desk.
//!
//! One e-mail's path through the crate, one way:
//! `ingest` (fetch from Maildir | IMAP, prepare: parse, classify, thread) → `intake` (one
//! transaction per batch) → `workflow` loads the ticket's facts → `desk` decides → the
//! `workflow::apply` seam writes the effects through `store` and queues mail in `outbox` →
//! commit → the source acknowledges the batch → the courier sends. The SLA arithmetic
//! (`sla`) is pure and every layer calls it.
//!
//! Modules, one line each:
//! - [`model`]: plain data shared by everyone (ids, channels, levels, states, event actions).
//! - [`config`]: `config.toml` → validated [`config::Config`].
//! - [`clock`]: the only reader of the wall clock (`--now` pins or shifts it).
//! - [`sla`]: business calendar, SLA deadlines, suspension rules (pure).
//! - [`desk`]: the contract's procedure as pure decisions returning effects.
//! - [`commands`]: the operator's `#tag` lines parsed, and what is wrong or done, worded once (pure).
//! - [`auth`]: who may command (Authentication-Results, keyed notification ids).
//! - [`ingest`]: mail as it arrives: the two sources and the pure parsing decisions.
//! - [`intake`]: what each message does, applied in one transaction per batch.
//! - [`workflow`]: loads facts, asks the desk, applies its effects; letters and notices.
//! - [`monitor`]: the SLA monitor's warnings, breaches and recomputed due times.
//! - [`report`]: the monthly accounting report.
//! - [`kb`]: the knowledge base (redaction, analysis, search, FAQ export).
//! - [`notify`]: composing mail and rendering templates.
//! - [`oauth2`]: access tokens for the IMAP and SMTP logins (HTTPS token client, cache, SASL).
//! - [`outbox`]: queueing mail in the caller's transaction; the courier's sending.
//! - [`store`]: SQLite schema, migrations and every SQL statement.
//! - [`http`]: the portal channel (form, status pages, API).
//! - [`lock`]: one daemon per data folder.
//! - [`daemon`]: the long-running loops and their shutdown.
//! - [`cli`]: argument parsing, dispatch, output.
//! - [`exit`]: sysexits codes and `Failure`, shared by the CLI and the daemon.
//!
//! `ARCHITECTURE.md` at the repository root is the longer map.

#![warn(missing_docs)]

pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod desk;
pub mod exit;
pub mod http;
pub mod ingest;
pub mod intake;
pub mod kb;
pub mod lock;
pub mod model;
pub mod monitor;
pub mod notify;
pub mod oauth2;
pub mod outbox;
pub mod privacy;
pub mod report;
pub mod sla;
pub mod store;
pub mod tls;
pub mod workflow;
