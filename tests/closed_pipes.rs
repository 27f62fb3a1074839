//! Every command that prints, with its output going to a pipe nobody reads any more
//! (`reentry-board export ... | head -1` once `head` has what it wants): it exits 0, quietly.
//! The pipe's read end is closed before the command starts, so its first write fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::Utc;
use reentry_board::clock::SystemClock;
use reentry_board::domain::Role;
use reentry_board::meeting::{Attendee, MeetingRecord};
use reentry_board::store::{Actor, Store};

const BIN: &str = env!("CARGO_BIN_EXE_reentry-board");

/// A demo database with a recorded meeting, in its own home.
struct Demo {
    home: tempfile::TempDir,
    db: PathBuf,
}

fn demo() -> Demo {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    let out = command(home.path())
        .args(["init", "--demo", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut store = Store::open(&db, Arc::new(SystemClock)).unwrap();
    let start = Utc::now() - chrono::TimeDelta::minutes(30);
    store
        .record_meeting(
            &Actor::new("coord", Role::Coordinator),
            &MeetingRecord {
                started_at: start,
                ended_at: start + chrono::TimeDelta::minutes(20),
                attendees: vec![Attendee {
                    name: "coord".into(),
                    login: Some("coord".into()),
                }],
                reviews: vec![],
            },
        )
        .unwrap();
    Demo { home, db }
}

fn command(home: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("REENTRY_BOARD_DB")
        .env_remove("REENTRY_BOARD_CONFIG")
        .env_remove("REENTRY_SYNC_URL");
    cmd
}

/// Runs `reentry-board ARGS` (with `--db` when `db`) into a closed pipe: asserts exit 0 and
/// nothing on stderr.
fn into_closed_pipe(demo: &Demo, args: &[&str], db: bool) {
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    let mut cmd = command(demo.home.path());
    cmd.args(args);
    if db {
        cmd.arg("--db").arg(&demo.db);
    }
    let out = cmd
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    assert!(stderr.is_empty(), "{args:?} said: {stderr}");
}

#[test]
fn export_json_csv_and_md() {
    let demo = demo();
    for format in ["json", "csv", "md"] {
        into_closed_pipe(&demo, &["export", "--format", format], true);
    }
}

#[test]
fn report() {
    let demo = demo();
    let to = Utc::now().date_naive();
    let from = (to - chrono::TimeDelta::days(90)).to_string();
    for format in ["md", "csv", "json"] {
        into_closed_pipe(
            &demo,
            &[
                "report",
                "--from",
                &from,
                "--to",
                &to.to_string(),
                "--format",
                format,
            ],
            true,
        );
    }
}

#[test]
fn minutes() {
    let demo = demo();
    into_closed_pipe(&demo, &["minutes"], true);
    into_closed_pipe(&demo, &["minutes", "--format", "csv"], true);
}

#[test]
fn sync_status() {
    let demo = demo();
    into_closed_pipe(&demo, &["sync", "status"], true);
}

#[test]
fn users_list() {
    let demo = demo();
    into_closed_pipe(&demo, &["users", "list"], true);
}

#[test]
fn roster_left() {
    let demo = demo();
    into_closed_pipe(&demo, &["roster", "left"], true);
}

#[test]
fn import_summary() {
    let demo = demo();
    let facilities = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/facilities.csv");
    let roster = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/import/roster.csv");
    let (f, r) = (facilities.to_str().unwrap(), roster.to_str().unwrap());
    into_closed_pipe(&demo, &["import", "--kind", "facilities", f], true);
    into_closed_pipe(&demo, &["import", r, "--dry-run"], true);
    into_closed_pipe(&demo, &["import", r], true);
}

#[test]
fn init() {
    let demo = demo();
    let db = demo.home.path().join("another.db");
    into_closed_pipe(&demo, &["init", "--db", db.to_str().unwrap()], false);
}

#[test]
fn hub_token_add_and_list() {
    let demo = demo();
    let hub = demo.home.path().join("hub.db");
    let hub = hub.to_str().unwrap();
    into_closed_pipe(
        &demo,
        &["hub", "token", "add", "--db", hub, "--facility", "f"],
        false,
    );
    into_closed_pipe(&demo, &["hub", "token", "list", "--db", hub], false);
}

#[test]
fn help() {
    let demo = demo();
    into_closed_pipe(&demo, &["--help"], false);
    into_closed_pipe(&demo, &["export", "--help"], false);
}
