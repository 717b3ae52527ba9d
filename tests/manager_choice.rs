#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The daily release manager, over many seeds: a random committer,
//! preferring the policy's time zone, skipping people who are away, and not
//! the last daily manager when anyone else qualifies.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use shipgate::engine::{Member, Policy, State, Team, pick_daily_manager};
use shipgate::sim::derive_seed;

const SEEDS: u64 = 2_000;

fn team() -> Team {
    let people = [
        ("ana", "America/New_York"),
        ("ben", "America/New_York"),
        ("carl", "America/New_York"),
        ("dora", "America/Toronto"), // same offset as New York: Eastern time
        ("clara", "Europe/Berlin"),
        ("dieter", "Europe/Berlin"),
        ("priya", "Asia/Kolkata"),
        ("ravi", "Asia/Kolkata"),
    ];
    Team {
        people: people
            .iter()
            .map(|(name, tz)| {
                (
                    (*name).to_owned(),
                    Member {
                        tz: tz.parse::<Tz>().unwrap(),
                        roles: vec!["engineer".to_owned()],
                    },
                )
            })
            .collect(),
        products: BTreeMap::from([("web".to_owned(), None)]),
        prefix: "!sg ".to_owned(),
        chat_ids: Default::default(),
    }
}

/// Tuesday 2026-04-14, 07:00 in New York.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 14, 11, 0, 0).unwrap()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// How often each person is picked over `SEEDS` seeds (derived the way
/// `simulate` derives per-decision seeds).
fn tally(committers: &[&str], state: &State, last: Option<&str>) -> BTreeMap<String, u64> {
    let team = team();
    let policy = Policy::default();
    let committers = names(committers);
    let mut counts = BTreeMap::new();
    for n in 0..SEEDS {
        let choice = pick_daily_manager(
            &committers,
            state,
            last,
            &team,
            &policy,
            now(),
            derive_seed(42, n),
        )
        .expect("someone is picked");
        assert!(committers.contains(&choice.person), "{choice:?}");
        assert!(choice.eligible.contains(&choice.person), "{choice:?}");
        *counts.entry(choice.person).or_insert(0) += 1;
    }
    counts
}

/// Pearson's chi-square statistic against a uniform spread over `expected`.
fn chi_square(counts: &BTreeMap<String, u64>, expected: &[&str]) -> f64 {
    let total: u64 = counts.values().sum();
    let e = total as f64 / expected.len() as f64;
    expected
        .iter()
        .map(|p| {
            let o = counts.get(*p).copied().unwrap_or(0) as f64;
            (o - e) * (o - e) / e
        })
        .sum()
}

/// Critical values of chi-square at p = 0.001 for 1..=4 degrees of freedom:
/// a fair pick fails this one run in a thousand.
fn chi_square_limit(people: usize) -> f64 {
    [10.83, 13.82, 16.27, 18.47][people - 2]
}

fn assert_uniform(counts: &BTreeMap<String, u64>, expected: &[&str]) {
    let picked: Vec<&str> = counts.keys().map(String::as_str).collect();
    let mut want = expected.to_vec();
    want.sort_unstable();
    assert_eq!(picked, want, "picked outside {expected:?}: {counts:?}");
    if expected.len() == 1 {
        return;
    }
    let chi = chi_square(counts, expected);
    assert!(
        chi < chi_square_limit(expected.len()),
        "not uniform (chi-square {chi:.2}): {counts:?}"
    );
}

#[test]
fn never_outside_the_preferred_zone_when_someone_is_in_it() {
    let everyone = [
        "ana", "ben", "carl", "dora", "clara", "dieter", "priya", "ravi",
    ];
    let eastern = ["ana", "ben", "carl", "dora"];
    // Every subset of committers with at least one Eastern person.
    for mask in 1u32..(1 << everyone.len()) {
        let committers: Vec<&str> = everyone
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, p)| *p)
            .collect();
        if !committers.iter().any(|c| eastern.contains(c)) {
            continue;
        }
        let team = team();
        let policy = Policy::default();
        let list = names(&committers);
        for n in 0..40 {
            let choice = pick_daily_manager(
                &list,
                &State::default(),
                None,
                &team,
                &policy,
                now(),
                derive_seed(u64::from(mask), n),
            )
            .unwrap();
            assert!(
                eastern.contains(&choice.person.as_str()),
                "{committers:?} -> {choice:?}"
            );
        }
    }
    let counts = tally(&everyone, &State::default(), None);
    assert_uniform(&counts, &eastern);
}

#[test]
fn preferred_committers_are_picked_uniformly() {
    let counts = tally(&["ana", "ben", "clara", "priya"], &State::default(), None);
    assert_uniform(&counts, &["ana", "ben"]);
    let counts = tally(&["ana", "ben", "carl", "priya"], &State::default(), None);
    assert_uniform(&counts, &["ana", "ben", "carl"]);
}

#[test]
fn with_nobody_in_the_preferred_zone_any_committer_is_picked_uniformly() {
    let counts = tally(&["clara", "dieter", "priya"], &State::default(), None);
    assert_uniform(&counts, &["clara", "dieter", "priya"]);
}

