//! Diagnostics: what went wrong, where, and what to write instead.
//!
//! A [`Diagnostic`] is one problem. It renders three ways: a full report
//! with a labelled snippet (for `shipgate check` and the console), a single
//! line `path:line:col: message` (for chat announcements), and JSON.

use std::fmt;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode, SourceSpan,
};

use super::ast::Span;
use super::snippet;
use super::source::line_col;

/// Where a diagnostic points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub text: Arc<str>,
    pub span: Span,
    pub label: String,
    /// Further labelled places in the same file (e.g. the first definition
    /// of a duplicate name).
    pub related: Vec<(Span, String)>,
}

impl Location {
    /// 1-based line and column of the start of the span.
    pub fn line_col(&self) -> (usize, usize) {
        line_col(&self.text, self.span.start)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// A stable kebab-case identifier, e.g. `unknown-timezone`.
    pub code: &'static str,
    /// A warning: the rules are valid, but something in them cannot be
    /// what was meant. `check` prints it and still succeeds (unless
    /// `--deny-warnings`).
    pub warning: bool,
    pub message: String,
    pub location: Option<Location>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            warning: false,
            message: message.into(),
            location: None,
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            warning: true,
            ..Self::error(code, message)
        }
    }

    pub fn in_file(
        mut self,
        file: &str,
        text: impl Into<Arc<str>>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        self.location = Some(Location {
            file: file.to_owned(),
            text: text.into(),
            span,
            label: label.into(),
            related: Vec::new(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        if let Some(loc) = &mut self.location {
            loc.related.push((span, label.into()));
        }
        self
    }

    /// `path:line:col` of the primary location, when there is one.
    pub fn position(&self) -> Option<String> {
        self.location.as_ref().map(|l| {
            let (line, col) = l.line_col();
            format!("{}:{line}:{col}", l.file)
        })
    }

    /// One line for chat: `path:line:col: message (help: ...)`.
    pub fn one_line(&self) -> String {
        let mut s = match self.position() {
            Some(p) => format!("{p}: {}", self.message),
            None => self.message.clone(),
        };
        if let Some(h) = &self.help {
            s.push_str(" (help: ");
            s.push_str(h);
            s.push(')');
        }
        s
    }

    /// The full report: message, `path:line:col`, labelled snippet and
    /// help. `color` adds ANSI colours for terminals.
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_context_lines(1)
            .with_width(100);
        let mut out = String::new();
        let rendered = match &self.location {
            // Long lines are cut around the span: the caret stays on the
            // screen and the renderer never sees a column it cannot draw.
            Some(l) if snippet::has_long_line(&l.text) => {
                let spans: Vec<Span> = std::iter::once(l.span)
                    .chain(l.related.iter().map(|(s, _)| *s))
                    .collect();
                let cut = snippet::cut(&l.file, &l.text, &spans);
                let labels = labels(l, |s| cut.map_span(s), cut.text());
                handler.render_report(&mut out, &Miette(self, Some(&cut), labels))
            }
            Some(l) => {
                let named = NamedSource::new(l.file.clone(), l.text.clone());
                let labels = labels(l, |s| s, &l.text);
                handler.render_report(&mut out, &Miette(self, Some(&named), labels))
            }
            None => handler.render_report(&mut out, &Miette(self, None, Vec::new())),
        };
        if rendered.is_err() {
            return self.one_line();
        }
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        let (file, line, column) = match &self.location {
            Some(l) => {
                let (line, col) = l.line_col();
                (Some(l.file.clone()), Some(line), Some(col))
            }
            None => (None, None, None),
        };
        serde_json::json!({
            "code": self.code,
            "severity": if self.warning { "warning" } else { "error" },
            "message": self.message,
            "file": file,
            "line": line,
            "column": column,
            "help": self.help,
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.one_line())
    }
}

impl std::error::Error for Diagnostic {}

/// The miette view of a diagnostic, used only for rendering: the
/// diagnostic, the text shown and the labels in that text.
struct Miette<'a>(&'a Diagnostic, Option<&'a dyn SourceCode>, Vec<LabeledSpan>);

/// The labels of a location, their spans mapped into the text shown.
fn labels(loc: &Location, map: impl Fn(Span) -> Span, shown: &str) -> Vec<LabeledSpan> {
    let primary = LabeledSpan::new_primary_with_span(
        Some(loc.label.clone()).filter(|l| !l.is_empty()),
        source_span(shown, map(loc.span)),
    );
    let related = loc.related.iter().map(|(span, label)| {
        LabeledSpan::new_with_span(Some(label.clone()), source_span(shown, map(*span)))
    });
    std::iter::once(primary).chain(related).collect()
}

impl fmt::Debug for Miette<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for Miette<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for Miette<'_> {}

fn source_span(text: &str, span: Span) -> SourceSpan {
    let start = span.start.min(text.len());
    let end = span.end.clamp(start, text.len());
    SourceSpan::new(start.into(), end - start)
}

impl miette::Diagnostic for Miette<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(if self.0.warning {
            miette::Severity::Warning
        } else {
            miette::Severity::Error
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0
            .help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.1
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.2.is_empty() {
            return None;
        }
        Some(Box::new(self.2.iter().cloned()))
    }
}
