//! The rest of the checklist: consent, appointments, transport, referrals and notifications.
//!
//! Appointments, referrals and notifications have no version of their own: an edit names the
//! person version it read and bumps it, so two people changing the same item cannot both win.
//! Adding a new item overwrites nothing and needs no version.

use chrono::NaiveDate;
use rusqlite::OptionalExtension;
use serde_json::Value;

use super::codec::RowExt;
use super::commands::{Reported, audit_row, begin, check_day, check_step, edit_person};
use super::error::{SqlContext, StoreError};
use super::outbox::Writer;
use super::rows::{self, Col};
use super::{Result, Saved};
use crate::domain::{
    Action, AppointmentStatus, Consent, MilestoneCode, NotificationStatus, Recipient,
    ReferralTarget, TransportStatus,
};

/// Consents are signed at intake: one older than this is a typing mistake.
pub const CONSENT_PAST_DAYS: i64 = 10 * 366;
/// An expiry further ahead than this is a mistyped year.
pub const CONSENT_AHEAD_DAYS: i64 = 10 * 366;
/// Appointments are booked for the weeks around release.
pub const APPOINTMENT_PAST_DAYS: i64 = 366;
pub const APPOINTMENT_AHEAD_DAYS: i64 = 2 * 366;

/// Scope, signed date, expiry, guardian signature and Part 2 consent, all at once as the
/// consent form has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetConsent {
    pub person_id: String,
    pub version: i64,
    pub consent: Consent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddAppointment {
    pub person_id: String,
    pub what: String,
    pub on: Option<NaiveDate>,
    /// Planned or booked: an appointment is kept or missed only after it exists.
    pub status: AppointmentStatus,
}

/// Sets the status of an appointment and its date (a reschedule keeps or moves it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAppointment {
    pub person_id: String,
    /// The person version the user read.
    pub version: i64,
    pub appointment_id: i64,
    pub on: Option<NaiveDate>,
    pub status: AppointmentStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelAppointment {
    pub person_id: String,
    pub version: i64,
    pub appointment_id: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetTransport {
    pub person_id: String,
    pub version: i64,
    pub status: TransportStatus,
    /// Who drives, where to, at what time.
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddReferral {
    pub person_id: String,
    pub target: ReferralTarget,
    /// Pending or sent.
    pub status: NotificationStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetReferralStatus {
    pub person_id: String,
    pub version: i64,
    pub referral_id: i64,
    pub status: NotificationStatus,
    /// Required when going back a step.
    pub reason: String,
}

/// Records a notification of release to one recipient as sent, acknowledged, failed or pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetNotification {
    pub person_id: String,
    pub version: i64,
    pub recipient: Recipient,
    pub status: NotificationStatus,
    /// Required when going back a step.
    pub reason: String,
}

impl SetConsent {
    fn check(&self, w: &Writer<'_>) -> Result<()> {
        let c = &self.consent;
        if let Some(signed) = c.signed_on {
            if signed > w.today {
                return Err(StoreError::field(
                    "signed on",
                    format!("{signed} is in the future"),
                ));
            }
            check_day(w, "signed on", Some(signed), CONSENT_PAST_DAYS, 0)?;
            if c.scope.is_none() {
                return Err(StoreError::field(
                    "scope",
                    "a signed consent says what it covers",
                ));
            }
        } else if c.scope.is_some() || c.expires_on.is_some() || c.part2 || c.signed_by_guardian {
            return Err(StoreError::field(
                "signed on",
                "a consent with a scope, expiry, guardian or Part 2 needs its signed date",
            ));
        }
        if let (Some(signed), Some(expires)) = (c.signed_on, c.expires_on) {
            if expires < signed {
                return Err(StoreError::field(
                    "expires on",
                    format!("{expires} is before the signed date {signed}"),
                ));
            }
        }
        check_day(
            w,
            "expires on",
            c.expires_on,
            CONSENT_PAST_DAYS,
            CONSENT_AHEAD_DAYS,
        )
    }

    pub(super) fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::EditConsent, Some(self.version))?;
        self.check(w)?;
        let c = &self.consent;
        edit_person(
            w,
            &head.id,
            self.version,
            Action::EditConsent,
            "consent_set",
            vec![
                ("consent_scope", c.scope.map(|s| s.code()).sql()),
                ("consent_signed_on", c.signed_on.sql()),
                ("consent_expires_on", c.expires_on.sql()),
                ("consent_by_guardian", c.signed_by_guardian.sql()),
                ("consent_part2", c.part2.sql()),
            ],
            MilestoneCode::Consent,
        )
    }
}

fn what_field(what: &str) -> Result<&str> {
    let what = what.trim();
    if what.is_empty() {
        return Err(StoreError::field(
            "what",
            "say what the appointment is for (e.g. \"primary care\")",
        ));
    }
    Ok(what)
}

