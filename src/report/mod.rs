//! What the program measures: the cohort released in a period, its measures with their
//! denominators, and the report in Markdown, CSV or JSON. The numbers come from the pure
//! [`measures`] module, which the Stats screen can reuse.

pub mod history;
pub mod measures;
pub mod render;
pub mod stats;

use chrono::NaiveDate;

pub use measures::{Measure, Released, Report, compute, weekly};

use crate::domain::Rules;
use crate::store::{Result, Store, StoreError};

/// Everyone released from `from` to `to`, with the day each measured milestone was done.
pub fn cohort(store: &Store, from: NaiveDate, to: NaiveDate) -> Result<Vec<Released>> {
    let mut out = Vec::new();
    for id in store.released_between(from, to)? {
        let record = store
            .load_record(&id)?
            .ok_or_else(|| StoreError::Invalid(format!("person {id} vanished while reading")))?;
        let Some(released_on) = record.person.released_on else {
            continue;
        };
        let audit = store.audit_for(&id)?;
        let done_on = history::done_on(&record, &audit);
        out.push(Released {
            record,
            released_on,
            done_on,
        });
    }
    Ok(out)
}

/// The report for a period, read from the database.
pub fn build(store: &Store, rules: &Rules, from: NaiveDate, to: NaiveDate) -> Result<Report> {
    Ok(compute(&cohort(store, from, to)?, rules, from, to))
}
