//! Medications with their 30-day supply, naloxone, and durable medical equipment.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::code_enum;

code_enum! {
    pub enum MedClass {
        /// Medication for opioid use disorder (buprenorphine, methadone, naltrexone). Part 2.
        MatOud => "MAT (opioid use disorder)",
        /// Medication for alcohol use disorder. Part 2.
        MatAud => "MAT (alcohol use disorder)",
        Psychotropic => "psychotropic",
        Chronic => "chronic condition",
        Other => "other",
    }
}

impl MedClass {
    /// Substance-use treatment: protected by 42 CFR Part 2.
    pub fn is_part2(self) -> bool {
        matches!(self, Self::MatOud | Self::MatAud)
    }
}

code_enum! {
    /// The 30-day supply, from nothing to in the person's hand.
    pub enum SupplyStatus {
        ToOrder => "to order",
        Ordered => "ordered",
        Ready => "ready",
        GivenInHand => "given in hand",
        RxSentToPharmacy => "Rx sent to community pharmacy",
        Refused => "refused",
        NotNeeded => "not needed",
    }
}

impl SupplyStatus {
    /// Nothing more to do before release.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::GivenInHand | Self::RxSentToPharmacy | Self::Refused | Self::NotNeeded
        )
    }
    /// At least ordered (the T-7 step).
    pub fn is_ordered(self) -> bool {
        self != Self::ToOrder
    }
    /// Ready to go out of the door, or settled another way (the unplanned-release minimum).
    pub fn is_ready(self) -> bool {
        self == Self::Ready || self.is_final()
    }
}

code_enum! {
    pub enum NaloxoneStatus {
        Offered => "offered",
        Given => "given",
        Declined => "declined",
        NotApplicable => "n/a",
    }
}

code_enum! {
    pub enum DmeStatus {
        Identified => "identified",
        Ordered => "ordered",
        Ready => "ready",
        Delivered => "delivered",
        NotNeeded => "not needed",
    }
}

impl DmeStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::NotNeeded)
    }
    pub fn is_ordered(self) -> bool {
        self != Self::Identified
    }
}

/// Who confirmed a status, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Medication {
    pub id: i64,
    pub name: String,
    pub class: MedClass,
    pub long_acting_injectable: bool,
    pub next_dose: Option<NaiveDate>,
    pub supply: SupplyStatus,
    pub confirmed: Option<Confirmation>,
    pub version: i64,
}

impl Medication {
    pub fn is_part2(&self) -> bool {
        self.class.is_part2()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmeItem {
    pub id: i64,
    pub item: String,
    pub status: DmeStatus,
    pub confirmed: Option<Confirmation>,
    pub version: i64,
}
