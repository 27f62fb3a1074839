//! The board over SSH: the real `serve` binary on 127.0.0.1 and a random port, Debian's OpenSSH
//! client as the user, keys made with ssh-keygen in a tempdir ([`support::ssh_server`]). What
//! strangers and mistakes may try is in `ssh_limits.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Read;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Duration as Days;
use reentry_board::clock::{Clock, SystemClock};
use reentry_board::domain::{Certainty, ChangeReason, Role};
use reentry_board::store::{Actor, ChangeReleaseDate, Store};
use support::pty::Pty;
use support::ssh_server::{SSH, WAIT, have_openssh, start, start_with, stderr_of};

fn widest_line(pty: &Pty) -> usize {
    pty.screen()
        .lines()
        .map(|l| l.trim_end().chars().count())
        .max()
        .unwrap_or(0)
}

fn wait_until(what: &str, pty: &Pty, done: impl Fn() -> bool) {
    let start = Instant::now();
    while start.elapsed() < WAIT {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("waited for {what}; the screen shows:\n{}", pty.screen());
}

#[test]
fn an_authorized_key_gets_the_board_and_a_window_change_redraws_it() {
    if !have_openssh() {
        return;
    }
    let server = start();
    let mut pty = server.session("alice", 100, 30);
    pty.wait_for("alice (coordinator)", WAIT);
    assert!(widest_line(&pty) <= 100);

    pty.resize(150, 40);
    wait_until("a redraw at 150 columns", &pty, || widest_line(&pty) > 100);

    // Garbage and a zero-size window neither end the session nor upset it.
    pty.send(b"\x1b[99999999999;;;;;Z\x1b]\xff\xfe\x00\x1bO");
    pty.resize(0, 0);
    std::thread::sleep(Duration::from_millis(200));
    pty.resize(90, 25);
    wait_until("a redraw at 90 columns", &pty, || {
        pty.screen().contains("alice (coordinator)") && widest_line(&pty) <= 90
    });

    // Ctrl+C always ends the session, and the client's terminal is given back.
    pty.send(b"\x03");
    assert!(pty.wait_exit(WAIT), "ssh exits cleanly");
    pty.assert_restored();

    let stderr = server.stderr.lock().unwrap().clone();
    assert!(
        stderr.contains("authorized_keys:2: not an OpenSSH public key line"),
        "the bad line is reported with file and line: {stderr}"
    );
}

#[test]
fn unknown_keys_and_passwords_are_refused() {
    if !have_openssh() {
        return;
    }
    let server = start();
    let unknown = server.ssh("carol", &["-tt", "carol@127.0.0.1"]);
    assert_eq!(unknown.status.code(), Some(255));
    assert!(stderr_of(&unknown).contains("Permission denied (publickey)"));

    let password = server.ssh(
        "carol",
        &[
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "PreferredAuthentications=password,keyboard-interactive",
            "-tt",
            "alice@127.0.0.1",
        ],
    );
    assert_eq!(password.status.code(), Some(255));
    assert!(
        stderr_of(&password).contains("Permission denied (publickey)"),
        "{}",
        stderr_of(&password)
    );
}

#[test]
fn commands_port_forwarding_and_sessions_without_a_pty_are_refused() {
    if !have_openssh() {
        return;
    }
    let server = start();
    let exec = server.ssh("alice", &["alice@127.0.0.1", "echo", "hi"]);
    assert!(!exec.status.success());
    assert!(!String::from_utf8_lossy(&exec.stdout).contains("hi"));
    // OpenSSH exits on the refusal, sometimes before printing the server's reason.
    let said = stderr_of(&exec);
    assert!(
        said.contains("exec request failed") || said.contains("only the board is served here"),
        "{said}"
    );

    let no_pty = server.ssh("alice", &["-T", "alice@127.0.0.1"]);
    assert_eq!(no_pty.status.code(), Some(1));
    assert!(stderr_of(&no_pty).contains("the board needs a terminal; connect with ssh -t"));

    let remote = server.ssh(
        "alice",
        &[
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            "0:127.0.0.1:9",
            "alice@127.0.0.1",
        ],
    );
    assert!(!remote.status.success());
    assert!(stderr_of(&remote).contains("remote port forwarding failed"));

    // -L listens on our side; the refusal comes when a connection through it is opened.
    let local_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // At the default log level, where OpenSSH reports the refusal.
    let mut forward = Command::new(SSH)
        .args(server.args("alice"))
        .args([
            "-N",
            "-L",
            &format!("{local_port}:127.0.0.1:{}", server.port),
            "alice@127.0.0.1",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", local_port)) {
            Ok(stream) => break stream,
            Err(_) if start.elapsed() < WAIT => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => panic!("the -L listener never came up: {error}"),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 64];
    let read = stream.read(&mut buf).unwrap_or(0);
    assert_eq!(read, 0, "nothing comes through a refused forward");
    // The client logs the refusal around the time it closes our socket.
    std::thread::sleep(Duration::from_millis(300));
    let _ = forward.kill();
    let mut stderr = String::new();
    forward
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let _ = forward.wait();
    assert!(
        stderr.contains("administratively prohibited"),
        "the forward is refused: {stderr}"
    );
}

#[test]
fn two_users_see_a_change_at_once_and_the_server_says_goodbye() {
    if !have_openssh() {
        return;
    }
    let mut server = start();
    let mut alice = server.session("alice", 120, 30);
    let mut bob = server.session("bob", 120, 30);
    alice.wait_for("alice (coordinator)", WAIT);
    bob.wait_for("bob (viewer", WAIT);

    // Another process commits (as `import` would): both boards show it within their tick.
    let clock = SystemClock;
    let mut store = Store::open(&server.db, Arc::new(SystemClock)).unwrap();
    let screen = alice.screen();
    let record = store
        .load_records()
        .unwrap()
        .into_iter()
        .find(|r| screen.contains(&r.person.booking_id))
        .expect("someone on the board");
    let booking = record.person.booking_id.clone();
    let row = |pty: &Pty| {
        pty.screen()
            .lines()
            .find(|l| l.contains(&booking))
            .unwrap_or_default()
            .to_string()
    };
    let date = (0..5)
        .map(|n| clock.today() + Days::days(n))
        .find(|d| Some(*d) != record.release.date)
        .unwrap();
    let shown = date.format("%m-%d").to_string();
    store
        .apply(
            &Actor::new("tester", Role::Coordinator),
            ChangeReleaseDate {
                person_id: record.person.id.clone(),
                version: record.version,
                date: Some(date),
                certainty: Certainty::Confirmed,
                kind: None,
                source: None,
                reason: ChangeReason::Correction,
                reason_text: String::new(),
            },
        )
        .unwrap();
    wait_until("alice sees the new date", &alice, || {
        row(&alice).contains(&shown)
    });
    wait_until("bob sees the new date", &bob, || row(&bob).contains(&shown));

    // Now alice saves through the release-date dialog in her session: bob's board shows it at
    // once (an in-process wake-up), and the audit row names her key and address.
    let record = store.load_record(&record.person.id).unwrap().unwrap();
    let date2 = date + Days::days(7);
    let shown2 = date2.format("%m-%d").to_string();
    alice.send(b"/");
    alice.send(booking.as_bytes());
    alice.send(b"\r");
    alice.send(b"e");
    alice.wait_for("Release date", WAIT);
    alice.send(&[0x7f; 12]);
    alice.send(date2.format("%Y-%m-%d").to_string().as_bytes());
    alice.send(b"\x1b[B\x1b[B\x1b[B\x1b[B\x1b[C");
    alice.wait_for("court order", WAIT);
    alice.send(b"\r");
    alice.wait_for("Saved: release date.", WAIT);
    wait_until("bob sees alice's date", &bob, || {
        row(&bob).contains(&shown2)
    });
    let audit = store.audit_for(&record.person.id).unwrap();
    let last = audit.last().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.kind.as_str()),
        ("alice", "release_date_changed"),
        "{last:?}"
    );
    let fingerprint = String::from_utf8(
        Command::new("ssh-keygen")
            .arg("-lf")
            .arg(server.home.path().join("alice.pub"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let fingerprint = fingerprint.split_whitespace().nth(1).unwrap().to_string();
    let via = last.via.clone().unwrap_or_default();
    assert!(
        via.starts_with(&format!("ssh key {fingerprint} from 127.0.0.1")),
        "the audit row names the key and the address: {via}"
    );

    server.stop();
    for pty in [&mut alice, &mut bob] {
        pty.wait_for("the server is stopping; goodbye.", WAIT);
        pty.wait_exit(WAIT);
        pty.assert_restored();
    }
}

#[test]
fn the_session_limit_holds() {
    if !have_openssh() {
        return;
    }
    let server = start_with(&["--max-sessions", "1"]);
    let alice = server.session("alice", 100, 30);
    alice.wait_for("alice (coordinator)", WAIT);
    let full = server.ssh("bob", &["-tt", "bob@127.0.0.1"]);
    assert_eq!(full.status.code(), Some(1));
    assert!(
        stderr_of(&full).contains("the server has all the sessions it allows"),
        "{}",
        stderr_of(&full)
    );
}
