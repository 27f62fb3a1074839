//! The board index (migration 0007): one row per person on the board, kept right inside the
//! transaction of every change.
//!
//! Triggers on every table the board reads put the person in `board_index_dirty`; [`refresh`]
//! recomputes those entries from their records (domain::board_entry) and runs before every commit
//! (`Store::write`, `Store::immediate`) and after the migrations. A writer cannot forget a person,
//! and a row written by anything else (a repair with the sqlite3 shell) is caught up by the next
//! write or open.

use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, OptionalExtension, params};

use super::error::{SqlContext, StoreError};
use super::{Result, Store, codec};
use crate::domain::Rules;
use crate::domain::board::par_map_ref;
use crate::domain::board_entry::{BoardEntry, StoredMilestone, board_entry};
use crate::domain::{Certainty, CustodyStatus, MilestoneCode};

/// People loaded at a time while the index catches up: bounds the memory of a first import or a
/// rebuild to this many records, whatever the roster's size.
const SLICE: usize = 5_000;

/// One stored row: the entry and who changed the person last, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRow {
    pub entry: BoardEntry,
    pub changed_at: String,
    pub changed_by: String,
}

/// Days from 0001-01-01: what the index stores for a date.
pub fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce())
}

fn from_day_number(n: i64) -> Option<NaiveDate> {
    i32::try_from(n)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// Unknown release dates sort after every known one.
const UNKNOWN_ORDER_DAY: i64 = i64::MAX;

/// Recomputes the entries of everyone marked dirty in this transaction. Cheap when nothing is:
/// one read of an empty table.
pub(super) fn refresh(conn: &Connection) -> Result<()> {
    let dirty: Vec<String> = conn
        .prepare_cached("SELECT person_id FROM board_index_dirty ORDER BY person_id")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .ctx("reading the board index's changed people")?;
    if dirty.is_empty() {
        return Ok(());
    }
    let rules = stored_rules(conn)?;
    conn.prepare_cached(
        "DELETE FROM board_index WHERE person_id IN (SELECT person_id FROM board_index_dirty)",
    )
    .and_then(|mut s| s.execute([]))
    .ctx("updating the board index")?;
    let people: i64 = conn
        .prepare_cached("SELECT count(*) FROM persons")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .ctx("counting people")?;
    // Most of the roster (an import, a rebuild): read the child tables by id range.
    let dense = dirty.len() as i64 * 2 >= people;
    for slice in dirty.chunks(SLICE) {
        let (Some(first), Some(last)) = (slice.first(), slice.last()) else {
            continue;
        };
        let records = super::load::load_dirty(conn, first, last, dense)?;
        let entries = par_map_ref(&records, |r| board_entry(r, &rules));
        drop(records);
        for entry in entries.iter().flatten() {
            insert(conn, entry)?;
        }
    }
    conn.execute("DELETE FROM board_index_dirty", [])
        .ctx("clearing the board index's changed people")?;
    Ok(())
}

/// Every entry again from the records, under the stored offsets.
fn rebuild(conn: &Connection) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO board_index_dirty (person_id) SELECT id FROM persons",
        [],
    )
    .ctx("marking everyone for the board index")?;
    refresh(conn)
}

