//! A person's board entry: everything the board needs to place and draw them that does not depend
//! on the day. The store keeps one per person in its board index, written with every change; the
//! states that do depend on the day (due soon, overdue, the overdue band) are derived from the
//! stored dates when the board reads them, so `--as-of` and midnight need no rewrite.
//!
//! [`BoardEntry::readiness`] must give what [`super::readiness`] gives for the record the entry was
//! made from, on any day: the equivalence tests hold it to that.

use chrono::{DateTime, NaiveDate, Utc};

use super::filter::{fold, is_my_work_by};
use super::{
    CustodyStatus, FlagStatus, MilestoneCode, MilestoneState, MilestoneStatus, PersonRecord,
    Readiness, Role, Rules, readiness, timeline::band,
};

/// A milestone as far as the record settles it without a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredMilestone {
    Done,
    NotNeeded,
    /// Still to do: due on `due` (if it can be counted), `blocked` by an open barrier, and done
    /// on the days of `done_between` without anyone touching it (a signed consent is valid from
    /// its signature to its expiry; outside those days the milestone is open again).
    Open {
        due: Option<NaiveDate>,
        blocked: bool,
        late_entry: bool,
        done_between: Option<(NaiveDate, Option<NaiveDate>)>,
    },
}

impl StoredMilestone {
    /// The state on `today`, as the timeline engine gives it.
    pub fn state(self, today: NaiveDate, rules: &Rules) -> MilestoneState {
        match self {
            Self::Done => MilestoneState::Done,
            Self::NotNeeded => MilestoneState::NotNeeded,
            Self::Open {
                due,
                blocked,
                done_between,
                ..
            } => {
                if done_between
                    .is_some_and(|(from, until)| from <= today && until.is_none_or(|u| u >= today))
                {
                    MilestoneState::Done
                } else if blocked {
                    MilestoneState::Blocked
                } else {
                    match due {
                        None => MilestoneState::Pending,
                        Some(due) if today > due => MilestoneState::Overdue,
                        Some(due) if (due - today).num_days() <= rules.due_soon_days => {
                            MilestoneState::DueSoon
                        }
                        Some(_) => MilestoneState::Pending,
                    }
                }
            }
        }
    }

    /// The due date the timeline shows on `today` (none once the milestone counts as done).
    fn due_on(self, today: NaiveDate, rules: &Rules) -> Option<NaiveDate> {
        match self {
            Self::Open { due, .. } if self.state(today, rules) != MilestoneState::Done => due,
            _ => None,
        }
    }

    /// Open, not blocked, with a due date, and no validity window that could make it done: the
    /// milestones whose lateness one stored date answers for every day.
    fn plain_open_due(self) -> Option<NaiveDate> {
        match self {
            Self::Open {
                due: Some(due),
                blocked: false,
                done_between: None,
                ..
            } => Some(due),
            _ => None,
        }
    }

    fn plain_blocked(self) -> bool {
        matches!(
            self,
            Self::Open {
                blocked: true,
                done_between: None,
                ..
            }
        )
    }
}

/// The roles whose "my work" is their own late or blocked milestones, in the order of the
/// index's per-role columns.
pub const LATE_WORK_ROLES: [Role; 4] = [
    Role::Eligibility,
    Role::Coordinator,
    Role::CareManager,
    Role::Records,
];

