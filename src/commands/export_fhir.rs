//! `export --format fhir`: everyone the database holds (released and transferred people too, a
//! plan needs to hear that someone left) as FHIR R4, filtered like the board.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::ExportArgs;
use crate::domain::filter::Filter;
use crate::domain::{BoardRow, readiness};
use crate::fhir::{self, Options};

use super::{Context, clock, db_path, open_to_read};

pub fn run(ctx: &Context, args: &ExportArgs, filter: &Filter) -> anyhow::Result<ExitCode> {
    let path = db_path(ctx, &args.db)?;
    let clock = clock(args.as_of);
    let store = open_to_read(ctx, &path, clock.clone())?;
    let today = clock.today();
    let rules = &ctx.config.rules;
    let mut records = store.load_all_records()?;
    // Ids order: the same database exports the same bytes.
    records.sort_by(|a, b| a.person.id.cmp(&b.person.id));
    let options = Options {
        today,
        rules: rules.clone(),
        recipient: args.recipient,
    };
    let mut people = Vec::new();
    for record in records {
        let row = BoardRow {
            readiness: readiness(&record, today, rules),
            record,
        };
        if filter.matches(&row, rules) {
            people.push(fhir::person_resources(&row.record, &options));
        }
    }
    let count = people.len();
    match (&args.out, args.bulk) {
        (Some(dir), true) => write_bulk(dir, people, today)?,
        (Some(dir), false) => write_bundles(dir, &people)?,
        (None, _) => {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            for resources in &people {
                serde_json::to_writer(&mut out, &fhir::transaction(resources))?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
    }
    tracing::info!(people = count, "exported as FHIR");
    Ok(ExitCode::SUCCESS)
}

/// The files hold whole clinical records (names, birth dates, drug names): a new directory is
/// the owner's alone, as the database is.
fn create_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

fn write_file(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    write(&mut out).with_context(|| format!("cannot write {}", path.display()))?;
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}

/// One `<Patient id>.json` per person: the id is opaque, so a file name tells nothing.
fn write_bundles(dir: &Path, people: &[Vec<fhir::Resource>]) -> anyhow::Result<()> {
    create_dir(dir)?;
    for resources in people {
        let Some(patient) = resources.iter().find(|r| r.resource_type == "Patient") else {
            continue;
        };
        let path = dir.join(format!("{}.json", patient.id));
        write_file(&path, |out| {
            serde_json::to_writer_pretty(&mut *out, &fhir::transaction(resources))?;
            out.write_all(b"\n")?;
            Ok(())
        })?;
    }
    Ok(())
}

/// `Type.ndjson` per resource type and a manifest shaped like Bulk Data's `$export` answer.
fn write_bulk(
    dir: &Path,
    people: Vec<Vec<fhir::Resource>>,
    today: chrono::NaiveDate,
) -> anyhow::Result<()> {
    create_dir(dir)?;
    let by_type = fhir::bulk(people.into_iter().flatten());
    let mut output = Vec::new();
    for (resource_type, lines) in &by_type {
        let name = format!("{resource_type}.ndjson");
        write_file(&dir.join(&name), |out| {
            for line in lines {
                serde_json::to_writer(&mut *out, line)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        })?;
        output.push(serde_json::json!({"type": resource_type, "url": name, "count": lines.len()}));
    }
    let manifest = serde_json::json!({
        "transactionTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "asOf": today.to_string(),
        "request": "reentry-board export --format fhir --bulk",
        "requiresAccessToken": false,
        "output": output,
        "error": [],
    });
    write_file(&dir.join("manifest.json"), |out| {
        serde_json::to_writer_pretty(&mut *out, &manifest)?;
        out.write_all(b"\n")?;
        Ok(())
    })
}
