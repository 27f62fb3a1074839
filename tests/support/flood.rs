//! Floods of connections that never send a byte, and what a test needs to make them.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

/// `prlimit` runs a server with a given descriptor limit (util-linux, on every Debian).
pub fn have_prlimit() -> bool {
    let present = Path::new("/usr/bin/prlimit").exists();
    if !present {
        eprintln!("skipped: prlimit (util-linux) is not installed");
    }
    present
}

/// Room for the test's own 1,200 sockets: the soft descriptor limit up to the hard one. `false`
/// (and the test is skipped) where the hard limit leaves no such room.
pub fn raise_own_limit() -> bool {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    let room = hard >= 1300;
    if !room {
        eprintln!("skipped: the hard descriptor limit {hard} leaves no room for a flood");
    }
    room
}

/// `per_address` connections to `to` from each of `addresses` loopback addresses (127.0.0.2
/// on), held open and silent. Stops early when the server stops accepting (its backlog full).
pub fn silent_connections(to: SocketAddr, addresses: u8, per_address: usize) -> Vec<TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut held = Vec::new();
        let mut failed_in_a_row = 0;
        for a in 0..addresses {
            for _ in 0..per_address {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                let from: SocketAddr = format!("127.0.0.{}:0", 2 + a).parse().unwrap();
                socket.bind(from).unwrap();
                match tokio::time::timeout(Duration::from_millis(500), socket.connect(to)).await {
                    Ok(Ok(stream)) => {
                        failed_in_a_row = 0;
                        held.push(stream.into_std().unwrap());
                    }
                    _ if failed_in_a_row >= 3 => return held,
                    _ => failed_in_a_row += 1,
                }
            }
        }
        held
    })
}
