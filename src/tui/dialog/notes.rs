//! Barriers (record with a reason from the list, resolve), free-text notes and milestone marks.

use super::form::{Field, Form, options, pick};
use crate::domain::{BarrierReason, MarkKind, MilestoneCode, PersonRecord};
use crate::store::{AddNote, Command, MarkMilestone, RecordBarrier, ResolveBarrier};

/// Fields: 0 milestone, 1 reason, 2 text.
pub fn barrier_form() -> Form {
    Form::new(
        "Record a barrier",
        vec![
            Field::choice(
                "Milestone",
                options(MilestoneCode::all(), MilestoneCode::label),
                0,
            ),
            Field::choice(
                "Reason",
                options(BarrierReason::all(), BarrierReason::label),
                0,
            ),
            Field::text("Details", "", "required for \"other\""),
        ],
    )
}

pub fn barrier_submit(form: &mut Form, person_id: &str) -> Option<Command> {
    let milestone = pick(MilestoneCode::all(), form.index(0), false)?;
    let reason = pick(BarrierReason::all(), form.index(1), false)?;
    let text = form.text(2).trim().to_string();
    if reason == BarrierReason::Other && text.is_empty() {
        form.set_error(2, "say in a few words what blocks it (reason \"other\")");
        return None;
    }
    Some(
        RecordBarrier {
            person_id: person_id.to_string(),
            milestone,
            reason,
            text,
        }
        .into(),
    )
}

/// Fields: 0 which open barrier.
pub fn resolve_form(record: &PersonRecord) -> Option<(Form, Vec<i64>)> {
    let open: Vec<_> = record.barriers.iter().filter(|b| b.is_open()).collect();
    if open.is_empty() {
        return None;
    }
    let labels = open
        .iter()
        .map(|b| {
            format!(
                "{}: {} since {}",
                b.milestone.label(),
                b.reason.label(),
                b.opened_on
            )
        })
        .collect();
    Some((
        Form::new(
            "Resolve a barrier",
            vec![Field::choice("Barrier", labels, 0)],
        ),
        open.iter().map(|b| b.id).collect(),
    ))
}

pub fn resolve_submit(form: &Form, person_id: &str, ids: &[i64]) -> Option<Command> {
    Some(
        ResolveBarrier {
            person_id: person_id.to_string(),
            barrier_id: *ids.get(form.index(0))?,
        }
        .into(),
    )
}

/// Fields: 0 text.
pub fn note_form() -> Form {
    Form::new("Add a note", vec![Field::text("Note", "", "")]).with_info(vec![
        "Notes stay on this board; they are never sent.".into(),
    ])
}

pub fn note_submit(form: &mut Form, person_id: &str) -> Option<Command> {
    let text = form.text(0).trim().to_string();
    if text.is_empty() {
        form.set_error(0, "the note is empty");
        return None;
    }
    Some(
        AddNote {
            person_id: person_id.to_string(),
            text,
        }
        .into(),
    )
}

/// Fields: 0 milestone, 1 kind.
pub fn mark_form() -> Form {
    Form::new(
        "Mark a milestone",
        vec![
            Field::choice(
                "Milestone",
                options(MilestoneCode::all(), MilestoneCode::label),
                0,
            ),
            Field::choice("Mark", options(MarkKind::all(), MarkKind::label), 0),
        ],
    )
}

pub fn mark_submit(form: &Form, person_id: &str) -> Option<Command> {
    Some(
        MarkMilestone {
            person_id: person_id.to_string(),
            milestone: pick(MilestoneCode::all(), form.index(0), false)?,
            kind: pick(MarkKind::all(), form.index(1), false)?,
        }
        .into(),
    )
}
