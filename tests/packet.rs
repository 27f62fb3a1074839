//! `export --format md`, the daily packet, and the board's filters on every export format.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn run(home: &Path, args: &[&str]) -> String {
    let out = Command::cargo_bin("reentry-board")
        .unwrap()
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("REENTRY_BOARD_DB")
        .env_remove("REENTRY_BOARD_CONFIG")
        .args(args)
        .arg("--db")
        .arg(home.join("demo.db"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn packet_is_presentation_safe_unless_full_and_follows_the_filters() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    run(h, &["init", "--demo", "--as-of", "2026-03-02"]);
    let md = run(h, &["export", "--format", "md", "--as-of", "2026-03-02"]);
    assert!(
        md.starts_with("# Release planning — Demo County — 2026-03-02\n"),
        "{md}"
    );
    assert!(
        md.contains("| NÚÑEZ, J. | B-24-003135 | A-East | 2026-03-02 = | 0 |"),
        "{md}"
    );
    assert!(md.contains("1 protected medication ✓"), "{md}");
    assert!(
        md.contains("30-day medication supply blocked (pharmacy delay)"),
        "{md}"
    );
    for secret in [
        "José",
        "Buprenorphine",
        "Methadone",
        "Metformin",
        "substance use",
        "mental illness",
    ] {
        assert!(!md.contains(secret), "the packet shows {secret}");
    }
    let full = run(
        h,
        &[
            "export",
            "--format",
            "md",
            "--as-of",
            "2026-03-02",
            "--full",
        ],
    );
    assert!(
        full.contains("Núñez, José") && full.contains("Metformin"),
        "{full}"
    );
    assert!(
        !full.contains("Buprenorphine"),
        "Part 2 stays protected even in full"
    );

    let w1 = run(
        h,
        &[
            "export",
            "--format",
            "md",
            "--as-of",
            "2026-03-02",
            "--unit",
            "W-1",
            "--band",
            "near",
        ],
    );
    assert!(
        w1.contains("(unit W-1, band releasing in 0-14 days)"),
        "{w1}"
    );
    let rows: Vec<&str> = w1
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| name"))
        .collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|l| l.contains("| W-1 |")), "{w1}");

    let all: Value = serde_json::from_str(&run(
        h,
        &["export", "--format", "json", "--as-of", "2026-03-02"],
    ))
    .unwrap();
    let risky: Value = serde_json::from_str(&run(
        h,
        &[
            "export",
            "--format",
            "json",
            "--as-of",
            "2026-03-02",
            "--at-risk",
        ],
    ))
    .unwrap();
    let n_all = all["people"].as_array().unwrap().len();
    let n_risky = risky["people"].as_array().unwrap().len();
    assert!(n_risky > 0 && n_risky < n_all, "{n_risky} of {n_all}");
    let found: Value = serde_json::from_str(&run(
        h,
        &[
            "export",
            "--format",
            "json",
            "--as-of",
            "2026-03-02",
            "--search",
            "nunez jose",
        ],
    ))
    .unwrap();
    assert_eq!(found["people"].as_array().unwrap().len(), 1);
    let csv = run(
        h,
        &[
            "export",
            "--format",
            "csv",
            "--as-of",
            "2026-03-02",
            "--facility",
            "amjh",
        ],
    );
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.contains("Alta Mesa Juvenile Hall")),
        "{csv}"
    );
}
