//! The satisfaction vote (issue 17, section 4), pure: whether a vote for a cycle is taken,
//! changed, the same again or refused, what it sets off, and which replies to the closing
//! letter are a vote.
//!
//! The rules, decided once here:
//! - A vote is for the SLA cycle its link names (`/t/{id}/{secret}/vote/{cycle}/…`), and only
//!   while that cycle is the ticket's latest and was closed by a closing letter: a link of a
//!   cycle the ticket was reopened from is refused ([`Refusal::Superseded`]), also when the
//!   reopened cycle was closed again (its own letter has its own links). A ticket closed
//!   otherwise (out of scope, spam, a phone closing) has no vote ([`Refusal::NotClosed`]).
//! - One vote per cycle, cast or changed until `[survey] days` after the closing
//!   ([`until`]; [`Refusal::Expired`] after it). The same score with the same comment again
//!   changes nothing and tells nobody ([`Verdict::Unchanged`]).
//! - A negative vote with a comment is sent to the supervisors and to the technician who
//!   resolved the cycle (once each), with the comment, each time it is cast or changed —
//!   never for the same vote submitted again.
//! - A reply by mail to a closed ticket is a vote ([`reply_vote`]) when, once the signature and
//!   the courtesies are set aside, it says only one of [`VOTE_WORDS`]; it comes from the
//!   requester's own address; and it does not reopen. The requester gets a short letter saying
//!   what was recorded and until when it can change (a mail vote has no page to confirm it),
//!   or that the vote is closed. Anything else is a message, as before ([`by_mail`] says None).

use chrono::{DateTime, TimeDelta, Utc};

use super::effect::{Effect, Letter};
use super::privacy::{Score, clean_comment, tell_of};
use super::roster;
use crate::config::Operator;
use crate::model::{EventAction, NoticeKind};

/// How a vote arrived (`votes.via`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The confirmation page behind the closing letter's links.
    Web,
    /// A reply to the closing letter.
    Mail,
}

impl Via {
    /// The spelling of `votes.via`.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Web => "web",
            Via::Mail => "mail",
        }
    }
}

/// The latest cycle, when a closing letter closed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed<'a> {
    /// The cycle's row.
    pub cycle_id: i64,
    /// When it was resolved.
    pub resolved_at: DateTime<Utc>,
    /// Who resolved it (an address).
    pub technician: Option<&'a str>,
}

/// A vote already recorded for the latest cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded<'a> {
    /// Its score.
    pub score: Score,
    /// Its comment ("" when none).
    pub comment: &'a str,
}

/// What the rule knows of the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts<'a> {
    /// The latest cycle's number.
    pub latest: u32,
    /// The latest cycle, when a closing letter closed it.
    pub closed: Option<Closed<'a>>,
    /// Its vote, if one was cast.
    pub vote: Option<Recorded<'a>>,
    /// The requester's address (only their own mail votes).
    pub requester: Option<&'a str>,
    /// The requester's name (a reply may sign with it).
    pub requester_name: Option<&'a str>,
}

/// What surrounds the rule.
#[derive(Clone, Copy)]
pub struct Setting<'a> {
    /// Every operator (who hears of a negative vote).
    pub roster: &'a [Operator],
    /// The instant of the vote.
    pub now: DateTime<Utc>,
    /// `[survey] days`.
    pub days: u32,
}

/// Why a vote is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The link names a cycle that is no longer the ticket's latest (it was reopened since).
    Superseded,
    /// The latest cycle is open, or was not closed by a closing letter.
    NotClosed,
    /// The vote closed at this instant.
    Expired {
        /// When it closed.
        until: DateTime<Utc>,
    },
}

/// What becomes of a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A first vote for the cycle.
    Cast,
    /// The cycle's vote changes.
    Changed,
    /// The same score and comment again: nothing to do.
    Unchanged,
    /// Not taken.
    Refused(Refusal),
}

/// Until when a cycle resolved at `resolved_at` may be voted: `days` days after it.
pub fn until(resolved_at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    resolved_at + TimeDelta::days(i64::from(days))
}

/// Whether cycle `cycle` may be voted now: until when, or why not.
pub fn open_for(facts: &Facts<'_>, cycle: u32, setting: &Setting<'_>) -> Result<DateTime<Utc>, Refusal> {
    if cycle != facts.latest {
        return Err(Refusal::Superseded);
    }
    let closed = facts.closed.ok_or(Refusal::NotClosed)?;
    let until = until(closed.resolved_at, setting.days);
    // Only the end bounds it: a clock a moment behind the closing's (another process's) is
    // not "closed".
    if setting.now <= until {
        Ok(until)
    } else {
        Err(Refusal::Expired { until })
    }
}

