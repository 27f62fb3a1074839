//! The terminal board. It reads through [`BoardSource`] and never touches SQL, so the store can
//! change underneath and tests can drive everything with plain records.
//!
//! One keystroke: crossterm event -> [`Action`] ([`event`]) -> [`App::update`] (pure) -> when
//! dirty, [`view::draw`] inside a synchronized update. A 1 s poll timeout only checks whether the
//! data or the date changed; an idle board draws nothing.

// Anything printed while the alternate screen is up corrupts the frame.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod action;
pub mod app;
pub mod dialog;
pub mod effect;
pub mod input;
pub mod keymap;
pub mod meeting_screen;
pub mod stats_screen;
pub mod sync_watch;
pub mod terminal;
pub mod view;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use crossterm::{event as ct, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;

pub use crate::domain::BoardRow;
pub use action::Action;
pub use app::App;
pub use input::{Input, LocalInput, Wake};
pub use keymap::Keymap;

use crate::clock::Clock;
use crate::domain::{Contact, NameFormat, PermissionMatrix, PersonRecord, Role, Rules};
use crate::meeting::{MeetingRecord, OpenTask};
use crate::store::{Actor, AuditEntry, Command, Saved, StoreError, StuckEvent};
use crate::sync::SyncStatus;
use crate::theme::Theme;
use effect::{AuditScope, Effect, SaveFailure};
use terminal::TerminalGuard;

/// Where the board gets its data; the lead implements it for the SQLite store.
pub trait BoardSource {
    /// Everyone in custody.
    fn load(&mut self) -> Result<Vec<PersonRecord>>;
    /// Changes whenever another connection committed (SQLite `PRAGMA data_version`).
    fn data_version(&mut self) -> Result<i64>;
    /// One write as `actor`. A source without a store is read-only.
    fn apply(&mut self, actor: &Actor, command: Command) -> Result<Saved, StoreError> {
        let _ = (actor, command);
        Err(StoreError::Invalid("this board is read-only".into()))
    }
    /// The care-team directory.
    fn contacts(&mut self) -> Result<Vec<Contact>> {
        Ok(Vec::new())
    }
    /// Audit rows: one person's (oldest first) or the global log filtered (newest first).
    fn audit(&mut self, scope: &AuditScope) -> Result<Vec<AuditEntry>> {
        let _ = scope;
        Ok(Vec::new())
    }
    /// Writes the audit row saying `actor` saw this person's Part 2 details.
    fn record_part2_view(&mut self, actor: &Actor, person_id: &str) -> Result<()> {
        let _ = (actor, person_id);
        Ok(())
    }
    /// The outbox's delivery state for the header; `None` where there is no outbox.
    fn sync_status(&mut self, now: DateTime<Utc>) -> Result<Option<SyncStatus>> {
        let _ = now;
        Ok(None)
    }
    /// People with events not yet delivered (queued, dead or blocked): their rows are marked.
    fn undelivered(&mut self) -> Result<std::collections::HashSet<String>> {
        Ok(std::collections::HashSet::new())
    }
    /// Dead and blocked events for the sync panel (no payloads).
    fn stuck_events(&mut self) -> Result<Vec<StuckEvent>> {
        Ok(Vec::new())
    }
    /// Queues a dead or blocked event again (audited); how many events went back.
    fn retry_event(&mut self, actor: &Actor, event_id: &str) -> Result<i64, StoreError> {
        let _ = (actor, event_id);
        Err(StoreError::Invalid("this board is read-only".into()))
    }
    /// Lifts a pause of the sender (audited); whether it was paused.
    fn resume_sync(&mut self, actor: &Actor) -> Result<bool, StoreError> {
        let _ = actor;
        Err(StoreError::Invalid("this board is read-only".into()))
    }
    /// The program measures of a period and its weekly trend (aggregates only: presentation-safe).
    fn stats(
        &mut self,
        query: &crate::report::stats::StatsQuery,
        rules: &Rules,
    ) -> Result<crate::report::stats::Stats> {
        let _ = (query, rules);
        Err(anyhow::anyhow!("this board keeps no release history"))
    }
    /// Gives up on a dead or blocked event with a reason (audited).
    fn discard_event(
        &mut self,
        actor: &Actor,
        event_id: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let _ = (actor, event_id, reason);
        Err(StoreError::Invalid("this board is read-only".into()))
    }
    /// Stores an ended meeting in one transaction; returns its id.
    fn record_meeting(
        &mut self,
        actor: &Actor,
        record: &MeetingRecord,
    ) -> Result<String, StoreError> {
        let _ = (actor, record);
        Err(StoreError::Invalid("this board is read-only".into()))
    }
    /// Follow-up tasks not yet done, soonest due first.
    fn open_tasks(&mut self) -> Result<Vec<OpenTask>> {
        Ok(Vec::new())
    }
    /// Who a task may be given to: active users' logins and the directory's names.
    fn task_owners(&mut self) -> Result<Vec<String>> {
        Ok(self.contacts()?.into_iter().map(|c| c.name).collect())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TuiOptions {
    pub rules: Rules,
    /// For personal sessions; presentation mode always uses `LastInitial`.
    pub name_format: NameFormat,
    /// Plain ASCII glyphs and borders for fonts without the symbols.
    pub ascii: bool,
    /// The facility's name, or "Demo".
    pub title: String,
    /// Who is signed in, e.g. `jdoe (coordinator)`.
    pub user_label: String,
    /// The signed-in role: "my work", Part 2 visibility and which edits are offered.
    pub role: Role,
    /// Who the edits are made as (login, role, how they came in); the store checks the role.
    pub actor: Actor,
    /// The county's permission matrix (`Config::permission_matrix`).
    pub permissions: PermissionMatrix,
    pub theme: Theme,
    pub keymap: Keymap,
    /// A meeting-room display: presentation mode that cannot be left, no idle lock.
    pub kiosk: bool,
    /// Click to select and wheel to move.
    pub mouse: bool,
    /// Release dates changed after this are flagged (`Δ`).
    pub last_meeting: Option<DateTime<Utc>>,
    /// A personal session ends after this long without a key; `None` never.
    pub idle_lock: Option<Duration>,
}

impl TuiOptions {
    /// Defaults for everything but what identifies the session; tests and the lead start here.
    pub fn new(title: impl Into<String>, user_label: impl Into<String>, role: Role) -> Self {
        let user_label = user_label.into();
        // Until the caller names the login, the label's first word stands in for it.
        let login = user_label
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        Self {
            actor: Actor::new(login, role),
            rules: Rules::default(),
            name_format: NameFormat::LastFirst,
            ascii: false,
            title: title.into(),
            user_label,
            role,
            permissions: PermissionMatrix::default(),
            theme: Theme::fallback(),
            keymap: Keymap::default(),
            kiosk: false,
            mouse: false,
            last_meeting: None,
            idle_lock: None,
        }
    }
}

/// Why the board closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Quit,
    /// No key for `idle_lock`: the screen was cleared; the caller may say so.
    IdleLocked,
}

/// How often the board looks for other sessions' commits, a new day and expired markers.
const TICK: Duration = Duration::from_secs(1);

/// Run the board until the user quits. The terminal is restored on every way out.
pub fn run(
    source: &mut dyn BoardSource,
    clock: Arc<dyn Clock>,
    options: TuiOptions,
) -> Result<Outcome> {
    // Load before taking the screen, so a broken database is reported on the normal one.
    let mut board = Board::load(source, clock.as_ref(), options)?;
    let mut guard = TerminalGuard::enter(board.app.options().mouse)?;
    let outcome = board.run_on(guard.terminal(), &mut LocalInput, source, clock);
    drop(guard);
    outcome
}

/// A loaded board not yet on a screen: the local terminal or an SSH channel runs it the same way.
pub struct Board {
    app: App,
    seen: Seen,
}

impl Board {
    pub fn load(
        source: &mut dyn BoardSource,
        clock: &dyn Clock,
        options: TuiOptions,
    ) -> Result<Self> {
        let mut seen = Seen::new(source, clock)?;
        let mut app = App::new(options, source.load()?, seen.today, clock.now());
        if let Some(action) = seen.sync.check(source, clock.now()) {
            app.update(action);
        }
        Ok(Self { app, seen })
    }

