//! Fault injection for the sender's tests: a handle the test process keeps and changes while the
//! hub runs. Library-only: the CLI never creates one and nothing on the network can set it.
//!
//! Faults apply to every route except `GET /v1/health`, in this order: delay, 401 until cleared,
//! the next N failures (counted or random), then the request runs; a POST may then have its
//! connection dropped after the commit, before any byte of the response is written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::{RngExt as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::problem::Problem;

/// Shared, cloneable fault settings. `Faults::default()` injects nothing.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<State_>>,
}

#[derive(Debug, Default)]
struct State_ {
    fail_next: u32,
    fail_status: u16,
    retry_after: Option<u64>,
    random: Option<(f64, u16, ChaCha8Rng)>,
    unauthorized: bool,
    drop_after_commit: u32,
    delay: Option<Duration>,
    requests: u64,
    injected: u64,
    dropped: u64,
}

/// What to do with one request, decided when it arrives.
#[derive(Debug, Default)]
struct Plan {
    delay: Option<Duration>,
    respond: Option<(u16, Option<u64>)>,
    drop_after_commit: bool,
}

impl Faults {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State_> {
        // A test that panicked while holding the lock must not wedge the hub.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers the next `n` requests with `status` (e.g. 500, 503, 429) and, when given, a
    /// `Retry-After: seconds` header. Nothing is stored for them.
    pub fn fail_next(&self, n: u32, status: u16, retry_after_secs: Option<u64>) {
        let mut s = self.lock();
        s.fail_next = n;
        s.fail_status = status;
        s.retry_after = retry_after_secs;
    }

    /// Answers each request with `status` with this probability (0.0..=1.0), from a seeded
    /// generator so a failing test can be replayed. `probability <= 0` turns it off.
    pub fn fail_randomly(&self, probability: f64, status: u16, seed: u64) {
        self.lock().random =
            (probability > 0.0).then(|| (probability, status, ChaCha8Rng::seed_from_u64(seed)));
    }

    /// Answers 401 to everything until called with `false`.
    pub fn set_unauthorized(&self, on: bool) {
        self.lock().unauthorized = on;
    }

    /// For the next `n` POSTs: process (and commit) normally, then drop the connection without
    /// sending a response — the "hub committed, the client never heard" case.
    pub fn drop_after_commit(&self, n: u32) {
        self.lock().drop_after_commit = n;
    }

    /// Delays every response by this much (None: no delay).
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.lock().delay = delay;
    }

    /// Back to a healthy hub; the counters are kept.
    pub fn clear(&self) {
        let mut s = self.lock();
        let (requests, injected, dropped) = (s.requests, s.injected, s.dropped);
        *s = State_ {
            requests,
            injected,
            dropped,
            ..State_::default()
        };
    }

    /// Requests seen by the fault layer (health checks excluded).
    pub fn requests(&self) -> u64 {
        self.lock().requests
    }

    /// Requests answered with an injected status (401 or a failure).
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    /// Connections dropped after a commit.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    fn plan(&self, is_post: bool) -> Plan {
        let mut s = self.lock();
        s.requests += 1;
        let mut plan = Plan {
            delay: s.delay,
            ..Plan::default()
        };
        if s.unauthorized {
            plan.respond = Some((401, None));
        } else if s.fail_next > 0 {
            s.fail_next -= 1;
            plan.respond = Some((s.fail_status, s.retry_after));
        } else if let Some((p, status, rng)) = s.random.as_mut()
            && rng.random_bool(p.clamp(0.0, 1.0))
        {
            plan.respond = Some((*status, None));
        }
        if plan.respond.is_some() {
            s.injected += 1;
        } else if is_post && s.drop_after_commit > 0 {
            s.drop_after_commit -= 1;
            s.dropped += 1;
            plan.drop_after_commit = true;
        }
        plan
    }
}

/// Marks one TCP connection; [`ConnHandle::kill`] makes its next read or write fail, so hyper
/// closes it without writing the pending response.
#[derive(Debug, Clone, Default)]
pub struct ConnHandle {
    killed: Arc<AtomicBool>,
}

impl ConnHandle {
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

/// The middleware that applies [`Faults`].
pub async fn inject(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    if route.as_deref() == Some("/v1/health") {
        return next.run(request).await;
    }
    let plan = faults.plan(request.method() == Method::POST);
    if let Some(delay) = plan.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some((status, retry_after)) = plan.respond {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Problem::with_status(status, "injected fault (test hub)")
            .retry_after(retry_after)
            .into_response();
    }
    let conn = request.extensions().get::<ConnHandle>().cloned();
    let response = next.run(request).await;
    if plan.drop_after_commit
        && let Some(conn) = conn
    {
        conn.kill();
    }
    response
}
