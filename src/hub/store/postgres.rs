//! The PostgreSQL backend: any number of hub processes on one database give the answers one
//! would.
//!
//! Why it holds with several processes: a request's transaction first takes a transaction-level
//! advisory lock per person it sends for (in sorted order, so two requests never deadlock), then
//! reads what the database holds for those people and event ids, applies the same rules as the
//! SQLite backend, and writes the new events and views. Another process sending for the same
//! person waits for the lock and then sees the committed rows. The unique keys
//! `(facility_id, event_id)` and `(facility_id, person_id, person_seq)` stay as the last line:
//! should anything slip past the locks, the transaction fails whole and is retried, never
//! half-stored. Tokens are read from the database on every request, so a revocation through one
//! process holds in every other at once. No state lives in process memory.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use deadpool_postgres::GenericClient;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use super::postgres_tls::MakeRustls;
use super::{Deferrals, Item, ItemResult, Status, Target, block_on};
use crate::hub::acknowledgements::{Ack, AckOutcome};
use crate::hub::audit::AuditRow;
use crate::hub::db::{Incoming, Outcome, Receipt};
use crate::hub::incoming::{Page, PageQuery, Row, Scope, check_scope_name, name_key};
use crate::hub::tokens::{Caller, LIST_OWNER_SQL, TokenInfo, caller_of, new_secret, sha256_hex};
use crate::hub::view::PersonView;
use hidden::Hidden;

/// Query parameters that never reach a log: tokio-postgres logs every statement's parameters at
/// debug level, and those are names, ids and whole events.
mod hidden {
    use std::error::Error;
    use std::fmt;

    use bytes::BytesMut;
    use tokio_postgres::types::{IsNull, ToSql, Type};

    pub struct Hidden<'a, T>(pub &'a T);

    impl<T> fmt::Debug for Hidden<'_, T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("(hidden)")
        }
    }

    impl<T: ToSql> ToSql for Hidden<'_, T> {
        fn to_sql(
            &self,
            ty: &Type,
            out: &mut BytesMut,
        ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
            self.0.to_sql(ty, out)
        }

        fn accepts(ty: &Type) -> bool {
            T::accepts(ty)
        }

        fn to_sql_checked(
            &self,
            ty: &Type,
            out: &mut BytesMut,
        ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
            self.0.to_sql_checked(ty, out)
        }
    }
}

/// `&[&Hidden(&a), ...]` as query parameters.
macro_rules! hidden {
    ($($param:expr),* $(,)?) => {
        &[$(&Hidden(&$param) as &(dyn tokio_postgres::types::ToSql + Sync)),*]
    };
}

/// Numbered migrations; `hub_schema.version` is the number applied. Append only, never edit.
/// Ids compare bytewise (`COLLATE "C"`), as in SQLite, so lists come out in the same order.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tokens (
    id           BIGSERIAL PRIMARY KEY,
    facility_id  TEXT COLLATE "C" NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);
CREATE TABLE events (
    id             BIGSERIAL PRIMARY KEY,
    facility_id    TEXT COLLATE "C" NOT NULL,
    event_id       TEXT COLLATE "C" NOT NULL,
    person_id      TEXT COLLATE "C" NOT NULL,
    person_seq     BIGINT NOT NULL CHECK (person_seq >= 1),
    event_type     TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    occurred_at    TEXT NOT NULL,
    payload        JSONB NOT NULL,
    payload_sha256 TEXT NOT NULL,
    received_at    TIMESTAMPTZ NOT NULL,
    token_id       BIGINT NOT NULL REFERENCES tokens(id),
    UNIQUE (facility_id, event_id),
    UNIQUE (facility_id, person_id, person_seq)
);
-- The events are the record of what each facility said: never rewritten.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END
$$;
CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
CREATE TABLE persons (
    facility_id   TEXT COLLATE "C" NOT NULL,
    person_id     TEXT COLLATE "C" NOT NULL,
    custody       TEXT NOT NULL,
    release_date  DATE,
    last_seq      BIGINT NOT NULL,
    last_event_id TEXT NOT NULL,
    view          JSONB NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (facility_id, person_id)
);
CREATE INDEX persons_releases ON persons (facility_id, release_date, person_id)
    WHERE custody = 'in_custody';
"#,
    r#"