    /// The loop, on any crossterm-backed terminal: `terminal`'s viewport is the screen size, and
    /// `input` delivers keys, resizes and wake-ups.
    pub fn run_on<W: Write>(
        &mut self,
        terminal: &mut Terminal<CrosstermBackend<W>>,
        input: &mut dyn Input,
        source: &mut dyn BoardSource,
        clock: Arc<dyn Clock>,
    ) -> Result<Outcome> {
        let Self { app, seen } = self;
        let (idle_lock, kiosk) = (app.options().idle_lock, app.options().kiosk);
        let keymap = app.options().keymap.clone();
        let size = terminal.get_frame().area();
        app.update(Action::Resized {
            width: size.width,
            height: size.height,
        });
        // What the first load asked for (the open tasks) before the first frame.
        run_effects(app, source, clock.as_ref(), seen);

        let mut next_check = Instant::now() + TICK;
        let mut last_input = Instant::now();
        let mut outcome = Outcome::Quit;
        while !app.should_quit() {
            if app.is_dirty() {
                draw(terminal, app)?;
                app.mark_drawn();
            }
            let wait = next_check.saturating_duration_since(Instant::now());
            let mut next = input.next(wait)?;
            // Take everything already queued (a resize drag, a held key) before drawing once.
            while let Some(wake) = next {
                match wake {
                    Wake::Event(event) => {
                        if matches!(event, ct::Event::Key(_) | ct::Event::Mouse(_)) {
                            last_input = Instant::now();
                        }
                        if let ct::Event::Resize(width, height) = event {
                            // A fixed viewport (SSH) is not resized by ratatui itself.
                            terminal.resize(Rect::new(0, 0, width, height))?;
                        }
                        if let Some(action) = keymap.action_for(&event, app.screen()) {
                            app.update(action);
                            run_effects(app, source, clock.as_ref(), seen);
                        }
                    }
                    Wake::DataChanged => {
                        if let Some(action) = seen.check(source, clock.as_ref()) {
                            app.update(action);
                            run_effects(app, source, clock.as_ref(), seen);
                        }
                    }
                    Wake::Stop => return Ok(Outcome::Quit),
                }
                if app.should_quit() {
                    break;
                }
                next = input.next(Duration::ZERO)?;
            }
            // Checked on a deadline rather than only on timeout, so steady typing cannot starve it.
            if Instant::now() >= next_check {
                next_check = Instant::now() + TICK;
                if let Some(action) = seen.check(source, clock.as_ref()) {
                    app.update(action);
                    run_effects(app, source, clock.as_ref(), seen);
                }
                app.update(Action::Tick { now: clock.now() });
                if let Some(action) = seen.sync.check(source, clock.now()) {
                    app.update(action);
                }
                if idle_locked(idle_lock, kiosk, last_input.elapsed()) {
                    // A running meeting is stored, not lost, when the session locks.
                    if app.meeting().is_some() {
                        app.end_meeting_for_lock();
                        run_effects(app, source, clock.as_ref(), seen);
                    }
                    outcome = Outcome::IdleLocked;
                    break;
                }
            }
        }
        Ok(outcome)
    }
}

/// Carries out what the app queued, feeding each outcome back as an action. Writes go to the
/// local database only (never the network), so this is quick; after a save the board reloads at
/// once, since this connection's own commits do not change `data_version`.
pub fn run_effects(
    app: &mut App,
    source: &mut dyn BoardSource,
    clock: &dyn Clock,
    seen: &mut Seen,
) {
    // A reload queues one more round (the open tasks); the bound keeps a mistake from spinning.
    for _ in 0..8 {
        let effects = app.take_effects();
        if effects.is_empty() {
            return;
        }
        let actor = app.options().actor.clone();
        for effect in effects {
            let mut reload = false;
            let action = match effect {
                Effect::Save(command) => match source.apply(&actor, command) {
                    Ok(saved) => {
                        reload = true;
                        Action::Saved(saved)
                    }
                    Err(error) => {
                        tracing::info!(kind = ?std::mem::discriminant(&error), "save refused");
                        Action::SaveFailed(SaveFailure::from_store(&error))
                    }
                },
                Effect::Reload => {
                    reload = true;
                    Action::Notice("Reloaded.".into())
                }
                Effect::LoadContacts => {
                    Action::ContactsLoaded(source.contacts().map_err(|e| format!("{e:#}")))
                }
                Effect::LoadAudit(scope) => {
                    Action::AuditLoaded(source.audit(&scope).map_err(|e| format!("{e:#}")))
                }
                Effect::LoadStuck => {
                    Action::StuckLoaded(source.stuck_events().map_err(|e| format!("{e:#}")))
                }
                Effect::RetryEvent(event_id) => {
                    reload = true;
                    Action::SyncDone(
                        source
                            .retry_event(&actor, &event_id)
                            .map(|n| format!("{n} event(s) queued again"))
                            .map_err(|e| SaveFailure::from_store(&e)),
                    )
                }
                Effect::ResumeSync => {
                    reload = true;
                    Action::SyncDone(
                        source
                            .resume_sync(&actor)
                            .map(|was| {
                                if was {
                                    "resumed: every waiting event goes now".to_string()
                                } else {
                                    "nothing was held".to_string()
                                }
                            })
                            .map_err(|e| SaveFailure::from_store(&e)),
                    )
                }
                Effect::DiscardEvent { event_id, reason } => {
                    reload = true;
                    Action::SyncDone(
                        source
                            .discard_event(&actor, &event_id, &reason)
                            .map(|()| "event discarded".to_string())
                            .map_err(|e| SaveFailure::from_store(&e)),
                    )
                }
                Effect::LoadStats(query) => {
                    let rules = app.options().rules.clone();
                    let result = source.stats(&query, &rules);
                    Action::StatsLoaded {
                        query,
                        result: result.map(Box::new).map_err(|e| format!("{e:#}")),
                    }
                }
                Effect::RecordMeeting(record) => {
                    let ended = record.ended_at;
                    match source.record_meeting(&actor, &record) {
                        Ok(_) => {
                            reload = true;
                            Action::MeetingRecorded(Ok(ended))
                        }
                        Err(error) => {
                            tracing::info!(kind = ?std::mem::discriminant(&error), "meeting refused");
                            Action::MeetingRecorded(Err(SaveFailure::from_store(&error)))
                        }
                    }
                }
                Effect::LoadTasks => {
                    Action::TasksLoaded(source.open_tasks().map_err(|e| format!("{e:#}")))
                }
                Effect::LoadOwners => {
                    Action::OwnersLoaded(source.task_owners().map_err(|e| format!("{e:#}")))
                }
                Effect::RecordPart2View { person_id } => {
                    match source.record_part2_view(&actor, &person_id) {
                        Ok(()) => continue,
                        Err(e) => Action::Notice(format!("could not audit the Part 2 view: {e:#}")),
                    }
                }
            };
            app.update(action);
            if reload {
                app.update(seen.reload(source, clock));
                if let Some(action) = seen.sync.check(source, clock.now()) {
                    app.update(action);
                }
            }
        }
    }
}

/// A personal session left alone too long locks; the meeting-room kiosk never does, since it is
/// read-only presentation and nobody types at it.
fn idle_locked(limit: Option<Duration>, kiosk: bool, idle: Duration) -> bool {
    !kiosk && limit.is_some_and(|limit| idle >= limit)
}

/// What the board last loaded against.
pub struct Seen {
    version: i64,
    today: NaiveDate,
    /// The sync header and row marks, checked on the same tick.
    pub sync: sync_watch::SyncWatch,
}

impl Seen {
    /// What `source` holds now, before the first load.
    pub fn new(source: &mut dyn BoardSource, clock: &dyn Clock) -> Result<Self> {
        Ok(Self {
            version: source.data_version()?,
            today: clock.today(),
            sync: sync_watch::SyncWatch::new(),
        })
    }

