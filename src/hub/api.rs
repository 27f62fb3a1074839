//! The `/v1` routes (docs/API.md): authentication, the event endpoints, the read endpoints and the
//! access log.

use std::collections::HashMap;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Extension, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::contract::{self, ContractLog};
use super::db::{Incoming, Outcome};
use super::faults::{self, Faults};
use super::openapi;
use super::problem::{Kind, Problem};
use super::schemas::{self, EventProblem};
use super::store::{Item, ItemResult, Store};
use super::tokens::{self, Caller};

/// Largest request body, single event or batch.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Most events in one batch.
pub const MAX_BATCH: usize = 100;
/// Default window of the releases endpoint when `to` is not given.
pub const DEFAULT_RELEASE_WINDOW_DAYS: i64 = 90;

#[derive(Clone)]
pub struct AppState {
    store: Store,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub(super) fn store(&self) -> &Store {
        &self.store
    }
}

/// A failure of the database (not of the request): logged for the operator, 500 to the client,
/// who retries.
fn internal(error: anyhow::Error) -> Problem {
    Problem::internal(&error)
}

/// Tags a response with the caller's facility for the access log.
#[derive(Debug, Clone)]
struct FacilityTag(String);

pub fn router(state: AppState, faults: Option<Faults>, contract: Option<ContractLog>) -> Router {
    let protected = Router::new()
        .route("/v1/events", post(post_event))
        .route("/v1/events:batch", post(post_batch))
        .route("/v1/persons/{person_id}", get(get_person))
        .route("/v1/persons/{person_id}/cursor", get(get_cursor))
        .route("/v1/facilities/{facility_id}/releases", get(get_releases))
        .route("/v1/incoming", get(super::incoming::get_incoming))
        .route(
            "/v1/incoming/{facility_id}/{person_id}/acknowledgements",
            post(super::acknowledgements::post_acknowledgement),
        )
        .route(
            "/v1/acknowledgements",
            get(super::acknowledgements::get_acknowledgements),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    let mut app = Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi_json))
        .merge(protected)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    // Inside the faults: an injected answer stands for a proxy or an overloaded hub, not for
    // what this hub answers.
    if let Some(contract) = contract {
        app = app.layer(middleware::from_fn_with_state(contract, contract::check));
    }
    if let Some(faults) = faults {
        app = app.layer(middleware::from_fn_with_state(faults, faults::inject));
    }
    app.layer(middleware::from_fn(access_log))
}

/// One line per request: method, route template (never the raw path), status, latency, facility
/// and problem type. Never names, booking ids or drug names.
pub(super) async fn access_log(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let facility = response
        .extensions()
        .get::<FacilityTag>()
        .map_or("-", |f| f.0.as_str());
    let problem = response
        .extensions()
        .get::<Kind>()
        .map_or("-", |k| k.slug());
    tracing::info!(
        target: "reentry_board::hub::access",
        method = %method,
        route,
        status = response.status().as_u16(),
        latency_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
        facility,
        problem,
        "request"
    );
    response
}

async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(token) = super::tokens::bearer(request.headers()) else {
        return Problem::new(Kind::Unauthorized, "send `Authorization: Bearer <token>`")
            .into_response();
    };
    let caller = match state.store.authenticate(&token).await.map_err(internal) {
        Ok(Some(caller)) => caller,
        Ok(None) => {
            return Problem::new(Kind::Unauthorized, "the token is unknown or revoked")
                .into_response();
        }
        Err(problem) => return problem.into_response(),
    };
    // A facility's token sends and reads its own people; a reader's token reads its scope
    // across facilities and nothing else.
    let reader_route = request.uri().path().starts_with("/v1/incoming");
    match (reader_route, caller.reader.is_some()) {
        (true, false) => {
            return Problem::new(
                Kind::WrongTokenKind,
                "a facility's token cannot read /v1/incoming; it takes a reader token \
                 (`hub token add --plan | --ecm | --county`)",
            )
            .into_response();
        }
        (false, true) => {
            return Problem::new(
                Kind::WrongTokenKind,
                "a reader token only reads /v1/incoming; it cannot send events or read a \
                 facility's records",
            )
            .into_response();
        }
        _ => {}
    }
    // The access log names a reader by its token id, never by the scope's name.
    let tag = FacilityTag(match caller.reader {
        Some(_) => format!("reader-token-{}", caller.token_id),
        None => caller.facility_id.clone(),
    });
    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    response.extensions_mut().insert(tag);
    response
}

