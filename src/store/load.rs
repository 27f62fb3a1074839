//! Reads. The board loads everyone at once with one query per table, grouped in memory: never a
//! query per person.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use rusqlite::{Connection, Row, params_from_iter};

use super::codec::RowExt;
use super::error::{SqlContext, StoreError};
use super::outbox::OutboxEvent;
use super::{Result, Store};
use crate::domain::board;
use crate::domain::{
    Appointment, Barrier, CareTeam, Confirmation, Consent, Contact, DateFlag, DmeItem, Facility,
    HealthNeed, MediCal, Medication, MilestoneMark, Note, Notification, Person, PersonName,
    PersonRecord, Referral, ReleaseChange, ReleaseDate, Screening, Transport, WarmHandoff,
};

/// One audit row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub role: String,
    pub via: Option<String>,
    pub person_id: Option<String>,
    pub kind: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub reason: Option<String>,
}

/// Which people a load covers; child tables are filtered the same way.
enum Scope<'a> {
    /// Everyone the board shows: still held, or gone from the roster without an explanation.
    Board,
    /// Everyone the database holds, released and transferred people too (FHIR exports).
    Everyone,
    One(&'a str),
    /// People the board index must recompute, with ids from the first to the second; `dense`
    /// when most people in that range are, so a child table is read as one range rather than a
    /// lookup per person.
    Dirty {
        first: &'a str,
        last: &'a str,
        dense: bool,
    },
}

impl Scope<'_> {
    fn persons_where(&self) -> &'static str {
        match self {
            Self::Board => "persons NOT INDEXED WHERE custody IN ('in_custody', 'left_roster')",
            Self::Everyone => "persons",
            Self::One(_) => "persons WHERE id = ?1",
            Self::Dirty { dense: true, .. } => {
                "persons WHERE id BETWEEN ?1 AND ?2
                   AND id IN (SELECT person_id FROM board_index_dirty)"
            }
            Self::Dirty { dense: false, .. } => {
                "persons WHERE id IN (SELECT person_id FROM board_index_dirty
                                       WHERE person_id BETWEEN ?1 AND ?2)"
            }
        }
    }
    /// Child rows of the board are read whole and matched in memory: a filtered read costs a
    /// B-tree search per person and is several times slower than one pass over the table.
    fn children_where(&self) -> &'static str {
        match self {
            Self::Board | Self::Everyone => "1",
            Self::One(_) => "person_id = ?1",
            // Rows of people not marked are skipped by the merge in `children`.
            Self::Dirty { dense: true, .. } => "person_id BETWEEN ?1 AND ?2",
            Self::Dirty { dense: false, .. } => {
                "person_id IN (SELECT person_id FROM board_index_dirty
                                WHERE person_id BETWEEN ?1 AND ?2)"
            }
        }
    }
    fn params(&self) -> Vec<&str> {
        match self {
            Self::Board | Self::Everyone => Vec::new(),
            Self::One(id) => vec![id],
            Self::Dirty { first, last, .. } => vec![first, last],
        }
    }
}

/// SQLite's page cache while the board loads, in KiB as `PRAGMA cache_size` takes it (negative).
const LOAD_CACHE_KIB: i64 = -2048;

const PERSON_COLUMNS: &str = "id, booking_id, last_name, first_name, dob, facility_id, unit, youth,
    booked_on, custody, released_on, release_date, release_certainty, release_type, release_source,
    medi_cal_status, mcp_name, former_foster_youth, screening_result, screening_needs,
    consent_scope, consent_signed_on, consent_expires_on, consent_by_guardian, consent_part2,
    pre_release_cm_id, post_release_ecm_id, probation_officer_id, behavioral_health_id,
    care_plan, warm_handoff, warm_handoff_on, naloxone, transport, transport_note, version";

fn contact(
    map: &HashMap<String, Arc<Contact>>,
    r: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<Arc<Contact>>> {
    let Some(id) = r.get_ref(idx)?.as_str_or_null()? else {
        return Ok(None);
    };
    map.get(id)
        .cloned()
        .map(Some)
        .ok_or_else(|| rusqlite::Error::InvalidColumnName(format!("unknown contact {id}")))
}

fn needs(idx: usize, json: &str) -> rusqlite::Result<BTreeSet<HealthNeed>> {
    let bad = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, e)
    };
    if json == "[]" {
        return Ok(BTreeSet::new());
    }
    let codes: Vec<&str> = serde_json::from_str(json).map_err(|e| bad(Box::new(e)))?;
    codes
        .iter()
        .map(|c| c.parse::<HealthNeed>().map_err(|e| bad(Box::new(e))))
        .collect()
}

