//! Loading, defaults, secrets and lookups.

use std::path::{Path, PathBuf};

use super::*;

fn parse(text: &str) -> Config {
    match Config::from_str(text, Path::new("/etc/shipgate/shipgate.ron")) {
        Ok(c) => c,
        Err(e) => panic!("config should load, got:\n{e}"),
    }
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/shipgate.ron")
}

#[test]
fn loads_the_example() {
    let config = match Config::load(&example_path()) {
        Ok(c) => c,
        Err(e) => panic!("examples/shipgate.ron should load:\n{e}"),
    };
    let dir = example_path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    assert_eq!(config.path, example_path());
    assert_eq!(config.database, dir.join("shipgate.db"));
    // The example runs on the embedded default rules (the README's "run").
    assert_eq!(config.rules, None);
    assert_eq!(config.prefix, "!sg ");
    assert_eq!(config.http.listen, "127.0.0.1:8080");
    assert!(config.discord.is_none() && config.matrix.is_none());
    let names: Vec<&str> = config.products.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["web", "payments"]);
    assert_eq!(config.people.len(), 4);
    let zones: Vec<&str> = config.people.iter().map(|p| p.timezone.name()).collect();
    for zone in ["America/New_York", "Europe/Berlin", "Asia/Kolkata"] {
        assert!(zones.contains(&zone), "no one in {zone}");
    }
    assert!(
        config
            .people
            .iter()
            .any(|p| p.roles.iter().any(|r| r == "lead"))
    );
    let console = config
        .console
        .as_ref()
        .map(|c| (c.person.as_str(), c.product.as_str()));
    assert_eq!(console, Some(("ana", "web")));
    // The example's API token file resolves, relative to the config.
    let on_disk = std::fs::read_to_string(dir.join("secrets/api-token")).unwrap_or_default();
    let token = config.http.api_token.as_ref().map(|s| config.resolve(s));
    assert!(
        matches!(token, Some(Ok(ref t)) if !t.expose().is_empty() && t.expose() == on_disk.trim_end()),
        "{token:?}"
    );
}

#[test]
fn defaults_fill_everything_left_out() {
    let c = parse(
        r#"(
            products: [(name: "web")],
            people: [(name: "ana", timezone: "UTC")],
        )"#,
    );
    assert_eq!(c.database, PathBuf::from("/etc/shipgate/shipgate.db"));
    assert_eq!(c.rules, None);
    assert_eq!(c.prefix, DEFAULT_PREFIX);
    assert_eq!(c.seed, None);
    assert_eq!(c.console, None);
    assert_eq!(c.http, HttpConfig::default());
    assert_eq!(c.http.listen, "127.0.0.1:8080");
    assert_eq!(c.http.body_limit, 1024 * 1024);
    assert_eq!(c.http.api_token, None);
    assert!(c.discord.is_none() && c.matrix.is_none());
    let web = &c.products[0];
    assert_eq!(web.default_branch, "main");
    assert_eq!(web.channels, AdapterIds::default());
    assert_eq!(web.rules_product, None);
    assert_eq!(web.rules_name(), "web");
    assert!(web.repos.is_empty());
    assert_eq!(web.actions, Actions::default());
    let ana = &c.people[0];
    assert_eq!(ana.roles, ["engineer"]);
    assert_eq!(ana.timezone, chrono_tz::UTC);
    assert_eq!(ana.chat, AdapterIds::default());
    assert!(ana.git.is_empty());
}

#[test]
fn defaults_inside_sections_and_relative_paths() {
    let c = parse(
        r#"Config(
            database: "data/sg.db",
            rules: Some("rules"),
            seed: 42,
            products: [(
                name: "web",
                actions: (
                    on_cut: Command(program: "make"),
                    on_release: Http(url: "https://ci.example/hook"),
                ),
            )],
            http: (listen: "[::1]:9000"),
            matrix: (
                homeserver: "http://127.0.0.1:8008",
                user: "@shipgate:localhost",
                password: Env("SHIPGATE_MATRIX_PASSWORD"),
            ),
            discord: (token: File("/run/secrets/discord"), api_base: "http://127.0.0.1:3001"),
        )"#,
    );
    assert_eq!(c.database, PathBuf::from("/etc/shipgate/data/sg.db"));
    assert_eq!(c.rules, Some(PathBuf::from("/etc/shipgate/rules")));
    assert_eq!(c.seed, Some(42));
    assert_eq!(c.http.listen, "[::1]:9000");
    assert_eq!(c.http.body_limit, DEFAULT_BODY_LIMIT);
    let actions = &c.products[0].actions;
    assert_eq!(
        actions.on_cut,
        Some(Action::Command {
            program: "make".into(),
            args: vec![],
            timeout_secs: 600
        })
    );
    assert_eq!(
        actions.on_release.as_ref().map(Action::timeout_secs),
        Some(600)
    );
    let m = c.matrix.as_ref();
    assert_eq!(m.map(|m| m.device_name.as_str()), Some("shipgate"));
    assert_eq!(m.and_then(|m| m.store_dir.clone()), None);
    assert_eq!(
        c.matrix_store_dir(),
        Some(PathBuf::from("/etc/shipgate/data/matrix-store"))
    );
    let d = c.discord.as_ref();
    assert_eq!(
        d.and_then(|d| d.api_base.as_deref()),
        Some("http://127.0.0.1:3001")
    );
    let secrets: Vec<String> = c.secrets().into_iter().map(|(w, _)| w).collect();
    assert_eq!(secrets, ["discord.token", "matrix.password"]);
}

