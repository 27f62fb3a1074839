//! The hub: the reference server of the central API (docs/API.md), on its own SQLite file or on
//! a PostgreSQL database shared by several hub processes ([`store`]).
//!
//! - [`serve`] runs it on a listener until a shutdown future completes (the CLI passes ctrl-c /
//!   SIGTERM);
//! - [`spawn`] / [`spawn_for_test`] run it on a thread of its own, for tests in any runtime;
//! - [`Faults`] injects failures into a running hub (library-only);
//! - [`ContractLog`] holds a test hub's exchanges to docs/openapi.yaml (library-only);
//! - [`schemas::validate`] checks an event the way the hub does.

pub mod acknowledgements;
pub mod api;
pub mod audit;
mod bare_errors;
pub mod cli;
pub mod contract;
pub mod db;
pub mod faults;
pub mod fhir;
pub mod incoming;
pub mod limits;
pub mod openapi;
pub mod problem;
pub mod schemas;
mod server;
pub mod store;
pub mod tls;
pub mod tokens;
pub mod view;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use api::{MAX_BATCH, MAX_BODY_BYTES};
pub use contract::ContractLog;
pub use faults::Faults;
pub use limits::ConnLimits;
pub use server::tls_config;
pub use store::{Store, Target};

/// How to serve. `Default`: plain HTTP, no faults.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Serve HTTPS with this rustls config (see [`tls_config`]).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Fault injection; only tests set it.
    pub faults: Option<Faults>,
    /// Check every exchange against the OpenAPI description; only tests set it.
    pub contract: Option<ContractLog>,
    /// Connection caps and timeouts (fitted under the open-file limit when the hub starts).
    pub limits: ConnLimits,
}

/// A hub with its database open, ready to take connections.
pub struct Hub {
    router: axum::Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnLimits,
}

/// The `/fhir` endpoint is the reference for testing a FHIR push end to end; it keeps its
/// resources in the hub's SQLite file, so a hub on PostgreSQL serves the native API only.
fn with_fhir(router: axum::Router, db: &Target) -> anyhow::Result<axum::Router> {
    if db.is_postgres() {
        return Ok(router);
    }
    Ok(router.merge(fhir::router(fhir::FhirState::open(Path::new(
        &db.location,
    ))?)))
}

impl Hub {
    /// Opens (creating or migrating) the database. Blocking: call it off the async workers.
    pub fn open(db: &Target, options: ServeOptions) -> anyhow::Result<Self> {
        let store = Store::open(db)?;
        Ok(Self {
            router: with_fhir(
                api::router(api::AppState::new(store), options.faults, options.contract),
                db,
            )?,
            tls: options.tls,
            limits: options.limits,
        })
    }

    /// Serves until `shutdown` completes, then drains requests in progress.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        server::run(listener, self.router, self.tls, self.limits, shutdown).await
    }
}

/// Opens the database at `db` and serves on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    db: Target,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let hub = tokio::task::spawn_blocking(move || Hub::open(&db, options))
        .await
        .context("the task opening the database failed")??;
    hub.run(listener, shutdown).await
}

/// A hub running on its own thread and runtime. Dropping it stops the hub.
pub struct RunningHub {
    addr: SocketAddr,
    tls: bool,
    contract: Option<ContractLog>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl RunningHub {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` or `https://localhost:PORT` (TLS certificates name a host).
    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    /// What the exchanges so far did against the OpenAPI description, when checked (test hubs).
    pub fn contract(&self) -> Option<&ContractLog> {
        self.contract.as_ref()
    }

    /// Stops accepting, lets requests in progress finish, and waits for the thread.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| anyhow!("the hub thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningHub {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown() {
            tracing::warn!(error = format!("{error:#}"), "hub stopped with an error");
        }
    }
}

/// Binds `addr` (port 0 picks a free port), opens the database and serves on a new thread with
/// its own tokio runtime, so sync tests and async tests alike can use it. Returns once the hub
/// accepts connections.
pub fn spawn(
    addr: SocketAddr,
    db: impl Into<Target>,
    options: ServeOptions,
) -> anyhow::Result<RunningHub> {
    let tls = options.tls.is_some();
    let contract = options.contract.clone();
    let hub = Hub::open(&db.into(), options)?;
    let std_listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    std_listener
        .set_nonblocking(true)
        .context("cannot make the listener non-blocking")?;
    let addr = std_listener.local_addr().context("no local address")?;
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(format!("hub-{}", addr.port()))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("cannot start the hub's runtime")?;
            runtime.block_on(async move {
                let listener =
                    TcpListener::from_std(std_listener).context("cannot register the listener")?;
                hub.run(listener, async move {
                    let _ = stopped.await;
                })
                .await
            })
        })
        .context("cannot start the hub thread")?;
    Ok(RunningHub {
        addr,
        tls,
        contract,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// A plain-HTTP hub on 127.0.0.1 and a free port, with these faults, checking every exchange
/// against the OpenAPI description ([`RunningHub::contract`]).
pub fn spawn_for_test(db: impl Into<Target>, faults: Faults) -> anyhow::Result<RunningHub> {
    spawn(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        db,
        ServeOptions {
            faults: Some(faults),
            contract: Some(ContractLog::new()),
            ..ServeOptions::default()
        },
    )
}
