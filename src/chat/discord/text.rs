//! Discord message text: `@name` mentions rendered as `<@id>`, and long
//! answers split under Discord's 2,000-character limit at line breaks,
//! keeping code blocks and code spans whole where possible.

use std::collections::BTreeMap;

/// Discord's limit on a message's content, in characters.
pub const LIMIT: usize = 2000;

/// A character that continues a name after `@`.
fn name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Replaces `@name` (outside code spans, on a word boundary) with `<@id>`
/// for every mentioned person with a Discord id. Returns the text and the
/// ids that it mentions, for `allowed_mentions`.
pub fn render_mentions(
    text: &str,
    mentions: &BTreeMap<String, Option<String>>,
) -> (String, Vec<u64>) {
    // Longest names first so `@ann` does not eat `@anna`.
    let mut names: Vec<(&str, u64)> = mentions
        .iter()
        .filter_map(|(n, id)| Some((n.as_str(), id.as_deref()?.parse::<u64>().ok()?)))
        .collect();
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let mut out = String::with_capacity(text.len());
    let mut used: Vec<u64> = Vec::new();
    let mut in_code = false;
    let mut prev: Option<char> = None;
    let mut rest = text;
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
                if !used.contains(id) {
                    used.push(*id);
                }
                rest = &after[name.len()..];
                prev = name.chars().last();
                continue;
            }
        }
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    (out, used)
}

/// What closes a code block cut in two.
const CLOSE: &str = "\n```";

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// The opening line of a fenced code block, if `line` is a fence.
fn is_fence(line: &str) -> bool {
    line.trim_start().starts_with("```")
}

/// Splits `text` into messages of at most `limit` characters: at line
/// breaks; a code block cut in two is closed and reopened; a line longer
/// than a message is cut at a space outside code spans if it has one.
pub fn split(text: &str, limit: usize) -> Vec<String> {
    if chars(text) <= limit {
        return vec![text.to_owned()];
    }
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    // The opening fence line while inside a fenced code block.
    let mut fence: Option<String> = None;
    for line in text.split('\n') {
        // Inside a block, a message needs room for the reopened fence and
        // the closing one.
        let closing = if fence.is_some() { CLOSE.len() } else { 0 };
        let opener = fence.as_deref().map_or(0, |f| chars(f) + 1);
        let max_piece = limit.saturating_sub(closing + opener).max(1);
        for piece in cut_line(line, max_piece) {
            let sep = usize::from(!cur.is_empty());
            if !cur.is_empty() && chars(&cur) + sep + chars(&piece) + closing > limit {
                if fence.is_some() {
                    cur.push_str(CLOSE);
                }
                parts.push(std::mem::take(&mut cur));
                if let Some(open) = &fence {
                    cur.push_str(open);
                }
            }
            if !cur.is_empty() {
                cur.push('\n');
            }
            cur.push_str(&piece);
        }
        if is_fence(line) {
            fence = match fence {
                Some(_) => None,
                None => Some(line.trim_start().to_owned()),
            };
        }
    }
    if !cur.trim().is_empty() {
        parts.push(cur);
    }
    parts.retain(|p| !p.trim().is_empty());
    parts
}

/// Cuts one line into pieces of at most `max` characters, preferring the
/// last space outside a code span, then any space, then anywhere.
fn cut_line(line: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest: Vec<char> = line.chars().collect();
    while rest.len() > max {
        let mut in_code = false;
        let mut outside = None;
        let mut any = None;
        for (i, &c) in rest.iter().enumerate().take(max + 1) {
            if c == '`' {
                in_code = !in_code;
            } else if c == ' ' && i > 0 {
                any = Some(i);
                if !in_code {
                    outside = Some(i);
                }
            }
        }
        let (at, skip) = match outside.or(any) {
            Some(i) => (i, 1),
            None => (max, 0),
        };
        pieces.push(rest[..at].iter().collect());
        rest.drain(..at + skip);
    }
    pieces.push(rest.into_iter().collect());
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people() -> BTreeMap<String, Option<String>> {
        let mut m = BTreeMap::new();
        m.insert("ana".to_owned(), Some("111".to_owned()));
        m.insert("anna".to_owned(), Some("222".to_owned()));
        m.insert("ben".to_owned(), None);
        m.insert("eve".to_owned(), Some("not-a-snowflake".to_owned()));
        m
    }

    #[test]
    fn mentions_become_user_mentions() {
        let cases: &[(&str, &str, &[u64])] = &[
            ("@ana: RC #1 is cut", "<@111>: RC #1 is cut", &[111]),
            ("@anna and @ana", "<@222> and <@111>", &[222, 111]),
            ("@ana, @ana.", "<@111>, <@111>.", &[111]),
            ("@ben has no id", "@ben has no id", &[]),
            ("@eve has a bad id", "@eve has a bad id", &[]),
            ("mail ana@ana.org", "mail ana@ana.org", &[]),
            ("@anabel is someone else", "@anabel is someone else", &[]),
            ("`!sg handoff #2 to @ana`", "`!sg handoff #2 to @ana`", &[]),
            ("ünï @ana ✓", "ünï <@111> ✓", &[111]),
        ];
        for (input, want, ids) in cases {
            let (got, used) = render_mentions(input, &people());
            assert_eq!(&got, want, "{input}");
            assert_eq!(&used, ids, "{input}");
        }
    }

    #[test]
    fn short_text_is_one_message() {
        assert_eq!(split("hello\nworld", LIMIT), vec!["hello\nworld"]);
    }

    #[test]
    fn long_text_splits_at_line_breaks() {
        let lines: Vec<String> = (0..300)
            .map(|i| format!("line {i:03} `code {i}`"))
            .collect();
        let text = lines.join("\n");
        let parts = split(&text, LIMIT);
        assert!(parts.len() > 1);
        for p in &parts {
            assert!(chars(p) <= LIMIT, "{}", chars(p));
            for l in p.lines() {
                assert!(lines.contains(&l.to_owned()), "a line was cut: {l:?}");
            }
        }
        assert_eq!(parts.join("\n"), text);
    }

    #[test]
    fn code_blocks_are_closed_and_reopened() {
        let body: Vec<String> = (0..40).map(|i| format!("row {i}")).collect();
        let text = format!("intro\n```text\n{}\n```\nafter", body.join("\n"));
        let parts = split(&text, 120);
        assert!(parts.len() > 2);
        for p in &parts {
            assert!(chars(p) <= 120, "{p}");
            assert_eq!(p.matches("```").count() % 2, 0, "unbalanced fence: {p}");
        }
        assert!(parts[1].starts_with("```text\n"), "{}", parts[1]);
    }

    #[test]
    fn long_lines_cut_at_spaces_outside_code() {
        let text = format!("{} `a b c` {}", "x".repeat(10), "y".repeat(10));
        let parts = split(&text, 18);
        assert_eq!(parts, vec!["xxxxxxxxxx `a b c`", "yyyyyyyyyy"]);
        let word = "z".repeat(45);
        let parts = split(&word, 20);
        assert_eq!(
            parts.iter().map(|p| chars(p)).collect::<Vec<_>>(),
            vec![20, 20, 5]
        );
    }
}
