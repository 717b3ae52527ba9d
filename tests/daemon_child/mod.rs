//! The real shipgate daemon as a child process, for the chat-adapter tests
//! (Discord against the fake, Matrix against Synapse): start it on a
//! config and a manual clock, feed it events over HTTP, move its clock,
//! crash it or stop it, and read its log.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The shipgate daemon, as a child process.
pub struct Shipgate {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub http: String,
    api_token: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Shipgate {
    /// Starts `shipgate run --config CONFIG --manual-clock CLOCK` and waits
    /// (up to `timeout`) until it listens and its chat adapters are
    /// connected. `api_token` is the bearer token
    /// the config names, for `events`.
    pub fn start(config: &Path, clock: &str, api_token: &str, timeout: Duration) -> Shipgate {
        Self::try_start(config, clock, api_token, timeout).unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`Shipgate::start`], but a daemon that exits before its chat
    /// adapters connect is an `Err` with its exit status and log.
    pub fn try_start(
        config: &Path,
        clock: &str,
        api_token: &str,
        timeout: Duration,
    ) -> Result<Shipgate, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shipgate"))
            .args(["run", "--config"])
            .arg(config)
            .args(["--manual-clock", clock])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                l2.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + timeout;
        let http = loop {
            // Listening comes first; the chat adapters connect after.
            let seen = lines.lock().unwrap().clone();
            if let Some(addr) = seen.iter().find_map(|l| {
                l.split("listening on http://")
                    .nth(1)
                    .map(|a| a.split(';').next().unwrap_or("").trim().to_owned())
            }) && seen
                .iter()
                .any(|l| l.contains("shipgate: chat adapters connected"))
            {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                // Let the reader take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return Err(format!(
                    "shipgate exited with {status}:\n{}",
                    lines.lock().unwrap().join("\n")
                ));
            }
            assert!(
                Instant::now() < deadline,
                "shipgate did not start:\n{}",
                lines.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Ok(Shipgate {
            child,
            http: format!("http://{http}"),
            api_token: api_token.to_owned(),
            stderr: lines,
        })
    }

    /// Posts `body` (simulate-format lines) to `/api/events`; asserts 2xx.
    pub async fn events(&self, body: &str) {
        let r = self.try_events(body, None).await.unwrap();
        assert!(r.is_success(), "api/events: {r}");
    }

    /// Posts `body` to `/api/events`, with an `Idempotency-Key` if given;
    /// the status, or the transport error (e.g. the daemon is gone).
    pub async fn try_events(
        &self,
        body: &str,
        key: Option<&str>,
    ) -> Result<reqwest::StatusCode, reqwest::Error> {
        let mut req = reqwest::Client::new()
            .post(format!("{}/api/events", self.http))
            .bearer_auth(&self.api_token)
            .body(body.to_owned());
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        Ok(req.send().await?.status())
    }

    /// `GET /readyz`: the status and the body.
    pub async fn readyz(&self) -> (u16, String) {
        let r = reqwest::get(format!("{}/readyz", self.http)).await.unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    /// Waits (up to a minute) until `/readyz` answers `status`; its body.
    pub async fn wait_readyz(&self, status: u16) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (s, body) = self.readyz().await;
            if s == status {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "/readyz is still {s} ({body}), not {status}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Moves the manual clock.
    pub async fn clock(&self, now: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/-/clock", self.http))
            .body(format!("{{\"now\": \"{now}\"}}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "clock: {}", r.status());
    }

    /// A Prometheus gauge or counter from `/metrics` (0 when absent).
    pub async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.http))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(' ')?;
                (k == name).then(|| v.trim().parse().ok()).flatten()
            })
            .unwrap_or(0.0)
    }

    /// SIGKILL: a crash.
    /// The daemon's resident memory (VmRSS), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits (up to 30 s) until the log has a line containing `needle`.
    pub async fn wait_log(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.log().contains(needle) {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    /// Everything the daemon logged so far.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// SIGTERM; the daemon (and its chat connections) must stop cleanly
    /// within 20 s and exit 0.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "shipgate did not stop on SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        if std::env::var_os("SHOW_DAEMON_LOG").is_some() {
            eprintln!("{}", self.log());
        }
        assert!(
            status.success(),
            "shipgate exited with {status}:\n{}",
            self.log()
        );
    }
}

impl Drop for Shipgate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
