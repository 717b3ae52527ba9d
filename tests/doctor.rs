//! `shipgate doctor --config C`: the real binary against the real things
//! it checks: a Synapse (`tests/synapse_support`), the fake Discord
//! (`tests/fake_discord`), the fake forges (`tests/fake_forge`), a real
//! database file and a real socket. Good set-ups exit 0 with `all good`;
//! each kind of broken one exits 1 with a `FAIL` line and its fix.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fake_discord;
mod fake_forge;
mod support;
mod synapse_support;

use std::path::Path;
use std::process::Command;

use fake_discord::FakeDiscord;
use fake_forge::{FakeForge, GITHUB_TOKEN};
use serde_json::{Value, json};
use support::{DISCORD_WEB, Setup, TestEnv};

/// Runs `shipgate doctor`; (exit code, stdout).
fn doctor(config: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shipgate"))
        .args(["doctor", "--config"])
        .arg(config)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim().is_empty(), "doctor wrote to stderr: {stderr}");
    (out.status.code().unwrap(), stdout)
}

/// The `FAIL` lines with their fixes.
fn failures(out: &str) -> Vec<String> {
    let lines: Vec<&str> = out.lines().collect();
    let mut fails = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("FAIL") {
            let fix = lines.get(i + 1).copied().unwrap_or("");
            fails.push(format!("{l}\n{fix}"));
        }
    }
    fails
}

fn edit(config: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains(from), "{from:?} not in the config");
    std::fs::write(config, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn a_good_console_setup_is_all_good_and_says_what_is_off() {
    let env = TestEnv::new(Setup::default());
    let (code, out) = doctor(&env.config_path());
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("all good\n"), "{out}");
    assert!(out.contains("ok    rules: "), "{out}");
    assert!(out.contains("does not exist yet"), "{out}");
    assert!(out.contains("ok    secret: `http.github_secret`"), "{out}");
    assert!(out.contains("off   matrix: not configured"), "{out}");
    assert!(out.contains("off   discord: not configured"), "{out}");
    assert!(
        out.contains("off   reconcile: no forge is configured"),
        "{out}"
    );
    for s in env.setup.secrets() {
        assert!(!out.contains(s), "a secret value was printed: {out}");
    }
}

