//! The hub binary against floods of connections that send nothing: a global and a per-address
//! cap, a short timeout for silent connections, the descriptor limit raised at start — while a
//! facility with a valid token keeps getting answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::flood::{have_prlimit, raise_own_limit, silent_connections};
use support::hub_db::HubDb;

const BIN: &str = env!("CARGO_BIN_EXE_reentry-board");

struct Hub {
    child: Child,
    addr: SocketAddr,
    said: String,
    token: String,
    _dir: tempfile::TempDir,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `reentry-board hub` on 127.0.0.1, under `under` (prlimit) when given, with a token.
fn start(under: &[&str], extra: &[&str]) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let db = HubDb::unopened(dir.path()).args();
    let out = Command::new(BIN)
        .args(["hub", "token", "add", "--facility", "county-main-jail"])
        .args(&db)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let mut cmd = match under.split_first() {
        Some((program, args)) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(BIN);
            cmd
        }
        None => Command::new(BIN),
    };
    let mut child = cmd
        .args(["hub", "--listen", "127.0.0.1:0"])
        .args(&db)
        .args(extra)
        .env("HOME", dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut said = String::new();
    let addr = loop {
        let line = lines
            .next()
            .expect("the hub ended before listening")
            .unwrap();
        said.push_str(&line);
        said.push('\n');
        if let Some(url) = line.strip_prefix("hub listening on http://") {
            break url.parse().unwrap();
        }
    };
    // Then the descriptor limit and the cap.
    said.push_str(&lines.next().unwrap().unwrap());
    std::thread::spawn(move || for _ in lines {});
    Hub {
        child,
        addr,
        said,
        token,
        _dir: dir,
    }
}

/// One plain HTTP/1.1 request on a new connection, as a facility's sender would make it;
/// the status and how long it took.
fn get_cursor(hub: &Hub) -> (u16, Duration) {
    let start = Instant::now();
    let mut stream = TcpStream::connect(hub.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET /v1/persons/p-1/cursor HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {}\r\n\
         Connection: close\r\n\r\n",
        hub.token
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, start.elapsed())
}

fn open_files(hub: &Hub) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", hub.child.id()))
        .map(|dir| dir.count())
        .unwrap_or(0)
}

/// 1,100 half-open connections from one address under a 1024-descriptor limit: the
/// per-address cap closes all but a few at once, and a facility with a valid token is answered
/// at once, every time.
#[test]
fn one_address_flooding_costs_others_nothing() {
    if !have_prlimit() {
        return;
    }
    if !raise_own_limit() {
        return;
    }
    let mut hub = start(&["prlimit", "--nofile=1024:1024"], &[]);
    assert!(hub.said.contains("open-file limit 1024"), "{}", hub.said);
    let flood = silent_connections(hub.addr, 1, 1100);
    assert!(flood.len() > 1000, "{} connected", flood.len());
    for _ in 0..20 {
        let (status, took) = get_cursor(&hub);
        assert_eq!(status, 200);
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
    assert!(open_files(&hub) < 100, "{} descriptors", open_files(&hub));
    assert!(hub.child.try_wait().unwrap().is_none(), "the hub is up");
}

/// 1,100 half-open connections from 37 addresses (under the per-address cap) fill the global
/// cap: the oldest silent ones are closed to make room, so a valid client is still answered.
#[test]
fn many_addresses_flooding_fill_the_cap_and_make_room() {
    if !have_prlimit() {
        return;
    }
    if !raise_own_limit() {
        return;
    }
    let mut hub = start(&["prlimit", "--nofile=1024:1024"], &[]);
    let flood = silent_connections(hub.addr, 37, 30);
    assert!(flood.len() > 1000, "{} connected", flood.len());
    for _ in 0..20 {
        let (status, took) = get_cursor(&hub);
        assert_eq!(status, 200);
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
    assert!(
        open_files(&hub) < 600,
        "{} descriptors for a cap of 512",
        open_files(&hub)
    );
    assert!(hub.child.try_wait().unwrap().is_none(), "the hub is up");
}

/// A connection that sends nothing is closed after --first-byte-timeout; one that stays silent
/// after a request, after --idle-timeout.
#[test]
fn silent_connections_are_closed() {
    let hub = start(&[], &["--first-byte-timeout", "1", "--idle-timeout", "2"]);
    let closed_after = |stream: &mut TcpStream| {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(_) => {}
            }
        }
    };
    let mut silent = TcpStream::connect(hub.addr).unwrap();
    let took = closed_after(&mut silent);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    // Kept alive after one request, then silent.
    let mut kept = TcpStream::connect(hub.addr).unwrap();
    write!(kept, "GET /v1/health HTTP/1.1\r\nHost: hub\r\n\r\n").unwrap();
    let took = closed_after(&mut kept);
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

/// The soft descriptor limit is raised to the hard one, and the cap fitted under it.
#[test]
fn the_descriptor_limit_is_raised_and_the_cap_fitted() {
    if !have_prlimit() {
        return;
    }
    let hub = start(&["prlimit", "--nofile=256:2048"], &[]);
    assert!(
        hub.said
            .contains("open-file limit raised from 256 to 2048; at most 512 connections"),
        "{}",
        hub.said
    );
    let low = start(&["prlimit", "--nofile=300:300"], &[]);
    assert!(
        low.said
            .contains("open-file limit 300; at most 236 connections"),
        "{}",
        low.said
    );
}
