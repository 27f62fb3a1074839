//! N concurrent SSH board sessions against the real `serve` binary, each pressing a key every
//! 200 ms: keystroke round trip (key sent -> the redrawn frame's end arrives), server CPU and
//! memory per session, then the same sessions idle: CPU and bytes sent. russh is the client, so
//! 50 sessions cost the machine one process rather than 50 `ssh`. Prints Markdown for
//! docs/BENCHMARKS.md.
//!
//!     cargo bench --bench ssh                              # 50 sessions, 20 s typing, 10 s idle
//!     SSH_BENCH_SESSIONS=10 SSH_BENCH_SECS=5 cargo bench --bench ssh
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use russh::keys::{Algorithm, PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, client};
use tokio::sync::Mutex;

const END_FRAME: &[u8] = b"\x1b[?2026l";
const KEY_EVERY: Duration = Duration::from_millis(200);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    dir.join("reentry-board")
}

fn command(home: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"));
    cmd
}

/// CPU seconds (user + system) and resident memory of a process, from /proc.
fn cpu_and_rss(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // Linux reports in USER_HZ, 100 on every platform we run on.
    (ticks as f64 / 100.0, rss_kb * 1024)
}

struct Client;

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

struct Session {
    channel: russh::Channel<client::Msg>,
    _handle: client::Handle<Client>,
}

async fn open(port: u16, key: Arc<PrivateKey>) -> Session {
    let config = Arc::new(client::Config::default());
    let mut handle = client::connect(config, ("127.0.0.1", port), Client)
        .await
        .unwrap();
    let auth = handle
        .authenticate_publickey("bench", PrivateKeyWithHashAlg::new(key, None))
        .await
        .unwrap();
    assert!(auth.success(), "the bench key is authorized");
    let channel = handle.channel_open_session().await.unwrap();
    channel
        .request_pty(false, "xterm-256color", 120, 40, 0, 0, &[])
        .await
        .unwrap();
    channel.request_shell(false).await.unwrap();
    let mut session = Session {
        channel,
        _handle: handle,
    };
    // The first whole frame.
    wait_frame(&mut session, Duration::from_secs(30))
        .await
        .unwrap();
    session
}

/// Bytes until a frame ends, or `None` on timeout.
async fn wait_frame(session: &mut Session, limit: Duration) -> Option<usize> {
    let mut bytes = 0;
    let mut tail: Vec<u8> = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let msg = tokio::time::timeout_at(deadline, session.channel.wait())
            .await
            .ok()??;
        if let ChannelMsg::Data { data } = msg {
            bytes += data.len();
            tail.extend_from_slice(&data);
            if tail.windows(END_FRAME.len()).any(|w| w == END_FRAME) {
                return Some(bytes);
            }
            let keep = tail.len().saturating_sub(END_FRAME.len());
            tail.drain(..keep);
        }
    }
}

