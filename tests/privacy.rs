//! Privacy: with every log level on, the log files hold no names, booking numbers, dates of birth
//! or drug names — whatever the program did.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use chrono::NaiveDate;
use reentry_board::demo::fixture_data;

fn cmd(home: &Path) -> Command {
    let mut c = Command::cargo_bin("reentry-board").unwrap();
    c.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("RUST_LOG", "trace");
    c
}

fn all_logs(home: &Path) -> String {
    let dir = home.join("state/reentry-board");
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    text
}

#[test]
fn trace_logs_carry_no_personal_or_clinical_data() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    cmd(home.path())
        .args(["init", "--demo", "--as-of", "2026-03-02", "--db"])
        .arg(&db)
        .assert()
        .success();
    cmd(home.path())
        .args([
            "export",
            "--format",
            "json",
            "--as-of",
            "2026-03-02",
            "--db",
        ])
        .arg(&db)
        .assert()
        .success();
    cmd(home.path())
        .args(["export", "--format", "csv", "--db"])
        .arg(&db)
        .assert()
        .success();
    let db_arg = db.to_str().unwrap().to_string();
    let mut pty = support::pty::Pty::spawn(
        home.path(),
        &["--db", &db_arg],
        120,
        40,
        &[("RUST_LOG", "trace")],
    );
    pty.wait_for("q quit", Duration::from_secs(15));
    pty.send(b"jjjj");
    pty.send(b"q");
    pty.wait_exit(Duration::from_secs(15));

    let logs = all_logs(home.path());
    assert!(logs.contains("start"), "the run was logged at all:\n{logs}");
    let seed = fixture_data(today).unwrap();
    let mut canaries: Vec<String> = Vec::new();
    for r in &seed.records {
        canaries.push(r.person.name.last.clone());
        canaries.push(r.person.booking_id.clone());
        if let Some(dob) = r.person.date_of_birth {
            canaries.push(dob.to_string());
        }
        for m in &r.medications {
            // The drug itself: the first word of "Buprenorphine/naloxone 8 mg/2 mg film".
            let drug: String = m
                .name
                .split(|c: char| !c.is_alphabetic())
                .next()
                .unwrap_or_default()
                .to_string();
            if drug.len() >= 5 {
                canaries.push(drug);
            }
        }
        for need in &r.screening.needs {
            canaries.push(need.label().to_string());
        }
    }
    canaries.retain(|c| c.chars().count() >= 4);
    canaries.sort();
    canaries.dedup();
    assert!(
        canaries.len() > 100,
        "enough canaries to mean something: {}",
        canaries.len()
    );
    let lower = logs.to_lowercase();
    let leaked: Vec<&String> = canaries
        .iter()
        .filter(|c| lower.contains(&c.to_lowercase()))
        .collect();
    assert!(leaked.is_empty(), "personal data in the logs: {leaked:?}");
}
