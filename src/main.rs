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
        // `reentry-board export ... | head`: the reader has what it wanted and left. Not an
        // error, and nothing to say — as for any Unix tool in a pipeline.
        Err(error) if closed_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // The terminal is already restored here: the UI guard drops before the error returns.
            eprintln!("reentry-board: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether the error, anywhere in its chain, is a write to a pipe nobody reads any more.
fn closed_pipe(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        let io = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind);
        let json = cause
            .downcast_ref::<serde_json::Error>()
            .and_then(serde_json::Error::io_error_kind);
        let csv = cause
            .downcast_ref::<csv::Error>()
            .and_then(|e| match e.kind() {
                csv::ErrorKind::Io(io) => Some(io.kind()),
                _ => None,
            });
        [io, json, csv].contains(&Some(BrokenPipe))
    })
}
