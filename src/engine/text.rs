//! Small pieces of message text shared by the engine's modules.

use super::state::{Rc, Trigger};

pub use crate::timefmt::{from_now, local};

pub fn at(name: &str) -> String {
    format!("@{name}")
}

pub fn trigger(rc: &Rc) -> &'static str {
    match (rc.trigger, rc.urgent) {
        (Trigger::Daily, _) => "daily",
        (Trigger::Manual, false) => "manual",
        (Trigger::Manual, true) => "urgent",
    }
}

/// `#12 Fix login (@alice)` lines for an RC's changes.
pub fn change_lines(rc: &Rc, pending_only: bool) -> String {
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
            format!(
                "  {mark} {} {} (@{}{handed})",
                c.change.id, c.change.title, c.change.author
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
