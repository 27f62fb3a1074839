//! The meeting in the real binary, in a pseudo-terminal: `M`, a decision, `E`, and the minutes
//! the `minutes` command then prints.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use assert_cmd::Command;
use support::pty::Pty;

const WAIT: Duration = Duration::from_secs(15);

fn cli(home: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("reentry-board").unwrap();
    cmd.env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("REENTRY_BOARD_CONFIG");
    cmd
}

/// Frames the board sends in `span` (each is bracketed by a synchronized-update start).
fn frames_during(pty: &Pty, span: Duration) -> usize {
    std::thread::sleep(Duration::from_millis(200));
    let from = pty.raw.lock().unwrap().len();
    std::thread::sleep(span);
    let raw = pty.raw.lock().unwrap();
    raw[from..]
        .windows(8)
        .filter(|w| *w == b"\x1b[?2026h")
        .count()
}

#[test]
fn a_meeting_run_in_the_terminal_is_in_the_minutes() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    cli(home.path())
        .args(["init", "--demo", "--db"])
        .arg(&db)
        .assert()
        .success();
    let db = db.to_str().unwrap().to_string();
    let mut pty = Pty::spawn(home.path(), &["board", "--db", &db], 80, 24, &[]);
    pty.wait_for("q quit", WAIT);
    // The idle board draws nothing; the meeting screen at most once a second (its timers).
    let idle = frames_during(&pty, Duration::from_millis(2500));
    assert_eq!(idle, 0, "an idle board drew {idle} frames");
    pty.send(b"M");
    pty.wait_for("MEETING  1 of", WAIT);
    let meeting = frames_during(&pty, Duration::from_millis(3200));
    assert!(
        (1..=4).contains(&meeting),
        "the meeting drew {meeting} frames in 3.2 s"
    );
    eprintln!("frames: idle board {idle} in 2.5 s, meeting screen {meeting} in 3.2 s");
    pty.wait_for("this person 0:0", WAIT);
    pty.send(b"d");
    pty.wait_for("Record a decision", WAIT);
    pty.send(b"Call the family about the ride home\r");
    pty.wait_for("Decision recorded", WAIT);
    pty.send(b"r");
    pty.send(b"E");
    pty.wait_for("Meeting stored: 1 reviewed, 1 decision(s)", WAIT);
    pty.send(b"q");
    assert!(pty.wait_exit(WAIT), "screen:\n{}", pty.screen());
    pty.assert_restored();

    let out = cli(home.path())
        .args(["minutes", "--db", &db])
        .output()
        .unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("- Call the family about the ride home"), "{md}");
    assert!(md.contains("(reviewed, "), "{md}");
}
