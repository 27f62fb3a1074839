//! The board index: each entry gives what the timeline engine gives for its record on any day, and
//! the stored index stays equal to one rebuilt from scratch through every kind of writer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use reentry_board::clock::{Clock, FixedClock};
use reentry_board::demo::{fixture_data, synthetic_data};
use reentry_board::domain::board_entry::{board_entry, comparable_readiness, search_text};
use reentry_board::domain::filter::is_my_work;
use reentry_board::domain::*;
use reentry_board::meeting::{Attendee, MeetingRecord};
use reentry_board::store::*;
use tempfile::TempDir;

fn today() -> NaiveDate {
    "2026-03-01".parse().unwrap()
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::on(today()))
}

fn coordinator() -> Actor {
    Actor::new("coord", Role::Coordinator)
}

/// Offsets unlike the defaults in every window, still valid.
fn county_rules() -> Rules {
    let rules = Rules {
        screening: 120,
        care_manager: 75,
        care_plan: 21,
        warm_handoff: 10,
        medications_ordered: 10,
        due_soon_days: 3,
        late_entry_grace_days: 10,
        near_band_days: 10,
        services_window_days: 60,
        screening_window_days: 120,
        ..Rules::default()
    };
    rules.validate().unwrap();
    rules
}

/// Days around the seed day, the days a consent starts and ends, and a midnight roll-over.
fn days_for(records: &[PersonRecord]) -> Vec<NaiveDate> {
    let mut days: Vec<NaiveDate> = (0..16)
        .map(|i| today() - Days::new(200) + Days::new(i * 27))
        .collect();
    days.push(today());
    days.push(today().succ_opt().unwrap());
    for r in records.iter().take(40) {
        for d in [r.consent.signed_on, r.consent.expires_on]
            .into_iter()
            .flatten()
        {
            days.extend([d.pred_opt().unwrap(), d, d.succ_opt().unwrap()]);
        }
    }
    days
}

fn assert_entry_matches(record: &PersonRecord, rules: &Rules, days: &[NaiveDate]) {
    let entry = board_entry(record, rules).expect("on the board");
    assert_eq!(entry.search, search_text(record));
    for &day in days {
        let want = comparable_readiness(record, day, rules);
        assert_eq!(
            entry.readiness(day, rules),
            want,
            "{} on {day}",
            record.person.id
        );
        let row = BoardRow {
            record: record.clone(),
            readiness: readiness(record, day, rules),
        };
        for role in Role::all() {
            assert_eq!(
                entry.is_my_work(role, day, rules),
                is_my_work(role, &row, rules),
                "{} {role} on {day}",
                record.person.id
            );
        }
    }
}

#[test]
fn entries_give_the_timeline_on_every_day() {
    for (seed, rules) in [(1, Rules::default()), (2, county_rules())] {
        let data = synthetic_data(400, today(), seed).unwrap();
        let days = days_for(&data.records);
        for record in &data.records {
            assert_entry_matches(record, &rules, &days);
        }
        for record in &data.released {
            assert_eq!(board_entry(record, &rules), None, "released people are off");
        }
    }
    let fixtures = fixture_data(today()).unwrap();
    let days = days_for(&fixtures.records);
    for record in &fixtures.records {
        assert_entry_matches(record, &Rules::default(), &days);
    }
}

#[test]
fn consent_valid_between_signature_and_expiry() {
    let data = synthetic_data(50, today(), 3).unwrap();
    let mut record = data.records[0].clone();
    record.marks.clear();
    record.consent = Consent {
        scope: Some(ConsentScope::MultiAgency),
        signed_on: Some(today()),
        expires_on: Some(today() + Days::new(30)),
        signed_by_guardian: true,
        part2: false,
    };
    let days: Vec<NaiveDate> = (0..60)
        .map(|i| today() - Days::new(10) + Days::new(i))
        .collect();
    assert_entry_matches(&record, &Rules::default(), &days);
    // A barrier on the consent shows only while it is not valid.
    record.barriers.push(Barrier {
        id: 99,
        milestone: MilestoneCode::Consent,
        reason: BarrierReason::all().next().unwrap(),
        text: String::new(),
        opened_on: today(),
        resolved_on: None,
    });
    assert_entry_matches(&record, &Rules::default(), &days);
}

