//! The hub's SQLite database (the default backend, see `store`): tokens, events (append-only) and each person's current view.
//!
//! This is the only hub module that speaks SQL. Every accepted event is stored and its person's
//! view updated in one `BEGIN IMMEDIATE` transaction, so an error leaves nothing behind.

use std::path::Path;

use anyhow::{Context as _, bail};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::problem::Problem;
use super::store::{check_duplicate, check_order};
use super::view::PersonView;
use crate::domain::events::EventType;

/// `PRAGMA application_id` of a hub database ("RBHB"), so that neither the hub nor the board opens
/// the other's file by mistake.
pub const APPLICATION_ID: i32 = 0x5242_4842;

/// Numbered migrations; `PRAGMA user_version` is the number applied. Append only, never edit.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    facility_id  TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    facility_id    TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    person_id      TEXT NOT NULL,
    person_seq     INTEGER NOT NULL CHECK (person_seq >= 1),
    event_type     TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    occurred_at    TEXT NOT NULL,
    payload        TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    token_id       INTEGER NOT NULL REFERENCES tokens(id),
    UNIQUE (facility_id, event_id),
    UNIQUE (facility_id, person_id, person_seq)
);
-- The events are the record of what each facility said: never rewritten.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TABLE persons (
    facility_id   TEXT NOT NULL,
    person_id     TEXT NOT NULL,
    custody       TEXT NOT NULL,
    release_date  TEXT,
    last_seq      INTEGER NOT NULL,
    last_event_id TEXT NOT NULL,
    view          TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (facility_id, person_id)
) WITHOUT ROWID;
CREATE INDEX persons_releases ON persons (facility_id, release_date) WHERE custody = 'in_custody';
"#,
    r#"
-- 2: readers (issue #17). A token is a facility's (sends) or a receiving organisation's
-- (reads /v1/incoming for one plan, ECM provider or county).
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'facility'
    CHECK (kind IN ('facility', 'plan', 'ecm', 'county'));
ALTER TABLE tokens ADD COLUMN scope TEXT;
CREATE TABLE facilities (
    facility_id TEXT PRIMARY KEY,
    county      TEXT NOT NULL,
    county_key  TEXT NOT NULL
) WITHOUT ROWID;
-- Derived from the view, so the writers need not know about readers.
ALTER TABLE persons ADD COLUMN plan_key TEXT
    GENERATED ALWAYS AS (lower(trim(json_extract(view, '$.medi_cal.mcp')))) VIRTUAL;
ALTER TABLE persons ADD COLUMN ecm_key TEXT
    GENERATED ALWAYS AS (lower(trim(json_extract(view, '$.care_team.ecm_provider.organisation')))) VIRTUAL;
-- The id of the person's latest event: one writer, so ids grow in commit order.
ALTER TABLE persons ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
UPDATE persons SET change_seq = (SELECT max(e.id) FROM events e
    WHERE e.facility_id = persons.facility_id AND e.person_id = persons.person_id);
CREATE TRIGGER persons_changed_insert AFTER INSERT ON persons BEGIN
    UPDATE persons SET change_seq = (SELECT max(id) FROM events)
    WHERE facility_id = NEW.facility_id AND person_id = NEW.person_id;
END;
CREATE TRIGGER persons_changed_update AFTER UPDATE OF view ON persons BEGIN
    UPDATE persons SET change_seq = (SELECT max(id) FROM events)
    WHERE facility_id = NEW.facility_id AND person_id = NEW.person_id;
END;
CREATE INDEX persons_incoming_plan ON persons (plan_key, release_date) WHERE custody = 'in_custody';
CREATE INDEX persons_incoming_ecm ON persons (ecm_key, release_date) WHERE custody = 'in_custody';
CREATE INDEX persons_incoming_date ON persons (release_date) WHERE custody = 'in_custody';
"#,
    r#"
-- 3: a receiver's acknowledgement of a release notice, for the facility to fetch. The id is
-- the order the facility reads them in (one writer: ids grow in commit order).
CREATE TABLE acknowledgements (
    id                 INTEGER PRIMARY KEY,
    facility_id        TEXT NOT NULL,
    person_id          TEXT NOT NULL,
    acknowledgement_id TEXT NOT NULL,
    recipient_kind     TEXT NOT NULL,
    recipient_name     TEXT NOT NULL,
    token_id           INTEGER NOT NULL REFERENCES tokens(id),
    by_name            TEXT NOT NULL,
    acknowledged_at    TEXT NOT NULL,
    received_at        TEXT NOT NULL,
    UNIQUE (facility_id, person_id, acknowledgement_id)
);
CREATE INDEX acknowledgements_facility ON acknowledgements (facility_id, id);
"#,
    r#"
-- 4: every person a reader token was shown or acknowledged, for `hub audit`: ids only, never
-- the person's data.
CREATE TABLE reader_reads (
    id          INTEGER PRIMARY KEY,
    token_id    INTEGER NOT NULL REFERENCES tokens(id),
    facility_id TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    what        TEXT NOT NULL,
    read_at     TEXT NOT NULL
);
CREATE INDEX reader_reads_token ON reader_reads (token_id, read_at);
"#,
];

