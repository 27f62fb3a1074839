//! The shared tail of every write: permission and version checks, the audit row, the outbox
//! event with its envelope, and the version bump. Commands call these; none repeats them.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::Value;
use uuid::{ContextV7, Timestamp, Uuid};

use super::codec::ts;
use super::error::{SqlContext, StoreError};
use super::{Actor, DEFAULT_FACILITY_ID, Result, Saved};
use crate::domain::events::{EventType, Sensitivity};
use crate::domain::role::Context;
use crate::domain::{Action, ConsentScope, PermissionMatrix};

/// An event as it sits in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub seq: i64,
    pub event_id: String,
    pub person_id: String,
    pub person_seq: i64,
    pub event_type: String,
    /// The immutable JSON envelope, sent byte for byte on every attempt.
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub created_at: String,
}

pub(crate) fn facility_id(conn: &rusqlite::Connection) -> Result<String> {
    let found: Option<String> = conn
        .prepare_cached("SELECT value FROM settings WHERE key = 'facility_id'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
        .ctx("reading the facility id")?;
    Ok(found.unwrap_or_else(|| DEFAULT_FACILITY_ID.to_string()))
}

/// The person row as a write needs it: identity, version, and the facts permissions depend on.
pub(crate) struct Head {
    pub id: String,
    pub booking_id: String,
    pub version: i64,
    pub updated_by: String,
    pub updated_at: String,
    pub context: Context,
}

pub(crate) struct AuditRow<'a> {
    pub person_id: Option<&'a str>,
    pub kind: &'static str,
    pub entity: &'static str,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub reason: Option<String>,
}

pub(crate) struct Event {
    pub kind: EventType,
    pub data: Value,
    /// 42 CFR Part 2: the data must already leave out the drug name.
    pub part2: bool,
}

/// Everything one write transaction shares.
pub(crate) struct Writer<'a> {
    pub tx: &'a Transaction<'a>,
    pub actor: &'a Actor,
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
    permissions: &'a PermissionMatrix,
    /// Read once per transaction: a seed stamps it on every one of 100,000 events.
    facility: std::cell::OnceCell<String>,
    /// Every id of one transaction shares the injected clock's millisecond; the counter keeps
    /// them increasing, so a 100,000-row import appends to the id indexes instead of inserting
    /// at random places in them (random v7 tails made B-tree seeks the largest cost).
    ids: ContextV7,
}

#[derive(Serialize)]
struct Envelope<'a> {
    schema_version: u32,
    event_id: &'a str,
    event_type: &'a str,
    occurred_at: String,
    person_id: &'a str,
    person_seq: i64,
    subject: Subject<'a>,
    source: Source<'a>,
    actor: EnvelopeActor<'a>,
    sensitivity: Vec<Sensitivity>,
    data: &'a Value,
}

#[derive(Serialize)]
struct Subject<'a> {
    booking_id: &'a str,
}

#[derive(Serialize)]
struct Source<'a> {
    facility_id: &'a str,
    app_version: &'a str,
}

#[derive(Serialize)]
struct EnvelopeActor<'a> {
    user: &'a str,
    role: &'a str,
}

impl<'a> Writer<'a> {
    pub fn new(
        tx: &'a Transaction<'a>,
        actor: &'a Actor,
        now: DateTime<Utc>,
        today: NaiveDate,
        permissions: &'a PermissionMatrix,
    ) -> Self {
        Self {
            tx,
            actor,
            now,
            today,
            permissions,
            facility: std::cell::OnceCell::new(),
            ids: ContextV7::new(),
        }
    }

    pub fn now_ts(&self) -> String {
        ts(self.now)
    }

    /// A v7 UUID stamped with the injected clock, so ids agree with `occurred_at`.
    pub fn new_id(&self) -> String {
        let secs = u64::try_from(self.now.timestamp()).unwrap_or(0);
        let ts = Timestamp::from_unix(&self.ids, secs, self.now.timestamp_subsec_nanos());
        Uuid::new_v7(ts).to_string()
    }

