//! The person and the stay: Patient, the facility (Organization) and housing unit (Location),
//! the incarceration (Encounter) with the expected release, its history (Provenance) and
//! Medi-Cal (Coverage).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::ids::{self, board_status, extension_url, record_system};
use super::resource::{Resource, us_core};
use crate::domain::{
    CustodyStatus, Facility, MediCalStatus, PersonRecord, ReleaseChange, ReleaseDate,
};

pub fn facility(f: &Facility) -> Resource {
    Resource::identified(
        "Organization",
        record_system("facility"),
        f.id.clone(),
        json!({
            "active": true,
            "type": [{"text": f.kind.label()}],
            "name": f.name,
        }),
    )
    .profile(&us_core("organization"))
}

pub fn unit(f: &Facility, unit: &str, facility: &Resource) -> Resource {
    Resource::identified(
        "Location",
        record_system("housing-unit"),
        format!("{}:{unit}", f.id),
        json!({
            "status": "active",
            "name": if unit.is_empty() { f.name.clone() } else { format!("{} unit {unit}", f.name) },
            "alias": [unit],
            "mode": "instance",
            "managingOrganization": facility.reference_to(&f.name),
        }),
    )
    .profile(&us_core("location"))
}

/// Not claimed as US Core Patient: that profile requires `gender`, which the board does not
/// record (and must not guess).
pub fn patient(r: &PersonRecord, facility: &Resource) -> Resource {
    let p = &r.person;
    let mut name = json!({"use": "official", "family": p.name.last});
    if !p.name.first.is_empty() {
        name["given"] = json!([p.name.first]);
    }
    let mut body = json!({
        "identifier": [{
            "use": "usual",
            "type": {"text": "Booking number"},
            "system": ids::booking_system(&p.facility.id),
            "value": p.booking_id,
            "assigner": facility.reference_to(&p.facility.name),
        }],
        "active": true,
        "name": [name],
        "managingOrganization": facility.reference_to(&p.facility.name),
        "extension": [{"url": extension_url("juvenile-jurisdiction"), "valueBoolean": p.youth}],
    });
    if let Some(dob) = p.date_of_birth {
        body["birthDate"] = json!(dob.to_string());
    }
    Resource::identified("Patient", ids::PERSON_SYSTEM.into(), p.id.clone(), body)
}

fn encounter_status(custody: CustodyStatus) -> &'static str {
    match custody {
        CustodyStatus::InCustody => "in-progress",
        CustodyStatus::Released | CustodyStatus::Transferred => "finished",
        // Gone from the roster without an explanation yet: FHIR's honest word.
        CustodyStatus::LeftRoster => "unknown",
    }
}

/// The release's certainty, type and source as extensions: R4 has no place for a planned end,
/// so `period.end` holds the expected date while the stay is in progress and the actual date
/// once it is over, and `release-date-certainty` says how sure the expected one is.
fn release_extensions(release: &ReleaseDate) -> Vec<Value> {
    let mut ext = vec![json!({
        "url": extension_url("release-date-certainty"),
        "valueCoding": ids::board_coding("release-date-certainty", release.certainty.code(), release.certainty.label()),
    })];
    if let Some(kind) = release.kind {
        ext.push(json!({
            "url": extension_url("release-type"),
            "valueCoding": ids::board_coding("release-type", kind.code(), kind.label()),
        }));
    }
    if let Some(source) = release.source {
        ext.push(json!({
            "url": extension_url("release-date-source"),
            "valueCoding": ids::board_coding("release-date-source", source.code(), source.label()),
        }));
    }
    ext
}

