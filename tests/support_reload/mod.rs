//! Helpers for `tests/reload.rs`: the daemon's core (shared state, the
//! single writer, the rules watcher) run in-process over a temp directory,
//! rules files told apart by their `production` window, and a sampler that
//! records every rules version that was ever active.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use shipgate::config::Config;
use shipgate::daemon::clock::ManualClock;
use shipgate::daemon::reload::{self, ReloadResult, Reloader, encode_sources, hash_sources};
use shipgate::daemon::shared::{ActiveRules, Shared};
use shipgate::daemon::writer;
use shipgate::ledger::Ledger;
use shipgate::rules::{self, RuleSet, Source};
use shipgate::store::Store;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The rules file's name in the rules directory.
pub const FILE: &str = "x.rules";
/// The id of the rules on disk at start.
pub const INITIAL: u32 = 1300;
/// How long a save may take to become active (the figure).
pub const WITHIN: Duration = Duration::from_secs(2);
/// How long we wait before calling a save lost rather than slow.
pub const LOST: Duration = Duration::from_secs(15);

/// Monday 2026-03-09 00:00 UTC: the day the ids are read from.
pub fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A valid rules file whose `production` window opens `id` minutes after
/// midnight (UTC), Monday to Thursday, until 23:59. Its `test` block checks
/// exactly that, and names both windows, which come after it: every strict
/// prefix of the text shorter by two bytes or more fails to compile, so a
/// half-written file read by the watcher can only be rejected.
pub fn valid(id: u32) -> String {
    assert!((1..1439).contains(&id), "id {id} out of range");
    let (at, before) = (hhmm(id), hhmm(id - 1));
    format!(
        "# save {id}: production opens at {at} UTC\n\
         test \"save {id}\" {{\n    \
             expect production closed at 2026-03-09 {before}\n    \
             expect production open at 2026-03-09 {at}\n    \
             expect candidate open at 2026-03-14 23:30\n\
         }}\n\
         \n\
         window production {{\n    \
             open mon-thu {at}-23:59\n\
         }}\n\
         \n\
         window candidate {{\n    \
             open always\n\
         }}\n"
    )
}

/// Compiles, but its `test` block fails: production opens at `id`, the
/// test expects it open a minute earlier. Activating it would be a bug the
/// window would show.
pub fn failing_test(id: u32) -> String {
    let (at, before) = (hhmm(id), hhmm(id - 1));
    valid(id).replace(
        &format!("expect production closed at 2026-03-09 {before}\n    expect production open at 2026-03-09 {at}"),
        &format!("expect production open at 2026-03-09 {before}"),
    )
}

/// Does not parse.
pub fn syntax_error(id: u32) -> String {
    valid(id).replace("open mon-thu", "opne mon-thu")
}

/// The minute `production` opens on Monday, read back from compiled rules;
/// `None` when the rules are not of the shape [`valid`] writes.
pub fn production_opens(set: &RuleSet) -> Option<u32> {
    let w = set.window(None, "production")?;
    let from = monday();
    let intervals = w.open_intervals(from, from + TimeDelta::days(1));
    match intervals.as_slice() {
        [(a, b)] if *b == from + TimeDelta::minutes(23 * 60 + 59) => {
            u32::try_from((*a - from).num_minutes()).ok()
        }
        _ => None,
    }
}

/// Where the rules file lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `rules/x.rules`, a plain file.
    Plain,
    /// A Kubernetes ConfigMap volume: `rules/..<stamp>/x.rules`,
    /// `rules/..data -> ..<stamp>`, `rules/x.rules -> ..data/x.rules`.
    ConfigMap,
    /// `rules/x.rules -> ../outside/x.rules`: the text can be changed where
    /// the watcher does not look, so any reload would show.
    Outside,
}

/// What the watcher did, from the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub ok: u64,
    pub failed: u64,
}

/// The daemon's core over a temp directory: the writer and the rules
/// watcher run on their own tokio runtime; the test drives the disk from
/// its own thread, as an editor would.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub rules_dir: PathBuf,
    /// The rules path as configured (what the watcher watches).
    pub path: PathBuf,
    pub shared: Arc<Shared>,
    pub reloader: Arc<Reloader>,
    pub db: PathBuf,
    /// Every valid content written, by hash, with its id.
    valid: Mutex<HashMap<String, u32>>,
    configmap_generation: Mutex<u32>,
    token: CancellationToken,
    runtime: Option<tokio::runtime::Runtime>,
    _actions: mpsc::UnboundedReceiver<shipgate::engine::ActionRun>,
}

