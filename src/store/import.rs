//! Roster import: rows are staged in a temp table (so memory does not grow with the file), then
//! compared with the people table and applied in one `BEGIN IMMEDIATE` transaction that writes one
//! audit row, and where the hub needs it one outbox event, per change. Nothing is ever deleted:
//! people missing from the feed are marked "left the roster" for someone to confirm.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use super::codec::{date, opt_date};
use super::error::{SqlContext, StoreError};
use super::outbox::{AuditRow, Event, Head, Writer};
use super::rows::{self, Col};
use super::{Actor, Result, Saved, Store};
use crate::domain::events::EventType;
use crate::domain::{
    Action, Certainty, ChangeReason, CustodyStatus, Facility, FacilityKind, Person, PersonName,
    PersonRecord, ReleaseDate, ReleaseSource, ReleaseType,
};

/// Why a change that came from the feed was made; the feed itself never says.
pub const FEED_REASON: &str = "from the jail management system roster";

/// Listings in an outcome stop here; the counts go on.
const LIST_LIMIT: usize = 50;

/// One valid row of the roster feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    pub booking_id: String,
    pub name: PersonName,
    pub date_of_birth: Option<NaiveDate>,
    pub facility_id: String,
    pub unit: String,
    pub youth: bool,
    pub booked_on: Option<NaiveDate>,
    pub release_date: Option<NaiveDate>,
    pub certainty: Certainty,
    pub release_type: Option<ReleaseType>,
    pub custody: CustodyStatus,
}

/// Which optional fields the feed carries: a field it lacks is left as the board has it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedFields {
    pub date_of_birth: bool,
    pub booked_on: bool,
    pub release: bool,
    pub release_type: bool,
    pub youth: bool,
    pub custody: bool,
}

/// One line of the "what changed" listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeLine {
    pub line: u64,
    pub booking_id: String,
    pub what: String,
}

/// Someone in the database who is no longer in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftLine {
    pub booking_id: String,
    pub name: PersonName,
    pub unit: String,
    pub release_date: Option<NaiveDate>,
    /// Already marked by an earlier import (nothing new is written for them).
    pub already_marked: bool,
}

/// What an import did, or (dry run) would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterOutcome {
    pub new: u64,
    /// People with at least one change; the kinds below may overlap.
    pub changed: u64,
    pub release_changed: u64,
    /// Dates set by hand (court order, credits) kept because the feed still says what it said.
    pub release_kept: u64,
    pub details_changed: u64,
    pub returned: u64,
    pub released: u64,
    pub unchanged: u64,
    pub missing: u64,
    pub newly_left: u64,
    /// Audit rows and outbox events written (0 on a dry run).
    pub audit_rows: u64,
    pub events: u64,
    pub changes: Vec<ChangeLine>,
    pub left: Vec<LeftLine>,
}

/// How a person left custody, for `roster confirm` and a feed that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Departure {
    Released,
    Transferred {
        /// `county_jail`, `youth_facility`, `state_prison`, `hospital` or `other` (API.md).
        destination_kind: String,
        destination_text: String,
    },
}

pub const DESTINATION_KINDS: [&str; 5] = [
    "county_jail",
    "youth_facility",
    "state_prison",
    "hospital",
    "other",
];

