//! `#nota`: an internal note, on any ticket, closed ones included.

use super::{CommandMail, Refusals};

/// A note needs its text.
pub(super) fn check(mail: &CommandMail<'_>, out: &mut Refusals) {
    if mail.body.is_empty() {
        out.refuse("#nota", "write the note below the tag");
    }
}