-- 2: readers (issue #17). A token is a facility's (sends) or a receiving organisation's
-- (reads /v1/incoming for one plan, ECM provider or county).
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'facility'
    CHECK (kind IN ('facility', 'plan', 'ecm', 'county'));
ALTER TABLE tokens ADD COLUMN scope TEXT;
CREATE TABLE facilities (
    facility_id TEXT COLLATE "C" PRIMARY KEY,
    county      TEXT NOT NULL,
    county_key  TEXT COLLATE "C" NOT NULL
);
-- Derived from the view, so the writers need not know about readers. ASCII lower case, as
-- SQLite's lower().
ALTER TABLE persons ADD COLUMN plan_key TEXT COLLATE "C"
    GENERATED ALWAYS AS (lower(btrim(view->'medi_cal'->>'mcp', ' ') COLLATE "C")) STORED;
ALTER TABLE persons ADD COLUMN ecm_key TEXT COLLATE "C"
    GENERATED ALWAYS AS (lower(btrim(view->'care_team'->'ecm_provider'->>'organisation', ' ')
        COLLATE "C")) STORED;
CREATE SEQUENCE persons_change_seq;
ALTER TABLE persons ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
UPDATE persons SET change_seq = nextval('persons_change_seq');
-- A change number per write of a view. Taken under one lock held to the commit, so numbers
-- become visible in order: a reader that has seen N has seen every change below N, and its
-- `since` cursor never skips a change committed late.
CREATE FUNCTION persons_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(5927379509545823847); -- "RBHBchng"
    NEW.change_seq := nextval('persons_change_seq');
    RETURN NEW;
END
$$;
CREATE TRIGGER persons_changed BEFORE INSERT OR UPDATE ON persons
    FOR EACH ROW EXECUTE FUNCTION persons_changed();
CREATE INDEX persons_incoming_plan ON persons (plan_key, release_date) WHERE custody = 'in_custody';
CREATE INDEX persons_incoming_ecm ON persons (ecm_key, release_date) WHERE custody = 'in_custody';
CREATE INDEX persons_incoming_date ON persons (release_date) WHERE custody = 'in_custody';
"#,
    r#"
-- 3: a receiver's acknowledgement of a release notice, for the facility to fetch. Inserted
-- under a lock held to commit (`acknowledge`), so ids become visible in order and the
-- facility's `since` never skips one.
CREATE TABLE acknowledgements (
    id                 BIGSERIAL PRIMARY KEY,
    facility_id        TEXT COLLATE "C" NOT NULL,
    person_id          TEXT COLLATE "C" NOT NULL,
    acknowledgement_id TEXT COLLATE "C" NOT NULL,
    recipient_kind     TEXT NOT NULL,
    recipient_name     TEXT NOT NULL,
    token_id           BIGINT NOT NULL REFERENCES tokens(id),
    by_name            TEXT NOT NULL,
    acknowledged_at    TEXT NOT NULL,
    received_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (facility_id, person_id, acknowledgement_id)
);
CREATE INDEX acknowledgements_facility ON acknowledgements (facility_id, id);
"#,
    r#"
-- 4: every person a reader token was shown or acknowledged, for `hub audit`: ids only, never
-- the person's data.
CREATE TABLE reader_reads (
    id          BIGSERIAL PRIMARY KEY,
    token_id    BIGINT NOT NULL REFERENCES tokens(id),
    facility_id TEXT COLLATE "C" NOT NULL,
    person_id   TEXT COLLATE "C" NOT NULL,
    what        TEXT NOT NULL,
    read_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX reader_reads_token ON reader_reads (token_id, read_at);
"#,
];

/// The schema version this hub makes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Serialises migrations between hub processes starting at once ("RBHBmigr").
const MIGRATION_LOCK: i64 = 0x5242_4842_6d69_6772;

/// Serialises acknowledgements so their ids become visible in order ("RBHBackn").
const ACK_LOCK: i64 = 0x5242_4842_6163_6b6e;

/// How often a request whose transaction lost a race (deadlock, serialization, a unique key) is
/// tried again before the client gets a 500 (and retries itself).
const RETRIES: u32 = 5;

pub fn is_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

/// How to reach the database, parsed from the URL and the password's source.
struct Connect {
    config: tokio_postgres::Config,
    /// The CA file of `sslmode=verify-full`; None is `sslmode=disable`.
    ca_file: Option<PathBuf>,
}

impl PgStore {
    /// Connects, checks the schema (a newer one is refused) and, when `migrate`, brings it up to
    /// date. The pool connects lazily in whatever runtime serves the requests.
    pub fn open(target: &Target, migrate: bool) -> anyhow::Result<Self> {
        let connect = Connect::parse(target)?;
        let where_ = redacted(&target.location);
        let setup = connect.pool(2)?;
        block_on(async move {
            let mut client = setup
                .get()
                .await
                .with_context(|| format!("cannot connect to PostgreSQL at {where_}"))?;
            if migrate {
                migrate_schema(&mut client).await
            } else {
                check_schema(&client).await.map(|_| ())
            }
            .with_context(|| format!("PostgreSQL database {where_}"))
        })??;
        Ok(Self {
            pool: connect.pool(16)?,
        })
    }

    async fn client(&self) -> anyhow::Result<deadpool_postgres::Object> {
        self.pool
            .get()
            .await
            .context("cannot get a PostgreSQL connection")
    }

    pub async fn authenticate(&self, token: &str) -> anyhow::Result<Option<Caller>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id, facility_id, kind, scope FROM tokens
                 WHERE token_sha256 = $1 AND revoked_at IS NULL",
            )
            .await
            .context("cannot prepare the token check")?;
        let row = client
            .query_opt(&stmt, hidden!(sha256_hex(token.as_bytes())))
            .await
            .context("cannot check the token")?;
        row.map(|r| caller_of(r.get(0), r.get(1), r.get::<_, &str>(2), r.get(3)))
            .transpose()
    }

    pub async fn store(&self, token_id: i64, items: Vec<Item>) -> anyhow::Result<Vec<ItemResult>> {
        let mut client = self.client().await?;
        let mut attempt = 0;
        loop {
            match store_once(&mut client, token_id, &items).await {
                Ok(results) => return Ok(results),
                Err(error) if attempt < RETRIES && is_race(&error) => {
                    attempt += 1;
                    tracing::debug!(
                        attempt,
                        error = format!("{:#}", redacted_error(error)),
                        "retrying a batch"
                    );
                    tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    pub async fn person_view(&self, facility: &str, person: &str) -> anyhow::Result<Option<Value>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT view FROM persons WHERE facility_id = $1 AND person_id = $2")
            .await
            .context("cannot prepare the person query")?;
        let row = client
            .query_opt(&stmt, hidden!(facility, person))
            .await
            .context("cannot read the person view")?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn cursor(
        &self,
        facility: &str,
        person: &str,
    ) -> anyhow::Result<(i64, Option<String>)> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT last_seq, last_event_id FROM persons WHERE facility_id = $1 AND person_id = $2",
            )
            .await
            .context("cannot prepare the cursor query")?;
        let row = client
            .query_opt(&stmt, hidden!(facility, person))
            .await
            .context("cannot read the cursor")?;
        Ok(row.map_or((0, None), |r| (r.get(0), Some(r.get(1)))))
    }

    pub async fn releases(
        &self,
        facility: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> anyhow::Result<Vec<Value>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT view FROM persons
                 WHERE facility_id = $1 AND custody = 'in_custody'
                   AND release_date >= $2 AND release_date <= $3
                 ORDER BY release_date, person_id",
            )
            .await
            .context("cannot prepare the releases query")?;
        let rows = client
            .query(&stmt, hidden!(facility, from, to))
            .await
            .context("cannot query releases")?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        let client = self.client().await?;
        client
            .simple_query("SELECT 1")
            .await
            .context("PostgreSQL does not answer")?;
        Ok(())
    }

    pub async fn status(&self) -> anyhow::Result<Status> {
        let client = self.client().await?;
        let schema_version = check_schema(&client).await?;
        if schema_version == 0 {
            // Not migrated yet: no tables to count.
            return Ok(Status {
                backend: "postgresql",
                schema_version,
                known_version: SCHEMA_VERSION,
                tokens: 0,
                active_tokens: 0,
                events: 0,
                persons: 0,
            });
        }
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM tokens),
                        (SELECT count(*) FROM tokens WHERE revoked_at IS NULL),
                        (SELECT count(*) FROM events),
                        (SELECT count(*) FROM persons)",
                &[],
            )
            .await
            .context("cannot count the rows")?;
        Ok(Status {
            backend: "postgresql",
            schema_version,
            known_version: SCHEMA_VERSION,
            tokens: row.get(0),
            active_tokens: row.get(1),
            events: row.get(2),
            persons: row.get(3),
        })
    }

    pub async fn add_token(&self, facility: &str, label: &str) -> anyhow::Result<(i64, String)> {
        crate::hub::tokens::check_facility(facility)?;
        let token = new_secret();
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO tokens (facility_id, token_sha256, label, created_at)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                hidden!(facility, sha256_hex(token.as_bytes()), label, now()),
            )
            .await
            .context("cannot store the token")?;
        Ok((row.get(0), token))
    }

    pub async fn add_reader(&self, scope: &Scope, label: &str) -> anyhow::Result<(i64, String)> {
        check_scope_name(&scope.name)?;
        let token = new_secret();
        let client = self.client().await?;
        let row = client
            .query_one(
                "INSERT INTO tokens (facility_id, token_sha256, label, created_at, kind, scope)
                 VALUES ('', $1, $2, $3, $4, $5) RETURNING id",
                hidden!(
                    sha256_hex(token.as_bytes()),
                    label,
                    now(),
                    scope.kind.code(),
                    scope.name
                ),
            )
            .await
            .context("cannot store the token")?;
        Ok((row.get(0), token))
    }

    pub async fn set_county(&self, facility: &str, county: &str) -> anyhow::Result<()> {
        crate::hub::tokens::check_facility(facility)?;
        check_scope_name(county)?;
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO facilities (facility_id, county, county_key) VALUES ($1, $2, $3)
                 ON CONFLICT (facility_id) DO UPDATE SET county = excluded.county,
                     county_key = excluded.county_key",
                hidden!(facility, county, name_key(county)),
            )
            .await
            .context("cannot record the facility's county")?;
        Ok(())
    }

    pub async fn incoming(&self, scope: &Scope, query: &PageQuery) -> anyhow::Result<Page> {
        let client = self.client().await?;
        // The latest change first: every change up to it is committed (see migration 2), and a
        // row changed after it is shown now and again after `next_since`, never skipped.
        let latest_change: i64 = client
            .query_one("SELECT COALESCE(max(change_seq), 0) FROM persons", &[])
            .await
            .context("cannot read the latest change")?
            .get(0);
        let stmt = client
            .prepare_cached(&super::incoming::sql(scope.kind, "$", "::date"))
            .await
            .context("cannot prepare the incoming query")?;
        let (after_day, after_facility, after_person) = &query.after;
        let limit = i64::try_from(query.limit + 1).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &stmt,
                hidden!(
                    query.from,
                    query.to,
                    query.since,
                    scope.key(),
                    after_day,
                    after_facility,
                    after_person,
                    limit
                ),
            )
            .await
            .context("cannot query the incoming releases")?;
        Ok(Page {
            rows: rows
                .into_iter()
                .map(|r| Row {
                    view: r.get(0),
                    county: r.get(1),
                    change_seq: r.get(2),
                })
                .collect(),
            latest_change,
        })
    }

    pub async fn acknowledge(
        &self,
        token_id: i64,
        scope: &Scope,
        facility: &str,
        person: &str,
        ack: &Ack,
    ) -> anyhow::Result<AckOutcome> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.context("cannot begin")?;
        // One lock to the commit: ids become visible in order (see migration 3).
        tx.execute("SELECT pg_advisory_xact_lock($1)", hidden!(ACK_LOCK))
            .await
            .context("cannot take the acknowledgements lock")?;
        let visible: i64 = tx
            .query_one(
                &super::incoming::in_scope_sql(scope.kind, "$"),
                hidden!(facility, person, scope.key()),
            )
            .await
            .context("cannot check the reader's scope")?
            .get(0);
        if visible == 0 {
            return Ok(AckOutcome::NotFound);
        }
        let stored = tx
            .query_opt(
                "SELECT by_name, acknowledged_at, received_at FROM acknowledgements
                 WHERE facility_id = $1 AND person_id = $2 AND acknowledgement_id = $3",
                hidden!(facility, person, ack.acknowledgement_id),
            )
            .await
            .context("cannot look the acknowledgement up")?;
        if let Some(row) = stored {
            return Ok(super::acknowledgements::repeat(
                (row.get(0), row.get(1), text_time(row.get(2))),
                ack,
            ));
        }
        let received_at = now();
        tx.execute(
            "INSERT INTO acknowledgements (facility_id, person_id, acknowledgement_id,
                 recipient_kind, recipient_name, token_id, by_name, acknowledged_at, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            hidden!(
                facility,
                person,
                ack.acknowledgement_id,
                scope.kind.code(),
                scope.name,
                token_id,
                ack.by,
                ack.acknowledged_at,
                received_at
            ),
        )
        .await
        .context("cannot store the acknowledgement")?;
        tx.commit()
            .await
            .context("cannot commit the acknowledgement")?;
        Ok(AckOutcome::Created {
            received_at: text_time(received_at),
        })
    }

    pub async fn acknowledgements(
        &self,
        facility: &str,
        since: i64,
        limit: usize,
    ) -> anyhow::Result<Vec<Value>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, person_id, acknowledgement_id, recipient_kind, recipient_name, by_name,
                        acknowledged_at, received_at
                 FROM acknowledgements WHERE facility_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                hidden!(facility, since, i64::try_from(limit).unwrap_or(i64::MAX)),
            )
            .await
            .context("cannot query the acknowledgements")?;
        Ok(rows
            .into_iter()
            .map(|r| {
                super::acknowledgements::row_json(
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                    text_time(r.get(7)),
                )
            })
            .collect())
    }

    pub async fn record_reads(
        &self,
        token_id: i64,
        what: &str,
        people: &[(String, String)],
    ) -> anyhow::Result<()> {
        let client = self.client().await?;
        let facility: Vec<&str> = people.iter().map(|(f, _)| f.as_str()).collect();
        let person: Vec<&str> = people.iter().map(|(_, p)| p.as_str()).collect();
        client
            .execute(
                "INSERT INTO reader_reads (token_id, facility_id, person_id, what, read_at)
                 SELECT $1, f, p, $4, $5 FROM unnest($2::text[], $3::text[]) AS x(f, p)",
                hidden!(token_id, facility, person, what, now()),
            )
            .await
            .context("cannot record the reads")?;
        Ok(())
    }

    pub async fn audit(
        &self,
        token_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> anyhow::Result<Vec<AuditRow>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT read_at, facility_id, person_id, what FROM reader_reads
                 WHERE token_id = $1
                   AND read_at >= ($2::date)::timestamp AT TIME ZONE 'UTC'
                   AND read_at < ($3::date + 1)::timestamp AT TIME ZONE 'UTC'
                 ORDER BY id",
                hidden!(token_id, from, to),
            )
            .await
            .context("cannot read the audit")?;
        Ok(rows
            .into_iter()
            .map(|r| AuditRow {
                read_at: text_time(r.get(0)),
                facility_id: r.get(1),
                person_id: r.get(2),
                what: r.get(3),
            })
            .collect())
    }

    pub async fn list_tokens(&self) -> anyhow::Result<Vec<TokenInfo>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT id, {LIST_OWNER_SQL}, label, created_at, revoked_at FROM tokens \
                     ORDER BY id"
                ),
                &[],
            )
            .await
            .context("cannot list tokens")?;
        Ok(rows
            .into_iter()
            .map(|r| TokenInfo {
                id: r.get(0),
                facility_id: r.get(1),
                label: r.get(2),
                created_at: text_time(r.get(3)),
                revoked_at: r.get::<_, Option<DateTime<Utc>>>(4).map(text_time),
            })
            .collect())
    }

    pub async fn revoke_token(&self, id: i64) -> anyhow::Result<TokenInfo> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                hidden!(now(), id),
            )
            .await
            .context("cannot revoke the token")?;
        let info = self.list_tokens().await?.into_iter().find(|t| t.id == id);
        match (changed, info) {
            (1, Some(info)) => Ok(info),
            (_, Some(_)) => bail!("token {id} was already revoked"),
            (_, None) => bail!("no token has id {id} (see `hub token list`)"),
        }
    }
}

