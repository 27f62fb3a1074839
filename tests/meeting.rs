//! The meeting: the agenda from a fixed day, a meeting stored in a real SQLite file, and its
//! minutes through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use chrono::Duration;
use reentry_board::clock::FixedClock;
use reentry_board::domain::*;
use reentry_board::meeting::{self, Attendee, MeetingRecord, Review, Task, Why};
use reentry_board::store::*;
use support::records::{d, facility};

const TODAY: &str = "2026-06-01";

/// p-1 releases in 5 days, p-2 in 200 days with an open flag, p-3 in 60 days with overdue
/// screening, p-4 has no date, p-5 releases in 200 days with nothing open (not on the agenda),
/// p-6 releases in 2 days (before p-1) and also has an open flag (listed once).
fn records() -> Vec<PersonRecord> {
    let flag = DateFlag {
        id: 1,
        proposed: None,
        reason: ChangeReason::Other,
        reason_text: String::new(),
        raised_by: "records".into(),
        raised_at: d("2026-05-30").and_hms_opt(9, 0, 0).unwrap().and_utc(),
        status: FlagStatus::Open,
    };
    support::records::agenda_people(flag)
}

fn build(dir: &Path) -> PathBuf {
    let path = dir.join("meeting.db");
    let mut s = Store::create(&path, Arc::new(FixedClock::on(d(TODAY)))).unwrap();
    s.seed(
        &Actor::new("coord", Role::Coordinator),
        &SeedData {
            facilities: vec![facility()],
            contacts: vec![],
            users: vec![],
            records: records(),
            released: vec![],
        },
    )
    .unwrap();
    path
}

#[test]
fn agenda_order_and_membership_from_a_fixed_day() {
    let rules = Rules::default();
    let rows = board::build(records(), d(TODAY), &rules);
    let agenda = meeting::agenda(&rows, &rules);
    let got: Vec<(&str, Why)> = agenda
        .iter()
        .map(|a| (a.person_id.as_str(), a.why))
        .collect();
    assert_eq!(
        got,
        vec![
            ("p-6", Why::ReleasingSoon),
            ("p-1", Why::ReleasingSoon),
            ("p-2", Why::OpenDateFlag),
            ("p-3", Why::OverdueWork),
            ("p-4", Why::UnknownDate),
        ]
    );
}

fn record() -> MeetingRecord {
    let start = d(TODAY).and_hms_opt(9, 0, 0).unwrap().and_utc();
    MeetingRecord {
        started_at: start,
        ended_at: start + Duration::minutes(20),
        attendees: vec![
            Attendee {
                name: "coord".into(),
                login: Some("coord".into()),
            },
            Attendee {
                name: "Dana from probation".into(),
                login: None,
            },
        ],
        reviews: vec![
            Review {
                person_id: "p-1".into(),
                seconds: 95,
                reviewed: true,
                decisions: vec!["Order the buprenorphine 30-day supply today".into()],
                tasks: vec![Task {
                    person_id: "p-1".into(),
                    what: "Call the pharmacy about BUPRENORPHINE".into(),
                    owner: "nurse1".into(),
                    due: d("2026-06-02"),
                }],
            },
            Review {
                person_id: "p-6".into(),
                seconds: 30,
                reviewed: false,
                decisions: vec![],
                tasks: vec![],
            },
        ],
    }
}

#[test]
fn a_stored_meeting_sets_last_meeting_and_its_tasks_are_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let mut s = Store::open(&path, Arc::new(FixedClock::on(d(TODAY)))).unwrap();
    assert_eq!(s.last_meeting_end().unwrap(), None);
    let actor = Actor::new("coord", Role::Coordinator);
    let audit_before = s.audit_search(&Default::default()).unwrap().len();
    let outbox_before = s.outbox_counts().unwrap();
    s.record_meeting(&actor, &record()).unwrap();
    assert_eq!(s.last_meeting_end().unwrap(), Some(record().ended_at));
    let tasks = s.open_tasks().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].owner, "nurse1");
    assert_eq!(tasks[0].person_id, "p-1");
    // One audit row, no outbox event: decisions and tasks are local records.
    let audit = s.audit_search(&Default::default()).unwrap();
    assert_eq!(audit.len(), audit_before + 1);
    assert_eq!(audit[0].kind, "meeting_recorded");
    assert!(!audit[0].after.as_deref().unwrap().contains("uprenorphine"));
    assert_eq!(s.outbox_counts().unwrap(), outbox_before);
    let stored = s.meeting_on(Some(d(TODAY))).unwrap().unwrap();
    assert_eq!(stored.record, {
        let mut r = record();
        r.attendees.sort_by(|a, b| a.name.cmp(&b.name));
        r
    });
    // A task without an owner is refused and nothing is written.
    let mut bad = record();
    bad.reviews[0].tasks[0].owner = " ".into();
    assert!(s.record_meeting(&actor, &bad).is_err());
    assert_eq!(s.open_tasks().unwrap().len(), 1);
}

fn cli(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("reentry-board")
        .unwrap()
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("REENTRY_BOARD_CONFIG")
        .args(args)
        .assert()
}

#[test]
fn minutes_command_prints_safe_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let db = path.to_str().unwrap();
    cli(dir.path(), &["minutes", "--db", db])
        .failure()
        .stderr(predicates::str::contains(
            "no meeting has been recorded yet",
        ));
    let mut s = Store::open(&path, Arc::new(FixedClock::on(d(TODAY)))).unwrap();
    s.record_meeting(&Actor::new("coord", Role::Coordinator), &record())
        .unwrap();
    drop(s);
    let out = cli(dir.path(), &["minutes", "--db", db, "--date", TODAY])
        .success()
        .get_output()
        .stdout
        .clone();
    let md = String::from_utf8(out).unwrap();
    assert!(!md.to_lowercase().contains("buprenorphine"), "{md}");
    insta::assert_snapshot!("minutes_md", md);
    let out = cli(dir.path(), &["minutes", "--db", db, "--format", "csv"])
        .success()
        .get_output()
        .stdout
        .clone();
    let csv = String::from_utf8(out).unwrap();
    assert!(csv.starts_with("section,person,what,who,when\n"), "{csv}");
    assert!(
        csv.contains(
            "open task,\"LAST1, F. (B-1)\",Call the pharmacy about [medication],nurse1,2026-06-02"
        ),
        "{csv}"
    );
    cli(dir.path(), &["minutes", "--db", db, "--date", "2026-05-01"])
        .failure()
        .stderr(predicates::str::contains(
            "no meeting was recorded on 2026-05-01",
        ));
}
