//! Reading the board from the board index: band counts, and windows of rows by keyset over the
//! board order (band, release date, name, booking number), with every filter and the search done
//! in SQL. What depends on the day (due soon, overdue, the overdue band, at risk, my work) is
//! derived here from the stored days with `today` as a parameter.
//!
//! The reference is the full computation (`domain::board::build` and `Filter`); the equivalence
//! tests in tests/board_query.rs hold this module to it.

use chrono::NaiveDate;
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::board_index::{ENTRY_COLUMNS, IndexRow, day_number, entry_row, stored_rules};
use super::error::SqlContext;
use super::{Result, Store};
use crate::domain::board_entry::BoardEntry;
use crate::domain::filter::Filter;
use crate::domain::{Band, Readiness, Role, Rules};

/// What the board asks for: the day, the filters (search already folded) and the people with an
/// open task of the signed-in user, who join "my work" while the other filters still apply.
#[derive(Debug, Clone)]
pub struct BoardQuery {
    pub today: NaiveDate,
    pub filter: Filter,
    pub my_tasks: Vec<String>,
}

impl BoardQuery {
    pub fn new(today: NaiveDate) -> Self {
        Self {
            today,
            filter: Filter::default(),
            my_tasks: Vec::new(),
        }
    }
}

/// A place in the board order; a window starts after (or ends before) one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BoardKey {
    pub band: Band,
    order_day: i64,
    last_key: String,
    first_key: String,
    booking_id: String,
}

/// One row of a window: the entry, its readiness on the query's day and its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardItem {
    pub key: BoardKey,
    pub row: IndexRow,
    pub readiness: Readiness,
}

impl BoardItem {
    pub fn entry(&self) -> &BoardEntry {
        &self.row.entry
    }
}

/// People per band under the query's filters, in band order.
pub type BandCounts = [(Band, usize); 6];

fn into_counts(found: Vec<(i64, i64)>) -> BandCounts {
    let mut counts: BandCounts = [
        (Band::Overdue, 0),
        (Band::Near, 0),
        (Band::ServicesWindow, 0),
        (Band::ScreeningWindow, 0),
        (Band::Unknown, 0),
        (Band::Later, 0),
    ];
    for (band, n) in found {
        if let Some(slot) = usize::try_from(band).ok().and_then(|b| counts.get_mut(b)) {
            slot.1 += usize::try_from(n).unwrap_or(0);
        }
    }
    counts
}

