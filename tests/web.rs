//! The web page in a real browser (headless Chromium through chromedriver)
//! against the real daemon on a manual clock, and calendar subscriptions
//! read by an independent iCalendar parser (Python's `icalendar`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;
mod web_support;

use std::time::Duration;

use support::{Daemon, FRIDAY_0930_NY, Setup, TestEnv, ci_line, merged_line};
use web_support::Browser;

/// The seed rules with a labelled holiday on Monday 2026-03-16.
fn env_with_holiday(setup: Setup) -> TestEnv {
    let env = TestEnv::new(setup);
    let path = env.dir.path().join("rules/release-process.rules");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replacen(
        "    open mon-thu 08:00-16:00\n",
        "    open mon-thu 08:00-16:00\n    closed 2026-03-16 \"Test holiday\"\n",
        1,
    );
    assert!(text.contains("Test holiday"));
    std::fs::write(&path, text).unwrap();
    env
}

fn url(d: &Daemon, path: &str) -> String {
    format!("http://{}{path}", d.addr)
}

#[test]
fn dashboard_shows_the_rc_its_changes_and_the_gate_and_updates_live() {
    let env = env_with_holiday(Setup::default());
    let mut d = env.start(FRIDAY_0930_NY);
    d.expect_stdout("shipgate console: you are ana, in web.");
    d.events_ok(&merged_line("web", "#101", "ana", "Fix the footer"), 1);
    d.events_ok(
        &merged_line("web", "#102", "ben", "<script>alert(1)</script>"),
        1,
    );
    d.type_line("!sg rc request the footer fix");
    d.expect_stdout("RC #1 for web is cut");
    d.events_ok(&ci_line("web", 1, "deployed"), 1);

    let b = Browser::start(1200, 1000);
    b.open(&url(&d, "/"));
    let text = b.eval("return document.body.innerText").to_string();
    // The RC, its manager and changes with authors and states.
    assert!(text.contains("RC 1"), "{text}");
    assert!(text.contains("manager ana"), "{text}");
    assert!(text.contains("Fix the footer"), "{text}");
    assert!(text.contains("by ben"), "{text}");
    assert!(text.contains("waiting"), "{text}");
    // Friday: the production window (mon-thu) is closed, opens Monday...
    // but Monday is the holiday, so Tuesday 08:00 New York.
    let gate = b.eval("return document.querySelector('#product-web .gate').innerText");
    let gate = gate.as_str().unwrap();
    assert!(gate.contains("release gate closed (production)"), "{gate}");
    assert!(gate.contains("opens Tue Mar 17 08:00 EDT"), "{gate}");
    let hover = b.eval("return document.querySelector('#product-web .gate time').title");
    assert_eq!(hover, "2026-03-17T12:00:00Z");

    // The hostile title is text, and nothing ran.
    let titles = b.eval(
        "return Array.from(document.querySelectorAll('#product-web .rc .title')).map(e => e.textContent)",
    );
    assert!(
        titles
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "<script>alert(1)</script>"),
        "{titles}"
    );
    assert_eq!(b.alert_text(), None, "an alert is open");
    let injected = b.eval("return document.querySelectorAll('main script').length");
    assert_eq!(injected, 0);

    // A merge posted to /api/events appears without a reload.
    b.eval("window.__same_page = 'yes'; return true");
    d.events_ok(
        &merged_line("web", "#103", "clara", "Live merge arrives"),
        1,
    );
    assert!(
        b.wait_for(
            "return document.body.innerText.includes('Live merge arrives')",
            Duration::from_secs(20)
        ),
        "the merge did not appear live"
    );
    assert_eq!(
        b.eval("return window.__same_page"),
        "yes",
        "the page reloaded"
    );
    assert_eq!(b.alert_text(), None, "an alert is open");
    b.screenshot("dashboard");

    // Another zone on request.
    b.open(&url(&d, "/?tz=Europe/Berlin"));
    let gate = b.eval("return document.querySelector('#product-web .gate').innerText");
    assert!(
        gate.as_str()
            .unwrap()
            .contains("opens Tue Mar 17 13:00 CET"),
        "{gate}"
    );
}

