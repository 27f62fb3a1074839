//! The round trip: the demo roster pushed by the real sender (`sync --format fhir`) to the real
//! hub's `/fhir` on loopback, read back over HTTP and compared field by field with the board;
//! every resource read back passes the independent validator; Part 2 data absent where consent
//! does not cover the recipient; the same transactions again change nothing; a refusal's
//! OperationOutcome is what `sync status` shows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use reentry_board::clock::SystemClock;
use reentry_board::domain::{
    Certainty, ChangeReason, ConsentScope, CustodyStatus, PersonRecord, Role, Rules, readiness,
};
use reentry_board::hub::{self, ServeOptions, tokens};
use reentry_board::store::{Actor, ChangeReleaseDate, Store};
use serde_json::Value;
use support::fhir_validator::{RESOURCE_TYPES, Validator, cmd, demo_db};

const FACILITY: &str = "demo-facility";
const TYPES: &[&str] = RESOURCE_TYPES;

struct World {
    home: tempfile::TempDir,
    db: PathBuf,
    token_file: PathBuf,
    token: String,
    hub: hub::RunningHub,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

impl World {
    fn new() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let home = tempfile::tempdir().unwrap();
        let db = demo_db(home.path(), &[]);
        let hub_db = home.path().join("hub.db");
        let conn = hub::db::open(&hub_db).unwrap();
        let (_, token) = tokens::add(&conn, FACILITY, "fhir round trip").unwrap();
        drop(conn);
        let token_file = home.path().join("token");
        write_private(&token_file, &format!("{token}\n"));
        let hub = hub::spawn(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            hub_db,
            ServeOptions::default(),
        )
        .unwrap();
        Self {
            home,
            db,
            token_file,
            token,
            hub,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            http: reqwest::Client::new(),
        }
    }

    fn base(&self) -> String {
        format!("{}/fhir", self.hub.url())
    }

    /// `reentry-board sync --format fhir --once`, as a cron job runs it: its exit code.
    fn sync_once(&self, token_file: &Path) -> Option<i32> {
        cmd(self.home.path())
            .args(["sync", "--db"])
            .arg(&self.db)
            .args([
                "--format",
                "fhir",
                "--url",
                &self.base(),
                "--once",
                "--token-file",
            ])
            .arg(token_file)
            .assert()
            .get_output()
            .status
            .code()
    }

    fn status(&self) -> String {
        let out = cmd(self.home.path())
            .args(["sync", "--db"])
            .arg(&self.db)
            .arg("status")
            .assert()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    }

    fn get(&self, path: &str) -> Value {
        self.runtime.block_on(async {
            let r = self
                .http
                .get(format!("{}/{path}", self.base()))
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "GET {path}");
            r.json().await.unwrap()
        })
    }

    fn search(&self, path: &str) -> Vec<Value> {
        let bundle = self.get(path);
        assert_eq!(bundle["type"], "searchset");
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"].clone())
            .collect()
    }

    /// Every resource the hub holds for the facility: `Type/id` → (versionId, lastUpdated).
    fn versions(&self) -> BTreeMap<String, (String, String)> {
        let mut out = BTreeMap::new();
        for t in TYPES {
            for r in self.search(t) {
                out.insert(
                    format!("{t}/{}", r["id"].as_str().unwrap()),
                    (
                        r["meta"]["versionId"].as_str().unwrap().to_string(),
                        r["meta"]["lastUpdated"].as_str().unwrap().to_string(),
                    ),
                );
            }
        }
        out
    }

    fn records(&self) -> Vec<PersonRecord> {
        Store::open(&self.db, Arc::new(SystemClock))
            .unwrap()
            .load_all_records()
            .unwrap()
    }
}

fn board_status(resource: &Value) -> Option<String> {
    resource["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"].as_str().unwrap_or("").ends_with("/board-status"))
        .and_then(|e| e["valueCoding"]["code"].as_str().map(String::from))
}

