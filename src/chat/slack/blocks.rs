//! Block Kit for the messages with a [`Card`]: an RC announcement as a
//! section per change with its verifier (a real `<@U..>` mention) and a
//! "Verified" button; an exception request with an "Approve" button; a
//! ready RC with a "Release" button. The plain `text` still goes with
//! every message (notifications, clients without blocks).
//!
//! A button's `action_id` names the command and its `value` the argument;
//! a click is turned back into the command's text by [`command_of`],
//! through [`Command`]'s own spelling, so it runs exactly as typed.
//! Once a click has done what it asked, [`after_click`] is what the
//! clicked message is updated to (`chat.update`): the button gone, who
//! did it said in its place.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::text;
use crate::chat::command::{ChangeSelection, Command};
use crate::engine::Card;

/// Slack's most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Slack's most characters in a section's text.
pub const SECTION_LIMIT: usize = 3000;

pub const VERIFY: &str = "sg_verify";
pub const APPROVE: &str = "sg_approve";
pub const RELEASE: &str = "sg_release";

fn section(text: &str) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

fn button(label: &str, action: &str, value: &str) -> Value {
    json!({
        "type": "button",
        "text": { "type": "plain_text", "text": label },
        "action_id": action,
        "value": value,
        "style": "primary",
    })
}

/// Sections for `text`, each under Slack's limit, split at line breaks.
fn sections(text: &str) -> Vec<Value> {
    crate::chat::discord::text::split(text, SECTION_LIMIT)
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| section(p))
        .collect()
}

/// The blocks for a message with `card` whose rendered (`mrkdwn`) text is
/// `rendered`, or `None` when the card has no blocks (an answer) or they
/// would not fit in one message.
pub fn blocks(
    card: &Card,
    rendered: &str,
    mentions: &BTreeMap<String, Option<String>>,
) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    match card {
        Card::Announce { changes, .. } => {
            // The text's own list of changes is shown as sections below.
            let intro: Vec<&str> = rendered
                .lines()
                .filter(|l| !l.starts_with("  • ") && !l.starts_with("  ✓ "))
                .collect();
            out.extend(sections(&intro.join("\n")));
            for (i, c) in changes.iter().enumerate() {
                let who = text::render(&format!("@{}", c.verifier), mentions);
                let label = match c.title.trim() {
                    "" => text::escape(&c.id),
                    title => text::escape(&format!("{} {title}", c.id)),
                };
                let mut s = section(&format!("• *{label}* — verifier: {who}"));
                s["block_id"] = json!(format!("change-{i}"));
                s["accessory"] = button("Verified", VERIFY, &c.id);
                out.push(s);
            }
        }
        Card::Exception { id, .. } => {
            out.extend(sections(rendered));
            out.push(json!({
                "type": "actions",
                "block_id": format!("exception-{id}"),
                "elements": [button("Approve", APPROVE, &format!("E{id}"))],
            }));
        }
        Card::Ready { rc, .. } => {
            out.extend(sections(rendered));
            out.push(json!({
                "type": "actions",
                "block_id": format!("ready-{rc}"),
                "elements": [button("Release", RELEASE, &rc.to_string())],
            }));
        }
        Card::Answer { .. } => return None,
    }
    (out.len() <= MAX_BLOCKS).then_some(out)
}

/// The command a click stands for (without prefix), as a person would
/// type it, or `None` for a button that is not shipgate's.
pub fn command_of(action_id: &str, value: &str) -> Option<String> {
    let value = value.trim();
    let command = match action_id {
        VERIFY if !value.is_empty() => Command::Verify {
            changes: ChangeSelection::Some(vec![value.to_owned()]),
        },
        APPROVE => Command::Approve {
            id: value.trim_start_matches(['E', 'e', '#']).parse().ok()?,
        },
        RELEASE => Command::Release,
        _ => return None,
    };
    Some(command.to_string())
}

