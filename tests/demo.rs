//! The demo data: fixtures cover every band and edge case, and the generator is deterministic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use reentry_board::demo::{DemoError, FixtureFiles, fixture_data, parse_fixtures, synthetic_data};
use reentry_board::domain::{
    Band, BarrierReason, DmeStatus, FacilityKind, MedClass, MilestoneState, NameFormat,
    PersonRecord, Readiness, Rules, SeedData, readiness,
};
use unicode_width::UnicodeWidthStr;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const TODAY: &str = "2026-05-11";

fn fixtures() -> SeedData {
    fixture_data(day(TODAY)).unwrap()
}

fn ready(seed: &SeedData, today: NaiveDate) -> Vec<(&PersonRecord, Readiness)> {
    let rules = Rules::default();
    seed.records
        .iter()
        .map(|r| (r, readiness(r, today, &rules)))
        .collect()
}

fn bands(seed: &SeedData, today: NaiveDate) -> BTreeMap<Band, usize> {
    let mut out = BTreeMap::new();
    for (_, r) in ready(seed, today) {
        *out.entry(r.band).or_default() += 1;
    }
    out
}

#[test]
fn fixtures_cover_every_band() {
    let seed = fixtures();
    let bands = bands(&seed, day(TODAY));
    for band in Band::all() {
        assert!(
            bands.get(&band).is_some_and(|n| *n >= 3),
            "{band}: {bands:?}"
        );
    }
}

#[test]
fn fixtures_cover_the_edge_cases() {
    let seed = fixtures();
    let today = day(TODAY);
    let all = ready(&seed, today);
    assert!(
        (75..=90).contains(&seed.records.len()),
        "{}",
        seed.records.len()
    );
    let days: BTreeSet<i64> = all.iter().filter_map(|(_, r)| r.days_to_release).collect();
    assert!(days.contains(&0), "someone is released today");
    assert!(
        days.iter().any(|d| *d < 0),
        "an expected date already passed"
    );
    assert!(all.iter().any(|(_, r)| r.late_entry), "a late entry");
    assert!(all.iter().filter(|(p, _)| p.person.youth).count() >= 5);
    let meds = || seed.records.iter().flat_map(|r| &r.medications);
    for name in [
        "Buprenorphine",
        "Methadone",
        "Naltrexone XR",
        "Paliperidone palmitate",
    ] {
        assert!(meds().any(|m| m.name.starts_with(name)), "{name}");
    }
    assert!(meds().any(|m| m.class == MedClass::MatOud && m.long_acting_injectable));
    assert!(meds().any(|m| m.class == MedClass::Psychotropic && m.long_acting_injectable));
    assert!(
        meds()
            .filter(|m| m.long_acting_injectable)
            .all(|m| m.next_dose.is_some())
    );
    let dme = || seed.records.iter().flat_map(|r| &r.dme);
    assert!(dme().any(|d| d.item.contains("Oxygen")));
    assert!(dme().any(|d| d.item.contains("Wheelchair")));
    assert!(dme().any(|d| d.status == DmeStatus::Identified));
    assert!(
        seed.records
            .iter()
            .any(|r| r.barriers.iter().any(|b| b.is_open()))
    );
    assert!(
        all.iter()
            .any(|(_, r)| r.count(MilestoneState::Blocked) > 0),
        "an open barrier blocks a milestone"
    );
    let settled = |r: &Readiness| r.milestones.iter().filter(|m| m.state.is_settled()).count();
    assert!(
        all.iter().any(|(_, r)| settled(r) == r.milestones.len()),
        "someone with everything settled"
    );
    assert!(
        all.iter().any(|(_, r)| settled(r) == 0),
        "someone with nothing settled"
    );
    assert!(
        all.iter().any(|(p, _)| p.unacknowledged_changes(14) > 0),
        "a date change to acknowledge"
    );
    assert!(
        seed.records
            .iter()
            .flat_map(|r| &r.release_history)
            .any(|c| c.is_acknowledged())
    );
    assert!(
        seed.records
            .iter()
            .any(|r| r.care_team.same_manager_pre_and_post())
    );
}

