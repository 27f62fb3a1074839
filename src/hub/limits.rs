//! Connection limits of the hub: a cap in total and per address, and short timeouts for
//! connections that send nothing — so half-open connections cannot use up the descriptors a
//! facility's sender needs.
//!
//! - A connection must send its first byte within `first_byte` and then never stay silent
//!   longer than `idle` (between requests of a kept-alive connection, say).
//! - An address holding `per_address` connections has its new ones closed at once.
//! - At `max` connections in total, the oldest connection that has not sent a byte yet is closed
//!   to make room; when every connection is busy, the new one is closed instead.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The hub's connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    pub max: usize,
    pub per_address: usize,
    /// Time to the first byte of a new connection.
    pub first_byte: Duration,
    /// Longest silence (nothing read or written) of a connection after that.
    pub idle: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            max: 512,
            per_address: 32,
            first_byte: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        }
    }
}

impl ConnLimits {
    /// Keeps room under the open-file limit for the database, logs and the listener.
    pub fn fitted_to(self, open_files: u64) -> Self {
        let room = usize::try_from(open_files.saturating_sub(64)).unwrap_or(usize::MAX);
        Self {
            max: self.max.min(room.max(1)),
            ..self
        }
    }
}

/// Closes a connection from outside its task.
#[derive(Default)]
struct Kill {
    killed: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Kill {
    fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn is_killed(&self, cx: &Context<'_>) -> bool {
        if self.killed.load(Ordering::SeqCst) {
            return true;
        }
        *self
            .waker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(cx.waker().clone());
        self.killed.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
struct Table {
    next_id: u64,
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    /// Connections that have not sent a byte yet, oldest first.
    silent: BTreeMap<u64, Arc<Kill>>,
    /// Closed to make room, still counted until their task ends.
    dying: usize,
}

/// Every open connection, counted.
pub struct Connections {
    limits: ConnLimits,
    table: Mutex<Table>,
    /// Told when a connection closed to make room has ended.
    died: tokio::sync::Notify,
}

/// How long the accept loop waits for connections closed to make room to end, before it refuses
/// a newcomer: on a busy machine their tasks may not have run yet, and a facility's connection
/// behind a flood should not pay for that.
const WAIT_FOR_DYING: Duration = Duration::from_millis(250);

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    PerAddress,
    Full,
}

/// A connection's place, given back when dropped.
pub struct Place {
    id: u64,
    ip: IpAddr,
    kill: Arc<Kill>,
    connections: Arc<Connections>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut table = self.connections.lock();
        table.total = table.total.saturating_sub(1);
        if self.kill.killed.load(Ordering::SeqCst) {
            table.dying = table.dying.saturating_sub(1);
            self.connections.died.notify_one();
        }
        table.silent.remove(&self.id);
        if let Some(n) = table.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                table.per_ip.remove(&self.ip);
            }
        }
    }
}

impl Connections {
    pub fn new(limits: ConnLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            table: Mutex::new(Table::default()),
            died: tokio::sync::Notify::new(),
        })
    }

    pub fn limits(&self) -> ConnLimits {
        self.limits
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for a new connection from `ip`, closing the oldest silent one if the hub is full.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Place, Refusal> {
        let ip = ip.to_canonical();
        let mut table = self.lock();
        if table.per_ip.get(&ip).copied().unwrap_or(0) >= self.limits.per_address {
            return Err(Refusal::PerAddress);
        }
        if table.total >= self.limits.max {
            // Its place is given back when its task ends; until then the count overshoots, by
            // at most an eighth of the cap (then new ones are refused instead).
            if table.dying >= (self.limits.max / 8).max(1) {
                return Err(Refusal::Full);
            }
            let Some((_, oldest)) = table.silent.pop_first() else {
                return Err(Refusal::Full);
            };
            oldest.kill();
            table.dying += 1;
        }
        table.next_id += 1;
        let id = table.next_id;
        let kill = Arc::new(Kill::default());
        table.total += 1;
        *table.per_ip.entry(ip).or_insert(0) += 1;
        table.silent.insert(id, kill.clone());
        Ok(Place {
            id,
            ip,
            kill,
            connections: self.clone(),
        })
    }

    /// [`Connections::admit`], but when the hub is full only of connections already closed to
    /// make room whose tasks have not ended yet, waits up to [`WAIT_FOR_DYING`] for them.
    pub async fn admit_or_wait(self: &Arc<Self>, ip: IpAddr) -> Result<Place, Refusal> {
        let deadline = Instant::now() + WAIT_FOR_DYING;
        loop {
            match self.admit(ip) {
                Err(Refusal::Full) if self.lock().dying > 0 && Instant::now() < deadline => {
                    let _ = tokio::time::timeout_at(deadline, self.died.notified()).await;
                }
                other => return other,
            }
        }
    }

    fn heard_from(&self, id: u64) {
        self.lock().silent.remove(&id);
    }

    pub fn open(&self) -> usize {
        self.lock().total
    }
}