fn main() {
    let sessions = env_or("SSH_BENCH_SESSIONS", 50usize);
    let typing = Duration::from_secs(env_or("SSH_BENCH_SECS", 20u64));
    let idle = Duration::from_secs(env_or("SSH_BENCH_IDLE_SECS", 10u64));

    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let db = dir.join("board.db");
    let status = command(dir)
        .args(["init", "--demo", "--db"])
        .arg(&db)
        .status()
        .unwrap();
    assert!(status.success());
    let status = command(dir)
        .args(["users", "--db"])
        .arg(&db)
        .args(["add", "bench", "--role", "coordinator"])
        .status()
        .unwrap();
    assert!(status.success());
    let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).unwrap();
    let public = key.public_key().to_openssh().unwrap();
    std::fs::write(dir.join("authorized_keys"), format!("{public} bench\n")).unwrap();

    let mut server: Child = command(dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--host-key")
        .arg(dir.join("host_key"))
        .arg("--authorized-keys")
        .arg(dir.join("authorized_keys"))
        .arg("--max-sessions")
        .arg((sessions + 1).to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = server.id();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(addr) = line.strip_prefix("ssh server listening on ") {
            break addr.rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    std::thread::sleep(Duration::from_millis(300));
    let (_, rss_empty) = cpu_and_rss(pid);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let key = Arc::new(key);
    let opened = runtime.block_on(async {
        let mut all = Vec::new();
        for _ in 0..sessions {
            all.push(Arc::new(Mutex::new(open(port, key.clone()).await)));
        }
        all
    });
    std::thread::sleep(Duration::from_millis(500));
    let (cpu_start, rss_full) = cpu_and_rss(pid);

    // Typing: each session presses Down then Up (always a visible change) every 200 ms,
    // staggered so the keys do not all land in the same instant.
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let lost = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for (n, session) in opened.iter().enumerate() {
            let session = session.clone();
            let latencies = latencies.clone();
            let lost = lost.clone();
            tasks.push(tokio::spawn(async move {
                let offset = KEY_EVERY.mul_f64(n as f64 / sessions as f64);
                tokio::time::sleep(offset).await;
                let mut tick = tokio::time::interval(KEY_EVERY);
                let mut down = true;
                let mut session = session.lock().await;
                while started.elapsed() < typing {
                    tick.tick().await;
                    let key: &[u8] = if down { b"\x1b[B" } else { b"\x1b[A" };
                    down = !down;
                    let sent = Instant::now();
                    session.channel.data(key).await.unwrap();
                    match wait_frame(&mut session, Duration::from_secs(5)).await {
                        Some(_) => latencies.lock().unwrap().push(sent.elapsed()),
                        None => {
                            lost.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    let typed_for = started.elapsed();
    let (cpu_typed, _) = cpu_and_rss(pid);

    // Idle: nobody types. Count every byte any session receives and the server's CPU.
    std::thread::sleep(Duration::from_secs(2));
    let idle_bytes = Arc::new(AtomicU64::new(0));
    let (cpu_idle_start, _) = cpu_and_rss(pid);
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for session in &opened {
            let session = session.clone();
            let idle_bytes = idle_bytes.clone();
            tasks.push(tokio::spawn(async move {
                let mut session = session.lock().await;
                let deadline = tokio::time::Instant::now() + idle;
                while let Ok(Some(msg)) =
                    tokio::time::timeout_at(deadline, session.channel.wait()).await
                {
                    if let ChannelMsg::Data { data } = msg {
                        idle_bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    let (cpu_idle_end, _) = cpu_and_rss(pid);
    let _ = server.kill();
    let _ = server.wait();

    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort();
    let keys = latencies.len();
    let cores = (cpu_typed - cpu_start) / typed_for.as_secs_f64();
    let idle_cores = (cpu_idle_end - cpu_idle_start) / idle.as_secs_f64();
    let per_session = rss_full.saturating_sub(rss_empty) as f64 / sessions as f64;
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "## SSH: {sessions} sessions, a key each every 200 ms ({cpus} cores, server and client on one machine)\n"
    );
    println!("| measure | value |");
    println!("| --- | --- |");
    println!(
        "| keystrokes measured | {keys} ({} lost) |",
        lost.load(Ordering::Relaxed)
    );
    println!(
        "| round trip p50 | {:.1} ms |",
        ms(percentile(&latencies, 0.50))
    );
    println!(
        "| round trip p99 | {:.1} ms |",
        ms(percentile(&latencies, 0.99))
    );
    println!(
        "| round trip max | {:.1} ms |",
        ms(percentile(&latencies, 1.0))
    );
    println!(
        "| server CPU while typing | {:.0} % of one core ({:.2} % per session) |",
        cores * 100.0,
        cores * 100.0 / sessions as f64
    );
    println!("| server memory, no sessions | {:.1} MiB |", mib(rss_empty));
    println!(
        "| server memory, {sessions} sessions | {:.1} MiB ({:.2} MiB per session) |",
        mib(rss_full),
        per_session / 1048576.0
    );
    println!(
        "| idle {}s: server CPU | {:.2} % of one core |",
        idle.as_secs(),
        idle_cores * 100.0
    );
    println!(
        "| idle {}s: bytes sent to all sessions | {} |",
        idle.as_secs(),
        idle_bytes.load(Ordering::Relaxed)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1048576.0
}
