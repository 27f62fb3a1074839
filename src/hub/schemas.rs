//! The JSON Schemas of docs/schemas, embedded, and the checks the hub runs on every event.
//!
//! The hub validates with the very files the contract publishes, so the documentation and the
//! server cannot drift apart. The board's tests call [`validate`] on the payloads they produce.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use jsonschema::{Registry, Validator};
use serde_json::Value;

use crate::domain::events::EventType;

/// The envelope version this hub writes about in docs/API.md.
pub const CURRENT_SCHEMA_VERSION: i64 = 1;
/// The oldest version still accepted: N and N-1 (never below 1).
pub const OLDEST_SCHEMA_VERSION: i64 = if CURRENT_SCHEMA_VERSION > 1 {
    CURRENT_SCHEMA_VERSION - 1
} else {
    1
};

/// Where the schemas say they live; they are never fetched from there.
pub const BASE_URI: &str = "https://schemas.reentry-board.example/v1/";

/// Every schema file, by file name, as published in docs/schemas.
pub const FILES: &[(&str, &str)] = &[
    (
        "common.schema.json",
        include_str!("../../docs/schemas/common.schema.json"),
    ),
    (
        "acknowledgement.schema.json",
        include_str!("../../docs/schemas/acknowledgement.schema.json"),
    ),
    (
        "acknowledgements.schema.json",
        include_str!("../../docs/schemas/acknowledgements.schema.json"),
    ),
    (
        "incoming.schema.json",
        include_str!("../../docs/schemas/incoming.schema.json"),
    ),
    (
        "envelope.schema.json",
        include_str!("../../docs/schemas/envelope.schema.json"),
    ),
    (
        "person_booked.schema.json",
        include_str!("../../docs/schemas/person_booked.schema.json"),
    ),
    (
        "release_date_changed.schema.json",
        include_str!("../../docs/schemas/release_date_changed.schema.json"),
    ),
    (
        "release_date_flagged.schema.json",
        include_str!("../../docs/schemas/release_date_flagged.schema.json"),
    ),
    (
        "medication_status_changed.schema.json",
        include_str!("../../docs/schemas/medication_status_changed.schema.json"),
    ),
    (
        "dme_status_changed.schema.json",
        include_str!("../../docs/schemas/dme_status_changed.schema.json"),
    ),
    (
        "care_team_assigned.schema.json",
        include_str!("../../docs/schemas/care_team_assigned.schema.json"),
    ),
    (
        "milestone_changed.schema.json",
        include_str!("../../docs/schemas/milestone_changed.schema.json"),
    ),
    (
        "medi_cal_status_changed.schema.json",
        include_str!("../../docs/schemas/medi_cal_status_changed.schema.json"),
    ),
    (
        "person_released.schema.json",
        include_str!("../../docs/schemas/person_released.schema.json"),
    ),
    (
        "person_transferred.schema.json",
        include_str!("../../docs/schemas/person_transferred.schema.json"),
    ),
];

/// The opaque-id rule of `common.schema.json#/$defs/opaque_id` (person and facility ids): 1-64 of
/// `A-Z a-z 0-9 . _ ~ -`, so an id is safe in a URL path without escaping.
pub fn is_opaque_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b))
}

/// Why an event is not acceptable. Each maps to its own problem type in the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventProblem {
    /// The body is JSON but not an object.
    NotAnObject,
    /// `event_type` names no type this hub knows (missing counts as unknown).
    UnknownType(String),
    /// `schema_version` is not N or N-1.
    UnsupportedVersion(Value),
    /// The envelope or the data break their schemas; one line per problem, located by JSON
    /// pointer. The lines never repeat the offending value (it may be a name or a drug).
    Invalid(Vec<String>),
}

impl EventProblem {
    /// The problem as lines of text, for [`validate`] and for logs of tests.
    pub fn messages(&self) -> Vec<String> {
        match self {
            Self::NotAnObject => vec!["an event must be a JSON object".into()],
            Self::UnknownType(t) => vec![format!("unknown event_type `{t}`")],
            Self::UnsupportedVersion(v) => vec![format!(
                "schema_version {v} is not supported; this hub accepts {OLDEST_SCHEMA_VERSION} to {CURRENT_SCHEMA_VERSION}"
            )],
            Self::Invalid(lines) => lines.clone(),
        }
    }
}

/// A validator and the schema it was built from (to explain rule failures in words).
struct Checked {
    validator: Validator,
    schema: Value,
}

impl Checked {
    /// One line per problem, located by JSON pointer under `prefix`.
    fn problems(&self, instance: &Value, prefix: &str) -> Vec<String> {
        self.validator
            .iter_errors(instance)
            .map(|e| {
                let message = rule_description(&self.schema, e.schema_path().as_str())
                    .unwrap_or_else(|| e.masked().to_string());
                located(prefix, e.instance_path().as_str(), &message)
            })
            .collect()
    }
}

