//! The Stats screen's state: which period is shown and what the store answered for it. The
//! period never reaches past the board's date, since nobody has been released there yet.

use chrono::{Datelike, Duration, NaiveDate};

use crate::report::stats::{Stats, StatsQuery};

/// How long a period is; Tab steps through them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodLength {
    Days30,
    Days90,
    Days365,
    /// A calendar quarter (the one holding the period's end).
    Quarter,
}

impl PeriodLength {
    fn next(self) -> Self {
        match self {
            Self::Days30 => Self::Days90,
            Self::Days90 => Self::Days365,
            Self::Days365 => Self::Quarter,
            Self::Quarter => Self::Days30,
        }
    }

    fn days(self) -> Option<i64> {
        match self {
            Self::Days30 => Some(30),
            Self::Days90 => Some(90),
            Self::Days365 => Some(365),
            Self::Quarter => None,
        }
    }
}

/// The first day of `day`'s calendar quarter.
fn quarter_start(day: NaiveDate) -> NaiveDate {
    let month = (day.month0() / 3) * 3 + 1;
    NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day)
}

/// The last day of `day`'s calendar quarter.
fn quarter_end(day: NaiveDate) -> NaiveDate {
    let start = quarter_start(day);
    let (year, month) = if start.month() == 10 {
        (start.year() + 1, 1)
    } else {
        (start.year(), start.month() + 3)
    };
    NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(day)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsScreen {
    pub length: PeriodLength,
    /// A day inside the period: its last day for a day count, any day of the quarter.
    end: NaiveDate,
    /// The board's date: no period goes past it.
    today: NaiveDate,
    /// The answer for [`Self::query`]: `None` while loading.
    pub data: Option<Result<Stats, String>>,
    /// The measure under the cursor.
    pub cursor: usize,
}

impl StatsScreen {
    /// The last 90 days up to the board's date.
    pub fn new(today: NaiveDate) -> Self {
        Self {
            length: PeriodLength::Days90,
            end: today,
            today,
            data: None,
            cursor: 0,
        }
    }

    /// The period on screen, both days included.
    pub fn period(&self) -> (NaiveDate, NaiveDate) {
        match self.length.days() {
            Some(n) => (self.end - Duration::days(n - 1), self.end),
            None => (
                quarter_start(self.end),
                quarter_end(self.end).min(self.today),
            ),
        }
    }

    pub fn query(&self) -> StatsQuery {
        let (from, to) = self.period();
        StatsQuery::new(from, to)
    }

    /// "in the last 90 days (2026-04-02 to 2026-06-30)", "from 2026-01-02 to 2026-04-01 (90
    /// days)", "in Q2 2026 (2026-04-01 to 2026-06-30)": follows "Released".
    pub fn label(&self) -> String {
        let (from, to) = self.period();
        match self.length.days() {
            Some(n) if to == self.today => format!("in the last {n} days ({from} to {to})"),
            Some(n) => format!("from {from} to {to} ({n} days)"),
            None => {
                let q = from.month0() / 3 + 1;
                let so_far = if to < quarter_end(from) {
                    ", so far"
                } else {
                    ""
                };
                format!("in Q{q} {} ({from} to {to}{so_far})", from.year())
            }
        }
    }

    /// The period before this one. Returns whether the period changed.
    pub fn earlier(&mut self) -> bool {
        let (from, _) = self.period();
        match self.length.days() {
            Some(n) => self.end -= Duration::days(n),
            None => self.end = from - Duration::days(1),
        }
        true
    }

    /// The period after this one, stopping at the board's date.
    pub fn later(&mut self) -> bool {
        let end = match self.length.days() {
            Some(n) => (self.end + Duration::days(n)).min(self.today),
            None => {
                let next = quarter_end(self.end) + Duration::days(1);
                if next > self.today {
                    return false;
                }
                next
            }
        };
        let moved = end != self.end;
        self.end = end;
        moved
    }

    /// The next period length, ending where this one ends.
    pub fn next_length(&mut self) {
        let (_, to) = self.period();
        self.length = self.length.next();
        self.end = to;
    }

    /// A new board date: a period that ended "today" keeps ending today.
    pub fn set_today(&mut self, today: NaiveDate) -> bool {
        if today == self.today {
            return false;
        }
        if self.end == self.today {
            self.end = today;
        }
        self.today = today;
        true
    }

    /// Moves the cursor within `count` measures; whether it moved.
    pub fn move_cursor(&mut self, to: usize, count: usize) -> bool {
        let to = to.min(count.saturating_sub(1));
        let moved = to != self.cursor;
        self.cursor = to;
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn periods_step_back_and_stop_at_today() {
        let mut s = StatsScreen::new(d("2026-06-30"));
        assert_eq!(s.period(), (d("2026-04-02"), d("2026-06-30")));
        assert_eq!(s.label(), "in the last 90 days (2026-04-02 to 2026-06-30)");
        assert!(!s.later(), "nothing after today");
        s.earlier();
        assert_eq!(s.period(), (d("2026-01-02"), d("2026-04-01")));
        assert_eq!(s.label(), "from 2026-01-02 to 2026-04-01 (90 days)");
        assert!(s.later());
        assert_eq!(s.period(), (d("2026-04-02"), d("2026-06-30")));
        s.next_length();
        assert_eq!(s.period(), (d("2025-07-01"), d("2026-06-30")));
        s.next_length();
        assert_eq!(s.period(), (d("2026-04-01"), d("2026-06-30")));
        assert_eq!(s.label(), "in Q2 2026 (2026-04-01 to 2026-06-30)");
        s.earlier();
        assert_eq!(s.period(), (d("2026-01-01"), d("2026-03-31")));
        s.earlier();
        assert_eq!(s.period(), (d("2025-10-01"), d("2025-12-31")));
        assert_eq!(s.label(), "in Q4 2025 (2025-10-01 to 2025-12-31)");
        assert!(s.later());
        assert!(s.later());
        assert!(!s.later(), "Q3 2026 has not begun");
        s.next_length();
        assert_eq!(s.period(), (d("2026-06-01"), d("2026-06-30")));
    }

    #[test]
    fn a_quarter_in_progress_ends_today() {
        let mut s = StatsScreen::new(d("2026-11-23"));
        s.length = PeriodLength::Quarter;
        assert_eq!(s.period(), (d("2026-10-01"), d("2026-11-23")));
        assert_eq!(s.label(), "in Q4 2026 (2026-10-01 to 2026-11-23, so far)");
        assert!(s.set_today(d("2026-11-24")));
        assert_eq!(s.period(), (d("2026-10-01"), d("2026-11-24")));
        assert_eq!(quarter_end(d("2026-11-23")), d("2026-12-31"));
        assert_eq!(quarter_end(d("2026-02-10")), d("2026-03-31"));
    }
}