    /// Reload when another session committed or the date rolled over. A failure is shown on the
    /// board and retried on the next tick, since `seen` only moves on success.
    fn check(&mut self, source: &mut dyn BoardSource, clock: &dyn Clock) -> Option<Action> {
        let today = clock.today();
        let version = match source.data_version() {
            Ok(version) => version,
            Err(error) => return Some(Action::LoadFailed(format!("{error:#}"))),
        };
        if version == self.version && today == self.today {
            return None;
        }
        Some(self.load_at(source, clock, version))
    }

    /// Loads now, whatever the version says (after this session's own save).
    pub fn reload(&mut self, source: &mut dyn BoardSource, clock: &dyn Clock) -> Action {
        match source.data_version() {
            Ok(version) => self.load_at(source, clock, version),
            Err(error) => Action::LoadFailed(format!("{error:#}")),
        }
    }

    fn load_at(&mut self, source: &mut dyn BoardSource, clock: &dyn Clock, version: i64) -> Action {
        let today = clock.today();
        match source.load() {
            Ok(records) => {
                self.version = version;
                self.today = today;
                self.sync.mark_stale();
                Action::Loaded {
                    records,
                    today,
                    now: clock.now(),
                }
            }
            Err(error) => Action::LoadFailed(format!("{error:#}")),
        }
    }
}

/// One frame, bracketed so the terminal shows it whole rather than painting it line by line.
fn draw<W: Write>(terminal: &mut Terminal<CrosstermBackend<W>>, app: &App) -> Result<()> {
    execute!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    let drawn = terminal.draw(|frame| view::draw(frame, app)).map(|_| ());
    // Close the bracket even when drawing failed, or the terminal would stop updating.
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(drawn?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::domain::{CustodyStatus, Facility, FacilityKind};
    use crate::domain::{Person, PersonName, ReleaseDate};
    use anyhow::anyhow;

    struct Fake {
        version: i64,
        fail: bool,
        loads: usize,
    }

    impl BoardSource for Fake {
        fn load(&mut self) -> Result<Vec<PersonRecord>> {
            if self.fail {
                return Err(anyhow!("database is locked"));
            }
            self.loads += 1;
            let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
            Ok(vec![PersonRecord::new(
                Person {
                    id: "p1".into(),
                    booking_id: "B1".into(),
                    name: PersonName::new("Doe", "Jay"),
                    date_of_birth: None,
                    facility: Facility {
                        id: "f".into(),
                        name: "F".into(),
                        kind: FacilityKind::AdultJail,
                    }
                    .into(),
                    unit: "1".into(),
                    youth: false,
                    booked_on: day,
                    custody: CustodyStatus::InCustody,
                    released_on: None,
                },
                ReleaseDate::unknown(),
            )])
        }
        fn data_version(&mut self) -> Result<i64> {
            Ok(self.version)
        }
    }

    #[test]
    fn idle_lock_spares_the_kiosk() {
        let ten = Some(Duration::from_secs(600));
        assert!(!idle_locked(ten, false, Duration::from_secs(599)));
        assert!(idle_locked(ten, false, Duration::from_secs(600)));
        assert!(!idle_locked(ten, true, Duration::from_secs(6000)));
        assert!(!idle_locked(None, false, Duration::from_secs(6000)));
    }

    #[test]
    fn reloads_only_on_a_commit_or_a_new_day_and_retries_failures() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
        let mut source = Fake {
            version: 1,
            fail: false,
            loads: 0,
        };
        let mut seen = Seen {
            version: 1,
            today: day,
            sync: sync_watch::SyncWatch::new(),
        };
        let clock = FixedClock::on(day);
        assert_eq!(
            seen.check(&mut source, &clock),
            None,
            "idle: nothing loaded"
        );
        assert_eq!(source.loads, 0);

        source.version = 2;
        source.fail = true;
        let failed = seen.check(&mut source, &clock);
        assert_eq!(
            failed,
            Some(Action::LoadFailed("database is locked".into()))
        );
        source.fail = false;
        assert!(
            matches!(seen.check(&mut source, &clock), Some(Action::Loaded { .. })),
            "a failed load is retried on the next tick"
        );
        assert_eq!(seen.check(&mut source, &clock), None);

        let tomorrow = FixedClock::on(day.succ_opt().unwrap_or_default());
        let reloaded = seen.check(&mut source, &tomorrow);
        assert!(
            matches!(&reloaded, Some(Action::Loaded { today, records, .. })
                if *today == tomorrow.today && records.len() == 1),
            "expected a reload for the new day, got {reloaded:?}"
        );
        assert_eq!(source.loads, 2);
    }
}
