//! CLI -> logging -> dispatch; nothing else.

use std::process::ExitCode;

use reentry_board::{cli::Cli, commands};

fn main() -> ExitCode {
    let cli = match Cli::try_parse_env() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version print and succeed; a wrong command line gets EX_USAGE, so it
            // is never read as one of the statuses that `sync --once` or `check` give.
            let _ = error.print();
            if let Some(variable) = reentry_board::cli::env_source(&error) {
                eprintln!("note: the value comes from the environment variable {variable}");
            }
            return if error.use_stderr() {
                ExitCode::from(reentry_board::cli::EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            // The terminal is already restored here: the UI guard drops before the error returns.
            eprintln!("reentry-board: {error:#}");
            ExitCode::FAILURE
        }
    }
}
