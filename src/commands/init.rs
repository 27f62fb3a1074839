//! `init`: create a database, empty or seeded, without the UI.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::NaiveDate;

use crate::cli::InitArgs;
use crate::clock::Clock;
use crate::domain::{Role, SeedData, StaffUser};
use crate::store::{Actor, Store};

use super::{Context, clock, db_or_config};

pub fn run(ctx: &Context, args: &InitArgs) -> anyhow::Result<ExitCode> {
    let db = db_or_config(ctx, args.db.as_ref())?;
    if db.exists() {
        anyhow::bail!(
            "{} already exists; init only creates new databases (open it with `reentry-board --db {}`)",
            db.display(),
            db.display()
        );
    }
    let clock = clock(args.as_of);
    let seed = if args.demo {
        Some(demo_seed(clock.today(), args.people, args.seed)?)
    } else {
        None
    };
    let people = seed.as_ref().map_or(0, |s| s.records.len());
    create(ctx, &db, clock, seed)?;
    writeln!(
        std::io::stdout().lock(),
        "created {} ({people} people)",
        db.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The fixtures, or `n` generated people.
pub fn demo_seed(today: NaiveDate, people: Option<usize>, seed: u64) -> anyhow::Result<SeedData> {
    let max = crate::demo::MAX_SYNTHETIC_PEOPLE;
    if let Some(n) = people
        && !(1..=max).contains(&n)
    {
        anyhow::bail!("--people {n}: give 1 to {max} people");
    }
    Ok(match people {
        Some(n) => crate::demo::synthetic_data(n, today, seed)
            .context("the built-in demo reference data is broken")?,
        None => {
            crate::demo::fixture_data(today).context("the built-in demo fixtures are broken")?
        }
    })
}

/// Creates the database; with seed data, the OS user becomes a coordinator so the demo is usable.
pub fn create(
    ctx: &Context,
    path: &Path,
    clock: Arc<dyn Clock>,
    seed: Option<SeedData>,
) -> anyhow::Result<Store> {
    let mut store = Store::create(path, clock)?;
    // Whoever creates the database file owns it: the set-up itself is audited under their login.
    let login = crate::identity::current_login();
    let owner = Actor {
        login: login.clone(),
        role: Role::Coordinator,
        via: Some("init".into()),
    };
    store.set_facility_id(&owner, &ctx.config.facility_id)?;
    store.set_permissions(ctx.config.permission_matrix());
    if let Some(mut seed) = seed {
        seed.users.retain(|u| u.login != login);
        seed.users.push(StaffUser {
            login: login.clone(),
            name: login,
            role: Role::Coordinator,
        });
        store.seed(&owner, &seed)?;
    }
    Ok(store)
}
