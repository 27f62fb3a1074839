//! The incoming-releases query, the same on both backends but for how parameters are written.

use anyhow::Context as _;
use rusqlite::{Connection, params};

use crate::hub::incoming::{Page, PageQuery, Row, Scope, ScopeKind};

/// The query for one scope kind. `p` is the parameter sigil (`?` or `$`) and `date` the cast a
/// date parameter needs. Parameters: 1 from, 2 to, 3 since, 4 scope key, 5-7 the last row of
/// the previous page (date, facility, person), 8 limit. The scope's column comes from this fixed
/// match, never from the request, and each has its own index.
pub fn sql(kind: ScopeKind, p: &str, date: &str) -> String {
    let scope = scope_condition(kind, &format!("{p}4"));
    format!(
        "SELECT p.view, f.county, p.change_seq
         FROM persons p LEFT JOIN facilities f ON f.facility_id = p.facility_id
         WHERE p.custody = 'in_custody'
           AND p.release_date >= {p}1{date} AND p.release_date <= {p}2{date}
           AND p.change_seq > {p}3
           AND {scope}
           AND (p.release_date, p.facility_id, p.person_id) > ({p}5{date}, {p}6, {p}7)
         ORDER BY p.release_date, p.facility_id, p.person_id
         LIMIT {p}8"
    )
}

/// Whether person `p` (facilities joined as `f`) is in a scope whose key is `param`.
pub fn scope_condition(kind: ScopeKind, param: &str) -> String {
    match kind {
        ScopeKind::Plan => format!("p.plan_key = {param}"),
        ScopeKind::Ecm => format!("p.ecm_key = {param}"),
        ScopeKind::County => format!("f.county_key = {param}"),
    }
}

/// Whether a reader sees a person: parameters 1 facility, 2 person, 3 the scope's key.
pub fn in_scope_sql(kind: ScopeKind, p: &str) -> String {
    format!(
        "SELECT count(*) FROM persons p LEFT JOIN facilities f ON f.facility_id = p.facility_id
         WHERE p.facility_id = {p}1 AND p.person_id = {p}2 AND {}",
        scope_condition(kind, &format!("{p}3"))
    )
}

pub fn sqlite(conn: &Connection, scope: &Scope, query: &PageQuery) -> anyhow::Result<Page> {
    let latest_change: i64 = conn
        .query_row(
            "SELECT COALESCE(max(change_seq), 0) FROM persons",
            [],
            |r| r.get(0),
        )
        .context("cannot read the latest change")?;
    let mut stmt = conn
        .prepare_cached(&sql(scope.kind, "?", ""))
        .context("cannot prepare the incoming query")?;
    let (after_day, after_facility, after_person) = &query.after;
    let limit = i64::try_from(query.limit + 1).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(
            params![
                query.from.to_string(),
                query.to.to_string(),
                query.since,
                scope.key(),
                after_day.to_string(),
                after_facility,
                after_person,
                limit
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .context("cannot query the incoming releases")?;
    let rows = rows
        .map(|row| {
            let (view, county, change_seq) = row.context("cannot read an incoming row")?;
            Ok(Row {
                view: serde_json::from_str(&view).context("a stored person view is corrupt")?,
                county,
                change_seq,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Page {
        rows,
        latest_change,
    })
}
