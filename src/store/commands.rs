//! The write commands: one small function each, all sharing [`Writer`]'s audit/outbox tail.

use chrono::NaiveDate;
use rusqlite::OptionalExtension;
use serde_json::{Value, json};

use super::checklist::{
    AddAppointment, AddReferral, CancelAppointment, SetAppointment, SetConsent, SetNotification,
    SetReferralStatus, SetTransport,
};
use super::error::{SqlContext, StoreError};
use super::meeting::CompleteTask;
use super::outbox::{AuditRow, Event, Head, Writer};
use super::rows::{self, Col, Cols};
use super::{Actor, Result, Saved, Store};
use crate::domain::events::EventType;
use crate::domain::role::Context;
use crate::domain::{
    Action, BarrierReason, CarePlanStatus, Certainty, ChangeReason, ContactKind, DmeStatus,
    FlagStatus, MarkKind, MedClass, MediCal, MilestoneCode, MilestoneState, NaloxoneStatus,
    ReleaseSource, ReleaseType, Rules, Screening, Step, StepError, SupplyStatus, WarmHandoff,
    readiness,
};

/// Release dates further away than this are typing mistakes, not sentences we plan for.
const MAX_YEARS_AHEAD: i64 = 10;
/// A release date this long past is a typing mistake: someone still held that long after their
/// expected date would have been corrected already.
const MAX_DAYS_PAST: i64 = 366;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeReleaseDate {
    pub person_id: String,
    pub version: i64,
    pub date: Option<NaiveDate>,
    pub certainty: Certainty,
    pub kind: Option<ReleaseType>,
    pub source: Option<ReleaseSource>,
    pub reason: ChangeReason,
    /// Required when `reason` is `Other`.
    pub reason_text: String,
}

/// Proposes a date change for the meeting to decide (probation, care managers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagDateChange {
    pub person_id: String,
    pub proposed: Option<NaiveDate>,
    pub reason: ChangeReason,
    pub reason_text: String,
}