/// How long the health check waits for the database before it answers 503.
const HEALTH_DB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

async fn health(State(state): State<AppState>) -> Response {
    let answered = tokio::time::timeout(HEALTH_DB_TIMEOUT, state.store.ping()).await;
    if let Err(why) = answered
        .map_err(|_| anyhow::anyhow!("no answer within {HEALTH_DB_TIMEOUT:?}"))
        .and_then(|r| r)
    {
        tracing::warn!(
            error = format!("{why:#}"),
            "health: the database does not answer"
        );
        return Problem::new(Kind::Unavailable, "the hub's database does not answer")
            .retry_after(Some(5))
            .into_response();
    }
    Json(json!({
        "status": "ok",
        "database": "ok",
        "schema_versions": (schemas::OLDEST_SCHEMA_VERSION..=schemas::CURRENT_SCHEMA_VERSION).collect::<Vec<_>>(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

/// The description of this API (docs/openapi.yaml with docs/schemas bundled in): no token, and
/// nothing in it but the contract.
async fn openapi_json() -> Response {
    match openapi::json() {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(error) => Problem::internal(&error).into_response(),
    }
}

async fn not_found() -> Response {
    Problem::new(Kind::NotFound, "no such endpoint; see docs/API.md").into_response()
}

async fn method_not_allowed() -> Response {
    Problem::new(
        Kind::MethodNotAllowed,
        "this endpoint does not take that method",
    )
    .into_response()
}

use axum::Json;

/// Reads the body, mapping an oversized one to 413.
pub(super) fn body_or_problem(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Problem> {
    body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(
            axum::extract::rejection::FailedToBufferBody::LengthLimitError(_),
        ) => Problem::new(
            Kind::PayloadTooLarge,
            format!("the body is larger than {MAX_BODY_BYTES} bytes; send fewer events per batch"),
        ),
        other => Problem::new(Kind::BadRequest, format!("cannot read the body: {other}")),
    })
}

fn parse_json(bytes: &[u8]) -> Result<Value, Problem> {
    serde_json::from_slice(bytes).map_err(|e| {
        // serde_json's message names a line and column, never the content.
        Problem::new(Kind::MalformedJson, format!("the body is not JSON: {e}"))
    })
}

/// Key order and whitespace do not matter: "the same payload" is the same JSON value.
pub fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (key, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(v, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(v, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn str_field(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Schema checks and the facility check: an event the hub could store.
fn prepare(value: Value, caller: &Caller) -> Result<Incoming, Problem> {
    let value = schemas::integral_numbers(value);
    let event_id = value
        .get("event_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let event_type = schemas::check(&value).map_err(|p| {
        let problem = match p {
            EventProblem::NotAnObject => {
                Problem::new(Kind::InvalidEvent, "an event must be a JSON object")
            }
            EventProblem::UnknownType(t) => Problem::new(
                Kind::UnknownEventType,
                format!("event_type `{t}` is not one of the types in docs/API.md"),
            ),
            EventProblem::UnsupportedVersion(_) => Problem::new(
                Kind::UnsupportedSchemaVersion,
                format!(
                    "this hub accepts schema_version {} to {}",
                    schemas::OLDEST_SCHEMA_VERSION,
                    schemas::CURRENT_SCHEMA_VERSION
                ),
            ),
            EventProblem::Invalid(errors) => Problem::new(
                Kind::InvalidEvent,
                format!("{} problem(s); see `errors`", errors.len()),
            )
            .errors(errors),
        };
        problem.event_id(event_id.clone())
    })?;
    let facility_id = str_field(&value, "/source/facility_id");
    if facility_id != caller.facility_id {
        return Err(Problem::new(
            Kind::WrongFacility,
            "source.facility_id is not the facility of this token",
        )
        .event_id(event_id));
    }
    // The schemas allow only integers here; a value that slipped through is refused by name,
    // never read as 0 (which would look like a sequence conflict).
    let integer = |field: &str| {
        value.get(field).and_then(Value::as_i64).ok_or_else(|| {
            Problem::new(Kind::InvalidEvent, format!("{field} must be an integer"))
                .errors(vec![format!("/{field}: not an integer")])
                .event_id(event_id.clone())
        })
    };
    let schema_version = integer("schema_version")?;
    let person_seq = integer("person_seq")?;
    let canonical = canonical_json(&value);
    Ok(Incoming {
        event_id: str_field(&value, "/event_id"),
        event_type,
        schema_version,
        occurred_at: str_field(&value, "/occurred_at"),
        person_id: str_field(&value, "/person_id"),
        person_seq,
        facility_id,
        sha256: tokens::sha256_hex(canonical.as_bytes()),
        canonical,
        value,
    })
}

fn outcome_body(outcome: Outcome, event: &Incoming, received_at: &str) -> Value {
    json!({
        "result": match outcome { Outcome::Created => "created", Outcome::Duplicate => "duplicate" },
        "event_id": event.event_id,
        "person_seq": event.person_seq,
        "received_at": received_at,
    })
}

async fn post_event(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match post_event_inner(state, caller, headers, body).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    }
}

async fn post_event_inner(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let bytes = body_or_problem(body)?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Problem::new(
                Kind::MissingIdempotencyKey,
                "send the event_id in the Idempotency-Key header",
            )
        })?;
    let value = parse_json(&bytes)?;
    let event = prepare(value, &caller)?;
    if key != event.event_id {
        return Err(Problem::new(
            Kind::IdempotencyKeyMismatch,
            "the Idempotency-Key header must equal the event's event_id",
        )
        .event_id(Some(event.event_id)));
    }
    let item = Item {
        person_id: Some(event.person_id.clone()),
        event_id: Some(event.event_id.clone()),
        event: Ok(event.clone()),
    };
    let result = state
        .store
        .store(caller.token_id, vec![item])
        .await
        .map_err(internal)?
        .pop();
    let (outcome, received_at) = match result {
        Some(ItemResult::Stored(receipt)) => (receipt.outcome, receipt.received_at),
        Some(ItemResult::Rejected(problem) | ItemResult::Deferred(problem)) => {
            return Err(problem);
        }
        None => return Err(internal(anyhow::anyhow!("the store answered nothing"))),
    };
    let status = match outcome {
        Outcome::Created => StatusCode::CREATED,
        Outcome::Duplicate => StatusCode::OK,
    };
    Ok((status, Json(outcome_body(outcome, &event, &received_at))).into_response())
}

async fn post_batch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match post_batch_inner(state, caller, body).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    }
}

async fn post_batch_inner(
    state: AppState,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let bytes = body_or_problem(body)?;
    let mut value = parse_json(&bytes)?;
    let Some(Value::Array(events)) = value.get_mut("events").map(Value::take) else {
        return Err(Problem::new(
            Kind::BadRequest,
            "a batch is an object with an `events` array",
        ));
    };
    if events.len() > MAX_BATCH {
        return Err(Problem::new(
            Kind::BatchTooLarge,
            format!("{} events in one batch; at most {MAX_BATCH}", events.len()),
        ));
    }
    // The checks first (they need no database), then every event in one transaction, in
    // order; a person whose event failed has the rest of their events in this batch deferred, so
    // the hub never stores a later seq past a failure.
    let items: Vec<Item> = events
        .into_iter()
        .map(|event| {
            let field = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_string);
            Item {
                person_id: field("person_id"),
                event_id: field("event_id"),
                event: prepare(event, &caller),
            }
        })
        .collect();
    let ids: Vec<Option<String>> = items.iter().map(|i| i.event_id.clone()).collect();
    let stored = state
        .store
        .store(caller.token_id, items)
        .await
        .map_err(internal)?;
    let results: Vec<Value> = stored
        .into_iter()
        .zip(ids)
        .enumerate()
        .map(|(index, (result, event_id))| {
            let (result, status, problem) = match result {
                ItemResult::Stored(receipt) => match receipt.outcome {
                    Outcome::Created => ("created", 201, None),
                    Outcome::Duplicate => ("duplicate", 200, None),
                },
                ItemResult::Rejected(problem) => ("rejected", problem.status, Some(problem)),
                ItemResult::Deferred(problem) => ("deferred", problem.status, Some(problem)),
            };
            let mut item = json!({
                "index": index,
                "event_id": event_id,
                "result": result,
                "status": status,
            });
            if let Some(problem) = problem {
                item["problem"] = serde_json::to_value(problem).unwrap_or(Value::Null);
            }
            item
        })
        .collect();
    let count = |r: &str| results.iter().filter(|i| i["result"] == r).count();
    let summary = json!({
        "created": count("created"),
        "duplicate": count("duplicate"),
        "rejected": count("rejected"),
        "deferred": count("deferred"),
    });
    Ok(Json(json!({ "results": results, "summary": summary })).into_response())
}

/// A person id from the path: percent-decoded and an opaque id (docs/API.md section 2), else 400
/// before any lookup.
fn person_id_from(path: Result<Path<String>, PathRejection>) -> Result<String, Problem> {
    let person_id = path.map(|Path(id)| id).map_err(|_| {
        Problem::new(
            Kind::BadRequest,
            "the path does not decode to text (bad percent-encoding)",
        )
    })?;
    if !schemas::is_opaque_id(&person_id) {
        return Err(Problem::new(
            Kind::BadRequest,
            "person_id must be 1-64 of A-Z a-z 0-9 . _ ~ -",
        ));
    }
    Ok(person_id)
}

async fn get_person(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let person_id = match person_id_from(path) {
        Ok(id) => id,
        Err(problem) => return problem.into_response(),
    };
    let facility = caller.facility_id.clone();
    let result = state
        .store
        .person_view(&facility, &person_id)
        .await
        .map_err(internal);
    match result {
        Ok(Some(view)) => Json(view).into_response(),
        Ok(None) => Problem::new(
            Kind::NotFound,
            "this facility has sent no event for that person_id",
        )
        .into_response(),
        Err(problem) => problem.into_response(),
    }
}

async fn get_cursor(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let person_id = match person_id_from(path) {
        Ok(id) => id,
        Err(problem) => return problem.into_response(),
    };
    let facility = caller.facility_id.clone();
    let result = state
        .store
        .cursor(&facility, &person_id)
        .await
        .map_err(internal);
    match result {
        Ok((last_seq, last_event_id)) => Json(json!({
            "person_id": person_id,
            "last_seq": last_seq,
            "last_event_id": last_event_id,
        }))
        .into_response(),
        Err(problem) => problem.into_response(),
    }
}

pub(super) fn query_date(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<NaiveDate>, Problem> {
    query
        .get(name)
        .map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                Problem::new(
                    Kind::BadRequest,
                    format!("`{name}` must be a date YYYY-MM-DD"),
                )
            })
        })
        .transpose()
}

async fn get_releases(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let result = async {
        let (Ok(Path(facility_id)), Ok(Query(query))) = (path, query) else {
            return Err(Problem::new(
                Kind::BadRequest,
                "the path or the query does not decode to text (bad percent-encoding)",
            ));
        };
        if facility_id != caller.facility_id {
            return Err(Problem::new(
                Kind::WrongFacility,
                "this token may only read its own facility",
            ));
        }
        let from = query_date(&query, "from")?.unwrap_or_else(|| chrono::Local::now().date_naive());
        let to = query_date(&query, "to")?
            .unwrap_or(from + chrono::Duration::days(DEFAULT_RELEASE_WINDOW_DAYS));
        if to < from {
            return Err(Problem::new(Kind::BadRequest, "`to` is before `from`"));
        }
        let releases = state
            .store
            .releases(&facility_id, from, to)
            .await
            .map_err(internal)?;
        Ok(Json(json!({
            "facility_id": facility_id,
            "from": from.to_string(),
            "to": to.to_string(),
            "releases": releases,
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
    fn canonical_json_ignores_key_order_and_spacing() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": "é"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":"é","y":[1,2]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":"é","y":[1,2]},"b":1}"#);
    }
}
