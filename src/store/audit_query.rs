//! Read-only audit queries for the audit views, and the one write that is audit only: having
//! looked at someone's Part 2 (SUD/MAT) details.

use chrono::NaiveDate;
use rusqlite::types::Value as Sql;

use super::error::SqlContext;
use super::load::AuditEntry;
use super::outbox::AuditRow;
use super::{Actor, Result, Store};
use crate::domain::Action;

/// The global audit view's filter; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// First day included (UTC dates, as the rows are stamped).
    pub from: Option<NaiveDate>,
    /// Last day included.
    pub to: Option<NaiveDate>,
    pub kind: Option<String>,
    /// Newest rows first, at most this many; 0 means the default.
    pub limit: usize,
}

/// Enough for a screenful many times over, small enough to load in a blink on a big jail.
pub const DEFAULT_AUDIT_LIMIT: usize = 2_000;

/// One audit row, from a query selecting the columns in table order.
pub(super) fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        role: r.get(3)?,
        via: r.get(4)?,
        person_id: r.get(5)?,
        kind: r.get(6)?,
        entity: r.get(7)?,
        entity_id: r.get(8)?,
        before: r.get(9)?,
        after: r.get(10)?,
        reason: r.get(11)?,
    })
}

impl Store {
    /// Audit rows matching `filter`, newest first.
    pub fn audit_search(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut sql = String::from(
            "SELECT id, at, actor, role, via, person_id, kind, entity, entity_id, before, after,
                    reason
             FROM audit WHERE 1",
        );
        let mut args: Vec<Sql> = Vec::new();
        if let Some(actor) = &filter.actor {
            args.push(Sql::Text(actor.clone()));
            sql.push_str(&format!(" AND actor = ?{}", args.len()));
        }
        if let Some(kind) = &filter.kind {
            args.push(Sql::Text(kind.clone()));
            sql.push_str(&format!(" AND kind = ?{}", args.len()));
        }
        // Timestamps are RFC 3339 in UTC, so a day is a string prefix range.
        if let Some(from) = filter.from {
            args.push(Sql::Text(from.format("%Y-%m-%d").to_string()));
            sql.push_str(&format!(" AND at >= ?{}", args.len()));
        }
        if let Some(to) = filter.to.and_then(|d| d.succ_opt()) {
            args.push(Sql::Text(to.format("%Y-%m-%d").to_string()));
            sql.push_str(&format!(" AND at < ?{}", args.len()));
        }
        let limit = if filter.limit == 0 {
            DEFAULT_AUDIT_LIMIT
        } else {
            filter.limit
        };
        args.push(Sql::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ?{}", args.len()));
        self.conn
            .prepare(&sql)
            .and_then(|mut s| {
                s.query_map(rusqlite::params_from_iter(args), entry)?
                    .collect()
            })
            .ctx("searching the audit log")
            .map_err(|e| e.at(&self.path))
    }

    /// Records that `actor` saw this person's Part 2 details: one transaction, one audit row, no
    /// outbox event (the hub has no business knowing who looked). Refused for a role that may
    /// not see them, so the audit never claims a view that did not happen.
    pub fn record_part2_view(&mut self, actor: &Actor, person_id: &str) -> Result<i64> {
        self.write(actor, |w| {
            let head = w.person(person_id)?;
            w.allow(Action::ViewPart2, head.context)?;
            w.audit(&AuditRow {
                person_id: Some(&head.id),
                kind: "part2_viewed",
                entity: "person",
                entity_id: Some(head.id.clone()),
                before: None,
                after: None,
                reason: None,
            })
        })
    }
}
