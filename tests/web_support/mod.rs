//! A tiny WebDriver client for headless Chromium through Debian's
//! `chromedriver`: enough to open a page, run a script, resize and take a
//! screenshot. A missing Chromium fails the test with how to install it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use std::io::{Read, Write};
use std::net::TcpStream;

/// A WebDriver answer: status and body.
struct Resp {
    status: u16,
    body: String,
}

/// One request to chromedriver, which keeps connections open: the body is
/// read by its `Content-Length`.
fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes)?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 65536];
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_string();
            let status: u16 = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad("no status"))?;
            let len: usize = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
            while raw.len() < end + 4 + len {
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(bad("closed early"));
                }
                raw.extend_from_slice(&chunk[..n]);
            }
            return Ok(Resp {
                status,
                body: String::from_utf8_lossy(&raw[end + 4..end + 4 + len]).into_owned(),
            });
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(bad("closed before the headers"));
        }
        raw.extend_from_slice(&chunk[..n]);
    }
}

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium `width` x `height`.
    pub fn start(width: u32, height: u32) -> Browser {
        for p in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(p).exists(),
                "{p} is missing: the browser tests need Debian's Chromium; \
                 install it with `apt-get install -y chromium chromium-driver` (.ci/run does)"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = try_http(addr, "GET", "/status", &[], b"")
                && r.status == 200
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={},{height}", width.max(800)),
                ],
                // A phone-sized viewport (a desktop window cannot be made
                // narrower than about 500 px).
                "mobileEmulation": { "deviceMetrics": {
                    "width": width, "height": height, "pixelRatio": 2.0, "mobile": width < 500,
                }},
            }
        }}});
        let mut b = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"].as_str().expect("a session id").to_owned();
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let r = try_http(
            self.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&r.body).map_err(|e| format!("{e}: {}", r.body))?;
        if r.status != 200 {
            return Err(format!("{} {}", r.status, v["value"]));
        }
        Ok(v["value"].clone())
    }

    fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub fn open(&self, url: &str) {
        self.call("POST", &self.path("/url"), Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `return` a value) in the page.
    pub fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.path("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    pub fn try_eval(&self, script: &str) -> Result<Value, String> {
        self.try_call(
            "POST",
            &self.path("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// The text of an open alert, if one is open.
    pub fn alert_text(&self) -> Option<String> {
        self.try_call("GET", &self.path("/alert/text"), None)
            .ok()
            .map(|v| v.to_string())
    }

    /// Waits until `script` returns true.
    pub fn wait_for(&self, script: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.eval(script) == Value::Bool(true) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Saves a PNG screenshot as `target/web-screenshots/NAME.png`.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let v = self.call("GET", &self.path("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        assert_eq!(&png[..4], b"\x89PNG");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/web-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.try_call("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
