//! `report`.
use std::process::ExitCode;
use crate::cli::ReportArgs;
use super::Context;
pub fn run(_ctx: &Context, _args: &ReportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet")
}
