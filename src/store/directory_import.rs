//! Imports of small reference files — the care-team directory, facilities, medication lists —
//! as upserts in one transaction with one audit row per change (and for medications the event the
//! hub expects). Nothing is deleted: rows the file lacks are listed for people to decide.

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

use super::codec::opt_date;
use super::error::{SqlContext, StoreError};
use super::outbox::{AuditRow, Event, Writer};
use super::rows::{self, Col};
use super::{Actor, Result, Store};
use crate::domain::events::EventType;
use crate::domain::{Contact, Facility, MedClass, SupplyStatus};

/// What an upsert did, or (dry run) would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpsertOutcome {
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// Keys in the database that the file does not have (kept as they are).
    pub not_in_file: Vec<String>,
    pub audit_rows: u64,
    pub events: u64,
}

/// One medication of a medication list; the key is (booking id, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicationEntry {
    pub booking_id: String,
    pub name: String,
    pub class: MedClass,
    pub long_acting_injectable: bool,
    pub next_dose: Option<NaiveDate>,
    pub supply: SupplyStatus,
}

impl Store {
    /// Booking ids of `ids` that the database does not know.
    pub fn unknown_bookings<'a>(&self, ids: impl Iterator<Item = &'a str>) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM persons WHERE booking_id = ?1")
            .ctx("looking up bookings")
            .map_err(|e| e.at(&self.path))?;
        let mut unknown = Vec::new();
        for id in ids {
            let found = stmt
                .query_row([id], |_| Ok(()))
                .optional()
                .ctx("looking up bookings")
                .map_err(|e| e.at(&self.path))?;
            if found.is_none() {
                unknown.push(id.to_string());
            }
        }
        Ok(unknown)
    }

    pub fn import_contacts(
        &mut self,
        actor: &Actor,
        contacts: &[Contact],
        dry_run: bool,
    ) -> Result<UpsertOutcome> {
        let run = |w: Option<&Writer<'_>>, conn: &rusqlite::Connection| -> Result<UpsertOutcome> {
            let mut out = UpsertOutcome::default();
            for c in contacts {
                let after = json!({
                    "name": c.name, "organisation": c.organisation, "phone": c.phone,
                    "kind": c.kind.code(),
                });
                let before: Option<Value> = conn
                    .prepare_cached(
                        "SELECT name, organisation, phone, kind FROM contacts WHERE id = ?1",
                    )
                    .and_then(|mut s| {
                        s.query_row([&c.id], |r| {
                            Ok(json!({
                                "name": r.get::<_, String>(0)?,
                                "organisation": r.get::<_, String>(1)?,
                                "phone": r.get::<_, String>(2)?,
                                "kind": r.get::<_, String>(3)?,
                            }))
                        })
                        .optional()
                    })
                    .ctx("reading the directory")?;
                if before.as_ref() == Some(&after) {
                    out.unchanged += 1;
                    continue;
                }
                let kind = if before.is_some() {
                    out.changed += 1;
                    "contact_changed"
                } else {
                    out.new += 1;
                    "contact_added"
                };
                if let Some(w) = w {
                    super::seed::upsert_contact(w, c).ctx("saving a contact")?;
                    w.audit(&AuditRow {
                        person_id: None,
                        kind,
                        entity: "contact",
                        entity_id: Some(c.id.clone()),
                        before,
                        after: Some(after),
                        reason: Some("directory import".into()),
                    })?;
                    out.audit_rows += 1;
                }
            }
            out.not_in_file = absent(conn, "SELECT id FROM contacts ORDER BY id", |id| {
                contacts.iter().any(|c| c.id == id)
            })?;
            Ok(out)
        };
        self.upsert(actor, dry_run, run)
    }

    pub fn import_facilities(
        &mut self,
        actor: &Actor,
        facilities: &[Facility],
        dry_run: bool,
    ) -> Result<UpsertOutcome> {
        let run = |w: Option<&Writer<'_>>, conn: &rusqlite::Connection| -> Result<UpsertOutcome> {
            let mut out = UpsertOutcome::default();
            for f in facilities {
                let after = json!({"name": f.name, "kind": f.kind.code()});
                let before: Option<Value> = conn
                    .prepare_cached("SELECT name, kind FROM facilities WHERE id = ?1")
                    .and_then(|mut s| {
                        s.query_row([&f.id], |r| {
                            Ok(json!({
                                "name": r.get::<_, String>(0)?,
                                "kind": r.get::<_, String>(1)?,
                            }))
                        })
                        .optional()
                    })
                    .ctx("reading facilities")?;
                if before.as_ref() == Some(&after) {
                    out.unchanged += 1;
                    continue;
                }
                let kind = if before.is_some() {
                    out.changed += 1;
                    "facility_changed"
                } else {
                    out.new += 1;
                    "facility_added"
                };
                if let Some(w) = w {
                    w.tx.prepare_cached(
                        "INSERT INTO facilities (id, name, kind) VALUES (?1, ?2, ?3)
                         ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind",
                    )
                    .and_then(|mut s| s.execute(params![f.id, f.name, f.kind.code()]))
                    .ctx("saving a facility")?;
                    w.audit(&AuditRow {
                        person_id: None,
                        kind,
                        entity: "facility",
                        entity_id: Some(f.id.clone()),
                        before,
                        after: Some(after),
                        reason: Some("facility import".into()),
                    })?;
                    out.audit_rows += 1;
                }
            }
            out.not_in_file = absent(conn, "SELECT id FROM facilities ORDER BY id", |id| {
                facilities.iter().any(|f| f.id == id)
            })?;
            Ok(out)
        };
        self.upsert(actor, dry_run, run)
    }

    /// Upserts medications by (booking id, name, case ignored); each addition or change is one
    /// audit row and one `medication_status_changed` event (Part 2 items without the drug name).
    pub fn import_medications(
        &mut self,
        actor: &Actor,
        medications: &[MedicationEntry],
        dry_run: bool,
    ) -> Result<UpsertOutcome> {
        let run = |w: Option<&Writer<'_>>, conn: &rusqlite::Connection| -> Result<UpsertOutcome> {
            let mut out = UpsertOutcome::default();
            for m in medications {
                let person_id: String = conn
                    .prepare_cached("SELECT id FROM persons WHERE booking_id = ?1")
                    .and_then(|mut s| s.query_row([&m.booking_id], |r| r.get(0)).optional())
                    .ctx("finding the booking")?
                    .ok_or_else(|| StoreError::invalid(format!("no booking {}", m.booking_id)))?;
                let found: Option<(i64, i64, Value)> = conn
                    .prepare_cached(
                        "SELECT id, version, class, lai, next_dose, supply FROM medications
                         WHERE person_id = ?1 AND lower(name) = lower(?2) ORDER BY id LIMIT 1",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![person_id, m.name], |r| {
                            Ok((
                                r.get(0)?,
                                r.get(1)?,
                                json!({
                                    "class": r.get::<_, String>(2)?,
                                    "lai": r.get::<_, i64>(3)?,
                                    "next_dose": r.get::<_, Option<String>>(4)?,
                                    "supply": r.get::<_, String>(5)?,
                                }),
                            ))
                        })
                        .optional()
                    })
                    .ctx("reading medications")?;
                let after = json!({
                    "class": m.class.code(),
                    "lai": i64::from(m.long_acting_injectable),
                    "next_dose": opt_date(m.next_dose),
                    "supply": m.supply.code(),
                });
                match &found {
                    Some((_, _, before)) if *before == after => {
                        out.unchanged += 1;
                        continue;
                    }
                    Some(_) => out.changed += 1,
                    None => out.new += 1,
                }
                let Some(w) = w else { continue };
                let head = w.person(&person_id)?;
                let cols = vec![
                    ("class", m.class.code().sql()),
                    ("lai", m.long_acting_injectable.sql()),
                    ("next_dose", m.next_dose.sql()),
                    ("supply", m.supply.code().sql()),
                ];
                let (item_id, kind, change) = match found {
                    Some((item_id, version, _)) => {
                        w.bump_item("medications", &head, item_id, version)?;
                        let change = rows::update(w, "medications", &head, Some(item_id), cols)?;
                        (item_id, "medication_supply_set", change)
                    }
                    None => {
                        let mut cols = cols;
                        cols.extend([
                            ("name", m.name.trim().sql()),
                            ("version", 1_i64.sql()),
                            ("updated_at", w.now.sql()),
                            ("updated_by", w.actor.login.as_str().sql()),
                        ]);
                        let (id, after) = rows::insert(w, "medications", &head, cols)?;
                        (id, "medication_added", (Value::Null, after))
                    }
                };
                w.audit(&AuditRow {
                    person_id: Some(&head.id),
                    kind,
                    entity: "medication",
                    entity_id: Some(item_id.to_string()),
                    before: Some(change.0),
                    after: Some(change.1),
                    reason: Some("medication list import".into()),
                })?;
                w.event(&head, &medication_event(item_id, m))?;
                out.audit_rows += 1;
                out.events += 1;
            }
            Ok(out)
        };
        self.upsert(actor, dry_run, run)
    }

    /// Runs an upsert: read-only for a dry run, else in one admin write transaction.
    fn upsert(
        &mut self,
        actor: &Actor,
        dry_run: bool,
        run: impl FnOnce(Option<&Writer<'_>>, &rusqlite::Connection) -> Result<UpsertOutcome>,
    ) -> Result<UpsertOutcome> {
        if dry_run {
            let path = self.path.clone();
            return run(None, &self.conn).map_err(|e| e.at(&path));
        }
        self.write(actor, |w| {
            w.allow_admin()?;
            run(Some(w), w.tx)
        })
    }
}

fn medication_event(item_id: i64, m: &MedicationEntry) -> Event {
    let days_supply =
        (!matches!(m.supply, SupplyStatus::NotNeeded | SupplyStatus::Refused)).then_some(30);
    let mut data = json!({
        "item_id": item_id,
        "class": m.class.code(),
        "status": m.supply.code(),
        "days_supply": days_supply,
    });
    // 42 CFR Part 2: the class says enough; the drug name stays local.
    if !m.class.is_part2() {
        data["item"] = Value::from(m.name.trim());
    }
    Event {
        kind: EventType::MedicationStatusChanged,
        data,
        part2: m.class.is_part2(),
    }
}

/// Keys a query lists that `present` does not know.
fn absent(
    conn: &rusqlite::Connection,
    sql: &str,
    present: impl Fn(&str) -> bool,
) -> Result<Vec<String>> {
    let ids: Vec<String> = conn
        .prepare(sql)
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .ctx("listing what the file lacks")?;
    Ok(ids.into_iter().filter(|id| !present(id)).collect())
}
