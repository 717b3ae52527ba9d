//! From pest pairs to the `policy { ... }` AST.

use super::ast::{GateKind, PolicyDef, PolicyItem, Spanned};
use super::parse::{Failed, P, R, Walker};
use super::syntax::Rule;

impl Walker<'_> {
    pub(super) fn policy(&mut self, p: P<'_>) -> R<PolicyDef> {
        let span = self.span(&p);
        let mut items = Vec::new();
        let mut failed = false;
        for c in p.into_inner() {
            let item_span = self.span(&c);
            let item = match c.as_rule() {
                Rule::kw_policy | Rule::lbrace | Rule::rbrace => continue,
                Rule::timezone => self.timezone(c).map(PolicyItem::Timezone),
                Rule::daily_rc => self.daily_rc(c),
                Rule::manager_rule => self.manager_rule(c),
                Rule::urgent_rule => self.one_duration(c).map(PolicyItem::UrgentNotice),
                Rule::exception_lasts => self.one_duration(c).map(PolicyItem::ExceptionLasts),
                Rule::remind_rule => self.remind_rule(c),
                Rule::working_hours => self.working_hours(c),
                Rule::allow_rule => Ok(self.allow_rule(c)),
                Rule::gate_rule => self.gate_rule(c),
                _ => Err(self.unexpected(&c)),
            };
            match item {
                Ok(i) => items.push(Spanned::new(i, item_span)),
                Err(Failed) => failed = true,
            }
        }
        if failed {
            Err(Failed)
        } else {
            Ok(PolicyDef { items, span })
        }
    }

    fn daily_rc(&mut self, p: P<'_>) -> R<PolicyItem> {
        let mut at = None;
        let mut days = Vec::new();
        let mut only_with_changes = true;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_daily | Rule::kw_at => {}
                Rule::kw_off => return Ok(PolicyItem::DailyOff),
                Rule::time => at = Some(self.time(&c)?),
                Rule::day_set => days = self.day_set(c)?,
                Rule::daily_when => {
                    only_with_changes = c.into_inner().any(|x| x.as_rule() == Rule::kw_new_changes)
                }
                _ => return Err(self.unexpected(&c)),
            }
        }
        match at {
            Some(at) => Ok(PolicyItem::Daily {
                at,
                days,
                only_with_changes,
            }),
            None => Err(Failed),
        }
    }

    fn manager_rule(&mut self, p: P<'_>) -> R<PolicyItem> {
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_manager => {}
                Rule::manual_manager => return Ok(PolicyItem::ManualRequester),
                Rule::daily_manager => {
                    let mut prefer = None;
                    let mut repeat_ok = false;
                    for x in c.into_inner() {
                        match x.as_rule() {
                            Rule::prefer => {
                                if let Some(t) = x.into_inner().find(|t| {
                                    matches!(t.as_rule(), Rule::string | Rule::unclosed_string)
                                }) {
                                    prefer = Some(self.text(t)?);
                                }
                            }
                            Rule::kw_repeat_ok => repeat_ok = true,
                            Rule::kw_no_repeat
                            | Rule::kw_daily
                            | Rule::kw_random
                            | Rule::kw_committer => {}
                            _ => return Err(self.unexpected(&x)),
                        }
                    }
                    return Ok(PolicyItem::DailyRandom { prefer, repeat_ok });
                }
                _ => return Err(self.unexpected(&c)),
            }
        }
        Err(Failed)
    }

    fn one_duration(&mut self, p: P<'_>) -> R<Spanned<String>> {
        p.into_inner()
            .find(|x| x.as_rule() == Rule::duration)
            .map(|d| self.spanned_str(&d))
            .ok_or(Failed)
    }

    fn remind_rule(&mut self, p: P<'_>) -> R<PolicyItem> {
        let mut durations = Vec::new();
        let mut working_hours_only = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::duration => durations.push(self.spanned_str(&c)),
                Rule::kw_working_hours => working_hours_only = Some(true),
                Rule::kw_anytime => working_hours_only = Some(false),
                Rule::kw_remind | Rule::kw_first | Rule::kw_every | Rule::kw_escalate => {}
                _ => return Err(self.unexpected(&c)),
            }
        }
        let mut it = durations.into_iter();
        match (it.next(), it.next(), it.next()) {
            (Some(first), Some(every), Some(escalate)) => Ok(PolicyItem::Remind {
                first,
                every,
                escalate,
                working_hours_only,
            }),
            _ => Err(Failed),
        }
    }

    fn working_hours(&mut self, p: P<'_>) -> R<PolicyItem> {
        let mut days = Vec::new();
        let mut time = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_working_hours => {}
                Rule::day_set => days = self.day_set(c)?,
                Rule::time_range => time = Some(self.time_range(c)?),
                _ => return Err(self.unexpected(&c)),
            }
        }
        time.map(|time| PolicyItem::WorkingHours { days, time })
            .ok_or(Failed)
    }

    fn gate_rule(&mut self, p: P<'_>) -> R<PolicyItem> {
        let mut kind = None;
        let mut window = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_gate | Rule::kw_off => {}
                Rule::gate_kind => {
                    kind = Some(if c.as_str().starts_with("cut") {
                        GateKind::Cut
                    } else {
                        GateKind::Release
                    })
                }
                Rule::name => window = Some(self.spanned_str(&c)),
                _ => return Err(self.unexpected(&c)),
            }
        }
        kind.map(|kind| PolicyItem::Gate { kind, window })
            .ok_or(Failed)
    }

    fn allow_rule(&mut self, p: P<'_>) -> PolicyItem {
        let mut action = None;
        let mut roles = Vec::new();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::action_name => action = Some(self.spanned_str(&c)),
                Rule::name => roles.push(self.spanned_str(&c)),
                _ => {}
            }
        }
        PolicyItem::Allow {
            action: action
                .unwrap_or_else(|| Spanned::new(String::new(), super::ast::Span::default())),
            roles,
        }
    }
}
