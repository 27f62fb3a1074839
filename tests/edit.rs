//! Editing through the TUI: dialogs driven by `App::update` with a fixed clock, the effects run
//! against a real SQLite store through the same source the binary uses, and what the store then
//! holds. Every record is synthetic (the demo fixtures).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tempfile::TempDir;

use reentry_board::clock::{Clock, FixedClock};
use reentry_board::commands::StoreSource;
use reentry_board::domain::{
    ContactKind, MilestoneCode, PermissionMatrix, PersonRecord, Role, SupplyStatus,
};
use reentry_board::store::{Actor, ChangeReleaseDate, Store};
use reentry_board::tui::dialog::{Banner, Dialog, Editor};
use reentry_board::tui::effect::SaveFailure;
use reentry_board::tui::keymap::Screen;
use reentry_board::tui::{Action, App, BoardSource, Seen, TuiOptions, run_effects, view};

fn today() -> NaiveDate {
    "2026-03-02".parse().unwrap()
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::on(today()))
}

fn login(role: Role) -> &'static str {
    match role {
        Role::Records => "records.diaz",
        Role::Nurse => "nurse.kim",
        Role::CareManager => "cm.solis",
        Role::Coordinator => "coord.patel",
        Role::Probation => "po.brandt",
        Role::Eligibility => "elig.chen",
        Role::Viewer => "display.room1",
    }
}

fn seeded(dir: &TempDir) -> PathBuf {
    let path = dir.path().join("board.db");
    let mut store = Store::create(&path, clock()).unwrap();
    let data = reentry_board::demo::fixture_data(today()).unwrap();
    store
        .seed(&Actor::new("coord.patel", Role::Coordinator), &data)
        .unwrap();
    path
}

/// The board as one user sees it, on its own connection to the file.
struct Session {
    app: App,
    source: StoreSource,
    seen: Seen,
    clock: Arc<dyn Clock>,
}

impl Session {
    fn open(path: &Path, role: Role) -> Self {
        Self::with_permissions(path, role, PermissionMatrix::default())
    }

    fn with_permissions(path: &Path, role: Role, ui: PermissionMatrix) -> Self {
        let clock = clock();
        let store = Store::open(path, clock.clone()).unwrap();
        let mut source = StoreSource(store);
        let mut options = TuiOptions::new("Test", format!("{} ({})", login(role), role), role);
        options.actor = Actor::new(login(role), role);
        options.permissions = ui;
        let seen = Seen::new(&mut source, clock.as_ref()).unwrap();
        let mut app = App::new(options, source.load().unwrap(), today(), clock.now());
        app.update(Action::Resized {
            width: 80,
            height: 24,
        });
        Self {
            app,
            source,
            seen,
            clock,
        }
    }

    fn act(&mut self, action: Action) {
        self.app.update(action);
        run_effects(
            &mut self.app,
            &mut self.source,
            self.clock.as_ref(),
            &mut self.seen,
        );
    }

    fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.act(Action::DialogInput(c));
        }
    }

    fn clear_field(&mut self) {
        for _ in 0..40 {
            self.act(Action::DialogBackspace);
        }
    }

    /// Selects a person by booking number, through the search line.
    fn select(&mut self, booking: &str) {
        self.act(Action::ClearFilters);
        self.act(Action::OpenSearch);
        for c in booking.chars() {
            self.act(Action::SearchInput(c));
        }
        self.act(Action::KeepSearch);
        assert_eq!(
            self.app
                .selected_row()
                .map(|r| r.record.person.booking_id.as_str()),
            Some(booking)
        );
    }

    fn store(&self) -> &Store {
        &self.source.0
    }

    fn record(&self, booking: &str) -> PersonRecord {
        self.store()
            .load_records()
            .unwrap()
            .into_iter()
            .find(|r| r.person.booking_id == booking)
            .unwrap()
    }

    fn counts(&self) -> (i64, i64) {
        (
            self.store().count_rows("audit").unwrap(),
            self.store().count_rows("outbox").unwrap(),
        )
    }

    fn form_error(&self, field: usize) -> Option<String> {
        match self.app.dialogs().last() {
            Some(Dialog::Form(d)) => d.form.fields.get(field).and_then(|f| f.error.clone()),
            other => panic!("no form open: {other:?}"),
        }
    }

    fn banner(&self) -> Option<Banner> {
        match self.app.dialogs().last() {
            Some(Dialog::Form(d)) => d.form.banner.clone(),
            Some(Dialog::Checklist(c)) => c.banner.clone(),
            Some(Dialog::Picker(p)) => p.banner.clone(),
            _ => None,
        }
    }

    fn screen_text(&self, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| view::draw(f, &self.app)).unwrap();
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
}

const MOVED: &str = "B-25-003291";

/// Fills the release-date dialog: date, then the reason (court order) two fields below the source.
fn fill_release_date(s: &mut Session, date: &str) {
    s.act(Action::Open(Editor::ReleaseDate));
    assert_eq!(s.app.screen(), Screen::Form);
    s.clear_field();
    s.type_text(date);
    s.act(Action::FieldNext); // certainty
    s.act(Action::FieldNext); // type
    s.act(Action::FieldNext); // source
    s.act(Action::FieldNext); // reason
    s.act(Action::FieldRight); // court order
}

#[test]
fn release_date_dialog_saves_one_audit_row_and_one_event_and_moves_due_dates() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut s = Session::open(&path, Role::Coordinator);
    s.select(MOVED);
    let before = s.record(MOVED);
    let dues_before = s.app.selected_row().unwrap().readiness.milestones.clone();
    let (audit, outbox) = s.counts();
    let new = today().checked_add_days(Days::new(40)).unwrap();

    fill_release_date(&mut s, &new.to_string());
    s.act(Action::DialogSubmit);

    assert!(s.app.dialogs().is_empty(), "saved dialogs close");
    assert_eq!(s.app.notice(), Some("Saved: release date."));
    let after = s.record(MOVED);
    assert_eq!(after.release.date, Some(new));
    assert_eq!(after.version, before.version + 1);
    assert_eq!(
        after.release_history.len(),
        before.release_history.len() + 1
    );
    assert_eq!(s.counts(), (audit + 1, outbox + 1));
    // The board reloaded at once and the due dates moved with the date.
    let row = s.app.selected_row().unwrap();
    assert_eq!(row.record.release.date, Some(new));
    let delta = new - before.release.date.unwrap();
    let mut moved = 0;
    for (b, a) in dues_before.iter().zip(&row.readiness.milestones) {
        assert_eq!(b.code, a.code);
        if let (Some(b), Some(a)) = (b.due, a.due) {
            assert_eq!(a - b, delta, "{:?} moves with the date", row.readiness);
            moved += 1;
        }
    }
    assert!(moved > 0, "some milestone is still due");
    let _ = MilestoneCode::WarmHandoff;
    assert!(
        !s.app.is_changed(&row.record.person.id),
        "one's own save is not 'changed by someone else'"
    );
}

