//! Release-date dialogs: change the date, flag a proposed change, decide a flag, acknowledge a
//! change the meeting must see.

use chrono::NaiveDate;

use super::form::{Field, Form, check_release_date, options, parse_date, pick, position};
use crate::domain::{
    Certainty, ChangeReason, FlagStatus, PersonRecord, ReleaseSource, ReleaseType,
};
use crate::store::{
    AcknowledgeDateChange, ChangeReleaseDate, Command, DecideDateFlag, FlagDateChange,
};

const NOT_RECORDED: &str = "not recorded";
const CHOOSE: &str = "(choose a reason)";

fn reasons() -> Vec<String> {
    let mut o = vec![CHOOSE.to_string()];
    o.extend(options(ChangeReason::all(), ChangeReason::label));
    o
}

fn with_none(mut rest: Vec<String>) -> Vec<String> {
    rest.insert(0, NOT_RECORDED.into());
    rest
}

fn history(record: &PersonRecord) -> Vec<String> {
    let mut info = Vec::new();
    for c in record.release_history.iter().rev().take(4) {
        let show =
            |d: Option<NaiveDate>| d.map_or_else(|| "unknown".to_string(), |d| d.to_string());
        info.push(format!(
            "{} {}: {} -> {} ({})",
            c.changed_at.format("%Y-%m-%d %H:%M"),
            c.changed_by,
            show(c.from),
            show(c.to),
            c.reason.label()
        ));
    }
    if record.release_history.len() > 4 {
        info.push(format!(
            "... {} earlier changes in the detail view",
            record.release_history.len() - 4
        ));
    }
    info
}

/// Fields: 0 date, 1 certainty, 2 type, 3 source, 4 reason, 5 reason text.
pub fn change_form(record: &PersonRecord) -> Form {
    let r = &record.release;
    let mut info = vec![format!(
        "Now: {} · {}",
        r.date
            .map_or_else(|| "unknown".to_string(), |d| d.to_string()),
        r.certainty.label()
    )];
    info.extend(history(record));
    Form::new(
        "Release date",
        vec![
            Field::text(
                "Date",
                r.date.map(|d| d.to_string()).unwrap_or_default(),
                "YYYY-MM-DD, empty = unknown",
            ),
            Field::choice(
                "Certainty",
                options(Certainty::all(), Certainty::label),
                position(Certainty::all(), &r.certainty),
            ),
            Field::choice(
                "Type",
                with_none(options(ReleaseType::all(), ReleaseType::label)),
                r.kind.map_or(0, |k| position(ReleaseType::all(), &k) + 1),
            ),
            Field::choice(
                "Source",
                with_none(options(ReleaseSource::all(), ReleaseSource::label)),
                r.source
                    .map_or(0, |s| position(ReleaseSource::all(), &s) + 1),
            ),
            Field::choice("Reason", reasons(), 0),
            Field::text("Reason text", "", "required for \"other\""),
        ],
    )
    .with_info(info)
}

/// The reason fields at `at` and `at + 1`: a reason must be chosen, and "other" needs words.
fn reason(form: &mut Form, at: usize) -> Option<(ChangeReason, String)> {
    let reason = pick(ChangeReason::all(), form.index(at), true);
    let text = form.text(at + 1).trim().to_string();
    match reason {
        None => {
            form.set_error(at, "choose why the date changes");
            None
        }
        Some(ChangeReason::Other) if text.is_empty() => {
            form.set_error(at + 1, "say in a few words why (reason \"other\")");
            None
        }
        Some(r) => Some((r, text)),
    }
}

fn date(form: &mut Form, at: usize, today: NaiveDate) -> Option<Option<NaiveDate>> {
    match parse_date(form.text(at)) {
        Ok(Some(d)) => match check_release_date(d, today) {
            Ok(()) => Some(Some(d)),
            Err(e) => {
                form.set_error(at, e);
                None
            }
        },
        Ok(None) => Some(None),
        Err(e) => {
            form.set_error(at, e);
            None
        }
    }
}

pub fn change_submit(
    form: &mut Form,
    person_id: &str,
    version: i64,
    today: NaiveDate,
) -> Option<Command> {
    let date = date(form, 0, today);
    let certainty = pick(Certainty::all(), form.index(1), false).unwrap_or(Certainty::Unknown);
    if let Some(Some(_)) = date {
        if certainty == Certainty::Unknown {
            form.set_error(1, "a date needs a certainty other than unknown");
        }
    }
    if date == Some(None) && certainty != Certainty::Unknown {
        form.set_error(1, "no date: the certainty is unknown");
    }
    let reason = reason(form, 4);
    let (Some(date), Some((reason, reason_text))) = (date, reason) else {
        return None;
    };
    if form.has_errors() {
        return None;
    }
    Some(
        ChangeReleaseDate {
            person_id: person_id.to_string(),
            version,
            date,
            certainty,
            kind: pick(ReleaseType::all(), form.index(2), true),
            source: pick(ReleaseSource::all(), form.index(3), true),
            reason,
            reason_text,
        }
        .into(),
    )
}