fn appointment_date(
    w: &Writer<'_>,
    on: Option<NaiveDate>,
    status: AppointmentStatus,
) -> Result<()> {
    check_day(w, "date", on, APPOINTMENT_PAST_DAYS, APPOINTMENT_AHEAD_DAYS)?;
    match (status, on) {
        (AppointmentStatus::Booked | AppointmentStatus::Kept | AppointmentStatus::Missed, None) => {
            Err(StoreError::field(
                "date",
                format!("a {} appointment needs its date", status.label()),
            ))
        }
        (AppointmentStatus::Kept | AppointmentStatus::Missed, Some(d)) if d > w.today => {
            Err(StoreError::field(
                "status",
                format!("an appointment on {d} cannot be {} yet", status.label()),
            ))
        }
        _ => Ok(()),
    }
}

impl AddAppointment {
    pub(super) fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::EditCarePlan, None)?;
        let what = what_field(&self.what)?;
        if !matches!(
            self.status,
            AppointmentStatus::Planned | AppointmentStatus::Booked
        ) {
            return Err(StoreError::field(
                "status",
                "a new appointment is planned or booked",
            ));
        }
        appointment_date(w, self.on, self.status)?;
        let (id, after) = rows::insert(
            w,
            "appointments",
            &head,
            vec![
                ("what", what.sql()),
                ("on_date", self.on.sql()),
                ("status", self.status.code().sql()),
            ],
        )?;
        let event = Reported::from(MilestoneCode::Appointments).event(w, &head)?;
        let row = audit_row(
            &head,
            "appointment_added",
            "appointment",
            Some(id),
            (Value::Null, after),
            None,
        );
        w.finish(&head, head.version, row, Some(event))
    }
}

fn appointment_status(w: &Writer<'_>, person_id: &str, id: i64) -> Result<AppointmentStatus> {
    w.tx.prepare_cached("SELECT status FROM appointments WHERE person_id = ?1 AND id = ?2")
        .and_then(|mut s| {
            s.query_row(rusqlite::params![person_id, id], |r| r.code(0))
                .optional()
        })
        .ctx("reading the appointment")?
        .ok_or_else(|| StoreError::field("appointment", format!("no appointment {id}")))
}

/// One appointment edit: status checks, the row, the person version, audit and event.
fn edit_appointment(
    w: &Writer<'_>,
    person_id: &str,
    read: i64,
    id: i64,
    kind: &'static str,
    cols: rows::Cols,
    reason: Option<String>,
) -> Result<Saved> {
    let head = begin(w, person_id, Action::EditCarePlan, Some(read))?;
    let change = rows::update(w, "appointments", &head, Some(id), cols)?;
    let version = w.bump_person(&head)?;
    let event = Reported::from(MilestoneCode::Appointments).event(w, &head)?;
    let row = audit_row(&head, kind, "appointment", Some(id), change, reason);
    w.finish(&head, version, row, Some(event))
}

impl SetAppointment {
    pub(super) fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::EditCarePlan, Some(self.version))?;
        let current = appointment_status(w, &head.id, self.appointment_id)?;
        use AppointmentStatus as A;
        match (current, self.status) {
            (A::Cancelled, _) => {
                return Err(StoreError::field(
                    "status",
                    "the appointment was cancelled; add a new one instead",
                ));
            }
            (_, A::Cancelled) => {
                return Err(StoreError::field(
                    "status",
                    "cancel an appointment with its reason (cancel, not set status)",
                ));
            }
            (A::Planned, A::Kept | A::Missed) => {
                return Err(StoreError::field(
                    "status",
                    format!(
                        "a planned appointment is booked before it can be {}",
                        self.status.label()
                    ),
                ));
            }
            _ => {}
        }
        appointment_date(w, self.on, self.status)?;
        edit_appointment(
            w,
            &head.id,
            self.version,
            self.appointment_id,
            "appointment_set",
            vec![
                ("on_date", self.on.sql()),
                ("status", self.status.code().sql()),
            ],
            None,
        )
    }
}

impl CancelAppointment {
    pub(super) fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::EditCarePlan, Some(self.version))?;
        if self.reason.trim().is_empty() {
            return Err(StoreError::field(
                "reason",
                "say why the appointment is cancelled",
            ));
        }
        if appointment_status(w, &head.id, self.appointment_id)? == AppointmentStatus::Cancelled {
            return Err(StoreError::field(
                "status",
                "the appointment is already cancelled",
            ));
        }
        edit_appointment(
            w,
            &head.id,
            self.version,
            self.appointment_id,
            "appointment_cancelled",
            vec![("status", AppointmentStatus::Cancelled.code().sql())],
            Some(self.reason.trim().to_string()),
        )
    }
}

