//! Transport, behavioral-health referrals and notifications of release. Referrals and
//! notifications move along pending → sent → acknowledged (failed may be sent again); a step
//! back needs a reason, a skipped step is refused next to the field.

use chrono::NaiveTime;

use super::FormKind;
use super::appointments::{self, set_text};
use super::form::{Field, Form, Value, options, pick, position};
use crate::domain::{
    NotificationStatus, PersonRecord, Recipient, ReferralTarget, Step, StepError, TransportStatus,
};
use crate::store::{AddReferral, Command, SetNotification, SetReferralStatus, SetTransport};

/// After the first field of a form changed: show what the newly chosen item holds now.
/// `part2`: whether the user may see Part 2 details (a Drug Medi-Cal referral is one).
pub fn refill(kind: &FormKind, form: &mut Form, record: &PersonRecord, part2: bool) {
    match kind {
        FormKind::Appointment(ids) => appointments::refill(form, record, ids),
        FormKind::Referral(ids) => refill_referral(form, record, ids, part2),
        FormKind::Notification => {
            let status = recipient(form).map_or(NotificationStatus::Pending, |r| {
                notification_status(record, r)
            });
            set_choice(form, 1, position(NotificationStatus::all(), &status));
            set_text(form, 2, String::new());
        }
        _ => {}
    }
}

fn set_choice(form: &mut Form, i: usize, to: usize) {
    if let Some(Value::Choice { index, .. }) = form.fields.get_mut(i).map(|f| &mut f.value) {
        *index = to;
    }
}

fn statuses() -> Vec<String> {
    options(NotificationStatus::all(), NotificationStatus::label)
}

