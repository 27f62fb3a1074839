//! Acknowledgements (issue #17): a receiver (reader token) acknowledges the release notice of a
//! person in its scope with `POST /v1/incoming/{facility_id}/{person_id}/acknowledgements`; the
//! facility fetches its people's acknowledgements with `GET /v1/acknowledgements?since=`.
//!
//! A person outside the reader's scope is 404, exactly as one that does not exist, so a reader
//! cannot learn by guessing ids who is held where. A repeat (the same `acknowledgement_id`) is
//! recorded once.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::api::AppState;
use super::incoming::{limit_of, since_of};
use super::problem::{Kind, Problem};
use super::tokens::Caller;

/// Most acknowledgements in one answer, and the default.
pub const MAX_LIMIT: usize = 500;

/// An acknowledgement as a receiver sends it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub acknowledgement_id: String,
    /// Who at the receiver acknowledged (a name or a role), as they typed it.
    pub by: String,
    /// When, RFC 3339; the hub's receipt time when not given.
    pub acknowledged_at: String,
}

/// What storing an acknowledgement did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    Created {
        received_at: String,
    },
    Duplicate {
        received_at: String,
    },
    /// The id was used before with another `by` or time.
    Reused,
    /// No such person in the reader's scope.
    NotFound,
}

fn bad(detail: impl Into<String>) -> Problem {
    Problem::new(Kind::BadRequest, detail)
}

/// Checks the body; every problem is named with its field.
pub fn parse_ack(body: &[u8]) -> Result<Ack, Problem> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::new(Kind::MalformedJson, format!("the body is not JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(bad("an acknowledgement is a JSON object"));
    };
    if let Some(unknown) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "acknowledgement_id" | "by" | "acknowledged_at"))
    {
        return Err(bad(format!(
            "`{unknown}` is not a field of an acknowledgement"
        )));
    }
    let text = |field: &str| object.get(field).and_then(Value::as_str);
    let acknowledgement_id = text("acknowledgement_id")
        .filter(|id| super::schemas::is_opaque_id(id))
        .ok_or_else(|| bad("`acknowledgement_id` must be 1-64 of A-Z a-z 0-9 . _ ~ - (a UUID)"))?;
    let by = text("by")
        .filter(|by| !by.trim().is_empty() && by.chars().count() <= 200)
        .ok_or_else(|| bad("`by` must say who acknowledged: 1-200 characters"))?;
    let acknowledged_at = match object.get("acknowledged_at") {
        None | Some(Value::Null) => super::db::now(),
        Some(at) => at
            .as_str()
            .filter(|at| chrono::DateTime::parse_from_rfc3339(at).is_ok())
            .ok_or_else(|| bad("`acknowledged_at` must be an RFC 3339 date-time"))?
            .to_string(),
    };
    Ok(Ack {
        acknowledgement_id: acknowledgement_id.to_string(),
        by: by.to_string(),
        acknowledged_at,
    })
}

fn ids(path: Result<Path<(String, String)>, PathRejection>) -> Result<(String, String), Problem> {
    let Path((facility, person)) =
        path.map_err(|_| bad("the path does not decode to text (bad percent-encoding)"))?;
    if !super::schemas::is_opaque_id(&facility) || !super::schemas::is_opaque_id(&person) {
        return Err(bad(
            "facility_id and person_id must be 1-64 of A-Z a-z 0-9 . _ ~ -",
        ));
    }
    Ok((facility, person))
}

pub(super) async fn post_acknowledgement(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let (facility, person) = ids(path)?;
        let Some(scope) = caller.reader.clone() else {
            return Err(Problem::new(
                Kind::WrongTokenKind,
                "only a reader token may acknowledge",
            ));
        };
        let body = super::api::body_or_problem(body)?;
        let ack = parse_ack(&body)?;
        let outcome = state
            .store()
            .acknowledge(caller.token_id, &scope, &facility, &person, &ack)
            .await
            .map_err(|e| Problem::internal(&e))?;
        if matches!(
            outcome,
            AckOutcome::Created { .. } | AckOutcome::Duplicate { .. }
        ) {
            state
                .store()
                .record_reads(
                    caller.token_id,
                    "acknowledgement",
                    vec![(facility.clone(), person.clone())],
                )
                .await
                .map_err(|e| Problem::internal(&e))?;
        }
        let (status, result, received_at) = match outcome {
            AckOutcome::Created { received_at } => (StatusCode::CREATED, "created", received_at),
            AckOutcome::Duplicate { received_at } => (StatusCode::OK, "duplicate", received_at),
            AckOutcome::Reused => {
                return Err(Problem::new(
                    Kind::IdempotencyKeyReused,
                    "this acknowledgement_id was used with another `by` or time; a retry sends the same",
                ));
            }
            AckOutcome::NotFound => {
                return Err(Problem::new(
                    Kind::NotFound,
                    "no person with that facility and id is in this token's scope",
                ));
            }
        };
        Ok((
            status,
            Json(json!({
                "result": result,
                "acknowledgement_id": ack.acknowledgement_id,
                "facility_id": facility,
                "person_id": person,
                "received_at": received_at,
            })),
        )
            .into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn get_acknowledgements(
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
        let since = since_of(&query)?;
        let limit = limit_of(&query, MAX_LIMIT, MAX_LIMIT)?;
        let mut rows = state
            .store()
            .acknowledgements(&caller.facility_id, since, limit + 1)
            .await
            .map_err(|e| Problem::internal(&e))?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_since = rows
            .last()
            .and_then(|r| r.get("seq"))
            .and_then(Value::as_i64)
            .unwrap_or(since);
        Ok(Json(json!({
            "facility_id": caller.facility_id,
            "since": since,
            "next_since": next_since,
            "more": more,
            "acknowledgements": rows,
        }))
        .into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn bodies_are_checked_field_by_field() {
        let ok = parse_ack(br#"{"acknowledgement_id": "a-1", "by": "Coordinator"}"#).unwrap();
        assert_eq!(ok.by, "Coordinator");
        for bad in [
            &br#"{"by": "x"}"#[..],
            br#"{"acknowledgement_id": "a 1", "by": "x"}"#,
            br#"{"acknowledgement_id": "a-1", "by": "  "}"#,
            br#"{"acknowledgement_id": "a-1", "by": "x", "acknowledged_at": "today"}"#,
            br#"{"acknowledgement_id": "a-1", "by": "x", "diagnosis": "y"}"#,
            br#"[]"#,
            br#"{"#,
        ] {
            assert!(parse_ack(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