#[test]
fn fixtures_have_facilities_staff_and_a_consistent_directory() {
    let seed = fixtures();
    let kinds: BTreeSet<_> = seed.facilities.iter().map(|f| f.kind).collect();
    assert!(kinds.contains(&FacilityKind::AdultJail));
    assert!(kinds.contains(&FacilityKind::YouthFacility));
    let used: BTreeSet<_> = seed.records.iter().map(|r| &r.person.facility.id).collect();
    assert!(used.len() >= 2);
    let units: BTreeSet<_> = seed.records.iter().map(|r| &r.person.unit).collect();
    assert!(units.len() >= 5);
    assert!(seed.users.iter().any(|u| u.login == "nurse.kim"));
    let ids: BTreeSet<_> = seed.contacts.iter().map(|c| c.id.as_str()).collect();
    for r in &seed.records {
        let team = &r.care_team;
        for c in [
            &team.pre_release_cm,
            &team.post_release_ecm,
            &team.probation_officer,
            &team.behavioral_health,
        ]
        .into_iter()
        .flatten()
        {
            assert!(ids.contains(c.id.as_str()), "{}", c.id);
            assert!(seed.contacts.contains(c));
        }
        assert!(seed.facilities.contains(&r.person.facility));
    }
    assert!(seed.contacts.iter().all(|c| c.phone.contains("555")));
}

#[test]
fn fixture_booking_and_person_ids_are_unique_and_stable() {
    let seed = fixtures();
    let bookings: BTreeSet<_> = seed.records.iter().map(|r| &r.person.booking_id).collect();
    let ids: BTreeSet<_> = seed.records.iter().map(|r| &r.person.id).collect();
    assert_eq!(bookings.len(), seed.records.len());
    assert_eq!(ids.len(), seed.records.len());
    // Ids do not depend on the day: re-seeding tomorrow keeps them.
    let tomorrow = fixture_data(day("2026-05-12")).unwrap();
    let again: Vec<_> = tomorrow.records.iter().map(|r| &r.person.id).collect();
    let first: Vec<_> = seed.records.iter().map(|r| &r.person.id).collect();
    assert_eq!(first, again);
}

#[test]
fn fixture_names_exercise_unicode_and_punctuation() {
    let seed = fixtures();
    let names: Vec<String> = seed
        .records
        .iter()
        .map(|r| r.person.name.formatted(NameFormat::LastFirst))
        .collect();
    let any = |f: &dyn Fn(&str) -> bool| names.iter().any(|n| f(n));
    for accented in ["Núñez", "José", "Zoë", "Bảo"] {
        assert!(any(&|n| n.contains(accented)), "{accented}");
    }
    assert!(any(&|n| n.contains("O'Connor")) && any(&|n| n.contains("D'Angelo")));
    assert!(any(&|n| n
        .split(", ")
        .next()
        .is_some_and(|last| last.contains('-'))));
    assert!(any(&|n| n.chars().count() > 40));
    assert!(
        seed.records
            .iter()
            .any(|r| r.person.name.last.chars().count() > 40),
        "a surname longer than 40 characters"
    );
    assert!(any(&|n| n.width() > n.chars().count()), "a CJK (wide) name");
}

#[test]
fn fixtures_load_on_many_days() {
    for today in [
        "2024-02-29",
        "2025-02-28",
        "2025-12-31",
        "2026-01-01",
        "2028-02-29",
    ] {
        let today = day(today);
        let seed = fixture_data(today).unwrap_or_else(|e| panic!("{today}: {e}"));
        let released_today = seed
            .records
            .iter()
            .filter(|r| r.release.date == Some(today))
            .count();
        assert!(released_today >= 1, "{today}");
        let bands = bands(&seed, today);
        assert_eq!(bands.len(), Band::all().count(), "{today}: {bands:?}");
        for r in &seed.records {
            let born = r.person.date_of_birth.unwrap();
            assert!(born < today && r.person.booked_on <= today);
        }
    }
}