/// What a vote of `score` with `comment` for cycle `cycle` becomes.
pub fn judge(facts: &Facts<'_>, cycle: u32, score: Score, comment: &str, setting: &Setting<'_>) -> Verdict {
    if let Err(refusal) = open_for(facts, cycle, setting) {
        return Verdict::Refused(refusal);
    }
    match facts.vote {
        None => Verdict::Cast,
        Some(v) if v.score == score && v.comment == clean_comment(comment) => Verdict::Unchanged,
        Some(_) => Verdict::Changed,
    }
}

/// A vote submitted: its verdict and its effects (the row, an event, the notice of a negative
/// vote with a comment; by mail, the letter to the requester).
pub fn cast(
    facts: &Facts<'_>,
    cycle: u32,
    score: Score,
    comment: &str,
    via: Via,
    voter: &str,
    setting: &Setting<'_>,
) -> (Verdict, Vec<Effect>) {
    let verdict = judge(facts, cycle, score, comment, setting);
    let comment = clean_comment(comment);
    let technician = facts.closed.and_then(|c| c.technician);
    let event = |detail: String| Effect::Event {
        actor: voter.to_string(),
        action: EventAction::Voted,
        detail,
        about: technician.map(str::to_string),
    };
    let letter = |recorded: bool, until: DateTime<Utc>| Effect::Letter {
        letter: Letter::Vote { score, recorded, until },
        stamp: None,
    };
    let mut effects = Vec::new();
    match verdict {
        Verdict::Cast | Verdict::Changed => {
            let Some(closed) = facts.closed else {
                return (verdict, effects);
            };
            effects.push(Effect::RecordVote {
                cycle_id: closed.cycle_id,
                score,
                comment: comment.clone(),
                via,
            });
            let change = if verdict == Verdict::Changed { ", changed" } else { "" };
            // The comment is the requester's words: the vote's row keeps it, the audit trail not.
            effects.push(event(format!(
                "cycle {cycle}: {} ({}{change})",
                score.code(),
                via.as_str()
            )));
            if tell_of(score, &comment) {
                let mut to = roster::supervisors(setting.roster);
                if let Some(op) = technician.and_then(|t| roster::by_address(setting.roster, t))
                    && !to.iter().any(|o| o.email == op.email)
                {
                    to.push(op);
                }
                effects.push(Effect::NotifyOperators {
                    to: roster::addresses(&to),
                    kind: NoticeKind::NegativeVote,
                    reason: technician
                        .and_then(|t| roster::by_address(setting.roster, t))
                        .map(|o| o.name.clone())
                        .unwrap_or_default(),
                    text: comment,
                    screening: false,
                    note: String::new(),
                });
            }
            if via == Via::Mail {
                effects.push(letter(true, until(closed.resolved_at, setting.days)));
            }
        }
        Verdict::Unchanged => {
            if via == Via::Mail
                && let Some(closed) = facts.closed
            {
                effects.push(letter(true, until(closed.resolved_at, setting.days)));
            }
        }
        Verdict::Refused(Refusal::Expired { until }) if via == Via::Mail => {
            effects.push(event(format!(
                "cycle {cycle}: {} by mail after the vote closed: not recorded",
                score.code()
            )));
            effects.push(letter(false, until));
        }
        Verdict::Refused(_) => {}
    }
    (verdict, effects)
}

/// A reply to a closed ticket as the vote it casts, or None when it is a message (and the
/// ticket reopens, or takes the thank-you, as before): only the requester's own mail, only
/// on a cycle closed by a closing letter, only a text that is a vote ([`reply_vote`]). After
/// the vote closed, the reply is still no reopening: the requester is told the vote is closed.
pub fn by_mail(facts: &Facts<'_>, author: &str, text: &str, setting: &Setting<'_>) -> Option<Vec<Effect>> {
    let requester = facts.requester?;
    if !requester.eq_ignore_ascii_case(author.trim()) || facts.closed.is_none() {
        return None;
    }
    let score = reply_vote(text, facts.requester_name)?;
    let (verdict, effects) = cast(facts, facts.latest, score, "", Via::Mail, author, setting);
    match verdict {
        Verdict::Refused(Refusal::Superseded | Refusal::NotClosed) => None,
        _ => Some(effects),
    }
}

