//! Config errors: file, line and column, plain words, a hint where one
//! helps, and every semantic problem at once.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::rules::Diagnostic;
use crate::rules::ast::Span;

/// A 1-based line and column (in characters) and the byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
}

impl Position {
    /// The position of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            offset,
        }
    }

    /// The position of a 1-based line and character column in `text`.
    pub fn of_line_col(text: &str, line: usize, column: usize) -> Self {
        let line_start = if line <= 1 {
            0
        } else {
            text.match_indices('\n')
                .nth(line - 2)
                .map_or(text.len(), |(i, _)| i + 1)
        };
        let rest = &text[line_start..];
        let offset = line_start
            + rest
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(rest.len(), |(i, _)| i);
        Self {
            line,
            column,
            offset,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One thing wrong with a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// A stable kebab-case identifier, e.g. `unknown-field`.
    pub code: &'static str,
    pub message: String,
    /// Where it is, when it could be found.
    pub at: Option<Position>,
    /// Where the other half of a conflict is (e.g. the first definition).
    pub related: Option<Position>,
    pub help: Option<String>,
}

impl Problem {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            at: None,
            related: None,
            help: None,
        }
    }

    pub fn at(mut self, at: Option<Position>) -> Self {
        self.at = at;
        self
    }

    pub fn related(mut self, related: Option<Position>) -> Self {
        self.related = related;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col: message (help: ...)`.
    pub fn one_line(&self, file: &str) -> String {
        let mut s = match self.at {
            Some(at) => format!("{file}:{at}: {}", self.message),
            None => format!("{file}: {}", self.message),
        };
        if let Some(h) = &self.help {
            s.push_str(" (help: ");
            s.push_str(h);
            s.push(')');
        }
        s
    }
}

/// The config text, kept for rendering snippets; `Debug` shows only its size.
#[derive(Clone)]
pub struct SourceText(pub Arc<str>);

impl fmt::Debug for SourceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceText({} bytes)", self.0.len())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config file `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The text is not a valid config: one RON syntax or shape problem, or
    /// every semantic problem found.
    #[error("{}", lines(file, problems))]
    Invalid {
        file: String,
        text: SourceText,
        problems: Vec<Problem>,
    },
    /// A secret could not be read. Names the variable or file, never a value.
    #[error("cannot use the secret in {secret}: {reason}")]
    Secret { secret: String, reason: String },
}

fn lines(file: &str, problems: &[Problem]) -> String {
    let all: Vec<String> = problems.iter().map(|p| p.one_line(file)).collect();
    all.join("\n")
}

impl ConfigError {
    /// The problems in the file (empty for read and secret errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            ConfigError::Read { .. } | ConfigError::Secret { .. } => &[],
        }
    }

    /// The same errors as [`Diagnostic`]s, for the shared renderer
    /// (labelled snippets, JSON).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            ConfigError::Invalid {
                file,
                text,
                problems,
            } => problems
                .iter()
                .map(|p| {
                    let mut d = Diagnostic::error(p.code, p.message.clone());
                    if let Some(at) = p.at {
                        let end = token_end(&text.0, at.offset);
                        d = d.in_file(file, text.0.clone(), Span::new(at.offset, end), "");
                        if let Some(rel) = p.related {
                            let end = token_end(&text.0, rel.offset);
                            d = d.with_related(Span::new(rel.offset, end), "first here");
                        }
                    }
                    match &p.help {
                        Some(h) => d.with_help(h.clone()),
                        None => d,
                    }
                })
                .collect(),
            ConfigError::Read { .. } => vec![Diagnostic::error("io", self.to_string())],
            ConfigError::Secret { .. } => vec![Diagnostic::error("secret", self.to_string())],
        }
    }
}

/// The end of the token starting at `start`: a whole string literal or a
/// whole word, for underlining.
fn token_end(text: &str, start: usize) -> usize {
    let rest = text.get(start..).unwrap_or("");
    if let Some(body) = rest.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => return start + 1 + i + 1,
                '\n' => return start + 1 + i,
                _ => escaped = false,
            }
        }
        return text.len();
    }
    let word = rest
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(rest.len(), |(i, _)| i);
    start + word.max(rest.chars().next().map_or(0, char::len_utf8))
}
