//! Creating and opening the database file, and the numbered migrations.
//!
//! Every check that can refuse a file runs before anything is written to it, so a wrong `--db`
//! path never damages someone else's file.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::error::{SqlContext, StoreError, from_sqlite};
use super::{Result, Store};
use crate::clock::Clock;
use crate::domain::PermissionMatrix;

/// `PRAGMA application_id` of our files: "RBRD".
pub const APPLICATION_ID: i32 = 0x5242_5244;

/// Applied in order; migration `i` brings the schema to `user_version = i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0003_sync.sql"),
    include_str!("migrations/0004_meeting.sql"),
    include_str!("migrations/0005_feed_release.sql"),
    AUDIT_CHAIN,
    include_str!("migrations/0007_board_index.sql"),
    include_str!("migrations/0008_board_tally.sql"),
    include_str!("migrations/0009_board_search.sql"),
];

const AUDIT_CHAIN: &str = include_str!("migrations/0006_audit_chain.sql");

/// Work a migration needs done in Rust, in its transaction, after its SQL (known by its SQL, so
/// the list can grow around it).
fn after_migration(sql: &str, tx: &rusqlite::Transaction<'_>) -> Result<()> {
    if sql == AUDIT_CHAIN {
        super::audit_chain::backfill(tx)?;
    }
    Ok(())
}

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// SQLite's page cache per connection, in KiB as `PRAGMA cache_size` takes it (negative).
pub(super) const CACHE_KIB: i64 = -65536;

const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

impl Store {
    /// Makes a new database at `path`; refuses if a file is already there.
    pub fn create(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<Self> {
        let path = path.as_ref();
        // Created 0600 before SQLite sees it: the file never exists with wider access, and SQLite
        // gives the -wal and -shm files the same mode.
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    StoreError::AlreadyExists {
                        path: path.to_path_buf(),
                    }
                } else {
                    StoreError::Io {
                        path: path.to_path_buf(),
                        context: "creating the database file".into(),
                        source,
                    }
                }
            })?;
        Self::connect(path, clock)
    }

    /// Opens an existing database, migrating it to this binary's schema.
    pub fn open(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<Self> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(StoreError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Self::connect(path, clock)
    }

    /// Opens an existing database only to read it: what a user who may only read the file
    /// (a report, an export) needs. Nothing is written, so it must be at this binary's schema
    /// already.
    pub fn open_read_only(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<Self> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(StoreError::NotFound {
                path: path.to_path_buf(),
            });
        }
        let at = |e: StoreError| e.at(path);
        let (conn, found) = match checked_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY, None) {
            Ok(opened) => opened,
            // A WAL database needs its -shm file, which a reader who may not write in the
            // directory cannot create. With no -wal file beside it no writer has work in
            // progress, and the file alone is the database: read it as it is.
            Err(first) if !wal_file(path).exists() => checked_connection(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY,
                Some(immutable(path)),
            )
            .map_err(|_| first)?,
            Err(first) => return Err(first),
        };
        if found.user_version < SCHEMA_VERSION {
            return Err(StoreError::NeedsUpgrade {
                path: path.to_path_buf(),
                found: found.user_version,
                known: SCHEMA_VERSION,
            });
        }
        conn.execute_batch(&format!(
            "PRAGMA query_only = ON; PRAGMA foreign_keys = ON; PRAGMA cache_size = {CACHE_KIB};"
        ))
        .ctx("setting the connection pragmas")
        .map_err(at)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            clock,
            permissions: PermissionMatrix::default(),
            overdue_share: Default::default(),
        })
    }

    pub fn open_or_create(path: impl AsRef<Path>, clock: Arc<dyn Clock>) -> Result<Self> {
        let path = path.as_ref();
        if path.exists() {
            Self::open(path, clock)
        } else {
            Self::create(path, clock)
        }
    }

    fn connect(path: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        let at = |e: StoreError| e.at(path);
        // No CREATE flag: the file exists by now, and a vanished file must not be re-made here.
        let (conn, _) = checked_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE, None)?;
        // Only now, with the file known to be ours (or empty), may anything be written.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA cache_size = {CACHE_KIB};"
        ))
        .ctx("setting the connection pragmas")
        .map_err(at)?;
        let mut store = Self {
            conn,
            path: path.to_path_buf(),
            clock,
            permissions: PermissionMatrix::default(),
            overdue_share: Default::default(),
        };
        store.migrate().map_err(at)?;
        store.catch_up_board_index().map_err(at)?;
        Ok(store)
    }

    /// The schema version on disk.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .ctx("reading the schema version")
            .map_err(|e| e.at(&self.path))
    }

    fn migrate(&mut self) -> Result<()> {
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("starting a migration")?;
            // Read inside the write lock: another process may have migrated meanwhile.
            let version: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .ctx("reading the schema version")?;
            let Some(sql) = usize::try_from(version)
                .ok()
                .and_then(|v| MIGRATIONS.get(v))
            else {
                return Ok(());
            };
            let next = version + 1;
            tx.execute_batch(sql)
                .ctx(&format!("applying migration {next}"))?;
            after_migration(sql, &tx)?;
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {next};"
            ))
            .ctx("stamping the schema version")?;
            tx.commit().ctx(&format!("committing migration {next}"))?;
        }
    }

    /// Brings the board index up to date with whatever changed without it: a migration that
    /// marked everyone (0007 builds the index this way, after every later migration has run), or
    /// rows written by another tool.
    fn catch_up_board_index(&mut self) -> Result<()> {
        let pending: bool = self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM board_index_dirty)", [], |r| {
                r.get(0)
            })
            .ctx("reading the board index's changed people")?;
        if !pending {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("starting the board index's update")?;
        super::board_index::refresh(&tx)?;
        tx.commit().ctx("committing the board index")?;
        Ok(())
    }
}

