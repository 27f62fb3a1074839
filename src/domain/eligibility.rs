//! Medi-Cal status and the access screening for pre-release services.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::code_enum;

code_enum! {
    pub enum MediCalStatus {
        Unknown => "unknown",
        NotEnrolled => "not enrolled",
        ApplicationNeeded => "application needed",
        ApplicationSubmitted => "application submitted",
        Active => "active",
        Suspended => "suspended",
        UnsuspendRequested => "unsuspension requested",
        ActiveOnRelease => "active on release",
        Denied => "denied",
        OtherCoverage => "other coverage",
    }
}

impl MediCalStatus {
    /// Someone has looked: the intake check is done.
    pub fn is_known(self) -> bool {
        self != Self::Unknown
    }

    /// Coverage will work on release day (or the person has other coverage).
    pub fn ready_for_release(self) -> bool {
        matches!(
            self,
            Self::Active | Self::UnsuspendRequested | Self::ActiveOnRelease | Self::OtherCoverage
        )
    }

    /// Medi-Cal/CHIP eligibility as the screening needs it (pending applications count).
    pub fn is_medi_cal_eligible(self) -> bool {
        matches!(
            self,
            Self::Active
                | Self::Suspended
                | Self::UnsuspendRequested
                | Self::ActiveOnRelease
                | Self::ApplicationSubmitted
        )
    }
}

code_enum! {
    /// The seven health needs of which one qualifies an adult for pre-release services.
    pub enum HealthNeed {
        MentalIllness => "mental illness",
        SubstanceUseDisorder => "substance use disorder",
        ChronicCondition => "chronic or significant clinical condition",
        IntellectualDevelopmentalDisability => "intellectual or developmental disability",
        TraumaticBrainInjury => "traumatic brain injury",
        HivAids => "HIV/AIDS",
        PregnantPostpartum => "pregnant or postpartum",
    }
}

code_enum! {
    pub enum ScreeningResult {
        NotScreened => "not screened",
        InProgress => "in progress",
        Eligible => "eligible",
        NotEligible => "not eligible",
        Declined => "declined",
    }
}

impl ScreeningResult {
    pub fn is_complete(self) -> bool {
        matches!(self, Self::Eligible | Self::NotEligible | Self::Declined)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediCal {
    pub status: MediCalStatus,
    pub mcp_name: Option<String>,
    pub former_foster_youth: bool,
}

impl Default for MediCal {
    fn default() -> Self {
        Self {
            status: MediCalStatus::Unknown,
            mcp_name: None,
            former_foster_youth: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screening {
    pub result: ScreeningResult,
    pub needs: BTreeSet<HealthNeed>,
}

impl Default for Screening {
    fn default() -> Self {
        Self {
            result: ScreeningResult::NotScreened,
            needs: BTreeSet::new(),
        }
    }
}

/// The result the screening rules give: Medi-Cal/CHIP eligibility **and** one of the seven health
/// needs; in a youth facility, eligibility alone. `None` while Medi-Cal status is unknown.
pub fn screening_outcome(
    status: MediCalStatus,
    needs: &BTreeSet<HealthNeed>,
    youth: bool,
) -> Option<ScreeningResult> {
    if status == MediCalStatus::Unknown {
        return None;
    }
    let eligible = status.is_medi_cal_eligible() && (youth || !needs.is_empty());
    Some(if eligible {
        ScreeningResult::Eligible
    } else {
        ScreeningResult::NotEligible
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_criteria_and_the_youth_rule() {
        let none = BTreeSet::new();
        let sud: BTreeSet<_> = [HealthNeed::SubstanceUseDisorder].into();
        assert_eq!(HealthNeed::all().count(), 7);
        assert_eq!(screening_outcome(MediCalStatus::Unknown, &sud, false), None);
        assert_eq!(
            screening_outcome(MediCalStatus::Active, &none, false),
            Some(ScreeningResult::NotEligible)
        );
        assert_eq!(
            screening_outcome(MediCalStatus::Active, &sud, false),
            Some(ScreeningResult::Eligible)
        );
        // Youth qualify without a health need.
        assert_eq!(
            screening_outcome(MediCalStatus::Suspended, &none, true),
            Some(ScreeningResult::Eligible)
        );
        // But not without Medi-Cal eligibility.
        assert_eq!(
            screening_outcome(MediCalStatus::Denied, &none, true),
            Some(ScreeningResult::NotEligible)
        );
        for need in HealthNeed::all() {
            let one: BTreeSet<_> = [need].into();
            assert_eq!(
                screening_outcome(MediCalStatus::ApplicationSubmitted, &one, false),
                Some(ScreeningResult::Eligible),
                "{need}"
            );
        }
    }
}
