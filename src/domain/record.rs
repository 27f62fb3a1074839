//! Everything known about one person: the aggregate the timeline, the board and the detail view read.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{
    Appointment, Barrier, CarePlanStatus, CareTeam, Consent, DateFlag, DmeItem, MediCal,
    Medication, MilestoneCode, NaloxoneStatus, Notification, Person, Referral, ReleaseChange,
    ReleaseDate, Screening, Transport, WarmHandoff, code_enum,
};

code_enum! {
    /// A milestone settled by hand, for milestones without data of their own.
    pub enum MarkKind {
        Done => "done",
        NotNeeded => "not needed",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilestoneMark {
    pub milestone: MilestoneCode,
    pub kind: MarkKind,
    pub by: String,
    pub on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub by: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub person: Person,
    pub release: ReleaseDate,
    /// Oldest first; append-only.
    pub release_history: Vec<ReleaseChange>,
    pub date_flags: Vec<DateFlag>,
    pub medi_cal: MediCal,
    pub screening: Screening,
    pub consent: Consent,
    pub care_team: CareTeam,
    pub medications: Vec<Medication>,
    pub naloxone: Option<NaloxoneStatus>,
    pub dme: Vec<DmeItem>,
    pub care_plan: CarePlanStatus,
    pub warm_handoff: WarmHandoff,
    pub appointments: Vec<Appointment>,
    pub transport: Transport,
    pub referrals: Vec<Referral>,
    pub notifications: Vec<Notification>,
    pub barriers: Vec<Barrier>,
    pub notes: Vec<Note>,
    pub marks: Vec<MilestoneMark>,
    /// Optimistic-concurrency version of the person row.
    pub version: i64,
}

impl PersonRecord {
    /// A bare record with nothing done: the starting point for builders and tests.
    pub fn new(person: Person, release: ReleaseDate) -> Self {
        Self {
            person,
            release,
            release_history: Vec::new(),
            date_flags: Vec::new(),
            medi_cal: MediCal::default(),
            screening: Screening::default(),
            consent: Consent::default(),
            care_team: CareTeam::default(),
            medications: Vec::new(),
            naloxone: None,
            dme: Vec::new(),
            care_plan: CarePlanStatus::NotStarted,
            warm_handoff: WarmHandoff::default(),
            appointments: Vec::new(),
            transport: Transport::default(),
            referrals: Vec::new(),
            notifications: Vec::new(),
            barriers: Vec::new(),
            notes: Vec::new(),
            marks: Vec::new(),
            version: 1,
        }
    }

    pub fn mark(&self, code: MilestoneCode) -> Option<&MilestoneMark> {
        self.marks.iter().rev().find(|m| m.milestone == code)
    }

    pub fn open_barrier(&self, code: MilestoneCode) -> Option<&Barrier> {
        self.barriers
            .iter()
            .rev()
            .find(|b| b.milestone == code && b.is_open())
    }

    /// Any medication protected by 42 CFR Part 2.
    pub fn has_part2(&self) -> bool {
        self.medications.iter().any(Medication::is_part2)
    }

    /// Release-date changes the meeting has not yet acknowledged (moved earlier, or made inside the
    /// change window as it stood on the day of the change).
    pub fn unacknowledged_changes(&self, window_days: i64) -> usize {
        self.release_history
            .iter()
            .filter(|c| c.awaits_acknowledgement(window_days))
            .count()
    }

    /// The release date changed after `since` (e.g. the last meeting).
    pub fn date_changed_since(&self, since: DateTime<Utc>) -> bool {
        self.release_history.iter().any(|c| c.changed_at > since)
    }
}

/// A staff member as seeded or imported: login, display name, role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffUser {
    pub login: String,
    pub name: String,
    pub role: super::Role,
}

/// Everything a fresh database is seeded with: the demo fixtures, or a synthetic roster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedData {
    pub facilities: Vec<super::Facility>,
    /// The care-manager / ECM / probation / behavioral-health directory.
    pub contacts: Vec<super::Contact>,
    pub users: Vec<StaffUser>,
    pub records: Vec<PersonRecord>,
    /// People already released (custody `released`, `released_on` set), seeded with a backdated
    /// booking and release in the audit trail so the program measures have history. Each done
    /// milestone carries a dated `Done` mark: the day the measures count it as done.
    #[serde(default)]
    pub released: Vec<PersonRecord>,
}
