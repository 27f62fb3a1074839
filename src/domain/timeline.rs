//! The timeline engine: every milestone's due date and state, computed (never stored) from the
//! release date, the booking date, the record and the county's rule offsets.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{
    BarrierReason, HealthNeed, PersonRecord, Recipient, Role, ScreeningResult, TransportStatus,
    WarmHandoffStatus, code_enum, record::MarkKind,
};

code_enum! {
    /// The milestones of DOMAIN.md, in the order the readiness strip shows them.
    pub enum MilestoneCode {
        MediCalChecked => "Medi-Cal checked at intake",
        Consent => "consent signed",
        Screening => "access screening",
        CareManager => "care manager assigned",
        CarePlan => "reentry care plan complete",
        Appointments => "community appointments booked",
        YouthCaseManagement => "youth case management started",
        WarmHandoff => "warm handoff",
        Medications => "30-day medication supply",
        Dme => "durable medical equipment",
        Transport => "transport arranged",
        MediCalOnRelease => "Medi-Cal active on release",
        Naloxone => "naloxone offered",
        Notifications => "notifications sent",
        BehavioralHealthLink => "behavioral health referral",
    }
}

impl MilestoneCode {
    /// The letter of the readiness strip; unique per milestone.
    pub fn letter(self) -> char {
        match self {
            Self::MediCalChecked => 'M',
            Self::Consent => 'C',
            Self::Screening => 'S',
            Self::CareManager => 'A',
            Self::CarePlan => 'P',
            Self::Appointments => 'B',
            Self::YouthCaseManagement => 'Y',
            Self::WarmHandoff => 'H',
            Self::Medications => 'R',
            Self::Dme => 'D',
            Self::Transport => 'T',
            Self::MediCalOnRelease => 'E',
            Self::Naloxone => 'X',
            Self::Notifications => 'N',
            Self::BehavioralHealthLink => 'L',
        }
    }

    /// The role that usually owns the milestone ("my work").
    pub fn owner(self) -> Role {
        match self {
            Self::MediCalChecked | Self::MediCalOnRelease => Role::Eligibility,
            Self::Consent | Self::Screening | Self::Medications | Self::Dme | Self::Naloxone => {
                Role::Nurse
            }
            Self::CareManager => Role::Coordinator,
            Self::CarePlan
            | Self::Appointments
            | Self::YouthCaseManagement
            | Self::WarmHandoff
            | Self::Transport
            | Self::BehavioralHealthLink => Role::CareManager,
            Self::Notifications => Role::Records,
        }
    }

    /// Part of the unplanned-release minimum: what must be ready when the date is unknown.
    pub fn in_unplanned_minimum(self) -> bool {
        matches!(
            self,
            Self::Screening
                | Self::Consent
                | Self::Medications
                | Self::MediCalChecked
                | Self::Notifications
        )
    }
}

/// Day offsets of the timeline. Counted back from the release date unless said otherwise.
/// The defaults are DOMAIN.md's; a county overrides any of them in `[rules]` of the config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Days after booking for the intake checks (Medi-Cal checked, consent).
    pub intake_days: i64,
    pub screening: i64,
    pub care_manager: i64,
    pub care_plan: i64,
    pub appointments: i64,
    pub youth_case_management: i64,
    pub warm_handoff: i64,
    /// 30-day supply and DME ordered; they must be in hand / delivered on `release_day`.
    pub medications_ordered: i64,
    pub dme_ordered: i64,
    pub transport: i64,
    pub release_day: i64,
    /// A pending milestone this many days or fewer before its due date is "due soon".
    pub due_soon_days: i64,
    /// A late entry gets this many days after booking to catch up a milestone whose window had
    /// already passed (never later than the release date).
    pub late_entry_grace_days: i64,
    /// With an unknown release date, the unplanned-release minimum is due this many days after
    /// booking.
    pub unplanned_minimum_days: i64,
    /// Changes inside this many days of release (or moving the date earlier) need acknowledgement.
    pub change_window_days: i64,
    /// Band limits: 0..=near, near+1..=services_window, ..=screening_window, later.
    pub near_band_days: i64,
    pub services_window_days: i64,
    pub screening_window_days: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            intake_days: 7,
            screening: 135,
            care_manager: 90,
            care_plan: 30,
            appointments: 30,
            youth_case_management: 30,
            warm_handoff: 14,
            medications_ordered: 7,
            dme_ordered: 7,
            transport: 7,
            release_day: 0,
            due_soon_days: 7,
            late_entry_grace_days: 7,
            unplanned_minimum_days: 7,
            change_window_days: 14,
            near_band_days: 14,
            services_window_days: 90,
            screening_window_days: 135,
        }
    }
}

/// A rule that does not make sense, with the key that holds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules.{key}: {problem}")]
pub struct RuleError {
    pub key: &'static str,
    pub problem: String,
}