/// A connection to `path` opened with `mode` (through `uri` when given), once the file is
/// known to be ours (or empty).
fn checked_connection(
    path: &Path,
    mode: OpenFlags,
    uri: Option<String>,
) -> Result<(Connection, Identity)> {
    let at = |e: StoreError| e.at(path);
    check_header(path)?;
    let flags = mode | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = match uri {
        Some(uri) => Connection::open_with_flags(uri, flags),
        None => Connection::open_with_flags(path, flags),
    }
    .ctx("opening the database")
    .map_err(at)?;
    // Seeding and loading use some 30 distinct statements; the default cache of 16 would
    // re-prepare them for every person.
    conn.set_prepared_statement_cache_capacity(64);
    conn.busy_timeout(BUSY_TIMEOUT)
        .ctx("setting the busy timeout")
        .map_err(at)?;
    let found = read_identity(&conn).map_err(at)?;
    check_identity(path, &found)?;
    Ok((conn, found))
}

fn wal_file(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// `file:PATH?immutable=1`, the path percent-encoded as SQLite's URI filenames want it.
fn immutable(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let mut uri = String::from("file:");
    for byte in path.as_os_str().as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                uri.push(char::from(*byte));
            }
            other => uri.push_str(&format!("%{other:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

pub(super) struct Identity {
    pub(super) application_id: i32,
    pub(super) user_version: i64,
    pub(super) objects: i64,
}

/// Rejects files that are plainly not SQLite before SQLite touches them.
pub(super) fn check_header(path: &Path) -> Result<()> {
    let not_ours = |why: &str| StoreError::NotOurs {
        path: path.to_path_buf(),
        why: why.into(),
    };
    let mut file = std::fs::File::open(path).map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        context: "reading the database file".into(),
        source,
    })?;
    let mut head = Vec::with_capacity(16);
    (&mut file)
        .take(16)
        .read_to_end(&mut head)
        .map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            context: "reading the database header".into(),
            source,
        })?;
    // An empty file is a database we created and have not yet initialised.
    if head.is_empty() || head.as_slice() == SQLITE_MAGIC {
        Ok(())
    } else {
        Err(not_ours("not an SQLite file"))
    }
}

pub(super) fn read_identity(conn: &Connection) -> Result<Identity> {
    let read = || -> rusqlite::Result<Identity> {
        Ok(Identity {
            application_id: conn.query_row("PRAGMA application_id", [], |r| r.get(0))?,
            user_version: conn.query_row("PRAGMA user_version", [], |r| r.get(0))?,
            objects: conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?,
        })
    };
    read().map_err(|e| from_sqlite(e, "reading the database header"))
}

pub(super) fn check_identity(path: &Path, found: &Identity) -> Result<()> {
    let path: PathBuf = path.to_path_buf();
    if found.application_id != APPLICATION_ID {
        if found.application_id != 0 {
            return Err(StoreError::NotOurs {
                path,
                why: format!("application id {:#x}", found.application_id),
            });
        }
        if found.objects > 0 || found.user_version != 0 {
            return Err(StoreError::NotOurs {
                path,
                why: "an SQLite database of another program".into(),
            });
        }
    }
    if found.user_version < 0 {
        return Err(StoreError::NotOurs {
            path,
            why: format!(
                "schema version {}, which reentry-board never writes (damaged, or changed by \
                 hand)",
                found.user_version
            ),
        });
    }
    if found.user_version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path,
            found: found.user_version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(())
}
