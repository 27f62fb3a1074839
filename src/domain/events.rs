//! The events a change produces for the central API (see docs/API.md).

use serde::{Deserialize, Serialize};

use super::code_enum;

code_enum! {
    pub enum EventType {
        PersonBooked => "person booked",
        ReleaseDateChanged => "release date changed",
        ReleaseDateFlagged => "release date flagged",
        MedicationStatusChanged => "medication status changed",
        DmeStatusChanged => "DME status changed",
        CareTeamAssigned => "care team assigned",
        MilestoneChanged => "milestone changed",
        MediCalStatusChanged => "Medi-Cal status changed",
        PersonReleased => "person released",
        PersonTransferred => "person transferred",
    }
}

/// Labels on an event whose data needs special handling (42 CFR Part 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    Part2,
}
