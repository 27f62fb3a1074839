//! FHIR's error body: an `OperationOutcome` with the HTTP status that goes with it.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const FHIR_JSON: &str = "application/fhir+json";

/// A failed request, as FHIR says it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: StatusCode,
    /// The issue type (FHIR's `issue-type` codes: invalid, not-found, conflict, ...).
    pub code: &'static str,
    pub diagnostics: String,
    /// Where in the request, as a FHIRPath expression (`Bundle.entry[3].request.url`).
    pub expression: Option<String>,
}

impl Outcome {
    pub fn new(status: StatusCode, code: &'static str, diagnostics: impl Into<String>) -> Self {
        Self {
            status,
            code,
            diagnostics: diagnostics.into(),
            expression: None,
        }
    }

    pub fn invalid(diagnostics: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", diagnostics)
    }

    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression = Some(expression.into());
        self
    }

    pub fn internal(error: &anyhow::Error) -> Self {
        // The chain goes to the operator's log; the client learns only that it may retry.
        tracing::error!(error = format!("{error:#}"), "fhir: internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            "the hub failed to process the request; retry later",
        )
    }

    pub fn body(&self) -> Value {
        let mut issue = json!({
            "severity": if self.status.is_server_error() { "fatal" } else { "error" },
            "code": self.code,
            "diagnostics": self.diagnostics,
        });
        if let Some(at) = &self.expression {
            issue["expression"] = json!([at]);
        }
        json!({"resourceType": "OperationOutcome", "issue": [issue]})
    }
}

impl IntoResponse for Outcome {
    fn into_response(self) -> Response {
        let mut response = fhir_json(self.status, &self.body());
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

pub fn fhir_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, FHIR_JSON)],
        body.to_string(),
    )
        .into_response()
}
