//! The one integration-test binary (one link step instead of many).
//!
//! - `cli`: the `sportello` binary as a user and an MTA run it (config refusal, the daemon
//!   lock, init, sla, ingest, tickets), on the embedded defaults in throw-away folders;
//! - `fixtures`: every real-world message in `fixtures/eml/` through parse, classify and
//!   intake, checked against the hand-written facts of `fixtures/eml/MANIFEST.toml`;
//! - `mailserver`: intake and outbox against the real Dovecot and SMTP relay that
//!   `scripts/test` starts on 127.0.0.1 (skipped, loudly, when they are not running);
//! - `ops`: what running it in a municipality's IT needs: the data folder's permissions,
//!   `check-config`, the start-up line, logins the real servers refuse.
//!
//! - `courier`: the courier's SMTP sessions against `smtp_sink`, a server of the tests' own
//!   with the limits real servers set (sessions at once, messages per session, drops);
//! - `receipts`: read, not-read and delivery receipts recorded on their ticket, nothing else.
//!
//! - `working_day`: issue 15's day of two first-level operators and a supervisor, by mail
//!   only, over the real servers.
//!
//! `support` holds the shared helpers.

mod alarms;
mod attacks;
mod cli;
mod copies_spam;
mod courier;
mod digest;
mod fixtures;
mod hostile;
mod http;
mod mailserver;
mod oauth2;
mod ops;
mod privacy;
mod receipts;
mod report;
mod smtp_sink;
mod support;
mod vote;
mod workflow;
mod workflow_support;
mod working_day;
