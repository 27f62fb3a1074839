//! Demo data: the synthetic fixtures embedded in the binary, and a deterministic generator for
//! rosters of any size (benchmarks). Pure: no SQL, no clock, no files beyond `include_str!`.
//!
//! Every date is an offset from the `today` the caller passes, so the demo is always current and
//! tests can pin any day. Timestamps (confirmations, history) are `today` at 09:00 UTC minus N days.
//!
//! Person ids are deterministic so that re-seeding gives the same ids: a UUID (version 8, the
//! "custom" layout) whose bits are the 128-bit FNV-1a hash of `reentry-board/demo/` + booking id.
//! A name-based UUID v5 would need SHA-1; the ids are opaque and never security-relevant, so a
//! dependency-free hash does the same job.

mod fixtures;
mod synthetic;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use crate::domain::{Contact, Facility, Role, StaffUser};

pub use fixtures::{FixtureFiles, fixture_data, parse_fixtures};
pub use synthetic::synthetic_data;

/// The most people `init --demo --people N` generates: they are built in memory before they
/// are written, and ten times the largest roster the board is measured with is plenty.
pub const MAX_SYNTHETIC_PEOPLE: usize = 1_000_000;

/// A fixture file that cannot be read, naming the file, the line and the field.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{file}:{line}: {source}")]
    Csv {
        file: &'static str,
        line: u64,
        #[source]
        source: csv::Error,
    },
    #[error("{file}:{line}: field `{field}`: {problem}")]
    Field {
        file: &'static str,
        line: u64,
        field: String,
        problem: String,
    },
}

impl DemoError {
    /// The file the problem is in.
    pub fn file(&self) -> &'static str {
        match self {
            Self::Csv { file, .. } | Self::Field { file, .. } => file,
        }
    }

    /// The 1-based line of the file, counting comment lines.
    pub fn line(&self) -> u64 {
        match self {
            Self::Csv { line, .. } | Self::Field { line, .. } => *line,
        }
    }
}

/// Facilities, the care-manager directory and staff: shared by the fixtures and the generator.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    /// Each facility with its housing units.
    pub facilities: Vec<(Facility, Vec<String>)>,
    pub contacts: Vec<Contact>,
    pub users: Vec<StaffUser>,
}

impl Reference {
    pub fn contact(&self, id: &str) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.id == id)
    }

    /// The first staff login with `role`: who settles a milestone that role owns.
    pub fn login_for(&self, role: Role) -> String {
        self.users
            .iter()
            .find(|u| u.role == role)
            .or_else(|| self.users.first())
            .map_or_else(|| "demo".to_string(), |u| u.login.clone())
    }
}

/// The opaque, stable person id for a booking id (see the module docs).
pub fn person_id(booking_id: &str) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let hash = b"reentry-board/demo/"
        .iter()
        .chain(booking_id.as_bytes())
        .fold(OFFSET, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME));
    uuid::Builder::from_custom_bytes(hash.to_be_bytes())
        .into_uuid()
        .to_string()
}

/// `today` moved by `days` (negative = in the past); `None` outside chrono's range.
fn offset(today: NaiveDate, days: i64) -> Option<NaiveDate> {
    today.checked_add_signed(TimeDelta::try_days(days)?)
}

/// `today` at 09:00 UTC, `days_ago` days back: when a demo confirmation or change happened.
fn at(today: NaiveDate, days_ago: i64) -> Option<DateTime<Utc>> {
    let morning = today.and_hms_opt(9, 0, 0)?.and_utc();
    morning.checked_sub_signed(TimeDelta::try_days(days_ago)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_ids_are_stable_uuids() {
        let a = person_id("B-24-000123");
        assert_eq!(a, person_id("B-24-000123"));
        assert_ne!(a, person_id("B-24-000124"));
        let parsed = uuid::Uuid::parse_str(&a).map(|u| u.get_version_num());
        assert_eq!(parsed.ok(), Some(8));
    }
}
