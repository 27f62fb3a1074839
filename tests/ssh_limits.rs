//! `serve` against strangers and mistakes, with the release binary and Debian's OpenSSH client:
//! key revocation that always takes effect, `authorized_keys` options, failed sign-ins that
//! lock no one out, and floods of connections that never sign in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::flood::{have_prlimit, raise_own_limit, silent_connections};
use support::ssh_server::{Launch, WAIT, have_openssh, launch, start_with};

fn write_keys(server: &support::ssh_server::Server, bytes: &[u8]) {
    std::fs::write(server.home.path().join("authorized_keys"), bytes).unwrap();
}

fn public(server: &support::ssh_server::Server, name: &str) -> String {
    std::fs::read_to_string(server.home.path().join(format!("{name}.pub")))
        .unwrap()
        .trim()
        .to_string()
}

/// A removed key stops working at once even when the same save breaks another line (a comment
/// in Latin-1 from a Windows editor); a restart does not fail on that line; an unreadable file
/// lets nobody in and says so.
#[test]
fn a_removed_key_stops_working_even_when_the_same_edit_adds_latin1() {
    if !have_openssh() {
        return;
    }
    let both = |k: &[String; 3]| format!("{}\nlogin=\"bob\" {}\n", k[0], k[1]).into_bytes();
    let mut server = launch(&Launch {
        keys: Some(&both),
        ..Launch::default()
    });
    assert_eq!(server.signs_in(&["alice"], &[]), Ok(()));
    assert_eq!(server.signs_in(&["bob"], &[]), Ok(()));

    // Alice's line removed; the same save adds a Latin-1 comment line, a key with a Latin-1
    // comment and a login= option (harmless), and carol's key whose Latin-1 comment would be
    // her login (skipped, with its line).
    let bob = public(&server, "bob");
    let carol = public(&server, "carol");
    let carol_key = carol.rsplit_once(' ').unwrap().0;
    let mut edited = b"# Jos\xe9, ward 3\r\n".to_vec();
    edited.extend_from_slice(format!("login=\"bob\" {bob} Jos").as_bytes());
    edited.extend_from_slice(b"\xe9, ward 3\r\n");
    edited.extend_from_slice(format!("{carol_key} jos").as_bytes());
    edited.extend_from_slice(b"\xe9\r\n");
    write_keys(&server, &edited);

    let refused = server.signs_in(&["alice"], &[]).unwrap_err();
    assert!(refused.contains("Permission denied"), "{refused}");
    assert_eq!(server.signs_in(&["bob"], &[]), Ok(()));
    assert!(server.signs_in(&["carol"], &[]).is_err());
    server.wait_stderr("authorized_keys:3: byte 0xe9 at column");
    server.wait_stderr("1 key(s) active, 1 line(s) skipped");

    // Unreadable: nobody gets in, loudly.
    std::fs::remove_file(server.home.path().join("authorized_keys")).unwrap();
    assert!(server.signs_in(&["bob"], &[]).is_err());
    server.wait_stderr("ERROR: authorized keys: cannot read");
    write_keys(&server, &edited);
    assert_eq!(server.signs_in(&["bob"], &[]), Ok(()));

    // A restart with the Latin-1 file starts, names the skipped line, and bob works.
    server.stop();
    let _ = server.child.wait();
    let restarted = launch_again(&server);
    // The warning may reach stderr after the listening line that `launch` waits for.
    restarted.wait_stderr("authorized_keys:3: byte 0xe9 at column");
    assert_eq!(restarted.signs_in(&["bob"], &[]), Ok(()));
    assert!(restarted.signs_in(&["alice"], &[]).is_err());
}

/// Starts `serve` again on the same files (a new port).
fn launch_again(old: &support::ssh_server::Server) -> support::ssh_server::Server {
    let keep = old.home.path().join("authorized_keys");
    let bytes = std::fs::read(&keep).unwrap();
    let same = move |_: &[String; 3]| bytes.clone();
    let server = launch(&Launch {
        keys: Some(&same),
        ..Launch::default()
    });
    // The new home has fresh keys: copy the old ones over before anyone signs in.
    for name in ["alice", "bob", "carol"] {
        for file in [name.to_string(), format!("{name}.pub")] {
            std::fs::copy(old.home.path().join(&file), server.home.path().join(&file)).unwrap();
        }
    }
    server
}

/// `from=` confines a key to addresses (the OpenSSH client from 127.0.0.1 and 127.0.0.2),
/// `expiry-time=` ends it, and an option `serve` does not support refuses its line by name.
#[test]
fn from_expiry_time_and_unsupported_options_are_enforced() {
    if !have_openssh() {
        return;
    }
    let keys = |k: &[String; 3]| {
        format!(
            "from=\"127.0.0.2,!127.0.0.3\",login=\"alice\" {}\n\
             expiry-time=\"20200101\",login=\"bob\" {}\n\
             command=\"/bin/sh\",login=\"carol\" {}\n",
            k[0], k[1], k[2]
        )
        .into_bytes()
    };
    let server = launch(&Launch {
        keys: Some(&keys),
        ..Launch::default()
    });
    let from_1 = server.signs_in(&["alice"], &[]).unwrap_err();
    assert!(from_1.contains("Permission denied"), "{from_1}");
    assert_eq!(server.signs_in(&["alice"], &["-b", "127.0.0.2"]), Ok(()));
    assert!(server.signs_in(&["bob"], &[]).is_err(), "expired");
    assert!(
        server.signs_in(&["carol"], &[]).is_err(),
        "command= refused"
    );
    let said = server.stderr();
    assert!(
        said.contains("authorized_keys:3: option command is not supported"),
        "{said}"
    );
}

