//! What the shell hands the core, and the one place it becomes an engine
//! event. HTTP (`/api/events`, webhooks), the console, the chat adapters
//! and `simulate` all build an [`Input`] and call [`to_event`], which
//! turns product and person names typed in any case into the config's
//! spelling (names are unique ignoring case), and reads a chat message's
//! text into a typed command ([`Said`]) once, so the engine never parses.
//! An unknown product is an error here, never an event the engine would
//! drop.
//!
//! The JSON shapes ([`Merged`], [`Chat`], [`Ci`]) are the lines of
//! `/api/events` and of a `simulate` script.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::command::Said;
use crate::config::Config;
use crate::engine::{CiStatus, Event};

/// A merged change (`{"merged": {...}}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merged {
    pub product: String,
    pub change: String,
    /// A person's name, a git email or login.
    pub author: String,
    #[serde(default)]
    pub title: String,
}

/// A chat line as typed (`{"chat": {...}}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chat {
    pub product: String,
    pub from: String,
    pub text: String,
}

/// A CI report on an RC (`{"ci": {...}}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ci {
    pub product: String,
    pub rc: u64,
    pub status: CiStatus,
}

/// A chat message as an adapter (Matrix, Discord, the console, ...) hands
/// it in: the product its channel belongs to and who sent it (config
/// names, any case), the text, the platform's message id, and, for a
/// message read on catch-up after a restart, when it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub product: String,
    pub from: String,
    pub text: String,
    pub message_id: Option<String>,
    /// Set when the message was read on catch-up: it becomes
    /// [`Event::MissedChat`], answered only while younger than
    /// `chat.catch_up_max_age`.
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Chat> for ChatMessage {
    fn from(c: Chat) -> Self {
        ChatMessage {
            product: c.product,
            from: c.from,
            text: c.text,
            message_id: None,
            sent_at: None,
        }
    }
}

/// Everything the shell hands the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Merged(Merged),
    Chat(ChatMessage),
    Ci(Ci),
    /// Only time passes (due timers fire).
    Clock,
}

/// The engine event for `input`, names in the config's spelling: the
/// product must be known (else the error lists the products); a merge's
/// author is mapped from a git identity or name to the person (else kept
/// as given); a chat author is a person's name in any case (else kept as
/// given, and the engine answers "I don't know ..."); a chat message's
/// text is read into a typed [`Said`] (a command, a command that could not
/// be read, or nothing for shipgate) with the config's prefix.
pub fn to_event(config: &Config, input: Input) -> Result<Event, String> {
    convert(config, input, |p| crate::team::product_name(config, p))
}

/// [`to_event`] with the product names looked up in `products`, an index
/// built once from the same config: the cost of a name does not grow
/// with the number of products (`simulate` builds one per run).
pub fn to_event_indexed(
    config: &Config,
    products: &crate::team::ProductIndex<'_>,
    input: Input,
) -> Result<Event, String> {
    convert(config, input, |p| {
        products
            .get(p)
            .ok_or_else(|| crate::team::unknown_product(config, p))
    })
}

fn convert<'c>(
    config: &'c Config,
    input: Input,
    find_product: impl Fn(&str) -> Result<&'c str, String>,
) -> Result<Event, String> {
    let product = |p: &str| find_product(p).map(str::to_owned);
    Ok(match input {
        Input::Merged(m) => Event::Merged {
            product: product(&m.product)?,
            author: crate::team::author_name(config, &m.author),
            change: m.change,
            title: m.title,
        },
        Input::Ci(c) => Event::Ci {
            product: product(&c.product)?,
            rc: c.rc,
            status: c.status,
        },
        Input::Chat(c) => {
            let product = product(&c.product)?;
            let from = crate::team::chat_author(config, &c.from);
            let said = read_chat(config, &c.text);
            match c.sent_at {
                None => Event::Chat {
                    product,
                    from,
                    text: c.text,
                    message_id: c.message_id,
                    said,
                },
                Some(sent_at) => Event::MissedChat {
                    product,
                    from,
                    text: c.text,
                    message_id: c.message_id,
                    sent_at,
                    max_age_secs: config.chat.catch_up_max_age,
                    said,
                },
            }
        }
        Input::Clock => Event::Tick,
    })
}

/// What a chat message says, read with the config's prefix: the one place
/// chat text becomes a command.
pub fn read_chat(config: &Config, text: &str) -> Said {
    crate::command::read(text, &crate::command::invocation(&config.prefix))
}