fn person_row(
    r: &Row<'_>,
    facilities: &HashMap<String, Arc<Facility>>,
    contacts: &HashMap<String, Arc<Contact>>,
) -> rusqlite::Result<PersonRecord> {
    let facility_id = r.get_ref(5)?.as_str()?;
    let facility = facilities.get(facility_id).cloned().ok_or_else(|| {
        rusqlite::Error::InvalidColumnName(format!("unknown facility {facility_id}"))
    })?;
    let needs_json = r.get_ref(19)?.as_str()?;
    let person = Person {
        id: r.get(0)?,
        booking_id: r.get(1)?,
        name: PersonName {
            last: r.get(2)?,
            first: r.get(3)?,
        },
        date_of_birth: r.opt_date(4)?,
        facility,
        unit: r.get(6)?,
        youth: r.get(7)?,
        booked_on: r.date(8)?,
        custody: r.code(9)?,
        released_on: r.opt_date(10)?,
    };
    let release = ReleaseDate {
        date: r.opt_date(11)?,
        certainty: r.code(12)?,
        kind: r.opt_code(13)?,
        source: r.opt_code(14)?,
    };
    let mut rec = PersonRecord::new(person, release);
    rec.medi_cal = MediCal {
        status: r.code(15)?,
        mcp_name: r.get(16)?,
        former_foster_youth: r.get(17)?,
    };
    rec.screening = Screening {
        result: r.code(18)?,
        needs: needs(19, needs_json)?,
    };
    rec.consent = Consent {
        scope: r.opt_code(20)?,
        signed_on: r.opt_date(21)?,
        expires_on: r.opt_date(22)?,
        signed_by_guardian: r.get(23)?,
        part2: r.get(24)?,
    };
    rec.care_team = CareTeam {
        pre_release_cm: contact(contacts, r, 25)?,
        post_release_ecm: contact(contacts, r, 26)?,
        probation_officer: contact(contacts, r, 27)?,
        behavioral_health: contact(contacts, r, 28)?,
    };
    rec.care_plan = r.code(29)?;
    rec.warm_handoff = WarmHandoff {
        status: r.code(30)?,
        scheduled_on: r.opt_date(31)?,
    };
    rec.naloxone = r.opt_code(32)?;
    rec.transport = Transport {
        status: r.code(33)?,
        note: r.get(34)?,
    };
    rec.version = r.get(35)?;
    Ok(rec)
}

/// Where the rows of the child tables come from.
struct Grouping<'a> {
    conn: &'a Connection,
    scope: &'a Scope<'a>,
    /// Indices of the records in id order.
    by_id: &'a [usize],
}