/// The unfiltered counts from the tally: people by release day and the day after which they
/// are overdue. Those in a consent's early overdue days on `today` are few (an index finds them)
/// and move from their date's band to the overdue band.
fn tally_counts(conn: &Connection, today: NaiveDate, rules: &Rules) -> Result<BandCounts> {
    let t = day_number(today);
    let band_of_day = format!(
        "(CASE WHEN order_day < ?1 THEN 0
               WHEN order_day = {unknown} THEN 4
               WHEN order_day - ?1 <= {near} THEN 1
               WHEN order_day - ?1 <= {services} THEN 2
               WHEN order_day - ?1 <= {screening} THEN 3
               ELSE 5 END)",
        unknown = i64::MAX,
        near = rules.near_band_days,
        services = rules.services_window_days,
        screening = rules.screening_window_days,
    );
    let text = format!(
        "SELECT CASE WHEN overdue_after < ?1 THEN 0 ELSE {band_of_day} END AS band, sum(people)
           FROM board_index_tally GROUP BY band
         UNION ALL
         SELECT {band_of_day}, -count(*) FROM board_index
          WHERE early_before > ?1 AND early_after < ?1 AND overdue_after >= ?1
            AND order_day >= ?1 GROUP BY 1
         UNION ALL
         SELECT 0, count(*) FROM board_index
          WHERE early_before > ?1 AND early_after < ?1 AND overdue_after >= ?1
            AND order_day >= ?1"
    );
    let found: Vec<(i64, i64)> = conn
        .prepare_cached(&text)
        .and_then(|mut s| s.query_map([t], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .ctx("counting the board")?;
    let mut counts = [0_i64; 6];
    for (band, n) in found {
        if let Some(slot) = usize::try_from(band).ok().and_then(|b| counts.get_mut(b)) {
            *slot += n;
        }
    }
    Ok(into_counts(
        counts
            .iter()
            .enumerate()
            .map(|(b, n)| (b as i64, *n))
            .collect(),
    ))
}

fn band_number(band: Band) -> i64 {
    Band::all().position(|b| b == band).map_or(0, |i| i as i64)
}

/// The SQL of the day-dependent states. Offsets are whole days validated to 0..=365, written as
/// literals so the expressions stay readable; `today` is always the parameter `?1`.
struct Sql {
    overdue: String,
    band: String,
    at_risk: String,
}

impl Sql {
    fn new(rules: &Rules) -> Self {
        let soon = rules.due_soon_days;
        // The consent is done on the days between its signature and expiry; outside them it is
        // open again with its own due day.
        let consent_open = "(consent_from IS NOT NULL AND consent_blocked = 0
             AND NOT (consent_from <= ?1 AND (consent_until IS NULL OR consent_until >= ?1)))";
        let consent_blocked = "(consent_from IS NOT NULL AND consent_blocked = 1
             AND NOT (consent_from <= ?1 AND (consent_until IS NULL OR consent_until >= ?1)))";
        // Comparisons with NULL days are NULL in SQL, and NOT NULL is not true: every test of a
        // stored day that may be missing is made 0 or 1 with ifnull, so a negated state keeps
        // its meaning. The overdue days were worked out when the entry was written.
        let overdue =
            "(overdue_after < ?1 OR ifnull(early_after < ?1 AND ?1 < early_before, 0))".to_string();
        let band = format!(
            "(CASE WHEN {overdue} OR release_day < ?1 THEN 0
                   WHEN release_day IS NULL THEN 4
                   WHEN release_day - ?1 <= {near} THEN 1
                   WHEN release_day - ?1 <= {services} THEN 2
                   WHEN release_day - ?1 <= {screening} THEN 3
                   ELSE 5 END)",
            near = rules.near_band_days,
            services = rules.services_window_days,
            screening = rules.screening_window_days,
        );
        let due_soon = format!(
            "(ifnull(earliest_open_due <= ?1 + {soon}, 0)
              OR ({consent_open} AND ifnull(consent_due <= ?1 + {soon}, 0)))"
        );
        let at_risk = format!(
            "({overdue} OR blocked > 0 OR {consent_blocked}
              OR ({band} = 1 AND {due_soon}))"
        );
        Self {
            overdue,
            band,
            at_risk,
        }
    }

    fn my_work(role: Role, rules: &Rules) -> String {
        let soon = rules.due_soon_days;
        let late = |column: &str, bit: u8| {
            format!("(ifnull({column} <= ?1 + {soon}, 0) OR (blocked_roles & {bit}) != 0)")
        };
        let date_work = "(open_date_flag = 1 OR unacknowledged = 1)";
        match role {
            Role::Nurse => format!(
                "(nurse_unsettled = 1 AND (release_day IS NULL OR release_day - ?1 <= {}))",
                rules.near_band_days
            ),
            Role::Probation => date_work.to_string(),
            Role::Records => format!("({date_work} OR {})", late("due_records", 8)),
            Role::Viewer => "0".to_string(),
            Role::Eligibility => late("due_eligibility", 1),
            Role::Coordinator => late("due_coordinator", 2),
            Role::CareManager => late("due_care_manager", 4),
        }
    }
}

/// The WHERE clause of a query (without the band) and its parameters after `?1` (today).
fn conditions(q: &BoardQuery, rules: &Rules, sql: &Sql) -> (String, Vec<Value>) {
    let mut parts = vec!["1".to_string()];
    let mut params: Vec<Value> = vec![Value::Integer(day_number(q.today))];
    let param = |params: &mut Vec<Value>, v: Value| {
        params.push(v);
        format!("?{}", params.len())
    };
    let f = &q.filter;
    // Words of three letters or more are found through the trigram index first; shorter ones
    // match most of the roster anyway, and a pass over the column finds a screenful at once.
    let long: Vec<String> = f
        .search
        .split_whitespace()
        .filter(|w| w.chars().count() >= 3)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    if !long.is_empty() {
        let p = param(&mut params, Value::Text(long.join(" AND ")));
        parts.push(format!(
            "rowid IN (SELECT rowid FROM board_search WHERE board_search MATCH {p})"
        ));
    }
    for word in f.search.split_whitespace() {
        let p = param(&mut params, Value::Text(word.to_string()));
        parts.push(format!("instr(search, {p}) > 0"));
    }
    if let Some(facility) = &f.facility {
        let p = param(&mut params, Value::Text(facility.clone()));
        parts.push(format!("facility_id = {p}"));
    }
    if let Some(unit) = &f.unit {
        let p = param(&mut params, Value::Text(unit.clone()));
        parts.push(format!("unit = {p}"));
    }
    if let Some(cm) = &f.care_manager {
        let p = param(&mut params, Value::Text(cm.clone()));
        parts.push(format!("care_manager_id = {p}"));
    }
    if let Some(band) = f.band {
        parts.push(format!("{} = {}", sql.band, band_number(band)));
        // A dated band is a range of the order index: the count need not pass everyone.
        if let Some((lo, hi)) = band_days(band, day_number(q.today), rules) {
            parts.push(format!("order_day BETWEEN {lo} AND {hi}"));
        }
    }
    if f.at_risk_only {
        parts.push(sql.at_risk.clone());
    }
    if let Some(role) = f.my_work {
        let mine = Sql::my_work(role, rules);
        if q.my_tasks.is_empty() {
            parts.push(mine);
        } else {
            let ids = serde_json::Value::from(q.my_tasks.clone()).to_string();
            let p = param(&mut params, Value::Text(ids));
            parts.push(format!(
                "({mine} OR person_id IN (SELECT value FROM json_each({p})))"
            ));
        }
    }
    (parts.join(" AND "), params)
}