#[test]
fn bad_input_is_refused_next_to_the_field_and_nothing_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut s = Session::open(&path, Role::Records);
    s.select(MOVED);
    let counts = s.counts();
    let before = s.record(MOVED);

    let cases = [
        ("2026-02-30", "2026-02-30 is not a day on the calendar"),
        (
            "2034-03-01",
            "2034-03-01 is more than 5 years away; check the year",
        ),
        (
            "2025-06-01",
            "2025-06-01 is 274 days ago; a release date cannot be long past",
        ),
        ("soon", "`soon` is not a date; type YYYY-MM-DD"),
    ];
    for (typed, message) in cases {
        fill_release_date(&mut s, typed);
        s.act(Action::DialogSubmit);
        assert_eq!(s.form_error(0).as_deref(), Some(message), "{typed}");
        assert_eq!(s.banner(), Some(Banner::Invalid));
        s.act(Action::DialogCancel);
    }
    // No reason chosen, then "other" without words.
    s.act(Action::Open(Editor::ReleaseDate));
    s.clear_field();
    s.type_text("2026-04-01");
    s.act(Action::DialogSubmit);
    assert_eq!(
        s.form_error(4).as_deref(),
        Some("choose why the date changes")
    );
    for _ in 0..4 {
        s.act(Action::FieldNext);
    }
    s.act(Action::FieldLeft); // wraps to the last reason: other
    s.act(Action::DialogSubmit);
    assert_eq!(
        s.form_error(5).as_deref(),
        Some("say in a few words why (reason \"other\")")
    );
    let text = s.screen_text(80, 24);
    assert!(text.contains("say in a few words why"), "{text}");
    assert!(text.contains("nothing was saved"), "{text}");
    assert_eq!(s.counts(), counts, "nothing written");
    assert_eq!(s.record(MOVED), before);
}

#[test]
fn actions_the_role_may_not_do_are_greyed_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let matrix = PermissionMatrix::default();
    for role in Role::all() {
        let mut s = Session::open(&path, role);
        s.select(MOVED);
        for editor in Editor::ALL {
            let state = s.app.editor_state(editor);
            let expect = if role == Role::Viewer && editor.writes() {
                false
            } else {
                editor.permissions().is_empty()
                    || editor.permissions().iter().any(|p| {
                        matrix.grant(role, *p).possible()
                            && matrix.allows(
                                role,
                                *p,
                                reentry_board::domain::role::Context {
                                    own_organisation: true,
                                    part2_consent: true,
                                    consent_names_probation: true,
                                },
                            )
                    })
            };
            assert_eq!(state.is_ok(), expect, "{role:?} {editor:?}: {state:?}");
        }
    }
    let mut nurse = Session::open(&path, Role::Nurse);
    nurse.select(MOVED);
    nurse.act(Action::Open(Editor::ReleaseDate));
    assert!(nurse.app.dialogs().is_empty());
    assert_eq!(
        nurse.app.notice(),
        Some("release date: the nurse role may not do this (set release date)")
    );
    nurse.act(Action::OpenDetail);
    for _ in 0..200 {
        nurse.act(Action::MoveDown);
    }
    // The list of edits is in the help overlay, not the detail view's body (#15).
    nurse.act(Action::ToggleHelp);
    let text = nurse.screen_text(120, 60);
    assert!(
        text.contains("e      release date — the nurse role may not do this (set release date)"),
        "{text}"
    );
}

#[test]
fn a_refusal_by_the_store_is_shown_when_the_ui_allowed_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    // A UI matrix that (wrongly) lets nurses set dates; the store keeps the default.
    let ui = PermissionMatrix::with_overrides([(
        Role::Nurse,
        reentry_board::domain::Action::SetReleaseDate,
        reentry_board::domain::Grant::Yes,
    )]);
    let mut s = Session::with_permissions(&path, Role::Nurse, ui);
    s.select(MOVED);
    let counts = s.counts();
    fill_release_date(&mut s, "2026-04-10");
    s.act(Action::DialogSubmit);
    assert_eq!(
        s.banner(),
        Some(Banner::Failed(SaveFailure::Denied(
            "the nurse role may not set release date".into()
        )))
    );
    assert_eq!(s.counts(), counts);
}

#[test]
fn a_conflict_says_who_changed_it_keeps_the_input_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut mine = Session::open(&path, Role::Coordinator);
    let mut theirs = Session::open(&path, Role::Records);
    mine.select(MOVED);
    fill_release_date(&mut mine, "2026-05-01");

    // Another session (another connection to the file) changes the same person first.
    let record = theirs.record(MOVED);
    theirs
        .source
        .apply(
            &Actor::new("records.diaz", Role::Records),
            ChangeReleaseDate {
                person_id: record.person.id.clone(),
                version: record.version,
                date: Some("2026-04-20".parse().unwrap()),
                certainty: reentry_board::domain::Certainty::Confirmed,
                kind: None,
                source: None,
                reason: reentry_board::domain::ChangeReason::CourtOrder,
                reason_text: String::new(),
            }
            .into(),
        )
        .unwrap();
    let counts = mine.counts();
    mine.act(Action::DialogSubmit);
    let Some(Banner::Failed(SaveFailure::Conflict {
        changed_by, what, ..
    })) = mine.banner()
    else {
        panic!("expected a conflict, got {:?}", mine.banner());
    };
    assert_eq!(changed_by, "records.diaz");
    assert_eq!(what, format!("booking {MOVED}"));
    assert_eq!(mine.counts(), counts, "nothing written");
    assert_eq!(
        mine.record(MOVED).release.date,
        Some("2026-04-20".parse().unwrap()),
        "their change stands"
    );
    let text = mine.screen_text(80, 24);
    assert!(text.contains("changed by records.diaz"), "{text}");
    assert!(
        text.contains("2026-05-01"),
        "the input stays visible:\n{text}"
    );

    // Reload keeps the input and takes the new version; a second Enter saves over what is there.
    mine.act(Action::DialogReload);
    assert_eq!(mine.banner(), Some(Banner::Reloaded));
    assert!(mine.screen_text(80, 24).contains("Now: 2026-04-20"));
    mine.act(Action::DialogSubmit);
    assert!(mine.app.dialogs().is_empty());
    assert_eq!(
        mine.record(MOVED).release.date,
        Some("2026-05-01".parse().unwrap())
    );
}

