//! What can go wrong in the store, in words a user can act on.

use std::path::PathBuf;

use crate::domain::{Action, Role};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: not a reentry-board database ({why}); pass the right --db path", .path.display())]
    NotOurs { path: PathBuf, why: String },

    #[error(
        "{}: made by a newer reentry-board (schema {found}, this binary knows {known}); upgrade reentry-board",
        .path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    #[error(
        "{}: schema {found} needs upgrading to {known}, which needs write access; run any \
         command that writes (or the board) once as the database's owner",
        .path.display()
    )]
    NeedsUpgrade {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    #[error(
        "{}: locked by another process; close the other session or try again in a moment",
        .path.display()
    )]
    Locked { path: PathBuf },

    #[error(
        "{}: no such database; run `reentry-board init --db PATH` or `reentry-board demo` first",
        .path.display()
    )]
    NotFound { path: PathBuf },

    #[error("{}: already exists; open it instead of creating it", .path.display())]
    AlreadyExists { path: PathBuf },

    #[error("{what} was changed by {changed_by} at {changed_at}; reload and try again")]
    Conflict {
        changed_by: String,
        changed_at: String,
        what: String,
    },

    #[error("the {role} role may not {action}")]
    Denied { action: Action, role: Role },

    #[error("{0}")]
    Invalid(String),

    /// One field of the input is wrong; the UI shows `problem` next to `field`.
    #[error("{field}: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },

    #[error("{}: {context}: {source}", .path.display())]
    Sqlite {
        path: PathBuf,
        context: String,
        #[source]
        source: rusqlite::Error,
    },

    #[error("{}: {context}: {source}", .path.display())]
    Io {
        path: PathBuf,
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// Errors raised deep inside a transaction do not know the file; the store fills it in.
    pub(crate) fn at(mut self, file: &std::path::Path) -> Self {
        match &mut self {
            Self::Locked { path }
            | Self::Sqlite { path, .. }
            | Self::NotOurs { path, .. }
            | Self::Io { path, .. }
                if path.as_os_str().is_empty() =>
            {
                *path = file.to_path_buf();
            }
            _ => {}
        }
        self
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Self::Invalid(msg.into())
    }

    pub(crate) fn field(field: &'static str, problem: impl Into<String>) -> Self {
        Self::Field {
            field,
            problem: problem.into(),
        }
    }
}

/// Attaches what we were doing to a SQLite error, and turns "busy" into [`StoreError::Locked`].
pub(crate) trait SqlContext<T> {
    fn ctx(self, context: &str) -> Result<T>;
}

impl<T> SqlContext<T> for rusqlite::Result<T> {
    fn ctx(self, context: &str) -> Result<T> {
        self.map_err(|source| from_sqlite(source, context))
    }
}

pub(crate) fn from_sqlite(source: rusqlite::Error, context: &str) -> StoreError {
    use rusqlite::ErrorCode;
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked {
            path: PathBuf::new(),
        },
        Some(ErrorCode::NotADatabase) => StoreError::NotOurs {
            path: PathBuf::new(),
            why: "not an SQLite file".into(),
        },
        _ => StoreError::Sqlite {
            path: PathBuf::new(),
            context: context.to_string(),
            source,
        },
    }
}