#[test]
fn malformed_rows_name_file_line_and_field() {
    let embedded = FixtureFiles::embedded();
    let broken = |roster: &str| -> DemoError {
        let files = FixtureFiles { roster, ..embedded };
        parse_fixtures(&files, day(TODAY)).unwrap_err()
    };
    let lines: Vec<&str> = embedded.roster.lines().collect();
    let header_at = lines
        .iter()
        .position(|l| l.starts_with("booking_id"))
        .unwrap();
    let first_row = lines[header_at + 1];

    let bad_code = first_row.replace(",confirmed,", ",certain,");
    let text = format!("{}\n{bad_code}\n", lines[..=header_at].join("\n"));
    let e = broken(&text);
    assert_eq!(
        (e.file(), e.line()),
        ("roster.csv", header_at as u64 + 2),
        "{e}"
    );
    assert!(e.to_string().contains("`certainty`"), "{e}");

    let bad_number = first_row.replacen(",210,", ",soon,", 1);
    let text = format!("{}\n{bad_number}\n", lines[..=header_at].join("\n"));
    let e = broken(&text);
    assert!(e.to_string().contains("`booked_days_ago`"), "{e}");

    let duplicate = format!(
        "{}\n{first_row}\n{first_row}\n",
        lines[..=header_at].join("\n")
    );
    let e = broken(&duplicate);
    assert!(e.to_string().contains("duplicate"), "{e}");

    let short = format!("{}\nB-1,Doe\n", lines[..=header_at].join("\n"));
    assert_eq!(broken(&short).file(), "roster.csv");

    let files = FixtureFiles {
        medications: "booking_id,name,class,lai,next_dose_in_days,supply,confirmed_by,confirmed_days_ago\nB-0,X,chronic,,,to_order,,\n",
        ..embedded
    };
    let e = parse_fixtures(&files, day(TODAY)).unwrap_err();
    assert_eq!((e.file(), e.line()), ("medications.csv", 2));
    assert!(e.to_string().contains("`booking_id`"), "{e}");
}

#[test]
fn synthetic_is_deterministic() {
    let today = day(TODAY);
    let a = synthetic_data(500, today, 7).unwrap();
    assert_eq!(a, synthetic_data(500, today, 7).unwrap());
    assert_ne!(a.records, synthetic_data(500, today, 8).unwrap().records);
    assert_eq!(a.records.len(), 500);
    assert_eq!(a.facilities, fixtures().facilities);
    assert_eq!(a.contacts, fixtures().contacts);
}

#[test]
fn synthetic_covers_every_band_and_edge() {
    let today = day(TODAY);
    let seed = synthetic_data(1_000, today, 42).unwrap();
    let bands = bands(&seed, today);
    for band in Band::all() {
        assert!(
            bands.get(&band).is_some_and(|n| *n >= 10),
            "{band}: {bands:?}"
        );
    }
    let all = ready(&seed, today);
    assert!(all.iter().any(|(_, r)| r.late_entry));
    assert!(all.iter().any(|(_, r)| r.days_to_release == Some(0)));
    assert!(seed.records.iter().any(|r| r.person.youth));
    let meds = || seed.records.iter().flat_map(|r| &r.medications);
    assert!(meds().any(|m| m.class == MedClass::MatOud));
    assert!(meds().any(|m| m.long_acting_injectable));
    assert!(seed.records.iter().any(|r| !r.dme.is_empty()));
    assert!(seed.records.iter().any(|r| !r.barriers.is_empty()));
    assert!(
        seed.records
            .iter()
            .any(|r| r.person.name.last.contains('-'))
    );
    let settled = |r: &Readiness| r.milestones.iter().filter(|m| m.state.is_settled()).count();
    assert!(all.iter().any(|(_, r)| settled(r) == r.milestones.len()));
    let unknown = seed
        .records
        .iter()
        .filter(|r| r.release.date.is_none())
        .count();
    assert!((50..=150).contains(&unknown), "{unknown}");
    let bookings: BTreeSet<_> = seed.records.iter().map(|r| &r.person.booking_id).collect();
    assert_eq!(bookings.len(), seed.records.len());
    let ids: BTreeSet<_> = seed.records.iter().map(|r| &r.person.id).collect();
    assert_eq!(ids.len(), seed.records.len());
}