/// Whether `from` may become `to`, in words for the status field; `Ok(true)` needs a reason.
fn step(from: NotificationStatus, to: NotificationStatus) -> Result<bool, String> {
    match from.step_to(to) {
        Ok(s) => Ok(s == Step::Back),
        Err(StepError::Same(s)) => Err(format!("it is already {s}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Checks a status step against fields `status` and `reason`; false when it is refused.
fn check_status_step(
    form: &mut Form,
    from: NotificationStatus,
    to: NotificationStatus,
    status: usize,
    reason: usize,
) {
    match step(from, to) {
        Err(e) => form.set_error(status, e),
        Ok(true) if form.text(reason).trim().is_empty() => {
            form.set_error(reason, "say why it goes back a step")
        }
        Ok(_) => {}
    }
}

/// Mode, pickup and time as one note: `family car · pickup: lobby, sister · at 18:00`.
fn split_note(note: &str) -> (String, String, String) {
    let (mut mode, mut pickup, mut time) = (Vec::new(), String::new(), String::new());
    for part in note.split(" · ").map(str::trim).filter(|p| !p.is_empty()) {
        if let Some(p) = part.strip_prefix("pickup: ") {
            pickup = p.to_string();
        } else if let Some(t) = part
            .strip_prefix("at ")
            .filter(|t| NaiveTime::parse_from_str(t, "%H:%M").is_ok())
        {
            time = t.to_string();
        } else {
            mode.push(part);
        }
    }
    (mode.join(" · "), pickup, time)
}

/// Fields: 0 status, 1 mode, 2 pickup, 3 time.
pub fn transport_form(record: &PersonRecord) -> Form {
    let t = &record.transport;
    let (mode, pickup, time) = split_note(&t.note);
    Form::new(
        "Transport on release",
        vec![
            Field::choice(
                "Status",
                options(TransportStatus::all(), TransportStatus::label),
                position(TransportStatus::all(), &t.status),
            ),
            Field::text("Mode", mode, "family car, agency van, bus pass"),
            Field::text("Pickup", pickup, "who picks up, and where"),
            Field::text("Time", time, "HH:MM, empty = not fixed yet"),
        ],
    )
}

pub fn transport_submit(form: &mut Form, person_id: &str, version: i64) -> Option<Command> {
    let status = pick(TransportStatus::all(), form.index(0), false)?;
    let (mode, pickup, time) = (
        form.text(1).trim().to_string(),
        form.text(2).trim().to_string(),
        form.text(3).trim().to_string(),
    );
    if status == TransportStatus::Arranged {
        if mode.is_empty() {
            form.set_error(1, "say how (family car, agency van, bus pass)");
        }
        if pickup.is_empty() {
            form.set_error(2, "say who picks the person up, and where");
        }
    }
    if !time.is_empty() && NaiveTime::parse_from_str(&time, "%H:%M").is_err() {
        form.set_error(
            3,
            format!("`{time}` is not a time of day; type HH:MM (24 h)"),
        );
    }
    if mode.contains(" · ") || pickup.contains(" · ") {
        form.set_error(1, "` · ` separates the parts of the note; use a comma");
    }
    if form.has_errors() {
        return None;
    }
    let mut parts = Vec::new();
    if !mode.is_empty() {
        parts.push(mode);
    }
    if !pickup.is_empty() {
        parts.push(format!("pickup: {pickup}"));
    }
    if !time.is_empty() {
        parts.push(format!("at {time}"));
    }
    Some(
        SetTransport {
            person_id: person_id.to_string(),
            version,
            status,
            note: parts.join(" · "),
        }
        .into(),
    )
}

/// A referral as a choice; a Drug Medi-Cal one is a substance-use record (Part 2).
fn referral_target(target: ReferralTarget, part2: bool) -> &'static str {
    if target == ReferralTarget::DrugMediCal && !part2 {
        "protected referral"
    } else {
        target.label()
    }
}

/// Fields: 0 which referral, 1 to, 2 status, 3 reason. Returns the ids of the choices after
/// "new referral".
pub fn referral_form(record: &PersonRecord, part2: bool) -> (Form, Vec<i64>) {
    let mut which = vec!["new referral".to_string()];
    which.extend(record.referrals.iter().map(|r| {
        format!(
            "{} · {}",
            referral_target(r.target, part2),
            r.status.label()
        )
    }));
    let form = Form::new(
        "Behavioral health referrals",
        vec![
            Field::choice("Referral", which, 0),
            Field::choice(
                "To",
                options(ReferralTarget::all(), ReferralTarget::label),
                0,
            ),
            Field::choice("Status", statuses(), 0),
            Field::text("Reason", "", "required when going back a step"),
        ],
    )
    .with_info(vec![
        "pending → sent → acknowledged; a failed referral may be sent again.".into(),
    ]);
    (form, record.referrals.iter().map(|r| r.id).collect())
}

fn chosen_referral<'a>(
    form: &Form,
    record: &'a PersonRecord,
    ids: &[i64],
) -> Option<&'a crate::domain::Referral> {
    form.index(0)
        .checked_sub(1)
        .and_then(|i| ids.get(i))
        .and_then(|id| record.referrals.iter().find(|r| r.id == *id))
}

fn refill_referral(form: &mut Form, record: &PersonRecord, ids: &[i64], part2: bool) {
    let chosen = chosen_referral(form, record, ids);
    // An existing referral keeps its target: the "To" line shows only it.
    let (targets, status) = match chosen {
        Some(r) => (vec![referral_target(r.target, part2).to_string()], r.status),
        None => (
            options(ReferralTarget::all(), ReferralTarget::label),
            NotificationStatus::Pending,
        ),
    };
    if let Some(f) = form.fields.get_mut(1) {
        f.value = Value::Choice {
            options: targets,
            index: 0,
        };
    }
    set_choice(form, 2, position(NotificationStatus::all(), &status));
    set_text(form, 3, String::new());
}

pub fn referral_submit(
    form: &mut Form,
    record: &PersonRecord,
    version: i64,
    ids: &[i64],
) -> Option<Command> {
    let person_id = record.person.id.clone();
    let status = pick(NotificationStatus::all(), form.index(2), false)?;
    let Some(current) = chosen_referral(form, record, ids) else {
        if !matches!(
            status,
            NotificationStatus::Pending | NotificationStatus::Sent
        ) {
            form.set_error(2, "a new referral is pending or sent");
            return None;
        }
        return Some(
            AddReferral {
                person_id,
                target: pick(ReferralTarget::all(), form.index(1), false)?,
                status,
            }
            .into(),
        );
    };
    check_status_step(form, current.status, status, 2, 3);
    if form.has_errors() {
        return None;
    }
    Some(
        SetReferralStatus {
            person_id,
            version,
            referral_id: current.id,
            status,
            reason: form.text(3).trim().to_string(),
        }
        .into(),
    )
}

/// What was last recorded for `recipient`; nothing recorded is pending.
fn notification_status(record: &PersonRecord, recipient: Recipient) -> NotificationStatus {
    record
        .notifications
        .iter()
        .rev()
        .find(|n| n.recipient == recipient)
        .map_or(NotificationStatus::Pending, |n| n.status)
}

fn recipient(form: &Form) -> Option<Recipient> {
    pick(Recipient::all(), form.index(0), false)
}

/// Fields: 0 recipient, 1 status, 2 reason.
pub fn notification_form(record: &PersonRecord) -> Form {
    let recipients = Recipient::all()
        .map(|r| format!("{} ({})", r.label(), notification_status(record, r).label()))
        .collect();
    let first = Recipient::all()
        .next()
        .map_or(NotificationStatus::Pending, |r| {
            notification_status(record, r)
        });
    Form::new(
        "Notifications of release",
        vec![
            Field::choice("Recipient", recipients, 0),
            Field::choice(
                "Status",
                statuses(),
                position(NotificationStatus::all(), &first),
            ),
            Field::text("Reason", "", "required when going back a step"),
        ],
    )
    .with_info(vec![
        "pending → sent → acknowledged; a failed notice may be sent again.".into(),
    ])
}

pub fn notification_submit(
    form: &mut Form,
    record: &PersonRecord,
    version: i64,
) -> Option<Command> {
    let recipient = recipient(form)?;
    let status = pick(NotificationStatus::all(), form.index(1), false)?;
    check_status_step(form, notification_status(record, recipient), status, 1, 2);
    if form.has_errors() {
        return None;
    }
    Some(
        SetNotification {
            person_id: record.person.id.clone(),
            version,
            recipient,
            status,
            reason: form.text(2).trim().to_string(),
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_note_splits_into_mode_pickup_and_time() {
        assert_eq!(
            split_note("family car · pickup: lobby, sister · at 18:00"),
            ("family car".into(), "lobby, sister".into(), "18:00".into())
        );
        // A note written before the dialog existed stays whole, as the mode.
        assert_eq!(
            split_note("Family pick-up at lobby"),
            (
                "Family pick-up at lobby".into(),
                String::new(),
                String::new()
            )
        );
        assert_eq!(
            split_note("van · at noon"),
            ("van · at noon".into(), String::new(), String::new())
        );
    }

    #[test]
    fn status_steps_in_words() {
        use NotificationStatus as N;
        assert_eq!(step(N::Pending, N::Sent), Ok(false));
        assert_eq!(step(N::Acknowledged, N::Sent), Ok(true));
        assert_eq!(step(N::Sent, N::Sent), Err("it is already sent".into()));
        assert!(step(N::Pending, N::Acknowledged).is_err());
    }
}
