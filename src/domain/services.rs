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

impl NotificationStatus {
    /// pending → sent → acknowledged; a failed send may be sent again or reset to pending.
    /// Acknowledged needs sent first; one step back needs a reason.
    pub fn step_to(
        self,
        to: Self,
    ) -> Result<super::medication::Step, super::medication::StepError> {
        use NotificationStatus as N;
        if self == N::Failed && to == N::Sent {
            return Ok(super::medication::Step::Forward);
        }
        super::medication::step_on_path(
            &[N::Pending, N::Sent, N::Acknowledged],
            &[N::Failed],
            self,
            to,
            Self::label,
        )
    }
}

#[cfg(test)]
mod step_tests {
    use super::NotificationStatus as N;
    use crate::domain::medication::{Step, StepError};

    #[test]
    fn notification_transitions_table() {
        assert_eq!(N::Pending.step_to(N::Sent), Ok(Step::Forward));
        assert_eq!(N::Sent.step_to(N::Acknowledged), Ok(Step::Forward));
        assert_eq!(N::Pending.step_to(N::Failed), Ok(Step::Forward));
        assert_eq!(N::Sent.step_to(N::Failed), Ok(Step::Forward));
        assert_eq!(N::Failed.step_to(N::Sent), Ok(Step::Forward));
        assert_eq!(N::Failed.step_to(N::Pending), Ok(Step::Back));
        assert_eq!(N::Acknowledged.step_to(N::Sent), Ok(Step::Back));
        assert!(matches!(
            N::Pending.step_to(N::Acknowledged),
            Err(StepError::Skips {
                missing: "sent",
                ..
            })
        ));
        assert!(N::Acknowledged.step_to(N::Failed).is_err());
        assert_eq!(N::Sent.step_to(N::Sent), Err(StepError::Same("sent")));
    }
}
