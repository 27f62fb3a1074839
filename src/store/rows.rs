//! Generic row edits for commands: update, insert or delete named columns and get back the
//! before/after JSON the audit row records. Table and column names are always literals of ours.

use rusqlite::params_from_iter;
use rusqlite::types::{Value as Sql, ValueRef};
use serde_json::{Map, Value};

use super::Result;
use super::codec::{date, ts};
use super::error::{SqlContext, StoreError};
use super::outbox::{Head, Writer};
use chrono::{DateTime, NaiveDate, Utc};

/// A value for a column, from the types commands hold.
pub(crate) trait Col {
    fn sql(&self) -> Sql;
}

impl Col for &str {
    fn sql(&self) -> Sql {
        Sql::Text((*self).to_string())
    }
}
impl Col for String {
    fn sql(&self) -> Sql {
        Sql::Text(self.clone())
    }
}
impl Col for i64 {
    fn sql(&self) -> Sql {
        Sql::Integer(*self)
    }
}
impl Col for bool {
    fn sql(&self) -> Sql {
        Sql::Integer(i64::from(*self))
    }
}
impl Col for NaiveDate {
    fn sql(&self) -> Sql {
        Sql::Text(date(*self))
    }
}
impl Col for DateTime<Utc> {
    fn sql(&self) -> Sql {
        Sql::Text(ts(*self))
    }
}
impl<T: Col> Col for Option<T> {
    fn sql(&self) -> Sql {
        self.as_ref().map_or(Sql::Null, Col::sql)
    }
}

pub(crate) type Cols = Vec<(&'static str, Sql)>;

fn to_json(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null | ValueRef::Blob(_) => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
    }
}

fn cols_json(cols: &Cols) -> Value {
    let map: Map<String, Value> = cols
        .iter()
        .map(|(name, v)| ((*name).to_string(), to_json(ValueRef::from(v))))
        .collect();
    Value::Object(map)
}

/// `WHERE` of a person row (`key` None) or of one child row of the person.
fn key_clause(key: Option<i64>) -> &'static str {
    if key.is_some() {
        "person_id = ? AND id = ?"
    } else {
        "id = ?"
    }
}

fn key_params(head: &Head, key: Option<i64>) -> Vec<Sql> {
    let mut p = vec![Sql::Text(head.id.clone())];
    if let Some(id) = key {
        p.push(Sql::Integer(id));
    }
    p
}

/// The current values of `names` in one row, as a JSON object; None when there is no such row.
pub(crate) fn snapshot(
    w: &Writer<'_>,
    table: &'static str,
    head: &Head,
    key: Option<i64>,
    names: &[&'static str],
) -> Result<Option<Value>> {
    let sql = format!(
        "SELECT {} FROM {table} WHERE {}",
        names.join(", "),
        key_clause(key)
    );
    let mut stmt = w.tx.prepare_cached(&sql).ctx("reading a row")?;
    let mut rows = stmt
        .query(params_from_iter(key_params(head, key)))
        .ctx("reading a row")?;
    let Some(row) = rows.next().ctx("reading a row")? else {
        return Ok(None);
    };
    let mut map = Map::new();
    for (i, name) in names.iter().enumerate() {
        map.insert(
            (*name).to_string(),
            to_json(row.get_ref(i).ctx("reading a column")?),
        );
    }
    Ok(Some(Value::Object(map)))
}

/// Sets `cols` on a person row (`key` None) or one of its child rows; returns (before, after).
pub(crate) fn update(
    w: &Writer<'_>,
    table: &'static str,
    head: &Head,
    key: Option<i64>,
    cols: Cols,
) -> Result<(Value, Value)> {
    let names: Vec<&'static str> = cols.iter().map(|(n, _)| *n).collect();
    let before = snapshot(w, table, head, key, &names)?.ok_or_else(|| missing(table, head, key))?;
    let sets: Vec<String> = names.iter().map(|n| format!("{n} = ?")).collect();
    let sql = format!(
        "UPDATE {table} SET {} WHERE {}",
        sets.join(", "),
        key_clause(key)
    );
    let after = cols_json(&cols);
    let params = cols
        .into_iter()
        .map(|(_, v)| v)
        .chain(key_params(head, key));
    w.tx.prepare_cached(&sql)
        .and_then(|mut s| s.execute(params_from_iter(params)))
        .ctx("updating a row")?;
    Ok((before, after))
}

/// Inserts a child row of the person with the next per-person id; returns (id, after).
pub(crate) fn insert(
    w: &Writer<'_>,
    table: &'static str,
    head: &Head,
    cols: Cols,
) -> Result<(i64, Value)> {
    let id = w.next_child_id(table, &head.id)?;
    let names: Vec<&'static str> = cols.iter().map(|(n, _)| *n).collect();
    let marks = vec!["?"; names.len() + 2].join(", ");
    let sql = format!(
        "INSERT INTO {table} (person_id, id, {}) VALUES ({marks})",
        names.join(", ")
    );
    let after = cols_json(&cols);
    let params = [Sql::Text(head.id.clone()), Sql::Integer(id)]
        .into_iter()
        .chain(cols.into_iter().map(|(_, v)| v));
    w.tx.prepare_cached(&sql)
        .and_then(|mut s| s.execute(params_from_iter(params)))
        .ctx("inserting a row")?;
    Ok((id, after))
}

/// Deletes one child row; returns what it held (`names`) for the audit.
pub(crate) fn delete(
    w: &Writer<'_>,
    table: &'static str,
    head: &Head,
    id: i64,
    names: &[&'static str],
) -> Result<Value> {
    let before =
        snapshot(w, table, head, Some(id), names)?.ok_or_else(|| missing(table, head, Some(id)))?;
    let sql = format!("DELETE FROM {table} WHERE person_id = ? AND id = ?");
    w.tx.prepare_cached(&sql)
        .and_then(|mut s| s.execute(params_from_iter(key_params(head, Some(id)))))
        .ctx("deleting a row")?;
    Ok(before)
}

fn missing(table: &str, head: &Head, key: Option<i64>) -> StoreError {
    match key {
        Some(id) => StoreError::invalid(format!(
            "no {table} row {id} for booking {}",
            head.booking_id
        )),
        None => StoreError::invalid(format!("no person with id {}", head.id)),
    }
}
