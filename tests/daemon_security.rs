//! Security at the daemon's HTTP edge, against the real binary: webhook
//! signatures and tokens, the API's bearer token, body limits, malformed
//! input. Every refusal changes nothing (status and event counters stay).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{
    Daemon, FRIDAY_0930_NY, Setup, TestEnv, chat_line, github_signature, merged_line,
    pr_merged_body,
};

/// GitHub's published example ("Validating webhook deliveries").
const GH_SECRET: &str = "It's a Secret to Everybody";
const GH_BODY: &[u8] = b"Hello, World!";
const GH_SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

fn env() -> TestEnv {
    TestEnv::new(Setup {
        github_secret: GH_SECRET.to_owned(),
        body_limit: 4096,
        ..Setup::default()
    })
}

/// What must not move when a request is refused.
#[derive(Debug, PartialEq)]
struct Snapshot {
    products: serde_json::Value,
    events: f64,
    duplicates: f64,
}

fn snapshot(d: &Daemon) -> Snapshot {
    Snapshot {
        products: d.status()["products"].clone(),
        events: d.events_total(),
        duplicates: d.metric("shipgate_duplicate_events_total"),
    }
}

fn github(
    d: &Daemon,
    sig: Option<&str>,
    event: &str,
    delivery: &str,
    body: &[u8],
) -> support::Resp {
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", delivery),
    ];
    if let Some(s) = sig {
        headers.push(("X-Hub-Signature-256", s));
    }
    d.http("POST", "/hooks/github", &headers, body)
}

fn assert_refused(r: &support::Resp, status: u16, what: &str, secrets: &[&str]) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    let reason = r.json()["error"].as_str().unwrap_or_default().to_owned();
    assert!(!reason.is_empty(), "{what}: no reason in {}", r.body);
    for s in secrets {
        assert!(!r.body.contains(s), "{what}: the answer shows a secret");
    }
}

#[test]
fn github_signatures() {
    let env = env();
    let secrets = env.setup.secrets();
    let d = env.start(FRIDAY_0930_NY);

    // The published test vector, end to end (a `ping`: nothing to do).
    let before = snapshot(&d);
    let r = github(&d, Some(GH_SIG), "ping", "vector-1", GH_BODY);
    assert!(r.is_success(), "{} {}", r.status, r.body);
    assert_eq!(snapshot(&d), before);

    // The same vector, spoiled four ways: each 401.
    let mut one_digit = GH_SIG.to_owned();
    one_digit.replace_range(GH_SIG.len() - 1.., "8");
    let sha1 = "sha1=0123456789abcdef0123456789abcdef01234567";
    let cases: [(&str, Option<&str>, &[u8]); 5] = [
        ("missing header", None, GH_BODY),
        ("sha1= only", Some(sha1), GH_BODY),
        ("one changed hex digit", Some(&one_digit), GH_BODY),
        ("one changed body byte", Some(GH_SIG), b"Hello, World?"),
        ("empty signature", Some("sha256="), GH_BODY),
    ];
    for (what, sig, body) in cases {
        let r = github(&d, sig, "ping", "vector-2", body);
        assert_refused(&r, 401, what, &secrets);
    }

    // The same four with a delivery that would change something if it
    // were accepted: a merged pull request.
    let pr = pr_merged_body("acme/web", 42, "benk", "Add dark mode");
    let good = github_signature(GH_SECRET, &pr);
    let mut digit = good.clone();
    let last = digit.pop().unwrap();
    digit.push(if last == '0' { '1' } else { '0' });
    let mut byte = pr.clone();
    let i = byte.iter().position(|b| *b == b'4').unwrap();
    byte[i] = b'5';
    let sha1_of_pr = format!("sha1={}", "ab".repeat(20));
    let before = snapshot(&d);
    let cases: [(&str, Option<&str>, &[u8]); 5] = [
        ("missing header", None, &pr),
        ("sha1= only", Some(&sha1_of_pr), &pr),
        ("one changed hex digit", Some(&digit), &pr),
        ("one changed body byte", Some(&good), &byte),
        (
            "signed with another secret",
            Some(&github_signature("not it", &pr)),
            &pr,
        ),
    ];
    for (what, sig, body) in cases {
        let r = github(&d, sig, "pull_request", "pr-42", body);
        assert_refused(&r, 401, what, &secrets);
        assert_eq!(snapshot(&d), before, "{what} changed something");
    }

    // Correctly signed: applied once; redelivered: harmless.
    let r = github(&d, Some(&good), "pull_request", "pr-42", &pr);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["applied"], 1);
    let after = snapshot(&d);
    assert_eq!(after.products["web"]["pool"][0]["id"], "#42");
    assert_eq!(after.products["web"]["pool"][0]["author"], "ben");
    assert_eq!(after.events, before.events + 1.0);
    for _ in 0..3 {
        let r = github(&d, Some(&good), "pull_request", "pr-42", &pr);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["applied"], 0, "{}", r.body);
        assert_eq!(r.json()["duplicates"], 1, "{}", r.body);
    }
    let again = snapshot(&d);
    assert_eq!(again.products, after.products);
    assert_eq!(again.events, after.events);
    assert_eq!(again.duplicates, after.duplicates + 3.0);

    // A body over `http.body_limit` (4096): 413, even when signed.
    let big = pr_merged_body("acme/web", 43, "benk", &"x".repeat(5000));
    let sig = github_signature(GH_SECRET, &big);
    let before = snapshot(&d);
    let r = github(&d, Some(&sig), "pull_request", "pr-43", &big);
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(snapshot(&d), before);

    // Signed but not a pull_request payload: 400 with a reason.
    let junk = br#"{"action": "closed"}"#;
    let r = github(
        &d,
        Some(&github_signature(GH_SECRET, junk)),
        "pull_request",
        "pr-44",
        junk,
    );
    assert_refused(&r, 400, "not a payload", &secrets);
    assert_eq!(snapshot(&d), before);
    d.stop();
}

