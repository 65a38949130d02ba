//! The report's satisfaction section (issue 17, "Mettiamoci la faccia"): how the requesters
//! judged the closings of the period.
//!
//! Pure. A closing is an SLA cycle ended by a closing letter that left (the letter carries
//! the three faces; closings outside the service, by phone alone or as spam carry none), and
//! it belongs to the period of the local day it was resolved, like the rest of the work done
//! (see docs/accounting.md): a vote cast after the period's end still counts in its
//! closing's month. Figures: closings, votes cast, the response rate (votes over closings) and each
//! face's count and share of the votes cast, in all and by channel, level and technician; and
//! the comments, which `report::gather` has already redacted with the knowledge base's
//! redaction (the requester's name, e-mail addresses, phone numbers, tax codes, IBANs), so the
//! report reads the same before and after the period is anonymised.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::desk::privacy::Score;
use crate::model::{Channel, Level};

/// One closing as the report counts it: the vote decoded, the comment redacted.
#[derive(Debug, Clone, PartialEq)]
pub struct Closing {
    /// The ticket.
    pub ticket: String,
    /// Its channel.
    pub channel: Channel,
    /// The cycle's level.
    pub level: Level,
    /// Who resolved it (an operator's address), if on record.
    pub technician: Option<String>,
    /// When it was resolved (the closing letter was queued then).
    pub resolved_at: DateTime<Utc>,
    /// The vote, if one was cast.
    pub score: Option<Score>,
    /// The comment, redacted ("" when none).
    pub comment: String,
}

/// The votes of a group of closings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Votes {
    /// Closings by a closing letter.
    pub closings: u32,
    /// Positive votes.
    pub positive: u32,
    /// Neutral votes.
    pub neutral: u32,
    /// Negative votes.
    pub negative: u32,
}

impl Votes {
    fn add(&mut self, score: Option<Score>) {
        self.closings += 1;
        match score {
            Some(Score::Positive) => self.positive += 1,
            Some(Score::Neutral) => self.neutral += 1,
            Some(Score::Negative) => self.negative += 1,
            None => {}
        }
    }

    /// Votes cast.
    pub fn cast(&self) -> u32 {
        self.positive + self.neutral + self.negative
    }

    /// The votes of one face.
    pub fn count(&self, score: Score) -> u32 {
        match score {
            Score::Positive => self.positive,
            Score::Neutral => self.neutral,
            Score::Negative => self.negative,
        }
    }

    /// Votes cast over closings, in percent (None without closings).
    pub fn response_rate(&self) -> Option<f64> {
        (self.closings > 0).then(|| f64::from(self.cast()) * 100.0 / f64::from(self.closings))
    }

    /// One face's votes over the votes cast, in percent (None without votes).
    pub fn share(&self, score: Score) -> Option<f64> {
        let cast = self.cast();
        (cast > 0).then(|| f64::from(self.count(score)) * 100.0 / f64::from(cast))
    }

    /// The sum of two groups' votes.
    pub fn plus(self, other: Votes) -> Votes {
        Votes {
            closings: self.closings + other.closings,
            positive: self.positive + other.positive,
            neutral: self.neutral + other.neutral,
            negative: self.negative + other.negative,
        }
    }
}

/// A comment of the period, as the report lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// The ticket.
    pub ticket: String,
    /// Its vote.
    pub score: Score,
    /// The comment, redacted.
    pub text: String,
    /// When the cycle was resolved.
    pub resolved_at: DateTime<Utc>,
}

/// The satisfaction figures of a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Satisfaction {
    /// Every closing of the period.
    pub total: Votes,
    /// By channel (`email`, `portal`, `phone`).
    pub by_channel: BTreeMap<String, Votes>,
    /// By the cycle's level (`1`, `2`).
    pub by_level: BTreeMap<String, Votes>,
    /// By `channel/level`, as the SLA tables group (the open-data table's rows).
    pub by_group: BTreeMap<String, Votes>,
    /// By the technician who resolved it (address; `-` when none is on record).
    pub by_technician: BTreeMap<String, Votes>,
    /// The comments: negative first, then neutral, then positive; each face's oldest first.
    pub comments: Vec<Comment>,
}

/// The key of a closing without a technician on record.
pub const NO_TECHNICIAN: &str = "-";

/// The figures of the period's closings.
pub fn compute(closings: &[Closing]) -> Satisfaction {
    let mut out = Satisfaction::default();
    for c in closings {
        out.total.add(c.score);
        out.by_channel
            .entry(c.channel.as_str().to_string())
            .or_default()
            .add(c.score);
        out.by_level
            .entry(c.level.number().to_string())
            .or_default()
            .add(c.score);
        out.by_group
            .entry(format!("{}/{}", c.channel.as_str(), c.level.number()))
            .or_default()
            .add(c.score);
        out.by_technician
            .entry(c.technician.clone().unwrap_or_else(|| NO_TECHNICIAN.to_string()))
            .or_default()
            .add(c.score);
        if let Some(score) = c.score
            && !c.comment.trim().is_empty()
        {
            out.comments.push(Comment {
                ticket: c.ticket.clone(),
                score,
                text: c.comment.trim().to_string(),
                resolved_at: c.resolved_at,
            });
        }
    }
    // What to act on first: the negative comments.
    out.comments.sort_by(|a, b| {
        b.score
            .number()
            .cmp(&a.score.number())
            .then(a.resolved_at.cmp(&b.resolved_at))
            .then_with(|| a.ticket.cmp(&b.ticket))
    });
    out
}

