//! The real binary, as a user runs it: init + export, users, and the bad-input messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// The binary with its data and config directories inside `home`, so nothing leaks in or out.
fn cmd(home: &Path) -> Command {
    let mut c = Command::cargo_bin("reentry-board").unwrap();
    c.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("REENTRY_BOARD_DB")
        .env_remove("REENTRY_BOARD_CONFIG")
        .env_remove("RUST_LOG");
    c
}

/// A home and a demo database in it.
fn demo_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    cmd(home.path())
        .args(["init", "--demo", "--db"])
        .arg(&db)
        .assert()
        .success();
    (home, db)
}

fn export_json(home: &Path, db: &Path, as_of: &str) -> Value {
    let out = cmd(home)
        .args(["export", "--db"])
        .arg(db)
        .args(["--format", "json", "--as-of", as_of])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn init_demo_then_export_json() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    cmd(home.path())
        .args(["init", "--demo", "--as-of", "2026-03-02", "--db"])
        .arg(&db)
        .assert()
        .success()
        .stdout(predicate::str::contains("people"));

    let json = export_json(home.path(), &db, "2026-03-02");
    assert_eq!(json["as_of"], "2026-03-02");
    let people = json["people"].as_array().unwrap();
    assert!(
        people.len() >= 60,
        "about 80 demo people, got {}",
        people.len()
    );
    for field in [
        "booking_id",
        "name",
        "facility",
        "unit",
        "release_date",
        "release_certainty",
        "days_to_release",
        "care_manager",
        "milestones",
    ] {
        assert!(people[0].get(field).is_some(), "missing {field}");
    }
    let m = &people[0]["milestones"][0];
    for field in ["code", "due", "state"] {
        assert!(m.get(field).is_some(), "milestone missing {field}");
    }
    // Soonest release first, unknown dates after all known ones.
    let dates: Vec<Option<&str>> = people.iter().map(|p| p["release_date"].as_str()).collect();
    let known: Vec<&str> = dates.iter().map_while(|d| *d).collect();
    assert!(
        known.windows(2).all(|w| w[0] <= w[1]),
        "not soonest first: {known:?}"
    );
    assert!(
        dates[known.len()..].iter().all(Option::is_none),
        "unknown dates must come last"
    );
    assert!(
        dates.iter().any(Option::is_none),
        "the demo has pretrial people"
    );
    // days_to_release agrees with the date and the as-of day.
    let first = &people[0];
    let date: chrono::NaiveDate = first["release_date"].as_str().unwrap().parse().unwrap();
    let as_of: chrono::NaiveDate = "2026-03-02".parse().unwrap();
    assert_eq!(
        first["days_to_release"].as_i64().unwrap(),
        (date - as_of).num_days()
    );

    // A week later every known date is 7 days closer.
    let later = export_json(home.path(), &db, "2026-03-09");
    let by_booking = |j: &Value, id: &str| {
        j["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["booking_id"] == id)
            .cloned()
            .unwrap()
    };
    let id = first["booking_id"].as_str().unwrap();
    assert_eq!(
        by_booking(&later, id)["days_to_release"].as_i64().unwrap(),
        first["days_to_release"].as_i64().unwrap() - 7
    );
}

#[test]
fn export_csv_has_a_header_and_a_row_per_person() {
    let (home, db) = demo_db();
    let out = cmd(home.path())
        .args(["export", "--format", "csv", "--db"])
        .arg(&db)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "booking_id");
    assert!(headers.iter().any(|h| h == "screening_due"));
    let json = export_json(
        home.path(),
        &db,
        &chrono::Local::now().date_naive().to_string(),
    );
    assert_eq!(
        reader.records().count(),
        json["people"].as_array().unwrap().len()
    );
}

#[test]
fn synthetic_people_for_benchmarks() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("big.db");
    cmd(home.path())
        .args(["init", "--demo", "--people", "500", "--db"])
        .arg(&db)
        .assert()
        .success()
        .stdout(predicate::str::contains("500 people"));
    let json = export_json(home.path(), &db, "2026-03-02");
    assert!(json["people"].as_array().unwrap().len() > 400);
}