/// One person's board entry; see the module comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardEntry {
    pub person_id: String,
    pub booking_id: String,
    pub last_name: String,
    pub first_name: String,
    /// The board's name order: last then first name, lower-cased (so `GARCIA` and `Garcia`
    /// from different feeds sort together).
    pub last_key: String,
    pub first_key: String,
    /// Name and booking number folded by [`fold`]: what a search looks in.
    pub search: String,
    pub custody: CustodyStatus,
    pub release_date: Option<NaiveDate>,
    pub certainty: super::Certainty,
    pub youth: bool,
    pub facility_id: String,
    pub facility_name: String,
    pub unit: String,
    pub care_manager_id: Option<String>,
    pub care_manager_name: Option<String>,
    /// One per milestone, in [`MilestoneCode::all`] order.
    pub milestones: Vec<StoredMilestone>,
    /// The soonest due date among open milestones that no barrier blocks and that no validity
    /// window can settle: overdue is `earliest_open_due < today`.
    pub earliest_open_due: Option<NaiveDate>,
    /// Open milestones blocked by a barrier (not counting those a validity window settles).
    pub blocked: u32,
    /// Per role of [`LATE_WORK_ROLES`]: the soonest due date of its open, unblocked milestones,
    /// and whether one of its milestones is blocked.
    pub role_due: [Option<NaiveDate>; 4],
    pub role_blocked: [bool; 4],
    /// Medications, DME or naloxone not yet settled: the nurse's work near release.
    pub nurse_unsettled: bool,
    pub late_entry: bool,
    pub open_date_flag: bool,
    pub unacknowledged_change: bool,
    /// When the release date last changed, for "changed since the last meeting".
    pub last_date_change: Option<DateTime<Utc>>,
    pub protected: bool,
    pub open_barrier: bool,
}

/// The entry for `record` under `rules`, or `None` for someone the board does not show.
pub fn board_entry(record: &PersonRecord, rules: &Rules) -> Option<BoardEntry> {
    let p = &record.person;
    if !matches!(
        p.custody,
        CustodyStatus::InCustody | CustodyStatus::LeftRoster
    ) {
        return None;
    }
    let milestones: Vec<StoredMilestone> = MilestoneCode::all()
        .map(|code| stored_milestone(code, record, rules))
        .collect();
    let codes_and = || MilestoneCode::all().zip(milestones.iter().copied());
    let earliest_open_due = codes_and().filter_map(|(_, m)| m.plain_open_due()).min();
    let blocked =
        u32::try_from(codes_and().filter(|(_, m)| m.plain_blocked()).count()).unwrap_or(u32::MAX);
    let role_due = LATE_WORK_ROLES.map(|role| {
        codes_and()
            .filter(|(c, _)| c.owner() == role)
            .filter_map(|(_, m)| m.plain_open_due())
            .min()
    });
    let role_blocked = LATE_WORK_ROLES.map(|role| {
        codes_and()
            .filter(|(c, _)| c.owner() == role)
            .any(|(_, m)| m.plain_blocked())
    });
    let nurse_unsettled = codes_and().any(|(c, m)| {
        matches!(
            c,
            MilestoneCode::Medications | MilestoneCode::Dme | MilestoneCode::Naloxone
        ) && matches!(m, StoredMilestone::Open { .. })
    });
    let late_entry = milestones.iter().any(|m| {
        matches!(
            m,
            StoredMilestone::Open {
                late_entry: true,
                ..
            }
        )
    });
    let cm = record.care_team.pre_release_cm.as_ref();
    Some(BoardEntry {
        person_id: p.id.clone(),
        booking_id: p.booking_id.clone(),
        last_name: p.name.last.clone(),
        first_name: p.name.first.clone(),
        last_key: p.name.last.to_lowercase(),
        first_key: p.name.first.to_lowercase(),
        search: search_text(record),
        custody: p.custody,
        release_date: record.release.date,
        certainty: record.release.certainty,
        youth: p.youth,
        facility_id: p.facility.id.clone(),
        facility_name: p.facility.name.clone(),
        unit: p.unit.clone(),
        care_manager_id: cm.map(|c| c.id.clone()),
        care_manager_name: cm.map(|c| c.name.clone()),
        milestones,
        earliest_open_due,
        blocked,
        role_due,
        role_blocked,
        nurse_unsettled,
        late_entry,
        open_date_flag: record
            .date_flags
            .iter()
            .any(|f| f.status == FlagStatus::Open),
        unacknowledged_change: record.unacknowledged_changes(rules.change_window_days) > 0,
        last_date_change: record.release_history.iter().map(|c| c.changed_at).max(),
        protected: record.has_part2(),
        open_barrier: record.barriers.iter().any(|b| b.is_open()),
    })
}

