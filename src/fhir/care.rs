//! The care team (Practitioner, CareTeam), the reentry care plan and warm handoff (CarePlan),
//! referrals (ServiceRequest), appointments (Appointment) and notifications (Communication).

use chrono::{NaiveDate, TimeZone as _};
use serde_json::{Value, json};

use super::ids::{board_coding, board_status, record_system};
use super::resource::{Resource, us_core};
use crate::domain::{
    Appointment, AppointmentStatus, CarePlanStatus, Contact, CustodyStatus, Notification,
    NotificationStatus, PersonRecord, Referral, TransportStatus, WarmHandoffStatus,
};

pub fn practitioner(c: &Contact) -> Resource {
    let mut body = json!({
        "active": true,
        "name": [{"text": c.name}],
    });
    if !c.phone.is_empty() {
        body["telecom"] = json!([{"system": "phone", "value": c.phone, "use": "work"}]);
    }
    Resource::identified("Practitioner", record_system("contact"), c.id.clone(), body)
}

/// The four roles of the care team, each a participant with the directory's person.
pub fn care_team(
    r: &PersonRecord,
    members: &[(&Contact, &Resource)],
    patient: &Resource,
    encounter: &Resource,
) -> Resource {
    let participants: Vec<Value> = members
        .iter()
        .map(|(c, who)| {
            json!({
                "role": [{"coding": [board_coding("care-team-role", c.kind.code(), c.kind.label())], "text": c.kind.label()}],
                "member": who.reference_to(&c.name),
                "onBehalfOf": {"display": c.organisation},
            })
        })
        .collect();
    let active = r.person.custody == CustodyStatus::InCustody;
    let mut body = json!({
        "status": if active { "active" } else { "inactive" },
        "name": "Reentry care team",
        "subject": patient.reference_to(""),
        "encounter": encounter.reference_to(""),
    });
    let staffed = !participants.is_empty();
    if staffed {
        body["participant"] = Value::Array(participants);
    }
    let team = Resource::identified(
        "CareTeam",
        record_system("care-team"),
        r.person.id.clone(),
        body,
    );
    // US Core CareTeam needs at least one participant.
    if staffed {
        team.profile(&us_core("careteam"))
    } else {
        team
    }
}

fn plan_status(s: CarePlanStatus) -> &'static str {
    match s {
        CarePlanStatus::NotStarted | CarePlanStatus::Draft => "draft",
        CarePlanStatus::Complete | CarePlanStatus::SharedWithMcp => "active",
    }
}

fn handoff_status(s: WarmHandoffStatus) -> &'static str {
    match s {
        WarmHandoffStatus::Due => "not-started",
        WarmHandoffStatus::Scheduled => "scheduled",
        WarmHandoffStatus::Completed | WarmHandoffStatus::CompletedWithoutClient => "completed",
        WarmHandoffStatus::NotRequired => "cancelled",
        WarmHandoffStatus::Missed => "stopped",
    }
}

fn transport_status(s: TransportStatus) -> &'static str {
    match s {
        TransportStatus::NotArranged => "not-started",
        TransportStatus::Arranged => "scheduled",
        TransportStatus::NotNeeded => "cancelled",
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The reentry care plan: its status, the warm handoff and transport as activities, and the
/// requests and appointments that carry it out. US Core CarePlan asks for a narrative; it says
/// only what the structured fields say.
pub fn care_plan(
    r: &PersonRecord,
    patient: &Resource,
    encounter: &Resource,
    team: &Resource,
    parts: &[&Resource],
) -> Resource {
    let handoff = &r.warm_handoff;
    let mut handoff_detail = json!({
        "extension": [board_status("warm-handoff-status", handoff.status.code(), handoff.status.label())],
        "kind": "Appointment",
        "code": {"text": "warm handoff"},
        "status": handoff_status(handoff.status),
        "description": "Meeting of the client with the pre- and post-release care managers",
    });
    if let Some(on) = handoff.scheduled_on {
        handoff_detail["scheduledString"] = json!(on.to_string());
    }
    let mut transport = json!({
        "extension": [board_status("transport-status", r.transport.status.code(), r.transport.status.label())],
        "code": {"text": "transport on release"},
        "status": transport_status(r.transport.status),
    });
    if !r.transport.note.is_empty() {
        transport["description"] = json!(r.transport.note);
    }
    let mut activity = vec![
        json!({"detail": handoff_detail}),
        json!({"detail": transport}),
    ];
    activity.extend(
        parts
            .iter()
            .map(|p| json!({"reference": p.reference_to("")})),
    );
    let div = format!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Reentry care plan: {}. Warm handoff: {}. \
         Transport: {}.</p></div>",
        escape_html(r.care_plan.label()),
        escape_html(handoff.status.label()),
        escape_html(r.transport.status.label()),
    );
    let mut body = json!({
        "extension": [board_status("care-plan-status", r.care_plan.code(), r.care_plan.label())],
        "text": {"status": "generated", "div": div},
        "status": plan_status(r.care_plan),
        "intent": "plan",
        "category": [{"coding": [{
            "system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
            "code": "assess-plan",
        }]}],
        "title": "Reentry care plan",
        "subject": patient.reference_to(""),
        "encounter": encounter.reference_to(""),
        "careTeam": [team.reference_to("")],
        "activity": activity,
    });
    if let Some(release) = r.release.date {
        body["period"] = json!({"end": release.to_string()});
    }
    Resource::identified(
        "CarePlan",
        record_system("care-plan"),
        r.person.id.clone(),
        body,
    )
    .profile(&us_core("careplan"))
}

