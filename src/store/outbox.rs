//! Messages owed to chat, kept until a dispatcher has sent them.
//!
//! Messages are queued by [`Store::commit`] together with the event that
//! caused them. The dispatcher asks for [`Store::outbox_to_send`], posts
//! each message (using its `id` as the platform's idempotency or
//! transaction id, so a post repeated after a crash is dropped by the
//! platform), then reports [`Store::mark_sent`] or
//! [`Store::mark_attempt_failed`].
//!
//! Order is kept per product (per channel): while a message waits for a
//! retry, the later messages of the same product wait too, so a channel
//! never sees them out of order. Other products are not held up. When a
//! failed message may be tried again is the dispatcher's to decide (it
//! measures the wait in real time, in memory): it names the messages it is
//! waiting on, and the store leaves out their products. The stored
//! `retry_at` is what the dispatcher expected then, on the daemon's clock,
//! for operators to read.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, encode_time, sql_limit};

/// A queued message, as the dispatcher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Unique and never reused: usable as a platform idempotency key.
    pub id: i64,
    /// The sequence number of the event that queued it.
    pub event_seq: u64,
    pub product: String,
    pub text: String,
    pub mentions: Vec<String>,
    pub reply_to: Option<String>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The `at` of the event that queued it.
    pub created_at: DateTime<Utc>,
    /// Not before this time (after a failed attempt).
    pub retry_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub sent: bool,
    /// The platform's id for the posted message, once sent.
    pub remote_id: Option<String>,
    /// The engine's `Card` for it, as JSON.
    pub card_json: Option<String>,
}

type RawMessage = (
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    i64,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

pub(super) const COLUMNS: &str = "o.id, o.event_seq, o.product, o.text, o.mentions_json, o.reply_to, \
     o.attempts, o.created_at, o.retry_at, o.last_error, o.status, o.remote_id, o.card_json";

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawMessage> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
    ))
}

