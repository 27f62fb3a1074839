//! Dialog state: what is open over the board or the detail view, one file per kind of edit. The
//! views for them live in `view/`; the app routes keys here and sends the commands they build.
//!
//! Adding a dialog: a form builder and a submit function in a file here, a [`FormKind`] variant,
//! an [`Editor`] with its key in the keymap, and one arm in `App::open_editor` / `App::submit`.
//! A form whose first field picks an item (appointments, referrals, notifications) refills the
//! others in `services::refill`.

pub mod appointments;
pub mod audit;
pub mod care;
pub mod care_team;
pub mod checklist;
pub mod consent;
pub mod form;
pub mod notes;
pub mod release;
pub mod services;
pub mod sync;

use crate::domain::role::Action as Permission;

pub use audit::AuditList;
pub use care_team::Picker;
pub use checklist::Checklist;
pub use form::{Banner, Field, Form, Value};
pub use sync::SyncPanel;

/// Every edit the detail view offers, with the permission it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Editor {
    ReleaseDate,
    FlagDate,
    DecideFlag,
    Acknowledge,
    Checklist,
    CareTeam,
    CarePlan,
    WarmHandoff,
    Consent,
    Appointments,
    Transport,
    Referrals,
    Notifications,
    MediCal,
    Screening,
    Barrier,
    ResolveBarrier,
    Note,
    Mark,
    CompleteTask,
    Audit,
    GlobalAudit,
    SyncPanel,
}

impl Editor {
    pub const ALL: [Self; 23] = [
        Self::ReleaseDate,
        Self::FlagDate,
        Self::DecideFlag,
        Self::Acknowledge,
        Self::Checklist,
        Self::CareTeam,
        Self::CarePlan,
        Self::WarmHandoff,
        Self::Consent,
        Self::Appointments,
        Self::Transport,
        Self::Referrals,
        Self::Notifications,
        Self::MediCal,
        Self::Screening,
        Self::Barrier,
        Self::ResolveBarrier,
        Self::Note,
        Self::Mark,
        Self::CompleteTask,
        Self::Audit,
        Self::GlobalAudit,
        Self::SyncPanel,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::ReleaseDate => "release date",
            Self::FlagDate => "flag a date change",
            Self::DecideFlag => "accept / reject a flag",
            Self::Acknowledge => "acknowledge a date change",
            Self::Checklist => "medications, naloxone, DME",
            Self::CareTeam => "care team",
            Self::CarePlan => "care plan",
            Self::WarmHandoff => "warm handoff",
            Self::Consent => "consent",
            Self::Appointments => "appointments",
            Self::Transport => "transport",
            Self::Referrals => "behavioral health referrals",
            Self::Notifications => "notifications sent / acknowledged",
            Self::MediCal => "Medi-Cal",
            Self::Screening => "screening",
            Self::Barrier => "record a barrier",
            Self::ResolveBarrier => "resolve a barrier",
            Self::Note => "add a note",
            Self::Mark => "mark a milestone",
            Self::CompleteTask => "mark a follow-up task done",
            Self::Audit => "audit trail",
            Self::GlobalAudit => "audit log (everyone)",
            Self::SyncPanel => "sync panel (undelivered events)",
        }
    }

    /// The permissions of which the role needs at least one (`None`: anyone may open it).
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Self::ReleaseDate | Self::DecideFlag => &[Permission::SetReleaseDate],
            Self::FlagDate => &[Permission::FlagDateChange],
            Self::Acknowledge => &[Permission::AcknowledgeDateChange],
            Self::Checklist => &[Permission::ConfirmMedication, Permission::ConfirmDme],
            Self::CareTeam => &[Permission::AssignCareManager],
            Self::CarePlan | Self::WarmHandoff | Self::Appointments => &[Permission::EditCarePlan],
            Self::Consent => &[Permission::EditConsent],
            Self::Transport | Self::Referrals => &[Permission::EditServices],
            Self::Notifications => &[Permission::RecordNotifications],
            Self::MediCal => &[Permission::EditMediCal],
            Self::Screening => &[Permission::EditScreening],
            Self::Barrier | Self::ResolveBarrier | Self::Note | Self::Mark => {
                &[Permission::RecordBarrier]
            }
            Self::CompleteTask => &[Permission::CompleteTask],
            Self::Audit => &[],
            Self::GlobalAudit | Self::SyncPanel => &[Permission::Admin],
        }
    }

    /// Changes data (so not in presentation mode), rather than only showing it.
    pub fn writes(self) -> bool {
        !matches!(self, Self::Audit | Self::GlobalAudit)
    }
}

/// Which form is open: decides how its fields become a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormKind {
    ReleaseDate,
    FlagDate,
    DecideFlag(Vec<i64>),
    Acknowledge(Vec<i64>),
    MediCal,
    Screening,
    CarePlan,
    WarmHandoff,
    Consent,
    /// The ids of the appointments the first field offers after "new".
    Appointment(Vec<i64>),
    Transport,
    /// The ids of the referrals the first field offers after "new".
    Referral(Vec<i64>),
    Notification,
    Barrier,
    ResolveBarrier(Vec<i64>),
    Note,
    Mark,
    AddItem,
    RemoveMedication {
        id: i64,
        version: i64,
    },
    RemoveDme {
        id: i64,
        version: i64,
    },
    /// A checklist item set back a step (or reopened): asks why.
    StepBack {
        item: checklist::Item,
        to: checklist::Status,
        version: i64,
    },
    AuditFilter,
    /// The sync panel's reason for giving up on an event.
    DiscardEvent {
        event_id: String,
    },
    /// One of the meeting's own dialogs: nothing is saved until the meeting ends.
    Meeting(crate::tui::meeting_screen::MeetingForm),
    /// Which of the person's open tasks is done.
    CompleteTask(Vec<i64>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormDialog {
    pub kind: FormKind,
    pub person_id: String,
    /// The person version read when the dialog opened; a save names it.
    pub version: i64,
    pub form: Form,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    Form(FormDialog),
    Checklist(Checklist),
    Picker(Picker),
    Audit(AuditList),
    Sync(SyncPanel),
}
