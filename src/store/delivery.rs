//! The sender's side of the outbox: claiming what is due, recording what the hub answered, the
//! queue-wide pause and hold, and the coordinator's retry / discard of undeliverable events.
//!
//! The sender's bookkeeping (claims, outcomes) is not audited: it changes no record, only the
//! delivery state of immutable events. What a person decides (retry, discard, resume) is audited,
//! each in one transaction with its audit row.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde_json::json;

use super::codec::ts;
use super::error::{SqlContext, StoreError};
use super::outbox::{AuditRow, OutboxEvent};
use super::{Actor, Result, Store};

/// What became of one event in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// 2xx: created or duplicate.
    Sent,
    /// Try again, not before `at` (this event's own failure: a batch item's 5xx, 409
    /// in-flight).
    Retry { at: DateTime<Utc>, error: String },
    /// The request failed as a whole (no answer, 5xx, 429): the attempt is counted, and the
    /// queue-wide hold alone says when to try again — so the hold's end, `sync resume` or any
    /// successful request releases the event, and it never waits on a time of its own.
    Held { error: String },
    /// The hub refused it for good (400, 422, other 4xx): dead-lettered, the person's later
    /// events blocked.
    Dead { error: String },
    /// The hub's sequence for this person disagrees (409 seq-gap / seq-conflict): blocked with
    /// the person's later events, for a person to look at.
    Blocked { error: String },
    /// Not tried (an earlier event of the person failed in the same batch): left as it was.
    Deferred,
}

/// The queue-wide state the sender keeps beside the events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    /// Set: the whole queue waits (401, 403, TLS failure), with the reason in words.
    pub paused_reason: Option<String>,
    pub paused_at: Option<DateTime<Utc>>,
    /// Nothing is sent before this (Retry-After, or backoff after a network failure).
    pub hold_until: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// How many events are in each state, and how old the oldest waiting one is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: i64,
    pub sent: i64,
    pub dead: i64,
    pub blocked: i64,
    pub discarded: i64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
    /// When the next person's turn comes, if every person's first undelivered event waits for
    /// a retry time of its own (`None`: something is due now, or nothing waits).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Pending events waiting for a retry time of their own.
    pub waiting: i64,
}

/// A dead or blocked event, as the status command and the sync panel list it. The payload is
/// left out on purpose: it may hold names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckEvent {
    pub seq: i64,
    pub event_id: String,
    pub person_id: String,
    pub person_seq: i64,
    pub event_type: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
}

fn parse_ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Blocks pending events queued behind a dead or blocked event of the same person, so counts and
/// the panel say where they stand (events written after the block was recorded).
const BLOCK_BEHIND: &str = "
    UPDATE outbox SET state = 'blocked',
        last_error = 'waiting behind event ' ||
            (SELECT MIN(e.person_seq) FROM outbox e
             WHERE e.person_id = outbox.person_id AND e.person_seq < outbox.person_seq
               AND e.state IN ('dead', 'blocked')) || ' of this person, which was not delivered'
    WHERE state = 'pending' AND person_id = ?1 AND person_seq > ?2";

