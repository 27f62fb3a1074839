//! The domain, pure: no I/O, no clock reads, no SQL. Everything here is testable with plain values.
//!
//! `today` is always a parameter; the caller gets it from an injected [`crate::clock::Clock`].

pub mod barrier;
pub mod board;
pub mod board_entry;
pub mod care;
pub mod care_team;
pub mod consent;
pub mod eligibility;
pub mod events;
pub mod filter;
pub mod medication;
pub mod person;
pub mod record;
pub mod release;
pub mod role;
pub mod services;
pub mod timeline;

pub use barrier::{Barrier, BarrierReason};
pub use board::BoardRow;
pub use care::{CarePlanStatus, WarmHandoff, WarmHandoffStatus};
pub use care_team::{CareTeam, Contact, ContactKind};
pub use consent::{Consent, ConsentScope};
pub use eligibility::{HealthNeed, MediCal, MediCalStatus, Screening, ScreeningResult};
pub use medication::{
    Confirmation, DmeItem, DmeStatus, MedClass, Medication, NaloxoneStatus, Step, StepError,
    SupplyStatus,
};
pub use person::{CustodyStatus, Facility, FacilityKind, NameFormat, Person, PersonName};
pub use record::{MarkKind, MilestoneMark, Note, PersonRecord, SeedData, StaffUser};
pub use release::{
    Certainty, ChangeReason, DateFlag, FlagStatus, ReleaseChange, ReleaseDate, ReleaseSource,
    ReleaseType,
};
pub use role::{Action, Grant, PermissionMatrix, Role};
pub use services::{
    Appointment, AppointmentStatus, Notification, NotificationStatus, Recipient, Referral,
    ReferralTarget, Transport, TransportStatus,
};
pub use timeline::{
    Band, MilestoneCode, MilestoneState, MilestoneStatus, Readiness, Rules, readiness,
};

/// Declares a closed set of codes stored in the database and the config as snake_case strings.
///
/// One macro so that every status enum parses, prints, serialises and iterates the same way.
macro_rules! code_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
            strum::EnumString, strum::IntoStaticStr, strum::EnumIter, strum::AsRefStr,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// The stable code written to the database, the config and the API.
            pub fn code(self) -> &'static str { self.into() }
            /// Words for people, as the board and the dialogs show them.
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }
            /// Every value, in declaration order.
            pub fn all() -> impl Iterator<Item = Self> {
                <Self as strum::IntoEnumIterator>::iter()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}
pub(crate) use code_enum;