/// Runs one query over a child table and hands each row to `add` with its person's record.
/// `g.by_id` walks the records in id order and the rows come in person order (the primary key's),
/// so one merge pass matches them: no map of ids, no copy of an id per person.
fn children(
    g: &Grouping<'_>,
    records: &mut [PersonRecord],
    table: &str,
    columns: &str,
    order: &str,
    mut add: impl FnMut(&mut PersonRecord, &Row<'_>) -> rusqlite::Result<()>,
) -> Result<()> {
    let sql = format!(
        "SELECT person_id, {columns} FROM {table} WHERE {} ORDER BY person_id, {order}",
        g.scope.children_where()
    );
    let what = format!("loading {table}");
    let mut stmt = g.conn.prepare_cached(&sql).ctx(&what)?;
    let mut rows = stmt.query(params_from_iter(g.scope.params())).ctx(&what)?;
    let mut at = 0;
    while let Some(row) = rows.next().ctx(&what)? {
        let pid = row.get_ref(0).and_then(|v| Ok(v.as_str()?)).ctx(&what)?;
        while g
            .by_id
            .get(at)
            .and_then(|&i| records.get(i))
            .is_some_and(|r| r.person.id.as_str() < pid)
        {
            at += 1;
        }
        match g.by_id.get(at).and_then(|&i| records.get_mut(i)) {
            Some(rec) if rec.person.id == pid => add(rec, row).ctx(&what)?,
            Some(_) => {}
            None => break,
        }
    }
    Ok(())
}

fn confirmation(r: &Row<'_>, by: usize, at: usize) -> rusqlite::Result<Option<Confirmation>> {
    let by: Option<String> = r.get(by)?;
    let at = r.opt_ts(at)?;
    Ok(by.zip(at).map(|(by, at)| Confirmation { by, at }))
}

fn load(conn: &Connection, scope: &Scope<'_>) -> Result<Vec<PersonRecord>> {
    // Read once and shared by every record that names them.
    let facilities: HashMap<String, Arc<Facility>> = read_facilities(conn)?
        .into_iter()
        .map(|f| (f.id.clone(), Arc::new(f)))
        .collect();
    let contacts: HashMap<String, Arc<Contact>> = read_contacts(conn)?
        .into_iter()
        .map(|c| (c.id.clone(), Arc::new(c)))
        .collect();
    // One pass over the table in storage order: through an index SQLite would look each row
    // up again and sort the result in a temporary B-tree, several times slower.
    let sql = format!("SELECT {PERSON_COLUMNS} FROM {}", scope.persons_where());
    let mut stmt = conn.prepare_cached(&sql).ctx("loading persons")?;
    let mut records: Vec<PersonRecord> = stmt
        .query_map(params_from_iter(scope.params()), |r| {
            person_row(r, &facilities, &contacts)
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .ctx("loading persons")?;
    // Id order, the order of every child table's key, for the merge in `children`. SQLite
    // compares TEXT with memcmp (BINARY collation), as Rust compares `str`. Indices are sorted
    // rather than the records themselves: a record is some 550 bytes to move on every swap.
    let by_id = board::sorted_order(&records, |a, b| a.person.id.cmp(&b.person.id));
    let g = Grouping {
        conn,
        scope,
        by_id: &by_id,
    };
    let recs = records.as_mut_slice();

    children(
        &g,
        recs,
        "release_changes",
        "id, changed_at, changed_by, from_date, to_date, certainty, source, reason, reason_text,
         acknowledged_by, acknowledged_at",
        "id",
        |rec, r| {
            rec.release_history.push(ReleaseChange {
                id: r.get(1)?,
                changed_at: r.ts(2)?,
                changed_by: r.get(3)?,
                from: r.opt_date(4)?,
                to: r.opt_date(5)?,
                certainty: r.code(6)?,
                source: r.opt_code(7)?,
                reason: r.code(8)?,
                reason_text: r.get(9)?,
                acknowledged_by: r.get(10)?,
                acknowledged_at: r.opt_ts(11)?,
            });
            Ok(())
        },
    )?;
    children(
        &g,
        recs,
        "date_flags",
        "id, proposed, reason, reason_text, raised_by, raised_at, status",
        "id",
        |rec, r| {
            rec.date_flags.push(DateFlag {
                id: r.get(1)?,
                proposed: r.opt_date(2)?,
                reason: r.code(3)?,
                reason_text: r.get(4)?,
                raised_by: r.get(5)?,
                raised_at: r.ts(6)?,
                status: r.code(7)?,
            });
            Ok(())
        },
    )?;
    children(
        &g,
        recs,
        "medications",
        "id, name, class, lai, next_dose, supply, confirmed_by, confirmed_at, version",
        "id",
        |rec, r| {
            rec.medications.push(Medication {
                id: r.get(1)?,
                name: r.get(2)?,
                class: r.code(3)?,
                long_acting_injectable: r.get(4)?,
                next_dose: r.opt_date(5)?,
                supply: r.code(6)?,
                confirmed: confirmation(r, 7, 8)?,
                version: r.get(9)?,
            });
            Ok(())
        },
    )?;
    children(
        &g,
        recs,
        "dme",
        "id, item, status, confirmed_by, confirmed_at, version",
        "id",
        |rec, r| {
            rec.dme.push(DmeItem {
                id: r.get(1)?,
                item: r.get(2)?,
                status: r.code(3)?,
                confirmed: confirmation(r, 4, 5)?,
                version: r.get(6)?,
            });
            Ok(())
        },
    )?;
    children(
        &g,
        recs,
        "appointments",
        "id, what, on_date, status",
        "id",
        |rec, r| {
            rec.appointments.push(Appointment {
                id: r.get(1)?,
                what: r.get(2)?,
                on: r.opt_date(3)?,
                status: r.code(4)?,
            });
            Ok(())
        },
    )?;
    children(
        &g,
        recs,
        "referrals",
        "id, target, status",
        "id",
        |rec, r| {
            rec.referrals.push(Referral {
                id: r.get(1)?,
                target: r.code(2)?,
                status: r.code(3)?,
            });
            Ok(())
        },
    )?;
    children(
        &g,
        recs,
        "notifications",
        "recipient, status",
        "pos",
        |rec, r| {
            rec.notifications.push(Notification {
                recipient: r.code(1)?,
                status: r.code(2)?,
            });
            Ok(())
        },
    )?;
    children(
        &g,
        recs,
        "barriers",
        "id, milestone, reason, text, opened_on, resolved_on",
        "id",
        |rec, r| {
            rec.barriers.push(Barrier {
                id: r.get(1)?,
                milestone: r.code(2)?,
                reason: r.code(3)?,
                text: r.get(4)?,
                opened_on: r.date(5)?,
                resolved_on: r.opt_date(6)?,
            });
            Ok(())
        },
    )?;
    children(
        &g,
        recs,
        "notes",
        "id, at, by_login, text",
        "id",
        |rec, r| {
            rec.notes.push(Note {
                id: r.get(1)?,
                at: r.ts(2)?,
                by: r.get(3)?,
                text: r.get(4)?,
            });
            Ok(())
        },
    )?;
    children(
        &g,
        recs,
        "milestone_marks",
        "milestone, kind, by_login, on_date",
        "pos",
        |rec, r| {
            rec.marks.push(MilestoneMark {
                milestone: r.code(1)?,
                kind: r.code(2)?,
                by: r.get(3)?,
                on: r.date(4)?,
            });
            Ok(())
        },
    )?;
    // Sorting here rather than in SQL spares a temporary B-tree of whole rows; in the board's
    // order, so that building the board finds nothing left to sort.
    let order = board::sorted_order(&records, board::board_order);
    Ok(board::permuted(records, &order))
}

fn read_facilities(conn: &Connection) -> Result<Vec<Facility>> {
    conn.prepare_cached("SELECT id, name, kind FROM facilities ORDER BY id")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(Facility {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    kind: r.code(2)?,
                })
            })?
            .collect()
        })
        .ctx("loading facilities")
}

