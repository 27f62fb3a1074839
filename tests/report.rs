//! Program measures from a real database built day by day with a fixed clock; every expected
//! number is worked out by hand in the comments.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::sync::Arc;

use assert_cmd::Command;
use reentry_board::clock::FixedClock;
use reentry_board::domain::*;
use reentry_board::report;
use reentry_board::store::*;
use support::records::{d, facility, person};

fn coord() -> Actor {
    Actor::new("coord", Role::Coordinator)
}

fn open(path: &Path, day: &str) -> Store {
    Store::open(path, Arc::new(FixedClock::on(d(day)))).unwrap()
}

fn contact(id: &str, kind: ContactKind) -> Contact {
    Contact {
        id: id.into(),
        name: format!("Contact {id}"),
        organisation: "Org".into(),
        phone: "555-0100".into(),
        kind,
    }
}

fn med(id: i64, name: &str, class: MedClass, supply: SupplyStatus) -> Medication {
    Medication {
        id,
        name: name.into(),
        class,
        long_acting_injectable: false,
        next_dose: None,
        supply,
        confirmed: None,
        version: 1,
    }
}

fn barrier(id: i64, reason: BarrierReason) -> Barrier {
    Barrier {
        id,
        milestone: MilestoneCode::Medications,
        reason,
        text: String::new(),
        opened_on: d("2026-05-20"),
        resolved_on: None,
    }
}

fn version(store: &Store, id: &str) -> i64 {
    store.load_record(id).unwrap().unwrap().version
}

