//! `#telefono` on a ticket: the operator called the requester back.

use super::{CommandMail, Refusals};

/// The call needs its summary.
pub(super) fn check(mail: &CommandMail<'_>, out: &mut Refusals) {
    if mail.body.is_empty() {
        out.refuse("#telefono", "write a summary of the call below the tag");
    }
}
