//! `sync`: the outbox sender as a service (or one pass), and the commands for events the hub
//! would not take.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;

use crate::cli::{SyncAction, SyncArgs, SyncRunArgs};
use crate::clock::SystemClock;
use crate::store::Store;
use crate::sync::{Sender, SenderLock, SyncSettings, SyncStatus};

use super::{Context, actor, db_or_config, open_store, open_to_read};

/// `--once` exit codes, so a cron job or a script can tell the cases apart.
const EXIT_WAITING: u8 = 2;
const EXIT_NEEDS_COORDINATOR: u8 = 3;

pub fn run(ctx: &Context, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let path = db_or_config(ctx, args.db.as_ref())?;
    let out = &mut std::io::stdout().lock();
    match &args.action {
        None => send(ctx, &path, &args.run),
        Some(SyncAction::Status) => {
            let store = open_to_read(ctx, &path, Arc::new(SystemClock))?;
            print_status(&store, &path, out)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(SyncAction::Retry { event_id }) => {
            let mut store = open_store(ctx, &path, Arc::new(SystemClock))?;
            let who = actor(&store)?;
            let n = store.retry_event(&who, event_id)?;
            writeln!(out, "queued {n} event(s) again, starting with {event_id}")?;
            Ok(ExitCode::SUCCESS)
        }
        Some(SyncAction::Discard { event_id, reason }) => {
            let mut store = open_store(ctx, &path, Arc::new(SystemClock))?;
            let who = actor(&store)?;
            store.discard_event(&who, event_id, reason)?;
            writeln!(
                out,
                "discarded {event_id}; the reason is in the audit trail"
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Some(SyncAction::Resume) => {
            let mut store = open_store(ctx, &path, Arc::new(SystemClock))?;
            let who = actor(&store)?;
            let resumed = store.resume_sync_report(&who)?;
            if !resumed.anything() {
                writeln!(
                    out,
                    "nothing was held: the sender sends events as they come"
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(reason) = &resumed.paused {
                writeln!(out, "resumed the paused queue ({reason})")?;
            }
            if let Some(at) = resumed.hold_until {
                writeln!(out, "lifted the hub's hold until {}", local_time(at))?;
            }
            if resumed.events > 0 {
                writeln!(
                    out,
                    "released {} event(s) waiting for a retry time",
                    resumed.events
                )?;
            }
            writeln!(out, "the sender tries everything now")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The settings from flags, environment and the `[sync]` section, checked.
pub fn settings(ctx: &Context, run: &SyncRunArgs) -> anyhow::Result<SyncSettings> {
    Ok(
        SyncSettings::resolve(&ctx.config.sync, &run.conn.overrides())?
            .with_rules(ctx.config.rules.clone()),
    )
}

fn send(ctx: &Context, path: &std::path::Path, run: &SyncRunArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(ctx, run)?;
    let url = settings.url.clone();
    let mut sender = Sender::new(path, settings)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tracing::info!(once = run.once, "sync started");
    if !run.once {
        eprintln!("reentry-board: sending from {} to {url}", path.display());
    }
    runtime.block_on(async {
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        });
        sender.run(stop_rx, run.once, None).await
    })?;
    let status = sender.status()?;
    tracing::info!(pending = status.pending, "sync stopped");
    let code = if status.dead + status.blocked > 0 {
        ExitCode::from(EXIT_NEEDS_COORDINATOR)
    } else if status.pending > 0 || status.paused_reason.is_some() {
        ExitCode::from(EXIT_WAITING)
    } else {
        ExitCode::SUCCESS
    };
    if run.once {
        let out = &mut std::io::stdout().lock();
        // A closed stdout must not turn "events wait" (2) into success: the code stands.
        if let Err(error) = print_summary(&status, out) {
            let closed = error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
            if !closed {
                return Err(error);
            }
        }
        if code != ExitCode::SUCCESS {
            eprintln!(
                "reentry-board: sync --once exits {}: {}",
                if status.dead + status.blocked > 0 {
                    EXIT_NEEDS_COORDINATOR
                } else {
                    EXIT_WAITING
                },
                why_not_done(&status)
            );
        }
    }
    Ok(code)
}

/// Why `--once` left events behind, in words a cron mail can act on.
fn why_not_done(status: &SyncStatus) -> String {
    if status.dead + status.blocked > 0 {
        return format!(
            "{} event(s) were refused by the hub or wait behind one; see `reentry-board sync \
             status`, then `sync retry ID` or `sync discard ID --reason ...`",
            status.dead + status.blocked
        );
    }
    if let Some(reason) = &status.paused_reason {
        return format!(
            "the queue is paused ({reason}); {} event(s) wait; fix the token or certificate, \
             then `reentry-board sync resume`",
            status.pending
        );
    }
    let next = status
        .retry_at
        .map(|at| format!(" not before {}", local_time(at)))
        .unwrap_or_default();
    let error = status
        .last_error
        .as_deref()
        .map(|e| format!(" (last error: {e})"))
        .unwrap_or_default();
    format!(
        "{} event(s) wait: the hub could not be reached or asked to wait{error}; the next \
         attempt is due{next}; `reentry-board sync resume` sends them now",
        status.pending
    )
}

fn local_time(t: chrono::DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
}

fn print_summary(status: &SyncStatus, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let now = Utc::now();
    writeln!(
        out,
        "{} {}",
        status.glyph(false),
        status.words(now, &chrono::Local)
    )?;
    writeln!(
        out,
        "queued {} · dead {} · blocked {}",
        status.pending, status.dead, status.blocked
    )?;
    if let Some(reason) = &status.paused_reason {
        writeln!(out, "paused: {reason}")?;
    } else if let Some(error) = status.last_error.as_deref().filter(|_| status.pending > 0) {
        writeln!(out, "last error: {error}")?;
    }
    Ok(())
}

fn print_status(
    store: &Store,
    path: &std::path::Path,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let status = SyncStatus::read(store, now)?;
    let counts = store.outbox_counts()?;
    writeln!(
        out,
        "{} {}",
        status.glyph(false),
        status.words(now, &chrono::Local)
    )?;
    writeln!(
        out,
        "queued {} · sent {} · dead {} · blocked {} · discarded {}",
        counts.pending, counts.sent, counts.dead, counts.blocked, counts.discarded
    )?;
    let local = local_time;
    if let Some(at) = status.last_success_at {
        writeln!(out, "last success: {}", local(at))?;
    }
    if let Some(reason) = &status.paused_reason {
        writeln!(
            out,
            "PAUSED: {reason}\n  fix the token or certificate, then `reentry-board sync resume`"
        )?;
    } else if let Some(error) = &status.last_error {
        writeln!(out, "last error: {error}")?;
    }
    match status.retry_at {
        Some(at) => writeln!(out, "next attempt: {}", local(at))?,
        None if counts.pending > 0 && status.paused_reason.is_none() => {
            writeln!(out, "next attempt: now")?;
        }
        None => {}
    }
    if counts.waiting > 0 {
        writeln!(
            out,
            "{} event(s) wait for a retry time of their own; `sync resume` releases them",
            counts.waiting
        )?;
    }
    // Free lock: nobody sends. Taking it for a moment to find out is harmless.
    let sender = match SenderLock::try_acquire(path) {
        Ok(Some(_free)) => "no sender is running".to_string(),
        Ok(None) => match SenderLock::holder(path) {
            Some(pid) => format!("a sender is running (pid {pid})"),
            None => "a sender is running".to_string(),
        },
        Err(e) => format!("cannot tell whether a sender runs: {e:#}"),
    };
    writeln!(out, "{sender}")?;
    let stuck = store.stuck_events()?;
    if !stuck.is_empty() {
        writeln!(
            out,
            "\ndead and blocked events (retry: `sync retry ID`, discard: `sync discard ID --reason ...`):"
        )?;
        for e in stuck {
            writeln!(
                out,
                "  {}  {:<7}  person {} seq {}  {}  attempts {}  {}",
                e.event_id,
                e.state,
                e.person_id,
                e.person_seq,
                e.event_type,
                e.attempts,
                e.last_error.unwrap_or_default()
            )?;
        }
    }
    Ok(())
}
