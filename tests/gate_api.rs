//! `GET /api/gate/PRODUCT` and `shipgate gate` against the real daemon on
//! a manual clock: at the window's edges, under an exception, and with
//! `require=approved`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;
use std::time::Duration;

use support::{Setup, TestEnv, merged_line};

/// Thursday 2026-03-12 15:59:59 in New York (EDT): the last second open.
const THU_1559_59: &str = "2026-03-12T19:59:59Z";
/// Thursday 16:00 in New York: closed from here.
const THU_1600: &str = "2026-03-12T20:00:00Z";
/// Monday 2026-03-16 08:00 in New York: open again.
const MON_0800: &str = "2026-03-16T12:00:00Z";

fn cli(addr: std::net::SocketAddr, extra: &[&str]) -> std::process::Output {
    cli_for(addr, "web", extra)
}

/// `shipgate gate --url ADDR --product PRODUCT EXTRA...`
fn cli_for(addr: std::net::SocketAddr, product: &str, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shipgate"))
        .args([
            "gate",
            "--url",
            &format!("http://{addr}"),
            "--product",
            product,
        ])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn the_gate_at_the_windows_edges_over_http_and_the_cli() {
    let env = TestEnv::new(Setup::default());
    let d = env.start(THU_1559_59);

    let r = d.get("/api/gate/web");
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["open"], true);
    assert_eq!(j["action"], "release");
    assert_eq!(j["window"], "production");
    assert_eq!(j["because"]["clause"], "open mon-thu 08:00-16:00");
    assert_eq!(j["because"]["line"], 6);
    assert_eq!(j["next_change"], THU_1600);
    assert_eq!(j["exception"], serde_json::Value::Null);
    assert_eq!(j["rc"], serde_json::Value::Null);
    let out = cli(d.addr, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("web: gate open"));
    // A product typed in another case is answered, and named, as the
    // config spells it.
    let out = cli_for(d.addr, "WEB", &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("web: gate open"), "{said}");

    // One second later: closed until Monday 08:00.
    d.clock_to(THU_1600);
    let r = d.get("/api/gate/web?action=release");
    assert_eq!(r.status, 423, "{}", r.body);
    let j = r.json();
    assert_eq!(j["open"], false);
    assert_eq!(j["next_change"], MON_0800);
    let reason = j["reason"].as_str().unwrap();
    assert!(
        reason.contains("no `open` rule covers Thursday 16:00"),
        "{reason}"
    );
    assert!(
        reason.contains("it opens Mon 2026-03-16 08:00 EDT"),
        "{reason}"
    );
    let out = cli(d.addr, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("web: gate closed"), "{said}");
    assert!(said.contains(&format!("Opens at {MON_0800}")), "{said}");

    // The cut gate follows `candidate`, open always.
    let r = d.get("/api/gate/web?action=cut");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["window"], "candidate");

    // The last second before Monday 08:00 is closed; 08:00 is open.
    d.clock_to("2026-03-16T11:59:59Z");
    assert_eq!(d.get("/api/gate/web").status, 423);
    d.clock_to(MON_0800);
    assert_eq!(d.get("/api/gate/web").status, 200);

    // Errors: unknown product and parameters, exit 2 from the CLI.
    let r = d.get("/api/gate/nope");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("no product `nope`"), "{}", r.body);
    assert_eq!(d.get("/api/gate/web?action=deploy").status, 400);
    assert_eq!(d.get("/api/gate/web?require=maybe").status, 400);
    let out = cli_for(d.addr, "nope", &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    d.stop();
    let out = cli(support_closed_addr(), &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// A port nothing listens on.
fn support_closed_addr() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[test]
fn wait_polls_until_the_window_opens() {
    let env = TestEnv::new(Setup::default());
    let d = env.start("2026-03-16T11:59:00Z");
    let addr = d.addr;
    let waiting = std::thread::spawn(move || cli(addr, &["--wait", "2m", "--every", "1"]));
    // The CLI asks at least once while closed, then the clock opens it.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !waiting.is_finished(),
        "it must wait while the gate is closed"
    );
    d.clock_to(MON_0800);
    let out = waiting.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("waiting up to"));
    // A wait that ends closed exits 1.
    d.clock_to(THU_1600.replace("03-12", "03-19").as_str());
    let out = cli(d.addr, &["--wait", "1", "--every", "1"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    d.stop();
}

#[test]
fn an_exception_opens_the_gate_and_require_approved_follows_the_rc() {
    let env = TestEnv::new(Setup::default());
    // Friday 09:30 in New York: production closed.
    let mut d = env.start(support::FRIDAY_0930_NY);
    d.expect_stdout("shipgate console: you are ana, in web.");
    d.events_ok(&merged_line("web", "#7", "ana", "Fix checkout"), 1);
    d.type_line("!sg rc request checkout fix");
    d.expect_stdout("RC #1 for web is cut");
    let r = d.get("/api/gate/web");
    assert_eq!(r.status, 423, "{}", r.body);
    assert_eq!(r.json()["rc"]["id"], 1);
    assert_eq!(r.json()["rc"]["state"], "open");
    // Not approved: the RC is open, whatever the window says.
    let r = d.get("/api/gate/web?rc=1&require=approved");
    assert_eq!(r.status, 423, "{}", r.body);
    assert!(
        r.json()["reason"]
            .as_str()
            .unwrap()
            .contains("RC #1 is open and not approved")
    );
    let out = cli(d.addr, &["--rc", "1"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    d.type_line("!sg release exception critical-bug checkout is broken");
    d.expect_stdout("E1");
    let r = d.get("/api/gate/web");
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["open"], true);
    assert_eq!(j["exception"]["id"], "E1");
    assert_eq!(j["exception"]["name"], "critical-bug");
    assert_eq!(j["exception"]["rc"], 1);
    // Exceptions count for the RC they were asked for only.
    assert_eq!(d.get("/api/gate/web?rc=2").status, 423);

    // Verified and released under the exception: now RC 1 is approved.
    d.type_line("!sg verify all");
    d.expect_stdout("ready to release");
    d.type_line("!sg release");
    d.expect_stdout("is releasing RC #1 to production");
    let r = d.get("/api/gate/web?rc=1&require=approved");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["require_approved"], 1);
    assert_eq!(r.json()["rc"]["state"], "releasing");
    assert_eq!(cli(d.addr, &["--rc", "1"]).status.code(), Some(0));
    // Another RC is not approved.
    assert_eq!(d.get("/api/gate/web?rc=2&require=approved").status, 423);
    // The exception expires after 2 hours: the window is closed again.
    d.clock_advance(2 * 3600 + 60);
    assert_eq!(d.get("/api/gate/web").status, 423);
    d.stop();
}
