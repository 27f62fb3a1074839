//! The board's speed, bytes and memory with 10,000 and 100,000 people, in a real pseudo-terminal
//! at 120x40, against `less` on the same roster as CSV. Results go to stdout as a Markdown table
//! for docs/BENCHMARKS.md.
//!
//!     cargo bench --bench board                    # 10,000 and 100,000 people, 60 s idle
//!     BENCH_PEOPLE=10000 BENCH_IDLE_SECS=10 cargo bench --bench board
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../tests/support/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const END_FRAME: &[u8] = b"\x1b[?2026l";

fn bin() -> PathBuf {
    // `cargo bench` builds the release binary next to the bench executable's parent directory.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    dir.join("reentry-board")
}

fn run(home: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(bin())
        .args(args)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Process CPU time (user + system) in seconds and peak resident memory in KiB, from /proc.
fn cpu_and_peak(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|u| u.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (ticks / 100.0, peak)
}

const FIRST_BOARD_STARTS: usize = 5;

/// Starts the board and waits for the end of its first frame, polled like a keystroke's (the
/// helper's `wait_for` polls every 25 ms, a quarter of the target).
fn start_board(home: &Path, db: &str) -> (pty::Pty, Duration) {
    let start = Instant::now();
    let p = pty::Pty::spawn_program(&bin(), home, &["--db", db], 120, 40, &[]);
    while !contains(&p.raw.lock().unwrap(), END_FRAME) && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_micros(200));
    }
    (p, start.elapsed())
}

fn contains(raw: &[u8], needle: &[u8]) -> bool {
    raw.windows(needle.len()).any(|w| w == needle)
}

