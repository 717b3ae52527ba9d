//! The rules watcher: which file events may change the rules, when to act
//! on them, and keeping the watch alive.
//!
//! Only events that can change what a read of the rules sees count: a
//! write, a create, a removal, a rename, an attribute change. Opens, reads
//! and closes after reading never do (a reload opens the file; counting
//! those made every reload trigger the next).
//!
//! An editor's save ends with a close after writing or a rename into
//! place: the reload follows [`SETTLE`] after the last such event. Other
//! changes (a truncate, a write still in progress, a removal) wait for
//! [`QUIET`], and so does every change arriving less than [`RAPID`] after
//! the watcher's last reload (a burst of saves), never longer than
//! [`MAX_DELAY`] after the first event of the burst.
//!
//! If the watch cannot be set up, or its directory disappears, is moved
//! or replaced, the watcher says so (log, `/readyz`) and sets it up again,
//! retrying with backoff; SIGHUP and `POST /-/reload` work meanwhile.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, MetadataKind, ModifyKind, RenameMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Reloader;

/// How long the directory must be quiet before a reload, after changes
/// that are not the end of a save.
pub const QUIET: Duration = Duration::from_millis(200);
/// How long to wait after the end of a save for what comes with it (the
/// other files of a directory, an editor's clean-up).
pub const SETTLE: Duration = Duration::from_millis(10);
/// A change this soon after the watcher's last reload is part of a burst
/// of saves: it waits for [`QUIET`] even when a save ended.
pub const RAPID: Duration = Duration::from_millis(50);
/// The longest a burst of saves may delay a reload.
pub const MAX_DELAY: Duration = Duration::from_millis(1000);
/// The first wait before setting up a lost watch again; it doubles after
/// each failure, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often the watched directory is checked for having been replaced
/// (e.g. a symlink pointed elsewhere), which no event reports.
pub const CHECK: Duration = Duration::from_secs(1);

/// The key of the watcher's problem in [`super::super::shared::Shared::degraded`].
const DEGRADED_KEY: &str = "rules-watcher";

/// Whether a file event in the rules directory may change the rules: the
/// rules file(s), and calendar files (`*.ics`). Editor leftovers never do;
/// Kubernetes' `..data` swaps do.
pub fn is_relevant(path: &Path, target_file: Option<&str>) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    // The configured file itself, even when its name looks hidden.
    if target_file == Some(name) {
        return true;
    }
    if name.starts_with("..") {
        return true;
    }
    if name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".swo")
        || name == "4913"
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || name.starts_with('.')
    {
        return false;
    }
    // Calendar files (`calendar NAME from "FILE.ics"`) live next to the
    // rules and are part of them.
    if crate::rules::source::is_calendar_file_name(name) {
        return true;
    }
    match target_file {
        Some(t) => name == t,
        None => name.ends_with(".rules"),
    }
}

/// What a file event means for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Cannot change the rules: an open, a read, a close after reading, an
    /// access-time update, or an event on a file that is not the rules.
    None,
    /// A save ended: a rules file closed after writing, or renamed into
    /// place.
    SaveEnded,
    /// A write in progress (a create, a truncate, a write): its end
    /// follows, usually.
    Writing,
    /// Anything else that may change what a read sees: a removal, a rename
    /// away, an attribute change, a new directory, a lost event queue.
    Other,
    /// The watched directory itself was removed or moved: the watch is
    /// lost.
    WatchLost,
}

