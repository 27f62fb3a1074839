//! The store against real SQLite files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use reentry_board::clock::{Clock, FixedClock};
use reentry_board::domain::*;
use reentry_board::store::*;
use serde_json::Value;
use tempfile::TempDir;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::on(d("2026-03-01")))
}

fn coordinator() -> Actor {
    Actor {
        login: "coord".into(),
        role: Role::Coordinator,
        via: Some("ssh key SHA256:abc from 10.0.0.5".into()),
    }
}

fn as_role(role: Role) -> Actor {
    Actor::new(format!("{}-user", role.code()), role)
}

fn facility() -> Facility {
    Facility {
        id: "fac-1".into(),
        name: "North County Jail".into(),
        kind: FacilityKind::AdultJail,
    }
}

fn contact(id: &str, org: &str, kind: ContactKind) -> Contact {
    Contact {
        id: id.into(),
        name: format!("Contact {id}"),
        organisation: org.into(),
        phone: "555-0100".into(),
        kind,
    }
}

const PID: &str = "0195f000-0000-7000-8000-000000000001";

/// A record with something in every field and every child list.
fn rich_record() -> PersonRecord {
    let person = Person {
        id: PID.into(),
        booking_id: "B-000123".into(),
        name: PersonName::new("Núñez", "Élodie"),
        date_of_birth: Some(d("1990-04-05")),
        facility: facility().into(),
        unit: "4B".into(),
        youth: false,
        booked_on: d("2025-12-01"),
        custody: CustodyStatus::InCustody,
        released_on: None,
    };
    let release = ReleaseDate {
        date: Some(d("2026-03-20")),
        certainty: Certainty::Projected,
        kind: Some(ReleaseType::SentenceEnd),
        source: Some(ReleaseSource::JailManagementSystem),
    };
    let mut r = PersonRecord::new(person, release);
    r.release_history = vec![
        ReleaseChange {
            id: 1,
            changed_at: t("2026-01-02T10:00:00Z"),
            changed_by: "rec1".into(),
            from: None,
            to: Some(d("2026-04-01")),
            certainty: Certainty::Estimated,
            source: None,
            reason: ChangeReason::Correction,
            reason_text: String::new(),
            acknowledged_by: None,
            acknowledged_at: None,
        },
        ReleaseChange {
            id: 2,
            changed_at: t("2026-02-10T17:30:15.250Z"),
            changed_by: "rec2".into(),
            from: Some(d("2026-04-01")),
            to: Some(d("2026-03-20")),
            certainty: Certainty::Projected,
            source: Some(ReleaseSource::CourtOrder),
            reason: ChangeReason::Other,
            reason_text: "credits recalculated".into(),
            acknowledged_by: Some("coord".into()),
            acknowledged_at: Some(t("2026-02-11T09:00:00Z")),
        },
    ];
    r.date_flags = vec![DateFlag {
        id: 1,
        proposed: Some(d("2026-03-15")),
        reason: ChangeReason::CourtOrder,
        reason_text: "hearing".into(),
        raised_by: "po1".into(),
        raised_at: t("2026-02-20T08:00:00Z"),
        status: FlagStatus::Open,
    }];
    r.medi_cal = MediCal {
        status: MediCalStatus::Suspended,
        mcp_name: Some("Plan A".into()),
        former_foster_youth: true,
    };
    r.screening = Screening {
        result: ScreeningResult::Eligible,
        needs: BTreeSet::from([HealthNeed::SubstanceUseDisorder, HealthNeed::HivAids]),
    };
    r.consent = Consent {
        scope: Some(ConsentScope::IncludingProbation),
        signed_on: Some(d("2025-12-02")),
        expires_on: Some(d("2026-12-02")),
        signed_by_guardian: false,
        part2: true,
    };
    r.care_team = CareTeam {
        pre_release_cm: Some(contact("cm-1", "Org A", ContactKind::PreReleaseCm).into()),
        post_release_ecm: Some(contact("ecm-1", "Org B", ContactKind::EcmProvider).into()),
        probation_officer: None,
        behavioral_health: Some(contact("bh-1", "County BH", ContactKind::BehavioralHealth).into()),
    };
    r.medications = vec![
        Medication {
            id: 1,
            name: "Buprenorphine".into(),
            class: MedClass::MatOud,
            long_acting_injectable: true,
            next_dose: Some(d("2026-03-10")),
            supply: SupplyStatus::Ordered,
            confirmed: Some(Confirmation {
                by: "nurse1".into(),
                at: t("2026-02-25T14:00:00Z"),
            }),
            version: 3,
        },
        Medication {
            id: 2,
            name: "Lisinopril".into(),
            class: MedClass::Chronic,
            long_acting_injectable: false,
            next_dose: None,
            supply: SupplyStatus::ToOrder,
            confirmed: None,
            version: 1,
        },
    ];
    r.naloxone = Some(NaloxoneStatus::Offered);
    r.dme = vec![DmeItem {
        id: 1,
        item: "Walker".into(),
        status: DmeStatus::Ordered,
        confirmed: None,
        version: 2,
    }];
    r.care_plan = CarePlanStatus::Draft;
    r.warm_handoff = WarmHandoff {
        status: WarmHandoffStatus::Scheduled,
        scheduled_on: Some(d("2026-03-06")),
    };
    r.appointments = vec![Appointment {
        id: 1,
        what: "Primary care intake".into(),
        on: Some(d("2026-03-25")),
        status: AppointmentStatus::Booked,
    }];
    r.transport = Transport {
        status: TransportStatus::Arranged,
        note: "bus pass".into(),
    };
    r.referrals = vec![Referral {
        id: 1,
        target: ReferralTarget::DrugMediCal,
        status: NotificationStatus::Sent,
    }];
    r.notifications = vec![
        Notification {
            recipient: Recipient::Mcp,
            status: NotificationStatus::Pending,
        },
        Notification {
            recipient: Recipient::SocialServices,
            status: NotificationStatus::Acknowledged,
        },
    ];
    r.barriers = vec![Barrier {
        id: 1,
        milestone: MilestoneCode::Dme,
        reason: BarrierReason::PharmacyDelay,
        text: "vendor backorder".into(),
        opened_on: d("2026-02-27"),
        resolved_on: Some(d("2026-02-28")),
    }];
    r.notes = vec![Note {
        id: 1,
        at: t("2026-02-28T16:00:00Z"),
        by: "cm1".into(),
        text: "Prefers morning calls".into(),
    }];
    r.marks = vec![MilestoneMark {
        milestone: MilestoneCode::Appointments,
        kind: MarkKind::Done,
        by: "cm1".into(),
        on: d("2026-02-26"),
    }];
    r.version = 1;
    r
}

