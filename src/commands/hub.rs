//! `hub`: the reference central API server and its tokens. The work is in `crate::hub::cli` so
//! tests drive it without the binary.

use std::process::ExitCode;

use crate::cli::HubArgs;

use super::Context;

pub fn run(_ctx: &Context, args: &HubArgs) -> anyhow::Result<ExitCode> {
    crate::hub::cli::run(args, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}
