//! Program measures from a real database built day by day with a fixed clock; every expected
//! number is worked out by hand in the comments.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use assert_cmd::Command;
use reentry_board::domain::*;
use reentry_board::report;
use support::records::d;
use support::report_db::{build, open};

fn num(r: &report::Report, key: &str) -> (u64, u64) {
    let m = r.get(key).unwrap_or_else(|| panic!("no measure {key}"));
    (m.numerator, m.denominator)
}

#[test]
fn measures_match_the_hand_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let store = open(&path, "2026-07-10");
    let r = report::build(&store, &Rules::default(), d("2026-06-01"), d("2026-06-30")).unwrap();
    assert_eq!(r.released, 3, "P1, P2, P3; not P4 (July) nor P5 (transfer)");
    // T-135 of P1 is 2026-02-05 (screened 02-10: late); P3 (no date, released 06-15: T-135 =
    // 2026-02-01) was screened out at entry 2026-01-02: on time; P2 was booked after its T-135.
    assert_eq!(num(&r, "screened_by_t135"), (1, 2));
    // Services: P1, P2 (P3 screened out). P2 booked after T-90; P1 assigned 03-01 <= 03-22.
    assert_eq!(num(&r, "care_manager_by_t90"), (1, 1));
    assert_eq!(num(&r, "care_plan_complete"), (1, 2));
    // Handoff needed for P1 (cm-01 -> ecm-02) and P2 (due); P1 done 05-20 <= 06-06; P2 not.
    assert_eq!(num(&r, "warm_handoff_by_t14"), (1, 2));
    assert_eq!(num(&r, "supply_in_hand"), (1, 2));
    assert_eq!(num(&r, "mat_continuity"), (1, 2));
    // P3's naloxone is n/a: out of the denominator.
    assert_eq!(num(&r, "naloxone_given"), (1, 2));
    assert_eq!(num(&r, "dme_delivered"), (0, 1));
    // P3 has other coverage: out of the denominator.
    assert_eq!(num(&r, "medi_cal_active"), (1, 2));
    assert_eq!(num(&r, "mcp_notified"), (1, 3));
    assert_eq!(num(&r, "date_changed"), (1, 3));
    assert_eq!(r.date_changes, 1);
    assert_eq!(num(&r, "unplanned"), (2, 3));
    let barriers: Vec<(BarrierReason, u64, u64)> = r
        .barriers
        .iter()
        .map(|b| (b.reason, b.count, b.people))
        .collect();
    assert_eq!(
        barriers,
        vec![
            (BarrierReason::PharmacyDelay, 2, 2),
            (BarrierReason::NoHousing, 1, 1)
        ]
    );

    // A week with nobody released still has its denominators (0), never a bare rate.
    let weeks = report::weekly(
        &report::cohort(&store, d("2026-06-01"), d("2026-06-30")).unwrap(),
        &Rules::default(),
        d("2026-06-01"),
        d("2026-06-30"),
    );
    assert_eq!(weeks.len(), 5);
    assert_eq!(weeks.iter().map(|w| w.released).sum::<u64>(), 3);
    assert!(weeks.iter().any(|w| {
        w.released == 0
            && w.measures
                .iter()
                .all(|m| m.denominator == 0 && m.percent().is_none())
    }));
}

#[test]
fn report_command_prints_every_number_with_its_denominator() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let run = |format: &str| {
        let out = Command::cargo_bin("reentry-board")
            .unwrap()
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env_remove("REENTRY_BOARD_CONFIG")
            .args([
                "report",
                "--from",
                "2026-06-01",
                "--to",
                "2026-06-30",
                "--format",
                format,
            ])
            .arg("--db")
            .arg(&path)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let csv = run("csv");
    assert!(
        csv.starts_with("measure,label,numerator,denominator,percent,of\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\nscreened_by_t135,screened by T-135,1,2,50,"),
        "{csv}"
    );
    assert!(csv.contains("\nunplanned,"), "{csv}");
    assert!(csv.contains(",2,3,67,released people\n"), "{csv}");
    assert!(csv.contains("\nbarrier:pharmacy_delay,"), "{csv}");
    let md = run("md");
    assert!(md.contains("3 people released in the period."), "{md}");
    assert!(
        md.contains("| DME delivered by release | 0% | 0 of 1 | people with DME |"),
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json["released"], 3);
    assert_eq!(json["measures"][0]["denominator"], 2);
    // No drug names in a report, whatever the format.
    for out in [&csv, &md] {
        assert!(!out.contains("Buprenorphine") && !out.contains("Methadone"));
    }
}
