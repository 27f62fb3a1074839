//! Milestones and their barriers as Tasks: the state the board computes for the day, the owner
//! role, the due date, and an open barrier as the reason a task is on hold.

use serde_json::json;

use super::ids::{board_coding, record_system};
use super::resource::Resource;
use crate::domain::{MilestoneState, MilestoneStatus, PersonRecord};

fn task_status(s: MilestoneState) -> &'static str {
    match s {
        MilestoneState::Done => "completed",
        MilestoneState::NotNeeded => "cancelled",
        MilestoneState::Pending | MilestoneState::DueSoon | MilestoneState::Overdue => "requested",
        MilestoneState::Blocked => "on-hold",
    }
}

pub fn milestone(
    r: &PersonRecord,
    m: &MilestoneStatus,
    patient: &Resource,
    encounter: &Resource,
    plan: &Resource,
) -> Resource {
    let mut body = json!({
        "basedOn": [plan.reference_to("")],
        "status": task_status(m.state),
        // The board's finer state (due soon, overdue) for the meeting's eyes.
        "businessStatus": {
            "coding": [board_coding("milestone-state", m.state.code(), m.state.label())],
            "text": m.state.label(),
        },
        "intent": "plan",
        "code": {
            "coding": [board_coding("milestone", m.code.code(), m.code.label())],
            "text": m.code.label(),
        },
        "for": patient.reference_to(""),
        "encounter": encounter.reference_to(""),
        "owner": {"display": m.code.owner().label()},
    });
    if let Some(due) = m.due {
        body["restriction"] = json!({"period": {"end": due.to_string()}});
    }
    if let Some(on) = m.done_on {
        body["executionPeriod"] = json!({"end": on.to_string()});
    }
    if let Some(reason) = m.blocked_by {
        let text = r
            .open_barrier(m.code)
            .filter(|b| !b.text.is_empty())
            .map_or_else(
                || reason.label().to_string(),
                |b| format!("{}: {}", reason.label(), b.text),
            );
        body["statusReason"] = json!({
            "coding": [board_coding("barrier-reason", reason.code(), reason.label())],
            "text": text,
        });
    }
    Resource::identified(
        "Task",
        record_system("milestone"),
        format!("{}:{}", r.person.id, m.code.code()),
        body,
    )
}
