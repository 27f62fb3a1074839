//! Logging goes to the journal when a service manager runs us (standard error is then the journal),
//! else to a file in the state directory (`$XDG_STATE_HOME/reentry-board`) — never to the screen.
//!
//! Privacy: log ids (person id, booking-free event ids), counts and timings only — never names,
//! dates of birth, diagnoses or drug names. A test runs the suite's paths at `trace` with canary
//! names and checks the log file for them.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Where the log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard error, read by the journal: one line per event, no colours, no timestamps (the
    /// journal adds its own).
    Journal,
    /// Daily files in this directory, kept 30 days.
    Files(PathBuf),
}

/// Keeps the log writer alive; drop it last so buffered lines are flushed.
pub struct LogGuard {
    _guard: Option<WorkerGuard>,
    pub destination: Destination,
}

/// Starts logging at `RUST_LOG` if set, else `level`, wherever [`destination`] says.
pub fn init(level: &str) -> anyhow::Result<LogGuard> {
    let journal = Journal::from_env();
    let dest = destination(&journal, crate::paths::log_dir())
        .context("no state directory for the log files (is HOME set?)")?;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .context("invalid log level")?;
    match &dest {
        Destination::Journal => {
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .without_time()
                .try_init()
                .map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))?;
            Ok(LogGuard {
                _guard: None,
                destination: dest,
            })
        }
        Destination::Files(dir) => {
            let guard = init_files(dir, filter)?;
            Ok(LogGuard {
                _guard: Some(guard),
                destination: dest,
            })
        }
    }
}

fn init_files(dir: &Path, filter: EnvFilter) -> anyhow::Result<WorkerGuard> {
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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))?;
    Ok(guard)
}

/// What the environment says about standard error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Journal {
    /// `JOURNAL_STREAM`: "DEVICE:INODE" of the journal's socket, set by systemd for services.
    pub stream: Option<String>,
    /// systemd started this very process as a unit's main process (`INVOCATION_ID` is set and
    /// `SYSTEMD_EXEC_PID` is our pid; children of a unit inherit the variables, not the pid).
    pub unit_main_process: bool,
    /// Standard error's own "DEVICE:INODE".
    pub stderr_id: Option<String>,
    pub stderr_is_terminal: bool,
}

impl Journal {
    pub fn from_env() -> Self {
        use std::io::IsTerminal as _;
        let stderr_id = nix::sys::stat::fstat(std::io::stderr())
            .ok()
            .map(|st| format!("{}:{}", st.st_dev, st.st_ino));
        Self {
            stream: std::env::var("JOURNAL_STREAM").ok(),
            unit_main_process: std::env::var_os("INVOCATION_ID").is_some()
                && std::env::var("SYSTEMD_EXEC_PID")
                    .is_ok_and(|pid| pid.trim() == std::process::id().to_string()),
            stderr_id,
            stderr_is_terminal: std::io::stderr().is_terminal(),
        }
    }
}

/// The journal when standard error is the stream systemd connected to it (`JOURNAL_STREAM`
/// matches), or when we are a unit's main process with standard error not a terminal (a unit
/// whose output goes to a file). Programs started from a service (a terminal emulator, a CI
/// runner) inherit the variables but neither the stream nor the pid, and a terminal never gets
/// the log: the screen is the board's.
pub fn destination(journal: &Journal, state_dir: Option<PathBuf>) -> Option<Destination> {
    let stream_is_stderr = journal.stream.is_some() && journal.stream == journal.stderr_id;
    if !journal.stderr_is_terminal && (stream_is_stderr || journal.unit_main_process) {
        return Some(Destination::Journal);
    }
    state_dir.map(Destination::Files)
}

/// Logs hold operational detail about health and justice data: owner only.
fn restrict(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // Best effort: a shared log directory set up by an administrator keeps its own mode.
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_only_when_a_service_manager_holds_stderr() {
        let state = Some(PathBuf::from("/home/x/.local/state/reentry-board"));
        let files = Some(Destination::Files(PathBuf::from(
            "/home/x/.local/state/reentry-board",
        )));
        let plain = Journal::default();
        assert_eq!(destination(&plain, state.clone()), files);
        let service = Journal {
            stream: Some("8:1234".into()),
            unit_main_process: true,
            stderr_id: Some("8:1234".into()),
            stderr_is_terminal: false,
        };
        assert_eq!(
            destination(&service, state.clone()),
            Some(Destination::Journal)
        );
        // A terminal started by a service: the variables are inherited, stderr is the tty.
        let terminal = Journal {
            stream: Some("8:1234".into()),
            unit_main_process: true,
            stderr_id: Some("136:3".into()),
            stderr_is_terminal: true,
        };
        assert_eq!(destination(&terminal, state.clone()), files);
        // Output redirected elsewhere by a user, with a stale JOURNAL_STREAM and no unit.
        let redirected = Journal {
            stream: Some("8:1234".into()),
            unit_main_process: false,
            stderr_id: Some("253:99".into()),
            stderr_is_terminal: false,
        };
        assert_eq!(destination(&redirected, state), files);
    }
}