/// Fields: 0 proposed date, 1 reason, 2 reason text.
pub fn flag_form(record: &PersonRecord) -> Form {
    Form::new(
        "Flag a proposed release-date change",
        vec![
            Field::text("Proposed date", "", "YYYY-MM-DD, empty = unknown"),
            Field::choice("Reason", reasons(), 0),
            Field::text("Reason text", "", "required for \"other\""),
        ],
    )
    .with_info(vec![format!(
        "Now: {} · {}. The meeting accepts or rejects the flag.",
        record
            .release
            .date
            .map_or_else(|| "unknown".to_string(), |d| d.to_string()),
        record.release.certainty.label()
    )])
}

pub fn flag_submit(form: &mut Form, person_id: &str, today: NaiveDate) -> Option<Command> {
    let date = date(form, 0, today);
    let reason = reason(form, 1);
    let (Some(proposed), Some((reason, reason_text))) = (date, reason) else {
        return None;
    };
    Some(
        FlagDateChange {
            person_id: person_id.to_string(),
            proposed,
            reason,
            reason_text,
        }
        .into(),
    )
}

pub fn open_flags(record: &PersonRecord) -> Vec<&crate::domain::DateFlag> {
    record
        .date_flags
        .iter()
        .filter(|f| f.status == FlagStatus::Open)
        .collect()
}

/// Fields: 0 which flag, 1 decision, 2 certainty of the accepted date.
pub fn decide_form(record: &PersonRecord) -> Option<(Form, Vec<i64>)> {
    let flags = open_flags(record);
    if flags.is_empty() {
        return None;
    }
    let labels = flags
        .iter()
        .map(|f| {
            format!(
                "{} by {} ({})",
                f.proposed
                    .map_or_else(|| "unknown".to_string(), |d| d.to_string()),
                f.raised_by,
                f.reason.label()
            )
        })
        .collect();
    let ids = flags.iter().map(|f| f.id).collect();
    let form = Form::new(
        "Decide a flagged date change",
        vec![
            Field::choice("Flag", labels, 0),
            Field::choice("Decision", vec!["accept".into(), "reject".into()], 0),
            Field::choice(
                "Certainty",
                options(Certainty::all(), Certainty::label),
                position(Certainty::all(), &Certainty::Projected),
            ),
        ],
    );
    Some((form, ids))
}

pub fn decide_submit(
    form: &mut Form,
    person_id: &str,
    version: i64,
    ids: &[i64],
) -> Option<Command> {
    let flag_id = *ids.get(form.index(0))?;
    Some(
        DecideDateFlag {
            person_id: person_id.to_string(),
            version,
            flag_id,
            accept: form.index(1) == 0,
            certainty: pick(Certainty::all(), form.index(2), false).unwrap_or(Certainty::Projected),
        }
        .into(),
    )
}

/// Fields: 0 which change.
pub fn acknowledge_form(record: &PersonRecord, window_days: i64) -> Option<(Form, Vec<i64>)> {
    let open: Vec<_> = record
        .release_history
        .iter()
        .filter(|c| c.awaits_acknowledgement(window_days))
        .collect();
    if open.is_empty() {
        return None;
    }
    let labels = open
        .iter()
        .map(|c| {
            let show =
                |d: Option<NaiveDate>| d.map_or_else(|| "unknown".to_string(), |d| d.to_string());
            format!("{} -> {} by {}", show(c.from), show(c.to), c.changed_by)
        })
        .collect();
    let ids = open.iter().map(|c| c.id).collect();
    Some((
        Form::new(
            "Acknowledge a release-date change",
            vec![Field::choice("Change", labels, 0)],
        )
        .with_info(vec![
            "Moved earlier or inside the change window: the meeting has seen it.".into(),
        ]),
        ids,
    ))
}

pub fn acknowledge_submit(form: &Form, person_id: &str, ids: &[i64]) -> Option<Command> {
    Some(
        AcknowledgeDateChange {
            person_id: person_id.to_string(),
            change_id: *ids.get(form.index(0))?,
        }
        .into(),
    )
}