#[test]
fn a_database_error_keeps_the_input_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut s = Session::open(&path, Role::Coordinator);
    s.source
        .0
        .set_busy_timeout(std::time::Duration::from_millis(50))
        .unwrap();
    s.select(MOVED);
    fill_release_date(&mut s, "2026-04-11");
    let before = s.record(MOVED);
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    s.act(Action::DialogSubmit);
    let Some(Banner::Failed(SaveFailure::Failed(message))) = s.banner() else {
        panic!("expected a database error, got {:?}", s.banner());
    };
    assert!(message.contains("locked"), "{message}");
    blocker.execute_batch("ROLLBACK").unwrap();
    assert_eq!(s.record(MOVED), before);
    match s.app.dialogs().last() {
        Some(Dialog::Form(d)) => assert_eq!(d.form.text(0), "2026-04-11"),
        other => panic!("{other:?}"),
    }
    // Once the lock is gone, the same Enter saves.
    s.act(Action::DialogSubmit);
    assert!(s.app.dialogs().is_empty());
}

#[test]
fn flags_show_on_the_board_until_the_meeting_decides() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut po = Session::open(&path, Role::Probation);
    po.select("B-25-003515");
    let counts = po.counts();
    po.act(Action::Open(Editor::FlagDate));
    po.type_text("2026-03-30");
    po.act(Action::FieldNext);
    po.act(Action::FieldRight); // court order
    po.act(Action::DialogSubmit);
    assert!(po.app.dialogs().is_empty(), "{:?}", po.banner());
    assert_eq!(po.counts(), (counts.0 + 1, counts.1 + 1));

    let mut coord = Session::open(&path, Role::Coordinator);
    coord.select("B-25-003515");
    let row = coord.app.selected_row().unwrap().clone();
    assert!(
        view::board::Flags::of(&row, &coord.app).date_changed,
        "an open flag marks the row"
    );
    coord.act(Action::OpenDetail);
    assert!(
        coord
            .screen_text(120, 40)
            .contains("proposed 2026-03-30 by po.brandt")
    );
    coord.act(Action::Open(Editor::DecideFlag));
    coord.act(Action::DialogSubmit); // accept, projected
    assert!(coord.app.dialogs().is_empty(), "{:?}", coord.banner());
    let r = coord.record("B-25-003515");
    assert_eq!(r.release.date, Some("2026-03-30".parse().unwrap()));
    assert!(
        r.date_flags
            .iter()
            .all(|f| f.status != reentry_board::domain::FlagStatus::Open)
    );

    // The old date was inside T-14: the meeting acknowledges the change.
    let waiting = r.unacknowledged_changes(14);
    assert!(waiting >= 1);
    coord.act(Action::Open(Editor::Acknowledge));
    coord.act(Action::DialogSubmit);
    assert!(coord.app.dialogs().is_empty(), "{:?}", coord.banner());
    assert_eq!(
        coord.record("B-25-003515").unacknowledged_changes(14),
        waiting - 1
    );
}

#[test]
fn a_nurse_walks_her_work_confirming_medications() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut s = Session::open(&path, Role::Nurse);
    s.select("B-25-003422");
    s.act(Action::Open(Editor::Checklist));
    assert_eq!(s.app.screen(), Screen::Checklist);
    let counts = s.counts();

    // to order -> ready skips "ordered": refused before anything is saved.
    s.act(Action::StatusNext);
    s.act(Action::StatusNext);
    s.act(Action::ConfirmItem);
    assert_eq!(s.counts(), counts);
    assert!(
        s.screen_text(80, 24).contains("without \"ordered\""),
        "{}",
        s.screen_text(80, 24)
    );

    s.act(Action::StatusPrev);
    s.act(Action::ConfirmItem);
    assert_eq!(s.counts(), (counts.0 + 1, counts.1 + 1));
    let med = s.record("B-25-003422").medications[0].clone();
    assert_eq!(med.supply, SupplyStatus::Ordered);
    let confirmed = med.confirmed.unwrap();
    assert_eq!(confirmed.by, "nurse.kim");
    assert_eq!(confirmed.at, s.clock.now());
    assert!(s.screen_text(80, 24).contains("by nurse.kim 03-02"));

    // Back one step undoes a confirmation: it asks why, and the audit row keeps the reason.
    s.act(Action::StatusPrev);
    s.act(Action::ConfirmItem);
    assert_eq!(
        s.counts(),
        (counts.0 + 1, counts.1 + 1),
        "nothing saved yet"
    );
    s.act(Action::DialogSubmit);
    assert_eq!(s.form_error(0).as_deref(), Some("say why it goes back"));
    s.type_text("pharmacy lost the order");
    s.act(Action::DialogSubmit);
    assert_eq!(s.counts(), (counts.0 + 2, counts.1 + 2));
    assert_eq!(
        s.record("B-25-003422").medications[0].supply,
        SupplyStatus::ToOrder
    );
    s.act(Action::StatusNext);
    s.act(Action::ConfirmItem);
    assert_eq!(
        s.record("B-25-003422").medications[0].supply,
        SupplyStatus::Ordered
    );

    // Naloxone is the next item; DME is greyed for nobody here (nurses confirm both).
    s.act(Action::MoveDown);
    s.act(Action::StatusNext);
    s.act(Action::ConfirmItem);
    assert_eq!(
        s.record("B-25-003422").naloxone,
        Some(reentry_board::domain::NaloxoneStatus::Offered)
    );

    // Add one, then remove it with a reason (asked for).
    s.act(Action::ItemAdd);
    s.act(Action::FieldNext);
    s.type_text("Folic acid 1 mg");
    s.act(Action::DialogSubmit);
    assert_eq!(s.record("B-25-003422").medications.len(), 2);
    s.act(Action::MoveFirst);
    s.act(Action::MoveDown);
    s.act(Action::ItemRemove);
    s.act(Action::DialogSubmit);
    assert_eq!(s.form_error(0).as_deref(), Some("say why it is removed"));
    s.type_text("entered twice");
    s.act(Action::DialogSubmit);
    assert_eq!(s.record("B-25-003422").medications.len(), 1);

    // n / N: the next person in "my work" without leaving the checklist.
    s.act(Action::Back);
    s.act(Action::ClearFilters);
    s.act(Action::ToggleMyWork);
    s.act(Action::MoveFirst);
    assert!(s.app.visible_count() > 1 && s.app.visible_count() < s.app.rows().len());
    let first = s.app.selected_id().unwrap().to_string();
    s.act(Action::Open(Editor::Checklist));
    s.act(Action::NextPerson);
    assert_eq!(s.app.screen(), Screen::Checklist);
    let Some(Dialog::Checklist(c)) = s.app.dialogs().last() else {
        panic!()
    };
    assert_ne!(c.person_id, first);
    assert_eq!(Some(c.person_id.as_str()), s.app.selected_id());
    s.act(Action::PrevPerson);
    assert_eq!(s.app.selected_id(), Some(first.as_str()));
}

