//! Roster import speed and memory: a generated 100,000-row roster into an empty database, a
//! re-import with 1% of the rows changed, and dry runs of 100,000 and 1,000,000 rows (memory must
//! not grow with the file), against `sqlite3 .import` of the same file. Results go to stdout for
//! the `## Import` section of docs/BENCHMARKS.md.
//!
//!     cargo bench --bench import
//!     BENCH_ROWS=10000 cargo bench --bench import
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> PathBuf {
    // `cargo bench` builds the release binary next to the bench executable's parent directory.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    dir.join("reentry-board")
}

/// Runs a command to the end; returns its wall time and peak resident memory (VmHWM, sampled
/// from /proc every few milliseconds; it only ever grows, so the last sample is the peak).
fn measure(cmd: &mut Command) -> (Duration, u64, String) {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = start.elapsed();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?}: {text}");
    (elapsed, peak_kb, text)
}

fn board(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(args)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"));
    c
}

const FACILITIES: [(&str, &[&str]); 3] = [
    ("amcj", &["A-East", "A-West", "B-Pod", "C-Pod", "Medical"]),
    ("amwf", &["W-1", "W-2"]),
    ("amjh", &["Cedar", "Oak"]),
];

/// A deterministic synthetic roster; `changed_every` rows get a release date 3 days later.
fn write_roster(path: &Path, rows: usize, changed_every: Option<usize>) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        f,
        "booking_id,last_name,first_name,dob,facility,unit,booked_on,release_date,certainty,release_type,custody,youth"
    )
    .unwrap();
    let base = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    for i in 0..rows {
        let (facility, units) = FACILITIES[i % 3];
        let unit = units[i % units.len()];
        let mut release = base + chrono::Duration::days((i % 400) as i64);
        if changed_every.is_some_and(|n| i % n == 0) {
            release += chrono::Duration::days(3);
        }
        let known = i % 7 != 0;
        writeln!(
            f,
            "B-{i:08},\"Synthetic{}, Jr.\",Person{},19{:02}-{:02}-{:02},{facility},{unit},2025-{:02}-{:02},{},{},{},in_custody,{}",
            i % 997,
            i % 31,
            50 + i % 50,
            1 + i % 12,
            1 + i % 28,
            1 + i % 12,
            1 + i % 28,
            if known { release.to_string() } else { String::new() },
            if known { "projected" } else { "unknown" },
            if known { "sentence_end" } else { "" },
            if facility == "amjh" { "y" } else { "n" },
        )
        .unwrap();
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn main() {
    let rows: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let db = home.join("board.db");
    let roster = home.join("roster.csv");
    let changed = home.join("roster-1pct.csv");
    let big = home.join("roster-10x.csv");
    write_roster(&roster, rows, None);
    write_roster(&changed, rows, Some(100));
    write_roster(&big, rows * 10, None);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64 / 1e6;
    let login = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let db_s = db.to_str().unwrap();
    measure(&mut board(home, &["init", "--db", db_s]));
    measure(&mut board(
        home,
        &[
            "users",
            "--db",
            db_s,
            "add",
            login.trim(),
            "--role",
            "coordinator",
        ],
    ));
    let facilities = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/facilities.csv");
    measure(&mut board(
        home,
        &[
            "import",
            "--db",
            db_s,
            "--kind",
            "facilities",
            facilities.to_str().unwrap(),
        ],
    ));
    let import = |file: &Path, dry: bool| {
        let mut args = vec![
            "import",
            "--db",
            db_s,
            "--as-of",
            "2026-03-01",
            file.to_str().unwrap(),
        ];
        if dry {
            args.push("--dry-run");
        }
        measure(&mut board(home, &args))
    };
    let (first, first_kb, out1) = import(&roster, false);
    let (again, again_kb, out2) = import(&changed, false);
    let (dry, dry_kb, _) = import(&roster, true);
    let (dry10, dry10_kb, _) = import(&big, true);
    assert!(out1.contains(&format!("new        {rows:>7}")), "{out1}");
    let expected_changed = rows.div_ceil(100) - rows.div_ceil(700);
    assert!(
        out2.contains(&format!("changed    {expected_changed:>7}")),
        "{out2}"
    );

    let sql_db = home.join("plain.db");
    let (sqlite, sqlite_kb, _) = measure(
        Command::new("/usr/bin/sqlite3")
            .arg(&sql_db)
            .arg("-cmd")
            .arg(".mode csv")
            .arg(format!(".import {} roster", roster.display())),
    );

    println!("| run | rows | file | time | peak memory (VmHWM) |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| `import` into an empty database | {rows} | {:.1} MB | {} | {} MB |",
        size(&roster),
        secs(first),
        first_kb / 1024
    );
    println!(
        "| `import` again, 1% of rows changed | {rows} | {:.1} MB | {} | {} MB |",
        size(&changed),
        secs(again),
        again_kb / 1024
    );
    println!(
        "| `import --dry-run` (unchanged) | {rows} | {:.1} MB | {} | {} MB |",
        size(&roster),
        secs(dry),
        dry_kb / 1024
    );
    println!(
        "| `import --dry-run`, 10x the rows | {} | {:.1} MB | {} | {} MB |",
        rows * 10,
        size(&big),
        secs(dry10),
        dry10_kb / 1024
    );
    println!(
        "| `sqlite3 .import` of the same file (no checks, no audit) | {rows} | {:.1} MB | {} | {} MB |",
        size(&roster),
        secs(sqlite),
        sqlite_kb / 1024
    );
    println!();
    println!(
        "first import / sqlite3 .import = {:.1}x; re-import / sqlite3 .import = {:.1}x",
        first.as_secs_f64() / sqlite.as_secs_f64(),
        again.as_secs_f64() / sqlite.as_secs_f64()
    );
}