/// The offsets the stored entries were computed with.
pub(super) fn stored_rules(conn: &Connection) -> Result<Rules> {
    let json: Option<String> = conn
        .prepare_cached("SELECT rules FROM board_index_rules WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
        .ctx("reading the board index's offsets")?
        .flatten();
    match json {
        None => Ok(Rules::default()),
        Some(json) => serde_json::from_str(&json).map_err(|e| {
            StoreError::invalid(format!(
                "the board index's stored offsets cannot be read ({e}); run `reentry-board check`"
            ))
        }),
    }
}

fn insert(conn: &Connection, e: &BoardEntry) -> Result<()> {
    let day = |d: Option<NaiveDate>| d.map(day_number);
    let consent = e
        .milestones
        .get(consent_position())
        .copied()
        .unwrap_or(StoredMilestone::NotNeeded);
    let (consent_due, consent_blocked, consent_from, consent_until) = match consent {
        StoredMilestone::Open {
            due,
            blocked,
            done_between: Some((from, until)),
            ..
        } => (day(due), blocked, Some(day_number(from)), day(until)),
        _ => (None, false, None, None),
    };
    let (overdue_after, early) = overdue_days(e.earliest_open_due, consent);
    let blocked_roles: i64 = e
        .role_blocked
        .iter()
        .enumerate()
        .filter(|(_, b)| **b)
        .map(|(i, _)| 1_i64 << i)
        .sum();
    let [
        due_eligibility,
        due_coordinator,
        due_care_manager,
        due_records,
    ] = e.role_due;
    conn.prepare_cached(
        "INSERT INTO board_index (person_id, booking_id, last_name, first_name, last_key,
            first_key, search, custody, release_day, order_day, certainty, youth, facility_id,
            facility_name, unit, care_manager_id, care_manager_name, milestones,
            earliest_open_due, blocked, consent_due, consent_blocked, consent_from, consent_until,
            due_eligibility, due_coordinator, due_care_manager, due_records, blocked_roles,
            nurse_unsettled, late_entry, open_date_flag, unacknowledged, last_date_change,
            protected, open_barrier, overdue_after, early_after, early_before, changed_at,
            changed_by)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35,
            ?36, ?37, ?38, ?39, p.updated_at, p.updated_by
         FROM persons p WHERE p.id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            e.person_id,
            e.booking_id,
            e.last_name,
            e.first_name,
            e.last_key,
            e.first_key,
            e.search,
            e.custody.code(),
            day(e.release_date),
            day(e.release_date).unwrap_or(UNKNOWN_ORDER_DAY),
            e.certainty.code(),
            e.youth,
            e.facility_id,
            e.facility_name,
            e.unit,
            e.care_manager_id,
            e.care_manager_name,
            encode_milestones(&e.milestones),
            day(e.earliest_open_due),
            e.blocked,
            consent_due,
            consent_blocked,
            consent_from,
            consent_until,
            day(due_eligibility),
            day(due_coordinator),
            day(due_care_manager),
            day(due_records),
            blocked_roles,
            e.nurse_unsettled,
            e.late_entry,
            e.open_date_flag,
            e.unacknowledged_change,
            e.last_date_change.map(codec::ts),
            e.protected,
            e.open_barrier,
            overdue_after,
            early.map(|(after, _)| after),
            early.map(|(_, before)| before),
        ])
    })
    .ctx("writing the board index")?;
    Ok(())
}

/// The days with overdue work: every day after the first returned (`i64::MAX`: none), and the
/// days strictly between the pair (a consent due before it was signed). The plain milestones are
/// overdue once past their earliest due day; an open, unblocked consent with a validity window is
/// overdue after its due day on the days outside the window.
pub(super) fn overdue_days(
    earliest_open_due: Option<NaiveDate>,
    consent: StoredMilestone,
) -> (i64, Option<(i64, i64)>) {
    let plain = earliest_open_due.map_or(i64::MAX, day_number);
    let StoredMilestone::Open {
        due: Some(due),
        blocked: false,
        done_between: Some((from, until)),
        ..
    } = consent
    else {
        return (plain, None);
    };
    let due = day_number(due);
    let from = day_number(from);
    // After the expiry (and the due day) it is overdue for good.
    let lapsed = until.map_or(i64::MAX, |u| day_number(u).max(due));
    // Before the signature it was overdue from the day after the due day.
    let early = (from - due > 1).then_some((due, from));
    (plain.min(lapsed), early)
}

fn consent_position() -> usize {
    MilestoneCode::all()
        .position(|c| c == MilestoneCode::Consent)
        .unwrap_or(0)
}

