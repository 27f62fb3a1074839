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

/// How a status change relates to the path an item walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The next step, or settling an open item another way (Rx sent, refused, not needed).
    Forward,
    /// Back one step, or reopening a settled item: allowed only with a reason, since it undoes
    /// what someone confirmed.
    Back,
}

/// Why a status change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("it is already \"{0}\"")]
    Same(&'static str),
    #[error("\"{from}\" cannot go to \"{to}\" without \"{missing}\" first")]
    Skips {
        from: &'static str,
        to: &'static str,
        missing: &'static str,
    },
}

/// The main path of a two-stage item and the side exits that settle it early.
pub(crate) fn step_on_path<T: Copy + PartialEq>(
    path: &[T],
    exits: &[T],
    from: T,
    to: T,
    label: impl Fn(T) -> &'static str,
) -> Result<Step, StepError> {
    if from == to {
        return Err(StepError::Same(label(from)));
    }
    let pos = |s: T| path.iter().position(|p| *p == s);
    match (pos(from), pos(to)) {
        (Some(f), Some(t)) if t == f + 1 => Ok(Step::Forward),
        (Some(f), Some(t)) if t + 1 == f => Ok(Step::Back),
        (Some(f), Some(t)) if t > f => Err(StepError::Skips {
            from: label(from),
            to: label(to),
            missing: path.get(f + 1).map_or("", |m| label(*m)),
        }),
        // Back more than one step: undo one at a time, so each undo is seen and explained.
        (Some(f), Some(_)) => Err(StepError::Skips {
            from: label(from),
            to: label(to),
            missing: path.get(f.saturating_sub(1)).map_or("", |m| label(*m)),
        }),
        // Settling another way is possible until the item is in hand.
        (Some(f), None) if f + 1 < path.len() && exits.contains(&to) => Ok(Step::Forward),
        (Some(_), None) => Err(StepError::Skips {
            from: label(from),
            to: label(to),
            missing: path.first().map_or("", |m| label(*m)),
        }),
        // A side exit reopens to the start of the path (or switches exit) with a reason.
        (None, _) => {
            if pos(to) == Some(0) || exits.contains(&to) {
                Ok(Step::Back)
            } else {
                Err(StepError::Skips {
                    from: label(from),
                    to: label(to),
                    missing: path.first().map_or("", |m| label(*m)),
                })
            }
        }
    }
}

impl SupplyStatus {
    /// to order → ordered → ready → given in hand; Rx sent, refused or not needed from any
    /// step before "given in hand"; one step back (or reopening a settled item) needs a reason.
    pub fn step_to(self, to: Self) -> Result<Step, StepError> {
        use SupplyStatus as S;
        step_on_path(
            &[S::ToOrder, S::Ordered, S::Ready, S::GivenInHand],
            &[S::RxSentToPharmacy, S::Refused, S::NotNeeded],
            self,
            to,
            Self::label,
        )
    }
}

impl DmeStatus {
    /// identified → ordered → ready → delivered; not needed from any step before delivery; one
    /// step back (or reopening) needs a reason.
    pub fn step_to(self, to: Self) -> Result<Step, StepError> {
        use DmeStatus as D;
        step_on_path(
            &[D::Identified, D::Ordered, D::Ready, D::Delivered],
            &[D::NotNeeded],
            self,
            to,
            Self::label,
        )
    }
}

#[cfg(test)]
mod step_tests {
    use super::*;

    #[test]
    fn supply_transitions_table() {
        use Step::{Back, Forward};
        use SupplyStatus as S;
        let ok: &[(S, S, Step)] = &[
            (S::ToOrder, S::Ordered, Forward),
            (S::Ordered, S::Ready, Forward),
            (S::Ready, S::GivenInHand, Forward),
            (S::ToOrder, S::RxSentToPharmacy, Forward),
            (S::Ordered, S::Refused, Forward),
            (S::Ready, S::NotNeeded, Forward),
            (S::Ordered, S::ToOrder, Back),
            (S::Ready, S::Ordered, Back),
            (S::GivenInHand, S::Ready, Back),
            (S::Refused, S::ToOrder, Back),
            (S::NotNeeded, S::RxSentToPharmacy, Back),
        ];
        for (from, to, step) in ok {
            assert_eq!(from.step_to(*to), Ok(*step), "{from} -> {to}");
        }
        let refused: &[(S, S, &str)] = &[
            (S::ToOrder, S::Ready, "ordered"),
            (S::ToOrder, S::GivenInHand, "ordered"),
            (S::Ordered, S::GivenInHand, "ready"),
            (S::GivenInHand, S::Ordered, "ready"),
            (S::GivenInHand, S::Refused, "to order"),
            (S::Refused, S::Ready, "to order"),
        ];
        for (from, to, missing) in refused {
            let got = from.step_to(*to);
            assert!(
                matches!(got, Err(StepError::Skips { missing: m, .. }) if m == *missing),
                "{from} -> {to}: {got:?}"
            );
        }
        assert_eq!(
            S::Ready.step_to(S::Ready),
            Err(StepError::Same("ready")),
            "a no-op is refused"
        );
        // Every pair is decided, none panics, and the main path is walkable end to end.
        for from in S::all() {
            for to in S::all() {
                let _ = from.step_to(to);
            }
        }
    }

    #[test]
    fn dme_transitions_table() {
        use DmeStatus as D;
        use Step::{Back, Forward};
        assert_eq!(D::Identified.step_to(D::Ordered), Ok(Forward));
        assert_eq!(D::Ordered.step_to(D::Ready), Ok(Forward));
        assert_eq!(D::Ready.step_to(D::Delivered), Ok(Forward));
        assert_eq!(D::Identified.step_to(D::NotNeeded), Ok(Forward));
        assert_eq!(D::Delivered.step_to(D::Ready), Ok(Back));
        assert_eq!(D::NotNeeded.step_to(D::Identified), Ok(Back));
        assert!(matches!(
            D::Identified.step_to(D::Delivered),
            Err(StepError::Skips {
                missing: "ordered",
                ..
            })
        ));
        assert!(D::Delivered.step_to(D::NotNeeded).is_err());
        assert!(D::NotNeeded.step_to(D::Ready).is_err());
    }
}
