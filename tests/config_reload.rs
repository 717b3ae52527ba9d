//! Live reload of the team config on the real daemon: `POST /-/reload`
//! and SIGHUP apply people and products without a restart, announce a
//! short diff, report what needs a restart, and reject a bad file whole.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{FRIDAY_0930_NY, Setup, TestEnv};

fn write(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn post_reload_and_sighup_apply_the_team_config_or_reject_it_whole() {
    let env = TestEnv::new(Setup::default());
    let mut d = env.start(FRIDAY_0930_NY);
    // `dana` is not in the team yet.
    d.type_line("/as dana");
    let said = d.expect_stdout("dana");
    assert!(!said.contains("you are now"), "{said}");

    let path = env.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text
        .replace(
            r#"(name: "clara","#,
            r#"(name: "dana", timezone: "Europe/Berlin", git: ["dana@acme.example"]),
        (name: "clara","#,
        )
        .replace(
            r#"repos: ["acme/web"]"#,
            r#"repos: ["acme/web", "acme/web-api"]"#,
        )
        .replace(r#"listen: "127.0.0.1:0""#, r#"listen: "127.0.0.1:1""#)
        .replace("body_limit: 4096", "body_limit: 8192");
    assert_ne!(edited, text);
    assert!(edited.contains("body_limit: 8192"), "{edited}");
    write(&path, &edited);
    let auth = format!("Bearer {}", env.setup.api_token);
    let r = d.http("POST", "/-/reload", &[("Authorization", &auth)], b"");
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["config"]["result"], "loaded", "{v}");
    let changes: Vec<&str> = v["config"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert_eq!(
        changes,
        ["person `dana` added", "product `web`: repos changed"],
        "{v}"
    );
    // Both held until a restart: the new address and, beside it, the
    // other `http` settings (here the body limit).
    assert_eq!(
        v["config"]["needs_restart"],
        serde_json::json!([
            "`http.listen` changed: it takes effect at the next restart",
            "`http` changed: it takes effect at the next restart",
        ]),
        "{v}"
    );
    let post = d.expect_stdout("Config reloaded (reload requested over HTTP)");
    assert!(post.contains("person `dana` added"), "{post}");
    assert!(
        post.contains("Needs a restart: `http.listen` changed"),
        "{post}"
    );
    // ... and the log says so too, though live changes were applied.
    d.expect_stderr("config: `http` changed");
    // Live: dana is in the team now; the listener did not move.
    d.type_line("/as dana");
    d.expect_stdout("console: you are now dana");
    assert_eq!(d.get("/healthz").status, 200);

    // A bad time zone next to a new person: nothing of it is taken.
    let bad = edited
        .replace(
            r#"timezone: "Europe/Berlin", git: ["dana"#,
            r#"timezone: "Mars/Olympus", git: ["dana"#,
        )
        .replace(
            r#"(name: "clara","#,
            r#"(name: "erin", timezone: "UTC"),
        (name: "clara","#,
        );
    write(&path, &bad);
    let ok = std::process::Command::new("kill")
        .args(["-HUP", &d.pid().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let post = d.expect_stdout("The edited config was NOT loaded (SIGHUP)");
    assert!(post.contains("Mars/Olympus"), "{post}");
    // The same mistake again, at the same instant of the manual clock:
    // told again, not swallowed as a duplicate of the first.
    let r = d.http("POST", "/-/reload", &[("Authorization", &auth)], b"");
    assert_eq!(r.status, 422, "{}", r.body);
    let again = d.expect_stdout("The edited config was NOT loaded (reload requested over HTTP)");
    assert!(again.contains("Mars/Olympus"), "{again}");
    d.type_line("/as erin");
    let said = d.expect_stdout("erin");
    assert!(!said.contains("you are now"), "{said}");
    d.type_line("/as dana");
    d.expect_stdout("console: you are now dana");

    // A product removed live: the diff says so.
    let no_web = edited.replace(
        r#"(name: "payments", channels: (console: "payments"), repos: ["acme/payments"]),"#,
        "",
    );
    assert_ne!(no_web, edited);
    write(&path, &no_web);
    let r = d.http("POST", "/-/reload", &[("Authorization", &auth)], b"");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["config"]["changes"][0],
        "product `payments` removed"
    );
    // A second change at the same instant is announced too.
    let post = d.expect_stdout("Config reloaded (reload requested over HTTP)");
    assert!(post.contains("product `payments` removed"), "{post}");
    d.stop();
}
