//! `users`: who may do what.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::{UsersAction, UsersArgs};
use crate::clock::SystemClock;

use super::{Context, actor, db_or_config, open_store, open_to_read};

pub fn run(ctx: &Context, args: &UsersArgs) -> anyhow::Result<ExitCode> {
    let path = db_or_config(ctx, args.db.as_ref())?;
    let clock = std::sync::Arc::new(SystemClock);
    let out = &mut std::io::stdout().lock();
    match &args.action {
        UsersAction::List => list(&open_to_read(ctx, &path, clock)?, out)?,
        UsersAction::Add { login, role, name } => {
            let mut store = open_store(ctx, &path, clock)?;
            let actor = actor(&store)?;
            let name = name.clone().unwrap_or_else(|| login.clone());
            store.add_user(&actor, login, &name, *role)?;
            writeln!(out, "added {login} as {}", role.code())?;
        }
        UsersAction::SetRole { login, role } => {
            let mut store = open_store(ctx, &path, clock)?;
            let actor = actor(&store)?;
            store.set_role(&actor, login, *role)?;
            writeln!(out, "{login} is now {}", role.code())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(store: &crate::store::Store, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let users = store.list_users()?;
    let width = users
        .iter()
        .map(|u| u.login.len())
        .max()
        .unwrap_or(5)
        .max(5);
    writeln!(out, "{:width$}  {:14}  name", "login", "role")?;
    for u in users {
        writeln!(out, "{:width$}  {:14}  {}", u.login, u.role.code(), u.name)?;
    }
    Ok(())
}
