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
