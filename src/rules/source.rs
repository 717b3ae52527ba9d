//! Rules source text: reading files safely and mapping byte offsets to
//! line and column.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ast::Span;
use super::diagnostic::Diagnostic;

/// The largest rules file we read. Bigger files are refused before parsing.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// One rules file's text and the name it is reported under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub text: Arc<str>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    /// Checks raw bytes the way a file from disk is checked: size, UTF-8 and
    /// NUL bytes. Errors carry the offending offset.
    pub fn from_bytes(name: impl Into<String>, bytes: &[u8]) -> Result<Self, Box<Diagnostic>> {
        let name = name.into();
        if bytes.len() > MAX_FILE_BYTES {
            return Err(Box::new(
                Diagnostic::error(
                    "file-too-large",
                    format!(
                        "`{name}` is {} bytes; rules files may be at most {MAX_FILE_BYTES} bytes (1 MiB)",
                        bytes.len()
                    ),
                )
                .in_file(&name, "", Span::default(), "")
                .with_help("split the rules into several files in the rules directory"),
            ));
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.valid_up_to();
                // Show the valid text before the bad byte so line:col is right.
                let prefix = String::from_utf8_lossy(&bytes[..at]).into_owned();
                let len = prefix.len();
                return Err(Box::new(
                    Diagnostic::error(
                        "invalid-utf8",
                        format!("`{name}` is not valid UTF-8 text: bad byte at offset {at}"),
                    )
                    .in_file(
                        &name,
                        prefix.as_str(),
                        Span::new(len, len),
                        "invalid UTF-8 here",
                    )
                    .with_help("save the file as UTF-8"),
                ));
            }
        };
        if let Some(at) = text.find('\0') {
            return Err(Box::new(
                Diagnostic::error(
                    "nul-byte",
                    format!("`{name}` contains a NUL byte at offset {at}; rules files are text"),
                )
                .in_file(&name, text, Span::new(at, at + 1), "NUL byte")
                .with_help("remove the NUL byte; was a binary file saved here by mistake?"),
            ));
        }
        Ok(Self::new(name, text))
    }

    /// Reads a file from disk with the checks of [`Source::from_bytes`].
    pub fn read(path: &Path) -> Result<Self, Box<Diagnostic>> {
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| io_error(&name, &e))?;
        if meta.len() > MAX_FILE_BYTES as u64 {
            return Err(Box::new(
                Diagnostic::error(
                    "file-too-large",
                    format!(
                        "`{name}` is {} bytes; rules files may be at most {MAX_FILE_BYTES} bytes (1 MiB)",
                        meta.len()
                    ),
                )
                .with_help("split the rules into several files in the rules directory"),
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| io_error(&name, &e))?;
        Self::from_bytes(name, &bytes)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.text, offset)
    }

    /// The whole line holding `offset`, without its line ending.
    pub fn line_text(&self, offset: usize) -> &str {
        let offset = clamp_to_char(&self.text, offset);
        let start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        self.text[start..end].trim_end_matches('\r')
    }
}

pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = clamp_to_char(text, offset);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn clamp_to_char(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

fn io_error(name: &str, e: &std::io::Error) -> Box<Diagnostic> {
    Box::new(Diagnostic::error(
        "io",
        format!("cannot read `{name}`: {e}"),
    ))
}

/// Finds the rules files named by `paths`: files as given, directories
/// expanded to their `*.rules` files (sorted, not recursive, hidden and
/// editor leftover files skipped).
pub fn collect_rule_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Box<Diagnostic>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries =
                std::fs::read_dir(path).map_err(|e| io_error(&path.display().to_string(), &e))?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| is_rules_file_name(p))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(Box::new(
                    Diagnostic::error(
                        "no-rules",
                        format!("`{}` holds no `*.rules` files", path.display()),
                    )
                    .with_help("name rules files like `release-process.rules`"),
                ));
            }
            out.extend(files);
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(Box::new(Diagnostic::error(
                "io",
                format!("`{}` does not exist", path.display()),
            )));
        }
    }
    Ok(out)
}

/// Whether a file name in a rules directory is a rules file: `*.rules`, not
/// hidden, not an editor leftover (`.#x.rules`, `x.rules~`, `.x.rules.swp`).
pub fn is_rules_file_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.') && name.ends_with(".rules") && name.len() > ".rules".len()
}

/// Whether a source is an iCalendar file read for `calendar NAME from
/// "FILE.ics"` rather than a rules file.
pub fn is_calendar_file_name(name: &str) -> bool {
    name.ends_with(".ics")
}

/// The name a calendar file is read under: `written` (a plain file name
/// ending in `.ics`) next to the rules file `rules_name`. Anything else (an
/// absolute path, `..`, a subdirectory) is refused, with help: the rules
/// directory is what is watched and hot-reloaded, and a rules file must not
/// make the daemon read files outside it.
pub fn ics_name(rules_name: &str, written: &str) -> Result<String, String> {
    let plain = !written.is_empty()
        && !written.contains(['/', '\\', '\0'])
        && !written.starts_with('.')
        && written.len() > ".ics".len();
    if !plain {
        return Err(
            "name a file in the same directory as the rules file, like `holidays.ics`: \
             no directories, no absolute paths, no `..`"
                .to_owned(),
        );
    }
    if !is_calendar_file_name(written) {
        return Err("calendar files end in `.ics`".to_owned());
    }
    Ok(match Path::new(rules_name).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(written).display().to_string(),
        _ => written.to_owned(),
    })
}

/// The calendar files the rules in `source` read (`calendar NAME from
/// "FILE.ics"`), by the names [`ics_name`] gives; nothing for a file that
/// does not parse (compiling it reports why).
pub fn calendar_files(source: &Source) -> Vec<String> {
    let Ok(file) = super::parse::parse_file(source) else {
        return Vec::new();
    };
    file.items
        .iter()
        .filter_map(|i| match i {
            super::ast::Item::Calendar(c) => c.file.as_ref(),
            _ => None,
        })
        .filter_map(|f| ics_name(&source.name, &f.node).ok())
        .collect()
}

/// Reads every file named by `paths` (see [`collect_rule_files`]), then
/// the calendar files they name (see [`calendar_files`]), sorted after
/// them. A calendar file that does not exist is left to `compile`, which
/// reports it at the `from` that names it.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<Source>, Vec<Diagnostic>> {
    let files = collect_rule_files(paths).map_err(|d| vec![*d])?;
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match Source::read(&f) {
            Ok(s) => sources.push(s),
            Err(d) => errors.push(*d),
        }
    }
    let mut calendars: Vec<String> = sources.iter().flat_map(calendar_files).collect();
    calendars.sort_unstable();
    calendars.dedup();
    for name in calendars {
        let path = Path::new(&name);
        if !path.is_file() {
            continue;
        }
        match Source::read(path) {
            Ok(s) => sources.push(s),
            Err(d) => errors.push(*d),
        }
    }
    if errors.is_empty() {
        Ok(sources)
    } else {
        Err(errors)
    }
}
