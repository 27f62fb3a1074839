//! The FHIR resources the hub holds, per facility (each facility's token sees its own
//! compartment): the current version of each resource and an index of its identifiers for
//! conditional updates and searches. Tables of their own beside the hub's event store, created
//! if missing, so the `/v1` store is untouched.

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use serde_json::Value;

const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS fhir_resources (
    facility_id   TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    id            TEXT NOT NULL,
    version       INTEGER NOT NULL,
    last_updated  TEXT NOT NULL,
    body          TEXT NOT NULL,
    PRIMARY KEY (facility_id, resource_type, id)
);
CREATE TABLE IF NOT EXISTS fhir_identifiers (
    facility_id   TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    system        TEXT NOT NULL,
    value         TEXT NOT NULL,
    id            TEXT NOT NULL,
    PRIMARY KEY (facility_id, resource_type, system, value, id)
);
-- A resource's identifiers are replaced on every write: found by the resource, not by value
-- (without it each write scanned every identifier of the type).
CREATE INDEX IF NOT EXISTS fhir_identifiers_of_resource
    ON fhir_identifiers (facility_id, resource_type, id);
";

pub fn create(conn: &Connection) -> anyhow::Result<()> {
    conn.execute_batch(SCHEMA)
        .context("cannot create the FHIR tables")
}

/// A stored resource: its body without `meta.versionId`/`meta.lastUpdated`, which come from
/// the columns.
#[derive(Debug, Clone)]
pub struct Stored {
    pub version: i64,
    pub last_updated: String,
    pub body: Value,
}

impl Stored {
    /// The body as served, with its version and time in `meta`.
    pub fn served(&self) -> Value {
        let mut body = self.body.clone();
        if let Some(map) = body.as_object_mut() {
            let meta = map
                .entry("meta")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Some(meta) = meta.as_object_mut() {
                meta.insert("versionId".into(), Value::from(self.version.to_string()));
                meta.insert("lastUpdated".into(), Value::from(self.last_updated.clone()));
            }
        }
        body
    }
}

pub fn read(
    conn: &Connection,
    facility: &str,
    resource_type: &str,
    id: &str,
) -> anyhow::Result<Option<Stored>> {
    conn.query_row(
        "SELECT version, last_updated, body FROM fhir_resources
         WHERE facility_id = ?1 AND resource_type = ?2 AND id = ?3",
        params![facility, resource_type, id],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        },
    )
    .optional()
    .context("cannot read a FHIR resource")?
    .map(|(version, last_updated, body)| {
        Ok(Stored {
            version,
            last_updated,
            body: serde_json::from_str(&body).context("a stored FHIR resource is not JSON")?,
        })
    })
    .transpose()
}

/// The ids of the facility's resources of this type that carry `system|value`.
pub fn find_by_identifier(
    conn: &Connection,
    facility: &str,
    resource_type: &str,
    system: &str,
    value: &str,
) -> anyhow::Result<Vec<String>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id FROM fhir_identifiers
             WHERE facility_id = ?1 AND resource_type = ?2 AND system = ?3 AND value = ?4
             ORDER BY id",
        )
        .context("cannot search FHIR identifiers")?;
    let ids = stmt
        .query_map(params![facility, resource_type, system, value], |r| {
            r.get(0)
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
        .context("cannot search FHIR identifiers")?;
    Ok(ids)
}

/// Every resource of the type in the facility's compartment, by id.
pub fn all_of_type(
    conn: &Connection,
    facility: &str,
    resource_type: &str,
) -> anyhow::Result<Vec<(String, Stored)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, version, last_updated, body FROM fhir_resources
             WHERE facility_id = ?1 AND resource_type = ?2 ORDER BY id",
        )
        .context("cannot list FHIR resources")?;
    let rows = stmt
        .query_map(params![facility, resource_type], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .context("cannot list FHIR resources")?;
    rows.into_iter()
        .map(|(id, version, last_updated, body)| {
            Ok((
                id,
                Stored {
                    version,
                    last_updated,
                    body: serde_json::from_str(&body)
                        .context("a stored FHIR resource is not JSON")?,
                },
            ))
        })
        .collect()
}

/// Writes a new version of a resource and its identifiers.
pub fn write(
    tx: &Transaction<'_>,
    facility: &str,
    resource_type: &str,
    id: &str,
    stored: &Stored,
) -> anyhow::Result<()> {
    tx.prepare_cached(
        "INSERT INTO fhir_resources (facility_id, resource_type, id, version, last_updated, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (facility_id, resource_type, id) DO UPDATE SET
           version = excluded.version, last_updated = excluded.last_updated, body = excluded.body",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            facility,
            resource_type,
            id,
            stored.version,
            stored.last_updated,
            stored.body.to_string()
        ])
    })
    .context("cannot store a FHIR resource")?;
    tx.prepare_cached(
        "DELETE FROM fhir_identifiers WHERE facility_id = ?1 AND resource_type = ?2 AND id = ?3",
    )
    .and_then(|mut stmt| stmt.execute(params![facility, resource_type, id]))
    .context("cannot index a FHIR resource")?;
    for identifier in stored.body["identifier"].as_array().into_iter().flatten() {
        let (Some(system), Some(value)) =
            (identifier["system"].as_str(), identifier["value"].as_str())
        else {
            continue;
        };
        tx.prepare_cached(
            "INSERT OR IGNORE INTO fhir_identifiers (facility_id, resource_type, system, value, id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut stmt| stmt.execute(params![facility, resource_type, system, value, id]))
        .context("cannot index a FHIR resource")?;
    }
    Ok(())
}
