//! Events read back from the event log. Each event is stored as the JSON
//! of [`Event`]; a chat message stores its text and what it says (the
//! typed [`crate::command::Said`] read at the edge), so it is decided the
//! same way when read again whatever the prefix is by then. Chat messages
//! stored before that (text only) are read here with the prefix given, as
//! the engine read them when they were decided.

use crate::engine::Event;

/// The event stored as `json`, in today's shape. `prefix` (the team's, as
/// [`crate::command::invocation`] writes it) reads chat messages stored
/// by a shipgate that kept only their text.
pub fn stored_event(json: &str, prefix: &str) -> Result<Event, serde_json::Error> {
    let mut value: serde_json::Value = serde_json::from_str(json)?;
    for kind in ["chat", "missed_chat"] {
        if let Some(chat) = value.get_mut(kind).and_then(|c| c.as_object_mut())
            && !chat.contains_key("said")
        {
            let text = chat
                .get("text")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            let said = serde_json::to_value(crate::command::read(text, prefix))?;
            chat.insert("said".to_owned(), said);
        }
    }
    serde_json::from_value(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use chrono::{DateTime, TimeDelta, Utc};

    use super::stored_event;
    use crate::command::{Command, Said};
    use crate::config::Config;
    use crate::engine::{self, Context, Event, State};
    use crate::ledger::input::{ChatMessage, Merged};
    use crate::ledger::{Applied, Input, Ledger, to_event};
    use crate::store::Store;

    fn config(dir: &std::path::Path) -> Config {
        let path = dir.join("shipgate.ron");
        std::fs::write(
            &path,
            "(prefix: \"sg:\", products: [(name: \"web\")], \
             people: [(name: \"ana\", timezone: \"UTC\"), (name: \"ben\", timezone: \"UTC\")])",
        )
        .unwrap();
        Config::load(&path).unwrap()
    }

    fn chat(from: &str, text: &str, sent_at: Option<DateTime<Utc>>) -> Input {
        Input::Chat(ChatMessage {
            product: "web".to_owned(),
            from: from.to_owned(),
            text: text.to_owned(),
            message_id: Some(format!("m-{text}")),
            sent_at,
        })
    }

    /// A chat event as older versions stored it (no `said`) reads back as
    /// the event `to_event` makes today.
    #[test]
    fn a_chat_event_stored_the_old_way_reads_as_today() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let prefix = crate::command::invocation(&config.prefix);
        let old = r#"{"chat":{"product":"web","from":"ana","text":"sg: rc request one","message_id":"m1"}}"#;
        let event = stored_event(old, &prefix).unwrap();
        let Event::Chat { said, text, .. } = &event else {
            panic!("{event:?}");
        };
        assert_eq!(text, "sg: rc request one");
        assert_eq!(
            said,
            &Said::Command(Command::RcRequest {
                urgent: false,
                reason: "one".to_owned()
            })
        );
        let mut today = to_event(&config, chat("ana", "sg: rc request one", None)).unwrap();
        if let Event::Chat { message_id, .. } = &mut today {
            *message_id = Some("m1".to_owned());
        }
        assert_eq!(event, today);
        // Today's shape reads back as itself, whatever the prefix is now.
        let json = serde_json::to_string(&today).unwrap();
        assert!(
            json.contains(r#""said":{"command":{"rc_request""#),
            "{json}"
        );
        assert_eq!(stored_event(&json, "!other ").unwrap(), today);
        // Not JSON of an event: an error, not a guess.
        assert!(stored_event(r#"{"chat":{"product":"web"}}"#, &prefix).is_err());
    }

    /// A database whose chat events are stored the old way (text only)
    /// replays to the same state and the same answers as the ledger
    /// decided when it stored them.
    #[test]
    fn a_database_with_old_chat_events_replays_to_the_same_state() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let team = crate::team::team_from_config(&config);
        let rules = crate::rules::defaults().unwrap();
        let db = dir.path().join("shipgate.db");
        let start = DateTime::parse_from_rfc3339("2026-03-10T14:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let inputs = [
            Input::Merged(Merged {
                product: "web".to_owned(),
                change: "#1".to_owned(),
                author: "ben".to_owned(),
                title: "One".to_owned(),
            }),
            chat("ana", "sg: rc request one", None),
            chat("ben", "sg: verfy #1", None),
            chat("ben", "good morning", None),
            chat("Ben", "sg: verify all", None),
            chat("ana", "sg: status", Some(start)),
        ];
        let mut decided = Vec::new();
        let mut ledger = Ledger::open(Store::open(&db).unwrap()).unwrap();
        for (i, input) in inputs.into_iter().enumerate() {
            let ctx = Context {
                rules: &rules,
                team: &team,
                now: start + TimeDelta::minutes(i64::try_from(i).unwrap()),
                seed: 7,
            };
            let event = to_event(&config, input).unwrap();
            match ledger.apply(&ctx, &format!("k{i}"), &event).unwrap() {
                Applied::New { effects, .. } => decided.push(effects),
                Applied::Duplicate { .. } => panic!("k{i} is new"),
            }
        }
        let want = ledger.state().clone();
        drop(ledger);
        // What an older shipgate stored: the text without `said`.
        let conn = rusqlite::Connection::open(&db).unwrap();
        let changed = conn
            .execute(
                "UPDATE events SET event_json = \
                 json_remove(event_json, '$.chat.said', '$.missed_chat.said') \
                 WHERE kind = 'chat'",
                [],
            )
            .unwrap();
        assert_eq!(changed, 5);
        drop(conn);

        let store = Store::open(&db).unwrap();
        let prefix = crate::command::invocation(&config.prefix);
        let mut state = State::default();
        for (stored, effects) in store.events_since(0, 100).unwrap().iter().zip(&decided) {
            if stored.kind == "chat" {
                assert!(!stored.event_json.contains("said"), "{}", stored.event_json);
            }
            let event = stored_event(&stored.event_json, &prefix).unwrap();
            let ctx = Context {
                rules: &rules,
                team: &team,
                now: stored.at,
                seed: 7,
            };
            let outcome = engine::handle(&state, &ctx, &event);
            assert_eq!(&outcome.effects, effects, "event {}", stored.seq);
            state = outcome.state;
        }
        assert_eq!(state, want);
        // The replay did something: an RC, a bad command answered.
        assert!(
            decided.iter().flatten().any(|e| matches!(e,
            engine::Effect::Post(p) if p.text.contains("verfy"))),
            "{decided:?}"
        );
        assert!(state.products["web"].current.is_some(), "{state:?}");
    }
}
