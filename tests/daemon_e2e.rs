//! End to end: the real `shipgate run` binary with the console adapter,
//! driven through stdin and HTTP on a manual clock, walks a whole RC from
//! merged changes to production, then restarts on the same database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;

use support::{
    FRIDAY_0930_NY, Setup, TestEnv, ci_line, merged_line, posts, pr_merged_body, try_github,
};

/// Monday 2026-03-16 08:00 in New York (EDT): production opens.
const MONDAY_0800_NY: &str = "2026-03-16T12:00:00Z";

/// Every secret value, searched for in everything the daemon shows.
fn assert_no_secrets(what: &str, text: &str, setup: &Setup) {
    for s in setup.secrets() {
        assert!(!text.contains(s), "a secret appears in {what}:\n{text}");
    }
}

#[test]
fn a_whole_rc_through_the_console_and_http() {
    let setup = Setup {
        actions: true,
        ..Setup::default()
    };
    let env = TestEnv::new(setup.clone());
    let mut d = env.start(FRIDAY_0930_NY);
    d.expect_stdout("shipgate console: you are ana, in web.");

    // Health first: the daemon is up and ready on the rules from disk.
    let h = d.get("/healthz");
    assert_eq!((h.status, h.body.trim()), (200, "ok"));
    let r = d.get("/readyz");
    assert_eq!((r.status, r.body.trim()), (200, "ready"));

    // A merged change over the events API (bearer token)...
    d.events_ok(&merged_line("web", "#101", "ana", "Fix the footer"), 1);
    // ...and one over the signed GitHub webhook, author mapped from the
    // login `benk` to ben.
    let body = pr_merged_body("acme/web", 102, "benk", "Add dark mode");
    let gh = try_github(
        d.addr,
        &setup.github_secret,
        "pull_request",
        "e2e-delivery-1",
        &body,
    )
    .unwrap();
    assert_eq!(gh.status, 200, "{}", gh.body);
    assert_eq!(gh.json()["applied"], 1, "{}", gh.body);
    let pool = &d.status()["products"]["web"]["pool"];
    let pool: Vec<(String, String)> = pool
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["author"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pool,
        [("#101".into(), "ana".into()), ("#102".into(), "ben".into())]
    );

    // Ana asks for an RC on the console: cut at once, she manages it.
    d.type_line("!sg rc request the footer fix");
    let cut = d.expect_stdout("[web] shipgate: RC #1 for web is cut (manual: the footer fix)");
    assert!(cut.contains("Release manager: @ana"), "{cut}");
    assert!(cut.contains("#101 Fix the footer (@ana)"), "{cut}");
    assert!(cut.contains("#102 Add dark mode (@ben)"), "{cut}");
    let current = &d.status()["products"]["web"]["current"];
    assert_eq!(current["id"], 1);
    assert_eq!(current["manager"], "ana");
    assert_eq!(current["changes"].as_array().unwrap().len(), 2);

    // CI deploys it for verification.
    d.events_ok(&ci_line("web", 1, "deployed"), 1);
    d.expect_stdout("RC #1 is deployed for verification. Still to verify:");

    // An hour later (10:30 in New York, working hours) the reminders fire.
    d.clock_advance(3600);
    d.expect_stdout("@ana: reminder: please verify #101 in RC #1");
    d.expect_stdout("@ben: reminder: please verify #102 in RC #1");
    // Nothing more is due in the next minutes: no reminder repeats.
    d.clock_advance(600);

    // Both verify, as themselves.
    d.type_line("!sg verify all");
    d.expect_stdout("@ana: verified #101 in RC #1; 1 change left to verify.");
    d.type_line("/as ben");
    d.expect_stdout("console: you are now ben");
    d.type_line("!sg verify #102");
    d.expect_stdout("@ben: verified #102 in RC #1; 0 changes left to verify.");
    d.expect_stdout("every change in RC #1 is verified; it is ready to release");
    assert_eq!(d.status()["products"]["web"]["current"]["state"], "ready");

    // Friday: production is closed. The answer names the rule and when it
    // opens next.
    d.type_line("!sg release");
    let refused = d.expect_stdout("@ben: not released: production is closed");
    assert!(
        refused.contains("no `open` rule covers Friday 10:40 (America/New_York)"),
        "{refused}"
    );
    assert!(
        refused.contains("it opens Mon 2026-03-16 08:00 EDT"),
        "{refused}"
    );
    assert!(
        refused.contains("release exception NAME REASON"),
        "{refused}"
    );
    assert_eq!(d.status()["products"]["web"]["current"]["state"], "ready");

    // Monday 08:00 in New York: open, by the rule that opens it.
    d.clock_to(MONDAY_0800_NY);
    let st = d.status();
    assert_eq!(st["now"], MONDAY_0800_NY);
    assert_eq!(st["products"]["web"]["production"]["open"], true);
    d.type_line("!sg release");
    let releasing = d.expect_stdout("@ben is releasing RC #1 to production");
    assert!(
        releasing.contains("by `open mon-thu 08:00-16:00` (")
            && releasing.contains("release-process.rules:6)"),
        "{releasing}"
    );
    assert_eq!(
        d.status()["products"]["web"]["current"]["state"],
        "releasing"
    );

    // CI reports it released.
    d.events_ok(&ci_line("web", 1, "released"), 1);
    d.expect_stdout("RC #1 is released to production. Thank you, @ana and @ben.");

    // Status: the RC is in the history; no secrets anywhere.
    let status = d.get("/api/status");
    assert_eq!(status.status, 200);
    assert_no_secrets("/api/status", &status.body, &setup);
    let st = status.json();
    assert_eq!(st["ready"], true);
    let web = &st["products"]["web"];
    assert!(web["current"].is_null(), "{web}");
    assert_eq!(
        web["history"],
        serde_json::json!([{
            "id": 1, "state": "released", "manager": "ana",
            "closed_at": MONDAY_0800_NY, "changes": 2
        }])
    );
    let version = st["rules"]["version"].as_str().unwrap().to_owned();
    assert_eq!(version.len(), 64, "{version}");

    // Metrics: events, outbox depth, reload gauge, rules version.
    let metrics = d.metrics();
    assert_no_secrets("/metrics", &metrics, &setup);
    let m = |s: &str| support::metric(&metrics, s);
    assert_eq!(m("shipgate_events_total{kind=\"merged\"}"), 2.0);
    assert_eq!(m("shipgate_events_total{kind=\"ci\"}"), 2.0);
    assert_eq!(m("shipgate_events_total{kind=\"chat\"}"), 5.0);
    assert!(m("shipgate_events_total{kind=\"tick\"}") >= 1.0);
    assert_eq!(m("shipgate_duplicate_events_total"), 0.0);
    assert_eq!(m("shipgate_decisions_total{kind=\"release\"}"), 2.0);
    assert_eq!(m("shipgate_rules_reload_success"), 1.0);
    assert_eq!(
        m(&format!(
            "shipgate_rules_version_info{{version=\"{version}\"}}"
        )),
        1.0
    );
    assert!(metrics.contains("\nshipgate_outbox_depth "), "{metrics}");

    // The CI actions ran (cut and release) and were recorded.
    let deadline = std::time::Instant::now() + support::WAIT;
    while d.metric("shipgate_events_total{kind=\"action\"}") < 2.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "actions did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    while d.metric("shipgate_outbox_depth") > 0.0 {
        assert!(std::time::Instant::now() < deadline, "outbox did not drain");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sent = d.metric("shipgate_messages_sent_total{result=\"ok\"}");

    // SIGTERM: exit 0.
    let first = d.stop();
    let text = format!("{}\n{}", first.stdout.join("\n"), first.stderr.join("\n"));
    assert_no_secrets("stdout or stderr", &text, &setup);
    let printed: Vec<String> = posts(&first.stdout)
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| t.starts_with('['))
        .collect();
    assert_eq!(
        printed.len() as f64,
        sent,
        "every message sent was printed once:\n{}",
        printed.join("\n")
    );

    // Restart on the same database, at the same instant: the state is kept
    // and nothing printed before is printed again.
    let mut d = env.start(MONDAY_0800_NY);
    d.expect_stdout("shipgate console: you are ana, in web.");
    let st2 = d.status();
    assert_eq!(st2["products"], st["products"]);
    assert_eq!(st2["rules"]["version"], version.as_str());
    d.type_line("!sg status");
    d.expect_stdout("[web] shipgate: web: no RC in flight.");
    // A second restart at the very same instant still takes typed lines
    // (the first typed line of each run is not mistaken for a duplicate).
    let second = d.stop();
    let mut d = env.start(MONDAY_0800_NY);
    d.expect_stdout("shipgate console: you are ana, in web.");
    d.type_line("!sg windows");
    d.expect_stdout("[web] shipgate: ");
    d.type_line("/product payments");
    d.expect_stdout("console: now in payments");
    d.type_line("!sg status");
    d.expect_stdout("[payments] shipgate: payments: no RC in flight.");
    // End of input stops the daemon cleanly too.
    let third = d.close_stdin();

    let mut all = first.stdout.clone();
    all.extend(second.stdout.iter().cloned());
    all.extend(third.stdout.iter().cloned());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, t) in posts(&all) {
        if t.starts_with('[') {
            *counts.entry(t).or_default() += 1;
        }
    }
    // Every post went out once: the reminders, and the answers after each
    // restart (to different questions).
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "printed more than once: {twice:?}");
    let later: Vec<String> = posts(&second.stdout)
        .into_iter()
        .chain(posts(&third.stdout))
        .map(|(_, t)| t)
        .filter(|t| t.starts_with('['))
        .collect();
    assert_eq!(later.len(), 3, "only the answers to new lines: {later:?}");
    for f in [&second, &third] {
        let text = format!("{}\n{}", f.stdout.join("\n"), f.stderr.join("\n"));
        assert_no_secrets("stdout or stderr after restart", &text, &setup);
    }
}

