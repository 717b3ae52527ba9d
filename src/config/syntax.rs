//! RON errors in plain words, at the right line and column.

use ron::error::{Error as RonError, SpannedError};

use super::error::{Position, Problem};
use super::suggest::{closest, known_list};

/// Turns ron's error into a [`Problem`] pointing at the offending word.
pub(super) fn problem(text: &str, err: &SpannedError) -> Problem {
    let at = Position::of_line_col(text, err.position.line, err.position.col);
    match &err.code {
        RonError::NoSuchStructField {
            expected,
            found,
            outer,
        } => Problem::new(
            "unknown-field",
            format!("unknown field `{found}` in {}", place(outer.as_deref())),
        )
        .at(Some(back_to_word(text, at, found)))
        .help(alternatives("field", found, expected)),
        RonError::NoSuchEnumVariant {
            expected,
            found,
            outer,
        } => Problem::new(
            "unknown-variant",
            format!(
                "unknown {} `{found}`",
                match outer.as_deref() {
                    Some("Action") => "action kind",
                    Some("Secret") => "secret source",
                    _ => "variant",
                }
            ),
        )
        .at(Some(back_to_word(text, at, found)))
        .help(alternatives("choice", found, expected)),
        RonError::MissingStructField { field, outer } => Problem::new(
            "missing-field",
            format!(
                "{} needs the field `{field}`, which is missing",
                place(outer.as_deref())
            ),
        )
        .at(Some(at))
        .help(format!("add `{field}: ...` before this `)`")),
        RonError::DuplicateStructField { field, outer } => Problem::new(
            "duplicate-field",
            format!(
                "the field `{field}` is written twice in {}",
                place(outer.as_deref())
            ),
        )
        .at(Some(back_to_word(text, at, field)))
        .help("keep one of them"),
        RonError::ExpectedDifferentStructName { expected, found } => Problem::new(
            "wrong-name",
            format!("expected `{expected}(` here, found `{found}(`"),
        )
        .at(Some(back_to_word(text, at, found)))
        .help(format!("write `{expected}(...)` or just `(...)`")),
        RonError::ExpectedComma => Problem::new("syntax", "expected a comma `,` here")
            .at(Some(at))
            .help("separate fields and list items with commas"),
        RonError::Eof => Problem::new(
            "syntax",
            "the file ends too early: a closing `)`, `]` or `}` is missing",
        )
        .at(Some(at)),
        RonError::TrailingCharacters => Problem::new(
            "syntax",
            "unexpected text after the end of the config's closing `)`",
        )
        .at(Some(at)),
        RonError::ExpectedString | RonError::ExpectedStringEnd => Problem::new(
            "syntax",
            "expected a string in double quotes, e.g. `\"web\"`",
        )
        .at(Some(at)),
        RonError::InvalidValueForType { expected, found } => {
            Problem::new("wrong-type", format!("expected {expected}, found {found}")).at(Some(at))
        }
        other => Problem::new("syntax", lower_first(&other.to_string())).at(Some(at)),
    }
}

/// ron reports some errors just after a word; point at its start instead.
fn back_to_word(text: &str, at: Position, word: &str) -> Position {
    let before = text.get(..at.offset).unwrap_or("");
    let trimmed = before.trim_end();
    match trimmed.strip_suffix(word) {
        Some(start) => Position::of_offset(text, start.len()),
        None => at,
    }
}

/// The user-facing place for a serde struct name.
fn place(outer: Option<&str>) -> String {
    match outer {
        None | Some("Config") => "the top level".to_owned(),
        Some("Person") => "a person".to_owned(),
        Some("Product") => "a product".to_owned(),
        Some("AdapterIds") => "`channels` or a person's `chat`".to_owned(),
        Some("Actions") => "`actions`".to_owned(),
        Some("Command") => "a `Command` action".to_owned(),
        Some("Http") => "an `Http` action".to_owned(),
        Some("ConsoleConfig") => "`console`".to_owned(),
        Some("HttpConfig") => "`http`".to_owned(),
        Some("ChatConfig") => "the top-level `chat`".to_owned(),
        Some("DiscordConfig") => "`discord`".to_owned(),
        Some("MatrixConfig") => "`matrix`".to_owned(),
        Some("SlackConfig") => "`slack`".to_owned(),
        Some(other) => format!("`{other}`"),
    }
}

fn alternatives(what: &str, found: &str, expected: &[&str]) -> String {
    let list = known_list(expected);
    match closest(found, expected.iter().copied()) {
        Some(best) => format!("did you mean `{best}`? the {what}s here are {list}"),
        None if expected.is_empty() => format!("no {what}s are allowed here"),
        None => format!("the {what}s here are {list}"),
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
