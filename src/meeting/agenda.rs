//! The meeting's agenda, built from the board rows alone: anyone still held past their release
//! date, then releasing in the next 14 days, then open date flags, then overdue work in the 15-90
//! band, then unknown dates. No one twice.

use std::collections::HashSet;

use crate::domain::board::BoardRow;
use crate::domain::{FlagStatus, MilestoneState, Rules};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The release date has passed and the person is still on the board.
    PastRelease,
    ReleasingSoon,
    OpenDateFlag,
    OverdueWork,
    UnknownDate,
}

impl Why {
    pub fn label(self) -> &'static str {
        match self {
            Self::PastRelease => "past release date, still held",
            Self::ReleasingSoon => "releasing in 0-14 days",
            Self::OpenDateFlag => "open date flag",
            Self::OverdueWork => "overdue work, 15-90 days",
            Self::UnknownDate => "unknown release date",
        }
    }
}

type Test<'a> = &'a dyn Fn(&BoardRow) -> bool;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaItem {
    pub person_id: String,
    pub why: Why,
}

/// `rows` come in board order (soonest release first), which each section keeps. The day is
/// whatever the rows' readiness was computed for, so the agenda never reads a clock.
pub fn agenda(rows: &[BoardRow], rules: &Rules) -> Vec<AgendaItem> {
    let past = |r: &BoardRow| r.readiness.days_to_release.is_some_and(|d| d < 0);
    let soon = |r: &BoardRow| {
        r.readiness
            .days_to_release
            .is_some_and(|d| (0..=rules.near_band_days).contains(&d))
    };
    let flagged = |r: &BoardRow| {
        r.record
            .date_flags
            .iter()
            .any(|f| f.status == FlagStatus::Open)
    };
    let overdue = |r: &BoardRow| {
        r.readiness
            .days_to_release
            .is_some_and(|d| d > rules.near_band_days && d <= rules.services_window_days)
            && r.readiness
                .milestones
                .iter()
                .any(|m| m.state == MilestoneState::Overdue)
    };
    let unknown = |r: &BoardRow| r.record.release.date.is_none();
    let sections: [(Why, Test<'_>); 5] = [
        (Why::PastRelease, &past),
        (Why::ReleasingSoon, &soon),
        (Why::OpenDateFlag, &flagged),
        (Why::OverdueWork, &overdue),
        (Why::UnknownDate, &unknown),
    ];
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (why, test) in sections {
        for row in rows.iter().filter(|r| test(r)) {
            let id = &row.record.person.id;
            if seen.insert(id.clone()) {
                out.push(AgendaItem {
                    person_id: id.clone(),
                    why,
                });
            }
        }
    }
    out
}
