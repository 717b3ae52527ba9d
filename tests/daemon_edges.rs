//! The daemon's entry points at their edges: names typed in another case
//! (events API, webhook, console), credentials refused (logged and
//! counted), unknown paths and methods, and the header size limit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{FRIDAY_0930_NY, Setup, TestEnv, pr_merged_body, try_github};

fn pool(d: &support::Daemon, product: &str) -> Vec<(String, String)> {
    d.status()["products"][product]["pool"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["author"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn names_in_any_case_reach_the_engine_with_the_configs_spelling() {
    let setup = Setup::default();
    let env = TestEnv::new(setup.clone());
    let mut d = env.start(FRIDAY_0930_NY);
    d.expect_stdout("shipgate console: you are ana, in web.");

    // The events API: product and author in other cases.
    d.events_ok(
        r##"{"merged": {"product": "WEB", "change": "#1", "author": "Ben", "title": "One"}}"##,
        1,
    );
    assert_eq!(pool(&d, "web"), [("#1".into(), "ben".into())]);
    // A chat line from `Ana` is from ana.
    d.events_ok(
        r#"{"chat": {"product": "Web", "from": "Ana", "text": "!sg rc request one"}}"#,
        1,
    );
    let cut = d.expect_stdout("RC #1 for web is cut");
    assert!(cut.contains("Release manager: @ana"), "{cut}");
    assert_eq!(d.status()["products"]["web"]["current"]["manager"], "ana");
    // An unknown product is refused, not applied and dropped.
    let r = d.events(
        r##"{"merged": {"product": "shop", "change": "#2", "author": "ana", "title": "Two"}}"##,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.json()["error"],
        "line 1: unknown product `shop`; the products are web, payments"
    );

    // A webhook: the repo and the login in other cases.
    let body = pr_merged_body("ACME/Web", 7, "BenK", "Seven");
    let gh = try_github(
        d.addr,
        &setup.github_secret,
        "pull_request",
        "case-1",
        &body,
    )
    .unwrap();
    assert_eq!(gh.status, 200, "{}", gh.body);
    assert_eq!(gh.json()["applied"], 1, "{}", gh.body);
    assert!(
        pool(&d, "web").contains(&("#7".into(), "ben".into())),
        "{:?}",
        pool(&d, "web")
    );

    // The console: `/as Ben` and `/product PAYMENTS`, then a merge and a
    // command that must be recognised.
    d.type_line("/as Ben");
    d.expect_stdout("console: you are now ben");
    d.type_line("/as Eli");
    d.expect_stdout("console: nobody called `Eli`; the team is ana, ben, clara");
    d.type_line("/product PAYMENTS");
    d.expect_stdout("console: now in payments");
    d.type_line("/product shop");
    d.expect_stdout("console: unknown product `shop`; the products are web, payments");
    d.type_line("/merge #9 Nine");
    d.expect_stdout("console: #9 merged to payments by ben");
    d.type_line("!sg rc request nine");
    // RC numbers run across products: this is the second.
    let cut = d.expect_stdout("RC #2 for payments is cut");
    assert!(cut.contains("Release manager: @ben"), "{cut}");
    // A handoff target in capitals is the person.
    d.type_line("!sg handoff #9 to ANA");
    d.expect_stdout("@ana: @ben handed you #9 (Nine) to verify in RC #2");
    assert!(d.posts_containing("I don't know").is_empty());
    assert!(d.posts_containing("not in the team config").is_empty());
    d.stop();
}

#[test]
fn refused_credentials_are_logged_and_counted() {
    let setup = Setup::default();
    let env = TestEnv::new(setup.clone());
    let d = env.start(FRIDAY_0930_NY);
    let wrong = "Bearer not-the-token-31c9";
    for (path, label) in [
        ("/api/events", "/api/events"),
        ("/-/reload", "/-/reload"),
        ("/-/outbox/retry", "/-/outbox/retry"),
    ] {
        let r = d.http("POST", path, &[("Authorization", wrong)], b"{}");
        assert_eq!(r.status, 401, "{path}: {}", r.body);
        assert_eq!(r.json()["error"], "missing or wrong bearer token");
        let sample = format!("shipgate_http_auth_failures_total{{endpoint=\"{label}\"}}");
        assert_eq!(d.metric(&sample), 1.0, "{sample}");
    }
    // No credentials at all count too.
    let r = d.http("POST", "/api/events", &[], b"{}");
    assert_eq!(r.status, 401);
    assert_eq!(
        d.metric("shipgate_http_auth_failures_total{endpoint=\"/api/events\"}"),
        2.0
    );
    // A bad webhook signature is counted under its endpoint.
    let gh = try_github(d.addr, "not-the-secret", "ping", "x-1", b"{}").unwrap();
    assert_eq!(gh.status, 401);
    assert_eq!(
        d.metric("shipgate_http_auth_failures_total{endpoint=\"/hooks/github\"}"),
        1.0
    );
    // Each refusal is a WARN line naming the endpoint, never the token.
    let f = d.stop();
    let log = f.stderr.join("\n");
    for path in [
        "/api/events",
        "/-/reload",
        "/-/outbox/retry",
        "/hooks/github",
    ] {
        assert!(
            f.stderr
                .iter()
                .any(|l| l.contains("WARN") && l.contains("refused") && l.contains(path)),
            "no WARN line for {path}:\n{log}"
        );
    }
    assert!(!log.contains("not-the-token-31c9"), "{log}");
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let setup = Setup::default();
    let env = TestEnv::new(setup.clone());
    let d = env.start(FRIDAY_0930_NY);
    let line =
        r##"{"merged": {"product": "web", "change": "#1", "author": "ana", "title": "One"}}"##;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let auth = format!("{scheme} {}", setup.api_token);
        let r = d.http(
            "POST",
            "/api/events",
            &[("Authorization", &auth)],
            line.as_bytes(),
        );
        assert_eq!(r.status, 200, "{scheme}: {}", r.body);
    }
    // Another scheme with the right token is still refused.
    let auth = format!("Basic {}", setup.api_token);
    let r = d.http(
        "POST",
        "/api/events",
        &[("Authorization", &auth)],
        line.as_bytes(),
    );
    assert_eq!(r.status, 401, "{}", r.body);
    d.stop();
}

#[test]
fn unknown_paths_and_methods_answer_json() {
    let env = TestEnv::new(Setup::default());
    let d = env.start(FRIDAY_0930_NY);
    let r = d.get("/nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "no endpoint `/nope`");
    let r = d.get("/api/events");
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["error"], "`/api/events` does not take GET");
    assert!(
        r.headers
            .iter()
            .any(|(k, v)| k == "allow" && v.contains("POST")),
        "{:?}",
        r.headers
    );
    let r = d.http("DELETE", "/api/status", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["error"], "`/api/status` does not take DELETE");
    d.stop();
}

#[test]
fn headers_over_the_limit_are_refused_with_431() {
    let env = TestEnv::new(Setup::default());
    let d = env.start(FRIDAY_0930_NY);
    // docs/daemon.md: at most 100 header fields (the client sends `Host`,
    // `Connection` and `Content-Length` besides these) ...
    let fields = |n: usize| -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("X-H{i}"), "v".to_owned()))
            .collect()
    };
    let get = |headers: &[(String, String)]| {
        let refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        support::try_http(d.addr, "GET", "/healthz", &refs, b"")
    };
    assert_eq!(get(&fields(97)).unwrap().status, 200);
    let r = get(&fields(98)).unwrap();
    assert_eq!((r.status, r.body.as_str()), (431, ""));
    // ... and headers up to 408 KiB are read; 1 MiB is refused.
    let big = |kib: usize| vec![("X-Big".to_owned(), "x".repeat(kib * 1024))];
    assert_eq!(get(&big(400)).unwrap().status, 200);
    match get(&big(1024)) {
        Ok(r) => assert_eq!(r.status, 431, "{}", r.body),
        // The server may close before the client finished writing.
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{e}"
        ),
    }
    d.stop();
}
