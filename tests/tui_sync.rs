//! The board's sync header, row marks and the coordinator's sync panel, driven through
//! `App::update` against a real SQLite store (the demo fixtures, synthetic people).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::NaiveDate;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tempfile::TempDir;

use reentry_board::clock::{Clock, FixedClock};
use reentry_board::commands::StoreSource;
use reentry_board::domain::Role;
use reentry_board::store::{Actor, Delivery, Store};
use reentry_board::tui::dialog::{Dialog, Editor};
use reentry_board::tui::{Action, App, BoardSource, Seen, TuiOptions, run_effects, view};

fn today() -> NaiveDate {
    "2026-03-02".parse().unwrap()
}

fn count(path: &std::path::Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn screen_text(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| view::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..height {
        for x in 0..width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// A database seeded with the demo fixtures on a fixed day, as the coordinator.
fn demo_store(dir: &TempDir) -> (std::path::PathBuf, Arc<dyn Clock>, Store) {
    let path = dir.path().join("board.db");
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::on(today()));
    let mut store = Store::create(&path, clock.clone()).unwrap();
    let data = reentry_board::demo::fixture_data(today()).unwrap();
    store
        .seed(&Actor::new("coord.patel", Role::Coordinator), &data)
        .unwrap();
    (path, clock, store)
}

/// The coordinator's board on its own connection at 80x24.
fn coordinator_board(path: &std::path::Path, clock: &Arc<dyn Clock>) -> (StoreSource, Seen, App) {
    let mut source = StoreSource(Store::open(path, clock.clone()).unwrap());
    let mut options = TuiOptions::new("Test", "coord.patel (coordinator)", Role::Coordinator);
    options.actor = Actor::new("coord.patel", Role::Coordinator);
    let seen = Seen::new(&mut source, clock.as_ref()).unwrap();
    let mut app = App::new(options, source.load().unwrap(), today(), clock.now());
    app.update(Action::Resized {
        width: 80,
        height: 24,
    });
    (source, seen, app)
}

#[test]
fn header_marks_and_panel_retry_and_discard_are_audited() {
    let dir = TempDir::new().unwrap();
    let (path, clock, mut store) = demo_store(&dir);
    // The hub refused two events for good.
    let claimed = store.claim_due(clock.now(), 2).unwrap();
    assert_eq!(claimed.len(), 2);
    let outcomes: Vec<(i64, Delivery)> = claimed
        .iter()
        .map(|e| {
            (
                e.seq,
                Delivery::Dead {
                    error: "422 invalid: release_date".into(),
                },
            )
        })
        .collect();
    store.record_deliveries(clock.now(), &outcomes).unwrap();

    let (mut source, mut seen, mut app) = coordinator_board(&path, &clock);
    let action = seen
        .sync
        .check(&mut source, clock.now())
        .expect("a first state");
    app.update(action);
    let header = app.sync_header().unwrap();
    assert!(header.starts_with("✗ 2 REJECTED"), "{header}");
    let marked = app
        .rows()
        .iter()
        .filter(|r| app.is_undelivered(&r.record.person.id))
        .count();
    assert!(marked >= 1, "people with undelivered events are marked");
    app.mark_drawn();
    assert_eq!(
        seen.sync.check(&mut source, clock.now()),
        None,
        "idle: nothing new"
    );
    assert!(!app.is_dirty());

    let mut act = |app: &mut App, action: Action| {
        app.update(action);
        run_effects(app, &mut source, clock.as_ref(), &mut seen);
    };
    act(&mut app, Action::Open(Editor::SyncPanel));
    let Some(Dialog::Sync(panel)) = app.dialogs().last() else {
        panic!("the panel opens for a coordinator");
    };
    assert_eq!(panel.entries.as_ref().map(Vec::len), Some(2));
    insta::assert_snapshot!("sync_panel_80x24", screen_text(&app, 80, 24));

    let audits = count(&path, "SELECT COUNT(*) FROM audit");
    act(&mut app, Action::SyncRetry);
    assert_eq!(count(&path, "SELECT COUNT(*) FROM audit"), audits + 1);
    assert_eq!(
        count(&path, "SELECT COUNT(*) FROM outbox WHERE state = 'dead'"),
        1
    );

    act(&mut app, Action::SyncDiscard);
    act(&mut app, Action::DialogSubmit);
    let Some(Dialog::Form(d)) = app.dialogs().last() else {
        panic!("an empty reason keeps the form open");
    };
    assert!(
        d.form.fields[0].error.is_some(),
        "the error is next to the field"
    );
    for c in "duplicate of a paper record".chars() {
        act(&mut app, Action::DialogInput(c));
    }
    act(&mut app, Action::DialogSubmit);
    assert_eq!(count(&path, "SELECT COUNT(*) FROM audit"), audits + 2);
    assert_eq!(
        count(
            &path,
            "SELECT COUNT(*) FROM outbox WHERE state = 'discarded'"
        ),
        1
    );
    assert!(matches!(app.dialogs().last(), Some(Dialog::Sync(_))));
}

#[test]
fn a_paused_sender_is_resumed_from_the_panel_and_audited() {
    let dir = TempDir::new().unwrap();
    let (path, clock, mut store) = demo_store(&dir);
    store.pause_sync(clock.now(), "401 unauthorized").unwrap();

    let (mut source, mut seen, mut app) = coordinator_board(&path, &clock);
    let action = seen.sync.check(&mut source, clock.now()).unwrap();
    app.update(action);
    let mut act = |app: &mut App, action: Action| {
        app.update(action);
        run_effects(app, &mut source, clock.as_ref(), &mut seen);
    };
    act(&mut app, Action::Open(Editor::SyncPanel));
    let screen = screen_text(&app, 80, 24);
    assert!(
        screen.contains("Sending is paused: fix the token or certificate, then u resumes."),
        "{screen}"
    );
    assert!(
        screen.contains("The server said: 401 unauthorized"),
        "the server's words, e.g. a FHIR server's OperationOutcome: {screen}"
    );
    let audits = count(
        &path,
        "SELECT COUNT(*) FROM audit WHERE kind = 'sync_resumed'",
    );
    act(&mut app, Action::SyncResume);
    assert_eq!(
        count(
            &path,
            "SELECT COUNT(*) FROM audit WHERE kind = 'sync_resumed'"
        ),
        audits + 1
    );
    assert_eq!(
        count(
            &path,
            "SELECT COUNT(*) FROM sync_state WHERE paused_reason IS NULL"
        ),
        1
    );
    let screen = screen_text(&app, 80, 24);
    assert!(screen.contains("resumed"), "{screen}");
    assert!(!screen.contains("Sending is paused"), "{screen}");
}

/// A long Retry-After outlives the hub's trouble: the panel says until when events wait and
/// that `u` sends them now, and `u` lifts the hold.
#[test]
fn a_hold_is_named_in_the_panel_and_lifted_with_u() {
    let dir = TempDir::new().unwrap();
    let (path, clock, mut store) = demo_store(&dir);
    let until = clock.now() + chrono::TimeDelta::hours(1);
    store
        .note_sync_attempt(clock.now(), Some(until), Some("503 unavailable"))
        .unwrap();

    let (mut source, mut seen, mut app) = coordinator_board(&path, &clock);
    let action = seen.sync.check(&mut source, clock.now()).unwrap();
    app.update(action);
    let header = app.sync_header().unwrap();
    assert!(header.starts_with("! OFFLINE, retry at "), "{header}");
    let mut act = |app: &mut App, action: Action| {
        app.update(action);
        run_effects(app, &mut source, clock.as_ref(), &mut seen);
    };
    act(&mut app, Action::Open(Editor::SyncPanel));
    let screen = screen_text(&app, 80, 24);
    let at = until.with_timezone(&chrono::Local).format("%H:%M");
    assert!(
        screen.contains(&format!(
            "Events wait until {at} before the next try; u sends them now."
        )),
        "{screen}"
    );
    act(&mut app, Action::SyncResume);
    assert_eq!(
        count(
            &path,
            "SELECT COUNT(*) FROM sync_state WHERE hold_until IS NULL"
        ),
        1
    );
    let screen = screen_text(&app, 80, 24);
    assert!(screen.contains("every waiting event goes now"), "{screen}");
}

#[test]
fn other_roles_see_the_panel_greyed_with_the_reason() {
    let options = TuiOptions::new("Test", "nurse.kim (nurse)", Role::Nurse);
    let mut app = App::new(options, Vec::new(), today(), chrono::Utc::now());
    let why = app.editor_state(Editor::SyncPanel).unwrap_err();
    assert!(why.contains("nurse"), "{why}");
    app.update(Action::Open(Editor::SyncPanel));
    assert!(app.dialogs().is_empty());
    assert!(app.notice().unwrap().contains("sync panel"));
}