fn released_record() -> PersonRecord {
    let mut r = PersonRecord::new(
        Person {
            id: "0195f000-0000-7000-8000-000000000002".into(),
            booking_id: "B-000999".into(),
            name: PersonName::new("Doe", "Jo"),
            date_of_birth: None,
            facility: facility().into(),
            unit: "1A".into(),
            youth: false,
            booked_on: d("2025-10-01"),
            custody: CustodyStatus::Released,
            released_on: Some(d("2026-02-01")),
        },
        ReleaseDate::unknown(),
    );
    r.version = 1;
    r
}

fn seed_data() -> SeedData {
    SeedData {
        facilities: vec![facility()],
        contacts: vec![
            contact("cm-1", "Org A", ContactKind::PreReleaseCm),
            contact("cm-2", "Org A", ContactKind::PreReleaseCm),
            contact("ecm-1", "Org B", ContactKind::EcmProvider),
            contact("bh-1", "County BH", ContactKind::BehavioralHealth),
        ],
        users: vec![StaffUser {
            login: "coord".into(),
            name: "Coordinator".into(),
            role: Role::Coordinator,
        }],
        records: vec![rich_record(), released_record()],
        released: vec![],
    }
}

fn new_store(dir: &TempDir) -> (Store, PathBuf) {
    let path = dir.path().join("board.db");
    let store = Store::create(&path, clock()).unwrap();
    (store, path)
}

