//! Person and booking.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::code_enum;

code_enum! {
    /// What kind of institution holds the person; youth facilities change eligibility and consent.
    pub enum FacilityKind {
        AdultJail => "adult jail",
        YouthFacility => "youth facility",
        StatePrison => "state prison",
    }
}

code_enum! {
    pub enum CustodyStatus {
        InCustody => "in custody",
        Released => "released",
        Transferred => "transferred",
        /// In the database but no longer in the jail's roster feed: someone must confirm why.
        LeftRoster => "left the roster",
    }
}

code_enum! {
    /// How names are shortened on the board (county setting).
    pub enum NameFormat {
        /// `GARCIA, M.` — the minimum-necessary form for shared screens.
        LastInitial => "GARCIA, M.",
        /// `Garcia, Maria`
        LastFirst => "Garcia, Maria",
        /// `Maria Garcia`
        FirstLast => "Maria Garcia",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facility {
    pub id: String,
    pub name: String,
    pub kind: FacilityKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    pub last: String,
    pub first: String,
}

impl PersonName {
    pub fn new(last: impl Into<String>, first: impl Into<String>) -> Self {
        Self {
            last: last.into(),
            first: first.into(),
        }
    }

    /// The name in the given form. Upper-casing is Unicode-aware so `Núñez` becomes `NÚÑEZ`.
    pub fn formatted(&self, format: NameFormat) -> String {
        match format {
            NameFormat::LastInitial => match self.first.chars().next() {
                Some(initial) => {
                    format!("{}, {}.", self.last.to_uppercase(), initial.to_uppercase())
                }
                None => self.last.to_uppercase(),
            },
            NameFormat::LastFirst if self.first.is_empty() => self.last.clone(),
            NameFormat::LastFirst => format!("{}, {}", self.last, self.first),
            NameFormat::FirstLast => format!("{} {}", self.first, self.last).trim().to_string(),
        }
    }
}

/// A person and their current booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Opaque id made by the board; the only id that travels in URLs.
    pub id: String,
    pub booking_id: String,
    pub name: PersonName,
    pub date_of_birth: Option<NaiveDate>,
    /// Shared with everyone held there: one copy per load, not one per person.
    pub facility: Arc<Facility>,
    pub unit: String,
    /// Held in a youth facility or under juvenile jurisdiction: everyone qualifies for pre-release
    /// services, and a parent or guardian signs the consent.
    pub youth: bool,
    pub booked_on: NaiveDate,
    pub custody: CustodyStatus,
    pub released_on: Option<NaiveDate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms() {
        let n = PersonName::new("Núñez-O'Brien", "élodie");
        assert_eq!(n.formatted(NameFormat::LastInitial), "NÚÑEZ-O'BRIEN, É.");
        assert_eq!(n.formatted(NameFormat::LastFirst), "Núñez-O'Brien, élodie");
        assert_eq!(n.formatted(NameFormat::FirstLast), "élodie Núñez-O'Brien");
        let cjk = PersonName::new("王", "小明");
        assert_eq!(cjk.formatted(NameFormat::LastInitial), "王, 小.");
        let mononym = PersonName::new("Cher", "");
        assert_eq!(mononym.formatted(NameFormat::LastInitial), "CHER");
    }
}
