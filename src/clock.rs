//! The clock is injected everywhere: the domain never reads the time, and tests fix "today".

use chrono::{DateTime, Local, NaiveDate, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// The local calendar date, which is what release dates and due dates are counted in.
    fn today(&self) -> NaiveDate;
}

/// The wall clock, in the machine's local time zone.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn today(&self) -> NaiveDate {
        Local::now().date_naive()
    }
}

/// A clock that says what it is told: for tests and for `--as-of`.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock {
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
}

impl FixedClock {
    /// Noon UTC of `today`, so timestamps are stable and fall on the same calendar day.
    pub fn on(today: NaiveDate) -> Self {
        let now = today
            .and_hms_opt(12, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or_default();
        Self { now, today }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }
    fn today(&self) -> NaiveDate {
        self.today
    }
}

/// `import --as-of`: a feed of that day imported as of that day. Its changes are stamped on the
/// as-of day (at the current local time of day), so what they mean for the meeting (a date
/// moved inside T-14) is judged from the day the feed speaks for, not the day it was loaded.
#[derive(Debug, Clone, Copy)]
pub struct AsOfDayClock {
    pub today: NaiveDate,
}

impl Clock for AsOfDayClock {
    fn now(&self) -> DateTime<Utc> {
        let local = self.today.and_time(Local::now().time());
        local
            .and_local_timezone(Local)
            .earliest()
            .map_or_else(Utc::now, |at| at.with_timezone(&Utc))
    }
    fn today(&self) -> NaiveDate {
        self.today
    }
}

/// `--as-of`: the real time of day, but the calendar date the user asked for.
#[derive(Debug, Clone, Copy)]
pub struct AsOfClock {
    pub today: NaiveDate,
}

impl Clock for AsOfClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn today(&self) -> NaiveDate {
        self.today
    }
}
