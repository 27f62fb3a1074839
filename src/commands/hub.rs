//! `hub`: the reference central API server and its tokens. The work is in `crate::hub::cli` so
//! tests drive it without the binary; here the config's `[hub]` section fills what the flags left
//! out, so a service names only its config file.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::{HubAction, HubArgs, HubTokenAction};
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
    let serve = &mut args.serve;
    serve.db = serve.db.take().or_else(database);
    serve.listen = serve.listen.or(file.listen);
    serve.tls_cert = serve.tls_cert.take().or_else(|| file.tls_cert.clone());
    serve.tls_key = serve.tls_key.take().or_else(|| file.tls_key.clone());
    serve.client_ca = serve.client_ca.take().or_else(|| file.client_ca.clone());
    if let Some(HubAction::Token(action)) = &mut args.action {
        let db = match action {
            HubTokenAction::Add { db, .. }
            | HubTokenAction::List { db }
            | HubTokenAction::Revoke { db, .. } => db,
        };
        *db = db.take().or_else(database);
    }
    args
}
