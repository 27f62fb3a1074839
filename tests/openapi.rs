//! docs/openapi.yaml against what it describes: the JSON Schemas of docs/schemas (referenced,
//! never copied), the hub's event types, schema versions and problem types, the endpoints of
//! docs/API.md, and every JSON example in docs/API.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use reentry_board::domain::events::EventType;
use reentry_board::hub::openapi::{self, component_name, yaml_to_json};
use reentry_board::hub::problem::{Kind, TYPE_PREFIX};
use reentry_board::hub::schemas;
use serde_json::{Value, json};

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs")
}

/// The description as written (not bundled).
fn source() -> Value {
    let text = std::fs::read_to_string(docs().join("openapi.yaml")).unwrap();
    yaml_to_json(&text).unwrap()
}

fn schema_files_on_disk() -> BTreeSet<String> {
    std::fs::read_dir(docs().join("schemas"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".schema.json"))
        .collect()
}

/// Every (JSON pointer, node) of a value.
fn walk<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
    out.push((at.clone(), value));
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                walk(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn nodes(value: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_schema_file_is_embedded_referenced_and_resolves() {
    let on_disk = schema_files_on_disk();
    let embedded: BTreeSet<String> = schemas::FILES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        embedded, on_disk,
        "src/hub/schemas.rs FILES vs docs/schemas"
    );
    let description = source();
    let mut referenced = BTreeSet::new();
    for (at, node) in nodes(&description) {
        let Some(reference) = node.get("$ref").and_then(Value::as_str) else {
            continue;
        };
        let (file, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        if file.is_empty() {
            continue;
        }
        let name = file
            .strip_prefix("schemas/")
            .unwrap_or_else(|| panic!("{at}: `{reference}` is not a file of docs/schemas"));
        assert!(on_disk.contains(name), "{at}: `{reference}`: no such file");
        let text = std::fs::read_to_string(docs().join("schemas").join(name)).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        assert!(
            schema.pointer(fragment).is_some(),
            "{at}: `{reference}`: {name} has nothing at {fragment}"
        );
        referenced.insert(name.to_string());
    }
    // The data schemas are referenced by name; common.schema.json through them and directly.
    assert_eq!(
        referenced, on_disk,
        "schema files the description never names"
    );
    // Bundled: each file is a component (common only through its $defs), nothing dangles.
    let bundled = openapi::document().unwrap();
    for name in &on_disk {
        let stem = component_name(name).unwrap();
        let component = bundled.pointer(&format!("/components/schemas/{stem}"));
        assert_eq!(
            component.is_some(),
            stem != "common",
            "{name} bundled as {stem}"
        );
    }
}

#[test]
fn the_description_copies_no_code_of_the_schemas() {
    // Every code the schema files list: the description names them only by reference. The event
    // type of each Event variant is the one exception, held to the envelope below.
    let mut codes = BTreeSet::new();
    for (_, text) in schemas::FILES {
        let schema: Value = serde_json::from_str(text).unwrap();
        for (_, node) in nodes(&schema) {
            if let Some(Value::Array(values)) = node.get("enum") {
                codes.extend(values.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
    }
    let description = source();
    for (at, node) in nodes(&description) {
        let mut values: Vec<&Value> = Vec::new();
        if let Some(Value::Array(list)) = node.get("enum") {
            values.extend(list);
        }
        if let Some(value) = node.get("const") {
            values.push(value);
        }
        let is_event_type = at.ends_with("/properties/event_type");
        for value in values.into_iter().filter_map(Value::as_str) {
            assert!(
                is_event_type || !codes.contains(value),
                "{at}: the code `{value}` is copied from docs/schemas; use a $ref"
            );
        }
    }
}

#[test]
fn the_event_union_is_every_event_type_with_its_data_schema() {
    let description = source();
    let schemas_ = &description["components"]["schemas"];
    let envelope: Value = serde_json::from_str(
        schemas::FILES
            .iter()
            .find(|(n, _)| *n == "envelope.schema.json")
            .unwrap()
            .1,
    )
    .unwrap();
    let envelope_types = strings(&envelope["properties"]["event_type"]["enum"]);
    let domain_types: BTreeSet<String> = EventType::all().map(|t| t.code().to_string()).collect();
    assert_eq!(envelope_types, domain_types);

    let event = &schemas_["Event"];
    let mapping = event["discriminator"]["mapping"].as_object().unwrap();
    assert_eq!(event["discriminator"]["propertyName"], "event_type");
    let variants: BTreeSet<String> = event["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["$ref"].as_str().unwrap().to_string())
        .collect();
    let mapped: BTreeSet<String> = mapping
        .values()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(variants, mapped, "oneOf and the discriminator mapping");
    assert_eq!(
        mapping.keys().cloned().collect::<BTreeSet<_>>(),
        envelope_types
    );
    for (event_type, target) in mapping {
        let name = target
            .as_str()
            .unwrap()
            .strip_prefix("#/components/schemas/")
            .unwrap();
        let parts = schemas_[name]["allOf"].as_array().unwrap();
        assert_eq!(parts[0]["$ref"], "schemas/envelope.schema.json", "{name}");
        let own = &parts[1]["properties"];
        assert_eq!(own["event_type"]["enum"], json!([event_type]), "{name}");
        assert_eq!(
            own["data"]["$ref"],
            format!("schemas/{event_type}.schema.json"),
            "{name}"
        );
        assert_eq!(
            own["schema_version"]["$ref"], "#/components/schemas/SchemaVersion",
            "{name}"
        );
    }
}

#[test]
fn schema_versions_and_problem_types_are_the_hubs() {
    let description = source();
    let schemas_ = &description["components"]["schemas"];
    let versions: Vec<i64> = schemas_["SchemaVersion"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(
        versions,
        (schemas::OLDEST_SCHEMA_VERSION..=schemas::CURRENT_SCHEMA_VERSION).collect::<Vec<_>>()
    );
    let types = strings(&schemas_["ProblemType"]["enum"]);
    let kinds: BTreeSet<String> = Kind::all()
        .map(|k| format!("{TYPE_PREFIX}{}", k.slug()))
        .collect();
    assert_eq!(types, kinds, "ProblemType vs problem::Kind");
    // Each problem response names only types whose status is that response's.
    let status_of: BTreeMap<String, u16> = Kind::all()
        .map(|k| (format!("{TYPE_PREFIX}{}", k.slug()), k.status().as_u16()))
        .collect();
    for (path, item) in description["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                let response = match response.get("$ref").and_then(Value::as_str) {
                    Some(r) => description.pointer(r.strip_prefix('#').unwrap()).unwrap(),
                    None => response,
                };
                let Some(schema) = response.pointer("/content/application~1problem+json/schema")
                else {
                    continue;
                };
                let named = &schema["allOf"][1]["properties"]["type"]["enum"];
                for problem_type in strings(named) {
                    assert_eq!(
                        status_of.get(&problem_type).map(u16::to_string).as_deref(),
                        Some(status.as_str()),
                        "{method} {path} {status} lists {problem_type}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_endpoints_are_those_of_api_md() {
    let api = std::fs::read_to_string(docs().join("API.md")).unwrap();
    // The table of section 1: "| `POST /v1/events` | token | ...".
    let listed: BTreeSet<(String, String)> = api
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .filter_map(|(endpoint, _)| endpoint.split_once(' '))
        .filter(|(method, _)| matches!(*method, "GET" | "POST" | "PUT" | "DELETE" | "PATCH"))
        .map(|(method, path)| {
            let path = path.split('?').next().unwrap();
            (method.to_string(), path.to_string())
        })
        .collect();
    let description = source();
    let described: BTreeSet<(String, String)> = description["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    assert!(listed.len() >= 7, "{listed:?}");
    assert_eq!(
        listed, described,
        "docs/API.md section 1 vs docs/openapi.yaml"
    );
}

/// A validator of one component of the bundled description.
fn component(name: &str) -> jsonschema::Validator {
    let document = openapi::document().unwrap();
    let registry = jsonschema::Registry::new()
        .add("urn:test:openapi", document)
        .unwrap()
        .prepare()
        .unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_registry(&registry)
        .build(&json!({ "$ref": format!("urn:test:openapi#/components/schemas/{name}") }))
        .unwrap()
}

/// The component an example of docs/API.md shows, by the members it has.
fn shown(example: &Value) -> &'static str {
    let has = |key: &str| example.get(key).is_some();
    if has("event_type") {
        "Event"
    } else if has("results") {
        "BatchResult"
    } else if has("acknowledgements") {
        "acknowledgements"
    } else if has("result") && has("acknowledgement_id") {
        "AcknowledgementReceipt"
    } else if has("acknowledgement_id") {
        "acknowledgement"
    } else if has("result") {
        "EventReceipt"
    } else if has("custody") {
        "PersonView"
    } else if has("releases") {
        "Releases"
    } else if has("incoming") {
        "incoming"
    } else if has("schema_versions") {
        "Health"
    } else if has("last_seq") {
        "Cursor"
    } else if has("type") && has("status") {
        "Problem"
    } else {
        panic!("docs/API.md shows something the description has no name for: {example}")
    }
}

#[test]
fn every_json_example_in_api_md_matches_the_description() {
    let api = std::fs::read_to_string(docs().join("API.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in api.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```json") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    let mut seen = BTreeSet::new();
    for block in &blocks {
        let example: Value = serde_json::from_str(block).unwrap();
        let name = shown(&example);
        let validator = component(name);
        let problems: Vec<String> = validator
            .iter_errors(&example)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            problems.is_empty(),
            "a docs/API.md example does not match {name}: {problems:?}\n{block}"
        );
        seen.insert(name);
    }
    for name in [
        "Event",
        "BatchResult",
        "EventReceipt",
        "PersonView",
        "Releases",
        "incoming",
        "acknowledgement",
        "AcknowledgementReceipt",
        "acknowledgements",
        "Health",
        "Cursor",
        "Problem",
    ] {
        assert!(seen.contains(name), "docs/API.md shows no {name}");
    }
}

#[test]
fn a_broken_example_is_caught() {
    // The checks above can fail: a view without its custody, an event of a MAT class with a
    // drug name.
    let mut view = json!({"facility_id": "f", "person_id": "p"});
    assert!(!component("PersonView").is_valid(&view));
    view["custody"] = json!("in_custody");
    assert!(!component("PersonView").is_valid(&view));
    let event = json!({
        "schema_version": 1, "event_id": "01963b6e-0000-7c2e-9d41-5a6b7c8d9e04",
        "event_type": "medication_status_changed", "occurred_at": "2026-03-27T15:40:00-07:00",
        "person_id": "p-1", "person_seq": 4, "subject": {"booking_id": "B-1"},
        "source": {"facility_id": "f", "app_version": "0.1.0"},
        "actor": {"user": "rn", "role": "nurse"}, "sensitivity": ["part2"],
        "data": {"item": "m-31", "class": "mat_oud", "status": "ready"}
    });
    assert!(component("Event").is_valid(&event));
    let mut named = event.clone();
    named["data"]["name"] = json!("a drug");
    assert!(!component("Event").is_valid(&named));
    let mut unlabelled = event;
    unlabelled["sensitivity"] = json!([]);
    assert!(!component("Event").is_valid(&unlabelled));
}
