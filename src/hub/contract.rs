//! Checks HTTP exchanges against the OpenAPI description (docs/openapi.yaml, bundled): a request
//! against its operation's required headers and request-body schema, a response against its
//! operation's documented statuses, content type, required headers and body schema.
//!
//! The tests run every exchange with a test hub through [`check`] (see
//! [`super::spawn_for_test`]): the board's sender must send what the description says, and the
//! hub must answer what it says. Library-only: the CLI never installs the layer.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use anyhow::{Context as _, anyhow, bail};
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonschema::{Registry, Validator};
use serde_json::{Value, json};

use super::api::MAX_BODY_BYTES;
use super::openapi;

/// The bundled document's name for its own references (`urn:...#/components/schemas/Event`).
const DOCUMENT_URI: &str = "urn:reentry-board:openapi";

/// A compiled schema and where it sits in the description (for messages).
struct Schema {
    validator: Validator,
    at: String,
}

impl Schema {
    /// One line per problem, located by JSON pointer; an event's problem names the event.
    fn problems(&self, instance: &Value, what: &str) -> Vec<String> {
        self.validator
            .iter_errors(instance)
            .map(|e| {
                let path = e.instance_path().as_str();
                format!(
                    "{what}: {}{}: {} (schema {}{})",
                    if path.is_empty() { "/" } else { path },
                    event_named(instance, path),
                    e.masked(),
                    self.at,
                    e.schema_path().as_str()
                )
            })
            .collect()
    }
}

/// ` (event <id>)` when `path` lies in an event of `instance` (the body, or one of a batch's
/// `events`) that has an event_id, so a test can tell which event broke the description.
fn event_named(instance: &Value, path: &str) -> String {
    let event = match path.strip_prefix("/events/") {
        Some(rest) => rest
            .split('/')
            .next()
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| instance.get("events")?.get(i)),
        None => Some(instance),
    };
    event
        .and_then(|e| e.get("event_id"))
        .and_then(Value::as_str)
        .map(|id| format!(" (event {id})"))
        .unwrap_or_default()
}

struct Answer {
    /// Media type -> its schema (none: any body of that type).
    content: BTreeMap<String, Option<Schema>>,
    required_headers: Vec<String>,
}

struct Operation {
    required_headers: Vec<String>,
    /// Media type -> schema of a required request body.
    body: BTreeMap<String, Schema>,
    answers: BTreeMap<u16, Answer>,
}

/// Every operation of the description, by (method, path template).
pub struct Contract {
    operations: BTreeMap<(String, String), Operation>,
}

static CONTRACT: LazyLock<Result<Contract, String>> = LazyLock::new(|| {
    openapi::document()
        .and_then(Contract::new)
        .map_err(|e| format!("{e:#}"))
});

