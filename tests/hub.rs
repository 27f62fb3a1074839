//! The hub over real HTTP: a hub on 127.0.0.1:0 (its own thread and runtime), reqwest as the
//! client, and the hub's database read directly to prove what was (not) stored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::Parser as _;
use reentry_board::cli::{Cli, Command};
use reentry_board::hub::{self, Faults, RunningHub, ServeOptions, tokens};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::contract::HubContract;
use support::hub_db::HubDb;

const FACILITY: &str = "county-main-jail";
const OTHER: &str = "county-youth-center";
/// Synthetic canaries: they must never appear in a log line.
const CANARY_NAME: &str = "ZZCANARYLAST";
const CANARY_BOOKING: &str = "B-CANARY-991";
const CANARY_DRUG: &str = "Canarystatin";

/// One process-wide log capture, so the privacy test can read every line the hubs wrote.
fn log_capture() -> Arc<Mutex<Vec<u8>>> {
    static CAPTURE: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let writer = buffer.clone();
            let _ = tracing_subscriber::fmt()
                .with_env_filter("trace")
                .with_ansi(false)
                .with_writer(move || CaptureWriter(writer.clone()))
                .try_init();
            // Both the hub and the client use rustls with ring; reqwest needs it as the default.
            let _ = rustls::crypto::ring::default_provider().install_default();
            buffer
        })
        .clone()
}

struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: HubDb,
    hub: RunningHub,
    faults: Faults,
    client: reqwest::Client,
    token: String,
    other_token: String,
    /// Every answer of the hub must match docs/openapi.yaml (checked when the fixture drops).
    contract: HubContract,
}

impl Fixture {
    fn new() -> Self {
        log_capture();
        let dir = tempfile::tempdir().unwrap();
        let db = HubDb::new(dir.path());
        let token = db.add_token(FACILITY, "test");
        let other_token = db.add_token(OTHER, "test");
        let faults = Faults::new();
        let hub = hub::spawn_for_test(db.target.clone(), faults.clone()).unwrap();
        let contract = HubContract::responses();
        contract.watch(&hub);
        Self {
            _dir: dir,
            db,
            hub,
            faults,
            client: client(),
            token,
            other_token,
            contract,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.hub.url())
    }

