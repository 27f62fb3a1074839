//! The outbox sender: claims what is due, posts it to the hub in batches, records each outcome,
//! and backs off, holds, pauses or dead-letters as docs/API.md section 9 says.
//!
//! - [`Sender`] does the work; `reentry-board sync` runs one until stopped (or drains once);
//! - [`spawn_background`] runs one on its own thread for the board, when it can take the lock;
//! - [`SyncStatus`] is what any process shows about the queue, read from the database.

pub mod backoff;
pub mod client;
pub mod fhir;
pub mod lock;
pub mod settings;
pub mod status;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use tokio::sync::watch;

use crate::clock::SystemClock;
use crate::store::{Delivery, OutboxEvent, Store};

pub use client::{HubClient, Item, Reply};
pub use lock::SenderLock;
pub use settings::{SyncConfig, SyncFormat, SyncOverrides, SyncSettings};
pub use status::{SyncPhase, SyncStatus};

/// Room left in a request body for the batch wrapper.
const BODY_BUDGET: usize = crate::hub::MAX_BODY_BYTES - 1024;

/// What one pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// This many events were marked sent (others in the batch may have failed).
    Sent(usize),
    /// Nothing is due; the next retry is due then, if any event waits.
    Idle(Option<DateTime<Utc>>),
    /// The hub asked to wait, or could not be reached: nothing before then.
    Hold(DateTime<Utc>),
    /// 401, 403 or a TLS failure: the queue waits for working credentials.
    Paused,
}

/// The only process that sends from this database while it lives (it holds the lock).
pub struct Sender {
    store: Store,
    client: HubClient,
    settings: SyncSettings,
    rng: ChaCha8Rng,
    /// Request-level failures in a row: the queue-wide backoff exponent.
    failures: u32,
    batch_limit: usize,
    last_probe: Option<DateTime<Utc>>,
    _lock: SenderLock,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("db", &self.store.path())
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// Checks the credentials and certificates, opens the database and takes the sender lock.
    /// `Ok(None)`: another sender holds the lock.
    pub fn try_new(db: &Path, settings: SyncSettings) -> anyhow::Result<Option<Self>> {
        let client = HubClient::new(&settings)?;
        let store = Store::open(db, Arc::new(SystemClock))?;
        if let Some(expected) = &settings.facility_id {
            let stamped = store.facility_id()?;
            if &stamped != expected {
                bail!(
                    "{} stamps its events with facility `{stamped}`, but the sync settings say \
                     `{expected}`; the hub would refuse every event (403)",
                    db.display()
                );
            }
        }
        let Some(lock) = SenderLock::try_acquire(db)? else {
            return Ok(None);
        };
        let seed = u64::try_from(Utc::now().timestamp_nanos_opt().unwrap_or(0)).unwrap_or(0)
            ^ u64::from(std::process::id());
        Ok(Some(Self {
            store,
            client,
            batch_limit: settings.batch_size,
            settings,
            rng: ChaCha8Rng::seed_from_u64(seed),
            failures: 0,
            last_probe: None,
            _lock: lock,
        }))
    }

