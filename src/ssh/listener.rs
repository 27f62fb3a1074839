//! The server's own accept loop, in place of russh's `run_on_socket` (which ends the server on
//! the first accept error, so running out of descriptors dropped every session):
//!
//! - accept errors are logged and survived, backing off 100 ms when descriptors ran out, as
//!   sshd does;
//! - each new connection needs a place among those signing in ([`Startups`]), or it is told so
//!   and closed at once;
//! - a connection that has not signed in within the login grace time is closed ([`GraceIo`]).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use russh::Disconnect;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Sleep;

use super::handler;
use super::startups::{Refusal, StartupSlot, Startups};
use crate::log_every::LogEvery;

/// sshd's pause after `accept` fails for want of descriptors or memory.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The limits on connections that have not signed in yet.
#[derive(Clone)]
pub struct PreAuthLimits {
    pub startups: Arc<Startups>,
    /// A connection not signed in by then is closed (sshd's `LoginGraceTime`).
    pub grace: Duration,
}

/// Shared by a connection's stream and its handler until it signs in.
pub struct PreAuth {
    signed_in: AtomicBool,
    slot: Mutex<Option<StartupSlot>>,
}

impl PreAuth {
    fn new(slot: StartupSlot) -> Arc<Self> {
        Arc::new(Self {
            signed_in: AtomicBool::new(false),
            slot: Mutex::new(Some(slot)),
        })
    }

    /// Signed in: the grace timer stops and the place among those signing in is given back.
    pub fn signed_in(&self) {
        self.signed_in.store(true, Ordering::SeqCst);
        let slot = self
            .slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        drop(slot);
    }

    fn is_signed_in(&self) -> bool {
        self.signed_in.load(Ordering::SeqCst)
    }
}

/// Accepts until `stop` turns true, then tells every connection goodbye with `reason`.
pub async fn accept_loop(
    listener: &TcpListener,
    config: Arc<russh::server::Config>,
    server: handler::Server,
    limits: PreAuthLimits,
    mut stop: watch::Receiver<bool>,
) {
    let mut refused = LogEvery::new("ssh: connections refused while too many are signing in");
    let mut failed = LogEvery::new("ssh: accept failed");
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                failed.hit(&error.to_string());
                if out_of_resources(&error) {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        let slot = match limits.startups.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(why) => {
                refused.hit(match why {
                    Refusal::Total => "max-startups",
                    Refusal::PerSource => "per-source-max-startups",
                });
                turn_away(&stream);
                continue;
            }
        };
        let pre_auth = PreAuth::new(slot);
        let handler = server.connection(peer, pre_auth.clone());
        let io = GraceIo::new(stream, pre_auth, limits.grace);
        tokio::spawn(run_connection(
            config.clone(),
            io,
            handler,
            peer,
            stop.clone(),
        ));
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

fn out_of_resources(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(nix::libc::EMFILE | nix::libc::ENFILE | nix::libc::ENOBUFS | nix::libc::ENOMEM)
    )
}

/// What sshd does on `MaxStartups`: one line before the SSH banner, then close. Never waits.
fn turn_away(stream: &TcpStream) {
    let _ = stream
        .try_write(b"reentry-board: too many connections are signing in; try again shortly\r\n");
}

async fn run_connection(
    config: Arc<russh::server::Config>,
    io: GraceIo,
    handler: handler::Connection,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    if config.nodelay {
        let _ = io.inner.set_nodelay(true);
    }
    let session = match russh::server::run_stream(config, io, handler).await {
        Ok(session) => session,
        Err(error) => {
            tracing::debug!(error = %format!("{error:#}"), peer = %peer.ip(), "ssh: connection setup failed");
            return;
        }
    };
    let handle = session.handle();
    tokio::select! {
        result = session => {
            if let Err(error) = result {
                tracing::debug!(error = %format!("{error:#}"), "ssh: connection ended with an error");
            }
        }
        () = stopped(&mut stop) => {
            let _ = handle
                .disconnect(Disconnect::ByApplication, "the server is stopping".into(), String::new())
                .await;
        }
    }
}

/// The connection's socket, failing every read and write once the login grace time is over
/// and the connection has not signed in — which ends the session wherever it waits.
pub struct GraceIo {
    inner: TcpStream,
    pre_auth: Arc<PreAuth>,
    deadline: Pin<Box<Sleep>>,
    expired: bool,
}

impl GraceIo {
    fn new(inner: TcpStream, pre_auth: Arc<PreAuth>, grace: Duration) -> Self {
        Self {
            inner,
            pre_auth,
            deadline: Box::pin(tokio::time::sleep(grace)),
            expired: false,
        }
    }

    /// `Err` once the grace time is over without a sign-in; otherwise registers the timer.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if self.pre_auth.is_signed_in() {
            return Ok(());
        }
        if !self.expired && self.deadline.as_mut().poll(cx).is_ready() {
            self.expired = true;
            tracing::info!("ssh: not signed in within the login grace time; connection closed");
        }
        if self.expired {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "not signed in within the login grace time",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for GraceIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for GraceIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
