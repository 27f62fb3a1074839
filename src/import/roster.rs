//! One roster row, checked field by field into a [`RosterEntry`]; every problem names its column
//! and says what was expected.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDate;

use super::mapping::{Mapping, example_date};
use super::reader::{CsvFile, Problem, Row};
use crate::domain::{Certainty, CustodyStatus, Facility, FacilityKind, PersonName, ReleaseType};
use crate::store::{FeedFields, RosterEntry};

/// Release dates further away than this are typing mistakes (as in the edit dialogs).
const MAX_YEARS_AHEAD: i64 = 10;

/// Where each mapped field sits in the file; `None` for optional fields the mapping leaves out.
#[derive(Debug, Clone)]
pub struct Layout {
    booking_id: usize,
    last_name: usize,
    first_name: usize,
    dob: Option<usize>,
    facility: usize,
    unit: usize,
    booked_on: Option<usize>,
    release_date: Option<usize>,
    certainty: Option<usize>,
    release_type: Option<usize>,
    custody: Option<usize>,
    youth: Option<usize>,
}

impl Layout {
    /// Finds the mapped columns in the header; a mapped column the header lacks is an error
    /// (a mapping that names it expects it).
    pub fn find(file: &CsvFile, mapping: &Mapping) -> Result<Self, Problem> {
        let c = &mapping.columns;
        let wanted: Vec<(&str, &str)> = c
            .fields()
            .into_iter()
            .filter(|(_, column, _)| !column.trim().is_empty())
            .map(|(field, column, _)| (field, column))
            .collect();
        let optional = |column: &str| {
            if column.trim().is_empty() {
                None
            } else {
                file.column(column)
            }
        };
        // Optional columns of the default mapping may be absent; explicitly mapped ones not.
        let defaults = super::mapping::Columns::default();
        let required: Vec<(&str, &str)> = wanted
            .into_iter()
            .filter(|(field, column)| {
                let default = defaults
                    .fields()
                    .into_iter()
                    .find(|(f, _, _)| f == field)
                    .map(|(_, col, req)| (col.to_string(), req));
                match default {
                    Some((col, req)) => req || col != *column,
                    None => true,
                }
            })
            .collect();
        file.require(&required)?;
        let must = |column: &str| file.column(column).unwrap_or(0);
        Ok(Self {
            booking_id: must(&c.booking_id),
            last_name: must(&c.last_name),
            first_name: must(&c.first_name),
            dob: optional(&c.dob),
            facility: must(&c.facility),
            unit: must(&c.unit),
            booked_on: optional(&c.booked_on),
            release_date: optional(&c.release_date),
            certainty: optional(&c.certainty),
            release_type: optional(&c.release_type),
            custody: optional(&c.custody),
            youth: optional(&c.youth),
        })
    }

    pub fn fields(&self) -> FeedFields {
        FeedFields {
            date_of_birth: self.dob.is_some(),
            booked_on: self.booked_on.is_some(),
            release: self.release_date.is_some(),
            release_type: self.release_type.is_some(),
            youth: self.youth.is_some(),
            custody: self.custody.is_some(),
        }
    }
}

/// What a row parsed into: the booking id when there is one (so a rejected row still counts as
/// present in the feed), the entry when every field is right, and the problems otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub booking_id: Option<String>,
    pub entry: Option<RosterEntry>,
    pub problems: Vec<Problem>,
}

/// Facilities by id and by name (lower case), for the feed's facility column.
pub struct Facilities(HashMap<String, Facility>);

impl Facilities {
    pub fn new(list: Vec<Facility>) -> Self {
        let mut map = HashMap::new();
        for f in list {
            map.insert(f.name.to_lowercase(), f.clone());
            map.insert(f.id.to_lowercase(), f);
        }
        Self(map)
    }

    fn find(&self, value: &str) -> Option<&Facility> {
        self.0.get(&value.to_lowercase())
    }

