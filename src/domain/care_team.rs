//! The care team: contacts from the directory.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::code_enum;

code_enum! {
    pub enum ContactKind {
        PreReleaseCm => "pre-release care manager",
        EcmProvider => "post-release ECM provider",
        ProbationOfficer => "probation / parole officer",
        BehavioralHealth => "behavioral health contact",
    }
}

/// A person in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    pub name: String,
    pub organisation: String,
    pub phone: String,
    pub kind: ContactKind,
}

/// Directory entries are shared: a care manager with 40 people is one copy, not 40.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareTeam {
    pub pre_release_cm: Option<Arc<Contact>>,
    pub post_release_ecm: Option<Arc<Contact>>,
    pub probation_officer: Option<Arc<Contact>>,
    pub behavioral_health: Option<Arc<Contact>>,
}

impl CareTeam {
    /// The assigned members, in the order of the four roles.
    pub fn members(&self) -> impl Iterator<Item = &Arc<Contact>> {
        [
            &self.pre_release_cm,
            &self.post_release_ecm,
            &self.probation_officer,
            &self.behavioral_health,
        ]
        .into_iter()
        .flatten()
    }

    /// The same care manager before and after release: no warm handoff is needed.
    pub fn same_manager_pre_and_post(&self) -> bool {
        match (&self.pre_release_cm, &self.post_release_ecm) {
            (Some(pre), Some(post)) => pre.id == post.id,
            _ => false,
        }
    }
}
