//! Logging goes to a file in the user's data directory, never to the screen.
//!
//! Privacy: log ids (person id, booking-free event ids), counts and timings only — never names,
//! dates of birth, diagnoses or drug names. A test runs the suite's paths at `trace` with canary
//! names and checks the log file for them.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Keeps the log writer alive; drop it last so buffered lines are flushed.
pub struct LogGuard {
    _guard: WorkerGuard,
    pub file: PathBuf,
}

/// Starts file logging in `dir` at `RUST_LOG` if set, else `level`.
pub fn init(dir: &Path, level: &str) -> anyhow::Result<LogGuard> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the log directory {}", dir.display()))?;
    restrict(dir);
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("reentry-board")
        .filename_suffix("log")
        .max_log_files(30)
        .build(dir)
        .with_context(|| format!("cannot open a log file in {}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .context("invalid log level")?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))?;
    Ok(LogGuard {
        _guard: guard,
        file: dir.join("reentry-board.<date>.log"),
    })
}

/// Logs hold operational detail about health and justice data: owner only.
fn restrict(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // Best effort: a shared log directory set up by an administrator keeps its own mode.
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}
