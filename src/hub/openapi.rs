//! The OpenAPI description of `/v1` (docs/openapi.yaml), bundled with the JSON Schemas of
//! docs/schemas into the one JSON document the hub serves at `GET /v1/openapi.json`.
//!
//! The YAML refers to the schema files (`schemas/person_booked.schema.json`,
//! `schemas/common.schema.json#/$defs/date`) instead of copying them. A client generator wants one
//! self-contained document, so bundling puts each file under `components/schemas` and rewrites
//! the references:
//!
//! - `schemas/X.schema.json` → `#/components/schemas/X` (the file without its `$defs`);
//! - `schemas/X.schema.json#/$defs/D` and, inside X, `#/$defs/D` → `#/components/schemas/D`;
//! - any other fragment `schemas/X.schema.json#/P` → `#/components/schemas/X/P`.
//!
//! `$id` and `$schema` are dropped from the bundled copies: an `$id` would make the rewritten
//! references resolve against the schemas' own URI instead of the document.

use std::sync::LazyLock;

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Map, Number, Value};
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::schemas;

/// The description as written.
pub const SOURCE: &str = include_str!("../../docs/openapi.yaml");

/// Where the YAML's references to the schema files start.
const SCHEMAS_DIR: &str = "schemas/";

struct Bundled {
    document: Value,
    json: String,
}

/// Built once; a failure is a bug in docs/ that the unit tests catch, and the hub answers 500.
static BUNDLED: LazyLock<Result<Bundled, String>> = LazyLock::new(|| {
    let document = bundle(SOURCE, schemas::FILES).map_err(|e| format!("{e:#}"))?;
    let json = serde_json::to_string(&document).map_err(|e| e.to_string())?;
    Ok(Bundled { document, json })
});

/// The bundled description.
pub fn document() -> anyhow::Result<&'static Value> {
    BUNDLED
        .as_ref()
        .map(|b| &b.document)
        .map_err(|e| anyhow!("the OpenAPI description is broken: {e}"))
}

/// The bundled description as JSON text, as served.
pub fn json() -> anyhow::Result<&'static str> {
    BUNDLED
        .as_ref()
        .map(|b| b.json.as_str())
        .map_err(|e| anyhow!("the OpenAPI description is broken: {e}"))
}

/// Reads the YAML description and bundles the schema files into it.
pub fn bundle(yaml: &str, files: &[(&str, &str)]) -> anyhow::Result<Value> {
    let mut document = yaml_to_json(yaml).context("docs/openapi.yaml")?;
    let mut bundled = Map::new();
    for (name, text) in files {
        let schema: Value =
            serde_json::from_str(text).with_context(|| format!("{name} is not JSON"))?;
        add_file(&mut bundled, name, schema)?;
    }
    rewrite_refs(&mut document, None)?;
    let schemas = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .context("docs/openapi.yaml has no components/schemas")?;
    for (name, schema) in bundled {
        if schemas.contains_key(&name) {
            bail!("docs/openapi.yaml defines the schema `{name}` that a schema file also defines");
        }
        schemas.insert(name, schema);
    }
    check_refs(&document)?;
    Ok(document)
}

/// The component name of a schema file: its name without `.schema.json`.
pub fn component_name(file: &str) -> Option<&str> {
    file.strip_prefix(SCHEMAS_DIR)
        .unwrap_or(file)
        .strip_suffix(".schema.json")
}

/// Puts one schema file's `$defs` and (unless it is only a set of `$defs`) the file itself under
/// its component names.
fn add_file(bundled: &mut Map<String, Value>, name: &str, mut schema: Value) -> anyhow::Result<()> {
    let stem = component_name(name).with_context(|| format!("{name} is not a .schema.json"))?;
    rewrite_refs(&mut schema, Some(stem)).with_context(|| name.to_string())?;
    let object = schema
        .as_object_mut()
        .with_context(|| format!("{name} is not a JSON object"))?;
    object.remove("$id");
    object.remove("$schema");
    if let Some(defs) = object.remove("$defs") {
        let defs = defs
            .as_object()
            .with_context(|| format!("{name}: $defs is not an object"))?;
        for (def, value) in defs {
            insert_once(bundled, def, value.clone(), name)?;
        }
    }
    let only_defs = object
        .keys()
        .all(|k| matches!(k.as_str(), "title" | "description"));
    if !only_defs {
        insert_once(bundled, stem, schema, name)?;
    }
    Ok(())
}

