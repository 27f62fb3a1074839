//! The hub's database for a test, on the backend this test binary is for: SQLite (`hub`, `sync`,
//! ...) or PostgreSQL (the same suites built again as `hub_pg`, `sync_pg`, ...: a binary whose
//! name ends in `_pg`). Tests read what was stored through [`HubDb`], never through one backend's
//! SQL, so every assertion holds on both.

use std::path::{Path, PathBuf};

use reentry_board::hub::{Store, Target, store::block_on};

use super::postgres;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend of this test binary.
pub fn backend() -> Backend {
    if env!("CARGO_CRATE_NAME").ends_with("_pg") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

#[derive(Debug, Clone)]
pub struct HubDb {
    pub target: Target,
    /// The SQLite file, when the backend is SQLite.
    pub file: Option<PathBuf>,
    /// The database's name on the shared cluster, when the backend is PostgreSQL.
    pub pg_name: Option<String>,
}

impl HubDb {
    /// A new, empty hub database (created and migrated) beside `dir` or on the shared cluster.
    pub fn new(dir: &Path) -> Self {
        let db = Self::unopened(dir);
        Store::open(&db.target).unwrap();
        db
    }

    /// A new database name, not yet created by the hub (the hub's first start creates it).
    pub fn unopened(dir: &Path) -> Self {
        match backend() {
            Backend::Sqlite => {
                let file = dir.join("hub.db");
                Self {
                    target: Target::from(file.as_path()),
                    file: Some(file),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let cluster = postgres::shared();
                let name = cluster.create_database();
                Self {
                    target: Target::new(cluster.url(&name))
                        .with_password_file(Some(cluster.password_file.clone())),
                    file: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub fn store(&self) -> Store {
        Store::open(&self.target).unwrap()
    }

    /// `--db X [--db-password-file Y]` for the CLI.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["--db".to_string(), self.target.location.clone()];
        if let Some(file) = &self.target.password_file {
            args.push("--db-password-file".into());
            args.push(file.display().to_string());
        }
        args
    }

    pub fn add_token(&self, facility: &str, label: &str) -> String {
        let store = self.store();
        block_on(store.add_token(facility, label))
            .unwrap()
            .unwrap()
            .1
    }

    pub fn count_events(&self) -> i64 {
        let store = self.store();
        block_on(store.count_events()).unwrap().unwrap()
    }

    /// Runs a query whose single column is text or a number, as text lines.
    pub fn query(&self, sql: &str) -> Vec<String> {
        match (&self.file, &self.pg_name) {
            (Some(file), _) => {
                let conn = rusqlite::Connection::open(file).unwrap();
                let mut stmt = conn.prepare(sql).unwrap();
                stmt.query_map([], |r| {
                    let value: rusqlite::types::Value = r.get(0)?;
                    Ok(match value {
                        rusqlite::types::Value::Integer(i) => i.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        other => format!("{other:?}"),
                    })
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
            (None, Some(name)) => {
                let out = postgres::shared().sql(name, sql);
                out.lines().map(str::to_string).collect()
            }
            (None, None) => unreachable!("a hub database is a file or a PostgreSQL database"),
        }
    }

    /// (event_id, person_id, person_seq, id) of every stored event, in arrival order.
    pub fn events(&self) -> Vec<(String, String, i64, i64)> {
        self.query(
            "SELECT event_id || '|' || person_id || '|' || person_seq || '|' || id FROM events ORDER BY id",
        )
        .into_iter()
        .map(|line| {
            let parts: Vec<&str> = line.split('|').collect();
            (
                parts[0].to_string(),
                parts[1].to_string(),
                parts[2].parse().unwrap(),
                parts[3].parse().unwrap(),
            )
        })
        .collect()
    }
}
