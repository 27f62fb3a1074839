//! A person's current view at the hub: the events folded, latest first wins.
//!
//! Only fields the contract names are copied from `data`: unknown fields are kept in the stored
//! event but never surface here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::db::Incoming;
use crate::domain::events::EventType;

/// The shape returned by `GET /v1/persons/{person_id}` and listed by the releases endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersonView {
    pub facility_id: String,
    pub person_id: String,
    pub booking_id: String,
    /// `in_custody`, `released` or `transferred`.
    pub custody: String,
    pub name: Option<Value>,
    pub facility_kind: Option<String>,
    pub unit: Option<String>,
    pub booked_on: Option<String>,
    /// date, certainty, type, source, reason, changed_at (the event's occurred_at).
    pub release: Option<Value>,
    /// The latest proposed change not yet followed by a release_date_changed.
    pub open_flag: Option<Value>,
    pub medi_cal: Option<Value>,
    /// By care-team role code.
    pub care_team: BTreeMap<String, Value>,
    /// By milestone code: state, at, barrier.
    pub milestones: BTreeMap<String, Value>,
    /// By the board's item id. Part 2 items never carry a name.
    pub medications: BTreeMap<String, Value>,
    pub dme: BTreeMap<String, Value>,
    pub released: Option<Value>,
    pub transferred: Option<Value>,
    pub sensitivity: Vec<String>,
    pub last_seq: i64,
    pub last_event_id: String,
    pub last_occurred_at: String,
    pub updated_at: String,
}

pub const IN_CUSTODY: &str = "in_custody";

/// Copies the named fields of `data` that are present.
fn pick(data: &Value, fields: &[&str]) -> Value {
    let mut out = Map::new();
    for field in fields {
        if let Some(v) = data.get(*field) {
            out.insert((*field).to_string(), v.clone());
        }
    }
    Value::Object(out)
}

fn text(data: &Value, field: &str) -> Option<String> {
    data.get(field).and_then(Value::as_str).map(str::to_string)
}

impl PersonView {
    pub fn new(facility_id: &str, person_id: &str) -> Self {
        Self {
            facility_id: facility_id.to_string(),
            person_id: person_id.to_string(),
            custody: IN_CUSTODY.to_string(),
            ..Self::default()
        }
    }

    /// The date the releases query indexes: only for people still in custody.
    pub fn release_date(&self) -> Option<String> {
        if self.custody != IN_CUSTODY {
            return None;
        }
        self.release
            .as_ref()
            .and_then(|r| r.get("date"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// Folds one accepted event into the view.
    pub fn apply(&mut self, event: &Incoming, received_at: &str) {
        let ev = &event.value;
        let data = ev.get("data").cloned().unwrap_or(Value::Null);
        if let Some(booking) = ev.pointer("/subject/booking_id").and_then(Value::as_str) {
            self.booking_id = booking.to_string();
        }
        let part2 = ev
            .get("sensitivity")
            .and_then(Value::as_array)
            .is_some_and(|labels| labels.iter().any(|l| l == "part2"));
        if part2 && !self.sensitivity.iter().any(|s| s == "part2") {
            self.sensitivity.push("part2".into());
        }
        match event.event_type {
            EventType::PersonBooked => {
                self.custody = IN_CUSTODY.into();
                self.booked_on = text(&data, "booked_on");
                self.facility_kind = text(&data, "facility_kind");
                self.unit = text(&data, "unit");
                if let Some(name) = data.get("name") {
                    self.name = Some(pick(name, &["last", "first"]));
                }
                if let Some(release) = data.get("release") {
                    let mut r = pick(release, &["date", "certainty", "type", "source"]);
                    r["changed_at"] = Value::String(event.occurred_at.clone());
                    self.release = Some(r);
                }
                self.released = None;
                self.transferred = None;
            }
            EventType::ReleaseDateChanged => {
                let mut r = pick(&data, &["certainty", "type", "source", "reason"]);
                r["date"] = data.get("new").cloned().unwrap_or(Value::Null);
                r["changed_at"] = Value::String(event.occurred_at.clone());
                self.release = Some(r);
                // The meeting has decided on the date; a pending proposal is settled by it.
                self.open_flag = None;
            }
            EventType::ReleaseDateFlagged => {
                let mut f = pick(&data, &["proposed", "reason", "flag_id"]);
                f["raised_at"] = Value::String(event.occurred_at.clone());
                self.open_flag = Some(f);
            }
            EventType::MedicationStatusChanged => {
                if let Some(item) = text(&data, "item") {
                    let mut fields = vec![
                        "class",
                        "status",
                        "days_supply",
                        "long_acting_injectable",
                        "next_dose",
                    ];
                    // The schema already refuses a MAT name; this keeps the view safe regardless.
                    if !part2 {
                        fields.push("name");
                    }
                    let mut m = pick(&data, &fields);
                    m["at"] = Value::String(event.occurred_at.clone());
                    if part2 {
                        m["sensitivity"] = Value::from(vec!["part2"]);
                    }
                    self.medications.insert(item, m);
                }
            }
            EventType::DmeStatusChanged => {
                if let Some(item) = text(&data, "item") {
                    let mut d = pick(&data, &["kind", "status"]);
                    d["at"] = Value::String(event.occurred_at.clone());
                    self.dme.insert(item, d);
                }
            }
            EventType::CareTeamAssigned => {
                if let Some(role) = text(&data, "role") {
                    if data.get("assignee").is_some_and(Value::is_null) {
                        self.care_team.remove(&role);
                    } else {
                        let mut c =
                            pick(&data, &["assignee", "assignee_id", "organisation", "phone"]);
                        c["at"] = Value::String(event.occurred_at.clone());
                        self.care_team.insert(role, c);
                    }
                }
            }
            EventType::MilestoneChanged => {
                if let Some(code) = text(&data, "code") {
                    self.milestones.insert(
                        code,
                        pick(&data, &["state", "at", "barrier", "barrier_text"]),
                    );
                }
            }
            EventType::MediCalStatusChanged => {
                self.medi_cal = Some(pick(&data, &["status", "mcp", "former_foster_youth"]));
            }
            EventType::PersonReleased => {
                self.custody = "released".into();
                self.released = Some(pick(
                    &data,
                    &[
                        "released_at",
                        "planned",
                        "meds_in_hand",
                        "dme_delivered",
                        "naloxone",
                        "medi_cal",
                        "notifications_sent",
                    ],
                ));
            }
            EventType::PersonTransferred => {
                self.custody = "transferred".into();
                self.transferred = Some(pick(
                    &data,
                    &[
                        "transferred_at",
                        "destination_kind",
                        "destination_facility_id",
                        "destination_text",
                    ],
                ));
            }
        }
        self.last_seq = event.person_seq;
        self.last_event_id = event.event_id.clone();
        self.last_occurred_at = event.occurred_at.clone();
        self.updated_at = received_at.to_string();
    }
}
