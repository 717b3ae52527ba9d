//! Harness for the daemon's end-to-end tests: a temporary team directory
//! (config, rules, secrets, database), the real `shipgate run` binary on a
//! manual clock with piped stdio, and a tiny HTTP/1.1 client.
//!
//! Everything waits for output with generous timeouts instead of sleeping.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long to wait for anything the daemon should do promptly.
pub const WAIT: Duration = Duration::from_secs(60);

/// Friday 2026-03-13 09:30 in New York (EDT, UTC-4).
pub const FRIDAY_0930_NY: &str = "2026-03-13T13:30:00Z";

/// What goes into a test team directory.
#[derive(Debug, Clone)]
pub struct Setup {
    pub api_token: String,
    pub github_secret: String,
    pub gitlab_token: String,
    pub body_limit: usize,
    /// Fixed seed for the engine's random choices.
    pub seed: Option<u64>,
    /// Configure `on_cut`/`on_release` command actions for `web`.
    pub actions: bool,
    /// A RON `Action` for `web`'s `on_cut`, overriding `actions`.
    pub cut_action: Option<String>,
    /// Post `web`'s messages to Discord: the API base of a fake Discord
    /// (`tests/fake_discord`), channel [`DISCORD_WEB`], bot token
    /// [`DISCORD_TOKEN`].
    pub discord: Option<String>,
    /// RON fields added to `web`'s product entry (e.g. `environments`).
    pub web_extra: String,
    /// RON fields added at the config's top level (e.g. `github_app`).
    pub top_extra: String,
}

/// `web`'s Discord channel when [`Setup::discord`] is set.
pub const DISCORD_WEB: &str = "1200000000000000001";
/// The bot token written for [`Setup::discord`] (the fake's).
pub const DISCORD_TOKEN: &str = "fake-discord-bot-token";

impl Default for Setup {
    fn default() -> Self {
        Self {
            api_token: "tok-e2e-9f1c7a2b5d".to_owned(),
            github_secret: "ghs-e2e-4d8e0b6a31".to_owned(),
            gitlab_token: "glt-e2e-a7c3e91f02".to_owned(),
            body_limit: 4096,
            seed: Some(7),
            actions: false,
            cut_action: None,
            discord: None,
            web_extra: String::new(),
            top_extra: String::new(),
        }
    }
}

impl Setup {
    /// The secret values, for "never shown" checks.
    pub fn secrets(&self) -> Vec<&str> {
        vec![&self.api_token, &self.github_secret, &self.gitlab_token]
    }
}

/// A temporary team directory with a config that uses it.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub setup: Setup,
}

impl TestEnv {
    pub fn new(setup: Setup) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let rules = root.join("rules");
        std::fs::create_dir_all(&rules).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        for entry in std::fs::read_dir(&src).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "rules") {
                std::fs::copy(&p, rules.join(p.file_name().unwrap())).unwrap();
            }
        }
        let secrets = root.join("secrets");
        std::fs::create_dir_all(&secrets).unwrap();
        // `echo secret > file` style: one trailing newline, removed on read.
        std::fs::write(secrets.join("api-token"), format!("{}\n", setup.api_token)).unwrap();
        std::fs::write(secrets.join("github"), format!("{}\n", setup.github_secret)).unwrap();
        std::fs::write(secrets.join("gitlab"), format!("{}\n", setup.gitlab_token)).unwrap();
        let seed = setup
            .seed
            .map(|s| format!("seed: {s},"))
            .unwrap_or_default();
        let custom = setup
            .cut_action
            .as_ref()
            .map(|a| format!("actions: (on_cut: {a}),"));
        let actions = if let Some(custom) = &custom {
            custom.as_str()
        } else if setup.actions {
            r#"actions: (
                on_cut: Command(program: "echo", args: ["cut action ran"], timeout_secs: 30),
                on_release: Command(program: "echo", args: ["release action ran"], timeout_secs: 30),
            ),"#
        } else {
            ""
        };
        std::fs::write(secrets.join("discord"), format!("{DISCORD_TOKEN}\n")).unwrap();
        let (discord, web_channels) = match &setup.discord {
            Some(base) => (
                format!(r#"discord: (token: File("secrets/discord"), api_base: Some("{base}")),"#),
                format!(r#"channels: (discord: "{DISCORD_WEB}"),"#),
            ),
            None => (String::new(), String::new()),
        };
        let config = format!(
            r#"(
    database: "shipgate.db",
    {discord}
    {top_extra}
    rules: "rules",
    prefix: "!sg ",
    {seed}
    console: (person: "ana", product: "web"),
    http: (
        listen: "127.0.0.1:0",
        body_limit: {limit},
        api_token: File("secrets/api-token"),
        github_secret: File("secrets/github"),
        gitlab_token: File("secrets/gitlab"),
    ),
    products: [
        (name: "web", default_branch: "main", repos: ["acme/web"], {web_channels} {actions} {web_extra}),
        (name: "payments", channels: (console: "payments"), repos: ["acme/payments"]),
    ],
    people: [
        (name: "ana", timezone: "America/New_York", git: ["ana@acme.example", "ana-acme"], roles: ["engineer", "lead"]),
        (name: "ben", timezone: "America/New_York", git: ["ben@acme.example", "benk"]),
        (name: "clara", timezone: "Europe/Berlin", git: ["clara@acme.example", "clara-b"], roles: ["engineer", "lead"]),
    ],
)
"#,
            limit = setup.body_limit,
            top_extra = setup.top_extra,
            web_extra = setup.web_extra,
        );
        std::fs::write(root.join("shipgate.ron"), config).unwrap();
        Self { dir, setup }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("shipgate.ron")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("shipgate.db")
    }

    /// Starts the daemon on a manual clock at `clock` (RFC 3339).
    pub fn start(&self, clock: &str) -> Daemon {
        Daemon::start(&self.config_path(), clock).with_token(&self.setup.api_token)
    }
}

