//! Validating `policy { ... }` blocks into a [`Policy`].

use std::collections::BTreeMap;

use chrono::TimeDelta;
use chrono_tz::Tz;

use super::ast::{self, GateKind, PolicyDef, PolicyItem, Span, Spanned};
use super::model::RuleSet;
use super::policy::{DailyPolicy, Policy};
use super::validate::{Validator, day_mask};
use crate::command::Action;

/// The longest duration a policy setting may have.
const MAX_DAYS: i64 = 60;

/// Parses `1h30m`, `15m`, `2d`. The grammar guarantees the shape.
pub fn parse_duration(text: &str) -> Option<TimeDelta> {
    let mut total = TimeDelta::zero();
    let mut digits = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let n: i64 = digits.parse().ok()?;
        digits.clear();
        let part = match ch {
            'd' => TimeDelta::try_days(n)?,
            'h' => TimeDelta::try_hours(n)?,
            'm' => TimeDelta::try_minutes(n)?,
            _ => return None,
        };
        total = total.checked_add(&part)?;
    }
    digits.is_empty().then_some(total)
}

/// Where each policy setting was first written, for duplicate errors.
type Seen = BTreeMap<&'static str, (usize, Span)>;

impl Validator<'_> {
    pub(super) fn policies(
        &mut self,
        files: &[ast::File],
        file_tzs: &[super::validate::ScopeTz],
        set: &mut RuleSet,
    ) {
        let default_tz = set
            .windows
            .get("production")
            .map(|w| w.tz)
            .or_else(|| file_tzs.iter().find(|s| s.explicit).map(|s| s.tz))
            .unwrap_or(Tz::UTC);
        let mut top = Policy {
            timezone: default_tz,
            ..Policy::default()
        };
        let mut seen = Seen::new();
        for (file, f) in files.iter().enumerate() {
            for item in &f.items {
                if let ast::Item::Policy(def) = item {
                    self.apply_policy(file, def, &mut top, &mut seen, set, None);
                }
            }
        }
        set.policy = top.clone();
        for (file, f) in files.iter().enumerate() {
            for item in &f.items {
                let ast::Item::Product(p) = item else {
                    continue;
                };
                if p.policies.is_empty() {
                    continue;
                }
                let mut policy = top.clone();
                if let Some(tz) = p.timezones.first().and_then(|t| t.node.parse::<Tz>().ok()) {
                    policy.timezone = tz;
                }
                let mut seen = Seen::new();
                for def in &p.policies {
                    self.apply_policy(file, def, &mut policy, &mut seen, set, Some(&p.name.node));
                }
                if let Some(rules) = set.products.get_mut(&p.name.node) {
                    rules.policy = Some(policy);
                }
            }
        }
    }

    fn duration(&mut self, file: usize, d: &Spanned<String>) -> Option<TimeDelta> {
        match parse_duration(&d.node) {
            Some(t) if t > TimeDelta::zero() && t <= TimeDelta::days(MAX_DAYS) => Some(t),
            Some(t) if t <= TimeDelta::zero() => {
                let e = self.push(
                    file,
                    d.span,
                    "bad-duration",
                    format!("`{}` is no time at all", d.node),
                    "zero",
                );
                e.help = Some("write a duration longer than zero, like `15m`".to_owned());
                None
            }
            _ => {
                let e = self.push(
                    file,
                    d.span,
                    "bad-duration",
                    format!("`{}` is too long", d.node),
                    "too long",
                );
                e.help = Some(format!("durations here may be at most {MAX_DAYS} days"));
                None
            }
        }
    }

    fn once(&mut self, file: usize, span: Span, what: &'static str, seen: &mut Seen) -> bool {
        if let Some(&(first_file, first)) = seen.get(what) {
            let e = self.push(
                file,
                span,
                "duplicate-setting",
                format!("the policy sets `{what}` twice"),
                "set again here",
            );
            if first_file == file {
                *e = e.clone().with_related(first, "first set here");
            }
            e.help = Some("keep one; a product's policy overrides the top-level one".to_owned());
            return false;
        }
        seen.insert(what, (file, span));
        true
    }

    fn gate(
        &mut self,
        file: usize,
        kind: GateKind,
        window: Option<&Spanned<String>>,
        set: &RuleSet,
        product: Option<&str>,
    ) -> Option<Option<String>> {
        let Some(w) = window else {
            return Some(None);
        };
        if set.window(product, &w.node).is_some() || self.window_was_defined(product, &w.node) {
            return Some(Some(w.node.clone()));
        }
        let help = self.window_help(set, product, &w.node);
        let d = self.push(
            file,
            w.span,
            "unknown-window",
            format!(
                "the {} gate names unknown window `{}`",
                kind.as_str(),
                w.node
            ),
            "no window has this name",
        );
        d.help = Some(format!(
            "{help} (or write `gate {} off` to turn the gate off)",
            kind.as_str()
        ));
        None
    }

    fn apply_policy(
        &mut self,
        file: usize,
        def: &PolicyDef,
        policy: &mut Policy,
        seen: &mut Seen,
        set: &RuleSet,
        product: Option<&str>,
    ) {
        for item in &def.items {
            let span = item.span;
            match &item.node {
                PolicyItem::Timezone(tz) => {
                    if self.once(file, span, "timezone", seen)
                        && let Some(tz) = self.timezone(file, tz)
                    {
                        policy.timezone = tz;
                    }
                }
                PolicyItem::DailyOff => {
                    if self.once(file, span, "daily", seen) {
                        policy.daily = None;
                    }
                }
                PolicyItem::Daily {
                    at,
                    days,
                    only_with_changes,
                } => {
                    if !self.once(file, span, "daily", seen) {
                        continue;
                    }
                    let Some(minute) = self.time_of_day(file, *at, false) else {
                        continue;
                    };
                    let mask = if days.is_empty() {
                        0b111_1111
                    } else {
                        days.iter().fold(0, |m, d| m | day_mask(&d.node))
                    };
                    policy.daily = Some(DailyPolicy {
                        at_minute: minute,
                        days: mask,
                        only_with_changes: *only_with_changes,
                    });
                }
                PolicyItem::ManualRequester => {
                    self.once(file, span, "manager manual", seen);
                }
                PolicyItem::DailyRandom { prefer, repeat_ok } => {
                    if !self.once(file, span, "manager daily", seen) {
                        continue;
                    }
                    policy.avoid_repeat = !repeat_ok;
                    policy.prefer_timezone = match prefer {
                        None => None,
                        Some(p) => match self.timezone(file, p) {
                            Some(tz) => Some(tz),
                            None => continue,
                        },
                    };
                }
                PolicyItem::UrgentNotice(d) => {
                    if self.once(file, span, "urgent notice", seen)
                        && let Some(t) = self.duration(file, d)
                    {
                        policy.urgent_notice = t;
                    }
                }
                PolicyItem::ExceptionLasts(d) => {
                    if self.once(file, span, "exception lasts", seen)
                        && let Some(t) = self.duration(file, d)
                    {
                        policy.exception_lasts = t;
                    }
                }
                PolicyItem::Remind {
                    first,
                    every,
                    escalate,
                    working_hours_only,
                } => {
                    if !self.once(file, span, "remind", seen) {
                        continue;
                    }
                    let (f, e, x) = (
                        self.duration(file, first),
                        self.duration(file, every),
                        self.duration(file, escalate),
                    );
                    if let (Some(f), Some(e), Some(x)) = (f, e, x) {
                        policy.remind.first = f;
                        policy.remind.every = e;
                        policy.remind.escalate_after = x;
                        if let Some(w) = working_hours_only {
                            policy.remind.working_hours_only = *w;
                        }
                    }
                }
                PolicyItem::WorkingHours { days, time } => {
                    if !self.once(file, span, "working-hours", seen) {
                        continue;
                    }
                    let Some(m) = self.time_range(file, time) else {
                        continue;
                    };
                    if m.end < m.start {
                        let e = self.push(
                            file,
                            time.span,
                            "bad-working-hours",
                            "working hours cannot run past midnight".to_owned(),
                            "past midnight",
                        );
                        e.help =
                            Some("write a range within one day, like `09:00-17:00`".to_owned());
                        continue;
                    }
                    policy.remind.working_days =
                        days.iter().fold(0, |acc, d| acc | day_mask(&d.node));
                    policy.remind.working_start = m.start;
                    policy.remind.working_end = m.end;
                }
                PolicyItem::Gate { kind, window } => {
                    let key = match kind {
                        GateKind::Release => "gate release",
                        GateKind::Cut => "gate cut",
                    };
                    if self.once(file, span, key, seen)
                        && let Some(w) = self.gate(file, *kind, window.as_ref(), set, product)
                    {
                        match kind {
                            GateKind::Release => {
                                policy.release_gate = w;
                                policy.release_gate_written = true;
                            }
                            GateKind::Cut => policy.cut_gate = w,
                        }
                    }
                }
                PolicyItem::Allow { action, roles } => {
                    // The grammar admits only the table's words; a word it
                    // does not know is an error, never another action.
                    let Some((a, key)) = Action::from_allow_word(&action.node)
                        .and_then(|a| Some((a, a.allow_setting()?)))
                    else {
                        let e = self.push(
                            file,
                            action.span,
                            "unknown-action",
                            format!("there is no action `{}`", action.node),
                            "unknown action",
                        );
                        e.help = Some(format!(
                            "the actions are {}",
                            Action::ALLOW_WORDS
                                .iter()
                                .map(|w| format!("`{w}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                        continue;
                    };
                    if self.once(file, span, key, seen) {
                        policy
                            .allow
                            .insert(a, roles.iter().map(|r| r.node.clone()).collect());
                    }
                }
            }
        }
    }
}

/// Problems with the gates of a compiled rule set that `shipgate check`,
/// `shipgate run` and `shipgate simulate` refuse: the default `gate release
/// production` with no `production` window (the gate would follow
/// nothing). The engine fails closed on such rules (releases are refused),
/// but they are never what was meant.
pub fn check_gates(set: &RuleSet) -> Vec<super::Diagnostic> {
    let policy = &set.policy;
    let Some(gate) = policy.release_gate.as_deref() else {
        return Vec::new();
    };
    if policy.release_gate_written || set.windows.contains_key(gate) {
        return Vec::new();
    }
    let names: Vec<&str> = set.windows.keys().map(String::as_str).collect();
    let msg = format!(
        "no `{gate}` window: releases follow the `{gate}` window unless the policy names another with `gate release WINDOW`"
    );
    let closest = super::suggest::closest(gate, names.iter().copied());
    let help = match closest {
        Some(s) => format!(
            "did you mean `{s}`? rename it to `window {gate}`, or write `gate release {s}` in a `policy {{ ... }}` block; `gate release off` releases at any time"
        ),
        None => format!(
            "define `window {gate} {{ ... }}`, name another window with `gate release WINDOW` in a `policy {{ ... }}` block, or write `gate release off` to release at any time"
        ),
    };
    let mut d = super::Diagnostic::error("no-release-window", msg).with_help(help);
    // Point at the window most like it, else at the top of the first file.
    let at = closest
        .or_else(|| names.first().copied())
        .and_then(|n| set.windows.get(n))
        .map(|w| (w.origin.file.clone(), w.origin.line));
    let source = match &at {
        Some((file, _)) => set.sources.iter().find(|s| &s.name == file),
        None => set.sources.first(),
    };
    if let Some(src) = source {
        let line = at.map_or(1, |a| a.1);
        let start = src
            .text
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum::<usize>()
            .min(src.text.len());
        let end = start
            + src.text[start..]
                .find('\n')
                .unwrap_or(src.text.len() - start);
        let label = if closest.is_some() {
            format!("not `{gate}`")
        } else {
            format!("no `{gate}` window in these rules")
        };
        d = d.in_file(&src.name, src.text.clone(), Span::new(start, end), label);
    }
    vec![d]
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use chrono::TimeDelta;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m"), Some(TimeDelta::minutes(15)));
        assert_eq!(parse_duration("1h30m"), Some(TimeDelta::minutes(90)));
        assert_eq!(parse_duration("2d"), Some(TimeDelta::days(2)));
        assert_eq!(parse_duration("0m"), Some(TimeDelta::zero()));
        assert_eq!(parse_duration("99999999999999999999d"), None);
    }
}
