//! A `transaction` Bundle, all or nothing: each entry's target is resolved first (conditional
//! update on an identifier, update by id, or create), the entries' `urn:uuid:` references are
//! replaced by the ids resolved, and every resource is written in one SQLite transaction. A
//! resource that is the same as the stored one is left alone — same version, same time — so
//! sending the same transaction again changes nothing.

use std::collections::{HashMap, HashSet};

use axum::http::StatusCode;
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Value, json};

use super::outcome::Outcome;
use super::store::{self, Stored};

enum Target {
    /// `PUT Type?identifier=system|value`
    Conditional { system: String, value: String },
    /// `PUT Type/id`
    Id(String),
    /// `POST Type`, with `ifNoneExist: identifier=system|value` or not.
    Create(Option<(String, String)>),
}

struct Resolved {
    resource_type: String,
    id: String,
    /// A POST whose ifNoneExist matched: nothing to write.
    exists: bool,
    body: Value,
}

/// `[A-Za-z0-9\-\.]{1,64}`: FHIR's id.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

pub fn valid_type(name: &str) -> bool {
    name.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && name.bytes().all(|b| b.is_ascii_alphabetic())
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(if b == b'+' { b' ' } else { b });
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `identifier=system|value` (percent-encoded) — the only search a conditional write takes.
pub fn identifier_query(query: &str) -> Result<(String, String), Outcome> {
    let mut found = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name != "identifier" || found.is_some() {
            return Err(Outcome::new(
                StatusCode::BAD_REQUEST,
                "not-supported",
                "a conditional request here takes exactly one `identifier=system|value`",
            ));
        }
        let value = percent_decode(value)
            .ok_or_else(|| Outcome::invalid("the identifier is not percent-encoded UTF-8"))?;
        let (system, value) = value
            .split_once('|')
            .filter(|(s, v)| !s.is_empty() && !v.is_empty())
            .ok_or_else(|| Outcome::invalid("the identifier must be `system|value`"))?;
        found = Some((system.to_string(), value.to_string()));
    }
    found.ok_or_else(|| Outcome::invalid("no identifier in the conditional request"))
}

fn target(entry: &Value, at: &str, resource_type: &str) -> Result<Target, Outcome> {
    let method = entry["request"]["method"].as_str().unwrap_or_default();
    let url = entry["request"]["url"].as_str().ok_or_else(|| {
        Outcome::invalid("the entry has no request.url").at(format!("{at}.request"))
    })?;
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut segments = path.trim_matches('/').split('/');
    let url_type = segments.next().unwrap_or_default();
    if url_type != resource_type {
        return Err(Outcome::invalid(format!(
            "request.url names {url_type}, the resource is a {resource_type}"
        ))
        .at(format!("{at}.request.url")));
    }
    let id = segments.next();
    let rest = segments.next();
    let url_at = |o: Outcome| o.at(format!("{at}.request.url"));
    match (method, id, rest) {
        ("PUT", None, None) => {
            let (system, value) = identifier_query(query).map_err(url_at)?;
            Ok(Target::Conditional { system, value })
        }
        ("PUT", Some(id), None) if query.is_empty() && valid_id(id) => Ok(Target::Id(id.into())),
        ("POST", None, None) => {
            let guard = match entry["request"]["ifNoneExist"].as_str() {
                Some(q) => Some(
                    identifier_query(q).map_err(|o| o.at(format!("{at}.request.ifNoneExist")))?,
                ),
                None => None,
            };
            Ok(Target::Create(guard))
        }
        _ => Err(url_at(Outcome::new(
            StatusCode::BAD_REQUEST,
            "not-supported",
            format!(
                "`{method} {url}` is not supported in a transaction here (PUT Type?identifier=, PUT Type/id, POST Type)"
            ),
        ))),
    }
}

fn one_match(ids: Vec<String>, at: &str) -> Result<Option<String>, Outcome> {
    match ids.len() {
        0 => Ok(None),
        1 => Ok(ids.into_iter().next()),
        n => Err(Outcome::new(
            StatusCode::PRECONDITION_FAILED,
            "multiple-matches",
            format!("the identifier matches {n} resources"),
        )
        .at(format!("{at}.request"))),
    }
}

fn resolve(
    conn: &Connection,
    facility: &str,
    entry: &Value,
    at: &str,
) -> Result<Resolved, Outcome> {
    let body = entry["resource"].clone();
    let resource_type = body["resourceType"]
        .as_str()
        .filter(|t| valid_type(t))
        .ok_or_else(|| {
            Outcome::invalid("the entry holds no resource with a resourceType")
                .at(format!("{at}.resource"))
        })?
        .to_string();
    let own_id = body["id"]
        .as_str()
        .filter(|id| valid_id(id))
        .map(String::from);
    if body.get("id").is_some() && own_id.is_none() {
        return Err(
            Outcome::invalid("the resource's id is not a FHIR id").at(format!("{at}.resource.id"))
        );
    }
    let find = |system: &str, value: &str| {
        store::find_by_identifier(conn, facility, &resource_type, system, value)
            .map_err(|e| Outcome::internal(&e))
            .and_then(|ids| one_match(ids, at))
    };
    let fresh = || uuid::Uuid::now_v7().to_string();
    let (id, exists) = match target(entry, at, &resource_type)? {
        Target::Conditional { system, value } => match find(&system, &value)? {
            Some(id) => (id, false),
            None => (own_id.unwrap_or_else(fresh), false),
        },
        Target::Id(id) => {
            if own_id.as_ref().is_some_and(|own| *own != id) {
                return Err(
                    Outcome::invalid("the resource's id is not the one in request.url")
                        .at(format!("{at}.resource.id")),
                );
            }
            (id, false)
        }
        Target::Create(Some((system, value))) => match find(&system, &value)? {
            Some(id) => (id, true),
            None => (fresh(), false),
        },
        Target::Create(None) => (fresh(), false),
    };
    Ok(Resolved {
        resource_type,
        id,
        exists,
        body,
    })
}

