//! Hand-built records for tests whose right answers are worked out by hand.

use chrono::NaiveDate;
use reentry_board::domain::*;

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn facility() -> Facility {
    Facility {
        id: "amcj".into(),
        name: "County Jail".into(),
        kind: FacilityKind::AdultJail,
    }
}

pub fn person(n: u32, booked: &str, release: Option<&str>) -> PersonRecord {
    let p = Person {
        id: format!("p-{n}"),
        booking_id: format!("B-{n}"),
        name: PersonName::new(format!("Last{n}"), "First"),
        date_of_birth: None,
        facility: facility().into(),
        unit: "A".into(),
        youth: false,
        booked_on: d(booked),
        custody: CustodyStatus::InCustody,
        released_on: None,
    };
    let release = match release {
        Some(r) => ReleaseDate {
            date: Some(d(r)),
            certainty: Certainty::Confirmed,
            kind: Some(ReleaseType::SentenceEnd),
            source: None,
        },
        None => ReleaseDate::unknown(),
    };
    PersonRecord::new(p, release)
}

/// The meeting tests' people: p-6 (2 days), p-1 (5 days, a protected MAT medication), p-2 (an
/// open date flag), p-3 (overdue in the 15-90 band), p-4 (no date) are on the agenda of
/// 2026-06-01; p-5 (releasing in December, nothing due) is not. p-2 and p-6 carry `flag`.
pub fn agenda_people(flag: DateFlag) -> Vec<PersonRecord> {
    let mut p1 = person(1, "2026-05-20", Some("2026-06-06"));
    p1.medications = vec![Medication {
        id: 1,
        name: "Buprenorphine".into(),
        class: MedClass::MatOud,
        long_acting_injectable: false,
        next_dose: None,
        supply: SupplyStatus::ToOrder,
        confirmed: None,
        version: 1,
    }];
    let mut p2 = person(2, "2026-05-01", Some("2026-12-18"));
    p2.date_flags = vec![flag.clone()];
    let p3 = person(3, "2025-01-01", Some("2026-07-31"));
    let p4 = person(4, "2026-05-25", None);
    let p5 = person(5, "2026-05-30", Some("2026-12-18"));
    let mut p6 = person(6, "2026-05-20", Some("2026-06-03"));
    p6.date_flags = vec![flag];
    vec![p1, p2, p3, p4, p5, p6]
}