/// The staging area of one import; dropped without [`RosterStage::finish`], it leaves nothing.
pub struct RosterStage<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl Store {
    /// Opens a fresh staging area in this connection's temp database.
    pub fn roster_stage(&mut self) -> Result<RosterStage<'_>> {
        let path = self.path.clone();
        self.conn
            .execute_batch(
                "DROP TABLE IF EXISTS temp.import_roster;
                 CREATE TEMP TABLE import_roster (
                    booking_id        TEXT PRIMARY KEY,
                    line              INTEGER NOT NULL,
                    ok                INTEGER NOT NULL,
                    dup_line          INTEGER,
                    last_name         TEXT,
                    first_name        TEXT,
                    dob               TEXT,
                    facility_id       TEXT,
                    unit              TEXT,
                    youth             INTEGER,
                    booked_on         TEXT,
                    release_date      TEXT,
                    release_certainty TEXT,
                    release_type      TEXT,
                    custody           TEXT
                 );",
            )
            .ctx("making the import staging table")
            .map_err(|e| e.at(&path))?;
        let tx = self
            .conn
            .transaction()
            .ctx("staging the import")
            .map_err(|e| e.at(&path))?;
        Ok(RosterStage { tx })
    }

    /// Compares the staged feed with the database. A dry run reads only; otherwise every change
    /// is written in one transaction (admin only), or nothing is.
    pub fn roster_apply(
        &mut self,
        actor: &Actor,
        fields: FeedFields,
        source_name: &str,
        dry_run: bool,
    ) -> Result<RosterOutcome> {
        let facilities: Vec<Facility> = self.facilities()?;
        if dry_run {
            let path = self.path.clone();
            return process(&self.conn, None, fields, &facilities, source_name)
                .map_err(|e| e.at(&path));
        }
        self.write(actor, |w| {
            w.allow_admin()?;
            process(w.tx, Some(w), fields, &facilities, source_name)
        })
    }

    /// People marked "left the roster" and not yet confirmed, by booking number.
    pub fn roster_left(&self) -> Result<Vec<LeftLine>> {
        self.conn
            .prepare_cached(
                "SELECT booking_id, last_name, first_name, unit, release_date FROM persons
                 WHERE custody = 'left_roster' ORDER BY booking_id",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(LeftLine {
                        booking_id: r.get(0)?,
                        name: PersonName::new(r.get::<_, String>(1)?, r.get::<_, String>(2)?),
                        unit: r.get(3)?,
                        release_date: super::codec::RowExt::opt_date(r, 4)?,
                        already_marked: true,
                    })
                })?
                .collect()
            })
            .ctx("listing people who left the roster")
            .map_err(|e| e.at(&self.path))
    }

    /// Confirms that someone in custody (or gone from the feed) was released or transferred:
    /// custody and date set, audited, and the `person_released` / `person_transferred` event.
    pub fn confirm_departure(
        &mut self,
        actor: &Actor,
        booking_id: &str,
        departure: &Departure,
        on: NaiveDate,
        reason: &str,
    ) -> Result<Saved> {
        self.write(actor, |w| {
            let id: Option<(String, String)> =
                w.tx.prepare_cached("SELECT id, custody FROM persons WHERE booking_id = ?1")
                    .and_then(|mut s| {
                        s.query_row([booking_id], |r| Ok((r.get(0)?, r.get(1)?)))
                            .optional()
                    })
                    .ctx("finding the booking")?;
            let Some((id, custody)) = id else {
                return Err(StoreError::invalid(format!("no booking {booking_id}")));
            };
            let head = w.person(&id)?;
            w.allow(Action::SetReleaseDate, head.context)?;
            if !matches!(custody.as_str(), "in_custody" | "left_roster") {
                return Err(StoreError::invalid(format!(
                    "booking {booking_id} is already {}",
                    custody.replace('_', " ")
                )));
            }
            if on > w.today {
                return Err(StoreError::invalid(format!(
                    "{on} is in the future; confirm a departure on or after the day it happens"
                )));
            }
            depart(w, &head, departure, on, Some(reason.trim().to_string()))
        })
    }
}

