//! The store: the only module that speaks SQL.
//!
//! Every write is one `BEGIN IMMEDIATE` transaction holding the domain change, exactly one audit
//! row and at most one outbox event, after a permission check and an optimistic version check.

pub mod audit_chain;
pub mod audit_query;
mod backup;
mod board_index;
mod board_query;
mod checklist;
mod codec;
mod commands;
mod delivery;
mod directory_import;
mod error;
mod import;
mod load;
mod meeting;
mod open;
mod outbox;
mod report;
mod rows;
mod seed;
mod users;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::clock::Clock;
use crate::domain::{PermissionMatrix, Role};

pub use backup::{BackupManifest, Health, HealthProblem, Restored, check, restore};
pub use board_index::{IndexRow, day_number};
pub use board_query::{BandCounts, BoardItem, BoardKey, BoardQuery};
pub use checklist::{
    APPOINTMENT_AHEAD_DAYS, APPOINTMENT_PAST_DAYS, AddAppointment, AddReferral, CONSENT_AHEAD_DAYS,
    CONSENT_PAST_DAYS, CancelAppointment, SetAppointment, SetConsent, SetNotification,
    SetReferralStatus, SetTransport,
};
pub use commands::{
    AcknowledgeDateChange, AddDme, AddMedication, AddNote, AssignCareTeam, ChangeReleaseDate,
    Command, DecideDateFlag, FlagDateChange, MarkMilestone, RecordBarrier, RemoveDme,
    RemoveMedication, ResolveBarrier, SetCarePlan, SetDmeStatus, SetMediCal, SetMedicationSupply,
    SetNaloxone, SetScreening, SetWarmHandoff,
};
pub use delivery::{Delivery, OutboxCounts, Resumed, StuckEvent, SyncState};
pub use directory_import::{MedicationEntry, UpsertOutcome};
pub use error::{Result, StoreError};
pub use import::{
    ChangeLine, DESTINATION_KINDS, Departure, FeedFields, LeftLine, RosterEntry, RosterOutcome,
    RosterStage,
};
pub use load::AuditEntry;
pub use meeting::{CompleteTask, StoredMeeting};

/// RFC 3339 as the store writes it, for comparing with stored timestamps.
pub fn codec_ts(t: chrono::DateTime<chrono::Utc>) -> String {
    codec::ts(t)
}
pub use open::{APPLICATION_ID, SCHEMA_VERSION};
pub use outbox::OutboxEvent;
pub use users::{MAX_LOGIN_CHARS, User};

use error::SqlContext;

/// The facility id used in events until `set_facility_id` says otherwise.
pub const DEFAULT_FACILITY_ID: &str = "demo-facility";

/// Who acts: a unique login (HIPAA: no shared logins for edits), their role, and how they came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub login: String,
    pub role: Role,
    /// e.g. "ssh key SHA256:... from 10.0.0.5"; recorded in the audit row.
    pub via: Option<String>,
}

impl Actor {
    pub fn new(login: impl Into<String>, role: Role) -> Self {
        Self {
            login: login.into(),
            role,
            via: None,
        }
    }
}

/// What a successful write reports back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub person_id: String,
    /// The new version of the row the command edited (the person, or the medication / DME item).
    pub version: i64,
    pub audit_id: i64,
    pub event_id: Option<String>,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    permissions: PermissionMatrix,
    /// Whether the overdue band is rare, for a day and a state of the database (see
    /// board_query): asked once per change, not on every move.
    overdue_share: std::cell::Cell<Option<board_query::OverdueShare>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn set_permissions(&mut self, permissions: PermissionMatrix) {
        self.permissions = permissions;
    }

    pub fn permissions(&self) -> &PermissionMatrix {
        &self.permissions
    }

    /// How long a write waits for another session's transaction before giving up with `Locked`.
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<()> {
        self.conn
            .busy_timeout(timeout)
            .ctx("setting the busy timeout")
            .map_err(|e| e.at(&self.path))
    }

    /// Changes whenever another connection commits: the board polls it to know when to reload.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .ctx("reading data_version")
            .map_err(|e| e.at(&self.path))
    }

    pub fn facility_id(&self) -> Result<String> {
        outbox::facility_id(&self.conn).map_err(|e| e.at(&self.path))
    }

    /// The facility id stamped on every event from now on. Audited: it changes what the hub sees.
    pub fn set_facility_id(&mut self, actor: &Actor, facility_id: &str) -> Result<()> {
        let facility_id = facility_id.trim();
        if facility_id.is_empty() {
            return Err(StoreError::invalid("the facility id may not be empty"));
        }
        self.set_setting(actor, "facility_id", facility_id)
    }

    /// A value from the settings table (facility id, when the demo was seeded, ...).
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .ctx("reading a setting")
            .map_err(|e| e.at(&self.path))
    }

    /// Sets a setting; an admin action, audited with the value before and after.
    pub fn set_setting(&mut self, actor: &Actor, key: &str, value: &str) -> Result<()> {
        let before = self.setting(key)?;
        self.write(actor, |w| {
            w.allow_admin()?;
            w.tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .ctx("saving a setting")?;
            w.audit(&outbox::AuditRow {
                person_id: None,
                kind: "setting_changed",
                entity: "setting",
                entity_id: Some(key.to_string()),
                before: before.map(|b| serde_json::json!(b)),
                after: Some(serde_json::json!(value)),
                reason: None,
            })?;
            Ok(())
        })
    }

    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction: committed if it returns Ok, rolled back
    /// (nothing written) otherwise. Taking the write lock up front means a read-then-write never
    /// fails half way with SQLITE_BUSY.
    fn write<T>(
        &mut self,
        actor: &Actor,
        f: impl FnOnce(&outbox::Writer<'_>) -> Result<T>,
    ) -> Result<T> {
        let now = self.clock.now();
        let today = self.clock.today();
        let path = self.path.clone();
        let run = |conn: &mut Connection, permissions: &PermissionMatrix| -> Result<T> {
            let tx: Transaction<'_> = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("starting a write")?;
            let out = {
                let w = outbox::Writer::new(&tx, actor, now, today, permissions);
                f(&w)?
            };
            board_index::refresh(&tx)?;
            tx.commit().ctx("committing")?;
            Ok(out)
        };
        run(&mut self.conn, &self.permissions).map_err(|e| e.at(&path))
    }
}