#[test]
fn the_care_team_picker_searches_the_directory_with_caseloads() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut s = Session::open(&path, Role::Coordinator);
    s.select("B-25-003422");
    let counts = s.counts();
    s.act(Action::Open(Editor::CareTeam));
    assert_eq!(s.app.screen(), Screen::Picker);
    s.type_text("solis");
    let text = s.screen_text(80, 24);
    assert!(text.contains("Renata Solís"), "{text}");
    assert!(text.contains("caseload"), "{text}");
    s.act(Action::DialogSubmit);
    let r = s.record("B-25-003422");
    assert_eq!(
        r.care_team.pre_release_cm.map(|c| c.id.clone()),
        Some("cm-01".into())
    );
    assert_eq!(s.counts(), (counts.0 + 1, counts.1 + 1));
    // Next slot: the post-release ECM; a search that matches nobody saves nothing.
    s.act(Action::FieldRight);
    let Some(Dialog::Picker(p)) = s.app.dialogs().last() else {
        panic!()
    };
    assert_eq!(p.slot, ContactKind::EcmProvider);
    s.type_text("zzzz");
    s.act(Action::DialogSubmit);
    assert_eq!(s.counts(), (counts.0 + 1, counts.1 + 1));
}

#[test]
fn screening_applies_the_rules_and_handoff_needs_its_date() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut s = Session::open(&path, Role::Coordinator);
    s.select("B-25-003422");
    s.act(Action::OpenDetail);
    s.act(Action::Open(Editor::Screening));
    // Eligible while Medi-Cal is only "application needed": the rules say not eligible.
    s.act(Action::FieldRight); // in progress -> eligible
    s.act(Action::FieldNext);
    s.act(Action::DialogInput(' ')); // tick mental illness as well
    s.act(Action::DialogSubmit);
    let error = s.form_error(0).unwrap();
    assert!(
        error.starts_with("the rules give \"not eligible\""),
        "{error}"
    );
    s.act(Action::DialogCancel);

    s.act(Action::Open(Editor::WarmHandoff));
    s.act(Action::FieldRight); // due -> scheduled
    s.act(Action::DialogSubmit);
    assert_eq!(
        s.form_error(1).as_deref(),
        Some("a scheduled handoff needs its date")
    );
    s.act(Action::FieldNext);
    s.type_text("2026-03-10");
    s.act(Action::DialogSubmit);
    assert!(s.app.dialogs().is_empty(), "{:?}", s.banner());
    assert_eq!(
        s.record("B-25-003422").warm_handoff.scheduled_on,
        Some("2026-03-10".parse().unwrap())
    );
}

#[test]
fn barriers_notes_and_marks_each_write_one_audit_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut s = Session::open(&path, Role::Nurse);
    s.select("B-25-003422");
    s.act(Action::OpenDetail);
    let (audit, _) = s.counts();
    s.act(Action::Open(Editor::Barrier));
    s.act(Action::DialogSubmit);
    s.act(Action::Open(Editor::Note));
    s.type_text("Family visit on Friday");
    s.act(Action::DialogSubmit);
    s.act(Action::Open(Editor::Mark));
    s.act(Action::DialogSubmit);
    let r = s.record("B-25-003422");
    assert!(
        r.notes
            .iter()
            .any(|n| n.text == "Family visit on Friday" && n.by == "nurse.kim")
    );
    assert_eq!(s.counts().0, audit + 3);
    let open = r.barriers.iter().filter(|b| b.is_open()).count();
    s.act(Action::Open(Editor::ResolveBarrier));
    s.act(Action::DialogSubmit);
    let r = s.record("B-25-003422");
    assert_eq!(r.barriers.iter().filter(|b| b.is_open()).count(), open - 1);
}