impl RosterStage<'_> {
    /// Stages one row (`entry` None: the row was rejected, but its booking id still counts as
    /// present in the feed). Returns the line of an earlier row with the same booking id.
    pub fn add(
        &mut self,
        line: u64,
        booking_id: &str,
        entry: Option<&RosterEntry>,
    ) -> Result<Option<u64>> {
        let e = entry;
        let line = i64::try_from(line).unwrap_or(i64::MAX);
        let inserted = self
            .tx
            .prepare_cached(
                "INSERT INTO temp.import_roster (booking_id, line, ok, last_name, first_name, dob,
                    facility_id, unit, youth, booked_on, release_date, release_certainty,
                    release_type, custody)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT (booking_id) DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![
                    booking_id,
                    line,
                    e.is_some(),
                    e.map(|e| &e.name.last),
                    e.map(|e| &e.name.first),
                    e.and_then(|e| opt_date(e.date_of_birth)),
                    e.map(|e| &e.facility_id),
                    e.map(|e| &e.unit),
                    e.map(|e| e.youth),
                    e.and_then(|e| opt_date(e.booked_on)),
                    e.and_then(|e| opt_date(e.release_date)),
                    e.map(|e| e.certainty.code()),
                    e.and_then(|e| e.release_type.map(|t| t.code())),
                    e.map(|e| e.custody.code()),
                ])
            })
            .ctx("staging a row")?;
        if inserted == 1 {
            return Ok(None);
        }
        // A booking id twice is ambiguous: neither row is applied.
        let first: i64 = self
            .tx
            .prepare_cached(
                "UPDATE temp.import_roster SET ok = 0, dup_line = COALESCE(dup_line, ?2)
                 WHERE booking_id = ?1 RETURNING line",
            )
            .and_then(|mut s| s.query_row(params![booking_id, line], |r| r.get(0)))
            .ctx("marking a duplicate")?;
        Ok(Some(u64::try_from(first).unwrap_or_default()))
    }

    /// Ends staging; returns the first rows of duplicated booking ids as (line, booking id, the
    /// line of the first repeat), so they can be reported too.
    pub fn finish(self) -> Result<Vec<(u64, String, u64)>> {
        let firsts = self
            .tx
            .prepare(
                "SELECT line, booking_id, dup_line FROM temp.import_roster
                 WHERE dup_line IS NOT NULL ORDER BY line",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok((
                        u64::try_from(r.get::<_, i64>(0)?).unwrap_or_default(),
                        r.get(1)?,
                        u64::try_from(r.get::<_, i64>(2)?).unwrap_or_default(),
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .ctx("listing duplicates")?;
        self.tx.commit().ctx("staging the import")?;
        Ok(firsts)
    }
}

/// A staged row next to the person it matches (if any), as text columns.
struct Pair {
    line: u64,
    booking_id: String,
    feed: [Option<String>; 11],
    person_id: Option<String>,
    db: [Option<String>; 11],
    /// `persons.release_source` and `persons.feed_release` (what the feed said last time).
    db_source: Option<String>,
    db_feed_release: Option<String>,
}

/// Staged columns in the order of [`Pair::feed`]; `persons` has the same names.
const COMPARED: [&str; 11] = [
    "last_name",
    "first_name",
    "dob",
    "facility_id",
    "unit",
    "youth",
    "booked_on",
    "release_date",
    "release_certainty",
    "release_type",
    "custody",
];
const LAST: usize = 0;
const FIRST: usize = 1;
const DOB: usize = 2;
const FACILITY: usize = 3;
const UNIT: usize = 4;
const YOUTH: usize = 5;
const BOOKED: usize = 6;
const DATE: usize = 7;
const CERTAINTY: usize = 8;
const TYPE: usize = 9;
const CUSTODY: usize = 10;

