//! When each milestone was done, read from a person's audit trail and hand marks. A milestone
//! that is done but has no recorded change was done when the person came onto the board (seeded
//! or imported that way), so that is its date.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::Value;

use crate::domain::{
    CarePlanStatus, MarkKind, MilestoneCode, PersonRecord, ScreeningResult, WarmHandoffStatus,
};
use crate::store::AuditEntry;

fn day(at: &str) -> Option<NaiveDate> {
    at.get(..10).and_then(|d| d.parse().ok())
}

/// The value a change set `field` to: Some("") when it was emptied, None when the change did not
/// touch the field.
fn after_field(entry: &AuditEntry, field: &str) -> Option<String> {
    let after: Value = serde_json::from_str(entry.after.as_deref()?).ok()?;
    let value = after.get(field)?;
    Some(value.as_str().unwrap_or_default().to_string())
}

/// The audit kind and column that set a measured milestone, and whether a value means done.
type Setter = (&'static str, &'static str, fn(&str) -> bool);

fn setter(code: MilestoneCode) -> Option<Setter> {
    Some(match code {
        MilestoneCode::Screening => ("screening_set", "screening_result", |v| {
            v.parse::<ScreeningResult>()
                .is_ok_and(ScreeningResult::is_complete)
        }),
        MilestoneCode::CareManager => {
            ("care_team_assigned", "pre_release_cm_id", |v| !v.is_empty())
        }
        MilestoneCode::CarePlan => ("care_plan_set", "care_plan", |v| {
            v.parse::<CarePlanStatus>()
                .is_ok_and(CarePlanStatus::is_complete)
        }),
        MilestoneCode::WarmHandoff => ("warm_handoff_set", "warm_handoff", |v| {
            matches!(
                v.parse::<WarmHandoffStatus>(),
                Ok(WarmHandoffStatus::Completed | WarmHandoffStatus::CompletedWithoutClient)
            )
        }),
        _ => return None,
    })
}

fn is_done_now(code: MilestoneCode, r: &PersonRecord) -> bool {
    match code {
        MilestoneCode::Screening => r.screening.result.is_complete(),
        MilestoneCode::CareManager => r.care_team.pre_release_cm.is_some(),
        MilestoneCode::CarePlan => r.care_plan.is_complete(),
        MilestoneCode::WarmHandoff => matches!(
            r.warm_handoff.status,
            WarmHandoffStatus::Completed | WarmHandoffStatus::CompletedWithoutClient
        ),
        _ => false,
    }
}

/// The day each measured milestone became done (and stayed done): the last audit row that set
/// it to a done value, a hand mark, or the day the person entered the board.
pub fn done_on(record: &PersonRecord, audit: &[AuditEntry]) -> BTreeMap<MilestoneCode, NaiveDate> {
    let entered = audit
        .iter()
        .find(|a| a.kind == "person_booked")
        .and_then(|a| day(&a.at))
        .unwrap_or(record.person.booked_on);
    let mut out = BTreeMap::new();
    for code in [
        MilestoneCode::Screening,
        MilestoneCode::CareManager,
        MilestoneCode::CarePlan,
        MilestoneCode::WarmHandoff,
    ] {
        let mark = record
            .marks
            .iter()
            .rev()
            .find(|m| m.milestone == code && m.kind == MarkKind::Done)
            .map(|m| m.on);
        let from_audit = setter(code).and_then(|(kind, field, done)| {
            // The last change of the field: done from then on if its value means done.
            let (at, value) = audit
                .iter()
                .rev()
                .filter(|a| a.kind == kind)
                .find_map(|a| after_field(a, field).map(|v| (&a.at, v)))?;
            done(&value).then(|| day(at)).flatten()
        });
        let when = match (mark, from_audit) {
            (Some(m), Some(a)) => Some(m.min(a)),
            (m, a) => m.or(a),
        }
        .or_else(|| is_done_now(code, record).then_some(entered));
        if let Some(d) = when {
            out.insert(code, d);
        }
    }
    out
}
