//! Where the hub keeps its data: one SQLite file (the default: demo, tests, a single county) or a
//! PostgreSQL database shared by any number of hub processes (a state's central service).
//!
//! [`Store`] is the only thing the routes talk to. Both backends apply the same rules
//! ([`check_duplicate`], [`check_order`], [`Deferrals`]) so that they give the same answers; they
//! differ only in how they make those rules hold under concurrency: SQLite has one writer, and
//! PostgreSQL takes a per-person lock in the database for the length of the transaction.

pub mod acknowledgements;
pub mod incoming;
pub mod postgres;
mod postgres_tls;
pub mod sqlite;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, anyhow};
use serde_json::Value;

use super::acknowledgements::{Ack, AckOutcome};
use super::audit::AuditRow;
use super::db::{Incoming, Outcome, Receipt};
use super::incoming::{Page, PageQuery, Scope};
use super::problem::{Kind, Problem};
use super::tokens::{Caller, TokenInfo};

/// A database named by the user: a file path (SQLite) or a `postgres://` URL, with where the
/// PostgreSQL password is (never in the URL: it would show in `ps` and in logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub location: String,
    pub password_file: Option<PathBuf>,
}

impl Target {
    pub fn new(location: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            password_file: None,
        }
    }

    pub fn with_password_file(mut self, file: Option<PathBuf>) -> Self {
        self.password_file = file;
        self
    }

    pub fn is_postgres(&self) -> bool {
        postgres::is_url(&self.location)
    }

    /// What to show an operator: the file, or the URL (it never holds a password).
    pub fn display(&self) -> &str {
        &self.location
    }
}

impl From<&Path> for Target {
    fn from(path: &Path) -> Self {
        Self::new(path.to_string_lossy().into_owned())
    }
}

impl From<PathBuf> for Target {
    fn from(path: PathBuf) -> Self {
        Self::from(path.as_path())
    }
}

impl From<&str> for Target {
    fn from(location: &str) -> Self {
        Self::new(location)
    }
}

impl From<String> for Target {
    fn from(location: String) -> Self {
        Self::new(location)
    }
}

impl From<&Target> for Target {
    fn from(target: &Target) -> Self {
        target.clone()
    }
}

/// One event of a request, after the schema checks (which may have refused it already).
#[derive(Debug)]
pub struct Item {
    /// As the request gave them (before the checks), for the answer and the deferrals.
    pub person_id: Option<String>,
    pub event_id: Option<String>,
    pub event: Result<Incoming, Problem>,
}

/// What became of one event of a request.
#[derive(Debug)]
pub enum ItemResult {
    Stored(Receipt),
    Rejected(Problem),
    /// Not tried: an earlier event of the same person in this request was not stored.
    Deferred(Problem),
}

/// What `hub check` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub backend: &'static str,
    pub schema_version: i64,
    pub known_version: i64,
    pub tokens: i64,
    pub active_tokens: i64,
    pub events: i64,
    pub persons: i64,
}

#[derive(Clone)]
pub enum Store {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Postgres(postgres::PgStore),
}

impl Store {
    /// Opens the database, creating or migrating its schema (a newer schema is refused).
    /// Blocking: call it off the async workers.
    pub fn open(target: &Target) -> anyhow::Result<Self> {
        if target.is_postgres() {
            Ok(Self::Postgres(
                postgres::PgStore::open(target, true).map_err(postgres::redacted_error)?,
            ))
        } else {
            let conn = super::db::open(Path::new(&target.location))?;
            Ok(Self::Sqlite(Arc::new(Mutex::new(conn))))
        }
    }