#[test]
fn env_secrets_resolve_and_stay_out_of_debug() {
    // Cargo sets CARGO_PKG_NAME for the test process (set_var is unsafe).
    let secret = Secret::Env("CARGO_PKG_NAME".into());
    let value = secret.resolve(Path::new("/nowhere"));
    assert!(matches!(&value, Ok(v) if v == env!("CARGO_PKG_NAME")));
    let wrapped = secret.resolve_secret(Path::new("/nowhere"));
    let shown = format!("{wrapped:?}");
    assert!(shown.contains("SecretString(***)"), "{shown}");
    assert!(!shown.contains(env!("CARGO_PKG_NAME")), "{shown}");
    assert_eq!(secret.to_string(), "environment variable `CARGO_PKG_NAME`");

    let unset = Secret::Env("SHIPGATE_TEST_CERTAINLY_UNSET_3141".into());
    let err = unset.resolve(Path::new("/")).map_err(|e| e.to_string());
    assert_eq!(
        err,
        Err("cannot use the secret in environment variable \
             `SHIPGATE_TEST_CERTAINLY_UNSET_3141`: the environment variable is not set"
            .to_owned())
    );
}

#[test]
fn file_secrets_resolve_relative_to_the_config() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let write = |name: &str, body: &str| {
        if let Err(e) = std::fs::write(dir.path().join(name), body) {
            panic!("write {name}: {e}");
        }
    };
    write("lf", "hunter2\n");
    write("crlf", "hunter3\r\n");
    write("bare", "hunter4");
    write("empty", "\n");
    let cases = [
        ("lf", Ok("hunter2")),
        ("crlf", Ok("hunter3")),
        ("bare", Ok("hunter4")),
        ("empty", Err("it is empty")),
        ("missing", Err("cannot read it")),
    ];
    for (file, want) in cases {
        let secret = Secret::File(PathBuf::from(file));
        let got = secret.resolve(dir.path());
        match (want, &got) {
            (Ok(w), Ok(v)) => assert_eq!(v, w, "{file}"),
            (Err(w), Err(e)) => {
                let msg = e.to_string();
                assert!(msg.contains(w) && msg.contains(file), "{file}: {msg}");
                assert!(!format!("{e:?}").contains("hunter"), "{file}");
            }
            (want, got) => panic!("{file}: wanted {want:?}, got {got:?}"),
        }
    }
    // Through a config whose directory holds the file.
    let text = r#"(products: [(name: "web")], http: (github_secret: File("lf")))"#;
    let path = dir.path().join("shipgate.ron");
    let config = match Config::from_str(text, &path) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let resolved = config
        .http
        .github_secret
        .as_ref()
        .map(|s| config.resolve(s));
    assert!(matches!(resolved, Some(Ok(ref v)) if v.expose() == "hunter2"));
    let debug = format!("{config:?} {resolved:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
}

const TEAM: &str = r#"(
    products: [
        (name: "web", channels: (discord: "100", matrix: "!web:example.org"), repos: ["acme/web"]),
        (name: "payments", channels: (console: "pay"), repos: ["Acme/Payments"]),
    ],
    people: [
        (name: "Ana", timezone: "America/New_York", git: ["Ana@Acme.Example", "ana-gh"],
         chat: (discord: "200", matrix: "@ana:example.org")),
        (name: "clara", timezone: "Europe/Berlin", chat: (console: "cb"), roles: ["lead"]),
    ],
)"#;