#[test]
fn gitlab_tokens() {
    let env = env();
    let secrets = env.setup.secrets();
    let token = env.setup.gitlab_token.clone();
    let d = env.start(FRIDAY_0930_NY);
    let body = serde_json::json!({
        "object_kind": "merge_request",
        "user": { "username": "ana-acme" },
        "project": { "path_with_namespace": "acme/payments" },
        "object_attributes": { "iid": 5, "title": "Faster refunds", "action": "merge", "target_branch": "main" },
    })
    .to_string();
    let send = |tok: Option<&str>, uuid: &str| {
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("X-Gitlab-Event", "Merge Request Hook"),
            ("X-Gitlab-Event-UUID", uuid),
        ];
        if let Some(t) = tok {
            headers.push(("X-Gitlab-Token", t));
        }
        d.http("POST", "/hooks/gitlab", &headers, body.as_bytes())
    };
    let before = snapshot(&d);
    let wrong_case = token.to_uppercase();
    let longer = format!("{token}x");
    let prefix = &token[..token.len() - 1];
    for (what, tok) in [
        ("missing token", None),
        ("empty token", Some("")),
        ("wrong token", Some("glt-e2e-a7c3e91f03")),
        ("token in another case", Some(wrong_case.as_str())),
        ("token with one more byte", Some(longer.as_str())),
        ("token with one byte less", Some(prefix)),
        ("the API token", Some(env.setup.api_token.as_str())),
    ] {
        let r = send(tok, "gl-1");
        assert_refused(&r, 401, what, &secrets);
        assert_eq!(snapshot(&d), before, "{what} changed something");
    }
    let r = send(Some(&token), "gl-1");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["applied"], 1);
    let pool = &d.status()["products"]["payments"]["pool"];
    assert_eq!(pool[0]["id"], "!5");
    assert_eq!(pool[0]["author"], "ana");
    let r = send(Some(&token), "gl-1");
    assert_eq!(r.json()["duplicates"], 1, "{}", r.body);
    d.stop();
}