/// What a search looks in: the name and the booking number, folded.
pub fn search_text(record: &PersonRecord) -> String {
    let p = &record.person;
    fold(&format!(
        "{} {} {}",
        p.name.last, p.name.first, p.booking_id
    ))
}

/// The day-free part of one milestone: the timeline engine asked on two days that differ in
/// every way that matters, read back into what it depends on.
fn stored_milestone(code: MilestoneCode, record: &PersonRecord, rules: &Rules) -> StoredMilestone {
    // Only the consent depends on the day through the record (its signature and expiry dates);
    // every other milestone's progress is the same on every day, so any day gives it.
    let any_day = record.person.booked_on;
    let status = readiness_of(code, record, any_day, rules);
    let done_between = if code == MilestoneCode::Consent && record.mark(code).is_none() {
        let c = &record.consent;
        let valid = c
            .signed_on
            .filter(|_| !record.person.youth || c.signed_by_guardian);
        valid.map(|from| (from, c.expires_on))
    } else {
        None
    };
    if done_between.is_none() {
        match status.state {
            MilestoneState::Done => return StoredMilestone::Done,
            MilestoneState::NotNeeded => return StoredMilestone::NotNeeded,
            _ => {}
        }
    }
    // A day on which the consent is not valid, so its due date and barrier show.
    let open_day = match done_between {
        Some((from, _)) => from.pred_opt().unwrap_or(from),
        None => any_day,
    };
    let open = if done_between.is_some() {
        readiness_of(code, record, open_day, rules)
    } else {
        status
    };
    match open.state {
        MilestoneState::Done => StoredMilestone::Done,
        MilestoneState::NotNeeded => StoredMilestone::NotNeeded,
        state => StoredMilestone::Open {
            due: open.due,
            blocked: state == MilestoneState::Blocked,
            late_entry: open.late_entry,
            done_between,
        },
    }
}

fn readiness_of(
    code: MilestoneCode,
    record: &PersonRecord,
    today: NaiveDate,
    rules: &Rules,
) -> MilestoneStatus {
    super::timeline::milestone(code, record, today, rules)
}

impl BoardEntry {
    /// The readiness on `today` as the timeline engine gives it, without the record: the strip,
    /// the band, the days to release and the late-entry mark (done by / on are left out; the
    /// detail view reads the record for those).
    pub fn readiness(&self, today: NaiveDate, rules: &Rules) -> Readiness {
        let milestones: Vec<MilestoneStatus> = MilestoneCode::all()
            .zip(self.milestones.iter().copied())
            .map(|(code, m)| MilestoneStatus {
                code,
                due: m.due_on(today, rules),
                state: m.state(today, rules),
                late_entry: matches!(
                    m,
                    StoredMilestone::Open {
                        late_entry: true,
                        ..
                    }
                ) && m.state(today, rules) != MilestoneState::Done,
                blocked_by: None,
                done_by: None,
                done_on: None,
            })
            .collect();
        let days_to_release = self.release_date.map(|d| (d - today).num_days());
        let any_overdue = milestones
            .iter()
            .any(|m| m.state == MilestoneState::Overdue);
        Readiness {
            band: band(days_to_release, any_overdue, rules),
            milestones,
            days_to_release,
            late_entry: self.late_entry,
        }
    }

    /// [`super::filter::is_my_work`] from the entry.
    pub fn is_my_work(&self, role: Role, today: NaiveDate, rules: &Rules) -> bool {
        let date_work = self.open_date_flag || self.unacknowledged_change;
        is_my_work_by(role, &self.readiness(today, rules), date_work, rules)
    }
}

/// The reference readiness without the who-and-when of done milestones, for comparing with
/// [`BoardEntry::readiness`].
pub fn comparable_readiness(record: &PersonRecord, today: NaiveDate, rules: &Rules) -> Readiness {
    let mut r = readiness(record, today, rules);
    for m in &mut r.milestones {
        m.blocked_by = None;
        m.done_by = None;
        m.done_on = None;
    }
    r
}
