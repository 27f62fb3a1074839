//! Medications with the 30-day supply (MedicationRequest, MedicationDispense once in hand),
//! naloxone, and durable medical equipment (DeviceRequest).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::ids::{board_coding, board_status, extension_url, record_system};
use super::privacy::part2_labels;
use super::resource::Resource;
use crate::domain::{
    Confirmation, DmeItem, DmeStatus, Medication, NaloxoneStatus, PersonRecord, SupplyStatus,
};

fn supply_status(s: SupplyStatus) -> &'static str {
    match s {
        SupplyStatus::ToOrder | SupplyStatus::Ordered | SupplyStatus::Ready => "active",
        SupplyStatus::GivenInHand | SupplyStatus::RxSentToPharmacy => "completed",
        SupplyStatus::Refused | SupplyStatus::NotNeeded => "cancelled",
    }
}

/// The supply is for use after release: the discharge category, 30 days expected.
fn discharge_request(
    status: &str,
    medication: &str,
    subject: &Resource,
    encounter: &Resource,
) -> Value {
    json!({
        "status": status,
        "intent": "order",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
            "code": "discharge", "display": "Discharge",
        }]}],
        "medicationCodeableConcept": {"text": medication},
        "subject": subject.reference_to(""),
        "encounter": encounter.reference_to(""),
        "dispenseRequest": {"expectedSupplyDuration": thirty_days()},
    })
}

fn thirty_days() -> Value {
    json!({"value": 30, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"})
}

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Not claimed as US Core MedicationRequest: that profile requires the requester (the
/// prescriber), which the board does not record.
///
/// A medication's request, and its dispense when the supply was handed over. MAT items (42 CFR
/// Part 2) carry the Part 2 labels; the caller has already decided they may go.
pub fn medication(
    r: &PersonRecord,
    m: &Medication,
    patient: &Resource,
    encounter: &Resource,
) -> Vec<Resource> {
    let mut body = discharge_request(supply_status(m.supply), &m.name, patient, encounter);
    body["extension"] = json!([
        board_status("supply-status", m.supply.code(), m.supply.label()),
        {"url": extension_url("medication-class"), "valueCoding": board_coding("medication-class", m.class.code(), m.class.label())},
        {"url": extension_url("medication-for-addiction-treatment"), "valueBoolean": m.is_part2()},
    ]);
    if m.long_acting_injectable {
        let mut dosage = json!({"text": "long-acting injectable", "route": {"text": "injection"}});
        if let Some(next) = m.next_dose {
            dosage["timing"] = json!({"event": [next.to_string()]});
        }
        body["dosageInstruction"] = json!([dosage]);
    }
    let key = format!("{}:{}", r.person.id, m.id);
    let mut request = Resource::identified(
        "MedicationRequest",
        record_system("medication"),
        key.clone(),
        body,
    );
    if m.is_part2() {
        request = request.label(part2_labels());
    }
    let mut out = Vec::new();
    if m.supply == SupplyStatus::GivenInHand {
        let dispense = dispense(
            record_system("medication-dispense"),
            key,
            &m.name,
            m.confirmed.as_ref(),
            (patient, encounter, &request),
        );
        out.push(if m.is_part2() {
            dispense.label(part2_labels())
        } else {
            dispense
        });
    }
    out.insert(0, request);
    out
}

fn dispense(
    system: String,
    key: String,
    medication: &str,
    confirmed: Option<&Confirmation>,
    (patient, encounter, request): (&Resource, &Resource, &Resource),
) -> Resource {
    let mut body = json!({
        "status": "completed",
        "medicationCodeableConcept": {"text": medication},
        "subject": patient.reference_to(""),
        "context": encounter.reference_to(""),
        "authorizingPrescription": [request.reference_to("")],
        "daysSupply": thirty_days(),
    });
    if let Some(c) = confirmed {
        body["whenHandedOver"] = json!(instant(c.at));
        body["performer"] = json!([{"actor": {"display": c.by}}]);
    }
    Resource::identified("MedicationDispense", system, key, body)
}

/// Naloxone offered at release, as a request (and a dispense once given); none when not
/// applicable or not yet recorded.
pub fn naloxone(r: &PersonRecord, patient: &Resource, encounter: &Resource) -> Vec<Resource> {
    let Some(status) = r.naloxone else {
        return Vec::new();
    };
    let fhir = match status {
        NaloxoneStatus::NotApplicable => return Vec::new(),
        NaloxoneStatus::Offered => "active",
        NaloxoneStatus::Given => "completed",
        NaloxoneStatus::Declined => "cancelled",
    };
    let mut body = discharge_request(fhir, "naloxone", patient, encounter);
    body["extension"] = json!([board_status(
        "naloxone-status",
        status.code(),
        status.label()
    )]);
    let request = Resource::identified(
        "MedicationRequest",
        record_system("naloxone"),
        r.person.id.clone(),
        body,
    );
    let mut out = Vec::new();
    if status == NaloxoneStatus::Given {
        out.push(dispense(
            record_system("naloxone-dispense"),
            r.person.id.clone(),
            "naloxone",
            None,
            (patient, encounter, &request),
        ));
    }
    out.insert(0, request);
    out
}

fn dme_status(s: DmeStatus) -> &'static str {
    match s {
        DmeStatus::Identified => "draft",
        DmeStatus::Ordered | DmeStatus::Ready => "active",
        DmeStatus::Delivered => "completed",
        DmeStatus::NotNeeded => "revoked",
    }
}

pub fn dme(r: &PersonRecord, d: &DmeItem, patient: &Resource, encounter: &Resource) -> Resource {
    let mut body = json!({
        "extension": [board_status("dme-status", d.status.code(), d.status.label())],
        "status": dme_status(d.status),
        "intent": "order",
        "codeCodeableConcept": {"text": d.item},
        "subject": patient.reference_to(""),
        "encounter": encounter.reference_to(""),
    });
    if let Some(c) = &d.confirmed {
        body["note"] = json!([{"authorString": c.by, "time": instant(c.at), "text": format!("{} confirmed", d.status.label())}]);
    }
    Resource::identified(
        "DeviceRequest",
        record_system("dme"),
        format!("{}:{}", r.person.id, d.id),
        body,
    )
}