/// How many migrations this hub knows: the schema version it makes.
pub const MIGRATION_COUNT: usize = MIGRATIONS.len();

/// Opens (and creates or migrates) a hub database.
pub fn open(path: &Path) -> anyhow::Result<Connection> {
    let fresh = !path.exists();
    if fresh {
        create_private(path)?;
    }
    let conn = Connection::open(path)
        .with_context(|| format!("cannot open the hub database {}", path.display()))?;
    configure(&conn).with_context(|| format!("cannot configure {}", path.display()))?;
    check_identity(&conn).with_context(|| format!("{} is not a hub database", path.display()))?;
    migrate(&conn).with_context(|| format!("cannot migrate {}", path.display()))?;
    Ok(conn)
}

/// The file holds names and booking numbers: owner-only from the first byte. SQLite gives its
/// `-wal` and `-shm` files the same mode.
fn create_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok(())
}

fn configure(conn: &Connection) -> anyhow::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        bail!("journal_mode is {mode}, not WAL");
    }
    // FULL: a 201 is only sent for an event that survives a power cut.
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
    Ok(())
}

fn check_identity(conn: &Connection) -> anyhow::Result<()> {
    let id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if id == APPLICATION_ID {
        return Ok(());
    }
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if id != 0 || objects > 0 {
        bail!(
            "its application_id is {id:#x}, a hub's is {APPLICATION_ID:#x} (is it a board database?)"
        );
    }
    conn.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}"))?;
    Ok(())
}

fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let version = usize::try_from(version).context("negative user_version")?;
    if version > MIGRATIONS.len() {
        bail!(
            "it has schema version {version}; this hub knows up to {}: use a newer reentry-board",
            MIGRATIONS.len()
        );
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let number = index + 1;
        // One transaction per step: a failed step leaves the previous version intact.
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {number}; COMMIT;"
        ))
        .with_context(|| format!("migration {number} failed"))
        .inspect_err(|_| {
            let _ = conn.execute_batch("ROLLBACK");
        })?;
    }
    Ok(())
}

/// The current time as stored: RFC 3339 UTC with milliseconds, so text order is time order.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An event that passed the schema checks, ready to store.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub event_id: String,
    pub event_type: EventType,
    pub schema_version: i64,
    pub occurred_at: String,
    pub person_id: String,
    pub person_seq: i64,
    pub facility_id: String,
    /// The payload with object keys sorted and no whitespace: "same payload" means same JSON.
    pub canonical: String,
    pub sha256: String,
    pub value: Value,
}

/// What storing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Duplicate,
}

/// A stored event's receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub outcome: Outcome,
    pub received_at: String,
}

