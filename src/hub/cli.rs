//! `reentry-board hub ...`: serve, and manage tokens. Output goes to the writer given, so tests
//! read exactly what a user sees.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::net::TcpListener;

use super::incoming::{Scope, ScopeKind};
use super::store::{Store, Target, block_on};
use super::tls::{TlsFiles, TlsReload};
use super::{ConnLimits, Hub, ServeOptions};
use crate::cli::{HubAction, HubArgs, HubDbArgs, HubServeArgs, HubTokenAction};

pub fn run(args: &HubArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    match &args.action {
        Some(HubAction::Token(action)) => token(action, out),
        Some(HubAction::Migrate { database }) => migrate(database, out),
        Some(HubAction::Check { database }) => check(database, out),
        Some(HubAction::Audit {
            database,
            reader,
            from,
            to,
        }) => audit(database, *reader, *from, *to, out),
        None => serve(&args.serve, out),
    }
}

fn audit(
    database: &HubDbArgs,
    reader: i64,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let to = to.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let from = from.unwrap_or(to - chrono::Duration::days(30));
    if to < from {
        bail!("--to {to} is before --from {from}");
    }
    let store = Store::open(&hub_db(database)?)?;
    let tokens = block_on(store.list_tokens())??;
    let Some(token) = tokens.iter().find(|t| t.id == reader) else {
        bail!("no token has id {reader} (see `hub token list`)");
    };
    let rows = block_on(store.audit(reader, from, to))??;
    writeln!(
        out,
        "# token {reader} ({}): {} read(s) from {from} to {to} (UTC)",
        token.facility_id,
        rows.len()
    )?;
    writeln!(
        out,
        "{:24}  {:15}  {:24}  person",
        "read_at", "what", "facility"
    )?;
    for row in rows {
        writeln!(
            out,
            "{:24}  {:15}  {:24}  {}",
            row.read_at, row.what, row.facility_id, row.person_id
        )?;
    }
    Ok(())
}

fn migrate(database: &HubDbArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let target = hub_db(database)?;
    let store = Store::open(&target)?;
    let status = block_on(store.status())??;
    writeln!(
        out,
        "{} {}: hub schema version {} (this reentry-board's)",
        status.backend,
        target.display(),
        status.schema_version
    )?;
    Ok(())
}

/// Reads only: a database that needs migrating is reported, not changed.
fn check(database: &HubDbArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let target = hub_db(database)?;
    let store = Store::open_existing(&target)?;
    let status = block_on(async {
        store.ping().await?;
        store.status().await
    })??;
    writeln!(
        out,
        "database: {} {} answers",
        status.backend,
        target.display()
    )?;
    writeln!(
        out,
        "schema: version {} (this reentry-board knows {})",
        status.schema_version, status.known_version
    )?;
    writeln!(
        out,
        "tokens: {} ({} active)",
        status.tokens, status.active_tokens
    )?;
    writeln!(out, "people: {}", status.persons)?;
    writeln!(out, "events: {}", status.events)?;
    if status.schema_version > status.known_version {
        bail!(
            "the schema is at version {}, newer than this reentry-board's {}: use a newer one",
            status.schema_version,
            status.known_version
        );
    }
    if status.schema_version < status.known_version {
        bail!(
            "the schema is at version {} of {}: run `reentry-board hub migrate` (or start the hub)",
            status.schema_version,
            status.known_version
        );
    }
    Ok(())
}