/// `D` done, `N` not needed, `O<due>;<b blocked><l late entry>;<valid from>;<valid until>` open;
/// comma-separated in strip order. Days as [`day_number`], empty when there is none.
fn encode_milestones(milestones: &[StoredMilestone]) -> String {
    let day = |d: Option<NaiveDate>| d.map(|d| day_number(d).to_string()).unwrap_or_default();
    milestones
        .iter()
        .map(|m| match *m {
            StoredMilestone::Done => "D".to_string(),
            StoredMilestone::NotNeeded => "N".to_string(),
            StoredMilestone::Open {
                due,
                blocked,
                late_entry,
                done_between,
            } => format!(
                "O{};{}{};{};{}",
                day(due),
                if blocked { "b" } else { "" },
                if late_entry { "l" } else { "" },
                day(done_between.map(|(from, _)| from)),
                day(done_between.and_then(|(_, until)| until)),
            ),
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn decode_milestones(text: &str) -> Option<Vec<StoredMilestone>> {
    let day = |s: &str| -> Option<Option<NaiveDate>> {
        if s.is_empty() {
            Some(None)
        } else {
            s.parse().ok().and_then(from_day_number).map(Some)
        }
    };
    text.split(',')
        .map(|token| match token {
            "D" => Some(StoredMilestone::Done),
            "N" => Some(StoredMilestone::NotNeeded),
            open => {
                let mut parts = open.strip_prefix('O')?.split(';');
                let due = day(parts.next()?)?;
                let marks = parts.next()?;
                let from = day(parts.next()?)?;
                let until = day(parts.next()?)?;
                Some(StoredMilestone::Open {
                    due,
                    blocked: marks.contains('b'),
                    late_entry: marks.contains('l'),
                    done_between: from.map(|from| (from, until)),
                })
            }
        })
        .collect()
}

/// The columns [`entry_row`] reads, in its order.
pub(super) const ENTRY_COLUMNS: &str = "person_id, booking_id, last_name, first_name, last_key,
    first_key, search, custody, release_day, certainty, youth, facility_id, facility_name, unit,
    care_manager_id, care_manager_name, milestones, earliest_open_due, blocked, due_eligibility,
    due_coordinator, due_care_manager, due_records, blocked_roles, nurse_unsettled, late_entry,
    open_date_flag, unacknowledged, last_date_change, protected, open_barrier, changed_at,
    changed_by";

/// One row of [`ENTRY_COLUMNS`].
pub(super) fn entry_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IndexRow> {
    let bad = |idx: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("board index: bad {what}").into(),
        )
    };
    let code = |idx: usize| -> rusqlite::Result<String> { r.get(idx) };
    let day = |idx: usize| -> rusqlite::Result<Option<NaiveDate>> {
        match r.get::<_, Option<i64>>(idx)? {
            None => Ok(None),
            Some(n) => from_day_number(n).map(Some).ok_or_else(|| bad(idx, "day")),
        }
    };
    let custody: CustodyStatus = code(7)?.parse().map_err(|_| bad(7, "custody"))?;
    let certainty: Certainty = code(9)?.parse().map_err(|_| bad(9, "certainty"))?;
    let milestones = decode_milestones(&code(16)?).ok_or_else(|| bad(16, "milestones"))?;
    let blocked_roles: i64 = r.get(23)?;
    let last_date_change = match r.get::<_, Option<String>>(28)? {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(&t)
                .map_err(|_| bad(28, "time"))?
                .with_timezone(&chrono::Utc),
        ),
    };
    Ok(IndexRow {
        entry: BoardEntry {
            person_id: r.get(0)?,
            booking_id: r.get(1)?,
            last_name: r.get(2)?,
            first_name: r.get(3)?,
            last_key: r.get(4)?,
            first_key: r.get(5)?,
            search: r.get(6)?,
            custody,
            release_date: day(8)?,
            certainty,
            youth: r.get(10)?,
            facility_id: r.get(11)?,
            facility_name: r.get(12)?,
            unit: r.get(13)?,
            care_manager_id: r.get(14)?,
            care_manager_name: r.get(15)?,
            milestones,
            earliest_open_due: day(17)?,
            blocked: r.get(18)?,
            role_due: [day(19)?, day(20)?, day(21)?, day(22)?],
            role_blocked: [0, 1, 2, 3].map(|i| blocked_roles & (1 << i) != 0),
            nurse_unsettled: r.get(24)?,
            late_entry: r.get(25)?,
            open_date_flag: r.get(26)?,
            unacknowledged_change: r.get(27)?,
            last_date_change,
            protected: r.get(29)?,
            open_barrier: r.get(30)?,
        },
        changed_at: r.get(31)?,
        changed_by: r.get(32)?,
    })
}