    async fn post_raw(
        &self,
        token: Option<&str>,
        key: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .client
            .post(self.url("/v1/events"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    async fn post(&self, event: &Value) -> (StatusCode, Value) {
        let (status, _, body) = self
            .post_raw(
                Some(&self.token),
                event["event_id"].as_str(),
                serde_json::to_vec(event).unwrap(),
            )
            .await;
        (status, body)
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn cursor(&self, person: &str) -> i64 {
        let (status, body) = self
            .get(&self.token, &format!("/v1/persons/{person}/cursor"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["last_seq"].as_i64().unwrap()
    }

    fn stored_events(&self) -> i64 {
        self.db.count_events()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn uuid(n: u64) -> String {
    format!("01963b6e-0000-7000-8000-{n:012x}")
}

/// A valid event of `person` at `seq` for `facility`; `n` makes the event id.
fn event_for(
    facility: &str,
    person: &str,
    seq: i64,
    n: u64,
    data: Value,
    event_type: &str,
) -> Value {
    json!({
        "schema_version": 1,
        "event_id": uuid(n),
        "event_type": event_type,
        "occurred_at": "2026-03-01T09:30:12-08:00",
        "person_id": person,
        "person_seq": seq,
        "subject": {"booking_id": CANARY_BOOKING},
        "source": {"facility_id": facility, "app_version": "0.1.0"},
        "actor": {"user": "jdoe", "role": "records"},
        "sensitivity": [],
        "data": data,
    })
}

fn date_change(person: &str, seq: i64, n: u64, new: &str) -> Value {
    event_for(
        FACILITY,
        person,
        seq,
        n,
        json!({"previous": null, "new": new, "certainty": "confirmed", "type": "sentence_end",
               "reason": "court_order"}),
        "release_date_changed",
    )
}

fn booked(person: &str, n: u64) -> Value {
    event_for(
        FACILITY,
        person,
        1,
        n,
        json!({"booked_on": "2026-02-20", "facility_kind": "adult_jail",
               "name": {"last": CANARY_NAME, "first": "Test"}}),
        "person_booked",
    )
}

fn assert_problem(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
    want: StatusCode,
    slug: &str,
) {
    assert_eq!(status, want, "{body}");
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/problem+json",
        "{body}"
    );
    assert_eq!(
        body["type"],
        format!("urn:reentry-board:problem:{slug}"),
        "{body}"
    );
    assert_eq!(body["status"], want.as_u16(), "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn bad_input_gets_its_problem_and_stores_nothing() {
    let f = Fixture::new();
    let good = booked("p-1", 1);
    let key = good["event_id"].as_str().unwrap().to_string();
    let bytes = serde_json::to_vec(&good).unwrap();

    // No token, a bad token.
    let (s, h, b) = f.post_raw(None, Some(&key), bytes.clone()).await;
    assert_problem(s, &h, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(h.get("www-authenticate").is_some());
    let (s, h, b) = f
        .post_raw(Some("rbh_wrong"), Some(&key), bytes.clone())
        .await;
    assert_problem(s, &h, &b, StatusCode::UNAUTHORIZED, "unauthorized");

    // Malformed JSON; missing key; key not the event id.
    let (s, h, b) = f
        .post_raw(
            Some(&f.token),
            Some(&key),
            b"{\"schema_version\": 1,".to_vec(),
        )
        .await;
    assert_problem(s, &h, &b, StatusCode::BAD_REQUEST, "malformed-json");
    let (s, h, b) = f.post_raw(Some(&f.token), None, bytes.clone()).await;
    assert_problem(
        s,
        &h,
        &b,
        StatusCode::BAD_REQUEST,
        "missing-idempotency-key",
    );
    let (s, h, b) = f
        .post_raw(Some(&f.token), Some(&uuid(999)), bytes.clone())
        .await;
    assert_problem(
        s,
        &h,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency-key-mismatch",
    );

    // Unknown event type.
    let mut unknown = good.clone();
    unknown["event_type"] = json!("person_teleported");
    let (s, h, b) = f
        .post_raw(
            Some(&f.token),
            Some(&key),
            serde_json::to_vec(&unknown).unwrap(),
        )
        .await;
    assert_problem(
        s,
        &h,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown-event-type",
    );

    // Schema-invalid data: every problem listed, located.
    let mut invalid = good.clone();
    invalid["data"]["booked_on"] = json!("20 Feb 2026");
    invalid["data"]["facility_kind"] = json!("castle");
    let (s, h, b) = f
        .post_raw(
            Some(&f.token),
            Some(&key),
            serde_json::to_vec(&invalid).unwrap(),
        )
        .await;
    assert_problem(s, &h, &b, StatusCode::UNPROCESSABLE_ENTITY, "invalid-event");
    let errors: Vec<&str> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        errors.iter().any(|e| e.starts_with("/data/booked_on")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("/data/facility_kind")),
        "{errors:?}"
    );

    // A token of another facility.
    let (s, h, b) = f
        .post_raw(Some(&f.other_token), Some(&key), bytes.clone())
        .await;
    assert_problem(s, &h, &b, StatusCode::FORBIDDEN, "wrong-facility");

    // Too large.
    let mut large = good.clone();
    large["data"]["padding"] = json!("x".repeat(hub::MAX_BODY_BYTES));
    let (s, h, b) = f
        .post_raw(
            Some(&f.token),
            Some(&key),
            serde_json::to_vec(&large).unwrap(),
        )
        .await;
    assert_problem(
        s,
        &h,
        &b,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
    );

    // A gap: seq 3 first.
    let gap = date_change("p-1", 3, 3, "2026-04-01");
    let (s, h, b) = f
        .post_raw(
            Some(&f.token),
            gap["event_id"].as_str(),
            serde_json::to_vec(&gap).unwrap(),
        )
        .await;
    assert_problem(s, &h, &b, StatusCode::CONFLICT, "seq-gap");
    assert_eq!(b["expected_seq"], 1);

    assert_eq!(f.stored_events(), 0);
    assert_eq!(f.cursor("p-1").await, 0);

    // Now store it, then reuse its key with a different payload.
    let (s, _) = f.post(&good).await;
    assert_eq!(s, StatusCode::CREATED);
    let mut changed = good.clone();
    changed["data"]["unit"] = json!("7C");
    let (s, h, b) = f
        .post_raw(
            Some(&f.token),
            Some(&key),
            serde_json::to_vec(&changed).unwrap(),
        )
        .await;
    assert_problem(
        s,
        &h,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency-key-reused",
    );
    assert_eq!(f.stored_events(), 1);
    let (_, view) = f.get(&f.token, "/v1/persons/p-1").await;
    assert!(view["unit"].is_null(), "{view}");

    // Unknown routes are problems too.
    let (s, b) = f.get(&f.token, "/v1/nothing").await;
    assert_eq!(
        (s, b["type"].as_str()),
        (
            StatusCode::NOT_FOUND,
            Some("urn:reentry-board:problem:not-found")
        )
    );
}

#[tokio::test]
async fn created_then_duplicate_for_the_same_payload() {
    let f = Fixture::new();
    let event = booked("p-2", 10);
    let bytes = serde_json::to_vec(&event).unwrap();
    let key = event["event_id"].as_str().unwrap();
    let (s, _, first) = f.post_raw(Some(&f.token), Some(key), bytes.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["result"], "created");
    let (s, _, again) = f.post_raw(Some(&f.token), Some(key), bytes).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["result"], "duplicate");
    assert_eq!(again["received_at"], first["received_at"]);
    // Same JSON value with other spacing and a quoted key: still a duplicate.
    let pretty = serde_json::to_vec_pretty(&event).unwrap();
    let (s, _, b) = f
        .post_raw(Some(&f.token), Some(&format!("\"{key}\"")), pretty)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(f.stored_events(), 1);
}

#[tokio::test]
async fn person_seq_must_follow_and_the_cursor_says_where_the_hub_is() {
    let f = Fixture::new();
    assert_eq!(f.post(&booked("p-3", 20)).await.0, StatusCode::CREATED);
    assert_eq!(
        f.post(&date_change("p-3", 2, 21, "2026-04-10")).await.0,
        StatusCode::CREATED
    );
    assert_eq!(f.cursor("p-3").await, 2);
    // A different event claiming seq 2.
    let (s, b) = f.post(&date_change("p-3", 2, 22, "2026-04-11")).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(b["type"], "urn:reentry-board:problem:seq-conflict");
    assert_eq!(b["expected_seq"], 3);
    // Skipping 3.
    let (s, b) = f.post(&date_change("p-3", 4, 23, "2026-04-12")).await;
    assert_eq!(
        (s, b["expected_seq"].as_i64()),
        (StatusCode::CONFLICT, Some(3))
    );
    // A resend of an old event is still a duplicate, not a conflict.
    assert_eq!(f.post(&booked("p-3", 20)).await.0, StatusCode::OK);
    assert_eq!(
        f.post(&date_change("p-3", 3, 24, "2026-04-12")).await.0,
        StatusCode::CREATED
    );
    let (_, c) = f.get(&f.token, "/v1/persons/p-3/cursor").await;
    assert_eq!(
        c,
        json!({"person_id": "p-3", "last_seq": 3, "last_event_id": uuid(24)})
    );
    // Unknown person: 0, not 404.
    assert_eq!(f.cursor("p-none").await, 0);
}

/// JSON does not tell 2 from 2.0 and JSON Schema calls both an integer: `person_seq: 2.0` is
/// seq 2 (never 0, which looked like a conflict), `schema_version: 1.0` is version 1, and the
/// same event with 2 is a duplicate of it. A fraction is refused, naming the field.
#[tokio::test]
async fn integral_numbers_are_read_as_integers_never_as_zero() {
    let f = Fixture::new();
    let post_text = |text: String, key: String| {
        let f = &f;
        async move {
            f.post_raw(Some(&f.token), Some(&key), text.into_bytes())
                .await
        }
    };
    let mut first = booked("p-float", 70);
    first["schema_version"] = json!(1.0);
    first["person_seq"] = json!(1.0);
    let text = serde_json::to_string(&first).unwrap();
    assert!(text.contains("\"person_seq\":1.0"), "{text}");
    let (s, _, b) = post_text(text, uuid(70)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["person_seq"], 1);

    let mut second = date_change("p-float", 2, 71, "2026-04-10");
    second["person_seq"] = json!(2.0);
    let (s, _, b) = post_text(serde_json::to_string(&second).unwrap(), uuid(71)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["person_seq"], 2);
    assert_eq!(f.cursor("p-float").await, 2);
    // The same event written with an integer is the same payload.
    let (s, b) = f.post(&date_change("p-float", 2, 71, "2026-04-10")).await;
    assert_eq!(
        (s, b["result"].as_str()),
        (StatusCode::OK, Some("duplicate")),
        "{b}"
    );

    let mut fraction = date_change("p-float", 3, 72, "2026-04-11");
    fraction["person_seq"] = json!(3.5);
    let (s, headers, b) = post_text(serde_json::to_string(&fraction).unwrap(), uuid(72)).await;
    assert_problem(
        s,
        &headers,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-event",
    );
    assert!(
        b["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().starts_with("/person_seq")),
        "{b}"
    );
    let mut version = date_change("p-float", 3, 73, "2026-04-11");
    version["schema_version"] = json!(1.5);
    let (s, headers, b) = post_text(serde_json::to_string(&version).unwrap(), uuid(73)).await;
    assert_problem(
        s,
        &headers,
        &b,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unsupported-schema-version",
    );
    assert_eq!(f.cursor("p-float").await, 2);
}

/// hyper answers headers over its buffer by itself; the answer still carries a problem body.
#[tokio::test]
async fn an_oversized_header_gets_a_problem_body() {
    let f = Fixture::new();
    let big = "x".repeat(1 << 20);
    let response = f
        .client
        .get(f.url("/v1/health"))
        .header("X-Big", big)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    assert_problem(
        status,
        &headers,
        &body,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "header-too-large",
    );
    // The hub goes on.
    let ok = f.client.get(f.url("/v1/health")).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_person_view_follows_release_date_changes() {
    let f = Fixture::new();
    let (s, _) = f.get(&f.token, "/v1/persons/p-4").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    f.post(&booked("p-4", 30)).await;
    f.post(&date_change("p-4", 2, 31, "2026-04-10")).await;
    let (s, view) = f.get(&f.token, "/v1/persons/p-4").await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["release"]["date"], "2026-04-10");
    assert_eq!(view["release"]["certainty"], "confirmed");
    assert_eq!(view["booking_id"], CANARY_BOOKING);
    assert_eq!(view["custody"], "in_custody");
    assert_eq!(view["last_seq"], 2);
    f.post(&date_change("p-4", 3, 32, "2026-03-30")).await;
    let (_, view) = f.get(&f.token, "/v1/persons/p-4").await;
    assert_eq!(view["release"]["date"], "2026-03-30");
    // A Part 2 medication: labelled in the view, never a name.
    let mut med = event_for(
        FACILITY,
        "p-4",
        4,
        33,
        json!({"item": "m-1", "class": "mat_oud", "status": "ready", "days_supply": 30}),
        "medication_status_changed",
    );
    med["sensitivity"] = json!(["part2"]);
    assert_eq!(f.post(&med).await.0, StatusCode::CREATED);
    let (_, view) = f.get(&f.token, "/v1/persons/p-4").await;
    assert_eq!(view["medications"]["m-1"]["sensitivity"], json!(["part2"]));
    assert!(view["medications"]["m-1"].get("name").is_none());
    // Another facility does not see this person.
    let (s, _) = f.get(&f.other_token, "/v1/persons/p-4").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn batch_reports_each_item_and_defers_after_a_failure() {
    let f = Fixture::new();
    f.post(&booked("p-5", 40)).await;
    let mut bad = date_change("p-6", 2, 42, "2026-04-02");
    bad["data"]["certainty"] = json!("maybe");
    let events = vec![
        booked("p-5", 40),                       // duplicate
        date_change("p-5", 2, 41, "2026-04-01"), // created
        booked("p-6", 43),                       // created
        bad,                                     // rejected (p-6 seq 2)
        date_change("p-6", 3, 44, "2026-04-03"), // deferred
        date_change("p-5", 3, 45, "2026-04-04"), // created: another person flows
        json!("not an event"),                   // rejected
    ];
    let response = f
        .client
        .post(f.url("/v1/events:batch"))
        .bearer_auth(&f.token)
        .json(&json!({"events": events}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let results: Vec<(&str, u64)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["result"].as_str().unwrap(), r["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        results,
        vec![
            ("duplicate", 200),
            ("created", 201),
            ("created", 201),
            ("rejected", 422),
            ("deferred", 424),
            ("created", 201),
            ("rejected", 422),
        ],
        "{body}"
    );
    assert_eq!(
        body["results"][3]["problem"]["type"],
        "urn:reentry-board:problem:invalid-event"
    );
    assert_eq!(
        body["results"][4]["problem"]["type"],
        "urn:reentry-board:problem:deferred"
    );
    assert_eq!(
        body["summary"],
        json!({"created": 3, "duplicate": 1, "rejected": 2, "deferred": 1})
    );
    assert_eq!(f.cursor("p-5").await, 3);
    assert_eq!(f.cursor("p-6").await, 1);

    // Over 100 events: 413, nothing stored.
    let many: Vec<Value> = (0..=hub::MAX_BATCH as u64)
        .map(|i| date_change("p-7", i as i64 + 1, 100 + i, "2026-04-01"))
        .collect();
    let response = f
        .client
        .post(f.url("/v1/events:batch"))
        .bearer_auth(&f.token)
        .json(&json!({"events": many}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "urn:reentry-board:problem:batch-too-large");
    assert_eq!(f.cursor("p-7").await, 0);
}

#[tokio::test]
async fn releases_lists_people_in_custody_between_from_and_to() {
    let f = Fixture::new();
    for (i, (person, date)) in [
        ("r-1", "2026-04-01"),
        ("r-2", "2026-04-15"),
        ("r-3", "2026-05-20"),
        ("r-4", "2026-04-10"),
    ]
    .into_iter()
    .enumerate()
    {
        let n = 200 + 10 * i as u64;
        f.post(&booked(person, n)).await;
        assert_eq!(
            f.post(&date_change(person, 2, n + 1, date)).await.0,
            StatusCode::CREATED
        );
    }
    // r-4 was released: no longer listed.
    let released = event_for(
        FACILITY,
        "r-4",
        3,
        299,
        json!({"released_at": "2026-03-02T18:00:00-08:00", "meds_in_hand": true,
               "dme_delivered": true, "notifications_sent": ["mcp"]}),
        "person_released",
    );
    assert_eq!(f.post(&released).await.0, StatusCode::CREATED);
    let (s, body) = f
        .get(
            &f.token,
            &format!("/v1/facilities/{FACILITY}/releases?from=2026-04-01&to=2026-04-30"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let listed: Vec<&str> = body["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["person_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec!["r-1", "r-2"]);
    assert_eq!(
        (body["from"].as_str(), body["to"].as_str()),
        (Some("2026-04-01"), Some("2026-04-30"))
    );
    let (_, body) = f
        .get(
            &f.token,
            &format!("/v1/facilities/{FACILITY}/releases?from=2026-04-02&to=2026-12-31"),
        )
        .await;
    let listed: Vec<&str> = body["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["person_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec!["r-2", "r-3"]);
    let (s, b) = f
        .get(
            &f.token,
            &format!("/v1/facilities/{FACILITY}/releases?from=April"),
        )
        .await;
    assert_eq!(
        (s, b["type"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("urn:reentry-board:problem:bad-request")
        )
    );
    let (s, _) = f
        .get(
            &f.other_token,
            &format!("/v1/facilities/{FACILITY}/releases"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn two_facilities_push_to_one_hub_with_their_own_tokens() {
    let f = Fixture::new();
    // The same opaque person id in two facilities is two people with their own sequences.
    assert_eq!(
        f.post(&booked("shared-id", 300)).await.0,
        StatusCode::CREATED
    );
    let other_event = event_for(
        OTHER,
        "shared-id",
        1,
        300, // even the same event id: keys are per facility
        json!({"booked_on": "2026-01-02", "facility_kind": "youth_facility"}),
        "person_booked",
    );
    let (s, _, b) = f
        .post_raw(
            Some(&f.other_token),
            Some(&uuid(300)),
            serde_json::to_vec(&other_event).unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, mine) = f.get(&f.token, "/v1/persons/shared-id").await;
    let (_, theirs) = f.get(&f.other_token, "/v1/persons/shared-id").await;
    assert_eq!(mine["facility_kind"], "adult_jail");
    assert_eq!(theirs["facility_kind"], "youth_facility");
    assert_eq!(f.stored_events(), 2);
}

/// `args` with `--db ...` (and the password file, on PostgreSQL) of `db` added.
fn run_cli_on(db: &HubDb, args: &[&str]) -> anyhow::Result<String> {
    let db_args = db.args();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(db_args.iter().map(String::as_str));
    run_cli(&all)
}

fn run_cli(args: &[&str]) -> anyhow::Result<String> {
    let cli = Cli::try_parse_from(std::iter::once("reentry-board").chain(args.iter().copied()))?;
    let Some(Command::Hub(hub_args)) = cli.command else {
        panic!("not a hub command: {args:?}");
    };
    let mut out = Vec::new();
    hub::cli::run(&hub_args, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

#[tokio::test]
async fn tokens_are_added_listed_and_revoked_through_the_cli() {
    let f = Fixture::new();
    let db = &f.db;
    let out = run_cli_on(
        db,
        &[
            "hub",
            "token",
            "add",
            "--facility",
            FACILITY,
            "--label",
            "board-01",
        ],
    )
    .unwrap();
    let token = out.lines().next().unwrap().trim().to_string();
    assert!(token.starts_with("rbh_"), "{out}");
    assert!(out.contains("cannot show it again"), "{out}");

    let list = run_cli_on(db, &["hub", "token", "list"]).unwrap();
    assert!(
        list.contains("board-01") && list.contains(FACILITY),
        "{list}"
    );
    assert!(
        !list.contains(&token) && !list.contains(&token[4..]),
        "the list shows a secret:\n{list}"
    );
    let id = list
        .lines()
        .find(|l| l.contains("board-01"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();

    // The database holds only hashes.
    let hashes = f.db.query("SELECT token_sha256 FROM tokens");
    assert!(hashes.contains(&tokens::sha256_hex(token.as_bytes())));
    assert!(!hashes.iter().any(|h| h.contains(&token[4..])));
    if let Some(file) = &f.db.file {
        let raw = std::fs::read(file).unwrap();
        assert!(!raw.windows(token.len()).any(|w| w == token.as_bytes()));
    }

    // The new token works, and stops working once revoked.
    let (s, _, _) = f
        .post_raw(
            Some(&token),
            Some(&uuid(400)),
            serde_json::to_vec(&booked("t-1", 400)).unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let out = run_cli_on(db, &["hub", "token", "revoke", &id]).unwrap();
    assert!(out.contains("revoked"), "{out}");
    let (s, h, b) = f
        .post_raw(
            Some(&token),
            Some(&uuid(401)),
            serde_json::to_vec(&date_change("t-1", 2, 401, "2026-04-01")).unwrap(),
        )
        .await;
    assert_problem(s, &h, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    let list = run_cli_on(db, &["hub", "token", "list"]).unwrap();
    let row = list.lines().find(|l| l.contains("board-01")).unwrap();
    assert_eq!(
        row.split_whitespace().nth(3).map(|r| r != "-"),
        Some(true),
        "{list}"
    );
    // Revoking twice, or an unknown id, is an error a user sees.
    assert!(run_cli_on(db, &["hub", "token", "revoke", &id]).is_err());
    assert!(run_cli_on(db, &["hub", "token", "revoke", "999"]).is_err());
    assert!(run_cli_on(db, &["hub", "token", "add", "--facility", "no spaces"]).is_err());
}

/// A CA, and a server certificate for localhost signed by it.
fn test_ca(dir: &Path) -> (PathBuf, PathBuf, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Test County CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path, ca_cert.pem())
}

#[tokio::test]
async fn tls_with_a_county_ca() {
    log_capture();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca_pem) = test_ca(dir.path());
    let other_dir = tempfile::tempdir().unwrap();
    let (_, _, other_ca_pem) = test_ca(other_dir.path());
    let db = HubDb::new(dir.path());
    let token = db.add_token(FACILITY, "tls");
    let running = hub::spawn(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        db.target.clone(),
        ServeOptions {
            tls: Some(hub::tls_config(&cert, &key).unwrap()),
            contract: Some(hub::ContractLog::new()),
            ..ServeOptions::default()
        },
    )
    .unwrap();
    let url = format!("{}/v1/events", running.url());
    assert!(url.starts_with("https://localhost:"));
    let event = booked("tls-1", 500);

    let trusting = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .resolve("localhost", running.addr())
        .build()
        .unwrap();
    let response = trusting
        .post(&url)
        .bearer_auth(&token)
        .header("Idempotency-Key", uuid(500))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let untrusting = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(other_ca_pem.as_bytes()).unwrap()])
        .resolve("localhost", running.addr())
        .build()
        .unwrap();
    let error = untrusting
        .post(&url)
        .bearer_auth(&token)
        .header("Idempotency-Key", uuid(500))
        .json(&event)
        .send()
        .await
        .unwrap_err();
    assert!(
        error.is_connect() || format!("{error:?}").contains("certificate"),
        "{error:?}"
    );
    running.stop().unwrap();
}

#[tokio::test]
async fn the_description_is_served_without_a_token_and_every_answer_keeps_to_it() {
    let f = Fixture::new();
    let response = f
        .client
        .get(f.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    let served: Value = response.json().await.unwrap();
    assert_eq!(&served, hub::openapi::document().unwrap());
    assert_eq!(served["openapi"], "3.1.0");
    // Self-contained: a generator loads it from this URL alone.
    let text = served.to_string();
    let refs: Vec<&str> = text.split("\"$ref\":\"").skip(1).collect();
    assert!(refs.len() > 50, "{}", refs.len());
    assert!(
        refs.iter().all(|r| r.starts_with("#/")),
        "a reference outside the document"
    );
    assert!(!text.contains(CANARY_NAME) && !text.contains(CANARY_BOOKING));
    // Every described operation is a route of this hub (none is the 404 of unknown paths).
    for (method, path) in hub::contract::Contract::get().unwrap().operations() {
        let url = f.url(
            &path
                .replace("{person_id}", "p-1")
                .replace("{facility_id}", FACILITY),
        );
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = f
            .client
            .request(method.clone(), url)
            .bearer_auth(&f.token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(
            body["detail"], "no such endpoint; see docs/API.md",
            "{method} {path} is described but not served"
        );
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
    }
    f.post(&booked("oa-1", 1100)).await;
    f.get(&f.token, "/v1/persons/oa-1").await;
    let (requests, responses) = f.contract.checked();
    assert!(requests >= 9 && responses >= 9, "{requests} {responses}");
}

#[tokio::test]
async fn a_person_id_that_is_not_an_opaque_id_is_a_400_problem() {
    let f = Fixture::new();
    let long = "x".repeat(65);
    for path in [
        "/v1/persons/a%20b".to_string(),
        "/v1/persons/a%20b/cursor".to_string(),
        format!("/v1/persons/{long}"),
        format!("/v1/persons/{long}/cursor"),
        // Not UTF-8 once decoded.
        "/v1/persons/%FF/cursor".to_string(),
        format!("/v1/facilities/{FACILITY}/releases?from=%FF"),
    ] {
        let response = f
            .client
            .get(f.url(&path))
            .bearer_auth(&f.token)
            .send()
            .await
            .unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_problem(
            status,
            &headers,
            &body,
            StatusCode::BAD_REQUEST,
            "bad-request",
        );
    }
    // The longest id is fine.
    let (s, b) = f
        .get(&f.token, &format!("/v1/persons/{}/cursor", &long[..64]))
        .await;
    assert_eq!((s, b["last_seq"].as_i64()), (StatusCode::OK, Some(0)));
}

#[test]
fn every_event_example_in_api_md_validates_against_its_schema() {
    let text = include_str!("../docs/API.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```json") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    assert!(
        blocks.len() >= 15,
        "found only {} json blocks",
        blocks.len()
    );
    let mut types = BTreeSet::new();
    for block in &blocks {
        let value: Value = serde_json::from_str(block)
            .unwrap_or_else(|e| panic!("a ```json block in API.md is not JSON ({e}):\n{block}"));
        if value.get("event_type").is_some() {
            if let Err(errors) = hub::schemas::validate(&value) {
                panic!("API.md example does not validate: {errors:?}\n{block}");
            }
            types.insert(value["event_type"].as_str().unwrap().to_string());
        }
    }
    let all: BTreeSet<String> = reentry_board::domain::events::EventType::all()
        .map(|t| t.code().to_string())
        .collect();
    assert_eq!(types, all, "API.md needs an example of every event type");
}

#[tokio::test]
async fn injected_503_carries_retry_after_and_stores_nothing() {
    let f = Fixture::new();
    f.faults.fail_next(2, 503, Some(7));
    let event = booked("f-1", 600);
    let key = uuid(600);
    for _ in 0..2 {
        let (s, h, b) = f
            .post_raw(
                Some(&f.token),
                Some(&key),
                serde_json::to_vec(&event).unwrap(),
            )
            .await;
        assert_problem(s, &h, &b, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        assert_eq!(h.get("retry-after").unwrap(), "7");
    }
    assert_eq!(f.stored_events(), 0);
    // Health is never faulted.
    let health = f.client.get(f.url("/v1/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(f.post(&event).await.0, StatusCode::CREATED);
    f.faults.fail_next(1, 429, Some(2));
    let (s, h, _) = f
        .post_raw(
            Some(&f.token),
            Some(&key),
            serde_json::to_vec(&event).unwrap(),
        )
        .await;
    assert_eq!(
        (s, h.get("retry-after").map(|v| v.to_str().unwrap())),
        (StatusCode::TOO_MANY_REQUESTS, Some("2"))
    );
    assert_eq!(f.faults.injected(), 3);
}

#[tokio::test]
async fn unauthorized_until_cleared_and_delays() {
    let f = Fixture::new();
    f.faults.set_unauthorized(true);
    let event = booked("f-2", 700);
    for _ in 0..3 {
        let (s, h, b) = f
            .post_raw(
                Some(&f.token),
                Some(&uuid(700)),
                serde_json::to_vec(&event).unwrap(),
            )
            .await;
        assert_problem(s, &h, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    f.faults.set_unauthorized(false);
    f.faults.set_delay(Some(Duration::from_millis(300)));
    let start = Instant::now();
    assert_eq!(f.post(&event).await.0, StatusCode::CREATED);
    assert!(start.elapsed() >= Duration::from_millis(300));
    f.faults.clear();
    let start = Instant::now();
    assert_eq!(f.post(&event).await.0, StatusCode::OK);
    assert!(start.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn connection_dropped_after_commit_then_the_retry_is_a_duplicate() {
    let f = Fixture::new();
    f.faults.drop_after_commit(1);
    let event = booked("f-3", 800);
    let result = f
        .client
        .post(f.url("/v1/events"))
        .bearer_auth(&f.token)
        .header("Idempotency-Key", uuid(800))
        .json(&event)
        .send()
        .await;
    let error = result.expect_err("the hub should have dropped the connection");
    assert!(!error.is_status(), "{error:?}");
    assert_eq!(f.faults.dropped(), 1);
    // Committed although the client never heard.
    assert_eq!(f.stored_events(), 1);
    let (s, b) = f.post(&event).await;
    assert_eq!(
        (s, b["result"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    assert_eq!(f.stored_events(), 1);
    assert_eq!(f.cursor("f-3").await, 1);
}

#[tokio::test]
async fn graceful_stop_and_restart_on_the_same_port_keeps_the_data() {
    let f = Fixture::new();
    assert_eq!(f.post(&booked("g-1", 900)).await.0, StatusCode::CREATED);
    let Fixture {
        _dir,
        db,
        hub: running,
        token,
        ..
    } = f;
    let addr = running.addr();
    running.stop().unwrap();
    let down = client()
        .get(format!("http://{addr}/v1/health"))
        .send()
        .await;
    assert!(down.is_err(), "the hub still answers after stop");
    let running = hub::spawn(addr, db.target.clone(), ServeOptions::default()).unwrap();
    let response = client()
        .get(format!("{}/v1/persons/g-1/cursor", running.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["last_seq"], 1);
}

#[tokio::test]
async fn access_log_names_routes_and_never_personal_data() {
    let f = Fixture::new();
    let mut med = event_for(
        FACILITY,
        "log-1",
        1,
        1000,
        json!({"item": "m-9", "class": "chronic", "status": "ready", "name": CANARY_DRUG}),
        "medication_status_changed",
    );
    assert_eq!(f.post(&booked("log-1", 999)).await.0, StatusCode::CREATED);
    med["person_seq"] = json!(2);
    assert_eq!(f.post(&med).await.0, StatusCode::CREATED);
    // A rejected one too: problem details must not reach the log either.
    let mut bad = med.clone();
    bad["event_id"] = json!(uuid(1001));
    bad["data"]["class"] = json!("mat_oud");
    assert_eq!(f.post(&bad).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    f.get(&f.token, "/v1/persons/log-1").await;
    let log = String::from_utf8_lossy(&log_capture().lock().unwrap()).to_string();
    assert!(
        log.contains("route=\"/v1/persons/{person_id}\""),
        "no route template in:\n{log}"
    );
    assert!(log.contains(&format!("facility=\"{FACILITY}\"")), "{log}");
    assert!(log.contains("problem=\"invalid-event\""), "{log}");
    for canary in [
        CANARY_NAME,
        CANARY_BOOKING,
        CANARY_DRUG,
        "log-1",
        f.token.as_str(),
    ] {
        assert!(!log.contains(canary), "the log contains {canary}");
    }
    let _ = std::io::stderr().flush();
}

#[test]
fn serve_refuses_bad_arguments_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let db = db.to_str().unwrap();
    // A certificate without its key is a usage error.
    let error = run_cli(&["hub", "--db", db, "--tls-cert", "cert.pem"]).unwrap_err();
    assert!(error.to_string().contains("--tls-key"), "{error}");
    // Unreadable TLS files are named.
    let error = run_cli(&[
        "hub",
        "--db",
        db,
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        "/nonexistent/cert.pem",
        "--tls-key",
        "/nonexistent/key.pem",
    ])
    .unwrap_err();
    assert!(
        format!("{error:#}").contains("/nonexistent/cert.pem"),
        "{error:#}"
    );
    // A board database (another application id) is refused.
    let board = dir.path().join("board.db");
    let conn = rusqlite::Connection::open(&board).unwrap();
    conn.execute_batch("PRAGMA application_id = 7; CREATE TABLE persons (id);")
        .unwrap();
    drop(conn);
    let error = run_cli(&["hub", "token", "list", "--db", board.to_str().unwrap()]).unwrap_err();
    assert!(
        format!("{error:#}").contains("not a hub database"),
        "{error:#}"
    );
    // Help is there for every hub command.
    for args in [&["hub", "--help"][..], &["hub", "token", "add", "--help"]] {
        let error =
            Cli::try_parse_from(std::iter::once("reentry-board").chain(args.iter().copied()))
                .unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::DisplayHelp);
    }
}

#[tokio::test]
async fn migrate_and_check_report_the_database_on_either_backend() {
    let f = Fixture::new();
    assert_eq!(f.post(&booked("chk-1", 600)).await.0, StatusCode::CREATED);
    // Both backends are at the same version: the one this build's migrations end at.
    let version = reentry_board::hub::store::postgres::SCHEMA_VERSION;
    let out = run_cli_on(&f.db, &["hub", "migrate"]).unwrap();
    assert!(
        out.contains(&format!("hub schema version {version}")),
        "{out}"
    );
    let out = run_cli_on(&f.db, &["hub", "check"]).unwrap();
    for line in [
        "answers".to_string(),
        format!("schema: version {version} (this reentry-board knows {version})"),
        "tokens: 2 (2 active)".to_string(),
        "people: 1".to_string(),
        "events: 1".to_string(),
    ] {
        assert!(out.contains(&line), "{line}: {out}");
    }
    // The health check asks the database too.
    let (status, body) = f.get(&f.token, "/v1/health").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["database"], "ok");
}
