//! The simulation as a readable chat log.

use chrono_tz::Tz;

use super::Entry;
use super::input::What;
use crate::engine::Effect;

fn stamp(tz: Tz, at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&tz)
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

fn indent(text: &str) -> String {
    text.lines().collect::<Vec<_>>().join("\n    ")
}

/// Renders entries in `tz` (the team's main zone).
pub fn render(entries: &[Entry], tz: Tz) -> String {
    let mut out = String::new();
    for e in entries {
        let line = match e {
            Entry::Input(l) => {
                let t = stamp(tz, l.at);
                match &l.what {
                    What::Merged(m) => format!(
                        "[{t}] [{}] * {} merged {}: {}",
                        m.product, m.author, m.change, m.title
                    ),
                    What::Chat(c) => format!("[{t}] [{}] <{}> {}", c.product, c.from, c.text),
                    What::Ci(c) => format!(
                        "[{t}] [{}] * CI reports RC #{} {:?}",
                        c.product, c.rc, c.status
                    ),
                    What::Clock => format!("[{t}] * time passes"),
                }
            }
            Entry::Effect { at, effect } => {
                let t = stamp(tz, *at);
                match effect {
                    Effect::Post(p) => {
                        format!("[{t}] [{}] <shipgate> {}", p.product, indent(&p.text))
                    }
                    Effect::Rc(r) => format!(
                        "[{t}] [{}] = RC #{} is {} (manager {}, {} change{})",
                        r.product,
                        r.id,
                        r.state.as_str(),
                        r.manager,
                        r.changes.len(),
                        if r.changes.len() == 1 { "" } else { "s" }
                    ),
                    Effect::Release(r) => format!(
                        "[{t}] [{}] = release of RC #{} {}: {}",
                        r.product,
                        r.rc,
                        if r.allowed { "allowed" } else { "refused" },
                        r.reason
                    ),
                    Effect::Remind(r) => format!(
                        "[{t}] [{}] = reminded {} about {}",
                        r.product,
                        r.to,
                        r.changes.join(", ")
                    ),
                    Effect::Action(a) => format!(
                        "[{t}] [{}] = CI action: {:?} RC #{}",
                        a.product, a.kind, a.rc
                    ),
                    Effect::Deployment(d) => format!(
                        "[{t}] [{}] = GitHub deployment to {}: {}",
                        d.product,
                        d.environment,
                        if d.approved { "approved" } else { "rejected" }
                    ),
                }
            }
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}