/// The English code of a face in the JSON (`positive`, `neutral`, `negative`).
pub fn json_code(score: Score) -> &'static str {
    match score {
        Score::Positive => "positive",
        Score::Neutral => "neutral",
        Score::Negative => "negative",
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn closing(
        ticket: u32,
        channel: Channel,
        level: Level,
        technician: Option<&str>,
        score: Option<u8>,
        comment: &str,
    ) -> Closing {
        Closing {
            ticket: format!("TCK-2026-{ticket:05}"),
            channel,
            level,
            technician: technician.map(String::from),
            resolved_at: Utc
                .with_ymd_and_hms(2026, 3, ticket, 10, 0, 0)
                .single()
                .expect("instant"),
            score: score.and_then(Score::from_number),
            comment: comment.into(),
        }
    }

    /// Eight closings worked out by hand: 5 voted (3 positive, 1 neutral, 1 negative).
    #[test]
    fn the_figures_of_eight_closings_worked_out_by_hand() {
        const G: Option<&str> = Some("giulia@example.org");
        const L: Option<&str> = Some("luca@example.org");
        use Channel::{Email, Phone, Portal};
        use Level::{First, Second};
        let closings = [
            closing(1, Email, First, G, Some(1), "Veloci, grazie"),
            closing(2, Email, First, G, Some(3), "Nessuno mi ha spiegato il motivo"),
            closing(3, Email, First, G, None, ""),
            closing(4, Portal, First, G, Some(1), "  "),
            closing(5, Portal, First, G, None, ""),
            closing(6, Email, Second, L, Some(2), "Lento"),
            closing(7, Phone, First, None, Some(1), ""),
            closing(8, Email, Second, L, None, ""),
        ];
        let s = compute(&closings);
        assert_eq!(
            s.total,
            Votes {
                closings: 8,
                positive: 3,
                neutral: 1,
                negative: 1
            }
        );
        // 5 of 8 = 62.5 %; 3 of 5 = 60 %, 1 of 5 = 20 %.
        assert_eq!(s.total.response_rate(), Some(62.5));
        assert_eq!(s.total.share(Score::Positive), Some(60.0));
        assert_eq!(s.total.share(Score::Negative), Some(20.0));
        // E-mail: T1 T2 T3 T6 T8, votes 1 3 2 → 3 of 5; portal T4 T5: 1 of 2; phone T7: 1 of 1.
        assert_eq!(
            s.by_channel["email"],
            Votes {
                closings: 5,
                positive: 1,
                neutral: 1,
                negative: 1
            }
        );
        assert_eq!(s.by_channel["portal"].response_rate(), Some(50.0));
        assert_eq!(s.by_channel["phone"].response_rate(), Some(100.0));
        // Level 2: T6 T8, one neutral vote.
        assert_eq!(
            s.by_level["2"],
            Votes {
                closings: 2,
                positive: 0,
                neutral: 1,
                negative: 0
            }
        );
        assert_eq!(s.by_level["1"].closings, 6);
        assert_eq!(s.by_group["email/2"], s.by_level["2"]);
        assert_eq!(s.by_group["email/1"].cast(), 2);
        // Giulia T1–T5 (3 votes), Luca T6 T8 (1), T7 without a technician on record.
        assert_eq!(s.by_technician["giulia@example.org"].cast(), 3);
        assert_eq!(s.by_technician["luca@example.org"].response_rate(), Some(50.0));
        assert_eq!(s.by_technician[NO_TECHNICIAN].closings, 1);
        // Comments with words only, negative first.
        let comments: Vec<(&str, Score)> = s.comments.iter().map(|c| (c.text.as_str(), c.score)).collect();
        assert_eq!(
            comments,
            [
                ("Nessuno mi ha spiegato il motivo", Score::Negative),
                ("Lento", Score::Neutral),
                ("Veloci, grazie", Score::Positive),
            ]
        );
    }

    #[test]
    fn no_closings_no_rates() {
        let s = compute(&[]);
        assert_eq!(s.total.response_rate(), None);
        assert_eq!(s.total.share(Score::Positive), None);
        let none = closing(1, Channel::Email, Level::First, None, None, "");
        let s = compute(&[none]);
        assert_eq!(s.total.response_rate(), Some(0.0));
        assert_eq!(s.total.share(Score::Neutral), None, "no votes: no shares");
    }
}