/// Accepting applies the proposed date (with `certainty`) as a release-date change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecideDateFlag {
    pub person_id: String,
    /// The person version the decision was made on.
    pub version: i64,
    pub flag_id: i64,
    pub accept: bool,
    pub certainty: Certainty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgeDateChange {
    pub person_id: String,
    pub change_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetMedicationSupply {
    pub person_id: String,
    pub medication_id: i64,
    /// The medication row's version.
    pub version: i64,
    pub supply: SupplyStatus,
    /// Required when the change goes back a step (see [`SupplyStatus::step_to`]).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddMedication {
    pub person_id: String,
    pub name: String,
    pub class: MedClass,
    pub long_acting_injectable: bool,
    pub next_dose: Option<NaiveDate>,
    pub supply: SupplyStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveMedication {
    pub person_id: String,
    pub medication_id: i64,
    pub version: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetNaloxone {
    pub person_id: String,
    pub version: i64,
    pub status: Option<NaloxoneStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetDmeStatus {
    pub person_id: String,
    pub dme_id: i64,
    /// The DME row's version.
    pub version: i64,
    pub status: DmeStatus,
    /// Required when the change goes back a step (see [`DmeStatus::step_to`]).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddDme {
    pub person_id: String,
    pub item: String,
    pub status: DmeStatus,
}

/// Takes out a DME item entered by mistake (a real "no longer needed" is a status, not this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveDme {
    pub person_id: String,
    pub dme_id: i64,
    /// The DME row's version.
    pub version: i64,
    pub reason: String,
}

/// Puts a directory contact into one care-team slot (the slot is named by its contact kind), or
/// empties the slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignCareTeam {
    pub person_id: String,
    pub version: i64,
    pub slot: ContactKind,
    pub contact_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetMediCal {
    pub person_id: String,
    pub version: i64,
    pub medi_cal: MediCal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetScreening {
    pub person_id: String,
    pub version: i64,
    pub screening: Screening,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCarePlan {
    pub person_id: String,
    pub version: i64,
    pub status: CarePlanStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetWarmHandoff {
    pub person_id: String,
    pub version: i64,
    pub handoff: WarmHandoff,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBarrier {
    pub person_id: String,
    pub milestone: MilestoneCode,
    pub reason: BarrierReason,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveBarrier {
    pub person_id: String,
    pub barrier_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddNote {
    pub person_id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkMilestone {
    pub person_id: String,
    pub milestone: MilestoneCode,
    pub kind: MarkKind,
}

macro_rules! commands {
    ($($name:ident),+ $(,)?) => {
        /// Any write command, for the UI's `Effect::Save`.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Command { $($name($name)),+ }

        $(impl From<$name> for Command {
            fn from(c: $name) -> Self { Self::$name(c) }
        })+

        impl Command {
            pub fn person_id(&self) -> &str {
                match self { $(Self::$name(c) => &c.person_id),+ }
            }
            fn run(&self, w: &Writer<'_>) -> Result<Saved> {
                match self { $(Self::$name(c) => c.run(w)),+ }
            }
        }
    };
}

commands!(
    ChangeReleaseDate,
    SetConsent,
    AddAppointment,
    SetAppointment,
    CancelAppointment,
    SetTransport,
    AddReferral,
    SetReferralStatus,
    SetNotification,
    FlagDateChange,
    DecideDateFlag,
    AcknowledgeDateChange,
    SetMedicationSupply,
    AddMedication,
    RemoveMedication,
    SetNaloxone,
    SetDmeStatus,
    AddDme,
    RemoveDme,
    AssignCareTeam,
    SetMediCal,
    SetScreening,
    SetCarePlan,
    SetWarmHandoff,
    RecordBarrier,
    ResolveBarrier,
    AddNote,
    MarkMilestone,
    CompleteTask,
);

impl Command {
    /// The permission the command needs (the UI greys what the role may not do). Assigning a
    /// care manager may further depend on the contact's organisation.
    pub fn action(&self) -> Action {
        use Action as A;
        match self {
            Self::ChangeReleaseDate(_) | Self::DecideDateFlag(_) => A::SetReleaseDate,
            Self::FlagDateChange(_) => A::FlagDateChange,
            Self::AcknowledgeDateChange(_) => A::AcknowledgeDateChange,
            Self::SetMedicationSupply(_)
            | Self::AddMedication(_)
            | Self::RemoveMedication(_)
            | Self::SetNaloxone(_) => A::ConfirmMedication,
            Self::SetDmeStatus(_) | Self::AddDme(_) | Self::RemoveDme(_) => A::ConfirmDme,
            Self::AssignCareTeam(_) => A::AssignCareManager,
            Self::SetMediCal(_) => A::EditMediCal,
            Self::SetScreening(_) => A::EditScreening,
            Self::SetConsent(_) => A::EditConsent,
            Self::SetCarePlan(_)
            | Self::SetWarmHandoff(_)
            | Self::AddAppointment(_)
            | Self::SetAppointment(_)
            | Self::CancelAppointment(_) => A::EditCarePlan,
            Self::SetTransport(_) | Self::AddReferral(_) | Self::SetReferralStatus(_) => {
                A::EditServices
            }
            Self::SetNotification(_) => A::RecordNotifications,
            Self::RecordBarrier(_)
            | Self::ResolveBarrier(_)
            | Self::AddNote(_)
            | Self::MarkMilestone(_) => A::RecordBarrier,
            Self::CompleteTask(_) => A::CompleteTask,
        }
    }
}

impl Store {
    /// Applies one command in one transaction: the change, one audit row, at most one event.
    pub fn apply(&mut self, actor: &Actor, command: impl Into<Command>) -> Result<Saved> {
        let command = command.into();
        self.write(actor, |w| command.run(w))
    }
}

/// Opens the person for a command: exists, the role may do `action`, and (for edits of the
/// person row) the version still matches what the user read.
pub(super) fn begin(
    w: &Writer<'_>,
    person_id: &str,
    action: Action,
    read: Option<i64>,
) -> Result<Head> {
    let head = w.person(person_id)?;
    w.allow(action, head.context)?;
    if let Some(read) = read {
        w.expect_person_version(&head, read)?;
    }
    Ok(head)
}

pub(super) fn audit_row<'a>(
    head: &'a Head,
    kind: &'static str,
    entity: &'static str,
    entity_id: Option<i64>,
    change: (Value, Value),
    reason: Option<String>,
) -> AuditRow<'a> {
    AuditRow {
        person_id: Some(&head.id),
        kind,
        entity,
        entity_id: Some(entity_id.map_or_else(|| head.id.clone(), |id| id.to_string())),
        before: Some(change.0),
        after: Some(change.1),
        reason,
    }
}

/// The `milestone_changed` event of `code` as the record stands after the change (read inside
/// the transaction): the hub learns the milestone's state, never the detail behind it.
pub(super) fn milestone_event(w: &Writer<'_>, head: &Head, code: MilestoneCode) -> Result<Event> {
    let record = super::load::load_one(w.tx, &head.id)?
        .ok_or_else(|| StoreError::invalid(format!("no person with id {}", head.id)))?;
    let status = readiness(&record, w.today, &Rules::default())
        .get(code)
        .cloned()
        .ok_or_else(|| StoreError::invalid(format!("no milestone {code}")))?;
    let state = match status.state {
        MilestoneState::Done => "done",
        MilestoneState::NotNeeded => "not_needed",
        MilestoneState::Blocked => "blocked",
        MilestoneState::Pending | MilestoneState::DueSoon | MilestoneState::Overdue => "pending",
    };
    let mut data = json!({"code": code.code(), "state": state, "at": super::codec::date(w.today)});
    if let Some(barrier) = record.open_barrier(code).filter(|_| state == "blocked") {
        data["barrier"] = json!(barrier.reason.code());
        if !barrier.text.trim().is_empty() {
            data["barrier_text"] = json!(barrier.text.chars().take(200).collect::<String>());
        }
    }
    Ok(Event {
        kind: EventType::MilestoneChanged,
        data,
        part2: false,
    })
}

fn check_reason(reason: ChangeReason, text: &str) -> Result<()> {
    if reason == ChangeReason::Other && text.trim().is_empty() {
        return Err(StoreError::field(
            "reason",
            "a release-date change for reason \"other\" needs a few words saying why",
        ));
    }
    Ok(())
}

fn check_date(w: &Writer<'_>, date: Option<NaiveDate>) -> Result<()> {
    if let Some(d) = date {
        let days = (d - w.today).num_days();
        if days > MAX_YEARS_AHEAD * 366 {
            return Err(StoreError::field(
                "release date",
                format!("{d} is more than {MAX_YEARS_AHEAD} years away; check the year"),
            ));
        }
        if days < -MAX_DAYS_PAST {
            return Err(StoreError::field(
                "release date",
                format!("{d} is more than a year in the past; check the year"),
            ));
        }
    }
    Ok(())
}

/// A day that must lie within `past` days before and `ahead` days after today.
pub(super) fn check_day(
    w: &Writer<'_>,
    field: &'static str,
    date: Option<NaiveDate>,
    past: i64,
    ahead: i64,
) -> Result<()> {
    if let Some(d) = date {
        let days = (d - w.today).num_days();
        if days > ahead {
            return Err(StoreError::field(
                field,
                format!("{d} is more than {ahead} days ahead; check the year"),
            ));
        }
        if days < -past {
            return Err(StoreError::field(
                field,
                format!("{d} is more than {past} days in the past; check the year"),
            ));
        }
    }
    Ok(())
}

/// A status change must follow the item's path; going back needs a reason.
pub(super) fn check_step(
    field: &'static str,
    step: std::result::Result<Step, StepError>,
    reason: &str,
) -> Result<()> {
    match step {
        Ok(Step::Forward) => Ok(()),
        Ok(Step::Back) if reason.trim().is_empty() => Err(StoreError::field(
            "reason",
            format!("going back a step in {field} needs a reason"),
        )),
        Ok(Step::Back) => Ok(()),
        Err(e) => Err(StoreError::field(field, e.to_string())),
    }
}

/// The reason of a step back, recorded in the audit row; None for a forward step.
fn step_reason(reason: &str) -> Option<String> {
    Some(reason.trim().to_string()).filter(|r| !r.is_empty())
}

struct NewDate<'a> {
    date: Option<NaiveDate>,
    certainty: Certainty,
    kind: Option<Option<ReleaseType>>,
    source: Option<ReleaseSource>,
    reason: ChangeReason,
    reason_text: &'a str,
}

/// Moves the release date and appends the history row; shared by a direct change and an
/// accepted flag. Returns the audit change and the event.
fn move_release_date(
    w: &Writer<'_>,
    head: &Head,
    new: &NewDate<'_>,
) -> Result<((Value, Value), Event)> {
    check_date(w, new.date)?;
    check_reason(new.reason, new.reason_text)?;
    let mut cols: Cols = vec![
        ("release_date", new.date.sql()),
        ("release_certainty", new.certainty.code().sql()),
        ("release_source", new.source.map(|s| s.code()).sql()),
    ];
    if let Some(kind) = new.kind {
        cols.push(("release_type", kind.map(|k| k.code()).sql()));
    }
    let (before, after) = rows::update(w, "persons", head, None, cols)?;
    let previous = before
        .get("release_date")
        .and_then(Value::as_str)
        .map(str::to_string);
    rows::insert(
        w,
        "release_changes",
        head,
        vec![
            ("changed_at", w.now.sql()),
            ("changed_by", w.actor.login.as_str().sql()),
            ("from_date", previous.clone().sql()),
            ("to_date", new.date.sql()),
            ("certainty", new.certainty.code().sql()),
            ("source", new.source.map(|s| s.code()).sql()),
            ("reason", new.reason.code().sql()),
            ("reason_text", new.reason_text.trim().sql()),
        ],
    )?;
    let event = Event {
        kind: EventType::ReleaseDateChanged,
        data: json!({
            "previous": previous,
            "new": new.date.map(super::codec::date),
            "certainty": new.certainty.code(),
            "type": after.get("release_type").cloned().unwrap_or(Value::Null),
            "source": new.source.map(|s| s.code()),
            "reason": new.reason.code(),
        }),
        part2: false,
    };
    Ok(((before, after), event))
}

impl ChangeReleaseDate {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(
            w,
            &self.person_id,
            Action::SetReleaseDate,
            Some(self.version),
        )?;
        let (change, event) = move_release_date(
            w,
            &head,
            &NewDate {
                date: self.date,
                certainty: self.certainty,
                kind: Some(self.kind),
                source: self.source,
                reason: self.reason,
                reason_text: &self.reason_text,
            },
        )?;
        let version = w.bump_person(&head)?;
        let reason = Some(self.reason_text.clone()).filter(|t| !t.trim().is_empty());
        let row = audit_row(
            &head,
            "release_date_changed",
            "person",
            None,
            change,
            reason,
        );
        w.finish(&head, version, row, Some(event))
    }
}

impl FlagDateChange {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::FlagDateChange, None)?;
        check_date(w, self.proposed)?;
        check_reason(self.reason, &self.reason_text)?;
        let (id, after) = rows::insert(
            w,
            "date_flags",
            &head,
            vec![
                ("proposed", self.proposed.sql()),
                ("reason", self.reason.code().sql()),
                ("reason_text", self.reason_text.trim().sql()),
                ("raised_by", w.actor.login.as_str().sql()),
                ("raised_at", w.now.sql()),
                ("status", FlagStatus::Open.code().sql()),
            ],
        )?;
        let event = Event {
            kind: EventType::ReleaseDateFlagged,
            data: json!({
                "flag_id": id.to_string(),
                "proposed": self.proposed.map(super::codec::date),
                "reason": self.reason.code(),
            }),
            part2: false,
        };
        let row = audit_row(
            &head,
            "date_flag_raised",
            "date_flag",
            Some(id),
            (Value::Null, after),
            None,
        );
        w.finish(&head, head.version, row, Some(event))
    }
}

impl DecideDateFlag {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(
            w,
            &self.person_id,
            Action::SetReleaseDate,
            Some(self.version),
        )?;
        let flag =
            w.tx.prepare_cached(
                "SELECT proposed, reason, reason_text, status, decided_by, decided_at
                 FROM date_flags WHERE person_id = ?1 AND id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(rusqlite::params![head.id, self.flag_id], |r| {
                    use super::codec::RowExt;
                    Ok((
                        r.opt_date(0)?,
                        r.code::<ChangeReason>(1)?,
                        r.get::<_, String>(2)?,
                        r.code::<FlagStatus>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                })
                .optional()
            })
            .ctx("reading the date flag")?
            .ok_or_else(|| StoreError::invalid(format!("no date flag {}", self.flag_id)))?;
        let (proposed, reason, reason_text, status, decided_by, decided_at) = flag;
        if status != FlagStatus::Open {
            return Err(StoreError::Conflict {
                changed_by: decided_by.unwrap_or_default(),
                changed_at: decided_at.unwrap_or_default(),
                what: format!("date flag {} (already {status})", self.flag_id),
            });
        }
        let decided = if self.accept {
            FlagStatus::Accepted
        } else {
            FlagStatus::Rejected
        };
        let (before, after) = rows::update(
            w,
            "date_flags",
            &head,
            Some(self.flag_id),
            vec![
                ("status", decided.code().sql()),
                ("decided_by", w.actor.login.as_str().sql()),
                ("decided_at", w.now.sql()),
            ],
        )?;
        if !self.accept {
            let row = audit_row(
                &head,
                "date_flag_rejected",
                "date_flag",
                Some(self.flag_id),
                (before, after),
                None,
            );
            return w.finish(&head, head.version, row, None);
        }
        let source: Option<ReleaseSource> =
            w.tx.query_row(
                "SELECT release_source FROM persons WHERE id = ?1",
                [&head.id],
                |r| {
                    use super::codec::RowExt;
                    r.opt_code(0)
                },
            )
            .ctx("reading the release source")?;
        let (change, event) = move_release_date(
            w,
            &head,
            &NewDate {
                date: proposed,
                certainty: self.certainty,
                kind: None,
                source,
                reason,
                reason_text: &reason_text,
            },
        )?;
        let version = w.bump_person(&head)?;
        let row = audit_row(
            &head,
            "date_flag_accepted",
            "person",
            None,
            change,
            Some(format!("date flag {}", self.flag_id)),
        );
        w.finish(&head, version, row, Some(event))
    }
}

impl AcknowledgeDateChange {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::AcknowledgeDateChange, None)?;
        let seen = rows::snapshot(
            w,
            "release_changes",
            &head,
            Some(self.change_id),
            &["acknowledged_by", "acknowledged_at"],
        )?
        .ok_or_else(|| StoreError::invalid(format!("no release-date change {}", self.change_id)))?;
        if let Some(by) = seen.get("acknowledged_by").and_then(Value::as_str) {
            return Err(StoreError::Conflict {
                changed_by: by.to_string(),
                changed_at: seen
                    .get("acknowledged_at")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                what: format!(
                    "release-date change {} (already acknowledged)",
                    self.change_id
                ),
            });
        }
        let change = rows::update(
            w,
            "release_changes",
            &head,
            Some(self.change_id),
            vec![
                ("acknowledged_by", w.actor.login.as_str().sql()),
                ("acknowledged_at", w.now.sql()),
            ],
        )?;
        let row = audit_row(
            &head,
            "date_change_acknowledged",
            "release_change",
            Some(self.change_id),
            change,
            None,
        );
        w.finish(&head, head.version, row, None)
    }
}

/// A removed medication tells the hub it is no longer needed: the contract has no "removed".
const REMOVED: &str = "not_needed";

/// The event of a medication change. Part 2 items say only their class: never the drug.
fn medication_event(w: &Writer<'_>, head: &Head, id: i64, status: &str) -> Result<Event> {
    let (name, class, lai, next_dose): (String, String, bool, Option<String>) =
        w.tx.prepare_cached(
            "SELECT name, class, lai, next_dose FROM medications WHERE person_id = ?1 AND id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(rusqlite::params![head.id, id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
        })
        .ctx("reading the medication")?;
    let part2 = class.parse::<MedClass>().is_ok_and(MedClass::is_part2);
    let days_supply = (status != SupplyStatus::NotNeeded.code()
        && status != SupplyStatus::Refused.code()
        && status != REMOVED)
        .then_some(30);
    let mut data = json!({
        "item": id.to_string(),
        "class": class,
        "status": status,
        "long_acting_injectable": lai,
        "next_dose": next_dose,
    });
    if let Some(days) = days_supply {
        data["days_supply"] = json!(days);
    }
    if !part2 {
        data["name"] = Value::from(name);
    }
    Ok(Event {
        kind: EventType::MedicationStatusChanged,
        data,
        part2,
    })
}

impl SetMedicationSupply {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::ConfirmMedication, None)?;
        let version = w.bump_item("medications", &head, self.medication_id, self.version)?;
        let current: SupplyStatus =
            w.tx.prepare_cached("SELECT supply FROM medications WHERE person_id = ?1 AND id = ?2")
                .and_then(|mut s| {
                    s.query_row(rusqlite::params![head.id, self.medication_id], |r| {
                        use super::codec::RowExt;
                        r.code(0)
                    })
                })
                .ctx("reading the medication")?;
        check_step("supply", current.step_to(self.supply), &self.reason)?;
        let change = rows::update(
            w,
            "medications",
            &head,
            Some(self.medication_id),
            vec![
                ("supply", self.supply.code().sql()),
                ("confirmed_by", w.actor.login.as_str().sql()),
                ("confirmed_at", w.now.sql()),
            ],
        )?;
        let event = medication_event(w, &head, self.medication_id, self.supply.code())?;
        let row = audit_row(
            &head,
            "medication_supply_set",
            "medication",
            Some(self.medication_id),
            change,
            step_reason(&self.reason),
        );
        w.finish(&head, version, row, Some(event))
    }
}

