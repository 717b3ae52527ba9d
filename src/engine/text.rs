//! Small pieces of message text shared by the engine's modules.

use super::state::{Rc, Trigger};

pub use crate::timefmt::{from_now, local};

pub fn at(name: &str) -> String {
    // A Matrix id (an unknown sender is named by it) has its `@` already.
    if name.starts_with('@') {
        name.to_owned()
    } else {
        format!("@{name}")
    }
}

pub fn trigger(rc: &Rc) -> &'static str {
    match (rc.trigger, rc.urgent) {
        (Trigger::Daily, _) => "daily",
        (Trigger::Manual, false) => "manual",
        (Trigger::Manual, true) => "urgent",
    }
}

/// `#12 Fix login (@alice)` lines for an RC's changes.
pub fn change_lines(rc: &Rc, pending_only: bool, team: &super::Team) -> String {
    rc.changes
        .iter()
        .filter(|c| !pending_only || c.verified_at.is_none())
        .map(|c| {
            let mark = if c.verified_at.is_some() {
                "✓"
            } else {
                "•"
            };
            let handed = if c.verifier != c.change.author {
                format!(", verifying: @{}", c.verifier)
            } else {
                String::new()
            };
            // Only people in the team config are named with `@`: a change
            // by anyone else (a bot, an outside contributor) says so.
            let author = if team.people.contains_key(&c.change.author) {
                format!("@{}", c.change.author)
            } else {
                format!("by {}, outside the team", c.change.author)
            };
            format!(
                "  {mark} {} ({author}{handed})",
                change_label(&c.change.id, &c.change.title),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a, b and c`
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => "nobody".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `#12 Fix login`, or just `#12` when the change has no title.
pub fn change_label(id: &str, title: &str) -> String {
    let title = title.trim();
    if title.is_empty() {
        id.to_owned()
    } else {
        format!("{id} {title}")
    }
}

/// `1 change`, `2 changes`: a count with its noun in the right number.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// An exception request's id as people see and type it: `E7` (`#7` is a
/// change's or an RC's).
pub fn exception_id(id: u64) -> String {
    format!("E{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_counts() {
        assert_eq!(change_label("D1", ""), "D1");
        assert_eq!(change_label("D1", "  "), "D1");
        assert_eq!(change_label("#1", "Fix it"), "#1 Fix it");
        assert_eq!(count(1, "change", "changes"), "1 change");
        assert_eq!(count(0, "change", "changes"), "0 changes");
        assert_eq!(count(2, "approval", "approvals"), "2 approvals");
        assert_eq!(exception_id(7), "E7");
    }
}
