//! 42 CFR Part 2: which items are substance-use treatment records, the security labels they
//! carry, and whether the person's consent lets them go to a recipient at all.

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::domain::{ConsentScope, PersonRecord, ReferralTarget};

/// Who receives the resources. The consent's scope names organisations, so what may go out
/// depends on who receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recipient {
    /// A Medi-Cal managed care plan (or the state's exchange on its behalf).
    #[default]
    HealthPlan,
    /// A treating provider: the ECM provider, a clinic, county behavioral health.
    CareProvider,
}

impl Recipient {
    pub fn label(self) -> &'static str {
        match self {
            Self::HealthPlan => "health-plan",
            Self::CareProvider => "care-provider",
        }
    }
}

const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

/// The labels of a Part 2 record (HL7 Healthcare Privacy and Security Classification System):
/// the policy (42CFRPart2), the sensitivity (ETH: substance abuse information), the
/// confidentiality (R: restricted) and the obligation on the receiver (NORDSCLCDS: no
/// redisclosure without consent), so a receiver's access control can act on them.
pub fn part2_labels() -> Value {
    json!([
        {"system": ACT_CODE, "code": "42CFRPart2", "display": "42 CFR Part2"},
        {"system": ACT_CODE, "code": "ETH", "display": "substance abuse information sensitivity"},
        {"system": CONFIDENTIALITY, "code": "R", "display": "restricted"},
        {"system": ACT_CODE, "code": "NORDSCLCDS", "display": "prohibition on redisclosure without patient consent directive"},
    ])
}

/// A referral to Drug Medi-Cal is a referral for substance-use treatment: Part 2 like MAT.
pub fn referral_is_part2(target: ReferralTarget) -> bool {
    target == ReferralTarget::DrugMediCal
}

/// Part 2 items may go to `to` only with the patient's written Part 2 consent, a release of
/// information valid on `today` (a guardian's signature for youth), and a scope naming the
/// recipient: a plan is named by the multi-agency scopes, a treating provider by any.
pub fn part2_allowed(record: &PersonRecord, to: Recipient, today: NaiveDate) -> bool {
    let consent = &record.consent;
    if !consent.part2 || !consent.valid_on(today, record.person.youth) {
        return false;
    }
    match (to, consent.scope) {
        (_, None) => false,
        (Recipient::CareProvider, Some(_)) => true,
        (Recipient::HealthPlan, Some(scope)) => matches!(
            scope,
            ConsentScope::MultiAgency | ConsentScope::IncludingProbation
        ),
    }
}
