//! Barriers: why a milestone is late. The meeting discusses them and reports count them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{code_enum, timeline::MilestoneCode};

code_enum! {
    pub enum BarrierReason {
        NoHousing => "no bed / housing",
        AwaitingCourt => "awaiting court",
        ClientDeclined => "client declined",
        ProviderUnavailable => "provider unavailable",
        PharmacyDelay => "pharmacy delay",
        NoMcpAssigned => "no MCP assigned",
        Other => "other",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Barrier {
    pub id: i64,
    pub milestone: MilestoneCode,
    pub reason: BarrierReason,
    pub text: String,
    pub opened_on: NaiveDate,
    pub resolved_on: Option<NaiveDate>,
}

impl Barrier {
    pub fn is_open(&self) -> bool {
        self.resolved_on.is_none()
    }
}