fn referral_status(s: NotificationStatus) -> &'static str {
    match s {
        NotificationStatus::Pending => "draft",
        NotificationStatus::Sent | NotificationStatus::Acknowledged => "active",
        NotificationStatus::Failed => "on-hold",
    }
}

pub fn referral(
    r: &PersonRecord,
    f: &Referral,
    patient: &Resource,
    encounter: &Resource,
) -> Resource {
    let body = json!({
        "extension": [board_status("referral-status", f.status.code(), f.status.label())],
        "status": referral_status(f.status),
        "intent": "order",
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005", "display": "Patient referral"}]}],
        "code": {
            "coding": [board_coding("referral-target", f.target.code(), f.target.label())],
            "text": format!("behavioral health link referral to {}", f.target.label()),
        },
        "subject": patient.reference_to(""),
        "encounter": encounter.reference_to(""),
        "performer": [{"display": f.target.label()}],
    });
    Resource::identified(
        "ServiceRequest",
        record_system("referral"),
        format!("{}:{}", r.person.id, f.id),
        body,
    )
}

/// The day as the board records it: midnight to midnight, local time (the board records the
/// day of an appointment, not its hour).
fn day_span(on: NaiveDate) -> Option<(String, String)> {
    let start = chrono::Local
        .from_local_datetime(&on.and_hms_opt(0, 0, 0)?)
        .earliest()?;
    let end = chrono::Local
        .from_local_datetime(&on.succ_opt()?.and_hms_opt(0, 0, 0)?)
        .earliest()?;
    let fmt =
        |t: chrono::DateTime<chrono::Local>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    Some((fmt(start), fmt(end)))
}

pub fn appointment(r: &PersonRecord, a: &Appointment, patient: &Resource) -> Resource {
    let span = a.on.and_then(day_span);
    let status = match (a.status, &span) {
        (AppointmentStatus::Cancelled, _) => "cancelled",
        // Booked, kept or missed appointments must have a start (FHIR invariant app-3); one
        // the board holds without a day is only proposed, board-status tells the rest.
        (_, None) | (AppointmentStatus::Planned, _) => "proposed",
        (AppointmentStatus::Booked, Some(_)) => "booked",
        (AppointmentStatus::Kept, Some(_)) => "fulfilled",
        (AppointmentStatus::Missed, Some(_)) => "noshow",
    };
    let mut body = json!({
        "extension": [board_status("appointment-status", a.status.code(), a.status.label())],
        "status": status,
        "description": a.what,
        "participant": [{"actor": patient.reference_to(""), "status": "accepted"}],
    });
    if let Some((start, end)) = span {
        body["start"] = json!(start);
        body["end"] = json!(end);
        body["comment"] = json!("The day of the appointment; the board does not record its hour.");
    }
    Resource::identified(
        "Appointment",
        record_system("appointment"),
        format!("{}:{}", r.person.id, a.id),
        body,
    )
}

fn communication_status(s: NotificationStatus) -> &'static str {
    match s {
        NotificationStatus::Pending => "preparation",
        NotificationStatus::Sent | NotificationStatus::Acknowledged => "completed",
        NotificationStatus::Failed => "not-done",
    }
}

pub fn notification(
    r: &PersonRecord,
    n: &Notification,
    patient: &Resource,
    encounter: &Resource,
) -> Resource {
    let mut body = json!({
        "extension": [board_status("notification-status", n.status.code(), n.status.label())],
        "status": communication_status(n.status),
        "category": [{"text": "release notification"}],
        "subject": patient.reference_to(""),
        "encounter": encounter.reference_to(""),
        "about": [encounter.reference_to("")],
        "recipient": [{"display": n.recipient.label()}],
    });
    if n.status == NotificationStatus::Failed {
        body["statusReason"] = json!({"text": "sending failed"});
    }
    Resource::identified(
        "Communication",
        record_system("notification"),
        format!("{}:{}", r.person.id, n.recipient.code()),
        body,
    )
}
