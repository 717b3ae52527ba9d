//! `shipgate simulate`: replay a script of events on a fresh database with
//! a virtual clock. Time moves to each event's `at`, firing every timer
//! that falls due on the way through the ledger's catch-up, the daemon's
//! own ([`Ledger::catch_up`]). Same input and seed, same output.

pub mod input;
pub mod transcript;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::engine::{Context, Effect};
use crate::ledger::{Applied, Ledger, LedgerError, to_event_indexed};
use crate::rules::RuleSet;
use crate::store::Store;
use crate::team::team_from_config;
use input::Line;

/// One simulated effect, or one input line (for the transcript).
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Input(Line),
    Effect { at: DateTime<Utc>, effect: Effect },
}

pub use crate::ledger::derive_seed;

/// Runs a parsed script. The store is a fresh in-memory SQLite database.
pub fn run(
    config: &Config,
    rules: &RuleSet,
    lines: &[Line],
    seed: u64,
) -> Result<Vec<Entry>, LedgerError> {
    let mut ledger = Ledger::open(Store::open_in_memory()?)?;
    // Audit rows carry the rules version, as the daemon's do.
    let sources: Vec<(&str, &str)> = rules
        .sources
        .iter()
        .map(|s| (s.name.as_str(), &*s.text))
        .collect();
    ledger.set_rules_version(Some(crate::store::rules_hash(&sources)));
    let team = team_from_config(config);
    let products = crate::team::ProductIndex::new(config);
    let mut out = Vec::new();
    for line in lines {
        // Fire every timer due up to and including this line's time: the
        // daemon's catch-up.
        ledger.catch_up(rules, &team, line.at, seed, |at, applied| {
            if let Applied::New { effects, .. } = applied {
                out.extend(effects.iter().map(|effect| Entry::Effect {
                    at,
                    effect: effect.clone(),
                }));
            }
        })?;
        let event = to_event_indexed(config, &products, line.what.input())
            .map_err(|e| LedgerError::Input(format!("line {}: {e}", line.number)))?;
        out.push(Entry::Input(line.clone()));
        let ctx = Context {
            rules,
            team: &team,
            now: line.at,
            seed: ledger.next_seed(seed),
        };
        let key = format!("sim:line:{}", line.number);
        if let Applied::New { effects, .. } = ledger.apply(&ctx, &key, &event)? {
            out.extend(effects.into_iter().map(|effect| Entry::Effect {
                at: line.at,
                effect,
            }));
        }
    }
    Ok(out)
}

/// One JSON object for an effect: `{"at": ..., "<kind>": {...}}`.
pub fn effect_json(at: DateTime<Utc>, effect: &Effect) -> Value {
    let mut map = Map::new();
    map.insert("at".to_owned(), Value::String(crate::timefmt::utc(at)));
    if let Ok(Value::Object(inner)) = serde_json::to_value(effect) {
        for (k, v) in inner {
            map.insert(k, v);
        }
    }
    Value::Object(map)
}
