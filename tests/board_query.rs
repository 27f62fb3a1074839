//! The board read from the board index equals the full computation (every record through the
//! timeline engine and the filters, kept here as the reference): bands, counts, order, strips,
//! flags, every filter and the search, on many days, after random edits from two sessions, and
//! under changed offsets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reentry_board::clock::{Clock, FixedClock};
use reentry_board::demo::synthetic_data;
use reentry_board::domain::board::{self, BoardRow};
use reentry_board::domain::board_entry::comparable_readiness;
use reentry_board::domain::filter::{Filter, fold};
use reentry_board::domain::*;
use reentry_board::store::*;
use tempfile::TempDir;

fn today() -> NaiveDate {
    "2026-03-01".parse().unwrap()
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::on(today()))
}

/// The board as the full computation lays it out: person ids in list order.
fn reference(
    rows: &[BoardRow],
    q: &BoardQuery,
    rules: &Rules,
) -> (Vec<String>, Vec<(Band, usize)>) {
    let tasks: HashSet<&str> = q.my_tasks.iter().map(String::as_str).collect();
    let without_my_work = Filter {
        my_work: None,
        ..q.filter.clone()
    };
    let mut visible: Vec<&BoardRow> = rows
        .iter()
        .filter(|row| {
            q.filter.matches(row, rules)
                || (q.filter.my_work.is_some()
                    && tasks.contains(row.record.person.id.as_str())
                    && without_my_work.matches(row, rules))
        })
        .collect();
    visible.sort_by_key(|r| r.readiness.band);
    let counts = Band::all()
        .map(|b| (b, visible.iter().filter(|r| r.readiness.band == b).count()))
        .collect();
    (
        visible.iter().map(|r| r.record.person.id.clone()).collect(),
        counts,
    )
}

/// Everything the index gives for `q`, read in windows of `page` rows.
fn from_index(store: &Store, q: &BoardQuery, page: usize) -> Vec<BoardItem> {
    let mut all: Vec<BoardItem> = Vec::new();
    loop {
        let next = store
            .board_window(q, all.last().map(|i| &i.key), page)
            .unwrap();
        let done = next.len() < page;
        all.extend(next);
        if done {
            return all;
        }
    }
}

fn compare(store: &Store, q: &BoardQuery, what: &str) {
    let rules = store.board_rules().unwrap();
    let records = store.load_records().unwrap();
    let rows = board::build(records, q.today, &rules);
    let (want, want_counts) = reference(&rows, q, &rules);
    let got = from_index(store, q, 37);
    let got_ids: Vec<String> = got.iter().map(|i| i.entry().person_id.clone()).collect();
    if got_ids != want {
        let missing: Vec<&String> = want.iter().filter(|i| !got_ids.contains(i)).collect();
        let extra: Vec<&String> = got_ids.iter().filter(|i| !want.contains(i)).collect();
        let first = got_ids.iter().zip(&want).position(|(a, b)| a != b);
        let describe = |id: &String| {
            let row = rows.iter().find(|r| &r.record.person.id == id).unwrap();
            format!(
                "{id} band {:?} release {:?} name {} {} booking {}",
                row.readiness.band,
                row.record.release.date,
                row.record.person.name.last,
                row.record.person.name.first,
                row.record.person.booking_id
            )
        };
        panic!(
            "{what}: order differs: {} got, {} wanted; missing {:?}; extra {:?}; first difference at {first:?}: got {:?} wanted {:?}",
            got_ids.len(),
            want.len(),
            missing
                .iter()
                .take(3)
                .map(|i| describe(i))
                .collect::<Vec<_>>(),
            extra
                .iter()
                .take(3)
                .map(|i| describe(i))
                .collect::<Vec<_>>(),
            first.map(|f| describe(&got_ids[f])),
            first.map(|f| describe(&want[f])),
        );
    }
    let counts = store.board_counts(q).unwrap();
    assert_eq!(counts.to_vec(), want_counts, "{what}: counts");
    // Backwards from the end gives the same list.
    let mut back: Vec<BoardItem> = Vec::new();
    loop {
        let prev = store
            .board_window_before(q, back.first().map(|i| &i.key), 23)
            .unwrap();
        let done = prev.len() < 23;
        back.splice(0..0, prev);
        if done {
            break;
        }
    }
    let back_ids: Vec<String> = back.iter().map(|i| i.entry().person_id.clone()).collect();
    assert_eq!(back_ids, want, "{what}: backwards");
    let by_id: std::collections::HashMap<&str, &BoardRow> = rows
        .iter()
        .map(|r| (r.record.person.id.as_str(), r))
        .collect();
    for item in &got {
        let row = by_id[item.entry().person_id.as_str()];
        let r = &row.record;
        assert_eq!(item.key.band, row.readiness.band, "{what}: band");
        assert_eq!(
            item.readiness,
            comparable_readiness(r, q.today, &rules),
            "{what}: strip of {}",
            r.person.id
        );
        let e = item.entry();
        // The record-made flags of the row.
        assert_eq!(e.late_entry, row.readiness.late_entry, "{what}: late entry");
        assert_eq!(e.youth, r.person.youth);
        assert_eq!(e.protected, r.has_part2());
        assert_eq!(e.open_barrier, r.barriers.iter().any(|b| b.is_open()));
        assert_eq!(
            e.unacknowledged_change,
            r.unacknowledged_changes(rules.change_window_days) > 0
        );
        assert_eq!(
            e.open_date_flag,
            r.date_flags.iter().any(|f| f.status == FlagStatus::Open)
        );
        let since = chrono::DateTime::parse_from_rfc3339("2026-02-20T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            e.last_date_change.is_some_and(|t| t > since),
            r.date_changed_since(since)
        );
        assert_eq!(
            e.care_manager_name.as_deref(),
            r.care_team.pre_release_cm.as_ref().map(|c| c.name.as_str())
        );
        assert_eq!(e.facility_name, r.person.facility.name);
    }
}

