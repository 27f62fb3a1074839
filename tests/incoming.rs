//! The receiving side over real HTTP (issue #17): reader tokens of a plan, an ECM provider and a
//! county read `GET /v1/incoming` from a hub fed by two facilities through the real event
//! endpoint. Runs again on PostgreSQL as `incoming_pg` (tests/support/hub_db.rs).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use clap::Parser as _;
use reentry_board::cli::{Cli, Command};
use reentry_board::hub::{self, Faults, RunningHub};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::contract::HubContract;
use support::hub_db::{Backend, HubDb, backend};

const FAC_A: &str = "alameda-jail";
const FAC_B: &str = "fresno-jail";
const CANARY_DRUG: &str = "Canarystatin";
const CANARY_BOOKING: &str = "B-CANARY-17";
const CANARY_TEXT: &str = "canary-barrier-text";
const CANARY_PHONE: &str = "555-0199";
const WINDOW: &str = "from=2026-03-30&to=2026-04-29";

fn run_cli(db: &HubDb, args: &[&str]) -> anyhow::Result<String> {
    let db_args = db.args();
    let all = std::iter::once("reentry-board")
        .chain(args.iter().copied())
        .chain(db_args.iter().map(String::as_str));
    let cli = Cli::try_parse_from(all)?;
    let Some(Command::Hub(hub_args)) = cli.command else {
        panic!("not a hub command: {args:?}");
    };
    let mut out = Vec::new();
    hub::cli::run(&hub_args, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

/// The secret on the first line of `hub token add`.
fn token(db: &HubDb, args: &[&str]) -> String {
    let mut all = vec!["hub", "token", "add"];
    all.extend(args);
    let out = run_cli(db, &all).unwrap();
    out.lines().next().unwrap().to_string()
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: HubDb,
    hub: RunningHub,
    client: reqwest::Client,
    fac_a: String,
    fac_b: String,
    n: std::cell::Cell<u64>,
    contract: HubContract,
}

impl Fixture {
    fn new() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let db = HubDb::new(dir.path());
        let fac_a = token(&db, &["--facility", FAC_A, "--in-county", "Alameda"]);
        let fac_b = token(&db, &["--facility", FAC_B, "--in-county", "Fresno"]);
        let hub = hub::spawn_for_test(db.target.clone(), Faults::new()).unwrap();
        let contract = HubContract::responses();
        contract.watch(&hub);
        Self {
            _dir: dir,
            db,
            hub,
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            fac_a,
            fac_b,
            n: std::cell::Cell::new(0),
            contract,
        }
    }

    fn reader(&self, args: &[&str]) -> String {
        token(&self.db, args)
    }

    /// Sends the events of one person (seq from `first_seq`) with the facility's token.
    async fn send(&self, facility: &str, person: &str, first_seq: i64, events: &[(&str, Value)]) {
        let token = if facility == FAC_A {
            &self.fac_a
        } else {
            &self.fac_b
        };
        let batch: Vec<Value> = events
            .iter()
            .enumerate()
            .map(|(i, (event_type, data))| {
                self.n.set(self.n.get() + 1);
                let part2 = *event_type == "medication_status_changed"
                    && data["class"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("mat_"));
                json!({
                    "schema_version": 1,
                    "event_id": format!("01963b6e-0000-7000-8000-{:012x}", self.n.get()),
                    "event_type": event_type,
                    "occurred_at": "2026-03-01T09:30:12-08:00",
                    "person_id": person,
                    "person_seq": first_seq + i as i64,
                    "subject": {"booking_id": CANARY_BOOKING},
                    "source": {"facility_id": facility, "app_version": "0.1.0"},
                    "actor": {"user": "jdoe", "role": "records"},
                    "sensitivity": if part2 { json!(["part2"]) } else { json!([]) },
                    "data": data,
                })
            })
            .collect();
        let response = self
            .client
            .post(format!("{}/v1/events:batch", self.hub.url()))
            .bearer_auth(token)
            .json(&json!({ "events": batch }))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["summary"]["created"].as_u64().unwrap() as usize,
            events.len(),
            "{body}"
        );
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.hub.url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// The person ids of one answer, in order.
    async fn incoming(&self, token: &str, query: &str) -> (Vec<String>, Value) {
        let (status, body) = self.get(token, &format!("/v1/incoming?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let ids = body["incoming"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["person_id"].as_str().unwrap().to_string())
            .collect();
        (ids, body)
    }
}

fn booked(release: &str, certainty: &str) -> (&'static str, Value) {
    (
        "person_booked",
        json!({"booked_on": "2026-02-20", "facility_kind": "adult_jail", "unit": "4B-canary",
               "name": {"last": "SYNTHETIC", "first": "Test"},
               "release": {"date": release, "certainty": certainty}}),
    )
}

fn plan(name: &str) -> (&'static str, Value) {
    (
        "medi_cal_status_changed",
        json!({"status": "active", "mcp": name}),
    )
}

/// Two facilities in two counties, people of two plans, one in and some out of the window.
async fn seed(f: &Fixture) {
    f.send(
        FAC_A,
        "a1",
        1,
        &[
            booked("2026-04-03", "confirmed"),
            plan("Plan A"),
            (
                "care_team_assigned",
                json!({"role": "ecm_provider", "assignee": "Worker Synthetic",
                       "organisation": "ECM One", "phone": CANARY_PHONE}),
            ),
            (
                "care_team_assigned",
                json!({"role": "pre_release_cm", "assignee": "CM Synthetic",
                       "organisation": "Plan A Care", "phone": CANARY_PHONE}),
            ),
            (
                "medication_status_changed",
                json!({"item": "m-1", "class": "chronic", "status": "given_in_hand",
                       "name": CANARY_DRUG, "days_supply": 30}),
            ),
            (
                "medication_status_changed",
                json!({"item": "m-2", "class": "mat_oud", "status": "to_order"}),
            ),
            (
                "dme_status_changed",
                json!({"item": "d-1", "kind": "walker", "status": "ordered"}),
            ),
            (
                "milestone_changed",
                json!({"code": "warm_handoff", "state": "blocked", "at": "2026-03-01",
                       "barrier": "provider_unavailable", "barrier_text": CANARY_TEXT}),
            ),
            (
                "milestone_changed",
                json!({"code": "care_manager", "state": "done", "at": "2026-03-01"}),
            ),
        ],
    )
    .await;
    // The same plan, typed differently at another facility.
    f.send(
        FAC_B,
        "a2",
        1,
        &[booked("2026-04-01", "estimated"), plan("  plan a ")],
    )
    .await;
    f.send(
        FAC_A,
        "b1",
        1,
        &[booked("2026-04-02", "confirmed"), plan("Plan B")],
    )
    .await;
    // Plan A, but outside the window; and one already released.
    f.send(
        FAC_A,
        "x1",
        1,
        &[booked("2026-06-01", "confirmed"), plan("Plan A")],
    )
    .await;
    f.send(
        FAC_A,
        "r1",
        1,
        &[
            booked("2026-04-05", "confirmed"),
            plan("Plan A"),
            (
                "person_released",
                json!({"released_at": "2026-03-02T10:00:00-08:00", "meds_in_hand": true,
                       "dme_delivered": true, "notifications_sent": ["mcp"]}),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn each_reader_sees_only_its_scope_with_the_minimum_fields() {
    let f = Fixture::new();
    seed(&f).await;
    let plan_a = f.reader(&["--plan", "Plan A"]);
    let plan_b = f.reader(&["--plan", "Plan B"]);
    let alameda = f.reader(&["--county", "alameda"]);
    let fresno = f.reader(&["--county", "Fresno"]);
    let ecm = f.reader(&["--ecm", "ECM One"]);

    let (ids, body) = f.incoming(&plan_a, WINDOW).await;
    assert_eq!(ids, ["a2", "a1"], "soonest first, from both facilities");
    assert_eq!(body["scope"], json!({"kind": "plan", "name": "Plan A"}));
    assert_eq!(f.incoming(&plan_b, WINDOW).await.0, ["b1"]);
    assert_eq!(f.incoming(&alameda, WINDOW).await.0, ["b1", "a1"]);
    assert_eq!(f.incoming(&fresno, WINDOW).await.0, ["a2"]);
    assert_eq!(f.incoming(&ecm, WINDOW).await.0, ["a1"]);

    // The minimum: what a plan needs to get ready, and nothing of the record besides.
    let a1 = body["incoming"][1].clone();
    assert_eq!(a1["facility_id"], FAC_A);
    assert_eq!(a1["county"], "Alameda");
    assert_eq!(
        a1["release"],
        json!({"date": "2026-04-03", "certainty": "confirmed"})
    );
    assert_eq!(a1["ecm_provider"], "ECM One");
    let readiness = &a1["readiness"];
    // The Part 2 item is left out whole: one medication, ready.
    assert_eq!(
        readiness["supply_30_day"],
        json!({"state": "ready", "items": 1, "ready": 1})
    );
    assert_eq!(
        readiness["dme"],
        json!({"state": "in_progress", "items": 1, "ready": 0})
    );
    assert_eq!(
        readiness["care_manager"],
        json!({"assigned": true, "organisation": "Plan A Care", "milestone": "done"})
    );
    assert_eq!(readiness["warm_handoff"], "blocked");
    assert_eq!(readiness["medi_cal"], "active");
    assert_eq!(readiness["notifications"], Value::Null);
    let text = body.to_string();
    for secret in [
        CANARY_DRUG,
        CANARY_BOOKING,
        CANARY_TEXT,
        CANARY_PHONE,
        "mat_oud",
        "part2",
        "4B-canary",
        "Worker Synthetic",
        "m-2",
    ] {
        assert!(
            !text.contains(secret),
            "`{secret}` reached a reader: {text}"
        );
    }

    // A person whose plan changes moves from one reader to the other.
    f.send(FAC_A, "b1", 3, &[plan("Plan A")]).await;
    assert_eq!(f.incoming(&plan_a, WINDOW).await.0, ["a2", "b1", "a1"]);
    assert!(f.incoming(&plan_b, WINDOW).await.0.is_empty());
}

#[tokio::test]
async fn a_reader_cannot_send_and_a_facility_cannot_read_incoming() {
    let f = Fixture::new();
    seed(&f).await;
    let plan_a = f.reader(&["--plan", "Plan A"]);
    let before = f.db.count_events();
    let response = f
        .client
        .post(format!("{}/v1/events:batch", f.hub.url()))
        .bearer_auth(&plan_a)
        .json(&json!({"events": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "urn:reentry-board:problem:wrong-token-kind");
    for path in ["/v1/persons/a1", "/v1/persons/a1/cursor"] {
        let (status, body) = f.get(&plan_a, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(body["type"], "urn:reentry-board:problem:wrong-token-kind");
    }
    assert_eq!(f.db.count_events(), before);
    // Nor through /fhir (served on SQLite only; PostgreSQL hubs have no /fhir).
    let response = f
        .client
        .post(format!("{}/fhir", f.hub.url()))
        .bearer_auth(&plan_a)
        .header("content-type", "application/fhir+json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let expected = match backend() {
        Backend::Sqlite => StatusCode::FORBIDDEN,
        Backend::Postgres => StatusCode::NOT_FOUND,
    };
    assert_eq!(response.status(), expected);
    let (status, body) = f.get(&f.fac_a, "/v1/incoming").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["type"], "urn:reentry-board:problem:wrong-token-kind");
    let (status, _) = f.get("rbh_unknown", "/v1/incoming").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for bad in [
        "limit=0",
        "limit=501",
        "since=-1",
        "cursor=nonsense",
        "from=2026-04-10&to=2026-04-01",
    ] {
        let (status, body) = f.get(&plan_a, &format!("/v1/incoming?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    // A revoked reader is out at once.
    let list = run_cli(&f.db, &["hub", "token", "list"]).unwrap();
    let line = list.lines().find(|l| l.contains("plan:Plan A")).unwrap();
    let id = line.split_whitespace().next().unwrap();
    run_cli(&f.db, &["hub", "token", "revoke", id]).unwrap();
    let (status, _) = f.get(&plan_a, "/v1/incoming").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Exactly one owner per token.
    assert!(
        run_cli(
            &f.db,
            &["hub", "token", "add", "--plan", "X", "--county", "Y"]
        )
        .is_err()
    );
    assert!(run_cli(&f.db, &["hub", "token", "add"]).is_err());
    assert!(run_cli(&f.db, &["hub", "token", "add", "--plan", "  "]).is_err());
    assert!(
        run_cli(
            &f.db,
            &["hub", "token", "add", "--ecm", "E", "--in-county", "Y"]
        )
        .is_err()
    );
    f.contract.assert_kept();
}

#[tokio::test]
async fn pages_cover_everyone_once_and_since_returns_only_changes() {
    let f = Fixture::new();
    let days = [
        "2026-04-04",
        "2026-04-01",
        "2026-04-01",
        "2026-04-03",
        "2026-04-02",
    ];
    for (i, day) in days.iter().enumerate() {
        let facility = if i % 2 == 0 { FAC_A } else { FAC_B };
        f.send(
            facility,
            &format!("p{i}"),
            1,
            &[booked(day, "confirmed"), plan("Plan A")],
        )
        .await;
    }
    let plan_a = f.reader(&["--plan", "Plan A"]);
    let (all, whole) = f.incoming(&plan_a, WINDOW).await;
    assert_eq!(all, ["p2", "p1", "p4", "p3", "p0"]);
    assert_eq!(whole["next_cursor"], Value::Null);

    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("{WINDOW}&limit=2&cursor={c}"),
            None => format!("{WINDOW}&limit=2"),
        };
        let (ids, body) = f.incoming(&plan_a, &query).await;
        assert!(ids.len() <= 2);
        paged.extend(ids);
        pages += 1;
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!((paged, pages), (all.clone(), 3));

    // Nothing changed: nothing since. One change: that person only.
    let since = whole["next_since"].as_i64().unwrap();
    assert!(since > 0);
    let (ids, same) = f
        .incoming(&plan_a, &format!("{WINDOW}&since={since}"))
        .await;
    assert!(ids.is_empty(), "{same}");
    assert_eq!(same["next_since"], since);
    f.send(
        FAC_B,
        "p3",
        3,
        &[(
            "dme_status_changed",
            json!({"item": "d-9", "kind": "walker", "status": "delivered"}),
        )],
    )
    .await;
    let (ids, changed) = f
        .incoming(&plan_a, &format!("{WINDOW}&since={since}"))
        .await;
    assert_eq!(ids, ["p3"]);
    assert_eq!(changed["incoming"][0]["readiness"]["dme"]["state"], "ready");
    let later = changed["next_since"].as_i64().unwrap();
    assert!(later > since);
    assert!(
        f.incoming(&plan_a, &format!("{WINDOW}&since={later}"))
            .await
            .0
            .is_empty()
    );
    f.contract.assert_kept();
}

impl Fixture {
    async fn acknowledge(
        &self,
        token: &str,
        facility: &str,
        person: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!(
                "{}/v1/incoming/{facility}/{person}/acknowledgements",
                self.hub.url()
            ))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn an_acknowledgement_is_recorded_once_and_the_facility_reads_it() {
    let f = Fixture::new();
    seed(&f).await;
    let plan_a = f.reader(&["--plan", "Plan A"]);
    let plan_b = f.reader(&["--plan", "Plan B"]);
    let ack = json!({"acknowledgement_id": "ack-1", "by": "Coordinator Synthetic",
                     "acknowledged_at": "2026-03-31T10:15:00-07:00"});

    let (status, first) = f.acknowledge(&plan_a, FAC_A, "a1", ack.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = f.acknowledge(&plan_a, FAC_A, "a1", ack.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["result"], "duplicate");
    assert_eq!(again["received_at"], first["received_at"]);
    let mut other = ack.clone();
    other["by"] = json!("Someone Else");
    let (status, body) = f.acknowledge(&plan_a, FAC_A, "a1", other).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Out of scope and unknown look the same: 404, so ids cannot be probed.
    let (status, out_of_scope) = f.acknowledge(&plan_b, FAC_A, "a1", ack.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{out_of_scope}");
    let (status, unknown) = f.acknowledge(&plan_b, FAC_A, "nobody", ack.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(out_of_scope["detail"], unknown["detail"]);
    let (status, _) = f.acknowledge(&f.fac_a, FAC_A, "a1", ack.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = f
        .acknowledge(&plan_a, FAC_A, "a1", json!({"acknowledgement_id": "ack-2"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // The facility reads it once, with who acknowledged for which receiver.
    let (status, list) = f.get(&f.fac_a, "/v1/acknowledgements").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["acknowledgements"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["person_id"], "a1");
    assert_eq!(items[0]["by"], "Coordinator Synthetic");
    assert_eq!(
        items[0]["recipient"],
        json!({"kind": "plan", "name": "Plan A"})
    );
    let since = list["next_since"].as_i64().unwrap();
    let (_, after) = f
        .get(&f.fac_a, &format!("/v1/acknowledgements?since={since}"))
        .await;
    assert_eq!(after["acknowledgements"], json!([]));
    assert_eq!(after["next_since"], since);
    // Another facility sees none of it; a reader cannot read the facility's list.
    let (_, other_facility) = f.get(&f.fac_b, "/v1/acknowledgements").await;
    assert_eq!(other_facility["acknowledgements"], json!([]));
    let (status, _) = f.get(&plan_a, "/v1/acknowledgements").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A second acknowledgement (another receiver) comes after the cursor.
    let ecm = f.reader(&["--ecm", "ecm one"]);
    let (status, _) = f
        .acknowledge(
            &ecm,
            FAC_A,
            "a1",
            json!({"acknowledgement_id": "ack-9", "by": "ECM Lead"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, after) = f
        .get(
            &f.fac_a,
            &format!("/v1/acknowledgements?since={since}&limit=1"),
        )
        .await;
    assert_eq!(after["acknowledgements"][0]["recipient"]["kind"], "ecm");
    assert_eq!(after["more"], false);
    f.contract.assert_kept();
}

#[tokio::test]
async fn every_person_shown_to_a_reader_is_in_the_hub_audit() {
    let f = Fixture::new();
    seed(&f).await;
    let plan_a = f.reader(&["--plan", "Plan A"]);
    let list = run_cli(&f.db, &["hub", "token", "list"]).unwrap();
    let id = list
        .lines()
        .find(|l| l.contains("plan:Plan A"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    assert_eq!(f.incoming(&plan_a, WINDOW).await.0, ["a2", "a1"]);
    let (status, _) = f
        .acknowledge(
            &plan_a,
            FAC_A,
            "a1",
            json!({"acknowledgement_id": "ack-a", "by": "Coordinator Synthetic"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Refused: nothing was shown, nothing recorded.
    let plan_b = f.reader(&["--plan", "Plan B"]);
    let (status, _) = f
        .acknowledge(
            &plan_b,
            FAC_A,
            "a1",
            json!({"acknowledgement_id": "x", "by": "B"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let today = chrono::Utc::now().date_naive().to_string();
    let out = run_cli(
        &f.db,
        &[
            "hub", "audit", "--reader", &id, "--from", &today, "--to", &today,
        ],
    )
    .unwrap();
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let seen: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[1], r[2], r[3])).collect();
    assert_eq!(
        seen,
        [
            ("incoming", FAC_B, "a2"),
            ("incoming", FAC_A, "a1"),
            ("acknowledgement", FAC_A, "a1"),
        ],
        "{out}"
    );
    assert!(
        out.starts_with(&format!("# token {id} (plan:Plan A): 3 read(s)")),
        "{out}"
    );
    // Names, plans and the rest of the record are not in the audit: ids and times only.
    assert!(
        !out.contains("SYNTHETIC") && !out.contains(CANARY_BOOKING),
        "{out}"
    );
    // Another day has none; an unknown token is an error.
    let out = run_cli(
        &f.db,
        &[
            "hub",
            "audit",
            "--reader",
            &id,
            "--from",
            "2020-01-01",
            "--to",
            "2020-01-02",
        ],
    )
    .unwrap();
    assert!(out.contains(": 0 read(s)"), "{out}");
    assert!(run_cli(&f.db, &["hub", "audit", "--reader", "999"]).is_err());
}
