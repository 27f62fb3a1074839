//! The multi-agency release of information, and 42 CFR Part 2 consent for SUD records.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::code_enum;

code_enum! {
    pub enum ConsentScope {
        /// Health care, care management, the MCP and county social services.
        MultiAgency => "multi-agency",
        /// Health care only; probation and courts get nothing.
        HealthCareOnly => "health care only",
        /// Multi-agency, including probation (needed for probation to see Part 2 items).
        IncludingProbation => "including probation",
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub scope: Option<ConsentScope>,
    pub signed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    /// Signed by a parent or guardian (required for youth).
    pub signed_by_guardian: bool,
    /// The patient's written consent to disclose substance-use treatment records (Part 2).
    pub part2: bool,
}

impl Consent {
    /// Signed and not expired on `today`; for youth, signed by a parent or guardian.
    pub fn valid_on(&self, today: NaiveDate, youth: bool) -> bool {
        let signed = self.signed_on.is_some_and(|d| d <= today);
        let current = self.expires_on.is_none_or(|d| d >= today);
        signed && current && (!youth || self.signed_by_guardian)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        let today: NaiveDate = "2026-05-10".parse().unwrap_or_default();
        let mut c = Consent {
            signed_on: Some(today),
            ..Consent::default()
        };
        assert!(c.valid_on(today, false));
        assert!(
            !c.valid_on(today, true),
            "youth need a guardian's signature"
        );
        c.signed_by_guardian = true;
        assert!(c.valid_on(today, true));
        c.expires_on = today.pred_opt();
        assert!(!c.valid_on(today, false), "expired yesterday");
        c.expires_on = Some(today);
        assert!(c.valid_on(today, false), "expires at the end of today");
        assert!(!Consent::default().valid_on(today, false));
    }
}
