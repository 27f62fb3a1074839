//! One SSH session's board, on its own thread: its own store connection, App and screen. The
//! loop is [`crate::tui::Board::run_on`], the same as on a local terminal.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use anyhow::Result;
use crossterm::cursor;
use crossterm::execute;
use crossterm::terminal::{EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::ServeContext;
use super::sessions::{SessionId, Sessions};
use crate::domain::{Contact, PersonRecord, Role};
use crate::store::{Actor, AuditEntry, Command, Saved, Store, StoreError};
use crate::theme::ColorChoice;
use crate::tui::effect::AuditScope;
use crate::tui::{Board, BoardSource, Outcome, Wake};

/// Who is on the other end, as authentication established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub login: String,
    /// `SHA256:...` of the key they signed in with.
    pub fingerprint: String,
    pub peer: Option<SocketAddr>,
}

impl Identity {
    /// What every audit row of the session records besides the login.
    pub fn via(&self) -> String {
        match self.peer {
            Some(peer) => format!("ssh key {} from {}", self.fingerprint, peer.ip()),
            None => format!("ssh key {}", self.fingerprint),
        }
    }
}

/// The client's terminal as its pty request and environment describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTerminal {
    pub cols: u16,
    pub rows: u16,
    /// `TERM` and whatever the client sent with `SendEnv` that bears on colour.
    pub env: HashMap<String, String>,
}

/// The board's data for one session, and its way to write: every write goes through
/// [`SessionSource::commit`] with the session's actor, which then wakes the other sessions.
pub struct SessionSource {
    store: Store,
    actor: Actor,
    sessions: Arc<Sessions>,
    id: SessionId,
}

impl SessionSource {
    pub fn open(
        ctx: &ServeContext,
        identity: &Identity,
        sessions: Arc<Sessions>,
        id: SessionId,
    ) -> Result<Self> {
        let mut store = Store::open(&ctx.db, ctx.clock.clone())?;
        store.set_permissions(ctx.config.permission_matrix());
        store.use_board_rules(&ctx.config.rules)?;
        let role = store.role_of(&identity.login)?.unwrap_or(Role::Viewer);
        let actor = Actor {
            login: identity.login.clone(),
            role,
            via: Some(identity.via()),
        };
        Ok(Self {
            store,
            actor,
            sessions,
            id,
        })
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Runs one write as this session's user; on success the other sessions reload at once.
    /// (The editing dialogs' save path calls this.)
    pub fn commit<T>(
        &mut self,
        write: impl FnOnce(&mut Store, &Actor) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let done = write(&mut self.store, &self.actor)?;
        self.sessions.changed(self.id);
        Ok(done)
    }
}

impl BoardSource for SessionSource {
    fn load(&mut self) -> Result<Vec<PersonRecord>> {
        Ok(self.store.load_records()?)
    }

    fn data_version(&mut self) -> Result<i64> {
        Ok(self.store.data_version()?)
    }

    /// Always as this session's own actor (with its key and address), whatever the caller holds.
    fn apply(&mut self, _actor: &Actor, command: Command) -> Result<Saved, StoreError> {
        self.commit(|store, actor| store.apply(actor, command))
    }

    fn contacts(&mut self) -> Result<Vec<Contact>> {
        Ok(self.store.contacts()?)
    }

    fn audit(&mut self, scope: &AuditScope) -> Result<Vec<AuditEntry>> {
        Ok(match scope {
            AuditScope::Person(id) => self.store.audit_for(id)?,
            AuditScope::Global(filter) => self.store.audit_search(filter)?,
        })
    }

    fn record_part2_view(&mut self, _actor: &Actor, person_id: &str) -> Result<()> {
        // An audit row only: other sessions have nothing new to show.
        self.store.record_part2_view(&self.actor, person_id)?;
        Ok(())
    }