#[test]
fn api_events_auth_limits_and_malformed_input() {
    let env = env();
    let secrets = env.setup.secrets();
    let token = env.setup.api_token.clone();
    let d = env.start(FRIDAY_0930_NY);
    let line = merged_line("web", "#7", "ana", "Tidy the header");
    let post = |auth: Option<&str>, body: &str, key: Option<&str>| {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = auth {
            headers.push(("Authorization", a));
        }
        if let Some(k) = key {
            headers.push(("Idempotency-Key", k));
        }
        d.http("POST", "/api/events", &headers, body.as_bytes())
    };
    let bearer = format!("Bearer {token}");

    // Without or with a wrong bearer token: 401, nothing applied.
    let before = snapshot(&d);
    let wrong = format!("Bearer {token}0");
    let basic = format!("Basic {token}");
    let github_secret = format!("Bearer {}", env.setup.github_secret);
    for (what, auth) in [
        ("no Authorization", None),
        ("empty bearer", Some("Bearer ")),
        ("wrong bearer", Some(wrong.as_str())),
        ("not a bearer", Some(basic.as_str())),
        ("the webhook secret", Some(github_secret.as_str())),
        ("bare token", Some(token.as_str())),
    ] {
        let r = post(auth, &line, None);
        assert_refused(&r, 401, what, &secrets);
        assert_eq!(snapshot(&d), before, "{what} changed something");
    }

    // Over the body limit: 413.
    let big = merged_line("web", "#8", "ana", &"y".repeat(5000));
    let r = post(Some(&bearer), &big, None);
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(snapshot(&d), before);

    // Malformed: 400 with a reason, and nothing half-applied.
    let bad_second = format!("{line}\n{{\"merged\": {{\"product\": \"web\", \"change\": \"#9\"");
    let unknown_product = format!("{line}\n{}", merged_line("shop", "#9", "ana", "t"));
    let unknown_field = format!(
        "{line}\n{{\"merged\": {{\"product\": \"web\", \"change\": \"#9\", \"author\": \"ana\", \"colour\": \"red\"}}}}"
    );
    let two_kinds = format!(
        "{line}\n{{\"merged\": {{\"product\": \"web\", \"change\": \"#9\", \"author\": \"ana\"}}, \"ci\": {{\"product\": \"web\", \"rc\": 1, \"status\": \"built\"}}}}"
    );
    let bad_status =
        format!("{line}\n{{\"ci\": {{\"product\": \"web\", \"rc\": 1, \"status\": \"shipped\"}}}}");
    for (what, body, reason) in [
        ("not JSON", "this is not json".to_owned(), "line 1"),
        ("second line cut short", bad_second, "line 2"),
        (
            "second line: unknown product",
            unknown_product,
            "unknown product `shop`",
        ),
        ("second line: unknown field", unknown_field, "colour"),
        ("second line: two kinds", two_kinds, "exactly one of"),
        ("second line: unknown CI status", bad_status, "line 2"),
        ("empty", String::new(), "no events"),
    ] {
        let r = post(Some(&bearer), &body, None);
        assert_refused(&r, 400, what, &secrets);
        let got = r.json()["error"].as_str().unwrap().to_owned();
        assert!(got.contains(reason), "{what}: {got}");
        assert_eq!(snapshot(&d), before, "{what} changed something");
    }

    // The good line alone applies; a retry with the same Idempotency-Key
    // or the same body does not.
    let r = post(Some(&bearer), &line, Some("retry-1"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["applied"], 1);
    let r = post(Some(&bearer), &line, Some("retry-1"));
    assert_eq!(r.json()["duplicates"], 1, "{}", r.body);
    let chat = chat_line("web", "ana", "!sg status");
    let r = post(Some(&bearer), &chat, None);
    assert_eq!(r.json()["applied"], 1, "{}", r.body);
    let r = post(Some(&bearer), &chat, None);
    assert_eq!(r.json()["duplicates"], 1, "{}", r.body);
    let pool = &d.status()["products"]["web"]["pool"];
    assert_eq!(pool.as_array().unwrap().len(), 1, "{pool}");

    // /-/clock is refused with a reason when the body is wrong.
    let r = d.http("POST", "/-/clock", &[], br#"{"advance_secs": -5}"#);
    assert_refused(&r, 400, "clock backwards", &secrets);
    let r = d.http("POST", "/-/clock", &[], br#"{"now": "yesterday"}"#);
    assert_refused(&r, 400, "clock not RFC 3339", &secrets);

    let f = d.stop();
    let text = format!("{}\n{}", f.stdout.join("\n"), f.stderr.join("\n"));
    for s in &secrets {
        assert!(!text.contains(s), "a secret appears in the output");
    }
}
