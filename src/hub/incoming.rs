//! The receiving side (issue #17): `GET /v1/incoming` for a reader token — a managed care plan,
//! an ECM provider or a county — lists everyone in its scope releasing in a window, from every
//! facility, with only what the receiver needs to get ready: no diagnoses, no drug names, no
//! Part 2 item (the events carry no consent naming a recipient, so none is covered).
//!
//! Who is in which scope follows from the stored person views (see the SQL in
//! `store::incoming`): the plan is the `mcp` of the latest `medi_cal_status_changed`, the ECM
//! provider the `organisation` of the `ecm_provider` care-team role, and the county the one
//! recorded for the person's facility (`hub token add --facility F --in-county C`). Names match
//! without regard to ASCII case or surrounding spaces, as typed on different boards.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::api::{AppState, query_date};
use super::problem::{Kind, Problem};
use super::tokens::Caller;

/// Default and largest page.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 500;
/// Default window when `to` is not given: a plan plans a month ahead.
pub const DEFAULT_WINDOW_DAYS: i64 = 30;

/// What a reader token may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Plan,
    Ecm,
    County,
}

impl ScopeKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Ecm => "ecm",
            Self::County => "county",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "plan" => Some(Self::Plan),
            "ecm" => Some(Self::Ecm),
            "county" => Some(Self::County),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub kind: ScopeKind,
    /// As given when the token was made.
    pub name: String,
}

impl Scope {
    /// The form names are compared in (the database's generated columns apply the same).
    pub fn key(&self) -> String {
        name_key(&self.name)
    }
}

/// ASCII lower case without surrounding spaces: SQLite's `lower(trim(x))`.
pub fn name_key(name: &str) -> String {
    name.trim_matches(' ').to_ascii_lowercase()
}

/// A scope name must say something: an empty one would match everyone with no plan.
pub fn check_scope_name(name: &str) -> anyhow::Result<()> {
    if name_key(name).is_empty() || name.len() > 200 {
        anyhow::bail!("a plan, ECM provider or county name is 1-200 characters, not blank");
    }
    Ok(())
}

/// One page of a reader's request.
#[derive(Debug, Clone)]
pub struct PageQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Only people whose view changed after this change number.
    pub since: i64,
    pub limit: usize,
    /// The last row of the previous page: (release date, facility, person).
    pub after: (NaiveDate, String, String),
}

/// A stored person as the incoming query finds them.
#[derive(Debug, Clone)]
pub struct Row {
    pub view: Value,
    pub county: Option<String>,
    pub change_seq: i64,
}

/// What the store answers for one page.
#[derive(Debug, Clone)]
pub struct Page {
    /// Up to `limit + 1` rows: one more tells that there is a next page.
    pub rows: Vec<Row>,
    /// The highest change number committed when the page was read.
    pub latest_change: i64,
}

fn bad(detail: impl Into<String>) -> Problem {
    Problem::new(Kind::BadRequest, detail)
}

/// The page cursor is `DATE,FACILITY,PERSON` of the last row (ids never hold a comma).
fn parse_cursor(text: &str) -> Result<(NaiveDate, String, String), Problem> {
    let invalid = || bad("`cursor` is not one this hub gave (use `next_cursor` as it came)");
    let mut parts = text.splitn(3, ',');
    let (Some(day), Some(facility), Some(person)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| invalid())?;
    if !super::schemas::is_opaque_id(facility) || !super::schemas::is_opaque_id(person) {
        return Err(invalid());
    }
    Ok((day, facility.to_string(), person.to_string()))
}

/// `since`: a `next_since` of an earlier answer, 0 when absent.
pub fn since_of(query: &HashMap<String, String>) -> Result<i64, Problem> {
    match query.get("since") {
        None => Ok(0),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| bad("`since` must be a whole number >= 0 (a `next_since`)")),
    }
}

/// `limit`: 1 to `max`, `default` when absent.
pub fn limit_of(
    query: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, Problem> {
    match query.get("limit") {
        None => Ok(default),
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| bad(format!("`limit` must be 1 to {max}"))),
    }
}

pub fn parse_query(query: &HashMap<String, String>) -> Result<PageQuery, Problem> {
    let from = query_date(query, "from")?.unwrap_or_else(|| chrono::Local::now().date_naive());
    let to = query_date(query, "to")?.unwrap_or(from + chrono::Duration::days(DEFAULT_WINDOW_DAYS));
    if to < from {
        return Err(bad("`to` is before `from`"));
    }
    let since = since_of(query)?;
    let limit = limit_of(query, DEFAULT_LIMIT, MAX_LIMIT)?;
    // Before the first row of the window: every facility id sorts after "".
    let after = match query.get("cursor") {
        None => (from, String::new(), String::new()),
        Some(c) => parse_cursor(c)?,
    };
    Ok(PageQuery {
        from,
        to,
        since,
        limit,
        after,
    })
}

fn text(value: &Value, pointer: &str) -> Value {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map_or(Value::Null, |s| Value::String(s.to_string()))
}

/// Whether a stored item carries the Part 2 label: such items are left out whole (not even
/// counted), as the events say nothing of which recipients a consent covers.
fn is_part2(item: &Value) -> bool {
    item.get("sensitivity")
        .and_then(Value::as_array)
        .is_some_and(|labels| labels.iter().any(|l| l == "part2"))
}

