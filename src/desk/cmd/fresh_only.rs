//! `#coda`, `#aiuto`, `#nuovo`, `#email`, `#assente` in a reply about a ticket: they are about
//! no ticket, so they belong in a new mail.

use super::{Refusals, tag_of};
use crate::commands::{Command, Problem};

/// Always refused here.
pub(super) fn check(command: &Command, out: &mut Refusals) {
    out.refuse(tag_of(command), Problem::NewMailOnly);
}