impl Rules {
    /// Offsets must be whole days within a year; windows must nest.
    pub fn validate(&self) -> Result<(), RuleError> {
        let fields: [(&'static str, i64); 18] = [
            ("intake_days", self.intake_days),
            ("screening", self.screening),
            ("care_manager", self.care_manager),
            ("care_plan", self.care_plan),
            ("appointments", self.appointments),
            ("youth_case_management", self.youth_case_management),
            ("warm_handoff", self.warm_handoff),
            ("medications_ordered", self.medications_ordered),
            ("dme_ordered", self.dme_ordered),
            ("transport", self.transport),
            ("release_day", self.release_day),
            ("due_soon_days", self.due_soon_days),
            ("late_entry_grace_days", self.late_entry_grace_days),
            ("unplanned_minimum_days", self.unplanned_minimum_days),
            ("change_window_days", self.change_window_days),
            ("near_band_days", self.near_band_days),
            ("services_window_days", self.services_window_days),
            ("screening_window_days", self.screening_window_days),
        ];
        for (key, value) in fields {
            if !(0..=365).contains(&value) {
                return Err(RuleError {
                    key,
                    problem: format!("{value} is not a number of days from 0 to 365"),
                });
            }
        }
        if self.medications_ordered < self.release_day {
            return Err(RuleError {
                key: "medications_ordered",
                problem: "must be at or before release_day".into(),
            });
        }
        if self.dme_ordered < self.release_day {
            return Err(RuleError {
                key: "dme_ordered",
                problem: "must be at or before release_day".into(),
            });
        }
        if !(self.near_band_days < self.services_window_days
            && self.services_window_days < self.screening_window_days)
        {
            return Err(RuleError {
                key: "services_window_days",
                problem:
                    "bands must grow: near_band_days < services_window_days < screening_window_days"
                        .into(),
            });
        }
        Ok(())
    }

    /// Days before release at which the milestone (or its first stage) is due; `None` for the
    /// intake milestones, which count from the booking.
    pub fn offset(&self, code: MilestoneCode) -> Option<i64> {
        use MilestoneCode as M;
        Some(match code {
            M::MediCalChecked => return None,
            // Consents are due at intake, and again at T-135 at the latest; intake governs.
            M::Consent => return None,
            M::Screening => self.screening,
            M::CareManager => self.care_manager,
            M::CarePlan => self.care_plan,
            M::Appointments => self.appointments,
            M::YouthCaseManagement => self.youth_case_management,
            M::WarmHandoff => self.warm_handoff,
            M::Medications => self.medications_ordered,
            M::Dme => self.dme_ordered,
            M::Transport => self.transport,
            M::MediCalOnRelease | M::Naloxone | M::Notifications | M::BehavioralHealthLink => {
                self.release_day
            }
        })
    }
}

code_enum! {
    pub enum MilestoneState {
        Done => "done",
        NotNeeded => "not needed",
        Pending => "pending",
        DueSoon => "due soon",
        Overdue => "overdue",
        Blocked => "blocked",
    }
}

impl MilestoneState {
    /// The strip glyph. Each state has its own shape so colour only adds to it.
    pub fn glyph(self, ascii: bool) -> char {
        match (self, ascii) {
            (Self::Done, false) => '✓',
            (Self::NotNeeded, false) => '·',
            (Self::Pending, false) => '○',
            (Self::DueSoon, false) => '◔',
            (Self::Overdue, false) => '✗',
            (Self::Blocked, false) => '⊘',
            (Self::Done, true) => '+',
            (Self::NotNeeded, true) => '-',
            (Self::Pending, true) => '.',
            (Self::DueSoon, true) => '~',
            (Self::Overdue, true) => '!',
            (Self::Blocked, true) => '#',
        }
    }

    /// Settled: nothing more to do.
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Done | Self::NotNeeded)
    }
}

/// One milestone of one person on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilestoneStatus {
    pub code: MilestoneCode,
    /// When the next step is due; `None` while it cannot be counted (unknown date) or is settled
    /// without a date.
    pub due: Option<NaiveDate>,
    pub state: MilestoneState,
    /// The window had already passed when the person was booked; `due` is the catch-up date.
    pub late_entry: bool,
    pub blocked_by: Option<BarrierReason>,
    /// Who settled it and when, where the record knows.
    pub done_by: Option<String>,
    pub done_on: Option<NaiveDate>,
}

code_enum! {
    /// The board's bands, in the order the meeting walks them.
    pub enum Band {
        Overdue => "overdue work",
        Near => "releasing in 0-14 days",
        ServicesWindow => "15-90 days",
        ScreeningWindow => "91-135 days",
        Unknown => "unknown date (pretrial)",
        Later => "later than 135 days",
    }
}

