//! The console adapter's input side: stdin lines become chat events from
//! the configured person (switchable with `/as`), in the configured
//! product (switchable with `/product`).

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::shared::Shared;
use crate::chat::console::{CONSOLE_HELP, ConsoleLine, parse_line};
use crate::engine::{CiStatus, Event};

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
    let Some(console) = shared.config.console.clone() else {
        return;
    };
    let mut person = console.person.clone();
    let mut product = console.product.clone();
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
        shared.config.prefix
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
        let event = match parse_line(&line) {
            ConsoleLine::Nothing => continue,
            ConsoleLine::Help => {
                say(CONSOLE_HELP);
                continue;
            }
            ConsoleLine::Bad(why) => {
                say(&format!("console: {why}"));
                continue;
            }
            ConsoleLine::As(who) => {
                if shared.config.person(&who).is_some() {
                    person = who;
                    say(&format!("console: you are now {person}"));
                } else {
                    let names: Vec<&str> = shared
                        .config
                        .people
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect();
                    say(&format!(
                        "console: nobody called `{who}`; the team is {}",
                        names.join(", ")
                    ));
                }
                continue;
            }
            ConsoleLine::Product(p) => {
                if shared.config.product(&p).is_some() {
                    product = p;
                    say(&format!("console: now in {product}"));
                } else {
                    let names: Vec<&str> = shared
                        .config
                        .products
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect();
                    say(&format!(
                        "console: no product `{p}`; the products are {}",
                        names.join(", ")
                    ));
                }
                continue;
            }
            ConsoleLine::Merge { change, title } => {
                say(&format!(
                    "console: {change} merged to {product} by {person}"
                ));
                Event::Merged {
                    product: product.clone(),
                    change,
                    author: person.clone(),
                    title,
                }
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
                Event::Ci {
                    product: product.clone(),
                    rc,
                    status,
                }
            }
            ConsoleLine::Say(text) => Event::Chat {
                product: product.clone(),
                from: person.clone(),
                text,
                message_id: Some(key.clone()),
            },
        };
        if let Err(e) = shared.submit(vec![(key, event)]).await {
            say(&format!("console: {e}"));
        }
    }
}