/// The clicked message's blocks once the click (by Slack user `user`) has
/// done what it asked: the clicked button (`block_id`, `action_id`) is
/// taken away and who did it is said in its place. `None` when the block
/// is not there any more.
pub fn after_click(
    blocks: &[Value],
    block_id: &str,
    action_id: &str,
    user: &str,
) -> Option<Vec<Value>> {
    let done = match action_id {
        VERIFY => "verified",
        APPROVE => "approved",
        RELEASE => "released",
        _ => return None,
    };
    let mut found = false;
    let out = blocks
        .iter()
        .map(|b| {
            if b.get("block_id").and_then(Value::as_str) != Some(block_id) {
                return b.clone();
            }
            found = true;
            match b.get("type").and_then(Value::as_str) {
                Some("section") => {
                    let mut s = b.clone();
                    if let Some(o) = s.as_object_mut() {
                        o.remove("accessory");
                    }
                    let was = b
                        .pointer("/text/text")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    s["text"]["text"] = json!(format!("{was} ✓ {done} by <@{user}>"));
                    s
                }
                _ => json!({
                    "type": "context",
                    "block_id": block_id,
                    "elements": [{ "type": "mrkdwn", "text": format!("✓ {done} by <@{user}>") }],
                }),
            }
        })
        .collect();
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::engine::CardChange;

    fn mentions() -> BTreeMap<String, Option<String>> {
        BTreeMap::from([
            ("ana".to_owned(), Some("U0ANA".to_owned())),
            ("ben".to_owned(), None),
        ])
    }

    #[test]
    fn an_announcement_lists_changes_with_verifiers_and_buttons() {
        let card = Card::Announce {
            rc: 1,
            changes: vec![
                CardChange {
                    id: "#1".into(),
                    title: "Faster <login>".into(),
                    verifier: "ana".into(),
                },
                CardChange {
                    id: "#2".into(),
                    title: String::new(),
                    verifier: "ben".into(),
                },
            ],
        };
        let text = "RC #1 for web is cut.\nChanges to verify:\n  • #1 Faster &lt;login&gt; (<@U0ANA>)\n  • #2 (@ben)\nVerify yours.";
        let b = blocks(&card, text, &mentions()).unwrap();
        assert_eq!(b.len(), 3, "{b:#?}");
        let intro = b[0]["text"]["text"].as_str().unwrap();
        assert!(!intro.contains("• #1"), "{intro}");
        assert!(intro.contains("Verify yours."), "{intro}");
        assert_eq!(
            b[1]["text"]["text"],
            "• *#1 Faster &lt;login&gt;* — verifier: <@U0ANA>"
        );
        assert_eq!(b[1]["accessory"]["action_id"], VERIFY);
        assert_eq!(b[1]["accessory"]["value"], "#1");
        assert_eq!(b[2]["text"]["text"], "• *#2* — verifier: @ben");
    }

    #[test]
    fn exception_and_ready_cards_have_one_button() {
        let e = Card::Exception {
            id: 7,
            approvers: vec!["ana".into()],
        };
        let b = blocks(&e, "asks", &mentions()).unwrap();
        assert_eq!(b[1]["elements"][0]["action_id"], APPROVE);
        assert_eq!(b[1]["elements"][0]["value"], "E7");
        let r = Card::Ready {
            rc: 3,
            manager: "ana".into(),
        };
        let b = blocks(&r, "ready", &mentions()).unwrap();
        assert_eq!(b[1]["elements"][0]["action_id"], RELEASE);
        let answer = Card::Answer {
            to: "C1:1.1".into(),
            done: true,
        };
        assert!(blocks(&answer, "ok", &mentions()).is_none());
    }

    #[test]
    fn too_many_changes_fall_back_to_text() {
        let changes = (0..60)
            .map(|i| CardChange {
                id: format!("#{i}"),
                title: String::new(),
                verifier: "ana".into(),
            })
            .collect();
        let card = Card::Announce { rc: 1, changes };
        assert!(blocks(&card, "cut", &mentions()).is_none());
    }

    #[test]
    fn clicks_are_the_typed_commands() {
        let cases = [
            (VERIFY, "#12", Some("verify #12")),
            (VERIFY, " ", None),
            (APPROVE, "E7", Some("approve E7")),
            (APPROVE, "x", None),
            (RELEASE, "3", Some("release")),
            ("other", "x", None),
        ];
        for (action, value, want) in cases {
            assert_eq!(
                command_of(action, value).as_deref(),
                want,
                "{action} {value}"
            );
        }
    }

    #[test]
    fn a_done_click_takes_its_button_away() {
        let card = Card::Ready {
            rc: 3,
            manager: "ana".into(),
        };
        let b = blocks(&card, "ready", &mentions()).unwrap();
        let after = after_click(&b, "ready-3", RELEASE, "U0ANA").unwrap();
        assert_eq!(after[1]["type"], "context");
        assert!(after[1].to_string().contains("released by <@U0ANA>"));
        assert!(!after.iter().any(|b| b.to_string().contains("button")));
        assert!(after_click(&b, "ready-9", RELEASE, "U0ANA").is_none());
        let s = json!([{"type": "section", "block_id": "change-0", "text": {"type": "mrkdwn", "text": "• *#1*"}, "accessory": button("Verified", VERIFY, "#1")}]);
        let after = after_click(s.as_array().unwrap(), "change-0", VERIFY, "U0ANA").unwrap();
        assert!(after[0].get("accessory").is_none());
        assert_eq!(after[0]["text"]["text"], "• *#1* ✓ verified by <@U0ANA>");
    }
}
