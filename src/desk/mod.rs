//! The desk: the contract's procedure as pure functions over plain data.
//!
//! Owns the decisions — which operator command is refused and why, what a new request opens
//! (whichever channel brought it), what an operator's commands do, who hears of an SLA clock
//! running out — and nothing else:
//! it imports no database, network, file or clock module, and never reads the clock (the
//! instant is an argument). Callers load the facts, ask the desk, and write what it decided.
//!
//! The procedure moves here one rule at a time (issue 13); what is not here yet still lives in
//! `workflow`, which calls these functions.

pub mod cmd;
pub mod effect;
pub mod housekeeping;
pub mod queue;
pub mod request;
pub mod requester;
pub mod roster;
pub mod security;
#[cfg(test)]
mod testing;
pub mod watch;
