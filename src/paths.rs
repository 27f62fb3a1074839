//! Where files live by default (XDG on Linux): config, data (demo database), state (logs), themes.

use std::path::{Path, PathBuf};

use directories::ProjectDirs;

fn project() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "reentry-board")
}

/// `$XDG_CONFIG_HOME/reentry-board/config.toml`
pub fn config_file() -> Option<PathBuf> {
    project().map(|p| p.config_dir().join("config.toml"))
}

/// `$XDG_CONFIG_HOME/reentry-board`, where user theme files override the built-in ones.
pub fn config_dir() -> Option<PathBuf> {
    project().map(|p| p.config_dir().to_path_buf())
}

/// `$XDG_DATA_HOME/reentry-board`: the demo database.
pub fn data_dir() -> Option<PathBuf> {
    project().map(|p| p.data_dir().to_path_buf())
}

/// `$XDG_STATE_HOME/reentry-board`: the log files (logs are state, not data).
pub fn log_dir() -> Option<PathBuf> {
    project().and_then(|p| p.state_dir().map(Path::to_path_buf))
}

pub fn demo_db() -> Option<PathBuf> {
    data_dir().map(|d| d.join("demo.db"))
}
