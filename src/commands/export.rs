//! `export`: the board as computed for a day, to stdout, with the board's filters.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::{ExportArgs, ExportFormat, FilterArgs};
use crate::domain::filter::{Filter, fold};
use crate::domain::{BoardRow, board};
use crate::export::{rows, write_csv, write_csv_excel, write_json};

use super::{Context, clock, db_path, open_to_read};

/// The board's filter from the flags, and the same in words for the packet's heading.
fn filter(args: &FilterArgs) -> anyhow::Result<(Filter, Vec<String>)> {
    let band = args.band;
    let mut words = Vec::new();
    let mut say = |label: &str, v: &Option<String>| {
        if let Some(v) = v {
            words.push(format!("{label} {v}"));
        }
    };
    say("facility", &args.facility);
    say("unit", &args.unit);
    say("care manager", &args.care_manager);
    say("band", &band.map(|b| b.label().to_string()));
    say("search", &args.search);
    if args.at_risk {
        words.push("at risk only".into());
    }
    let f = Filter {
        search: args.search.as_deref().map(fold).unwrap_or_default(),
        facility: args.facility.clone(),
        unit: args.unit.clone(),
        care_manager: args.care_manager.clone(),
        band,
        at_risk_only: args.at_risk,
        my_work: None,
    };
    Ok((f, words))
}

pub fn run(ctx: &Context, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    if args.excel && args.format != ExportFormat::Csv {
        anyhow::bail!("--excel goes with --format csv");
    }
    if args.format != ExportFormat::Fhir && (args.bulk || args.out.is_some()) {
        anyhow::bail!("--bulk and --out go with --format fhir");
    }
    let (filter, words) = filter(&args.filter)?;
    if args.format == ExportFormat::Fhir {
        return super::export_fhir::run(ctx, args, &filter);
    }
    let path = db_path(ctx, &args.db)?;
    let clock = clock(args.as_of);
    let store = open_to_read(ctx, &path, clock.clone())?;
    let today = clock.today();
    let rules = &ctx.config.rules;
    let board: Vec<BoardRow> = board::build(store.load_records()?, today, rules)
        .into_iter()
        .filter(|row| filter.matches(row, rules))
        .collect();
    // Stdout is line-buffered: pretty JSON of 100,000 people would be millions of writes.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match args.format {
        ExportFormat::Json => write_json(&mut out, today, rows(&board, ctx.config.name_format))?,
        ExportFormat::Csv if args.excel => {
            write_csv_excel(&mut out, &rows(&board, ctx.config.name_format))?;
        }
        ExportFormat::Csv => write_csv(&mut out, &rows(&board, ctx.config.name_format))?,
        // Handled above: FHIR covers released people too, so it does not start from the board.
        ExportFormat::Fhir => {}
        ExportFormat::Md => crate::packet::write(
            &mut out,
            &crate::packet::Heading {
                facility_name: &ctx.config.facility_name,
                as_of: today,
                filters: words,
                full: args.full,
                name_format: ctx.config.name_format,
            },
            &board,
        )?,
    }
    out.flush()?;
    tracing::info!(people = board.len(), "exported");
    Ok(ExitCode::SUCCESS)
}