#[test]
fn synthetic_scales() {
    let today = day("2024-02-29");
    let seed = synthetic_data(20_000, today, 1).unwrap();
    let bookings: BTreeSet<_> = seed.records.iter().map(|r| &r.person.booking_id).collect();
    assert_eq!(bookings.len(), 20_000);
    assert!(synthetic_data(0, today, 1).unwrap().records.is_empty());
}

/// The demo seeded into a real database on `TODAY`.
fn seeded_demo(dir: &tempfile::TempDir) -> reentry_board::store::Store {
    use reentry_board::clock::FixedClock;
    use reentry_board::domain::Role;
    use reentry_board::store::{Actor, Store};
    let path = dir.path().join("demo.db");
    let mut store = Store::create(&path, std::sync::Arc::new(FixedClock::on(day(TODAY)))).unwrap();
    store
        .seed(&Actor::new("coord.patel", Role::Coordinator), &fixtures())
        .unwrap();
    store
}

#[test]
fn the_released_cohort_gives_every_measure_a_denominator() {
    use reentry_board::report::{self, stats};
    let dir = tempfile::TempDir::new().unwrap();
    let store = seeded_demo(&dir);
    let today = day(TODAY);
    let from = today - chrono::Duration::days(89);
    let r = report::build(&store, &Rules::default(), from, today).unwrap();
    // released.csv: one person every 3 days from 2 days ago; 2..=89 days ago is rows 0..=29.
    assert_eq!(r.released, 30);
    for m in &r.measures {
        assert!(m.denominator > 0, "{}: no one in the period", m.key);
        assert!(
            m.numerator < m.denominator,
            "{}: everyone, not a mix",
            m.key
        );
        assert!(m.numerator > 0, "{}: no one", m.key);
    }
    let num = |key: &str| {
        let m = r.get(key).unwrap();
        (m.numerator, m.denominator)
    };
    // naloxone cycles given, given, offered, declined, blank, given, n/a over rows 0..=29: n/a
    // (rows 6, 13, 20, 27) leaves 26; given is rows 0 1 5 7 8 12 14 15 19 21 22 26 28 29.
    assert_eq!(num("naloxone_given"), (14, 26));
    // Medi-Cal cycles active_on_release, active, suspended, active_on_release,
    // application_submitted, unsuspend_requested, active_on_release; row 13 has other coverage
    // (out of the denominator). Active: rows 0 1 3 6 7 8 10 14 15 17 20 21 22 24 27 28 29.
    assert_eq!(num("medi_cal_active"), (17, 29));
    // MCP sent or acknowledged: rows with row % 7 in {0, 1, 3, 5}.
    assert_eq!(num("mcp_notified"), (18, 30));
    // Unknown date: rows 5, 22; released earlier than expected: rows 11, 27.
    assert_eq!(num("unplanned"), (4, 30));
    // history.csv: B-25-007102, -105, -108, -111, Y-25-000719, B-25-007124 (-130 is older).
    assert_eq!(num("date_changed"), (6, 30));
    assert_eq!(r.date_changes, 7, "B-25-007108 changed twice");
    // dme.csv: 7104 and 7114 delivered, 7121 only identified.
    assert_eq!(num("dme_delivered"), (2, 3));
    // MAT: 7100 in hand, 7101/7108/7128 long-acting, 7112 Rx sent, 7116/7129 in hand; 7105
    // only ordered, 7120 refused.
    assert_eq!(num("mat_continuity"), (7, 9));
    assert_eq!(
        r.barriers.first().map(|b| (b.reason, b.count)),
        Some((BarrierReason::NoHousing, 3))
    );

    // The Stats screen's trend has shape: most of the 13 weeks release someone.
    let q = stats::StatsQuery::new(from, today);
    let s = stats::load(&store, &Rules::default(), &q).unwrap();
    let busy = s.weeks.iter().filter(|w| w.released > 0).count();
    assert!(busy >= 11, "{busy} of {} weeks", s.weeks.len());
}