impl Store {
    pub(super) fn immediate<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        let run = |conn: &mut rusqlite::Connection| -> Result<T> {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx(what)?;
            let out = f(&tx)?;
            super::board_index::refresh(&tx)?;
            tx.commit().ctx(what)?;
            Ok(out)
        };
        run(&mut self.conn).map_err(|e| e.at(&path))
    }

    /// Up to `limit` events that may be sent now, in outbox order: for each person only the run
    /// of pending events starting at the person's first undelivered one, and only when that one
    /// is due. Later events of a person whose earlier event is dead or blocked are marked blocked
    /// on the way.
    pub fn claim_due(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxEvent>> {
        let now = ts(now);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.immediate("claiming due events", |tx| {
            let stuck: Vec<(String, i64)> = tx
                .prepare_cached(
                    "SELECT person_id, MIN(person_seq) FROM outbox
                     WHERE state IN ('dead', 'blocked') GROUP BY person_id",
                )
                .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
                .ctx("finding blocked people")?;
            for (person, first) in &stuck {
                tx.prepare_cached(BLOCK_BEHIND)
                    .and_then(|mut s| s.execute(params![person, first]))
                    .ctx("blocking events behind a failed one")?;
            }
            let rows: Vec<OutboxEvent> = tx
                .prepare_cached(
                    "WITH heads AS (
                        SELECT person_id, MIN(person_seq) AS first FROM outbox
                        WHERE state IN ('pending', 'dead', 'blocked') GROUP BY person_id)
                     SELECT o.seq, o.event_id, o.person_id, o.person_seq, o.event_type,
                            o.payload, o.state, o.attempts, o.created_at
                     FROM heads h
                     JOIN outbox hd ON hd.person_id = h.person_id AND hd.person_seq = h.first
                     JOIN outbox o ON o.person_id = h.person_id AND o.state = 'pending'
                     WHERE hd.state = 'pending'
                       AND (hd.next_attempt_at IS NULL
                            OR julianday(hd.next_attempt_at) <= julianday(?1))
                     ORDER BY o.seq LIMIT ?2",
                )
                .and_then(|mut s| {
                    s.query_map(params![now, limit], |r| {
                        Ok(OutboxEvent {
                            seq: r.get(0)?,
                            event_id: r.get(1)?,
                            person_id: r.get(2)?,
                            person_seq: r.get(3)?,
                            event_type: r.get(4)?,
                            payload: r.get(5)?,
                            state: r.get(6)?,
                            attempts: r.get(7)?,
                            created_at: r.get(8)?,
                        })
                    })?
                    .collect()
                })
                .ctx("claiming due events")?;
            Ok(keep_runs(rows))
        })
    }

    /// Records what the hub said about each event (by outbox `seq`), all in one transaction.
    pub fn record_deliveries(
        &mut self,
        now: DateTime<Utc>,
        outcomes: &[(i64, Delivery)],
    ) -> Result<()> {
        let now = ts(now);
        self.immediate("recording deliveries", |tx| {
            for (seq, outcome) in outcomes {
                match outcome {
                    Delivery::Sent => {
                        tx.prepare_cached(
                            "UPDATE outbox SET state = 'sent', sent_at = ?2, last_error = NULL,
                                attempts = attempts + 1
                             WHERE seq = ?1 AND state = 'pending'",
                        )
                        .and_then(|mut s| s.execute(params![seq, now]))
                        .ctx("marking an event sent")?;
                    }
                    Delivery::Retry { at, error } => {
                        tx.prepare_cached(
                            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2,
                                last_error = ?3
                             WHERE seq = ?1 AND state = 'pending'",
                        )
                        .and_then(|mut s| s.execute(params![seq, ts(*at), error]))
                        .ctx("scheduling a retry")?;
                    }
                    Delivery::Held { error } => {
                        tx.prepare_cached(
                            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = NULL,
                                last_error = ?2
                             WHERE seq = ?1 AND state = 'pending'",
                        )
                        .and_then(|mut s| s.execute(params![seq, error]))
                        .ctx("recording a failed request")?;
                    }
                    Delivery::Dead { error } | Delivery::Blocked { error } => {
                        let state = if matches!(outcome, Delivery::Dead { .. }) {
                            "dead"
                        } else {
                            "blocked"
                        };
                        let head: Option<(String, i64)> = tx
                            .prepare_cached(
                                "UPDATE outbox SET state = ?2, attempts = attempts + 1,
                                    last_error = ?3
                                 WHERE seq = ?1 AND state = 'pending'
                                 RETURNING person_id, person_seq",
                            )
                            .and_then(|mut s| {
                                s.query_row(params![seq, state, error], |r| {
                                    Ok((r.get(0)?, r.get(1)?))
                                })
                                .optional()
                            })
                            .ctx("dead-lettering an event")?;
                        if let Some((person, person_seq)) = head {
                            tx.prepare_cached(BLOCK_BEHIND)
                                .and_then(|mut s| s.execute(params![person, person_seq]))
                                .ctx("blocking the person's later events")?;
                        }
                    }
                    Delivery::Deferred => {}
                }
            }
            Ok(())
        })
    }

    pub fn sync_state(&self) -> Result<SyncState> {
        self.conn
            .prepare_cached(
                "SELECT paused_reason, paused_at, hold_until, last_success_at, last_error,
                        last_error_at
                 FROM sync_state WHERE id = 1",
            )
            .and_then(|mut s| {
                s.query_row([], |r| {
                    Ok(SyncState {
                        paused_reason: r.get(0)?,
                        paused_at: parse_ts(r.get(1)?),
                        hold_until: parse_ts(r.get(2)?),
                        last_success_at: parse_ts(r.get(3)?),
                        last_error: r.get(4)?,
                        last_error_at: parse_ts(r.get(5)?),
                    })
                })
                .optional()
            })
            .ctx("reading the sync state")
            .map(Option::unwrap_or_default)
            .map_err(|e| e.at(&self.path))
    }

    /// The whole queue waits until [`Store::clear_sync_pause`] (the sender does that when the
    /// credentials work again, or a coordinator resumes it).
    pub fn pause_sync(&mut self, now: DateTime<Utc>, reason: &str) -> Result<()> {
        let now = ts(now);
        self.immediate("pausing the queue", |tx| {
            tx.execute(
                "UPDATE sync_state SET paused_reason = ?1,
                    paused_at = COALESCE(paused_at, ?2), last_error = ?1, last_error_at = ?2,
                    updated_at = ?2
                 WHERE id = 1",
                params![reason, now],
            )
            .ctx("pausing the queue")?;
            Ok(())
        })
    }

    pub fn clear_sync_pause(&mut self, now: DateTime<Utc>) -> Result<()> {
        let now = ts(now);
        self.immediate("resuming the queue", |tx| {
            tx.execute(
                "UPDATE sync_state SET paused_reason = NULL, paused_at = NULL, updated_at = ?1
                 WHERE id = 1 AND paused_reason IS NOT NULL",
                params![now],
            )
            .ctx("resuming the queue")?;
            Ok(())
        })
    }

    /// Records the end of one attempt: `hold_until` (None clears it), and success or the error.
    pub fn note_sync_attempt(
        &mut self,
        now: DateTime<Utc>,
        hold_until: Option<DateTime<Utc>>,
        error: Option<&str>,
    ) -> Result<()> {
        let now_s = ts(now);
        let hold = hold_until.map(ts);
        self.immediate("recording the sync state", |tx| {
            match error {
                None => tx.execute(
                    "UPDATE sync_state SET hold_until = ?1, last_success_at = ?2,
                        last_error = NULL, last_error_at = NULL, updated_at = ?2
                     WHERE id = 1",
                    params![hold, now_s],
                ),
                Some(error) => tx.execute(
                    "UPDATE sync_state SET hold_until = ?1, last_error = ?3, last_error_at = ?2,
                        updated_at = ?2
                     WHERE id = 1",
                    params![hold, now_s, error],
                ),
            }
            .ctx("recording the sync state")?;
            Ok(())
        })
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        let mut counts = OutboxCounts::default();
        let rows: Vec<(String, i64)> = self
            .conn
            .prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .ctx("counting the outbox")
            .map_err(|e| e.at(&self.path))?;
        for (state, n) in rows {
            match state.as_str() {
                "pending" => counts.pending = n,
                "sent" => counts.sent = n,
                "dead" => counts.dead = n,
                "blocked" => counts.blocked = n,
                "discarded" => counts.discarded = n,
                _ => {}
            }
        }
        // Only a person's first undelivered event decides when that person goes next; one
        // with no time of its own (NULL, sorted first) is due now.
        let (oldest, next, waiting): (Option<String>, Option<String>, i64) = self
            .conn
            .prepare_cached(
                "WITH heads AS (
                    SELECT person_id, MIN(person_seq) AS first FROM outbox
                    WHERE state IN ('pending', 'dead', 'blocked') GROUP BY person_id)
                 SELECT (SELECT created_at FROM outbox WHERE state = 'pending'
                         ORDER BY seq LIMIT 1),
                        (SELECT hd.next_attempt_at FROM heads h
                         JOIN outbox hd ON hd.person_id = h.person_id AND hd.person_seq = h.first
                         WHERE hd.state = 'pending'
                         ORDER BY hd.next_attempt_at IS NOT NULL, julianday(hd.next_attempt_at)
                         LIMIT 1),
                        (SELECT count(*) FROM outbox
                         WHERE state = 'pending'
                           AND julianday(next_attempt_at) > julianday('now'))",
            )
            .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
            .ctx("reading the oldest queued event")
            .map_err(|e| e.at(&self.path))?;
        counts.oldest_pending_at = parse_ts(oldest);
        counts.next_attempt_at = parse_ts(next);
        counts.waiting = waiting;
        Ok(counts)
    }

    /// People with events not yet delivered (queued, dead or blocked): the board marks their rows.
    pub fn people_with_undelivered(&self) -> Result<std::collections::HashSet<String>> {
        self.conn
            .prepare_cached(
                "SELECT DISTINCT person_id FROM outbox
                 WHERE state IN ('pending', 'dead', 'blocked')",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .ctx("finding undelivered events")
            .map_err(|e| e.at(&self.path))
    }

    /// Dead and blocked events, oldest first.
    pub fn stuck_events(&self) -> Result<Vec<StuckEvent>> {
        self.conn
            .prepare_cached(
                "SELECT seq, event_id, person_id, person_seq, event_type, state, attempts,
                        last_error, created_at
                 FROM outbox WHERE state IN ('dead', 'blocked') ORDER BY seq",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(StuckEvent {
                        seq: r.get(0)?,
                        event_id: r.get(1)?,
                        person_id: r.get(2)?,
                        person_seq: r.get(3)?,
                        event_type: r.get(4)?,
                        state: r.get(5)?,
                        attempts: r.get(6)?,
                        last_error: r.get(7)?,
                        created_at: r.get(8)?,
                    })
                })?
                .collect()
            })
            .ctx("listing dead and blocked events")
            .map_err(|e| e.at(&self.path))
    }

    /// Sends a dead or blocked event again, with the same bytes and key, and the same person's
    /// later blocked events after it. One transaction, one audit row. Returns how many events
    /// went back to the queue.
    pub fn retry_event(&mut self, actor: &Actor, event_id: &str) -> Result<i64> {
        let event_id = event_id.trim().to_string();
        self.write(actor, |w| {
            w.allow_admin()?;
            let (person, person_seq, state) = stuck_event(w.tx, &event_id)?;
            let moved =
                w.tx.execute(
                    "UPDATE outbox SET state = 'pending', next_attempt_at = ?3, last_error = NULL
                     WHERE person_id = ?1 AND person_seq >= ?2 AND state IN ('dead', 'blocked')",
                    params![person, person_seq, w.now_ts()],
                )
                .ctx("queueing the events again")?;
            let moved = i64::try_from(moved).unwrap_or(i64::MAX);
            w.audit(&AuditRow {
                person_id: Some(&person),
                kind: "sync_retried",
                entity: "outbox",
                entity_id: Some(event_id.clone()),
                before: Some(json!({ "state": state })),
                after: Some(json!({ "state": "pending", "events": moved })),
                reason: None,
            })?;
            Ok(moved)
        })
    }

    /// Gives up on a dead or blocked event for good, with a reason. The person's later blocked
    /// events go back to the queue; if the hub then reports a gap in the person's sequence they
    /// are blocked again with that alert. One transaction, one audit row.
    pub fn discard_event(&mut self, actor: &Actor, event_id: &str, reason: &str) -> Result<()> {
        let event_id = event_id.trim().to_string();
        let reason = reason.trim().to_string();
        if reason.is_empty() {
            return Err(StoreError::invalid(
                "a discard needs a reason (it is kept in the audit trail)",
            ));
        }
        self.write(actor, |w| {
            w.allow_admin()?;
            let (person, person_seq, state) = stuck_event(w.tx, &event_id)?;
            w.tx.execute(
                "UPDATE outbox SET state = 'discarded', last_error = ?2 WHERE event_id = ?1",
                params![
                    event_id,
                    format!("discarded by {}: {reason}", w.actor.login)
                ],
            )
            .ctx("discarding the event")?;
            w.tx.execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = ?3, last_error = NULL
                 WHERE person_id = ?1 AND person_seq > ?2 AND state = 'blocked'",
                params![person, person_seq, w.now_ts()],
            )
            .ctx("queueing the person's later events")?;
            w.audit(&AuditRow {
                person_id: Some(&person),
                kind: "sync_discarded",
                entity: "outbox",
                entity_id: Some(event_id.clone()),
                before: Some(json!({ "state": state })),
                after: Some(json!({ "state": "discarded" })),
                reason: Some(reason.clone()),
            })?;
            Ok(())
        })
    }

    /// Lifts a pause (after the token was replaced, say), the queue-wide hold and every
    /// event's own retry time, so the sender tries everything now. Audited. `true` when
    /// anything was held.
    pub fn resume_sync(&mut self, actor: &Actor) -> Result<bool> {
        Ok(self.resume_sync_report(actor)?.anything())
    }

    /// [`Store::resume_sync`], saying what it released.
    pub fn resume_sync_report(&mut self, actor: &Actor) -> Result<Resumed> {
        let state = self.sync_state()?;
        let now = self.clock.now();
        self.write(actor, |w| {
            w.allow_admin()?;
            w.tx.execute(
                "UPDATE sync_state SET paused_reason = NULL, paused_at = NULL, hold_until = NULL,
                    updated_at = ?1
                 WHERE id = 1",
                params![w.now_ts()],
            )
            .ctx("resuming the queue")?;
            let released =
                w.tx.execute(
                    "UPDATE outbox SET next_attempt_at = NULL
                     WHERE state = 'pending' AND julianday(next_attempt_at) > julianday(?1)",
                    params![ts(now)],
                )
                .ctx("releasing the events' retry times")?;
            let resumed = Resumed {
                paused: state.paused_reason.clone(),
                hold_until: state.hold_until.filter(|at| *at > now),
                events: i64::try_from(released).unwrap_or(i64::MAX),
            };
            w.audit(&AuditRow {
                person_id: None,
                kind: "sync_resumed",
                entity: "sync",
                entity_id: None,
                before: Some(json!({
                    "paused": resumed.paused,
                    "hold_until": resumed.hold_until.map(ts),
                    "waiting_events": resumed.events,
                })),
                after: Some(json!({ "paused": null, "hold_until": null, "waiting_events": 0 })),
                reason: None,
            })?;
            Ok(resumed)
        })
    }
}

