//! Appointments: add one, or pick one of the person's and reschedule it, mark it kept or missed,
//! or cancel it with a reason. The first field picks; the others then show that appointment.

use chrono::NaiveDate;

use super::consent::date_in_range;
use super::form::{Field, Form, Value, options, pick, position};
use crate::domain::{Appointment, AppointmentStatus, PersonRecord};
use crate::store::{
    APPOINTMENT_AHEAD_DAYS, APPOINTMENT_PAST_DAYS, AddAppointment, CancelAppointment, Command,
    SetAppointment,
};

/// The appointments that can still change; a cancelled one stays as it is (add a new one).
fn open(record: &PersonRecord) -> Vec<&Appointment> {
    record
        .appointments
        .iter()
        .filter(|a| a.status != AppointmentStatus::Cancelled)
        .collect()
}

fn label(a: &Appointment) -> String {
    let on =
        a.on.map_or_else(|| "no date".to_string(), |d| d.to_string());
    format!("{} · {on} · {}", a.what, a.status.label())
}

/// Fields: 0 which appointment, 1 what, 2 date, 3 status, 4 reason. Returns the ids of the
/// choices after "new appointment".
pub fn appointment_form(record: &PersonRecord) -> (Form, Vec<i64>) {
    let open = open(record);
    let mut which = vec!["new appointment".to_string()];
    which.extend(open.iter().map(|a| label(a)));
    let form = Form::new(
        "Appointments",
        vec![
            Field::choice("Appointment", which, 0),
            Field::text("What", "", "kind, provider, place, time"),
            Field::text("Date", "", "YYYY-MM-DD"),
            Field::choice(
                "Status",
                options(AppointmentStatus::all(), AppointmentStatus::label),
                0,
            ),
            Field::text("Reason", "", "required to cancel"),
        ],
    )
    .with_info(vec![format!(
        "{} open appointment(s); Left/Right on the first line picks one.",
        open.len()
    )]);
    (form, open.iter().map(|a| a.id).collect())
}

/// After the first field changed: show the chosen appointment (or empty fields for a new one).
pub fn refill(form: &mut Form, record: &PersonRecord, ids: &[i64]) {
    let chosen = form
        .index(0)
        .checked_sub(1)
        .and_then(|i| ids.get(i))
        .and_then(|id| record.appointments.iter().find(|a| a.id == *id));
    let (what, on, status) = match chosen {
        Some(a) => (
            a.what.clone(),
            a.on.map(|d| d.to_string()).unwrap_or_default(),
            a.status,
        ),
        None => (String::new(), String::new(), AppointmentStatus::Planned),
    };
    set_text(form, 1, what);
    set_text(form, 2, on);
    set_text(form, 4, String::new());
    if let Some(Value::Choice { index, .. }) = form.fields.get_mut(3).map(|f| &mut f.value) {
        *index = position(AppointmentStatus::all(), &status);
    }
}

pub(super) fn set_text(form: &mut Form, i: usize, text: String) {
    if let Some(f) = form.fields.get_mut(i) {
        f.value = Value::Text(text);
        f.error = None;
    }
}

pub fn appointment_submit(
    form: &mut Form,
    record: &PersonRecord,
    version: i64,
    ids: &[i64],
    today: NaiveDate,
) -> Option<Command> {
    let person_id = record.person.id.clone();
    let on = date_in_range(
        form,
        2,
        today,
        APPOINTMENT_PAST_DAYS,
        APPOINTMENT_AHEAD_DAYS,
    );
    let date_ok = form.fields.get(2).is_some_and(|f| f.error.is_none());
    let status = pick(AppointmentStatus::all(), form.index(3), false)?;
    let what = form.text(1).trim().to_string();
    let reason = form.text(4).trim().to_string();
    let chosen = form
        .index(0)
        .checked_sub(1)
        .and_then(|i| ids.get(i))
        .and_then(|id| record.appointments.iter().find(|a| a.id == *id));
    let needs_date = matches!(
        status,
        AppointmentStatus::Booked | AppointmentStatus::Kept | AppointmentStatus::Missed
    );
    if needs_date && on.is_none() && date_ok && status != AppointmentStatus::Cancelled {
        form.set_error(
            2,
            format!("a {} appointment needs its date", status.label()),
        );
    }
    let Some(current) = chosen else {
        if what.is_empty() {
            form.set_error(
                1,
                "say what the appointment is (kind, provider, place, time)",
            );
        }
        if !matches!(
            status,
            AppointmentStatus::Planned | AppointmentStatus::Booked
        ) {
            form.set_error(3, "a new appointment is planned or booked");
        }
        if form.has_errors() {
            return None;
        }
        return Some(
            AddAppointment {
                person_id,
                what,
                on,
                status,
            }
            .into(),
        );
    };
    if what != current.what {
        form.set_error(
            1,
            "an appointment keeps what it is for; cancel it and add a new one",
        );
    }
    if status == AppointmentStatus::Cancelled {
        if reason.is_empty() {
            form.set_error(4, "say why the appointment is cancelled");
        }
        if form.has_errors() {
            return None;
        }
        return Some(
            CancelAppointment {
                person_id,
                version,
                appointment_id: current.id,
                reason,
            }
            .into(),
        );
    }
    let kept_or_missed = matches!(status, AppointmentStatus::Kept | AppointmentStatus::Missed);
    if current.status == AppointmentStatus::Planned && kept_or_missed {
        form.set_error(
            3,
            format!(
                "a planned appointment is booked before it can be {}",
                status.label()
            ),
        );
    } else if let Some(d) = on.filter(|d| kept_or_missed && *d > today) {
        form.set_error(
            3,
            format!("an appointment on {d} cannot be {} yet", status.label()),
        );
    } else if date_ok && on == current.on && status == current.status {
        form.set_error(3, "nothing changed: move the date or set the status");
    }
    if form.has_errors() {
        return None;
    }
    Some(
        SetAppointment {
            person_id,
            version,
            appointment_id: current.id,
            on,
            status,
        }
        .into(),
    )
}