impl AddMedication {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::ConfirmMedication, None)?;
        if self.name.trim().is_empty() {
            return Err(StoreError::field("name", "a medication needs a name"));
        }
        let (id, after) = rows::insert(
            w,
            "medications",
            &head,
            vec![
                ("name", self.name.trim().sql()),
                ("class", self.class.code().sql()),
                ("lai", self.long_acting_injectable.sql()),
                ("next_dose", self.next_dose.sql()),
                ("supply", self.supply.code().sql()),
                ("version", 1_i64.sql()),
                ("updated_at", w.now.sql()),
                ("updated_by", w.actor.login.as_str().sql()),
            ],
        )?;
        let event = medication_event(w, &head, id, self.supply.code())?;
        let row = audit_row(
            &head,
            "medication_added",
            "medication",
            Some(id),
            (Value::Null, after),
            None,
        );
        w.finish(&head, 1, row, Some(event))
    }
}

impl RemoveMedication {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::ConfirmMedication, None)?;
        if self.reason.trim().is_empty() {
            return Err(StoreError::field(
                "reason",
                "say why the medication is removed",
            ));
        }
        let version = w.bump_item("medications", &head, self.medication_id, self.version)?;
        // The event reads the row, so it is built before the row goes.
        let event = medication_event(w, &head, self.medication_id, REMOVED)?;
        let before = rows::delete(
            w,
            "medications",
            &head,
            self.medication_id,
            &[
                "name",
                "class",
                "lai",
                "next_dose",
                "supply",
                "confirmed_by",
                "confirmed_at",
            ],
        )?;
        let row = audit_row(
            &head,
            "medication_removed",
            "medication",
            Some(self.medication_id),
            (before, Value::Null),
            Some(self.reason.trim().to_string()),
        );
        w.finish(&head, version, row, Some(event))
    }
}

