//! The import rule of docs/daemon.md ("Inside: one door into the core"):
//! the core (`rules`, `engine`, the command language) imports nothing
//! from the shell. Checked on the source text, so a new arrow fails here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

const CORE: &[&str] = &["src/rules", "src/engine", "src/command", "src/command.rs"];
const SHELL: &[&str] = &[
    "daemon", "chat", "cli", "sim", "store", "ledger", "config", "team",
];

fn files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_owned());
    }
}

#[test]
fn the_core_imports_nothing_from_the_shell() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    for dir in CORE {
        files(&root.join(dir), &mut sources);
    }
    assert!(sources.len() > 20, "{sources:?}");
    let mut arrows = Vec::new();
    for file in &sources {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for module in SHELL {
                if line.contains(&format!("crate::{module}::"))
                    || line.contains(&format!("crate::{module};"))
                    || line.contains(&format!("crate::{module}}}"))
                    || line.contains(&format!("crate::{{{module}"))
                {
                    arrows.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        arrows.is_empty(),
        "the core imports the shell:\n{}",
        arrows.join("\n")
    );
}