#[test]
fn the_database_file_has_no_world_access() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    cmd(home.path())
        .args(["init", "--db"])
        .arg(&db)
        .assert()
        .success();
    let mode = std::fs::metadata(&db).unwrap().permissions().mode();
    assert_eq!(mode & 0o007, 0, "mode {mode:o}");
}

#[test]
fn users_bootstrap_then_only_coordinators_manage() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    cmd(home.path())
        .args(["init", "--db"])
        .arg(&db)
        .assert()
        .success();
    let me = reentry_board::identity::current_login();
    // The first user may be added by anyone: the bootstrap.
    cmd(home.path())
        .args(["users", "add", &me, "--role", "records", "--db"])
        .arg(&db)
        .assert()
        .success();
    // Now the acting user is records, not a coordinator: refused, and nothing changes.
    cmd(home.path())
        .args(["users", "add", "nurse.kim", "--role", "nurse", "--db"])
        .arg(&db)
        .assert()
        .failure()
        .stderr(predicate::str::contains("records"));
    let list = cmd(home.path())
        .args(["users", "list", "--db"])
        .arg(&db)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let list = String::from_utf8(list).unwrap();
    assert!(list.contains(&me) && !list.contains("nurse.kim"), "{list}");
}

#[test]
fn usage_errors() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    cmd(home.path())
        .args(["export", "--format", "xml", "--db"])
        .arg(&db)
        .assert()
        .code(64)
        .stderr(predicate::str::contains("xml"));
    cmd(home.path())
        .args([
            "export",
            "--format",
            "json",
            "--as-of",
            "2026-02-30",
            "--db",
        ])
        .arg(&db)
        .assert()
        .code(64)
        .stderr(predicate::str::contains("2026-02-30"));
    cmd(home.path())
        .args(["users", "add", "x", "--role", "janitor", "--db"])
        .arg(&db)
        .assert()
        .code(64)
        .stderr(predicate::str::contains("janitor"));
    for sub in ["board", "demo", "init", "export", "users"] {
        cmd(home.path()).args([sub, "--help"]).assert().success();
    }
}

#[test]
fn databases_that_are_not_ours_are_refused_unchanged() {
    let home = tempfile::tempdir().unwrap();
    // Not SQLite at all.
    let junk = home.path().join("notes.txt");
    std::fs::write(&junk, "shopping list\n").unwrap();
    cmd(home.path())
        .args(["export", "--format", "json", "--db"])
        .arg(&junk)
        .assert()
        .failure()
        .stderr(predicate::str::contains("notes.txt"));
    assert_eq!(std::fs::read_to_string(&junk).unwrap(), "shopping list\n");
    // Another application's SQLite database.
    let other = home.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&other).unwrap();
        c.execute_batch("CREATE TABLE recipes(name TEXT); INSERT INTO recipes VALUES ('soup');")
            .unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    cmd(home.path())
        .args(["export", "--format", "json", "--db"])
        .arg(&other)
        .assert()
        .failure()
        .stderr(predicate::str::contains("other.db"));
    assert_eq!(std::fs::read(&other).unwrap(), before);
    // Missing file: says how to create one.
    cmd(home.path())
        .args(["export", "--format", "json", "--db"])
        .arg(home.path().join("missing.db"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("init"));
}

/// A schema version from a newer binary is refused with "upgrade"; a negative one (damage,
/// or a hand edit) is not taken for the current one.
#[test]
fn a_newer_or_damaged_schema_version_is_refused() {
    let home = tempfile::tempdir().unwrap();
    for (version, says) in [
        (999, "newer"),
        (-1, "schema version -1, which reentry-board never writes"),
    ] {
        let db = home.path().join(format!("board{version}.db"));
        cmd(home.path())
            .args(["init", "--db"])
            .arg(&db)
            .assert()
            .success();
        {
            let c = rusqlite::Connection::open(&db).unwrap();
            c.execute_batch(&format!("PRAGMA user_version = {version};"))
                .unwrap();
        }
        cmd(home.path())
            .args(["export", "--format", "json", "--db"])
            .arg(&db)
            .assert()
            .failure()
            .stderr(predicate::str::contains(says));
    }
}

