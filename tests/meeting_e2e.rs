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
    pty.send(b"v");
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

/// The meeting as a room runs it, in the real binary at 120x40: the agenda beside the person,
/// five people walked (two reviewed with one key each, one with a decision, one with a task, one
/// skipped), the meeting ended, and the minutes printed by the `minutes` command.
#[test]
fn five_people_of_the_demo_agenda_walked_with_a_decision_and_a_task() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    cli(home.path())
        .args(["init", "--demo", "--db"])
        .arg(&db)
        .assert()
        .success();
    let db = db.to_str().unwrap().to_string();
    let mut pty = Pty::spawn(home.path(), &["board", "--db", &db], 120, 40, &[]);
    pty.wait_for("q quit", WAIT);
    pty.send(b"M");
    pty.wait_for("MEETING  1 of", WAIT);
    // The agenda down the side, the person and what needs doing beside it.
    pty.wait_for("Agenda · 0 of", WAIT);
    // The footer is written last: once it is there, the frame is whole (a busy machine can show
    // the top of the meeting over the rest of the board).
    pty.wait_for("Space reviewed, next", WAIT);
    let first = pty.screen();
    assert!(first.contains('▶'), "{first}");
    assert!(
        first.contains("What needs doing")
            || first.contains("Nothing overdue, blocked or due soon"),
        "{first}"
    );
    assert!(first.contains("Space reviewed, next"), "{first}");

    // 1 and 2: nothing to decide, one key each.
    pty.send(b" ");
    pty.wait_for("MEETING  2 of", WAIT);
    pty.send(b" ");
    pty.wait_for("MEETING  3 of", WAIT);
    pty.wait_for("Agenda · 2 of", WAIT);
    // 3: a decision, then on.
    pty.send(b"d");
    pty.wait_for("Record a decision", WAIT);
    pty.send(b"Order the 30-day supply today\r");
    pty.wait_for("Decision recorded", WAIT);
    pty.wait_for("decided: Order the 30-day supply today", WAIT);
    pty.send(b" ");
    pty.wait_for("MEETING  4 of", WAIT);
    // 4: a task for a care manager of the directory, by part of her name, then on.
    pty.send(b"+");
    pty.wait_for("Add a follow-up task", WAIT);
    pty.send(b"Book the clinic intake\tRenata\r");
    pty.wait_for("Task for Renata Sol", WAIT);
    pty.wait_for("+ task: Book the clinic intake", WAIT);
    pty.send(b" ");
    pty.wait_for("MEETING  5 of", WAIT);
    // 5: looked at and skipped (`j`, as `→`: an arrow's escape sequence split by a busy machine
    // would read as Esc).
    pty.send(b"j");
    pty.wait_for("MEETING  6 of", WAIT);
    pty.send(b"E");
    pty.wait_for("Meeting stored: 4 reviewed, 1 decision(s), 1 task(s)", WAIT);
    pty.send(b"q");
    assert!(pty.wait_exit(WAIT), "screen:\n{}", pty.screen());
    pty.assert_restored();

    let out = cli(home.path())
        .args(["minutes", "--db", &db])
        .output()
        .unwrap();
    assert!(out.status.success());
    let md = String::from_utf8(out.stdout).unwrap();
    eprintln!("{md}");
    assert!(
        md.contains("## People (4 of 6 on the agenda reviewed)"),
        "{md}"
    );
    assert_eq!(md.matches("(reviewed, ").count(), 4, "{md}");
    assert_eq!(md.matches("(not reviewed, ").count(), 2, "{md}");
    assert!(md.contains("- Order the 30-day supply today"), "{md}");
    assert!(
        md.contains("- Book the clinic intake (who: Renata Sol"),
        "{md}"
    );
}