/// A person-row edit with a milestone event: check, update, bump, audit, event.
pub(super) fn edit_person(
    w: &Writer<'_>,
    person_id: &str,
    read: i64,
    action: Action,
    kind: &'static str,
    cols: Cols,
    event: impl Into<Reported>,
) -> Result<Saved> {
    let head = begin(w, person_id, action, Some(read))?;
    let change = rows::update(w, "persons", &head, None, cols)?;
    let version = w.bump_person(&head)?;
    let event = event.into().event(w, &head)?;
    let row = audit_row(&head, kind, "person", None, change, None);
    w.finish(&head, version, row, Some(event))
}

/// What a change tells the hub: the state of a milestone after it, or an event of its own.
pub(super) enum Reported {
    Milestone(MilestoneCode),
    Event(Event),
}

impl From<MilestoneCode> for Reported {
    fn from(code: MilestoneCode) -> Self {
        Self::Milestone(code)
    }
}

impl Reported {
    pub(super) fn event(self, w: &Writer<'_>, head: &Head) -> Result<Event> {
        match self {
            Self::Milestone(code) => milestone_event(w, head, code),
            Self::Event(e) => Ok(e),
        }
    }
}

impl SetNaloxone {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let state = self.status.map(|s| s.code());
        edit_person(
            w,
            &self.person_id,
            self.version,
            Action::ConfirmMedication,
            "naloxone_set",
            vec![("naloxone", state.sql())],
            MilestoneCode::Naloxone,
        )
    }
}