/// Every filter the board offers, alone and combined, on `day`.
fn queries(store: &Store, day: NaiveDate, rng: &mut ChaCha8Rng) -> Vec<(String, BoardQuery)> {
    let records = store.load_records().unwrap();
    let pick = |rng: &mut ChaCha8Rng| &records[rng.random_range(0..records.len())];
    let base = BoardQuery::new(day);
    let with = |f: Filter| BoardQuery {
        filter: f,
        ..base.clone()
    };
    let mut out = vec![("no filter".to_string(), base.clone())];
    for band in Band::all() {
        out.push((
            format!("band {band}"),
            with(Filter {
                band: Some(band),
                ..Filter::default()
            }),
        ));
    }
    out.push((
        "at risk".into(),
        with(Filter {
            at_risk_only: true,
            ..Filter::default()
        }),
    ));
    let tasks: Vec<String> = (0..3).map(|_| pick(rng).person.id.clone()).collect();
    for role in Role::all() {
        out.push((
            format!("my work {role}"),
            with(Filter {
                my_work: Some(role),
                ..Filter::default()
            }),
        ));
        out.push((
            format!("my work {role} with tasks"),
            BoardQuery {
                my_tasks: tasks.clone(),
                ..with(Filter {
                    my_work: Some(role),
                    ..Filter::default()
                })
            },
        ));
    }
    let r = pick(rng);
    out.push((
        "facility".into(),
        with(Filter {
            facility: Some(r.person.facility.id.clone()),
            ..Filter::default()
        }),
    ));
    out.push((
        "facility and unit, at risk".into(),
        with(Filter {
            facility: Some(r.person.facility.id.clone()),
            unit: Some(r.person.unit.clone()),
            at_risk_only: true,
            ..Filter::default()
        }),
    ));
    if let Some(cm) = records
        .iter()
        .find_map(|r| r.care_team.pre_release_cm.as_ref())
    {
        out.push((
            "care manager".into(),
            with(Filter {
                care_manager: Some(cm.id.clone()),
                ..Filter::default()
            }),
        ));
    }
    for _ in 0..4 {
        let r = pick(rng);
        let last = fold(&r.person.name.last);
        let part: String = last.chars().take(3).collect();
        let booking = fold(&r.person.booking_id);
        let tail: String = booking
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        for search in [
            part.clone(),
            format!("{last} {}", fold(&r.person.name.first)),
            tail,
        ] {
            out.push((
                format!("search {search:?}"),
                with(Filter {
                    search: search.clone(),
                    ..Filter::default()
                }),
            ));
        }
    }
    for search in ["dang", "sorensen", "a e", "zzzz"] {
        out.push((
            format!("search {search:?} in the near band"),
            with(Filter {
                search: search.into(),
                band: Some(Band::Near),
                ..Filter::default()
            }),
        ));
        out.push((
            format!("search {search:?}"),
            with(Filter {
                search: search.into(),
                ..Filter::default()
            }),
        ));
    }
    out
}

