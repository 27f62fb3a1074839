//! The report tests' database, built day by day with a fixed clock: five people, three released
//! in June 2026. The Stats screen tests read the same database, so the hand counts agree.

use std::path::Path;
use std::sync::Arc;

use reentry_board::clock::FixedClock;
use reentry_board::domain::*;
use reentry_board::store::*;

use super::records::{d, facility, person};

pub fn coord() -> Actor {
    Actor::new("coord", Role::Coordinator)
}

pub fn open(path: &Path, day: &str) -> Store {
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
pub fn build(dir: &Path) -> std::path::PathBuf {
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
            released: vec![],
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