fn insert_once(
    bundled: &mut Map<String, Value>,
    key: &str,
    value: Value,
    file: &str,
) -> anyhow::Result<()> {
    if bundled.insert(key.to_string(), value).is_some() {
        bail!("{file}: the schema name `{key}` is defined by two schema files");
    }
    Ok(())
}

/// Rewrites every `$ref` to a schema file (or, inside file `within`, to the file itself) into a
/// reference inside the bundled document.
fn rewrite_refs(value: &mut Value, within: Option<&str>) -> anyhow::Result<()> {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref") {
                *reference = bundled_ref(reference, within)?;
            }
            for (key, child) in map.iter_mut() {
                // Examples and enum/const values are data, not schemas.
                if !matches!(key.as_str(), "enum" | "const" | "example" | "examples") {
                    rewrite_refs(child, within)?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_refs(item, within)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn bundled_ref(reference: &str, within: Option<&str>) -> anyhow::Result<String> {
    let (file, fragment) = reference.split_once('#').unwrap_or((reference, ""));
    let stem = if file.is_empty() {
        match within {
            // A reference inside the description itself stays as it is.
            None => return Ok(reference.to_string()),
            Some(stem) => stem,
        }
    } else {
        if file.contains("://") || file.starts_with('/') {
            bail!(
                "the reference `{reference}` leaves docs/: only schemas/*.schema.json are bundled"
            );
        }
        component_name(file).with_context(|| format!("the reference `{reference}`"))?
    };
    Ok(match fragment.strip_prefix("/$defs/") {
        Some(def) if !def.contains('/') => format!("#/components/schemas/{def}"),
        _ => format!("#/components/schemas/{stem}{fragment}"),
    })
}

/// Every `$ref` of the bundled document points at something in it.
fn check_refs(document: &Value) -> anyhow::Result<()> {
    fn walk(node: &Value, document: &Value, problems: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let found = reference
                        .strip_prefix('#')
                        .is_some_and(|pointer| document.pointer(pointer).is_some());
                    if !found {
                        problems.push(reference.clone());
                    }
                }
                for (key, child) in map {
                    if !matches!(key.as_str(), "enum" | "const" | "example" | "examples") {
                        walk(child, document, problems);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, document, problems)),
            _ => {}
        }
    }
    let mut problems = Vec::new();
    walk(document, document, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        bail!("references to nothing: {}", problems.join(", "))
    }
}

/// YAML (one document, the JSON-compatible part of YAML 1.2) as a JSON value. A key given twice
/// is an error (a loader that kept the last one would silently drop, say, a response).
pub fn yaml_to_json(text: &str) -> anyhow::Result<Value> {
    let mut builder = JsonBuilder::default();
    Parser::new_from_str(text)
        .load(&mut builder, false)
        .map_err(|e| anyhow!("not YAML: {e}"))?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    builder.done.context("the YAML document is empty")
}

/// An open mapping or sequence while the events arrive.
enum Open {
    Mapping(Map<String, Value>, Option<String>),
    Sequence(Vec<Value>),
}

#[derive(Default)]
struct JsonBuilder {
    open: Vec<Open>,
    done: Option<Value>,
    error: Option<anyhow::Error>,
}