#[test]
fn product_page_calendar_labels_the_holiday_and_fits_a_phone() {
    let env = env_with_holiday(Setup::default());
    let d = env.start(FRIDAY_0930_NY);
    let b = Browser::start(375, 800);
    b.open(&url(&d, "/products/web"));
    assert_eq!(b.eval("return window.innerWidth"), 375);
    let row = b.eval(
        "const r = document.querySelector('tr[data-date=\"2026-03-16\"]'); return r ? r.innerText : null",
    );
    let row = row.as_str().expect("a row for Monday 2026-03-16");
    assert!(row.contains("Mon 03-16"), "{row}");
    assert!(row.contains("Test holiday"), "{row}");
    // No other day carries the label.
    let labelled = b.eval(
        "return Array.from(document.querySelectorAll('table.picture tr')).filter(r => r.innerText.includes('Test holiday')).map(r => r.dataset.date)",
    );
    assert_eq!(labelled, serde_json::json!(["2026-03-16"]));
    // That Monday is closed all day; Tuesday 10:00 is open; now is marked
    // on Friday 09:00-10:00 New York.
    let cell = |date: &str, hour: u32| {
        b.eval(&format!(
            "return document.querySelector('tr[data-date=\"{date}\"]').querySelectorAll('td')[{hour}].className"
        ))
    };
    assert_eq!(cell("2026-03-16", 10), "c");
    assert_eq!(cell("2026-03-17", 10), "o");
    assert_eq!(cell("2026-03-13", 9), "c now");
    let days = b.eval("return document.querySelectorAll('table.picture tr[data-date]').length");
    assert_eq!(days, 28);

    // Usable at 375 px: the page does not scroll sideways (the picture
    // scrolls inside its own box), and the gate is on screen.
    b.screenshot("product-375px");
    let width = b.eval("return document.documentElement.scrollWidth");
    let wide = b.eval(
        "return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 376).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)",
    );
    assert!(
        width.as_u64().unwrap() <= 375,
        "page is {width} px wide: {wide}"
    );
    let gate_right =
        b.eval("return Math.ceil(document.querySelector('.gate').getBoundingClientRect().right)");
    assert!(gate_right.as_u64().unwrap() <= 375, "{gate_right}");
    let font = b.eval("return parseFloat(getComputedStyle(document.body).fontSize)");
    assert!(font.as_f64().unwrap() >= 14.0, "{font}");
    b.screenshot("product-375px");
}

#[test]
fn audit_page_lists_newest_first_and_filters_by_product() {
    let env = TestEnv::new(Setup::default());
    let mut d = env.start(FRIDAY_0930_NY);
    d.expect_stdout("shipgate console: you are ana, in web.");
    d.events_ok(&merged_line("web", "#1", "ana", "First"), 1);
    d.type_line("!sg rc request audit me");
    d.expect_stdout("RC #1 for web is cut");
    let r = d.get("/audit");
    assert_eq!(r.status, 200, "{}", r.body);
    let (cut, merged) = (
        r.body.find("cut <small>web</small>").expect("the cut"),
        r.body.find("merged <small>web</small>").expect("the merge"),
    );
    assert!(cut < merged, "newest first");
    let r = d.get("/audit?product=payments");
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("nothing recorded"),
        "{}",
        &r.body[r.body.find("<table").unwrap_or(0)..]
    );
    let r = d.get("/audit?product=nope");
    assert_eq!(r.status, 404);
    let r = d.get("/?tz=Mars/Olympus");
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("unknown time zone `Mars/Olympus`"),
        "{}",
        r.body
    );
}

#[test]
fn web_auth_asks_for_basic_credentials_and_calendars_take_their_token() {
    let env = TestEnv::new(Setup::default());
    let dir = env.dir.path();
    std::fs::write(dir.join("secrets/web"), "open sesame\n").unwrap();
    std::fs::write(dir.join("secrets/cal"), "cal-tok-5e2\n").unwrap();
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    let config = config.replacen(
        "gitlab_token: File(\"secrets/gitlab\"),",
        "gitlab_token: File(\"secrets/gitlab\"),\n        web_auth: (username: \"team\", password: File(\"secrets/web\"), calendar_token: File(\"secrets/cal\")),",
        1,
    );
    std::fs::write(env.config_path(), config).unwrap();
    let d = env.start(FRIDAY_0930_NY);
    let r = d.get("/");
    assert_eq!(r.status, 401);
    assert!(
        r.headers
            .iter()
            .any(|(k, v)| k == "www-authenticate" && v.starts_with("Basic")),
        "{:?}",
        r.headers
    );
    use base64::Engine as _;
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("team:open sesame")
    );
    let bad = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("team:open sesam")
    );
    assert_eq!(
        d.http("GET", "/", &[("Authorization", &good)], b"").status,
        200
    );
    assert_eq!(
        d.http("GET", "/", &[("Authorization", &bad)], b"").status,
        401
    );
    assert_eq!(d.get("/live").status, 401);
    assert_eq!(d.get("/calendar/web/production.ics").status, 401);
    assert_eq!(
        d.get("/calendar/web/production.ics?calendar_token=wrong")
            .status,
        401
    );
    let r = d.get("/calendar/web/production.ics?calendar_token=cal-tok-5e2");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.starts_with("BEGIN:VCALENDAR\r\n"));
    // The API is not behind web_auth.
    assert_eq!(d.get("/healthz").status, 200);
}