#[test]
fn the_preference_follows_the_offset_across_daylight_saving() {
    // 2026-03-10: New York is already on daylight time, Berlin not yet;
    // Toronto moved with New York, so dora still counts as Eastern.
    let team = team();
    let at = Utc.with_ymd_and_hms(2026, 3, 10, 11, 0, 0).unwrap();
    for n in 0..200 {
        let choice = pick_daily_manager(
            &names(&["dora", "clara", "priya"]),
            &State::default(),
            None,
            &team,
            &Policy::default(),
            at,
            n,
        )
        .unwrap();
        assert_eq!(choice.person, "dora");
    }
}

fn away(people: &[&str], until: NaiveDate) -> State {
    let mut state = State::default();
    for p in people {
        state.away.insert((*p).to_owned(), until);
    }
    state
}

#[test]
fn away_people_are_skipped() {
    let until = NaiveDate::from_ymd_opt(2026, 4, 14).unwrap();
    let counts = tally(
        &["ana", "ben", "carl", "clara"],
        &away(&["ana"], until),
        None,
    );
    assert_uniform(&counts, &["ben", "carl"]);
    // Every Eastern committer away: the others are picked.
    let counts = tally(&["ana", "clara", "priya"], &away(&["ana"], until), None);
    assert_uniform(&counts, &["clara", "priya"]);
    // Away until yesterday means back today.
    let yesterday = NaiveDate::from_ymd_opt(2026, 4, 13).unwrap();
    let counts = tally(&["ana", "clara"], &away(&["ana"], yesterday), None);
    assert_uniform(&counts, &["ana"]);
}

#[test]
fn when_everyone_is_away_anyone_may_be_picked() {
    let until = NaiveDate::from_ymd_opt(2026, 4, 20).unwrap();
    let state = away(&["ana", "ben", "clara"], until);
    let counts = tally(&["ana", "ben", "clara"], &state, None);
    // Nobody is present, so the zone preference applies to all of them.
    assert_uniform(&counts, &["ana", "ben"]);
    let choice = pick_daily_manager(
        &names(&["ana", "ben", "clara"]),
        &state,
        None,
        &team(),
        &Policy::default(),
        now(),
        1,
    )
    .unwrap();
    assert!(
        choice.why.contains("everyone who committed is away"),
        "{}",
        choice.why
    );
}

#[test]
fn the_last_daily_manager_is_not_picked_when_anyone_else_qualifies() {
    let counts = tally(
        &["ana", "ben", "carl", "clara"],
        &State::default(),
        Some("ana"),
    );
    assert_uniform(&counts, &["ben", "carl"]);
    // Only one Eastern committer, and they managed last time: the zone
    // preference (the process's own rule) wins over not repeating.
    let counts = tally(&["ana", "clara", "priya"], &State::default(), Some("ana"));
    assert_eq!(counts.get("ana"), Some(&SEEDS));
    // Two Eastern committers: the one who did not manage last time.
    let counts = tally(&["ana", "ben", "clara"], &State::default(), Some("ana"));
    assert_eq!(counts.get("ben"), Some(&SEEDS));
    // Nobody else qualifies: the same person again.
    let counts = tally(&["ana"], &State::default(), Some("ana"));
    assert_eq!(counts.get("ana"), Some(&SEEDS));
    // The only other committer is away: the same person again.
    let until = NaiveDate::from_ymd_opt(2026, 4, 14).unwrap();
    let counts = tally(&["ana", "ben"], &away(&["ben"], until), Some("ana"));
    assert_eq!(counts.get("ana"), Some(&SEEDS));
}

#[test]
fn repeats_are_allowed_when_the_policy_says_so() {
    let policy = Policy {
        avoid_repeat: false,
        ..Policy::default()
    };
    let team = team();
    let picks: Vec<String> = (0..SEEDS)
        .map(|n| {
            pick_daily_manager(
                &names(&["ana", "ben"]),
                &State::default(),
                Some("ana"),
                &team,
                &policy,
                now(),
                n,
            )
            .unwrap()
            .person
        })
        .collect();
    assert!(picks.iter().any(|p| p == "ana"));
    assert!(picks.iter().any(|p| p == "ben"));
}

#[test]
fn the_choice_is_a_function_of_the_seed_and_explains_itself() {
    let team = team();
    let pick = |seed| {
        pick_daily_manager(
            &names(&["ben", "ana", "ana", "clara"]),
            &State::default(),
            None,
            &team,
            &Policy::default(),
            now(),
            seed,
        )
        .unwrap()
    };
    for seed in 0..100 {
        assert_eq!(pick(seed), pick(seed));
    }
    let c = pick(7);
    assert_eq!(c.eligible, names(&["ana", "ben"]));
    assert!(c.why.contains("seed 7"), "{}", c.why);
    assert!(c.why.contains("America/New_York"), "{}", c.why);
    assert!(
        pick_daily_manager(
            &[],
            &State::default(),
            None,
            &team,
            &Policy::default(),
            now(),
            0
        )
        .is_none()
    );
}
