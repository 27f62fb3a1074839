//! How domain values become column values and back: enum codes, ISO dates, RFC 3339 instants.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::Row;
use rusqlite::types::Type;

/// RFC 3339 in UTC, with as many fractional digits as the instant has, so it round-trips exactly
/// and sorts as text.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(crate) fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn opt_date(d: Option<NaiveDate>) -> Option<String> {
    d.map(date)
}

fn bad(idx: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))
}

fn parse_ts(idx: usize, s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| bad(idx, e))
}

/// Typed getters for the column formats above.
pub(crate) trait RowExt {
    fn code<T>(&self, idx: usize) -> rusqlite::Result<T>
    where
        T: FromStr,
        T::Err: std::error::Error + Send + Sync + 'static;
    fn opt_code<T>(&self, idx: usize) -> rusqlite::Result<Option<T>>
    where
        T: FromStr,
        T::Err: std::error::Error + Send + Sync + 'static;
    fn date(&self, idx: usize) -> rusqlite::Result<NaiveDate>;
    fn opt_date(&self, idx: usize) -> rusqlite::Result<Option<NaiveDate>>;
    fn ts(&self, idx: usize) -> rusqlite::Result<DateTime<Utc>>;
    fn opt_ts(&self, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>>;
}

impl RowExt for Row<'_> {
    fn code<T>(&self, idx: usize) -> rusqlite::Result<T>
    where
        T: FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        let s: String = self.get(idx)?;
        s.parse().map_err(|e| bad(idx, e))
    }

    fn opt_code<T>(&self, idx: usize) -> rusqlite::Result<Option<T>>
    where
        T: FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        let s: Option<String> = self.get(idx)?;
        s.map(|s| s.parse().map_err(|e| bad(idx, e))).transpose()
    }

    fn date(&self, idx: usize) -> rusqlite::Result<NaiveDate> {
        let s: String = self.get(idx)?;
        s.parse().map_err(|e| bad(idx, e))
    }

    fn opt_date(&self, idx: usize) -> rusqlite::Result<Option<NaiveDate>> {
        let s: Option<String> = self.get(idx)?;
        s.map(|s| s.parse().map_err(|e| bad(idx, e))).transpose()
    }

    fn ts(&self, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
        let s: String = self.get(idx)?;
        parse_ts(idx, &s)
    }

    fn opt_ts(&self, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
        let s: Option<String> = self.get(idx)?;
        s.map(|s| parse_ts(idx, &s)).transpose()
    }
}
