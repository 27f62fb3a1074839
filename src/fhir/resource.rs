//! One resource ready to export or send: its type, its derived id, how a receiver finds an
//! earlier copy of it (an identifier, or the id where the type has no identifier), and its JSON.

use serde_json::{Value, json};

use super::ids;

/// How a receiver finds the copy an earlier export or send left there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// A conditional update on `identifier=system|value` (the value is an opaque board id).
    Identifier { system: String, value: String },
    /// `PUT Type/id`: for types without an identifier (Provenance) the stable id is the key.
    Id,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub resource_type: &'static str,
    pub id: String,
    pub key: Match,
    pub body: Value,
}

impl Resource {
    /// A resource found by the identifier `system|value`, which it also carries (first, before
    /// any identifier `body` already has). The id is derived from the same pair.
    pub fn identified(
        resource_type: &'static str,
        system: String,
        value: String,
        mut body: Value,
    ) -> Self {
        let id = ids::resource_id(resource_type, &format!("{system}|{value}"));
        if let Some(map) = body.as_object_mut() {
            let mut identifiers = vec![json!({"system": system, "value": value})];
            if let Some(Value::Array(more)) = map.remove("identifier") {
                identifiers.extend(more);
            }
            map.insert("identifier".into(), Value::Array(identifiers));
        }
        Self::finish(resource_type, id, Match::Identifier { system, value }, body)
    }

    /// A resource without an identifier element, found by its id, derived from `key`.
    pub fn by_id(resource_type: &'static str, key: &str, body: Value) -> Self {
        let id = ids::resource_id(resource_type, key);
        Self::finish(resource_type, id, Match::Id, body)
    }

    fn finish(resource_type: &'static str, id: String, key: Match, mut body: Value) -> Self {
        if let Some(map) = body.as_object_mut() {
            map.insert("resourceType".into(), json!(resource_type));
            map.insert("id".into(), json!(id));
        }
        Self {
            resource_type,
            id,
            key,
            body,
        }
    }

    /// `Type/id`, as other resources refer to this one.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.resource_type, self.id)
    }

    /// A Reference element to this resource with words for a reader.
    pub fn reference_to(&self, display: &str) -> Value {
        if display.is_empty() {
            json!({"reference": self.reference()})
        } else {
            json!({"reference": self.reference(), "display": display})
        }
    }

    /// Labels the resource (meta.security), e.g. as a Part 2 record.
    pub fn label(mut self, security: Value) -> Self {
        if let Some(map) = self.body.as_object_mut() {
            map.insert("meta".into(), json!({"security": security}));
        }
        self
    }

    /// Claims a profile (meta.profile), beside any labels.
    pub fn profile(mut self, url: &str) -> Self {
        if let Some(map) = self.body.as_object_mut() {
            let meta = map.entry("meta").or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                meta.insert("profile".into(), json!([url]));
            }
        }
        self
    }

    /// The URL of a transaction entry that creates or updates this resource idempotently.
    pub fn request_url(&self) -> String {
        match &self.key {
            Match::Identifier { system, value } => format!(
                "{}?identifier={}|{}",
                self.resource_type,
                query_escape(system),
                query_escape(value)
            ),
            Match::Id => self.reference(),
        }
    }
}

/// Percent-encodes a query parameter's part; `:` and `/` stay readable as RFC 3986 allows.
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The US Core profile URL of a resource kind (US Core 6.1, on FHIR R4).
pub fn us_core(name: &str) -> String {
    format!("http://hl7.org/fhir/us/core/StructureDefinition/us-core-{name}")
}