/// A cross-field rule (an `allOf` item) fails with a message about its mechanics, e.g.
/// `{"required":["name"]} is not allowed`; its `description` says what it means.
fn rule_description(schema: &Value, schema_path: &str) -> Option<String> {
    let rest = schema_path.strip_prefix("/allOf/")?;
    let index = rest.split('/').next()?;
    schema
        .pointer(&format!("/allOf/{index}/description"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

struct Compiled {
    envelope: Checked,
    data: BTreeMap<EventType, Checked>,
}

/// Compiled once; a failure here is a bug in docs/schemas that a unit test catches, but the hub
/// still answers (500) rather than panic.
static COMPILED: LazyLock<Result<Compiled, String>> = LazyLock::new(compile);

fn parse(name: &str) -> Result<Value, String> {
    let text = FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| format!("schema {name} is not embedded"))?;
    serde_json::from_str(text).map_err(|e| format!("schema {name} is not JSON: {e}"))
}

fn compile() -> Result<Compiled, String> {
    let common = parse("common.schema.json")?;
    let common_uri = format!("{BASE_URI}common.schema.json");
    let registry = Registry::new()
        .add(common_uri.as_str(), &common)
        .map_err(|e| format!("common.schema.json: {e}"))?
        .prepare()
        .map_err(|e| format!("common.schema.json: {e}"))?;
    let build = |name: &str| -> Result<Checked, String> {
        let schema = parse(name)?;
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            // Formats (date, date-time) are only annotations in 2020-12 unless asked for.
            .should_validate_formats(true)
            .with_registry(&registry)
            .build(&schema)
            .map_err(|e| format!("schema {name} does not compile: {e}"))?;
        Ok(Checked { validator, schema })
    };
    let envelope = build("envelope.schema.json")?;
    let mut data = BTreeMap::new();
    for event_type in EventType::all() {
        data.insert(
            event_type,
            build(&format!("{}.schema.json", event_type.code()))?,
        );
    }
    Ok(Compiled { envelope, data })
}

/// The largest integer a JSON number carries exactly (2^53 - 1), as in the schemas' maximums.
const MAX_EXACT: f64 = 9_007_199_254_740_991.0;

/// JSON does not tell `2` from `2.0`, and JSON Schema counts both as an integer: a number
/// written with a fraction of zero is read as the integer it is — everywhere in the event, so
/// the stored payload and the idempotency comparison see one value. Anything else stays as
/// sent (`2.5` is then refused where an integer is required).
pub fn integral_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() <= MAX_EXACT => {
                // Exact: |f| <= 2^53 - 1 fits an i64 with nothing lost.
                Value::from(f as i64)
            }
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(integral_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, integral_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Checks an event against the contract: known type, supported version, envelope and data
/// schemas. On success returns the event type.
pub fn check(event: &Value) -> Result<EventType, EventProblem> {
    let compiled = COMPILED
        .as_ref()
        .map_err(|e| EventProblem::Invalid(vec![format!("the hub's schemas are broken: {e}")]))?;
    let object = event.as_object().ok_or(EventProblem::NotAnObject)?;
    let type_text = object
        .get("event_type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let event_type: EventType = type_text
        .parse()
        .map_err(|_| EventProblem::UnknownType(type_text.to_string()))?;
    let version = object.get("schema_version").cloned().unwrap_or(Value::Null);
    if !version
        .as_i64()
        .is_some_and(|v| (OLDEST_SCHEMA_VERSION..=CURRENT_SCHEMA_VERSION).contains(&v))
    {
        return Err(EventProblem::UnsupportedVersion(version));
    }
    let mut problems = compiled.envelope.problems(event, "");
    // The envelope leaves `data` to the type's schema, which also requires it to be an object.
    if let (Some(checked), Some(data)) = (compiled.data.get(&event_type), object.get("data")) {
        problems.extend(checked.problems(data, "/data"));
    }
    if problems.is_empty() {
        Ok(event_type)
    } else {
        Err(EventProblem::Invalid(problems))
    }
}

fn located(prefix: &str, path: &str, message: &str) -> String {
    let pointer = format!("{prefix}{path}");
    if pointer.is_empty() {
        message.to_string()
    } else {
        format!("{pointer}: {message}")
    }
}

/// Validates one event as the hub would (type, version, envelope, data, the Part 2 rule).
pub fn validate(event: &Value) -> Result<(), Vec<String>> {
    check(event).map(|_| ()).map_err(|p| p.messages())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use crate::domain;

    #[test]
    fn schemas_compile() {
        if let Err(e) = COMPILED.as_ref() {
            panic!("{e}");
        }
    }

    fn event() -> Value {
        json!({
            "schema_version": 1,
            "event_id": "01963b6e-8f3a-7c2e-9d41-5a6b7c8d9e0f",
            "event_type": "release_date_changed",
            "occurred_at": "2026-03-01T09:30:12-08:00",
            "person_id": "p-7f3a",
            "person_seq": 2,
            "subject": {"booking_id": "B-000123"},
            "source": {"facility_id": "county-main-jail", "app_version": "0.1.0"},
            "actor": {"user": "jdoe", "role": "records"},
            "sensitivity": [],
            "data": {"previous": "2026-04-10", "new": "2026-04-03", "certainty": "confirmed",
                     "type": "sentence_end", "reason": "sentence_credits"}
        })
    }

    #[test]
    fn a_good_event_passes_and_each_break_is_named() {
        assert_eq!(validate(&event()), Ok(()));
        let mut e = event();
        e["data"]["new"] = json!("2026-02-30");
        let errors = validate(&e).unwrap_err();
        assert!(
            errors.iter().any(|m| m.starts_with("/data/new")),
            "{errors:?}"
        );
        let mut e = event();
        e["person_seq"] = json!(0);
        assert!(validate(&e).unwrap_err()[0].starts_with("/person_seq"));
        let mut e = event();
        e["event_type"] = json!("person_teleported");
        assert_eq!(
            check(&e),
            Err(EventProblem::UnknownType("person_teleported".into()))
        );
        let mut e = event();
        e["schema_version"] = json!(CURRENT_SCHEMA_VERSION + 1);
        assert!(matches!(
            check(&e),
            Err(EventProblem::UnsupportedVersion(_))
        ));
        // Unknown fields are ignored, at every level.
        let mut e = event();
        e["future_field"] = json!({"x": 1});
        e["data"]["future_field"] = json!(true);
        assert_eq!(validate(&e), Ok(()));
    }

    #[test]
    fn part2_needs_the_label_and_no_drug_name() {
        let mut e = event();
        e["event_type"] = json!("medication_status_changed");
        e["data"] =
            json!({"item": "m-1", "class": "mat_oud", "status": "ready", "days_supply": 30});
        let errors = validate(&e).unwrap_err();
        assert!(
            errors.iter().any(|m| m.starts_with("/sensitivity")),
            "{errors:?}"
        );
        e["sensitivity"] = json!(["part2"]);
        assert_eq!(validate(&e), Ok(()));
        e["data"]["name"] = json!("CANARY-DRUG");
        let errors = validate(&e).unwrap_err();
        assert_eq!(
            errors,
            vec!["/data: Part 2: a MAT medication (mat_oud, mat_aud) never carries the drug name."]
        );
        // The message never repeats the value.
        assert!(!errors.concat().contains("CANARY"), "{errors:?}");
    }

    fn schema_enum(def: &str) -> BTreeSet<String> {
        let common = parse("common.schema.json").unwrap();
        common["$defs"][def]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("no enum {def}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    fn codes<T: Copy>(
        all: impl Iterator<Item = T>,
        code: fn(T) -> &'static str,
    ) -> BTreeSet<String> {
        all.map(|v| code(v).to_string()).collect()
    }

    #[test]
    fn schema_codes_are_the_domain_codes() {
        use domain::*;
        let pairs = [
            ("certainty", codes(Certainty::all(), Certainty::code)),
            ("release_type", codes(ReleaseType::all(), ReleaseType::code)),
            (
                "release_source",
                codes(ReleaseSource::all(), ReleaseSource::code),
            ),
            (
                "change_reason",
                codes(ChangeReason::all(), ChangeReason::code),
            ),
            (
                "facility_kind",
                codes(FacilityKind::all(), FacilityKind::code),
            ),
            ("role", codes(Role::all(), Role::code)),
            ("med_class", codes(MedClass::all(), MedClass::code)),
            (
                "supply_status",
                codes(SupplyStatus::all(), SupplyStatus::code),
            ),
            (
                "naloxone_status",
                codes(NaloxoneStatus::all(), NaloxoneStatus::code),
            ),
            ("dme_status", codes(DmeStatus::all(), DmeStatus::code)),
            ("contact_kind", codes(ContactKind::all(), ContactKind::code)),
            (
                "milestone_code",
                codes(MilestoneCode::all(), MilestoneCode::code),
            ),
            (
                "barrier_reason",
                codes(BarrierReason::all(), BarrierReason::code),
            ),
            (
                "medi_cal_status",
                codes(MediCalStatus::all(), MediCalStatus::code),
            ),
            ("recipient", codes(Recipient::all(), Recipient::code)),
            (
                "destination_kind",
                crate::store::DESTINATION_KINDS
                    .iter()
                    .map(|k| k.to_string())
                    .collect(),
            ),
        ];
        for (def, domain_codes) in pairs {
            assert_eq!(
                schema_enum(def),
                domain_codes,
                "common.schema.json $defs/{def}"
            );
        }
        let envelope = parse("envelope.schema.json").unwrap();
        let types: BTreeSet<String> = envelope["properties"]["event_type"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(types, codes(EventType::all(), EventType::code));
    }
}