impl Contract {
    /// The contract of the bundled description, compiled once.
    pub fn get() -> anyhow::Result<&'static Contract> {
        CONTRACT
            .as_ref()
            .map_err(|e| anyhow!("the OpenAPI description does not compile: {e}"))
    }

    fn new(document: &'static Value) -> anyhow::Result<Self> {
        let registry = Registry::new()
            .add(DOCUMENT_URI, document)
            .context("cannot register the description")?
            .prepare()
            .context("cannot prepare the description's references")?;
        let compile = |pointer: String| -> anyhow::Result<Schema> {
            let reference = json!({ "$ref": format!("{DOCUMENT_URI}#{}", uri_fragment(&pointer)) });
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .with_registry(&registry)
                .build(&reference)
                .with_context(|| format!("the schema at {pointer} does not compile"))?;
            Ok(Schema {
                validator,
                at: pointer,
            })
        };
        let resolve = |value: &'static Value| -> anyhow::Result<(&'static Value, String)> {
            // A component reference: follow it (once; components do not chain here).
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let pointer = reference
                        .strip_prefix('#')
                        .with_context(|| format!("`{reference}` is not a local reference"))?;
                    let target = document
                        .pointer(pointer)
                        .with_context(|| format!("`{reference}` points at nothing"))?;
                    Ok((target, pointer.to_string()))
                }
                None => Ok((value, String::new())),
            }
        };
        let global_security = document.get("security").cloned().unwrap_or(Value::Null);
        let paths = document
            .get("paths")
            .and_then(Value::as_object)
            .context("the description has no paths")?;
        let mut operations = BTreeMap::new();
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                bail!("paths/{path} is not an object");
            };
            for (method, op) in item {
                if !matches!(
                    method.as_str(),
                    "get" | "put" | "post" | "delete" | "patch" | "head" | "options"
                ) {
                    continue;
                }
                let base = format!("/paths/{}/{method}", escape(path));
                let mut required_headers = Vec::new();
                for (i, parameter) in op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let (parameter, _) =
                        resolve(parameter).with_context(|| format!("{base}/parameters/{i}"))?;
                    if parameter["in"] == "header" && parameter["required"] == true {
                        if let Some(name) = parameter["name"].as_str() {
                            required_headers.push(name.to_ascii_lowercase());
                        }
                    }
                }
                let security = op.get("security").unwrap_or(&global_security);
                if security.as_array().is_some_and(|s| !s.is_empty()) {
                    required_headers.push("authorization".into());
                }
                let mut body = BTreeMap::new();
                if let Some(content) = op
                    .pointer("/requestBody/content")
                    .and_then(Value::as_object)
                {
                    for media in content.keys() {
                        let pointer =
                            format!("{base}/requestBody/content/{}/schema", escape(media));
                        body.insert(media.clone(), compile(pointer)?);
                    }
                }
                let mut answers = BTreeMap::new();
                for (status, response) in op
                    .get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let code: u16 = status
                        .parse()
                        .with_context(|| format!("{base}/responses/{status}: not a status"))?;
                    let (response, target) = resolve(response)?;
                    let at = if target.is_empty() {
                        format!("{base}/responses/{status}")
                    } else {
                        target
                    };
                    let mut content = BTreeMap::new();
                    for (media, spec) in response
                        .get("content")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                    {
                        let schema = match spec.get("schema") {
                            Some(_) => {
                                Some(compile(format!("{at}/content/{}/schema", escape(media)))?)
                            }
                            None => None,
                        };
                        content.insert(media.clone(), schema);
                    }
                    let mut headers = Vec::new();
                    for (name, spec) in response
                        .get("headers")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                    {
                        if resolve(spec)?.0["required"] == true {
                            headers.push(name.to_ascii_lowercase());
                        }
                    }
                    answers.insert(
                        code,
                        Answer {
                            content,
                            required_headers: headers,
                        },
                    );
                }
                operations.insert(
                    (method.to_ascii_uppercase(), path.clone()),
                    Operation {
                        required_headers,
                        body,
                        answers,
                    },
                );
            }
        }
        Ok(Self { operations })
    }

    /// The (method, path template) pairs the description has.
    pub fn operations(&self) -> impl Iterator<Item = (&str, &str)> {
        self.operations
            .keys()
            .map(|(method, path)| (method.as_str(), path.as_str()))
    }

    fn operation(&self, method: &str, path: &str) -> Result<&Operation, Vec<String>> {
        self.operations
            .get(&(method.to_string(), path.to_string()))
            .ok_or_else(|| vec![format!("{method} {path} is not in the description")])
    }

    /// Checks a request: its required headers, and its body against the request schema.
    pub fn check_request(
        &self,
        method: &str,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Vec<String>> {
        let operation = self.operation(method, path)?;
        let mut problems: Vec<String> = operation
            .required_headers
            .iter()
            .filter(|name| !headers.contains_key(name.as_str()))
            .map(|name| format!("the required header {name} is missing"))
            .collect();
        if !operation.body.is_empty() {
            let media = media_type(headers);
            match operation.body.get(&media) {
                None => problems.push(format!("the request body is `{media}`, not described")),
                Some(schema) => match serde_json::from_slice::<Value>(body) {
                    Ok(value) => problems.extend(schema.problems(&value, "request body")),
                    Err(e) => problems.push(format!("the request body is not JSON: {e}")),
                },
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Checks a response: a documented status, its content type, its required headers and its
    /// body against the schema; a problem's `status` member is the HTTP status.
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Vec<String>> {
        let operation = self.operation(method, path)?;
        let Some(answer) = operation.answers.get(&status) else {
            return Err(vec![format!("status {status} is not documented")]);
        };
        let mut problems: Vec<String> = answer
            .required_headers
            .iter()
            .filter(|name| !headers.contains_key(name.as_str()))
            .map(|name| format!("the response header {name} is missing"))
            .collect();
        let media = media_type(headers);
        match answer.content.get(&media) {
            None if answer.content.is_empty() && body.is_empty() => {}
            None => problems.push(format!(
                "the content type `{media}` is not documented (documented: {:?})",
                answer.content.keys().collect::<Vec<_>>()
            )),
            Some(schema) => match serde_json::from_slice::<Value>(body) {
                Ok(value) => {
                    if let Some(schema) = schema {
                        problems.extend(schema.problems(&value, "response body"));
                    }
                    if media == super::problem::PROBLEM_JSON && value["status"] != status {
                        problems.push(format!(
                            "the problem's status member is {}, the HTTP status {status}",
                            value["status"]
                        ));
                    }
                }
                Err(e) => problems.push(format!("the response body is not JSON: {e}")),
            },
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// A JSON pointer as a URI fragment: characters a fragment may not hold (the braces of path
/// templates) percent-encoded.
fn uri_fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for byte in pointer.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A JSON pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The media type of a Content-Type header, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// What a test hub's exchanges did against the description.
#[derive(Debug, Clone, Default)]
pub struct ContractLog {
    inner: Arc<Mutex<Tally>>,
}

#[derive(Debug, Default)]
struct Tally {
    requests_checked: u64,
    responses_checked: u64,
    request_problems: Vec<String>,
    response_problems: Vec<String>,
}

/// Enough to see what is wrong without holding a long test's every line.
const MAX_KEPT: usize = 50;

impl ContractLog {
    pub fn new() -> Self {
        Self::default()
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Requests whose method and route the description has, checked.
    pub fn requests_checked(&self) -> u64 {
        self.tally().requests_checked
    }

    /// Responses to those requests, checked.
    pub fn responses_checked(&self) -> u64 {
        self.tally().responses_checked
    }

    /// What requests did against the description (the first few lines), one line per problem;
    /// a problem inside an event names it (`(event <event_id>)`).
    pub fn request_problems(&self) -> Vec<String> {
        self.tally().request_problems.clone()
    }

    /// What responses did against the description (the first few lines), one line per problem.
    pub fn response_problems(&self) -> Vec<String> {
        self.tally().response_problems.clone()
    }

    fn record(&self, request: bool, what: String, result: Result<(), Vec<String>>) {
        let mut tally = self.tally();
        if request {
            tally.requests_checked += 1;
        } else {
            tally.responses_checked += 1;
        }
        if let Err(problems) = result {
            let kept = if request {
                &mut tally.request_problems
            } else {
                &mut tally.response_problems
            };
            for problem in problems {
                if kept.len() < MAX_KEPT {
                    kept.push(format!("{what}: {problem}"));
                }
            }
        }
    }
}

/// The layer: checks each exchange on a described route and records the outcome. The request
/// body is read only when its Content-Length says it fits the hub's limit (or there is none), so
/// an oversized or streamed body reaches the hub as sent and is not checked.
pub async fn check(State(log): State<ContractLog>, request: Request, next: Next) -> Response {
    let Some(path) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
    else {
        // No route (the hub's 404): nothing in the description to hold it to.
        return next.run(request).await;
    };
    let method = request.method().clone();
    let contract = match Contract::get() {
        Ok(contract) => contract,
        Err(error) => {
            log.record(
                true,
                format!("{method} {path}"),
                Err(vec![format!("{error:#}")]),
            );
            return next.run(request).await;
        }
    };
    if contract.operation(method.as_str(), &path).is_err() {
        // Another method on a described path: the hub answers 405, not part of an operation.
        return next.run(request).await;
    }
    let what = format!("{method} {path}");
    let headers = request.headers();
    let fits = match headers.get(header::CONTENT_LENGTH) {
        Some(length) => length
            .to_str()
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n <= MAX_BODY_BYTES),
        // Neither a length nor chunks: no body.
        None => !headers.contains_key(header::TRANSFER_ENCODING),
    };
    let request = if fits {
        let (parts, body) = request.into_parts();
        match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
            Ok(bytes) => {
                let result = contract.check_request(method.as_str(), &path, &parts.headers, &bytes);
                log.record(true, format!("{what} request"), result);
                Request::from_parts(parts, Body::from(bytes))
            }
            // The client went away mid-body (a killed sender): nothing whole to check, and the
            // hub sees an empty body, as it would see the cut one.
            Err(_) => Request::from_parts(parts, Body::empty()),
        }
    } else {
        request
    };
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        log.record(
            false,
            format!("{what} response"),
            Err(vec!["the body could not be read".into()]),
        );
        return parts.status.into_response();
    };
    let result = contract.check_response(
        method.as_str(),
        &path,
        parts.status.as_u16(),
        &parts.headers,
        &bytes,
    );
    log.record(
        false,
        format!("{what} response {}", parts.status.as_u16()),
        result,
    );
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use axum::http::HeaderValue;

    use super::*;

    fn json_headers(media: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
        headers
    }

    #[test]
    fn every_operation_compiles() {
        let contract = Contract::get().unwrap();
        let ops: Vec<_> = contract.operations().collect();
        assert!(ops.contains(&("POST", "/v1/events")), "{ops:?}");
        assert!(ops.contains(&("GET", "/v1/openapi.json")), "{ops:?}");
    }

    #[test]
    fn a_response_off_the_description_is_named() {
        let contract = Contract::get().unwrap();
        let path = "/v1/persons/{person_id}/cursor";
        let good = br#"{"person_id": "p-1", "last_seq": 0, "last_event_id": null}"#;
        let headers = json_headers("application/json");
        assert_eq!(
            contract.check_response("GET", path, 200, &headers, good),
            Ok(())
        );
        let bad = br#"{"person_id": "p 1", "last_seq": -1}"#;
        let problems = contract
            .check_response("GET", path, 200, &headers, bad)
            .unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("/person_id")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("last_event_id")),
            "{problems:?}"
        );
        assert!(
            contract
                .check_response("GET", path, 418, &headers, good)
                .is_err()
        );
        let problems = contract
            .check_response("GET", path, 200, &json_headers("text/plain"), good)
            .unwrap_err();
        assert!(problems[0].contains("text/plain"), "{problems:?}");
        // A problem: its media type, its documented type for the status, its status member.
        let problem = br#"{"type": "urn:reentry-board:problem:bad-request", "title": "Bad request",
                           "status": 400, "detail": "x"}"#;
        let problem_headers = json_headers("application/problem+json");
        assert_eq!(
            contract.check_response("GET", path, 400, &problem_headers, problem),
            Ok(())
        );
        let wrong = br#"{"type": "urn:reentry-board:problem:seq-gap", "title": "t",
                         "status": 401, "detail": "x"}"#;
        let problems = contract
            .check_response("GET", path, 400, &problem_headers, wrong)
            .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        // 401 must carry its challenge.
        let unauthorized = br#"{"type": "urn:reentry-board:problem:unauthorized", "title": "t",
                                "status": 401, "detail": "x"}"#;
        let problems = contract
            .check_response("GET", path, 401, &problem_headers, unauthorized)
            .unwrap_err();
        assert!(problems[0].contains("www-authenticate"), "{problems:?}");
    }

    #[test]
    fn a_request_off_the_description_is_named() {
        let contract = Contract::get().unwrap();
        let mut headers = json_headers("application/json");
        let problems = contract
            .check_request("POST", "/v1/events", &headers, br#"{"event_type": "x"}"#)
            .unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("idempotency-key")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("authorization")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("request body")),
            "{problems:?}"
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(
            contract.check_request("GET", "/v1/persons/{person_id}", &headers, b""),
            Ok(())
        );
        assert!(
            contract
                .check_request("GET", "/v1/health", &HeaderMap::new(), b"")
                .is_ok()
        );
    }
}
