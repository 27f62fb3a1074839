//! The board served over SSH by its own server (russh), the way Charm's Wish serves Go programs:
//! `ssh -p 2222 board.county.local` lands in the board and nowhere else, the person identified by
//! their key. Nobody needs a shell account on the host that holds the data.
//!
//! Each connection with a pty gets its own board session on its own thread
//! ([`board_session`]), running the same loop as the local board over a channel writer
//! ([`writer`]) with keys parsed from the channel's bytes ([`keys_in`]). Sessions each hold a
//! connection to the one database; a commit in one wakes the others at once ([`sessions`]).

pub mod authorized_keys;
pub mod board_session;
pub mod handler;
pub mod host_key;
pub mod key_options;
pub mod key_ring;
pub mod keys_in;
pub mod listener;
pub mod sessions;
pub mod startups;
pub mod writer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use russh::MethodKind;
use russh::keys::PrivateKey;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::Actor;
use crate::theme::ColorDepth;
use crate::tui::TuiOptions;

use key_ring::KeyRing;
use listener::PreAuthLimits;
use sessions::{AuthFailures, Sessions};

/// Builds a session's board options from its actor and the client's colour depth (the same
/// settings as the local board: `commands::board` supplies it).
pub type OptionsFor = Box<dyn Fn(&Actor, ColorDepth) -> Result<TuiOptions> + Send + Sync>;

/// How long failed sign-ins from one address are remembered.
pub const AUTH_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// sshd's `LoginGraceTime` is 120 s; a person with a key signs in within a second or two.
pub const DEFAULT_LOGIN_GRACE: Duration = Duration::from_secs(60);
/// How long the server waits for sessions to say goodbye when it stops.
const GOODBYE_WAIT: Duration = Duration::from_secs(3);

/// Everything the sessions share.
pub struct ServeContext {
    pub db: PathBuf,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
    pub options: OptionsFor,
    pub keys: KeyRing,
    pub sessions: Arc<Sessions>,
    pub failures: AuthFailures,
}

/// Runs until `stop` resolves, then says goodbye to every session and closes the connections.
/// `ready` gets the bound address once connections are accepted.
pub async fn serve(
    ctx: Arc<ServeContext>,
    listen: &str,
    host_key: PrivateKey,
    limits: PreAuthLimits,
    ready: impl FnOnce(SocketAddr),
    stop: impl Future<Output = ()>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    let idle = Duration::from_secs(60 * u64::from(ctx.config.idle_lock_minutes.max(1)));
    let config = russh::server::Config {
        methods: (&[MethodKind::PublicKey][..]).into(),
        keys: vec![host_key],
        // OpenSSH opens with a "none" attempt to learn the methods; answer that at once.
        auth_rejection_time_initial: Some(Duration::ZERO),
        auth_rejection_time: Duration::from_millis(500),
        max_auth_attempts: 6,
        // No keepalives, so an idle session sends nothing; a connection silent for longer than
        // the idle lock has already been locked and is only taking a slot.
        keepalive_interval: None,
        inactivity_timeout: Some(idle + Duration::from_secs(60)),
        nodelay: true,
        ..Default::default()
    };
    let server = handler::Server { ctx: ctx.clone() };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let accepting = listener::accept_loop(&listener, Arc::new(config), server, limits, stop_rx);
    // The sync sender (`reentry-board sync`) starts here when configured: spawned on this
    // runtime, it can wait on `ctx.sessions.subscribe()` to send as soon as a session commits.
    ready(local);
    tokio::select! {
        () = accepting => {}
        () = stop => {
            tracing::info!(sessions = ctx.sessions.count(), "ssh server stopping");
            ctx.sessions.stop_all();
            let deadline = Instant::now() + GOODBYE_WAIT;
            while ctx.sessions.count() > 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = stop_tx.send(true);
            // The connections get a moment to send their disconnect.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Ctrl+C or SIGTERM (systemd's stop).
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