/// Classifies a file event in `dir` (the watched directory; `target` the
/// rules file's name in it, `None` when the rules are the directory).
pub fn classify(event: &notify::Event, dir: &Path, target: Option<&str>) -> Change {
    let relevant = |p: &PathBuf| is_relevant(p, target);
    let any_relevant = event.paths.iter().any(relevant);
    let on_dir = event.paths.iter().any(|p| p == dir);
    match event.kind {
        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From)) if on_dir => {
            Change::WatchLost
        }
        // A lost event queue: anything may have happened.
        _ if event.need_rescan() => Change::Other,
        _ if !any_relevant => Change::None,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Change::SaveEnded,
        EventKind::Access(_) => Change::None,
        EventKind::Create(notify::event::CreateKind::Folder) => Change::Other,
        EventKind::Create(_) => Change::Writing,
        EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => Change::Writing,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => Change::None,
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => Change::SaveEnded,
        // From -> to: a save when the rules are the destination, a removal
        // when they are the source.
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            if event.paths.last().is_some_and(relevant) {
                Change::SaveEnded
            } else {
                Change::Other
            }
        }
        EventKind::Modify(
            ModifyKind::Metadata(_)
            | ModifyKind::Name(RenameMode::From | RenameMode::Any | RenameMode::Other)
            | ModifyKind::Other,
        )
        | EventKind::Remove(_)
        | EventKind::Any
        | EventKind::Other => Change::Other,
    }
}

/// How long to wait for more after a change, before reloading.
/// `saw_end`: a save ended earlier in this burst; `rapid`: the burst began
/// right after the watcher's last reload.
pub fn wait_after(change: Change, saw_end: bool, rapid: bool) -> Duration {
    if rapid {
        return QUIET;
    }
    match change {
        Change::SaveEnded => SETTLE,
        Change::Other | Change::WatchLost if saw_end => SETTLE,
        Change::Writing | Change::Other | Change::WatchLost | Change::None => QUIET,
    }
}

/// What the watch callback tells the loop.
enum Signal {
    Change(Change),
    /// The watch is lost (the directory went away, or the watcher failed).
    Lost(String),
}

/// The directory watched for `path` and the rules file's name in it
/// (`None` when `path` is the directory).
fn layout(path: &Path) -> (PathBuf, Option<String>) {
    if path.is_dir() {
        return (path.to_path_buf(), None);
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    (
        dir,
        path.file_name().and_then(|n| n.to_str()).map(str::to_owned),
    )
}

/// Which directory `dir` is now (device and inode, through symlinks);
/// `None` when it is gone.
fn identity(dir: &Path) -> Option<(u64, u64)> {
    let m = std::fs::metadata(dir).ok()?;
    if !m.is_dir() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        Some((m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        Some((0, 0))
    }
}

/// A watch in place.
struct Watch {
    _watcher: RecommendedWatcher,
    rx: mpsc::UnboundedReceiver<Signal>,
    dir: PathBuf,
    target: Option<String>,
    identity: Option<(u64, u64)>,
}

impl Watch {
    fn start(path: &Path) -> Result<Watch, String> {
        let (dir, target) = layout(path);
        let (tx, rx) = mpsc::unbounded_channel();
        let (cb_dir, cb_target) = (dir.clone(), target.clone());
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let signal = match res {
                Ok(ev) => match classify(&ev, &cb_dir, cb_target.as_deref()) {
                    Change::None => return,
                    Change::WatchLost => Signal::Lost(format!(
                        "the rules directory {} was removed or moved",
                        cb_dir.display()
                    )),
                    c => Signal::Change(c),
                },
                Err(e) => Signal::Lost(format!("the watcher failed: {e}")),
            };
            let _ = tx.send(signal);
        })
        .map_err(|e| format!("cannot start a file watcher: {e}"))?;
        watcher
            .watch(&dir, RecursiveMode::NonRecursive)
            .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
        let identity = identity(&dir);
        Ok(Watch {
            _watcher: watcher,
            rx,
            dir,
            target,
            identity,
        })
    }

    /// Why the watch no longer watches what it should, if so: its
    /// directory was replaced, or the rules path changed from file to
    /// directory or back.
    fn stale(&self, path: &Path) -> Option<String> {
        if identity(&self.dir) != self.identity {
            return Some(format!(
                "the rules directory {} was removed or replaced",
                self.dir.display()
            ));
        }
        let (dir, target) = layout(path);
        (dir != self.dir || target != self.target).then(|| {
            format!(
                "the rules path {} changed between file and directory",
                path.display()
            )
        })
    }
}