/// `items` non-Part-2 entries, of which `ready` have one of the ready statuses.
fn supply(items: Option<&Value>, ready_statuses: &[&str]) -> Value {
    let entries: Vec<&Value> = items
        .and_then(Value::as_object)
        .map(|m| m.values().filter(|v| !is_part2(v)).collect())
        .unwrap_or_default();
    let ready = entries
        .iter()
        .filter(|v| {
            v.get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| ready_statuses.contains(&s))
        })
        .count();
    let state = match (entries.len(), ready) {
        (0, _) => "none",
        (n, r) if n == r => "ready",
        _ => "in_progress",
    };
    json!({"state": state, "items": entries.len(), "ready": ready})
}

/// The minimum a receiver needs, from a stored person view. Everything else in the view
/// (booking id, unit, drug names, barriers' free text, staff phones) stays at the hub.
pub fn shape(row: &Row) -> Value {
    let v = &row.view;
    let milestone = |code: &str| text(v, &format!("/milestones/{code}/state"));
    let care_manager = v.pointer("/care_team/pre_release_cm");
    json!({
        "facility_id": text(v, "/facility_id"),
        "person_id": text(v, "/person_id"),
        "facility_kind": text(v, "/facility_kind"),
        "county": row.county,
        "name": v.get("name").filter(|n| n.is_object()).map_or(Value::Null, |n| json!({
            "last": text(n, "/last"),
            "first": text(n, "/first"),
        })),
        "release": {
            "date": text(v, "/release/date"),
            "certainty": text(v, "/release/certainty"),
        },
        "plan": text(v, "/medi_cal/mcp"),
        "ecm_provider": text(v, "/care_team/ecm_provider/organisation"),
        "readiness": {
            "supply_30_day": supply(
                v.get("medications"),
                &["ready", "given_in_hand", "rx_sent_to_pharmacy", "not_needed"],
            ),
            "dme": supply(v.get("dme"), &["ready", "delivered", "not_needed"]),
            "care_manager": {
                "assigned": care_manager.is_some(),
                "organisation": care_manager.map_or(Value::Null, |c| text(c, "/organisation")),
                "milestone": milestone("care_manager"),
            },
            "warm_handoff": milestone("warm_handoff"),
            "medi_cal": text(v, "/medi_cal/status"),
            "notifications": milestone("notifications"),
        },
        "change_seq": row.change_seq,
        "updated_at": text(v, "/updated_at"),
    })
}

/// The answer for one page: the rows shaped, and where to go on from.
pub fn answer(scope: &Scope, query: &PageQuery, page: Page) -> Value {
    let mut rows = page.rows;
    let more = rows.len() > query.limit;
    rows.truncate(query.limit);
    let next_cursor = if more {
        rows.last().map(|last| {
            json!(format!(
                "{},{},{}",
                last.view
                    .pointer("/release/date")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                last.view
                    .get("facility_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                last.view
                    .get("person_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ))
        })
    } else {
        None
    };
    json!({
        "scope": {"kind": scope.kind.code(), "name": scope.name},
        "from": query.from.to_string(),
        "to": query.to.to_string(),
        "since": query.since,
        "next_since": page.latest_change.max(query.since),
        "next_cursor": next_cursor,
        "incoming": rows.iter().map(shape).collect::<Vec<_>>(),
    })
}

pub(super) async fn get_incoming(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let result = async {
        let Ok(Query(query)) = query else {
            return Err(bad(
                "the query does not decode to text (bad percent-encoding)",
            ));
        };
        // The authentication layer lets only reader tokens reach this route.
        let Some(scope) = caller.reader.clone() else {
            return Err(Problem::new(
                Kind::WrongTokenKind,
                "only a reader token may read /v1/incoming",
            ));
        };
        let page_query = parse_query(&query)?;
        let page = state
            .store()
            .incoming(&scope, &page_query)
            .await
            .map_err(|e| Problem::internal(&e))?;
        let shown: Vec<(String, String)> = page
            .rows
            .iter()
            .take(page_query.limit)
            .map(|row| {
                let id = |field: &str| {
                    text(&row.view, field)
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                };
                (id("/facility_id"), id("/person_id"))
            })
            .collect();
        state
            .store()
            .record_reads(caller.token_id, "incoming", shown)
            .await
            .map_err(|e| Problem::internal(&e))?;
        Ok(Json(answer(&scope, &page_query, page)).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn queries_and_cursors_are_checked() {
        let q = |pairs: &[(&str, &str)]| {
            parse_query(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let ok = q(&[("from", "2026-03-01"), ("to", "2026-03-10"), ("limit", "2")]).unwrap();
        assert_eq!(ok.limit, 2);
        assert_eq!(ok.after.1, "");
        let c = q(&[("from", "2026-03-01"), ("cursor", "2026-03-05,fac-1,p-2")]).unwrap();
        assert_eq!(c.after.2, "p-2");
        for bad in [
            vec![("from", "2026-03-10"), ("to", "2026-03-01")],
            vec![("limit", "0")],
            vec![("limit", "501")],
            vec![("since", "-1")],
            vec![("cursor", "x")],
            vec![("cursor", "2026-03-05,fac 1,p")],
        ] {
            assert!(q(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(name_key("  L.A. Care "), "l.a. care");
        assert!(check_scope_name("   ").is_err());
    }
}
