//! `export --format fhir`: everyone the database holds (released and transferred people too, a
//! plan needs to hear that someone left) as FHIR R4, filtered like the board. Written person by
//! person, so memory holds the records and one person's resources, not the whole export.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::ExportArgs;
use crate::domain::filter::Filter;
use crate::domain::{BoardRow, readiness};
use crate::fhir::{self, Options, Resource};

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
    let mut sink = match (&args.out, args.bulk) {
        (Some(dir), true) => Sink::Bulk(Bulk::new(dir)?),
        (Some(dir), false) => {
            create_dir(dir)?;
            Sink::Files(dir.clone())
        }
        (None, _) => Sink::Stdout(BufWriter::with_capacity(1 << 16, std::io::stdout().lock())),
    };
    let mut count = 0;
    for record in records {
        let row = BoardRow {
            readiness: readiness(&record, today, rules),
            record,
        };
        if filter.matches(&row, rules) {
            sink.person(&fhir::person_resources(&row.record, &options))?;
            count += 1;
        }
    }
    sink.finish(today)?;
    tracing::info!(people = count, "exported as FHIR");
    Ok(ExitCode::SUCCESS)
}

enum Sink<'a> {
    /// One transaction Bundle a line.
    Stdout(BufWriter<std::io::StdoutLock<'a>>),
    /// One `<Patient id>.json` per person: the id is opaque, so a file name tells nothing.
    Files(PathBuf),
    Bulk(Bulk),
}

impl Sink<'_> {
    fn person(&mut self, resources: &[Resource]) -> anyhow::Result<()> {
        match self {
            Self::Stdout(out) => {
                serde_json::to_writer(&mut *out, &fhir::transaction(resources))?;
                out.write_all(b"\n")?;
            }
            Self::Files(dir) => {
                let Some(patient) = resources.iter().find(|r| r.resource_type == "Patient") else {
                    return Ok(());
                };
                let path = dir.join(format!("{}.json", patient.id));
                let mut out = create_file(&path)?;
                serde_json::to_writer_pretty(&mut out, &fhir::transaction(resources))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                out.write_all(b"\n")
                    .and_then(|()| out.flush())
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            Self::Bulk(bulk) => bulk.person(resources)?,
        }
        Ok(())
    }

    fn finish(self, today: chrono::NaiveDate) -> anyhow::Result<()> {
        match self {
            Self::Stdout(mut out) => Ok(out.flush()?),
            Self::Files(_) => Ok(()),
            Self::Bulk(bulk) => bulk.finish(today),
        }
    }
}

/// `Type.ndjson` per resource type, each resource once (a facility or a care manager is shared
/// by many people), and a manifest shaped like Bulk Data's `$export` answer.
struct Bulk {
    dir: PathBuf,
    files: BTreeMap<&'static str, (BufWriter<File>, usize)>,
    seen: HashSet<String>,
}

impl Bulk {
    fn new(dir: &Path) -> anyhow::Result<Self> {
        create_dir(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            files: BTreeMap::new(),
            seen: HashSet::new(),
        })
    }

    fn person(&mut self, resources: &[Resource]) -> anyhow::Result<()> {
        for r in resources {
            if !self.seen.insert(r.reference()) {
                continue;
            }
            let (out, count) = match self.files.entry(r.resource_type) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let path = self.dir.join(format!("{}.ndjson", r.resource_type));
                    e.insert((create_file(&path)?, 0))
                }
            };
            serde_json::to_writer(&mut *out, &r.body)?;
            out.write_all(b"\n")?;
            *count += 1;
        }
        Ok(())
    }

    fn finish(self, today: chrono::NaiveDate) -> anyhow::Result<()> {
        let mut output = Vec::new();
        for (resource_type, (mut out, count)) in self.files {
            let name = format!("{resource_type}.ndjson");
            out.flush()
                .with_context(|| format!("cannot write {}", self.dir.join(&name).display()))?;
            output.push(serde_json::json!({"type": resource_type, "url": name, "count": count}));
        }
        let manifest = serde_json::json!({
            "transactionTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "asOf": today.to_string(),
            "request": "reentry-board export --format fhir --bulk",
            "requiresAccessToken": false,
            "output": output,
            "error": [],
        });
        let path = self.dir.join("manifest.json");
        let mut out = create_file(&path)?;
        serde_json::to_writer_pretty(&mut out, &manifest)
            .with_context(|| format!("cannot write {}", path.display()))?;
        out.write_all(b"\n")
            .and_then(|()| out.flush())
            .with_context(|| format!("cannot write {}", path.display()))
    }
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

fn create_file(path: &Path) -> anyhow::Result<BufWriter<File>> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 16, file))
}