    /// Like [`Sender::try_new`], but a held lock is an error naming the holder.
    pub fn new(db: &Path, settings: SyncSettings) -> anyhow::Result<Self> {
        match Self::try_new(db, settings)? {
            Some(sender) => Ok(sender),
            None => {
                let holder = SenderLock::holder(db)
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                bail!(
                    "another sender{holder} already sends from {}; only one may (lock {})",
                    db.display(),
                    SenderLock::path_for(db).display()
                )
            }
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn status(&self) -> anyhow::Result<SyncStatus> {
        Ok(SyncStatus::read(&self.store, Utc::now())?)
    }

    /// One pass: claim what is due, send it as one batch, record what happened.
    pub async fn step(&mut self) -> anyhow::Result<Step> {
        let now = Utc::now();
        let state = self.store.sync_state()?;
        if state.paused_reason.is_some() {
            let token_changed = self.client.reload_token_if_changed().unwrap_or(false);
            // A fresh sender tries at once: it was likely restarted because someone fixed it.
            let probe_due = self.last_probe.is_none_or(|since| {
                now - since
                    >= chrono::TimeDelta::from_std(self.settings.pause_probe)
                        .unwrap_or(chrono::TimeDelta::MAX)
            });
            if !token_changed && !probe_due {
                return Ok(Step::Paused);
            }
            self.last_probe = Some(now);
        } else if let Some(hold) = state.hold_until
            && hold > now
        {
            return Ok(Step::Hold(hold));
        }
        let claimed = self.store.claim_due(now, self.batch_limit)?;
        if claimed.is_empty() {
            if state.paused_reason.is_some() {
                // Nothing to try the credentials with: keep waiting.
                return Ok(Step::Paused);
            }
            return Ok(Step::Idle(self.store.outbox_counts()?.next_attempt_at));
        }
        let (batch, local) = self.fit(claimed);
        if !local.is_empty() {
            self.store.record_deliveries(now, &local)?;
        }
        if batch.is_empty() {
            return Ok(Step::Sent(0));
        }
        let reply = match self.settings.format {
            SyncFormat::Native => {
                let payloads: Vec<&str> = batch.iter().map(|e| e.payload.as_str()).collect();
                self.client.send(&payloads, now).await
            }
            SyncFormat::Fhir => {
                let people = fhir::transactions(&self.store, &self.settings, &batch)?;
                let url = self.settings.url.as_str();
                fhir::post(&self.client, url, people, batch.len(), now).await
            }
        };
        let now = Utc::now();
        self.record(now, &batch, reply)
    }

    /// Splits off events that can never go (not JSON, too big) and keeps the rest within the
    /// hub's body limit.
    fn fit(&self, claimed: Vec<OutboxEvent>) -> (Vec<OutboxEvent>, Vec<(i64, Delivery)>) {
        let mut batch = Vec::new();
        let mut local = Vec::new();
        let mut bytes = 0;
        let mut dropped_people = std::collections::HashSet::new();
        for event in claimed {
            if dropped_people.contains(&event.person_id) {
                continue;
            }
            let problem = if serde_json::from_str::<serde::de::IgnoredAny>(&event.payload).is_err()
            {
                Some("the stored payload is not valid JSON")
            } else if event.payload.len() > BODY_BUDGET {
                Some("the event is larger than the hub's request size limit")
            } else {
                None
            };
            if let Some(problem) = problem {
                dropped_people.insert(event.person_id.clone());
                local.push((
                    event.seq,
                    Delivery::Dead {
                        error: problem.into(),
                    },
                ));
                continue;
            }
            if bytes + event.payload.len() + 1 > BODY_BUDGET {
                // Later events of the same person must not go ahead of this one.
                dropped_people.insert(event.person_id.clone());
                continue;
            }
            bytes += event.payload.len() + 1;
            batch.push(event);
        }
        (batch, local)
    }

    fn backoff_at(&mut self, now: DateTime<Utc>, attempt: u32) -> DateTime<Utc> {
        let delay = self.settings.backoff.delay(attempt, &mut self.rng);
        now + chrono::TimeDelta::from_std(delay).unwrap_or(chrono::TimeDelta::zero())
    }

    fn record(
        &mut self,
        now: DateTime<Utc>,
        batch: &[OutboxEvent],
        reply: Reply,
    ) -> anyhow::Result<Step> {
        match reply {
            Reply::Items(items) => self.record_items(now, batch, &items),
            Reply::Status {
                status: 401 | 403,
                problem,
                ..
            } => {
                let reason = if problem.starts_with("401") {
                    format!("{problem} (the hub refused the token; check the token file)")
                } else {
                    format!("{problem} (the token may not send for this facility)")
                };
                tracing::warn!(status = problem.get(..3).unwrap_or(""), "sync paused");
                self.store.pause_sync(now, &reason)?;
                Ok(Step::Paused)
            }
            Reply::Status {
                status: 413,
                problem,
                ..
            } if batch.len() > 1 => {
                self.batch_limit = (batch.len() / 2).max(1);
                self.store.note_sync_attempt(now, None, Some(&problem))?;
                Ok(Step::Sent(0))
            }
            Reply::Status {
                status: 413,
                problem,
                ..
            } => {
                let outcomes: Vec<(i64, Delivery)> = batch
                    .iter()
                    .map(|e| {
                        (
                            e.seq,
                            Delivery::Dead {
                                error: problem.clone(),
                            },
                        )
                    })
                    .collect();
                self.store.record_deliveries(now, &outcomes)?;
                Ok(Step::Sent(0))
            }
            Reply::Status {
                retry_after,
                problem,
                ..
            } => self.hold_batch(now, batch, retry_after, &problem),
            Reply::Network { error, tls: true } => {
                let reason = format!("TLS failure: {error}");
                tracing::warn!("sync paused: TLS failure");
                self.store.pause_sync(now, &reason)?;
                Ok(Step::Paused)
            }
            Reply::Network { error, tls: false } => self.hold_batch(now, batch, None, &error),
        }
    }

    /// A request-level failure: the whole queue waits (Retry-After, else the backoff).
    fn hold_batch(
        &mut self,
        now: DateTime<Utc>,
        batch: &[OutboxEvent],
        retry_after: Option<Duration>,
        error: &str,
    ) -> anyhow::Result<Step> {
        let at = match retry_after {
            Some(wait) => now + chrono::TimeDelta::from_std(wait).unwrap_or_default(),
            None => {
                let failures = self.failures;
                self.backoff_at(now, failures)
            }
        };
        self.failures = self.failures.saturating_add(1);
        // The queue-wide hold alone decides when to try again: a later success, `sync resume`
        // or the hold's end releases these events and everyone queued behind them.
        let outcomes: Vec<(i64, Delivery)> = batch
            .iter()
            .map(|e| {
                (
                    e.seq,
                    Delivery::Held {
                        error: error.to_string(),
                    },
                )
            })
            .collect();
        self.store.record_deliveries(now, &outcomes)?;
        self.store.note_sync_attempt(now, Some(at), Some(error))?;
        tracing::info!(events = batch.len(), "hub unavailable; holding the queue");
        Ok(Step::Hold(at))
    }

    fn record_items(
        &mut self,
        now: DateTime<Utc>,
        batch: &[OutboxEvent],
        items: &[Item],
    ) -> anyhow::Result<Step> {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut sent = 0;
        let mut pause: Option<String> = None;
        let mut last_error: Option<String> = None;
        for (event, item) in batch.iter().zip(items) {
            let outcome = match item {
                Item::Stored => {
                    sent += 1;
                    Delivery::Sent
                }
                Item::Deferred => Delivery::Deferred,
                Item::Rejected {
                    status,
                    kind,
                    detail,
                } => {
                    let error = format!("{status} {kind}: {detail}");
                    last_error = Some(error.clone());
                    match (*status, kind.as_str()) {
                        (409, "in-flight") => Delivery::Retry {
                            at: now
                                + chrono::TimeDelta::from_std(backoff::IN_FLIGHT_WAIT)
                                    .unwrap_or_default(),
                            error,
                        },
                        (409, _) => Delivery::Blocked {
                            error: format!(
                                "{error} — the hub holds a different history for this person \
                                 (a restored older database?); compare GET /v1/persons/{}/cursor",
                                event.person_id
                            ),
                        },
                        (401 | 403, _) => {
                            pause = Some(error);
                            Delivery::Deferred
                        }
                        (408 | 425 | 429, _) | (500..=599, _) => {
                            let attempt = u32::try_from(event.attempts).unwrap_or(u32::MAX);
                            Delivery::Retry {
                                at: self.backoff_at(now, attempt),
                                error,
                            }
                        }
                        _ => Delivery::Dead { error },
                    }
                }
            };
            outcomes.push((event.seq, outcome));
        }
        self.store.record_deliveries(now, &outcomes)?;
        self.failures = 0;
        self.batch_limit = self.settings.batch_size;
        if let Some(reason) = pause {
            self.store.pause_sync(now, &reason)?;
            return Ok(Step::Paused);
        }
        self.store.clear_sync_pause(now)?;
        // Any delivery is a success; a refused event shows in its own row and in the counts.
        let error = if sent > 0 {
            None
        } else {
            last_error.as_deref()
        };
        self.store.note_sync_attempt(now, None, error)?;
        if sent > 0 {
            tracing::debug!(sent, "events delivered");
        }
        Ok(Step::Sent(sent))
    }

    /// Sends until stopped. With `once`, sends what is due now and returns at the first wait.
    pub async fn run(
        &mut self,
        mut stop: watch::Receiver<bool>,
        once: bool,
        status: Option<&watch::Sender<SyncStatus>>,
    ) -> anyhow::Result<()> {
        let mut seen_version = self.store.data_version()?;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            // Stopping mid-request is safe: the event stays pending and goes again, same key.
            let step = tokio::select! {
                step = self.step() => step?,
                _ = stop.changed() => return Ok(()),
            };
            if let Some(tx) = status {
                let now = self.status()?;
                tx.send_if_modified(|old| {
                    let changed = *old != now;
                    *old = now;
                    changed
                });
            }
            let wake = match step {
                Step::Sent(_) => continue,
                _ if once => return Ok(()),
                Step::Idle(next) => next,
                Step::Hold(at) => Some(at),
                Step::Paused => Some(Utc::now() + chrono::TimeDelta::seconds(1)),
            };
            // Sleep in short ticks that only read `PRAGMA data_version`: a commit by another
            // process (a new event, a retry from the panel) or the due time wakes the sender.
            loop {
                let tick = self.settings.idle_poll;
                let until_due = wake.map(|at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO));
                let nap = until_due.map_or(tick, |d| d.min(tick));
                tokio::select! {
                    _ = tokio::time::sleep(nap) => {}
                    _ = stop.changed() => return Ok(()),
                }
                let version = self.store.data_version()?;
                let due = wake.is_some_and(|at| at <= Utc::now());
                if version != seen_version || due {
                    seen_version = version;
                    break;
                }
            }
        }
    }
}