#[test]
fn a_missed_daily_cut_happens_once_after_restart() {
    let env = TestEnv::new(Setup::default());
    // Thursday 2026-03-12 18:00 in New York.
    let mut d = env.start("2026-03-12T22:00:00Z");
    d.expect_stdout("shipgate console: you are ana, in web.");
    d.events_ok(&merged_line("web", "#7", "ana-acme", "Tidy the header"), 1);
    d.stop();
    // Down over the 07:00 daily cut; back at 09:00 Friday.
    let mut d = env.start("2026-03-13T13:00:00Z");
    let cut = d.expect_stdout("[web] shipgate: RC #1 for web is cut (daily)");
    assert!(cut.contains("#7 Tidy the header (@ana)"), "{cut}");
    // The writer publishes the state once the catch-up has fired every due
    // timer, and the outbox may post the cut a moment before that.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while d.status()["products"]["web"]["current"]["id"].is_null()
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(d.status()["products"]["web"]["current"]["id"], 1);
    // Restarting again does not cut it twice.
    let first = d.stop();
    let mut d = env.start("2026-03-13T13:05:00Z");
    d.expect_stdout("shipgate console: you are ana, in web.");
    d.type_line("!sg status");
    d.expect_stdout("[web] shipgate: web:");
    let second = d.stop();
    let cuts = first
        .stdout
        .iter()
        .chain(&second.stdout)
        .filter(|l| l.contains("is cut"))
        .count();
    assert_eq!(cuts, 1);
}

