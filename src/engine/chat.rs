//! Chat messages, read at the edge into a [`Said`]: answer a command that
//! could not be read, check who may do it, dispatch; and the read-only
//! answers (`status`, `windows`, `explain`, `help`).

use super::lifecycle::{not_viable, released, request, supersede};
use super::release::{approve, release, request_exception};
use super::text::{at, change_lines, count, exception_id, from_now, local, trigger};
use super::verify::{away, back, handoff, verify};
use super::{Card, Effect, Step};
use crate::command::{Action, Command, Said, help};
use crate::rules::explain::explain;

/// A chat message as the engine receives it.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    pub product: &'a str,
    pub from: &'a str,
    /// As typed, for the audit of a command that could not be read.
    pub text: &'a str,
    pub said: &'a Said,
    pub reply_to: Option<&'a str>,
}

pub fn message(step: &mut Step<'_>, m: Message<'_>) {
    let Message {
        product,
        from,
        text,
        said,
        reply_to,
    } = m;
    let command = match said {
        Said::Nothing => return,
        Said::Command(c) => c.clone(),
        Said::Invalid(e) => {
            step.reply(
                product,
                reply_to,
                format!("{}: {e}", at(from)),
                vec![from.to_owned()],
            );
            step.audit(
                Some(from),
                "bad-command",
                text.chars().take(200).collect(),
                None,
            );
            return;
        }
    };
    if !step.ctx.team.products.contains_key(product) {
        step.audit(
            Some(from),
            "ignored",
            format!("command in unknown product {product}"),
            None,
        );
        return;
    }
    let action = command.action();
    // A command that may change something says, on its first answer,
    // whether it did (a click on a button is answered privately when not).
    let first = step.effects.len();
    let before = match (action, reply_to) {
        (Action::Read, _) | (_, None) => None,
        (_, Some(to)) => Some((to, step.state.clone())),
    };
    run(step, product, from, command, action, reply_to);
    if let Some((to, before)) = before {
        let done = *step.state != before;
        let answer = step.effects[first..].iter_mut().find_map(|e| match e {
            Effect::Post(p) if p.card.is_none() => Some(p),
            _ => None,
        });
        if let Some(p) = answer {
            p.card = Some(Card::Answer {
                to: to.to_owned(),
                done,
            });
        }
    }
}

fn run(
    step: &mut Step<'_>,
    product: &str,
    from: &str,
    command: Command,
    action: Action,
    reply_to: Option<&str>,
) {
    if let Some(refusal) = refuse(step, product, from, &command, action) {
        step.reply(
            product,
            reply_to,
            format!("{}: {refusal}", at(from)),
            vec![from.to_owned()],
        );
        step.audit(
            Some(from),
            "refused",
            format!("{}: {refusal}", command.name()),
            None,
        );
        return;
    }
    let first = step.effects.len();
    dispatch(step, product, from, command, reply_to);
    answer_replies(step, product, from, reply_to, first);
}

/// Every answer to a command replies to it. When the command's effects
/// (from `first` on) hold no post replying to it, their first post in the
/// command's room is its answer: one addressed to the sender (`@from: ...`)
/// becomes the reply; an announcement to the room (`RC #2 is cut ...`)
/// stays a message of its own (in Matrix, outside the command's thread)
/// and the command gets a short reply before it, quoting its first line.
fn answer_replies(
    step: &mut Step<'_>,
    product: &str,
    from: &str,
    reply_to: Option<&str>,
    first: usize,
) {
    let Some(reply_to) = reply_to else {
        return;
    };
    let replied = step
        .effects
        .iter()
        .skip(first)
        .any(|e| matches!(e, Effect::Post(p) if p.reply_to.as_deref() == Some(reply_to)));
    if replied {
        return;
    }
    let Some(i) = (first..step.effects.len()).find(|i| {
        matches!(step.effects.get(*i), Some(Effect::Post(p)) if p.product == product && p.reply_to.is_none())
    }) else {
        return;
    };
    let addressed = format!("{}: ", at(from));
    let Some(Effect::Post(p)) = step.effects.get_mut(i) else {
        return;
    };
    if p.text.starts_with(&addressed) {
        p.reply_to = Some(reply_to.to_owned());
        return;
    }
    let line = p.text.lines().next().unwrap_or_default();
    let line: String = if line.chars().count() > 200 {
        line.chars().take(199).chain(['…']).collect()
    } else {
        line.to_owned()
    };
    let ack = super::Post {
        product: product.to_owned(),
        text: format!("{addressed}done — {line}"),
        mentions: vec![from.to_owned()],
        reply_to: Some(reply_to.to_owned()),
        card: None,
    };
    step.effects.insert(i, Effect::Post(ack));
}

