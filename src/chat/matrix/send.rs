//! Sending: chat text as a notice with HTML (pills, code spans, lists and
//! tables kept as such), as a reply to the command it answers (in the
//! command's thread when it was typed in one), with the outbox id as the
//! transaction id so a resend is not a duplicate.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use matrix_sdk::config::RequestConfig;
use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::relation::{Reply, Thread};
use matrix_sdk::ruma::events::room::message::{Relation, RoomMessageEventContent};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedTransactionId, OwnedUserId};
use matrix_sdk::{Client, Room, RoomState};

use crate::chat::adapter::{Outgoing, SendError};

/// Chat text as HTML that keeps its layout: lines indented by two spaces
/// form a block (bullets `•`/`-`/`✓` a `<ul>`, `1.` items an `<ol>`,
/// aligned columns such as the help list a `<table>`, anything else a
/// `<pre>`); other lines are kept apart by `<br>`, with runs of spaces
/// that would collapse kept; `@name` mentions become pills and `code`
/// spans `<code>`.
pub fn to_html(text: &str, mentions: &BTreeMap<String, Option<String>>) -> String {
    // Longest names first so `@ann` does not eat `@anna`.
    let mut names: Vec<(&str, &str)> = mentions
        .iter()
        .filter_map(|(n, id)| Some((n.as_str(), id.as_deref()?)))
        .collect();
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::with_capacity(text.len() + 32);
    let mut after_line = false;
    let mut i = 0;
    while i < lines.len() {
        if indented(lines[i]) {
            let start = i;
            while i < lines.len() && indented(lines[i]) {
                i += 1;
            }
            out.push_str(&block(&lines[start..i], &names));
            after_line = false;
        } else {
            if after_line {
                out.push_str("<br>");
            }
            out.push_str(&inline(lines[i], &names));
            after_line = true;
            i += 1;
        }
    }
    out
}

fn indented(line: &str) -> bool {
    line.starts_with("  ") && !line.trim().is_empty()
}

/// A list item's text without its bullet (a check mark is kept: it says
/// something).
fn bullet_item(line: &str) -> Option<&str> {
    let t = line.trim_start();
    for b in ["• ", "- ", "* "] {
        if let Some(rest) = t.strip_prefix(b) {
            return Some(rest);
        }
    }
    t.starts_with("✓ ").then_some(t)
}

fn numbered_item(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    t.get(digits..)?.strip_prefix(". ")
}

/// The two columns of an aligned line: split at its first run of two or
/// more spaces.
fn columns(line: &str) -> Option<(&str, &str)> {
    let t = line.trim();
    let at = t.find("  ")?;
    Some((t.get(..at)?, t.get(at..)?.trim_start()))
}

fn block(lines: &[&str], names: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let items: Option<Vec<&str>> = lines.iter().map(|l| bullet_item(l)).collect();
    if let Some(items) = items {
        out.push_str("<ul>");
        for it in items {
            out.push_str(&format!("<li>{}</li>", inline(it, names)));
        }
        out.push_str("</ul>");
        return out;
    }
    let items: Option<Vec<&str>> = lines.iter().map(|l| numbered_item(l)).collect();
    if let Some(items) = items {
        out.push_str("<ol>");
        for it in items {
            out.push_str(&format!("<li>{}</li>", inline(it, names)));
        }
        out.push_str("</ol>");
        return out;
    }
    let rows: Option<Vec<(&str, &str)>> = lines.iter().map(|l| columns(l)).collect();
    if let Some(rows) = rows {
        out.push_str("<table>");
        for (left, right) in rows {
            let left = if left.contains('`') {
                inline(left, names)
            } else {
                format!("<code>{}</code>", escape(left))
            };
            out.push_str(&format!(
                "<tr><td>{left}</td><td>{}</td></tr>",
                inline(right, names)
            ));
        }
        out.push_str("</table>");
        return out;
    }
    out.push_str("<pre>");
    out.push_str(&escape(&lines.join("\n")));
    out.push_str("</pre>");
    out
}

fn escape(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            c => html.push(c),
        }
    }
    html
}

