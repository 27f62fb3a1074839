//! Roles and the permission matrix, as pure functions of (role, action, context).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::code_enum;

code_enum! {
    pub enum Role {
        Records => "records",
        Nurse => "nurse",
        CareManager => "care manager",
        Coordinator => "coordinator",
        Probation => "probation",
        Eligibility => "eligibility",
        /// Meeting-room display and unknown logins: the presentation view only.
        Viewer => "viewer / display",
    }
}

code_enum! {
    pub enum Action {
        ViewBoard => "view board",
        SetReleaseDate => "set release date",
        FlagDateChange => "flag a date change",
        AcknowledgeDateChange => "acknowledge a date change",
        ConfirmMedication => "confirm medications and naloxone",
        ConfirmDme => "confirm DME",
        AssignCareManager => "assign care managers",
        EditCarePlan => "care plan, warm handoff, appointments",
        EditMediCal => "Medi-Cal status",
        EditScreening => "screening",
        EditConsent => "consent",
        EditServices => "transport and referrals",
        RecordNotifications => "notifications sent / acknowledged",
        RecordBarrier => "barriers and notes",
        ViewPart2 => "see SUD/MAT detail (Part 2)",
        Admin => "admin (users, import, sync)",
        RunMeeting => "run the meeting and store its minutes",
        CompleteTask => "mark a follow-up task done",
    }
}

code_enum! {
    /// A cell of the matrix. Conditional grants are decided by [`Grant::allows`].
    pub enum Grant {
        Yes => "yes",
        No => "no",
        /// Only for people whose care manager belongs to the user's organisation.
        OwnOrganisation => "own organisation",
        /// Only when the person has signed a Part 2 consent.
        WithConsent => "with consent",
        /// Only under a specific written consent that names probation.
        ProbationConsent => "consent naming probation",
    }
}

/// What a conditional grant needs to know about the person and the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    pub own_organisation: bool,
    pub part2_consent: bool,
    pub consent_names_probation: bool,
}

impl Grant {
    pub fn allows(self, ctx: Context) -> bool {
        match self {
            Self::Yes => true,
            Self::No => false,
            Self::OwnOrganisation => ctx.own_organisation,
            Self::WithConsent => ctx.part2_consent,
            Self::ProbationConsent => ctx.part2_consent && ctx.consent_names_probation,
        }
    }

    /// Whether the action can ever be allowed, so the UI can show it (greyed or not).
    pub fn possible(self) -> bool {
        self != Self::No
    }
}

/// The permission matrix: the default of DOMAIN.md, with county overrides on top.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionMatrix {
    overrides: BTreeMap<(Role, Action), Grant>,
}

/// The default matrix from DOMAIN.md.
pub fn default_grant(role: Role, action: Action) -> Grant {
    use Action as A;
    use Grant::{No, OwnOrganisation, ProbationConsent, WithConsent, Yes};
    use Role as R;
    match (action, role) {
        (A::ViewBoard, _) => Yes,
        (A::SetReleaseDate | A::AcknowledgeDateChange, R::Records | R::Coordinator) => Yes,
        (A::FlagDateChange, R::Records | R::CareManager | R::Coordinator | R::Probation) => Yes,
        (A::ConfirmMedication, R::Nurse) => Yes,
        (A::ConfirmDme, R::Nurse | R::CareManager) => Yes,
        (A::AssignCareManager, R::Coordinator) => Yes,
        (A::AssignCareManager, R::CareManager) => OwnOrganisation,
        (A::EditCarePlan, R::CareManager | R::Coordinator) => Yes,
        (A::EditMediCal, R::CareManager | R::Coordinator | R::Eligibility) => Yes,
        (A::EditScreening, R::Nurse | R::CareManager | R::Coordinator | R::Eligibility) => Yes,
        (A::EditConsent, R::Nurse | R::CareManager | R::Coordinator | R::Eligibility) => Yes,
        (A::EditServices, R::CareManager | R::Coordinator) => Yes,
        (A::RecordNotifications, R::Records | R::CareManager | R::Coordinator) => Yes,
        (A::RecordBarrier | A::RunMeeting | A::CompleteTask, R::Viewer) => No,
        (A::RecordBarrier | A::RunMeeting | A::CompleteTask, _) => Yes,
        (A::ViewPart2, R::Nurse) => Yes,
        (A::ViewPart2, R::CareManager | R::Coordinator) => WithConsent,
        (A::ViewPart2, R::Probation) => ProbationConsent,
        (A::Admin, R::Coordinator) => Yes,
        _ => No,
    }
}