/// Replaces references to the transaction's full URLs; a `urn:` reference to anything else
/// cannot be resolved.
fn rewrite(value: &mut Value, map: &HashMap<String, String>, at: &str) -> Result<(), Outcome> {
    match value {
        Value::Object(fields) => {
            if let Some(Value::String(reference)) = fields.get_mut("reference") {
                if let Some(local) = map.get(reference.as_str()) {
                    *reference = local.clone();
                } else if reference.starts_with("urn:") {
                    return Err(Outcome::new(
                        StatusCode::BAD_REQUEST,
                        "not-found",
                        format!("the reference {reference} is to nothing in the transaction"),
                    )
                    .at(at.to_string()));
                }
            }
            for v in fields.values_mut() {
                rewrite(v, map, at)?;
            }
        }
        Value::Array(items) => {
            for v in items {
                rewrite(v, map, at)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// What the server keeps of an incoming resource: its id, and `meta` without the version and
/// time, which are the server's.
fn normalise(body: &mut Value, id: &str) {
    if let Some(map) = body.as_object_mut() {
        map.insert("id".into(), Value::from(id));
        if let Some(Value::Object(meta)) = map.get_mut("meta") {
            meta.remove("versionId");
            meta.remove("lastUpdated");
            if meta.is_empty() {
                map.remove("meta");
            }
        }
    }
}

/// Applies the transaction for `facility`; the answer is the `transaction-response` Bundle.
pub fn apply(
    conn: &mut Connection,
    facility: &str,
    bundle: &Value,
    now: &str,
) -> Result<Value, Outcome> {
    if bundle["resourceType"] != "Bundle" {
        return Err(Outcome::invalid("the body is not a Bundle").at("Bundle"));
    }
    if bundle["type"] != "transaction" {
        return Err(Outcome::new(
            StatusCode::BAD_REQUEST,
            "not-supported",
            "only `transaction` Bundles are taken here",
        )
        .at("Bundle.type"));
    }
    let entries = match &bundle["entry"] {
        Value::Array(entries) => entries.as_slice(),
        Value::Null => &[],
        _ => return Err(Outcome::invalid("Bundle.entry is not a list").at("Bundle.entry")),
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| Outcome::internal(&anyhow::Error::new(e)))?;
    let mut resolved = Vec::with_capacity(entries.len());
    let mut map = HashMap::new();
    let mut targets = HashSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("Bundle.entry[{i}]");
        let r = resolve(&tx, facility, entry, &at)?;
        let local = format!("{}/{}", r.resource_type, r.id);
        if !targets.insert(local.clone()) {
            return Err(Outcome::invalid(format!("two entries write {local}")).at(at));
        }
        if let Some(full) = entry["fullUrl"].as_str() {
            map.insert(full.to_string(), local);
        }
        resolved.push(r);
    }
    let mut answers = Vec::with_capacity(resolved.len());
    for (i, mut r) in resolved.into_iter().enumerate() {
        let internal = |e: anyhow::Error| Outcome::internal(&e);
        let existing = store::read(&tx, facility, &r.resource_type, &r.id).map_err(internal)?;
        let (status, stored) = if r.exists {
            let stored = existing.ok_or_else(|| {
                Outcome::internal(&anyhow::anyhow!("an indexed resource is missing"))
            })?;
            ("200 OK", stored)
        } else {
            rewrite(&mut r.body, &map, &format!("Bundle.entry[{i}].resource"))?;
            normalise(&mut r.body, &r.id);
            match existing {
                Some(old) if old.body == r.body => ("200 OK", old),
                old => {
                    let stored = Stored {
                        version: old.as_ref().map_or(1, |o| o.version + 1),
                        last_updated: now.to_string(),
                        body: r.body,
                    };
                    store::write(&tx, facility, &r.resource_type, &r.id, &stored)
                        .map_err(internal)?;
                    (
                        if old.is_some() {
                            "200 OK"
                        } else {
                            "201 Created"
                        },
                        stored,
                    )
                }
            }
        };
        answers.push(json!({"response": {
            "status": status,
            "location": format!("{}/{}/_history/{}", r.resource_type, r.id, stored.version),
            "etag": format!("W/\"{}\"", stored.version),
            "lastModified": stored.last_updated,
        }}));
    }
    tx.commit()
        .map_err(|e| Outcome::internal(&anyhow::Error::new(e)))?;
    Ok(json!({"resourceType": "Bundle", "type": "transaction-response", "entry": answers}))
}