impl Store {
    /// The offsets the board index was computed with.
    pub fn board_rules(&self) -> Result<Rules> {
        stored_rules(&self.conn).map_err(|e| e.at(&self.path))
    }

    /// Makes the board index follow `rules` (the county's configured offsets): when they differ
    /// from the ones it was computed with, every entry is recomputed in one transaction. Returns
    /// whether it rebuilt.
    pub fn use_board_rules(&mut self, rules: &Rules) -> Result<bool> {
        let json = serde_json::to_string(rules)
            .map_err(|e| StoreError::invalid(format!("the offsets cannot be stored: {e}")))?;
        // Read first without the write lock: every board and session opens through here.
        if stored_rules(&self.conn).map_err(|e| e.at(&self.path))? == *rules {
            return Ok(false);
        }
        let rules = rules.clone();
        self.immediate("rebuilding the board index", move |tx| {
            if stored_rules(tx)? == rules {
                return Ok(false);
            }
            tx.execute(
                "UPDATE board_index_rules SET rules = ?1 WHERE id = 1",
                [&json],
            )
            .ctx("storing the board index's offsets")?;
            let started = std::time::Instant::now();
            rebuild(tx)?;
            tracing::info!(
                ms = started.elapsed().as_secs_f64() * 1000.0,
                "board index rebuilt for changed offsets"
            );
            Ok(true)
        })
    }

    /// Every stored entry, by person id.
    pub fn board_index_rows(&self) -> Result<Vec<IndexRow>> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM board_index ORDER BY person_id");
        self.conn
            .prepare(&sql)
            .and_then(|mut s| s.query_map([], entry_row)?.collect())
            .ctx("reading the board index")
            .map_err(|e| e.at(&self.path))
    }

    /// What the board index would hold if it were built from scratch now, by person id: what
    /// `check` and the tests compare the stored index with.
    pub fn board_index_rebuilt(&self) -> Result<Vec<IndexRow>> {
        let at = |e: StoreError| e.at(&self.path);
        let rules = stored_rules(&self.conn).map_err(at)?;
        let records = super::load::load_board(&self.conn).map_err(at)?;
        let mut rows = Vec::with_capacity(records.len());
        let mut changed = self
            .conn
            .prepare_cached("SELECT updated_at, updated_by FROM persons WHERE id = ?1")
            .ctx("reading who changed a person")
            .map_err(at)?;
        for record in &records {
            let Some(entry) = board_entry(record, &rules) else {
                continue;
            };
            let (changed_at, changed_by) = changed
                .query_row([&entry.person_id], |r| Ok((r.get(0)?, r.get(1)?)))
                .ctx("reading who changed a person")
                .map_err(at)?;
            rows.push(IndexRow {
                entry,
                changed_at,
                changed_by,
            });
        }
        rows.sort_by(|a, b| a.entry.person_id.cmp(&b.entry.person_id));
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milestones_round_trip() {
        let d = |s: &str| s.parse::<NaiveDate>().ok();
        let all = vec![
            StoredMilestone::Done,
            StoredMilestone::NotNeeded,
            StoredMilestone::Open {
                due: d("2026-05-01"),
                blocked: true,
                late_entry: false,
                done_between: None,
            },
            StoredMilestone::Open {
                due: None,
                blocked: false,
                late_entry: true,
                done_between: d("2026-01-02").map(|f| (f, d("2027-01-02"))),
            },
            StoredMilestone::Open {
                due: d("2026-05-01"),
                blocked: false,
                late_entry: false,
                done_between: d("2026-01-02").map(|f| (f, None)),
            },
        ];
        let text = encode_milestones(&all);
        assert_eq!(decode_milestones(&text), Some(all));
        assert_eq!(decode_milestones("X"), None);
    }
}