#[test]
fn lookups() {
    let c = parse(TEAM);
    let person = |p: Option<&Person>| p.map(|p| p.name.clone());
    let product = |p: Option<&Product>| p.map(|p| p.name.clone());
    let ana = Some("Ana".to_owned());
    let clara = Some("clara".to_owned());
    assert_eq!(person(c.person("ana")), ana);
    assert_eq!(person(c.person("nobody")), None);
    assert_eq!(person(c.person_by_git("ana@acme.example")), ana);
    assert_eq!(person(c.person_by_git("ANA@ACME.EXAMPLE")), ana);
    assert_eq!(person(c.person_by_git("Ana-GH")), ana);
    assert_eq!(person(c.person_by_git("clara@acme.example")), None);
    assert_eq!(person(c.person_by_chat(Adapter::Discord, "200")), ana);
    assert_eq!(
        person(c.person_by_chat(Adapter::Matrix, "@ana:example.org")),
        ana
    );
    assert_eq!(
        person(c.person_by_chat(Adapter::Matrix, "@ANA:example.org")),
        None
    );
    assert_eq!(person(c.person_by_chat(Adapter::Console, "ana")), ana);
    assert_eq!(person(c.person_by_chat(Adapter::Console, "CB")), clara);
    assert_eq!(person(c.person_by_chat(Adapter::Console, "clara")), None);
    assert_eq!(person(c.person_by_chat(Adapter::Discord, "999")), None);
    assert!(c.person("clara").is_some_and(
        |p| p.roles.iter().any(|r| r == "lead") && !p.roles.iter().any(|r| r == "engineer")
    ));

    let web = Some("web".to_owned());
    let payments = Some("payments".to_owned());
    assert_eq!(product(c.product("WEB")), web);
    assert_eq!(product(c.product_by_channel(Adapter::Discord, "100")), web);
    assert_eq!(
        product(c.product_by_channel(Adapter::Matrix, "!web:example.org")),
        web
    );
    assert_eq!(product(c.product_by_channel(Adapter::Console, "web")), web);
    assert_eq!(
        product(c.product_by_channel(Adapter::Console, "Pay")),
        payments
    );
    assert_eq!(
        product(c.product_by_channel(Adapter::Console, "payments")),
        None
    );
    assert_eq!(product(c.product_by_channel(Adapter::Discord, "200")), None);
    assert_eq!(product(c.product_by_repo("acme/web")), web);
    assert_eq!(product(c.product_by_repo("acme/payments.git")), payments);
    assert_eq!(product(c.product_by_repo("acme/other")), None);
}

#[test]
fn adapters_have_config_names() {
    let names: Vec<String> = Adapter::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["console", "discord", "matrix", "slack"]);
}

#[test]
fn missing_file_is_a_read_error() {
    let err = Config::load(Path::new("/definitely/not/here/shipgate.ron"));
    let msg = err.map(|_| ()).map_err(|e| e.to_string());
    assert!(
        matches!(&msg, Err(m) if m.starts_with("cannot read the config file `/definitely/not/here/shipgate.ron`")),
        "{msg:?}"
    );
}

#[test]
fn slack_config_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipgate.ron");
    let ok = r#"(
    slack: (bot_token: Env("SG_SLACK_BOT"), app_token: Some(Env("SG_SLACK_APP"))),
    products: [(name: "web", channels: (slack: "C0123ABCD"))],
    people: [(name: "ana", timezone: "UTC", chat: (slack: "U0123ABCD"))],
)"#;
    std::fs::write(&path, ok).unwrap();
    let c = Config::load(&path).unwrap();
    let s = c.slack.as_ref().unwrap();
    assert_eq!(s.mode, crate::config::SlackMode::Socket);
    assert_eq!(
        c.person_by_chat(Adapter::Slack, "U0123ABCD")
            .map(|p| p.name.as_str()),
        Some("ana")
    );
    assert_eq!(
        c.product_by_channel(Adapter::Slack, "C0123ABCD")
            .map(|p| p.name.as_str()),
        Some("web")
    );
    // Http without a signing secret, a bad channel id, a bad member id.
    let bad = r##"(
    slack: (bot_token: Env("SG_SLACK_BOT"), mode: Http),
    products: [(name: "web", channels: (slack: "#releases"))],
    people: [(name: "ana", timezone: "UTC", chat: (slack: "ana"))],
)"##;
    std::fs::write(&path, bad).unwrap();
    let err = Config::load(&path).map(|_| ()).unwrap_err().to_string();
    for needle in [
        "no `slack.signing_secret`",
        "`#releases` is not a slack channel id",
        "`ana` is not a Slack member id",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
}
