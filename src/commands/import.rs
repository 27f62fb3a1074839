//! `import`: a CSV file into the database, checked in full first.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::{ImportArgs, ImportKind};
use crate::domain::NameFormat;
use crate::import::{ImportError, Mapping, Options, RosterImport};

use super::{Context, actor, clock, db_path, open_store};

pub fn run(ctx: &Context, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let path = db_path(ctx, &args.db)?;
    let clock: std::sync::Arc<dyn crate::clock::Clock> = match args.as_of {
        Some(today) => std::sync::Arc::new(crate::clock::AsOfDayClock { today }),
        None => clock(None),
    };
    let mut store = open_store(ctx, &path, clock.clone())?;
    let actor = actor(&store)?;
    let options = Options {
        dry_run: args.dry_run,
        skip_invalid: args.skip_invalid,
    };
    match args.kind {
        ImportKind::Roster => {
            let mapping = match &args.map {
                Some(m) => Mapping::load(m)?,
                None => Mapping::default(),
            };
            let result = crate::import::import_roster(
                &mut store,
                &actor,
                &args.file,
                &mapping,
                options,
                clock.today(),
            );
            match result {
                Ok(report) => print_roster(&report, options),
                Err(ImportError::File(p)) => anyhow::bail!("{p}"),
                Err(ImportError::Store(e)) => Err(e.into()),
            }
        }
        kind => crate::commands::import::directory(&mut store, &actor, args, kind, options),
    }
}

fn directory(
    store: &mut crate::store::Store,
    actor: &crate::store::Actor,
    args: &ImportArgs,
    kind: ImportKind,
    options: Options,
) -> anyhow::Result<ExitCode> {
    let report = crate::import::directory::import(store, actor, &args.file, kind, options)?;
    print_problems(&report.problems);
    if report.outcome.is_none() {
        return rejected(&report.problems);
    }
    let w = &mut std::io::stdout().lock();
    for line in &report.summary {
        writeln!(w, "{line}")?;
    }
    if options.dry_run {
        writeln!(w, "dry run: nothing was changed")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_problems(problems: &crate::import::Problems) {
    for p in &problems.listed {
        eprintln!("{p}");
    }
    if problems.more > 0 {
        eprintln!("... and {} more problems", problems.more);
    }
}

fn rejected(problems: &crate::import::Problems) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "nothing imported: {} {} rejected; fix the file, or pass --skip-invalid to import the other rows",
        problems.rejected_rows,
        if problems.rejected_rows == 1 {
            "row"
        } else {
            "rows"
        }
    )
}

fn print_roster(report: &RosterImport, options: Options) -> anyhow::Result<ExitCode> {
    let w = &mut std::io::stdout().lock();
    let Some(out) = &report.outcome else {
        print_problems(&report.problems);
        return rejected(&report.problems);
    };
    let rejected_rows = !report.problems.is_empty();
    if rejected_rows && !options.skip_invalid {
        print_problems(&report.problems);
    } else if rejected_rows {
        eprintln!(
            "skipped {} invalid {}:",
            report.problems.rejected_rows,
            if report.problems.rejected_rows == 1 {
                "row"
            } else {
                "rows"
            }
        );
        print_problems(&report.problems);
    }
    writeln!(w, "rows       {:>7}", report.rows)?;
    writeln!(w, "new        {:>7}", out.new)?;
    writeln!(
        w,
        "changed    {:>7}  (release date {}, details {}, back on the roster {}, released or transferred {})",
        out.changed, out.release_changed, out.details_changed, out.returned, out.released
    )?;
    if out.release_kept > 0 {
        writeln!(
            w,
            "kept       {:>7}  release dates set by hand that the feed has not changed (court order, credits)",
            out.release_kept
        )?;
    }
    writeln!(w, "unchanged  {:>7}", out.unchanged)?;
    writeln!(
        w,
        "missing    {:>7}  left the roster — released or transferred? ({} newly)",
        out.missing, out.newly_left
    )?;
    writeln!(w, "rejected   {:>7}", report.problems.rejected_rows)?;
    if !out.changes.is_empty() {
        writeln!(w)?;
        writeln!(w, "changes:")?;
        for c in &out.changes {
            writeln!(w, "  line {:<6} {:<14} {}", c.line, c.booking_id, c.what)?;
        }
        let listed = out.changes.len() as u64;
        let total = out.new + out.changed;
        if total > listed {
            writeln!(w, "  ... and {} more", total - listed)?;
        }
    }
    if !out.left.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "left the roster — released or transferred? confirm with `reentry-board roster confirm BOOKING released|transferred`:"
        )?;
        for l in &out.left {
            writeln!(
                w,
                "  {:<14} {:<24} {:<12} expected {}{}",
                l.booking_id,
                l.name.formatted(NameFormat::LastInitial),
                l.unit,
                l.release_date
                    .map_or_else(|| "unknown".to_string(), |d| d.to_string()),
                if l.already_marked {
                    "  (already listed)"
                } else {
                    ""
                }
            )?;
        }
        if out.missing > out.left.len() as u64 {
            writeln!(
                w,
                "  ... and {} more (`reentry-board roster left`)",
                out.missing - out.left.len() as u64
            )?;
        }
    }
    if options.dry_run {
        writeln!(w)?;
        writeln!(w, "dry run: nothing was changed")?;
        if rejected_rows && !options.skip_invalid {
            anyhow::bail!(
                "dry run: {} {} rejected; a real import would import nothing unless --skip-invalid is given",
                report.problems.rejected_rows,
                if report.problems.rejected_rows == 1 {
                    "row"
                } else {
                    "rows"
                }
            );
        }
    } else {
        writeln!(w)?;
        writeln!(
            w,
            "written: {} audit rows, {} events queued",
            out.audit_rows, out.events
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