/// The words (and faces) a reply votes with, by score; a multi-word one is matched whole.
/// Kept small and unambiguous: "ok" is a thank-you ("ok, grazie"), never a neutral vote.
pub const VOTE_WORDS: &[(Score, &[&str])] = &[
    (
        Score::Positive,
        &[
            "1",
            "positivo",
            "positiva",
            "soddisfatto",
            "soddisfatta",
            "positive",
            "satisfied",
            "good",
            "🙂",
            "😊",
            "😀",
            "👍",
        ],
    ),
    (
        Score::Neutral,
        &[
            "2",
            "neutro",
            "neutra",
            "neutrale",
            "così così",
            "cosi cosi",
            "neutral",
            "😐",
        ],
    ),
    (
        Score::Negative,
        &[
            "3",
            "negativo",
            "negativa",
            "insoddisfatto",
            "insoddisfatta",
            "non soddisfatto",
            "non soddisfatta",
            "negative",
            "dissatisfied",
            "unsatisfied",
            "bad",
            "🙁",
            "☹",
            "😞",
            "👎",
        ],
    ),
];

/// Words a reply may carry around its vote without being more than a vote: greetings and
/// thanks, and the word "vote" itself ("Voto: 2").
const COURTESY: &[&str] = &[
    "grazie",
    "mille",
    "saluti",
    "cordiali",
    "distinti",
    "cordialmente",
    "buongiorno",
    "buonasera",
    "salve",
    "buona",
    "giornata",
    "serata",
    "voto",
    "giudizio",
    "ok",
    "ciao",
    "il",
    "mio",
    "è",
    "e",
    "do",
    "thanks",
    "thank",
    "you",
    "regards",
    "kind",
    "best",
    "vote",
    "my",
    "is",
    "hi",
];