impl Store {
    /// Up to `limit` pending messages due at `now` by their stored
    /// `retry_at`, in id order. A message whose `retry_at` is after `now`
    /// is left out, and so are the later messages of its product. (The
    /// dispatcher does not use this: its waits are in real time, see
    /// [`Store::outbox_to_send`].)
    pub fn pending_outbox(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox o \
             WHERE o.status = 'pending' \
               AND (o.retry_at IS NULL OR o.retry_at <= ?1) \
               AND NOT EXISTS ( \
                   SELECT 1 FROM outbox b \
                   WHERE b.status = 'pending' AND b.product = o.product \
                     AND b.id < o.id AND b.retry_at > ?1) \
             ORDER BY o.id LIMIT ?2"
        );
        self.messages(&sql, params![encode_time(now), sql_limit(limit)])
    }

    /// Up to `limit` pending messages to send now, in id order, whatever
    /// their `retry_at`. `held` are the messages the dispatcher waits on
    /// before trying them again (each the first pending message of its
    /// product): a held message that is still pending is left out, and so
    /// are the later messages of its product. A held message no longer
    /// pending (skipped by an operator) holds nothing back.
    pub fn outbox_to_send(
        &self,
        held: &[i64],
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let held = serde_json::Value::from(held).to_string();
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox o \
             WHERE o.status = 'pending' \
               AND NOT EXISTS ( \
                   SELECT 1 FROM outbox b \
                   WHERE b.id IN (SELECT value FROM json_each(?1)) \
                     AND b.status = 'pending' AND b.product = o.product \
                     AND b.id <= o.id) \
             ORDER BY o.id LIMIT ?2"
        );
        self.messages(&sql, params![held, sql_limit(limit)])
    }

    /// The messages a `SELECT {COLUMNS} FROM outbox o ...` finds, in order.
    pub(super) fn messages(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(self.sql_err("read the outbox"))?;
        let rows = stmt
            .query_map(params, raw)
            .map_err(self.sql_err("read the outbox"))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(self.decode_message(row.map_err(self.sql_err("read the outbox"))?)?);
        }
        Ok(out)
    }

    /// One message by id, sent or not.
    pub fn outbox_message(&self, id: i64) -> Result<Option<OutboxMessage>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM outbox o WHERE o.id = ?1");
        let row = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([id], raw).optional())
            .map_err(self.sql_err("read the outbox"))?;
        row.map(|r| self.decode_message(r)).transpose()
    }

    /// Record that message `id` was posted (with the platform's id for it,
    /// if it gave one). Marking a sent message again changes nothing.
    pub fn mark_sent(&mut self, id: i64, remote_id: Option<&str>) -> Result<(), StoreError> {
        self.writable("mark a message sent")?;
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE outbox SET status = 'sent', remote_id = ?2, retry_at = NULL \
                 WHERE id = ?1 AND status = 'pending'",
            )
            .and_then(|mut s| s.execute(params![id, remote_id]))
            .map_err(self.sql_err("mark a message sent"))?;
        if changed == 0 {
            self.existing_status(id)?;
        }
        Ok(())
    }

    /// Record a failed attempt to post message `id`, and `retry_at`, when
    /// the dispatcher means to try it again (shown to operators).
    pub fn mark_attempt_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.writable("record a failed attempt")?;
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, retry_at = ?3 \
                 WHERE id = ?1 AND status = 'pending'",
            )
            .and_then(|mut s| s.execute(params![id, error, encode_time(retry_at)]))
            .map_err(self.sql_err("record a failed attempt"))?;
        if changed == 0 {
            self.existing_status(id)?;
            return Err(StoreError::AlreadySent {
                path: self.path.clone(),
                id,
            });
        }
        Ok(())
    }

    /// Pending messages that have failed at least once, oldest first, at
    /// most `limit`: what an operator looks at when a channel goes quiet.
    pub fn outbox_failing(&self, limit: usize) -> Result<Vec<OutboxMessage>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox o \
             WHERE o.status = 'pending' AND o.attempts > 0 ORDER BY o.id LIMIT ?1"
        );
        self.messages(&sql, [sql_limit(limit)])
    }

    /// Clears the `retry_at` of every pending message (after the cause of
    /// a failure was fixed, the dispatcher tries them at once). Returns how
    /// many were waiting for a retry.
    pub fn retry_outbox_now(&mut self) -> Result<u64, StoreError> {
        self.writable("reschedule the outbox")?;
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE outbox SET retry_at = NULL \
                 WHERE status = 'pending' AND retry_at IS NOT NULL",
            )
            .and_then(|mut s| s.execute([]))
            .map_err(self.sql_err("reschedule the outbox"))?;
        Ok(changed as u64)
    }

    /// How many messages are waiting to be sent (including those waiting
    /// for a retry).
    pub fn outbox_depth(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM outbox WHERE status = 'pending'")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(self.sql_err("count the outbox"))?;
        super::to_u64(&self.path, "count(outbox)", n)
    }

    /// The status of message `id`, or [`StoreError::UnknownMessage`].
    fn existing_status(&self, id: i64) -> Result<String, StoreError> {
        self.conn
            .prepare_cached("SELECT status FROM outbox WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
            .map_err(self.sql_err("read the outbox"))?
            .ok_or_else(|| StoreError::UnknownMessage {
                path: self.path.clone(),
                id,
            })
    }

    fn decode_message(&self, r: RawMessage) -> Result<OutboxMessage, StoreError> {
        let (
            id,
            seq,
            product,
            text,
            mentions,
            reply_to,
            attempts,
            created,
            retry,
            err,
            status,
            remote,
            card_json,
        ) = r;
        let mentions: Vec<String> = serde_json::from_str(&mentions).map_err(|e| {
            self.corrupt(format!(
                "outbox message {id} has mentions `{mentions}`, not a JSON list of strings: {e}"
            ))
        })?;
        let attempts = u32::try_from(attempts)
            .map_err(|_| self.corrupt(format!("outbox message {id} has {attempts} attempts")))?;
        Ok(OutboxMessage {
            id,
            event_seq: super::to_u64(&self.path, "outbox.event_seq", seq)?,
            product,
            text,
            mentions,
            reply_to,
            attempts,
            created_at: self.decode_time("outbox.created_at", &created)?,
            retry_at: retry
                .map(|t| self.decode_time("outbox.retry_at", &t))
                .transpose()?,
            last_error: err,
            sent: status == "sent",
            remote_id: remote,
            card_json,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Commit, NewMessage};
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap()
    }

    fn queue(store: &mut Store, key: &str, messages: &[(&str, &str)]) {
        let c = Commit {
            key: key.to_owned(),
            at: t0(),
            kind: "chat".to_owned(),
            event_json: "{}".to_owned(),
            state_json: "{}".to_owned(),
            outbox: messages
                .iter()
                .map(|(product, text)| NewMessage {
                    card_json: None,
                    product: (*product).to_owned(),
                    text: (*text).to_owned(),
                    mentions: vec!["@bo".to_owned()],
                    reply_to: Some("$evt".to_owned()),
                })
                .collect(),
            audit: vec![],
        };
        store.commit(&c).unwrap();
    }

    fn texts(v: &[OutboxMessage]) -> Vec<&str> {
        v.iter().map(|m| m.text.as_str()).collect()
    }

    #[test]
    fn pending_in_id_order_then_sent() {
        let mut store = Store::open_in_memory().unwrap();
        queue(&mut store, "e1", &[("web", "a"), ("web", "b")]);
        queue(&mut store, "e2", &[("api", "c")]);
        let pending = store.pending_outbox(t0(), 10).unwrap();
        assert_eq!(texts(&pending), ["a", "b", "c"]);
        assert!(pending.windows(2).all(|w| w[0].id < w[1].id));
        let a = &pending[0];
        assert_eq!(a.mentions, ["@bo"]);
        assert_eq!(a.reply_to.as_deref(), Some("$evt"));
        assert_eq!((a.attempts, a.created_at, a.event_seq), (0, t0(), 1));
        assert_eq!(texts(&store.pending_outbox(t0(), 2).unwrap()), ["a", "b"]);

        store.mark_sent(a.id, Some("$remote")).unwrap();
        store.mark_sent(a.id, Some("$other")).unwrap(); // idempotent
        let sent = store.outbox_message(a.id).unwrap().unwrap();
        assert!(sent.sent);
        assert_eq!(sent.remote_id.as_deref(), Some("$remote"));
        assert_eq!(texts(&store.pending_outbox(t0(), 10).unwrap()), ["b", "c"]);
        assert_eq!(store.outbox_depth().unwrap(), 2);
    }

    #[test]
    fn retry_at_holds_back_the_message_and_its_channel() {
        let mut store = Store::open_in_memory().unwrap();
        queue(
            &mut store,
            "e1",
            &[("web", "a"), ("api", "x"), ("web", "b")],
        );
        let a = store.pending_outbox(t0(), 10).unwrap()[0].clone();
        let later = t0() + TimeDelta::seconds(30);
        store
            .mark_attempt_failed(a.id, "429 too many", later)
            .unwrap();

        // Before retry_at: `a` and the later `web` message wait; `api` goes.
        let now = t0() + TimeDelta::seconds(29);
        assert_eq!(texts(&store.pending_outbox(now, 10).unwrap()), ["x"]);
        // At retry_at everything is offered again, in order.
        let again = store.pending_outbox(later, 10).unwrap();
        assert_eq!(texts(&again), ["a", "x", "b"]);
        assert_eq!(again[0].attempts, 1);
        assert_eq!(again[0].retry_at, Some(later));
        assert_eq!(again[0].last_error.as_deref(), Some("429 too many"));
        assert_eq!(store.outbox_depth().unwrap(), 3);
    }

    #[test]
    fn failing_messages_are_listed_and_can_be_made_due_now() {
        let mut store = Store::open_in_memory().unwrap();
        queue(
            &mut store,
            "e1",
            &[("web", "a"), ("api", "x"), ("web", "b")],
        );
        assert!(store.outbox_failing(10).unwrap().is_empty());
        assert_eq!(store.retry_outbox_now().unwrap(), 0);
        let a = store.pending_outbox(t0(), 10).unwrap()[0].clone();
        let hour = t0() + TimeDelta::hours(1);
        store
            .mark_attempt_failed(a.id, "403 Missing Access", hour)
            .unwrap();
        let failing = store.outbox_failing(10).unwrap();
        assert_eq!(texts(&failing), ["a"]);
        assert_eq!(failing[0].last_error.as_deref(), Some("403 Missing Access"));
        // Held back until the retry...
        assert_eq!(texts(&store.pending_outbox(t0(), 10).unwrap()), ["x"]);
        // ...unless the operator says the cause is fixed: due at once, in
        // order, and still listed as failing until it is sent.
        assert_eq!(store.retry_outbox_now().unwrap(), 1);
        assert_eq!(
            texts(&store.pending_outbox(t0(), 10).unwrap()),
            ["a", "x", "b"]
        );
        assert_eq!(texts(&store.outbox_failing(10).unwrap()), ["a"]);
        store.mark_sent(a.id, None).unwrap();
        assert!(store.outbox_failing(10).unwrap().is_empty());
    }

    #[test]
    fn held_messages_hold_back_their_product_whatever_their_retry_at() {
        let mut store = Store::open_in_memory().unwrap();
        queue(
            &mut store,
            "e1",
            &[("web", "a"), ("api", "x"), ("web", "b")],
        );
        let a = store.outbox_to_send(&[], 10).unwrap()[0].clone();
        assert_eq!(a.text, "a");
        // A stored retry_at in the future does not hold a message back:
        // when to try again is the dispatcher's to say.
        store
            .mark_attempt_failed(a.id, "429 too many", t0() + TimeDelta::hours(1))
            .unwrap();
        let all = store.outbox_to_send(&[], 10).unwrap();
        assert_eq!(texts(&all), ["a", "x", "b"]);
        assert_eq!(all[0].attempts, 1);
        // While the dispatcher waits on `a`, it and the later `web`
        // message are left out; `api` goes.
        assert_eq!(texts(&store.outbox_to_send(&[a.id], 10).unwrap()), ["x"]);
        // An id that is not in the outbox holds nothing back.
        assert_eq!(
            texts(&store.outbox_to_send(&[a.id + 100], 10).unwrap()),
            ["a", "x", "b"]
        );
        // Once `a` is no longer pending (an operator skipped it), its
        // product goes on even though the dispatcher still names it.
        store.mark_sent(a.id, None).unwrap();
        assert_eq!(
            texts(&store.outbox_to_send(&[a.id], 10).unwrap()),
            ["x", "b"]
        );
    }

    #[test]
    fn a_held_product_with_many_messages_does_not_starve_the_others() {
        let mut store = Store::open_in_memory().unwrap();
        let many: Vec<(&str, &str)> = (0..150).map(|_| ("web", "w")).collect();
        queue(&mut store, "e1", &many);
        queue(&mut store, "e2", &[("api", "x")]);
        let first = store.outbox_to_send(&[], 100).unwrap();
        assert_eq!(first.len(), 100);
        assert!(first.iter().all(|m| m.product == "web"));
        // With web's first message held, the limit is not spent on web's
        // blocked messages: api's message is offered.
        let sendable = store.outbox_to_send(&[first[0].id], 100).unwrap();
        assert_eq!(texts(&sendable), ["x"]);
    }

    #[test]
    fn unknown_and_already_sent_messages_are_errors() {
        let mut store = Store::open_in_memory().unwrap();
        queue(&mut store, "e1", &[("web", "a")]);
        let id = store.pending_outbox(t0(), 1).unwrap()[0].id;
        let err = store.mark_sent(id + 100, None).unwrap_err();
        assert!(matches!(err, StoreError::UnknownMessage { .. }), "{err}");
        let err = store.mark_attempt_failed(id + 100, "x", t0()).unwrap_err();
        assert!(matches!(err, StoreError::UnknownMessage { .. }), "{err}");
        store.mark_sent(id, None).unwrap();
        let err = store.mark_attempt_failed(id, "x", t0()).unwrap_err();
        assert!(err.to_string().contains("already marked sent"), "{err}");
        assert_eq!(store.outbox_message(id + 100).unwrap(), None);
    }
}