/// The time as the API shows it: RFC 3339 UTC with milliseconds (what SQLite stores as text).
fn text_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Now, at the millisecond the API shows, so that a stored time reads back as it was answered.
fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// A person's lock: 64 bits of SHA-256 of the facility and person. A collision only makes two
/// people wait for each other, never wrong.
fn lock_key(facility: &str, person: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(facility.as_bytes())
        .chain_update([0u8])
        .chain_update(person.as_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// The error for the log: PostgreSQL's DETAIL lines name the key values of a violated constraint
/// (person ids, seqs), so only the severity, message and SQLSTATE of a database error are kept.
pub fn redacted_error(error: anyhow::Error) -> anyhow::Error {
    fn redact(pg: &tokio_postgres::Error) -> String {
        match pg.as_db_error() {
            Some(db) => format!(
                "{}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            ),
            None => pg.to_string(),
        }
    }
    let parts: Vec<String> = error
        .chain()
        .map(|e| {
            if let Some(pg) = e.downcast_ref::<tokio_postgres::Error>() {
                redact(pg)
            } else if let Some(deadpool_postgres::PoolError::Backend(pg)) =
                e.downcast_ref::<deadpool_postgres::PoolError>()
            {
                redact(pg)
            } else {
                e.to_string()
            }
        })
        .collect();
    // The chain's layers each print themselves only; joined as `{:#}` would.
    anyhow::anyhow!(parts.join(": "))
}

/// A lost race between transactions: trying again gives the right answer.
fn is_race(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|e| e.downcast_ref::<tokio_postgres::Error>())
        .filter_map(tokio_postgres::Error::code)
        .any(|code| {
            [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::UNIQUE_VIOLATION,
            ]
            .contains(code)
        })
}

/// One try at storing a request: locks, reads, the rules in memory, two writes, commit.
async fn store_once(
    client: &mut deadpool_postgres::Object,
    token_id: i64,
    items: &[Item],
) -> anyhow::Result<Vec<ItemResult>> {
    let events: Vec<&Incoming> = items.iter().filter_map(|i| i.event.as_ref().ok()).collect();
    let tx = client
        .transaction()
        .await
        .context("cannot begin a transaction")?;
    let mut known: HashMap<String, (String, String)> = HashMap::new();
    let mut people: HashMap<String, PersonView> = HashMap::new();
    if let Some(first) = events.first() {
        let facility = first.facility_id.as_str();
        if events.iter().any(|e| e.facility_id != facility) {
            bail!("one request holds events of several facilities");
        }
        let mut keys: Vec<i64> = events
            .iter()
            .map(|e| lock_key(facility, &e.person_id))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        tx.execute(
            &tx.prepare_cached("SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k")
                .await
                .context("cannot prepare a statement")?,
            hidden!(keys),
        )
        .await
        .context("cannot lock the people of the request")?;
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        for row in tx
            .query(
                &tx.prepare_cached(
                    "SELECT event_id, payload_sha256, received_at FROM events
                 WHERE facility_id = $1 AND event_id = ANY($2)",
                )
                .await
                .context("cannot prepare a statement")?,
                hidden!(facility, ids),
            )
            .await
            .context("cannot look the events up")?
        {
            known.insert(row.get(0), (row.get(1), text_time(row.get(2))));
        }
        let persons: Vec<&str> = events
            .iter()
            .map(|e| e.person_id.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for row in tx
            .query(
                &tx.prepare_cached(
                    "SELECT person_id, view FROM persons
                 WHERE facility_id = $1 AND person_id = ANY($2) FOR UPDATE",
                )
                .await
                .context("cannot prepare a statement")?,
                hidden!(facility, persons),
            )
            .await
            .context("cannot read the people")?
        {
            let view: PersonView =
                serde_json::from_value(row.get(1)).context("a stored person view is corrupt")?;
            people.insert(row.get(0), view);
        }
    }

    let mut deferrals = Deferrals::default();
    let mut results = Vec::with_capacity(items.len());
    let mut new_events: Vec<(&Incoming, DateTime<Utc>)> = Vec::new();
    let mut touched: Vec<String> = Vec::new();
    for item in items {
        if let Some(deferred) = deferrals.deferred(item) {
            results.push(deferred);
            continue;
        }
        let outcome = match &item.event {
            Err(problem) => Err(problem.clone()),
            Ok(event) => match known.get(&event.event_id) {
                Some((sha, received_at)) => super::check_duplicate(event, sha, received_at.clone()),
                None => {
                    let last_seq = people.get(&event.person_id).map_or(0, |v| v.last_seq);
                    super::check_order(event, last_seq).map(|()| {
                        let at = now();
                        let received_at = text_time(at);
                        people
                            .entry(event.person_id.clone())
                            .or_insert_with(|| {
                                PersonView::new(&event.facility_id, &event.person_id)
                            })
                            .apply(event, &received_at);
                        if !touched.contains(&event.person_id) {
                            touched.push(event.person_id.clone());
                        }
                        known.insert(
                            event.event_id.clone(),
                            (event.sha256.clone(), received_at.clone()),
                        );
                        new_events.push((event, at));
                        Receipt {
                            outcome: Outcome::Created,
                            received_at,
                        }
                    })
                }
            },
        };
        results.push(deferrals.record(item, outcome));
    }

    if !new_events.is_empty() {
        insert_events(&tx, token_id, &new_events).await?;
        upsert_people(&tx, &touched, &people).await?;
    }
    tx.commit().await.context("cannot commit the events")?;
    Ok(results)
}

async fn insert_events(
    tx: &impl GenericClient,
    token_id: i64,
    events: &[(&Incoming, DateTime<Utc>)],
) -> anyhow::Result<()> {
    let column =
        |f: fn(&Incoming) -> &str| -> Vec<&str> { events.iter().map(|(e, _)| f(e)).collect() };
    let facility = column(|e| &e.facility_id);
    let event_id = column(|e| &e.event_id);
    let person_id = column(|e| &e.person_id);
    let event_type = column(|e| e.event_type.code());
    let occurred_at = column(|e| &e.occurred_at);
    let sha = column(|e| &e.sha256);
    let seq: Vec<i64> = events.iter().map(|(e, _)| e.person_seq).collect();
    let version: Vec<i32> = events
        .iter()
        .map(|(e, _)| i32::try_from(e.schema_version).unwrap_or(i32::MAX))
        .collect();
    let payload: Vec<&Value> = events.iter().map(|(e, _)| &e.value).collect();
    let received: Vec<DateTime<Utc>> = events.iter().map(|(_, at)| *at).collect();
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO events (facility_id, event_id, person_id, person_seq, event_type,
             schema_version, occurred_at, payload, payload_sha256, received_at, token_id)
         SELECT f, e, p, s, t, v, o, d, h, r, $11
         FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::int[],
                     $7::text[], $8::jsonb[], $9::text[], $10::timestamptz[])
              AS x(f, e, p, s, t, v, o, d, h, r)",
        )
        .await
        .context("cannot prepare a statement")?,
        hidden!(
            facility,
            event_id,
            person_id,
            seq,
            event_type,
            version,
            occurred_at,
            payload,
            sha,
            received,
            token_id,
        ),
    )
    .await
    .context("cannot insert the events")?;
    Ok(())
}

