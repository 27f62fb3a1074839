//! The store under several OS processes: concurrent edits and a writer killed mid-write.
//!
//! The children are this test executable itself, started with an env var naming the database
//! and a filter that runs only the child's (ignored) test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reentry_board::clock::{Clock, FixedClock};
use reentry_board::demo::synthetic_data;
use reentry_board::domain::*;
use reentry_board::store::*;
use tempfile::TempDir;

const DB: &str = "RB_CHILD_DB";
const OUT: &str = "RB_CHILD_OUT";
const SEED: &str = "RB_CHILD_SEED";
const EDITS: &str = "RB_CHILD_EDITS";
const PEOPLE: usize = 4;

fn today() -> NaiveDate {
    "2026-03-01".parse().unwrap()
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::on(today()))
}

fn coordinator() -> Actor {
    Actor::new("coord", Role::Coordinator)
}

/// A small synthetic roster; returns the ids of the people the children edit.
fn seed(path: &Path) -> Vec<String> {
    let data = synthetic_data(PEOPLE, today(), 7).unwrap();
    let ids = data.records.iter().map(|r| r.person.id.clone()).collect();
    let mut store = Store::create(path, clock()).unwrap();
    store.seed(&coordinator(), &data).unwrap();
    ids
}

fn spawn_child(test: &str, envs: &[(&str, String)]) -> Child {
    let mut cmd = Process::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--ignored", "--test-threads=1", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// One random edit of a random person, built from the record as just read (so the other
/// process may change it before the write: that is the point).
fn random_edit(
    rng: &mut ChaCha8Rng,
    store: &Store,
    ids: &[String],
) -> (Actor, reentry_board::store::Command) {
    let id = &ids[rng.random_range(0..ids.len())];
    let r = store.load_record(id).unwrap().unwrap();
    let coord = coordinator();
    match rng.random_range(0..7) {
        0 => (
            coord,
            ChangeReleaseDate {
                person_id: id.clone(),
                version: r.version,
                date: Some(today() + chrono::Days::new(rng.random_range(1..200))),
                certainty: Certainty::Projected,
                kind: None,
                source: None,
                reason: ChangeReason::Correction,
                reason_text: String::new(),
            }
            .into(),
        ),
        1 => (
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
        2 => (
            coord,
            AddNote {
                person_id: id.clone(),
                text: format!("note {}", rng.random_range(0..1000)),
            }
            .into(),
        ),
        3 => (
            coord,
            SetTransport {
                person_id: id.clone(),
                version: r.version,
                status: if rng.random_bool(0.5) {
                    TransportStatus::Arranged
                } else {
                    TransportStatus::NotArranged
                },
                note: "van at 9".into(),
            }
            .into(),
        ),
        4 => {
            // Items come and go: add one, or take out one entered by mistake (with a reason).
            let nurse = Actor::new("nurse1", Role::Nurse);
            match r.dme.first() {
                Some(item) if rng.random_bool(0.5) => (
                    nurse,
                    RemoveDme {
                        person_id: id.clone(),
                        dme_id: item.id,
                        version: item.version,
                        reason: "entered twice".into(),
                    }
                    .into(),
                ),
                _ => (
                    nurse,
                    AddDme {
                        person_id: id.clone(),
                        item: "walker".into(),
                        status: DmeStatus::Identified,
                    }
                    .into(),
                ),
            }
        }
        5 => (
            coord,
            AddAppointment {
                person_id: id.clone(),
                what: "clinic".into(),
                on: None,
                status: AppointmentStatus::Planned,
            }
            .into(),
        ),
        _ => match r.medications.first() {
            // Walk the supply forward, and back one step (with a reason) at the end.
            Some(m) => {
                let next = SupplyStatus::all()
                    .find(|s| m.supply.step_to(*s) == Ok(Step::Forward))
                    .or_else(|| SupplyStatus::all().find(|s| m.supply.step_to(*s).is_ok()))
                    .unwrap();
                (
                    Actor::new("nurse1", Role::Nurse),
                    SetMedicationSupply {
                        person_id: id.clone(),
                        medication_id: m.id,
                        version: m.version,
                        supply: next,
                        reason: "undo".into(),
                    }
                    .into(),
                )
            }
            None => (
                Actor::new("nurse1", Role::Nurse),
                SetNaloxone {
                    person_id: id.clone(),
                    version: r.version,
                    status: Some(NaloxoneStatus::Offered),
                }
                .into(),
            ),
        },
    }
}

/// The child of `two_processes_make_1000_random_edits`: writes one line per attempt.
#[test]
#[ignore = "a child process of two_processes_make_1000_random_edits"]
fn edit_child() {
    let (Some(db), Some(out)) = (env(DB), env(OUT)) else {
        return;
    };
    let seed: u64 = env(SEED).unwrap().parse().unwrap();
    let edits: usize = env(EDITS).unwrap().parse().unwrap();
    let mut store = Store::open(&db, clock()).unwrap();
    store.set_busy_timeout(Duration::from_millis(200)).unwrap();
    let ids: Vec<String> = store
        .load_records()
        .unwrap()
        .into_iter()
        .map(|r| r.person.id)
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut lines = String::new();
    for _ in 0..edits {
        let (actor, command) = random_edit(&mut rng, &store, &ids);
        match store.apply(&actor, command) {
            Ok(saved) => lines.push_str(&format!(
                "ok {} {}\n",
                saved.audit_id,
                saved.event_id.as_deref().unwrap_or("-")
            )),
            Err(StoreError::Conflict { .. }) => lines.push_str("conflict\n"),
            Err(StoreError::Locked { .. }) => lines.push_str("locked\n"),
            Err(e) => panic!("unexpected refusal: {e}"),
        }
    }
    std::fs::write(out, lines).unwrap();
}

#[test]
fn two_processes_make_1000_random_edits() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("board.db");
    seed(&db);
    let base = Store::open(&db, clock()).unwrap();
    let audit0 = base.count_rows("audit").unwrap();
    let outbox0 = base.count_rows("outbox").unwrap();
    drop(base);

    let children: Vec<(Child, std::path::PathBuf)> = (0..2)
        .map(|i| {
            let out = dir.path().join(format!("child{i}.txt"));
            let child = spawn_child(
                "edit_child",
                &[
                    (DB, db.display().to_string()),
                    (OUT, out.display().to_string()),
                    (SEED, (100 + i).to_string()),
                    (EDITS, "500".into()),
                ],
            );
            (child, out)
        })
        .collect();
    let (mut ok, mut conflicts, mut locked) = (Vec::new(), 0, 0);
    for (child, out) in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "child failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        for line in std::fs::read_to_string(out).unwrap().lines() {
            let mut parts = line.split(' ');
            match parts.next() {
                Some("ok") => ok.push((
                    parts.next().unwrap().parse::<i64>().unwrap(),
                    parts.next().unwrap().to_string(),
                )),
                Some("conflict") => conflicts += 1,
                Some("locked") => locked += 1,
                other => panic!("bad line {other:?}"),
            }
        }
    }
    assert_eq!(
        ok.len() + conflicts + locked,
        1000,
        "every attempt is reported"
    );
    assert!(ok.len() > 500, "most edits succeed: {} ok", ok.len());
    assert!(conflicts > 0, "two writers on four people must collide");

    let conn = rusqlite::Connection::open(&db).unwrap();
    let count = |sql: &str, p: &str| -> i64 { conn.query_row(sql, [p], |r| r.get(0)).unwrap() };
    let with_event = ok.iter().filter(|(_, e)| e != "-").count() as i64;
    for (audit_id, event_id) in &ok {
        assert_eq!(
            count(
                "SELECT count(*) FROM audit WHERE id = ?1",
                &audit_id.to_string()
            ),
            1
        );
        if event_id != "-" {
            assert_eq!(
                count("SELECT count(*) FROM outbox WHERE event_id = ?1", event_id),
                1
            );
        }
    }
    let total = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        total("audit"),
        audit0 + ok.len() as i64,
        "no audit row without a success"
    );
    assert_eq!(
        total("outbox"),
        outbox0 + with_event,
        "no event without a success"
    );
    // person_seq has no gaps or doubles for anyone.
    let gaps: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT person_id, max(person_seq) AS m, count(*) AS n
             FROM outbox GROUP BY person_id) WHERE m != n",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(gaps, 0);
    let store = Store::open_read_only(&db, clock()).unwrap();
    assert_eq!(
        store.board_index_rows().unwrap(),
        store.board_index_rebuilt().unwrap(),
        "the board index after two writers"
    );
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// The child of `killed_writer_leaves_all_or_nothing`: writes until it is killed.
#[test]
#[ignore = "a child process of killed_writer_leaves_all_or_nothing"]
fn endless_writer_child() {
    let Some(db) = env(DB) else {
        return;
    };
    let mut store = Store::open(&db, clock()).unwrap();
    store.set_busy_timeout(Duration::from_secs(5)).unwrap();
    let ids: Vec<String> = store
        .load_records()
        .unwrap()
        .into_iter()
        .map(|r| r.person.id)
        .collect();
    for i in 0u64.. {
        let id = &ids[(i as usize) % ids.len()];
        let r = store.load_record(id).unwrap().unwrap();
        let command: reentry_board::store::Command = if i % 2 == 0 {
            ChangeReleaseDate {
                person_id: id.clone(),
                version: r.version,
                date: Some(today() + chrono::Days::new(1 + i % 150)),
                certainty: Certainty::Projected,
                kind: None,
                source: None,
                reason: ChangeReason::Correction,
                reason_text: String::new(),
            }
            .into()
        } else {
            AddAppointment {
                person_id: id.clone(),
                what: "clinic".into(),
                on: None,
                status: AppointmentStatus::Planned,
            }
            .into()
        };
        store.apply(&coordinator(), command).unwrap();
    }
}