fn dme_event(w: &Writer<'_>, head: &Head, id: i64, status: DmeStatus) -> Result<Event> {
    let item: String =
        w.tx.prepare_cached("SELECT item FROM dme WHERE person_id = ?1 AND id = ?2")
            .and_then(|mut s| s.query_row(rusqlite::params![head.id, id], |r| r.get(0)))
            .ctx("reading the DME item")?;
    Ok(Event {
        kind: EventType::DmeStatusChanged,
        data: json!({"item": id.to_string(), "kind": item, "status": status.code()}),
        part2: false,
    })
}

impl SetDmeStatus {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::ConfirmDme, None)?;
        let version = w.bump_item("dme", &head, self.dme_id, self.version)?;
        let current: DmeStatus =
            w.tx.prepare_cached("SELECT status FROM dme WHERE person_id = ?1 AND id = ?2")
                .and_then(|mut s| {
                    s.query_row(rusqlite::params![head.id, self.dme_id], |r| {
                        use super::codec::RowExt;
                        r.code(0)
                    })
                })
                .ctx("reading the DME item")?;
        check_step("DME status", current.step_to(self.status), &self.reason)?;
        let change = rows::update(
            w,
            "dme",
            &head,
            Some(self.dme_id),
            vec![
                ("status", self.status.code().sql()),
                ("confirmed_by", w.actor.login.as_str().sql()),
                ("confirmed_at", w.now.sql()),
            ],
        )?;
        let event = dme_event(w, &head, self.dme_id, self.status)?;
        let row = audit_row(
            &head,
            "dme_status_set",
            "dme",
            Some(self.dme_id),
            change,
            step_reason(&self.reason),
        );
        w.finish(&head, version, row, Some(event))
    }
}

