//! The mapping file: which column of the jail's CSV holds which roster field, the delimiter and
//! the date format. Every jail management system names its columns differently.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::toml_util::line_of;

/// The roster fields a feed can carry. `booking_id`, `last_name`, `first_name`, `facility` and
/// `unit` are required; the others may be left out of the mapping (`""`) when a feed lacks them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Columns {
    pub booking_id: String,
    pub last_name: String,
    pub first_name: String,
    pub dob: String,
    pub facility: String,
    pub unit: String,
    pub booked_on: String,
    pub release_date: String,
    pub certainty: String,
    pub release_type: String,
    pub custody: String,
    pub youth: String,
}

impl Default for Columns {
    fn default() -> Self {
        Self {
            booking_id: "booking_id".into(),
            last_name: "last_name".into(),
            first_name: "first_name".into(),
            dob: "dob".into(),
            facility: "facility".into(),
            unit: "unit".into(),
            booked_on: "booked_on".into(),
            release_date: "release_date".into(),
            certainty: "certainty".into(),
            release_type: "release_type".into(),
            custody: "custody".into(),
            youth: "youth".into(),
        }
    }
}

impl Columns {
    /// (field, column name, required) in the order the README lists them.
    pub fn fields(&self) -> [(&'static str, &str, bool); 12] {
        [
            ("booking_id", &self.booking_id, true),
            ("last_name", &self.last_name, true),
            ("first_name", &self.first_name, true),
            ("dob", &self.dob, false),
            ("facility", &self.facility, true),
            ("unit", &self.unit, true),
            ("booked_on", &self.booked_on, false),
            ("release_date", &self.release_date, false),
            ("certainty", &self.certainty, false),
            ("release_type", &self.release_type, false),
            ("custody", &self.custody, false),
            ("youth", &self.youth, false),
        ]
    }
}

/// A roster mapping (`--map FILE.toml`); every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mapping {
    /// One character: `,` (default), `;`, `|`, or `\t` for tabs.
    pub delimiter: String,
    /// chrono `strftime` format of every date column, e.g. `%m/%d/%Y`.
    pub date_format: String,
    /// The file's character encoding: `utf-8` (default), `windows-1252` (what Windows programs
    /// write as "ANSI"), `iso-8859-1`, `utf-16le` or any WHATWG encoding label.
    pub encoding: String,
    /// Certainty when the feed gives a date but no certainty.
    pub default_certainty: String,
    pub columns: Columns,
    /// The feed's own words for coded fields, e.g. `[values.certainty] PROJ = "projected"`.
    /// Keys: `certainty`, `release_type`, `custody`, `youth`.
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            delimiter: ",".into(),
            date_format: "%Y-%m-%d".into(),
            encoding: "utf-8".into(),
            default_certainty: "projected".into(),
            columns: Columns::default(),
            values: BTreeMap::new(),
        }
    }
}

/// A mapping-file problem: `mapping.toml:3: delimiter: ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct MappingError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

const VALUE_KEYS: [&str; 4] = ["certainty", "release_type", "custody", "youth"];

