//! The small reference files: care-team directory, facilities and medication lists. Their
//! columns are fixed (documented in the README); they are checked in full, then upserted.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use chrono::NaiveDate;

use super::reader::{CsvFile, Problem, Row};
use super::{ImportError, Options, Problems};
use crate::cli::ImportKind;
use crate::domain::{Contact, ContactKind, Facility, FacilityKind, MedClass, SupplyStatus};
use crate::store::{Actor, MedicationEntry, Store, UpsertOutcome};

/// How a reference import went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryImport {
    pub problems: Problems,
    /// `None` when rows were rejected without `--skip-invalid`: nothing was done.
    pub outcome: Option<UpsertOutcome>,
    /// Lines for the user.
    pub summary: Vec<String>,
}

fn columns(kind: ImportKind) -> &'static [&'static str] {
    match kind {
        ImportKind::Directory => &["id", "name", "organisation", "phone", "kind"],
        ImportKind::Facilities => &["id", "name", "kind"],
        ImportKind::Medications | ImportKind::Roster => {
            &["booking_id", "name", "class", "lai", "next_dose", "supply"]
        }
    }
}

struct Fields<'a> {
    file: &'a CsvFile,
    row: &'a Row,
    index: HashMap<&'static str, usize>,
    problems: Vec<Problem>,
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> &'a str {
        self.index
            .get(name)
            .and_then(|&i| self.row.fields.get(i))
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn problem(&mut self, name: &str, message: String) {
        let i = self.index.get(name).copied().unwrap_or_default();
        self.problems.push(Problem {
            file: self.file.name.clone(),
            line: Some(self.row.line),
            column: Some((i + 1, name.to_string())),
            message,
        });
    }

    fn text(&mut self, name: &str) -> Option<String> {
        let v = self.get(name);
        if v.is_empty() {
            self.problem(name, format!("expected a {name}, found an empty field"));
            None
        } else {
            Some(v.to_string())
        }
    }

    fn code<T: FromStr>(&mut self, name: &str, codes: &[&str]) -> Option<T> {
        let v = self.get(name);
        match v
            .trim()
            .to_lowercase()
            .replace([' ', '-'], "_")
            .parse::<T>()
        {
            Ok(c) => Some(c),
            Err(_) => {
                self.problem(
                    name,
                    format!("expected one of {}, found \"{v}\"", codes.join(", ")),
                );
                None
            }
        }
    }
}

fn codes<T: Copy + Into<&'static str>>(all: impl Iterator<Item = T>) -> Vec<&'static str> {
    all.map(Into::into).collect()
}

