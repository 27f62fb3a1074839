//! CPU cost of the board's own code, without a terminal or a database: `App::new` on synthetic
//! records, then moves, page downs and a search, each followed by a draw into ratatui's
//! `TestBackend` at 120x40. Thread CPU time, so other builds on the machine do not inflate it;
//! `App::new` also with its wall time and the CPU of all threads, since it uses two for a big board.
//!
//!     cargo bench --bench board_cpu                      # 10,000 and 100,000 people
//!     BENCH_PEOPLE=10000 cargo bench --bench board_cpu
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use reentry_board::demo::synthetic_data;
use reentry_board::domain::Role;
use reentry_board::tui::{Action, App, TuiOptions, view};

/// CPU time of this thread (user + system), from /proc: immune to waiting for a core.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns: u64 = stat
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// CPU time of the whole process (every thread, including ones that have exited), from
/// /proc/self/stat in clock ticks of 10 ms: coarse, but it counts the second thread `App::new`
/// uses for a big board, which the calling thread's own clock does not.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    Duration::from_millis(fields.iter().sum::<u64>() * 10)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
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

fn draw(terminal: &mut Terminal<TestBackend>, app: &App) {
    terminal.draw(|f| view::draw(f, app)).unwrap();
}

/// Mean CPU time per key over the batch: the kernel's per-thread clock ticks in 4 ms steps here,
/// too coarse for one key. Plus the wall-clock median and maximum per key.
struct Keys {
    cpu_mean: Duration,
    wall_p50: Duration,
    wall_max: Duration,
}

fn keys(app: &mut App, terminal: &mut Terminal<TestBackend>, actions: &[Action]) -> Keys {
    let cpu_start = cpu();
    let mut walls: Vec<Duration> = actions
        .iter()
        .map(|a| {
            let start = Instant::now();
            app.update(a.clone());
            draw(terminal, app);
            app.mark_drawn();
            start.elapsed()
        })
        .collect();
    let cpu_mean = (cpu() - cpu_start) / u32::try_from(actions.len()).unwrap();
    walls.sort();
    Keys {
        cpu_mean,
        wall_p50: walls[walls.len() / 2],
        wall_max: *walls.last().unwrap(),
    }
}

fn show(k: &Keys) -> String {
    format!(
        "{} CPU; {} ({})",
        ms(k.cpu_mean),
        ms(k.wall_p50),
        ms(k.wall_max)
    )
}

fn main() {
    let sizes = std::env::var("BENCH_PEOPLE").unwrap_or_else(|_| "10000,100000".into());
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    println!(
        "| people | App::new: wall; CPU this thread; CPU all threads | first draw (CPU) | down: mean CPU; wall p50 (max) | page down | search key | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in sizes
        .split(',')
        .filter_map(|s| s.trim().parse::<usize>().ok())
    {
        let records = synthetic_data(n, today, 7).unwrap().records;
        let options = TuiOptions::new("Bench", "bench (coordinator)", Role::Coordinator);
        let (start, wall, all) = (cpu(), Instant::now(), process_cpu());
        let mut app = App::new(options, records, today, now);
        let built = cpu() - start;
        let built_wall = wall.elapsed();
        let built_all = process_cpu() - all;
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        let start = cpu();
        app.update(Action::Resized {
            width: 120,
            height: 40,
        });
        draw(&mut terminal, &app);
        app.mark_drawn();
        let first = cpu() - start;
        let down = keys(&mut app, &mut terminal, &vec![Action::MoveDown; 200]);
        let page = keys(&mut app, &mut terminal, &vec![Action::PageDown; 20]);
        keys(&mut app, &mut terminal, &[Action::OpenSearch]);
        let typed: Vec<Action> = "garcia".chars().map(Action::SearchInput).collect();
        let search = keys(&mut app, &mut terminal, &typed);
        println!(
            "| {n} | {}; {}; {} | {} | {} | {} | {} | {:.1} MiB |",
            ms(built_wall),
            ms(built),
            ms(built_all),
            ms(first),
            show(&down),
            show(&page),
            show(&search),
            peak_kib() as f64 / 1024.0
        );
    }
}
