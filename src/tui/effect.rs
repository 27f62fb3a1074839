//! What [`super::App::update`] asks the outside world to do. The app stays pure: it queues
//! effects, the run loop carries them out against the store and feeds the outcome back as an
//! [`super::Action`].

use crate::meeting::MeetingRecord;
use crate::store::audit_query::AuditFilter;
use crate::store::{Command, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// One write, as the signed-in actor. Local SQLite only: saving never waits for the network.
    Save(Command),
    /// Load everyone again now (after a conflict the user asked to reload).
    Reload,
    /// The care-team directory, for the picker.
    LoadContacts,
    /// One person's audit trail (`Some`), or the global log filtered.
    LoadAudit(AuditScope),
    /// The user is looking at this person's Part 2 details: that is itself audited.
    RecordPart2View { person_id: String },
    /// The dead and blocked events, for the sync panel.
    LoadStuck,
    /// Queue a dead or blocked event again (audited by the store).
    RetryEvent(String),
    /// Lift the sender's pause (after the token or certificate was fixed).
    ResumeSync,
    /// Give up on a dead or blocked event (audited, with the reason).
    DiscardEvent { event_id: String, reason: String },
    /// The program measures for the Stats screen (aggregates only).
    LoadStats(crate::report::stats::StatsQuery),
    /// Store the ended meeting: one transaction, one `meeting_recorded` audit row.
    RecordMeeting(Box<MeetingRecord>),
    /// The open follow-up tasks.
    LoadTasks,
    /// Who a task may be given to (users and the directory).
    LoadOwners,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditScope {
    Person(String),
    Global(AuditFilter),
}

/// Why a save did not happen, in the terms the dialog shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveFailure {
    /// Someone else changed the row since it was read. Nothing was written.
    Conflict {
        changed_by: String,
        changed_at: String,
        what: String,
    },
    /// The store refused the role (the UI should have greyed it; this is the second line).
    Denied(String),
    /// The store found the input wrong.
    Invalid(String),
    /// The database failed (locked, disk, ...). Nothing was written.
    Failed(String),
}

impl SaveFailure {
    pub fn from_store(error: &StoreError) -> Self {
        match error {
            StoreError::Conflict {
                changed_by,
                changed_at,
                what,
            } => Self::Conflict {
                changed_by: changed_by.clone(),
                changed_at: changed_at.clone(),
                what: what.clone(),
            },
            StoreError::Denied { action, role } => Self::Denied(format!(
                "the {} role may not {}",
                role.label(),
                action.label()
            )),
            StoreError::Invalid(message) => Self::Invalid(message.clone()),
            // The dialogs check fields first; one the store still refuses is input, not the disk.
            StoreError::Field { .. } => Self::Invalid(error.to_string()),
            other => Self::Failed(other.to_string()),
        }
    }

    /// One line for the dialog's banner.
    pub fn message(&self) -> String {
        match self {
            Self::Conflict {
                changed_by,
                changed_at,
                what,
            } => format!(
                "Not saved: {what} was changed by {changed_by} at {changed_at}. \
                 Ctrl+R reloads; your input stays."
            ),
            Self::Denied(m) => format!("Refused by the store: {m}. Nothing was saved."),
            Self::Invalid(m) => format!("Not saved: {m}."),
            Self::Failed(m) => format!("Database error, nothing was saved: {m}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_the_store_refuses_is_bad_input_not_a_database_error() {
        let failure = SaveFailure::from_store(&StoreError::field("reason", "say why"));
        assert_eq!(failure, SaveFailure::Invalid("reason: say why".into()));
        assert_eq!(failure.message(), "Not saved: reason: say why.");
    }
}