/// The order-day range a band covers on `today` (before removing people with overdue work).
fn band_days(band: Band, today: i64, rules: &Rules) -> Option<(i64, i64)> {
    let unknown = i64::MAX;
    Some(match band {
        Band::Overdue => return None,
        Band::Near => (today, today + rules.near_band_days),
        Band::ServicesWindow => (
            today + rules.near_band_days + 1,
            today + rules.services_window_days,
        ),
        Band::ScreeningWindow => (
            today + rules.services_window_days + 1,
            today + rules.screening_window_days,
        ),
        Band::Unknown => (unknown, unknown),
        Band::Later => (today + rules.screening_window_days + 1, unknown - 1),
    })
}

/// Where a band's people are: a range of the order index. The overdue band is spread over the
/// whole order: when it is a good share of the board, walking the order index finds a screenful
/// at once; when it is rare, its people are gathered from the indexes of their overdue days and
/// sorted (walking the order would pass nearly everyone to find them).
fn band_source(band: Band, today: i64, rules: &Rules, sql: &Sql, overdue_rare: bool) -> String {
    match band_days(band, today, rules) {
        Some((lo, hi)) => format!(
            "board_index WHERE order_day BETWEEN {lo} AND {hi} AND NOT {}",
            sql.overdue
        ),
        None if overdue_rare => format!(
            "board_index WHERE rowid IN (
                SELECT rowid FROM board_index WHERE order_day < ?1
                UNION SELECT rowid FROM board_index WHERE overdue_after < ?1
                UNION SELECT rowid FROM board_index
                      WHERE early_before > ?1 AND early_after < ?1
             ) AND ({} OR release_day < ?1)",
            sql.overdue
        ),
        None => format!("board_index WHERE ({} OR release_day < ?1)", sql.overdue),
    }
}

/// Below this share of the board (1 in N) the overdue band is read through its own indexes.
const RARE_OVERDUE: usize = 50;

/// Whether the overdue band was rare on a day, as of a state of the database: the day, the
/// database's `data_version` (other connections' commits) and this connection's total changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OverdueShare {
    today: NaiveDate,
    data_version: i64,
    own_changes: u64,
    rare: bool,
}

/// [`OverdueShare::rare`] for `today`, from the cache while the database has not changed.
fn overdue_rare(store: &Store, today: NaiveDate, rules: &Rules) -> Result<bool> {
    let data_version: i64 = store
        .conn
        .query_row("PRAGMA data_version", [], |r| r.get(0))
        .ctx("reading data_version")?;
    let own_changes = store.conn.total_changes();
    if let Some(share) = store.overdue_share.get()
        && share.today == today
        && share.data_version == data_version
        && share.own_changes == own_changes
    {
        return Ok(share.rare);
    }
    let tally = tally_counts(&store.conn, today, rules)?;
    let rare = tally.first().map_or(0, |(_, n)| *n) * RARE_OVERDUE
        < tally.iter().map(|(_, n)| n).sum::<usize>();
    store.overdue_share.set(Some(OverdueShare {
        today,
        data_version,
        own_changes,
        rare,
    }));
    Ok(rare)
}

const ORDER: &str = "order_day, last_key, first_key, booking_id";