#[test]
fn config_errors_name_file_line_and_key() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    let config = home.path().join("county.toml");
    std::fs::write(&config, "facility_name = \"X\"\n[rules]\nscreening = -3\n").unwrap();
    cmd(home.path())
        .arg("--config")
        .arg(&config)
        .args(["init", "--db"])
        .arg(&db)
        .assert()
        .failure()
        .stderr(predicate::str::contains("county.toml:3: rules.screening"));
    assert!(!db.exists(), "nothing is created when the config is bad");
    std::fs::write(&config, "facility_nmae = \"X\"\n").unwrap();
    cmd(home.path())
        .arg("--config")
        .arg(&config)
        .args(["init", "--db"])
        .arg(&db)
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("county.toml:1")
                .and(predicate::str::contains("facility_nmae")),
        );
}

#[test]
fn logs_go_to_a_file_and_not_to_the_screen() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    let out = cmd(home.path())
        .env("RUST_LOG", "trace")
        .args(["init", "--demo", "--db"])
        .arg(&db)
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "stderr: {stderr}");
    let logs = home.path().join("state/reentry-board");
    let files: Vec<_> = std::fs::read_dir(&logs).unwrap().collect();
    assert!(!files.is_empty(), "no log file in {}", logs.display());
}

/// The number of generated people is bounded, with a message instead of a panic or an
/// out-of-memory abort.
#[test]
fn too_many_synthetic_people_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    for n in ["18446744073709551615", "4294967296", "1000001", "0"] {
        let db = home.path().join(format!("big-{n}.db"));
        cmd(home.path())
            .args(["init", "--demo", "--people", n, "--db"])
            .arg(&db)
            .assert()
            .code(64)
            .stderr(predicate::str::contains(format!(
                "`{n}` is not a number of people from 1 to 1000000"
            )));
        assert!(!db.exists());
    }
}

/// Someone who may only read the database file (a report reader, a backup account) can still
/// export, report and list: nothing is written.
#[test]
fn a_database_one_may_only_read_can_be_exported() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let (home, db) = demo_db();
    let before = std::fs::read(&db).unwrap();
    let root = nix::unistd::Uid::effective().is_root();
    // Root may write anything: run as `nobody` instead, who may only read.
    let (file_mode, dir_mode) = if root { (0o644, 0o755) } else { (0o444, 0o555) };
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(file_mode)).unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(dir_mode)).unwrap();
    let reader = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_reentry-board"));
        // Its own data directory, which it cannot create here: no log, as for an account
        // without one.
        c.env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("reader-data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env_remove("REENTRY_BOARD_DB")
            .args(args)
            .arg("--db")
            .arg(&db);
        if root {
            c.uid(65534).gid(65534);
        }
        c.output().unwrap()
    };
    let today = chrono::Local::now().date_naive();
    let from = (today - chrono::TimeDelta::days(90)).to_string();
    for args in [
        &["export", "--format", "json"][..],
        &["export", "--format", "md"],
        &["report", "--from", &from, "--to", &today.to_string()],
        &["users", "list"],
        &["sync", "status"],
        &["roster", "left"],
    ] {
        let out = reader(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), before, "nothing was written");
    // While the board's server has it open (its -wal and -shm files beside it). The owner
    // opens it with write access, then takes that away again from everyone else.
    let set = |file: u32, dir: u32| {
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(file)).unwrap();
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(dir)).unwrap();
    };
    set(0o644, 0o755);
    let writer = reentry_board::store::Store::open(
        &db,
        std::sync::Arc::new(reentry_board::clock::SystemClock),
    )
    .unwrap();
    set(file_mode, dir_mode);
    for args in [&["export", "--format", "csv"][..], &["users", "list"]] {
        let out = reader(args);
        assert!(
            out.status.success(),
            "{args:?} beside a writer: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    drop(writer);
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// The central API carries a login in 64 characters at most; a longer one is refused at once.
#[test]
fn logins_are_at_most_64_characters() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    cmd(home.path())
        .args(["init", "--db"])
        .arg(&db)
        .assert()
        .success();
    let long = "a".repeat(65);
    cmd(home.path())
        .args(["users", "--db"])
        .arg(&db)
        .args(["add", &long, "--role", "nurse"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "a login has at most 64 characters",
        ));
    cmd(home.path())
        .args(["users", "--db"])
        .arg(&db)
        .args(["add", &"b".repeat(64), "--role", "nurse"])
        .assert()
        .success();
}
