//! `#telefono` on a ticket: the operator called the requester back.

use super::{CommandMail, Refusals, Setting, Working};
use crate::commands::Done;
use crate::commands::Problem;
use crate::desk::effect::Effect;
use crate::model::{EventAction, Status};
use crate::sla::resolution_due;

/// The call needs its summary.
pub(super) fn check(mail: &CommandMail<'_>, out: &mut Refusals) {
    if mail.body.is_empty() {
        out.refuse("#telefono", Problem::CallSummaryMissing);
    }
}

/// Records the call. For a requester who reads no letter (a phone request without e-mail, or
/// an address that bounces) the call-back is the take-in (there is no letter to confirm it), and the caller's technician is whoever called back.
pub(super) fn apply<'a>(work: &mut Working<'a>, mail: &CommandMail<'a>, setting: &Setting<'_>) {
    work.event(mail, EventAction::Phone, mail.body);
    if !work.ticket.reads_mail && work.ticket.take_in_at.is_none() {
        let due = resolution_due(setting.calendar, setting.sla, work.ticket.level, mail.now);
        work.effect(Effect::TakeInByPhone { resolution_due: due });
        work.ticket.take_in_at = Some(mail.now);
        work.ticket.resolution_due = Some(due);
        if work.ticket.status == Status::New {
            work.effect(Effect::Assign {
                technician: mail.operator.email.clone(),
                by: mail.operator.email.clone(),
            });
            work.ticket.status = Status::Assigned;
            work.ticket.assignee = Some(&mail.operator.email);
        }
    }
    let done = Done::Called { ticket: work.ticket.id };
    work.done(done);
}