/// A person's readiness on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    pub milestones: Vec<MilestoneStatus>,
    /// Negative when the expected date has passed and the person is still in custody.
    pub days_to_release: Option<i64>,
    pub late_entry: bool,
    pub band: Band,
}

impl Readiness {
    pub fn get(&self, code: MilestoneCode) -> Option<&MilestoneStatus> {
        self.milestones.iter().find(|m| m.code == code)
    }

    pub fn count(&self, state: MilestoneState) -> usize {
        self.milestones.iter().filter(|m| m.state == state).count()
    }

    /// Overdue or blocked work, or due-soon work inside the near band: the meeting's "at risk".
    pub fn at_risk(&self) -> bool {
        self.count(MilestoneState::Overdue) > 0
            || self.count(MilestoneState::Blocked) > 0
            || (self.band == Band::Near && self.count(MilestoneState::DueSoon) > 0)
    }
}

/// How far a milestone has got, from the record alone (no dates involved).
enum Progress {
    Done {
        by: Option<String>,
        on: Option<NaiveDate>,
    },
    NotNeeded,
    /// Two-stage milestones (medications, DME): the first stage (ordered) is done.
    FirstStageDone,
    NotDone,
}

fn progress(code: MilestoneCode, r: &PersonRecord, today: NaiveDate, date_known: bool) -> Progress {
    use MilestoneCode as M;
    use Progress::{Done, FirstStageDone, NotDone, NotNeeded};
    let done = |yes: bool| {
        if yes {
            Done { by: None, on: None }
        } else {
            NotDone
        }
    };
    if let Some(mark) = r.mark(code) {
        return match mark.kind {
            MarkKind::Done => Done {
                by: Some(mark.by.clone()),
                on: Some(mark.on),
            },
            MarkKind::NotNeeded => NotNeeded,
        };
    }
    let youth = r.person.youth;
    // Pre-release services only apply to people screened eligible.
    let screened_out = matches!(
        r.screening.result,
        ScreeningResult::NotEligible | ScreeningResult::Declined
    ) && !youth;
    match code {
        M::MediCalChecked => done(r.medi_cal.status.is_known()),
        M::Consent => done(r.consent.valid_on(today, youth)),
        M::Screening => done(r.screening.result.is_complete()),
        M::CareManager | M::CarePlan | M::Appointments | M::WarmHandoff if screened_out => {
            NotNeeded
        }
        M::CareManager => done(r.care_team.pre_release_cm.is_some()),
        M::CarePlan => done(r.care_plan.is_complete()),
        M::Appointments => done(r.appointments.iter().any(|a| {
            matches!(
                a.status,
                super::AppointmentStatus::Booked | super::AppointmentStatus::Kept
            )
        })),
        M::YouthCaseManagement if !youth => NotNeeded,
        M::YouthCaseManagement => NotDone,
        M::WarmHandoff => match r.warm_handoff.status {
            WarmHandoffStatus::NotRequired => NotNeeded,
            _ if r.care_team.same_manager_pre_and_post() => NotNeeded,
            WarmHandoffStatus::Completed | WarmHandoffStatus::CompletedWithoutClient => done(true),
            _ => NotDone,
        },
        M::Medications => {
            let needed: Vec<_> = r
                .medications
                .iter()
                .filter(|m| m.supply != super::SupplyStatus::NotNeeded)
                .collect();
            if needed.is_empty() {
                NotNeeded
            } else if !date_known && needed.iter().all(|m| m.supply.is_ready()) {
                // Unplanned-release minimum: ready, or a bridge prescription sent.
                latest_confirmation(needed.iter().map(|m| m.confirmed.as_ref()))
            } else if needed.iter().all(|m| m.supply.is_final()) {
                latest_confirmation(needed.iter().map(|m| m.confirmed.as_ref()))
            } else if needed.iter().all(|m| m.supply.is_ordered()) {
                FirstStageDone
            } else {
                NotDone
            }
        }
        M::Dme => {
            let needed: Vec<_> = r
                .dme
                .iter()
                .filter(|d| d.status != super::DmeStatus::NotNeeded)
                .collect();
            if needed.is_empty() {
                NotNeeded
            } else if needed.iter().all(|d| d.status.is_final()) {
                latest_confirmation(needed.iter().map(|d| d.confirmed.as_ref()))
            } else if needed.iter().all(|d| d.status.is_ordered()) {
                FirstStageDone
            } else {
                NotDone
            }
        }
        M::Transport => match r.transport.status {
            TransportStatus::Arranged => done(true),
            TransportStatus::NotNeeded => NotNeeded,
            TransportStatus::NotArranged => NotDone,
        },
        M::MediCalOnRelease => done(r.medi_cal.status.ready_for_release()),
        M::Naloxone => done(r.naloxone.is_some()),
        M::Notifications => {
            let sent = |who: Recipient| {
                r.notifications
                    .iter()
                    .any(|n| n.recipient == who && n.status.is_sent())
            };
            let ecm_needed = r.care_team.post_release_ecm.is_some();
            done(
                sent(Recipient::SocialServices)
                    && sent(Recipient::Mcp)
                    && (!ecm_needed || sent(Recipient::Ecm)),
            )
        }
        M::BehavioralHealthLink => {
            let needs = &r.screening.needs;
            if !needs.contains(&HealthNeed::MentalIllness)
                && !needs.contains(&HealthNeed::SubstanceUseDisorder)
            {
                NotNeeded
            } else {
                done(r.referrals.iter().any(|f| f.status.is_sent()))
            }
        }
    }
}

