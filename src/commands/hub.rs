//! `hub`: the reference central API server and its tokens. The work is in `crate::hub::cli` so
//! tests drive it without the binary; here the config's `[hub]` section fills what the flags left
//! out, so a service names only its config file.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::{HubAction, HubArgs, HubDbArgs, HubTokenAction};
use crate::config::HubConfig;

use super::Context;

pub fn run(ctx: &Context, args: &HubArgs) -> anyhow::Result<ExitCode> {
    let args = with_config(args.clone(), &ctx.config.hub);
    crate::hub::cli::run(&args, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

/// Flags win; each missing one is taken from `[hub]`.
fn with_config(mut args: HubArgs, file: &HubConfig) -> HubArgs {
    let database = || file.database.as_ref().map(PathBuf::from);
    let password_file = || file.database_password_file.clone();
    let serve = &mut args.serve;
    serve.db = serve.db.take().or_else(database);
    serve.db_password_file = serve.db_password_file.take().or_else(password_file);
    serve.listen = serve.listen.or(file.listen);
    serve.tls_cert = serve.tls_cert.take().or_else(|| file.tls_cert.clone());
    serve.tls_key = serve.tls_key.take().or_else(|| file.tls_key.clone());
    serve.client_ca = serve.client_ca.take().or_else(|| file.client_ca.clone());
    let target: Option<&mut HubDbArgs> = match &mut args.action {
        Some(HubAction::Token(
            HubTokenAction::Add { database, .. }
            | HubTokenAction::List { database }
            | HubTokenAction::Revoke { database, .. },
        ))
        | Some(
            HubAction::Migrate { database }
            | HubAction::Check { database }
            | HubAction::Audit { database, .. },
        ) => Some(database),
        None => None,
    };
    if let Some(target) = target {
        target.db = target.db.take().or_else(database);
        target.db_password_file = target.db_password_file.take().or_else(password_file);
    }
    args
}
