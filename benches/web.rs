//! `/` render time (docs/benchmarks.md): the dashboard of 50 products, each
//! with an RC in flight (8 changes in every state), 5 merged changes
//! waiting, and 20 closed RCs of history, rendered from the daemon's
//! in-memory state exactly as `GET /` does (gate decisions, explanations,
//! the askama template), without the socket. Prints p50/p99/max over
//! `SHIPGATE_BENCH_RENDERS` renders (2,000) after 200 warm-up renders.
//!
//! `cargo bench --bench web`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Instant;

use askama::Template;
use chrono::{DateTime, TimeDelta, Utc};
use shipgate::config::Config;
use shipgate::daemon::http::web::view;
use shipgate::daemon::shared::ActiveRules;
use shipgate::engine::state::{Change, ClosedRc, ProductState, Rc, RcChange};
use shipgate::engine::{RcState, State, Trigger};

const PRODUCTS: usize = 50;
const HISTORY: usize = 20;

fn main() {
    let renders: usize = std::env::var("SHIPGATE_BENCH_RENDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let products: Vec<String> = (0..PRODUCTS)
        .map(|i| format!("(name: \"product-{i:02}\", repos: [\"acme/p{i}\"])"))
        .collect();
    let text = format!(
        "(database: \"x.db\", products: [{}], people: [(name: \"ana\", timezone: \"America/New_York\", git: [\"ana@acme.example\"])])",
        products.join(", ")
    );
    let config = Config::from_str(&text, Path::new("/tmp/shipgate.ron")).unwrap();
    let team = shipgate::team::team_from_config(&config);
    let set = shipgate::rules::defaults().unwrap();
    let rules = ActiveRules {
        set,
        hash: "0123456789abcdef".to_owned(),
        origin: "the embedded defaults".to_owned(),
    };
    let now: DateTime<Utc> = "2026-03-13T13:30:00Z".parse().unwrap();
    let mut state = State::default();
    for p in &config.products {
        let change = |i: usize| Change {
            id: format!("#{i}"),
            author: "ana".to_owned(),
            title: format!("Change number {i} with a <title> & some length to it"),
            merged_at: now - TimeDelta::hours(3),
            verifier: None,
        };
        let ps = ProductState {
            pool: (100..105).map(change).collect(),
            current: Some(Rc {
                id: 99,
                trigger: Trigger::Daily,
                urgent: false,
                manager: "ana".to_owned(),
                reason: None,
                cut_at: now - TimeDelta::hours(2),
                state: RcState::Open,
                ci: None,
                changes: (0..8)
                    .map(|i| RcChange {
                        change: change(i),
                        verifier: if i % 3 == 0 { "ben" } else { "ana" }.to_owned(),
                        verified_at: (i % 2 == 0).then_some(now),
                        reminders: u32::try_from(i % 3).unwrap(),
                        last_reminded: None,
                        escalated: false,
                    })
                    .collect(),
            }),
            history: (0..HISTORY)
                .map(|i| ClosedRc {
                    id: u64::try_from(i).unwrap(),
                    state: RcState::Released,
                    manager: "ana".to_owned(),
                    closed_at: now - TimeDelta::days(i64::try_from(HISTORY - i).unwrap()),
                    changes: 4,
                    breaches: Vec::new(),
                })
                .collect(),
            ..ProductState::default()
        };
        state.products.insert(p.name.clone(), ps);
    }
    let input = view::Input {
        config: &config,
        team: &team,
        rules: &rules,
        state: &state,
        now,
        tz: None,
        reload: None,
    };
    let render = || view::dashboard(&input).render().unwrap();
    let size = render().len();
    for _ in 0..200 {
        std::hint::black_box(render());
    }
    let mut times = Vec::with_capacity(renders);
    for _ in 0..renders {
        let t = Instant::now();
        std::hint::black_box(render());
        times.push(t.elapsed());
    }
    times.sort_unstable();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "web: `/` with {PRODUCTS} products x {HISTORY} RCs of history ({size} bytes of HTML), {renders} renders: p50 {:?}, p99 {:?}, max {:?}",
        pct(0.50),
        pct(0.99),
        times[times.len() - 1]
    );
}