/// Five people; three released in June 2026 (P1, P2, P3), P4 in July, P5 transferred.
fn build(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("report.db");
    // 2026-01-02: P1 and P3 come onto the board.
    let mut s = Store::create(&path, Arc::new(FixedClock::on(d("2026-01-02")))).unwrap();
    let mut p1 = person(1, "2026-01-01", Some("2026-06-20"));
    p1.screening.needs.insert(HealthNeed::SubstanceUseDisorder);
    p1.medications = vec![
        med(
            1,
            "Buprenorphine",
            MedClass::MatOud,
            SupplyStatus::GivenInHand,
        ),
        med(2, "Metformin", MedClass::Chronic, SupplyStatus::GivenInHand),
    ];
    p1.naloxone = Some(NaloxoneStatus::Given);
    p1.medi_cal.status = MediCalStatus::ActiveOnRelease;
    p1.notifications = vec![Notification {
        recipient: Recipient::Mcp,
        status: NotificationStatus::Sent,
    }];
    p1.barriers = vec![barrier(1, BarrierReason::PharmacyDelay)];
    p1.care_team.post_release_ecm = Some(contact("ecm-02", ContactKind::EcmProvider).into());
    let mut p3 = person(3, "2025-12-01", None);
    p3.screening.result = ScreeningResult::NotEligible;
    p3.naloxone = Some(NaloxoneStatus::NotApplicable);
    p3.medi_cal.status = MediCalStatus::OtherCoverage;
    s.seed(
        &coord(),
        &SeedData {
            facilities: vec![facility()],
            contacts: vec![
                contact("cm-01", ContactKind::PreReleaseCm),
                contact("ecm-02", ContactKind::EcmProvider),
            ],
            users: vec![],
            records: vec![p1, p3],
        },
    )
    .unwrap();
    drop(s);

    // P1: screened 2026-02-10 (after T-135 = 2026-02-05 of the final date 2026-06-20).
    let mut s = open(&path, "2026-02-10");
    let v = version(&s, "p-1");
    s.apply(
        &coord(),
        SetScreening {
            person_id: "p-1".into(),
            version: v,
            screening: Screening {
                result: ScreeningResult::Eligible,
                needs: [HealthNeed::SubstanceUseDisorder].into(),
            },
        },
    )
    .unwrap();
    drop(s);
    // P1: care manager 2026-03-01 (T-90 = 2026-03-22: on time).
    let mut s = open(&path, "2026-03-01");
    let v = version(&s, "p-1");
    s.apply(
        &coord(),
        AssignCareTeam {
            person_id: "p-1".into(),
            version: v,
            slot: ContactKind::PreReleaseCm,
            contact_id: Some("cm-01".into()),
        },
    )
    .unwrap();
    drop(s);

    // 2026-05-02: P2, P4, P5 come onto the board (P2 booked 2026-05-01: a late entry).
    let mut s = open(&path, "2026-05-02");
    let mut p2 = person(2, "2026-05-01", Some("2026-06-20"));
    p2.screening.result = ScreeningResult::Eligible;
    p2.screening.needs.insert(HealthNeed::SubstanceUseDisorder);
    p2.care_plan = CarePlanStatus::Draft;
    p2.medications = vec![med(1, "Methadone", MedClass::MatOud, SupplyStatus::Ordered)];
    p2.naloxone = Some(NaloxoneStatus::Offered);
    p2.dme = vec![DmeItem {
        id: 1,
        item: "Wheelchair".into(),
        status: DmeStatus::Ordered,
        confirmed: None,
        version: 1,
    }];
    p2.medi_cal.status = MediCalStatus::Suspended;
    p2.notifications = vec![Notification {
        recipient: Recipient::Mcp,
        status: NotificationStatus::Pending,
    }];
    p2.barriers = vec![
        barrier(1, BarrierReason::PharmacyDelay),
        barrier(2, BarrierReason::NoHousing),
    ];
    let p4 = person(4, "2026-04-01", Some("2026-07-02"));
    let p5 = person(5, "2026-04-01", Some("2026-06-12"));
    s.seed(
        &coord(),
        &SeedData {
            records: vec![p2, p4, p5],
            ..SeedData::default()
        },
    )
    .unwrap();
    // P1: care plan complete.
    let v = version(&s, "p-1");
    s.apply(
        &coord(),
        SetCarePlan {
            person_id: "p-1".into(),
            version: v,
            status: CarePlanStatus::Complete,
        },
    )
    .unwrap();
    drop(s);

    // P1: warm handoff 2026-05-20 (T-14 = 2026-06-06: on time).
    let mut s = open(&path, "2026-05-20");
    let v = version(&s, "p-1");
    s.apply(
        &coord(),
        SetWarmHandoff {
            person_id: "p-1".into(),
            version: v,
            handoff: WarmHandoff {
                status: WarmHandoffStatus::Completed,
                scheduled_on: None,
            },
        },
    )
    .unwrap();
    // P2: the date moves to 2026-06-05 (one change).
    let v = version(&s, "p-2");
    s.apply(
        &coord(),
        ChangeReleaseDate {
            person_id: "p-2".into(),
            version: v,
            date: Some(d("2026-06-05")),
            certainty: Certainty::Confirmed,
            kind: None,
            source: Some(ReleaseSource::CourtOrder),
            reason: ChangeReason::CourtOrder,
            reason_text: String::new(),
        },
    )
    .unwrap();
    drop(s);

    let depart = |day: &str, booking: &str, how: Departure| {
        let mut s = open(&path, day);
        s.confirm_departure(&coord(), booking, &how, d(day), "test")
            .unwrap();
    };
    depart("2026-06-03", "B-2", Departure::Released); // two days before its date: unplanned
    depart("2026-06-15", "B-3", Departure::Released); // unknown date: unplanned
    depart("2026-06-20", "B-1", Departure::Released); // on its date: planned
    depart("2026-07-02", "B-4", Departure::Released); // outside the period
    depart(
        "2026-06-12",
        "B-5",
        Departure::Transferred {
            destination_kind: "state_prison".into(),
            destination_text: String::new(),
        },
    ); // a transfer is not a release
    path
}

fn num(r: &report::Report, key: &str) -> (u64, u64) {
    let m = r.get(key).unwrap_or_else(|| panic!("no measure {key}"));
    (m.numerator, m.denominator)
}