fn text(v: rusqlite::types::ValueRef<'_>) -> Option<String> {
    use rusqlite::types::ValueRef as V;
    match v {
        V::Null | V::Blob(_) => None,
        V::Integer(i) => Some(i.to_string()),
        V::Real(f) => Some(f.to_string()),
        V::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

fn process(
    conn: &Connection,
    w: Option<&Writer<'_>>,
    fields: FeedFields,
    facilities: &[Facility],
    source_name: &str,
) -> Result<RosterOutcome> {
    let mut out = RosterOutcome::default();
    let feed_cols: Vec<String> = COMPARED.iter().map(|c| format!("s.{c}")).collect();
    let db_cols: Vec<String> = COMPARED.iter().map(|c| format!("p.{c}")).collect();
    // Staged in file order (a repeated booking id is never inserted twice), so rowid order is
    // line order: no sort of every joined row before the first one comes back.
    let sql = format!(
        "SELECT s.line, s.booking_id, p.id, {}, {}, p.release_source, p.feed_release
         FROM temp.import_roster s
         LEFT JOIN main.persons p ON p.booking_id = s.booking_id
         WHERE s.ok = 1 ORDER BY s.rowid",
        feed_cols.join(", "),
        db_cols.join(", ")
    );
    let mut stmt = conn.prepare(&sql).ctx("comparing the feed")?;
    let mut rows = stmt.query([]).ctx("comparing the feed")?;
    while let Some(r) = rows.next().ctx("comparing the feed")? {
        let get = |i: usize| r.get_ref(i).map(text);
        let mut feed: [Option<String>; 11] = Default::default();
        let mut db: [Option<String>; 11] = Default::default();
        for i in 0..COMPARED.len() {
            feed[i] = get(3 + i).ctx("comparing the feed")?;
            db[i] = get(3 + COMPARED.len() + i).ctx("comparing the feed")?;
        }
        let pair = Pair {
            line: u64::try_from(r.get::<_, i64>(0).ctx("comparing the feed")?).unwrap_or_default(),
            booking_id: r.get(1).ctx("comparing the feed")?,
            person_id: r.get(2).ctx("comparing the feed")?,
            feed,
            db,
            db_source: get(3 + 2 * COMPARED.len()).ctx("comparing the feed")?,
            db_feed_release: get(4 + 2 * COMPARED.len()).ctx("comparing the feed")?,
        };
        one_row(w, &pair, fields, facilities, source_name, &mut out)?;
    }
    missing(conn, w, source_name, &mut out)?;
    Ok(out)
}

fn note(out: &mut RosterOutcome, pair: &Pair, what: String) {
    if out.changes.len() < LIST_LIMIT {
        out.changes.push(ChangeLine {
            line: pair.line,
            booking_id: pair.booking_id.clone(),
            what,
        });
    }
}

fn one_row(
    w: Option<&Writer<'_>>,
    pair: &Pair,
    fields: FeedFields,
    facilities: &[Facility],
    source_name: &str,
    out: &mut RosterOutcome,
) -> Result<()> {
    let feed = |i: usize| pair.feed[i].as_deref();
    let db = |i: usize| pair.db[i].as_deref();
    let feed_custody = feed(CUSTODY).unwrap_or("in_custody");
    let Some(person_id) = &pair.person_id else {
        out.new += 1;
        note(out, pair, "new booking".into());
        match w {
            Some(w) => {
                let head = book(w, pair, facilities, source_name, out)?;
                if feed_custody != "in_custody" {
                    leave(w, &head, feed_custody, source_name, out)?;
                }
            }
            None if feed_custody != "in_custody" => out.released += 1,
            None => {}
        }
        return Ok(());
    };

    let mut changed = false;
    // Details the feed owns: names, birth date, where the person is held.
    let mut detail_cols: Vec<usize> = vec![LAST, FIRST, FACILITY, UNIT];
    if fields.date_of_birth {
        detail_cols.push(DOB);
    }
    if fields.youth {
        detail_cols.push(YOUTH);
    }
    if fields.booked_on {
        detail_cols.push(BOOKED);
    }
    // An empty booking date says nothing new: the board keeps the one it has (it is required).
    let differing: Vec<usize> = detail_cols
        .into_iter()
        .filter(|&i| feed(i) != db(i) && !(i == BOOKED && feed(i).is_none()))
        .collect();
    if !differing.is_empty() {
        changed = true;
        out.details_changed += 1;
        let names: Vec<&str> = differing.iter().map(|&i| COMPARED[i]).collect();
        note(out, pair, format!("{} changed", names.join(", ")));
        if let Some(w) = w {
            let head = w.person(person_id)?;
            let cols = differing
                .iter()
                .map(|&i| (COMPARED[i], column_value(i, feed(i))))
                .collect();
            let change = rows::update(w, "persons", &head, None, cols)?;
            w.bump_person(&head)?;
            w.audit(&person_audit(
                &head,
                "roster_details_changed",
                change,
                source_name,
            ))?;
            out.audit_rows += 1;
        }
    }

    let mut release_differs = false;
    if fields.release {
        release_differs = feed(DATE) != db(DATE) || feed(CERTAINTY) != db(CERTAINTY);
        if fields.release_type {
            release_differs |= feed(TYPE) != db(TYPE);
        }
    }
    let feed_says = feed_release(feed(DATE), feed(CERTAINTY));
    if fields.release && pair.db_feed_release.as_deref() != Some(feed_says.as_str()) {
        if let Some(w) = w {
            remember_feed_release(w, person_id, &feed_says)?;
        }
    } else if release_differs
        && pair
            .db_source
            .as_deref()
            .is_some_and(|s| s != ReleaseSource::JailManagementSystem.code())
    {
        // Someone set this date by hand since the feed last spoke, and the feed has not changed
        // its mind: the hand-set date is newer knowledge (a court order, credits) and stands.
        release_differs = false;
        out.release_kept += 1;
        note(
            out,
            pair,
            format!(
                "release date {} kept (set by hand: {}); the feed still says {}",
                db(DATE).unwrap_or("unknown"),
                pair.db_source
                    .as_deref()
                    .and_then(|s| s.parse::<ReleaseSource>().ok())
                    .map_or("unknown source", ReleaseSource::label),
                feed(DATE).unwrap_or("unknown"),
            ),
        );
    }
    if release_differs {
        changed = true;
        out.release_changed += 1;
        note(
            out,
            pair,
            format!(
                "release date {} ({}) -> {} ({})",
                db(DATE).unwrap_or("unknown"),
                db(CERTAINTY).unwrap_or("unknown"),
                feed(DATE).unwrap_or("unknown"),
                feed(CERTAINTY).unwrap_or("unknown"),
            ),
        );
        if let Some(w) = w {
            let head = w.person(person_id)?;
            let kind = if fields.release_type {
                Some(feed(TYPE))
            } else {
                None
            };
            move_date(
                w,
                &head,
                feed(DATE),
                feed(CERTAINTY),
                kind,
                source_name,
                out,
            )?;
        }
    }

    let db_custody = db(CUSTODY).unwrap_or("in_custody");
    if fields.custody || db_custody != "in_custody" {
        match (db_custody, feed_custody) {
            (d, f) if d == f => {}
            ("left_roster" | "released" | "transferred", "in_custody") => {
                changed = true;
                out.returned += 1;
                note(
                    out,
                    pair,
                    format!("back on the roster (was {})", db_custody.replace('_', " ")),
                );
                if let Some(w) = w {
                    let head = w.person(person_id)?;
                    let change = rows::update(
                        w,
                        "persons",
                        &head,
                        None,
                        vec![
                            ("custody", "in_custody".sql()),
                            ("released_on", None::<String>.sql()),
                        ],
                    )?;
                    w.bump_person(&head)?;
                    w.audit(&person_audit(
                        &head,
                        "returned_to_roster",
                        change,
                        source_name,
                    ))?;
                    out.audit_rows += 1;
                }
            }
            ("in_custody" | "left_roster", "released" | "transferred") => {
                changed = true;
                note(out, pair, format!("{feed_custody} according to the feed"));
                if let Some(w) = w {
                    let head = w.person(person_id)?;
                    leave(w, &head, feed_custody, source_name, out)?;
                } else {
                    out.released += 1;
                }
            }
            // Released here but transferred in the feed (or the reverse): people decide.
            _ => {}
        }
    }

    if changed {
        out.changed += 1;
    } else {
        out.unchanged += 1;
    }
    Ok(())
}

fn column_value(i: usize, v: Option<&str>) -> rusqlite::types::Value {
    match (i, v) {
        (YOUTH, Some(v)) => v.parse::<i64>().unwrap_or(0).sql(),
        (_, v) => v.map(str::to_string).sql(),
    }
}

fn person_audit<'a>(
    head: &'a Head,
    kind: &'static str,
    change: (Value, Value),
    source_name: &str,
) -> AuditRow<'a> {
    AuditRow {
        person_id: Some(&head.id),
        kind,
        entity: "person",
        entity_id: Some(head.id.clone()),
        before: Some(change.0),
        after: Some(change.1),
        reason: Some(format!("{FEED_REASON} ({source_name})")),
    }
}

