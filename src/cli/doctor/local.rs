//! Checks that need no chat platform: rules, database, listen address,
//! secrets, forge tokens.

use std::path::Path;

use super::Checklist;
use crate::config::Config;
use crate::daemon::reconcile::{self, ForgeError};
use crate::store::Store;

/// Below this much free space beside the database, `doctor` fails.
pub const MIN_FREE_BYTES: u64 = 100 * 1024 * 1024;

/// The rules compile, their gates name windows, and they agree with the
/// config about products (what start-up and reload refuse).
pub fn rules(config: &Config, list: &mut Checklist) {
    let shown = config.rules.as_ref().map_or_else(
        || crate::rules::DEFAULT_RULES_NAME.to_owned(),
        |p| p.display().to_string(),
    );
    let loaded = match &config.rules {
        Some(p) => crate::rules::load(std::slice::from_ref(p)),
        None => crate::rules::defaults(),
    };
    match loaded {
        Err(diags) => list.fail(
            format!(
                "rules: {shown} do not load:\n{}",
                diags
                    .iter()
                    .map(|d| d.render(false))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            format!("correct the rules (`shipgate check {shown}` shows the same)"),
        ),
        Ok(set) => {
            let problems = crate::team::unrunnable(config, &set, |d| d.render(false));
            if problems.is_empty() {
                list.ok(format!("rules: {shown} load and agree with the config"));
            } else {
                for p in problems {
                    list.fail(
                        format!("rules: {shown}: {p}"),
                        "make the rules and the config agree (`shipgate check --config` shows the same)",
                    );
                }
            }
        }
    }
}

/// The database's directory is writable, the database (if there is one
/// yet) passes `PRAGMA integrity_check`, and there is free disk.
pub fn database(config: &Config, list: &mut Checklist) {
    let db = &config.database;
    let dir = match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let probe = dir.join(format!(".shipgate-doctor-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            list.ok(format!("database: {} is writable", dir.display()));
        }
        Err(e) => list.fail(
            format!("database: cannot write in {}: {e}", dir.display()),
            "create the directory and give the user shipgate runs as write access to it, \
             or set `database` to a path in a writable directory",
        ),
    }
    if db.exists() {
        let writable = std::fs::OpenOptions::new().write(true).open(db);
        if let Err(e) = writable {
            list.fail(
                format!(
                    "database: {} cannot be opened for writing: {e}",
                    db.display()
                ),
                "give the user shipgate runs as write access to the database file",
            );
        }
        match Store::open_read_only(db).and_then(|s| s.integrity_check()) {
            Ok(true) => list.ok(format!("database: {} passes `PRAGMA integrity_check`", db.display())),
            Ok(false) => list.fail(
                format!("database: {} fails `PRAGMA integrity_check`", db.display()),
                "stop shipgate and restore the database from a backup",
            ),
            Err(e) => list.fail(
                format!("database: cannot check {}: {e}", db.display()),
                "make sure it is a shipgate database and readable (or move it away to start afresh)",
            ),
        }
    } else {
        list.ok(format!(
            "database: {} does not exist yet; shipgate creates it at start",
            db.display()
        ));
    }
    match free_bytes(&dir) {
        Some(free) if free < MIN_FREE_BYTES => list.fail(
            format!(
                "disk: {} MiB free for {} (less than {} MiB)",
                free / (1024 * 1024),
                dir.display(),
                MIN_FREE_BYTES / (1024 * 1024)
            ),
            "free disk space where the database lives",
        ),
        Some(free) => list.ok(format!(
            "disk: {} MiB free for {}",
            free / (1024 * 1024),
            dir.display()
        )),
        None => list.off(format!(
            "disk: could not learn the free space for {} (`df` failed)",
            dir.display()
        )),
    }
}

/// Free bytes on the file system holding `dir`, from POSIX `df -Pk`.
fn free_bytes(dir: &Path) -> Option<u64> {
    let out = std::process::Command::new("df")
        .arg("-Pk")
        .arg(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().nth(1)?;
    let kib: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
    Some(kib * 1024)
}

/// The HTTP listen address is free (shipgate itself running there counts
/// as in use: stop it first, or read the line as "it runs").
pub fn listen(config: &Config, list: &mut Checklist) {
    let addr = &config.http.listen;
    match std::net::TcpListener::bind(addr) {
        Ok(_) => list.ok(format!("http: {addr} is free to listen on")),
        Err(e) => list.fail(
            format!("http: cannot listen on {addr}: {e}"),
            "stop what listens there (if it is shipgate itself, this is expected while it runs), \
             or set `http.listen` to a free address",
        ),
    }
}

/// Every secret the config names can be read; the webhooks and the API
/// have theirs.
pub fn secrets(config: &Config, list: &mut Checklist) {
    for (where_, secret) in config.secrets() {
        match config.resolve(secret) {
            Ok(_) => list.ok(format!("secret: `{where_}` ({secret}) is set")),
            Err(e) => list.fail(
                format!("secret: `{where_}`: {e}"),
                format!("set {secret} to the value, readable by the user shipgate runs as"),
            ),
        }
    }
    let http = &config.http;
    if http.api_token.is_none() {
        list.off("http: no `http.api_token`: the events API (`POST /api/events`) is disabled");
    }
    let repos = config.products.iter().any(|p| !p.repos.is_empty());
    match (&http.github_secret, &http.gitlab_token) {
        (None, None) if repos => list.fail(
            "http: products name repos but neither `http.github_secret` nor `http.gitlab_token` \
             is set: no webhook can deliver merges",
            "set the webhook secret of your forge in `http` and in the forge's webhook settings",
        ),
        (None, None) => list.off("http: no webhook secret: the forge webhooks are disabled"),
        _ => {}
    }
}

/// Reconciliation: which forges are off and why, and whether each token
/// may read its repos.
pub async fn forges(config: &Config, list: &mut Checklist) {
    let (targets, off) = reconcile::targets(config);
    for why in off {
        list.off(format!("reconcile: {why}"));
    }
    for t in targets {
        let forge = t.client.forge.name();
        match t.client.check_repo(&t.repo).await {
            Ok(()) => list.ok(format!("reconcile: {forge} token can read {}", t.repo)),
            Err(ForgeError::Unauthorized(code)) => list.fail(
                format!("reconcile: {forge} refused the token for {} (HTTP {code})", t.repo),
                format!("give `reconcile.{forge}.token` a valid token that may read {}", t.repo),
            ),
            Err(ForgeError::NotFound(_)) => list.fail(
                format!("reconcile: {forge} does not show {} to the token", t.repo),
                format!(
                    "check the repo's name in the product's `repos`, or give the token access to {}",
                    t.repo
                ),
            ),
            Err(ForgeError::Other(e)) => list.fail(
                format!("reconcile: {forge}: {e}"),
                format!("check `reconcile.{forge}.api_base` and the network"),
            ),
        }
    }
}