pub fn encounter(
    r: &PersonRecord,
    patient: &Resource,
    facility: &Resource,
    unit: &Resource,
) -> Resource {
    let p = &r.person;
    let finished = matches!(
        p.custody,
        CustodyStatus::Released | CustodyStatus::Transferred
    );
    let end = if finished {
        p.released_on.or(r.release.date)
    } else {
        r.release.date
    };
    let mut period = json!({"start": p.booked_on.to_string()});
    if let Some(end) = end {
        period["end"] = json!(end.to_string());
    }
    let mut ext = release_extensions(&r.release);
    ext.push(board_status(
        "custody-status",
        p.custody.code(),
        p.custody.label(),
    ));
    let mut body = json!({
        "extension": ext,
        "status": encounter_status(p.custody),
        // FLD, "field": care outside a healthcare setting and the home, which a jail is.
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "FLD", "display": "field"},
        "type": [{"text": "Incarceration (booking to release)"}],
        "subject": patient.reference_to(""),
        "period": period,
        "location": [{
            "location": unit.reference_to(&p.unit),
            "status": if finished { "completed" } else { "active" },
        }],
        "serviceProvider": facility.reference_to(&p.facility.name),
    });
    if p.custody == CustodyStatus::Transferred {
        body["hospitalization"] =
            json!({"dischargeDisposition": {"text": "transferred to another facility"}});
    }
    Resource::identified("Encounter", record_system("booking"), p.id.clone(), body)
        .profile(&us_core("encounter"))
}

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One Provenance per change of the release date: who, when, why, from what to what.
pub fn release_change(r: &PersonRecord, c: &ReleaseChange, encounter: &Resource) -> Resource {
    let mut ext = Vec::new();
    if let Some(from) = c.from {
        ext.push(
            json!({"url": extension_url("release-date-previous"), "valueDate": from.to_string()}),
        );
    }
    if let Some(to) = c.to {
        ext.push(json!({"url": extension_url("release-date-new"), "valueDate": to.to_string()}));
    }
    ext.push(json!({
        "url": extension_url("release-date-certainty"),
        "valueCoding": ids::board_coding("release-date-certainty", c.certainty.code(), c.certainty.label()),
    }));
    let reason = if c.reason_text.is_empty() {
        c.reason.label().to_string()
    } else {
        format!("{}: {}", c.reason.label(), c.reason_text)
    };
    let mut body = json!({
        "extension": ext,
        "target": [encounter.reference_to("")],
        "recorded": instant(c.changed_at),
        "reason": [{
            "coding": [ids::board_coding("release-date-change-reason", c.reason.code(), c.reason.label())],
            "text": reason,
        }],
        "activity": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
            "code": "UPDATE", "display": "revise",
        }]},
        "agent": [{
            "type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                "code": "author", "display": "Author",
            }]},
            "who": {"display": c.changed_by},
        }],
    });
    if let Some(source) = c.source {
        body["entity"] = json!([{"role": "source", "what": {"display": source.label()}}]);
    }
    Resource::by_id(
        "Provenance",
        &format!("release-date-change/{}/{}", r.person.id, c.id),
        body,
    )
    .profile(&us_core("provenance"))
}

fn coverage_status(s: MediCalStatus) -> Option<&'static str> {
    Some(match s {
        MediCalStatus::Unknown => return None,
        // Suspended while held, but still enrolled: the plan needs to see it (board-status says
        // which of the four it is).
        MediCalStatus::Active
        | MediCalStatus::ActiveOnRelease
        | MediCalStatus::UnsuspendRequested
        | MediCalStatus::Suspended => "active",
        MediCalStatus::NotEnrolled
        | MediCalStatus::ApplicationNeeded
        | MediCalStatus::ApplicationSubmitted => "draft",
        MediCalStatus::Denied | MediCalStatus::OtherCoverage => "cancelled",
    })
}

/// Medi-Cal and the managed care plan; none while the status is unknown.
pub fn coverage(r: &PersonRecord, patient: &Resource) -> Option<Resource> {
    let m = &r.medi_cal;
    let status = coverage_status(m.status)?;
    let payor = m
        .mcp_name
        .clone()
        .unwrap_or_else(|| "California Department of Health Care Services (Medi-Cal)".to_string());
    let mut body = json!({
        "extension": [
            board_status("medi-cal-status", m.status.code(), m.status.label()),
            {"url": extension_url("former-foster-youth"), "valueBoolean": m.former_foster_youth},
        ],
        "status": status,
        "type": {"coding": [{"system": "https://nahdo.org/sopt", "code": "2", "display": "MEDICAID"}], "text": "Medi-Cal"},
        "beneficiary": patient.reference_to(""),
        "relationship": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
            "code": "self", "display": "Self",
        }]},
        "payor": [{"display": payor}],
    });
    if let Some(plan) = &m.mcp_name {
        body["class"] = json!([{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan", "display": "Plan"}]},
            "value": plan,
            "name": plan,
        }]);
    }
    Some(
        Resource::identified(
            "Coverage",
            record_system("medi-cal"),
            r.person.id.clone(),
            body,
        )
        .profile(&us_core("coverage")),
    )
}
