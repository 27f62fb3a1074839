//! Names that must never change once a receiver has stored them: identifier systems, extension
//! URLs, code systems and the resource ids derived from the board's own ids.
//!
//! Ids are derived, never random, so exporting or sending the same record twice names the same
//! resources and a receiver updates them instead of keeping two copies.

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// Where the board's own StructureDefinitions and CodeSystems would be published. `.invalid`
/// (RFC 2606) because no one publishes them yet: a county that writes an implementation guide
/// replaces this one constant.
pub const BASE: &str = "https://reentry-board.invalid/fhir";

/// The board's opaque person id: the identifier every conditional update of a Patient names.
/// Booking numbers are identifiers too, but travel only in bodies, never in URLs (docs/API.md).
pub const PERSON_SYSTEM: &str = "urn:reentry-board:person";

/// The identifier system of the booking numbers of one facility.
pub fn booking_system(facility_id: &str) -> String {
    format!("urn:reentry-board:facility:{facility_id}:booking")
}

/// The identifier system of a kind of record the board keeps (medication, dme, ...). Values are
/// `{person_id}` or `{person_id}:{item}`: opaque ids only, so a conditional URL leaks nothing.
pub fn record_system(kind: &str) -> String {
    format!("urn:reentry-board:{kind}")
}

pub fn extension_url(name: &str) -> String {
    format!("{BASE}/StructureDefinition/{name}")
}

pub fn code_system(name: &str) -> String {
    format!("{BASE}/CodeSystem/{name}")
}

/// A resource id from the board's id for it: a UUID (RFC 9562 version 8) made of the first 16
/// bytes of SHA-256 of `reentry-board/fhir/{resource type}/{key}`. Stable, valid as a FHIR id
/// (64 characters at most, `[A-Za-z0-9\-\.]`), and saying nothing about the person.
pub fn resource_id(resource_type: &str, key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"reentry-board/fhir/")
        .chain_update(resource_type.as_bytes())
        .chain_update(b"/")
        .chain_update(key.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A coding of one of the board's code systems, with the words people read.
pub fn board_coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": code_system(system), "code": code, "display": display})
}

/// The board's own status, kept beside FHIR's coarser one so nothing is lost on the way:
/// FHIR has one `completed` where the board tells "given in hand" from "Rx sent to pharmacy".
pub fn board_status(system: &str, code: &str, display: &str) -> Value {
    json!({"url": extension_url("board-status"), "valueCoding": board_coding(system, code, display)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_distinct_and_valid() {
        let a = resource_id("MedicationRequest", "p1:3");
        assert_eq!(a, resource_id("MedicationRequest", "p1:3"));
        assert_ne!(a, resource_id("MedicationRequest", "p1:4"));
        assert_ne!(a, resource_id("DeviceRequest", "p1:3"));
        assert!(a.len() <= 64);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        assert_eq!(
            uuid::Uuid::parse_str(&a).map(|u| u.get_version_num()).ok(),
            Some(8)
        );
    }
}