impl Daemon {
    pub fn start(layout: Layout) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let rules_dir = dir.path().join("rules");
        fs::create_dir(&rules_dir).unwrap();
        let initial = valid(INITIAL);
        match layout {
            Layout::Plain => fs::write(rules_dir.join(FILE), &initial).unwrap(),
            Layout::ConfigMap => {
                configmap_write(&rules_dir, 0, &initial);
                std::os::unix::fs::symlink(format!("..data/{FILE}"), rules_dir.join(FILE)).unwrap();
            }
            Layout::Outside => {
                fs::create_dir(dir.path().join("outside")).unwrap();
                fs::write(dir.path().join("outside").join(FILE), &initial).unwrap();
                std::os::unix::fs::symlink(format!("../outside/{FILE}"), rules_dir.join(FILE))
                    .unwrap();
            }
        }
        let config_path = dir.path().join("shipgate.ron");
        fs::write(
            &config_path,
            format!(
                "(\n  database: \"shipgate.db\",\n  rules: \"rules/{FILE}\",\n  \
                 http: (listen: \"127.0.0.1:0\"),\n  \
                 products: [(name: \"web\"), (name: \"payments\")],\n  \
                 people: [(name: \"ana\", timezone: \"UTC\")],\n)\n"
            ),
        )
        .unwrap();
        let config = Config::load(&config_path).unwrap();
        let path = config.rules.clone().unwrap();
        let db = config.database.clone();
        let now = monday() + TimeDelta::hours(9);
        let clock = ManualClock::new(now);
        let sources = rules::source::read_sources(std::slice::from_ref(&path)).unwrap();
        let hash = hash_sources(&sources);
        let text = encode_sources(&sources);
        let set = rules::compile(sources).unwrap();
        let store = Store::open(&db).unwrap();
        let mut ledger = Ledger::open(store).unwrap();
        ledger.record_rules_version(&hash, &text, now).unwrap();
        let reader = Store::open(&db).unwrap();
        let team = shipgate::team::team_from_config(&config);
        let (intake_tx, intake_rx) = mpsc::channel(256);
        let state = ledger.state().clone();
        let shared = Arc::new(Shared::new(
            config,
            team,
            clock,
            ActiveRules {
                set,
                hash: hash.clone(),
                origin: path.display().to_string(),
            },
            state,
            intake_tx,
            reader,
            Ok(()),
        ));
        let token = CancellationToken::new();
        let (actions_tx, actions_rx) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let reloader = Arc::new(Reloader::new(shared.clone(), path.clone()));
        runtime.spawn(writer::run(
            shared.clone(),
            ledger,
            intake_rx,
            actions_tx,
            token.clone(),
        ));
        runtime.spawn(reload::watch(reloader.clone(), token.clone()));
        let d = Daemon {
            dir,
            rules_dir,
            path,
            shared,
            reloader,
            db,
            valid: Mutex::new(HashMap::from([(hash, INITIAL)])),
            configmap_generation: Mutex::new(0),
            token,
            runtime: Some(runtime),
            _actions: actions_rx,
        };
        d.warm_up(layout);
        d
    }

    /// The watcher starts in the background: save until a save is seen,
    /// so the test's first save is not lost to a watch not yet in place.
    fn warm_up(&self, layout: Layout) {
        for attempt in 0..20 {
            let id = INITIAL + 1 + attempt;
            let text = valid(id);
            let hash = self.expect_valid(id, &text);
            match layout {
                Layout::Plain => fs::write(self.rules_dir.join(FILE), &text).unwrap(),
                Layout::ConfigMap => self.configmap_update(&text),
                Layout::Outside => {
                    self.write_outside(&text);
                    self.relink();
                }
            }
            if self.wait_active(&hash, Duration::from_secs(2)).is_some() {
                return;
            }
        }
        panic!("the rules watcher never saw a save");
    }

    pub fn file(&self) -> PathBuf {
        self.rules_dir.join(FILE)
    }

    /// Registers `text` as a valid save with id `id`; returns its hash.
    pub fn expect_valid(&self, id: u32, text: &str) -> String {
        let hash = self.hash_of(text);
        self.valid.lock().unwrap().insert(hash.clone(), id);
        hash
    }

    /// The version hash the daemon gives this text at the rules path.
    pub fn hash_of(&self, text: &str) -> String {
        hash_sources(&[Source::new(self.path.display().to_string(), text)])
    }

    pub fn active(&self) -> Arc<ActiveRules> {
        self.shared.rules.load_full()
    }

    /// Waits until the rules with `hash` are active; how long that took.
    pub fn wait_active(&self, hash: &str, timeout: Duration) -> Option<Duration> {
        let start = Instant::now();
        loop {
            if self.shared.rules.load().hash == hash {
                return Some(start.elapsed());
            }
            if start.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn counts(&self) -> Counts {
        let text = self.shared.metrics.render(0);
        let read = |label: &str| {
            let prefix = format!("shipgate_rules_reloads_total{{result=\"{label}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(u64::MAX)
        };
        Counts {
            ok: read("ok"),
            failed: read("failed"),
        }
    }

    /// Waits until at least `n` reloads failed in all.
    pub fn wait_failed(&self, n: u64, timeout: Duration) -> bool {
        let start = Instant::now();
        while self.counts().failed < n {
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    /// Waits until the rejection of the rules with this text was announced.
    pub fn wait_rejected(&self, text: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        loop {
            if self.rejections(text) > 0 {
                return true;
            }
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(3));
        }
    }

    /// How many times the rejection of the rules with this text was
    /// announced (once per active version it was rejected over).
    pub fn rejections(&self, text: &str) -> usize {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        conn.query_row(
            "SELECT COUNT(*) FROM events WHERE key LIKE ?1",
            [format!("rules-rejected:{}:over:%", self.hash_of(text))],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| usize::try_from(n).unwrap())
        .unwrap()
    }

    /// Every rules version ever recorded as active, by hash.
    pub fn stored_versions(&self) -> Vec<String> {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        let mut stmt = conn
            .prepare("SELECT hash FROM rules_versions ORDER BY activation")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Checks that `seen` (and every stored version) were valid saves, and
    /// that each compiled set is the one its text describes.
    pub fn check_versions(&self, seen: &[Arc<ActiveRules>]) -> Result<(), String> {
        let valid = self.valid.lock().unwrap().clone();
        for a in seen {
            let Some(id) = valid.get(&a.hash) else {
                let text: Vec<&str> = a.set.sources.iter().map(|s| &*s.text).collect();
                return Err(format!(
                    "rules never saved as valid were active: version {} (production opens at minute {:?}), text {text:?}",
                    a.hash,
                    production_opens(&a.set)
                ));
            };
            let opens = production_opens(&a.set);
            if opens != Some(*id) {
                return Err(format!(
                    "version {} was saved with production opening at minute {id} but the active set opens it at {opens:?}",
                    a.hash
                ));
            }
        }
        for h in self.stored_versions() {
            if !valid.contains_key(&h) {
                return Err(format!(
                    "a version never saved as valid was stored as active: {h}"
                ));
            }
        }
        Ok(())
    }

    /// Writes the rules text where the watcher does not look
    /// ([`Layout::Outside`]).
    pub fn write_outside(&self, text: &str) {
        let outside = self.dir.path().join("outside").join(FILE);
        let tmp = self.dir.path().join("outside").join(".tmp");
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, outside).unwrap();
    }

    /// Replaces the `x.rules` symlink with an identical one
    /// ([`Layout::Outside`]), which the watcher sees.
    pub fn relink(&self) {
        let tmp = self.rules_dir.join(".x.rules.link");
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(format!("../outside/{FILE}"), &tmp).unwrap();
        fs::rename(&tmp, self.file()).unwrap();
    }

    /// A ConfigMap update the way the kubelet makes it: a new timestamped
    /// directory, a `..data_tmp` symlink to it renamed over `..data`, the
    /// old directory removed.
    pub fn configmap_update(&self, text: &str) {
        let mut generation = self.configmap_generation.lock().unwrap();
        let old = stamp(*generation);
        *generation += 1;
        configmap_write(&self.rules_dir, *generation, text);
        fs::remove_dir_all(self.rules_dir.join(old)).unwrap();
    }

    /// Reloads now, as `SIGHUP` and `POST /-/reload` do.
    pub fn reload_now(&self) -> ReloadResult {
        let rt = self.runtime.as_ref().unwrap();
        rt.block_on(self.reloader.reload("asked by the test"))
    }

    /// Starts a reload, as `SIGHUP` does, without waiting for it.
    pub fn reload_in_background(&self) -> std::thread::JoinHandle<ReloadResult> {
        let handle = self.runtime.as_ref().unwrap().handle().clone();
        let reloader = self.reloader.clone();
        std::thread::spawn(move || handle.block_on(reloader.reload("asked by the test")))
    }

    /// Makes the daemon believe other rules are active: the same compiled
    /// set under a version no file has. Any reload then loads the file, so
    /// a reload that should not happen shows (the active rules change).
    pub fn tripwire(&self) -> Arc<ActiveRules> {
        let now = self.active();
        let fake = Arc::new(ActiveRules {
            set: now.set.clone(),
            hash: "tripwire".to_owned(),
            origin: now.origin.clone(),
        });
        self.shared.set_rules(fake.clone());
        fake
    }

    /// The watcher's problems, as `/readyz` reports them.
    pub fn degraded(&self) -> Vec<String> {
        self.shared.degraded.problems()
    }

    /// Waits until `cond` holds; whether it did within `timeout`.
    pub fn wait_until(&self, timeout: Duration, cond: impl Fn(&Daemon) -> bool) -> bool {
        let start = Instant::now();
        while !cond(self) {
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Reloads now and says how it went. The reloader holds its lock until
    /// a reload is fully done (metrics, announcement), so this also waits
    /// for any reload in progress.
    pub fn settle(&self) -> &'static str {
        match self.reload_now() {
            ReloadResult::Unchanged { .. } => "unchanged",
            ReloadResult::Loaded { .. } => "loaded",
            ReloadResult::Rejected { .. } => "rejected",
        }
    }

    pub fn stop(mut self) {
        self.token.cancel();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.token.cancel();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn stamp(generation: u32) -> String {
    format!(
        "..2026_03_09_09_{:02}_{:02}.{generation:09}",
        generation / 60 % 60,
        generation % 60
    )
}

/// Writes generation `generation` of a ConfigMap volume and points `..data`
/// at it.
fn configmap_write(rules_dir: &Path, generation: u32, text: &str) {
    let name = stamp(generation);
    let dir = rules_dir.join(&name);
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join(FILE), text).unwrap();
    let tmp = rules_dir.join("..data_tmp");
    std::os::unix::fs::symlink(&name, &tmp).unwrap();
    fs::rename(&tmp, rules_dir.join("..data")).unwrap();
}

/// Records every rules version that becomes active, from a thread of its
/// own, until finished.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Vec<Arc<ActiveRules>>>,
}

impl Sampler {
    pub fn start(shared: Arc<Shared>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut seen = vec![shared.rules.load_full()];
            while !flag.load(Ordering::Relaxed) {
                let now = shared.rules.load_full();
                if seen.last().is_none_or(|l| !Arc::ptr_eq(l, &now)) {
                    seen.push(now);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            seen
        });
        Sampler { stop, handle }
    }

    /// Every version seen, in order.
    pub fn finish(self) -> Vec<Arc<ActiveRules>> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

/// Activation latencies of one run.
#[derive(Debug, Default)]
pub struct Latencies(pub Vec<Duration>);

impl Latencies {
    /// The `pct`th percentile (nearest rank).
    pub fn percentile(&self, pct: usize) -> Duration {
        let mut v = self.0.clone();
        v.sort_unstable();
        match v.len() {
            0 => Duration::ZERO,
            n => v[((n - 1) * pct.min(100)).div_ceil(100)],
        }
    }

    pub fn summary(&self) -> String {
        format!(
            "n={} p50={:?} p95={:?} max={:?}",
            self.0.len(),
            self.percentile(50),
            self.percentile(95),
            self.percentile(100)
        )
    }
}
