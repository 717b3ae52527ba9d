//! People named by their chat id rather than their name: a Matrix id
//! (`@ben:example.org`), a Matrix pill (a link to
//! `https://matrix.to/#/@ben:example.org`, as HTML or markdown) and a
//! Discord mention (`<@123456>`, `<@!123456>`). The engine turns these into
//! the config's names through the people's `chat` ids.

use std::borrow::Cow;

const MATRIX_TO: &str = "https://matrix.to/#/";

/// A chat id typed where a person is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatId {
    /// A Matrix user id, with its leading `@`.
    Matrix(String),
    /// A Discord user id (digits).
    Discord(String),
    /// A Slack member id (`U0123ABCD`).
    Slack(String),
}

impl ChatId {
    /// What people call the platform.
    pub fn platform(&self) -> &'static str {
        match self {
            Self::Matrix(_) => "Matrix",
            Self::Discord(_) => "Discord",
            Self::Slack(_) => "Slack",
        }
    }

    /// The id as the config's `chat` ids spell it.
    pub fn id(&self) -> &str {
        match self {
            Self::Matrix(id) | Self::Discord(id) | Self::Slack(id) => id,
        }
    }
}

/// The chat id in `typed`, if it is one: `<@123>` or `<@!123>` (Discord),
/// `@local:server` or `local:server` (Matrix; the command parser drops a
/// leading `@`), or a matrix.to link to a user.
pub fn chat_id(typed: &str) -> Option<ChatId> {
    let typed = typed.trim();
    if let Some(inner) = typed.strip_prefix("<@").and_then(|t| t.strip_suffix('>')) {
        let digits = inner.strip_prefix('!').unwrap_or(inner);
        if is_digits(digits) {
            return Some(ChatId::Discord(digits.to_owned()));
        }
        // Slack: `<@U0123ABCD>` or `<@U0123ABCD|ana>`.
        let member = inner.split('|').next().unwrap_or(inner);
        let slack = member.len() >= 3
            && member.starts_with(['U', 'W'])
            && member
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        return slack.then(|| ChatId::Slack(member.to_owned()));
    }
    let typed = typed
        .strip_prefix(MATRIX_TO)
        .map_or(typed, |t| t.split(['?', '/']).next().unwrap_or(t));
    let decoded = decode(typed);
    let local = decoded.trim_start_matches('@');
    let localpart = |u: &str| {
        !u.is_empty()
            && u.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._=-/+".contains(c))
    };
    match local.split_once(':') {
        Some((user, server))
            if localpart(user) && !server.is_empty() && !server.contains(char::is_whitespace) =>
        {
            Some(ChatId::Matrix(format!("@{local}")))
        }
        _ => None,
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The few escapes a matrix.to link uses in a user id.
fn decode(s: &str) -> String {
    s.replace("%40", "@")
        .replace("%3A", ":")
        .replace("%3a", ":")
}

/// Replaces each Matrix pill in `text` - an HTML link
/// (`<a href="https://matrix.to/#/@ben:example.org">Ben</a>`) or a markdown
/// link (`[Ben](https://matrix.to/#/@ben:example.org)`) to a user - by the
/// user's id, so a command reads `@ben:example.org` wherever a pill was.
pub fn unlink_pills(text: &str) -> Cow<'_, str> {
    if !text.contains(MATRIX_TO) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some((id, len)) = html_pill(rest).or_else(|| markdown_pill(rest)) {
            out.push_str(&id);
            rest = &rest[len..];
            continue;
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    Cow::Owned(out)
}

/// A user id from a link target, if the link points at a Matrix user.
fn pill_target(href: &str) -> Option<String> {
    match chat_id(href.strip_prefix(MATRIX_TO)?) {
        Some(ChatId::Matrix(id)) => Some(id),
        _ => None,
    }
}

/// `<a href="URL">label</a>` at the start of `s`: the user id and the
/// length of the link.
fn html_pill(s: &str) -> Option<(String, usize)> {
    let after = s.strip_prefix("<a ")?;
    let tag_end = after.find('>')?;
    let attrs = &after[..tag_end];
    let href_at = attrs.find("href=")?;
    let value = &attrs[href_at + 5..];
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &value[1..];
    let href = &value[..value.find(quote)?];
    let id = pill_target(href)?;
    let body = &after[tag_end + 1..];
    let close = body.find("</a>")?;
    Some((id, 3 + tag_end + 1 + close + 4))
}

/// `[label](URL)` at the start of `s`: the user id and the length of the
/// link.
fn markdown_pill(s: &str) -> Option<(String, usize)> {
    let after = s.strip_prefix('[')?;
    let label_end = after.find("](")?;
    if after[..label_end].contains('\n') {
        return None;
    }
    let target = &after[label_end + 2..];
    let close = target.find(')')?;
    let id = pill_target(&target[..close])?;
    Some((id, 1 + label_end + 2 + close + 1))
}

/// The Matrix plain-text body with each pill's label replaced by the user id
/// the pill in `html` (the event's `formatted_body`) links to: clients put
/// the display name in the plain body and the id only in the HTML.
pub fn pills_in_body(body: &str, html: &str) -> String {
    let mut out = body.to_owned();
    // Pills are found in order, each after the one before.
    let mut from = 0;
    let mut rest = html;
    while let Some(at) = rest.find("<a ") {
        rest = &rest[at..];
        if let Some((id, len)) = html_pill(rest) {
            let link = &rest[..len];
            let label = link
                .find('>')
                .and_then(|open| link.get(open + 1..link.len() - 4))
                .unwrap_or_default();
            if !label.is_empty()
                && !out.contains(id.as_str())
                && let Some(pos) = out.get(from..).and_then(|o| o.find(label))
            {
                let pos = from + pos;
                out.replace_range(pos..pos + label.len(), &id);
                from = pos + id.len();
            }
            rest = &rest[len..];
        } else {
            rest = &rest[3..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str) -> Option<ChatId> {
        Some(ChatId::Matrix(id.to_owned()))
    }
    fn d(id: &str) -> Option<ChatId> {
        Some(ChatId::Discord(id.to_owned()))
    }

    #[test]
    fn chat_ids_are_recognised() {
        let cases = [
            ("<@123456>", d("123456")),
            ("<@!123456>", d("123456")),
            ("<@abc>", None),
            ("<@>", None),
            ("@ben:example.org", m("@ben:example.org")),
            ("ben:example.org", m("@ben:example.org")),
            (
                "https://matrix.to/#/@ben:example.org",
                m("@ben:example.org"),
            ),
            (
                "https://matrix.to/#/%40ben%3Aexample.org?via=x",
                m("@ben:example.org"),
            ),
            ("ben", None),
            ("ben:", None),
            (":x", None),
        ];
        for (typed, want) in cases {
            assert_eq!(chat_id(typed), want, "{typed}");
        }
    }

    #[test]
    fn pills_become_ids() {
        let cases = [
            (
                "!sg handoff #1 to <a href=\"https://matrix.to/#/@ben:example.org\">Ben</a>",
                "!sg handoff #1 to @ben:example.org",
            ),
            (
                "!sg handoff #1 to [Ben B](https://matrix.to/#/@ben:example.org)",
                "!sg handoff #1 to @ben:example.org",
            ),
            (
                "see [docs](https://example.org) and <a href='https://matrix.to/#/@a:b'>A</a>.",
                "see [docs](https://example.org) and @a:b.",
            ),
            // A room link is not a person.
            (
                "[room](https://matrix.to/#/#r:example.org)",
                "[room](https://matrix.to/#/#r:example.org)",
            ),
            ("no links here", "no links here"),
        ];
        for (text, want) in cases {
            assert_eq!(unlink_pills(text), want, "{text}");
        }
    }

    #[test]
    fn the_plain_body_gets_the_pills_ids() {
        let html = "!sg handoff #1 to <a href=\"https://matrix.to/#/@ben:example.org\">Ben B</a>";
        assert_eq!(
            pills_in_body("!sg handoff #1 to Ben B", html),
            "!sg handoff #1 to @ben:example.org"
        );
        // A body that already has the id is left alone.
        assert_eq!(
            pills_in_body("!sg handoff #1 to @ben:example.org", html),
            "!sg handoff #1 to @ben:example.org"
        );
        assert_eq!(pills_in_body("hello", "<b>hello</b>"), "hello");
    }
}