/// A chat message read on catch-up, for [`missed`].
pub struct Missed<'a> {
    pub message: Message<'a>,
    pub sent_at: chrono::DateTime<chrono::Utc>,
    pub max_age_secs: u64,
}

/// Whether a command's effect depends on when it runs, so that running it
/// late (read on catch-up) could do what nobody wants any more.
fn time_sensitive(command: &Command) -> bool {
    match command {
        Command::Release
        | Command::ReleaseException { .. }
        | Command::Approve { .. }
        | Command::RcProceed
        | Command::RcWithdraw
        | Command::RcRequest { .. } => true,
        Command::RcObject { .. }
        | Command::RcNotViable { .. }
        | Command::RcReleased
        | Command::Verify { .. }
        | Command::Handoff { .. }
        | Command::Away { .. }
        | Command::Back
        | Command::Status { .. }
        | Command::Windows
        | Command::Explain { .. }
        | Command::Help { .. } => false,
    }
}

/// A message sent while shipgate was offline, read on catch-up: a
/// time-sensitive command older than the limit is answered, not run;
/// anything else runs as [`message`] would, and its answer says it was
/// caught up.
pub fn missed(step: &mut Step<'_>, missed: Missed<'_>) {
    let m = missed.message;
    let when = match step.ctx.team.people.get(m.from) {
        Some(member) => missed
            .sent_at
            .with_timezone(&member.tz)
            .format("%H:%M %Z")
            .to_string(),
        None => missed.sent_at.format("%H:%M UTC").to_string(),
    };
    let age = step.now() - missed.sent_at;
    let too_old =
        age > chrono::TimeDelta::seconds(i64::try_from(missed.max_age_secs).unwrap_or(i64::MAX));
    if too_old
        && let Said::Command(command) = m.said
        && time_sensitive(command)
        && step.ctx.team.products.contains_key(m.product)
    {
        step.reply(
            m.product,
            m.reply_to,
            format!(
                "{}: `{}` was sent at {when} while shipgate was offline; not run — say it again if it still stands.",
                at(m.from),
                command.name()
            ),
            vec![m.from.to_owned()],
        );
        step.audit(
            Some(m.from),
            "not-run-stale",
            format!(
                "{} sent at {}",
                command.name(),
                crate::timefmt::utc(missed.sent_at)
            ),
            None,
        );
        return;
    }
    let first = step.effects.len();
    let reply_to = m.reply_to;
    message(step, m);
    let note = format!("(caught up: sent at {when} while shipgate was offline) ");
    let posts: Vec<usize> = (first..step.effects.len())
        .filter(|i| matches!(step.effects.get(*i), Some(Effect::Post(_))))
        .collect();
    let answers: Vec<usize> = posts
        .iter()
        .copied()
        .filter(|i| {
            matches!(step.effects.get(*i), Some(Effect::Post(p)) if reply_to.is_some() && p.reply_to.as_deref() == reply_to)
        })
        .collect();
    let marked = if answers.is_empty() {
        posts.first().copied().into_iter().collect()
    } else {
        answers
    };
    for i in marked {
        if let Some(Effect::Post(p)) = step.effects.get_mut(i) {
            p.text.insert_str(0, &note);
        }
    }
}

