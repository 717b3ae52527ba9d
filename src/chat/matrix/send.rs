//! Sending: chat text as a notice with HTML (pills, code spans), as a
//! reply to the command it answers, with the outbox id as the transaction
//! id so a resend is not a duplicate.

use std::collections::BTreeMap;
use std::time::Duration;

use matrix_sdk::config::RequestConfig;
use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::relation::Reply;
use matrix_sdk::ruma::events::room::message::{Relation, RoomMessageEventContent};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedTransactionId, OwnedUserId};
use matrix_sdk::{Client, RoomState};

use crate::chat::adapter::{Outgoing, SendError};

/// HTML-escapes chat text and turns `@name` mentions into pills.
pub fn to_html(text: &str, mentions: &BTreeMap<String, Option<String>>) -> String {
    let mut html = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        match ch {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\n' => html.push_str("<br>"),
            c => html.push(c),
        }
    }
    // Longest names first so `@ann` does not eat `@anna`.
    let mut names: Vec<(&String, &String)> = mentions
        .iter()
        .filter_map(|(n, id)| id.as_ref().map(|id| (n, id)))
        .collect();
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    for (name, id) in names {
        let pill = format!("<a href=\"https://matrix.to/#/{id}\">{name}</a>");
        html = html.replace(&format!("@{name}"), &pill);
    }
    // `code` spans.
    let mut out = String::with_capacity(html.len());
    let mut open = false;
    for ch in html.chars() {
        if ch == '`' {
            out.push_str(if open { "</code>" } else { "<code>" });
            open = !open;
        } else {
            out.push(ch);
        }
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

/// Sends `message` to its room; the event id of what was sent.
pub(super) async fn send(
    client: &Client,
    rooms: &BTreeMap<String, OwnedRoomId>,
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
        content.relates_to = Some(Relation::Reply(Reply::with_event_id(reply)));
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
}