/// A new booking: the person row with nothing done yet, `person_booked` audited and sent.
fn book(
    w: &Writer<'_>,
    pair: &Pair,
    facilities: &[Facility],
    source_name: &str,
    out: &mut RosterOutcome,
) -> Result<Head> {
    let feed = |i: usize| pair.feed[i].as_deref();
    let parse_date = |i: usize| feed(i).and_then(|d| d.parse::<NaiveDate>().ok());
    let facility_id = feed(FACILITY).unwrap_or_default();
    let facility = facilities
        .iter()
        .find(|f| f.id == facility_id)
        .cloned()
        .ok_or_else(|| StoreError::invalid(format!("no facility {facility_id}")))?;
    let release = ReleaseDate {
        date: parse_date(DATE),
        certainty: feed(CERTAINTY)
            .and_then(|c| c.parse().ok())
            .unwrap_or(Certainty::Unknown),
        kind: feed(TYPE).and_then(|t| t.parse().ok()),
        source: Some(ReleaseSource::JailManagementSystem),
    };
    let person = Person {
        id: String::new(),
        booking_id: pair.booking_id.clone(),
        name: PersonName::new(
            feed(LAST).unwrap_or_default(),
            feed(FIRST).unwrap_or_default(),
        ),
        date_of_birth: parse_date(DOB),
        youth: feed(YOUTH) == Some("1"),
        facility: facility.into(),
        unit: feed(UNIT).unwrap_or_default().to_string(),
        booked_on: parse_date(BOOKED).unwrap_or(w.today),
        custody: CustodyStatus::InCustody,
        released_on: None,
    };
    let record = PersonRecord::new(person, release);
    let head = super::seed::insert_record(w, &record)?;
    let p = &record.person;
    let release = super::seed::release_json(&record.release);
    w.audit(&AuditRow {
        person_id: Some(&head.id),
        kind: "person_booked",
        entity: "person",
        entity_id: Some(head.id.clone()),
        before: None,
        after: Some(json!({"booking_id": p.booking_id, "unit": p.unit, "release": release})),
        reason: Some(format!("{FEED_REASON} ({source_name})")),
    })?;
    w.first_event(
        &head,
        &Event {
            kind: EventType::PersonBooked,
            data: json!({
                "name": {"last": p.name.last, "first": p.name.first},
                "date_of_birth": opt_date(p.date_of_birth),
                "facility_id": p.facility.id,
                "facility_kind": p.facility.kind.code(),
                "unit": p.unit,
                "youth": p.youth || p.facility.kind == FacilityKind::YouthFacility,
                "booked_on": date(p.booked_on),
                "release": release,
            }),
            part2: false,
        },
    )?;
    out.audit_rows += 1;
    out.events += 1;
    Ok(head)
}