#[test]
fn audit_views_per_person_and_for_coordinators() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut s = Session::open(&path, Role::Coordinator);
    s.select(MOVED);
    fill_release_date(&mut s, "2026-04-02");
    s.act(Action::DialogSubmit);
    s.act(Action::OpenDetail);
    s.act(Action::Open(Editor::Audit));
    assert_eq!(s.app.screen(), Screen::Audit);
    let text = s.screen_text(120, 30);
    assert!(text.contains("release_date_changed"), "{text}");
    assert!(text.contains("coord.patel (coordinator)"), "{text}");
    s.act(Action::Back);

    s.act(Action::Open(Editor::GlobalAudit));
    let Some(Dialog::Audit(list)) = s.app.dialogs().last() else {
        panic!()
    };
    let all = list.entries.as_ref().unwrap().len();
    assert!(all > 1);
    // Filter to the one kind of row this test wrote.
    s.act(Action::AuditFilter);
    s.act(Action::FieldNext);
    let kinds = match s.app.dialogs().last() {
        Some(Dialog::Form(d)) => match &d.form.fields[1].value {
            reentry_board::tui::dialog::Value::Choice { options, .. } => options.clone(),
            _ => panic!(),
        },
        _ => panic!(),
    };
    let at = kinds
        .iter()
        .position(|k| k == "release_date_changed")
        .unwrap();
    for _ in 0..at {
        s.act(Action::FieldRight);
    }
    s.act(Action::DialogSubmit);
    let Some(Dialog::Audit(list)) = s.app.dialogs().last() else {
        panic!()
    };
    let entries = list.entries.as_ref().unwrap();
    assert!(!entries.is_empty() && entries.len() < all);
    assert!(entries.iter().all(|e| e.kind == "release_date_changed"));
    assert_eq!(entries[0].actor, "coord.patel", "newest first");

    let mut nurse = Session::open(&path, Role::Nurse);
    nurse.act(Action::Open(Editor::GlobalAudit));
    assert!(nurse.app.dialogs().is_empty());
    assert_eq!(
        nurse.app.notice(),
        Some("audit log (everyone): the nurse role may not do this (admin (users, import, sync))")
    );
}

#[test]
fn seeing_part2_details_is_audited_without_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut s = Session::open(&path, Role::Nurse);
    s.select("B-24-003135");
    let (audit, outbox) = s.counts();
    s.act(Action::OpenDetail);
    assert_eq!(s.counts(), (audit + 1, outbox));
    let id = s.app.selected_id().unwrap().to_string();
    let rows = s.store().audit_for(&id).unwrap();
    let last = rows.last().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.actor.as_str()),
        ("part2_viewed", "nurse.kim")
    );

    // Records staff never see them, so nothing is recorded for them.
    let mut records = Session::open(&path, Role::Records);
    records.select("B-24-003135");
    let counts = records.counts();
    records.act(Action::OpenDetail);
    assert_eq!(records.counts(), counts);
}

mod snapshots {
    use super::*;

    fn snap(s: &Session) -> String {
        s.screen_text(80, 24)
    }

    #[test]
    fn release_date_dialog_80x24() {
        let dir = tempfile::tempdir().unwrap();
        let path = seeded(&dir);
        let mut s = Session::open(&path, Role::Coordinator);
        s.select(MOVED);
        s.act(Action::OpenDetail);
        fill_release_date(&mut s, "2026-02-30");
        s.act(Action::DialogSubmit);
        insta::assert_snapshot!(snap(&s));
    }

    #[test]
    fn checklist_80x24() {
        let dir = tempfile::tempdir().unwrap();
        let path = seeded(&dir);
        let mut s = Session::open(&path, Role::Nurse);
        s.select("B-25-003200");
        s.act(Action::Open(Editor::Checklist));
        s.act(Action::StatusNext);
        insta::assert_snapshot!(snap(&s));
    }

    #[test]
    fn care_team_picker_80x24() {
        let dir = tempfile::tempdir().unwrap();
        let path = seeded(&dir);
        let mut s = Session::open(&path, Role::Coordinator);
        s.select("B-25-003422");
        s.act(Action::Open(Editor::CareTeam));
        s.type_text("al");
        insta::assert_snapshot!(snap(&s));
    }

    #[test]
    fn screening_dialog_80x24() {
        let dir = tempfile::tempdir().unwrap();
        let path = seeded(&dir);
        let mut s = Session::open(&path, Role::Nurse);
        s.select("B-25-003422");
        s.act(Action::Open(Editor::Screening));
        s.act(Action::FieldNext);
        insta::assert_snapshot!(snap(&s));
    }

    #[test]
    fn consent_dialog_80x24() {
        let dir = tempfile::tempdir().unwrap();
        let path = seeded(&dir);
        let mut s = Session::open(&path, Role::CareManager);
        s.select(YOUTH);
        s.act(Action::OpenDetail);
        s.act(Action::Open(Editor::Consent));
        s.act(Action::FieldRight);
        s.act(Action::FieldNext);
        s.type_text("2026-03-01");
        s.act(Action::DialogSubmit);
        insta::assert_snapshot!(snap(&s));
    }
}

#[test]
fn audit_search_filters_by_user_kind_and_day_and_part2_views_need_the_right() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut store = Store::open(&path, clock()).unwrap();
    let records = store.load_records().unwrap();
    let id = records
        .iter()
        .find(|r| r.person.booking_id == "B-24-003135")
        .unwrap()
        .person
        .id
        .clone();
    let nurse = Actor::new("nurse.kim", Role::Nurse);
    let before = (
        store.count_rows("audit").unwrap(),
        store.count_rows("outbox").unwrap(),
    );
    store.record_part2_view(&nurse, &id).unwrap();
    let refused = store.record_part2_view(&Actor::new("records.diaz", Role::Records), &id);
    assert!(
        matches!(
            refused,
            Err(reentry_board::store::StoreError::Denied { .. })
        ),
        "{refused:?}"
    );
    assert_eq!(
        (
            store.count_rows("audit").unwrap(),
            store.count_rows("outbox").unwrap()
        ),
        (before.0 + 1, before.1)
    );
    use reentry_board::store::audit_query::AuditFilter;
    let by = |f: AuditFilter| store.audit_search(&f).unwrap();
    let mine = by(AuditFilter {
        actor: Some("nurse.kim".into()),
        kind: Some("part2_viewed".into()),
        ..AuditFilter::default()
    });
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].person_id.as_deref(), Some(id.as_str()));
    let on_the_day = by(AuditFilter {
        kind: Some("part2_viewed".into()),
        from: Some(today()),
        to: Some(today()),
        ..AuditFilter::default()
    });
    assert_eq!(on_the_day.len(), 1);
    let day_before = by(AuditFilter {
        kind: Some("part2_viewed".into()),
        to: today().pred_opt(),
        ..AuditFilter::default()
    });
    assert!(day_before.is_empty());
    let limited = by(AuditFilter {
        limit: 1,
        ..AuditFilter::default()
    });
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].kind, "part2_viewed", "newest first");
}

