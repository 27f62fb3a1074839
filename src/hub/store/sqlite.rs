//! The SQLite backend's request-level work; the SQL itself is in `hub::db` and `hub::tokens`.
//! One connection behind a mutex: SQLite has one writer, so every rule holds by construction.

use anyhow::Context as _;
use rusqlite::Connection;

use super::{Deferrals, Item, ItemResult, Status};
use crate::hub::db::{self, StoreError};

/// Every event of a request in one `BEGIN IMMEDIATE` transaction (one fsync, not one per
/// event), each in its own savepoint, in order.
pub fn store(
    conn: &mut Connection,
    token_id: i64,
    items: Vec<Item>,
) -> anyhow::Result<Vec<ItemResult>> {
    db::in_transaction(conn, |conn| {
        let mut deferrals = Deferrals::default();
        let mut results = Vec::with_capacity(items.len());
        for item in &items {
            if let Some(deferred) = deferrals.deferred(item) {
                results.push(deferred);
                continue;
            }
            let stored = match &item.event {
                Ok(event) => match db::store_event(conn, token_id, event) {
                    Ok(receipt) => Ok(receipt),
                    Err(StoreError::Problem(problem)) => Err(problem),
                    Err(StoreError::Db(error)) => return Err(error),
                },
                Err(problem) => Err(problem.clone()),
            };
            results.push(deferrals.record(item, stored));
        }
        Ok(results)
    })
}

pub fn status(conn: &mut Connection) -> anyhow::Result<Status> {
    let count = |sql: &str| -> anyhow::Result<i64> {
        conn.query_row(sql, [], |r| r.get(0))
            .with_context(|| format!("cannot run {sql}"))
    };
    Ok(Status {
        backend: "sqlite",
        schema_version: count("PRAGMA user_version")?,
        known_version: i64::try_from(db::MIGRATION_COUNT).unwrap_or(i64::MAX),
        tokens: count("SELECT count(*) FROM tokens")?,
        active_tokens: count("SELECT count(*) FROM tokens WHERE revoked_at IS NULL")?,
        events: count("SELECT count(*) FROM events")?,
        persons: count("SELECT count(*) FROM persons")?,
    })
}
