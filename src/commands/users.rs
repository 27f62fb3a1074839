//! `users`: who may do what.

use std::process::ExitCode;

use crate::cli::{UsersAction, UsersArgs};
use crate::clock::SystemClock;

use super::{Context, actor, db_or_config, open_store};

pub fn run(ctx: &Context, args: &UsersArgs) -> anyhow::Result<ExitCode> {
    let path = db_or_config(ctx, args.db.as_ref())?;
    let mut store = open_store(ctx, &path, std::sync::Arc::new(SystemClock))?;
    let actor = actor(&store)?;
    match &args.action {
        UsersAction::List => {
            let users = store.list_users()?;
            let width = users
                .iter()
                .map(|u| u.login.len())
                .max()
                .unwrap_or(5)
                .max(5);
            println!("{:width$}  {:14}  name", "login", "role");
            for u in users {
                println!("{:width$}  {:14}  {}", u.login, u.role.code(), u.name);
            }
        }
        UsersAction::Add { login, role, name } => {
            let name = name.clone().unwrap_or_else(|| login.clone());
            store.add_user(&actor, login, &name, *role)?;
            println!("added {login} as {}", role.code());
        }
        UsersAction::SetRole { login, role } => {
            store.set_role(&actor, login, *role)?;
            println!("{login} is now {}", role.code());
        }
    }
    Ok(ExitCode::SUCCESS)
}
