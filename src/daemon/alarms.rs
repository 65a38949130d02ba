//! The alarm watcher: a task of the daemon that, every few seconds, looks at what the loops
//! observed (the mailbox and the outbox failing since when, the last mail that arrived), asks
//! `desk::alarms` whether an incident is to be raised or is over, and applies its alarms
//! through `workflow::apply` (one mail to the supervisors through the outbox) in a write turn
//! of its own connection. Every alarm is also logged (at error level when raised) and shown by
//! `/healthz` while it lasts, for the case where the outbox is what fails.
//!
//! Incidents are remembered in memory: a daemon restarted in the middle of one raises it again
//! once its threshold has passed again.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Notify, watch};

use crate::auth::MacKey;
use crate::clock::Clock;
use crate::config::Config;
use crate::desk::alarms::{Watch, judge};
use crate::desk::effect::{Alarm, Effect, ServiceTrouble};
use crate::http::{Liveness, RaisedAlarm};
use crate::notify::templates::Templates;
use crate::store::{Store, WriteTurns, suspensions};

/// How often the watcher looks.
const TICK: Duration = Duration::from_secs(2);

/// What the watcher works with.
pub(super) struct Watcher {
    /// Its own connection.
    pub store: Store,
    pub config: Config,
    pub templates: Templates,
    pub key: MacKey,
    pub clock: Clock,
    pub turns: WriteTurns,
    pub liveness: Arc<Liveness>,
    /// Woken after an alarm is queued.
    pub courier: Arc<Notify>,
}

/// The raised incidents, by trouble.
#[derive(Default)]
struct Raised {
    mailbox: Option<DateTime<Utc>>,
    outbox: Option<DateTime<Utc>>,
    silence: Option<DateTime<Utc>>,
}

impl Raised {
    fn of(&mut self, trouble: ServiceTrouble) -> &mut Option<DateTime<Utc>> {
        match trouble {
            ServiceTrouble::Mailbox => &mut self.mailbox,
            ServiceTrouble::Outbox => &mut self.outbox,
            ServiceTrouble::Silence => &mut self.silence,
        }
    }
}

impl Watcher {
    /// Looks every [`TICK`] until `stop` turns true.
    pub(super) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let started = self.clock.now();
        let mut raised = Raised::default();
        loop {
            if let Err(e) = self.look(started, &mut raised).await {
                tracing::warn!("alarm watcher: {e:#}");
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// One look at every trouble.
    async fn look(&mut self, started: DateTime<Utc>, raised: &mut Raised) -> anyhow::Result<()> {
        let now = self.clock.now();
        let alarms = self.config.alarms;
        let last_mail = crate::store::messages::last_mail_received(self.store.conn())?;
        let silence_since = last_mail.unwrap_or(started);
        let silence_words = match last_mail {
            Some(at) => format!("the last mail arrived at {at}"),
            None => format!("no mail since sportello started at {started}"),
        };
        let watches = [
            (
                ServiceTrouble::Mailbox,
                self.liveness.mailbox_trouble.current(),
                i64::from(alarms.mailbox_minutes) * 60,
            ),
            (
                ServiceTrouble::Outbox,
                self.liveness.outbox_trouble.current(),
                i64::from(alarms.outbox_minutes) * 60,
            ),
            (
                ServiceTrouble::Silence,
                // Judged once an intake pass has run: mail waiting in the mailbox at start is
                // not silence.
                (self.liveness.last_intake.load(std::sync::atomic::Ordering::Relaxed) != 0)
                    .then_some((silence_since, silence_words)),
                i64::from(alarms.silence_hours) * 3600,
            ),
        ];
        let calendar = suspensions::calendar(self.store.conn(), &self.config.calendar)?;
        let mut effects: Vec<Effect> = Vec::new();
        for (trouble, failing, threshold_seconds) in watches {
            let (failing_since, detail) = match failing {
                Some((since, words)) => (Some(since), words),
                None => (None, String::new()),
            };
            let judged = judge(
                &Watch {
                    trouble,
                    raised: *raised.of(trouble),
                    failing_since,
                    threshold_seconds,
                    detail: detail.clone(),
                },
                now,
                &calendar,
            );
            *raised.of(trouble) = judged.raised;
            for effect in &judged.effects {
                if let Effect::AlertSupervisors(Alarm::Service { ended, since, .. }) = effect {
                    self.tell(trouble, *ended, *since, &detail);
                }
            }
            effects.extend(judged.effects);
        }
        let refused =
            !crate::store::outbox::refused_unreported(self.store.conn(), crate::outbox::given_up_at())?.is_empty();
        if effects.is_empty() && !refused {
            return Ok(());
        }
        let sender = crate::notify::Sender::of(&self.config);
        let _turn = self.turns.lock().await;
        let tx = self.store.write()?;
        let ctx = crate::workflow::Context {
            config: &self.config,
            calendar: &calendar,
            templates: &self.templates,
            sender: &sender,
            key: &self.key,
            now,
            quiet: false,
        };
        crate::workflow::apply(&tx, &ctx, None, &effects)?;
        let reported = crate::workflow::report_refused_mail(&tx, &ctx)?;
        tx.commit()?;
        if reported > 0 {
            tracing::info!(reported, "mail refused for good reported to the technicians");
        }
        self.courier.notify_one();
        Ok(())
    }

    /// Logs an alarm and keeps `/healthz`'s list of raised ones.
    fn tell(&self, trouble: ServiceTrouble, ended: bool, since: DateTime<Utc>, detail: &str) {
        let mut list = self
            .liveness
            .alarms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        list.retain(|a| a.alarm != trouble.name());
        let lasted = self.clock.now() - since;
        if ended {
            tracing::warn!(
                alarm = trouble.name(),
                since = %since,
                "alarm over: {} after {}; the supervisors are told",
                what(trouble),
                minutes(lasted)
            );
        } else {
            tracing::error!(
                alarm = trouble.name(),
                since = %since,
                "ALARM: {} since {since} ({detail}); the supervisors are told by mail (if the outbox \
                 cannot deliver, this log and /healthz are all there is)",
                what(trouble)
            );
            list.push(RaisedAlarm {
                alarm: trouble.name(),
                since,
                message: format!("{} since {since}: {detail}", what(trouble)),
            });
        }
    }
}

/// What a sending pass says of the outbox: it delivers when a mail left; it cannot when the
/// way out failed (no connection, a refused login) and nothing left. Failures of single
/// messages (a 4xx, a 5xx) say nothing about the outbox.
pub(super) fn outbox_pass(
    liveness: &Liveness,
    report: &crate::outbox::SendReport,
    smtp: Option<&crate::config::Server>,
    now: DateTime<Utc>,
) {
    if report.sent > 0 {
        liveness.outbox_trouble.works();
    } else if let Some(stopped) = &report.stopped {
        let words = match smtp {
            Some(server) => super::trouble::diagnose(super::trouble::Service::Smtp, server, stopped).message,
            None => format!("{stopped:#}"),
        };
        liveness.outbox_trouble.failed(now, words);
    }
}

fn what(trouble: ServiceTrouble) -> &'static str {
    match trouble {
        ServiceTrouble::Mailbox => "the mailbox cannot be read",
        ServiceTrouble::Outbox => "the outbox cannot deliver",
        ServiceTrouble::Silence => "no mail has arrived",
    }
}

fn minutes(lasted: TimeDelta) -> String {
    format!("{} min", lasted.num_minutes().max(0))
}