#[test]
fn edit_keys_are_rebindable_and_clashes_name_both() {
    use reentry_board::tui::keymap::{KeyList, Keymap};
    let one = |name: &str, key: &str| {
        std::collections::BTreeMap::from([(name.to_string(), KeyList::One(key.to_string()))])
    };
    let map = Keymap::build(&one("edit_release_date", "F5")).unwrap();
    let f5 = crossterm::event::Event::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::F(5),
        crossterm::event::KeyModifiers::NONE,
    ));
    assert_eq!(
        map.action_for(&f5, Screen::Detail),
        Some(Action::Open(Editor::ReleaseDate))
    );
    let e = Keymap::build(&one("checklist", "f")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "keys.checklist: `f` on the board screen is bound to both filter_facility (default) and \
         keys.checklist"
    );
    // Enter saves a form and confirms in the checklist: one key on different screens is no clash.
    assert!(Keymap::build(&one("save", "Enter")).is_ok());
}

/// The form field `i`'s text as the dialog shows it now.
fn form_text(s: &Session, i: usize) -> String {
    match s.app.dialogs().last() {
        Some(Dialog::Form(d)) => d.form.text(i).to_string(),
        other => panic!("no form open: {other:?}"),
    }
}

/// Moves to field `i` (from the first) and replaces its text.
fn retype(s: &mut Session, i: usize, text: &str) {
    focus(s, i);
    s.clear_field();
    s.type_text(text);
}

fn focus(s: &mut Session, i: usize) {
    let Some(Dialog::Form(d)) = s.app.dialogs().last() else {
        panic!("no form open")
    };
    let at = d.form.focus;
    let n = d.form.fields.len();
    for _ in 0..(i + n - at) % n {
        s.act(Action::FieldNext);
    }
}

/// Submits, expects a refusal next to `field` that contains `message`, and that nothing was saved.
#[track_caller]
fn refused(s: &mut Session, booking: &str, field: usize, message: &str) {
    let counts = s.counts();
    let before = s.record(booking);
    s.act(Action::DialogSubmit);
    assert_eq!(
        s.app.screen(),
        Screen::Form,
        "saved instead of refused ({message}): {:?}",
        s.app.notice()
    );
    let error = s.form_error(field).unwrap_or_default();
    assert!(
        error.contains(message),
        "field {field}: {error:?} should say {message:?}"
    );
    assert_eq!(s.banner(), Some(Banner::Invalid));
    assert_eq!(s.counts(), counts, "nothing written");
    assert_eq!(s.record(booking), before, "nothing changed");
}

/// Submits, expects the dialog to close with one audit row and one outbox event more.
#[track_caller]
fn saved(s: &mut Session) {
    let (audit, outbox) = s.counts();
    s.act(Action::DialogSubmit);
    assert!(s.app.dialogs().is_empty(), "not saved: {:?}", s.banner());
    assert_eq!(s.counts(), (audit + 1, outbox + 1));
}

const YOUTH: &str = "Y-25-000603";

#[test]
fn consent_dialog_checks_dates_scope_and_the_guardian_rule_for_youth() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut s = Session::open(&path, Role::CareManager);
    s.select(YOUTH);
    s.act(Action::OpenDetail);
    let version = s.record(YOUTH).version;

    s.act(Action::Open(Editor::Consent));
    assert_eq!(s.app.screen(), Screen::Form);
    retype(&mut s, 1, "2026-02-30");
    refused(&mut s, YOUTH, 1, "2026-02-30 is not a day on the calendar");
    retype(&mut s, 1, "2026-03-05");
    refused(&mut s, YOUTH, 1, "2026-03-05 is in the future");
    retype(&mut s, 1, "2014-03-01");
    refused(
        &mut s,
        YOUTH,
        1,
        "2014-03-01 is too long ago; check the year",
    );
    retype(&mut s, 1, "2026-03-01");
    refused(&mut s, YOUTH, 0, "a signed consent says what it covers");
    focus(&mut s, 0);
    s.act(Action::FieldRight); // multi-agency
    retype(&mut s, 2, "2026-02-01");
    refused(
        &mut s,
        YOUTH,
        2,
        "2026-02-01 is before the signed date 2026-03-01",
    );
    retype(&mut s, 2, "2027-03-01");
    refused(&mut s, YOUTH, 3, "a parent or guardian signs for a youth");
    focus(&mut s, 3);
    s.act(Action::DialogInput(' '));
    saved(&mut s);

    let c = s.record(YOUTH).consent;
    assert_eq!(
        c.scope,
        Some(reentry_board::domain::ConsentScope::MultiAgency)
    );
    assert_eq!(c.signed_on, Some("2026-03-01".parse().unwrap()));
    assert_eq!(c.expires_on, Some("2027-03-01".parse().unwrap()));
    assert!(c.signed_by_guardian && !c.part2);
    assert_eq!(s.record(YOUTH).version, version + 1);
    let text = s.screen_text(120, 60);
    assert!(
        text.contains("multi-agency · signed 2026-03-01 · expires 2027-03-01 · by guardian"),
        "{text}"
    );
    let audit = s.store().audit_for(&s.record(YOUTH).person.id).unwrap();
    assert_eq!(audit.last().unwrap().kind, "consent_set");
}

