//! Sportello: an e-mail-first help-desk ticketing daemon for CPortal's technical help desk.
//!
//! One e-mail's path through the crate:
//! `mailbox (Maildir | IMAP) → ingest (parse, classify, thread) → workflow (decide) →
//! store (ONE transaction: raw message, ticket change, events, outbox rows, checkpoint) →
//! outbox (SMTP | files)`. The SLA clock (`sla`) is pure arithmetic every layer calls.
//!
//! Modules:
//! - [`model`]: plain data shared by everyone (ids, channels, levels, states).
//! - [`config`]: `config.toml` → validated [`config::Config`].
//! - [`clock`]: the only reader of the wall clock (`--now` pins or shifts it).
//! - [`sla`]: business calendar, SLA deadlines, suspension rules (pure).
//! - [`store`]: SQLite schema, migrations and row operations.
//! - [`lock`]: one daemon per data folder.
//! - [`daemon`]: the long-running loops and their shutdown.
//! - [`desk`]: the contract's procedure as pure decisions (the operator commands' rules so far).
//! - [`cli`]: argument parsing, dispatch, output.
//! - [`exit`]: sysexits codes and `Failure`, shared by the CLI and the daemon.
//!
//! `ARCHITECTURE.md` at the repository root is the longer map.

#![warn(missing_docs)]

pub mod auth;
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
pub mod outbox;
pub mod report;
pub mod sla;
pub mod store;
pub mod workflow;
