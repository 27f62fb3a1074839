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
    // No central API configured: no sync state in the header and no "not delivered" marks.
    assert!(!pty.screen().contains("queued"), "{}", pty.screen());
    let screen = pty.screen();
    let rows: Vec<&str> = screen.lines().filter(|l| l.contains(" B-")).collect();
    assert!(
        !rows.is_empty() && rows.iter().all(|l| !l.contains('↑')),
        "{screen}"
    );
    pty.send(b"q");
    assert!(pty.wait_exit(WAIT));
    pty.assert_restored();
    assert!(home.path().join("data/reentry-board/demo.db").exists());

    // With one configured (here unreachable and without a token), the queue shows.
    let env = [("REENTRY_SYNC_URL", "http://127.0.0.1:9")];
    let mut pty = Pty::spawn(home.path(), &["demo"], 120, 40, &env);
    pty.wait_for("queued", WAIT);
    pty.send(b"q");
    assert!(pty.wait_exit(WAIT));
}

/// The meeting changes a release date through the dialog in the real binary; `export` then shows
/// the new date and the due dates counted back from it.
#[test]
fn a_release_date_changed_in_the_dialog_shows_in_the_export() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    let as_of = "2026-03-02";
    let run = |args: &[&str]| {
        Command::cargo_bin("reentry-board")
            .unwrap()
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .args(args)
            .arg("--db")
            .arg(&db)
            .args(["--as-of", as_of])
            .output()
            .unwrap()
    };
    assert!(run(&["init", "--demo"]).status.success());
    let export = || -> serde_json::Value {
        serde_json::from_slice(&run(&["export", "--format", "json"]).stdout).unwrap()
    };
    let find = |all: &serde_json::Value, booking: &str| {
        all["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["booking_id"] == booking)
            .unwrap()
            .clone()
    };
    // Someone releasing in two weeks with the handoff and the medications still to do.
    let booking = "B-25-003422".to_string();
    let first = find(&export(), &booking);
    assert_eq!(first["release_date"], "2026-03-16");

    let db_arg = db.to_str().unwrap().to_string();
    let mut pty = Pty::spawn(
        home.path(),
        &["board", "--db", &db_arg, "--as-of", as_of],
        100,
        30,
        &[],
    );
    pty.wait_for("q quit", WAIT);
    pty.send(b"/");
    pty.send(booking.as_bytes());
    pty.send(b"\r");
    pty.send(b"e");
    pty.wait_for("Now: 2026-03-16", WAIT);
    pty.send(&[0x7f; 12]);
    pty.send(b"2026-04-20");
    // Down to the reason, pick the first one (court order), save.
    pty.send(b"\x1b[B\x1b[B\x1b[B\x1b[B\x1b[C");
    pty.wait_for("court order", WAIT);
    pty.send(b"\r");
    pty.wait_for("Saved: release date.", WAIT);
    pty.send(b"q");
    assert!(
        pty.wait_exit(WAIT),
        "non-zero exit; screen:\n{}",
        pty.screen()
    );
    pty.assert_restored();

    let person = find(&export(), &booking);
    assert_eq!(person["release_date"], "2026-04-20");
    let due = |p: &serde_json::Value, code: &str| {
        p["milestones"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["code"] == code)
            .map(|m| m["due"].clone())
            .unwrap()
    };
    assert_eq!(due(&person, "warm_handoff"), "2026-04-06");
    assert_eq!(due(&person, "medications"), "2026-04-13");
    assert_eq!(due(&first, "warm_handoff"), "2026-03-02");
    assert_ne!(due(&person, "warm_handoff"), due(&first, "warm_handoff"));
}
