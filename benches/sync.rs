//! Sync figures for docs/BENCHMARKS.md: `cargo bench --bench sync`.
//!
//! 1. a backlog of 10,000 events drained to a local hub (one sender, batches of 100);
//! 2. the hub's throughput with 4 facilities sending 2,500 events each at once;
//! 3. the idle cost of `reentry-board sync` with an empty queue: CPU time over 10 s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use reentry_board::clock::SystemClock;
use reentry_board::domain::Role;
use reentry_board::hub::{self, ServeOptions, tokens};
use reentry_board::store::{Actor, Store};
use reentry_board::sync::{Sender, Step, SyncConfig, SyncOverrides, SyncSettings};

fn board(dir: &Path, name: &str, facility: &str, people: usize) -> PathBuf {
    let db = dir.join(format!("{name}.db"));
    let actor = Actor::new("bench", Role::Coordinator);
    let mut store = Store::create(&db, Arc::new(SystemClock)).unwrap();
    store.set_facility_id(&actor, facility).unwrap();
    let seed = reentry_board::demo::synthetic_data(people, Utc::now().date_naive(), 3).unwrap();
    store.seed(&actor, &seed).unwrap();
    db
}

fn token_file(dir: &Path, hub_db: &Path, facility: &str) -> PathBuf {
    let conn = hub::db::open(hub_db).unwrap();
    let (_, token) = tokens::add(&conn, facility, "bench").unwrap();
    let path = dir.join(format!("{facility}.token"));
    std::fs::write(&path, token).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn settings(url: &str, token: &Path) -> SyncSettings {
    SyncSettings::resolve(
        &SyncConfig::default(),
        &SyncOverrides {
            url: Some(url.into()),
            token_file: Some(token.to_path_buf()),
            ..SyncOverrides::default()
        },
    )
    .unwrap()
}

/// Sends until nothing is pending; returns the events sent.
fn drain(db: &Path, settings: SyncSettings) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut sender = Sender::new(db, settings).unwrap();
    let mut sent = 0;
    loop {
        match rt.block_on(sender.step()).unwrap() {
            Step::Sent(n) => sent += n,
            Step::Idle(None) => return sent,
            other => panic!("the bench hub failed: {other:?}"),
        }
    }
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name: state is field 3; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let hub_db = dir.path().join("hub.db");

    // 1. The backlog.
    let db = board(dir.path(), "backlog", "bench-main", 10_000);
    let token = token_file(dir.path(), &hub_db, "bench-main");
    // A hub as served (no faults, no per-exchange contract check of the test hubs).
    let running = hub::spawn(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        hub_db.clone(),
        ServeOptions::default(),
    )
    .unwrap();
    let url = running.url();
    let start = Instant::now();
    let sent = drain(&db, settings(&url, &token));
    let took = start.elapsed();
    assert_eq!(sent, 10_000);
    println!(
        "backlog: {sent} events drained in {:.2} s ({:.0} events/s)",
        took.as_secs_f64(),
        sent as f64 / took.as_secs_f64()
    );

    // 2. Several facilities at once.
    let facilities = ["bench-north", "bench-south", "bench-east", "bench-west"];
    let jobs: Vec<(PathBuf, SyncSettings)> = facilities
        .iter()
        .map(|f| {
            let db = board(dir.path(), f, f, 2_500);
            let token = token_file(dir.path(), &hub_db, f);
            (db, settings(&url, &token))
        })
        .collect();
    let start = Instant::now();
    let threads: Vec<_> = jobs
        .into_iter()
        .map(|(db, s)| std::thread::spawn(move || drain(&db, s)))
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let took = start.elapsed();
    assert_eq!(total, 10_000);
    println!(
        "hub: {} facilities, {total} events in {:.2} s ({:.0} events/s)",
        facilities.len(),
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64()
    );

    // 3. Idle cost of the real service on the drained database.
    let home = dir.path().join("home");
    let mut child = Command::new(env!("CARGO_BIN_EXE_reentry-board"))
        .args(["sync", "--db"])
        .arg(&db)
        .args(["--url", &url, "--token-file"])
        .arg(&token)
        .env("XDG_DATA_HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let before = cpu_ticks(child.id());
    let window = Duration::from_secs(10);
    std::thread::sleep(window);
    let after = cpu_ticks(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    // Clock ticks are 10 ms on Linux (USER_HZ = 100).
    let cpu_ms = (after - before) * 10;
    println!(
        "idle: `reentry-board sync` with an empty queue used {cpu_ms} ms CPU in {} s ({:.3}% of a core)",
        window.as_secs(),
        cpu_ms as f64 / window.as_millis() as f64 * 100.0
    );
    drop(running);
}