/// The vote a reply casts: its fresh text without the signature
/// (`requester::without_signature`) is one of [`VOTE_WORDS`], with nothing else but
/// courtesies, the requester's own name, punctuation and the usual text faces (`:)` `:|`
/// `:(`). A question mark, a digit besides the vote, any other word: a message.
pub fn reply_vote(text: &str, requester_name: Option<&str>) -> Option<Score> {
    let text = super::requester::without_signature(text).to_lowercase();
    if text.contains('?') {
        return None;
    }
    let text = text
        .replace(":-)", " 🙂 ")
        .replace(":)", " 🙂 ")
        .replace(":-|", " 😐 ")
        .replace(":|", " 😐 ")
        .replace(":-(", " 🙁 ")
        .replace(":(", " 🙁 ")
        .replace('\u{FE0F}', "");
    let name: Vec<String> = requester_name
        .unwrap_or_default()
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_string)
        .collect();
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || ".,;:!\"'()[]*_-–—".contains(c))
        .filter(|w| !w.is_empty())
        .filter(|w| !COURTESY.contains(w) && !name.iter().any(|n| n == w))
        .collect();
    if words.is_empty() || words.len() > 2 {
        return None;
    }
    let said = words.join(" ");
    VOTE_WORDS
        .iter()
        .find(|(_, spellings)| spellings.contains(&said.as_str()))
        .map(|(score, _)| *score)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::testing::{operator, rome};
    use crate::model::Level;

    const GIULIA: &str = "giulia@comune.example.it";
    const LUCA: &str = "luca@comune.example.it";
    const ANNA: &str = "anna@example.org";

    fn staff() -> Vec<Operator> {
        vec![
            operator("Giulia Bianchi", GIULIA, Level::First),
            Operator {
                supervisor: true,
                ..operator("Luca Verdi", LUCA, Level::Second)
            },
        ]
    }

    /// Cycle 2 of a ticket, resolved by Giulia on 9 March at 10:00 with a closing letter.
    fn closed(vote: Option<Recorded<'static>>) -> Facts<'static> {
        Facts {
            latest: 2,
            closed: Some(Closed {
                cycle_id: 7,
                resolved_at: rome(9, 10, 0),
                technician: Some(GIULIA),
            }),
            vote,
            requester: Some(ANNA),
            requester_name: Some("Anna Ferrari"),
        }
    }

    fn at(roster: &[Operator], now: DateTime<Utc>) -> Setting<'_> {
        Setting { roster, now, days: 14 }
    }

    #[test]
    fn a_vote_is_cast_changed_or_the_same_again_within_the_days() {
        let staff = staff();
        let now = at(&staff, rome(10, 9, 0));
        assert_eq!(judge(&closed(None), 2, Score::Positive, "", &now), Verdict::Cast);
        let neutral = Recorded {
            score: Score::Neutral,
            comment: "lento",
        };
        assert_eq!(
            judge(&closed(Some(neutral)), 2, Score::Positive, "", &now),
            Verdict::Changed
        );
        assert_eq!(
            judge(&closed(Some(neutral)), 2, Score::Neutral, "", &now),
            Verdict::Changed,
            "the comment changed"
        );
        assert_eq!(
            judge(&closed(Some(neutral)), 2, Score::Neutral, "  lento \n", &now),
            Verdict::Unchanged,
            "compared as stored"
        );
        // The last instant of the fourteenth day still counts; one second later it is closed.
        let last = at(&staff, rome(23, 10, 0));
        assert_eq!(judge(&closed(None), 2, Score::Negative, "", &last), Verdict::Cast);
        let late = at(&staff, rome(23, 10, 0) + TimeDelta::seconds(1));
        assert_eq!(
            judge(&closed(None), 2, Score::Negative, "", &late),
            Verdict::Refused(Refusal::Expired { until: rome(23, 10, 0) })
        );
        assert_eq!(open_for(&closed(None), 2, &now), Ok(rome(23, 10, 0)));
        // A clock a moment behind the closing's (another process) does not find it closed.
        let behind = at(&staff, rome(9, 9, 59));
        assert_eq!(judge(&closed(None), 2, Score::Negative, "", &behind), Verdict::Cast);
    }

    #[test]
    fn a_link_of_an_older_cycle_or_a_ticket_not_closed_by_a_letter_votes_nothing() {
        let staff = staff();
        let now = at(&staff, rome(10, 9, 0));
        // The ticket was reopened from cycle 1 (and closed again as cycle 2): cycle 1's link.
        assert_eq!(
            judge(&closed(None), 1, Score::Negative, "", &now),
            Verdict::Refused(Refusal::Superseded)
        );
        assert_eq!(
            judge(&closed(None), 3, Score::Negative, "", &now),
            Verdict::Refused(Refusal::Superseded)
        );
        let reopened = Facts {
            closed: None,
            ..closed(None)
        };
        assert_eq!(
            judge(&reopened, 2, Score::Positive, "", &now),
            Verdict::Refused(Refusal::NotClosed)
        );
        let (_, effects) = cast(&reopened, 2, Score::Negative, "male", Via::Web, ANNA, &now);
        assert!(effects.is_empty(), "{effects:?}");
    }

    #[test]
    fn a_web_vote_records_the_row_and_an_event_without_the_comment() {
        let staff = staff();
        let now = at(&staff, rome(10, 9, 0));
        let (verdict, effects) = cast(
            &closed(None),
            2,
            Score::Positive,
            " Grazie!\u{7} ",
            Via::Web,
            ANNA,
            &now,
        );
        assert_eq!(verdict, Verdict::Cast);
        assert_eq!(
            effects,
            vec![
                Effect::RecordVote {
                    cycle_id: 7,
                    score: Score::Positive,
                    comment: "Grazie!".into(),
                    via: Via::Web
                },
                Effect::Event {
                    actor: ANNA.into(),
                    action: EventAction::Voted,
                    detail: "cycle 2: positivo (web)".into(),
                    about: Some(GIULIA.into()),
                },
            ]
        );
    }

    fn notices(effects: &[Effect]) -> Vec<(Vec<String>, String)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::NotifyOperators {
                    to,
                    kind: NoticeKind::NegativeVote,
                    text,
                    ..
                } => Some((to.clone(), text.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_negative_vote_with_words_reaches_the_supervisors_and_the_technician_once() {
        let staff = staff();
        let now = at(&staff, rome(10, 9, 0));
        let (_, effects) = cast(
            &closed(None),
            2,
            Score::Negative,
            "Mai risposto al telefono",
            Via::Web,
            ANNA,
            &now,
        );
        assert_eq!(
            notices(&effects),
            vec![(
                vec![LUCA.to_string(), GIULIA.to_string()],
                "Mai risposto al telefono".to_string()
            )]
        );
        // Without words, or not negative: nobody is told.
        assert!(notices(&cast(&closed(None), 2, Score::Negative, "  ", Via::Web, ANNA, &now).1).is_empty());
        assert!(notices(&cast(&closed(None), 2, Score::Neutral, "lento", Via::Web, ANNA, &now).1).is_empty());
        // The same negative vote submitted again: nothing at all, no second notice.
        let same = Recorded {
            score: Score::Negative,
            comment: "Mai risposto al telefono",
        };
        let (verdict, effects) = cast(
            &closed(Some(same)),
            2,
            Score::Negative,
            "Mai risposto al telefono",
            Via::Web,
            ANNA,
            &now,
        );
        assert_eq!((verdict, effects), (Verdict::Unchanged, vec![]));
        // New words are news: told again.
        let (verdict, effects) = cast(
            &closed(Some(same)),
            2,
            Score::Negative,
            "E nemmeno per mail",
            Via::Web,
            ANNA,
            &now,
        );
        assert_eq!(verdict, Verdict::Changed);
        assert_eq!(notices(&effects).len(), 1);
        // A technician who is also a supervisor hears once; one no longer on the roster, not at all.
        let mut only_luca = closed(None);
        only_luca.closed = only_luca.closed.map(|c| Closed {
            technician: Some(LUCA),
            ..c
        });
        assert_eq!(
            notices(&cast(&only_luca, 2, Score::Negative, "no", Via::Web, ANNA, &now).1)[0].0,
            vec![LUCA.to_string()]
        );
        only_luca.closed = only_luca.closed.map(|c| Closed {
            technician: Some("gone@comune.example.it"),
            ..c
        });
        assert_eq!(
            notices(&cast(&only_luca, 2, Score::Negative, "no", Via::Web, ANNA, &now).1)[0].0,
            vec![LUCA.to_string()]
        );
    }

    #[test]
    fn a_reply_that_is_a_vote_is_recorded_and_answered_and_never_reopens() {
        let staff = staff();
        let now = at(&staff, rome(10, 9, 0));
        let effects = by_mail(&closed(None), "Anna@Example.org", "2", &now).expect("a vote");
        assert!(matches!(
            effects[0],
            Effect::RecordVote {
                score: Score::Neutral,
                via: Via::Mail,
                ..
            }
        ));
        assert!(effects.iter().any(|e| matches!(
            e,
            Effect::Letter {
                letter: Letter::Vote {
                    score: Score::Neutral,
                    recorded: true,
                    ..
                },
                stamp: None
            }
        )));
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, Effect::Reopen { .. } | Effect::OpenCycle { .. }))
        );
        // Someone in copy, or a message: not a vote (the usual rules apply).
        assert_eq!(by_mail(&closed(None), "carla@example.org", "2", &now), None);
        assert_eq!(by_mail(&closed(None), ANNA, "2 ma non funziona", &now), None);
        let reopened = Facts {
            closed: None,
            ..closed(None)
        };
        assert_eq!(by_mail(&reopened, ANNA, "2", &now), None);
        // After the days: not recorded, not reopened, the requester told.
        let late = at(&staff, rome(25, 9, 0));
        let effects = by_mail(&closed(None), ANNA, "3", &late).expect("still no reopening");
        assert!(!effects.iter().any(|e| matches!(e, Effect::RecordVote { .. })));
        assert!(effects.iter().any(|e| matches!(
            e,
            Effect::Letter {
                letter: Letter::Vote { recorded: false, .. },
                ..
            }
        )));
    }

    #[test]
    fn only_a_vote_and_courtesies_are_a_vote() {
        for (text, score) in [
            ("1", Score::Positive),
            (" 2.\n", Score::Neutral),
            ("3!", Score::Negative),
            ("Soddisfatto", Score::Positive),
            ("insoddisfatta", Score::Negative),
            ("Non soddisfatto.", Score::Negative),
            ("Neutral", Score::Neutral),
            ("così così", Score::Neutral),
            ("🙂", Score::Positive),
            ("☹️", Score::Negative),
            (":-(", Score::Negative),
            ("😐", Score::Neutral),
            ("Voto: 2", Score::Neutral),
            ("1, grazie!", Score::Positive),
            ("3\n\nAnna Ferrari", Score::Negative),
            ("Good, thank you", Score::Positive),
            (
                "2\n\nCordiali saluti,\nAnna Ferrari\nVia Roma 1, 00100 Roma",
                Score::Neutral,
            ),
            ("1\n\nInviato da iPhone", Score::Positive),
            ("Ok, 1", Score::Positive),
            ("Il mio voto è 3", Score::Negative),
            ("My vote is 2", Score::Neutral),
            ("Ciao, do 1", Score::Positive),
        ] {
            assert_eq!(reply_vote(text, Some("Anna Ferrari")), Some(score), "{text:?}");
        }
        for text in [
            "",
            "grazie",
            "ok",
            "ok grazie",
            "13",
            "1 2",
            "2?",
            "1 ma il problema resta",
            "3 non funziona ancora",
            "positivo ma lento",
            "3\n\nMario Rossi",
            "Il file viene ancora rifiutato",
            "2 allegati",
        ] {
            assert_eq!(reply_vote(text, Some("Anna Ferrari")), None, "{text:?}");
        }
    }
}
