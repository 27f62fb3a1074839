//! The hub's FHIR R4 endpoint, `/fhir`: enough of a FHIR server to take the sender's FHIR
//! target end to end (docs/FHIR.md) — `transaction` Bundles with conditional updates on
//! identifiers, read by type and id, search by identifier (and by a top-level reference),
//! `OperationOutcome` on every error, and the facility's bearer token. Each facility's token
//! sees only the resources that facility wrote.

pub mod outcome;
pub mod store;
pub mod transaction;

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, anyhow};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Path as UrlPath, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rusqlite::Connection;
use serde_json::{Value, json};

use outcome::{Outcome, fhir_json};

/// Largest transaction: one person's Bundle is some tens of KiB; a busy person's history fits.
pub const MAX_FHIR_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Clone)]
pub struct FhirState {
    db: Arc<Mutex<Connection>>,
}

/// The caller's facility, from the token.
#[derive(Clone)]
struct Facility(String);

impl FhirState {
    /// Its own connection to the hub's database (tokens are the hub's; the FHIR tables are
    /// created if missing).
    pub fn open(db: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(db)
            .with_context(|| format!("cannot open the hub database {}", db.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .context("cannot set the busy timeout")?;
        store::create(&conn)?;
        Ok(Self {
            db: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the blocking pool: SQLite must not stall the async workers.
    async fn with_db<T, F>(&self, f: F) -> Result<T, Outcome>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Outcome> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let mut conn = db
                .lock()
                .map_err(|_| Outcome::internal(&anyhow!("the database lock is poisoned")))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| Outcome::internal(&anyhow!("database task failed: {e}")))?
    }
}

pub fn router(state: FhirState) -> Router {
    let protected = Router::new()
        .route("/fhir", post(post_transaction))
        .route("/fhir/{resource_type}", get(search))
        .route("/fhir/{resource_type}/{id}", get(read))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/fhir/metadata", get(metadata))
        .merge(protected)
        .layer(DefaultBodyLimit::max(MAX_FHIR_BODY_BYTES))
        .with_state(state)
        .layer(middleware::from_fn(super::api::access_log))
}

async fn authenticate(
    State(state): State<FhirState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(token) = super::tokens::bearer(request.headers()) else {
        return Outcome::new(
            StatusCode::UNAUTHORIZED,
            "login",
            "send `Authorization: Bearer <token>`",
        )
        .into_response();
    };
    let caller = state
        .with_db(move |conn| {
            super::tokens::authenticate(conn, &token).map_err(|e| Outcome::internal(&e))
        })
        .await;
    match caller {
        // A reader token (plan, ECM provider, county) reads /v1/incoming and sends nothing.
        Ok(Some(caller)) if caller.reader.is_some() => Outcome::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "a reader token cannot use /fhir; it reads /v1/incoming only",
        )
        .into_response(),
        Ok(Some(caller)) => {
            request
                .extensions_mut()
                .insert(Facility(caller.facility_id));
            next.run(request).await
        }
        Ok(None) => Outcome::new(
            StatusCode::UNAUTHORIZED,
            "login",
            "the token is unknown or revoked",
        )
        .into_response(),
        Err(outcome) => outcome.into_response(),
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn post_transaction(
    State(state): State<FhirState>,
    Extension(Facility(facility)): Extension<Facility>,
    body: Bytes,
) -> Response {
    let bundle: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::invalid(format!("the body is not JSON: {e}")).into_response();
        }
    };
    let answer = state
        .with_db(move |conn| transaction::apply(conn, &facility, &bundle, &now()))
        .await;
    match answer {
        Ok(response) => fhir_json(StatusCode::OK, &response),
        Err(outcome) => outcome.into_response(),
    }
}

fn checked_type(resource_type: &str) -> Result<(), Outcome> {
    if transaction::valid_type(resource_type) {
        Ok(())
    } else {
        Err(Outcome::new(
            StatusCode::NOT_FOUND,
            "not-supported",
            "no such resource type",
        ))
    }
}

async fn read(
    State(state): State<FhirState>,
    Extension(Facility(facility)): Extension<Facility>,
    UrlPath((resource_type, id)): UrlPath<(String, String)>,
) -> Response {
    let found = state
        .with_db(move |conn| {
            checked_type(&resource_type)?;
            store::read(conn, &facility, &resource_type, &id)
                .map_err(|e| Outcome::internal(&e))?
                .ok_or_else(|| {
                    Outcome::new(
                        StatusCode::NOT_FOUND,
                        "not-found",
                        format!("no {resource_type} with that id"),
                    )
                })
        })
        .await;
    match found {
        Ok(stored) => {
            let mut response = fhir_json(StatusCode::OK, &stored.served());
            if let Ok(etag) = header::HeaderValue::from_str(&format!("W/\"{}\"", stored.version)) {
                response.headers_mut().insert(header::ETAG, etag);
            }
            response
        }
        Err(outcome) => outcome.into_response(),
    }
}

/// Whether a resource's top-level element `name` refers to `target` (`subject=Patient/x`).
fn refers_to(resource: &Value, name: &str, target: &str) -> bool {
    let hit = |v: &Value| v["reference"].as_str() == Some(target);
    match &resource[name] {
        Value::Array(items) => items.iter().any(hit),
        v => hit(v),
    }
}

/// `GET /fhir/Type?identifier=system|value` and/or `?subject=Patient/id` (any top-level
/// reference element), every parameter ANDed; a searchset Bundle.
async fn search(
    State(state): State<FhirState>,
    Extension(Facility(facility)): Extension<Facility>,
    UrlPath(resource_type): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let found = state
        .with_db(move |conn| {
            checked_type(&resource_type)?;
            let mut identifier = None;
            let mut references = Vec::new();
            for pair in query
                .as_deref()
                .unwrap_or_default()
                .split('&')
                .filter(|p| !p.is_empty())
            {
                let (name, _) = pair.split_once('=').unwrap_or((pair, ""));
                if name == "identifier" {
                    identifier = Some(transaction::identifier_query(pair)?);
                } else {
                    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                    if !name.bytes().all(|b| b.is_ascii_alphabetic()) {
                        return Err(Outcome::new(
                            StatusCode::BAD_REQUEST,
                            "not-supported",
                            format!("the search parameter `{name}` is not supported"),
                        ));
                    }
                    references.push((name.to_string(), value.to_string()));
                }
            }
            let internal = |e: anyhow::Error| Outcome::internal(&e);
            let mut hits = store::all_of_type(conn, &facility, &resource_type).map_err(internal)?;
            if let Some((system, value)) = identifier {
                let ids =
                    store::find_by_identifier(conn, &facility, &resource_type, &system, &value)
                        .map_err(internal)?;
                hits.retain(|(id, _)| ids.contains(id));
            }
            hits.retain(|(_, s)| references.iter().all(|(n, v)| refers_to(&s.body, n, v)));
            Ok((resource_type, hits))
        })
        .await;
    match found {
        Ok((resource_type, hits)) => {
            let entries: Vec<Value> = hits
                .iter()
                .map(|(id, s)| {
                    json!({
                        "fullUrl": format!("{resource_type}/{id}"),
                        "resource": s.served(),
                        "search": {"mode": "match"},
                    })
                })
                .collect();
            fhir_json(
                StatusCode::OK,
                &json!({"resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries}),
            )
        }
        Err(outcome) => outcome.into_response(),
    }
}

/// What this endpoint does, for clients that ask first (no token needed, nothing private).
async fn metadata() -> Response {
    fhir_json(
        StatusCode::OK,
        &json!({
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-12-04",
            "kind": "instance",
            "software": {"name": "reentry-board hub", "version": env!("CARGO_PKG_VERSION")},
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json"],
            "rest": [{
                "mode": "server",
                "security": {"service": [{"text": "Bearer token of the facility (reentry-board hub token add)"}]},
                "interaction": [{"code": "transaction"}],
                "resource": [{
                    "type": "Resource",
                    "interaction": [{"code": "read"}, {"code": "search-type"}, {"code": "update"}, {"code": "create"}],
                    "conditionalUpdate": true,
                    "conditionalCreate": true,
                    "searchParam": [{"name": "identifier", "type": "token"}],
                }],
            }],
        }),
    )
}