/// Python with the `icalendar` package: `SHIPGATE_ICAL_PYTHON`, else the
/// virtualenv `.ci/run` makes under target/.
fn ical_python() -> String {
    let p = std::env::var("SHIPGATE_ICAL_PYTHON")
        .unwrap_or_else(|_| format!("{}/target/web-venv/bin/python", env!("CARGO_MANIFEST_DIR")));
    let ok = std::process::Command::new(&p)
        .args(["-c", "import icalendar"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{p} cannot import icalendar: make the virtualenv with \
         `python3 -m venv target/web-venv && target/web-venv/bin/pip install icalendar` (.ci/run does)"
    );
    p
}

const PARSE_ICS: &str = r#"
import sys, json, icalendar, datetime
cal = icalendar.Calendar.from_ical(sys.stdin.read())
out = []
for ev in cal.walk("VEVENT"):
    s, e = ev.decoded("DTSTART"), ev.decoded("DTEND")
    def text(x):
        if isinstance(x, datetime.datetime):
            return x.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return "date:" + x.isoformat()
    out.append({"summary": str(ev.get("SUMMARY")), "start": text(s), "end": text(e), "uid": str(ev.get("UID"))})
print(json.dumps(out))
"#;

#[test]
fn ics_parsed_independently_matches_calendar_json_across_dst() {
    let python = ical_python();
    let env = env_with_holiday(Setup::default());
    // Thursday 2026-03-05, New York: daylight saving starts Sunday 03-08.
    let d = env.start("2026-03-05T15:00:00Z");
    let r = d.get("/calendar/web/production.ics");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.starts_with("text/calendar")),
        "{:?}",
        r.headers
    );
    let mut child = std::process::Command::new(&python)
        .args(["-c", PARSE_ICS])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(r.body.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let events: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();

    // The same 90 days from `calendar --json`.
    let cal = std::process::Command::new(env!("CARGO_BIN_EXE_shipgate"))
        .args(["calendar", "--rules"])
        .arg(env.dir.path().join("rules"))
        .args([
            "production",
            "--from",
            "2026-03-05",
            "--days",
            "90",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        cal.status.success(),
        "{}",
        String::from_utf8_lossy(&cal.stderr)
    );
    let cal: serde_json::Value = serde_json::from_slice(&cal.stdout).unwrap();
    let want: Vec<(String, String)> = cal["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["start"].as_str().unwrap().to_owned(),
                i["end"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let open: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["summary"] == "web: production open")
        .map(|e| {
            (
                e["start"].as_str().unwrap().to_owned(),
                e["end"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(open, want);
    assert!(want.len() > 40, "{}", want.len());
    // Across the change: 08:00 EST is 13:00Z, 08:00 EDT is 12:00Z.
    assert!(open.contains(&("2026-03-05T13:00:00Z".into(), "2026-03-05T21:00:00Z".into())));
    assert!(open.contains(&("2026-03-09T12:00:00Z".into(), "2026-03-09T20:00:00Z".into())));
    // The holiday: an all-day event on its local date, and no open period.
    let holiday: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["summary"] == "web: production closed: Test holiday")
        .collect();
    assert_eq!(holiday.len(), 1, "{events:?}");
    assert_eq!(holiday[0]["start"], "date:2026-03-16");
    assert_eq!(holiday[0]["end"], "date:2026-03-17");
    assert!(!open.iter().any(|(s, _)| s.starts_with("2026-03-16")));
    // Unique ids.
    let mut uids: Vec<&str> = events.iter().map(|e| e["uid"].as_str().unwrap()).collect();
    uids.sort_unstable();
    uids.dedup();
    assert_eq!(uids.len(), events.len());
}
