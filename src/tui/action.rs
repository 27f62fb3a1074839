//! What can happen to the board. Keys, mouse, ticks and loads all become an `Action` so that
//! [`super::App::update`] is the one place where state changes.

use chrono::{DateTime, NaiveDate, Utc};

use super::dialog::Editor;
use super::effect::SaveFailure;
use super::meeting_screen::MeetingKey;
use super::sync_watch::SyncView;
use crate::domain::{Contact, PersonRecord};
use crate::meeting::OpenTask;
use crate::store::{AuditEntry, Saved, StuckEvent};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    MoveUp,
    MoveDown,
    MoveFirst,
    MoveLast,
    PageUp,
    PageDown,
    OpenDetail,
    /// Leave the detail view or the help overlay.
    Back,
    OpenSearch,
    KeepSearch,
    CancelSearch,
    SearchInput(char),
    SearchBackspace,
    CycleFacility,
    CycleUnit,
    CycleCareManager,
    CycleBand,
    ToggleAtRisk,
    ToggleMyWork,
    ClearFilters,
    TogglePresentation,
    ToggleHelp,
    Quit,
    /// A mouse button went down at this cell (only with `--mouse`).
    Click {
        column: u16,
        row: u16,
    },
    /// The terminal changed size; scrolling needs to know how many rows fit.
    Resized {
        width: u16,
        height: u16,
    },
    /// Fresh rows from the source, for the given day (either may have changed), at `now`.
    Loaded {
        records: Vec<PersonRecord>,
        today: NaiveDate,
        now: DateTime<Utc>,
    },
    /// A reload failed; the board keeps the rows it has and says so.
    LoadFailed(String),
    /// Open a dialog or view (greyed ones say why instead).
    Open(Editor),
    FieldNext,
    FieldPrev,
    FieldLeft,
    FieldRight,
    DialogInput(char),
    DialogBackspace,
    DialogSubmit,
    DialogCancel,
    DialogReload,
    DialogClear,
    StatusPrev,
    StatusNext,
    ConfirmItem,
    ItemAdd,
    ItemRemove,
    NextPerson,
    PrevPerson,
    AuditFilter,
    /// The store saved the dialog's command.
    Saved(Saved),
    /// The store refused or failed; nothing was written.
    SaveFailed(SaveFailure),
    /// The directory for the care-team picker.
    ContactsLoaded(Result<Vec<Contact>, String>),
    AuditLoaded(Result<Vec<AuditEntry>, String>),
    /// Recording a Part 2 view failed.
    Notice(String),
    /// The sync header changed, and (when read again) who has events not yet delivered.
    SyncChanged {
        view: Box<SyncView>,
        undelivered: Option<std::collections::HashSet<String>>,
    },
    /// The sync panel's list of dead and blocked events.
    StuckLoaded(Result<Vec<StuckEvent>, String>),
    /// Sync panel: queue the selected event again.
    SyncRetry,
    SyncResume,
    /// Sync panel: discard the selected event (asks why).
    SyncDiscard,
    /// The store answered a retry or discard.
    SyncDone(Result<String, SaveFailure>),
    /// The Stats screen: program measures for people released in a period.
    OpenStats,
    /// Stats: the period before / after (never past the board's date) / the next period length.
    StatsEarlier,
    StatsLater,
    StatsLength,
    /// The measures for `query`; a late answer for another period is dropped.
    StatsLoaded {
        query: crate::report::stats::StatsQuery,
        result: Result<Box<crate::report::stats::Stats>, String>,
    },
    /// Open the meeting screen on today's agenda.
    OpenMeeting,
    /// A key of the meeting screen.
    Meeting(MeetingKey),
    /// The store kept the meeting (it ended at this time), or refused it and nothing was written.
    MeetingRecorded(Result<DateTime<Utc>, SaveFailure>),
    /// Open follow-up tasks, for the board's marks, the detail view and "my work".
    TasksLoaded(Result<Vec<OpenTask>, String>),
    /// Logins and directory names a task may be given to.
    OwnersLoaded(Result<Vec<String>, String>),
    /// The clock moved on; change markers may have expired.
    Tick {
        now: DateTime<Utc>,
    },
}