#[test]
fn measures_match_the_hand_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let store = open(&path, "2026-07-10");
    let r = report::build(&store, &Rules::default(), d("2026-06-01"), d("2026-06-30")).unwrap();
    assert_eq!(r.released, 3, "P1, P2, P3; not P4 (July) nor P5 (transfer)");
    // T-135 of P1 is 2026-02-05 (screened 02-10: late); P3 (no date, released 06-15: T-135 =
    // 2026-02-01) was screened out at entry 2026-01-02: on time; P2 was booked after its T-135.
    assert_eq!(num(&r, "screened_by_t135"), (1, 2));
    // Services: P1, P2 (P3 screened out). P2 booked after T-90; P1 assigned 03-01 <= 03-22.
    assert_eq!(num(&r, "care_manager_by_t90"), (1, 1));
    assert_eq!(num(&r, "care_plan_complete"), (1, 2));
    // Handoff needed for P1 (cm-01 -> ecm-02) and P2 (due); P1 done 05-20 <= 06-06; P2 not.
    assert_eq!(num(&r, "warm_handoff_by_t14"), (1, 2));
    assert_eq!(num(&r, "supply_in_hand"), (1, 2));
    assert_eq!(num(&r, "mat_continuity"), (1, 2));
    // P3's naloxone is n/a: out of the denominator.
    assert_eq!(num(&r, "naloxone_given"), (1, 2));
    assert_eq!(num(&r, "dme_delivered"), (0, 1));
    // P3 has other coverage: out of the denominator.
    assert_eq!(num(&r, "medi_cal_active"), (1, 2));
    assert_eq!(num(&r, "mcp_notified"), (1, 3));
    assert_eq!(num(&r, "date_changed"), (1, 3));
    assert_eq!(r.date_changes, 1);
    assert_eq!(num(&r, "unplanned"), (2, 3));
    let barriers: Vec<(BarrierReason, u64, u64)> = r
        .barriers
        .iter()
        .map(|b| (b.reason, b.count, b.people))
        .collect();
    assert_eq!(
        barriers,
        vec![
            (BarrierReason::PharmacyDelay, 2, 2),
            (BarrierReason::NoHousing, 1, 1)
        ]
    );

    // A week with nobody released still has its denominators (0), never a bare rate.
    let weeks = report::weekly(
        &report::cohort(&store, d("2026-06-01"), d("2026-06-30")).unwrap(),
        &Rules::default(),
        d("2026-06-01"),
        d("2026-06-30"),
    );
    assert_eq!(weeks.len(), 5);
    assert_eq!(weeks.iter().map(|w| w.released).sum::<u64>(), 3);
    assert!(weeks.iter().any(|w| {
        w.released == 0
            && w.measures
                .iter()
                .all(|m| m.denominator == 0 && m.percent().is_none())
    }));
}

#[test]
fn report_command_prints_every_number_with_its_denominator() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let run = |format: &str| {
        let out = Command::cargo_bin("reentry-board")
            .unwrap()
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env_remove("REENTRY_BOARD_CONFIG")
            .args([
                "report",
                "--from",
                "2026-06-01",
                "--to",
                "2026-06-30",
                "--format",
                format,
            ])
            .arg("--db")
            .arg(&path)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let csv = run("csv");
    assert!(
        csv.starts_with("measure,label,numerator,denominator,percent,of\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\nscreened_by_t135,screened by T-135,1,2,50,"),
        "{csv}"
    );
    assert!(csv.contains("\nunplanned,"), "{csv}");
    assert!(csv.contains(",2,3,67,released people\n"), "{csv}");
    assert!(csv.contains("\nbarrier:pharmacy_delay,"), "{csv}");
    let md = run("md");
    assert!(md.contains("3 people released in the period."), "{md}");
    assert!(
        md.contains("| DME delivered by release | 0% | 0 of 1 | people with DME |"),
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json["released"], 3);
    assert_eq!(json["measures"][0]["denominator"], 2);
    // No drug names in a report, whatever the format.
    for out in [&csv, &md] {
        assert!(!out.contains("Buprenorphine") && !out.contains("Methadone"));
    }
}
