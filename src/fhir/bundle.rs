//! A person's resources as one `transaction` Bundle of conditional updates.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::Resource;

/// One `transaction` Bundle. Each entry is a `PUT` that names the resource by its identifier
/// (`PUT Patient?identifier=system|value`), so a receiver updates what an earlier transaction
/// created; entries refer to each other by `urn:uuid:` full URLs, which the receiver replaces
/// with the ids it resolved, since a receiver that already knew the person under another id
/// keeps that id.
pub fn transaction(resources: &[Resource]) -> Value {
    let inside: HashSet<String> = resources.iter().map(Resource::reference).collect();
    let entries: Vec<Value> = resources
        .iter()
        .map(|r| {
            let mut body = r.body.clone();
            to_urn_references(&mut body, &inside);
            json!({
                "fullUrl": format!("urn:uuid:{}", r.id),
                "resource": body,
                "request": {"method": "PUT", "url": r.request_url()},
            })
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// Rewrites `{"reference": "Type/id"}` to `urn:uuid:id` where the bundle holds that resource.
fn to_urn_references(value: &mut Value, inside: &HashSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("reference") {
                if inside.contains(reference.as_str()) {
                    if let Some((_, id)) = reference.split_once('/') {
                        *reference = format!("urn:uuid:{id}");
                    }
                }
            }
            for v in map.values_mut() {
                to_urn_references(v, inside);
            }
        }
        Value::Array(items) => {
            for v in items {
                to_urn_references(v, inside);
            }
        }
        _ => {}
    }
}