/// Lines a child wrote to one pipe, shared with a reader thread.
#[derive(Default)]
pub struct Lines {
    inner: Mutex<(Vec<String>, bool)>,
    cv: Condvar,
}

impl Lines {
    fn spawn_reader(pipe: impl Read + Send + 'static) -> Arc<Self> {
        let lines = Arc::new(Self::default());
        let l2 = lines.clone();
        std::thread::spawn(move || {
            // Lines are published a whole read at a time: the console writes
            // each post (first line plus indented continuation lines) in one
            // write, so a waiter never sees half a post.
            let mut pipe = pipe;
            let mut pending: Vec<u8> = Vec::new();
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                let n = match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                pending.extend_from_slice(&chunk[..n]);
                let Some(end) = pending.iter().rposition(|b| *b == b'\n') else {
                    continue;
                };
                let complete: Vec<u8> = pending.drain(..=end).collect();
                let mut g = l2.inner.lock().unwrap();
                for raw in complete.split(|b| *b == b'\n') {
                    let mut raw = raw;
                    while let [rest @ .., b'\r'] = raw {
                        raw = rest;
                    }
                    g.0.push(String::from_utf8_lossy(raw).into_owned());
                }
                // `split` yields an empty tail after the final newline.
                g.0.pop();
                l2.cv.notify_all();
            }
            if !pending.is_empty() {
                let mut g = l2.inner.lock().unwrap();
                g.0.push(String::from_utf8_lossy(&pending).into_owned());
            }
            let mut g = l2.inner.lock().unwrap();
            g.1 = true;
            l2.cv.notify_all();
        });
        lines
    }

    pub fn snapshot(&self) -> Vec<String> {
        self.inner.lock().unwrap().0.clone()
    }

    /// Waits until `f` finds something in (lines, closed), or times out.
    fn wait<T>(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&[String], bool) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut g = self.inner.lock().unwrap();
        loop {
            if let Some(t) = f(&g.0, g.1) {
                return Some(t);
            }
            if g.1 {
                return None;
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            g = self.cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    fn wait_closed(&self, timeout: Duration) -> bool {
        self.wait(timeout, |_, closed| closed.then_some(()))
            .is_some()
    }
}

/// Groups console output into posts: a line, then its continuation lines
/// (indented by four spaces). Returns (first line index, text).
pub fn posts(lines: &[String]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        match out.last_mut() {
            Some((_, text)) if l.starts_with("    ") => {
                text.push('\n');
                text.push_str(l);
            }
            _ => out.push((i, l.clone())),
        }
    }
    out
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One HTTP/1.1 request with `Connection: close`; `Err` on any I/O error
/// (the crash test expects those).
pub fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(WAIT))?;
    stream.set_write_timeout(Some(WAIT))?;
    stream.set_nodelay(true)?;
    // One write, so the server reads headers and body together.
    stream.write_all(&request_bytes(addr, method, path, headers, body))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("bad HTTP response: {:?}", String::from_utf8_lossy(&raw)),
        )
    })
}

