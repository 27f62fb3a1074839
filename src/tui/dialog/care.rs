//! Medi-Cal, screening, care plan and warm handoff: one-form dialogs on the person row.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::form::{Field, Form, options, parse_date, pick, position};
use crate::domain::{
    CarePlanStatus, HealthNeed, MediCal, MediCalStatus, PersonRecord, Screening, ScreeningResult,
    WarmHandoff, WarmHandoffStatus, eligibility::screening_outcome,
};
use crate::store::{Command, SetCarePlan, SetMediCal, SetScreening, SetWarmHandoff};

/// Fields: 0 status, 1 plan name, 2 former foster youth.
pub fn medi_cal_form(record: &PersonRecord) -> Form {
    let m = &record.medi_cal;
    Form::new(
        "Medi-Cal",
        vec![
            Field::choice(
                "Status",
                options(MediCalStatus::all(), MediCalStatus::label),
                position(MediCalStatus::all(), &m.status),
            ),
            Field::text(
                "Managed care plan",
                m.mcp_name.clone().unwrap_or_default(),
                "",
            ),
            Field::toggle("Former foster youth", m.former_foster_youth),
        ],
    )
}

pub fn medi_cal_submit(form: &Form, person_id: &str, version: i64) -> Option<Command> {
    let name = form.text(1).trim().to_string();
    Some(
        SetMediCal {
            person_id: person_id.to_string(),
            version,
            medi_cal: MediCal {
                status: pick(MediCalStatus::all(), form.index(0), false)?,
                mcp_name: (!name.is_empty()).then_some(name),
                former_foster_youth: form.on(2),
            },
        }
        .into(),
    )
}

/// Fields: 0 result, 1 health needs.
pub fn screening_form(record: &PersonRecord) -> Form {
    let s = &record.screening;
    let needs: Vec<HealthNeed> = HealthNeed::all().collect();
    let rule = if record.person.youth {
        "Youth facility: Medi-Cal eligibility alone qualifies; no health need is required."
    } else {
        "Adults need Medi-Cal/CHIP eligibility and one of the seven health needs."
    };
    Form::new(
        "Access screening",
        vec![
            Field::choice(
                "Result",
                options(ScreeningResult::all(), ScreeningResult::label),
                position(ScreeningResult::all(), &s.result),
            ),
            Field::multi(
                "Health needs",
                options(needs.iter().copied(), HealthNeed::label),
                needs.iter().map(|n| s.needs.contains(n)).collect(),
            ),
        ],
    )
    .with_info(vec![
        rule.to_string(),
        format!("Medi-Cal status: {}", record.medi_cal.status.label()),
    ])
}

pub fn screening_submit(form: &mut Form, record: &PersonRecord, version: i64) -> Option<Command> {
    let result = pick(ScreeningResult::all(), form.index(0), false)?;
    let all: Vec<HealthNeed> = HealthNeed::all().collect();
    let needs: BTreeSet<HealthNeed> = form
        .chosen(1)
        .into_iter()
        .filter_map(|i| all.get(i).copied())
        .collect();
    // The rules decide eligibility; the dialog refuses a result they contradict.
    if matches!(
        result,
        ScreeningResult::Eligible | ScreeningResult::NotEligible
    ) {
        match screening_outcome(record.medi_cal.status, &needs, record.person.youth) {
            None => form.set_error(
                0,
                "Medi-Cal status is unknown: check it before recording a result",
            ),
            Some(expected) if expected != result => form.set_error(
                0,
                format!(
                    "the rules give \"{}\" for this Medi-Cal status and these needs",
                    expected.label()
                ),
            ),
            Some(_) => {}
        }
    }
    if form.has_errors() {
        return None;
    }
    Some(
        SetScreening {
            person_id: record.person.id.clone(),
            version,
            screening: Screening { result, needs },
        }
        .into(),
    )
}

/// Fields: 0 status.
pub fn care_plan_form(record: &PersonRecord) -> Form {
    Form::new(
        "Care plan",
        vec![Field::choice(
            "Status",
            options(CarePlanStatus::all(), CarePlanStatus::label),
            position(CarePlanStatus::all(), &record.care_plan),
        )],
    )
}

pub fn care_plan_submit(form: &Form, person_id: &str, version: i64) -> Option<Command> {
    Some(
        SetCarePlan {
            person_id: person_id.to_string(),
            version,
            status: pick(CarePlanStatus::all(), form.index(0), false)?,
        }
        .into(),
    )
}

/// Fields: 0 status, 1 date.
pub fn handoff_form(record: &PersonRecord) -> Form {
    let h = &record.warm_handoff;
    let same = if record.care_team.same_manager_pre_and_post() {
        "The same care manager before and after release: \"not required\" applies."
    } else {
        "Different care managers before and after release: a handoff meeting is needed."
    };
    Form::new(
        "Warm handoff",
        vec![
            Field::choice(
                "Status",
                options(WarmHandoffStatus::all(), WarmHandoffStatus::label),
                position(WarmHandoffStatus::all(), &h.status),
            ),
            Field::text(
                "Scheduled for",
                h.scheduled_on.map(|d| d.to_string()).unwrap_or_default(),
                "YYYY-MM-DD, when scheduled",
            ),
        ],
    )
    .with_info(vec![same.to_string()])
}

pub fn handoff_submit(
    form: &mut Form,
    record: &PersonRecord,
    version: i64,
    today: NaiveDate,
) -> Option<Command> {
    let status = pick(WarmHandoffStatus::all(), form.index(0), false)?;
    let on = match parse_date(form.text(1)) {
        Ok(on) => on,
        Err(e) => {
            form.set_error(1, e);
            None
        }
    };
    if status == WarmHandoffStatus::NotRequired && !record.care_team.same_manager_pre_and_post() {
        form.set_error(
            0,
            "not required only when the same care manager is pre- and post-release",
        );
    }
    if status == WarmHandoffStatus::Scheduled {
        match on {
            None if form.fields.get(1).is_some_and(|f| f.error.is_none()) => {
                form.set_error(1, "a scheduled handoff needs its date")
            }
            Some(d) if (d - today).num_days() < -1 => {
                form.set_error(1, format!("{d} is past; mark it completed or missed"))
            }
            _ => {}
        }
    }
    if form.has_errors() {
        return None;
    }
    Some(
        SetWarmHandoff {
            person_id: record.person.id.clone(),
            version,
            handoff: WarmHandoff {
                status,
                scheduled_on: if status == WarmHandoffStatus::Scheduled {
                    on
                } else {
                    None
                },
            },
        }
        .into(),
    )
}
