//! End to end: the real binary in a pseudo-terminal on a seeded database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use assert_cmd::Command;
use support::pty::Pty;

const WAIT: Duration = Duration::from_secs(15);

fn seeded(home: &std::path::Path) -> std::path::PathBuf {
    let db = home.join("board.db");
    Command::cargo_bin("reentry-board")
        .unwrap()
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .args(["init", "--demo", "--db"])
        .arg(&db)
        .assert()
        .success();
    db
}

/// The first person on the board, as `export` computes it: the board and the export agree.
fn first_person(home: &std::path::Path, db: &std::path::Path) -> String {
    let out = Command::cargo_bin("reentry-board")
        .unwrap()
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .args(["export", "--format", "json", "--db"])
        .arg(db)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["people"][0]["booking_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn board_starts_moves_and_quits_with_the_terminal_restored() {
    let home = tempfile::tempdir().unwrap();
    let db = seeded(home.path());
    let first = first_person(home.path(), &db);
    let db = db.to_str().unwrap().to_string();
    let mut pty = Pty::spawn(home.path(), &["board", "--db", &db], 120, 40, &[]);
    pty.wait_for(&first, WAIT);
    pty.send(b"j");
    pty.send(b"k");
    pty.send(b"q");
    assert!(
        pty.wait_exit(WAIT),
        "non-zero exit; screen:\n{}",
        pty.screen()
    );
    pty.assert_restored();
}

#[test]
fn ctrl_c_quits_and_restores_at_80x24() {
    let home = tempfile::tempdir().unwrap();
    let db = seeded(home.path());
    let db = db.to_str().unwrap().to_string();
    let mut pty = Pty::spawn(home.path(), &["--db", &db], 80, 24, &[("NO_COLOR", "1")]);
    pty.wait_for("q quit", WAIT);
    pty.send(&[3]);
    pty.wait_exit(WAIT);
    pty.assert_restored();
}

#[test]
fn demo_command_opens_the_board() {
    let home = tempfile::tempdir().unwrap();
    let mut pty = Pty::spawn(home.path(), &["demo"], 120, 40, &[]);
    pty.wait_for("q quit", WAIT);
    pty.send(b"q");
    assert!(pty.wait_exit(WAIT));
    pty.assert_restored();
    assert!(home.path().join("data/reentry-board/demo.db").exists());
}
