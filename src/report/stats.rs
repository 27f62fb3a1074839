//! What the TUI's Stats screen asks for: the measures of one period and a weekly trend ending with
//! it, as aggregates only (no names, no records), so a shared screen or an SSH session can show
//! them. The cohort is read once for both.

use chrono::{Datelike, Duration, NaiveDate};

use super::{Report, compute, weekly};
use crate::domain::Rules;
use crate::store::{Result, Store};

/// Weeks in the trend: the 90 days or so ending with the period.
pub const TREND_WEEKS: i64 = 13;

/// A period and the trend that ends with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// A Monday, so every week of the trend but the last is whole.
    pub trend_from: NaiveDate,
}

impl StatsQuery {
    /// The period `from..=to`, with [`TREND_WEEKS`] weeks of trend ending in the week of `to`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Self {
        let monday = to - Duration::days(i64::from(to.weekday().num_days_from_monday()));
        Self {
            from,
            to,
            trend_from: monday - Duration::weeks(TREND_WEEKS - 1),
        }
    }
}

/// The measures of the period and one report per week of the trend, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub report: Report,
    pub weeks: Vec<Report>,
}

/// Pure: the same numbers `report` prints, from an already-read cohort.
pub fn from_cohort(people: &[super::Released], rules: &Rules, q: &StatsQuery) -> Stats {
    Stats {
        report: compute(people, rules, q.from, q.to),
        weeks: weekly(people, rules, q.trend_from, q.to),
    }
}

/// Reads everyone released from the earlier of the period's and the trend's start to its end.
pub fn load(store: &Store, rules: &Rules, q: &StatsQuery) -> Result<Stats> {
    let people = super::cohort(store, q.from.min(q.trend_from), q.to)?;
    Ok(from_cohort(&people, rules, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn the_trend_is_thirteen_weeks_from_a_monday() {
        // 2026-06-30 is a Tuesday: its week starts 06-29; twelve weeks before is 04-06.
        let q = StatsQuery::new(d("2026-04-02"), d("2026-06-30"));
        assert_eq!(q.trend_from, d("2026-04-06"));
        assert_eq!(q.trend_from.weekday(), chrono::Weekday::Mon);
        let s = from_cohort(&[], &Rules::default(), &q);
        assert_eq!(s.weeks.len(), 13);
        assert_eq!(
            s.weeks.last().map(|w| (w.from, w.to)),
            Some((d("2026-06-29"), d("2026-06-30")))
        );
    }
}
