//! One TOML config file holds the county's settings. Every error names the file, line and key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::{Action, Grant, NameFormat, PermissionMatrix, Role, Rules};
use crate::toml_util::{find_key_line, line_of};
use crate::tui::keymap::{KeyList, Keymap, KeymapError};

/// The config file as written by a county. Unknown keys are errors, so typos do not go unnoticed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The board's database file, used by every command that takes `--db` (the flag and
    /// `REENTRY_BOARD_DB` win). A relative path is relative to the config file.
    pub database: Option<PathBuf>,
    /// The facility id this board reports as (the API's `source.facility_id`).
    pub facility_id: String,
    /// Shown in the board's title.
    pub facility_name: String,
    /// How names are shortened on the board in personal sessions (presentation mode always uses
    /// `last_initial`).
    pub name_format: NameFormat,
    /// `error`, `warn`, `info`, `debug` or `trace`; `RUST_LOG` wins when set.
    pub log_level: String,
    /// Minutes without a key before a personal session locks (clears the screen and exits).
    pub idle_lock_minutes: u32,
    /// Timeline offsets; see `Rules`.
    pub rules: Rules,
    /// Changes to the default permission matrix: `[permissions.nurse] set_release_date = "yes"`.
    pub permissions: BTreeMap<Role, BTreeMap<Action, Grant>>,
    /// Key bindings replacing the defaults: `search = "/"`, `quit = ["q", "F10"]`. The names are
    /// those of the help overlay; Ctrl+C always quits.
    pub keys: BTreeMap<String, KeyList>,
    /// Where and how the outbox sender delivers events: see `crate::sync::SyncConfig`.
    pub sync: crate::sync::SyncConfig,
    /// `reentry-board serve`: what its flags say, so a unit names only the config.
    pub serve: ServeConfig,
    /// `reentry-board hub`: the central API server's settings.
    pub hub: HubConfig,
}

/// The `[serve]` section (the SSH server). Flags win.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    pub listen: Option<String>,
    pub host_key: Option<PathBuf>,
    pub authorized_keys: Option<PathBuf>,
    pub max_sessions: Option<usize>,
    pub max_auth_failures: Option<u32>,
}

/// The `[hub]` section (the central API server). Flags win.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HubConfig {
    /// Where the hub keeps its data: a file path (relative to the config file). A plain string,
    /// not a path, so other kinds of location can be named here.
    pub database: Option<String>,
    /// The file holding the PostgreSQL password, when `database` is a `postgres://` URL.
    pub database_password_file: Option<PathBuf>,
    pub listen: Option<std::net::SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// PEM file of the CA(s) whose client certificates the hub requires (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            facility_id: "demo-facility".into(),
            facility_name: "Demo County".into(),
            name_format: NameFormat::LastFirst,
            log_level: "info".into(),
            idle_lock_minutes: 10,
            rules: Rules::default(),
            permissions: BTreeMap::new(),
            keys: BTreeMap::new(),
            sync: crate::sync::SyncConfig::default(),
            database: None,
            serve: ServeConfig::default(),
            hub: HubConfig::default(),
        }
    }
}

/// A config problem, located: `config.toml:12: rules.screening: -5 is not a number of days`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn permission_matrix(&self) -> PermissionMatrix {
        PermissionMatrix::with_overrides(self.permissions.iter().flat_map(|(role, actions)| {
            actions
                .iter()
                .map(move |(action, grant)| (*role, *action, *grant))
        }))
    }

    /// The keymap with `[keys]` applied. [`Config::parse`] already refused a bad one.
    pub fn keymap(&self) -> Result<Keymap, KeymapError> {
        Keymap::build(&self.keys)
    }

    /// Reads `path`; a missing file is an error (the caller decides whether it was optional).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            key: None,
            message: format!("cannot read the config file: {e}"),
        })?;
        let mut config = Self::parse(&text, path)?;
        if let Some(dir) = path.parent() {
            config.resolve_relative_to(dir);
        }
        Ok(config)
    }

    /// Paths in the file are relative to the file, not to wherever the command was started
    /// (a service's working directory is `/`).
    fn resolve_relative_to(&mut self, dir: &Path) {
        let fix = |p: &mut Option<PathBuf>| {
            if let Some(path) = p.as_mut().filter(|p| p.is_relative()) {
                *path = dir.join(&*path);
            }
        };
        fix(&mut self.database);
        fix(&mut self.sync.token_file);
        fix(&mut self.sync.ca_file);
        fix(&mut self.sync.client_cert);
        fix(&mut self.sync.client_key);
        fix(&mut self.serve.host_key);
        fix(&mut self.serve.authorized_keys);
        fix(&mut self.hub.tls_cert);
        fix(&mut self.hub.tls_key);
        fix(&mut self.hub.client_ca);
        fix(&mut self.hub.database_password_file);
        if let Some(db) = self.hub.database.as_mut().filter(|d| !d.contains("://"))
            && Path::new(db.as_str()).is_relative()
        {
            *db = dir.join(db.as_str()).to_string_lossy().into_owned();
        }
    }

    /// The file given with `--config`, else the XDG config file if it exists, else the defaults.
    pub fn discover(explicit: Option<&Path>) -> Result<(Self, Option<PathBuf>), ConfigError> {
        if let Some(path) = explicit {
            return Ok((Self::load(path)?, Some(path.to_path_buf())));
        }
        match crate::paths::config_file() {
            Some(path) if path.exists() => Ok((Self::load(&path)?, Some(path))),
            _ => Ok((Self::default(), None)),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| line_of(text, span.start));
            ConfigError {
                path: path.to_path_buf(),
                line,
                key: None,
                message: e.message().trim().to_string(),
            }
        })?;
        if let Err(e) = config.rules.validate() {
            return Err(ConfigError {
                path: path.to_path_buf(),
                line: find_key_line(text, "rules", e.key),
                key: Some(format!("rules.{}", e.key)),
                message: e.problem,
            });
        }
        if let Err(e) = config.keymap() {
            return Err(ConfigError {
                path: path.to_path_buf(),
                line: find_key_line(text, "keys", &e.name),
                key: Some(format!("keys.{}", e.name)),
                message: e.message,
            });
        }
        if let Err((key, message)) = config.sync.check() {
            return Err(ConfigError {
                path: path.to_path_buf(),
                line: find_key_line(text, "sync", key),
                key: Some(format!("sync.{key}")),
                message,
            });
        }
        if config.idle_lock_minutes == 0 {
            return Err(ConfigError {
                path: path.to_path_buf(),
                line: find_key_line(text, "", "idle_lock_minutes"),
                key: Some("idle_lock_minutes".into()),
                message: "must be at least 1 minute".into(),
            });
        }
        if !valid_log_level(&config.log_level) {
            return Err(ConfigError {
                path: path.to_path_buf(),
                line: find_key_line(text, "", "log_level"),
                key: Some("log_level".into()),
                message: format!(
                    "`{}` is not a log level (error, warn, info, debug, trace)",
                    config.log_level
                ),
            });
        }
        Ok(config)
    }
}

