//! Gathering one meeting's minutes from the store.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::minutes::{Minutes, PersonLabel};
use crate::domain::NameFormat;
use crate::store::audit_query::AuditFilter;
use crate::store::{Result, Store};

/// The minutes of the last meeting on `day` (or the last of all); `None` if there was none.
pub fn minutes(store: &Store, day: Option<NaiveDate>) -> Result<Option<Minutes>> {
    let Some(meeting) = store.meeting_on(day)? else {
        return Ok(None);
    };
    let record = &meeting.record;
    let open_tasks = store.open_tasks()?;
    let (from, to) = (
        crate::store::codec_ts(record.started_at),
        crate::store::codec_ts(record.ended_at),
    );
    let audit = store.audit_search(&AuditFilter {
        from: Some(record.started_at.date_naive()),
        to: Some(record.ended_at.date_naive()),
        limit: usize::MAX >> 1,
        ..AuditFilter::default()
    })?;
    let mut changes: HashMap<String, Vec<String>> = HashMap::new();
    // Newest first from the search; the minutes read oldest first.
    for entry in audit.into_iter().rev() {
        let Some(person) = entry.person_id else {
            continue;
        };
        if entry.at < from || entry.at > to || entry.kind == "part2_viewed" {
            continue;
        }
        changes.entry(person).or_default().push(entry.kind);
    }
    let mut people = HashMap::new();
    let ids = record
        .reviews
        .iter()
        .map(|r| r.person_id.clone())
        .chain(open_tasks.iter().map(|t| t.person_id.clone()));
    for id in ids {
        if people.contains_key(&id) {
            continue;
        }
        if let Some(r) = store.load_record(&id)? {
            people.insert(
                id,
                PersonLabel {
                    label: format!(
                        "{} ({})",
                        r.person.name.formatted(NameFormat::LastInitial),
                        r.person.booking_id
                    ),
                    redact: r.medications.iter().map(|m| m.name.clone()).collect(),
                },
            );
        }
    }
    Ok(Some(Minutes {
        day: meeting.day,
        started_at: record.started_at,
        ended_at: record.ended_at,
        chaired_by: meeting.chaired_by,
        attendees: record.attendees.clone(),
        reviews: record.reviews.clone(),
        changes,
        open_tasks,
        people,
    }))
}
