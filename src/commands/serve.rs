//! `serve`: the board over SSH. The server itself is `crate::ssh`; this checks the files, says
//! what it found and starts it.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::cli::ServeArgs;
use crate::ssh::key_ring::{KeyRing, RingState};
use crate::ssh::listener::PreAuthLimits;
use crate::ssh::sessions::{AuthFailures, Sessions};
use crate::ssh::startups::Startups;
use crate::ssh::{self, AUTH_FAILURE_WINDOW, ServeContext, host_key};
use crate::theme::Theme;

use super::{Context, board, clock, db_path, open_store};

const DEFAULT_LISTEN: &str = "0.0.0.0:2222";
const DEFAULT_MAX_SESSIONS: usize = 50;
const DEFAULT_MAX_AUTH_FAILURES: u32 = 10;

pub fn run(ctx: &Context, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let path = db_path(ctx, &args.db)?;
    let file = &ctx.config.serve;
    let host_key_file = args
        .host_key
        .clone()
        .or_else(|| file.host_key.clone())
        .context("no host key file: pass --host-key PATH or set `host_key` in [serve]")?;
    let authorized_keys = args
        .authorized_keys
        .clone()
        .or_else(|| file.authorized_keys.clone())
        .context(
            "no authorized keys file: pass --authorized-keys PATH or set `authorized_keys` in \
             [serve]",
        )?;
    let listen = args
        .listen
        .clone()
        .or_else(|| file.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let max_sessions = args
        .max_sessions
        .or(file.max_sessions)
        .unwrap_or(DEFAULT_MAX_SESSIONS);
    let max_auth_failures = args
        .max_auth_failures
        .or(file.max_auth_failures)
        .unwrap_or(DEFAULT_MAX_AUTH_FAILURES);
    let clock = clock(None);
    // Opened once here so a missing or broken database stops the server before it listens.
    open_store(ctx, &path, clock.clone())?;
    let (key, created) = host_key::load_or_create(&host_key_file)?;
    let fingerprint = host_key::fingerprint(&key);
    let mut out = std::io::stdout().lock();
    if created {
        writeln!(out, "made a new host key {}", host_key_file.display())?;
    }
    writeln!(out, "host key fingerprint {fingerprint}")?;
    let (keys, problems) = KeyRing::open(authorized_keys)?;
    for problem in &problems {
        eprintln!("reentry-board: authorized keys: skipped {problem}");
    }
    if let RingState::Loaded { keys: n, .. } = keys.state() {
        writeln!(out, "authorized keys: {n} key(s) active")?;
    }
    let fds = crate::fd_limit::raise_to_hard();
    writeln!(out, "{fds}")?;
    let needed = args.max_startups.full as u64 + 8 * max_sessions as u64 + 64;
    if fds.now < needed {
        eprintln!(
            "reentry-board: warning: the open-file limit {} is below the {needed} that \
             --max-startups and --max-sessions may need; raise LimitNOFILE",
            fds.now
        );
    }

    let config = ctx.config.clone();
    let theme = args.theme.clone();
    let config_dir = crate::paths::config_dir();
    // Checked now, so a typo in --theme is an error at start rather than in every session.
    Theme::load(
        &theme,
        crate::theme::ColorDepth::Ansi16,
        config_dir.as_deref(),
    )?;
    let options_config = config.clone();
    let options_clock = clock.clone();
    let options: ssh::OptionsFor = Box::new(move |actor, depth| {
        let mut options = board::options_for(&options_config, actor, options_clock.as_ref())?;
        options.theme = Theme::load(&theme, depth, config_dir.as_deref())?;
        Ok(options)
    });
    let serve_ctx = Arc::new(ServeContext {
        db: path,
        clock,
        config,
        options,
        keys,
        sessions: Sessions::new(max_sessions),
        failures: AuthFailures::new(max_auth_failures, AUTH_FAILURE_WINDOW),
    });
    // Kept alive while the server runs; dropping it stops the sender and frees its lock.
    let _sender = start_sender(&ctx.config, &args.sync.overrides(), &serve_ctx.db, &mut out)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let limits = PreAuthLimits {
        startups: Startups::new(args.max_startups, args.per_source_max_startups),
        grace: Duration::from_secs(args.login_grace_time),
    };
    runtime.block_on(ssh::serve(
        serve_ctx,
        &listen,
        key,
        limits,
        |addr| {
            let _ = writeln!(out, "ssh server listening on {addr}");
            let _ = out.flush();
        },
        ssh::shutdown_signal(),
    ))?;
    println!("ssh server stopped");
    Ok(ExitCode::SUCCESS)
}

/// The server is the one long-running process on the database, so it sends to the central API
/// when `[sync]` is configured. A bad setting stops the server at start rather than leaving the
/// queue silently unsent; another sender holding the lock (a `sync` service) is fine.
fn start_sender(
    config: &crate::config::Config,
    over: &crate::sync::SyncOverrides,
    db: &std::path::Path,
    out: &mut impl std::io::Write,
) -> anyhow::Result<Option<crate::sync::BackgroundSender>> {
    if config.sync.url.is_none() && over.url.is_none() {
        return Ok(None);
    }
    let settings =
        crate::sync::SyncSettings::resolve(&config.sync, over)?.with_rules(config.rules.clone());
    let sender = crate::sync::spawn_background(db.to_path_buf(), settings)?;
    if sender.is_some() {
        writeln!(out, "sending queued events to the central API")?;
    } else {
        writeln!(
            out,
            "another sender holds the lock; this server does not send"
        )?;
    }
    Ok(sender)
}
