//! Backup, restore and the health check of a database file.
//!
//! - [`Store::backup_to`] copies the database with SQLite's online backup in one step: it reads
//!   one snapshot (WAL readers never block writers), so the copy holds exactly what was committed
//!   when it began, whatever boards and the sender do meanwhile. It is written under a temporary
//!   name, synced, then renamed, with a manifest and a checksum beside it.
//! - [`restore`] checks a backup (checksum, integrity, identity, schema) before it touches the
//!   live database, copies the live one aside, then copies the backup into it with the same backup
//!   API, so connections still open see the restored contents rather than a file swapped under
//!   them.
//! - [`check`] reads only: integrity, foreign keys, the audit chain.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::Store;
use super::audit_chain::{self, ChainReport};
use super::open::{SCHEMA_VERSION, check_header, check_identity, read_identity};

/// What `backup` wrote beside the copy, as `FILE.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// The backup's file name (the manifest sits beside it).
    pub file: String,
    /// SHA-256 of the whole file, hex.
    pub sha256: String,
    pub bytes: u64,
    /// `PRAGMA user_version` of the copy: which reentry-board can read it.
    pub schema_version: i64,
    /// The program that made it, e.g. `reentry-board 0.1.0`.
    pub made_by: String,
    /// When the copy began (RFC 3339, UTC): it holds every change committed before then.
    pub taken_at: String,
    /// The database it was taken from.
    pub source: String,
    pub people: i64,
    pub audit_rows: i64,
}

impl BackupManifest {
    /// `FILE.json` for backup `FILE`.
    pub fn path_for(backup: &Path) -> PathBuf {
        suffixed(backup, ".json")
    }

    /// `FILE.sha256`, in the form `sha256sum -c` reads.
    pub fn checksum_path_for(backup: &Path) -> PathBuf {
        suffixed(backup, ".sha256")
    }
}

/// One problem `check` found, by kind (the kinds decide the exit status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthProblem {
    /// `PRAGMA integrity_check` lines, or the corruption error that stopped it.
    Integrity(Vec<String>),
    /// Rows pointing at rows that do not exist: count and the first, in words.
    ForeignKeys(u64, String),
    /// The audit trail's chain, in words.
    AuditChain(String),
}

/// What `check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub schema_version: i64,
    pub audit_rows: u64,
    pub problems: Vec<HealthProblem>,
}

impl Health {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// One line: `integrity ok, foreign keys ok, audit chain ok (1234 rows), schema 6` or what
    /// is wrong.
    pub fn summary(&self) -> String {
        if let Some(HealthProblem::Integrity(lines)) = self
            .problems
            .iter()
            .find(|p| matches!(p, HealthProblem::Integrity(_)))
        {
            let first = lines.first().map_or("", String::as_str);
            let more = match lines.len() {
                0 | 1 => String::new(),
                n => format!(" (and {} more problems)", n - 1),
            };
            return format!(
                "integrity: {first}{more}; foreign keys and audit chain not checked, schema {}",
                self.schema_version
            );
        }
        let integrity = "integrity ok";
        let mut keys = "foreign keys ok".to_string();
        let mut chain = format!("audit chain ok ({} rows)", self.audit_rows);
        for problem in &self.problems {
            match problem {
                HealthProblem::Integrity(_) => {}
                HealthProblem::ForeignKeys(n, first) => {
                    keys = format!("foreign keys: {n} broken (first: {first})");
                }
                HealthProblem::AuditChain(words) => chain = format!("audit chain: {words}"),
            }
        }
        format!(
            "{integrity}, {keys}, {chain}, schema {}",
            self.schema_version
        )
    }
}

/// What `restore` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Where the replaced database was copied (`None`: there was none).
    pub aside: Option<PathBuf>,
    /// The backup's schema, and this program's after migrating it.
    pub schema_from: i64,
    pub schema_now: i64,
    /// Whether a manifest was there to check the checksum against.
    pub checksum_checked: bool,
}