fn token(action: &HubTokenAction, out: &mut dyn Write) -> anyhow::Result<()> {
    match action {
        HubTokenAction::Add {
            database,
            facility,
            in_county,
            plan,
            ecm,
            county,
            label,
        } => {
            let store = Store::open(&hub_db(database)?)?;
            let reader = [
                (ScopeKind::Plan, plan),
                (ScopeKind::Ecm, ecm),
                (ScopeKind::County, county),
            ]
            .into_iter()
            .find_map(|(kind, name)| {
                name.as_ref().map(|name| Scope {
                    kind,
                    name: name.clone(),
                })
            });
            let (id, secret, whom) = match (facility, reader) {
                (Some(facility), None) => {
                    let (id, secret) = block_on(store.add_token(facility, label))??;
                    if let Some(county) = in_county {
                        block_on(store.set_county(facility, county))??;
                    }
                    (id, secret, format!("facility {facility}"))
                }
                (None, Some(_)) if in_county.is_some() => {
                    bail!("--in-county goes with --facility: it records the facility's county")
                }
                (None, Some(scope)) => {
                    let (id, secret) = block_on(store.add_reader_token(&scope, label))??;
                    (
                        id,
                        secret,
                        format!("the {} reader `{}`", scope.kind.code(), scope.name),
                    )
                }
                _ => bail!("give exactly one of --facility, --plan, --ecm, --county"),
            };
            // The secret alone on the first line, so `| head -1 > token` works.
            writeln!(out, "{secret}")?;
            writeln!(
                out,
                "# token {id} for {whom}: store it now (mode 0600) in a token file; the hub \
                 keeps only its hash and cannot show it again"
            )?;
        }
        HubTokenAction::List { database } => {
            let store = Store::open(&hub_db(database)?)?;
            let list = block_on(store.list_tokens())??;
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
        HubTokenAction::Revoke { database, id } => {
            let store = Store::open(&hub_db(database)?)?;
            let info = block_on(store.revoke_token(*id))??;
            writeln!(
                out,
                "revoked token {} of facility {}",
                info.id, info.facility_id
            )?;
        }
    }
    Ok(())
}

/// The hub's address when neither `--listen` nor `[hub] listen` says.
const DEFAULT_LISTEN: ([u8; 4], u16) = ([127, 0, 0, 1], 8080);

fn hub_db(database: &HubDbArgs) -> anyhow::Result<Target> {
    let db = database.db.as_deref().context(
        "no hub database: pass --db PATH or --db postgres://..., set REENTRY_HUB_DB or `database` in [hub]",
    )?;
    Ok(Target::from(db).with_password_file(database.db_password_file.clone()))
}

fn serve(args: &HubServeArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let db = hub_db(&HubDbArgs {
        db: args.db.clone(),
        db_password_file: args.db_password_file.clone(),
    })?;
    let listen = args
        .listen
        .unwrap_or_else(|| std::net::SocketAddr::from(DEFAULT_LISTEN));
    let files = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: args.client_ca.clone(),
        }),
        (None, None) if args.client_ca.is_some() => {
            bail!("--client-ca needs TLS: give --tls-cert and --tls-key too")
        }
        (None, None) => None,
        _ => bail!("--tls-cert and --tls-key go together"),
    };
    let (tls, reload) = match files.map(|f| f.load()).transpose()? {
        Some((config, reload)) => (Some(config), Some(reload)),
        None => (None, None),
    };
    if tls.is_none() && !listen.ip().is_loopback() {
        // Tokens and personal data would cross the network in clear text.
        eprintln!(
            "reentry-board hub: warning: plain HTTP on {listen}; use --tls-cert/--tls-key or a TLS proxy"
        );
    }
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
        &db,
        ServeOptions {
            tls,
            limits: fitted,
            ..ServeOptions::default()
        },
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        if let Some(reload) = reload {
            tokio::spawn(reload_on_sighup(reload));
        }
        let local = listener.local_addr().context("no local address")?;
        // The address first: scripts read the first line.
        writeln!(out, "hub listening on {scheme}://{local}")?;
        writeln!(out, "{fds}; at most {} connections", fitted.max)?;
        out.flush()?;
        tracing::info!(%local, db = db.display(), "hub started");
        hub.run(listener, shutdown_signal()).await
    })?;
    writeln!(out, "hub stopped")?;
    Ok(())
}

/// SIGHUP (`systemctl reload`) reads the TLS files again; a bad file keeps the old ones.
async fn reload_on_sighup(reload: std::sync::Arc<TlsReload>) {
    let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        tracing::warn!("cannot listen for SIGHUP; TLS files are read only at start");
        return;
    };
    while hangup.recv().await.is_some() {
        match reload.reload() {
            Ok(()) => tracing::info!("SIGHUP: reloaded the TLS certificate, key and client CA"),
            Err(error) => tracing::error!(
                error = format!("{error:#}"),
                "SIGHUP: TLS files not reloaded; the previous ones stay in use"
            ),
        }
    }
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
