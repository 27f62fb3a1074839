//! Errors as RFC 9457 `application/problem+json`, one problem type per thing a client must handle
//! differently.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Problem types are URNs: stable names, not pages to fetch.
pub const TYPE_PREFIX: &str = "urn:reentry-board:problem:";

/// Every problem type the contract defines (docs/API.md lists the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::EnumIter)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    MalformedJson,
    MissingIdempotencyKey,
    IdempotencyKeyMismatch,
    IdempotencyKeyReused,
    UnknownEventType,
    UnsupportedSchemaVersion,
    InvalidEvent,
    Unauthorized,
    WrongFacility,
    WrongTokenKind,
    PayloadTooLarge,
    BatchTooLarge,
    SeqGap,
    SeqConflict,
    InFlight,
    Deferred,
    BadRequest,
    HeaderTooLarge,
    UriTooLong,
    NotFound,
    MethodNotAllowed,
    RateLimited,
    Unavailable,
    Internal,
}

impl Kind {
    /// Every kind, for the tests that hold docs/API.md and docs/openapi.yaml to this list.
    pub fn all() -> impl Iterator<Item = Kind> {
        <Self as strum::IntoEnumIterator>::iter()
    }

    pub fn slug(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed-json",
            Self::MissingIdempotencyKey => "missing-idempotency-key",
            Self::IdempotencyKeyMismatch => "idempotency-key-mismatch",
            Self::IdempotencyKeyReused => "idempotency-key-reused",
            Self::UnknownEventType => "unknown-event-type",
            Self::UnsupportedSchemaVersion => "unsupported-schema-version",
            Self::InvalidEvent => "invalid-event",
            Self::Unauthorized => "unauthorized",
            Self::WrongFacility => "wrong-facility",
            Self::WrongTokenKind => "wrong-token-kind",
            Self::PayloadTooLarge => "payload-too-large",
            Self::BatchTooLarge => "batch-too-large",
            Self::SeqGap => "seq-gap",
            Self::SeqConflict => "seq-conflict",
            Self::InFlight => "in-flight",
            Self::Deferred => "deferred",
            Self::BadRequest => "bad-request",
            Self::HeaderTooLarge => "header-too-large",
            Self::UriTooLong => "uri-too-long",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::RateLimited => "rate-limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::MalformedJson | Self::MissingIdempotencyKey | Self::BadRequest => {
                StatusCode::BAD_REQUEST
            }
            Self::IdempotencyKeyMismatch
            | Self::IdempotencyKeyReused
            | Self::UnknownEventType
            | Self::UnsupportedSchemaVersion
            | Self::InvalidEvent => StatusCode::UNPROCESSABLE_ENTITY,
            Self::HeaderTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::WrongFacility | Self::WrongTokenKind => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge | Self::BatchTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::SeqGap | Self::SeqConflict | Self::InFlight => StatusCode::CONFLICT,
            Self::Deferred => StatusCode::FAILED_DEPENDENCY,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::MalformedJson => "The body is not valid JSON",
            Self::MissingIdempotencyKey => "The Idempotency-Key header is missing",
            Self::IdempotencyKeyMismatch => "The Idempotency-Key is not the event_id",
            Self::IdempotencyKeyReused => "The event_id was already used for a different payload",
            Self::UnknownEventType => "Unknown event type",
            Self::UnsupportedSchemaVersion => "Unsupported schema version",
            Self::InvalidEvent => "The event does not match its schema",
            Self::Unauthorized => "Missing, unknown or revoked bearer token",
            Self::WrongFacility => "The token belongs to another facility",
            Self::WrongTokenKind => "This kind of token may not use this endpoint",
            Self::PayloadTooLarge => "The request body is too large",
            Self::BatchTooLarge => "Too many events in one batch",
            Self::SeqGap => "A person_seq is missing before this event",
            Self::SeqConflict => "Another event already holds this person_seq",
            Self::InFlight => "The same event is being processed",
            Self::Deferred => "Not tried: an earlier event of the same person failed",
            Self::BadRequest => "Bad request",
            Self::HeaderTooLarge => "The request headers are too large",
            Self::UriTooLong => "The request URI is too long",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::RateLimited => "Too many requests",
            Self::Unavailable => "The hub is unavailable",
            Self::Internal => "Internal error",
        }
    }
}

/// One problem body. Extension members (`expected_seq`, `errors`, `event_id`) appear only when set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Boxed: most problems have none of these, and a small `Problem` keeps `Result`s cheap.
    #[serde(flatten)]
    pub extra: Box<Extra>,
    #[serde(skip)]
    pub kind: Option<Kind>,
}

/// The extension members of a problem.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Extra {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Sent as the `Retry-After` header (seconds), not in the body.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            type_uri: format!("{TYPE_PREFIX}{}", kind.slug()),
            title: kind.title(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            extra: Box::default(),
            kind: Some(kind),
        }
    }

    /// A problem with a status chosen at run time (fault injection).
    pub fn with_status(status: StatusCode, detail: impl Into<String>) -> Self {
        let kind = match status.as_u16() {
            401 => Kind::Unauthorized,
            429 => Kind::RateLimited,
            503 => Kind::Unavailable,
            _ => Kind::Internal,
        };
        Self {
            status: status.as_u16(),
            ..Self::new(kind, detail)
        }
    }

    pub fn expected_seq(mut self, seq: i64) -> Self {
        self.extra.expected_seq = Some(seq);
        self
    }

    pub fn errors(mut self, errors: Vec<String>) -> Self {
        self.extra.errors = errors;
        self
    }

    pub fn event_id(mut self, id: Option<String>) -> Self {
        self.extra.event_id = id;
        self
    }

    pub fn retry_after(mut self, seconds: Option<u64>) -> Self {
        self.extra.retry_after = seconds;
        self
    }

    pub fn internal(error: &anyhow::Error) -> Self {
        // The chain goes to the operator's log; the client learns only that it may retry.
        tracing::error!(error = format!("{error:#}"), "internal error");
        Self::new(
            Kind::Internal,
            "the hub failed to process the request; retry later",
        )
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let kind = self.kind;
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"reentry-hub\""),
            );
        }
        if let Some(seconds) = self.extra.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        // For the access log: the problem type, never the detail.
        if let Some(kind) = kind {
            response.extensions_mut().insert(kind);
        }
        response
    }
}