impl AddDme {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::ConfirmDme, None)?;
        if self.item.trim().is_empty() {
            return Err(StoreError::field("item", "a DME item needs a name"));
        }
        let (id, after) = rows::insert(
            w,
            "dme",
            &head,
            vec![
                ("item", self.item.trim().sql()),
                ("status", self.status.code().sql()),
                ("version", 1_i64.sql()),
                ("updated_at", w.now.sql()),
                ("updated_by", w.actor.login.as_str().sql()),
            ],
        )?;
        let event = dme_event(w, &head, id, self.status)?;
        let row = audit_row(
            &head,
            "dme_added",
            "dme",
            Some(id),
            (Value::Null, after),
            None,
        );
        w.finish(&head, 1, row, Some(event))
    }
}

impl RemoveDme {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::ConfirmDme, None)?;
        if self.reason.trim().is_empty() {
            return Err(StoreError::field(
                "reason",
                "say why the DME item is removed",
            ));
        }
        let version = w.bump_item("dme", &head, self.dme_id, self.version)?;
        // The contract has no "removed": the hub hears the item is no longer needed. The event
        // reads the row, so it is built before the row goes.
        let event = dme_event(w, &head, self.dme_id, DmeStatus::NotNeeded)?;
        let before = rows::delete(
            w,
            "dme",
            &head,
            self.dme_id,
            &["item", "status", "confirmed_by", "confirmed_at"],
        )?;
        let row = audit_row(
            &head,
            "dme_removed",
            "dme",
            Some(self.dme_id),
            (before, Value::Null),
            Some(self.reason.trim().to_string()),
        );
        w.finish(&head, version, row, Some(event))
    }
}