fn read_contacts(conn: &Connection) -> Result<Vec<Contact>> {
    conn.prepare_cached(
        "SELECT id, name, organisation, phone, kind FROM contacts ORDER BY name, id",
    )
    .and_then(|mut s| {
        s.query_map([], |r| {
            Ok(Contact {
                id: r.get(0)?,
                name: r.get(1)?,
                organisation: r.get(2)?,
                phone: r.get(3)?,
                kind: r.code(4)?,
            })
        })?
        .collect()
    })
    .ctx("loading the directory")
}

/// Everyone the board shows, inside a transaction (the board index's rebuild).
pub(super) fn load_board(conn: &Connection) -> Result<Vec<PersonRecord>> {
    load(conn, &Scope::Board)
}

/// The people marked in `board_index_dirty` with ids from `first` to `last`, whatever their
/// custody: the board index's refresh, a slice at a time.
pub(super) fn load_dirty(
    conn: &Connection,
    first: &str,
    last: &str,
    dense: bool,
) -> Result<Vec<PersonRecord>> {
    load(conn, &Scope::Dirty { first, last, dense })
}

/// One person inside a write transaction, for events that report a milestone's state.
pub(super) fn load_one(conn: &Connection, person_id: &str) -> Result<Option<PersonRecord>> {
    Ok(load(conn, &Scope::One(person_id))?.pop())
}

