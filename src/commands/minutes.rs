//! `minutes`: what the last meeting (of a day) decided, presentation-safe.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::{MinutesArgs, MinutesFormat};
use crate::clock::SystemClock;
use crate::meeting::{minutes, read};

use super::{Context, db_path, open_to_read};

pub fn run(ctx: &Context, args: &MinutesArgs) -> anyhow::Result<ExitCode> {
    let path = db_path(ctx, &args.db)?;
    let store = open_to_read(ctx, &path, std::sync::Arc::new(SystemClock))?;
    let Some(m) = read::minutes(&store, args.date)? else {
        match args.date {
            Some(day) => anyhow::bail!("no meeting was recorded on {day}"),
            None => anyhow::bail!("no meeting has been recorded yet (press M on the board)"),
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        MinutesFormat::Md => minutes::markdown(&mut out, &m)?,
        MinutesFormat::Csv => minutes::csv(&mut out, &m)?,
    }
    out.flush()?;
    tracing::info!(reviewed = m.reviews.len(), "minutes");
    Ok(ExitCode::SUCCESS)
}
