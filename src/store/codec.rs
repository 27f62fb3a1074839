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
    use chrono::Datelike;
    // chrono's `format` interprets its pattern on every call; a seed writes millions of dates.
    if (0..=9999).contains(&d.year()) {
        format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

pub(crate) fn opt_date(d: Option<NaiveDate>) -> Option<String> {
    d.map(date)
}

fn bad(idx: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))
}

/// `YYYY-MM-DD` by hand: chrono's generic parser costs several times more, and the board reads
/// hundreds of thousands of dates at start-up.
pub(crate) fn fast_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)
}

fn parse_date(idx: usize, s: &str) -> rusqlite::Result<NaiveDate> {
    match fast_date(s) {
        Some(d) => Ok(d),
        None => s.parse().map_err(|e| bad(idx, e)),
    }
}

/// Our own instants are `YYYY-MM-DDTHH:MM:SS[.f]Z`; anything else goes through chrono.
fn fast_ts(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b.last() != Some(&b'Z') {
        return None;
    }
    let date = fast_date(s.get(..10)?)?;
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let frac = &b[19..b.len() - 1];
    let nanos = match frac {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = num(20..20 + digits.len())?;
            n * 10u32.pow(9 - u32::try_from(digits.len()).ok()?)
        }
        _ => return None,
    };
    Some(date.and_hms_nano_opt(h, m, sec, nanos)?.and_utc())
}

fn parse_ts(idx: usize, s: &str) -> rusqlite::Result<DateTime<Utc>> {
    if let Some(t) = fast_ts(s) {
        return Ok(t);
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| bad(idx, e))
}

/// The text of a column without copying it.
fn text<'r>(row: &'r Row<'_>, idx: usize) -> rusqlite::Result<Option<&'r str>> {
    match row.get_ref(idx)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        v => v
            .as_str()
            .map(Some)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))),
    }
}

fn required<T>(idx: usize, v: Option<T>) -> rusqlite::Result<T> {
    v.ok_or(rusqlite::Error::InvalidColumnType(
        idx,
        "NULL".into(),
        Type::Null,
    ))
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
        required(idx, text(self, idx)?)?
            .parse()
            .map_err(|e| bad(idx, e))
    }

    fn opt_code<T>(&self, idx: usize) -> rusqlite::Result<Option<T>>
    where
        T: FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        text(self, idx)?
            .map(|s| s.parse().map_err(|e| bad(idx, e)))
            .transpose()
    }

    fn date(&self, idx: usize) -> rusqlite::Result<NaiveDate> {
        parse_date(idx, required(idx, text(self, idx)?)?)
    }

    fn opt_date(&self, idx: usize) -> rusqlite::Result<Option<NaiveDate>> {
        text(self, idx)?.map(|s| parse_date(idx, s)).transpose()
    }

    fn ts(&self, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
        parse_ts(idx, required(idx, text(self, idx)?)?)
    }

    fn opt_ts(&self, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
        text(self, idx)?.map(|s| parse_ts(idx, s)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_paths_agree_with_chrono() {
        for s in ["2026-03-01", "2024-02-29", "1999-12-31", "0001-01-01"] {
            assert_eq!(fast_date(s), s.parse().ok(), "{s}");
        }
        for s in [
            "2026-02-30",
            "2026-13-01",
            "2026-3-01",
            "26-03-01",
            "2026-03-0x",
            "",
        ] {
            assert_eq!(fast_date(s), None, "{s}");
        }
        for s in [
            "2026-03-01T12:00:00Z",
            "2026-02-10T17:30:15.250Z",
            "2026-02-10T17:30:15.123456789Z",
            "2026-02-10T23:59:59.5Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc));
            assert_eq!(fast_ts(s), chrono.ok(), "{s}");
        }
        for s in [
            "2026-03-01T12:00:00+01:00",
            "2026-03-01T25:00:00Z",
            "2026-03-01T12:00:00.Z",
        ] {
            assert_eq!(fast_ts(s), None, "{s}");
        }
        for s in ["2026-03-01", "0999-01-09"] {
            let d = fast_date(s).unwrap_or_default();
            assert_eq!(date(d), s);
        }
        // Round trip of what we write.
        let t = DateTime::parse_from_rfc3339("2026-02-10T17:30:15.250Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(fast_ts(&ts(t)), Some(t));
    }
}