/// Stores one event and updates its person's view, all or nothing: in a savepoint, so a batch
/// can hold many events in one transaction (one fsync) while a refused one leaves no trace. The
/// caller opens the transaction ([`in_transaction`]). A client error comes back as a problem; a
/// database error as `Err(Err(..))` so the caller answers 500.
pub fn store_event(
    conn: &mut Connection,
    token_id: i64,
    event: &Incoming,
) -> Result<Receipt, StoreError> {
    let tx = conn.savepoint().context("cannot begin a savepoint")?;
    let existing: Option<(String, String)> = tx
        .query_row(
            "SELECT payload_sha256, received_at FROM events WHERE facility_id = ?1 AND event_id = ?2",
            params![event.facility_id, event.event_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .context("cannot look the event up")?;
    if let Some((sha, received_at)) = existing {
        return check_duplicate(event, &sha, received_at).map_err(StoreError::Problem);
    }
    let person: Option<(i64, String)> = tx
        .query_row(
            "SELECT last_seq, view FROM persons WHERE facility_id = ?1 AND person_id = ?2",
            params![event.facility_id, event.person_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .context("cannot read the person")?;
    let last_seq = person.as_ref().map_or(0, |(seq, _)| *seq);
    check_order(event, last_seq).map_err(StoreError::Problem)?;
    let received_at = now();
    tx.execute(
        "INSERT INTO events (facility_id, event_id, person_id, person_seq, event_type,
             schema_version, occurred_at, payload, payload_sha256, received_at, token_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            event.facility_id,
            event.event_id,
            event.person_id,
            event.person_seq,
            event.event_type.code(),
            event.schema_version,
            event.occurred_at,
            event.canonical,
            event.sha256,
            received_at,
            token_id,
        ],
    )
    .context("cannot insert the event")?;
    let mut view = match &person {
        Some((_, json)) => serde_json::from_str(json).context("a stored person view is corrupt")?,
        None => PersonView::new(&event.facility_id, &event.person_id),
    };
    view.apply(event, &received_at);
    let view_json = serde_json::to_string(&view).context("cannot serialise the person view")?;
    tx.execute(
        "INSERT INTO persons (facility_id, person_id, custody, release_date, last_seq,
             last_event_id, view, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (facility_id, person_id) DO UPDATE SET
             custody = excluded.custody, release_date = excluded.release_date,
             last_seq = excluded.last_seq, last_event_id = excluded.last_event_id,
             view = excluded.view, updated_at = excluded.updated_at",
        params![
            event.facility_id,
            event.person_id,
            view.custody,
            view.release_date(),
            view.last_seq,
            view.last_event_id,
            view_json,
            received_at,
        ],
    )
    .context("cannot update the person view")?;
    tx.commit().context("cannot commit the event")?;
    Ok(Receipt {
        outcome: Outcome::Created,
        received_at,
    })
}

/// Runs `f` in one `BEGIN IMMEDIATE` transaction and commits what it stored; an error rolls
/// everything back. Answers go out only after the commit, so a stored event is durable.
pub fn in_transaction<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .context("cannot begin a transaction")?;
    let out = f(conn).and_then(|value| {
        conn.execute_batch("COMMIT")
            .context("cannot commit the events")?;
        Ok(value)
    });
    if out.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    out
}

/// A rejected event, or a failure of the hub itself.
#[derive(Debug)]
pub enum StoreError {
    Problem(Problem),
    Db(anyhow::Error),
}

impl From<anyhow::Error> for StoreError {
    fn from(e: anyhow::Error) -> Self {
        Self::Db(e)
    }
}

/// The person's current view as stored, or None.
pub fn person_view(
    conn: &Connection,
    facility_id: &str,
    person_id: &str,
) -> anyhow::Result<Option<Value>> {
    let json: Option<String> = conn
        .query_row(
            "SELECT view FROM persons WHERE facility_id = ?1 AND person_id = ?2",
            params![facility_id, person_id],
            |r| r.get(0),
        )
        .optional()
        .context("cannot read the person view")?;
    json.map(|j| serde_json::from_str(&j).context("a stored person view is corrupt"))
        .transpose()
}

/// The last person_seq and event_id the hub holds for a person (0 and None when it holds none).
pub fn cursor(
    conn: &Connection,
    facility_id: &str,
    person_id: &str,
) -> anyhow::Result<(i64, Option<String>)> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT last_seq, last_event_id FROM persons WHERE facility_id = ?1 AND person_id = ?2",
            params![facility_id, person_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .context("cannot read the cursor")?;
    Ok(row.map_or((0, None), |(seq, id)| (seq, Some(id))))
}

/// People in custody at the facility whose release date is within `from..=to`, soonest first.
pub fn releases(
    conn: &Connection,
    facility_id: &str,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> anyhow::Result<Vec<Value>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT view FROM persons
             WHERE facility_id = ?1 AND custody = 'in_custody'
               AND release_date >= ?2 AND release_date <= ?3
             ORDER BY release_date, person_id",
        )
        .context("cannot prepare the releases query")?;
    let rows = stmt
        .query_map(
            params![facility_id, from.to_string(), to.to_string()],
            |r| r.get::<_, String>(0),
        )
        .context("cannot query releases")?;
    rows.map(|row| {
        let json = row.context("cannot read a release row")?;
        serde_json::from_str(&json).context("a stored person view is corrupt")
    })
    .collect()
}

/// Number of stored events, for tests and the operator.
pub fn count_events(conn: &Connection) -> anyhow::Result<i64> {
    conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .context("cannot count events")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn opens_migrates_and_refuses_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        let conn = open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        drop(conn);
        // Reopening is a no-op.
        open(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let other = dir.path().join("board.db");
        let c = Connection::open(&other).unwrap();
        c.execute_batch("PRAGMA application_id = 1; CREATE TABLE t(x);")
            .unwrap();
        drop(c);
        let err = open(&other).unwrap_err();
        assert!(format!("{err:#}").contains("not a hub database"), "{err:#}");
    }

    #[test]
    fn events_are_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("hub.db")).unwrap();
        conn.execute_batch(
            "INSERT INTO tokens (facility_id, token_sha256, created_at) VALUES ('f', 'h', 'now');
             INSERT INTO events (facility_id, event_id, person_id, person_seq, event_type,
               schema_version, occurred_at, payload, payload_sha256, received_at, token_id)
             VALUES ('f', 'e', 'p', 1, 'person_booked', 1, 'x', '{}', 'h', 'now', 1);",
        )
        .unwrap();
        assert!(conn.execute("DELETE FROM events", []).is_err());
        assert!(
            conn.execute("UPDATE events SET payload = '{}'", [])
                .is_err()
        );
    }
}