/// Reads, checks and upserts one reference file.
pub fn import(
    store: &mut Store,
    actor: &Actor,
    path: &Path,
    kind: ImportKind,
    options: Options,
) -> Result<DirectoryImport, ImportError> {
    let mut file = CsvFile::open(path, b',', true).map_err(ImportError::File)?;
    let wanted: Vec<(&str, &str)> = columns(kind).iter().map(|c| (*c, *c)).collect();
    file.require(&wanted).map_err(ImportError::File)?;
    let index: HashMap<&'static str, usize> = columns(kind)
        .iter()
        .filter_map(|c| file.column(c).map(|i| (*c, i)))
        .collect();
    let mut problems = Problems::default();
    let mut contacts = Vec::new();
    let mut facilities = Vec::new();
    let mut medications = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut rows = 0_u64;
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
        let mut f = Fields {
            file: &file,
            row: &row,
            index: index.clone(),
            problems: Vec::new(),
        };
        let key = match kind {
            ImportKind::Directory => parse_contact(&mut f).map(|c| {
                let key = c.id.clone();
                contacts.push((row.line, c));
                key
            }),
            ImportKind::Facilities => parse_facility(&mut f).map(|x| {
                let key = x.id.clone();
                facilities.push((row.line, x));
                key
            }),
            ImportKind::Medications | ImportKind::Roster => parse_medication(&mut f).map(|m| {
                let key = format!("{} / {}", m.booking_id, m.name.to_lowercase());
                medications.push((row.line, m));
                key
            }),
        };
        if let Some(key) = key {
            if let Some(first) = first_line.get(&key) {
                f.problem(
                    columns(kind).first().copied().unwrap_or_default(),
                    format!("duplicate {key}, first on line {first}"),
                );
            } else {
                first_line.insert(key, row.line);
            }
        }
        if !f.problems.is_empty() {
            problems.rejected_rows += 1;
            let bad_line = row.line;
            f.problems.into_iter().for_each(|p| problems.push(p));
            contacts.retain(|(l, _)| *l != bad_line);
            facilities.retain(|(l, _)| *l != bad_line);
            medications.retain(|(l, _)| *l != bad_line);
        }
    }
    if rows == 0 {
        return Err(ImportError::File(Problem {
            file: file.name.clone(),
            line: None,
            column: None,
            message: "no rows after the header; nothing was imported".into(),
        }));
    }
    if kind == ImportKind::Medications {
        let unknown =
            store.unknown_bookings(medications.iter().map(|(_, m)| m.booking_id.as_str()))?;
        for (line, m) in &medications {
            if unknown.contains(&m.booking_id) {
                problems.rejected_rows += 1;
                problems.push(Problem {
                    file: file.name.clone(),
                    line: Some(*line),
                    column: index
                        .get("booking_id")
                        .map(|i| (i + 1, "booking_id".to_string())),
                    message: format!(
                        "expected a booking on the board, found \"{}\"",
                        m.booking_id
                    ),
                });
            }
        }
        medications.retain(|(_, m)| !unknown.contains(&m.booking_id));
        problems.listed.sort_by_key(|p| p.line);
    }
    if !problems.is_empty() && !options.skip_invalid {
        return Ok(DirectoryImport {
            problems,
            outcome: None,
            summary: Vec::new(),
        });
    }
    let outcome = match kind {
        ImportKind::Directory => {
            let list: Vec<Contact> = contacts.into_iter().map(|(_, c)| c).collect();
            store.import_contacts(actor, &list, options.dry_run)?
        }
        ImportKind::Facilities => {
            let list: Vec<Facility> = facilities.into_iter().map(|(_, f)| f).collect();
            store.import_facilities(actor, &list, options.dry_run)?
        }
        ImportKind::Medications | ImportKind::Roster => {
            let list: Vec<MedicationEntry> = medications.into_iter().map(|(_, m)| m).collect();
            store.import_medications(actor, &list, options.dry_run)?
        }
    };
    let mut summary = vec![
        format!("rows       {rows:>7}"),
        format!("new        {:>7}", outcome.new),
        format!("changed    {:>7}", outcome.changed),
        format!("unchanged  {:>7}", outcome.unchanged),
        format!("rejected   {:>7}", problems.rejected_rows),
    ];
    if !outcome.not_in_file.is_empty() {
        summary.push(format!(
            "not in the file (kept): {}",
            outcome.not_in_file.join(", ")
        ));
    }
    if !options.dry_run {
        summary.push(format!(
            "written: {} audit rows, {} events queued",
            outcome.audit_rows, outcome.events
        ));
    }
    Ok(DirectoryImport {
        problems,
        outcome: Some(outcome),
        summary,
    })
}

fn parse_contact(f: &mut Fields<'_>) -> Option<Contact> {
    let id = f.text("id");
    let name = f.text("name");
    let organisation = f.text("organisation");
    let phone = f.get("phone").to_string();
    let kind: Option<ContactKind> = f.code("kind", &codes(ContactKind::all()));
    Some(Contact {
        id: id?,
        name: name?,
        organisation: organisation?,
        phone,
        kind: kind?,
    })
}

fn parse_facility(f: &mut Fields<'_>) -> Option<Facility> {
    let id = f.text("id");
    let name = f.text("name");
    let kind: Option<FacilityKind> = f.code("kind", &codes(FacilityKind::all()));
    Some(Facility {
        id: id?,
        name: name?,
        kind: kind?,
    })
}

fn parse_medication(f: &mut Fields<'_>) -> Option<MedicationEntry> {
    let booking_id = f.text("booking_id");
    let name = f.text("name");
    let class: Option<MedClass> = f.code("class", &codes(MedClass::all()));
    let lai = match f.get("lai").to_lowercase().as_str() {
        "" | "n" | "no" | "false" | "0" => Some(false),
        "y" | "yes" | "true" | "1" => Some(true),
        other => {
            let other = other.to_string();
            f.problem("lai", format!("expected yes/no, found \"{other}\""));
            None
        }
    };
    let next_dose = match f.get("next_dose") {
        "" => Some(None),
        v => match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) => Some(Some(d)),
            Err(_) => {
                let v = v.to_string();
                f.problem(
                    "next_dose",
                    format!("expected a date like 2026-03-01, found \"{v}\""),
                );
                None
            }
        },
    };
    let supply: Option<SupplyStatus> = f.code("supply", &codes(SupplyStatus::all()));
    Some(MedicationEntry {
        booking_id: booking_id?,
        name: name?,
        class: class?,
        long_acting_injectable: lai?,
        next_dose: next_dose?,
        supply: supply?,
    })
}
