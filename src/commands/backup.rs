//! `backup`, `restore`, `check`: what an administrator runs on the database. The work is in
//! `crate::store` (the backup API, the checks); here the output and the exit status.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::cli::{BackupArgs, CheckArgs, RestoreArgs};
use crate::clock::SystemClock;
use crate::store::{self, HealthProblem};
use crate::sync::SenderLock;

use super::{Context, db_path, open_to_read};

/// `check`'s statuses, as monitoring plugins use them.
const CHECK_CRITICAL: u8 = 2;
const CHECK_UNKNOWN: u8 = 3;

pub fn backup(ctx: &Context, args: &BackupArgs) -> anyhow::Result<ExitCode> {
    let path = db_path(ctx, &args.db)?;
    // Read-only: a backup never waits for the writers' lock, however busy the board is.
    let store = open_to_read(ctx, &path, Arc::new(SystemClock))?;
    let manifest = store.backup_to(&args.to)?;
    tracing::info!(
        bytes = manifest.bytes,
        schema = manifest.schema_version,
        "backup written"
    );
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "backup {}: {} people, {} audit rows, schema {}, {} bytes, sha256 {}",
        args.to.display(),
        manifest.people,
        manifest.audit_rows,
        manifest.schema_version,
        manifest.bytes,
        manifest.sha256
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn restore(ctx: &Context, args: &RestoreArgs) -> anyhow::Result<ExitCode> {
    let path = db_path(ctx, &args.db)?;
    // Held while restoring: no sender starts on a database being replaced, and one that runs
    // makes restore refuse rather than race it.
    let _lock = match SenderLock::try_acquire(&path)? {
        Some(lock) => lock,
        None => anyhow::bail!(
            "a sender is running on {}{}; stop the sync service (and serve) first, e.g. \
             `systemctl stop reentry-board-sync reentry-board-serve`",
            path.display(),
            SenderLock::holder(&path).map_or(String::new(), |pid| format!(" (pid {pid})"))
        ),
    };
    let restored = store::restore(&path, &args.from, chrono::Utc::now())?;
    tracing::info!(
        schema_from = restored.schema_from,
        schema_now = restored.schema_now,
        "database restored"
    );
    let mut out = std::io::stdout().lock();
    if let Some(aside) = &restored.aside {
        writeln!(out, "kept the replaced database as {}", aside.display())?;
    }
    if !restored.checksum_checked {
        writeln!(
            out,
            "note: no manifest {} beside the backup; its checksum was not compared",
            store::BackupManifest::path_for(&args.from).display()
        )?;
    }
    let health = store::check(&path).context("checking the restored database")?;
    writeln!(
        out,
        "restored {} from {} (schema {} -> {}): {}",
        path.display(),
        args.from.display(),
        restored.schema_from,
        restored.schema_now,
        health.summary()
    )?;
    Ok(if health.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One line and a status; a problem opening the file is UNKNOWN, not an error of the command.
pub fn check(ctx: &Context, args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let path = db_path(ctx, &args.db)?;
    let mut out = std::io::stdout().lock();
    let health = match store::check(&path) {
        Ok(health) => health,
        Err(error) => {
            let words = format!("{error:#}");
            let shown = path.display().to_string();
            if words.starts_with(&shown) {
                writeln!(out, "UNKNOWN: {words}")?;
            } else {
                writeln!(out, "UNKNOWN: {shown}: {words}")?;
            }
            return Ok(ExitCode::from(CHECK_UNKNOWN));
        }
    };
    let verdict = if health.ok() { "OK" } else { "CRITICAL" };
    writeln!(out, "{verdict}: {}: {}", path.display(), health.summary())?;
    for problem in &health.problems {
        let kind = match problem {
            HealthProblem::Integrity(_) => "integrity",
            HealthProblem::ForeignKeys(..) => "foreign keys",
            HealthProblem::AuditChain(_) => "audit chain",
        };
        tracing::warn!(kind, "check found a problem");
    }
    Ok(if health.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(CHECK_CRITICAL)
    })
}