impl PermissionMatrix {
    pub fn with_overrides(overrides: impl IntoIterator<Item = (Role, Action, Grant)>) -> Self {
        Self {
            overrides: overrides.into_iter().map(|(r, a, g)| ((r, a), g)).collect(),
        }
    }

    pub fn grant(&self, role: Role, action: Action) -> Grant {
        self.overrides
            .get(&(role, action))
            .copied()
            .unwrap_or_else(|| default_grant(role, action))
    }

    pub fn allows(&self, role: Role, action: Action, ctx: Context) -> bool {
        self.grant(role, action).allows(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_matches_domain_table() {
        let m = PermissionMatrix::default();
        let all = Context {
            own_organisation: true,
            part2_consent: true,
            consent_names_probation: true,
        };
        let none = Context::default();
        // Every role views the board.
        for role in Role::all() {
            assert!(m.allows(role, Action::ViewBoard, none));
        }
        let who = |action: Action, ctx: Context| -> Vec<Role> {
            Role::all().filter(|r| m.allows(*r, action, ctx)).collect()
        };
        use Role::*;
        assert_eq!(who(Action::SetReleaseDate, all), vec![Records, Coordinator]);
        assert_eq!(
            who(Action::FlagDateChange, all),
            vec![Records, CareManager, Coordinator, Probation]
        );
        assert_eq!(who(Action::ConfirmMedication, all), vec![Nurse]);
        assert_eq!(who(Action::ConfirmDme, all), vec![Nurse, CareManager]);
        assert_eq!(
            who(Action::AssignCareManager, all),
            vec![CareManager, Coordinator]
        );
        assert_eq!(who(Action::AssignCareManager, none), vec![Coordinator]);
        assert_eq!(
            who(Action::EditCarePlan, all),
            vec![CareManager, Coordinator]
        );
        assert_eq!(
            who(Action::EditMediCal, all),
            vec![CareManager, Coordinator, Eligibility]
        );
        assert_eq!(
            who(Action::EditScreening, all),
            vec![Nurse, CareManager, Coordinator, Eligibility]
        );
        assert_eq!(
            who(Action::ViewPart2, all),
            vec![Nurse, CareManager, Coordinator, Probation]
        );
        assert_eq!(who(Action::ViewPart2, none), vec![Nurse]);
        let part2_only = Context {
            part2_consent: true,
            ..none
        };
        assert_eq!(
            who(Action::ViewPart2, part2_only),
            vec![Nurse, CareManager, Coordinator]
        );
        assert_eq!(who(Action::Admin, all), vec![Coordinator]);
        assert!(!m.allows(Viewer, Action::RecordBarrier, all));
        // Everyone at the table may chair the meeting and close tasks; the display may not.
        let staff = vec![
            Records,
            Nurse,
            CareManager,
            Coordinator,
            Probation,
            Eligibility,
        ];
        assert_eq!(who(Action::RunMeeting, none), staff);
        assert_eq!(who(Action::CompleteTask, none), staff);
    }

    #[test]
    fn overrides_replace_single_cells() {
        let m =
            PermissionMatrix::with_overrides([(Role::Nurse, Action::SetReleaseDate, Grant::Yes)]);
        assert!(m.allows(Role::Nurse, Action::SetReleaseDate, Context::default()));
        assert!(!m.allows(Role::Probation, Action::SetReleaseDate, Context::default()));
    }
}