fn slot_column(slot: ContactKind) -> &'static str {
    match slot {
        ContactKind::PreReleaseCm => "pre_release_cm_id",
        ContactKind::EcmProvider => "post_release_ecm_id",
        ContactKind::ProbationOfficer => "probation_officer_id",
        ContactKind::BehavioralHealth => "behavioral_health_id",
    }
}

fn slot_field(slot: ContactKind) -> &'static str {
    match slot {
        ContactKind::PreReleaseCm => "pre-release care manager",
        ContactKind::EcmProvider => "post-release ECM provider",
        ContactKind::ProbationOfficer => "probation officer",
        ContactKind::BehavioralHealth => "behavioral health contact",
    }
}

impl AssignCareTeam {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = w.person(&self.person_id)?;
        let contact: Option<(String, String)> = match &self.contact_id {
            None => None,
            Some(id) => {
                let (name, org, kind): (String, String, String) = w
                    .tx
                    .prepare_cached("SELECT name, organisation, kind FROM contacts WHERE id = ?1")
                    .and_then(|mut s| {
                        s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                            .optional()
                    })
                    .ctx("reading the contact")?
                    .ok_or_else(|| {
                        StoreError::field(
                            slot_field(self.slot),
                            format!("no contact {id} in the directory"),
                        )
                    })?;
                if kind != self.slot.code() {
                    let label = kind
                        .parse::<ContactKind>()
                        .map_or("another role", |k| k.label());
                    return Err(StoreError::field(
                        slot_field(self.slot),
                        format!("{name} is listed as {label}, not {}", self.slot.label()),
                    ));
                }
                Some((name, org))
            }
        };
        // "Own organisation": a care manager may assign people of their own organisation.
        let user_org: Option<String> =
            w.tx.prepare_cached("SELECT organisation FROM users WHERE login = ?1")
                .and_then(|mut s| s.query_row([&w.actor.login], |r| r.get(0)).optional())
                .ctx("reading the user's organisation")?
                .flatten();
        let own = match (&user_org, &contact) {
            (Some(mine), Some((_, theirs))) => mine == theirs,
            _ => false,
        };
        w.allow(
            Action::AssignCareManager,
            Context {
                own_organisation: own,
                ..head.context
            },
        )?;
        w.expect_person_version(&head, self.version)?;
        let change = rows::update(
            w,
            "persons",
            &head,
            None,
            vec![(slot_column(self.slot), self.contact_id.clone().sql())],
        )?;
        let version = w.bump_person(&head)?;
        let event = Event {
            kind: EventType::CareTeamAssigned,
            data: json!({
                "role": self.slot.code(),
                "contact_id": self.contact_id,
                "assignee": contact.as_ref().map(|c| &c.0),
                "organisation": contact.as_ref().map(|c| &c.1),
            }),
            part2: false,
        };
        let row = audit_row(&head, "care_team_assigned", "person", None, change, None);
        w.finish(&head, version, row, Some(event))
    }
}

impl SetMediCal {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let m = &self.medi_cal;
        edit_person(
            w,
            &self.person_id,
            self.version,
            Action::EditMediCal,
            "medi_cal_set",
            vec![
                ("medi_cal_status", m.status.code().sql()),
                ("mcp_name", m.mcp_name.clone().sql()),
                ("former_foster_youth", m.former_foster_youth.sql()),
            ],
            Reported::Event(Event {
                kind: EventType::MediCalStatusChanged,
                data: json!({
                    "status": m.status.code(),
                    "mcp": m.mcp_name,
                    "former_foster_youth": m.former_foster_youth,
                }),
                part2: false,
            }),
        )
    }
}

pub(crate) fn needs_json(s: &Screening) -> String {
    let codes: Vec<&str> = s.needs.iter().map(|n| n.code()).collect();
    Value::from(codes).to_string()
}