fn seeded(dir: &TempDir) -> (Store, PathBuf) {
    let (mut store, path) = new_store(dir);
    store.seed(&coordinator(), &seed_data()).unwrap();
    (store, path)
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

fn record(store: &Store) -> PersonRecord {
    store.load_record(PID).unwrap().unwrap()
}

/// Row counts of every table a command may touch, to prove what a write did (or did not do).
fn counts(store: &Store) -> Vec<(&'static str, i64)> {
    [
        "persons",
        "release_changes",
        "date_flags",
        "medications",
        "dme",
        "barriers",
        "notes",
        "milestone_marks",
        "audit",
        "outbox",
        "users",
    ]
    .into_iter()
    .map(|t| (t, store.count_rows(t).unwrap()))
    .collect()
}

fn count(store: &Store, table: &str) -> i64 {
    store.count_rows(table).unwrap()
}

fn file_state(path: &Path) -> (Vec<u8>, std::time::SystemTime) {
    (
        std::fs::read(path).unwrap(),
        std::fs::metadata(path).unwrap().modified().unwrap(),
    )
}

#[test]
fn migrates_from_empty_and_reopens_idempotently() {
    let dir = TempDir::new().unwrap();
    let (store, path) = new_store(&dir);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    drop(store);
    let conn = raw(&path);
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, APPLICATION_ID);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    for _ in 0..2 {
        let store = Store::open(&path, clock()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }
    let store = Store::open_or_create(&path, clock()).unwrap();
    assert_eq!(count(&store, "persons"), 0);
    assert!(matches!(
        Store::create(&path, clock()),
        Err(StoreError::AlreadyExists { .. })
    ));
}

#[test]
fn database_file_is_private() {
    let dir = TempDir::new().unwrap();
    let (mut store, path) = new_store(&dir);
    store.seed(&coordinator(), &seed_data()).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let wal = path.with_extension("db-wal");
    if wal.exists() {
        assert_eq!(
            std::fs::metadata(&wal).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn missing_file_says_how_to_make_one() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("nope.db");
    let err = Store::open(&path, clock()).unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("nope.db") && msg.contains("init --db"),
        "{msg}"
    );
    assert!(!path.exists());
}

#[test]
fn foreign_sqlite_file_is_refused_untouched() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("other.db");
    {
        let c = raw(&path);
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    let before = file_state(&path);
    std::thread::sleep(Duration::from_millis(20));
    let err = Store::open(&path, clock()).unwrap_err();
    assert!(matches!(err, StoreError::NotOurs { .. }), "{err}");
    assert!(err.to_string().contains("other.db"));
    assert_eq!(file_state(&path), before);

    // Another program's id on an empty schema is not ours either.
    let path2 = dir.path().join("tagged.db");
    {
        let c = raw(&path2);
        c.execute_batch("PRAGMA application_id = 1234;").unwrap();
    }
    let before = file_state(&path2);
    let err = Store::open(&path2, clock()).unwrap_err();
    assert!(matches!(err, StoreError::NotOurs { .. }), "{err}");
    assert_eq!(file_state(&path2), before);
}

#[test]
fn non_sqlite_file_is_refused_untouched() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("roster.csv");
    std::fs::write(&path, "booking_id,last,first\nB-1,Doe,Jo\n".repeat(20)).unwrap();
    let before = file_state(&path);
    let err = Store::open_or_create(&path, clock()).unwrap_err();
    assert!(matches!(err, StoreError::NotOurs { .. }), "{err}");
    assert_eq!(file_state(&path), before);
    assert!(!dir.path().join("roster.csv-wal").exists());
}

#[test]
fn newer_schema_is_refused_untouched() {
    let dir = TempDir::new().unwrap();
    let (store, path) = new_store(&dir);
    drop(store);
    {
        let c = raw(&path);
        c.execute_batch(&format!("PRAGMA user_version = {};", SCHEMA_VERSION + 1))
            .unwrap();
    }
    let before = file_state(&path);
    let err = Store::open(&path, clock()).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    assert!(err.to_string().contains("upgrade reentry-board"));
    assert_eq!(file_state(&path), before);
}

#[test]
fn locked_database_is_reported_quickly() {
    let dir = TempDir::new().unwrap();
    let (mut store, path) = seeded(&dir);
    let other = raw(&path);
    other.execute_batch("BEGIN EXCLUSIVE;").unwrap();
    store.set_busy_timeout(Duration::from_millis(100)).unwrap();
    let version = record(&store).version;
    let started = Instant::now();
    let err = store
        .apply(
            &coordinator(),
            SetCarePlan {
                person_id: PID.into(),
                version,
                status: CarePlanStatus::Complete,
            },
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("board.db"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    other.execute_batch("ROLLBACK;").unwrap();
    // Once the other session lets go, the same write goes through.
    store
        .apply(
            &coordinator(),
            SetCarePlan {
                person_id: PID.into(),
                version,
                status: CarePlanStatus::Complete,
            },
        )
        .unwrap();
}

#[test]
fn audit_rows_cannot_be_changed_or_deleted() {
    let dir = TempDir::new().unwrap();
    let (store, path) = seeded(&dir);
    let n = count(&store, "audit");
    assert!(n > 0);
    let c = raw(&path);
    let e = c
        .execute("UPDATE audit SET actor = 'someone else'", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = c.execute("DELETE FROM audit", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = c.execute("DELETE FROM release_changes", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    assert_eq!(count(&store, "audit"), n);
}

#[test]
fn seed_and_load_round_trip_field_by_field() {
    let dir = TempDir::new().unwrap();
    let (store, _path) = seeded(&dir);
    let loaded = store.load_records().unwrap();
    assert_eq!(loaded.len(), 1, "released people are not on the board");
    let want = rich_record();
    let got = &loaded[0];
    assert_eq!(got.person, want.person);
    assert_eq!(got.release, want.release);
    assert_eq!(got.release_history, want.release_history);
    assert_eq!(got.date_flags, want.date_flags);
    assert_eq!(got.medi_cal, want.medi_cal);
    assert_eq!(got.screening, want.screening);
    assert_eq!(got.consent, want.consent);
    assert_eq!(got.care_team, want.care_team);
    assert_eq!(got.medications, want.medications);
    assert_eq!(got.naloxone, want.naloxone);
    assert_eq!(got.dme, want.dme);
    assert_eq!(got.care_plan, want.care_plan);
    assert_eq!(got.warm_handoff, want.warm_handoff);
    assert_eq!(got.appointments, want.appointments);
    assert_eq!(got.transport, want.transport);
    assert_eq!(got.referrals, want.referrals);
    assert_eq!(got.notifications, want.notifications);
    assert_eq!(got.barriers, want.barriers);
    assert_eq!(got.notes, want.notes);
    assert_eq!(got.marks, want.marks);
    assert_eq!(got.version, want.version);
    assert_eq!(got, &want);
    // The released person is still there when asked for by id.
    let gone = store
        .load_record("0195f000-0000-7000-8000-000000000002")
        .unwrap()
        .unwrap();
    assert_eq!(gone, released_record());
    assert_eq!(store.contacts().unwrap().len(), 4);
    // One person_booked audit row and event per person.
    assert_eq!(store.audit_for(PID).unwrap().len(), 1);
    assert_eq!(store.outbox_for(PID).unwrap().len(), 1);
    assert_eq!(store.outbox_pending_count().unwrap(), 2);
}

fn envelope(payload: &str) -> Value {
    let v: Value = serde_json::from_str(payload).unwrap();
    for field in [
        "schema_version",
        "event_id",
        "event_type",
        "occurred_at",
        "person_id",
        "person_seq",
        "subject",
        "source",
        "actor",
        "sensitivity",
        "data",
    ] {
        assert!(v.get(field).is_some(), "{field} missing in {payload}");
    }
    v
}

#[test]
fn outbox_envelope_and_part2_events() {
    let dir = TempDir::new().unwrap();
    let (mut store, _path) = seeded(&dir);
    store
        .set_facility_id(&coordinator(), "north-county-jail")
        .unwrap();
    let nurse = Actor::new("nurse1", Role::Nurse);
    let mat = record(&store).medications[0].clone();
    assert!(mat.is_part2());
    let saved = store
        .apply(
            &nurse,
            SetMedicationSupply {
                person_id: PID.into(),
                medication_id: mat.id,
                version: mat.version,
                supply: SupplyStatus::Ready,
                reason: String::new(),
            },
        )
        .unwrap();
    assert_eq!(saved.version, mat.version + 1);
    let events = store.outbox_for(PID).unwrap();
    let booked = envelope(&events[0].payload);
    assert_eq!(booked["event_type"], "person_booked");
    assert_eq!(booked["schema_version"], 1);
    assert_eq!(booked["subject"]["booking_id"], "B-000123");
    assert_eq!(booked["source"]["facility_id"], "demo-facility");
    assert_eq!(booked["source"]["app_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(booked["actor"]["user"], "coord");
    assert_eq!(booked["sensitivity"], serde_json::json!([]));

    let last = events.last().unwrap();
    assert_eq!(Some(&last.event_id), saved.event_id.as_ref());
    let v = envelope(&last.payload);
    assert_eq!(v["event_id"], last.event_id.as_str());
    assert_eq!(v["event_type"], "medication_status_changed");
    assert_eq!(v["occurred_at"], "2026-03-01T12:00:00Z");
    assert_eq!(v["person_id"], PID);
    assert_eq!(v["person_seq"], 2);
    assert_eq!(v["source"]["facility_id"], "north-county-jail");
    assert_eq!(v["actor"]["role"], "nurse");
    assert_eq!(v["sensitivity"], serde_json::json!(["part2"]));
    assert_eq!(v["data"]["class"], "mat_oud");
    assert_eq!(v["data"]["status"], "ready");
    assert!(v["data"].get("name").is_none());
    assert!(!last.payload.to_lowercase().contains("buprenorphine"));
    // The envelope keeps the field order of docs/API.md.
    assert!(
        last.payload
            .starts_with("{\"schema_version\":1,\"event_id\":")
    );

    // Other medications name the item and carry no label.
    let chronic = record(&store).medications[1].clone();
    store
        .apply(
            &nurse,
            SetMedicationSupply {
                person_id: PID.into(),
                medication_id: chronic.id,
                version: chronic.version,
                supply: SupplyStatus::RxSentToPharmacy,
                reason: String::new(),
            },
        )
        .unwrap();
    let v = envelope(&store.outbox_for(PID).unwrap().last().unwrap().payload);
    assert_eq!(v["sensitivity"], serde_json::json!([]));
    assert_eq!(v["data"]["name"], "Lisinopril");
    // A MAT medication added later is just as protected.
    store
        .apply(
            &nurse,
            AddMedication {
                person_id: PID.into(),
                name: "Naltrexone".into(),
                class: MedClass::MatAud,
                long_acting_injectable: true,
                next_dose: None,
                supply: SupplyStatus::ToOrder,
            },
        )
        .unwrap();
    let last = store.outbox_for(PID).unwrap().pop().unwrap();
    assert!(!last.payload.contains("Naltrexone"), "{}", last.payload);
    assert_eq!(envelope(&last.payload)["sensitivity"][0], "part2");
}

/// Builds each command from the record as the user last saw it, with whether it reports an event.
type Build = Box<dyn Fn(&PersonRecord) -> (Actor, Command, bool)>;

fn every_command() -> Vec<(&'static str, Build)> {
    let coord = || coordinator();
    let nurse = || Actor::new("nurse1", Role::Nurse);
    vec![
        (
            "change release date",
            Box::new(move |r: &PersonRecord| {
                (
                    coord(),
                    ChangeReleaseDate {
                        person_id: PID.into(),
                        version: r.version,
                        date: Some(d("2026-03-12")),
                        certainty: Certainty::Confirmed,
                        kind: Some(ReleaseType::CourtOrdered),
                        source: Some(ReleaseSource::CourtOrder),
                        reason: ChangeReason::CourtOrder,
                        reason_text: String::new(),
                    }
                    .into(),
                    true,
                )
            }) as Build,
        ),
        (
            "flag date change",
            Box::new(|_: &PersonRecord| {
                (
                    Actor::new("po1", Role::Probation),
                    FlagDateChange {
                        person_id: PID.into(),
                        proposed: Some(d("2026-03-09")),
                        reason: ChangeReason::SentenceCredits,
                        reason_text: String::new(),
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "accept date flag",
            Box::new(move |r: &PersonRecord| {
                let flag = r
                    .date_flags
                    .iter()
                    .rev()
                    .find(|f| f.status == FlagStatus::Open)
                    .unwrap();
                (
                    coord(),
                    DecideDateFlag {
                        person_id: PID.into(),
                        version: r.version,
                        flag_id: flag.id,
                        accept: true,
                        certainty: Certainty::Projected,
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "acknowledge date change",
            Box::new(move |r: &PersonRecord| {
                let c = r
                    .release_history
                    .iter()
                    .find(|c| !c.is_acknowledged())
                    .unwrap();
                (
                    coord(),
                    AcknowledgeDateChange {
                        person_id: PID.into(),
                        change_id: c.id,
                    }
                    .into(),
                    false,
                )
            }),
        ),
        (
            "set medication supply",
            Box::new(move |r: &PersonRecord| {
                let m = &r.medications[1];
                (
                    nurse(),
                    SetMedicationSupply {
                        person_id: PID.into(),
                        medication_id: m.id,
                        version: m.version,
                        supply: SupplyStatus::Ordered,
                        reason: String::new(),
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "add medication",
            Box::new(move |_: &PersonRecord| {
                (
                    nurse(),
                    AddMedication {
                        person_id: PID.into(),
                        name: "Metformin".into(),
                        class: MedClass::Chronic,
                        long_acting_injectable: false,
                        next_dose: None,
                        supply: SupplyStatus::ToOrder,
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "remove medication",
            Box::new(move |r: &PersonRecord| {
                let m = r.medications.last().unwrap();
                (
                    nurse(),
                    RemoveMedication {
                        person_id: PID.into(),
                        medication_id: m.id,
                        version: m.version,
                        reason: "entered twice".into(),
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "set naloxone",
            Box::new(move |r: &PersonRecord| {
                (
                    nurse(),
                    SetNaloxone {
                        person_id: PID.into(),
                        version: r.version,
                        status: Some(NaloxoneStatus::Given),
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "set DME status",
            Box::new(move |r: &PersonRecord| {
                let i = &r.dme[0];
                (
                    nurse(),
                    SetDmeStatus {
                        person_id: PID.into(),
                        dme_id: i.id,
                        version: i.version,
                        status: DmeStatus::Ready,
                        reason: String::new(),
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "add DME",
            Box::new(move |_: &PersonRecord| {
                (
                    nurse(),
                    AddDme {
                        person_id: PID.into(),
                        item: "CPAP".into(),
                        status: DmeStatus::Identified,
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "remove DME",
            Box::new(move |r: &PersonRecord| {
                let i = r.dme.last().unwrap();
                (
                    nurse(),
                    RemoveDme {
                        person_id: PID.into(),
                        dme_id: i.id,
                        version: i.version,
                        reason: "entered twice".into(),
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "assign care team",
            Box::new(move |r: &PersonRecord| {
                (
                    coord(),
                    AssignCareTeam {
                        person_id: PID.into(),
                        version: r.version,
                        slot: ContactKind::PreReleaseCm,
                        contact_id: Some("cm-2".into()),
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "set Medi-Cal",
            Box::new(move |r: &PersonRecord| {
                (
                    coord(),
                    SetMediCal {
                        person_id: PID.into(),
                        version: r.version,
                        medi_cal: MediCal {
                            status: MediCalStatus::UnsuspendRequested,
                            mcp_name: Some("Plan A".into()),
                            former_foster_youth: true,
                        },
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "set screening",
            Box::new(move |r: &PersonRecord| {
                (
                    nurse(),
                    SetScreening {
                        person_id: PID.into(),
                        version: r.version,
                        screening: Screening {
                            result: ScreeningResult::Eligible,
                            needs: BTreeSet::from([HealthNeed::MentalIllness]),
                        },
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "set care plan",
            Box::new(move |r: &PersonRecord| {
                (
                    coord(),
                    SetCarePlan {
                        person_id: PID.into(),
                        version: r.version,
                        status: CarePlanStatus::Complete,
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "set warm handoff",
            Box::new(move |r: &PersonRecord| {
                (
                    coord(),
                    SetWarmHandoff {
                        person_id: PID.into(),
                        version: r.version,
                        handoff: WarmHandoff {
                            status: WarmHandoffStatus::Completed,
                            scheduled_on: Some(d("2026-03-06")),
                        },
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "record barrier",
            Box::new(move |_: &PersonRecord| {
                (
                    coord(),
                    RecordBarrier {
                        person_id: PID.into(),
                        milestone: MilestoneCode::Transport,
                        reason: BarrierReason::NoHousing,
                        text: String::new(),
                    }
                    .into(),
                    false,
                )
            }),
        ),
        (
            "resolve barrier",
            Box::new(move |r: &PersonRecord| {
                let b = r.barriers.iter().find(|b| b.is_open()).unwrap();
                (
                    coord(),
                    ResolveBarrier {
                        person_id: PID.into(),
                        barrier_id: b.id,
                    }
                    .into(),
                    false,
                )
            }),
        ),
        (
            "add note",
            Box::new(move |_: &PersonRecord| {
                (
                    nurse(),
                    AddNote {
                        person_id: PID.into(),
                        text: "Discussed at meeting".into(),
                    }
                    .into(),
                    false,
                )
            }),
        ),
        (
            "mark milestone",
            Box::new(move |_: &PersonRecord| {
                (
                    coord(),
                    MarkMilestone {
                        person_id: PID.into(),
                        milestone: MilestoneCode::Notifications,
                        kind: MarkKind::NotNeeded,
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "set consent",
            Box::new(move |r: &PersonRecord| {
                (
                    nurse(),
                    SetConsent {
                        person_id: PID.into(),
                        version: r.version,
                        consent: Consent {
                            scope: Some(ConsentScope::MultiAgency),
                            signed_on: Some(d("2026-02-01")),
                            expires_on: Some(d("2027-02-01")),
                            signed_by_guardian: false,
                            part2: false,
                        },
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "add appointment",
            Box::new(move |_: &PersonRecord| {
                (
                    coord(),
                    AddAppointment {
                        person_id: PID.into(),
                        what: "Dental".into(),
                        on: Some(d("2026-03-28")),
                        status: AppointmentStatus::Booked,
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "reschedule appointment",
            Box::new(move |r: &PersonRecord| {
                (
                    coord(),
                    SetAppointment {
                        person_id: PID.into(),
                        version: r.version,
                        appointment_id: r.appointments.last().unwrap().id,
                        on: Some(d("2026-03-30")),
                        status: AppointmentStatus::Booked,
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "cancel appointment",
            Box::new(move |r: &PersonRecord| {
                (
                    coord(),
                    CancelAppointment {
                        person_id: PID.into(),
                        version: r.version,
                        appointment_id: r.appointments[0].id,
                        reason: "clinic closed".into(),
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "set transport",
            Box::new(move |r: &PersonRecord| {
                (
                    coord(),
                    SetTransport {
                        person_id: PID.into(),
                        version: r.version,
                        status: TransportStatus::NotNeeded,
                        note: "family picks up".into(),
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "add referral",
            Box::new(move |_: &PersonRecord| {
                (
                    coord(),
                    AddReferral {
                        person_id: PID.into(),
                        target: ReferralTarget::CountyMentalHealth,
                        status: NotificationStatus::Pending,
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "set referral status",
            Box::new(move |r: &PersonRecord| {
                (
                    coord(),
                    SetReferralStatus {
                        person_id: PID.into(),
                        version: r.version,
                        referral_id: r.referrals.last().unwrap().id,
                        status: NotificationStatus::Sent,
                        reason: String::new(),
                    }
                    .into(),
                    true,
                )
            }),
        ),
        (
            "notification sent",
            Box::new(move |r: &PersonRecord| {
                (
                    Actor::new("rec1", Role::Records),
                    SetNotification {
                        person_id: PID.into(),
                        version: r.version,
                        recipient: Recipient::Mcp,
                        status: NotificationStatus::Sent,
                        reason: String::new(),
                    }
                    .into(),
                    true,
                )
            }),
        ),
    ]
}

#[test]
fn every_command_writes_its_change_one_audit_row_and_at_most_one_event() {
    let dir = TempDir::new().unwrap();
    let (mut store, _path) = seeded(&dir);
    let mut expected_seq = 1;
    for (name, build) in every_command() {
        let before_record = record(&store);
        let (actor, command, reports) = build(&before_record);
        let audit = count(&store, "audit");
        let outbox = count(&store, "outbox");
        let saved = store
            .apply(&actor, command)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(count(&store, "audit"), audit + 1, "{name}");
        let last_audit = store.audit_for(PID).unwrap().pop().unwrap();
        assert_eq!(last_audit.id, saved.audit_id, "{name}");
        assert_eq!(last_audit.actor, actor.login, "{name}");
        if reports {
            expected_seq += 1;
            assert_eq!(count(&store, "outbox"), outbox + 1, "{name}");
            let ev = store.outbox_for(PID).unwrap().pop().unwrap();
            assert_eq!(ev.person_seq, expected_seq, "{name}");
            let payload: Value = serde_json::from_str(&ev.payload).unwrap();
            if let Err(problems) = reentry_board::hub::schemas::validate(&payload) {
                panic!("{name}: the hub would refuse {payload}: {problems:?}");
            }
            assert_eq!(Some(ev.event_id), saved.event_id, "{name}");
        } else {
            assert_eq!(count(&store, "outbox"), outbox, "{name}");
            assert_eq!(saved.event_id, None, "{name}");
        }
        assert_ne!(record(&store), before_record, "{name} changed nothing");
    }
    // person_seq runs 1, 2, 3, ... without gaps.
    let seqs: Vec<i64> = store
        .outbox_for(PID)
        .unwrap()
        .iter()
        .map(|e| e.person_seq)
        .collect();
    assert_eq!(seqs, (1..=expected_seq).collect::<Vec<_>>());

    let r = record(&store);
    assert_eq!(
        r.release.date,
        Some(d("2026-03-09")),
        "the accepted flag applied"
    );
    assert_eq!(r.release_history.len(), 4);
    assert!(
        r.release_history
            .iter()
            .filter(|c| !c.is_acknowledged())
            .count()
            == 2
    );
    assert_eq!(r.care_team.pre_release_cm.as_ref().unwrap().id, "cm-2");
    assert_eq!(r.medications.len(), 2, "added one, removed one");
    let m = &r.medications[1];
    assert_eq!(m.confirmed.as_ref().unwrap().by, "nurse1");
    assert_eq!(r.dme[0].status, DmeStatus::Ready);
    assert_eq!(r.notes.len(), 2);
    assert_eq!(
        r.mark(MilestoneCode::Notifications).unwrap().kind,
        MarkKind::NotNeeded
    );
    assert_eq!(r.consent.scope, Some(ConsentScope::MultiAgency));
    assert_eq!(r.appointments[0].status, AppointmentStatus::Cancelled);
    assert_eq!(r.appointments[1].on, Some(d("2026-03-30")));
    assert_eq!(r.transport.status, TransportStatus::NotNeeded);
    assert_eq!(r.referrals[1].status, NotificationStatus::Sent);
    assert_eq!(r.notifications[0].status, NotificationStatus::Sent);
    let audit = store.audit_for(PID).unwrap();
    assert_eq!(
        audit[1].via.as_deref(),
        Some("ssh key SHA256:abc from 10.0.0.5")
    );
}

#[test]
fn person_seq_counts_one_two_three() {
    let dir = TempDir::new().unwrap();
    let (mut store, _path) = seeded(&dir);
    for status in [CarePlanStatus::Complete, CarePlanStatus::SharedWithMcp] {
        let v = record(&store).version;
        store
            .apply(
                &coordinator(),
                SetCarePlan {
                    person_id: PID.into(),
                    version: v,
                    status,
                },
            )
            .unwrap();
    }
    let seqs: Vec<i64> = store
        .outbox_for(PID)
        .unwrap()
        .iter()
        .map(|e| e.person_seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);
}

#[test]
fn stale_version_is_a_conflict_and_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let (mut store, _path) = seeded(&dir);
    let seen = record(&store);
    let records = Actor::new("rec1", Role::Records);
    store
        .apply(
            &records,
            ChangeReleaseDate {
                person_id: PID.into(),
                version: seen.version,
                date: Some(d("2026-03-25")),
                certainty: Certainty::Confirmed,
                kind: None,
                source: None,
                reason: ChangeReason::SentenceCredits,
                reason_text: String::new(),
            },
        )
        .unwrap();
    let now = record(&store);
    let before = counts(&store);
    let err = store
        .apply(
            &coordinator(),
            SetCarePlan {
                person_id: PID.into(),
                version: seen.version,
                status: CarePlanStatus::Complete,
            },
        )
        .unwrap_err();
    match &err {
        StoreError::Conflict {
            changed_by,
            changed_at,
            ..
        } => {
            assert_eq!(changed_by, "rec1");
            assert_eq!(changed_at, "2026-03-01T12:00:00Z");
        }
        other => panic!("expected a conflict, got {other}"),
    }
    assert!(err.to_string().contains("rec1"));
    // Item versions too.
    let m = &seen.medications[1];
    let nurse = Actor::new("nurse1", Role::Nurse);
    store
        .apply(
            &nurse,
            SetMedicationSupply {
                person_id: PID.into(),
                medication_id: m.id,
                version: m.version,
                supply: SupplyStatus::Ordered,
                reason: String::new(),
            },
        )
        .unwrap();
    let before_item = counts(&store);
    let after_item = record(&store);
    let err = store
        .apply(
            &nurse,
            SetMedicationSupply {
                person_id: PID.into(),
                medication_id: m.id,
                version: m.version,
                supply: SupplyStatus::Ready,
                reason: String::new(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert_eq!(counts(&store), before_item);
    assert_eq!(record(&store), after_item);
    assert_eq!(now.care_plan, record(&store).care_plan);
    assert_eq!(before.len(), before_item.len());
}

#[test]
fn denied_role_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let (mut store, _path) = seeded(&dir);
    let r = record(&store);
    let before = counts(&store);
    let err = store
        .apply(
            &as_role(Role::Nurse),
            ChangeReleaseDate {
                person_id: PID.into(),
                version: r.version,
                date: None,
                certainty: Certainty::Unknown,
                kind: None,
                source: None,
                reason: ChangeReason::Correction,
                reason_text: String::new(),
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Denied {
                role: Role::Nurse,
                action: Action::SetReleaseDate
            }
        ),
        "{err}"
    );
    let err = store
        .apply(
            &as_role(Role::Viewer),
            AddNote {
                person_id: PID.into(),
                text: "hi".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Denied { .. }), "{err}");
    // A care manager outside the contact's organisation may not assign them.
    let err = store
        .apply(
            &as_role(Role::CareManager),
            AssignCareTeam {
                person_id: PID.into(),
                version: r.version,
                slot: ContactKind::PreReleaseCm,
                contact_id: Some("cm-2".into()),
            },
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Denied { .. }), "{err}");
    assert_eq!(counts(&store), before);
    assert_eq!(record(&store), r);
    // ...but once their organisation is known, they may.
    let cm = as_role(Role::CareManager);
    store
        .add_user(&coordinator(), &cm.login, "CM", Role::CareManager)
        .unwrap();
    store
        .set_organisation(&coordinator(), &cm.login, Some("Org A"))
        .unwrap();
    store
        .apply(
            &cm,
            AssignCareTeam {
                person_id: PID.into(),
                version: r.version,
                slot: ContactKind::PreReleaseCm,
                contact_id: Some("cm-2".into()),
            },
        )
        .unwrap();
}

#[test]
fn invalid_input_is_refused_and_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let (mut store, _path) = seeded(&dir);
    let r = record(&store);
    let before = counts(&store);
    let change = |date: &str, reason: ChangeReason, text: &str| ChangeReleaseDate {
        person_id: PID.into(),
        version: r.version,
        date: Some(d(date)),
        certainty: Certainty::Confirmed,
        kind: None,
        source: None,
        reason,
        reason_text: text.into(),
    };
    for cmd in [
        change("2026-04-01", ChangeReason::Other, "  "),
        change("2037-01-01", ChangeReason::Correction, ""),
    ] {
        let err = store.apply(&coordinator(), cmd).unwrap_err();
        assert!(matches!(err, StoreError::Field { .. }), "{err}");
    }
    let err = store
        .apply(
            &coordinator(),
            AssignCareTeam {
                person_id: PID.into(),
                version: r.version,
                slot: ContactKind::EcmProvider,
                contact_id: Some("nobody".into()),
            },
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Field { .. }), "{err}");
    let err = store
        .apply(
            &coordinator(),
            AddNote {
                person_id: "no-such-person".into(),
                text: "x".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(counts(&store), before);
    // "other" with words is fine.
    store
        .apply(
            &coordinator(),
            change("2026-04-01", ChangeReason::Other, "typo"),
        )
        .unwrap();
}

#[test]
fn users_bootstrap_then_admin_only() {
    let dir = TempDir::new().unwrap();
    let (mut store, _path) = new_store(&dir);
    let first = Actor::new("root-ish", Role::Viewer);
    store
        .add_user(&first, "coord", "Coordinator", Role::Coordinator)
        .unwrap();
    assert_eq!(store.role_of("coord").unwrap(), Some(Role::Coordinator));
    let err = store
        .add_user(&as_role(Role::Nurse), "n2", "Nurse Two", Role::Nurse)
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Denied {
                action: Action::Admin,
                ..
            }
        ),
        "{err}"
    );
    store
        .add_user(&coordinator(), "n2", "Nurse Two", Role::Nurse)
        .unwrap();
    store
        .set_role(&coordinator(), "n2", Role::Eligibility)
        .unwrap();
    assert_eq!(store.role_of("n2").unwrap(), Some(Role::Eligibility));
    assert_eq!(store.role_of("stranger").unwrap(), None);
    store.set_active(&coordinator(), "n2", false).unwrap();
    assert_eq!(store.role_of("n2").unwrap(), None);
    let users = store.list_users().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[1].added_by, "coord");
    assert!(matches!(
        store.add_user(&coordinator(), "n2", "again", Role::Nurse),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        count(&store, "audit"),
        4,
        "two adds, a role change, a deactivation; the refused add wrote nothing"
    );
}

#[test]
fn data_version_moves_when_another_connection_commits() {
    let dir = TempDir::new().unwrap();
    let (store, path) = seeded(&dir);
    let v0 = store.data_version().unwrap();
    assert_eq!(store.data_version().unwrap(), v0);
    let mut other = Store::open(&path, clock()).unwrap();
    let r = record(&store);
    other
        .apply(
            &coordinator(),
            SetCarePlan {
                person_id: PID.into(),
                version: r.version,
                status: CarePlanStatus::Complete,
            },
        )
        .unwrap();
    assert_ne!(store.data_version().unwrap(), v0);
}

/// `cargo test --release --test store -- --ignored --nocapture big_roster`
#[test]
#[ignore = "a benchmark: run in release mode"]
fn big_roster_seeds_and_loads_quickly() {
    let dir = TempDir::new().unwrap();
    let (mut store, _path) = new_store(&dir);
    let base = rich_record();
    let mut data = seed_data();
    data.records = (0..100_000)
        .map(|i| {
            let mut r = base.clone();
            r.person.id = format!("p-{i:06}");
            r.person.booking_id = format!("B-{i:06}");
            r
        })
        .collect();
    let started = Instant::now();
    store.seed(&coordinator(), &data).unwrap();
    let seeded = started.elapsed();
    let started = Instant::now();
    let loaded = store.load_records().unwrap();
    let load = started.elapsed();
    println!("seed 100k: {seeded:?}, load_records: {load:?}");
    if std::env::var_os("KEEP_BENCH_DB").is_some() {
        println!("kept {}", dir.keep().display());
        return;
    }
    assert_eq!(loaded.len(), 100_000);
    assert_eq!(loaded[0].medications, base.medications);
}

/// Every role against every command at the store level: an allowed command succeeds, a refused
/// one is `Denied` and writes nothing. The state moves on by the command's usual author, so each
/// command meets the same record whatever the role under test.
#[test]
fn permission_matrix_every_role_every_command() {
    let matrix = PermissionMatrix::default();
    let mut cells = 0;
    for role in Role::all() {
        let dir = TempDir::new().unwrap();
        let (mut store, _path) = seeded(&dir);
        let tester = as_role(role);
        for (name, build) in every_command() {
            let (author, command, _) = build(&record(&store));
            // No write needs Part 2 consent; a care manager's own-organisation grant needs a
            // user with an organisation, and this one has none.
            let allowed = matrix.allows(
                role,
                command.action(),
                reentry_board::domain::role::Context::default(),
            );
            let before = (counts(&store), record(&store));
            match store.apply(&tester, command.clone()) {
                Ok(_) => assert!(allowed, "{role} may not {name}, yet it was saved"),
                Err(StoreError::Denied { role: r, action }) => {
                    assert!(!allowed, "{role} may {name}, yet it was denied");
                    assert_eq!((r, action), (role, command.action()), "{name}");
                    assert_eq!(
                        (counts(&store), record(&store)),
                        before,
                        "{role} refused {name} but something was written"
                    );
                    store
                        .apply(&author, command)
                        .unwrap_or_else(|e| panic!("{name} by {}: {e}", author.login));
                }
                Err(e) => panic!("{role} / {name}: {e}"),
            }
            cells += 1;
        }
    }
    assert_eq!(cells, Role::all().count() * every_command().len());
}

/// Bad input names its field and writes nothing.
#[test]
fn checklist_validation_names_the_field() {
    let dir = TempDir::new().unwrap();
    let (mut store, _path) = seeded(&dir);
    let coord = coordinator();
    let nurse = Actor::new("nurse1", Role::Nurse);
    let r = record(&store);
    let consent = |c: Consent| SetConsent {
        person_id: PID.into(),
        version: r.version,
        consent: c,
    };
    let signed = Consent {
        scope: Some(ConsentScope::MultiAgency),
        signed_on: Some(d("2026-02-01")),
        ..Consent::default()
    };
    let cases: Vec<(Actor, Command, &str)> = vec![
        (
            nurse.clone(),
            SetMedicationSupply {
                person_id: PID.into(),
                medication_id: 2,
                version: r.medications[1].version,
                supply: SupplyStatus::GivenInHand,
                reason: String::new(),
            }
            .into(),
            "supply: \"to order\" cannot go to \"given in hand\" without \"ordered\" first",
        ),
        (
            nurse.clone(),
            SetMedicationSupply {
                person_id: PID.into(),
                medication_id: 1,
                version: r.medications[0].version,
                supply: SupplyStatus::ToOrder,
                reason: "  ".into(),
            }
            .into(),
            "reason: going back a step in supply needs a reason",
        ),
        (
            nurse.clone(),
            SetDmeStatus {
                person_id: PID.into(),
                dme_id: 1,
                version: r.dme[0].version,
                status: DmeStatus::Delivered,
                reason: String::new(),
            }
            .into(),
            "DME status: \"ordered\" cannot go to \"delivered\" without \"ready\" first",
        ),
        (
            coord.clone(),
            ChangeReleaseDate {
                person_id: PID.into(),
                version: r.version,
                date: Some(d("2024-01-01")),
                certainty: Certainty::Confirmed,
                kind: None,
                source: None,
                reason: ChangeReason::Correction,
                reason_text: String::new(),
            }
            .into(),
            "release date: 2024-01-01 is more than a year in the past",
        ),
        (
            coord.clone(),
            AssignCareTeam {
                person_id: PID.into(),
                version: r.version,
                slot: ContactKind::PreReleaseCm,
                contact_id: Some("nobody".into()),
            }
            .into(),
            "pre-release care manager: no contact nobody in the directory",
        ),
        (
            coord.clone(),
            AssignCareTeam {
                person_id: PID.into(),
                version: r.version,
                slot: ContactKind::PreReleaseCm,
                contact_id: Some("ecm-1".into()),
            }
            .into(),
            "pre-release care manager: Contact ecm-1 is listed as post-release ECM provider",
        ),
        (
            coord.clone(),
            consent(Consent {
                signed_on: Some(d("2026-03-02")),
                ..signed.clone()
            })
            .into(),
            "signed on: 2026-03-02 is in the future",
        ),
        (
            coord.clone(),
            consent(Consent {
                expires_on: Some(d("2026-01-01")),
                ..signed.clone()
            })
            .into(),
            "expires on: 2026-01-01 is before the signed date",
        ),
        (
            coord.clone(),
            consent(Consent {
                scope: None,
                ..signed.clone()
            })
            .into(),
            "scope: a signed consent says what it covers",
        ),
        (
            coord.clone(),
            consent(Consent {
                part2: true,
                ..Consent::default()
            })
            .into(),
            "signed on: a consent with",
        ),
        (
            coord.clone(),
            AddAppointment {
                person_id: PID.into(),
                what: " ".into(),
                on: None,
                status: AppointmentStatus::Planned,
            }
            .into(),
            "what: say what the appointment is for",
        ),
        (
            coord.clone(),
            AddAppointment {
                person_id: PID.into(),
                what: "Dental".into(),
                on: None,
                status: AppointmentStatus::Booked,
            }
            .into(),
            "date: a booked appointment needs its date",
        ),
        (
            coord.clone(),
            AddAppointment {
                person_id: PID.into(),
                what: "Dental".into(),
                on: Some(d("2036-03-01")),
                status: AppointmentStatus::Planned,
            }
            .into(),
            "date: 2036-03-01 is more than 732 days ahead",
        ),
        (
            coord.clone(),
            SetAppointment {
                person_id: PID.into(),
                version: r.version,
                appointment_id: 1,
                on: Some(d("2026-03-25")),
                status: AppointmentStatus::Kept,
            }
            .into(),
            "status: an appointment on 2026-03-25 cannot be kept yet",
        ),
        (
            coord.clone(),
            CancelAppointment {
                person_id: PID.into(),
                version: r.version,
                appointment_id: 1,
                reason: String::new(),
            }
            .into(),
            "reason: say why the appointment is cancelled",
        ),
        (
            coord.clone(),
            SetTransport {
                person_id: PID.into(),
                version: r.version,
                status: TransportStatus::Arranged,
                note: String::new(),
            }
            .into(),
            "note: say who picks the person up",
        ),
        (
            coord.clone(),
            SetNotification {
                person_id: PID.into(),
                version: r.version,
                recipient: Recipient::Mcp,
                status: NotificationStatus::Acknowledged,
                reason: String::new(),
            }
            .into(),
            "notification status: \"pending\" cannot go to \"acknowledged\" without \"sent\" first",
        ),
        (
            coord.clone(),
            SetReferralStatus {
                person_id: PID.into(),
                version: r.version,
                referral_id: 1,
                status: NotificationStatus::Sent,
                reason: String::new(),
            }
            .into(),
            "referral status: it is already \"sent\"",
        ),
    ];
    let before = (counts(&store), record(&store));
    for (actor, command, expected) in cases {
        let err = store.apply(&actor, command).unwrap_err();
        assert!(
            matches!(err, StoreError::Field { .. }),
            "{expected}: not a field error: {err}"
        );
        assert!(
            err.to_string().starts_with(expected),
            "expected {expected:?}, got {err}"
        );
        assert_eq!((counts(&store), record(&store)), before, "{expected}");
    }
}

/// Removing a DME item entered by mistake: a reason is required, a stale version is a conflict,
/// and the removal is one audit row (with the reason and the row as it was) and one event that
/// tells the hub the item is no longer needed.
#[test]
fn remove_dme_needs_a_reason_and_writes_one_audit_row_and_one_event() {
    let dir = TempDir::new().unwrap();
    let (mut store, _path) = seeded(&dir);
    let cm = Actor::new("cm1", Role::CareManager);
    let walker = record(&store).dme[0].clone();
    let remove = |version: i64, reason: &str| RemoveDme {
        person_id: PID.into(),
        dme_id: walker.id,
        version,
        reason: reason.into(),
    };
    let before = counts(&store);
    let err = store.apply(&cm, remove(walker.version, "  ")).unwrap_err();
    assert_eq!(err.to_string(), "reason: say why the DME item is removed");
    let err = store
        .apply(&cm, remove(walker.version - 1, "entered twice"))
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    let err = store
        .apply(
            &as_role(Role::Records),
            remove(walker.version, "entered twice"),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Denied {
                role: Role::Records,
                action: Action::ConfirmDme
            }
        ),
        "{err}"
    );
    assert_eq!(counts(&store), before, "refusals write nothing");

    let (audit, outbox) = (count(&store, "audit"), count(&store, "outbox"));
    let saved = store
        .apply(&cm, remove(walker.version, "entered twice"))
        .unwrap();
    assert!(record(&store).dme.is_empty());
    assert_eq!(count(&store, "audit"), audit + 1);
    assert_eq!(count(&store, "outbox"), outbox + 1);
    let row = store.audit_for(PID).unwrap().pop().unwrap();
    assert_eq!(row.id, saved.audit_id);
    assert_eq!(
        (row.kind.as_str(), row.entity.as_str()),
        ("dme_removed", "dme")
    );
    assert_eq!(row.reason.as_deref(), Some("entered twice"));
    assert!(row.before.unwrap().contains("Walker"));
    assert_eq!(
        row.after.as_deref(),
        Some("null"),
        "nothing after a removal"
    );
    let ev = store.outbox_for(PID).unwrap().pop().unwrap();
    assert_eq!(Some(ev.event_id), saved.event_id);
    assert_eq!(ev.event_type, "dme_status_changed");
    let payload: Value = serde_json::from_str(&ev.payload).unwrap();
    assert_eq!(payload["data"]["status"], "not_needed");
    assert_eq!(payload["data"]["kind"], "Walker");
    reentry_board::hub::schemas::validate(&payload).unwrap();
    // Gone is gone: a second removal is a conflict naming who removed it, and writes nothing.
    let before = counts(&store);
    let err = store
        .apply(&cm, remove(walker.version + 1, "again"))
        .unwrap_err();
    match &err {
        StoreError::Conflict {
            changed_by, what, ..
        } => {
            assert_eq!(changed_by, "cm1");
            assert!(what.contains("(removed)"), "{err}");
        }
        other => panic!("expected a conflict, got {other}"),
    }
    assert_eq!(counts(&store), before);

    // A new item never takes the removed one's number, so a stale edit of the walker (read
    // before it was removed) cannot land on it.
    store
        .apply(
            &cm,
            AddDme {
                person_id: PID.into(),
                item: "Cane".into(),
                status: DmeStatus::Identified,
            },
        )
        .unwrap();
    let cane = record(&store).dme[0].clone();
    assert_ne!(cane.id, walker.id);
    let err = store
        .apply(
            &cm,
            SetDmeStatus {
                person_id: PID.into(),
                dme_id: walker.id,
                version: walker.version,
                status: DmeStatus::Ordered,
                reason: String::new(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert_eq!(record(&store).dme[0].status, DmeStatus::Identified);
}
