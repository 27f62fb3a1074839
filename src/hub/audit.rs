//! The hub's record of what each reader token was shown (issue #17): one row per person per
//! answer of `GET /v1/incoming` and per acknowledgement, with ids and times only. `hub audit`
//! lists them. Written before the answer goes out, so a read the hub cannot record is a 500,
//! never an unrecorded disclosure.

use anyhow::Context as _;
use chrono::NaiveDate;
use rusqlite::{Connection, params};

use super::db::{in_transaction, now};

/// One recorded read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub read_at: String,
    pub facility_id: String,
    pub person_id: String,
    /// `incoming` (listed) or `acknowledgement`.
    pub what: String,
}

pub fn record(
    conn: &mut Connection,
    token_id: i64,
    what: &str,
    people: &[(String, String)],
) -> anyhow::Result<()> {
    let at = now();
    in_transaction(conn, |conn| {
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO reader_reads (token_id, facility_id, person_id, what, read_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .context("cannot prepare the audit insert")?;
        for (facility, person) in people {
            stmt.execute(params![token_id, facility, person, what, at])
                .context("cannot record a read")?;
        }
        Ok(())
    })
}

pub fn list(
    conn: &mut Connection,
    token_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Vec<AuditRow>> {
    // Times are stored as RFC 3339 UTC text, so day bounds compare as text.
    let end = to.succ_opt().unwrap_or(to);
    let mut stmt = conn
        .prepare_cached(
            "SELECT read_at, facility_id, person_id, what FROM reader_reads
             WHERE token_id = ?1 AND read_at >= ?2 AND read_at < ?3 ORDER BY id",
        )
        .context("cannot prepare the audit query")?;
    let rows = stmt
        .query_map(params![token_id, from.to_string(), end.to_string()], |r| {
            Ok(AuditRow {
                read_at: r.get(0)?,
                facility_id: r.get(1)?,
                person_id: r.get(2)?,
                what: r.get(3)?,
            })
        })
        .context("cannot read the audit")?;
    rows.collect::<Result<_, _>>()
        .context("cannot read an audit row")
}
