//! Who hears about what, from the configured operators alone.

use crate::config::Operator;
use crate::model::Level;

/// First-level operators who are not marked away: they receive new requests.
pub fn first_level(roster: &[Operator]) -> Vec<&Operator> {
    roster.iter().filter(|o| o.level == Level::First && !o.away).collect()
}

/// The supervisors (every operator when none is marked supervisor).
pub fn supervisors(roster: &[Operator]) -> Vec<&Operator> {
    let marked: Vec<&Operator> = roster.iter().filter(|o| o.supervisor).collect();
    if marked.is_empty() {
        roster.iter().collect()
    } else {
        marked
    }
}

/// The operator with this address (without regard to case).
pub fn by_address<'r>(roster: &'r [Operator], address: &str) -> Option<&'r Operator> {
    roster.iter().find(|o| o.email.eq_ignore_ascii_case(address))
}

/// Who hears about a ticket: its assignee, or first level while it has none (or while its
/// assignee is no longer an operator).
pub fn assignee_or_first_level<'r>(roster: &'r [Operator], assignee: Option<&str>) -> Vec<&'r Operator> {
    match assignee.and_then(|a| by_address(roster, a)) {
        Some(op) => vec![op],
        None => first_level(roster),
    }
}

/// Their addresses.
pub fn addresses(operators: &[&Operator]) -> Vec<String> {
    operators.iter().map(|o| o.email.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(email: &str, level: Level, supervisor: bool, away: bool) -> Operator {
        Operator {
            name: email.into(),
            email: email.into(),
            level,
            supervisor,
            away,
        }
    }

    #[test]
    fn first_level_skips_the_away_and_supervisors_default_to_everyone() {
        let roster = [
            op("a@x", Level::First, false, false),
            op("b@x", Level::First, false, true),
            op("c@x", Level::Second, true, false),
        ];
        assert_eq!(addresses(&first_level(&roster)), ["a@x"]);
        assert_eq!(addresses(&supervisors(&roster)), ["c@x"]);
        let nobody_marked = [
            op("a@x", Level::First, false, false),
            op("c@x", Level::Second, false, false),
        ];
        assert_eq!(addresses(&supervisors(&nobody_marked)), ["a@x", "c@x"]);
        assert_eq!(addresses(&assignee_or_first_level(&roster, Some("c@x"))), ["c@x"]);
        assert_eq!(addresses(&assignee_or_first_level(&roster, Some("gone@x"))), ["a@x"]);
        assert_eq!(addresses(&assignee_or_first_level(&roster, None)), ["a@x"]);
    }
}