/// OpenSSH offers every key it has in turn: a nurse whose fourth key is the listed one signs
/// in every time, and other people's failures at her address never refuse her.
#[test]
fn other_keys_offered_first_and_other_peoples_failures_never_lock_out() {
    if !have_openssh() {
        return;
    }
    let server = start_with(&["--max-auth-failures", "3"]);
    let dir = server.home.path();
    for name in ["other1", "other2", "other3"] {
        support::ssh_server::keygen(dir, name);
    }
    for attempt in 1..=6 {
        assert_eq!(
            server.signs_in(&["other1", "other2", "other3", "bob"], &[]),
            Ok(()),
            "sign-in {attempt}"
        );
    }
    // Five failed connections from the same address: the address is over the limit, and a
    // listed key still signs in at once.
    for _ in 0..5 {
        assert!(server.signs_in(&["carol"], &[]).is_err());
    }
    let start = Instant::now();
    assert_eq!(server.signs_in(&["bob"], &[]), Ok(()));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // The success cleared the address: an unlisted key is refused without the 2 s slow-down.
    let start = Instant::now();
    assert!(server.signs_in(&["carol"], &[]).is_err());
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

/// 1,100 connections that never sign in, from another address, against a server limited to
/// 1024 descriptors: the server stays up, the meeting's session keeps working, a new sign-in
/// from elsewhere works, and the server holds few descriptors for the flood.
#[test]
fn a_flood_of_bare_connections_stops_nothing() {
    if !have_openssh() || !have_prlimit() {
        return;
    }
    if !raise_own_limit() {
        return;
    }
    let mut server = launch(&Launch {
        under: &["prlimit", "--nofile=1024:1024"],
        ..Launch::default()
    });
    assert!(
        server.stdout().contains("open-file limit 1024"),
        "{}",
        server.stdout()
    );
    let mut meeting = server.session("alice", 100, 30);
    meeting.wait_for("alice (coordinator)", WAIT);
    let to: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let flood = silent_connections(to, 1, 1100);
    assert!(flood.len() > 1000, "{} connected", flood.len());
    assert!(server.running(), "serve survived: {}", server.stderr());
    assert!(
        server.open_files() < 100,
        "{} descriptors held",
        server.open_files()
    );
    // The meeting goes on: the help overlay opens and closes.
    meeting.send(b"?");
    meeting.wait_for("Keys", WAIT);
    meeting.send(b"\x1b");
    // Someone else signs in from another address.
    assert_eq!(server.signs_in(&["bob"], &[]), Ok(()));
    drop(flood);
    meeting.send(b"\x03");
    assert!(meeting.wait_exit(WAIT));
    assert!(server.running());
}

/// A connection that never signs in is closed after the login grace time.
#[test]
fn a_silent_connection_is_closed_after_the_login_grace_time() {
    if !have_openssh() {
        return;
    }
    let server = start_with(&["--login-grace-time", "2"]);
    let to: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let mut silent = std::net::TcpStream::connect(to).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let start = Instant::now();
    let mut seen = Vec::new();
    let closed = loop {
        let mut buf = [0u8; 256];
        match std::io::Read::read(&mut silent, &mut buf) {
            Ok(0) | Err(_) => break start.elapsed(),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    };
    assert!(seen.starts_with(b"SSH-2.0-"), "the banner came first");
    assert!(
        closed >= Duration::from_millis(1900) && closed < Duration::from_secs(6),
        "closed after {closed:?}"
    );
    // A person with a key is not hurried by it.
    assert_eq!(server.signs_in(&["bob"], &[]), Ok(()));
}

/// Out of descriptors (accept fails with EMFILE): the server backs off, survives, and takes
/// sign-ins again once the flood is gone.
#[test]
fn running_out_of_descriptors_is_survived() {
    if !have_openssh() || !have_prlimit() {
        return;
    }
    if !raise_own_limit() {
        return;
    }
    let mut server = launch(&Launch {
        under: &["prlimit", "--nofile=64:64"],
        extra: &["--max-startups", "500", "--per-source-max-startups", "500"],
        ..Launch::default()
    });
    let to: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let flood = silent_connections(to, 1, 200);
    server.wait_log("accept failed");
    assert!(
        server.log().contains("Too many open files"),
        "{}",
        server.log()
    );
    assert!(server.running(), "serve survived: {}", server.stderr());
    drop(flood);
    let start = Instant::now();
    loop {
        match server.signs_in(&["bob"], &[]) {
            Ok(()) => break,
            Err(_) if start.elapsed() < WAIT => std::thread::sleep(Duration::from_millis(200)),
            Err(error) => panic!("no sign-in after the flood: {error}"),
        }
    }
    assert!(server.running());
}

/// The soft descriptor limit is raised to the hard one at start.
#[test]
fn the_descriptor_limit_is_raised_at_start() {
    if !have_openssh() || !have_prlimit() {
        return;
    }
    let server = launch(&Launch {
        under: &["prlimit", "--nofile=256:2048"],
        ..Launch::default()
    });
    assert!(
        server
            .stdout()
            .contains("open-file limit raised from 256 to 2048"),
        "{}",
        server.stdout()
    );
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>()[3..5],
        ["2048", "2048"],
        "{line}"
    );
}