#[test]
fn a_bad_config_fails_with_its_messages() {
    let env = TestEnv::new(Setup::default());
    edit(
        &env.config_path(),
        "timezone: \"Europe/Berlin\"",
        "timezone: \"Europe/Berlinn\"",
    );
    let (code, out) = doctor(&env.config_path());
    assert_eq!(code, 1, "{out}");
    let f = failures(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert!(f[0].contains("FAIL  config: "), "{out}");
    assert!(out.contains("Europe/Berlinn"), "{out}");
    assert!(out.contains("\n      fix: correct the config"), "{out}");
}

#[test]
fn rules_that_disagree_with_the_config_fail() {
    let env = TestEnv::new(Setup::default());
    edit(
        &env.config_path(),
        "(name: \"payments\",",
        "(name: \"payments\", rules_product: \"paymints\",",
    );
    let (code, out) = doctor(&env.config_path());
    assert_eq!(code, 1, "{out}");
    assert!(
        failures(&out)
            .iter()
            .any(|f| f.contains("rules: ") && f.contains("paymints")),
        "{out}"
    );
}

#[test]
fn an_address_in_use_fails_with_a_fix() {
    let env = TestEnv::new(Setup::default());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    edit(
        &env.config_path(),
        "listen: \"127.0.0.1:0\"",
        &format!("listen: \"{addr}\""),
    );
    let (code, out) = doctor(&env.config_path());
    assert_eq!(code, 1, "{out}");
    let f = failures(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert!(
        f[0].contains(&format!("FAIL  http: cannot listen on {addr}")),
        "{out}"
    );
    assert!(f[0].contains("fix: stop what listens there"), "{out}");
}

#[test]
fn a_corrupt_database_and_a_missing_secret_fail() {
    let env = TestEnv::new(Setup::default());
    std::fs::write(env.db_path(), vec![0x42; 8192]).unwrap();
    std::fs::remove_file(env.dir.path().join("secrets/gitlab")).unwrap();
    let (code, out) = doctor(&env.config_path());
    assert_eq!(code, 1, "{out}");
    let f = failures(&out);
    assert!(f.iter().any(|l| l.contains("FAIL  database: ")), "{out}");
    assert!(
        f.iter()
            .any(|l| l.contains("FAIL  secret: `http.gitlab_token`") && l.contains("fix: set file")),
        "{out}"
    );
}

#[test]
fn forge_tokens_are_checked_for_reconciliation() {
    let forge = FakeForge::start();
    forge.github_repo("acme/web");
    let env = TestEnv::new(Setup::default());
    std::fs::write(env.dir.path().join("secrets/github-api"), GITHUB_TOKEN).unwrap();
    let base = forge.base();
    edit(
        &env.config_path(),
        "products: [",
        &format!(
            "reconcile: (github: (token: File(\"secrets/github-api\"), api_base: \"{base}\", repos: [\"acme/web\"])),\n    products: ["
        ),
    );
    let (code, out) = doctor(&env.config_path());
    // acme/payments is on no configured forge: said, not failed.
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ok    reconcile: github token can read acme/web"),
        "{out}"
    );
    assert!(
        out.contains("off   reconcile: acme/payments: no forge in `reconcile` lists it"),
        "{out}"
    );

    std::fs::write(env.dir.path().join("secrets/github-api"), "gh-bad-token").unwrap();
    let (code, out) = doctor(&env.config_path());
    assert_eq!(code, 1, "{out}");
    let f = failures(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert!(
        f[0].contains("github refused the token for acme/web (HTTP 401)"),
        "{out}"
    );
    assert!(!out.contains("gh-bad-token"), "{out}");
}

/// Registers the slash command as shipgate does at start.
async fn register_slash(fake: &FakeDiscord) {
    let r = reqwest::Client::new()
        .put(format!(
            "{}/api/v10/applications/{}/guilds/{}/commands",
            fake.base,
            fake_discord::APP_ID,
            fake_discord::GUILD_ID
        ))
        .header("Authorization", format!("Bot {}", fake_discord::TOKEN))
        .json(&json!([{"name": "sg", "description": "shipgate", "type": 1}]))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

fn discord_env(fake: &FakeDiscord) -> TestEnv {
    TestEnv::new(Setup {
        discord: Some(fake.base.clone()),
        ..Setup::default()
    })
}

async fn doctor_async(config: &Path) -> (i32, String) {
    let config = config.to_path_buf();
    tokio::task::spawn_blocking(move || doctor(&config))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_good_and_each_kind_of_broken() {
    let fake = FakeDiscord::start(&[DISCORD_WEB]).await;
    let env = discord_env(&fake);

    // Not yet registered: shipgate never ran.
    let (code, out) = doctor_async(&env.config_path()).await;
    assert_eq!(code, 1, "{out}");
    let f = failures(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert!(
        f[0].contains("slash command /sg is not registered"),
        "{out}"
    );

    register_slash(&fake).await;
    let (code, out) = doctor_async(&env.config_path()).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ok    discord: the token is valid: bot shipgate"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "ok    discord: web: may read and send in {DISCORD_WEB}"
        )),
        "{out}"
    );
    assert!(
        out.contains("ok    discord: slash command /sg is registered"),
        "{out}"
    );

    // A missing permission.
    fake.deny(DISCORD_WEB, 1 << 11);
    let (code, out) = doctor_async(&env.config_path()).await;
    assert_eq!(code, 1, "{out}");
    let f = failures(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert!(f[0].contains("the bot lacks Send Messages"), "{out}");
    assert!(
        f[0].contains("fix: give the bot's role Send Messages"),
        "{out}"
    );
    fake.deny(DISCORD_WEB, 0);

    // A channel that does not exist (or is not shown to the bot).
    edit(&env.config_path(), DISCORD_WEB, "1200000000000000999");
    let (code, out) = doctor_async(&env.config_path()).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        failures(&out)[0].contains("the bot cannot see channel 1200000000000000999 (HTTP 404)"),
        "{out}"
    );
    edit(&env.config_path(), "1200000000000000999", DISCORD_WEB);

    // Out of the guild.
    fake.leave_guild();
    let (code, out) = doctor_async(&env.config_path()).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        failures(&out)[0].contains("fix: invite the bot to the server"),
        "{out}"
    );

    // A bad token: nothing else about Discord can be checked.
    std::fs::write(env.dir.path().join("secrets/discord"), "not-the-token\n").unwrap();
    let (code, out) = doctor_async(&env.config_path()).await;
    assert_eq!(code, 1, "{out}");
    let f = failures(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert!(
        f[0].contains("discord: the bot token is refused (HTTP 401)"),
        "{out}"
    );
    assert!(!out.contains("not-the-token"), "{out}");
}

const PW: &str = "correct horse battery staple";

async fn matrix_post(url: &str, token: Option<&str>, path: &str, body: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

async fn matrix_put(url: &str, token: &str, path: &str, body: Value) {
    let r = reqwest::Client::new()
        .put(format!("{url}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

async fn login(url: &str, user: &str) -> String {
    let v = matrix_post(
        url,
        None,
        "/_matrix/client/v3/login",
        json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": PW}),
    )
    .await;
    v["access_token"].as_str().unwrap().to_owned()
}

fn enc(s: &str) -> String {
    s.replace('!', "%21").replace(':', "%3A")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_good_and_each_kind_of_broken() {
    let Some(syn) = tokio::task::spawn_blocking(|| synapse_support::start_or_skip("doctor matrix"))
        .await
        .unwrap()
    else {
        return;
    };
    let url = syn.url.clone();
    syn.register("shipgate", PW);
    syn.register("ana", PW);
    let bot = login(&url, "shipgate").await;
    let ana = login(&url, "ana").await;
    let room = matrix_post(
        &url,
        Some(&ana),
        "/_matrix/client/v3/createRoom",
        json!({"preset": "private_chat", "invite": ["@shipgate:localhost"]}),
    )
    .await["room_id"]
        .as_str()
        .unwrap()
        .to_owned();
    matrix_post(
        &url,
        Some(&bot),
        &format!("/_matrix/client/v3/join/{}", enc(&room)),
        json!({}),
    )
    .await;
    let other = matrix_post(
        &url,
        Some(&ana),
        "/_matrix/client/v3/createRoom",
        json!({"preset": "private_chat"}),
    )
    .await["room_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let env = TestEnv::new(Setup::default());
    std::fs::write(env.dir.path().join("secrets/matrix"), format!("{bot}\n")).unwrap();
    edit(
        &env.config_path(),
        "products: [",
        &format!(
            "matrix: (homeserver: \"{url}\", user: \"shipgate\", access_token: File(\"secrets/matrix\")),\n    products: ["
        ),
    );
    edit(
        &env.config_path(),
        "repos: [\"acme/web\"],",
        &format!("repos: [\"acme/web\"], channels: (matrix: \"{room}\"),"),
    );
    let (code, out) = doctor_async(&env.config_path()).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("ok    matrix: homeserver {url} answers")),
        "{out}"
    );
    assert!(
        out.contains("ok    matrix: the token is valid: @shipgate:"),
        "{out}"
    );
    assert!(
        out.contains(&format!("ok    matrix: web: joined to {room}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("ok    matrix: web: may send in {room}")),
        "{out}"
    );
    assert!(out.contains("off   matrix: no store yet"), "{out}");

    // Not allowed to send: messages need power 50.
    let pl_path = format!(
        "/_matrix/client/v3/rooms/{}/state/m.room.power_levels/",
        enc(&room)
    );
    let pl: Value = reqwest::Client::new()
        .get(format!("{url}{pl_path}"))
        .bearer_auth(&ana)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut raised = pl.clone();
    raised["events_default"] = json!(50);
    raised["events"]["m.room.message"] = json!(50);
    matrix_put(&url, &ana, &pl_path, raised).await;
    let (code, out) = doctor_async(&env.config_path()).await;
    assert_eq!(code, 1, "{out}");
    let f = failures(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert!(f[0].contains("power level is too low to send"), "{out}");
    matrix_put(&url, &ana, &pl_path, pl).await;

    // Not joined.
    edit(&env.config_path(), &room, &other);
    let (code, out) = doctor_async(&env.config_path()).await;
    assert_eq!(code, 1, "{out}");
    let f = failures(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert!(f[0].contains(&format!("is not joined to {other}")), "{out}");
    assert!(f[0].contains("fix: invite @shipgate:"), "{out}");
    edit(&env.config_path(), &other, &room);

    // A revoked token.
    matrix_post(&url, Some(&bot), "/_matrix/client/v3/logout", json!({})).await;
    let (code, out) = doctor_async(&env.config_path()).await;
    assert_eq!(code, 1, "{out}");
    let f = failures(&out);
    assert_eq!(f.len(), 1, "{out}");
    assert!(
        f[0].contains("matrix: the homeserver refuses the access token (M_UNKNOWN_TOKEN)"),
        "{out}"
    );
    assert!(!out.contains(&bot), "{out}");

    // An unreachable homeserver.
    drop(syn);
    let (code, out) = doctor_async(&env.config_path()).await;
    assert_eq!(code, 1, "{out}");
    assert!(failures(&out)[0].contains("is unreachable"), "{out}");
}
