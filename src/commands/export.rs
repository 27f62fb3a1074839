//! `export`: the board as computed for a day, to stdout.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::{ExportArgs, ExportFormat};
use crate::domain::board;
use crate::export::{rows, write_csv, write_json};

use super::{Context, clock, db_path, open_store};

pub fn run(ctx: &Context, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let path = db_path(&args.db)?;
    let clock = clock(args.as_of);
    let store = open_store(ctx, &path, clock.clone())?;
    let today = clock.today();
    let board = board::build(store.load_records()?, today, &ctx.config.rules);
    let people = rows(&board, ctx.config.name_format);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        ExportFormat::Json => write_json(&mut out, today, people)?,
        ExportFormat::Csv => write_csv(&mut out, &people)?,
        ExportFormat::Md => {}
    }
    out.flush()?;
    tracing::info!(people = board.len(), "exported");
    Ok(ExitCode::SUCCESS)
}
