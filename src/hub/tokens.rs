//! Bearer tokens, one or more per facility. Only their SHA-256 is stored.
//!
//! A token is 256 random bits, so a plain SHA-256 (not a slow password hash) is enough: there is
//! nothing to guess. Authentication looks the hash up through the unique index instead of comparing
//! secrets in Rust, so no comparison of the secret itself can leak timing.

use std::fmt::Write as _;

use anyhow::{Context as _, bail};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::db::now;
use super::incoming::{Scope, ScopeKind, check_scope_name, name_key};

/// Tokens start with this, so a leaked one is recognisable in a secret scanner.
pub const TOKEN_PREFIX: &str = "rbh_";

/// A token as listed: never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub facility_id: String,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// The caller a valid token identifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: i64,
    /// Empty for a reader token.
    pub facility_id: String,
    /// A receiving organisation's scope; None for a facility's token (which sends).
    pub reader: Option<Scope>,
}

/// The caller of a token row: (id, facility_id, kind, scope).
pub(crate) fn caller_of(
    id: i64,
    facility_id: String,
    kind: &str,
    scope: Option<String>,
) -> anyhow::Result<Caller> {
    let reader = match kind {
        "facility" => None,
        other => Some(Scope {
            kind: ScopeKind::parse(other)
                .with_context(|| format!("token {id} has an unknown kind `{other}`"))?,
            name: scope.with_context(|| format!("reader token {id} has no scope"))?,
        }),
    };
    Ok(Caller {
        token_id: id,
        facility_id,
        reader,
    })
}

/// How `token list` names what a token is for: the facility, or `plan:NAME` and the like.
pub(crate) const LIST_OWNER_SQL: &str =
    "CASE kind WHEN 'facility' THEN facility_id ELSE kind || ':' || scope END";

pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Facility ids follow the envelope's opaque-id rule, so a typo is caught when the token is made.
pub(crate) fn check_facility(facility_id: &str) -> anyhow::Result<()> {
    if !super::schemas::is_opaque_id(facility_id) {
        bail!("`{facility_id}` is not a facility id: 1-64 of A-Z a-z 0-9 . _ ~ -");
    }
    Ok(())
}

/// Makes a token for a facility; returns its id and the secret, which is not stored anywhere.
pub fn add(conn: &Connection, facility_id: &str, label: &str) -> anyhow::Result<(i64, String)> {
    check_facility(facility_id)?;
    let token = new_secret();
    conn.execute(
        "INSERT INTO tokens (facility_id, token_sha256, label, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![facility_id, sha256_hex(token.as_bytes()), label, now()],
    )
    .context("cannot store the token")?;
    Ok((conn.last_insert_rowid(), token))
}

/// Makes a reader token for a plan, an ECM provider or a county; it reads, never sends.
pub fn add_reader(conn: &Connection, scope: &Scope, label: &str) -> anyhow::Result<(i64, String)> {
    check_scope_name(&scope.name)?;
    let token = new_secret();
    conn.execute(
        "INSERT INTO tokens (facility_id, token_sha256, label, created_at, kind, scope)
         VALUES ('', ?1, ?2, ?3, ?4, ?5)",
        params![
            sha256_hex(token.as_bytes()),
            label,
            now(),
            scope.kind.code(),
            scope.name
        ],
    )
    .context("cannot store the token")?;
    Ok((conn.last_insert_rowid(), token))
}

/// Records the county a facility is in, for county readers (a later call replaces it).
pub fn set_county(conn: &Connection, facility_id: &str, county: &str) -> anyhow::Result<()> {
    check_facility(facility_id)?;
    check_scope_name(county)?;
    conn.execute(
        "INSERT INTO facilities (facility_id, county, county_key) VALUES (?1, ?2, ?3)
         ON CONFLICT (facility_id) DO UPDATE SET county = excluded.county,
             county_key = excluded.county_key",
        params![facility_id, county, name_key(county)],
    )
    .context("cannot record the facility's county")?;
    Ok(())
}

/// A new token: 256 random bits, recognisable by its prefix.
pub(crate) fn new_secret() -> String {
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    format!("{TOKEN_PREFIX}{}", hex(&secret))
}

pub fn list(conn: &Connection) -> anyhow::Result<Vec<TokenInfo>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT id, {LIST_OWNER_SQL}, label, created_at, revoked_at FROM tokens ORDER BY id"
        ))
        .context("cannot list tokens")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(TokenInfo {
                id: r.get(0)?,
                facility_id: r.get(1)?,
                label: r.get(2)?,
                created_at: r.get(3)?,
                revoked_at: r.get(4)?,
            })
        })
        .context("cannot list tokens")?;
    rows.collect::<Result<_, _>>()
        .context("cannot read a token row")
}

/// Revokes a token by id. Revoking twice is an error, so a typo in the id is noticed.
pub fn revoke(conn: &Connection, id: i64) -> anyhow::Result<TokenInfo> {
    let changed = conn
        .execute(
            "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![now(), id],
        )
        .context("cannot revoke the token")?;
    let info = list(conn)?.into_iter().find(|t| t.id == id);
    match (changed, info) {
        (1, Some(info)) => Ok(info),
        (_, Some(_)) => bail!("token {id} was already revoked"),
        (_, None) => bail!("no token has id {id} (see `hub token list`)"),
    }
}

/// The token of an `Authorization: Bearer <token>` header, if one is there and not empty.
pub(super) fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// The caller a presented token belongs to, if it is known and not revoked.
pub fn authenticate(conn: &Connection, token: &str) -> anyhow::Result<Option<Caller>> {
    let row: Option<(i64, String, String, Option<String>)> = conn
        .query_row(
            "SELECT id, facility_id, kind, scope FROM tokens
             WHERE token_sha256 = ?1 AND revoked_at IS NULL",
            params![sha256_hex(token.as_bytes())],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .context("cannot check the token")?;
    row.map(|(id, facility, kind, scope)| caller_of(id, facility, &kind, scope))
        .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn add_authenticate_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::db::open(&dir.path().join("hub.db")).unwrap();
        let (id, token) = add(&conn, "county-a", "sync service").unwrap();
        assert!(token.starts_with(TOKEN_PREFIX) && token.len() == TOKEN_PREFIX.len() + 64);
        let caller = authenticate(&conn, &token).unwrap().unwrap();
        assert_eq!(caller.facility_id, "county-a");
        assert_eq!(authenticate(&conn, "rbh_nope").unwrap(), None);
        let stored: String = conn
            .query_row("SELECT token_sha256 FROM tokens", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, token);
        revoke(&conn, id).unwrap();
        assert_eq!(authenticate(&conn, &token).unwrap(), None);
        assert!(revoke(&conn, id).is_err());
        assert!(revoke(&conn, 99).is_err());
        assert!(add(&conn, "bad facility", "").is_err());
    }
}