/// A whole HTTP/1.1 request with `Connection: close`, as bytes.
pub fn request_bytes(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn parse_response(raw: &[u8]) -> Option<Resp> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_text = std::str::from_utf8(&rest[..nl]).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        body = out;
    }
    Some(Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// `sha256=HEX` of HMAC-SHA256(secret, body), as GitHub signs deliveries.
pub fn github_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A merged pull request delivery body for `repo` into `main`.
pub fn pr_merged_body(repo: &str, number: u64, login: &str, title: &str) -> Vec<u8> {
    serde_json::json!({
        "action": "closed",
        "number": number,
        "pull_request": {
            "number": number,
            "merged": true,
            "title": title,
            "user": { "login": login },
            "base": { "ref": "main" },
        },
        "repository": { "full_name": repo },
    })
    .to_string()
    .into_bytes()
}

/// Posts a signed GitHub delivery.
pub fn try_github(
    addr: SocketAddr,
    secret: &str,
    event: &str,
    delivery: &str,
    body: &[u8],
) -> std::io::Result<Resp> {
    let sig = github_signature(secret, body);
    try_http(
        addr,
        "POST",
        "/hooks/github",
        &[
            ("Content-Type", "application/json"),
            ("X-GitHub-Event", event),
            ("X-GitHub-Delivery", delivery),
            ("X-Hub-Signature-256", &sig),
        ],
        body,
    )
}

/// The real daemon, running.
pub struct Daemon {
    child: Child,
    stdin: Option<ChildStdin>,
    pub addr: SocketAddr,
    pub stdout: Arc<Lines>,
    pub stderr: Arc<Lines>,
    /// Stdout lines before this index were already matched.
    cursor: usize,
    api_token: Option<String>,
}

/// What a stopped daemon printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

impl Daemon {
    pub fn start(config: &Path, clock: &str) -> Daemon {
        Self::try_start(config, clock).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the daemon and waits for its `listening on` line.
    pub fn try_start(config: &Path, clock: &str) -> Result<Daemon, String> {
        Self::try_start_with(config, clock, &[])
    }

    /// [`Daemon::try_start`] with more `shipgate run` arguments.
    pub fn try_start_with(config: &Path, clock: &str, extra: &[&str]) -> Result<Daemon, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shipgate"))
            .args(["run", "--config"])
            .arg(config)
            .args(["--manual-clock", clock])
            .args(extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start shipgate: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = Lines::spawn_reader(child.stdout.take().unwrap());
        let stderr = Lines::spawn_reader(child.stderr.take().unwrap());
        let addr = stderr.wait(WAIT, |lines, _| {
            lines.iter().find_map(|l| {
                let rest = l.strip_prefix("shipgate: listening on http://")?;
                rest.split(';').next()?.trim().parse::<SocketAddr>().ok()
            })
        });
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "shipgate did not start listening; stderr:\n{}",
                stderr.snapshot().join("\n")
            ));
        };
        Ok(Daemon {
            child,
            stdin,
            addr,
            stdout,
            stderr,
            cursor: 0,
            api_token: None,
        })
    }

    /// Sends the bearer token with [`Daemon::events`].
    pub fn with_token(mut self, token: &str) -> Self {
        self.api_token = Some(token.to_owned());
        self
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Types a line on the console.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for a post (a line and its continuation lines) after the last
    /// matched one that contains `needle`; returns its whole text.
    pub fn expect_stdout(&mut self, needle: &str) -> String {
        self.try_expect_stdout(needle, WAIT).unwrap_or_else(|| {
            panic!(
                "no stdout post containing {needle:?} within {WAIT:?}; stdout since the last match:\n{}\nstderr:\n{}",
                self.stdout.snapshot()[self.cursor.min(self.stdout.snapshot().len())..].join("\n"),
                self.stderr.snapshot().join("\n")
            )
        })
    }

    /// The first stderr (log) line containing `needle`, waiting for it.
    pub fn expect_stderr(&self, needle: &str) -> String {
        self.stderr
            .wait(WAIT, |lines, _| {
                lines.iter().find(|l| l.contains(needle)).cloned()
            })
            .unwrap_or_else(|| {
                panic!(
                    "no log line containing {needle:?} within {WAIT:?}; stderr:\n{}",
                    self.stderr.snapshot().join("\n")
                )
            })
    }

    pub fn try_expect_stdout(&mut self, needle: &str, timeout: Duration) -> Option<String> {
        let from = self.cursor;
        let found = self.stdout.wait(timeout, |lines, _| {
            posts(lines)
                .into_iter()
                .find(|(i, text)| *i >= from && text.contains(needle))
        })?;
        self.cursor = found.0 + 1;
        Some(found.1)
    }

    /// All stdout posts so far that contain `needle`.
    pub fn posts_containing(&self, needle: &str) -> Vec<String> {
        posts(&self.stdout.snapshot())
            .into_iter()
            .map(|(_, t)| t)
            .filter(|t| t.contains(needle))
            .collect()
    }

    pub fn http(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        try_http(self.addr, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub fn get(&self, path: &str) -> Resp {
        self.http("GET", path, &[], b"")
    }

    /// `POST /api/events` with the bearer token.
    pub fn events(&self, body: &str) -> Resp {
        let token = self.api_token.clone().expect("with_token first");
        let auth = format!("Bearer {token}");
        self.http(
            "POST",
            "/api/events",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
    }

    /// `POST /api/events`, expecting 200 and `applied` events.
    pub fn events_ok(&self, body: &str, applied: u64) {
        let r = self.events(body);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["applied"], applied, "{}", r.body);
    }

    /// `POST /-/clock {"now": ...}`; returns once due timers fired.
    pub fn clock_to(&self, rfc3339: &str) {
        self.post_clock(serde_json::json!({ "now": rfc3339 }));
    }

    /// `POST /-/clock {"advance_secs": N}`.
    pub fn clock_advance(&self, secs: i64) {
        self.post_clock(serde_json::json!({ "advance_secs": secs }));
    }

    fn post_clock(&self, body: serde_json::Value) {
        let r = self.http(
            "POST",
            "/-/clock",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }

    pub fn status(&self) -> serde_json::Value {
        let r = self.get("/api/status");
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    pub fn metrics(&self) -> String {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// The value of one sample (`name{labels}` exactly as exposed).
    pub fn metric(&self, sample: &str) -> f64 {
        metric(&self.metrics(), sample)
    }

    /// Sum of `shipgate_events_total` over every kind.
    pub fn events_total(&self) -> f64 {
        self.metrics()
            .lines()
            .filter(|l| l.starts_with("shipgate_events_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// SIGTERM, then wait; asserts exit code 0.
    pub fn stop(mut self) -> Finished {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success(), "kill -TERM failed");
        let status = self.wait_exit(WAIT);
        let f = self.finish(status);
        assert_eq!(
            f.status.code(),
            Some(0),
            "shipgate did not exit 0 on SIGTERM; stderr:\n{}",
            f.stderr.join("\n")
        );
        f
    }

    /// Closes stdin (EOF stops the daemon); waits; asserts exit code 0.
    pub fn close_stdin(mut self) -> Finished {
        drop(self.stdin.take());
        let status = self.wait_exit(WAIT);
        let f = self.finish(status);
        assert_eq!(f.status.code(), Some(0), "stderr:\n{}", f.stderr.join("\n"));
        f
    }

    /// SIGKILL (`kill -9`): no chance to clean up.
    pub fn kill9(mut self) -> Finished {
        let _ = self.child.kill();
        let status = self.wait_exit(WAIT);
        self.finish(status)
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "shipgate did not exit within {timeout:?}; stderr:\n{}",
                    self.stderr.snapshot().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn finish(&mut self, status: ExitStatus) -> Finished {
        drop(self.stdin.take());
        // The pipes close when the process (and any child it ran) is gone.
        self.stdout.wait_closed(Duration::from_secs(10));
        self.stderr.wait_closed(Duration::from_secs(10));
        Finished {
            status,
            stdout: self.stdout.snapshot(),
            stderr: self.stderr.snapshot(),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The value of one sample in a Prometheus text exposition.
pub fn metric(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            let rest = l.strip_prefix(sample)?;
            rest.strip_prefix(' ')?.trim().parse::<f64>().ok()
        })
        .unwrap_or_else(|| panic!("no sample `{sample}` in /metrics:\n{text}"))
}

/// One JSON line of `/api/events`: a merged change.
pub fn merged_line(product: &str, change: &str, author: &str, title: &str) -> String {
    serde_json::json!({ "merged": { "product": product, "change": change, "author": author, "title": title } })
        .to_string()
}

/// One JSON line of `/api/events`: a CI report.
pub fn ci_line(product: &str, rc: u64, status: &str) -> String {
    serde_json::json!({ "ci": { "product": product, "rc": rc, "status": status } }).to_string()
}

/// One JSON line of `/api/events`: a chat message.
pub fn chat_line(product: &str, from: &str, text: &str) -> String {
    serde_json::json!({ "chat": { "product": product, "from": from, "text": text } }).to_string()
}