    fn sync_status(
        &mut self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<crate::sync::SyncStatus>> {
        Ok(Some(crate::sync::SyncStatus::read(&self.store, now)?))
    }

    fn undelivered(&mut self) -> Result<std::collections::HashSet<String>> {
        Ok(self.store.people_with_undelivered()?)
    }

    fn stuck_events(&mut self) -> Result<Vec<crate::store::StuckEvent>> {
        Ok(self.store.stuck_events()?)
    }

    fn stats(
        &mut self,
        query: &crate::report::stats::StatsQuery,
        rules: &crate::domain::Rules,
    ) -> Result<crate::report::stats::Stats> {
        Ok(crate::report::stats::load(&self.store, rules, query)?)
    }

    /// As this session's own actor, like every other write.
    fn retry_event(&mut self, _actor: &Actor, event_id: &str) -> Result<i64, StoreError> {
        self.commit(|store, actor| store.retry_event(actor, event_id))
    }

    fn resume_sync(&mut self, _actor: &Actor) -> Result<bool, StoreError> {
        self.commit(|store, actor| store.resume_sync(actor))
    }

    fn discard_event(
        &mut self,
        _actor: &Actor,
        event_id: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.commit(|store, actor| store.discard_event(actor, event_id, reason))
    }

    /// As this session's own actor; the other sessions see the new tasks at once.
    fn record_meeting(
        &mut self,
        _actor: &Actor,
        record: &crate::meeting::MeetingRecord,
    ) -> Result<String, StoreError> {
        self.commit(|store, actor| store.record_meeting(actor, record))
    }

    fn open_tasks(&mut self) -> Result<Vec<crate::meeting::OpenTask>> {
        Ok(self.store.open_tasks()?)
    }

    fn task_owners(&mut self) -> Result<Vec<String>> {
        Ok(self.store.task_owners()?)
    }
}

/// Runs the board until the user quits, the idle lock, the server stopping or the client going;
/// then leaves one plain line saying why (nothing on a plain quit).
pub fn run(
    ctx: &ServeContext,
    identity: &Identity,
    client: &ClientTerminal,
    id: SessionId,
    mut input: Receiver<Wake>,
    out: &mut impl Write,
) {
    let ended = board(ctx, identity, client, id, &mut input, out);
    let line = match ended {
        Ok(Outcome::Quit) if ctx.sessions.is_stopping() => {
            Some("reentry-board: the server is stopping; goodbye.".to_string())
        }
        Ok(Outcome::Quit) => None,
        Ok(Outcome::IdleLocked) => Some(format!(
            "reentry-board: locked after {} minutes without a key",
            ctx.config.idle_lock_minutes
        )),
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "ssh session failed");
            Some(format!("reentry-board: {error:#}"))
        }
    };
    if let Some(line) = line {
        let _ = write!(out, "{line}\r\n");
    }
    let _ = out.flush();
}

