//! Importing rosters through the real binary: every kind of bad input with the exact message a
//! user sees, dry runs, idempotent re-imports, people who left the roster, skipping bad rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use reentry_board::clock::SystemClock;
use reentry_board::store::Store;
use serde_json::Value;

const AS_OF: &str = "2026-03-01";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

struct Board {
    home: tempfile::TempDir,
    db: PathBuf,
}

impl Board {
    /// An empty database with the caller as coordinator and the demo facilities.
    fn new() -> Self {
        let home = tempfile::tempdir().unwrap();
        let db = home.path().join("board.db");
        let b = Self { home, db };
        b.ok(&["init"]);
        let login = reentry_board::identity::current_login();
        b.ok(&["users", "add", &login, "--role", "coordinator"]);
        b.ok_file(
            &["import", "--kind", "facilities"],
            &fixture("facilities.csv"),
        );
        b
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("reentry-board").unwrap();
        c.env("HOME", self.home.path())
            .env("XDG_DATA_HOME", self.home.path().join("data"))
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env_remove("REENTRY_BOARD_DB")
            .env_remove("REENTRY_BOARD_CONFIG")
            .args(args)
            .arg("--db")
            .arg(&self.db);
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self
            .cmd(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    }

    fn ok_file(&self, args: &[&str], file: &Path) -> String {
        let out = self
            .cmd(args)
            .arg(file)
            .args(["--as-of", AS_OF])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    }

    /// Imports a roster; returns (success, stdout, stderr).
    fn import(&self, file: &Path, extra: &[&str]) -> (bool, String, String) {
        let out = self
            .cmd(&["import"])
            .arg(file)
            .args(["--as-of", AS_OF])
            .args(extra)
            .current_dir(fixture("import"))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn store(&self) -> Store {
        Store::open(&self.db, Arc::new(SystemClock)).unwrap()
    }

    /// (persons, audit rows, outbox events, release-date changes)
    fn counts(&self) -> [i64; 4] {
        let s = self.store();
        ["persons", "audit", "outbox", "release_changes"].map(|t| s.count_rows(t).unwrap())
    }

    fn export(&self) -> Value {
        let out = self.ok(&["export", "--format", "json", "--as-of", AS_OF]);
        serde_json::from_str(&out).unwrap()
    }
}

/// Writes a roster with the default columns; each row is `booking,last,unit,release,certainty`.
fn roster(dir: &Path, name: &str, rows: &[&str]) -> PathBuf {
    let mut text = String::from(
        "booking_id,last_name,first_name,dob,facility,unit,booked_on,release_date,certainty,release_type,custody,youth\n",
    );
    for row in rows {
        let f: Vec<&str> = row.split(',').collect();
        text.push_str(&format!(
            "{},{},Pat,1990-01-01,amcj,{},2026-01-10,{},{},sentence_end,in_custody,n\n",
            f[0], f[1], f[2], f[3], f[4]
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Every bad file: the exact lines on stderr, a failure, and nothing written.
#[test]
fn bad_input_is_reported_with_file_line_and_column() {
    let b = Board::new();
    let cases: &[(&str, &str)] = &[
        (
            "semicolon.csv",
            "reentry-board: bad/semicolon.csv:1: the header has no commas (,) but has semicolons (;): the file looks semicolon-separated; set delimiter = \";\" in the mapping file (--map)\n",
        ),
        (
            "missing-column.csv",
            "reentry-board: bad/missing-column.csv:1: missing column \"unit\" (the mapping's unit); the header has: booking_id, last_name, first_name, dob, facility, booked_on, release_date\n",
        ),
        (
            "short-row.csv",
            "bad/short-row.csv:3: expected 12 fields as in the header, found 11\n\
             reentry-board: nothing imported: 1 row rejected; fix the file, or pass --skip-invalid to import the other rows\n",
        ),
        (
            "extra-field.csv",
            "bad/extra-field.csv:2: expected 12 fields as in the header, found 13; a value with a comma in it must be in double quotes\n\
             reentry-board: nothing imported: 1 row rejected; fix the file, or pass --skip-invalid to import the other rows\n",
        ),
        (
            "impossible-date.csv",
            "bad/impossible-date.csv:2: column 8 \"release_date\": expected a date like 2026-03-01 (date_format %Y-%m-%d), found \"2026-02-30\" (no such day)\n\
             bad/impossible-date.csv:3: column 4 \"dob\": expected a date like 2026-03-01 (date_format %Y-%m-%d), found \"1990-13-01\" (no such day)\n\
             bad/impossible-date.csv:3: column 8 \"release_date\": expected a date like 2026-03-01 (date_format %Y-%m-%d), found \"04/01/2026\"\n\
             reentry-board: nothing imported: 2 rows rejected; fix the file, or pass --skip-invalid to import the other rows\n",
        ),
        (
            "duplicate.csv",
            "bad/duplicate.csv:2: column 1 \"booking_id\": booking id B-1 appears again on line 4; neither row is imported\n\
             bad/duplicate.csv:4: column 1 \"booking_id\": duplicate booking id B-1, first on line 2; neither row is imported\n\
             reentry-board: nothing imported: 2 rows rejected; fix the file, or pass --skip-invalid to import the other rows\n",
        ),
        (
            "empty.csv",
            "reentry-board: bad/empty.csv: the file is empty; expected a header line naming the columns, then one row per person\n",
        ),
        (
            "header-only.csv",
            "reentry-board: bad/header-only.csv: no rows after the header; an empty roster would mark everyone as gone, so nothing was imported\n",
        ),
        (
            "latin1.csv",
            "bad/latin1.csv:2: column 2 \"last_name\": not UTF-8 text (byte 0xFA after \"N\"); save the file as UTF-8 (in Excel: \"CSV UTF-8\")\n\
             reentry-board: nothing imported: 1 row rejected; fix the file, or pass --skip-invalid to import the other rows\n",
        ),
        (
            "utf16.csv",
            "reentry-board: bad/utf16.csv:1: the file is UTF-16 text; set `encoding = \"utf-16le\"` in the mapping file, or save it as UTF-8 (in Excel: \"CSV UTF-8\")\n",
        ),
        (
            "unknown-values.csv",
            "bad/unknown-values.csv:2: column 5 \"facility\": expected a known facility (amcj, amjh, amwf), found \"North Jail\"\n\
             bad/unknown-values.csv:2: column 9 \"certainty\": expected one of confirmed, projected, estimated, unknown (or a [values.certainty] entry in the mapping), found \"sorta\"\n\
             reentry-board: nothing imported: 1 row rejected; fix the file, or pass --skip-invalid to import the other rows\n",
        ),
    ];
    let before = b.counts();
    for (file, expected) in cases {
        let (ok, _, stderr) = b.import(Path::new(&format!("bad/{file}")), &[]);
        assert!(!ok, "{file} was accepted");
        assert_eq!(stderr, *expected, "{file}");
        assert_eq!(b.counts(), before, "{file} changed the database");
    }
    // Every fixture in bad/ is covered above.
    let on_disk = std::fs::read_dir(fixture("import/bad")).unwrap().count();
    assert_eq!(on_disk, cases.len());
}

#[test]
fn excel_csv_with_bom_crlf_and_quoted_commas_imports() {
    let b = Board::new();
    let (ok, out, err) = b.import(Path::new("excel.csv"), &[]);
    assert!(ok, "{err}");
    assert!(out.contains("new              2"), "{out}");
    // CRLF files report the lines an editor shows.
    assert!(out.contains("line 2      B-26-000201"), "{out}");
    let people = b.export()["people"].as_array().unwrap().clone();
    let names: Vec<&str> = people.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Smith, Jr., Ann"), "{names:?}");
    assert!(names.contains(&"O\"Neil, Sam"), "{names:?}");
    let sam = people
        .iter()
        .find(|p| p["booking_id"] == "B-26-000202")
        .unwrap();
    assert_eq!(sam["release_date"], Value::Null);
    assert_eq!(sam["release_certainty"], "unknown");
}

#[test]
fn dry_run_changes_nothing_and_reimport_is_idempotent() {
    let b = Board::new();
    let file = fixture("import/roster.csv");
    let (ok, out, _) = b.import(&file, &["--dry-run"]);
    assert!(ok);
    assert!(out.contains("new              5"), "{out}");
    assert!(out.contains("dry run: nothing was changed"), "{out}");
    let empty = b.counts();
    assert_eq!(empty[0], 0);

    let (ok, out, _) = b.import(&file, &[]);
    assert!(ok);
    assert!(
        out.contains("written: 5 audit rows, 5 events queued"),
        "{out}"
    );
    let after = b.counts();
    assert_eq!(after[0], 5);
    assert_eq!(after[1] - empty[1], 5);
    assert_eq!(after[2], 5);

    let (ok, out, _) = b.import(&file, &[]);
    assert!(ok);
    assert!(out.contains("unchanged        5"), "{out}");
    assert!(
        out.contains("written: 0 audit rows, 0 events queued"),
        "{out}"
    );
    assert_eq!(b.counts(), after, "a re-import writes nothing");

    // The same people through a vendor's mapping: still nothing to do.
    let (ok, out, err) = b.import(
        &fixture("import/jms-roster.csv"),
        &[
            "--map",
            fixture("import/jms-mapping.toml").to_str().unwrap(),
            "--dry-run",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("unchanged        2"), "{out}");
    assert!(out.contains("missing          3"), "{out}");
}

#[test]
fn release_date_changes_are_recorded_from_the_jail_system() {
    let b = Board::new();
    let dir = b.home.path().to_path_buf();
    let v1 = roster(
        &dir,
        "v1.csv",
        &[
            "B-1,Doe,A-East,2026-05-01,projected",
            "B-2,Roe,B-Pod,,unknown",
        ],
    );
    assert!(b.import(&v1, &[]).0);
    let v2 = roster(
        &dir,
        "v2.csv",
        &[
            "B-1,Doe,A-West,2026-03-10,confirmed",
            "B-2,Roe,B-Pod,,unknown",
        ],
    );
    let (ok, out, _) = b.import(&v2, &["--dry-run"]);
    assert!(ok);
    assert!(
        out.contains("changed          1  (release date 1, details 1"),
        "{out}"
    );
    let before = b.counts();
    let (ok, out, _) = b.import(&v2, &[]);
    assert!(ok, "{out}");
    let after = b.counts();
    // One release-date change (audit + event + history) and one unit move (audit only).
    assert_eq!(after[1] - before[1], 2);
    assert_eq!(after[2] - before[2], 1);
    assert_eq!(after[3] - before[3], 1);
    let s = b.store();
    let rec = s
        .load_records()
        .unwrap()
        .into_iter()
        .find(|r| r.person.booking_id == "B-1")
        .unwrap();
    assert_eq!(rec.person.unit, "A-West");
    let change = rec.release_history.last().unwrap();
    assert_eq!(
        change.source.map(|s| s.code()),
        Some("jail_management_system")
    );
    assert_eq!(
        change.to.map(|d| d.to_string()).as_deref(),
        Some("2026-03-10")
    );
    let events = s.outbox_for(&rec.person.id).unwrap();
    let last: Value = serde_json::from_str(&events.last().unwrap().payload).unwrap();
    assert_eq!(last["event_type"], "release_date_changed");
    assert_eq!(last["data"]["previous"], "2026-05-01");
    assert_eq!(last["data"]["source"], "jail_management_system");
    assert_eq!(last["person_seq"], 2);
}

/// A feed whose booking-date cell is empty says nothing new: the board keeps the date it has,
/// the dry run reports no change and the import succeeds.
#[test]
fn an_empty_booking_date_keeps_the_one_the_board_has() {
    let b = Board::new();
    let dir = b.home.path().to_path_buf();
    let first = roster(&dir, "v1.csv", &["B-1,Doe,A-East,2026-05-01,projected"]);
    assert!(b.import(&first, &[]).0);
    let text = std::fs::read_to_string(&first)
        .unwrap()
        .replace(",2026-01-10,", ",,");
    let empty = dir.join("v2.csv");
    std::fs::write(&empty, text).unwrap();
    let (ok, out, err) = b.import(&empty, &["--dry-run"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("unchanged        1"), "{out}");
    let (ok, out, err) = b.import(&empty, &[]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("unchanged        1"), "{out}");
    let rec = b.store().load_records().unwrap().remove(0);
    assert_eq!(rec.person.booked_on.to_string(), "2026-01-10");
}

/// `import --as-of D` records its changes as of D, so whether a new date falls inside T-14 is
/// judged from D (the day the feed speaks for), not from the day it was loaded.
#[test]
fn an_import_as_of_a_day_judges_its_changes_from_that_day() {
    let b = Board::new();
    let dir = b.home.path().to_path_buf();
    let day = chrono::Local::now().date_naive() + chrono::TimeDelta::days(60);
    let release = day + chrono::TimeDelta::days(10);
    let first = roster(&dir, "v1.csv", &["B-1,Doe,A-East,,unknown"]);
    assert!(b.import(&first, &[]).0);
    let second = roster(
        &dir,
        "v2.csv",
        &[&format!("B-1,Doe,A-East,{release},projected")],
    );
    let out = b
        .cmd(&["import"])
        .arg(&second)
        .args(["--as-of", &day.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let rec = b.store().load_records().unwrap().remove(0);
    let change = rec.release_history.last().unwrap();
    assert_eq!(
        change.changed_at.with_timezone(&chrono::Local).date_naive(),
        day
    );
    assert!(
        change.awaits_acknowledgement(14),
        "10 days from the feed's day: inside T-14"
    );
}

/// A date set by hand (a court order) stands while the feed repeats what it said before; a feed
/// that changes its own mind moves the date again.
#[test]
fn a_hand_set_release_date_survives_a_feed_that_has_not_changed() {
    use reentry_board::domain::{Certainty, ChangeReason, ReleaseSource, ReleaseType, Role};
    use reentry_board::store::{Actor, ChangeReleaseDate, Command as StoreCommand};
    let b = Board::new();
    let dir = b.home.path().to_path_buf();
    let feed = roster(&dir, "v1.csv", &["B-1,Doe,A-East,2026-05-01,projected"]);
    assert!(b.import(&feed, &[]).0);
    let record = |b: &Board| {
        b.store()
            .load_records()
            .unwrap()
            .into_iter()
            .find(|r| r.person.booking_id == "B-1")
            .unwrap()
    };
    let rec = record(&b);
    let mut store = b.store();
    store
        .apply(
            &Actor::new("records.diaz", Role::Records),
            StoreCommand::ChangeReleaseDate(ChangeReleaseDate {
                person_id: rec.person.id.clone(),
                version: rec.version,
                date: Some("2026-03-20".parse().unwrap()),
                certainty: Certainty::Confirmed,
                kind: Some(ReleaseType::CourtOrdered),
                source: Some(ReleaseSource::CourtOrder),
                reason: ChangeReason::CourtOrder,
                reason_text: String::new(),
            }),
        )
        .unwrap();
    drop(store);

    let before = b.counts();
    let (ok, out, _) = b.import(&feed, &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains("kept             1  release dates set by hand that the feed has not changed"),
        "{out}"
    );
    assert!(
        out.contains("release date 2026-03-20 kept (set by hand: court order); the feed still says 2026-05-01"),
        "{out}"
    );
    assert_eq!(
        b.counts(),
        before,
        "nothing written for a feed that said the same"
    );
    let rec = record(&b);
    assert_eq!(
        rec.release.date.map(|d| d.to_string()).as_deref(),
        Some("2026-03-20")
    );
    assert_eq!(rec.release.source, Some(ReleaseSource::CourtOrder));

    // The jail system now has a new date of its own: that is news, and it moves the date.
    let newer = roster(&dir, "v2.csv", &["B-1,Doe,A-East,2026-03-25,confirmed"]);
    let (ok, out, _) = b.import(&newer, &[]);
    assert!(ok, "{out}");
    assert!(out.contains("changed          1  (release date 1"), "{out}");
    let rec = record(&b);
    assert_eq!(
        rec.release.date.map(|d| d.to_string()).as_deref(),
        Some("2026-03-25")
    );
    assert_eq!(
        rec.release.source,
        Some(ReleaseSource::JailManagementSystem)
    );
    // And the same feed again changes nothing.
    let before = b.counts();
    let (ok, out, _) = b.import(&newer, &[]);
    assert!(ok, "{out}");
    assert!(!out.contains("kept "), "{out}");
    assert_eq!(b.counts(), before);
}

#[test]
fn people_missing_from_the_feed_are_listed_then_confirmed() {
    let b = Board::new();
    let dir = b.home.path().to_path_buf();
    let full = roster(
        &dir,
        "full.csv",
        &[
            "B-1,Doe,A-East,2026-05-01,projected",
            "B-2,Roe,B-Pod,2026-03-05,confirmed",
            "B-3,Poe,C-Pod,,unknown",
        ],
    );
    assert!(b.import(&full, &[]).0);
    let less = roster(&dir, "less.csv", &["B-1,Doe,A-East,2026-05-01,projected"]);
    let (ok, out, _) = b.import(&less, &[]);
    assert!(ok);
    assert!(
        out.contains("missing          2  left the roster — released or transferred? (2 newly)"),
        "{out}"
    );
    assert!(out.contains("B-2            ROE, P."), "{out}");
    // Never deleted: still on the board until someone confirms.
    assert_eq!(b.counts()[0], 3);
    assert_eq!(b.export()["people"].as_array().unwrap().len(), 3);
    let before = b.counts();
    let (_, out, _) = b.import(&less, &[]);
    assert!(
        out.contains("(0 newly)") && out.contains("(already listed)"),
        "{out}"
    );
    assert_eq!(b.counts(), before, "marked once, not on every import");

    let left = b.ok(&["roster", "left"]);
    assert!(
        left.contains("left the roster — released or transferred? (2)"),
        "{left}"
    );
    assert!(left.contains("B-3"), "{left}");
    let out = b.ok(&[
        "roster",
        "confirm",
        "B-2",
        "released",
        "--reason",
        "released from court",
    ]);
    assert!(out.starts_with("B-2: released on "), "{out}");
    b.ok(&[
        "roster",
        "confirm",
        "B-3",
        "transferred",
        "--destination",
        "state_prison",
    ]);
    assert!(
        b.ok(&["roster", "left"])
            .contains("nobody has left the roster unconfirmed")
    );
    let err = b
        .cmd(&["roster", "confirm", "B-2", "released"])
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    assert_eq!(
        String::from_utf8(err).unwrap(),
        "reentry-board: booking B-2 is already released\n"
    );

    let s = b.store();
    let released = s
        .released_between("2000-01-01".parse().unwrap(), "2100-01-01".parse().unwrap())
        .unwrap();
    assert_eq!(released.len(), 1);
    let events = s.outbox_for(&released[0]).unwrap();
    let last: Value = serde_json::from_str(&events.last().unwrap().payload).unwrap();
    assert_eq!(last["event_type"], "person_released");
    // Released after its expected date of 2026-03-05: planned.
    assert_eq!(last["data"]["planned"], true);
    assert_eq!(last["data"]["meds_in_hand"], true, "nothing was needed");
}

#[test]
fn skip_invalid_imports_the_rest_and_lists_what_it_skipped() {
    let b = Board::new();
    let dir = b.home.path().to_path_buf();
    let path = dir.join("mixed.csv");
    std::fs::write(
        &path,
        "booking_id,last_name,first_name,facility,unit,release_date\n\
         B-1,Doe,Jan,amcj,A-East,2026-04-01\n\
         B-2,Roe,Kim,amcj,A-East,2026-02-31\n\
         B-3,Poe,Lee,amcj,,2026-04-03\n\
         B-4,Moe,Max,amcj,B-Pod,\n",
    )
    .unwrap();
    let (ok, _, err) = b.import(&path, &[]);
    assert!(!ok);
    assert!(err.ends_with("nothing imported: 2 rows rejected; fix the file, or pass --skip-invalid to import the other rows\n"), "{err}");
    assert_eq!(b.counts()[0], 0);
    // A dry run shows what the valid rows would do, lists the problems, and still fails.
    let (ok, out, err) = b.import(&path, &["--dry-run"]);
    assert!(!ok);
    assert!(
        out.contains("new              2") && out.contains("rejected         2"),
        "{out}"
    );
    assert!(err.ends_with("dry run: 2 rows rejected; a real import would import nothing unless --skip-invalid is given\n"), "{err}");
    assert_eq!(b.counts()[0], 0);
    let (ok, out, err) = b.import(&path, &["--skip-invalid"]);
    assert!(ok, "{err}");
    let name = path.display();
    assert_eq!(
        err,
        format!(
            "skipped 2 invalid rows:\n\
             {name}:3: column 6 \"release_date\": expected a date like 2026-03-01 (date_format %Y-%m-%d), found \"2026-02-31\" (no such day)\n\
             {name}:4: column 5 \"unit\": expected a housing unit, found an empty field\n"
        )
    );
    assert!(out.contains("new              2"), "{out}");
    assert!(out.contains("rejected         2"), "{out}");
    assert_eq!(b.counts()[0], 2);
}