#[test]
fn appointments_are_added_picked_from_a_list_rescheduled_and_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let booking = "B-25-003291";
    let mut s = Session::open(&path, Role::CareManager);
    s.select(booking);
    s.act(Action::OpenDetail);
    assert_eq!(s.record(booking).appointments.len(), 1);

    // A new one: what it is for is required; a new one cannot be kept already.
    s.act(Action::Open(Editor::Appointments));
    assert_eq!(s.app.screen(), Screen::Form, "{:?}", s.app.notice());
    refused(&mut s, booking, 1, "say what the appointment is");
    retype(&mut s, 1, "Psychiatry, Dr. Reyes, County clinic, 10:00");
    retype(&mut s, 2, "2026-03-20");
    s.act(Action::FieldNext);
    s.act(Action::FieldRight);
    s.act(Action::FieldRight); // kept
    refused(&mut s, booking, 3, "a new appointment is planned or booked");
    s.act(Action::FieldLeft); // booked
    retype(&mut s, 2, "2026-13-01");
    refused(
        &mut s,
        booking,
        2,
        "2026-13-01 is not a day on the calendar",
    );
    retype(&mut s, 2, "2029-03-20");
    refused(&mut s, booking, 2, "2029-03-20 is too far ahead");
    retype(&mut s, 2, "2026-03-20");
    saved(&mut s);
    let added = s.record(booking).appointments;
    assert_eq!(added.len(), 2);
    let new = added
        .iter()
        .find(|a| a.what.starts_with("Psychiatry"))
        .unwrap()
        .clone();
    assert_eq!(new.status, reentry_board::domain::AppointmentStatus::Booked);

    // Two appointments: the first field picks one, and the others show it.
    s.act(Action::Open(Editor::Appointments));
    s.act(Action::FieldRight);
    assert_eq!(form_text(&s, 1), "Primary care intake");
    s.act(Action::FieldRight);
    assert_eq!(form_text(&s, 1), new.what);
    assert_eq!(form_text(&s, 2), "2026-03-20");
    // Kept in the future is refused; then a reschedule saves.
    focus(&mut s, 3);
    s.act(Action::FieldRight); // kept
    refused(
        &mut s,
        booking,
        3,
        "an appointment on 2026-03-20 cannot be kept yet",
    );
    s.act(Action::FieldLeft);
    retype(&mut s, 2, "2026-03-23");
    saved(&mut s);
    let moved = s.record(booking);
    let a = moved.appointments.iter().find(|a| a.id == new.id).unwrap();
    assert_eq!(a.on, Some("2026-03-23".parse().unwrap()));

    // Cancel: the reason is required, and the audit row keeps it.
    s.act(Action::Open(Editor::Appointments));
    s.act(Action::FieldRight);
    s.act(Action::FieldRight);
    focus(&mut s, 3);
    for _ in 0..3 {
        s.act(Action::FieldRight); // booked -> kept -> missed -> cancelled
    }
    refused(&mut s, booking, 4, "say why the appointment is cancelled");
    retype(&mut s, 4, "clinic closed that week");
    saved(&mut s);
    let r = s.record(booking);
    let a = r.appointments.iter().find(|a| a.id == new.id).unwrap();
    assert_eq!(
        a.status,
        reentry_board::domain::AppointmentStatus::Cancelled
    );
    let row = s.store().audit_for(&r.person.id).unwrap().pop().unwrap();
    assert_eq!(row.kind, "appointment_cancelled");
    assert_eq!(row.reason.as_deref(), Some("clinic closed that week"));
    // A cancelled appointment is no longer offered.
    s.act(Action::Open(Editor::Appointments));
    s.act(Action::FieldRight);
    s.act(Action::FieldRight);
    assert_eq!(form_text(&s, 1), "", "back to a new appointment");
}

#[test]
fn transport_needs_mode_and_pickup_when_arranged_and_a_real_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let booking = "B-25-003422";
    let mut s = Session::open(&path, Role::Coordinator);
    s.select(booking);
    s.act(Action::OpenDetail);
    s.act(Action::Open(Editor::Transport));
    assert_eq!(form_text(&s, 1), "Family pick-up at lobby");
    refused(&mut s, booking, 2, "say who picks the person up, and where");
    retype(&mut s, 2, "sister, jail lobby");
    retype(&mut s, 3, "25:00");
    refused(&mut s, booking, 3, "`25:00` is not a time of day");
    retype(&mut s, 3, "18:30");
    saved(&mut s);
    let t = s.record(booking).transport;
    assert_eq!(t.status, reentry_board::domain::TransportStatus::Arranged);
    assert_eq!(
        t.note,
        "Family pick-up at lobby · pickup: sister, jail lobby · at 18:30"
    );
    // Opened again, the note splits back into its fields.
    s.act(Action::Open(Editor::Transport));
    assert_eq!(form_text(&s, 2), "sister, jail lobby");
    assert_eq!(form_text(&s, 3), "18:30");
}

#[test]
fn referrals_are_added_and_move_one_step_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let booking = "B-25-003422";
    let mut s = Session::open(&path, Role::Coordinator);
    s.select(booking);
    s.act(Action::OpenDetail);
    assert!(s.record(booking).referrals.is_empty());

    s.act(Action::Open(Editor::Referrals));
    focus(&mut s, 2);
    s.act(Action::FieldRight);
    s.act(Action::FieldRight); // acknowledged
    refused(&mut s, booking, 2, "a new referral is pending or sent");
    s.act(Action::FieldLeft); // sent
    saved(&mut s);
    let r = s.record(booking).referrals;
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].target,
        reentry_board::domain::ReferralTarget::CountyMentalHealth
    );

    // A second, pending; then pick it: pending -> acknowledged skips "sent".
    s.act(Action::Open(Editor::Referrals));
    focus(&mut s, 1);
    s.act(Action::FieldRight); // Drug Medi-Cal
    saved(&mut s);
    s.act(Action::Open(Editor::Referrals));
    s.act(Action::FieldRight);
    s.act(Action::FieldRight);
    // Without Part 2 consent a coordinator may not see what the Drug Medi-Cal referral is.
    let text = s.screen_text(100, 40);
    assert!(text.contains("protected referral · pending"), "{text}");
    assert!(!text.contains("Drug Medi-Cal"), "{text}");
    focus(&mut s, 2);
    s.act(Action::FieldRight);
    s.act(Action::FieldRight);
    refused(&mut s, booking, 2, "without \"sent\" first");
    s.act(Action::FieldLeft);
    saved(&mut s);
    let r = s.record(booking).referrals;
    assert_eq!(r[1].status, reentry_board::domain::NotificationStatus::Sent);

    // Back a step needs a reason.
    s.act(Action::Open(Editor::Referrals));
    s.act(Action::FieldRight);
    focus(&mut s, 2);
    s.act(Action::FieldLeft); // sent -> pending
    refused(&mut s, booking, 3, "say why it goes back a step");
    retype(&mut s, 3, "sent to the wrong clinic");
    saved(&mut s);
    assert_eq!(
        s.record(booking).referrals[0].status,
        reentry_board::domain::NotificationStatus::Pending
    );
}