fn assert_index_right(store: &Store, after: &str) {
    let stored = store.board_index_rows().unwrap();
    let rebuilt = store.board_index_rebuilt().unwrap();
    assert_eq!(stored.len(), rebuilt.len(), "after {after}: row count");
    for (s, r) in stored.iter().zip(&rebuilt) {
        assert_eq!(s, r, "after {after}");
    }
    // The tally the counts sum over matches the rows.
    let conn = rusqlite::Connection::open_with_flags(
        store.path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let read = |sql: &str| -> Vec<(i64, i64, i64)> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(
        read("SELECT order_day, overdue_after, people FROM board_index_tally ORDER BY 1, 2"),
        read(
            "SELECT order_day, overdue_after, count(*) FROM board_index GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        "after {after}: the tally"
    );
    // The trigram index of the search text matches the rows it indexes.
    let rw = rusqlite::Connection::open(store.path()).unwrap();
    rw.execute(
        "INSERT INTO board_search (board_search, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .unwrap_or_else(|e| panic!("after {after}: the search index: {e}"));
}

fn seeded(n: Option<usize>) -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create(dir.path().join("board.db"), clock()).unwrap();
    let data = match n {
        Some(n) => synthetic_data(n, today(), 11).unwrap(),
        None => fixture_data(today()).unwrap(),
    };
    store.seed(&coordinator(), &data).unwrap();
    (dir, store)
}

#[test]
fn seed_builds_the_index() {
    for n in [Some(30), Some(5_200), None] {
        let (_dir, store) = seeded(n);
        let rows = store.board_index_rows().unwrap();
        assert_eq!(rows.len(), store.load_records().unwrap().len());
        assert!(!rows.is_empty());
        assert_index_right(&store, &format!("seed {n:?}"));
    }
}

/// One command of every kind, each on a person it changes, the index checked after each.
#[test]
fn every_command_keeps_the_index_right() {
    let (_dir, mut store) = seeded(None);
    let records = store.load_records().unwrap();
    let nurse = Actor::new("nurse1", Role::Nurse);
    let records_clerk = Actor::new("records1", Role::Records);
    let probation = Actor::new("po1", Role::Probation);
    let coord = coordinator();
    let with_meds = records
        .iter()
        .find(|r| !r.medications.is_empty())
        .expect("a person with medications");
    let pid = |i: usize| records[i % records.len()].person.id.clone();
    let fresh = |store: &Store, id: &str| store.load_record(id).unwrap().unwrap();
    let check = |store: &mut Store, actor: &Actor, what: &str, command: Command| {
        store
            .apply(actor, command)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_index_right(store, what);
    };

    let id = pid(0);
    let v = fresh(&store, &id).version;
    check(
        &mut store,
        &coord,
        "ChangeReleaseDate",
        ChangeReleaseDate {
            person_id: id.clone(),
            version: v,
            date: Some(today() + Days::new(3)),
            certainty: Certainty::Confirmed,
            kind: None,
            source: None,
            reason: ChangeReason::Correction,
            reason_text: String::new(),
        }
        .into(),
    );
    let r = fresh(&store, &id);
    let change = r.release_history.last().unwrap().id;
    check(
        &mut store,
        &coord,
        "AcknowledgeDateChange",
        AcknowledgeDateChange {
            person_id: id.clone(),
            change_id: change,
        }
        .into(),
    );
    check(
        &mut store,
        &probation,
        "FlagDateChange",
        FlagDateChange {
            person_id: id.clone(),
            proposed: Some(today() + Days::new(40)),
            reason: ChangeReason::Correction,
            reason_text: String::new(),
        }
        .into(),
    );
    let r = fresh(&store, &id);
    let flag = r.date_flags.last().unwrap().id;
    check(
        &mut store,
        &coord,
        "DecideDateFlag",
        DecideDateFlag {
            person_id: id.clone(),
            version: r.version,
            flag_id: flag,
            accept: true,
            certainty: Certainty::Projected,
        }
        .into(),
    );

    let id = pid(1);
    let r = fresh(&store, &id);
    check(
        &mut store,
        &nurse,
        "SetConsent",
        SetConsent {
            person_id: id.clone(),
            version: r.version,
            consent: Consent {
                scope: Some(ConsentScope::MultiAgency),
                signed_on: Some(today()),
                expires_on: Some(today() + Days::new(365)),
                signed_by_guardian: true,
                part2: false,
            },
        }
        .into(),
    );
    check(
        &mut store,
        &coord,
        "AddAppointment",
        AddAppointment {
            person_id: id.clone(),
            what: "clinic".into(),
            on: Some(today() + Days::new(20)),
            status: AppointmentStatus::Booked,
        }
        .into(),
    );
    let r = fresh(&store, &id);
    let appt = r.appointments.last().unwrap().id;
    check(
        &mut store,
        &coord,
        "SetAppointment",
        SetAppointment {
            person_id: id.clone(),
            version: r.version,
            appointment_id: appt,
            on: Some(today() + Days::new(21)),
            status: AppointmentStatus::Planned,
        }
        .into(),
    );
    let r = fresh(&store, &id);
    check(
        &mut store,
        &coord,
        "CancelAppointment",
        CancelAppointment {
            person_id: id.clone(),
            version: r.version,
            appointment_id: appt,
            reason: "moved".into(),
        }
        .into(),
    );
    let r = fresh(&store, &id);
    check(
        &mut store,
        &coord,
        "SetTransport",
        SetTransport {
            person_id: id.clone(),
            version: r.version,
            status: TransportStatus::Arranged,
            note: "van".into(),
        }
        .into(),
    );
    check(
        &mut store,
        &coord,
        "AddReferral",
        AddReferral {
            person_id: id.clone(),
            target: ReferralTarget::all().next().unwrap(),
            status: NotificationStatus::all().next().unwrap(),
        }
        .into(),
    );
    let r = fresh(&store, &id);
    let referral = r.referrals.last().unwrap().id;
    check(
        &mut store,
        &coord,
        "SetReferralStatus",
        SetReferralStatus {
            person_id: id.clone(),
            version: r.version,
            referral_id: referral,
            status: NotificationStatus::all().nth(1).unwrap(),
            reason: "sent".into(),
        }
        .into(),
    );
    let r = fresh(&store, &id);
    check(
        &mut store,
        &records_clerk,
        "SetNotification",
        SetNotification {
            person_id: id.clone(),
            version: r.version,
            recipient: Recipient::Mcp,
            status: if r
                .notifications
                .iter()
                .any(|n| n.recipient == Recipient::Mcp && n.status == NotificationStatus::Sent)
            {
                NotificationStatus::Acknowledged
            } else {
                NotificationStatus::Sent
            },
            reason: "sent".into(),
        }
        .into(),
    );

    let id = with_meds.person.id.clone();
    let r = fresh(&store, &id);
    let m = r.medications.first().unwrap();
    let next = SupplyStatus::all()
        .find(|s| m.supply.step_to(*s) == Ok(Step::Forward))
        .or_else(|| SupplyStatus::all().find(|s| m.supply.step_to(*s).is_ok()))
        .unwrap();
    check(
        &mut store,
        &nurse,
        "SetMedicationSupply",
        SetMedicationSupply {
            person_id: id.clone(),
            medication_id: m.id,
            version: m.version,
            supply: next,
            reason: "undo".into(),
        }
        .into(),
    );
    check(
        &mut store,
        &nurse,
        "AddMedication",
        AddMedication {
            person_id: id.clone(),
            name: "buprenorphine".into(),
            class: MedClass::all().next().unwrap(),
            long_acting_injectable: false,
            next_dose: None,
            supply: SupplyStatus::all().next().unwrap(),
        }
        .into(),
    );
    let r = fresh(&store, &id);
    let m = r.medications.last().unwrap();
    check(
        &mut store,
        &nurse,
        "RemoveMedication",
        RemoveMedication {
            person_id: id.clone(),
            medication_id: m.id,
            version: m.version,
            reason: "entered twice".into(),
        }
        .into(),
    );
    let r = fresh(&store, &id);
    check(
        &mut store,
        &nurse,
        "SetNaloxone",
        SetNaloxone {
            person_id: id.clone(),
            version: r.version,
            status: Some(NaloxoneStatus::Offered),
        }
        .into(),
    );
    check(
        &mut store,
        &nurse,
        "AddDme",
        AddDme {
            person_id: id.clone(),
            item: "walker".into(),
            status: DmeStatus::Identified,
        }
        .into(),
    );
    let r = fresh(&store, &id);
    let item = r.dme.last().unwrap();
    let next = DmeStatus::all()
        .find(|s| item.status.step_to(*s) == Ok(Step::Forward))
        .unwrap();
    check(
        &mut store,
        &nurse,
        "SetDmeStatus",
        SetDmeStatus {
            person_id: id.clone(),
            dme_id: item.id,
            version: item.version,
            status: next,
            reason: String::new(),
        }
        .into(),
    );
    let r = fresh(&store, &id);
    let item = r.dme.last().unwrap();
    check(
        &mut store,
        &nurse,
        "RemoveDme",
        RemoveDme {
            person_id: id.clone(),
            dme_id: item.id,
            version: item.version,
            reason: "entered twice".into(),
        }
        .into(),
    );

    let id = pid(2);
    let cm = store
        .contacts()
        .unwrap()
        .into_iter()
        .find(|c| c.kind == ContactKind::PreReleaseCm)
        .expect("a care manager");
    let r = fresh(&store, &id);
    check(
        &mut store,
        &coord,
        "AssignCareTeam",
        AssignCareTeam {
            person_id: id.clone(),
            version: r.version,
            slot: ContactKind::PreReleaseCm,
            contact_id: Some(cm.id.clone()),
        }
        .into(),
    );
    let r = fresh(&store, &id);
    let mut medi_cal = r.medi_cal.clone();
    medi_cal.status = MediCalStatus::all().last().unwrap();
    check(
        &mut store,
        &Actor::new("elig1", Role::Eligibility),
        "SetMediCal",
        SetMediCal {
            person_id: id.clone(),
            version: r.version,
            medi_cal,
        }
        .into(),
    );
    let r = fresh(&store, &id);
    let mut screening = r.screening.clone();
    screening.result = ScreeningResult::Eligible;
    check(
        &mut store,
        &nurse,
        "SetScreening",
        SetScreening {
            person_id: id.clone(),
            version: r.version,
            screening,
        }
        .into(),
    );
    let r = fresh(&store, &id);
    check(
        &mut store,
        &coord,
        "SetCarePlan",
        SetCarePlan {
            person_id: id.clone(),
            version: r.version,
            status: CarePlanStatus::all().last().unwrap(),
        }
        .into(),
    );
    let r = fresh(&store, &id);
    let mut handoff = r.warm_handoff.clone();
    handoff.status = WarmHandoffStatus::Completed;
    check(
        &mut store,
        &coord,
        "SetWarmHandoff",
        SetWarmHandoff {
            person_id: id.clone(),
            version: r.version,
            handoff,
        }
        .into(),
    );
    check(
        &mut store,
        &coord,
        "RecordBarrier",
        RecordBarrier {
            person_id: id.clone(),
            milestone: MilestoneCode::Transport,
            reason: BarrierReason::all().next().unwrap(),
            text: "no ride".into(),
        }
        .into(),
    );
    let r = fresh(&store, &id);
    let barrier = r.barriers.last().unwrap().id;
    check(
        &mut store,
        &coord,
        "ResolveBarrier",
        ResolveBarrier {
            person_id: id.clone(),
            barrier_id: barrier,
        }
        .into(),
    );
    check(
        &mut store,
        &coord,
        "AddNote",
        AddNote {
            person_id: id.clone(),
            text: "called the clinic".into(),
        }
        .into(),
    );
    check(
        &mut store,
        &coord,
        "MarkMilestone",
        MarkMilestone {
            person_id: id.clone(),
            milestone: MilestoneCode::YouthCaseManagement,
            kind: MarkKind::NotNeeded,
        }
        .into(),
    );

    // The meeting's end, with a task that is then completed.
    let started = clock().now();
    store
        .record_meeting(
            &coord,
            &MeetingRecord {
                started_at: started,
                ended_at: started + chrono::Duration::minutes(30),
                attendees: vec![Attendee {
                    name: "Coord".into(),
                    login: Some("coord".into()),
                }],
                reviews: Vec::new(),
            },
        )
        .unwrap();
    assert_index_right(&store, "meeting end");
}

#[test]
fn changed_offsets_rebuild_the_index() {
    let (_dir, mut store) = seeded(Some(300));
    assert_eq!(store.board_rules().unwrap(), Rules::default());
    assert!(!store.use_board_rules(&Rules::default()).unwrap());
    let before = store.board_index_rows().unwrap();
    assert!(store.use_board_rules(&county_rules()).unwrap());
    assert_eq!(store.board_rules().unwrap(), county_rules());
    let after = store.board_index_rows().unwrap();
    assert_ne!(before, after, "other offsets give other due dates");
    assert_index_right(&store, "changed offsets");
    // Writers keep using the stored offsets.
    let r = store.load_records().unwrap().remove(0);
    store
        .apply(
            &coordinator(),
            SetCarePlan {
                person_id: r.person.id.clone(),
                version: r.version,
                status: CarePlanStatus::all().last().unwrap(),
            },
        )
        .unwrap();
    assert_index_right(&store, "an edit under county offsets");
}

#[test]
fn migration_builds_the_index_of_an_older_database() {
    let (dir, store) = seeded(Some(700));
    let want = store.board_index_rows().unwrap();
    drop(store);
    let path = dir.path().join("board.db");
    {
        // Back to the schema before the index.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let triggers: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'
                 AND (name LIKE 'board_dirty_%' OR name LIKE 'board_tally_%' OR name LIKE 'board_search_%')",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for t in triggers {
            conn.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
        }
        conn.execute_batch(&format!(
            "DROP TABLE board_index; DROP TABLE board_index_rules; DROP TABLE board_index_dirty;
             DROP TABLE board_index_tally; DROP TABLE board_search; PRAGMA user_version = {};",
            SCHEMA_VERSION - 3
        ))
        .unwrap();
    }
    let store = Store::open(&path, clock()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.board_index_rows().unwrap(), want);
    assert_index_right(&store, "migration");
}

#[test]
fn rows_written_behind_the_store_are_caught_up_on_open() {
    let (dir, store) = seeded(Some(40));
    let id = store.load_records().unwrap()[0].person.id.clone();
    drop(store);
    let path = dir.path().join("board.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute("UPDATE persons SET last_name = 'Đặng' WHERE id = ?1", [&id])
            .unwrap();
    }
    let store = Store::open(&path, clock()).unwrap();
    assert_index_right(&store, "a repair in the sqlite3 shell");
    let row = store
        .board_index_rows()
        .unwrap()
        .into_iter()
        .find(|r| r.entry.person_id == id)
        .unwrap();
    assert!(
        row.entry.search.starts_with("dang "),
        "{}",
        row.entry.search
    );
}

/// The roster feed through the real binary: a first import, a re-import that moves a date and
/// drops people, and the confirmations of who left; the index checked after each.
#[test]
fn roster_imports_and_confirmations_keep_the_index_right() {
    let home = TempDir::new().unwrap();
    let db = home.path().join("board.db");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_reentry-board"))
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env_remove("REENTRY_BOARD_DB")
            .env_remove("REENTRY_BOARD_CONFIG")
            .args(args)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let roster = |name: &str, rows: &[&str]| {
        let mut text = String::from(
            "booking_id,last_name,first_name,dob,facility,unit,booked_on,release_date,certainty,release_type,custody,youth\n",
        );
        for row in rows {
            let f: Vec<&str> = row.split(',').collect();
            text.push_str(&format!(
                "{},{},Pat,1990-01-01,amcj,{},2026-01-10,{},{},sentence_end,in_custody,n\n",
                f[0], f[1], f[2], f[3], f[4]
            ));
        }
        let path = home.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let check = |after: &str| {
        let store = Store::open_read_only(&db, clock()).unwrap();
        assert_index_right(&store, after);
        store.board_index_rows().unwrap().len()
    };
    let facilities = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/facilities.csv");
    run(&["init"]);
    let login = reentry_board::identity::current_login();
    run(&["users", "add", &login, "--role", "coordinator"]);
    run(&["import", "--kind", "facilities", facilities]);
    let full = roster(
        "full.csv",
        &[
            "B-1,Doe,A-East,2026-05-01,projected",
            "B-2,Đặng,B-Pod,2026-03-05,confirmed",
            "B-3,Sørensen,C-Pod,,unknown",
        ],
    );
    run(&["import", &full, "--as-of", "2026-03-01"]);
    assert_eq!(check("the first import"), 3);
    let less = roster("less.csv", &["B-1,Doe,A-West,2026-03-10,confirmed"]);
    run(&["import", &less, "--as-of", "2026-03-01"]);
    assert_eq!(
        check("a re-import"),
        3,
        "people who left stay until confirmed"
    );
    run(&[
        "roster",
        "confirm",
        "B-2",
        "released",
        "--reason",
        "released from court",
    ]);
    assert_eq!(check("a release confirmed"), 2);
    run(&[
        "roster",
        "confirm",
        "B-3",
        "transferred",
        "--destination",
        "state_prison",
    ]);
    assert_eq!(check("a transfer confirmed"), 1);
}
