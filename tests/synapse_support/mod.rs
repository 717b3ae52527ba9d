//! A real Synapse homeserver for tests: installed from PyPI into a
//! virtualenv under `target/` if missing, configured from scratch with
//! SQLite on 127.0.0.1, started, and stopped on drop.
//!
//! Without Python, tests that need Synapse are skipped with a loud message
//! locally; under CI (`CI` set) they fail instead.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static INSTALL: Mutex<()> = Mutex::new(());

pub const SHARED_SECRET: &str = "shipgate-test-registration-secret";

fn venv_dir() -> PathBuf {
    match std::env::var_os("SHIPGATE_SYNAPSE_VENV") {
        Some(v) => PathBuf::from(v),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/synapse-venv"),
    }
}

fn python() -> PathBuf {
    venv_dir().join("bin/python")
}

fn has_synapse(py: &Path) -> bool {
    Command::new(py)
        .args(["-c", "import synapse"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs Synapse if needed; `Err` says why it cannot be had.
pub fn ensure_installed() -> Result<PathBuf, String> {
    let _guard = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let py = python();
    if has_synapse(&py) {
        return Ok(py);
    }
    let system = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let venv = venv_dir();
    eprintln!(
        "synapse: installing matrix-synapse into {} (about 20 s)",
        venv.display()
    );
    let ok = Command::new(&system)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("cannot run {system}: {e}"))?;
    if !ok.success() {
        return Err(format!("`{system} -m venv` failed"));
    }
    let ok = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "matrix-synapse"])
        .status()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !ok.success() || !has_synapse(&py) {
        return Err("pip install matrix-synapse failed".to_owned());
    }
    Ok(py)
}

/// Synapse, or `None` after a loud skip message when it cannot be had
/// outside CI. Under CI a missing Synapse is a failure.
pub fn start_or_skip(test: &str) -> Option<Synapse> {
    start_or_skip_with(test, &[])
}

/// Like [`start_or_skip`], with top-level keys of `homeserver.yaml` set to
/// other YAML values (replaced if the default config has them, else
/// added), e.g. `("rc_message", "{per_second: 1, burst_count: 2}")`; an
/// empty value removes the key, so Synapse's default applies.
pub fn start_or_skip_with(test: &str, overrides: &[(&str, &str)]) -> Option<Synapse> {
    match ensure_installed() {
        Ok(py) => Some(Synapse::start(py, overrides)),
        Err(why) => {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: Synapse is required in CI but unavailable: {why}");
            }
            eprintln!(
                "\n!!! SKIPPING {test}: no Synapse ({why}). Install Python 3 to run the Matrix tests. !!!\n"
            );
            None
        }
    }
}

pub struct Synapse {
    pub url: String,
    pub port: u16,
    dir: tempfile::TempDir,
    python: PathBuf,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Synapse {
    fn start(python: PathBuf, overrides: &[(&str, &str)]) -> Synapse {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let d = dir.path().display();
        let config = format!(
            r#"server_name: "localhost"
pid_file: "{d}/homeserver.pid"
public_baseurl: "http://127.0.0.1:{port}/"
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{d}/homeserver.db"
media_store_path: "{d}/media"
signing_key_path: "{d}/signing.key"
registration_shared_secret: "{SHARED_SECRET}"
macaroon_secret_key: "shipgate-test-macaroon"
form_secret: "shipgate-test-form"
report_stats: false
enable_registration: false
trusted_key_servers: []
suppress_key_server_warning: true
presence:
  enabled: false
rc_message:
  per_second: 1000
  burst_count: 1000
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_registration:
  per_second: 1000
  burst_count: 1000
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
  remote: {{per_second: 1000, burst_count: 1000}}
rc_invites:
  per_room: {{per_second: 1000, burst_count: 1000}}
  per_user: {{per_second: 1000, burst_count: 1000}}
  per_issuer: {{per_second: 1000, burst_count: 1000}}
rc_key_requests:
  per_second: 1000
  burst_count: 1000
"#
        );
        let config = overrides
            .iter()
            .fold(config, |c, (key, value)| set_top_level(&c, key, value));
        std::fs::write(dir.path().join("homeserver.yaml"), config).unwrap();
        let out = Command::new(&python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(dir.path().join("homeserver.yaml"))
            .arg("--generate-keys")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "synapse --generate-keys failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut s = Synapse {
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir,
            python,
            child: None,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("synapse.log")).unwrap();
        let child = Command::new(&self.python)
            .args(["-m", "synapse.app.homeserver", "-c"])
            .arg(self.dir.path().join("homeserver.yaml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                panic!("synapse exited with {status}:\n{}", self.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                let ok = Command::new("curl")
                    .args(["-sf", &format!("{}/_matrix/client/versions", self.url)])
                    .stdout(Stdio::null())
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(true);
                if ok {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("synapse did not start within 60 s:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("synapse.log")).unwrap_or_default()
    }

    /// Registers a user with the shared secret (not an admin).
    pub fn register(&self, user: &str, password: &str) {
        self.register_as(user, password, false);
    }

    /// Registers a server admin (for the `/_synapse/admin` API).
    pub fn register_admin(&self, user: &str, password: &str) {
        self.register_as(user, password, true);
    }

    fn register_as(&self, user: &str, password: &str, admin: bool) {
        let tool = self.python.with_file_name("register_new_matrix_user");
        let out = Command::new(tool)
            .args([
                "-u",
                user,
                "-p",
                password,
                if admin { "--admin" } else { "--no-admin" },
                "-k",
                SHARED_SECRET,
                &self.url,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "register {user}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Revokes one access token and nothing else (its device and the
    /// device's keys stay): Synapse is stopped, the token's row deleted
    /// from its database, and Synapse started again (its token cache is in
    /// memory). Panics unless exactly one token was deleted.
    pub fn revoke_token(&mut self, token: &str) {
        self.stop();
        let out = Command::new(&self.python)
            .args([
                "-c",
                "import sqlite3, sys\n\
                 c = sqlite3.connect(sys.argv[1])\n\
                 n = c.execute('DELETE FROM access_tokens WHERE token = ?', (sys.argv[2],)).rowcount\n\
                 c.commit()\n\
                 print(n)",
            ])
            .arg(self.dir.path().join("homeserver.db"))
            .arg(token)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "1",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.restart();
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `yaml` with the top-level `key` (and its indented block) replaced by
/// `key: value`, or with it appended if absent.
fn set_top_level(yaml: &str, key: &str, value: &str) -> String {
    let mut out = String::with_capacity(yaml.len() + value.len());
    let mut skipping = false;
    for line in yaml.lines() {
        if line.starts_with(|c: char| !c.is_whitespace()) {
            skipping = line
                .strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(':'));
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    // An empty value removes the key: Synapse's own default applies.
    if !value.is_empty() {
        out.push_str(&format!("{key}: {value}\n"));
    }
    out
}

/// Writes text to a file (for secrets in test configs).
pub fn write(path: &Path, text: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// A client of the homeserver at `url`, logged in as `name` with `password`
/// and synced once: the people of the Matrix tests and benchmarks.
pub async fn logged_in(url: &str, name: &str, password: &str) -> matrix_sdk::Client {
    let client = matrix_sdk::Client::builder()
        .homeserver_url(url)
        .build()
        .await
        .unwrap();
    client
        .matrix_auth()
        .login_username(name, password)
        .send()
        .await
        .unwrap();
    client
        .sync_once(matrix_sdk::config::SyncSettings::default())
        .await
        .unwrap();
    client
}
