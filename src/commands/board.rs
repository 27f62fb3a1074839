//! `board`: the TUI on a database.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{BoardArgs, ViewArgs};
use crate::clock::Clock;
use crate::domain::PersonRecord;
use crate::store::Store;
use crate::tui::{self, BoardSource, Outcome, TuiOptions};

use super::{Context, actor, clock, db_path, open_store};

/// Until the meeting module records real meetings, "since the last meeting" means the last day:
/// the meeting is daily.
const DEFAULT_MEETING_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::hours(24);

pub fn run(ctx: &Context, args: &BoardArgs) -> anyhow::Result<ExitCode> {
    let path = db_path(&args.db)?;
    let clock = clock(args.view.as_of);
    let store = open_store(ctx, &path, clock.clone())?;
    open_board(ctx, store, clock, &args.view)
}

/// Shared by `board` and `demo`.
pub fn open_board(
    ctx: &Context,
    store: Store,
    clock: Arc<dyn Clock>,
    view: &ViewArgs,
) -> anyhow::Result<ExitCode> {
    let actor = actor(&store)?;
    let mut options = options_for(&ctx.config, &actor, clock.as_ref())?;
    options.ascii = view.ascii;
    options.theme = crate::theme::load_for_cli(
        &view.theme,
        view.color,
        crate::paths::config_dir().as_deref(),
    )?;
    options.kiosk = view.kiosk;
    options.mouse = view.mouse;
    tracing::info!(role = actor.role.code(), kiosk = view.kiosk, "board opened");
    let mut source = StoreSource(store);
    match tui::run(&mut source, clock, options)? {
        Outcome::Quit => {}
        Outcome::IdleLocked => {
            tracing::info!("idle lock");
            eprintln!(
                "reentry-board: locked after {} minutes without a key",
                ctx.config.idle_lock_minutes
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What the config decides for `actor`'s board; shared by local and SSH sessions (`serve`),
/// so both get the same keys, rules and idle lock.
pub(crate) fn options_for(
    config: &crate::config::Config,
    actor: &crate::store::Actor,
    clock: &dyn Clock,
) -> anyhow::Result<TuiOptions> {
    let mut options = TuiOptions::new(
        config.facility_name.clone(),
        format!("{} ({})", actor.login, actor.role.label()),
        actor.role,
    );
    options.rules = config.rules.clone();
    options.name_format = config.name_format;
    options.permissions = config.permission_matrix();
    options.keymap = config.keymap()?;
    options.last_meeting = Some(clock.now() - DEFAULT_MEETING_INTERVAL);
    options.idle_lock = Some(Duration::from_secs(
        60 * u64::from(config.idle_lock_minutes),
    ));
    Ok(options)
}

struct StoreSource(Store);

impl BoardSource for StoreSource {
    fn load(&mut self) -> anyhow::Result<Vec<PersonRecord>> {
        Ok(self.0.load_records()?)
    }

    fn data_version(&mut self) -> anyhow::Result<i64> {
        Ok(self.0.data_version()?)
    }
}