impl JsonBuilder {
    fn event(&mut self, event: Event, line: usize) -> anyhow::Result<()> {
        match event {
            Event::MappingStart(..) => self.open.push(Open::Mapping(Map::new(), None)),
            Event::SequenceStart(..) => self.open.push(Open::Sequence(Vec::new())),
            Event::MappingEnd => match self.open.pop() {
                Some(Open::Mapping(map, None)) => self.value(Value::Object(map), line)?,
                _ => bail!("line {line}: a mapping ends where none is open"),
            },
            Event::SequenceEnd => match self.open.pop() {
                Some(Open::Sequence(items)) => self.value(Value::Array(items), line)?,
                _ => bail!("line {line}: a sequence ends where none is open"),
            },
            Event::Scalar(text, style, _, _) => {
                let value = if style == TScalarStyle::Plain {
                    scalar(&text).with_context(|| format!("line {line}"))?
                } else {
                    Value::String(text)
                };
                self.value(value, line)?;
            }
            Event::Alias(_) => bail!("line {line}: YAML aliases are not used in this description"),
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
        Ok(())
    }

    fn value(&mut self, value: Value, line: usize) -> anyhow::Result<()> {
        match self.open.last_mut() {
            None if self.done.is_none() => self.done = Some(value),
            None => bail!("line {line}: expected one YAML document"),
            Some(Open::Sequence(items)) => items.push(value),
            Some(Open::Mapping(_, key @ None)) => {
                *key = Some(match value {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => bail!("line {line}: a key that is not a string: {other}"),
                });
            }
            Some(Open::Mapping(map, key @ Some(_))) => {
                let name = key.take().unwrap_or_default();
                if map.contains_key(&name) {
                    bail!("line {line}: the key `{name}` is given twice");
                }
                map.insert(name, value);
            }
        }
        Ok(())
    }
}

impl MarkedEventReceiver for JsonBuilder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_none() {
            if let Err(error) = self.event(event, mark.line()) {
                self.error = Some(error);
            }
        }
    }
}

/// A plain (unquoted) scalar, typed by YAML 1.2's core schema.
fn scalar(text: &str) -> anyhow::Result<Value> {
    Ok(match Yaml::from_str(text) {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::Number(i.into()),
        Yaml::Real(real) => Value::Number(
            real.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .with_context(|| format!("`{real}` is not a finite number"))?,
        ),
        _ => Value::String(text.to_string()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    #[test]
    fn the_description_bundles() {
        let document = document().unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(document["info"]["version"], "1.0.0");
        assert_eq!(
            document.pointer("/components/schemas/date/format"),
            Some(&json!("date"))
        );
        assert!(json().unwrap().starts_with('{'));
    }

    #[test]
    fn references_are_rewritten_into_the_document() {
        assert_eq!(
            bundled_ref("schemas/common.schema.json#/$defs/date", None).unwrap(),
            "#/components/schemas/date"
        );
        assert_eq!(
            bundled_ref("common.schema.json#/$defs/date", Some("person_booked")).unwrap(),
            "#/components/schemas/date"
        );
        assert_eq!(
            bundled_ref("#/$defs/date_or_null", Some("common")).unwrap(),
            "#/components/schemas/date_or_null"
        );
        assert_eq!(
            bundled_ref("schemas/person_booked.schema.json", None).unwrap(),
            "#/components/schemas/person_booked"
        );
        assert_eq!(
            bundled_ref("schemas/x.schema.json#/properties/name", None).unwrap(),
            "#/components/schemas/x/properties/name"
        );
        assert_eq!(
            bundled_ref("#/components/schemas/Event", None).unwrap(),
            "#/components/schemas/Event"
        );
        assert!(bundled_ref("https://elsewhere.example/x.schema.json", None).is_err());
        assert!(bundled_ref("schemas/notes.txt", None).is_err());
    }

    #[test]
    fn a_dangling_reference_or_a_name_clash_is_an_error() {
        let yaml = "openapi: 3.1.0\ncomponents:\n  schemas:\n    A:\n      $ref: 'schemas/missing.schema.json'\n";
        let error = bundle(yaml, &[]).unwrap_err();
        assert!(format!("{error:#}").contains("missing"), "{error:#}");
        let yaml = "openapi: 3.1.0\ncomponents:\n  schemas:\n    date: {type: string}\n";
        let error = bundle(yaml, schemas::FILES).unwrap_err();
        assert!(format!("{error:#}").contains("`date`"), "{error:#}");
    }

    #[test]
    fn yaml_reads_as_json() {
        let value = yaml_to_json("a: 1\nb: [x, 2.5, true, null]\n'200': {c: 'd'}\n").unwrap();
        assert_eq!(
            value,
            json!({"a": 1, "b": ["x", 2.5, true, null], "200": {"c": "d"}})
        );
        assert!(yaml_to_json("a: 1\na: 2\n").is_err());
        assert!(yaml_to_json("a: &x 1\nb: *x\n").is_err());
    }
}
