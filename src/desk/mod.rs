//! The desk: the contract's procedure as pure functions over plain data.
//!
//! Owns the decisions — what a new request opens (whichever channel brought it), what a
//! requester writing again does, which operator command is refused and why and what the others
//! do, who hears of an SLA clock running out, what the night's housekeeping changes, what a
//! refused operator mail sets off, what each operator's morning digest lists, what a satisfaction vote becomes — and nothing else: it imports no database, network, file or
//! clock module, and never reads the clock (the instant is an argument). Callers (`workflow`,
//! `monitor`) load the facts, ask the desk, and hand its effects to `workflow::apply`.

pub mod absence;
pub mod alarms;
pub mod cmd;
pub mod digest;
pub mod effect;
pub mod housekeeping;
pub mod invitation;
pub mod privacy;
pub mod queue;
pub mod request;
pub mod requester;
pub mod roster;
pub mod security;
#[cfg(test)]
pub(crate) mod testing;
pub mod vote;
pub mod watch;
