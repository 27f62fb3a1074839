//! Reads for the program report: who was released in a period.

use chrono::NaiveDate;

use super::codec::date;
use super::error::SqlContext;
use super::{Result, Store};

impl Store {
    /// Ids of people released (not transferred) from `from` to `to`, both days included.
    pub fn released_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<String>> {
        self.conn
            .prepare_cached(
                "SELECT id FROM persons WHERE custody = 'released'
                 AND released_on BETWEEN ?1 AND ?2 ORDER BY released_on, booking_id",
            )
            .and_then(|mut s| s.query_map([date(from), date(to)], |r| r.get(0))?.collect())
            .ctx("finding people released in the period")
            .map_err(|e| e.at(&self.path))
    }
}