/// A sender on its own thread, for the board. Dropping it stops the sender and frees the lock.
pub struct BackgroundSender {
    status: watch::Receiver<SyncStatus>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundSender {
    /// The latest status; `changed()` on a clone wakes when it changes.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }
}

impl Drop for BackgroundSender {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts a sender on a thread of its own when this process can take the lock. `Ok(None)`:
/// another sender (the service, another board) already sends. Errors (no token, bad CA) come
/// back at once; a failure later is logged and ends the thread, never printed.
pub fn spawn_background(
    db: PathBuf,
    settings: SyncSettings,
) -> anyhow::Result<Option<BackgroundSender>> {
    let Some(mut sender) = Sender::try_new(&db, settings)? else {
        return Ok(None);
    };
    let first = sender.status()?;
    let (status_tx, status_rx) = watch::channel(first);
    let (stop_tx, stop_rx) = watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("sync-sender".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the sender's runtime");
                    return;
                }
            };
            if let Err(e) = runtime.block_on(sender.run(stop_rx, false, Some(&status_tx))) {
                tracing::error!(error = format!("{e:#}"), "the background sender stopped");
            }
        })
        .context("cannot start the sender thread")?;
    Ok(Some(BackgroundSender {
        status: status_rx,
        stop: stop_tx,
        thread: Some(thread),
    }))
}