impl Store {
    /// Copies this database to `dest` (which must not exist) and writes `dest.json` and
    /// `dest.sha256` beside it.
    pub fn backup_to(&self, dest: &Path) -> anyhow::Result<BackupManifest> {
        if dest.exists() {
            bail!(
                "{} already exists; backup writes only new files",
                dest.display()
            );
        }
        let partial = suffixed(dest, ".partial");
        // A leftover from a backup that was killed: ours, and incomplete by construction.
        let _ = std::fs::remove_file(&partial);
        let taken_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let result = copy_into_new(&self.conn, &partial).and_then(|(people, audit_rows)| {
            let schema_version = self.schema_version()?;
            std::fs::rename(&partial, dest).with_context(|| {
                format!("cannot rename {} to {}", partial.display(), dest.display())
            })?;
            sync_dir(dest);
            let (sha256, bytes) = sha256_file(dest)?;
            let file = dest
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(BackupManifest {
                file,
                sha256,
                bytes,
                schema_version,
                made_by: format!("reentry-board {}", env!("CARGO_PKG_VERSION")),
                taken_at,
                source: self.path.display().to_string(),
                people,
                audit_rows,
            })
        });
        let manifest = match result {
            Ok(manifest) => manifest,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        write_private(
            &BackupManifest::checksum_path_for(dest),
            format!("{}  {}\n", manifest.sha256, manifest.file).as_bytes(),
        )?;
        let json = serde_json::to_vec_pretty(&manifest).context("writing the manifest")?;
        write_private(&BackupManifest::path_for(dest), &json)?;
        Ok(manifest)
    }
}

/// Copies the database behind `source` into the new file `dest` (mode 0600) and makes it a
/// single self-contained file (rollback journal, not WAL). Returns (people, audit rows) as copied.
fn copy_into_new(source: &Connection, dest: &Path) -> anyhow::Result<(i64, i64)> {
    create_private(dest)?;
    let mut out = Connection::open(dest)
        .with_context(|| format!("cannot open {} to write the backup", dest.display()))?;
    copy(source, &mut out).with_context(|| format!("copying into {}", dest.display()))?;
    out.execute_batch("PRAGMA journal_mode = DELETE;")
        .context("making the backup a single file")?;
    let count = |table: &str| -> anyhow::Result<i64> {
        out.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .with_context(|| format!("counting {table} in the backup"))
    };
    let counts = (count("persons")?, count("audit")?);
    out.close()
        .map_err(|(_, e)| e)
        .context("closing the backup")?;
    std::fs::File::open(dest)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync {} to disk", dest.display()))?;
    Ok(counts)
}

/// SQLite's online backup, all pages in one step: one read transaction, one consistent snapshot.
/// Waits while the destination or source is locked by a writer finishing its commit.
fn copy(source: &Connection, dest: &mut Connection) -> anyhow::Result<()> {
    let backup = Backup::new(source, dest).context("starting SQLite's backup")?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match backup.step(-1).context("copying pages")? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            StepResult::Busy | StepResult::Locked => {
                if std::time::Instant::now() > deadline {
                    bail!("the database stayed locked for a minute; try again");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Replaces the database at `db` with the backup `from`, after checking it. `now` names the
/// copy of the replaced database (`DB.replaced-20260302T141500Z`).
pub fn restore(
    db: &Path,
    from: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Restored> {
    let checksum_checked = verify_checksum(from)?;
    let source = open_read_only(from)?;
    // The schema itself spans several pages: damage may show before the integrity check runs.
    let found = match read_identity(&source) {
        Ok(found) => found,
        Err(e) if is_corrupt_store(&e) => {
            bail!("{}: refused, it is damaged: {e}", from.display())
        }
        Err(e) => return Err(e.at(from).into()),
    };
    check_identity(from, &found)?;
    if found.user_version == 0 {
        bail!("{}: an empty database, not a backup", from.display());
    }
    let integrity = integrity_problems(&source)?;
    if !integrity.is_empty() {
        bail!(
            "{}: refused, it is damaged: {}",
            from.display(),
            integrity.join("; ")
        );
    }
    let aside = if db.exists() {
        let aside = suffixed(db, &format!(".replaced-{}", now.format("%Y%m%dT%H%M%SZ")));
        set_aside(db, &aside)?;
        Some(aside)
    } else {
        create_private(db)?;
        None
    };
    let mut live = Connection::open(db).with_context(|| format!("cannot open {}", db.display()))?;
    live.busy_timeout(Duration::from_secs(5))
        .context("setting the busy timeout")?;
    copy(&source, &mut live).with_context(|| {
        format!(
            "copying {} into {}{}",
            from.display(),
            db.display(),
            aside.as_ref().map_or(String::new(), |a| format!(
                " (the previous database is kept as {})",
                a.display()
            ))
        )
    })?;
    live.execute_batch("PRAGMA journal_mode = WAL;")
        .context("setting WAL mode on the restored database")?;
    drop(live);
    // Opening migrates a backup from an older schema to this program's.
    let store = Store::open(db, std::sync::Arc::new(crate::clock::SystemClock))
        .map_err(anyhow::Error::from)?;
    Ok(Restored {
        aside,
        schema_from: found.user_version,
        schema_now: store.schema_version()?,
        checksum_checked,
    })
}

/// The replaced database, copied whole. A damaged one (the usual reason to restore) may not go
/// through SQLite's backup; then its files are copied byte for byte.
fn set_aside(db: &Path, aside: &Path) -> anyhow::Result<()> {
    let by_backup = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .context("opening the database to replace")
        .and_then(|conn| copy_into_new(&conn, aside).map(|_| ()));
    if let Err(error) = by_backup {
        tracing::warn!(
            error = format!("{error:#}"),
            "cannot copy the replaced database with SQLite; copying its files"
        );
        let _ = std::fs::remove_file(aside);
        for suffix in ["", "-wal"] {
            let file = suffixed(db, suffix);
            if file.exists() {
                let target = suffixed(aside, suffix);
                create_private(&target)?;
                std::fs::copy(&file, &target).with_context(|| {
                    format!("cannot copy {} to {}", file.display(), target.display())
                })?;
            }
        }
    }
    Ok(())
}

/// Compares the backup with its manifest, when there is one. `Ok(false)`: no manifest.
fn verify_checksum(backup: &Path) -> anyhow::Result<bool> {
    let manifest_path = BackupManifest::path_for(backup);
    let text = match std::fs::read_to_string(&manifest_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !backup.exists() {
                bail!("{}: no such backup file", backup.display());
            }
            return Ok(false);
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read {}", manifest_path.display()));
        }
    };
    let manifest: BackupManifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a backup manifest", manifest_path.display()))?;
    let (sha256, _) = sha256_file(backup)?;
    if sha256 != manifest.sha256 {
        bail!(
            "{}: refused, its checksum does not match {} (the file changed or was damaged after \
             the backup)",
            backup.display(),
            manifest_path.display()
        );
    }
    if manifest.schema_version > SCHEMA_VERSION {
        bail!(
            "{}: refused, it is from schema {} and this reentry-board knows {}; restore it with a \
             newer reentry-board",
            backup.display(),
            manifest.schema_version,
            SCHEMA_VERSION
        );
    }
    Ok(true)
}

/// Checks the database at `path` without writing to it.
pub fn check(path: &Path) -> anyhow::Result<Health> {
    let conn = open_read_only(path)?;
    let found = match read_identity(&conn) {
        Ok(found) => found,
        Err(e) if is_corrupt_store(&e) => {
            return Ok(Health {
                schema_version: 0,
                audit_rows: 0,
                problems: vec![HealthProblem::Integrity(vec![e.to_string()])],
            });
        }
        Err(e) => return Err(e.at(path).into()),
    };
    check_identity(path, &found)?;
    let mut health = Health {
        schema_version: found.user_version,
        audit_rows: 0,
        problems: Vec::new(),
    };
    let integrity = integrity_problems(&conn)?;
    if !integrity.is_empty() {
        // A damaged file may make the other checks fail for the same reason; one problem is enough.
        health.problems.push(HealthProblem::Integrity(integrity));
        return Ok(health);
    }
    match foreign_key_problems(&conn) {
        Ok(None) => {}
        Ok(Some((n, first))) => health.problems.push(HealthProblem::ForeignKeys(n, first)),
        Err(e) if is_corrupt(&e) => {
            health
                .problems
                .push(HealthProblem::Integrity(vec![e.to_string()]));
            return Ok(health);
        }
        Err(e) => return Err(e).context("checking the foreign keys"),
    }
    match audit_chain::verify(&conn) {
        Ok(ChainReport { rows, problem }) => {
            health.audit_rows = rows;
            if let Some(words) = problem {
                health.problems.push(HealthProblem::AuditChain(words));
            }
        }
        Err(e) if is_corrupt(&e) => health
            .problems
            .push(HealthProblem::Integrity(vec![e.to_string()])),
        Err(e) => return Err(e).context("checking the audit chain"),
    }
    Ok(health)
}

fn open_read_only(path: &Path) -> anyhow::Result<Connection> {
    if !path.exists() {
        bail!("{}: no such file", path.display());
    }
    check_header(path)?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))
        .context("setting the busy timeout")?;
    Ok(conn)
}

/// `PRAGMA integrity_check`'s findings; a file too damaged to run it is one finding.
fn integrity_problems(conn: &Connection) -> anyhow::Result<Vec<String>> {
    let run = || -> rusqlite::Result<Vec<String>> {
        let mut statement = conn.prepare("PRAGMA integrity_check(100)")?;
        let rows = statement.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    };
    match run() {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Ok(Vec::new()),
        Ok(lines) => Ok(lines),
        Err(e) if is_corrupt(&e) => Ok(vec![e.to_string()]),
        Err(e) => Err(e).context("running the integrity check"),
    }
}

fn foreign_key_problems(conn: &Connection) -> rusqlite::Result<Option<(u64, String)>> {
    let mut statement = conn.prepare("PRAGMA foreign_key_check")?;
    let mut rows = statement.query([])?;
    let mut count = 0u64;
    let mut first = None;
    while let Some(row) = rows.next()? {
        count += 1;
        if first.is_none() {
            let table: String = row.get(0)?;
            let rowid: Option<i64> = row.get(1)?;
            let parent: String = row.get(2)?;
            first = Some(format!(
                "{table} row {} points at a missing {parent}",
                rowid.map_or_else(|| "?".to_string(), |r| r.to_string())
            ));
        }
    }
    Ok(first.map(|f| (count, f)))
}

fn is_corrupt(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

fn is_corrupt_store(e: &super::StoreError) -> bool {
    match e {
        super::StoreError::Sqlite { source, .. } => is_corrupt(source),
        super::StoreError::NotOurs { .. } => false,
        _ => false,
    }
}

fn create_private(path: &Path) -> anyhow::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn sha256_file(path: &Path) -> anyhow::Result<(String, u64)> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, bytes))
}

/// The rename is durable once the directory is synced; best effort.
fn sync_dir(file: &Path) {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