fn extension_code(resource: &Value, name: &str) -> Option<String> {
    resource["extension"]
        .as_array()?
        .iter()
        .find(|e| {
            e["url"]
                .as_str()
                .unwrap_or("")
                .ends_with(&format!("/{name}"))
        })
        .and_then(|e| e["valueCoding"]["code"].as_str().map(String::from))
}

fn text_of(v: &Value, path: &[&str]) -> String {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// docs/FHIR.md's Part 2 rule for a health plan, written out again.
fn part2_goes_to_plan(r: &PersonRecord, today: NaiveDate) -> bool {
    let c = &r.consent;
    c.part2
        && c.valid_on(today, r.person.youth)
        && matches!(
            c.scope,
            Some(ConsentScope::MultiAgency | ConsentScope::IncludingProbation)
        )
}

/// One person's resources at the hub, compared with the board's record.
fn compare(w: &World, r: &PersonRecord, today: NaiveDate, rules: &Rules) -> Vec<Value> {
    let who = &r.person.booking_id;
    let patients = w.search(&format!(
        "Patient?identifier=urn:reentry-board:person%7C{}",
        r.person.id
    ));
    assert_eq!(patients.len(), 1, "{who}: one Patient");
    let patient = &patients[0];
    let pref = format!("Patient/{}", patient["id"].as_str().unwrap());
    let booking = patient["identifier"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"]["text"] == "Booking number")
        .unwrap();
    assert_eq!(booking["value"], who.as_str());
    assert_eq!(patient["name"][0]["family"], r.person.name.last.as_str());
    assert_eq!(
        patient["name"][0]["given"][0].as_str().unwrap_or(""),
        r.person.name.first
    );
    assert_eq!(
        patient["birthDate"].as_str().map(String::from),
        r.person.date_of_birth.map(|d| d.to_string())
    );

    let encounters = w.search(&format!("Encounter?subject={pref}"));
    assert_eq!(encounters.len(), 1, "{who}");
    let enc = &encounters[0];
    let eref = format!("Encounter/{}", enc["id"].as_str().unwrap());
    let status = match r.person.custody {
        CustodyStatus::InCustody => "in-progress",
        CustodyStatus::Released | CustodyStatus::Transferred => "finished",
        CustodyStatus::LeftRoster => "unknown",
    };
    assert_eq!(enc["status"], status, "{who}");
    assert_eq!(board_status(enc).as_deref(), Some(r.person.custody.code()));
    assert_eq!(
        enc["period"]["start"],
        r.person.booked_on.to_string().as_str()
    );
    let end = r
        .person
        .released_on
        .or(r.release.date)
        .map(|d| d.to_string());
    assert_eq!(
        enc["period"]["end"].as_str().map(String::from),
        end,
        "{who}"
    );
    assert_eq!(
        extension_code(enc, "release-date-certainty").as_deref(),
        Some(r.release.certainty.code())
    );
    assert_eq!(
        extension_code(enc, "release-type"),
        r.release.kind.map(|k| k.code().to_string())
    );
    assert_eq!(
        extension_code(enc, "release-date-source"),
        r.release.source.map(|k| k.code().to_string())
    );
    assert_eq!(
        enc["location"][0]["location"]["display"],
        r.person.unit.as_str()
    );

    let history = w.search(&format!("Provenance?target={eref}"));
    let changes: BTreeSet<(Option<String>, Option<String>)> = history
        .iter()
        .map(|p| {
            let date = |name: &str| {
                p["extension"].as_array().unwrap().iter().find_map(|e| {
                    e["url"]
                        .as_str()
                        .unwrap()
                        .ends_with(name)
                        .then(|| e["valueDate"].as_str().unwrap().to_string())
                })
            };
            (date("/release-date-previous"), date("/release-date-new"))
        })
        .collect();
    let expected: BTreeSet<_> = r
        .release_history
        .iter()
        .map(|c| (c.from.map(|d| d.to_string()), c.to.map(|d| d.to_string())))
        .collect();
    assert_eq!(history.len(), r.release_history.len(), "{who}");
    assert_eq!(changes, expected, "{who}");

    let coverage = w.search(&format!("Coverage?beneficiary={pref}"));
    if r.medi_cal.status.is_known() {
        assert_eq!(coverage.len(), 1, "{who}");
        assert_eq!(
            board_status(&coverage[0]).as_deref(),
            Some(r.medi_cal.status.code())
        );
        let payor = text_of(&coverage[0]["payor"][0], &["display"]);
        match &r.medi_cal.mcp_name {
            Some(plan) => assert_eq!(&payor, plan),
            None => assert!(payor.contains("Medi-Cal")),
        }
    } else {
        assert!(coverage.is_empty());
    }

    let team = w.search(&format!("CareTeam?subject={pref}"));
    let members: BTreeSet<(String, String)> = team[0]["participant"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    (
                        p["role"][0]["coding"][0]["code"]
                            .as_str()
                            .unwrap()
                            .to_string(),
                        text_of(p, &["member", "display"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let expected: BTreeSet<(String, String)> = r
        .care_team
        .members()
        .map(|c| (c.kind.code().to_string(), c.name.clone()))
        .collect();
    assert_eq!(members, expected, "{who}");

    let part2_ok = part2_goes_to_plan(r, today);
    let meds: BTreeSet<(String, String)> = w
        .search(&format!("MedicationRequest?subject={pref}"))
        .iter()
        .map(|m| {
            (
                text_of(m, &["medicationCodeableConcept", "text"]),
                board_status(m).unwrap(),
            )
        })
        .collect();
    let mut expected: BTreeSet<(String, String)> = r
        .medications
        .iter()
        .filter(|m| !m.is_part2() || part2_ok)
        .map(|m| (m.name.clone(), m.supply.code().to_string()))
        .collect();
    if let Some(n) = r.naloxone.filter(|n| n.code() != "not_applicable") {
        expected.insert(("naloxone".into(), n.code().to_string()));
    }
    assert_eq!(meds, expected, "{who}");
    let dispensed = w
        .search(&format!("MedicationDispense?subject={pref}"))
        .len();
    let in_hand = r
        .medications
        .iter()
        .filter(|m| (!m.is_part2() || part2_ok) && m.supply.code() == "given_in_hand")
        .count()
        + usize::from(r.naloxone.is_some_and(|n| n.code() == "given"));
    assert_eq!(dispensed, in_hand, "{who}");

    let dme: BTreeSet<(String, String)> = w
        .search(&format!("DeviceRequest?subject={pref}"))
        .iter()
        .map(|d| {
            (
                text_of(d, &["codeCodeableConcept", "text"]),
                board_status(d).unwrap(),
            )
        })
        .collect();
    let expected: BTreeSet<_> = r
        .dme
        .iter()
        .map(|d| (d.item.clone(), d.status.code().to_string()))
        .collect();
    assert_eq!(dme, expected, "{who}");

    let referrals: BTreeSet<(String, String)> = w
        .search(&format!("ServiceRequest?subject={pref}"))
        .iter()
        .map(|s| {
            (
                s["code"]["coding"][0]["code"].as_str().unwrap().to_string(),
                board_status(s).unwrap(),
            )
        })
        .collect();
    let expected: BTreeSet<_> = r
        .referrals
        .iter()
        .filter(|f| f.target.code() != "drug_medi_cal" || part2_ok)
        .map(|f| (f.target.code().to_string(), f.status.code().to_string()))
        .collect();
    assert_eq!(referrals, expected, "{who}");

    let notes: BTreeSet<(String, String)> = w
        .search(&format!("Communication?subject={pref}"))
        .iter()
        .map(|c| {
            (
                text_of(&c["recipient"][0], &["display"]),
                board_status(c).unwrap(),
            )
        })
        .collect();
    let expected: BTreeSet<_> = r
        .notifications
        .iter()
        .map(|n| (n.recipient.label().to_string(), n.status.code().to_string()))
        .collect();
    assert_eq!(notes, expected, "{who}");

    let plan = &w.search(&format!("CarePlan?subject={pref}"))[0];
    assert_eq!(board_status(plan).as_deref(), Some(r.care_plan.code()));
    let handoff = &plan["activity"][0]["detail"];
    assert_eq!(
        board_status(handoff).as_deref(),
        Some(r.warm_handoff.status.code())
    );
    assert_eq!(
        handoff["scheduledString"].as_str().map(String::from),
        r.warm_handoff.scheduled_on.map(|d| d.to_string())
    );
    assert_eq!(
        board_status(&plan["activity"][1]["detail"]).as_deref(),
        Some(r.transport.status.code())
    );

    let tasks: BTreeMap<String, (String, Option<String>)> = w
        .search(&format!("Task?for={pref}"))
        .iter()
        .map(|t| {
            (
                t["code"]["coding"][0]["code"].as_str().unwrap().to_string(),
                (
                    t["businessStatus"]["coding"][0]["code"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    t["restriction"]["period"]["end"].as_str().map(String::from),
                ),
            )
        })
        .collect();
    let expected: BTreeMap<String, (String, Option<String>)> = readiness(r, today, rules)
        .milestones
        .iter()
        .map(|m| {
            (
                m.code.code().to_string(),
                (m.state.code().to_string(), m.due.map(|d| d.to_string())),
            )
        })
        .collect();
    assert_eq!(tasks, expected, "{who}");

    // Appointments refer to the Patient inside `participant`: read them all and pick.
    let appointments: BTreeSet<(String, String, Option<String>)> = w
        .search("Appointment")
        .iter()
        .filter(|a| a["participant"][0]["actor"]["reference"] == pref.as_str())
        .map(|a| {
            (
                text_of(a, &["description"]),
                board_status(a).unwrap(),
                a["start"].as_str().map(|s| s[..10].to_string()),
            )
        })
        .collect();
    let expected: BTreeSet<_> = r
        .appointments
        .iter()
        .map(|a| {
            (
                a.what.clone(),
                a.status.code().to_string(),
                a.on.map(|d| d.to_string()),
            )
        })
        .collect();
    assert_eq!(appointments, expected, "{who}");

    // Part 2: where consent does not cover a plan, no drug name anywhere in what the hub holds.
    let mut everything = vec![patient.clone(), enc.clone(), plan.clone()];
    for t in [
        "MedicationRequest",
        "MedicationDispense",
        "ServiceRequest",
        "CarePlan",
    ] {
        everything.extend(w.search(&format!("{t}?subject={pref}")));
    }
    if !part2_ok {
        let text = Value::Array(everything.clone()).to_string();
        for m in r.medications.iter().filter(|m| m.is_part2()) {
            assert!(
                !text.contains(&m.name),
                "{who}: {} reached the plan",
                m.name
            );
        }
    }
    everything
}

#[test]
fn the_demo_roster_round_trips_through_the_hubs_fhir_endpoint() {
    let w = World::new();
    let today = chrono::Local::now().date_naive();
    let rules = Rules::default();
    assert_eq!(w.sync_once(&w.token_file), Some(0), "{}", w.status());
    let status = w.status();
    assert!(
        status.contains("queued 0") && status.contains("dead 0"),
        "{status}"
    );

    let records = w.records();
    assert!(
        records
            .iter()
            .any(|r| r.person.custody == CustodyStatus::Released)
    );
    let mut part2 = BTreeMap::new();
    let mut read_back = Vec::new();
    for r in &records {
        read_back.extend(compare(&w, r, today, &rules));
        if r.has_part2() {
            *part2.entry(part2_goes_to_plan(r, today)).or_insert(0) += 1;
        }
    }
    assert!(
        part2.contains_key(&true) && part2.contains_key(&false),
        "{part2:?}"
    );

    // Everything the hub holds, as the sender sent it (ids resolved), passes the validator.
    let before = w.versions();
    assert_eq!(
        before.keys().filter(|k| k.starts_with("Patient/")).count(),
        records.len()
    );
    if let Some(validator) = Validator::find() {
        let all: Vec<Value> = TYPES.iter().flat_map(|t| w.search(t)).collect();
        let report = validator.check_values(&all);
        assert!(report.errors.is_empty(), "{:#?}", report.errors);
        assert_eq!(report.checked as usize, before.len());
    }

    // The sender's own transactions again (what a retry sends): nothing changes.
    let store = Store::open(&w.db, Arc::new(SystemClock)).unwrap();
    let settings = reentry_board::sync::SyncSettings::resolve(
        &reentry_board::sync::SyncConfig::default(),
        &reentry_board::sync::SyncOverrides {
            url: Some(w.base()),
            token_file: Some(w.token_file.clone()),
            format: Some(reentry_board::sync::SyncFormat::Fhir),
            ..Default::default()
        },
    )
    .unwrap();
    for r in &records {
        let events = store.outbox_for(&r.person.id).unwrap();
        let people = reentry_board::sync::fhir::transactions(&store, &settings, &events).unwrap();
        for person in people {
            let body = person.bundle.unwrap();
            let status = w.runtime.block_on(async {
                w.http
                    .post(w.base())
                    .bearer_auth(&w.token)
                    .header("Content-Type", "application/fhir+json")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            });
            assert_eq!(status, 200);
        }
    }
    assert_eq!(w.versions(), before, "a retry changes nothing");

    // A change on the board reaches the hub as an update of the same resources.
    let mover = records
        .iter()
        .find(|r| r.person.custody == CustodyStatus::InCustody && r.release.date.is_some())
        .unwrap();
    let new_date = mover.release.date.unwrap() + chrono::Days::new(3);
    let mut store = store;
    store
        .apply(
            &Actor::new("records.test", Role::Coordinator),
            ChangeReleaseDate {
                person_id: mover.person.id.clone(),
                version: mover.version,
                date: Some(new_date),
                certainty: Certainty::Confirmed,
                kind: mover.release.kind,
                source: mover.release.source,
                reason: ChangeReason::SentenceCredits,
                reason_text: String::new(),
            },
        )
        .unwrap();

    // First with a token the hub does not know: the queue pauses and says why, in the
    // OperationOutcome's words.
    let bad = w.home.path().join("bad-token");
    write_private(&bad, "not-the-token\n");
    assert_ne!(w.sync_once(&bad), Some(0));
    let status = w.status();
    assert!(
        status.contains("OperationOutcome login: error login: the token is unknown or revoked"),
        "{status}"
    );
    assert_eq!(
        w.versions(),
        before,
        "a refused transaction changes nothing"
    );

    assert_eq!(w.sync_once(&w.token_file), Some(0), "{}", w.status());
    let after = w.versions();
    let mover_now = w
        .records()
        .into_iter()
        .find(|r| r.person.id == mover.person.id)
        .unwrap();
    compare(&w, &mover_now, today, &rules);
    let changed: Vec<&String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        changed.iter().any(|k| k.starts_with("Encounter/")),
        "{changed:?}"
    );
    assert!(
        changed.iter().any(|k| k.starts_with("Provenance/")),
        "{changed:?}"
    );
    assert_eq!(
        after.len(),
        before.len() + 1,
        "one new Provenance, nothing duplicated"
    );
    for k in &changed {
        assert!(
            ["Encounter/", "Provenance/", "CarePlan/", "Task/"]
                .iter()
                .any(|t| k.starts_with(t)),
            "{k} changed"
        );
    }
}