/// Sets up the watch, retrying with backoff until it works or shutdown
/// (then `None`). While it fails, hot reload is reported degraded.
async fn establish(
    reloader: &Reloader,
    shutdown: &CancellationToken,
    lost: Option<String>,
) -> Option<Watch> {
    let shared = &reloader.shared;
    let path = &reloader.path;
    let mut backoff = FIRST_BACKOFF;
    let mut failing = lost;
    if let Some(why) = &failing {
        tracing::error!(
            "{why}; hot reload of the rules is off until the watch is set up again \
             (SIGHUP and POST /-/reload still work)"
        );
        shared.degraded.set(DEGRADED_KEY, degraded_text(why));
    }
    loop {
        if shutdown.is_cancelled() {
            return None;
        }
        match Watch::start(path) {
            Ok(w) => {
                if failing.is_some() {
                    tracing::warn!(dir = %w.dir.display(), "watching the rules again; hot reload is back");
                    shared.degraded.clear(DEGRADED_KEY);
                } else {
                    tracing::info!(dir = %w.dir.display(), "watching rules for changes");
                }
                return Some(w);
            }
            Err(why) => {
                if failing.is_none() {
                    tracing::error!(
                        "{why}; hot reload of the rules is off, retrying \
                         (SIGHUP and POST /-/reload still work)"
                    );
                } else {
                    tracing::debug!(retry_in = ?backoff, "{why}");
                }
                shared.degraded.set(DEGRADED_KEY, degraded_text(&why));
                failing = Some(why);
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn degraded_text(why: &str) -> String {
    format!(
        "hot reload of the rules is off ({why}); retrying; SIGHUP and POST /-/reload still work"
    )
}

/// Watches the rules path and reloads after each save or burst of changes,
/// until shutdown.
pub async fn watch(reloader: Arc<Reloader>, shutdown: CancellationToken) {
    let path = reloader.path.clone();
    let mut lost: Option<String> = None;
    // When the watcher's last reload finished.
    let mut last_reload: Option<Instant> = None;
    loop {
        let was_down = lost.is_some();
        let Some(mut w) = establish(&reloader, &shutdown, lost.take()).await else {
            return;
        };
        if was_down && path.exists() {
            // Changes made while nothing watched were missed.
            let result = reloader.reload("file changed").await;
            tracing::debug!(?result, "reload after the watch was set up again");
            last_reload = Some(Instant::now());
        }
        // Runs until the watch is lost.
        lost = loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => return,
                got = w.rx.recv() => got,
                () = tokio::time::sleep(CHECK) => match w.stale(&path) {
                    Some(why) => break Some(why),
                    None => continue,
                },
            };
            let change = match first {
                None => break Some("the watcher stopped".to_owned()),
                Some(Signal::Lost(why)) => break Some(why),
                Some(Signal::Change(c)) => c,
            };
            let started = Instant::now();
            let rapid = last_reload.is_some_and(|t| started.duration_since(t) < RAPID);
            let mut saw_end = change == Change::SaveEnded;
            let mut wait = wait_after(change, saw_end, rapid);
            let mut gone = None;
            loop {
                let left = MAX_DELAY.saturating_sub(started.elapsed());
                if left.is_zero() {
                    break;
                }
                match tokio::time::timeout(wait.min(left), w.rx.recv()).await {
                    Ok(Some(Signal::Change(c))) => {
                        saw_end |= c == Change::SaveEnded;
                        wait = wait_after(c, saw_end, rapid);
                    }
                    Ok(Some(Signal::Lost(why))) => {
                        gone = Some(why);
                        break;
                    }
                    Ok(None) => {
                        gone = Some("the watcher stopped".to_owned());
                        break;
                    }
                    Err(_) => break,
                }
            }
            let result = reloader.reload("file changed").await;
            tracing::debug!(?result, "reload after file change");
            last_reload = Some(Instant::now());
            if let Some(why) = gone.or_else(|| w.stale(&path)) {
                break Some(why);
            }
        };
    }
}