/// A JSON error on an input line as `line 3, column 47: EOF while parsing
/// an object`: the line is the caller's, so serde's own "at line 1 column
/// 47" (of the one-line text it was given) is dropped.
pub fn json_error(number: usize, e: &serde_json::Error) -> String {
    let full = e.to_string();
    let inner = format!(" at line {} column {}", e.line(), e.column());
    match full.strip_suffix(&inner) {
        Some(message) => format!("line {number}, column {}: {message}", e.column()),
        None => format!("line {number}: {full}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn config() -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shipgate.ron");
        std::fs::write(
            &path,
            "(products: [(name: \"web\"), (name: \"Payments\")], \
             people: [(name: \"eli\", timezone: \"UTC\", git: [\"eli@acme.example\"]), \
             (name: \"hans\", timezone: \"UTC\")])",
        )
        .unwrap();
        Config::load(&path).unwrap()
    }

    fn chat(product: &str, from: &str) -> Input {
        Input::Chat(ChatMessage {
            product: product.to_owned(),
            from: from.to_owned(),
            text: "!sg status".to_owned(),
            message_id: Some("m1".to_owned()),
            sent_at: None,
        })
    }

    /// The index `simulate` uses finds exactly what the scan finds, and
    /// gives the same error for an unknown product.
    #[test]
    fn the_product_index_agrees_with_the_scan() {
        let config = config();
        let index = crate::team::ProductIndex::new(&config);
        for typed in [
            "web", "WEB", " Web ", "payments", "PAYMENTS", "Payments", "pay", "", "wéb",
        ] {
            let input = || {
                Input::Ci(Ci {
                    product: typed.to_owned(),
                    rc: 1,
                    status: CiStatus::Released,
                })
            };
            assert_eq!(
                to_event_indexed(&config, &index, input()),
                to_event(&config, input()),
                "{typed:?}"
            );
            assert_eq!(
                index.get(typed),
                crate::team::product_name(&config, typed).ok(),
                "{typed:?}"
            );
        }
        assert_eq!(index.get("PAYMENTS"), Some("Payments"));
        assert_eq!(index.get("nope"), None);
    }

    /// Every entry point hands names in any case; the event carries the
    /// config's spelling.
    #[test]
    fn names_in_any_case_become_the_configs_spelling() {
        let config = config();
        let merged = to_event(
            &config,
            Input::Merged(Merged {
                product: "WEB".to_owned(),
                change: "#1".to_owned(),
                author: "ELI@acme.example".to_owned(),
                title: String::new(),
            }),
        )
        .unwrap();
        assert!(
            matches!(&merged, Event::Merged { product, author, .. } if product == "web" && author == "eli"),
            "{merged:?}"
        );
        let said = to_event(&config, chat("payments", "Eli")).unwrap();
        assert!(
            matches!(&said, Event::Chat { product, from, .. } if product == "Payments" && from == "eli"),
            "{said:?}"
        );
        let ci = to_event(
            &config,
            Input::Ci(Ci {
                product: "wEb".to_owned(),
                rc: 1,
                status: CiStatus::Built,
            }),
        )
        .unwrap();
        assert!(
            matches!(&ci, Event::Ci { product, .. } if product == "web"),
            "{ci:?}"
        );
    }

    /// An unknown product is refused here, never handed to the engine
    /// (which would drop it); an unknown sender is kept for the engine to
    /// answer.
    #[test]
    fn an_unknown_product_is_an_error_and_an_unknown_sender_is_kept() {
        let config = config();
        let err = to_event(&config, chat("shop", "eli")).unwrap_err();
        assert!(err.contains("unknown product `shop`"), "{err}");
        let said = to_event(&config, chat("web", "Zed")).unwrap();
        assert!(
            matches!(&said, Event::Chat { from, .. } if from == "Zed"),
            "{said:?}"
        );
    }

    /// A message read on catch-up is a missed chat with the config's age
    /// limit.
    #[test]
    fn a_message_read_on_catch_up_is_a_missed_chat() {
        let config = config();
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-09T13:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let input = Input::Chat(ChatMessage {
            sent_at: Some(at),
            ..match chat("Web", "HANS") {
                Input::Chat(c) => c,
                _ => unreachable!(),
            }
        });
        let e = to_event(&config, input).unwrap();
        assert!(
            matches!(&e, Event::MissedChat { product, from, sent_at, max_age_secs, .. }
                if product == "web" && from == "hans" && *sent_at == at
                    && *max_age_secs == config.chat.catch_up_max_age),
            "{e:?}"
        );
    }
}
