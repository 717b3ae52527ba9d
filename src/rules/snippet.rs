//! Snippets of very long lines, cut around what a diagnostic points at, so
//! the caret stays on the screen and the renderer is never asked for a
//! column it cannot draw (a 120,000-character line once made it panic).

use std::collections::HashMap;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use super::ast::Span;

/// Lines longer than this (in bytes) are cut in reports.
pub const LONG_LINE: usize = 160;
/// Characters kept before the start of the span a long line is cut around.
const BEFORE: usize = 30;
/// Characters of that span shown at most.
const SPAN_SHOWN: usize = 40;
/// Characters kept after what is shown of the span.
const AFTER: usize = 20;
/// Characters kept of a long line no span starts on.
const HEAD: usize = 80;
/// What stands for the text cut away.
const ELLIPSIS: &str = "…";

/// A text whose long lines are cut, with the way back to the original.
#[derive(Debug)]
pub struct Cut {
    name: String,
    text: String,
    /// The kept pieces, in order: original start, original end, new start.
    pieces: Vec<(usize, usize, usize)>,
    /// For each 0-based line cut at its start: bytes removed before the
    /// kept part, less the ellipsis, so columns are the original's.
    shifts: HashMap<usize, isize>,
}

/// Whether any line of `text` is long enough to be cut.
pub fn has_long_line(text: &str) -> bool {
    text.split('\n').any(|l| l.len() > LONG_LINE)
}

/// `text` with every long line cut: around the first of `spans` that starts
/// on it, else to its first characters.
pub fn cut(name: &str, text: &str, spans: &[Span]) -> Cut {
    let mut out = String::with_capacity(text.len().min(64 * 1024));
    let mut pieces = Vec::new();
    let mut shifts = HashMap::new();
    let mut line_start = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let content = raw.trim_end_matches(['\r', '\n']);
        let end = line_start + content.len();
        let next = line_start + raw.len();
        if content.len() <= LONG_LINE {
            pieces.push((line_start, next, out.len()));
            out.push_str(raw);
            line_start = next;
            continue;
        }
        let (keep_start, keep_end) = match spans
            .iter()
            .find(|s| s.start >= line_start && s.start <= end)
        {
            Some(s) => {
                let start = back_chars(text, s.start, BEFORE).max(line_start);
                let shown = forward_chars(text, s.start, SPAN_SHOWN).min(s.end.clamp(s.start, end));
                (start, forward_chars(text, shown, AFTER).min(end))
            }
            None => (line_start, forward_chars(text, line_start, HEAD).min(end)),
        };
        if keep_start > line_start {
            out.push_str(ELLIPSIS);
            let removed = (keep_start - line_start) as isize - ELLIPSIS.len() as isize;
            shifts.insert(index, removed);
        }
        pieces.push((keep_start, keep_end, out.len()));
        out.push_str(&text[keep_start..keep_end]);
        if keep_end < end {
            out.push_str(ELLIPSIS);
        }
        pieces.push((end, next, out.len()));
        out.push_str(&text[end..next]);
        line_start = next;
    }
    Cut {
        name: name.to_owned(),
        text: out,
        pieces,
        shifts,
    }
}

impl Cut {
    /// Where an original offset lands in the cut text: in a kept piece, or
    /// at the end of the kept piece before it.
    pub fn map(&self, offset: usize) -> usize {
        let i = self
            .pieces
            .partition_point(|&(start, _, _)| start <= offset);
        match i.checked_sub(1).and_then(|i| self.pieces.get(i)) {
            Some(&(start, end, new)) => new + offset.min(end) - start,
            None => 0,
        }
    }

    pub fn map_span(&self, span: Span) -> Span {
        let start = self.map(span.start);
        Span::new(start, self.map(span.end).max(start))
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

impl SourceCode for Cut {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.as_str().read_span(span, before, after)?;
        let mut column = inner.column();
        // The header's `line:col` reads the span alone; give it the
        // original column.
        if before == 0
            && let Some(shift) = self.shifts.get(&inner.line())
        {
            column = column.saturating_add_signed(*shift);
        }
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            column,
            inner.line_count(),
        )))
    }
}

fn back_chars(text: &str, from: usize, n: usize) -> usize {
    text[..from]
        .char_indices()
        .rev()
        .take(n)
        .last()
        .map_or(from, |(i, _)| i)
}

fn forward_chars(text: &str, from: usize, n: usize) -> usize {
    text[from..]
        .char_indices()
        .nth(n)
        .map_or(text.len(), |(i, _)| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_kept() {
        let text = "window w {\n  open always\n}\n";
        let c = cut("f", text, &[Span::new(13, 17)]);
        assert_eq!(c.text(), text);
        assert_eq!(c.map_span(Span::new(13, 17)), Span::new(13, 17));
    }

    #[test]
    fn long_lines_are_cut_around_the_span() {
        let long = format!("a{}b", "x".repeat(1000));
        let text = format!("first\n{long}\nlast\n");
        let at = text.find('b').unwrap();
        let c = cut("f", &text, &[Span::new(at, at + 1)]);
        assert!(c.text().len() < 200, "{}", c.text());
        assert!(c.text().starts_with("first\n…x"));
        assert!(c.text().ends_with("b\nlast\n"));
        let mapped = c.map_span(Span::new(at, at + 1));
        assert_eq!(&c.text()[mapped.start..mapped.end], "b");
        // A span running past the kept part is shown up to it.
        let wide = c.map_span(Span::new(6, at));
        assert!(wide.end > wide.start);
        assert!(c.text().is_char_boundary(wide.end));
    }

    #[test]
    fn multibyte_text_is_cut_on_char_boundaries() {
        let text = format!("\"{}\"\n", "é".repeat(500));
        let c = cut("f", &text, &[Span::new(0, text.len() - 1)]);
        let mapped = c.map_span(Span::new(0, text.len() - 1));
        assert!(c.text().is_char_boundary(mapped.start));
        assert!(c.text().is_char_boundary(mapped.end));
        assert!(c.text().chars().count() < 100);
    }
}