/// A plain level, or `RUST_LOG`-style directives such as `warn,reentry_board=debug`. A bare word
/// that is not a level would be read by tracing as a target name and silently log nothing.
fn valid_log_level(level: &str) -> bool {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let plain = LEVELS.contains(&level.trim().to_ascii_lowercase().as_str());
    let directives = level.contains('=') && tracing_subscriber::EnvFilter::try_new(level).is_ok();
    plain || directives
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("county.toml"))
    }

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(parse("").ok(), Some(Config::default()));
    }

    #[test]
    fn overrides_apply() {
        let c = parse(
            "facility_id = \"sb-main\"\nname_format = \"last_initial\"\n[rules]\nscreening = 120\n\
             [permissions.nurse]\nset_release_date = \"yes\"\n",
        )
        .unwrap();
        assert_eq!(c.rules.screening, 120);
        assert_eq!(c.name_format, NameFormat::LastInitial);
        assert!(c.permission_matrix().allows(
            Role::Nurse,
            Action::SetReleaseDate,
            crate::domain::role::Context::default()
        ));
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = parse("facility_id = \"x\"\n\n[rules]\nscreenign = 120\n").unwrap_err();
        assert_eq!(e.line, Some(4));
        let shown = e.to_string();
        assert!(shown.starts_with("county.toml:4:"), "{shown}");
        assert!(shown.contains("screenign"), "{shown}");
    }

    #[test]
    fn bad_offset_names_file_line_and_key() {
        let e = parse("[rules]\ncare_plan = 30\ncare_manager = -5\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "county.toml:3: rules.care_manager: -5 is not a number of days from 0 to 365"
        );
        let e = parse("rules.care_manager = 400\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = parse("[rules]\ncare_manager = \"ninety\"\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn keys_rebind_and_clashes_are_located() {
        let c = parse("[keys]\nsearch = \"z\"\nquit = [\"q\", \"F10\"]\n").unwrap();
        assert!(c.keymap().is_ok());
        let e = parse("facility_id = \"x\"\n[keys]\nquit = \"q\"\nsearch = \"f\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "county.toml:4: keys.search: `f` on the board screen is bound to both \
             filter_facility (default) and keys.search"
        );
        let e = parse("[keys]\nhelp = \"h\"\nquit = \"h\"\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.to_string().contains("keys.help and keys.quit"), "{e}");
        let e = parse("[keys]\nquit = \"ctrl+c\"\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let e = parse("[keys]\nfly = \"z\"\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("keys.fly")));
    }

    #[test]
    fn sync_section_is_checked_and_located() {
        let c = parse("[sync]\nurl = \"https://hub.example\"\ntoken_file = \"/etc/t\"\n").unwrap();
        assert_eq!(c.sync.url.as_deref(), Some("https://hub.example"));
        let e = parse("facility_id = \"x\"\n[sync]\nurl = \"http://hub.example\"\n").unwrap_err();
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(3), Some("sync.url")),
            "{e}"
        );
        assert!(e.to_string().contains("plain http"), "{e}");
        let e = parse("[sync]\nurll = \"https://hub.example\"\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn paths_are_relative_to_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("county.toml");
        std::fs::write(
            &file,
            "database = \"board.db\"\n[hub]\ndatabase = \"hub.db\"\n\
             [serve]\nhost_key = \"/var/lib/x/host_key\"\n",
        )
        .unwrap();
        let c = Config::load(&file).unwrap();
        assert_eq!(c.database, Some(dir.path().join("board.db")));
        assert_eq!(
            c.hub.database.as_deref(),
            Some(dir.path().join("hub.db").to_str().unwrap())
        );
        assert_eq!(c.serve.host_key, Some(PathBuf::from("/var/lib/x/host_key")));
        let e = parse("[hub]\nlisten = \"nowhere\"\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn bad_enum_values_are_located() {
        let e = parse("\nname_format = \"shouting\"\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        let e = parse("[permissions.janitor]\nadmin = \"yes\"\n").unwrap_err();
        assert!(e.to_string().contains("janitor"), "{e}");
        let e = parse("log_level = \"loud\"\n").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (Some(1), Some("log_level")));
    }
}
