//! The ledger looks for the team's products once per config generation;
//! a product an event names is created on the spot even when the team
//! changed without a new generation (a reload racing the writer).

#![allow(clippy::unwrap_used, clippy::panic)]

use chrono::{NaiveDate, TimeZone, Utc};

use super::Ledger;
use crate::engine::{Context, Event, Member, Team};
use crate::rules::{self, Source};
use crate::store::Store;

fn team(products: &[&str]) -> Team {
    Team {
        people: [(
            "ana".to_owned(),
            Member {
                tz: chrono_tz::America::New_York,
                roles: vec!["engineer".to_owned()],
            },
        )]
        .into(),
        products: products.iter().map(|p| ((*p).to_owned(), None)).collect(),
        prefix: "!sg ".to_owned(),
        chat_ids: Default::default(),
    }
}

fn merged(product: &str, change: &str) -> Event {
    Event::Merged {
        product: product.to_owned(),
        change: change.to_owned(),
        author: "ana".to_owned(),
        title: "a change".to_owned(),
    }
}

#[test]
fn new_products_get_their_daily_clock_whichever_way_they_arrive() {
    let rules = rules::compile(vec![Source::new(
        rules::DEFAULT_RULES_NAME,
        rules::DEFAULT_RULES,
    )])
    .unwrap();
    // Wednesday 2026-03-18, 10:00 New York: today's 07:00 slot has passed.
    let now = Utc.with_ymd_and_hms(2026, 3, 18, 14, 0, 0).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 3, 18);
    let mut ledger = Ledger::open(Store::open_in_memory().unwrap()).unwrap();
    let apply = |ledger: &mut Ledger, team: &Team, key: &str, event: &Event| {
        let ctx = Context {
            rules: &rules,
            team,
            now,
            seed: 1,
        };
        ledger.apply(&ctx, key, event).unwrap();
    };

    let one = team(&["web"]);
    apply(&mut ledger, &one, "e1", &merged("web", "#1"));
    assert_eq!(ledger.state().products["web"].last_daily, today);

    // Same generation, a team with two more products (a reload the ledger
    // was not told about yet): the event's product is created with its
    // clock; the product nobody named waits for the next generation.
    let three = team(&["web", "api", "ios"]);
    apply(&mut ledger, &three, "e2", &merged("api", "#2"));
    assert_eq!(ledger.state().products["api"].last_daily, today);
    assert!(!ledger.state().products.contains_key("ios"));

    // Told of the new generation, the ledger finds the missing product at
    // the next event, whatever it is about.
    ledger.set_config_generation(1);
    apply(&mut ledger, &three, "e3", &merged("web", "#3"));
    assert_eq!(ledger.state().products["ios"].last_daily, today);

    // A duplicate key stores nothing and creates nothing.
    let four = team(&["web", "api", "ios", "mac"]);
    ledger.set_config_generation(2);
    apply(&mut ledger, &four, "e3", &merged("web", "#3"));
    assert!(!ledger.state().products.contains_key("mac"));
    apply(&mut ledger, &four, "e4", &merged("web", "#4"));
    assert_eq!(ledger.state().products["mac"].last_daily, today);
}
