//! Finding where a value was written, so semantic errors can give a line
//! and column even though serde forgets positions.
//!
//! A small RON tokenizer records every string literal and every `key:`
//! with its key path (`people` / `chat` / `discord`), skipping comments.
//! Lookups are "the n-th string `"ana"` at `people.name`".

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    Colon,
    Ident(String),
    Str(String),
}

#[derive(Debug)]
struct Entry {
    path: Vec<String>,
    value: String,
    span: Range<usize>,
    is_key: bool,
}

/// Where strings and keys were written in one config text.
#[derive(Debug, Default)]
pub(super) struct Locator {
    entries: Vec<Entry>,
}

impl Locator {
    pub fn new(text: &str) -> Self {
        let toks = tokenize(text);
        let mut entries = Vec::new();
        // Each frame: the path to it and the last key seen inside it.
        let mut frames: Vec<(Vec<String>, Option<String>)> = vec![(Vec::new(), None)];
        let mut i = 0;
        while let Some((tok, span)) = toks.get(i) {
            let next_is_colon = matches!(toks.get(i + 1), Some((Tok::Colon, _)));
            let (prefix, key) = match frames.last() {
                Some((p, k)) => (p.clone(), k.clone()),
                None => (Vec::new(), None),
            };
            let mut here = prefix.clone();
            here.extend(key);
            match tok {
                Tok::Open => frames.push((here, None)),
                Tok::Close => {
                    if frames.len() > 1 {
                        frames.pop();
                    }
                }
                Tok::Colon => {}
                Tok::Ident(name) | Tok::Str(name) if next_is_colon => {
                    let mut path = prefix;
                    path.push(name.clone());
                    entries.push(Entry {
                        path,
                        value: name.clone(),
                        span: span.clone(),
                        is_key: true,
                    });
                    if let Some(frame) = frames.last_mut() {
                        frame.1 = Some(name.clone());
                    }
                    i += 1;
                }
                Tok::Ident(_) => {}
                Tok::Str(value) => entries.push(Entry {
                    path: here,
                    value: value.clone(),
                    span: span.clone(),
                    is_key: false,
                }),
            }
            i += 1;
        }
        Self { entries }
    }

    /// The byte range of the `nth` (0-based) string literal equal to
    /// `value` written at `path`, quotes included.
    pub fn string(&self, path: &[&str], value: &str, nth: usize) -> Option<Range<usize>> {
        self.entries
            .iter()
            .filter(|e| !e.is_key && e.value == value && path_is(&e.path, path))
            .nth(nth)
            .map(|e| e.span.clone())
    }

    /// The byte range of the `nth` (0-based) key written at `path` (the
    /// last element is the key itself).
    pub fn key(&self, path: &[&str], nth: usize) -> Option<Range<usize>> {
        self.entries
            .iter()
            .filter(|e| e.is_key && path_is(&e.path, path))
            .nth(nth)
            .map(|e| e.span.clone())
    }
}

fn path_is(have: &[String], want: &[&str]) -> bool {
    have.len() == want.len() && have.iter().zip(want).all(|(h, w)| h == w)
}

fn tokenize(text: &str) -> Vec<(Tok, Range<usize>)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                // RON block comments nest.
                let mut depth = 0usize;
                while i < bytes.len() {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth = depth.saturating_sub(1);
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'(' | b'[' | b'{' => {
                out.push((Tok::Open, start..start + 1));
                i += 1;
            }
            b')' | b']' | b'}' => {
                out.push((Tok::Close, start..start + 1));
                i += 1;
            }
            b':' => {
                out.push((Tok::Colon, start..start + 1));
                i += 1;
            }
            b'"' => {
                let (value, end) = quoted(text, i + 1);
                out.push((Tok::Str(value), start..end));
                i = end;
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'"' | b'#')) && raw_start(bytes, i + 1) => {
                let (value, end) = raw(text, i + 1);
                out.push((Tok::Str(value), start..end));
                i = end;
            }
            b'\'' => {
                // A char literal: skip it so a quote inside is not a string.
                i += 1;
                if bytes.get(i) == Some(&b'\\') {
                    i += 1;
                }
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                // Raw identifiers: `r#type`.
                if &text[start..i] == "r" && bytes.get(i) == Some(&b'#') {
                    i += 1;
                    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_')
                    {
                        i += 1;
                    }
                    out.push((Tok::Ident(text[start + 2..i].to_owned()), start..i));
                } else {
                    out.push((Tok::Ident(text[start..i].to_owned()), start..i));
                }
            }
            _ => {
                // Anything else (numbers, commas, `#!`, non-ASCII) carries no
                // key or string; step over one whole character.
                i += text[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    out
}

/// A `"..."` string starting after the opening quote: its value (simple
/// escapes decoded) and the offset just past the closing quote.
fn quoted(text: &str, from: usize) -> (String, usize) {
    let mut value = String::new();
    let mut chars = text[from..].char_indices();
    while let Some((off, c)) = chars.next() {
        match c {
            '"' => return (value, from + off + 1),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, '0')) => value.push('\0'),
                Some((_, other)) => value.push(other),
                None => break,
            },
            c => value.push(c),
        }
    }
    (value, text.len())
}

fn raw_start(bytes: &[u8], mut i: usize) -> bool {
    while bytes.get(i) == Some(&b'#') {
        i += 1;
    }
    bytes.get(i) == Some(&b'"')
}

/// A raw string `r#"..."#` starting at the first `#` or `"`.
fn raw(text: &str, from: usize) -> (String, usize) {
    let hashes = text[from..].bytes().take_while(|b| *b == b'#').count();
    let body = from + hashes + 1;
    let close = format!("\"{}", "#".repeat(hashes));
    match text[body..].find(&close) {
        Some(off) => (text[body..body + off].to_owned(), body + off + close.len()),
        None => (text[body..].to_owned(), text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_strings_by_path_and_occurrence() {
        let text = r#"// "ana" in a comment
(
    people: [
        (name: "ana", chat: (discord: "1"), git: ["a@x", "b@x"]),
        /* (name: "ana") */
        (name: "ana", git: ["a@x"]),
    ],
    http: (api_token: Env("TOKEN")),
    products: [(name: r"web", actions: (on_cut: Http(url: "u", headers: {"A": "b"})))],
)"#;
        let loc = Locator::new(text);
        let first = loc.string(&["people", "name"], "ana", 0);
        let second = loc.string(&["people", "name"], "ana", 1);
        assert_eq!(first.map(|r| &text[r]), Some("\"ana\""));
        assert!(
            second
                .as_ref()
                .is_some_and(|r| text[..r.start].contains("/*"))
        );
        assert_eq!(loc.string(&["people", "name"], "ana", 2), None);
        assert!(loc.string(&["people", "chat", "discord"], "1", 0).is_some());
        let git = loc.string(&["people", "git"], "a@x", 1);
        assert!(git.is_some_and(|r| r.start > second.map_or(0, |s| s.start)));
        assert!(loc.string(&["http", "api_token"], "TOKEN", 0).is_some());
        assert!(loc.string(&["products", "name"], "web", 0).is_some());
        let header = loc.string(&["products", "actions", "on_cut", "headers", "A"], "b", 0);
        assert!(header.is_some());
        assert_eq!(loc.key(&["http"], 0).map(|r| &text[r]), Some("http"));
    }
}
