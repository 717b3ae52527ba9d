//! What `parse` and `help` share: the prefix, a word cursor, command names
//! and "did you mean".

use super::CommandKind;

/// The prefix as people type it before a command: `"!sg "`, or nothing for
/// an empty prefix.
pub fn invocation(prefix: &str) -> String {
    let p = prefix.trim();
    if p.is_empty() {
        String::new()
    } else {
        format!("{p} ")
    }
}

/// The text after the prefix, if `text` starts with it (ignoring case and
/// leading spaces). A prefix ending in a space or a letter must be followed
/// by a space or the end, so `!sg` does not address `!sgx`.
pub(super) fn strip_prefix<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let wanted = prefix.trim();
    let mut rest = text.trim_start();
    for pc in wanted.chars() {
        let mut chars = rest.chars();
        let tc = chars.next()?;
        if !(pc == tc || pc.to_lowercase().eq(tc.to_lowercase())) {
            return None;
        }
        rest = chars.as_str();
    }
    let needs_boundary = !wanted.is_empty()
        && (prefix.ends_with(char::is_whitespace)
            || wanted.chars().last().is_some_and(char::is_alphanumeric));
    if needs_boundary && !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some(rest)
}

/// Words of a line, one at a time, keeping the raw remainder.
#[derive(Clone, Copy)]
pub(super) struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Cursor { rest: text }
    }

    pub(super) fn next_word(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start();
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let (word, rest) = s.split_at(s.find(char::is_whitespace).unwrap_or(s.len()));
        self.rest = rest;
        Some(word)
    }

    pub(super) fn peek(&self) -> Option<&'a str> {
        let mut copy = *self;
        copy.next_word()
    }

    /// Everything not read yet, trimmed.
    pub(super) fn rest(&self) -> &'a str {
        self.rest.trim()
    }

    pub(super) fn words(mut self) -> Vec<&'a str> {
        let mut words = Vec::new();
        while let Some(word) = self.next_word() {
            words.push(word);
        }
        words
    }
}

/// The spellings of a kind: its name, its aliases and, when `bare_rc`, the
/// `rc` commands without `rc` (`request` for `rc request`).
pub(super) fn phrases(kind: CommandKind, bare_rc: bool) -> Vec<&'static str> {
    let mut all = vec![kind.name()];
    all.extend_from_slice(kind.aliases());
    if bare_rc {
        let bare: Vec<&'static str> = all.iter().filter_map(|p| p.strip_prefix("rc ")).collect();
        all.extend(bare);
    }
    all
}

/// The command whose name (or alias) the line starts with, longest match
/// first, and the cursor after it.
pub(super) fn resolve(line: &str, bare_rc: bool) -> Option<(CommandKind, Cursor<'_>)> {
    let mut best: Option<(usize, CommandKind, Cursor<'_>)> = None;
    for &kind in CommandKind::ALL {
        for phrase in phrases(kind, bare_rc) {
            let mut cur = Cursor::new(line);
            let n = phrase.split(' ').count();
            let matches = phrase
                .split(' ')
                .all(|pw| cur.next_word().is_some_and(|w| w.eq_ignore_ascii_case(pw)));
            if matches && best.as_ref().is_none_or(|(m, ..)| n > *m) {
                best = Some((n, kind, cur));
            }
        }
    }
    best.map(|(_, kind, cur)| (kind, cur))
}

/// The closest command to a mistyped line: the kind and how many words of
/// the line it replaces. Words longer than this are never typos.
pub(super) fn closest(line: &str) -> Option<(CommandKind, usize)> {
    const MAX_WORD: usize = 32;
    const THRESHOLD: f64 = 0.6;
    let words: Vec<String> = Cursor::new(line)
        .words()
        .into_iter()
        .take(3)
        .map(str::to_lowercase)
        .collect();
    // (typed phrase, words in it, words of the line it consumes)
    let mut typed: Vec<(String, usize, usize)> = Vec::new();
    for n in 1..=words.len() {
        typed.push((words[..n].join(" "), n, n));
    }
    if words.first().is_some_and(|w| w == "rc") {
        for n in 1..words.len() {
            typed.push((words[1..=n].join(" "), n, n + 1));
        }
    }
    let mut best: Option<(f64, CommandKind, usize)> = None;
    for (text, n, consumed) in &typed {
        if text.split(' ').any(|w| w.chars().count() > MAX_WORD) {
            continue;
        }
        for &kind in CommandKind::ALL {
            for phrase in phrases(kind, true) {
                if phrase.split(' ').count() != *n {
                    continue;
                }
                let score = strsim::normalized_damerau_levenshtein(text, phrase);
                if score >= THRESHOLD && best.is_none_or(|(b, ..)| score > b) {
                    best = Some((score, kind, *consumed));
                }
            }
        }
    }
    best.map(|(_, kind, consumed)| (kind, consumed))
}

/// User text for a one-line message: at most `max` characters, backticks
/// made safe, line breaks and control characters made spaces.
pub(super) fn shorten(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| match c {
            '`' => '\'',
            c if c.is_whitespace() || c.is_control() => ' ',
            c => c,
        })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// User text in backticks, shortened.
pub(super) fn quote(text: &str) -> String {
    format!("`{}`", shorten(text, 40))
}