/// What `sync resume` released.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resumed {
    /// The pause's reason, if the queue was paused.
    pub paused: Option<String>,
    /// The queue-wide hold that was lifted (`Retry-After`, backoff).
    pub hold_until: Option<DateTime<Utc>>,
    /// Events whose own retry time was cleared.
    pub events: i64,
}

impl Resumed {
    pub fn anything(&self) -> bool {
        self.paused.is_some() || self.hold_until.is_some() || self.events > 0
    }
}

fn stuck_event(tx: &rusqlite::Transaction<'_>, event_id: &str) -> Result<(String, i64, String)> {
    let found: Option<(String, i64, String)> = tx
        .prepare_cached("SELECT person_id, person_seq, state FROM outbox WHERE event_id = ?1")
        .and_then(|mut s| {
            s.query_row([event_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .ctx("finding the event")?;
    match found {
        None => Err(StoreError::invalid(format!(
            "no event {event_id} in the outbox (see `reentry-board sync status`)"
        ))),
        Some((_, _, state)) if state != "dead" && state != "blocked" => {
            Err(StoreError::invalid(format!(
                "event {event_id} is {state}; only dead or blocked events can be retried or discarded"
            )))
        }
        Some(found) => Ok(found),
    }
}

/// Keeps, per person, only the events that follow each other without a hole, so a batch never
/// carries seq N+2 without N+1.
fn keep_runs(rows: Vec<OutboxEvent>) -> Vec<OutboxEvent> {
    let mut last: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    rows.into_iter()
        .filter(|e| match last.get(&e.person_id) {
            Some(prev) if *prev + 1 != e.person_seq => false,
            _ => {
                last.insert(e.person_id.clone(), e.person_seq);
                true
            }
        })
        .collect()
}
