//! `board`: the TUI on a database.

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{BoardArgs, SyncConnArgs, ViewArgs};
use crate::clock::Clock;
use crate::domain::{Contact, PersonRecord};
use crate::meeting::{MeetingRecord, OpenTask};
use crate::store::{Actor, AuditEntry, Command, Saved, Store, StoreError, StuckEvent};
use crate::sync::SyncStatus;
use crate::tui::effect::AuditScope;
use crate::tui::{self, BoardSource, Outcome, TuiOptions};
use chrono::{DateTime, Utc};

use super::{Context, actor, clock, db_path, open_store};

/// Until the meeting module records real meetings, "since the last meeting" means the last day:
/// the meeting is daily.
const DEFAULT_MEETING_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::hours(24);

pub fn run(ctx: &Context, args: &BoardArgs) -> anyhow::Result<ExitCode> {
    let path = db_path(ctx, &args.db)?;
    let clock = clock(args.view.as_of);
    let store = open_store(ctx, &path, clock.clone())?;
    open_board(ctx, store, clock, &args.view, &args.sync)
}

/// Shared by `board` and `demo`.
pub fn open_board(
    ctx: &Context,
    mut store: Store,
    clock: Arc<dyn Clock>,
    view: &ViewArgs,
    sync: &SyncConnArgs,
) -> anyhow::Result<ExitCode> {
    store.use_board_rules(&ctx.config.rules)?;
    let over = sync.overrides();
    let actor = actor(&store)?;
    let config = &ctx.config;
    let mut options = options_for(config, &actor, clock.as_ref())?;
    options.ascii = view.ascii;
    options.theme = crate::theme::load_for_cli(
        &view.theme,
        view.color,
        crate::paths::config_dir().as_deref(),
    )?;
    options.kiosk = view.kiosk;
    options.mouse = view.mouse;
    if let Some(end) = store.last_meeting_end()? {
        options.last_meeting = Some(end);
    }
    tracing::info!(role = actor.role.code(), kiosk = view.kiosk, "board opened");
    // Kept alive while the board runs; dropping it stops the sender and frees the lock.
    let sender = background_sender(config, &over, store.path());
    let mut source = StoreSource(store);
    let mut sending = SendingSource {
        inner: &mut source,
        status: sender.as_ref().map(|s| s.status()),
        // Whether this county sends to a central API at all (config, flag or environment).
        configured: config.sync.url.is_some() || over.url.is_some(),
    };
    let outcome = tui::run(&mut sending, clock, options)?;
    match outcome {
        Outcome::Quit => {}
        Outcome::IdleLocked => {
            tracing::info!("idle lock");
            eprintln!(
                "reentry-board: locked after {} minutes without a key",
                ctx.config.idle_lock_minutes
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The board sends too when sync is configured, this session can read the token and no other
/// sender holds the lock. Never an error: the board works offline, and the reason is logged.
fn background_sender(
    config: &crate::config::Config,
    over: &crate::sync::SyncOverrides,
    db: &std::path::Path,
) -> Option<crate::sync::BackgroundSender> {
    if !config.sync.board_sends || (config.sync.url.is_none() && over.url.is_none()) {
        return None;
    }
    let started = crate::sync::SyncSettings::resolve(&config.sync, over)
        .map(|settings| settings.with_rules(config.rules.clone()))
        .and_then(|settings| crate::sync::spawn_background(db.to_path_buf(), settings));
    match started {
        Ok(Some(sender)) => {
            tracing::info!("the board sends queued events");
            Some(sender)
        }
        Ok(None) => {
            tracing::info!("another sender holds the lock; the board only shows the queue");
            None
        }
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "the board cannot send");
            None
        }
    }
}

/// What the config decides for `actor`'s board; shared by local and SSH sessions (`serve`),
/// so both get the same keys, rules and idle lock.
pub(crate) fn options_for(
    config: &crate::config::Config,
    actor: &crate::store::Actor,
    clock: &dyn Clock,
) -> anyhow::Result<TuiOptions> {
    let mut options = TuiOptions::new(
        config.facility_name.clone(),
        format!("{} ({})", actor.login, actor.role.label()),
        actor.role,
    );
    options.actor = actor.clone();
    options.rules = config.rules.clone();
    options.name_format = config.name_format;
    options.permissions = config.permission_matrix();
    options.keymap = config.keymap()?;
    options.last_meeting = Some(clock.now() - DEFAULT_MEETING_INTERVAL);
    options.idle_lock = Some(Duration::from_secs(
        60 * u64::from(config.idle_lock_minutes),
    ));
    Ok(options)
}

/// The board on the SQLite store; public so tests drive the same source the binary uses.
pub struct StoreSource(pub Store);

impl BoardSource for StoreSource {
    fn load(&mut self) -> anyhow::Result<Vec<PersonRecord>> {
        Ok(self.0.load_records()?)
    }

    fn data_version(&mut self) -> anyhow::Result<i64> {
        Ok(self.0.data_version()?)
    }

    fn apply(&mut self, actor: &Actor, command: Command) -> Result<Saved, StoreError> {
        self.0.apply(actor, command)
    }

    fn contacts(&mut self) -> anyhow::Result<Vec<Contact>> {
        Ok(self.0.contacts()?)
    }

    fn audit(&mut self, scope: &AuditScope) -> anyhow::Result<Vec<AuditEntry>> {
        Ok(match scope {
            AuditScope::Person(id) => self.0.audit_for(id)?,
            AuditScope::Global(filter) => self.0.audit_search(filter)?,
        })
    }

    fn record_part2_view(&mut self, actor: &Actor, person_id: &str) -> anyhow::Result<()> {
        self.0.record_part2_view(actor, person_id)?;
        Ok(())
    }

    fn sync_status(&mut self, now: DateTime<Utc>) -> anyhow::Result<Option<SyncStatus>> {
        Ok(Some(SyncStatus::read(&self.0, now)?))
    }

    fn undelivered(&mut self) -> anyhow::Result<HashSet<String>> {
        Ok(self.0.people_with_undelivered()?)
    }

    fn stuck_events(&mut self) -> anyhow::Result<Vec<StuckEvent>> {
        Ok(self.0.stuck_events()?)
    }

    fn retry_event(&mut self, actor: &Actor, event_id: &str) -> Result<i64, StoreError> {
        self.0.retry_event(actor, event_id)
    }

    fn resume_sync(&mut self, actor: &Actor) -> Result<bool, StoreError> {
        self.0.resume_sync(actor)
    }

    fn stats(
        &mut self,
        query: &crate::report::stats::StatsQuery,
        rules: &crate::domain::Rules,
    ) -> anyhow::Result<crate::report::stats::Stats> {
        Ok(crate::report::stats::load(&self.0, rules, query)?)
    }

    fn discard_event(
        &mut self,
        actor: &Actor,
        event_id: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.0.discard_event(actor, event_id, reason)
    }

    fn record_meeting(
        &mut self,
        actor: &Actor,
        record: &MeetingRecord,
    ) -> Result<String, StoreError> {
        self.0.record_meeting(actor, record)
    }

    fn open_tasks(&mut self) -> anyhow::Result<Vec<OpenTask>> {
        Ok(self.0.open_tasks()?)
    }

    fn task_owners(&mut self) -> anyhow::Result<Vec<String>> {
        Ok(self.0.task_owners()?)
    }
}

/// The board's view of sync. While the board also sends, the header follows the sender's own
/// status (it wakes on every commit and every answer from the hub) instead of reading the store
/// each tick. With no central API configured there is nothing to show: no header state and no
/// "not delivered" marks on every row.
struct SendingSource<'a> {
    inner: &'a mut StoreSource,
    status: Option<tokio::sync::watch::Receiver<SyncStatus>>,
    configured: bool,
}

impl BoardSource for SendingSource<'_> {
    fn load(&mut self) -> anyhow::Result<Vec<PersonRecord>> {
        self.inner.load()
    }
    fn data_version(&mut self) -> anyhow::Result<i64> {
        self.inner.data_version()
    }
    fn apply(&mut self, actor: &Actor, command: Command) -> Result<Saved, StoreError> {
        self.inner.apply(actor, command)
    }
    fn contacts(&mut self) -> anyhow::Result<Vec<Contact>> {
        self.inner.contacts()
    }
    fn audit(&mut self, scope: &AuditScope) -> anyhow::Result<Vec<AuditEntry>> {
        self.inner.audit(scope)
    }
    fn record_part2_view(&mut self, actor: &Actor, person_id: &str) -> anyhow::Result<()> {
        self.inner.record_part2_view(actor, person_id)
    }
    fn sync_status(&mut self, now: DateTime<Utc>) -> anyhow::Result<Option<SyncStatus>> {
        match &self.status {
            Some(status) => Ok(Some(status.borrow().clone())),
            None if self.configured => self.inner.sync_status(now),
            None => Ok(None),
        }
    }
    fn undelivered(&mut self) -> anyhow::Result<HashSet<String>> {
        if self.configured {
            self.inner.undelivered()
        } else {
            Ok(HashSet::new())
        }
    }
    fn stuck_events(&mut self) -> anyhow::Result<Vec<StuckEvent>> {
        self.inner.stuck_events()
    }
    fn retry_event(&mut self, actor: &Actor, event_id: &str) -> Result<i64, StoreError> {
        self.inner.retry_event(actor, event_id)
    }
    fn resume_sync(&mut self, actor: &Actor) -> Result<bool, StoreError> {
        self.inner.resume_sync(actor)
    }
    fn stats(
        &mut self,
        query: &crate::report::stats::StatsQuery,
        rules: &crate::domain::Rules,
    ) -> anyhow::Result<crate::report::stats::Stats> {
        self.inner.stats(query, rules)
    }
    fn discard_event(
        &mut self,
        actor: &Actor,
        event_id: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.inner.discard_event(actor, event_id, reason)
    }
    fn record_meeting(
        &mut self,
        actor: &Actor,
        record: &MeetingRecord,
    ) -> Result<String, StoreError> {
        self.inner.record_meeting(actor, record)
    }
    fn open_tasks(&mut self) -> anyhow::Result<Vec<OpenTask>> {
        self.inner.open_tasks()
    }
    fn task_owners(&mut self) -> anyhow::Result<Vec<String>> {
        self.inner.task_owners()
    }
}