    /// Opens a database without changing it (`hub check`): a missing SQLite file is an error, an
    /// old schema is reported by [`Store::status`], a newer one refused.
    pub fn open_existing(target: &Target) -> anyhow::Result<Self> {
        if target.is_postgres() {
            return Ok(Self::Postgres(
                postgres::PgStore::open(target, false).map_err(postgres::redacted_error)?,
            ));
        }
        let path = Path::new(&target.location);
        if !path.exists() {
            anyhow::bail!("{} does not exist", path.display());
        }
        let conn =
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .with_context(|| format!("cannot open the hub database {}", path.display()))?;
        let id: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .with_context(|| format!("cannot read {}", path.display()))?;
        if id != super::db::APPLICATION_ID {
            anyhow::bail!("{} is not a hub database", path.display());
        }
        Ok(Self::Sqlite(Arc::new(Mutex::new(conn))))
    }

    /// Runs `f` on the SQLite connection on the blocking pool: SQLite (with fsync on commit) must
    /// not stall the async workers.
    async fn sqlite<T, F>(conn: &Arc<Mutex<rusqlite::Connection>>, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(conn);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| anyhow!("the database lock is poisoned"))?;
            f(&mut conn)
        })
        .await
        .map_err(|error| anyhow!("database task failed: {error}"))?
    }

    pub async fn authenticate(&self, token: &str) -> anyhow::Result<Option<Caller>> {
        match self {
            Self::Sqlite(conn) => {
                let token = token.to_string();
                Self::sqlite(conn, move |c| super::tokens::authenticate(c, &token)).await
            }
            Self::Postgres(pg) => pg
                .authenticate(token)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    /// Stores the events of one request in one transaction, in order, each all or nothing.
    pub async fn store(&self, token_id: i64, items: Vec<Item>) -> anyhow::Result<Vec<ItemResult>> {
        match self {
            Self::Sqlite(conn) => {
                Self::sqlite(conn, move |c| sqlite::store(c, token_id, items)).await
            }
            Self::Postgres(pg) => pg
                .store(token_id, items)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    pub async fn person_view(&self, facility: &str, person: &str) -> anyhow::Result<Option<Value>> {
        match self {
            Self::Sqlite(conn) => {
                let (f, p) = (facility.to_string(), person.to_string());
                Self::sqlite(conn, move |c| super::db::person_view(c, &f, &p)).await
            }
            Self::Postgres(pg) => pg
                .person_view(facility, person)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    pub async fn cursor(
        &self,
        facility: &str,
        person: &str,
    ) -> anyhow::Result<(i64, Option<String>)> {
        match self {
            Self::Sqlite(conn) => {
                let (f, p) = (facility.to_string(), person.to_string());
                Self::sqlite(conn, move |c| super::db::cursor(c, &f, &p)).await
            }
            Self::Postgres(pg) => pg
                .cursor(facility, person)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    pub async fn releases(
        &self,
        facility: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> anyhow::Result<Vec<Value>> {
        match self {
            Self::Sqlite(conn) => {
                let f = facility.to_string();
                Self::sqlite(conn, move |c| super::db::releases(c, &f, from, to)).await
            }
            Self::Postgres(pg) => pg
                .releases(facility, from, to)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    /// Whether the database answers a query now.
    pub async fn ping(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(conn) => {
                Self::sqlite(conn, |c| {
                    c.query_row("SELECT 1", [], |_| Ok(()))
                        .context("the database does not answer")
                })
                .await
            }
            Self::Postgres(pg) => pg.ping().await.map_err(postgres::redacted_error),
        }
    }

    pub async fn count_events(&self) -> anyhow::Result<i64> {
        Ok(self.status().await?.events)
    }

    pub async fn status(&self) -> anyhow::Result<Status> {
        match self {
            Self::Sqlite(conn) => Self::sqlite(conn, sqlite::status).await,
            Self::Postgres(pg) => pg.status().await.map_err(postgres::redacted_error),
        }
    }

    /// Makes a token for a facility; returns its id and the secret, which is not stored.
    pub async fn add_token(&self, facility: &str, label: &str) -> anyhow::Result<(i64, String)> {
        match self {
            Self::Sqlite(conn) => {
                let (f, l) = (facility.to_string(), label.to_string());
                Self::sqlite(conn, move |c| super::tokens::add(c, &f, &l)).await
            }
            Self::Postgres(pg) => pg
                .add_token(facility, label)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    /// Makes a reader token for a plan, an ECM provider or a county; returns its id and secret.
    pub async fn add_reader_token(
        &self,
        scope: &Scope,
        label: &str,
    ) -> anyhow::Result<(i64, String)> {
        match self {
            Self::Sqlite(conn) => {
                let (s, l) = (scope.clone(), label.to_string());
                Self::sqlite(conn, move |c| super::tokens::add_reader(c, &s, &l)).await
            }
            Self::Postgres(pg) => pg
                .add_reader(scope, label)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    /// Records the county a facility is in (county readers see its people).
    pub async fn set_county(&self, facility: &str, county: &str) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(conn) => {
                let (f, c) = (facility.to_string(), county.to_string());
                Self::sqlite(conn, move |conn| super::tokens::set_county(conn, &f, &c)).await
            }
            Self::Postgres(pg) => pg
                .set_county(facility, county)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    /// One page of the people in a reader's scope releasing in a window.
    pub async fn incoming(&self, scope: &Scope, query: &PageQuery) -> anyhow::Result<Page> {
        match self {
            Self::Sqlite(conn) => {
                let (s, q) = (scope.clone(), query.clone());
                Self::sqlite(conn, move |c| incoming::sqlite(c, &s, &q)).await
            }
            Self::Postgres(pg) => pg
                .incoming(scope, query)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    /// Stores a reader's acknowledgement of a person in its scope, once per id.
    pub async fn acknowledge(
        &self,
        token_id: i64,
        scope: &Scope,
        facility: &str,
        person: &str,
        ack: &Ack,
    ) -> anyhow::Result<AckOutcome> {
        match self {
            Self::Sqlite(conn) => {
                let (s, f, p, a) = (
                    scope.clone(),
                    facility.to_string(),
                    person.to_string(),
                    ack.clone(),
                );
                Self::sqlite(conn, move |c| {
                    acknowledgements::acknowledge(c, token_id, &s, &f, &p, &a)
                })
                .await
            }
            Self::Postgres(pg) => pg
                .acknowledge(token_id, scope, facility, person, ack)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    /// A facility's acknowledgements after `since`, oldest first, at most `limit`.
    pub async fn acknowledgements(
        &self,
        facility: &str,
        since: i64,
        limit: usize,
    ) -> anyhow::Result<Vec<Value>> {
        match self {
            Self::Sqlite(conn) => {
                let f = facility.to_string();
                Self::sqlite(conn, move |c| acknowledgements::list(c, &f, since, limit)).await
            }
            Self::Postgres(pg) => pg
                .acknowledgements(facility, since, limit)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    /// Records that a reader token was shown (or acknowledged) these people, before it is.
    pub async fn record_reads(
        &self,
        token_id: i64,
        what: &'static str,
        people: Vec<(String, String)>,
    ) -> anyhow::Result<()> {
        if people.is_empty() {
            return Ok(());
        }
        match self {
            Self::Sqlite(conn) => {
                Self::sqlite(conn, move |c| {
                    super::audit::record(c, token_id, what, &people)
                })
                .await
            }
            Self::Postgres(pg) => pg
                .record_reads(token_id, what, &people)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    /// What a reader token was shown between two days (UTC, inclusive).
    pub async fn audit(
        &self,
        token_id: i64,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> anyhow::Result<Vec<AuditRow>> {
        match self {
            Self::Sqlite(conn) => {
                Self::sqlite(conn, move |c| super::audit::list(c, token_id, from, to)).await
            }
            Self::Postgres(pg) => pg
                .audit(token_id, from, to)
                .await
                .map_err(postgres::redacted_error),
        }
    }

    pub async fn list_tokens(&self) -> anyhow::Result<Vec<TokenInfo>> {
        match self {
            Self::Sqlite(conn) => Self::sqlite(conn, |c| super::tokens::list(c)).await,
            Self::Postgres(pg) => pg.list_tokens().await.map_err(postgres::redacted_error),
        }
    }

    /// Revokes a token by id. Revoking twice is an error, so a typo in the id is noticed.
    pub async fn revoke_token(&self, id: i64) -> anyhow::Result<TokenInfo> {
        match self {
            Self::Sqlite(conn) => Self::sqlite(conn, move |c| super::tokens::revoke(c, id)).await,
            Self::Postgres(pg) => pg.revoke_token(id).await.map_err(postgres::redacted_error),
        }
    }
}

/// Runs `future` to completion on a runtime of its own, for the commands and tests that are not
/// async.
/// On a thread of its own, so it works from inside a runtime too (the tests' hubs start there).
pub fn block_on<T: Send>(future: impl Future<Output = T> + Send) -> anyhow::Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("cannot start an async runtime")?;
                Ok(runtime.block_on(future))
            })
            .join()
            .map_err(|_| anyhow!("the database thread panicked"))?
    })
}

/// An event whose event_id the hub already holds: the same payload is a duplicate (answered with
/// the first receipt), another payload a reused key.
pub fn check_duplicate(
    event: &Incoming,
    stored_sha256: &str,
    received_at: String,
) -> Result<Receipt, Problem> {
    if stored_sha256 == event.sha256 {
        return Ok(Receipt {
            outcome: Outcome::Duplicate,
            received_at,
        });
    }
    Err(Problem::new(
        Kind::IdempotencyKeyReused,
        format!(
            "event {} was stored earlier with a different payload; a retry must send the same event",
            event.event_id
        ),
    ))
}

/// A new event must carry the person's next seq: an old one is a conflict, a later one a gap.
pub fn check_order(event: &Incoming, last_seq: i64) -> Result<(), Problem> {
    let expected = last_seq + 1;
    if event.person_seq <= last_seq {
        return Err(Problem::new(
            Kind::SeqConflict,
            format!(
                "person_seq {} of this person is already held by another event; the hub's last is {last_seq}",
                event.person_seq
            ),
        )
        .expected_seq(expected));
    }
    if event.person_seq > expected {
        return Err(Problem::new(
            Kind::SeqGap,
            format!(
                "person_seq {} arrived but the hub expects {expected} for this person first",
                event.person_seq
            ),
        )
        .expected_seq(expected));
    }
    Ok(())
}

/// A person whose event failed has the rest of their events in the request deferred, so the hub
/// never stores a later seq past a failure.
#[derive(Default)]
pub struct Deferrals {
    failed: HashSet<String>,
}

impl Deferrals {
    /// The answer for an item whose person already failed in this request, if so.
    pub fn deferred(&mut self, item: &Item) -> Option<ItemResult> {
        let person = item.person_id.as_ref()?;
        if !self.failed.contains(person) {
            return None;
        }
        Some(ItemResult::Deferred(
            Problem::new(
                Kind::Deferred,
                "an earlier event of this person in this request was not stored",
            )
            .event_id(item.event_id.clone()),
        ))
    }

    /// Records the answer for an item; a refused one defers its person's later events.
    pub fn record(&mut self, item: &Item, result: Result<Receipt, Problem>) -> ItemResult {
        match result {
            Ok(receipt) => ItemResult::Stored(receipt),
            Err(problem) => {
                if let Some(person) = &item.person_id {
                    self.failed.insert(person.clone());
                }
                // The store's own refusals name the event; the schema checks' already do.
                let problem = match &item.event {
                    Ok(event) => problem.event_id(Some(event.event_id.clone())),
                    Err(_) => problem,
                };
                ItemResult::Rejected(problem)
            }
        }
    }
}
