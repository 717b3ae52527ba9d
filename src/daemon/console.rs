//! The console adapter's input side: stdin lines become chat events from
//! the configured person (switchable with `/as`), in the configured
//! product (switchable with `/product`).

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::shared::Shared;
use crate::chat::console::{CONSOLE_HELP, ConsoleLine, parse_line};
use crate::engine::CiStatus;
use crate::ledger::input::{ChatMessage, Ci, Input, Merged};
use crate::ledger::to_event;

fn say(text: &str) {
    println!("{text}");
}

/// Reads stdin on a plain thread: a read parked in tokio's blocking pool
/// would keep the runtime, and so the process, from exiting on SIGTERM
/// while stdin stays open. The channel closes at end of input.
fn stdin_lines() -> mpsc::Receiver<std::io::Result<String>> {
    use std::io::BufRead as _;
    let (tx, rx) = mpsc::channel(64);
    let spawned = std::thread::Builder::new()
        .name("console-stdin".to_owned())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let failed = line.is_err();
                if tx.blocking_send(line).is_err() || failed {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the console reader");
    }
    rx
}

/// Reads stdin until EOF (then asks the daemon to stop) or shutdown.
pub async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let Some(console) = shared.config().console.clone() else {
        return;
    };
    let mut person = crate::team::chat_author(&shared.config(), &console.person);
    let mut product = crate::team::product_name(&shared.config(), &console.product)
        .map_or_else(|_| console.product.clone(), str::to_owned);
    // Typed lines are keyed per run; the random part keeps two runs that
    // start at the same instant (a manual clock) from sharing keys, which
    // would drop the second run's lines as duplicates.
    let session = format!(
        "{}-{:08x}",
        shared.clock.now().timestamp_millis(),
        rand::random::<u32>()
    );
    let mut lines = stdin_lines();
    let mut n: u64 = 0;
    say(&format!(
        "shipgate console: you are {person}, in {product}. Type `{}help` for commands, `/help` for console commands.",
        shared.config().prefix
    ));
    loop {
        let line = tokio::select! {
            () = shutdown.cancelled() => return,
            l = lines.recv() => l,
        };
        let line = match line {
            Some(Ok(l)) => l,
            None => {
                tracing::info!("stdin closed: stopping");
                shutdown.cancel();
                return;
            }
            Some(Err(e)) => {
                tracing::error!(error = %e, "cannot read stdin");
                shutdown.cancel();
                return;
            }
        };
        n += 1;
        let key = format!("console:{session}:{n}");
        let input = match parse_line(&line) {
            ConsoleLine::Nothing => continue,
            ConsoleLine::Help => {
                say(CONSOLE_HELP);
                continue;
            }
            ConsoleLine::Bad(why) => {
                say(&format!("console: {why}"));
                continue;
            }
            // Names in any case; the config's spelling from then on.
            ConsoleLine::As(who) => {
                match crate::team::person_name(&shared.config(), &who) {
                    Ok(name) => {
                        name.clone_into(&mut person);
                        say(&format!("console: you are now {person}"));
                    }
                    Err(e) => say(&format!("console: {e}")),
                }
                continue;
            }
            ConsoleLine::Product(p) => {
                match crate::team::product_name(&shared.config(), &p) {
                    Ok(name) => {
                        name.clone_into(&mut product);
                        say(&format!("console: now in {product}"));
                    }
                    Err(e) => say(&format!("console: {e}")),
                }
                continue;
            }
            ConsoleLine::Merge { change, title } => {
                say(&format!(
                    "console: {change} merged to {product} by {person}"
                ));
                Input::Merged(Merged {
                    product: product.clone(),
                    change,
                    author: person.clone(),
                    title,
                })
            }
            ConsoleLine::Ci { rc, status } => {
                let status = match status.as_str() {
                    "built" => CiStatus::Built,
                    "deployed" => CiStatus::Deployed,
                    "failed" => CiStatus::Failed,
                    "released" => CiStatus::Released,
                    other => {
                        say(&format!(
                            "console: `{other}` is not a CI status: built, deployed, failed or released"
                        ));
                        continue;
                    }
                };
                // Without a number, the RC in flight; a report about an RC
                // that is not in flight is said so here (the engine only
                // audits it).
                let in_flight = shared
                    .state
                    .load()
                    .products
                    .get(&product)
                    .and_then(|p| p.current.as_ref())
                    .map(|rc| rc.id);
                let rc = match (rc, in_flight) {
                    (None, Some(id)) => id,
                    (None, None) => {
                        say(&format!("console: no RC is in flight in {product}"));
                        continue;
                    }
                    (Some(n), Some(id)) if n == id => n,
                    (Some(n), Some(id)) => {
                        say(&format!(
                            "console: RC #{n} is not in flight in {product} (RC #{id} is); the report changes nothing"
                        ));
                        n
                    }
                    (Some(n), None) => {
                        say(&format!(
                            "console: RC #{n} is not in flight in {product} (no RC is); the report changes nothing"
                        ));
                        n
                    }
                };
                Input::Ci(Ci {
                    product: product.clone(),
                    rc,
                    status,
                })
            }
            ConsoleLine::Say(text) => Input::Chat(ChatMessage {
                product: product.clone(),
                from: person.clone(),
                text,
                // A terminal line cannot be replied to: answers are printed
                // in order, with no "done" reply before an announcement.
                // The line is de-duplicated by `key`, not by this id.
                message_id: None,
                sent_at: None,
            }),
        };
        // The ledger's one conversion (names already in the config's
        // spelling here; a product the config lacks is said so).
        let event = match to_event(&shared.config(), input) {
            Ok(e) => e,
            Err(e) => {
                say(&format!("console: {e}"));
                continue;
            }
        };
        if let Err(e) = shared.submit(vec![(key, event)]).await {
            say(&format!("console: {e}"));
        }
    }
}
