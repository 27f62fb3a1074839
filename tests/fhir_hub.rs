//! The hub's `/fhir` endpoint over real HTTP on loopback: transactions with conditional
//! updates, read and search, OperationOutcome on every error, the facility's token.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use reentry_board::hub::{self, ServeOptions, tokens};
use serde_json::{Value, json};

struct Hub {
    _dir: tempfile::TempDir,
    hub: hub::RunningHub,
    token: String,
    other_token: String,
    http: reqwest::Client,
}

impl Hub {
    fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hub.db");
        let conn = hub::db::open(&db).unwrap();
        let (_, token) = tokens::add(&conn, "county-a", "fhir tests").unwrap();
        let (_, other_token) = tokens::add(&conn, "county-b", "fhir tests").unwrap();
        drop(conn);
        let hub = hub::spawn(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            db,
            ServeOptions::default(),
        )
        .unwrap();
        Self {
            _dir: dir,
            hub,
            token,
            other_token,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/fhir{path}", self.hub.url())
    }

    async fn post(&self, token: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(""))
            .bearer_auth(token)
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert_eq!(ct, "application/fhir+json");
        (status, r.json().await.unwrap())
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

fn patient(name: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:reentry-board:person", "value": "p-1"}],
        "name": [{"family": name}],
    })
}

/// A Patient and an Encounter that refers to it by its full URL, both conditional updates.
fn transaction(name: &str) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:5b0c51a8-0000-4000-8000-000000000001",
                "resource": patient(name),
                "request": {"method": "PUT", "url": "Patient?identifier=urn:reentry-board:person%7Cp-1"},
            },
            {
                "fullUrl": "urn:uuid:5b0c51a8-0000-4000-8000-000000000002",
                "resource": {
                    "resourceType": "Encounter",
                    "identifier": [{"system": "urn:reentry-board:booking", "value": "p-1"}],
                    "status": "in-progress",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "FLD"},
                    "subject": {"reference": "urn:uuid:5b0c51a8-0000-4000-8000-000000000001"},
                },
                "request": {"method": "PUT", "url": "Encounter?identifier=urn:reentry-board:booking|p-1"},
            },
        ],
    })
}

fn issue(outcome: &Value) -> (&str, &str) {
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    (
        outcome["issue"][0]["code"].as_str().unwrap(),
        outcome["issue"][0]["diagnostics"].as_str().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_updates_resolve_refer_and_repeat_without_change() {
    let hub = Hub::start();
    let (status, first) = hub.post(&hub.token, &transaction("Garcia")).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["type"], "transaction-response");
    assert_eq!(first["entry"][0]["response"]["status"], "201 Created");
    let location = first["entry"][0]["response"]["location"].as_str().unwrap();
    let patient_ref = location.split("/_history").next().unwrap().to_string();

    // The Encounter's reference now names the Patient the hub resolved.
    let (_, found) = hub
        .get(&hub.token, &format!("/Encounter?subject={patient_ref}"))
        .await;
    assert_eq!(found["type"], "searchset");
    assert_eq!(found["total"], 1);
    assert_eq!(
        found["entry"][0]["resource"]["subject"]["reference"],
        patient_ref.as_str()
    );

    // The same transaction again: nothing changes, not even the version or the time.
    let (status, again) = hub.post(&hub.token, &transaction("Garcia")).await;
    assert_eq!(status, 200);
    assert_eq!(again["entry"][0]["response"]["status"], "200 OK");
    assert_eq!(
        again["entry"][0]["response"]["etag"],
        first["entry"][0]["response"]["etag"]
    );
    assert_eq!(
        again["entry"][1]["response"]["lastModified"],
        first["entry"][1]["response"]["lastModified"]
    );

    // A change updates the same resource: one Patient, version 2.
    let (_, changed) = hub.post(&hub.token, &transaction("García")).await;
    assert_eq!(changed["entry"][0]["response"]["etag"], "W/\"2\"");
    let (_, search) = hub
        .get(
            &hub.token,
            "/Patient?identifier=urn:reentry-board:person%7Cp-1",
        )
        .await;
    assert_eq!(search["total"], 1);
    let read = &search["entry"][0]["resource"];
    assert_eq!(read["name"][0]["family"], "García");
    assert_eq!(read["meta"]["versionId"], "2");
    let (status, by_id) = hub.get(&hub.token, &format!("/{patient_ref}")).await;
    assert_eq!(status, 200);
    assert_eq!(&by_id, read);

    // Another facility's token sees none of it.
    let (_, theirs) = hub
        .get(
            &hub.other_token,
            "/Patient?identifier=urn:reentry-board:person%7Cp-1",
        )
        .await;
    assert_eq!(theirs["total"], 0);
    let (status, outcome) = hub.get(&hub.other_token, &format!("/{patient_ref}")).await;
    assert_eq!(status, 404);
    assert_eq!(issue(&outcome).0, "not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_operation_outcomes_and_leave_nothing_behind() {
    let hub = Hub::start();
    let (status, outcome) = hub.post("not-a-token", &transaction("Garcia")).await;
    assert_eq!(status, 401);
    assert_eq!(issue(&outcome).0, "login");

    let (status, outcome) = hub
        .post(
            &hub.token,
            &json!({"resourceType": "Bundle", "type": "batch"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(issue(&outcome).0, "not-supported");

    // A reference to nothing in the transaction fails the whole transaction: the Patient of
    // the first entry is not stored either.
    let mut broken = transaction("Garcia");
    broken["entry"][1]["resource"]["subject"]["reference"] = json!("urn:uuid:0000");
    let (status, outcome) = hub.post(&hub.token, &broken).await;
    assert_eq!(status, 400);
    assert_eq!(
        outcome["issue"][0]["expression"][0],
        "Bundle.entry[1].resource"
    );
    let (_, search) = hub
        .get(
            &hub.token,
            "/Patient?identifier=urn:reentry-board:person%7Cp-1",
        )
        .await;
    assert_eq!(search["total"], 0, "all or nothing");

    let mut wrong_type = transaction("Garcia");
    wrong_type["entry"][0]["request"]["url"] = json!("Encounter?identifier=x%7Cy");
    let (status, outcome) = hub.post(&hub.token, &wrong_type).await;
    assert_eq!(status, 400);
    assert_eq!(
        outcome["issue"][0]["expression"][0],
        "Bundle.entry[0].request.url"
    );

    // Two resources with the same identifier make a conditional update ambiguous: 412.
    for (n, id) in ["a", "b"].iter().enumerate() {
        let create = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{
            "resource": patient("Twin"),
            "request": {"method": "PUT", "url": format!("Patient/{id}")},
        }]});
        let (status, _) = hub.post(&hub.token, &create).await;
        assert_eq!(status, 200, "twin {n}");
    }
    let (status, outcome) = hub.post(&hub.token, &transaction("Garcia")).await;
    assert_eq!(status, 412);
    assert_eq!(issue(&outcome).0, "multiple-matches");

    let (status, outcome) = hub.get(&hub.token, "/Patient/no-such-id").await;
    assert_eq!(status, 404);
    assert_eq!(issue(&outcome).0, "not-found");
    let (status, _) = hub.get(&hub.token, "/Patient?name=Twin").await;
    assert_eq!(
        status, 200,
        "unknown top-level names match nothing rather than fail"
    );

    let r = reqwest::get(hub.url("/metadata")).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let capability: Value = r.json().await.unwrap();
    assert_eq!(capability["fhirVersion"], "4.0.1");
}