async fn upsert_people(
    tx: &impl GenericClient,
    touched: &[String],
    people: &HashMap<String, PersonView>,
) -> anyhow::Result<()> {
    let views: Vec<&PersonView> = touched.iter().filter_map(|p| people.get(p)).collect();
    let facility: Vec<&str> = views.iter().map(|v| v.facility_id.as_str()).collect();
    let person: Vec<&str> = views.iter().map(|v| v.person_id.as_str()).collect();
    let custody: Vec<&str> = views.iter().map(|v| v.custody.as_str()).collect();
    let release: Vec<Option<NaiveDate>> = views
        .iter()
        .map(|v| {
            v.release_date()
                .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        })
        .collect();
    let last_seq: Vec<i64> = views.iter().map(|v| v.last_seq).collect();
    let last_event: Vec<&str> = views.iter().map(|v| v.last_event_id.as_str()).collect();
    let json: Vec<Value> = views
        .iter()
        .map(|v| serde_json::to_value(v).context("cannot serialise the person view"))
        .collect::<anyhow::Result<_>>()?;
    let at = now();
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO persons (facility_id, person_id, custody, release_date, last_seq,
             last_event_id, view, updated_at)
         SELECT f, p, c, r, s, e, v, $8
         FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::bigint[], $6::text[],
                     $7::jsonb[]) AS x(f, p, c, r, s, e, v)
         ON CONFLICT (facility_id, person_id) DO UPDATE SET
             custody = excluded.custody, release_date = excluded.release_date,
             last_seq = excluded.last_seq, last_event_id = excluded.last_event_id,
             view = excluded.view, updated_at = excluded.updated_at",
        )
        .await
        .context("cannot prepare a statement")?,
        hidden!(
            facility, person, custody, release, last_seq, last_event, json, at,
        ),
    )
    .await
    .context("cannot update the person views")?;
    Ok(())
}

