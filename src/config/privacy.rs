//! `[retention]`, `[privacy]` and `[survey]` (issue 17): how long citizens' data is kept, who
//! the controller is and where the privacy notice is, and how long a satisfaction vote may
//! change.

use serde::{Deserialize, Serialize};

use super::Validator;

/// `[retention]`: what the night's housekeeping deletes and anonymises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Raw messages and attachment files of tickets archived longer than this many days go.
    pub raw_mail_days: u32,
    /// Tickets archived longer than this many days are anonymised in place.
    pub personal_data_days: u32,
    /// At most this many tickets per housekeeping pass (each kind).
    pub batch: u32,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            raw_mail_days: 365,
            personal_data_days: 1825,
            batch: 200,
        }
    }
}

/// `[privacy]`: the information given at collection (GDPR art. 13).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Privacy {
    /// The data controller (the municipality), as the notice names it; "" when not set.
    pub controller: String,
    /// Where the full privacy notice is; "" when not set.
    pub notice_url: String,
}

/// `[survey]`: the satisfaction vote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    /// For how many days after the closing letter a vote may be cast or changed.
    pub days: u32,
}

impl Default for Survey {
    fn default() -> Survey {
        Survey { days: 14 }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetention {
    raw_mail_days: Option<i64>,
    personal_data_days: Option<i64>,
    batch: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrivacy {
    controller: Option<String>,
    notice_url: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSurvey {
    days: Option<i64>,
}

impl Retention {
    pub(super) fn raw(&self) -> RawRetention {
        RawRetention {
            raw_mail_days: Some(self.raw_mail_days.into()),
            personal_data_days: Some(self.personal_data_days.into()),
            batch: Some(self.batch.into()),
        }
    }
}

impl Privacy {
    pub(super) fn raw(&self) -> RawPrivacy {
        RawPrivacy {
            controller: Some(self.controller.clone()),
            notice_url: Some(self.notice_url.clone()),
        }
    }
}

impl Survey {
    pub(super) fn raw(&self) -> RawSurvey {
        RawSurvey {
            days: Some(self.days.into()),
        }
    }
}

impl Validator<'_> {
    fn days(&mut self, key: &str, value: Option<i64>, default: u32, max: i64) -> u32 {
        match value {
            None => default,
            Some(d) if (1..=max).contains(&d) => d as u32,
            Some(d) => {
                self.problem(key, d, format!("a number of days from 1 to {max}"));
                default
            }
        }
    }

    pub(super) fn retention(&mut self, raw: RawRetention) -> Retention {
        let defaults = Retention::default();
        Retention {
            raw_mail_days: self.days(
                "retention.raw_mail_days",
                raw.raw_mail_days,
                defaults.raw_mail_days,
                36_500,
            ),
            personal_data_days: self.days(
                "retention.personal_data_days",
                raw.personal_data_days,
                defaults.personal_data_days,
                36_500,
            ),
            batch: self.days("retention.batch", raw.batch, defaults.batch, 100_000),
        }
    }

    pub(super) fn privacy(&mut self, raw: RawPrivacy) -> Privacy {
        let controller = raw.controller.unwrap_or_default().trim().to_string();
        if controller.contains(['\r', '\n']) {
            self.problem("privacy.controller", &controller, "the controller's name on one line");
        }
        let notice_url = raw.notice_url.unwrap_or_default().trim().to_string();
        if !notice_url.is_empty()
            && (!(notice_url.starts_with("https://") || notice_url.starts_with("http://"))
                || notice_url.contains(char::is_whitespace))
        {
            self.problem(
                "privacy.notice_url",
                &notice_url,
                "the address of the privacy notice, e.g. \"https://www.comune.example.it/privacy\"",
            );
        }
        Privacy { controller, notice_url }
    }

    pub(super) fn survey(&mut self, raw: RawSurvey) -> Survey {
        Survey {
            days: self.days("survey.days", raw.days, Survey::default().days, 365),
        }
    }
}