    fn ids(&self) -> String {
        let mut ids: Vec<&str> = self.0.values().map(|f| f.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.join(", ")
    }
}

struct Cell<'a> {
    file: &'a CsvFile,
    row: &'a Row,
    problems: Vec<Problem>,
}

impl<'a> Cell<'a> {
    fn value(&self, index: usize) -> &'a str {
        self.row
            .fields
            .get(index)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn problem(&mut self, index: usize, message: String) {
        self.problems.push(Problem {
            file: self.file.name.clone(),
            line: Some(self.row.line),
            column: Some((
                index + 1,
                self.file.header.get(index).cloned().unwrap_or_default(),
            )),
            message,
        });
    }

    fn required(&mut self, index: usize, what: &str) -> Option<&'a str> {
        let v = self.value(index);
        if v.is_empty() {
            self.problem(index, format!("expected {what}, found an empty field"));
            None
        } else {
            Some(v)
        }
    }

    fn date(&mut self, index: Option<usize>, format: &str) -> Option<NaiveDate> {
        let index = index?;
        let v = self.value(index);
        if v.is_empty() {
            return None;
        }
        match NaiveDate::parse_from_str(v, format) {
            Ok(d) => Some(d),
            Err(e) => {
                let why = if e.kind() == chrono::format::ParseErrorKind::OutOfRange {
                    " (no such day)"
                } else {
                    ""
                };
                self.problem(
                    index,
                    format!(
                        "expected a date like {} (date_format {format}), found \"{v}\"{why}",
                        example_date(format)
                    ),
                );
                None
            }
        }
    }

    /// A coded value: the mapping's own word, the code (`sentence_end`) or the label
    /// ("sentence end"), in any case.
    fn code<T>(&mut self, index: usize, field: &str, mapping: &Mapping, all: &[T]) -> Option<T>
    where
        T: FromStr + Copy + std::fmt::Display,
        T: Labelled,
    {
        let raw = self.value(index);
        let word = mapping.translate(field, raw);
        let norm = word.trim().to_lowercase().replace([' ', '-', '/'], "_");
        if let Ok(v) = norm.parse::<T>() {
            return Some(v);
        }
        if let Some(v) = all
            .iter()
            .find(|v| v.label().eq_ignore_ascii_case(word.trim()))
        {
            return Some(*v);
        }
        let codes: Vec<String> = all.iter().map(ToString::to_string).collect();
        self.problem(
            index,
            format!(
                "expected one of {} (or a [values.{field}] entry in the mapping), found \"{raw}\"",
                codes.join(", ")
            ),
        );
        None
    }
}

/// The human label of a code enum, for matching feeds that write words.
pub trait Labelled {
    fn label(&self) -> &'static str;
}

impl Labelled for Certainty {
    fn label(&self) -> &'static str {
        Certainty::label(*self)
    }
}
impl Labelled for ReleaseType {
    fn label(&self) -> &'static str {
        ReleaseType::label(*self)
    }
}
impl Labelled for CustodyStatus {
    fn label(&self) -> &'static str {
        CustodyStatus::label(*self)
    }
}