/// One random edit of a random person through one of the sessions.
fn random_edit(rng: &mut ChaCha8Rng, store: &mut Store, ids: &[String]) {
    let id = ids[rng.random_range(0..ids.len())].clone();
    let r = store.load_record(&id).unwrap().unwrap();
    let coord = Actor::new("coord", Role::Coordinator);
    let nurse = Actor::new("nurse1", Role::Nurse);
    let day = |rng: &mut ChaCha8Rng| today() - Days::new(60) + Days::new(rng.random_range(0..260));
    let (actor, command): (Actor, Command) = match rng.random_range(0..8) {
        0 => (
            coord,
            ChangeReleaseDate {
                person_id: id.clone(),
                version: r.version,
                date: rng.random_bool(0.8).then(|| day(rng)),
                certainty: Certainty::Projected,
                kind: None,
                source: None,
                reason: ChangeReason::Correction,
                reason_text: String::new(),
            }
            .into(),
        ),
        1 => (
            nurse,
            SetConsent {
                person_id: id.clone(),
                version: r.version,
                consent: Consent {
                    scope: Some(ConsentScope::MultiAgency),
                    signed_on: Some(today() - Days::new(rng.random_range(0..30))),
                    expires_on: rng
                        .random_bool(0.5)
                        .then(|| today() + Days::new(rng.random_range(0..60))),
                    signed_by_guardian: rng.random_bool(0.5),
                    part2: false,
                },
            }
            .into(),
        ),
        2 => (
            coord,
            RecordBarrier {
                person_id: id.clone(),
                milestone: MilestoneCode::all()
                    .nth(rng.random_range(0..MilestoneCode::all().count()))
                    .unwrap(),
                reason: BarrierReason::all().next().unwrap(),
                text: "waiting".into(),
            }
            .into(),
        ),
        3 => (
            coord,
            MarkMilestone {
                person_id: id.clone(),
                milestone: MilestoneCode::all()
                    .nth(rng.random_range(0..MilestoneCode::all().count()))
                    .unwrap(),
                kind: if rng.random_bool(0.5) {
                    MarkKind::Done
                } else {
                    MarkKind::NotNeeded
                },
            }
            .into(),
        ),
        4 => (
            Actor::new("po1", Role::Probation),
            FlagDateChange {
                person_id: id.clone(),
                proposed: Some(day(rng)),
                reason: ChangeReason::Correction,
                reason_text: String::new(),
            }
            .into(),
        ),
        5 => (
            coord,
            SetTransport {
                person_id: id.clone(),
                version: r.version,
                status: TransportStatus::Arranged,
                note: "van".into(),
            }
            .into(),
        ),
        6 => (
            nurse,
            SetNaloxone {
                person_id: id.clone(),
                version: r.version,
                status: Some(NaloxoneStatus::Offered),
            }
            .into(),
        ),
        _ => (
            coord,
            SetCarePlan {
                person_id: id.clone(),
                version: r.version,
                status: CarePlanStatus::all()
                    .nth(rng.random_range(0..CarePlanStatus::all().count()))
                    .unwrap(),
            }
            .into(),
        ),
    };
    match store.apply(&actor, command) {
        Ok(_) | Err(StoreError::Field { .. } | StoreError::Invalid(_)) => {}
        Err(e) => panic!("edit refused: {e}"),
    }
}

#[test]
fn the_indexed_board_equals_the_full_computation() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("board.db");
    let mut data = synthetic_data(700, today(), 5).unwrap();
    // Names whose letters do not decompose, for the folded search.
    data.records[3].person.name = PersonName::new("Đặng", "Thị");
    data.records[4].person.name = PersonName::new("Sørensen", "Æsa");
    let ids: Vec<String> = data.records.iter().map(|r| r.person.id.clone()).collect();
    let mut one = Store::create(&path, clock()).unwrap();
    one.seed(&Actor::new("coord", Role::Coordinator), &data)
        .unwrap();
    let mut two = Store::open(&path, clock()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for i in 0..150 {
        let store = if i % 2 == 0 { &mut one } else { &mut two };
        random_edit(&mut rng, store, &ids);
    }
    let days = [
        today(),
        today().succ_opt().unwrap(),
        today() - Days::new(45),
        // Long before most due days: overdue work is rare, and read through its own indexes.
        today() - Days::new(300),
        today() + Days::new(rng.random_range(1..200)),
    ];
    for day in days {
        for (what, q) in queries(&one, day, &mut rng) {
            compare(&two, &q, &format!("{what} on {day}"));
        }
    }
    // Changed offsets: the index is rebuilt and still equals the reference.
    let rules = Rules {
        near_band_days: 10,
        services_window_days: 60,
        screening_window_days: 120,
        due_soon_days: 3,
        screening: 120,
        care_plan: 21,
        ..Rules::default()
    };
    assert!(one.use_board_rules(&rules).unwrap());
    for i in 0..40 {
        let store = if i % 2 == 0 { &mut one } else { &mut two };
        random_edit(&mut rng, store, &ids);
    }
    for day in [today(), today() + Days::new(30)] {
        for (what, q) in queries(&two, day, &mut rng) {
            compare(&one, &q, &format!("{what} on {day}, county offsets"));
        }
    }
}
