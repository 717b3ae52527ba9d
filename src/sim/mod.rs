//! `shipgate simulate`: replay a script of events on a fresh database with
//! a virtual clock. Time moves to each event's `at`, firing every timer
//! that falls due on the way. Same input and seed, same output.

pub mod input;
pub mod transcript;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::engine::{Context, Effect, Event, next_due};
use crate::ledger::{Applied, Ledger, LedgerError};
use crate::rules::RuleSet;
use crate::store::Store;
use crate::team::{author_name, team_from_config};
use input::{Line, What};

/// One simulated effect, or one input line (for the transcript).
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Input(Line),
    Effect { at: DateTime<Utc>, effect: Effect },
}

/// The seed of the `n`th decision from the run's seed (splitmix64), so
/// each decision has its own recorded seed.
pub fn derive_seed(base: u64, n: u64) -> u64 {
    let mut z = base.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs a parsed script. The store is a fresh in-memory SQLite database.
pub fn run(
    config: &Config,
    rules: &RuleSet,
    lines: &[Line],
    seed: u64,
) -> Result<Vec<Entry>, LedgerError> {
    let mut ledger = Ledger::open(Store::open_in_memory()?)?;
    let team = team_from_config(config);
    let mut out = Vec::new();
    let mut n: u64 = 0;
    // The virtual clock never goes back: a timer that became due in the
    // past (say, a reminder held while someone was away) fires now.
    let mut clock: Option<DateTime<Utc>> = None;
    for line in lines {
        // Fire every timer due up to and including this line's time.
        while let Some(due) = next_due(ledger.state(), rules, &team)
            && due <= line.at
        {
            let due = clock.map_or(due, |c| due.max(c));
            clock = Some(due);
            n += 1;
            let ctx = Context {
                rules,
                team: &team,
                now: due,
                seed: derive_seed(seed, n),
            };
            let key = format!("sim:tick:{n}");
            if let Applied::New { effects, .. } = ledger.apply(&ctx, &key, &Event::Tick)? {
                out.extend(
                    effects
                        .into_iter()
                        .map(|effect| Entry::Effect { at: due, effect }),
                );
            }
        }
        let event = match &line.what {
            What::Merged(m) => Event::Merged {
                product: m.product.clone(),
                change: m.change.clone(),
                author: author_name(config, &m.author),
                title: m.title.clone(),
            },
            What::Chat(c) => Event::Chat {
                product: c.product.clone(),
                from: c.from.clone(),
                text: c.text.clone(),
                message_id: None,
            },
            What::Ci(c) => Event::Ci {
                product: c.product.clone(),
                rc: c.rc,
                status: c.status,
            },
            What::Clock => Event::Tick,
        };
        out.push(Entry::Input(line.clone()));
        clock = Some(line.at);
        n += 1;
        let ctx = Context {
            rules,
            team: &team,
            now: line.at,
            seed: derive_seed(seed, n),
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