impl Store {
    /// Everyone the board shows (in custody, or gone from the roster), in the board's order:
    /// soonest release first, unknown dates last, then by name and booking number.
    pub fn load_records(&self) -> Result<Vec<PersonRecord>> {
        let started = std::time::Instant::now();
        // A load reads every page of the board's tables once, in order: kept in SQLite's cache
        // they would add the database's size (up to the cache's 64 MiB) to the board's memory,
        // and a whole-table pass gains little from it. Writes get the full cache back.
        self.conn
            .pragma_update(None, "cache_size", LOAD_CACHE_KIB)
            .ctx("shrinking the cache for the load")
            .map_err(|e| e.at(&self.path))?;
        let records = load(&self.conn, &Scope::Board);
        self.conn
            .pragma_update(None, "cache_size", super::open::CACHE_KIB)
            .ctx("restoring the cache")
            .map_err(|e| e.at(&self.path))?;
        let records = records.map_err(|e| e.at(&self.path))?;
        tracing::debug!(
            people = records.len(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "board loaded"
        );
        Ok(records)
    }

    /// Everyone the database holds, whatever their custody status (released and transferred
    /// people too), in no particular order.
    pub fn load_all_records(&self) -> Result<Vec<PersonRecord>> {
        load(&self.conn, &Scope::Everyone).map_err(|e| e.at(&self.path))
    }

    /// One person, whatever their custody status.
    pub fn load_record(&self, person_id: &str) -> Result<Option<PersonRecord>> {
        let mut found = load(&self.conn, &Scope::One(person_id)).map_err(|e| e.at(&self.path))?;
        Ok(found.pop())
    }

    /// The care-team directory.
    pub fn contacts(&self) -> Result<Vec<Contact>> {
        read_contacts(&self.conn).map_err(|e| e.at(&self.path))
    }

    pub fn facilities(&self) -> Result<Vec<Facility>> {
        read_facilities(&self.conn).map_err(|e| e.at(&self.path))
    }

    /// A person's audit trail, oldest first.
    pub fn audit_for(&self, person_id: &str) -> Result<Vec<AuditEntry>> {
        self.conn
            .prepare_cached(
                "SELECT id, at, actor, role, via, person_id, kind, entity, entity_id, before,
                        after, reason
                 FROM audit WHERE person_id = ?1 ORDER BY id",
            )
            .and_then(|mut s| {
                s.query_map([person_id], super::audit_query::entry)?
                    .collect()
            })
            .ctx("loading the audit trail")
            .map_err(|e| e.at(&self.path))
    }

    pub fn outbox_pending_count(&self) -> Result<i64> {
        self.conn
            .query_row(
                "SELECT count(*) FROM outbox WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )
            .ctx("counting queued events")
            .map_err(|e| e.at(&self.path))
    }

    /// A person's events in `person_seq` order.
    pub fn outbox_for(&self, person_id: &str) -> Result<Vec<OutboxEvent>> {
        self.conn
            .prepare_cached(
                "SELECT seq, event_id, person_id, person_seq, event_type, payload, state,
                        attempts, created_at
                 FROM outbox WHERE person_id = ?1 ORDER BY person_seq",
            )
            .and_then(|mut s| {
                s.query_map([person_id], |r| {
                    Ok(OutboxEvent {
                        seq: r.get(0)?,
                        event_id: r.get(1)?,
                        person_id: r.get(2)?,
                        person_seq: r.get(3)?,
                        event_type: r.get(4)?,
                        payload: r.get(5)?,
                        state: r.get(6)?,
                        attempts: r.get(7)?,
                        created_at: r.get(8)?,
                    })
                })?
                .collect()
            })
            .ctx("loading the outbox")
            .map_err(|e| e.at(&self.path))
    }

    /// Rows in one table: for checks and tests that count what a write did.
    pub fn count_rows(&self, table: &str) -> Result<i64> {
        const TABLES: &[&str] = &[
            "persons",
            "release_changes",
            "date_flags",
            "medications",
            "dme",
            "appointments",
            "referrals",
            "notifications",
            "barriers",
            "notes",
            "milestone_marks",
            "audit",
            "outbox",
            "users",
            "contacts",
            "facilities",
        ];
        let table = TABLES
            .iter()
            .find(|t| **t == table)
            .ok_or_else(|| StoreError::invalid(format!("no table {table}")))?;
        self.conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .ctx("counting rows")
            .map_err(|e| e.at(&self.path))
    }
}