/// The schema version the database holds; refuses a database that is not a hub's or is newer.
async fn check_schema(client: &impl GenericClient) -> anyhow::Result<i64> {
    let has_table = client
        .query_one("SELECT to_regclass('hub_schema') IS NOT NULL", &[])
        .await
        .context("cannot read the catalogue")?
        .get::<_, bool>(0);
    let version = if has_table {
        client
            .query_opt("SELECT version FROM hub_schema", &[])
            .await
            .context("cannot read the schema version")?
            .map_or(0, |r| r.get::<_, i32>(0).into())
    } else {
        let tables: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
                &[],
            )
            .await
            .context("cannot read the catalogue")?
            .get(0);
        if tables > 0 {
            bail!("it is not a hub database: it has {tables} table(s) but no hub_schema");
        }
        0
    };
    if version > SCHEMA_VERSION {
        bail!(
            "it has hub schema version {version}; this reentry-board knows up to {SCHEMA_VERSION}: \
             use a newer reentry-board (a database is never migrated down)"
        );
    }
    Ok(version)
}

/// Brings the schema up to date in one transaction, under a lock, so hubs starting together
/// migrate once.
async fn migrate_schema(client: &mut deadpool_postgres::Object) -> anyhow::Result<()> {
    let tx = client.transaction().await.context("cannot begin")?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", hidden!(MIGRATION_LOCK))
        .await
        .context("cannot take the migration lock")?;
    let version = check_schema(&tx).await?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    if version == 0 {
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS hub_schema (
                 one     BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                 version INTEGER NOT NULL
             );
             INSERT INTO hub_schema (version) VALUES (0) ON CONFLICT DO NOTHING;",
        )
        .await
        .context("cannot create hub_schema")?;
    }
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(version)?)
    {
        let number = i32::try_from(index + 1)?;
        tx.batch_execute(sql)
            .await
            .with_context(|| format!("migration {number} failed"))?;
        tx.execute("UPDATE hub_schema SET version = $1", hidden!(number))
            .await
            .with_context(|| format!("cannot record migration {number}"))?;
    }
    tx.commit().await.context("cannot commit the migrations")?;
    tracing::info!(
        from = version,
        to = SCHEMA_VERSION,
        "migrated the hub schema"
    );
    Ok(())
}

