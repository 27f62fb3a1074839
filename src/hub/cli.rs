//! `reentry-board hub ...`: serve, and manage tokens. Output goes to the writer given, so tests
//! read exactly what a user sees.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::net::TcpListener;

use super::{ConnLimits, Hub, ServeOptions, db, tls_config, tokens};
use crate::cli::{HubAction, HubArgs, HubServeArgs, HubTokenAction};

pub fn run(args: &HubArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    match &args.action {
        Some(HubAction::Token(action)) => token(action, out),
        None => serve(&args.serve, out),
    }
}

fn token(action: &HubTokenAction, out: &mut dyn Write) -> anyhow::Result<()> {
    match action {
        HubTokenAction::Add {
            db,
            facility,
            label,
        } => {
            let conn = db::open(db)?;
            let (id, secret) = tokens::add(&conn, facility, label)?;
            // The secret alone on the first line, so `| head -1 > token` works.
            writeln!(out, "{secret}")?;
            writeln!(
                out,
                "# token {id} for facility {facility}: store it now (mode 0600) in the sender's \
                 token file; the hub keeps only its hash and cannot show it again"
            )?;
        }
        HubTokenAction::List { db } => {
            let conn = db::open(db)?;
            let list = tokens::list(&conn)?;
            let facility_width = list
                .iter()
                .map(|t| t.facility_id.len())
                .max()
                .unwrap_or(0)
                .max("facility".len());
            writeln!(
                out,
                "{:>4}  {:facility_width$}  {:24}  {:24}  label",
                "id", "facility", "created", "revoked"
            )?;
            for t in list {
                writeln!(
                    out,
                    "{:>4}  {:facility_width$}  {:24}  {:24}  {}",
                    t.id,
                    t.facility_id,
                    t.created_at,
                    t.revoked_at.as_deref().unwrap_or("-"),
                    t.label
                )?;
            }
        }
        HubTokenAction::Revoke { db, id } => {
            let conn = db::open(db)?;
            let info = tokens::revoke(&conn, *id)?;
            writeln!(
                out,
                "revoked token {} of facility {}",
                info.id, info.facility_id
            )?;
        }
    }
    Ok(())
}

fn serve(args: &HubServeArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let db_path = args
        .db
        .clone()
        .context("no hub database: pass --db PATH or set REENTRY_HUB_DB")?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
        (None, None) => None,
        _ => bail!("--tls-cert and --tls-key go together"),
    };
    if tls.is_none() && !args.listen.ip().is_loopback() {
        // Tokens and personal data would cross the network in clear text.
        eprintln!(
            "reentry-board hub: warning: plain HTTP on {}; use --tls-cert/--tls-key or a TLS proxy",
            args.listen
        );
    }
    init_stderr_logging();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let fds = crate::fd_limit::raise_to_hard();
    let limits = ConnLimits {
        max: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        per_address: usize::try_from(args.max_connections_per_address).unwrap_or(usize::MAX),
        first_byte: Duration::from_secs(args.first_byte_timeout),
        idle: Duration::from_secs(args.idle_timeout),
    };
    let fitted = limits.fitted_to(fds.now);
    if fitted.max < limits.max {
        eprintln!(
            "reentry-board hub: warning: --max-connections {} lowered to {} to fit the open-file \
             limit; raise LimitNOFILE",
            limits.max, fitted.max
        );
    }
    let hub = Hub::open(
        &db_path,
        ServeOptions {
            tls,
            faults: None,
            limits: fitted,
        },
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let local = listener.local_addr().context("no local address")?;
        // The address first: scripts read the first line.
        writeln!(out, "hub listening on {scheme}://{local}")?;
        writeln!(out, "{fds}; at most {} connections", fitted.max)?;
        out.flush()?;
        tracing::info!(%local, db = %db_path.display(), "hub started");
        hub.run(listener, shutdown_signal()).await
    })?;
    writeln!(out, "hub stopped")?;
    Ok(())
}

/// A hub is a service: its log goes to stderr (the journal), unless the caller already set up
/// logging (then that wins and this does nothing).
fn init_stderr_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in the journal or a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Completes on ctrl-c or SIGTERM (systemd's stop).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