#[test]
fn notifications_per_recipient_and_a_conflict_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let booking = "B-25-003422";
    let mut s = Session::open(&path, Role::Records);
    s.select(booking);
    s.act(Action::OpenDetail);
    use reentry_board::domain::{NotificationStatus as N, Recipient};
    let status = |s: &Session, who: Recipient| {
        s.record(booking)
            .notifications
            .iter()
            .rev()
            .find(|n| n.recipient == who)
            .map(|n| n.status)
    };

    // The ECM provider was never told: acknowledged skips "sent".
    s.act(Action::Open(Editor::Notifications));
    s.act(Action::FieldRight);
    s.act(Action::FieldRight); // ECM provider
    s.act(Action::FieldNext);
    s.act(Action::FieldRight);
    s.act(Action::FieldRight); // pending -> acknowledged
    refused(&mut s, booking, 1, "without \"sent\" first");
    s.act(Action::FieldLeft);
    saved(&mut s);
    assert_eq!(status(&s, Recipient::Ecm), Some(N::Sent));

    // Social services acknowledged, then back to sent needs a reason.
    s.act(Action::Open(Editor::Notifications));
    s.act(Action::FieldNext);
    s.act(Action::FieldRight); // sent -> acknowledged
    saved(&mut s);
    assert_eq!(status(&s, Recipient::SocialServices), Some(N::Acknowledged));
    s.act(Action::Open(Editor::Notifications));
    s.act(Action::FieldNext);
    s.act(Action::FieldLeft);
    refused(&mut s, booking, 2, "say why it goes back a step");

    // Someone else changes the person meanwhile: the save is refused, who and when is shown, the
    // input stays; Ctrl+R takes the new version and the same Enter saves.
    focus(&mut s, 2);
    s.type_text("acknowledged by mistake");
    let mut other = Session::open(&path, Role::Coordinator);
    other.select(booking);
    other.act(Action::Open(Editor::Transport));
    retype(&mut other, 0, "");
    other.act(Action::FieldRight); // not needed
    saved(&mut other);
    let counts = s.counts();
    s.act(Action::DialogSubmit);
    let Some(Banner::Failed(SaveFailure::Conflict { changed_by, .. })) = s.banner() else {
        panic!("expected a conflict, got {:?}", s.banner());
    };
    assert_eq!(changed_by, "coord.patel");
    assert_eq!(s.counts(), counts);
    assert!(s.screen_text(80, 24).contains("Ctrl+R reloads"));
    s.act(Action::DialogReload);
    assert_eq!(s.banner(), Some(Banner::Reloaded));
    assert_eq!(form_text(&s, 2), "acknowledged by mistake");
    saved(&mut s);
    assert_eq!(status(&s, Recipient::SocialServices), Some(N::Sent));
    assert_eq!(
        s.record(booking).transport.status,
        reentry_board::domain::TransportStatus::NotNeeded,
        "their change stands"
    );
}

#[test]
fn the_new_dialogs_are_greyed_for_roles_that_may_not_use_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let mut nurse = Session::open(&path, Role::Nurse);
    nurse.select("B-25-003422");
    for (editor, notice) in [
        (
            Editor::Transport,
            "transport: the nurse role may not do this (transport and referrals)",
        ),
        (
            Editor::Appointments,
            "appointments: the nurse role may not do this (care plan, warm handoff, appointments)",
        ),
        (
            Editor::Notifications,
            "notifications sent / acknowledged: the nurse role may not do this (notifications \
             sent / acknowledged)",
        ),
    ] {
        let counts = nurse.counts();
        nurse.act(Action::Open(editor));
        assert!(nurse.app.dialogs().is_empty(), "{editor:?}");
        assert_eq!(nurse.app.notice(), Some(notice));
        assert_eq!(nurse.counts(), counts);
    }
    nurse.act(Action::OpenDetail);
    for _ in 0..200 {
        nurse.act(Action::MoveDown);
    }
    // The list of edits is in the help overlay, not the detail view's body (#15).
    nurse.act(Action::ToggleHelp);
    let text = nurse.screen_text(120, 60);
    assert!(
        text.contains("T      transport — the nurse role may not do this"),
        "{text}"
    );
    assert!(
        text.contains("C      consent\n") || text.contains("C      consent "),
        "{text}"
    );
    let mut po = Session::open(&path, Role::Probation);
    po.select("B-25-003422");
    po.act(Action::Open(Editor::Consent));
    assert_eq!(
        po.app.notice(),
        Some("consent: the probation role may not do this (consent)")
    );
}

#[test]
fn the_checklist_removes_a_dme_item_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = seeded(&dir);
    let booking = "B-24-003981";
    let mut s = Session::open(&path, Role::CareManager);
    s.select(booking);
    s.act(Action::Open(Editor::Checklist));
    // A care manager confirms DME only: the medication is not hers to remove.
    let counts = s.counts();
    s.act(Action::MoveFirst);
    s.act(Action::ItemRemove);
    assert_eq!(s.app.screen(), Screen::Checklist);
    assert!(
        s.app.notice().unwrap().contains("may not do this"),
        "{:?}",
        s.app.notice()
    );
    s.act(Action::MoveLast);
    s.act(Action::ItemRemove);
    assert_eq!(s.app.screen(), Screen::Form);
    assert!(
        s.screen_text(80, 24)
            .contains("Remove Wheelchair (transport)")
    );
    s.act(Action::DialogSubmit);
    assert_eq!(s.form_error(0).as_deref(), Some("say why it is removed"));
    assert_eq!(s.counts(), counts);
    s.type_text("entered for the wrong person");
    s.act(Action::DialogSubmit);
    assert_eq!(s.app.screen(), Screen::Checklist);
    assert_eq!(s.counts(), (counts.0 + 1, counts.1 + 1));
    let dme = s.record(booking).dme;
    assert_eq!(dme.len(), 1);
    assert_eq!(dme[0].item, "Oxygen concentrator (home)");
    let row = s
        .store()
        .audit_for(&s.record(booking).person.id)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(row.kind, "dme_removed");
    assert_eq!(row.reason.as_deref(), Some("entered for the wrong person"));
}