/// The URL without its query, for messages (it holds no password: those are refused).
fn redacted(location: &str) -> String {
    location.split('?').next().unwrap_or(location).to_string()
}

impl Connect {
    fn parse(target: &Target) -> anyhow::Result<Self> {
        let (base, query) = match target.location.split_once('?') {
            Some((base, query)) => (base, query),
            None => (target.location.as_str(), ""),
        };
        // sslmode and sslrootcert are ours to read: tokio-postgres knows no verify-full.
        let mut sslmode = None;
        let mut rootcert = None;
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslmode", v)) => sslmode = Some(v.to_string()),
                Some(("sslrootcert", v)) => rootcert = Some(PathBuf::from(percent_decode(v))),
                Some(("password", _)) => bail!(
                    "the database URL holds a password; put it in a file (--db-password-file) \
                     or PGPASSWORD instead, so it shows in no process list or log"
                ),
                _ => rest.push(pair),
            }
        }
        let url = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let mut config: tokio_postgres::Config = url
            .parse()
            .with_context(|| format!("{} is not a PostgreSQL URL", redacted(&url)))?;
        if config.get_password().is_some() {
            bail!(
                "the database URL holds a password; put it in a file (--db-password-file) or \
                 PGPASSWORD instead, so it shows in no process list or log"
            );
        }
        if config.get_user().is_none() {
            let user = nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map_or_else(|| "postgres".to_string(), |u| u.name);
            config.user(&user);
        }
        if let Some(password) = password(target, &config)? {
            config.password(password);
        }
        config.application_name("reentry-board hub");
        config.connect_timeout(Duration::from_secs(5));
        config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        let local = config.get_hosts().iter().all(|h| match h {
            tokio_postgres::config::Host::Unix(_) => true,
            tokio_postgres::config::Host::Tcp(name) => {
                name == "localhost"
                    || name
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
        });
        let ca_file = match sslmode.as_deref() {
            Some("verify-full") => Some(rootcert.context(
                "sslmode=verify-full needs sslrootcert=PATH: the CA certificate(s) of the server",
            )?),
            Some("disable") => None,
            None | Some("prefer" | "allow") if local => None,
            None | Some("prefer" | "allow") => bail!(
                "the database is not on this machine: add sslmode=verify-full&sslrootcert=CA.pem \
                 to the URL (or sslmode=disable on a network you trust)"
            ),
            Some(mode @ ("require" | "verify-ca")) => bail!(
                "sslmode={mode} does not check that the certificate names the server; use \
                 sslmode=verify-full&sslrootcert=CA.pem"
            ),
            Some(other) => bail!("sslmode={other} is not one of disable, prefer, verify-full"),
        };
        if ca_file.is_some() {
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
        }
        Ok(Self { config, ca_file })
    }

    fn pool(&self, size: usize) -> anyhow::Result<Pool> {
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &self.ca_file {
            Some(ca) => {
                Manager::from_config(self.config.clone(), MakeRustls::new(ca)?, manager_config)
            }
            None => Manager::from_config(self.config.clone(), NoTls, manager_config),
        };
        Pool::builder(manager)
            .max_size(size)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(5)))
            .wait_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .context("cannot make the PostgreSQL connection pool")
    }
}

