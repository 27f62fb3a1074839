//! Acknowledgements on SQLite (the PostgreSQL side is in `postgres`): one writer, so the rowid
//! is the order a facility reads them in.

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use super::incoming::in_scope_sql;
use crate::hub::acknowledgements::{Ack, AckOutcome};
use crate::hub::db::{in_transaction, now};
use crate::hub::incoming::Scope;

/// The answer for an id already stored: the same acknowledgement, or a reused id.
pub fn repeat(stored: (String, String, String), ack: &Ack) -> AckOutcome {
    let (by, at, received_at) = stored;
    if by == ack.by && at == ack.acknowledged_at {
        AckOutcome::Duplicate { received_at }
    } else {
        AckOutcome::Reused
    }
}

/// One stored acknowledgement as the facility reads it.
#[allow(clippy::too_many_arguments)]
pub fn row_json(
    seq: i64,
    person_id: String,
    acknowledgement_id: String,
    kind: String,
    name: String,
    by: String,
    acknowledged_at: String,
    received_at: String,
) -> Value {
    json!({
        "seq": seq,
        "person_id": person_id,
        "acknowledgement_id": acknowledgement_id,
        "recipient": {"kind": kind, "name": name},
        "by": by,
        "acknowledged_at": acknowledged_at,
        "received_at": received_at,
    })
}

pub fn acknowledge(
    conn: &mut Connection,
    token_id: i64,
    scope: &Scope,
    facility: &str,
    person: &str,
    ack: &Ack,
) -> anyhow::Result<AckOutcome> {
    in_transaction(conn, |conn| {
        let visible: i64 = conn
            .query_row(
                &in_scope_sql(scope.kind, "?"),
                params![facility, person, scope.key()],
                |r| r.get(0),
            )
            .context("cannot check the reader's scope")?;
        if visible == 0 {
            return Ok(AckOutcome::NotFound);
        }
        let stored: Option<(String, String, String)> = conn
            .query_row(
                "SELECT by_name, acknowledged_at, received_at FROM acknowledgements
                 WHERE facility_id = ?1 AND person_id = ?2 AND acknowledgement_id = ?3",
                params![facility, person, ack.acknowledgement_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .context("cannot look the acknowledgement up")?;
        if let Some(stored) = stored {
            return Ok(repeat(stored, ack));
        }
        let received_at = now();
        conn.execute(
            "INSERT INTO acknowledgements (facility_id, person_id, acknowledgement_id,
                 recipient_kind, recipient_name, token_id, by_name, acknowledged_at, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                facility,
                person,
                ack.acknowledgement_id,
                scope.kind.code(),
                scope.name,
                token_id,
                ack.by,
                ack.acknowledged_at,
                received_at
            ],
        )
        .context("cannot store the acknowledgement")?;
        Ok(AckOutcome::Created { received_at })
    })
}

pub fn list(
    conn: &Connection,
    facility: &str,
    since: i64,
    limit: usize,
) -> anyhow::Result<Vec<Value>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, person_id, acknowledgement_id, recipient_kind, recipient_name, by_name,
                    acknowledged_at, received_at
             FROM acknowledgements WHERE facility_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )
        .context("cannot prepare the acknowledgements query")?;
    let rows = stmt
        .query_map(
            params![facility, since, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                Ok(row_json(
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .context("cannot query the acknowledgements")?;
    rows.collect::<Result<_, _>>()
        .context("cannot read an acknowledgement")
}
