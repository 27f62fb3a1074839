//! The audit trail's hash chain (migration `0006_audit_chain.sql`): `hash = SHA-256(previous hash ‖ the row)`, the
//! first row chained to 32 zero bytes. Written in the same transaction as its audit row; checked
//! by `reentry-board check`.

use rusqlite::{Connection, OptionalExtension, Row, params};
use sha2::{Digest, Sha256};

use super::Result;
use super::error::SqlContext;

const GENESIS: [u8; 32] = [0; 32];

/// The columns that are hashed, in order.
const COLUMNS: &str = "a.id, a.at, a.actor, a.role, a.via, a.person_id, a.kind, a.entity, a.entity_id, a.before, \
     a.after, a.reason";

/// Links audit row `id`, just inserted, to the chain.
pub(super) fn link(conn: &Connection, id: i64) -> Result<()> {
    let previous: Option<Vec<u8>> = conn
        .prepare_cached("SELECT hash FROM audit_chain ORDER BY audit_id DESC LIMIT 1")
        .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
        .ctx("reading the audit chain")?;
    let previous = previous.unwrap_or_else(|| GENESIS.to_vec());
    let hash = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM audit a WHERE a.id = ?1"))
        .and_then(|mut s| s.query_row([id], |r| row_hash(&previous, r)))
        .ctx("hashing the audit row")?;
    conn.prepare_cached("INSERT INTO audit_chain (audit_id, hash) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![id, hash.as_slice()]))
        .ctx("writing the audit chain")?;
    Ok(())
}

/// Chains every audit row that has no link yet, in id order (the migration's part in Rust).
pub(super) fn backfill(conn: &Connection) -> Result<()> {
    let ids: Vec<i64> = conn
        .prepare(
            "SELECT id FROM audit WHERE id NOT IN (SELECT audit_id FROM audit_chain) ORDER BY id",
        )
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))
                .and_then(Iterator::collect::<rusqlite::Result<Vec<i64>>>)
        })
        .ctx("listing audit rows to chain")?;
    for id in ids {
        link(conn, id)?;
    }
    Ok(())
}

/// What walking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub rows: u64,
    /// The first problem, in words (`None`: the chain is whole).
    pub problem: Option<String>,
}

/// Recomputes every link. A database from before the chain (opened read-only, not migrated) has
/// no chain to check, and says so.
pub fn verify(conn: &Connection) -> rusqlite::Result<ChainReport> {
    let has_chain: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'audit_chain'",
        [],
        |r| r.get(0),
    )?;
    if !has_chain {
        return Ok(ChainReport {
            rows: 0,
            problem: Some("no audit chain (a database from before the chain was added)".into()),
        });
    }
    let triggers: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name IN
            ('audit_no_update', 'audit_no_delete', 'audit_chain_no_update', 'audit_chain_no_delete')",
        [],
        |r| r.get(0),
    )?;
    let mut problem = (triggers != 4)
        .then(|| "the append-only triggers of the audit trail were removed".to_string());
    let mut previous = GENESIS.to_vec();
    let mut rows = 0u64;
    let mut statement = conn.prepare(&format!(
        "SELECT {COLUMNS}, c.hash FROM audit a LEFT JOIN audit_chain c ON c.audit_id = a.id
         ORDER BY a.id"
    ))?;
    let mut cursor = statement.query([])?;
    while let Some(row) = cursor.next()? {
        rows += 1;
        let id: i64 = row.get(0)?;
        let stored: Option<Vec<u8>> = row.get(12)?;
        let expected = row_hash(&previous, row)?;
        if problem.is_none() {
            match &stored {
                None => problem = Some(format!("audit row {id} is not in the chain")),
                Some(hash) if hash.as_slice() != expected.as_slice() => {
                    problem = Some(format!(
                        "the audit chain breaks at row {id} (that row or one before it was \
                         altered, removed or inserted)"
                    ));
                }
                Some(_) => {}
            }
        }
        // Follow the stored chain, so one altered row is reported once, not every row after it.
        previous = stored.unwrap_or_else(|| expected.to_vec());
    }
    if problem.is_none() {
        let orphans: i64 = conn.query_row(
            "SELECT count(*) FROM audit_chain WHERE audit_id NOT IN (SELECT id FROM audit)",
            [],
            |r| r.get(0),
        )?;
        if orphans > 0 {
            problem = Some(format!(
                "{orphans} audit row(s) were removed from the trail"
            ));
        }
    }
    Ok(ChainReport { rows, problem })
}

/// The hash of the row `r` (columns as [`COLUMNS`]) after `previous`. Each value is tagged and
/// length-prefixed, so no two different rows hash the same bytes.
fn row_hash(previous: &[u8], r: &Row<'_>) -> rusqlite::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(r.get::<_, i64>(0)?.to_le_bytes());
    for i in 1..12 {
        match r.get::<_, Option<String>>(i)? {
            None => hasher.update([0u8]),
            Some(text) => {
                hasher.update([1u8]);
                hasher.update((text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
        }
    }
    Ok(hasher.finalize().into())
}