/// A character that continues a name after `@`.
fn name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// One line: escaped, `@name` mentions as pills (each name once, on a word
/// boundary), `code` spans, and runs of spaces kept.
fn inline(line: &str, names: &[(&str, &str)]) -> String {
    let escaped = escape(line);
    let mut html = String::with_capacity(escaped.len() + 16);
    let mut prev: Option<char> = None;
    let mut rest = escaped.as_str();
    while let Some(c) = rest.chars().next() {
        if c == '@' && !prev.is_some_and(name_char) {
            let after = &rest[1..];
            let hit = names.iter().find(|(n, _)| {
                after.starts_with(n) && !after[n.len()..].chars().next().is_some_and(name_char)
            });
            if let Some((name, id)) = hit {
                html.push_str(&format!("<a href=\"https://matrix.to/#/{id}\">{name}</a>"));
                rest = &after[name.len()..];
                prev = name.chars().last();
                continue;
            }
        }
        html.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    let mut out = String::with_capacity(html.len());
    let mut open = false;
    let mut space = false;
    for ch in html.chars() {
        match ch {
            '`' => {
                out.push_str(if open { "</code>" } else { "<code>" });
                open = !open;
            }
            // The second and later spaces of a run would collapse.
            ' ' if space => out.push_str("&nbsp;"),
            c => out.push(c),
        }
        space = ch == ' ';
    }
    if open {
        out.push_str("</code>");
    }
    out
}

/// The wait a `429` (`M_LIMIT_EXCEEDED`) asks for; `None` for any other
/// error.
pub(super) fn retry_after(kind: Option<&ErrorKind>) -> Option<Duration> {
    let Some(ErrorKind::LimitExceeded(data)) = kind else {
        return None;
    };
    Some(match data.retry_after {
        Some(RetryAfter::Delay(d)) => d,
        Some(RetryAfter::DateTime(t)) => t
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::from_secs(1)),
        None => Duration::from_secs(1),
    })
}

fn send_error(e: &matrix_sdk::Error) -> SendError {
    if let Some(wait) = retry_after(e.client_api_error_kind()) {
        return SendError::RateLimited(wait);
    }
    match e.client_api_error_kind() {
        Some(ErrorKind::Forbidden | ErrorKind::NotFound | ErrorKind::UnknownToken(_)) => {
            SendError::Permanent(e.to_string())
        }
        _ => SendError::Transient(e.to_string()),
    }
}

/// Messages the reader handed over -> the root of the thread each was
/// typed in (`None`: the room's main timeline), so an answer goes to the
/// command's thread without asking the homeserver.
#[derive(Clone, Default)]
pub(super) struct Threads(Arc<Mutex<HashMap<String, Option<OwnedEventId>>>>);

/// Messages remembered at most; older ones are looked up when answered.
const THREADS_KEPT: usize = 10_000;

impl Threads {
    pub(super) fn note(&self, event: &str, root: Option<OwnedEventId>) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= THREADS_KEPT {
                map.clear();
            }
            map.insert(event.to_owned(), root);
        }
    }

    fn get(&self, event: &str) -> Option<Option<OwnedEventId>> {
        self.0.lock().ok()?.get(event).cloned()
    }
}

/// The thread root of `event` in `room`: remembered, or read from the
/// homeserver (an answer still pending from before a restart); `None`
/// when it is in the main timeline or cannot be read.
async fn thread_of(room: &Room, threads: &Threads, event: &OwnedEventId) -> Option<OwnedEventId> {
    if let Some(known) = threads.get(event.as_str()) {
        return known;
    }
    let read = room
        .event(
            event,
            Some(
                RequestConfig::new()
                    .retry_limit(1)
                    .timeout(Duration::from_secs(10)),
            ),
        )
        .await;
    let root = match read {
        Ok(ev) => ev
            .raw()
            .get_field::<serde_json::Value>("content")
            .ok()
            .flatten()
            .and_then(|c| {
                let rel = c.get("m.relates_to")?;
                if rel.get("rel_type")?.as_str()? != "m.thread" {
                    return None;
                }
                OwnedEventId::try_from(rel.get("event_id")?.as_str()?).ok()
            }),
        Err(e) => {
            tracing::debug!(event = %event, error = %e, "matrix: cannot read the command answered; replying outside any thread");
            None
        }
    };
    threads.note(event.as_str(), root.clone());
    root
}

