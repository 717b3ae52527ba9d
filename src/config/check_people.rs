//! Checks on people: names, time zones, chat ids and git identities.

use std::collections::HashMap;

use super::error::{Position, Problem};
use super::model::{Adapter, Person, RawPerson};
use super::same;
use super::suggest::closest_timezone;
use super::validate::{Checker, is_slack_id, is_snowflake};

impl Checker<'_> {
    pub(super) fn person(&mut self, raw: RawPerson) -> Person {
        let name_at = self.at(&["people", "name"], &raw.name);
        if self.word("a person's name", &raw.name, name_at) {
            let key = raw.name.to_lowercase();
            if let Some((first, first_at)) = self.person_names.get(&key).cloned() {
                self.push(
                    Problem::new(
                        "duplicate-person",
                        format!("the person `{}` is defined twice", raw.name),
                    )
                    .at(name_at)
                    .related(first_at)
                    .help(format!(
                        "names must be unique (ignoring case); `{first}` is defined{}",
                        first_at.map_or(String::new(), |p| format!(" at {p}"))
                    )),
                );
            } else {
                self.person_names.insert(key, (raw.name.clone(), name_at));
            }
        }
        let tz_at = self.at(&["people", "timezone"], &raw.timezone);
        let timezone = match raw.timezone.parse::<chrono_tz::Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                let help = match closest_timezone(&raw.timezone) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => "use an IANA time zone name such as `America/New_York`, \
                             `Europe/Berlin` or `UTC`"
                        .to_owned(),
                };
                self.push(
                    Problem::new(
                        "unknown-timezone",
                        format!(
                            "unknown time zone `{}` for the person `{}`",
                            raw.timezone, raw.name
                        ),
                    )
                    .at(tz_at)
                    .help(help),
                );
                chrono_tz::UTC
            }
        };
        if let Some(id) = &raw.chat.console {
            let at = self.at(&["people", "chat", "console"], id);
            self.word("a console name", id, at);
        }
        if let Some(id) = &raw.chat.discord {
            let at = self.at(&["people", "chat", "discord"], id);
            if !is_snowflake(id) {
                self.push(
                    Problem::new(
                        "bad-chat-id",
                        format!("`{id}` is not a Discord user id (a number)"),
                    )
                    .at(at)
                    .help(
                        "in Discord, enable Developer Mode, right-click the user and Copy User ID",
                    ),
                );
            }
        }
        if let Some(id) = &raw.chat.slack {
            let at = self.at(&["people", "chat", "slack"], id);
            if !is_slack_id(id, &['U', 'W']) {
                self.push(
                    Problem::new(
                        "bad-chat-id",
                        format!("`{id}` is not a Slack member id (like `U0123ABCD`)"),
                    )
                    .at(at)
                    .help("in Slack, open the person's profile, then ⋮ and Copy member ID"),
                );
            }
        }
        if let Some(id) = &raw.chat.matrix {
            let at = self.at(&["people", "chat", "matrix"], id);
            if !(id.starts_with('@') && id.contains(':')) {
                self.push(
                    Problem::new("bad-chat-id", format!("`{id}` is not a Matrix user id"))
                        .at(at)
                        .help("write the full id, e.g. `@ana:example.org`"),
                );
            }
        }
        for g in &raw.git {
            let at = self.at(&["people", "git"], g);
            if !self.word("a git identity", g, at) {
                continue;
            }
            let key = g.to_lowercase();
            match self.git.get(&key).cloned() {
                Some((owner, first_at)) if owner != raw.name => self.push(
                    Problem::new(
                        "duplicate-git",
                        format!(
                            "the git identity `{g}` is claimed by both `{owner}` and `{}`",
                            raw.name
                        ),
                    )
                    .at(at)
                    .related(first_at)
                    .help("each email or login must belong to one person (ignoring case)"),
                ),
                Some(_) => {}
                None => {
                    self.git.insert(key, (raw.name.clone(), at));
                }
            }
        }
        for r in &raw.roles {
            let at = self.at(&["people", "roles"], r);
            self.word("a role", r, at);
        }
        Person {
            name: raw.name,
            timezone,
            chat: raw.chat,
            git: raw.git,
            roles: raw.roles,
        }
    }

    /// No chat id may belong to two people. Runs after every person is read
    /// so a console name can be checked against every person's name.
    pub(super) fn chat_ids(&mut self, people: &[Person]) {
        let mut claimed: HashMap<(Adapter, String), &str> = HashMap::new();
        let mut explicit_seen: HashMap<(Adapter, &str), usize> = HashMap::new();
        for adapter in Adapter::ALL {
            for p in people {
                let Some(id) = p.chat_id(adapter) else {
                    continue;
                };
                let nth = p.chat.get(adapter).map(|explicit| {
                    let n = explicit_seen.entry((adapter, explicit)).or_insert(0);
                    *n += 1;
                    *n - 1
                });
                let key = match adapter {
                    Adapter::Console => id.to_lowercase(),
                    Adapter::Discord | Adapter::Matrix | Adapter::Slack => id.to_owned(),
                };
                match claimed.get(&(adapter, key.clone())) {
                    Some(owner) if !same(owner, &p.name) => {
                        let at = match (p.chat.get(adapter), nth) {
                            (Some(explicit), Some(nth)) => self
                                .loc
                                .string(&["people", "chat", adapter.name()], explicit, nth)
                                .map(|r| Position::of_offset(self.text, r.start)),
                            _ => self
                                .person_names
                                .get(&p.name.to_lowercase())
                                .and_then(|x| x.1),
                        };
                        let help = match adapter {
                            Adapter::Console => {
                                "a console name defaults to the person's name; pick another"
                            }
                            Adapter::Discord | Adapter::Matrix | Adapter::Slack => {
                                "each chat account must belong to one person"
                            }
                        };
                        self.push(
                            Problem::new(
                                "duplicate-chat-id",
                                format!(
                                    "the {adapter} id `{id}` is claimed by both `{owner}` and `{}`",
                                    p.name
                                ),
                            )
                            .at(at)
                            .help(help),
                        );
                    }
                    Some(_) => {}
                    None => {
                        claimed.insert((adapter, key), &p.name);
                    }
                }
            }
        }
    }
}
