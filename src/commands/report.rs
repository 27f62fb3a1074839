//! `report`: program measures for people released in a period.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::{ReportArgs, ReportFormat};
use crate::clock::SystemClock;
use crate::report::{build, render};

use super::{Context, db_path, open_to_read};

pub fn run(ctx: &Context, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    if args.from > args.to {
        anyhow::bail!("--from {} is after --to {}", args.from, args.to);
    }
    let path = db_path(ctx, &args.db)?;
    let store = open_to_read(ctx, &path, std::sync::Arc::new(SystemClock))?;
    let report = build(&store, &ctx.config.rules, args.from, args.to)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        ReportFormat::Md => render::markdown(&mut out, &report)?,
        ReportFormat::Csv => render::csv(&mut out, &report)?,
        ReportFormat::Json => render::json(&mut out, &report)?,
    }
    out.flush()?;
    tracing::info!(released = report.released, "report");
    Ok(ExitCode::SUCCESS)
}