/// What the killed writer's two kinds of change left behind, counted three ways each.
#[derive(Debug, PartialEq, Eq)]
struct Traces {
    release_rows: i64,
    release_audits: i64,
    release_events: i64,
    version_bumps: i64,
    appointment_rows: i64,
    appointment_audits: i64,
    appointment_events: i64,
}

fn traces(db: &Path) -> Traces {
    let conn = rusqlite::Connection::open(db).unwrap();
    let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    Traces {
        release_rows: q("SELECT count(*) FROM release_changes"),
        release_audits: q("SELECT count(*) FROM audit WHERE kind = 'release_date_changed'"),
        release_events: q(
            "SELECT count(*) FROM outbox WHERE event_type = 'release_date_changed'
             AND json_extract(payload, '$.actor.user') = 'coord'",
        ),
        version_bumps: q("SELECT sum(version - 1) FROM persons"),
        appointment_rows: q("SELECT count(*) FROM appointments"),
        appointment_audits: q("SELECT count(*) FROM audit WHERE kind = 'appointment_added'"),
        appointment_events: q(
            "SELECT count(*) FROM outbox WHERE event_type = 'milestone_changed'
             AND json_extract(payload, '$.actor.user') = 'coord'",
        ),
    }
}

#[test]
fn killed_writer_leaves_all_or_nothing() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("board.db");
    seed(&db);
    let t0 = traces(&db);
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let started = Instant::now();
    let mut kills = 0;
    let mut last = 0;
    while kills < 40 && started.elapsed() < Duration::from_secs(12) {
        let mut child = spawn_child("endless_writer_child", &[(DB, db.display().to_string())]);
        std::thread::sleep(Duration::from_millis(rng.random_range(20..120)));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the writer stopped by itself: {:?}",
            child.wait_with_output()
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        let t = traces(&db);
        let releases = t.release_rows - t0.release_rows;
        let appointments = t.appointment_rows - t0.appointment_rows;
        assert_eq!(
            (
                t.release_audits - t0.release_audits,
                t.release_events - t0.release_events,
                t.version_bumps - t0.version_bumps
            ),
            (releases, releases, releases),
            "after kill {kills}: {t:?}"
        );
        assert_eq!(
            (
                t.appointment_audits - t0.appointment_audits,
                t.appointment_events - t0.appointment_events
            ),
            (appointments, appointments),
            "after kill {kills}: {t:?}"
        );
        last = releases + appointments;
    }
    assert!(kills >= 10, "only {kills} kills in time");
    // The board index was written in the killed transactions too: it is all there or not at all.
    let store = Store::open_read_only(&db, clock()).unwrap();
    assert_eq!(
        store.board_index_rows().unwrap(),
        store.board_index_rebuilt().unwrap()
    );
    assert!(last > 0, "the writer never got to write");
}