    pub fn person(&self, person_id: &str) -> Result<Head> {
        self.tx
            .prepare_cached(
                "SELECT id, booking_id, version, updated_by, updated_at, consent_part2,
                        consent_scope
                 FROM persons WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([person_id], |r| {
                    let scope: Option<String> = r.get(6)?;
                    Ok(Head {
                        id: r.get(0)?,
                        booking_id: r.get(1)?,
                        version: r.get(2)?,
                        updated_by: r.get(3)?,
                        updated_at: r.get(4)?,
                        context: Context {
                            own_organisation: false,
                            part2_consent: r.get(5)?,
                            consent_names_probation: scope.as_deref()
                                == Some(ConsentScope::IncludingProbation.code()),
                        },
                    })
                })
                .optional()
            })
            .ctx("reading the person")?
            .ok_or_else(|| StoreError::invalid(format!("no person with id {person_id}")))
    }

    pub fn allow(&self, action: Action, context: Context) -> Result<()> {
        if self.permissions.allows(self.actor.role, action, context) {
            Ok(())
        } else {
            Err(StoreError::Denied {
                action,
                role: self.actor.role,
            })
        }
    }

    pub fn allow_admin(&self) -> Result<()> {
        self.allow(Action::Admin, Context::default())
    }

    /// The person row must still be at the version the user read.
    pub fn expect_person_version(&self, head: &Head, read: i64) -> Result<()> {
        if head.version == read {
            Ok(())
        } else {
            Err(StoreError::Conflict {
                changed_by: head.updated_by.clone(),
                changed_at: head.updated_at.clone(),
                what: format!("booking {}", head.booking_id),
            })
        }
    }

    pub fn bump_person(&self, head: &Head) -> Result<i64> {
        let changed = self
            .tx
            .prepare_cached(
                "UPDATE persons SET version = version + 1, updated_at = ?1, updated_by = ?2
                 WHERE id = ?3 AND version = ?4",
            )
            .and_then(|mut s| {
                s.execute(params![
                    self.now_ts(),
                    self.actor.login,
                    head.id,
                    head.version
                ])
            })
            .ctx("bumping the person version")?;
        if changed == 1 {
            Ok(head.version + 1)
        } else {
            Err(StoreError::invalid(
                "the person row changed inside its own transaction",
            ))
        }
    }

    /// Checks and bumps the version of a medication or DME row; `table` is a literal of ours.
    pub fn bump_item(
        &self,
        table: &'static str,
        head: &Head,
        item_id: i64,
        read: i64,
    ) -> Result<i64> {
        let found: Option<(i64, String, String)> = self
            .tx
            .prepare_cached(&format!(
                "SELECT version, updated_by, updated_at FROM {table}
                 WHERE person_id = ?1 AND id = ?2"
            ))
            .and_then(|mut s| {
                s.query_row(params![head.id, item_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
            })
            .ctx("reading the item version")?;
        let Some((version, changed_by, changed_at)) = found else {
            // Someone removed it since it was read: that is a conflict to reload, not bad input.
            if let Some((changed_by, changed_at)) = self.removal(table, head, item_id)? {
                return Err(StoreError::Conflict {
                    changed_by,
                    changed_at,
                    what: format!(
                        "{table} item {item_id} of booking {} (removed)",
                        head.booking_id
                    ),
                });
            }
            return Err(StoreError::invalid(format!(
                "no {table} item {item_id} for booking {}",
                head.booking_id
            )));
        };
        if version != read {
            return Err(StoreError::Conflict {
                changed_by,
                changed_at,
                what: format!("{table} item {item_id} of booking {}", head.booking_id),
            });
        }
        self.tx
            .prepare_cached(&format!(
                "UPDATE {table} SET version = version + 1, updated_at = ?1, updated_by = ?2
                 WHERE person_id = ?3 AND id = ?4"
            ))
            .and_then(|mut s| s.execute(params![self.now_ts(), self.actor.login, head.id, item_id]))
            .ctx("bumping the item version")?;
        Ok(version + 1)
    }

    /// The next id of a person's child row: ids are per person, and never given again after a
    /// removal, so a stale edit of a removed item cannot land on a new one with its number.
    pub fn next_child_id(&self, table: &'static str, person_id: &str) -> Result<i64> {
        let next: i64 = self
            .tx
            .prepare_cached(&format!(
                "SELECT COALESCE(MAX(id), 0) + 1 FROM {table} WHERE person_id = ?1"
            ))
            .and_then(|mut s| s.query_row([person_id], |r| r.get(0)))
            .ctx("numbering a new row")?;
        let Some(kind) = removed_kind(table) else {
            return Ok(next);
        };
        let after_removed: i64 = self
            .tx
            .prepare_cached(
                "SELECT COALESCE(MAX(CAST(entity_id AS INTEGER)), 0) + 1 FROM audit
                 WHERE person_id = ?1 AND kind = ?2",
            )
            .and_then(|mut s| s.query_row(params![person_id, kind], |r| r.get(0)))
            .ctx("numbering a new row")?;
        Ok(next.max(after_removed))
    }

    /// Who removed a medication or DME item, and when (from its audit row).
    fn removal(
        &self,
        table: &'static str,
        head: &Head,
        item_id: i64,
    ) -> Result<Option<(String, String)>> {
        let Some(kind) = removed_kind(table) else {
            return Ok(None);
        };
        self.tx
            .prepare_cached(
                "SELECT actor, at FROM audit
                 WHERE person_id = ?1 AND kind = ?2 AND entity_id = ?3
                 ORDER BY id DESC LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row(params![head.id, kind, item_id.to_string()], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
            })
            .ctx("looking for the item's removal")
    }

    pub fn audit(&self, row: &AuditRow<'_>) -> Result<i64> {
        self.audit_at(row, &self.now_ts())
    }

    /// An audit row stamped `at` rather than now: only seeding writes history it did not see.
    pub fn audit_at(&self, row: &AuditRow<'_>, at: &str) -> Result<i64> {
        let json = |v: &Option<Value>| v.as_ref().map(Value::to_string);
        self.tx
            .prepare_cached(
                "INSERT INTO audit
                    (at, actor, role, via, person_id, kind, entity, entity_id, before, after,
                     reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    at,
                    self.actor.login,
                    self.actor.role.code(),
                    self.actor.via,
                    row.person_id,
                    row.kind,
                    row.entity,
                    row.entity_id,
                    json(&row.before),
                    json(&row.after),
                    row.reason,
                ])
            })
            .ctx("writing the audit row")?;
        let id = self.tx.last_insert_rowid();
        super::audit_chain::link(self.tx, id)?;
        Ok(id)
    }

    /// Appends the event with the next `person_seq` of this person. Inside the write lock, so
    /// no other writer can take the same number.
    pub fn event(&self, head: &Head, event: &Event) -> Result<String> {
        let person_seq: i64 = self
            .tx
            .prepare_cached(
                "SELECT COALESCE(MAX(person_seq), 0) + 1 FROM outbox WHERE person_id = ?1",
            )
            .and_then(|mut s| s.query_row([&head.id], |r| r.get(0)))
            .ctx("numbering the event")?;
        self.event_numbered(head, event, person_seq)
    }

    /// The first event of a person just inserted in this transaction is number 1: seeding
    /// 100,000 people need not ask.
    pub fn first_event(&self, head: &Head, event: &Event) -> Result<String> {
        self.event_numbered(head, event, 1)
    }

    fn event_numbered(&self, head: &Head, event: &Event, person_seq: i64) -> Result<String> {
        let event_id = self.new_id();
        let facility = match self.facility.get() {
            Some(f) => f.clone(),
            None => {
                let f = facility_id(self.tx)?;
                self.facility.get_or_init(|| f).clone()
            }
        };
        let envelope = Envelope {
            schema_version: 1,
            event_id: &event_id,
            event_type: event.kind.code(),
            occurred_at: self.now.to_rfc3339_opts(SecondsFormat::Secs, true),
            person_id: &head.id,
            person_seq,
            subject: Subject {
                booking_id: &head.booking_id,
            },
            source: Source {
                facility_id: &facility,
                app_version: env!("CARGO_PKG_VERSION"),
            },
            actor: EnvelopeActor {
                user: &self.actor.login,
                role: self.actor.role.code(),
            },
            sensitivity: if event.part2 {
                vec![Sensitivity::Part2]
            } else {
                Vec::new()
            },
            data: &event.data,
        };
        let payload = serde_json::to_string(&envelope)
            .map_err(|e| StoreError::invalid(format!("could not encode the event: {e}")))?;
        self.tx
            .prepare_cached(
                "INSERT INTO outbox
                    (event_id, person_id, person_seq, event_type, payload, state, attempts,
                     next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    event_id,
                    head.id,
                    person_seq,
                    event.kind.code(),
                    payload,
                    self.now_ts()
                ])
            })
            .ctx("writing the outbox event")?;
        Ok(event_id)
    }

    /// The audit row and the event of a person change, and what the caller gets back.
    pub fn finish(
        &self,
        head: &Head,
        version: i64,
        row: AuditRow<'_>,
        event: Option<Event>,
    ) -> Result<Saved> {
        let audit_id = self.audit(&row)?;
        let event_id = event.map(|e| self.event(head, &e)).transpose()?;
        Ok(Saved {
            person_id: head.id.clone(),
            version,
            audit_id,
            event_id,
        })
    }
}

/// The audit kind that records taking a row of `table` out (the rows are deleted).
fn removed_kind(table: &str) -> Option<&'static str> {
    match table {
        "medications" => Some("medication_removed"),
        "dme" => Some("dme_removed"),
        _ => None,
    }
}
