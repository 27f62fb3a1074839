//! CLI -> logging -> dispatch; nothing else.

use std::process::ExitCode;

use clap::Parser;
use reentry_board::{cli::Cli, commands};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            // The terminal is already restored here: the UI guard drops before the error returns.
            eprintln!("reentry-board: {error:#}");
            ExitCode::FAILURE
        }
    }
}