fn read_window(
    store: &Store,
    q: &BoardQuery,
    rules: &Rules,
    from: Option<&BoardKey>,
    limit: usize,
    backwards: bool,
) -> Result<Vec<BoardItem>> {
    let sql = Sql::new(rules);
    let today = day_number(q.today);
    let (filter, base) = conditions(q, rules, &sql);
    let mut out: Vec<BoardItem> = Vec::new();
    let mut bands: Vec<Band> = Band::all().collect();
    if backwards {
        bands.reverse();
    }
    for band in bands {
        if out.len() >= limit {
            break;
        }
        if q.filter.band.is_some_and(|only| only != band) {
            continue;
        }
        if let Some(key) = from {
            let skip = if backwards {
                band > key.band
            } else {
                band < key.band
            };
            if skip {
                continue;
            }
        }
        let mut params = base.clone();
        let mut keyset = String::from("1");
        if let Some(key) = from.filter(|k| k.band == band) {
            let start = params.len() + 1;
            params.extend([
                Value::Integer(key.order_day),
                Value::Text(key.last_key.clone()),
                Value::Text(key.first_key.clone()),
                Value::Text(key.booking_id.clone()),
            ]);
            let op = if backwards { "<" } else { ">" };
            keyset = format!(
                "({ORDER}) {op} (?{start}, ?{}, ?{}, ?{})",
                start + 1,
                start + 2,
                start + 3
            );
        }
        // Only the overdue band's reading depends on how many it holds: asked only then, so a
        // move inside the other bands stays one indexed read.
        let overdue_rare = band == Band::Overdue && overdue_rare(store, q.today, rules)?;
        let direction = if backwards { "DESC" } else { "ASC" };
        let order = ORDER
            .split(", ")
            .map(|c| format!("{c} {direction}"))
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!(
            "SELECT {ENTRY_COLUMNS}, order_day FROM {} AND {filter} AND {keyset}
             ORDER BY {order} LIMIT {}",
            band_source(band, today, rules, &sql, overdue_rare),
            limit - out.len()
        );
        let mut stmt = store.conn.prepare_cached(&text).ctx("reading the board")?;
        let rows = stmt
            .query_map(params_from_iter(params.iter()), |r| {
                let row = entry_row(r)?;
                let order_day: i64 = r.get(33)?;
                Ok((row, order_day))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .ctx("reading the board")?;
        for (row, order_day) in rows {
            let readiness = row.entry.readiness(q.today, rules);
            let key = BoardKey {
                band,
                order_day,
                last_key: row.entry.last_key.clone(),
                first_key: row.entry.first_key.clone(),
                booking_id: row.entry.booking_id.clone(),
            };
            out.push(BoardItem {
                key,
                row,
                readiness,
            });
        }
    }
    if backwards {
        out.reverse();
    }
    Ok(out)
}

impl Store {
    /// People per band under the query's filters. Without filters, sums over the tally (a few
    /// thousand rows whatever the roster's size); with them, one pass over the index, the band
    /// of each row computed from its stored days.
    pub fn board_counts(&self, q: &BoardQuery) -> Result<BandCounts> {
        let at = |e: super::StoreError| e.at(&self.path);
        let rules = stored_rules(&self.conn).map_err(at)?;
        if q.filter.is_empty() {
            return tally_counts(&self.conn, q.today, &rules).map_err(at);
        }
        let sql = Sql::new(&rules);
        let (filter, params) = conditions(q, &rules, &sql);
        let text = format!(
            "SELECT {} AS band, count(*) FROM board_index WHERE {filter} GROUP BY band",
            sql.band
        );
        let found: Vec<(i64, i64)> = self
            .conn
            .prepare_cached(&text)
            .and_then(|mut s| {
                s.query_map(params_from_iter(params.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect()
            })
            .ctx("counting the board")
            .map_err(at)?;
        Ok(into_counts(found))
    }

    /// Up to `limit` rows in board order, after `after` (from the top without it).
    pub fn board_window(
        &self,
        q: &BoardQuery,
        after: Option<&BoardKey>,
        limit: usize,
    ) -> Result<Vec<BoardItem>> {
        let rules = stored_rules(&self.conn).map_err(|e| e.at(&self.path))?;
        read_window(self, q, &rules, after, limit, false).map_err(|e| e.at(&self.path))
    }

    /// Up to `limit` rows in board order that come before `before` (from the end without it):
    /// PgUp and End.
    pub fn board_window_before(
        &self,
        q: &BoardQuery,
        before: Option<&BoardKey>,
        limit: usize,
    ) -> Result<Vec<BoardItem>> {
        let rules = stored_rules(&self.conn).map_err(|e| e.at(&self.path))?;
        read_window(self, q, &rules, before, limit, true).map_err(|e| e.at(&self.path))
    }
}
