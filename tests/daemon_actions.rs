//! CI actions run by the real daemon: the command gets the RC in its
//! environment; a failure is announced to the manager and marks the RC.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{FRIDAY_0930_NY, Setup, TestEnv};

#[test]
fn a_failing_cut_action_is_announced_and_marks_the_rc() {
    // Exits 3 only when the environment names the right RC, product and
    // changes, so the message proves what the command saw.
    let action = r#"Command(program: "sh", args: ["-c", "test \"$SHIPGATE_RC:$SHIPGATE_PRODUCT:$SHIPGATE_CHANGES:$SHIPGATE_ACTION\" = \"1:web:#7:cut\" && echo boom && exit 3"], timeout_secs: 30)"#;
    let env = TestEnv::new(Setup {
        cut_action: Some(action.to_owned()),
        ..Setup::default()
    });
    let mut d = env.start(FRIDAY_0930_NY);
    d.events_ok(
        r##"{"merged": {"product": "web", "change": "#7", "author": "ana", "title": "Try the action"}}"##,
        1,
    );
    d.type_line("!sg rc request exercise the CI action");
    d.expect_stdout("RC #1 for web is cut");
    let post = d.expect_stdout("the CI action for building RC #1 failed");
    assert!(post.contains("exit status: 3"), "{post}");
    assert!(post.contains("boom"), "the output is captured: {post}");
    let status = d.status();
    assert_eq!(
        status["products"]["web"]["current"]["ci"], "failed",
        "{status}"
    );
    d.stop();
}

#[test]
fn a_successful_cut_action_is_quiet() {
    let env = TestEnv::new(Setup {
        cut_action: Some(r#"Command(program: "true", timeout_secs: 30)"#.to_owned()),
        ..Setup::default()
    });
    let mut d = env.start(FRIDAY_0930_NY);
    d.events_ok(
        r##"{"merged": {"product": "web", "change": "#8", "author": "ana", "title": "Quiet"}}"##,
        1,
    );
    d.type_line("!sg rc request quiet one");
    d.expect_stdout("RC #1 for web is cut");
    d.type_line("!sg status");
    d.expect_stdout("RC #1 (manual, manager @ana) is open");
    assert!(d.posts_containing("CI action").is_empty());
    let status = d.status();
    assert!(
        status["products"]["web"]["current"]["ci"].is_null(),
        "{status}"
    );
    d.stop();
}
