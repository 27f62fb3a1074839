//! What the server's sessions share: the list of who is connected (to wake them on a commit or
//! tell them goodbye), the session limit and the failed-authentication count per address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::tui::Wake;

pub type SessionId = u64;

pub struct Sessions {
    open: Mutex<HashMap<SessionId, SyncSender<Wake>>>,
    next_id: AtomicU64,
    max: usize,
    stopping: AtomicBool,
    /// Bumped on every commit made through a session: a hook for tasks inside the server (the
    /// sync sender) to act at once on a local change instead of polling.
    changes: tokio::sync::watch::Sender<u64>,
}

/// A place in [`Sessions`], given back when dropped.
pub struct Ticket {
    pub id: SessionId,
    sessions: Arc<Sessions>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.sessions.lock().remove(&self.id);
    }
}

impl Sessions {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            max,
            stopping: AtomicBool::new(false),
            changes: tokio::sync::watch::channel(0).0,
        })
    }

    /// A poisoned lock only means another session panicked mid-update of a plain map; the map is
    /// still usable, and one session must not take the others down.
    fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, SyncSender<Wake>>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `None` when the server is full or stopping.
    pub fn join(self: &Arc<Self>, input: SyncSender<Wake>) -> Option<Ticket> {
        if self.is_stopping() {
            return None;
        }
        let mut open = self.lock();
        if open.len() >= self.max {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        open.insert(id, input);
        Some(Ticket {
            id,
            sessions: self.clone(),
        })
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Session `from` committed: every other session reloads now. A session whose queue is full
    /// is busy and will see the change on its next once-a-second `data_version` check anyway.
    pub fn changed(&self, from: SessionId) {
        for (id, input) in self.lock().iter() {
            if *id != from {
                let _ = input.try_send(Wake::DataChanged);
            }
        }
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Wakes on every commit made through a session (for tasks running inside the server).
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Every session says goodbye and ends; no new one starts.
    pub fn stop_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for input in self.lock().values() {
            // Blocking here could stall on a wedged session; a full queue still ends in Stop
            // once the session reads it, since the sender is dropped with the connection.
            let _ = input.try_send(Wake::Stop);
        }
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// Failed sign-ins per client address within a window. A failure is a connection that tried
/// to sign in and ended without success — not each key a client offers, since OpenSSH offers
/// every key of the agent in turn. An address over the limit is slowed, never refused: its
/// unlisted keys wait before they are turned down, while a listed key signs in at once (people
/// behind one address must not lock each other out), and a sign-in clears the address.
pub struct AuthFailures {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl AuthFailures {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, (u32, Instant)>> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The address has failed `limit` times within the window.
    pub fn over_limit(&self, addr: IpAddr, now: Instant) -> bool {
        self.lock()
            .get(&addr.to_canonical())
            .is_some_and(|(count, since)| *count >= self.limit && now - *since < self.window)
    }

    /// A connection from `addr` ended without signing in.
    pub fn record(&self, addr: IpAddr, now: Instant) {
        let mut seen = self.lock();
        seen.retain(|_, (_, since)| now - *since < self.window);
        let entry = seen.entry(addr.to_canonical()).or_insert((0, now));
        entry.0 = entry.0.saturating_add(1);
    }

    /// Someone at `addr` signed in: its earlier failures are forgotten.
    pub fn clear(&self, addr: IpAddr) {
        self.lock().remove(&addr.to_canonical());
    }

    pub fn failures(&self, addr: IpAddr, now: Instant) -> u32 {
        self.lock()
            .get(&addr.to_canonical())
            .filter(|(_, since)| now - *since < self.window)
            .map_or(0, |(count, _)| *count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::sync_channel;

    #[test]
    fn limits_sessions_and_wakes_only_the_others() {
        let sessions = Sessions::new(2);
        let (a_tx, a_rx) = sync_channel(8);
        let (b_tx, b_rx) = sync_channel(8);
        let (c_tx, _c_rx) = sync_channel(8);
        let a = sessions.join(a_tx).unwrap();
        let b = sessions.join(b_tx).unwrap();
        assert!(sessions.join(c_tx.clone()).is_none(), "full");
        let changes = sessions.subscribe();
        sessions.changed(a.id);
        assert_eq!(b_rx.try_recv(), Ok(Wake::DataChanged));
        assert!(a_rx.try_recv().is_err(), "the saver already has its change");
        assert!(changes.has_changed().unwrap());
        drop(b);
        assert_eq!(sessions.count(), 1);
        sessions.stop_all();
        assert_eq!(a_rx.try_recv(), Ok(Wake::Stop));
        assert!(sessions.join(c_tx).is_none(), "stopping");
    }

    #[test]
    fn counts_failures_per_address_for_a_while_and_a_sign_in_clears_them() {
        let failures = AuthFailures::new(3, Duration::from_secs(60));
        let (addr, other) = ("10.0.0.5".parse().unwrap(), "10.0.0.6".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(!failures.over_limit(addr, t0));
            failures.record(addr, t0);
        }
        assert!(failures.over_limit(addr, t0));
        assert!(!failures.over_limit(other, t0));
        assert!(!failures.over_limit(addr, t0 + Duration::from_secs(61)));
        failures.clear(addr);
        assert_eq!(failures.failures(addr, t0), 0);
        assert!(!failures.over_limit(addr, t0));
    }
}