#[test]
fn a_broken_rules_file_at_start_runs_on_the_last_good_version_not_ready() {
    let env = TestEnv::new(Setup::default());
    let d = env.start(FRIDAY_0930_NY);
    let good = d.status()["rules"]["version"].as_str().unwrap().to_owned();
    d.stop();
    // Someone breaks the file while the daemon is down.
    let file = env.dir.path().join("rules/release-process.rules");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        format!("{text}\nwindow broken {{ open mon 25:00-26:00 }}\n"),
    )
    .unwrap();
    let mut d = env.start(FRIDAY_0930_NY);
    // It starts anyway, on the last good version, says so loudly, and is
    // not ready.
    d.expect_stdout("shipgate console: you are ana, in web.");
    let stderr = d.stderr.snapshot().join("\n");
    assert!(
        stderr.contains("are invalid; running on the last good version"),
        "{stderr}"
    );
    assert!(
        stderr.contains("25:00"),
        "the diagnostics are shown: {stderr}"
    );
    assert_eq!(d.status()["rules"]["version"], good.as_str());
    let r = d.get("/readyz");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("last good"), "{}", r.body);
    assert_eq!(d.metric("shipgate_rules_reload_success"), 0.0);
    // Commands still work on the good rules.
    d.type_line("!sg windows");
    d.expect_stdout("[web] shipgate: ");
    // Putting the good text back makes it ready again (the watcher reloads;
    // the version is the one already active).
    std::fs::write(&file, &text).unwrap();
    let deadline = std::time::Instant::now() + support::WAIT;
    while d.get("/readyz").status != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "not ready after the file was restored"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(d.status()["rules"]["version"], good.as_str());
    // The alerting gauge agrees with readiness again.
    assert_eq!(d.metric("shipgate_rules_reload_success"), 1.0);
    d.stop();
}

#[test]
fn a_second_daemon_on_the_same_database_refuses_to_start() {
    let env = TestEnv::new(Setup::default());
    let first = env.start(FRIDAY_0930_NY);
    // Same config, same database: two schedulers and two outboxes would
    // send every message twice, so the second one stops at once and says
    // who holds the database.
    let err = support::Daemon::try_start(&env.config_path(), FRIDAY_0930_NY)
        .err()
        .expect("a second daemon on one database must not start");
    assert!(err.contains("another shipgate daemon"), "{err}");
    assert!(
        err.contains(&format!("(pid {})", first.pid())),
        "names the holder: {err}"
    );
    // The first one is untouched and keeps working.
    first.events_ok(&support::merged_line("web", "#1", "ana", "Fix"), 1);
    // Once it is gone (even by kill -9), the database is free again.
    first.kill9();
    let again = env.start(FRIDAY_0930_NY);
    assert_eq!(again.status()["ready"], true);
    again.stop();
}