impl Mapping {
    pub fn load(path: &Path) -> Result<Self, MappingError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| MappingError {
            file: file.clone(),
            line: None,
            message: format!("cannot read the mapping file: {e}"),
        })?;
        Self::parse(&text, &file)
    }

    pub fn parse(text: &str, file: &str) -> Result<Self, MappingError> {
        let err = |line: Option<usize>, message: String| MappingError {
            file: file.to_string(),
            line,
            message,
        };
        let mapping: Self = toml::from_str(text).map_err(|e| {
            err(
                e.span().map(|s| line_of(text, s.start)),
                e.message().trim().to_string(),
            )
        })?;
        let key_line = |table: &str, key: &str| crate::toml_util::find_key_line(text, table, key);
        mapping
            .delimiter_byte()
            .map_err(|m| err(key_line("", "delimiter"), m))?;
        mapping
            .encoding()
            .map_err(|m| err(key_line("", "encoding"), m))?;
        // A format that cannot print a date cannot parse one either.
        if !date_format_ok(&mapping.date_format) {
            return Err(err(
                key_line("", "date_format"),
                format!(
                    "date_format `{}` is not a chrono date format such as %Y-%m-%d or %m/%d/%Y",
                    mapping.date_format
                ),
            ));
        }
        for key in mapping.values.keys() {
            if !VALUE_KEYS.contains(&key.as_str()) {
                return Err(err(
                    None,
                    format!(
                        "[values.{key}]: no such field; value tables exist for {}",
                        VALUE_KEYS.join(", ")
                    ),
                ));
            }
        }
        let empty_required = mapping
            .columns
            .fields()
            .into_iter()
            .find(|(_, column, required)| *required && column.trim().is_empty())
            .map(|(field, _, _)| field);
        if let Some(field) = empty_required {
            return Err(err(
                key_line("columns", field),
                format!("columns.{field} is required and may not be empty"),
            ));
        }
        Ok(mapping)
    }

    pub fn delimiter_byte(&self) -> Result<u8, String> {
        match self.delimiter.as_str() {
            "\\t" | "\t" | "tab" => Ok(b'\t'),
            d if d.len() == 1 && d.is_ascii() => Ok(d.as_bytes()[0]),
            d => Err(format!(
                "delimiter `{d}` must be a single ASCII character such as \",\", \";\", \"|\" or \"\\t\""
            )),
        }
    }

    /// The encoding named by `encoding` (WHATWG labels: `latin1` is windows-1252, as browsers
    /// and Excel treat it).
    pub fn encoding(&self) -> Result<&'static encoding_rs::Encoding, String> {
        encoding_rs::Encoding::for_label(self.encoding.trim().as_bytes()).ok_or_else(|| {
            format!(
                "encoding `{}` is not a known character encoding (e.g. \"utf-8\", \
                 \"windows-1252\", \"iso-8859-1\", \"utf-16le\")",
                self.encoding
            )
        })
    }

    /// The feed's word for a coded field, translated through `[values.<field>]` when listed.
    pub fn translate<'a>(&'a self, field: &str, raw: &'a str) -> &'a str {
        self.values
            .get(field)
            .and_then(|m| {
                m.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(raw))
                    .map(|(_, v)| v.as_str())
            })
            .unwrap_or(raw)
    }
}

fn date_format_ok(format: &str) -> bool {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    !items.is_empty() && !items.iter().any(|i| matches!(i, Item::Error))
}

/// A date like `2026-03-01` written in `format`, for messages that say what was expected.
pub fn example_date(format: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
    if write!(out, "{}", day.format(format)).is_err() {
        return format.to_string();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let m = Mapping::parse("", "m.toml").unwrap_or_default();
        assert_eq!(m, Mapping::default());
        let m = Mapping::parse(
            "delimiter = \";\"\ndate_format = \"%m/%d/%Y\"\n[columns]\nbooking_id = \"BookingNo\"\n[values.certainty]\nPROJ = \"projected\"\n",
            "m.toml",
        );
        let m = m.unwrap_or_default();
        assert_eq!(m.delimiter_byte(), Ok(b';'));
        assert_eq!(m.columns.booking_id, "BookingNo");
        assert_eq!(m.translate("certainty", "proj"), "projected");
        assert_eq!(example_date(&m.date_format), "03/01/2026");
    }

    #[test]
    fn errors_name_the_line() {
        let e = Mapping::parse("date_format = \"%Y-%m-%d\"\ndelimiter = \";;\"\n", "m.toml");
        assert!(
            matches!(&e, Err(e) if e.to_string().starts_with("m.toml:2: delimiter")),
            "{e:?}"
        );
        let e = Mapping::parse("[columns]\nbooking = \"x\"\n", "m.toml");
        assert!(
            matches!(&e, Err(e) if e.to_string().starts_with("m.toml:2:")),
            "{e:?}"
        );
        let e = Mapping::parse("[columns]\nunit = \"\"\n", "m.toml");
        assert!(
            matches!(&e, Err(e) if e.to_string().contains("columns.unit is required")),
            "{e:?}"
        );
        let e = Mapping::parse("date_format = \"%Q\"\n", "m.toml");
        assert!(e.is_err());
    }
}