fn board(
    ctx: &ServeContext,
    identity: &Identity,
    client: &ClientTerminal,
    id: SessionId,
    input: &mut Receiver<Wake>,
    out: &mut impl Write,
) -> Result<Outcome> {
    let mut source = SessionSource::open(ctx, identity, ctx.sessions.clone(), id)?;
    let depth = ColorChoice::Auto.resolve(|key| client.env.get(key).cloned());
    let options = (ctx.options)(source.actor(), depth)?;
    let mut board = Board::load(&mut source, ctx.clock.as_ref(), options)?;
    tracing::info!(role = source.actor().role.code(), "ssh board opened");

    let viewport = Viewport::Fixed(Rect::new(0, 0, client.cols, client.rows));
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(&mut *out),
        TerminalOptions { viewport },
    )?;
    execute!(terminal.backend_mut(), EnterAlternateScreen, cursor::Hide)?;
    let outcome = board.run_on(&mut terminal, input, &mut source, ctx.clock.clone());
    // Given back however the loop ended, so the goodbye line lands on the client's normal screen.
    let _ = execute!(
        terminal.backend_mut(),
        EndSynchronizedUpdate,
        LeaveAlternateScreen,
        cursor::Show
    );
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::config::Config;
    use crate::domain::{Certainty, ChangeReason};
    use crate::ssh::key_ring::KeyRing;
    use crate::ssh::sessions::AuthFailures;
    use crate::store::ChangeReleaseDate;
    use crate::tui::TuiOptions;
    use chrono::NaiveDate;
    use std::sync::mpsc::sync_channel;
    use std::time::Duration;

    fn serve_context(dir: &std::path::Path) -> ServeContext {
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(FixedClock::on(day));
        let db = dir.join("board.db");
        let mut store = Store::create(&db, clock.clone()).unwrap();
        let seed = crate::demo::fixture_data(day).unwrap();
        let setup = Actor::new("setup", Role::Coordinator);
        store.seed(&setup, &seed).unwrap();
        store
            .add_user(&setup, "alice", "Alice", Role::Coordinator)
            .unwrap();
        let keys_file = dir.join("authorized_keys");
        std::fs::write(&keys_file, "").unwrap();
        ServeContext {
            db,
            clock,
            config: Config::default(),
            options: Box::new(|actor, _| {
                Ok(TuiOptions::new("Test", actor.login.clone(), actor.role))
            }),
            keys: KeyRing::open(keys_file).unwrap().0,
            sessions: Sessions::new(4),
            failures: AuthFailures::new(3, Duration::from_secs(60)),
        }
    }

    fn identity(login: &str) -> Identity {
        Identity {
            login: login.into(),
            fingerprint: "SHA256:abc".into(),
            peer: Some("10.0.0.5:50022".parse().unwrap()),
        }
    }

    /// The path a session's save takes (`commit`) with a real database: the audit row carries
    /// the session's key and address, and the other session is woken and sees the change.
    #[test]
    fn a_commit_is_audited_with_the_key_and_wakes_the_other_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = serve_context(dir.path());
        let (alice_tx, alice_rx) = sync_channel(8);
        let (bob_tx, bob_rx) = sync_channel(8);
        let alice_ticket = ctx.sessions.join(alice_tx).unwrap();
        let bob_ticket = ctx.sessions.join(bob_tx).unwrap();
        let mut alice = SessionSource::open(
            &ctx,
            &identity("alice"),
            ctx.sessions.clone(),
            alice_ticket.id,
        )
        .unwrap();
        let mut bob =
            SessionSource::open(&ctx, &identity("bob"), ctx.sessions.clone(), bob_ticket.id)
                .unwrap();
        assert_eq!(alice.actor().role, Role::Coordinator);
        assert_eq!(bob.actor().role, Role::Viewer, "unknown logins only view");
        assert_eq!(
            alice.actor().via.as_deref(),
            Some("ssh key SHA256:abc from 10.0.0.5")
        );

        let before = bob.data_version().unwrap();
        let first = alice.load().unwrap().remove(0);
        let date = NaiveDate::from_ymd_opt(2026, 3, 20).unwrap();
        let saved = alice
            .commit(|store, actor| {
                store.apply(
                    actor,
                    ChangeReleaseDate {
                        person_id: first.person.id.clone(),
                        version: first.version,
                        date: Some(date),
                        certainty: Certainty::Confirmed,
                        kind: None,
                        source: None,
                        reason: ChangeReason::Correction,
                        reason_text: String::new(),
                    },
                )
            })
            .unwrap();

        assert_eq!(bob_rx.try_recv(), Ok(Wake::DataChanged));
        assert!(alice_rx.try_recv().is_err());
        assert_ne!(bob.data_version().unwrap(), before);
        let seen = bob.load().unwrap();
        let person = seen
            .iter()
            .find(|r| r.person.id == saved.person_id)
            .unwrap();
        assert_eq!(person.release.date, Some(date));

        let audit = alice.store.audit_for(&saved.person_id).unwrap();
        let last = audit.last().unwrap();
        assert_eq!(last.actor, "alice");
        assert_eq!(
            last.via.as_deref(),
            Some("ssh key SHA256:abc from 10.0.0.5")
        );
    }
}
