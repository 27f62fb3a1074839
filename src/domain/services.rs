//! Appointments, transport, referrals and notifications.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::code_enum;

code_enum! {
    pub enum AppointmentStatus {
        Planned => "planned",
        Booked => "booked",
        Kept => "kept",
        Missed => "missed",
        Cancelled => "cancelled",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    pub id: i64,
    pub what: String,
    pub on: Option<NaiveDate>,
    pub status: AppointmentStatus,
}

code_enum! {
    pub enum TransportStatus {
        NotArranged => "not arranged",
        Arranged => "arranged",
        NotNeeded => "not needed",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transport {
    pub status: TransportStatus,
    pub note: String,
}

impl Default for Transport {
    fn default() -> Self {
        Self {
            status: TransportStatus::NotArranged,
            note: String::new(),
        }
    }
}

code_enum! {
    pub enum NotificationStatus {
        Pending => "pending",
        Sent => "sent",
        Acknowledged => "acknowledged",
        Failed => "failed",
    }
}

impl NotificationStatus {
    pub fn is_sent(self) -> bool {
        matches!(self, Self::Sent | Self::Acknowledged)
    }
}

code_enum! {
    pub enum ReferralTarget {
        CountyMentalHealth => "county mental health",
        DrugMediCal => "Drug Medi-Cal",
        Other => "other",
    }
}

/// A behavioral-health link referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub id: i64,
    pub target: ReferralTarget,
    pub status: NotificationStatus,
}

code_enum! {
    pub enum Recipient {
        SocialServices => "county social services",
        Mcp => "managed care plan",
        Ecm => "ECM provider",
        Probation => "probation",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub recipient: Recipient,
    pub status: NotificationStatus,
}