/// A connection's stream under the limits: reads and writes fail once it was closed to make
/// room, or stayed silent too long.
pub struct LimitedIo<T> {
    inner: T,
    place: Place,
    heard: bool,
    timer: Pin<Box<Sleep>>,
}

impl<T> LimitedIo<T> {
    pub fn new(inner: T, place: Place) -> Self {
        let first_byte = place.connections.limits.first_byte;
        Self {
            inner,
            place,
            heard: false,
            timer: Box::pin(tokio::time::sleep(first_byte)),
        }
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.place.kill.is_killed(cx) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "closed to make room for a new connection",
            ));
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                if self.heard {
                    "idle for too long"
                } else {
                    "sent nothing"
                },
            ));
        }
        Ok(())
    }

    fn active(&mut self) {
        if !self.heard {
            self.heard = true;
            self.place.connections.heard_from(self.place.id);
        }
        let idle = self.place.connections.limits.idle;
        self.timer.as_mut().reset(Instant::now() + idle);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for LimitedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check(cx)?;
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.active();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for LimitedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) && self.heard {
            self.active();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) && self.heard {
            self.active();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn a_newcomer_waits_briefly_for_connections_closed_to_make_room() {
        let connections = Connections::new(ConnLimits {
            max: 2,
            ..ConnLimits::default()
        });
        let a = connections.admit(ip("10.0.0.1")).unwrap();
        let _b = connections.admit(ip("10.0.0.2")).unwrap();
        // a is closed for c; until a's task ends the hub is full of the dying and the silent.
        let _c = connections.admit(ip("10.0.0.3")).unwrap();
        assert_eq!(connections.admit(ip("10.0.0.4")).err(), Some(Refusal::Full));
        let ending = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            drop(a);
        });
        assert!(connections.admit_or_wait(ip("10.0.0.4")).await.is_ok());
        ending.await.unwrap();
        // When the dying do not end (b is held here), it refuses after the wait.
        assert_eq!(
            connections.admit_or_wait(ip("10.0.0.5")).await.err(),
            Some(Refusal::Full)
        );
    }

    #[test]
    fn caps_per_address_and_makes_room_by_closing_the_oldest_silent_one() {
        let connections = Connections::new(ConnLimits {
            max: 3,
            per_address: 2,
            ..ConnLimits::default()
        });
        let a1 = connections.admit(ip("10.0.0.1")).unwrap();
        let a2 = connections.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(
            connections.admit(ip("10.0.0.1")).err(),
            Some(Refusal::PerAddress)
        );
        let b1 = connections.admit(ip("10.0.0.2")).unwrap();
        connections.heard_from(a2.id);
        connections.heard_from(b1.id);
        // Full: a1 (silent, oldest) is closed for the newcomer.
        let c1 = connections.admit(ip("10.0.0.3")).unwrap();
        assert!(a1.kill.killed.load(Ordering::SeqCst));
        assert!(!a2.kill.killed.load(Ordering::SeqCst));
        // While a1's task has not ended, no more are closed for newcomers (c1 is silent too).
        assert_eq!(connections.admit(ip("10.0.0.5")).err(), Some(Refusal::Full));
        assert!(!c1.kill.killed.load(Ordering::SeqCst));
        drop(a1);
        connections.heard_from(c1.id);
        // Everyone has spoken: the newcomer is the one refused.
        assert_eq!(connections.admit(ip("10.0.0.4")).err(), Some(Refusal::Full));
        drop((a2, b1, c1));
        assert_eq!(connections.open(), 0);
    }

    #[test]
    fn limits_fit_under_the_open_file_limit() {
        assert_eq!(ConnLimits::default().fitted_to(1024).max, 512);
        assert_eq!(ConnLimits::default().fitted_to(300).max, 236);
        assert_eq!(ConnLimits::default().fitted_to(10).max, 1);
    }
}