impl SetTransport {
    pub(super) fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        if self.status == TransportStatus::Arranged && self.note.trim().is_empty() {
            return Err(StoreError::field(
                "note",
                "say who picks the person up, where to and when",
            ));
        }
        edit_person(
            w,
            &self.person_id,
            self.version,
            Action::EditServices,
            "transport_set",
            vec![
                ("transport", self.status.code().sql()),
                ("transport_note", self.note.trim().sql()),
            ],
            MilestoneCode::Transport,
        )
    }
}

impl AddReferral {
    pub(super) fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::EditServices, None)?;
        if !matches!(
            self.status,
            NotificationStatus::Pending | NotificationStatus::Sent
        ) {
            return Err(StoreError::field(
                "status",
                "a new referral is pending or sent",
            ));
        }
        let (id, after) = rows::insert(
            w,
            "referrals",
            &head,
            vec![
                ("target", self.target.code().sql()),
                ("status", self.status.code().sql()),
            ],
        )?;
        let event = Reported::from(MilestoneCode::BehavioralHealthLink).event(w, &head)?;
        let row = audit_row(
            &head,
            "referral_added",
            "referral",
            Some(id),
            (Value::Null, after),
            None,
        );
        w.finish(&head, head.version, row, Some(event))
    }
}

impl SetReferralStatus {
    pub(super) fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::EditServices, Some(self.version))?;
        let current: NotificationStatus =
            w.tx.prepare_cached("SELECT status FROM referrals WHERE person_id = ?1 AND id = ?2")
                .and_then(|mut s| {
                    s.query_row(rusqlite::params![head.id, self.referral_id], |r| r.code(0))
                        .optional()
                })
                .ctx("reading the referral")?
                .ok_or_else(|| {
                    StoreError::field("referral", format!("no referral {}", self.referral_id))
                })?;
        check_step(
            "referral status",
            current.step_to(self.status),
            &self.reason,
        )?;
        let change = rows::update(
            w,
            "referrals",
            &head,
            Some(self.referral_id),
            vec![("status", self.status.code().sql())],
        )?;
        let version = w.bump_person(&head)?;
        let event = Reported::from(MilestoneCode::BehavioralHealthLink).event(w, &head)?;
        let reason = Some(self.reason.trim().to_string()).filter(|r| !r.is_empty());
        let row = audit_row(
            &head,
            "referral_status_set",
            "referral",
            Some(self.referral_id),
            change,
            reason,
        );
        w.finish(&head, version, row, Some(event))
    }
}

impl SetNotification {
    pub(super) fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(
            w,
            &self.person_id,
            Action::RecordNotifications,
            Some(self.version),
        )?;
        let found: Option<(i64, NotificationStatus)> =
            w.tx.prepare_cached(
                "SELECT pos, status FROM notifications WHERE person_id = ?1 AND recipient = ?2
                 ORDER BY pos DESC LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row(rusqlite::params![head.id, self.recipient.code()], |r| {
                    Ok((r.get(0)?, r.code(1)?))
                })
                .optional()
            })
            .ctx("reading the notification")?;
        let current = found.map_or(NotificationStatus::Pending, |f| f.1);
        check_step(
            "notification status",
            current.step_to(self.status),
            &self.reason,
        )?;
        let before = found.map_or(
            Value::Null,
            |_| serde_json::json!({"recipient": self.recipient.code(), "status": current.code()}),
        );
        let after =
            serde_json::json!({"recipient": self.recipient.code(), "status": self.status.code()});
        let pos = match found {
            Some((pos, _)) => {
                w.tx.prepare_cached(
                    "UPDATE notifications SET status = ?1 WHERE person_id = ?2 AND pos = ?3",
                )
                .and_then(|mut s| s.execute(rusqlite::params![self.status.code(), head.id, pos]))
                .ctx("updating the notification")?;
                pos
            }
            None => {
                let pos: i64 =
                    w.tx.prepare_cached(
                        "SELECT COALESCE(MAX(pos), 0) + 1 FROM notifications WHERE person_id = ?1",
                    )
                    .and_then(|mut s| s.query_row([&head.id], |r| r.get(0)))
                    .ctx("numbering the notification")?;
                w.tx.prepare_cached(
                    "INSERT INTO notifications (person_id, pos, recipient, status)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut s| {
                    s.execute(rusqlite::params![
                        head.id,
                        pos,
                        self.recipient.code(),
                        self.status.code()
                    ])
                })
                .ctx("adding the notification")?;
                pos
            }
        };
        let version = w.bump_person(&head)?;
        let event = Reported::from(MilestoneCode::Notifications).event(w, &head)?;
        let reason = Some(self.reason.trim().to_string()).filter(|r| !r.is_empty());
        let row = audit_row(
            &head,
            "notification_set",
            "notification",
            Some(pos),
            (before, after),
            reason,
        );
        w.finish(&head, version, row, Some(event))
    }
}
