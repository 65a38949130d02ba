//! Who hears about what, from the configured operators alone.

use crate::config::Operator;
use crate::model::Level;

/// First-level operators who are not marked away: they receive new requests.
pub fn first_level(roster: &[Operator]) -> Vec<&Operator> {
    roster.iter().filter(|o| o.level == Level::First && !o.away).collect()
}

/// The supervisors at work (every operator at work when none is marked supervisor). When
/// every supervisor is away, all of them still hear: an alarm must reach someone.
pub fn supervisors(roster: &[Operator]) -> Vec<&Operator> {
    let marked: Vec<&Operator> = roster.iter().filter(|o| o.supervisor).collect();
    let pool = if marked.is_empty() {
        roster.iter().collect()
    } else {
        marked
    };
    let present: Vec<&Operator> = pool.iter().copied().filter(|o| !o.away).collect();
    if present.is_empty() { pool } else { present }
}

/// The operator with this address (without regard to case).
pub fn by_address<'r>(roster: &'r [Operator], address: &str) -> Option<&'r Operator> {
    roster.iter().find(|o| o.email.eq_ignore_ascii_case(address))
}

/// The colleague standing in for `op` while they are away: their deputy, when that is an
/// operator who is not away too.
pub fn stand_in<'r>(roster: &'r [Operator], op: &Operator) -> Option<&'r Operator> {
    op.deputy
        .as_deref()
        .and_then(|d| by_address(roster, d))
        .filter(|d| !d.away && !d.email.eq_ignore_ascii_case(&op.email))
}

/// Who acts for the operator at `address` today: themselves when present, their deputy while
/// they are away, none when they are away without one (or are no operator).
pub fn acting_for<'r>(roster: &'r [Operator], address: &str) -> Option<&'r Operator> {
    let op = by_address(roster, address)?;
    if op.away { stand_in(roster, op) } else { Some(op) }
}

/// Who hears about a ticket: its assignee (their deputy while they are away), or first level
/// while it has none (or while its assignee is away without a deputy, or no longer an
/// operator).
pub fn assignee_or_first_level<'r>(roster: &'r [Operator], assignee: Option<&str>) -> Vec<&'r Operator> {
    match assignee.and_then(|a| acting_for(roster, a)) {
        Some(op) => vec![op],
        None => first_level(roster),
    }
}

/// True when `op` may act on tickets others hold (take them over, hand them on): supervisors
/// only — unlike [`supervisors`], nobody is one by default.
pub fn may_override(op: &Operator) -> bool {
    op.supervisor
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
            deputy: None,
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

    #[test]
    fn an_away_operators_work_goes_to_their_deputy_else_to_first_level() {
        let mut roster = vec![
            op("a@x", Level::First, false, true),
            op("b@x", Level::First, false, false),
            op("c@x", Level::Second, true, false),
        ];
        assert_eq!(
            addresses(&assignee_or_first_level(&roster, Some("a@x"))),
            ["b@x"],
            "no deputy"
        );
        roster[0].deputy = Some("c@x".into());
        assert_eq!(addresses(&assignee_or_first_level(&roster, Some("a@x"))), ["c@x"]);
        assert_eq!(acting_for(&roster, "b@x").map(|o| o.email.as_str()), Some("b@x"));
        roster[2].away = true;
        assert!(acting_for(&roster, "a@x").is_none(), "the deputy is away too");
        assert!(may_override(&roster[2]) && !may_override(&roster[1]));
        // An absent supervisor hears nothing while another is at work; if all are away, all hear.
        let mut two = vec![
            op("s1@x", Level::Second, true, true),
            op("s2@x", Level::Second, true, false),
        ];
        assert_eq!(addresses(&supervisors(&two)), ["s2@x"]);
        two[1].away = true;
        assert_eq!(addresses(&supervisors(&two)), ["s1@x", "s2@x"]);
    }
}