#[test]
fn released_people_are_off_the_board_with_a_dated_trail() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = seeded_demo(&dir);
    let seed = fixtures();
    assert_eq!(seed.released.len(), 40);
    let board = store.load_records().unwrap();
    assert_eq!(board.len(), seed.records.len());
    assert!(board.iter().all(|r| r.person.released_on.is_none()));

    // Row 0 of released.csv: booked 162 days ago, released 2 days ago.
    let first = &seed.released[0];
    assert_eq!(first.person.booking_id, "B-25-007100");
    let audit = store.audit_for(&first.person.id).unwrap();
    let kinds: Vec<(&str, &str)> = audit
        .iter()
        .map(|a| (a.kind.as_str(), a.at.get(..10).unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("person_booked", "2025-11-30"),
            ("person_released", "2026-05-09")
        ]
    );
    let events: Vec<String> = store
        .outbox_for(&first.person.id)
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(events, ["person_booked", "person_released"]);
    let record = store.load_record(&first.person.id).unwrap().unwrap();
    let done = reentry_board::report::history::done_on(&record, &audit);
    // screened_days_ago 152, cm_days_ago 102 in the fixture.
    assert_eq!(
        done.get(&reentry_board::domain::MilestoneCode::Screening),
        Some(&day("2025-12-10"))
    );
    assert_eq!(
        done.get(&reentry_board::domain::MilestoneCode::CareManager),
        Some(&day("2026-01-29"))
    );
}

#[test]
fn malformed_released_rows_name_file_line_and_field() {
    let embedded = FixtureFiles::embedded();
    let lines: Vec<&str> = embedded.released.lines().collect();
    let header_at = lines
        .iter()
        .position(|l| l.starts_with("booking_id"))
        .unwrap();
    let head = lines[..=header_at].join("\n");
    let first_row = lines[header_at + 1];
    let broken = |row: &str| -> DemoError {
        let released = format!("{head}\n{row}\n");
        let files = FixtureFiles {
            released: &released,
            ..embedded
        };
        parse_fixtures(&files, day(TODAY)).unwrap_err()
    };
    let at = ("released.csv", header_at as u64 + 2);

    let e = broken(&first_row.replace(",completed,", ",done,"));
    assert_eq!((e.file(), e.line()), at, "{e}");
    assert!(e.to_string().contains("field `handoff`"), "{e}");

    // Screened, but no day given: the measures could not place it.
    let e = broken(&first_row.replace(",152,", ",,"));
    assert_eq!((e.file(), e.line()), at, "{e}");
    assert!(
        e.to_string()
            .contains("field `screened_days_ago`: required when it was done"),
        "{e}"
    );

    let e = broken(&first_row.replacen(",2,", ",soon,", 1));
    assert_eq!((e.file(), e.line()), at, "{e}");
    assert!(e.to_string().contains("`expected_days_ago`"), "{e}");

    let e = broken(&first_row.replace(",cm-01,", ",po-01,"));
    assert!(e.to_string().contains("field `pre_cm`"), "{e}");

    // A booking id the roster already has.
    let roster_id = embedded
        .roster
        .lines()
        .find(|l| l.starts_with("B-"))
        .and_then(|l| l.split(',').next())
        .unwrap();
    let e = broken(&first_row.replace("B-25-007100", roster_id));
    assert_eq!((e.file(), e.line()), at, "{e}");
    assert!(e.to_string().contains("duplicate"), "{e}");
}