fn flag(raw: &str) -> Option<bool> {
    match raw.trim().to_lowercase().as_str() {
        "y" | "yes" | "true" | "1" | "x" => Some(true),
        "" | "n" | "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Checks one row. `today` bounds release dates (a typo of the year is caught here).
pub fn parse(
    file: &CsvFile,
    row: &Row,
    layout: &Layout,
    mapping: &Mapping,
    facilities: &Facilities,
    today: NaiveDate,
) -> Parsed {
    let mut c = Cell {
        file,
        row,
        problems: Vec::new(),
    };
    let format = mapping.date_format.as_str();
    let booking_id = c
        .required(layout.booking_id, "a booking id")
        .map(str::to_string);
    let last = c.required(layout.last_name, "a last name");
    let first = c.value(layout.first_name);
    let dob = c.date(layout.dob, format);
    if let (Some(d), Some(i)) = (dob, layout.dob) {
        if d > today {
            c.problem(i, format!("date of birth {d} is in the future"));
        }
    }
    let facility = c
        .required(layout.facility, "a facility id or name")
        .and_then(|v| {
            let found = facilities.find(v).cloned();
            if found.is_none() {
                let known = facilities.ids();
                c.problem(
                    layout.facility,
                    format!("expected a known facility ({known}), found \"{v}\""),
                );
            }
            found
        });
    let unit = c.required(layout.unit, "a housing unit");
    let booked_on = c.date(layout.booked_on, format);
    let release_date = c.date(layout.release_date, format);
    if let (Some(d), Some(i)) = (release_date, layout.release_date) {
        if (d - today).num_days().abs() > MAX_YEARS_AHEAD * 366 {
            c.problem(
                i,
                format!(
                    "release date {d} is more than {MAX_YEARS_AHEAD} years away; check the year"
                ),
            );
        }
    }
    let all_certainty: Vec<Certainty> = Certainty::all().collect();
    let certainty = match layout.certainty {
        Some(i) if !c.value(i).is_empty() => c.code(i, "certainty", mapping, &all_certainty),
        _ if release_date.is_none() => Some(Certainty::Unknown),
        _ => mapping
            .default_certainty
            .parse()
            .ok()
            .or(Some(Certainty::Projected)),
    };
    if let (Some(i), Some(cert)) = (layout.certainty, certainty) {
        if release_date.is_some() && cert == Certainty::Unknown {
            c.problem(i, "a release date with certainty \"unknown\"; give confirmed, projected or estimated, or leave the date empty".into());
        }
        let date_empty = layout.release_date.is_some_and(|i| c.value(i).is_empty());
        if date_empty && cert != Certainty::Unknown {
            c.problem(
                i,
                format!("certainty \"{cert}\" needs a release date, and the date is empty"),
            );
        }
    }
    let all_types: Vec<ReleaseType> = ReleaseType::all().collect();
    let release_type = match layout.release_type {
        Some(i) if !c.value(i).is_empty() => {
            c.code(i, "release_type", mapping, &all_types).map(Some)
        }
        _ => Some(None),
    };
    let custody_codes = [
        CustodyStatus::InCustody,
        CustodyStatus::Released,
        CustodyStatus::Transferred,
    ];
    let custody = match layout.custody {
        Some(i) if !c.value(i).is_empty() => c.code(i, "custody", mapping, &custody_codes),
        _ => Some(CustodyStatus::InCustody),
    };
    if let (Some(i), Some(CustodyStatus::LeftRoster)) = (layout.custody, custody) {
        c.problem(
            i,
            "expected in_custody, released or transferred, found \"left_roster\"".into(),
        );
    }
    let youth = match layout.youth {
        Some(i) => {
            let raw = c.value(i);
            let word = mapping.translate("youth", raw);
            match flag(word) {
                Some(y) => Some(y),
                None => {
                    c.problem(
                        i,
                        format!(
                            "expected yes/no (y, n, true, false, 1, 0 or empty), found \"{raw}\""
                        ),
                    );
                    None
                }
            }
        }
        None => Some(false),
    };

    let problems = c.problems;
    let entry = match (
        &booking_id,
        last,
        facility,
        unit,
        certainty,
        release_type,
        custody,
        youth,
    ) {
        (
            Some(id),
            Some(last),
            Some(facility),
            Some(unit),
            Some(certainty),
            Some(kind),
            Some(custody),
            Some(youth),
        ) if problems.is_empty() => Some(RosterEntry {
            booking_id: id.clone(),
            name: PersonName::new(last, first),
            date_of_birth: dob,
            youth: youth || facility.kind == FacilityKind::YouthFacility,
            facility_id: facility.id,
            unit: unit.to_string(),
            booked_on,
            release_date,
            certainty,
            release_type: kind,
            custody,
        }),
        _ => None,
    };
    Parsed {
        booking_id,
        entry,
        problems,
    }
}