/// Sends `message` to its room; the event id of what was sent.
pub(super) async fn send(
    client: &Client,
    rooms: &BTreeMap<String, OwnedRoomId>,
    threads: &Threads,
    message: &Outgoing,
) -> Result<Option<String>, SendError> {
    let room_id = rooms
        .get(&message.channel)
        .cloned()
        .or_else(|| OwnedRoomId::try_from(message.channel.as_str()).ok())
        .ok_or_else(|| SendError::Permanent(format!("unknown room {}", message.channel)))?;
    let Some(room) = client
        .get_room(&room_id)
        .filter(|r| r.state() == RoomState::Joined)
    else {
        return Err(SendError::Transient(format!("not in room {room_id} yet")));
    };
    let html = to_html(&message.text, &message.mentions);
    let mut content = RoomMessageEventContent::notice_html(message.text.clone(), html);
    let ids: Vec<OwnedUserId> = message
        .mentions
        .values()
        .flatten()
        .filter_map(|id| OwnedUserId::try_from(id.as_str()).ok())
        .collect();
    content = content.add_mentions(Mentions::with_user_ids(ids));
    if let Some(reply) = message
        .reply_to
        .as_deref()
        .and_then(|r| OwnedEventId::try_from(r).ok())
    {
        // In the command's thread (replying to the command there, which
        // clients without threads show as a reply), else a plain reply.
        content.relates_to = Some(match thread_of(&room, threads, &reply).await {
            Some(root) => Relation::Thread(Thread::reply(root, reply)),
            None => Relation::Reply(Reply::with_event_id(reply)),
        });
    }
    let txn: OwnedTransactionId = format!("shipgate-{}", message.id).into();
    tracing::debug!(id = message.id, "matrix: sending");
    let resp = room
        .send(content)
        .with_transaction_id(txn)
        // A 429 comes back to the outbox (which logs, counts and waits
        // it out) instead of being retried out of sight.
        .with_request_config(
            RequestConfig::new()
                .disable_retry()
                .timeout(Duration::from_secs(30)),
        )
        .await
        .map_err(|e| send_error(&e))?;
    Ok(Some(resp.response.event_id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_and_pills() {
        let mut m = BTreeMap::new();
        m.insert("ana".to_owned(), Some("@ana:example.org".to_owned()));
        m.insert("ben".to_owned(), None);
        let html = to_html("@ana: RC <#1> & `!sg verify`\nnext @ben", &m);
        assert_eq!(
            html,
            "<a href=\"https://matrix.to/#/@ana:example.org\">ana</a>: RC &lt;#1&gt; &amp; <code>!sg verify</code><br>next @ben"
        );
    }

    #[test]
    fn html_keeps_the_layout() {
        let mut m = BTreeMap::new();
        m.insert("ana".to_owned(), Some("@ana:example.org".to_owned()));
        m.insert("an".to_owned(), Some("@an:example.org".to_owned()));
        let cases: &[(&str, &str)] = &[
            // Bullets (the RC's changes) are a list; a check mark stays.
            (
                "RC #1 is cut:\n  • #12 Fix login (@ana)\n  ✓ #13 Docs (@an)\nVerify them.",
                "RC #1 is cut:<ul><li>#12 Fix login (<a href=\"https://matrix.to/#/@ana:example.org\">ana</a>)</li>\
                 <li>✓ #13 Docs (<a href=\"https://matrix.to/#/@an:example.org\">an</a>)</li></ul>Verify them.",
            ),
            (
                "steps:\n  1. cut\n  2. verify",
                "steps:<ol><li>cut</li><li>verify</li></ol>",
            ),
            // Aligned columns (the help list) are a table.
            (
                "commands (`!sg help COMMAND`):\n  !sg status          what is in flight\n  !sg verify #CHANGE  mark `#1` verified",
                "commands (<code>!sg help COMMAND</code>):<table>\
                 <tr><td><code>!sg status</code></td><td>what is in flight</td></tr>\
                 <tr><td><code>!sg verify #CHANGE</code></td><td>mark <code>#1</code> verified</td></tr></table>",
            ),
            // Anything else indented is preformatted.
            ("log:\n  a b\n  <c>", "log:<pre>  a b\n  &lt;c&gt;</pre>"),
            // Spaces that would collapse are kept.
            ("a   b", "a &nbsp;&nbsp;b"),
            ("one\n\ntwo", "one<br><br>two"),
        ];
        for (text, want) in cases {
            assert_eq!(&to_html(text, &m), want, "{text}");
        }
    }

    #[test]
    fn the_help_list_is_a_table() {
        let help = crate::chat::command::help(None, "!sg ");
        let html = to_html(&help, &BTreeMap::new());
        assert!(html.contains("<table><tr><td><code>!sg "), "{html}");
        let rows = html.matches("<tr>").count();
        assert_eq!(rows, help.lines().count() - 1, "{html}");
        assert!(!html.contains("  "), "spaces that would collapse: {html}");
    }
}
