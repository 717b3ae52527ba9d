//! Slack message text (`mrkdwn`): `&`, `<` and `>` escaped as Slack asks,
//! `@name` mentions rendered as `<@U0123>`, long messages split under
//! Slack's limit; and the way back: a message's text as a command.

use std::collections::BTreeMap;

/// Characters per message part. Slack truncates `text` past 40,000 and
/// advises keeping it under 4,000; parts stay under that.
pub const LIMIT: usize = 3900;

fn name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Escapes the three characters Slack reserves in `mrkdwn`.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Escaped text with `@name` (outside code spans, on a word boundary)
/// replaced by `<@ID>` for every mentioned person with a Slack id.
pub fn render(text: &str, mentions: &BTreeMap<String, Option<String>>) -> String {
    let text = escape(text);
    let mut names: Vec<(&str, &str)> = mentions
        .iter()
        .filter_map(|(n, id)| Some((n.as_str(), id.as_deref()?)))
        .collect();
    // Longest names first so `@ann` does not eat `@anna`.
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    let mut prev: Option<char> = None;
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            in_code = !in_code;
        } else if c == '@' && !in_code && !prev.is_some_and(name_char) {
            let after = &rest[1..];
            let hit = names.iter().find(|(n, _)| {
                after.starts_with(n) && !after[n.len()..].chars().next().is_some_and(name_char)
            });
            if let Some((name, id)) = hit {
                out.push_str(&format!("<@{id}>"));
                rest = &after[name.len()..];
                prev = name.chars().last();
                continue;
            }
        }
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Splits at line breaks (code blocks closed and reopened), as for Discord.
pub fn split(text: &str) -> Vec<String> {
    crate::chat::discord::text::split(text, LIMIT)
}

/// A person's message as shipgate reads it: Slack's escapes undone, and a
/// message that starts by mentioning the bot (`<@BOT> status`) read as the
/// prefixed command (`!sg status`). Mentions of people stay `<@U0123>`,
/// which commands accept where a person is named.
pub fn command_text(text: &str, bot_user: &str, invocation: &str) -> String {
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let trimmed = text.trim_start();
    let mention = format!("<@{bot_user}>");
    let rest = trimmed.strip_prefix(&mention).or_else(|| {
        // `<@BOT|shipgate>`
        let open = format!("<@{bot_user}|");
        let after = trimmed.strip_prefix(&open)?;
        after.split_once('>').map(|(_, r)| r)
    });
    match rest {
        Some(rest) => format!("{invocation}{}", rest.trim_start()),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_and_escapes() {
        let mentions = BTreeMap::from([
            ("ana".to_owned(), Some("U0ANA".to_owned())),
            ("anna".to_owned(), Some("U0ANNA".to_owned())),
            ("ben".to_owned(), None),
        ]);
        let cases = [
            (
                "@ana: RC #1 <ready> & go",
                "<@U0ANA>: RC #1 &lt;ready&gt; &amp; go",
            ),
            ("@anna and @ana", "<@U0ANNA> and <@U0ANA>"),
            ("@ben has no Slack id", "@ben has no Slack id"),
            ("`@ana` in code", "`@ana` in code"),
            ("mail@ana.org", "mail@ana.org"),
        ];
        for (input, want) in cases {
            assert_eq!(render(input, &mentions), want, "{input}");
        }
    }

    #[test]
    fn app_mentions_become_commands() {
        let cases = [
            ("<@UBOT> status", "!sg status"),
            ("  <@UBOT|shipgate>   rc request", "!sg rc request"),
            ("!sg handoff #2 to <@U0BEN>", "!sg handoff #2 to <@U0BEN>"),
            ("a &lt;b&gt; &amp; c", "a <b> & c"),
            ("<@U0ANA> status", "<@U0ANA> status"),
        ];
        for (input, want) in cases {
            assert_eq!(command_text(input, "UBOT", "!sg "), want, "{input}");
        }
    }

    #[test]
    fn long_messages_split_under_the_limit() {
        let long = "line of text\n".repeat(1000);
        let parts = split(&long);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.chars().count() <= LIMIT));
    }
}