fn latest_confirmation<'a>(
    confirmations: impl Iterator<Item = Option<&'a super::Confirmation>>,
) -> Progress {
    let latest = confirmations.flatten().max_by_key(|c| c.at);
    Progress::Done {
        by: latest.map(|c| c.by.clone()),
        on: latest.map(|c| c.at.with_timezone(&chrono::Local).date_naive()),
    }
}

/// Every milestone's due date and state for `record` on `today`.
pub fn readiness(record: &PersonRecord, today: NaiveDate, rules: &Rules) -> Readiness {
    let release = record.release.date;
    let days_to_release = release.map(|d| (d - today).num_days());
    let milestones: Vec<MilestoneStatus> = MilestoneCode::all()
        .map(|code| milestone(code, record, today, rules))
        .collect();
    let late_entry = milestones.iter().any(|m| m.late_entry);
    let any_overdue = milestones
        .iter()
        .any(|m| m.state == MilestoneState::Overdue);
    let band = band(days_to_release, any_overdue, rules);
    Readiness {
        milestones,
        days_to_release,
        late_entry,
        band,
    }
}

/// The band for a day: overdue work (or a release date already passed) first, then by the days
/// left to release.
pub fn band(days_to_release: Option<i64>, any_overdue: bool, rules: &Rules) -> Band {
    match days_to_release {
        _ if any_overdue => Band::Overdue,
        Some(d) if d < 0 => Band::Overdue,
        None => Band::Unknown,
        Some(d) if d <= rules.near_band_days => Band::Near,
        Some(d) if d <= rules.services_window_days => Band::ServicesWindow,
        Some(d) if d <= rules.screening_window_days => Band::ScreeningWindow,
        Some(_) => Band::Later,
    }
}

/// One milestone's due date and state for `record` on `today`.
pub fn milestone(
    code: MilestoneCode,
    record: &PersonRecord,
    today: NaiveDate,
    rules: &Rules,
) -> MilestoneStatus {
    let release = record.release.date;
    let booked = record.person.booked_on;
    let mut status = MilestoneStatus {
        code,
        due: None,
        state: MilestoneState::Pending,
        late_entry: false,
        blocked_by: None,
        done_by: None,
        done_on: None,
    };
    let stage = match progress(code, record, today, release.is_some()) {
        Progress::Done { by, on } => {
            status.state = MilestoneState::Done;
            status.done_by = by;
            status.done_on = on;
            return status;
        }
        Progress::NotNeeded => {
            status.state = MilestoneState::NotNeeded;
            return status;
        }
        Progress::FirstStageDone => 1,
        Progress::NotDone => 0,
    };

    // The nominal due date of the step the milestone is at.
    let nominal = match (rules.offset(code), release) {
        (None, _) => Some(booked + days(rules.intake_days)),
        (Some(_), None) if code.in_unplanned_minimum() => {
            Some(booked + days(rules.unplanned_minimum_days))
        }
        // Cannot be counted back from an unknown date: pending without a due date.
        (Some(_), None) => None,
        (Some(offset), Some(date)) => {
            let offset = if stage == 1 {
                rules.release_day
            } else {
                offset
            };
            Some(date - days(offset))
        }
    };
    let Some(nominal) = nominal else {
        status.blocked_by = record.open_barrier(code).map(|b| b.reason);
        if status.blocked_by.is_some() {
            status.state = MilestoneState::Blocked;
        }
        return status;
    };

    // Late entry: the window had closed before the person arrived. Give a catch-up date instead
    // of painting the milestone overdue from day one — but never later than the release itself.
    let mut due = nominal;
    if nominal < booked {
        status.late_entry = true;
        due = booked + days(rules.late_entry_grace_days);
        if let Some(date) = release {
            due = due.min(date.max(booked));
        }
    }
    status.due = Some(due);

    status.state = if let Some(barrier) = record.open_barrier(code) {
        status.blocked_by = Some(barrier.reason);
        MilestoneState::Blocked
    } else if today > due {
        MilestoneState::Overdue
    } else if (due - today).num_days() <= rules.due_soon_days {
        MilestoneState::DueSoon
    } else {
        MilestoneState::Pending
    };
    status
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}
