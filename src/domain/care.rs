//! Care plan and warm handoff.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::code_enum;

code_enum! {
    pub enum CarePlanStatus {
        NotStarted => "not started",
        Draft => "draft",
        Complete => "complete",
        SharedWithMcp => "shared with MCP",
    }
}

impl CarePlanStatus {
    pub fn is_complete(self) -> bool {
        matches!(self, Self::Complete | Self::SharedWithMcp)
    }
}

code_enum! {
    pub enum WarmHandoffStatus {
        /// The same care manager before and after release.
        NotRequired => "not required",
        Due => "due",
        Scheduled => "scheduled",
        Completed => "completed",
        CompletedWithoutClient => "completed without client",
        Missed => "missed",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmHandoff {
    pub status: WarmHandoffStatus,
    pub scheduled_on: Option<NaiveDate>,
}

impl Default for WarmHandoff {
    fn default() -> Self {
        Self {
            status: WarmHandoffStatus::Due,
            scheduled_on: None,
        }
    }
}