/// The feed's statement about a release, as `persons.feed_release` keeps it (migration 0005
/// writes the same shape in SQL).
pub(super) fn feed_release(date: Option<&str>, certainty: Option<&str>) -> String {
    format!("{}|{}", date.unwrap_or(""), certainty.unwrap_or(""))
}

/// Bookkeeping of what the feed said, not a change anyone sees: no audit row, no version bump
/// (which would turn someone's open dialog into a false conflict).
fn remember_feed_release(w: &Writer<'_>, person_id: &str, says: &str) -> Result<()> {
    w.tx.prepare_cached("UPDATE persons SET feed_release = ?1 WHERE id = ?2")
        .and_then(|mut s| s.execute(rusqlite::params![says, person_id]))
        .ctx("remembering what the feed said")?;
    Ok(())
}

/// A release-date change from the feed: history row with source "jail management system",
/// audit row and `release_date_changed` event, as any edit.
fn move_date(
    w: &Writer<'_>,
    head: &Head,
    to: Option<&str>,
    certainty: Option<&str>,
    kind: Option<Option<&str>>,
    source_name: &str,
    out: &mut RosterOutcome,
) -> Result<()> {
    let source = ReleaseSource::JailManagementSystem.code();
    let certainty = certainty.unwrap_or(Certainty::Unknown.code());
    let mut cols = vec![
        ("release_date", to.map(str::to_string).sql()),
        ("release_certainty", certainty.sql()),
        ("release_source", source.sql()),
    ];
    if let Some(kind) = kind {
        cols.push(("release_type", kind.map(str::to_string).sql()));
    }
    let (before, after) = rows::update(w, "persons", head, None, cols)?;
    let previous = before
        .get("release_date")
        .and_then(Value::as_str)
        .map(str::to_string);
    let reason_text = format!("{FEED_REASON} ({source_name})");
    rows::insert(
        w,
        "release_changes",
        head,
        vec![
            ("changed_at", w.now.sql()),
            ("changed_by", w.actor.login.as_str().sql()),
            ("from_date", previous.clone().sql()),
            ("to_date", to.map(str::to_string).sql()),
            ("certainty", certainty.sql()),
            ("source", source.sql()),
            ("reason", ChangeReason::Other.code().sql()),
            ("reason_text", reason_text.as_str().sql()),
        ],
    )?;
    w.bump_person(head)?;
    let release_type = match kind {
        Some(k) => k.map(str::to_string),
        None => before
            .get("release_type")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    w.audit(&AuditRow {
        person_id: Some(&head.id),
        kind: "release_date_changed",
        entity: "person",
        entity_id: Some(head.id.clone()),
        before: Some(before),
        after: Some(after),
        reason: Some(reason_text.clone()),
    })?;
    w.event(
        head,
        &Event {
            kind: EventType::ReleaseDateChanged,
            data: json!({
                "previous": previous,
                "new": to,
                "certainty": certainty,
                "type": release_type,
                "source": source,
                "reason": ChangeReason::Other.code(),
                "reason_text": reason_text,
            }),
            part2: false,
        },
    )?;
    out.audit_rows += 1;
    out.events += 1;
    Ok(())
}

/// The feed says the person is released or transferred: the same write as `roster confirm`.
fn leave(
    w: &Writer<'_>,
    head: &Head,
    custody: &str,
    source_name: &str,
    out: &mut RosterOutcome,
) -> Result<()> {
    let departure = if custody == "transferred" {
        Departure::Transferred {
            destination_kind: "other".into(),
            destination_text: String::new(),
        }
    } else {
        Departure::Released
    };
    depart(
        w,
        head,
        &departure,
        w.today,
        Some(format!("{FEED_REASON} ({source_name})")),
    )?;
    out.released += 1;
    out.audit_rows += 1;
    out.events += 1;
    Ok(())
}

/// The instant of a departure on `on`: now when it is today, else noon UTC of that day.
fn departure_instant(w: &Writer<'_>, on: NaiveDate) -> DateTime<Utc> {
    if on == w.today {
        w.now
    } else {
        on.and_hms_opt(12, 0, 0).map_or(w.now, |t| t.and_utc())
    }
}

/// Sets custody and the departure day, audits, and emits the event the hub expects.
fn depart(
    w: &Writer<'_>,
    head: &Head,
    departure: &Departure,
    on: NaiveDate,
    reason: Option<String>,
) -> Result<Saved> {
    let (custody, kind, event) = match departure {
        Departure::Released => (
            CustodyStatus::Released,
            "person_released",
            Event {
                kind: EventType::PersonReleased,
                data: release_facts(w, head, on)?,
                part2: false,
            },
        ),
        Departure::Transferred {
            destination_kind,
            destination_text,
        } => {
            if !DESTINATION_KINDS.contains(&destination_kind.as_str()) {
                return Err(StoreError::invalid(format!(
                    "destination `{destination_kind}` is not one of {}",
                    DESTINATION_KINDS.join(", ")
                )));
            }
            let mut data = json!({
                "transferred_at": super::codec::ts(departure_instant(w, on)),
                "destination_kind": destination_kind,
                "destination_facility_id": null,
            });
            if !destination_text.trim().is_empty() {
                data["destination_text"] = json!(destination_text.trim());
            }
            (
                CustodyStatus::Transferred,
                "person_transferred",
                Event {
                    kind: EventType::PersonTransferred,
                    data,
                    part2: false,
                },
            )
        }
    };
    let change = rows::update(
        w,
        "persons",
        head,
        None,
        vec![("custody", custody.code().sql()), ("released_on", on.sql())],
    )?;
    let version = w.bump_person(head)?;
    let row = AuditRow {
        person_id: Some(&head.id),
        kind,
        entity: "person",
        entity_id: Some(head.id.clone()),
        before: Some(change.0),
        after: Some(change.1),
        reason: reason.filter(|r| !r.is_empty()),
    };
    w.finish(head, version, row, Some(event))
}

/// What the program measures on release day, from the record as it stands (API.md
/// `person_released`).
pub(super) fn release_facts(w: &Writer<'_>, head: &Head, on: NaiveDate) -> Result<Value> {
    let one = |sql: &str| -> Result<bool> {
        w.tx.prepare_cached(sql)
            .and_then(|mut s| s.query_row([&head.id], |r| r.get(0)))
            .ctx("reading the release facts")
    };
    let meds_in_hand = one(
        "SELECT NOT EXISTS (SELECT 1 FROM medications WHERE person_id = ?1
            AND supply NOT IN ('given_in_hand', 'rx_sent_to_pharmacy', 'not_needed'))",
    )?;
    let dme_delivered = one("SELECT NOT EXISTS (SELECT 1 FROM dme WHERE person_id = ?1
            AND status NOT IN ('delivered', 'not_needed'))")?;
    let (release_date, naloxone, medi_cal): (Option<String>, Option<String>, String) = w
        .tx
        .prepare_cached("SELECT release_date, naloxone, medi_cal_status FROM persons WHERE id = ?1")
        .and_then(|mut s| s.query_row([&head.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
        .ctx("reading the release facts")?;
    let sent: Vec<String> =
        w.tx.prepare_cached(
            "SELECT DISTINCT recipient FROM notifications WHERE person_id = ?1
             AND status IN ('sent', 'acknowledged') ORDER BY recipient",
        )
        .and_then(|mut s| {
            s.query_map([&head.id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .ctx("reading the release facts")?;
    // Planned: the board knew the date, and it was not moved earlier by the release itself.
    let planned = release_date
        .and_then(|d| d.parse::<NaiveDate>().ok())
        .is_some_and(|d| d <= on);
    let mut data = json!({
        "released_at": super::codec::ts(departure_instant(w, on)),
        "planned": planned,
        "meds_in_hand": meds_in_hand,
        "dme_delivered": dme_delivered,
        "medi_cal": medi_cal,
        "notifications_sent": sent,
    });
    if let Some(n) = naloxone {
        data["naloxone"] = json!(n);
    }
    Ok(data)
}

/// People the board holds who are not in the feed: marked "left the roster" (once), never
/// deleted.
fn missing(
    conn: &Connection,
    w: Option<&Writer<'_>>,
    source_name: &str,
    out: &mut RosterOutcome,
) -> Result<()> {
    let mut stmt = conn
        .prepare(
            "SELECT p.id, p.booking_id, p.last_name, p.first_name, p.unit, p.release_date,
                    p.custody
             FROM main.persons p
             WHERE p.custody IN ('in_custody', 'left_roster')
               AND NOT EXISTS (SELECT 1 FROM temp.import_roster s
                               WHERE s.booking_id = p.booking_id)
             ORDER BY p.booking_id",
        )
        .ctx("finding who left the roster")?;
    let mut rows = stmt.query([]).ctx("finding who left the roster")?;
    while let Some(r) = rows.next().ctx("finding who left the roster")? {
        let id: String = r.get(0).ctx("finding who left the roster")?;
        let custody: String = r.get(6).ctx("finding who left the roster")?;
        let already_marked = custody == "left_roster";
        out.missing += 1;
        if !already_marked {
            out.newly_left += 1;
        }
        if out.left.len() < LIST_LIMIT {
            let release: Option<String> = r.get(5).ctx("finding who left the roster")?;
            out.left.push(LeftLine {
                booking_id: r.get(1).ctx("finding who left the roster")?,
                name: PersonName::new(
                    r.get::<_, String>(2).ctx("finding who left the roster")?,
                    r.get::<_, String>(3).ctx("finding who left the roster")?,
                ),
                unit: r.get(4).ctx("finding who left the roster")?,
                release_date: release.and_then(|d| d.parse().ok()),
                already_marked,
            });
        }
        if let (Some(w), false) = (w, already_marked) {
            let head = w.person(&id)?;
            let change = rows::update(
                w,
                "persons",
                &head,
                None,
                vec![("custody", CustodyStatus::LeftRoster.code().sql())],
            )?;
            w.bump_person(&head)?;
            w.audit(&person_audit(&head, "left_roster", change, source_name))?;
            out.audit_rows += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compared_columns_line_up() {
        // The indexes name positions in COMPARED; a column added in the middle must move them.
        assert_eq!(COMPARED[LAST], "last_name");
        assert_eq!(COMPARED[CUSTODY], "custody");
        assert_eq!(COMPARED[TYPE], "release_type");
        assert_eq!(COMPARED[BOOKED], "booked_on");
    }
}