/// Why `from` may not run `command`, if they may not.
fn refuse(
    step: &Step<'_>,
    product: &str,
    from: &str,
    command: &Command,
    action: Action,
) -> Option<String> {
    let team = step.ctx.team;
    let Some(member) = team.people.get(from) else {
        return match action {
            Action::Read => None,
            _ => Some(format!(
                "you are not in the team config, so I can't let you `{}`. Ask someone to add you (with your chat id) to the team config.",
                command.name()
            )),
        };
    };
    let policy = step.ctx.policy(product);
    if let Some(roles) = policy.allow.get(&action)
        && !roles
            .iter()
            .any(|r| r == "anyone" || member.roles.contains(r))
    {
        let has = if member.roles.is_empty() {
            "no roles".to_owned()
        } else {
            format!("your roles are {}", member.roles.join(", "))
        };
        return Some(format!(
            "`{}` takes the {} role ({has}).",
            command.name(),
            roles
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    let ps = step.state.products.get(product);
    let current = ps.and_then(|p| p.current.as_ref());
    let manager_only = |what: &str| -> Option<String> {
        match current {
            None => Some("there is no RC in flight.".to_owned()),
            Some(rc) if rc.manager != from && !policy.allow.contains_key(&action) => Some(format!(
                "only the release manager of RC #{} ({}) can {what}.",
                rc.id, rc.manager
            )),
            Some(_) => None,
        }
    };
    match command {
        Command::RcNotViable { .. } => manager_only("declare it not viable"),
        Command::RcReleased => manager_only("report it released"),
        Command::RcProceed => match ps.and_then(|p| p.urgent.as_ref()) {
            None => Some("there is no urgent request waiting.".to_owned()),
            Some(_) => manager_only("decide on the urgent request"),
        },
        Command::RcWithdraw => match ps.and_then(|p| p.urgent.as_ref()) {
            None => Some("there is no urgent request waiting.".to_owned()),
            Some(u) if u.by == from => None,
            Some(_) => manager_only("withdraw someone else's urgent request"),
        },
        Command::RcObject { .. } => match ps.and_then(|p| p.urgent.as_ref()) {
            None => Some("there is no urgent request to object to.".to_owned()),
            Some(u) if u.by == from => {
                Some("you can't object to your own request; `rc withdraw` it instead.".to_owned())
            }
            Some(u) if u.objection.is_some() => {
                Some("someone has already objected; the manager decides.".to_owned())
            }
            Some(_) => None,
        },
        Command::RcRequest { .. }
        | Command::Verify { .. }
        | Command::Handoff { .. }
        | Command::Away { .. }
        | Command::Back
        | Command::Release
        | Command::ReleaseException { .. }
        | Command::Approve { .. }
        | Command::Status { .. }
        | Command::Windows
        | Command::Explain { .. }
        | Command::Help { .. } => None,
    }
}

fn dispatch(
    step: &mut Step<'_>,
    product: &str,
    from: &str,
    command: Command,
    reply_to: Option<&str>,
) {
    match command {
        Command::RcRequest { urgent, reason } => {
            request(step, product, from, urgent, &reason, reply_to)
        }
        Command::RcObject { reason } => object(step, product, from, &reason),
        Command::RcProceed => {
            step.audit(Some(from), "proceed", String::new(), None);
            supersede(step, product);
        }
        Command::RcWithdraw => withdraw(step, product, from),
        Command::RcNotViable { reason, next_steps } => {
            not_viable(step, product, &reason, next_steps.as_deref())
        }
        Command::RcReleased => released(step, product, Some(from)),
        Command::Verify { changes } => verify(step, product, from, &changes, reply_to),
        Command::Handoff { change, to } => handoff(step, product, from, &change, &to, reply_to),
        Command::Away { until } => away(step, product, from, until, reply_to),
        Command::Back => back(step, product, from, reply_to),
        Command::Release => release(step, product, from, reply_to),
        Command::ReleaseException { exception, reason } => {
            request_exception(step, product, from, &exception, &reason, reply_to)
        }
        Command::Approve { id } => approve(step, product, from, id, reply_to),
        Command::Status { product: asked } => {
            // Another product by name (any case), answered in this channel.
            let text = match asked {
                None => status(step, product),
                Some(asked) => match step.ctx.team.product_name(&asked) {
                    Some(other) => status(step, other),
                    None => {
                        let names: Vec<&str> =
                            step.ctx.team.products.keys().map(String::as_str).collect();
                        format!(
                            "{}: there is no product `{asked}`; the products are {}.",
                            at(from),
                            names.join(", ")
                        )
                    }
                },
            };
            step.reply(product, reply_to, text, Vec::new());
        }
        Command::Windows => {
            let text = windows(step, product);
            step.reply(product, reply_to, text, Vec::new());
        }
        Command::Explain { window, at: when } => {
            let text = explain_text(step, product, window.as_deref(), when.as_deref());
            step.reply(product, reply_to, text, Vec::new());
        }
        Command::Help { topic } => {
            let text = help(topic.as_deref(), &step.ctx.team.prefix);
            step.reply(product, reply_to, text, Vec::new());
        }
    }
}

fn object(step: &mut Step<'_>, product: &str, from: &str, reason: &str) {
    let Some(ps) = step.state.products.get_mut(product) else {
        return;
    };
    let Some(u) = ps.urgent.as_mut() else {
        return;
    };
    u.objection = Some(super::state::Objection {
        by: from.to_owned(),
        reason: reason.to_owned(),
    });
    let requester = u.by.clone();
    let Some(rc) = ps.current.clone() else {
        return;
    };
    let prefix = step.ctx.team.prefix.clone();
    step.post(
        product,
        format!(
            "{} objects to {}'s urgent RC: {reason}.\n{}: as manager of RC #{}, decide: `{prefix}rc proceed` (replace it now) or `{prefix}rc withdraw` (keep it).",
            at(from),
            at(&requester),
            at(&rc.manager),
            rc.id
        ),
        vec![rc.manager.clone(), requester],
    );
    step.audit(Some(from), "object", reason.to_owned(), None);
}

fn withdraw(step: &mut Step<'_>, product: &str, from: &str) {
    let Some(u) = step
        .state
        .products
        .get_mut(product)
        .and_then(|p| p.urgent.take())
    else {
        return;
    };
    step.post(
        product,
        format!(
            "{}'s urgent request was withdrawn by {}; the current RC continues.",
            at(&u.by),
            at(from)
        ),
        vec![u.by.clone()],
    );
    step.audit(Some(from), "withdraw", u.reason, None);
}

fn production_line(step: &Step<'_>, product: &str) -> String {
    let now = step.now();
    let rules_product = step.ctx.team.rules_product(step.ctx.rules, product);
    match step.ctx.rules.window(rules_product, "production") {
        None => "Production: no `production` window is defined.".to_owned(),
        Some(w) => {
            let state = if w.is_open(now) { "open" } else { "closed" };
            match w.next_change(now, crate::rules::HORIZON_DAYS) {
                Some(t) => format!(
                    "Production is {state}; it {} {} ({}).",
                    if w.is_open(now) { "closes" } else { "opens" },
                    local(w.tz, t),
                    from_now(now, t)
                ),
                None => format!("Production is {state}, with no change within a year."),
            }
        }
    }
}

fn status(step: &Step<'_>, product: &str) -> String {
    let now = step.now();
    let mut lines = Vec::new();
    let Some(ps) = step.state.products.get(product) else {
        return format!("{product}: nothing yet.");
    };
    match &ps.current {
        Some(rc) => {
            let verified = rc.changes.len() - rc.pending().count();
            lines.push(format!(
                "{product}: RC #{} ({}, manager @{}) is {}: {verified} of {} verified, cut {} ago.",
                rc.id,
                trigger(rc),
                rc.manager,
                rc.state.as_str(),
                count(rc.changes.len(), "change", "changes"),
                crate::timefmt::duration(now - rc.cut_at)
            ));
            lines.push(change_lines(rc, false, step.ctx.team));
        }
        None => lines.push(format!("{product}: no RC in flight.")),
    }
    if !ps.pool.is_empty() {
        let ids: Vec<&str> = ps.pool.iter().map(|c| c.id.as_str()).collect();
        lines.push(format!(
            "Waiting for the next RC: {}: {}.",
            count(ps.pool.len(), "merged change", "merged changes"),
            ids.join(", ")
        ));
    }
    if !ps.queue.is_empty() {
        let who: Vec<String> = ps.queue.iter().map(|q| q.by.clone()).collect();
        lines.push(format!("Queued requests: {}.", who.join(", ")));
    }
    if let Some(u) = &ps.urgent {
        let state = match &u.objection {
            Some(o) => format!(
                "objected to by {} ({}); the manager decides",
                o.by, o.reason
            ),
            None => format!(
                "replaces the RC at {}",
                local(step.ctx.policy(product).timezone, u.deadline)
            ),
        };
        lines.push(format!(
            "Urgent request by {}: {} — {state}.",
            u.by, u.reason
        ));
    }
    for e in &ps.exceptions {
        let s = match (e.granted_at, e.expires_at) {
            (Some(_), Some(t)) => format!(
                "granted until {}",
                local(step.ctx.policy(product).timezone, t)
            ),
            _ => format!(
                "waiting for {}",
                count(
                    usize::try_from(e.needed)
                        .unwrap_or(usize::MAX)
                        .saturating_sub(e.approvals.len()),
                    "approval",
                    "approvals"
                )
            ),
        };
        lines.push(format!(
            "Exception {} `{}` by {}: {s}.",
            exception_id(e.id),
            e.exception,
            e.by
        ));
    }
    lines.push(production_line(step, product));
    lines.join("\n")
}

fn windows(step: &Step<'_>, product: &str) -> String {
    let now = step.now();
    let rules_product = step.ctx.team.rules_product(step.ctx.rules, product);
    let mut lines = Vec::new();
    for name in step.ctx.rules.window_names(rules_product) {
        let Some(w) = step.ctx.rules.window(rules_product, name) else {
            continue;
        };
        let open = w.is_open(now);
        let next = match w.next_change(now, crate::rules::HORIZON_DAYS) {
            Some(t) => format!(
                ", {} {} ({})",
                if open { "closes" } else { "opens" },
                local(w.tz, t),
                from_now(now, t)
            ),
            None => String::new(),
        };
        lines.push(format!(
            "{name}: {}{next}",
            if open { "open" } else { "closed" }
        ));
    }
    if lines.is_empty() {
        "No windows are defined.".to_owned()
    } else {
        lines.join("\n")
    }
}

fn explain_text(
    step: &Step<'_>,
    product: &str,
    window: Option<&str>,
    when: Option<&str>,
) -> String {
    let rules = step.ctx.rules;
    let rules_product = step.ctx.team.rules_product(rules, product);
    let name = window.unwrap_or("production");
    let Some(w) = rules.window(rules_product, name) else {
        let names = rules.window_names(rules_product);
        let hint = crate::rules::suggest::closest(name, names.iter().copied()).map_or_else(
            || {
                format!(
                    "the windows are {}",
                    crate::rules::suggest::known_list(&names)
                )
            },
            |s| format!("did you mean `{s}`?"),
        );
        return format!("There is no window `{name}`; {hint}");
    };
    let t = match when {
        None => step.now(),
        Some(text) => match crate::rules::localtime::parse_instant(text, w.tz) {
            Ok(t) => t,
            Err((msg, help)) => return format!("{msg} ({help})"),
        },
    };
    explain(rules, rules_product, w, t).sentence(w)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
pub(super) mod missed_tests {
    use chrono::TimeZone;

    use crate::engine::{Context, Effect, Event, Member, State, Team, handle};
    use crate::rules::{self, Source};

    /// The embedded default rules.
    pub(in crate::engine) fn default_rules() -> rules::RuleSet {
        rules::compile(vec![Source::new(
            rules::DEFAULT_RULES_NAME,
            rules::DEFAULT_RULES,
        )])
        .unwrap()
    }

    /// One product, `web`, and one engineer, ana, in Berlin.
    pub(in crate::engine) fn ana_team() -> Team {
        Team {
            people: [(
                "ana".to_owned(),
                Member {
                    tz: chrono_tz::Europe::Berlin,
                    roles: vec!["engineer".to_owned()],
                },
            )]
            .into(),
            products: [("web".to_owned(), None)].into(),
            prefix: "!sg ".to_owned(),
            chat_ids: Default::default(),
        }
    }

    fn posts(sent: (u32, u32), text: &str) -> Vec<(String, Option<String>)> {
        let set = default_rules();
        let team = ana_team();
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 3, 10, 13, 30, 0)
            .unwrap();
        let ctx = Context {
            rules: &set,
            team: &team,
            now,
            seed: 1,
        };
        let event = Event::MissedChat {
            product: "web".to_owned(),
            from: "ana".to_owned(),
            text: text.to_owned(),
            said: crate::command::read(text, &team.prefix),
            message_id: Some("$m1".to_owned()),
            sent_at: chrono::Utc
                .with_ymd_and_hms(2026, 3, 10, sent.0, sent.1, 0)
                .unwrap(),
            max_age_secs: 600,
        };
        handle(&State::default(), &ctx, &event)
            .effects
            .into_iter()
            .filter_map(|e| match e {
                Effect::Post(p) => Some((p.text, p.reply_to)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_stale_time_sensitive_command_is_answered_not_run() {
        // Sent 13:02 UTC (14:02 in Berlin), read 28 minutes later.
        let out = posts((13, 2), "!sg release");
        assert_eq!(
            out,
            [(
                "@ana: `release` was sent at 14:02 CET while shipgate was offline; not run — say it again if it still stands.".to_owned(),
                Some("$m1".to_owned())
            )]
        );
        // Within the limit it runs, and says it was caught up.
        let out = posts((13, 25), "!sg release");
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0]
                .0
                .starts_with("(caught up: sent at 14:25 CET while shipgate was offline) "),
            "{out:?}"
        );
        assert!(!out[0].0.contains("not run"), "{out:?}");
    }

    #[test]
    fn other_commands_run_however_old_and_say_they_were_caught_up() {
        let out = posts((9, 0), "!sg windows");
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0]
                .0
                .starts_with("(caught up: sent at 10:00 CET while shipgate was offline) "),
            "{out:?}"
        );
        assert_eq!(out[0].1.as_deref(), Some("$m1"));
        // Not a command: nothing.
        assert!(posts((9, 0), "good morning").is_empty());
    }

    /// Posts for `events` handled in turn, from the last one only.
    fn last_posts(events: &[Event]) -> Vec<(String, Option<String>)> {
        let set = default_rules();
        let member = |roles: &[&str]| Member {
            tz: chrono_tz::Europe::Berlin,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        };
        let team = Team {
            people: [
                ("ana".to_owned(), member(&["engineer", "lead"])),
                ("ben".to_owned(), member(&["engineer"])),
            ]
            .into(),
            products: [("web".to_owned(), None)].into(),
            prefix: "!sg ".to_owned(),
            chat_ids: [
                ("@ana:example.org", "ana"),
                ("@ben:example.org", "ben"),
                ("111", "ana"),
            ]
            .into_iter()
            .map(|(id, name)| (id.to_owned(), name.to_owned()))
            .collect(),
        };
        let ctx = Context {
            rules: &set,
            team: &team,
            now: chrono::Utc
                .with_ymd_and_hms(2026, 3, 10, 13, 30, 0)
                .unwrap(),
            seed: 1,
        };
        let mut state = State::default();
        let mut effects = Vec::new();
        for e in events {
            let out = handle(&state, &ctx, e);
            state = out.state;
            effects = out.effects;
        }
        effects
            .into_iter()
            .filter_map(|e| match e {
                Effect::Post(p) => Some((p.text, p.reply_to)),
                _ => None,
            })
            .collect()
    }

    fn chat(from: &str, text: &str, id: &str) -> Event {
        Event::Chat {
            product: "web".to_owned(),
            from: from.to_owned(),
            text: text.to_owned(),
            said: crate::command::read(text, "!sg "),
            message_id: Some(id.to_owned()),
        }
    }

    #[test]
    fn a_state_change_is_answered_by_a_reply_and_announced_on_its_own() {
        let merged = |change: &str, author: &str| Event::Merged {
            product: "web".to_owned(),
            change: change.to_owned(),
            author: author.to_owned(),
            title: "Fix".to_owned(),
        };
        let out = last_posts(&[
            merged("#1", "ana"),
            merged("#2", "ben"),
            chat("ana", "!sg rc request ship it", "$req"),
        ]);
        assert_eq!(out.len(), 2, "{out:?}");
        // The answer replies to the command and quotes the announcement's
        // first line; the announcement is not a reply.
        assert!(
            out[0].0.starts_with("@ana: done — RC #1 for web is cut"),
            "{out:?}"
        );
        assert_eq!(out[0].1.as_deref(), Some("$req"));
        assert!(out[1].0.starts_with("RC #1 for web is cut"), "{out:?}");
        assert_eq!(out[1].1, None);
        // An answer that already replies gets no second one.
        let out = last_posts(&[chat("ana", "!sg rc request ship it", "$none")]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].1.as_deref(), Some("$none"));
    }

    #[test]
    fn without_a_message_id_nothing_replies() {
        // Without a message id (a simulation script) nothing replies.
        let mut no_id = chat("ana", "!sg status", "$x");
        if let Event::Chat { message_id, .. } = &mut no_id {
            *message_id = None;
        }
        let out = last_posts(&[no_id]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].1, None);
    }

    #[test]
    fn handoff_takes_a_matrix_id_a_pill_and_a_discord_mention() {
        let merged = |change: &str, author: &str| Event::Merged {
            product: "web".to_owned(),
            change: change.to_owned(),
            author: author.to_owned(),
            title: "Fix".to_owned(),
        };
        // A Matrix pill arrives as the id (the adapter reads it from the
        // HTML).
        let pill = crate::command::mention::pills_in_body(
            "!sg handoff #2 to Ana A",
            "!sg handoff #2 to <a href=\"https://matrix.to/#/@ana:example.org\">Ana A</a>",
        );
        for typed in [
            "!sg handoff #2 to @ana:example.org".to_owned(),
            pill,
            "!sg handoff #2 to <@111>".to_owned(),
            "!sg handoff #2 to <@!111>".to_owned(),
        ] {
            let out = last_posts(&[
                merged("#1", "ana"),
                merged("#2", "ben"),
                chat("ana", "!sg rc request ship it", "$req"),
                chat("ben", &typed, "$h"),
            ]);
            assert!(
                out.iter()
                    .any(|(t, r)| t.starts_with("@ana: @ben handed you #2")
                        && r.as_deref() == Some("$h")),
                "{typed}: {out:?}"
            );
        }
        let out = last_posts(&[
            merged("#1", "ana"),
            merged("#2", "ben"),
            chat("ana", "!sg rc request ship it", "$req"),
            chat("ben", "!sg handoff #2 to <@999>", "$h"),
        ]);
        assert!(
            out[0]
                .0
                .contains("nobody in the team config has the Discord id `999`"),
            "{out:?}"
        );
    }

    #[test]
    fn an_unknown_sender_is_named_once_without_a_double_at() {
        let out = last_posts(&[chat("@zed:example.org", "!sg rc request now", "$z")]);
        assert_eq!(out.len(), 1, "{out:?}");
        let text = &out[0].0;
        assert!(
            text.starts_with("@zed:example.org: you are not in the team config"),
            "{text}"
        );
        assert!(!text.contains("@@"), "{text}");
        assert_eq!(text.matches("zed:example.org").count(), 1, "{text}");
        assert_eq!(out[0].1.as_deref(), Some("$z"));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod answer_tests {
    use chrono::TimeZone;

    use super::missed_tests::{ana_team, default_rules};
    use crate::engine::{Card, Context, Effect, Event, State, handle};

    /// The card on the first post answering `text`.
    fn card(text: &str, message_id: Option<&str>) -> Option<Card> {
        let set = default_rules();
        let team = ana_team();
        let ctx = Context {
            rules: &set,
            team: &team,
            now: chrono::Utc
                .with_ymd_and_hms(2026, 3, 10, 13, 30, 0)
                .unwrap(),
            seed: 1,
        };
        let event = Event::Chat {
            product: "web".to_owned(),
            from: "ana".to_owned(),
            text: text.to_owned(),
            said: crate::command::read(text, "!sg "),
            message_id: message_id.map(str::to_owned),
        };
        handle(&State::default(), &ctx, &event)
            .effects
            .into_iter()
            .find_map(|e| match e {
                Effect::Post(p) => Some(p.card),
                _ => None,
            })
            .flatten()
    }

    #[test]
    fn the_first_answer_says_whether_the_command_did_anything() {
        let answer = |done| {
            Some(Card::Answer {
                to: "m1".to_owned(),
                done,
            })
        };
        assert_eq!(card("!sg release", Some("m1")), answer(false));
        assert_eq!(card("!sg verify #1", Some("m1")), answer(false));
        assert_eq!(card("!sg away until 2026-03-20", Some("m1")), answer(true));
        // Reading commands and messages without an id carry none.
        assert_eq!(card("!sg status", Some("m1")), None);
        assert_eq!(card("!sg release", None), None);
    }
}