/// Sends `keys` and waits for the end of the frame that answers them.
fn keystroke(p: &mut pty::Pty, keys: &[u8]) -> (Duration, usize) {
    let before = p.raw.lock().unwrap().len();
    let start = Instant::now();
    p.send(keys);
    loop {
        {
            let raw = p.raw.lock().unwrap();
            if raw.len() > before
                && raw[before..]
                    .windows(END_FRAME.len())
                    .any(|w| w == END_FRAME)
            {
                return (start.elapsed(), raw.len() - before);
            }
        }
        if start.elapsed() > Duration::from_secs(10) {
            panic!("no frame after {keys:?}");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

struct Stats {
    samples: Vec<Duration>,
    bytes: Vec<usize>,
}

impl Stats {
    fn line(&self, name: &str) -> String {
        let mut s = self.samples.clone();
        s.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let p50 = ms(s[s.len() / 2]);
        let max = ms(*s.last().unwrap());
        let avg_bytes = self.bytes.iter().sum::<usize>() / self.bytes.len().max(1);
        format!(
            "| {name} | {} | {p50:.1} ms | {max:.1} ms | {avg_bytes} B |",
            s.len()
        )
    }
}

fn bench(people: usize, idle_secs: u64) {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("board.db");
    let db_s = db.to_str().unwrap();
    let t = Instant::now();
    run(
        home.path(),
        &[
            "init",
            "--demo",
            "--people",
            &people.to_string(),
            "--db",
            db_s,
        ],
    );
    let seed_time = t.elapsed();
    let export = run(home.path(), &["export", "--format", "json", "--db", db_s]);
    let json: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    let first = json["people"][0]["booking_id"]
        .as_str()
        .unwrap()
        .to_string();
    let csv = home.path().join("roster.csv");
    std::fs::write(
        &csv,
        run(home.path(), &["export", "--format", "csv", "--db", db_s]).stdout,
    )
    .unwrap();

    println!(
        "\n### {people} people (seeded in {:.1} s)\n",
        seed_time.as_secs_f64()
    );
    // The first board is one sample per start, and other work on a shared machine moves it by
    // tens of milliseconds: several starts, then the session the keys are measured in.
    let mut firsts = Stats {
        samples: vec![],
        bytes: vec![],
    };
    for _ in 1..FIRST_BOARD_STARTS {
        let (mut p, d) = start_board(home.path(), db_s);
        firsts.samples.push(d);
        firsts.bytes.push(p.raw.lock().unwrap().len());
        p.send(b"q");
        assert!(
            p.wait_exit(Duration::from_secs(10)),
            "the board did not quit"
        );
    }
    let (mut p, first_board) = start_board(home.path(), db_s);
    p.wait_for(&first, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(300));
    let pid = p.pid();
    println!("| measure | n | p50 | max | bytes per answer |\n|---|---|---|---|---|");
    firsts.samples.push(first_board);
    firsts.bytes.push(p.raw.lock().unwrap().len());
    let fastest = firsts.samples.iter().min().copied().unwrap_or_default();
    println!(
        "{} (fastest {:.1} ms)",
        firsts.line(&format!(
            "first complete board, {FIRST_BOARD_STARTS} starts"
        )),
        fastest.as_secs_f64() * 1000.0
    );
    let mut down = Stats {
        samples: vec![],
        bytes: vec![],
    };
    for _ in 0..20 {
        let (d, b) = keystroke(&mut p, b"j");
        down.samples.push(d);
        down.bytes.push(b);
    }
    println!("{}", down.line("down (j) x20"));
    let mut page = Stats {
        samples: vec![],
        bytes: vec![],
    };
    for _ in 0..5 {
        let (d, b) = keystroke(&mut p, b"\x1b[6~");
        page.samples.push(d);
        page.bytes.push(b);
    }
    println!("{}", page.line("page down x5"));
    let mut search = Stats {
        samples: vec![],
        bytes: vec![],
    };
    let (d, b) = keystroke(&mut p, b"/");
    search.samples.push(d);
    search.bytes.push(b);
    for c in b"garcia" {
        let (d, b) = keystroke(&mut p, &[*c]);
        search.samples.push(d);
        search.bytes.push(b);
    }
    println!("{}", search.line("search `/garcia` (per key)"));
    keystroke(&mut p, b"\x1b");

    // Idle: no keys, no changes. Nothing should be written and almost no CPU used.
    std::thread::sleep(Duration::from_millis(500));
    let bytes_before = p.raw.lock().unwrap().len();
    let (cpu_before, _) = cpu_and_peak(pid);
    std::thread::sleep(Duration::from_secs(idle_secs));
    let idle_bytes = p.raw.lock().unwrap().len() - bytes_before;
    let (cpu_after, peak_kib) = cpu_and_peak(pid);
    println!(
        "| idle {idle_secs} s | | {idle_bytes} B written | {:.3} s CPU ({:.2}%) | |",
        cpu_after - cpu_before,
        (cpu_after - cpu_before) / idle_secs as f64 * 100.0
    );
    println!(
        "| peak memory (VmHWM) | | {:.1} MiB | | |",
        peak_kib as f64 / 1024.0
    );
    p.send(b"q");
    p.wait_exit(Duration::from_secs(10));

    // The same roster in `less`, the baseline a spreadsheet-exporting team would use.
    if Command::new("less").arg("--version").output().is_ok() {
        let start = Instant::now();
        let mut l = pty::Pty::spawn_program(
            Path::new("less"),
            home.path(),
            &["-S", csv.to_str().unwrap()],
            120,
            40,
            &[],
        );
        l.wait_for("booking_id", Duration::from_secs(60));
        let first = start.elapsed();
        let pid = l.pid();
        let mut page = Stats {
            samples: vec![],
            bytes: vec![],
        };
        for _ in 0..5 {
            let before = l.raw.lock().unwrap().len();
            let t = Instant::now();
            l.send(b" ");
            while l.raw.lock().unwrap().len() == before && t.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(Duration::from_millis(30));
            page.samples.push(t.elapsed());
            page.bytes.push(l.raw.lock().unwrap().len() - before);
        }
        let (_, peak) = cpu_and_peak(pid);
        println!(
            "| `less -S` first screen (CSV) | 1 | {:.1} ms | | |\n{}\n| `less` peak memory | | {:.1} MiB | | |",
            first.as_secs_f64() * 1000.0,
            page.line("`less` page down x5 (incl. 30 ms settle)"),
            peak as f64 / 1024.0
        );
        l.send(b"q");
        l.wait_exit(Duration::from_secs(10));
    }
}

fn main() {
    let idle: u64 = std::env::var("BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let sizes: Vec<usize> = std::env::var("BENCH_PEOPLE")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    println!(
        "board benchmark: {} cores, 120x40, binary {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        bin().display()
    );
    for people in sizes {
        bench(people, idle);
    }
}
