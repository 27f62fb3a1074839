//! `demo`: the board on built-in synthetic data, in the user's data directory.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::DemoArgs;
use crate::store::Store;

use super::{Context, board::open_board, clock, init};

/// The demo's dates are offsets from the day it was seeded; a demo seeded on another day is
/// re-seeded so the board is always current.
const SEEDED_ON: &str = "demo_seeded_on";

pub fn run(ctx: &Context, args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let path = crate::paths::demo_db()
        .context("cannot find a data directory for the demo database (is HOME set?)")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let clock = clock(args.view.as_of);
    let today = clock.today().to_string();
    let current = path.exists()
        && !args.reset
        && Store::open(&path, clock.clone())
            .ok()
            .and_then(|s| s.setting(SEEDED_ON).ok().flatten())
            .is_some_and(|seeded| seeded == today);
    let store = if current {
        let mut store = Store::open(&path, clock.clone())?;
        store.set_permissions(ctx.config.permission_matrix());
        store
    } else {
        remove_database(&path)?;
        let seed = init::demo_seed(clock.today(), None, 1)?;
        let mut store = init::create(ctx, &path, clock.clone(), Some(seed))?;
        let owner = super::actor(&store)?;
        store.set_setting(&owner, SEEDED_ON, &today)?;
        store
    };
    open_board(ctx, store, clock, &args.view, &args.sync)
}

/// The demo database and its WAL files; only ever our own demo file in the data directory.
fn remove_database(path: &std::path::Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", file.display())),
        }
    }
    Ok(())
}
