//! The board index's read path (store::board_query) at 10,000, 100,000 and 1,000,000 people:
//! what the board will cost per screen once it reads from the index. Each measurement runs in a
//! fresh child process (this executable again) on a database made beforehand, so its peak memory
//! is the read path's alone. Results go to stdout as Markdown for docs/BENCHMARKS.md.
//!
//!     cargo bench --bench board_index
//!     BENCH_PEOPLE=10000,100000 cargo bench --bench board_index
//!
//! The 1,000,000 roster is made by seeding 100,000 people and copying their index rows nine more
//! times under new ids, names and booking numbers (seeding a million full records needs several
//! GiB on this machine); the read path reads only the index, so it sees a million rows.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use reentry_board::clock::{Clock, FixedClock};
use reentry_board::demo::synthetic_data;
use reentry_board::domain::filter::{Filter, fold};
use reentry_board::domain::{Band, Role};
use reentry_board::store::{Actor, BoardQuery, Store};

const CHILD: &str = "RB_INDEX_BENCH_CHILD";
/// Rows on a 120x40 board: 40 lines less the title, filter line, header, legend and keys.
const SCREEN_ROWS: usize = 35;

fn today() -> NaiveDate {
    "2026-03-01".parse().unwrap()
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::on(today()))
}

fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn make(dir: &Path, people: usize) -> PathBuf {
    let db = dir.join(format!("board-{people}.db"));
    let seeded = people.min(100_000);
    let data = synthetic_data(seeded, today(), 1).unwrap();
    let mut store = Store::create(&db, clock()).unwrap();
    store
        .seed(&Actor::new("bench", Role::Coordinator), &data)
        .unwrap();
    drop(store);
    if people > seeded {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let copies = people / seeded - 1;
        for k in 1..=copies {
            conn.execute_batch(&format!(
                "INSERT INTO board_index SELECT person_id || '-{k}', booking_id || '-{k}',
                    last_name, first_name || ' {k}', last_key, first_key || ' {k}',
                    search || ' {k}', custody, release_day, order_day, certainty, youth,
                    facility_id, facility_name, unit, care_manager_id, care_manager_name,
                    milestones, earliest_open_due, blocked, consent_due, consent_blocked,
                    consent_from, consent_until, due_eligibility, due_coordinator,
                    due_care_manager, due_records, blocked_roles, nurse_unsettled, late_entry,
                    open_date_flag, unacknowledged, last_date_change, protected, open_barrier,
                    changed_at, changed_by, overdue_after, early_after, early_before
                 FROM board_index WHERE person_id NOT LIKE '%-%-%-%-%-%';"
            ))
            .unwrap();
        }
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    db
}

/// The child: open, first screen, and the moves, each timed; prints one line of figures.
fn child(db: &str) {
    let started = Instant::now();
    let store = Store::open_read_only(db, clock()).unwrap();
    let q = BoardQuery::new(today());
    let counts = store.board_counts(&q).unwrap();
    let first = store.board_window(&q, None, SCREEN_ROWS).unwrap();
    let first_screen = started.elapsed();
    let first_peak = peak_kib();
    assert_eq!(first.len(), SCREEN_ROWS);
    let total: usize = counts.iter().map(|(_, n)| n).sum();

    // A move past the bottom of the screen reads one row.
    let t = Instant::now();
    let next = store
        .board_window(&q, first.last().map(|i| &i.key), 1)
        .unwrap();
    let one_move = t.elapsed();
    assert_eq!(next.len(), 1);
    let t = Instant::now();
    let page = store
        .board_window(&q, first.last().map(|i| &i.key), SCREEN_ROWS)
        .unwrap();
    let page_down = t.elapsed();
    assert_eq!(page.len(), SCREEN_ROWS);
    let t = Instant::now();
    let end = store.board_window_before(&q, None, SCREEN_ROWS).unwrap();
    let end_key = t.elapsed();
    assert_eq!(end.len(), SCREEN_ROWS);

    // Search as you type for the person 95% down the board: each keystroke is the counts and the
    // first screen of the narrowed board.
    let target = store
        .board_window_before(&q, None, total - total * 95 / 100)
        .unwrap()
        .swap_remove(0);
    // Typed as a person would: the name, then the first name, then the booking number, until
    // they are on the first screen.
    let name = target.entry().search.clone();
    let mut worst = Duration::ZERO;
    let mut found = false;
    let mut keys = 0;
    for n in 1..=name.chars().count() {
        if found {
            break;
        }
        keys = n;
        let typed: String = name.chars().take(n).collect();
        let sq = BoardQuery {
            filter: Filter {
                search: typed,
                ..Filter::default()
            },
            ..q.clone()
        };
        let t = Instant::now();
        let _ = store.board_counts(&sq).unwrap();
        let rows = store.board_window(&sq, None, SCREEN_ROWS).unwrap();
        worst = worst.max(t.elapsed());
        found = rows
            .iter()
            .any(|r| r.entry().person_id == target.entry().person_id);
    }
    // The same keystrokes (three letters and more, what a trigram index can answer) as a count
    // of matches: a scan of the folded column, and the board's FTS5 trigram index.
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let (mut scan, mut fts) = (Duration::ZERO, Duration::ZERO);
    let last = fold(&target.entry().last_name);
    for n in 3..=last.chars().count().max(3) {
        let typed: String = last.chars().take(n).collect();
        let t = Instant::now();
        let a: i64 = conn
            .query_row(
                "SELECT count(*) FROM board_index WHERE instr(search, ?1) > 0",
                [&typed],
                |r| r.get(0),
            )
            .unwrap();
        scan = scan.max(t.elapsed());
        let t = Instant::now();
        let b: i64 = conn
            .query_row(
                "SELECT count(*) FROM board_search WHERE board_search MATCH ?1",
                [format!("\"{typed}\"")],
                |r| r.get(0),
            )
            .unwrap_or(-1);
        fts = fts.max(t.elapsed());
        assert!(b == -1 || a == b || typed.chars().count() < 3, "{a} {b}");
    }
    // A band filter and my work, as the meeting uses them.
    let fq = BoardQuery {
        filter: Filter {
            band: Some(Band::Near),
            my_work: Some(Role::Nurse),
            ..Filter::default()
        },
        ..q.clone()
    };
    let t = Instant::now();
    let _ = store.board_counts(&fq).unwrap();
    let _ = store.board_window(&fq, None, SCREEN_ROWS).unwrap();
    let filtered = t.elapsed();
    println!(
        "{total} {:.1} {:.3} {:.2} {:.2} {:.1} {found}/{keys} {:.1} {} {:.1} {:.1} {first_peak}",
        ms(first_screen),
        ms(one_move),
        ms(page_down),
        ms(end_key),
        ms(worst),
        ms(filtered),
        peak_kib(),
        ms(scan),
        ms(fts)
    );
}

fn main() {
    if let Ok(db) = std::env::var(CHILD) {
        child(&db);
        return;
    }
    let sizes: Vec<usize> = std::env::var("BENCH_PEOPLE")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    println!(
        "| people | first screen (open, counts, 35 rows) | move (1 row) | PgDn | End | search as you type to the person 95% down: slowest key (found/keys) | near band + my work | peak memory: first screen / all | match count: folded column scan / FTS5 trigram, slowest key |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for people in sizes {
        let db = make(dir.path(), people);
        // Three runs; the median first screen is reported with its run.
        let mut runs: Vec<Vec<String>> = (0..3)
            .map(|_| {
                let out = std::process::Command::new(std::env::current_exe().unwrap())
                    .env(CHILD, &db)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8(out.stdout)
                    .unwrap()
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            })
            .collect();
        runs.sort_by(|a, b| {
            a[1].parse::<f64>()
                .unwrap()
                .total_cmp(&b[1].parse::<f64>().unwrap())
        });
        let r = &runs[1];
        let peak_mib = r[8].parse::<f64>().unwrap() / 1024.0;
        let first_mib = r[11].parse::<f64>().unwrap() / 1024.0;
        println!(
            "| {} | {} ms | {} ms | {} ms | {} ms | {} ms ({}) | {} ms | {first_mib:.1} / {peak_mib:.1} MiB | {} / {} ms |",
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[9], r[10]
        );
        std::fs::remove_file(&db).ok();
    }
}
