//! Build script: records the commit the binary was built from, for
//! `shipgate --version`. `SHIPGATE_COMMIT` wins (a container build or a
//! source tarball has no `.git`); else `git rev-parse --short HEAD`; else
//! `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=SHIPGATE_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");
    let commit = std::env::var("SHIPGATE_COMMIT")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            // Rebuild when HEAD moves: HEAD itself and the branch it names
            // (`--git-path` finds both in a worktree too).
            for path in [
                git(&["rev-parse", "--git-path", "HEAD"]),
                git(&["symbolic-ref", "-q", "HEAD"])
                    .and_then(|r| git(&["rev-parse", "--git-path", &r])),
                git(&["rev-parse", "--git-path", "packed-refs"]),
            ]
            .into_iter()
            .flatten()
            // A path that does not exist would rerun this script on every
            // build (no `packed-refs` in a fresh clone).
            .filter(|p| std::path::Path::new(p).exists())
            {
                println!("cargo:rerun-if-changed={path}");
            }
            git(&["rev-parse", "--short=12", "HEAD"])
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=SHIPGATE_COMMIT={commit}");
}