/// The password: the file named by the user, else PGPASSWORD, else the pgpass file (PGPASSFILE
/// or ~/.pgpass), as libpq reads them. None when there is none (trust or peer authentication).
fn password(target: &Target, config: &tokio_postgres::Config) -> anyhow::Result<Option<String>> {
    if let Some(file) = &target.password_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the password file {}", file.display()))?;
        let password = text.trim_end_matches(['\n', '\r']);
        if password.is_empty() {
            bail!("the password file {} is empty", file.display());
        }
        return Ok(Some(password.to_string()));
    }
    if let Ok(password) = std::env::var("PGPASSWORD") {
        return Ok(Some(password));
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")));
    let Some(text) = file.and_then(|f| std::fs::read_to_string(f).ok()) else {
        return Ok(None);
    };
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(name)) => name.clone(),
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let dbname = config.get_dbname().unwrap_or(user);
    Ok(pgpass_lookup(&text, [&host, &port, dbname, user]))
}

/// The password of the first pgpass line matching host, port, database and user (`*` matches
/// anything; `\:` and `\\` are a literal colon and backslash).
fn pgpass_lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let mut fields = Vec::new();
            let mut field = String::new();
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => field.extend(chars.next()),
                    ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                    c => field.push(c),
                }
            }
            fields.push(field);
            let [host, port, db, user, password] = <[String; 5]>::try_from(fields).ok()?;
            let matches = [host, port, db, user]
                .iter()
                .zip(wanted)
                .all(|(have, want)| have == "*" || have == want);
            matches.then_some(password)
        })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn urls_refuse_passwords_and_unverified_tls() {
        let parse = |url: &str| Connect::parse(&Target::new(url)).map(|c| c.ca_file);
        assert_eq!(parse("postgres://hub@127.0.0.1:5432/hub").unwrap(), None);
        assert_eq!(
            parse("postgres://hub@localhost/hub?sslmode=disable").unwrap(),
            None
        );
        for (url, words) in [
            ("postgres://hub:secret@db/hub", "holds a password"),
            (
                "postgres://hub@db.example/hub?password=x",
                "holds a password",
            ),
            ("postgres://hub@db.example/hub", "sslmode=verify-full"),
            (
                "postgres://hub@db.example/hub?sslmode=require",
                "does not check",
            ),
            (
                "postgres://hub@db.example/hub?sslmode=verify-full",
                "sslrootcert",
            ),
            ("postgres://hub@db.example/hub?sslmode=bogus", "not one of"),
        ] {
            let error = format!("{:#}", parse(url).unwrap_err());
            assert!(error.contains(words), "{url}: {error}");
            assert!(!error.contains("secret"), "{error}");
        }
        let ca =
            parse("postgres://hub@db.example/hub?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem");
        // The CA file does not exist here: verify-full reads it when the pool is made.
        assert_eq!(ca.unwrap(), Some(PathBuf::from("/etc/ca.pem")));
    }

    #[test]
    fn pgpass_lines_match_like_libpq() {
        let text = "# comment\ndb:5432:hub:hub:first\n*:*:*:other:se\\:cret\n";
        assert_eq!(
            pgpass_lookup(text, ["db", "5432", "hub", "hub"]).as_deref(),
            Some("first")
        );
        assert_eq!(
            pgpass_lookup(text, ["x", "1", "y", "other"]).as_deref(),
            Some("se:cret")
        );
        assert_eq!(pgpass_lookup(text, ["x", "1", "y", "z"]), None);
    }

    #[test]
    fn lock_keys_differ_per_person_and_facility() {
        assert_ne!(lock_key("f", "p1"), lock_key("f", "p2"));
        assert_ne!(lock_key("f1", "p"), lock_key("f", "1p"));
        assert_eq!(lock_key("f", "p"), lock_key("f", "p"));
    }
}