impl SetScreening {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let result = self.screening.result.code();
        edit_person(
            w,
            &self.person_id,
            self.version,
            Action::EditScreening,
            "screening_set",
            vec![
                ("screening_result", result.sql()),
                ("screening_needs", needs_json(&self.screening).sql()),
            ],
            // Health needs stay local: the hub learns only the milestone's state.
            MilestoneCode::Screening,
        )
    }
}

impl SetCarePlan {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let state = self.status.code();
        edit_person(
            w,
            &self.person_id,
            self.version,
            Action::EditCarePlan,
            "care_plan_set",
            vec![("care_plan", state.sql())],
            MilestoneCode::CarePlan,
        )
    }
}

impl SetWarmHandoff {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let state = self.handoff.status.code();
        edit_person(
            w,
            &self.person_id,
            self.version,
            Action::EditCarePlan,
            "warm_handoff_set",
            vec![
                ("warm_handoff", state.sql()),
                ("warm_handoff_on", self.handoff.scheduled_on.sql()),
            ],
            MilestoneCode::WarmHandoff,
        )
    }
}

impl RecordBarrier {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::RecordBarrier, None)?;
        if self.reason == BarrierReason::Other && self.text.trim().is_empty() {
            return Err(StoreError::field(
                "text",
                "a barrier for reason \"other\" needs a few words",
            ));
        }
        let (id, after) = rows::insert(
            w,
            "barriers",
            &head,
            vec![
                ("milestone", self.milestone.code().sql()),
                ("reason", self.reason.code().sql()),
                ("text", self.text.trim().sql()),
                ("opened_on", w.today.sql()),
            ],
        )?;
        let row = audit_row(
            &head,
            "barrier_recorded",
            "barrier",
            Some(id),
            (Value::Null, after),
            None,
        );
        w.finish(&head, head.version, row, None)
    }
}

impl ResolveBarrier {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::RecordBarrier, None)?;
        let open = rows::snapshot(
            w,
            "barriers",
            &head,
            Some(self.barrier_id),
            &["resolved_on"],
        )?
        .ok_or_else(|| StoreError::invalid(format!("no barrier {}", self.barrier_id)))?;
        if let Some(on) = open.get("resolved_on").and_then(Value::as_str) {
            return Err(StoreError::Conflict {
                changed_by: "someone".into(),
                changed_at: on.to_string(),
                what: format!("barrier {} (already resolved)", self.barrier_id),
            });
        }
        let change = rows::update(
            w,
            "barriers",
            &head,
            Some(self.barrier_id),
            vec![("resolved_on", w.today.sql())],
        )?;
        let row = audit_row(
            &head,
            "barrier_resolved",
            "barrier",
            Some(self.barrier_id),
            change,
            None,
        );
        w.finish(&head, head.version, row, None)
    }
}

impl AddNote {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::RecordBarrier, None)?;
        if self.text.trim().is_empty() {
            return Err(StoreError::field("note", "the note is empty"));
        }
        let (id, after) = rows::insert(
            w,
            "notes",
            &head,
            vec![
                ("at", w.now.sql()),
                ("by_login", w.actor.login.as_str().sql()),
                ("text", self.text.trim().sql()),
            ],
        )?;
        // Notes are free text and stay local: audited, never sent.
        let row = audit_row(
            &head,
            "note_added",
            "note",
            Some(id),
            (Value::Null, after),
            None,
        );
        w.finish(&head, head.version, row, None)
    }
}

impl MarkMilestone {
    fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::RecordBarrier, None)?;
        let pos: i64 =
            w.tx.prepare_cached(
                "SELECT COALESCE(MAX(pos), 0) + 1 FROM milestone_marks WHERE person_id = ?1",
            )
            .and_then(|mut s| s.query_row([&head.id], |r| r.get(0)))
            .ctx("numbering the mark")?;
        let after = json!({
            "milestone": self.milestone.code(),
            "kind": self.kind.code(),
            "by_login": w.actor.login,
            "on_date": super::codec::date(w.today),
        });
        w.tx.prepare_cached(
            "INSERT INTO milestone_marks (person_id, pos, milestone, kind, by_login, on_date)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut s| {
            s.execute(rusqlite::params![
                head.id,
                pos,
                self.milestone.code(),
                self.kind.code(),
                w.actor.login,
                super::codec::date(w.today)
            ])
        })
        .ctx("writing the mark")?;
        let event = milestone_event(w, &head, self.milestone)?;
        let row = audit_row(
            &head,
            "milestone_marked",
            "milestone_mark",
            Some(pos),
            (Value::Null, after),
            None,
        );
        w.finish(&head, head.version, row, Some(event))
    }
}
