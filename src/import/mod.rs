//! Importing CSV files from other systems: the jail's roster, the care-manager directory, the
//! facility list and medication lists. Every file is checked in full before anything is written;
//! one rejected row means nothing is imported unless the user asks to skip invalid rows.

pub mod directory;
pub mod mapping;
pub mod reader;
pub mod roster;

use std::path::Path;

use chrono::NaiveDate;

pub use mapping::{Mapping, MappingError};
pub use reader::{CsvFile, Problem};

use crate::store::{Actor, RosterOutcome, Store};

/// Problems kept for the listing; beyond this they are only counted, so a file where every row
/// is wrong still takes little memory.
pub const PROBLEM_LIMIT: usize = 1000;

/// The problems of a file: the first [`PROBLEM_LIMIT`] in line order, and how many rows had any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    pub listed: Vec<Problem>,
    pub more: u64,
    pub rejected_rows: u64,
}

impl Problems {
    pub fn push(&mut self, p: Problem) {
        if self.listed.len() < PROBLEM_LIMIT {
            self.listed.push(p);
        } else {
            self.more += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rejected_rows == 0
    }
}

/// How an import went: the file's problems and what was (or, dry run, would be) changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterImport {
    pub rows: u64,
    pub problems: Problems,
    /// `None` when rows were rejected and `--skip-invalid` was not given: nothing was done.
    pub outcome: Option<RosterOutcome>,
}

/// Options of one roster import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub dry_run: bool,
    pub skip_invalid: bool,
}

/// A problem that stops the whole file before any row is read (no file, empty, wrong header).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    File(Problem),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Reads, checks and stages the roster file, then applies it (or, dry run, only compares).
pub fn import_roster(
    store: &mut Store,
    actor: &Actor,
    path: &Path,
    mapping: &Mapping,
    options: Options,
    today: NaiveDate,
) -> Result<RosterImport, ImportError> {
    let delimiter = mapping
        .delimiter_byte()
        .map_err(|m| ImportError::File(file_problem(path, m)))?;
    let encoding = mapping
        .encoding()
        .map_err(|m| ImportError::File(file_problem(path, m)))?;
    let mut file =
        CsvFile::open_decoded(path, delimiter, false, encoding).map_err(ImportError::File)?;
    let layout = roster::Layout::find(&file, mapping).map_err(ImportError::File)?;
    let facilities = roster::Facilities::new(store.facilities()?);
    let mut problems = Problems::default();
    let mut rows = 0_u64;
    {
        let mut stage = store.roster_stage()?;
        while let Some(next) = file.next_row() {
            rows += 1;
            let row = match next {
                Ok(row) => row,
                Err(p) => {
                    problems.rejected_rows += 1;
                    problems.push(p);
                    continue;
                }
            };
            let parsed = roster::parse(&file, &row, &layout, mapping, &facilities, today);
            let mut row_problems = parsed.problems;
            if let Some(id) = &parsed.booking_id {
                if let Some(first) = stage.add(row.line, id, parsed.entry.as_ref())? {
                    row_problems.push(Problem {
                        file: file.name.clone(),
                        line: Some(row.line),
                        column: Some((
                            layout_column(&file, &mapping.columns.booking_id),
                            mapping.columns.booking_id.clone(),
                        )),
                        message: format!(
                            "duplicate booking id {id}, first on line {first}; neither row is imported"
                        ),
                    });
                }
            }
            if !row_problems.is_empty() {
                problems.rejected_rows += 1;
                row_problems.into_iter().for_each(|p| problems.push(p));
            }
        }
        for (line, id, repeat) in stage.finish()? {
            problems.rejected_rows += 1;
            problems.push(Problem {
                file: file.name.clone(),
                line: Some(line),
                column: Some((
                    layout_column(&file, &mapping.columns.booking_id),
                    mapping.columns.booking_id.clone(),
                )),
                message: format!(
                    "booking id {id} appears again on line {repeat}; neither row is imported"
                ),
            });
        }
    }
    problems.listed.sort_by_key(|p| p.line);
    if rows == 0 {
        return Err(ImportError::File(Problem {
            file: file.name.clone(),
            line: None,
            column: None,
            message: "no rows after the header; an empty roster would mark everyone as gone, so nothing was imported".into(),
        }));
    }
    // A dry run goes on to show what the valid rows would do; the caller still reports failure.
    if !problems.is_empty() && !options.skip_invalid && !options.dry_run {
        return Ok(RosterImport {
            rows,
            problems,
            outcome: None,
        });
    }
    let source_name = path
        .file_name()
        .map_or_else(|| file.name.clone(), |n| n.to_string_lossy().into_owned());
    let outcome = store.roster_apply(actor, layout.fields(), &source_name, options.dry_run)?;
    Ok(RosterImport {
        rows,
        problems,
        outcome: Some(outcome),
    })
}

fn layout_column(file: &CsvFile, name: &str) -> usize {
    file.column(name).map_or(0, |i| i + 1)
}

fn file_problem(path: &Path, message: String) -> Problem {
    Problem {
        file: path.display().to_string(),
        line: None,
        column: None,
        message,
    }
}
