//! The daily timer sleeps while a product has nothing to cut, and the
//! products holding deployments are found without visiting every product.

#![allow(clippy::unwrap_used, clippy::panic)]

use chrono::{NaiveDate, TimeZone, Utc};

use crate::engine::chat::missed_tests::{ana_team, default_rules};
use crate::engine::event::DeploymentRequest;
use crate::engine::state::{HeldDeployment, ProductState};
use crate::engine::{Context, Event, State, handle, next_due};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn an_idle_product_has_no_daily_timer_and_a_change_wakes_it_for_the_next_slot() {
    let rules = default_rules();
    let team = ana_team();
    // Last daily decision two weeks ago; nothing merged since.
    let mut state = State::default();
    state.products.insert(
        "web".to_owned(),
        ProductState {
            last_daily: Some(day(2026, 3, 1)),
            ..ProductState::default()
        },
    );
    assert_eq!(next_due(&state, &rules, &team), None, "idle: no timer");

    // A merge on Wednesday 2026-03-18 at 10:00 New York (14:00 UTC).
    let now = Utc.with_ymd_and_hms(2026, 3, 18, 14, 0, 0).unwrap();
    let ctx = Context {
        rules: &rules,
        team: &team,
        now,
        seed: 1,
    };
    let merged = Event::Merged {
        product: "web".to_owned(),
        change: "#1".to_owned(),
        author: "ana".to_owned(),
        title: "one".to_owned(),
    };
    let after = handle(&state, &ctx, &merged).state;
    // The slots that passed while idle count as decided: this morning's
    // 07:00 is the last one, so the cut is tomorrow at 07:00, not now.
    assert_eq!(after.products["web"].last_daily, Some(day(2026, 3, 18)));
    assert_eq!(
        next_due(&after, &rules, &team),
        Some(Utc.with_ymd_and_hms(2026, 3, 19, 11, 0, 0).unwrap()),
        "07:00 New York (EDT) the next day"
    );
}

#[test]
fn holding_follows_writes_without_visiting_every_product() {
    let mut state = State::default();
    for i in 0..5 {
        state
            .products
            .insert(format!("p{i}"), ProductState::default());
    }
    assert!(state.products.holding().is_empty());
    let t = Utc.with_ymd_and_hms(2026, 3, 18, 14, 0, 0).unwrap();
    let held = HeldDeployment {
        request: DeploymentRequest {
            product: "p3".to_owned(),
            repo: "acme/p3".to_owned(),
            environment: "production".to_owned(),
            window: Some("production".to_owned()),
            callback_url: "https://api.github.example/callback".to_owned(),
            installation: 1,
            run_id: 42,
            sha: "abc1234".to_owned(),
            hold: true,
            hold_max_secs: 3600,
        },
        held_at: t,
        since: t,
        until: t + chrono::TimeDelta::hours(1),
    };
    state.products.get_mut("p3").unwrap().held.push(held);
    assert_eq!(state.products.holding(), vec!["p3".to_owned()]);
    // A copy keeps what it knew; a write that empties it is seen.
    let copy = state.clone();
    state.products.get_mut("p3").unwrap().held.clear();
    assert!(state.products.holding().is_empty());
    let mut copy = copy;
    assert_eq!(copy.products.holding(), vec!["p3".to_owned()]);
    // Read back from storage, the index is rebuilt.
    let json = serde_json::to_string(&copy.products).unwrap();
    let mut back: crate::engine::state::Products = serde_json::from_str(&json).unwrap();
    assert_eq!(back.holding(), vec!["p3".to_owned()]);
}
