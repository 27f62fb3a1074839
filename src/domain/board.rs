//! The board as computed for one day: everyone in custody with their readiness, soonest release
//! first, unknown dates after every known one, then by name and booking number.

use chrono::NaiveDate;

use super::{CustodyStatus, PersonRecord, Readiness, Rules, readiness};

/// One person on the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardRow {
    pub record: PersonRecord,
    pub readiness: Readiness,
}

/// Everyone still in custody (including people who left the roster feed and await confirmation),
/// with readiness for `today`, soonest release first.
pub fn build(records: Vec<PersonRecord>, today: NaiveDate, rules: &Rules) -> Vec<BoardRow> {
    let mut records: Vec<PersonRecord> = records
        .into_iter()
        .filter(|r| {
            matches!(
                r.person.custody,
                CustodyStatus::InCustody | CustodyStatus::LeftRoster
            )
        })
        .collect();
    // Case-insensitive so `GARCIA` and `Garcia` from different feeds sort together; the booking
    // number makes the order total, so equal names never swap places between reloads. Keys are
    // computed once per person, not per comparison (100,000 people).
    records.sort_by_cached_key(|r| {
        (
            r.release.date.is_none(),
            r.release.date,
            r.person.name.last.to_lowercase(),
            r.person.name.first.to_lowercase(),
            r.person.booking_id.clone(),
        )
    });
    records
        .into_iter()
        .map(|record| {
            let readiness = readiness(&record, today, rules);
            BoardRow { record, readiness }
        })
        .collect()
}
