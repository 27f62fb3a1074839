//! One function per subcommand. Each loads the config, opens what it needs and reports errors with
//! context; `main` prints them.

mod backup;
mod board;
pub use board::StoreSource;
mod demo;
mod export;
mod export_fhir;
mod help;
mod hub;
mod import;
mod init;
mod minutes;
mod report;
mod roster;
mod serve;
mod sync;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::cli::{Cli, Command, DbArg};
use crate::clock::{AsOfClock, Clock, SystemClock};
use crate::config::Config;
use crate::domain::Role;
use crate::store::{Actor, Store};

/// What every command needs: the config and where it came from, and logging kept alive.
pub struct Context {
    pub config: Config,
    pub config_path: Option<PathBuf>,
    pub _log: Option<crate::logging::LogGuard>,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // These two only print: no config, no log.
    match &cli.command {
        Some(Command::Completions(args)) => return help::completions(args),
        Some(Command::Man(args)) => return help::man(args),
        _ => {}
    }
    let (config, config_path) = Config::discover(cli.config.as_deref())?;
    let log = crate::logging::init(&config.log_level).ok();
    let ctx = Context {
        config,
        config_path,
        _log: log,
    };
    tracing::info!(command = command_name(cli.command.as_ref()), "start");
    match cli.command {
        None => board::run(&ctx, &cli.board),
        Some(Command::Board(args)) => board::run(&ctx, &args),
        Some(Command::Demo(args)) => demo::run(&ctx, &args),
        Some(Command::Init(args)) => init::run(&ctx, &args),
        Some(Command::Export(args)) => export::run(&ctx, &args),
        Some(Command::Users(args)) => users::run(&ctx, &args),
        Some(Command::Hub(args)) => hub::run(&ctx, &args),
        Some(Command::Sync(args)) => sync::run(&ctx, &args),
        Some(Command::Serve(args)) => serve::run(&ctx, &args),
        Some(Command::Import(args)) => import::run(&ctx, &args),
        Some(Command::Roster(args)) => roster::run(&ctx, &args),
        Some(Command::Report(args)) => report::run(&ctx, &args),
        Some(Command::Minutes(args)) => minutes::run(&ctx, &args),
        Some(Command::Backup(args)) => backup::backup(&ctx, &args),
        Some(Command::Restore(args)) => backup::restore(&ctx, &args),
        Some(Command::Check(args)) => backup::check(&ctx, &args),
        Some(Command::Completions(args)) => help::completions(&args),
        Some(Command::Man(args)) => help::man(&args),
    }
}

fn command_name(command: Option<&Command>) -> &'static str {
    match command {
        None | Some(Command::Board(_)) => "board",
        Some(Command::Demo(_)) => "demo",
        Some(Command::Init(_)) => "init",
        Some(Command::Export(_)) => "export",
        Some(Command::Users(_)) => "users",
        Some(Command::Hub(_)) => "hub",
        Some(Command::Sync(_)) => "sync",
        Some(Command::Serve(_)) => "serve",
        Some(Command::Import(_)) => "import",
        Some(Command::Roster(_)) => "roster",
        Some(Command::Report(_)) => "report",
        Some(Command::Minutes(_)) => "minutes",
        Some(Command::Backup(_)) => "backup",
        Some(Command::Restore(_)) => "restore",
        Some(Command::Check(_)) => "check",
        Some(Command::Completions(_)) => "completions",
        Some(Command::Man(_)) => "man",
    }
}

/// The clock for a command: the wall clock, or `--as-of` (a fixed calendar day).
fn clock(as_of: Option<chrono::NaiveDate>) -> Arc<dyn Clock> {
    match as_of {
        Some(today) => Arc::new(AsOfClock { today }),
        None => Arc::new(SystemClock),
    }
}

/// `--db` (or `REENTRY_BOARD_DB`), else the config file's `database`.
fn db_path(ctx: &Context, arg: &DbArg) -> anyhow::Result<PathBuf> {
    db_or_config(ctx, arg.db.as_ref())
}

fn db_or_config(ctx: &Context, db: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    db.or(ctx.config.database.as_ref())
        .cloned()
        .with_context(|| {
            let config = match &ctx.config_path {
                Some(path) => format!("`database` in {}", path.display()),
                None => "`database` in the config file (--config)".to_string(),
            };
            format!(
                "no database given: pass --db PATH, set REENTRY_BOARD_DB or {config} (or try \
             `reentry-board demo`)"
            )
        })
}

/// Opens an existing database with the county's permission matrix and facility id.
fn open_store(
    ctx: &Context,
    path: &std::path::Path,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Store> {
    let mut store = Store::open(path, clock)?;
    store.set_permissions(ctx.config.permission_matrix());
    Ok(store)
}

/// Opens an existing database for a command that only reads it (exports, reports, status,
/// lists), so a user who may only read the file can still run them. A database that still
/// needs its schema upgraded is opened as usual, which upgrades it when the user may write.
fn open_to_read(
    ctx: &Context,
    path: &std::path::Path,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Store> {
    match Store::open_read_only(path, clock.clone()) {
        Ok(mut store) => {
            store.set_permissions(ctx.config.permission_matrix());
            Ok(store)
        }
        Err(crate::store::StoreError::NeedsUpgrade { .. }) => open_store(ctx, path, clock),
        Err(error) => Err(error.into()),
    }
}

/// The acting user: the OS login and the role the users table gives it (unknown logins only view).
fn actor(store: &Store) -> anyhow::Result<Actor> {
    let login = crate::identity::current_login();
    let role = store.role_of(&login)?.unwrap_or(Role::Viewer);
    Ok(Actor {
        login,
        role,
        via: None,
    })
}
