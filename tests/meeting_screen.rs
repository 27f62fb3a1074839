//! The meeting screen end to end without a terminal: `App::update` with a fixed clock, effects
//! carried out by the real `run_effects` against a real SQLite file, the minutes read back, and
//! the screens drawn on ratatui's `TestBackend`. Every record here is synthetic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use reentry_board::clock::{Clock, FixedClock};
use reentry_board::commands::StoreSource;
use reentry_board::domain::*;
use reentry_board::meeting::{minutes, read};
use reentry_board::store::*;
use reentry_board::tui::dialog::Editor;
use reentry_board::tui::keymap::Screen;
use reentry_board::tui::meeting_screen::MeetingKey;
use reentry_board::tui::{Action, App, BoardSource, Seen, TuiOptions, run_effects, view};
use support::records::{d, facility};

const TODAY: &str = "2026-06-01";

fn at(hms: &str) -> DateTime<Utc> {
    d(TODAY)
        .and_time(NaiveTime::parse_from_str(hms, "%H:%M:%S").unwrap())
        .and_utc()
}

/// The agenda: p-6 (2 days), p-1 (5 days, a protected medication), p-2 (open date flag),
/// p-3 (overdue in the 15-90 band), p-4 (no date). p-5 is not on it.
fn records() -> Vec<PersonRecord> {
    let flag = DateFlag {
        id: 1,
        proposed: Some(d("2026-06-20")),
        reason: ChangeReason::CourtOrder,
        reason_text: String::new(),
        raised_by: "records".into(),
        raised_at: at("09:00:00") - Duration::days(2),
        status: FlagStatus::Open,
    };
    support::records::agenda_people(flag)
}

fn build(dir: &Path) -> PathBuf {
    let path = dir.join("meeting.db");
    // Seeded early in the morning, so the meeting's "changes made" are only its own.
    let early = FixedClock {
        now: at("07:00:00"),
        today: d(TODAY),
    };
    let mut s = Store::create(&path, Arc::new(early)).unwrap();
    let coord = Actor::new("coord", Role::Coordinator);
    s.seed(
        &coord,
        &SeedData {
            facilities: vec![facility()],
            contacts: vec![],
            users: vec![],
            records: records(),
            released: vec![],
        },
    )
    .unwrap();
    s.add_user(&coord, "coord", "Chris Coord", Role::Coordinator)
        .unwrap();
    s.add_user(&coord, "nurse1", "Nia Nurse", Role::Nurse)
        .unwrap();
    path
}

/// One user's board on its own connection; the store's clock says noon, the app's time comes
/// from the ticks the test feeds.
struct Session {
    app: App,
    source: StoreSource,
    seen: Seen,
    clock: FixedClock,
}

impl Session {
    fn open(path: &Path, login: &str, role: Role, tweak: impl FnOnce(&mut TuiOptions)) -> Self {
        let clock = FixedClock::on(d(TODAY));
        let store = Store::open(path, Arc::new(clock)).unwrap();
        let mut source = StoreSource(store);
        let mut options = TuiOptions::new("Test", format!("{login} ({})", role.label()), role);
        options.actor = Actor::new(login, role);
        tweak(&mut options);
        let seen = Seen::new(&mut source, &clock).unwrap();
        let app = App::new(
            options,
            source.load().unwrap(),
            clock.today(),
            at("11:58:00"),
        );
        let mut s = Self {
            app,
            source,
            seen,
            clock,
        };
        s.act(Action::Resized {
            width: 80,
            height: 24,
        });
        s
    }

    fn act(&mut self, action: Action) {
        self.app.update(action);
        run_effects(&mut self.app, &mut self.source, &self.clock, &mut self.seen);
    }

    fn key(&mut self, key: MeetingKey) {
        self.act(Action::Meeting(key));
    }

    fn tick(&mut self, hms: &str) {
        self.act(Action::Tick { now: at(hms) });
    }

    fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.act(Action::DialogInput(c));
        }
    }

    fn screen(&self, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| view::draw(frame, &self.app)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Scrolls the detail view until `heading` is its first body line.
    fn scroll_to(&mut self, heading: &str, width: u16, height: u16) {
        self.act(Action::MoveFirst);
        for _ in 0..200 {
            let text = self.screen(width, height);
            if text.lines().nth(2).is_some_and(|l| l.starts_with(heading)) {
                return;
            }
            self.act(Action::MoveDown);
        }
        panic!("{heading} never reached the top");
    }

    fn current(&self) -> String {
        self.app
            .meeting()
            .and_then(|m| m.current())
            .map(|a| a.person_id.clone())
            .unwrap_or_default()
    }

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
}

#[test]
fn a_meeting_run_on_the_screen_is_stored_and_its_minutes_render_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let mut s = Session::open(&path, "coord", Role::Coordinator, |_| {});

    s.act(Action::OpenMeeting);
    assert_eq!(s.app.screen(), Screen::Meeting);
    let meeting = s.app.meeting().unwrap();
    assert_eq!(meeting.agenda.len(), 5);
    assert_eq!(s.current(), "p-6");
    let first = s.screen(80, 24);
    assert!(
        first.contains("MEETING  1 of 5 · releasing in 0-14 days"),
        "{first}"
    );
    assert!(first.contains("this person 0:00 · meeting 0:00"), "{first}");

    // The timer runs on the app's ticks, and only they redraw the meeting screen.
    s.app.mark_drawn();
    s.tick("11:58:00");
    assert!(!s.app.is_dirty(), "the same second draws nothing");
    s.tick("11:59:05");
    assert!(s.app.is_dirty());
    let ticked = s.screen(80, 24);
    assert!(
        ticked.contains("this person 1:05 · meeting 1:05"),
        "{ticked}"
    );
    insta::assert_snapshot!("meeting_screen_80x24", ticked);

    // p-1: a decision, reviewed, and a change made in the detail view (a note).
    s.key(MeetingKey::Next);
    assert_eq!(s.current(), "p-1");
    s.key(MeetingKey::Decision);
    assert_eq!(s.app.screen(), Screen::Form);
    s.act(Action::DialogSubmit);
    assert!(
        s.screen(80, 24).contains("the decision is empty"),
        "an empty decision is refused next to the field"
    );
    s.type_text("Order the 30-day supply today");
    s.act(Action::DialogSubmit);
    assert_eq!(s.app.screen(), Screen::Meeting);
    s.key(MeetingKey::Reviewed);
    s.key(MeetingKey::Detail);
    assert_eq!(s.app.screen(), Screen::Detail);
    assert_eq!(s.app.selected_id(), Some("p-1"));
    s.act(Action::Open(Editor::Note));
    s.type_text("Pharmacy called back");
    s.act(Action::DialogSubmit);
    assert_eq!(s.app.notice(), Some("Saved: add a note."));
    s.act(Action::Back);
    assert_eq!(
        s.app.screen(),
        Screen::Meeting,
        "Esc comes back to the meeting"
    );
    assert_eq!(s.current(), "p-1", "at the same person");

    // p-2: a task for the nurse, by part of her login, validated field by field.
    s.tick("12:01:00");
    s.key(MeetingKey::Next);
    assert_eq!(s.current(), "p-2");
    s.key(MeetingKey::Task);
    s.type_text("Confirm the court date");
    s.act(Action::FieldNext);
    s.type_text("zed");
    s.act(Action::DialogSubmit);
    let refused = s.screen(80, 24);
    assert!(
        refused.contains("no user or directory contact is called `zed`"),
        "{refused}"
    );
    for _ in 0..3 {
        s.act(Action::DialogBackspace);
    }
    s.type_text("nurse");
    s.act(Action::DialogSubmit);
    assert_eq!(s.app.screen(), Screen::Meeting, "{}", s.screen(80, 24));
    assert_eq!(s.app.notice(), Some("Task for nurse1 by 2026-06-02 added."));
    s.key(MeetingKey::Reviewed);

    // A guest joins.
    s.key(MeetingKey::Attendees);
    s.type_text("Dana Ruiz");
    s.act(Action::FieldNext);
    for _ in 0..4 {
        s.act(Action::FieldRight); // records, nurse, care manager, coordinator, probation
    }
    s.act(Action::DialogSubmit);
    assert_eq!(s.app.notice(), Some("2 attending."));
    let with_task = s.screen(120, 40);
    assert!(with_task.contains("+ task: Confirm the court date — nurse1, by 2026-06-02"));
    assert!(with_task.contains("Attending (2): coord (coordinator), Dana Ruiz (probation)"));

    // Leaving asks first; staying loses nothing.
    s.key(MeetingKey::Leave);
    assert!(s.screen(80, 24).contains("Leave the meeting?"));
    s.act(Action::DialogSubmit);
    assert_eq!(s.app.screen(), Screen::Meeting);

    s.tick("12:03:00");
    s.key(MeetingKey::End);
    assert_eq!(s.app.screen(), Screen::Board);
    assert_eq!(
        s.app.notice(),
        Some(
            "Meeting stored: 2 reviewed, 1 decision(s), 1 task(s). `reentry-board minutes` \
             prints the minutes."
        )
    );
    assert_eq!(s.app.options().last_meeting, Some(at("12:03:00")));

    let store = &s.source.0;
    assert_eq!(store.last_meeting_end().unwrap(), Some(at("12:03:00")));
    let stored = store.meeting_on(Some(d(TODAY))).unwrap().unwrap();
    let seconds: Vec<(&str, i64, bool)> = stored
        .record
        .reviews
        .iter()
        .map(|r| (r.person_id.as_str(), r.seconds, r.reviewed))
        .collect();
    // p-6 from 11:58:00 to 11:59:05; p-1 from then to the reload at noon (the store's clock)
    // and on to 12:01; p-2 from 12:01 to 12:03. Nobody the meeting did not reach.
    assert_eq!(
        seconds,
        vec![("p-6", 65, false), ("p-1", 115, true), ("p-2", 120, true)]
    );
    let m = read::minutes(store, Some(d(TODAY))).unwrap().unwrap();
    let mut md = Vec::new();
    minutes::markdown(&mut md, &m).unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(md.contains("Changes made:\n- note added"), "{md}");
    insta::assert_snapshot!("minutes_from_the_meeting_screen", md);

    // The task is on the board (T) and in the detail view.
    s.select("B-2");
    let board = s.screen(80, 24);
    let row = board.lines().find(|l| l.starts_with("Last2")).unwrap();
    assert!(row.contains('T'), "{row}");
    insta::assert_snapshot!("board_with_task_80x24", board);
    s.act(Action::OpenDetail);
    s.scroll_to("Follow-up tasks", 80, 24);
    let detail = s.screen(80, 24);
    assert!(
        detail.contains("□ Confirm the court date — nurse1, by 2026-06-02"),
        "{detail}"
    );
    insta::assert_snapshot!("detail_with_task_80x24", detail);
    s.act(Action::Resized {
        width: 120,
        height: 40,
    });
    s.scroll_to("Follow-up tasks", 120, 40);
    insta::assert_snapshot!("detail_with_task_120x40", s.screen(120, 40));
}

#[test]
fn a_task_is_in_its_owners_my_work_overdue_by_glyph_and_done_from_the_detail_view() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let mut store = Store::open(&path, Arc::new(FixedClock::on(d(TODAY)))).unwrap();
    let start = at("09:00:00");
    let task = |person: &str, what: &str, due: &str| reentry_board::meeting::Task {
        person_id: person.into(),
        what: what.into(),
        owner: "nurse1".into(),
        due: d(due),
    };
    store
        .record_meeting(
            &Actor::new("coord", Role::Coordinator),
            &reentry_board::meeting::MeetingRecord {
                started_at: start,
                ended_at: start + Duration::minutes(5),
                attendees: vec![],
                reviews: vec![
                    reentry_board::meeting::Review {
                        person_id: "p-1".into(),
                        seconds: 60,
                        reviewed: true,
                        decisions: vec![],
                        tasks: vec![task(
                            "p-1",
                            "Ask about the Buprenorphine order",
                            "2026-06-03",
                        )],
                    },
                    reentry_board::meeting::Review {
                        person_id: "p-2".into(),
                        seconds: 60,
                        reviewed: true,
                        decisions: vec![],
                        tasks: vec![
                            task("p-2", "Check the court calendar", "2026-05-30"),
                            task("p-2", "Call probation", "2026-06-05"),
                        ],
                    },
                ],
            },
        )
        .unwrap();
    drop(store);

    let mut nurse = Session::open(&path, "nurse1", Role::Nurse, |_| {});
    nurse.act(Action::ToggleMyWork);
    let mine: Vec<&str> = nurse
        .app
        .visible_rows()
        .map(|r| r.record.person.id.as_str())
        .collect();
    // The near band and the unknown date are the nurse's by role (medications not settled);
    // p-2, 200 days out, only by the tasks.
    assert_eq!(mine, vec!["p-6", "p-1", "p-2", "p-4"]);
    assert_eq!(nurse.app.my_task_count(), 3);
    let board = nurse.screen(80, 24);
    let row = board.lines().find(|l| l.starts_with("Last2")).unwrap();
    assert!(
        row.contains('!'),
        "an overdue task is a glyph, not only a colour: {row}"
    );

    // The coordinator's "my work" has no task of theirs.
    let mut coord = Session::open(&path, "coord", Role::Coordinator, |_| {});
    coord.act(Action::ToggleMyWork);
    assert!(
        coord
            .app
            .visible_rows()
            .all(|r| r.record.person.id != "p-2")
    );

    // On a shared screen the task's drug name (one of the person's medications) is blanked.
    nurse.select("B-1");
    nurse.act(Action::OpenDetail);
    nurse.act(Action::TogglePresentation);
    nurse.scroll_to("Follow-up tasks", 80, 24);
    let shared = nurse.screen(80, 24);
    assert!(
        shared.contains("□ Ask about the [medication] order"),
        "{shared}"
    );
    assert!(!shared.to_lowercase().contains("buprenorphine"), "{shared}");
    nurse.act(Action::Back);
    nurse.act(Action::TogglePresentation);

    nurse.select("B-2");
    nurse.act(Action::OpenDetail);
    let outbox_before = nurse.source.0.outbox_for("p-2").unwrap().len();
    nurse.act(Action::Open(Editor::CompleteTask));
    nurse.act(Action::DialogSubmit);
    assert_eq!(nurse.app.notice(), Some("Saved: mark a task done."));
    let open = nurse.source.0.open_tasks().unwrap();
    let left: Vec<&str> = open.iter().map(|t| t.what.as_str()).collect();
    assert_eq!(
        left,
        vec!["Ask about the Buprenorphine order", "Call probation"]
    );
    let row = nurse.screen(80, 24);
    assert!(
        row.lines().nth(1).unwrap().contains("[Δ    T"),
        "no longer overdue: {row}"
    );
    let audit = nurse.source.0.audit_for("p-2").unwrap();
    let last = audit.last().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.actor.as_str()),
        ("task_done", "nurse1")
    );
    assert!(
        !last
            .after
            .as_deref()
            .unwrap_or("")
            .contains("buprenorphine")
    );
    assert_eq!(
        nurse.source.0.outbox_for("p-2").unwrap().len(),
        outbox_before,
        "tasks stay local"
    );
}

#[test]
fn presentation_mode_shows_the_meeting_without_names_or_drugs() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let mut s = Session::open(&path, "coord", Role::Coordinator, |_| {});
    s.act(Action::TogglePresentation);
    s.act(Action::OpenMeeting);
    s.key(MeetingKey::Next);
    assert_eq!(s.current(), "p-1");
    s.key(MeetingKey::Decision);
    s.type_text("Start buprenorphine bridge script");
    s.act(Action::DialogSubmit);
    for (w, h) in [(80, 24), (120, 40)] {
        let text = s.screen(w, h);
        assert!(text.contains("LAST1, F."), "{text}");
        assert!(
            !text.contains("First"),
            "no first names on a shared screen: {text}"
        );
        assert!(!text.to_lowercase().contains("buprenorphine"), "{text}");
        assert!(text.contains("1 protected ✗"), "{text}");
        assert!(
            text.contains("decided: Start [medication] bridge script"),
            "{text}"
        );
    }
    insta::assert_snapshot!("meeting_presentation_80x24", s.screen(80, 24));

    // ASCII and a small screen: no box drawing or symbols, nothing panics.
    let mut ascii = Session::open(&path, "coord", Role::Coordinator, |o| o.ascii = true);
    ascii.act(Action::OpenMeeting);
    ascii.key(MeetingKey::Next);
    let text = ascii.screen(80, 24);
    assert!(text.contains("1 protected not ready"), "{text}");
    assert!(!text.contains(['✓', '✗', '□', '◔']), "{text}");
    for (w, h) in [(1, 1), (60, 10), (300, 100)] {
        ascii.screen(w, h);
    }
}

#[test]
fn the_display_and_the_viewer_follow_the_meeting_but_cannot_record_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let mut kiosk = Session::open(&path, "display", Role::Viewer, |o| o.kiosk = true);
    kiosk.act(Action::OpenMeeting);
    assert_eq!(kiosk.app.screen(), Screen::Meeting);
    assert!(
        kiosk
            .screen(80, 24)
            .contains("Read-only: the meeting-room display is read-only")
    );
    kiosk.key(MeetingKey::Decision);
    assert_eq!(kiosk.app.screen(), Screen::Meeting, "no dialog opens");
    kiosk.key(MeetingKey::End);
    assert!(kiosk.app.notice().unwrap().contains("cannot be stored"));
    kiosk.key(MeetingKey::Leave);
    assert_eq!(
        kiosk.app.screen(),
        Screen::Board,
        "nothing to lose, so no question"
    );

    // The store refuses the viewer whatever the screen did.
    let mut store = Store::open(&path, Arc::new(FixedClock::on(d(TODAY)))).unwrap();
    let start = at("09:00:00");
    let record = reentry_board::meeting::MeetingRecord {
        started_at: start,
        ended_at: start,
        attendees: vec![],
        reviews: vec![],
    };
    let viewer = Actor::new("display", Role::Viewer);
    assert!(matches!(
        store.record_meeting(&viewer, &record),
        Err(StoreError::Denied { .. })
    ));
    assert_eq!(store.last_meeting_end().unwrap(), None, "nothing written");
    store
        .record_meeting(&Actor::new("nurse1", Role::Nurse), &record)
        .unwrap();
    assert!(matches!(
        store.apply(
            &viewer,
            CompleteTask {
                person_id: "p-1".into(),
                task_id: 1,
            }
        ),
        Err(StoreError::Denied { .. })
    ));
    let err = store
        .apply(
            &Actor::new("nurse1", Role::Nurse),
            CompleteTask {
                person_id: "p-1".into(),
                task_id: 99,
            },
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("not an open task of booking B-1"),
        "{err}"
    );
}

#[test]
fn the_board_stays_silent_on_ticks_and_leaving_can_discard() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());
    let mut s = Session::open(&path, "coord", Role::Coordinator, |_| {});
    s.app.mark_drawn();
    s.tick("11:58:30");
    s.tick("11:58:31");
    assert!(!s.app.is_dirty(), "an idle board draws nothing on ticks");
    s.act(Action::OpenMeeting);
    s.key(MeetingKey::Leave);
    s.act(Action::FieldRight);
    s.act(Action::FieldRight);
    s.act(Action::DialogSubmit);
    assert_eq!(s.app.screen(), Screen::Board);
    assert_eq!(
        s.app.notice(),
        Some("Left the meeting; nothing was stored.")
    );
    assert_eq!(s.source.0.last_meeting_end().unwrap(), None);
    let _ = s.source.open_tasks().unwrap();
}

#[test]
fn quitting_stores_a_meeting_with_something_recorded_and_drops_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = build(dir.path());

    // A stray M then q: nothing recorded, nothing stored, the "last meeting" does not move.
    let mut s = Session::open(&path, "coord", Role::Coordinator, |_| {});
    s.act(Action::OpenMeeting);
    s.act(Action::Quit);
    assert!(s.app.should_quit());
    assert_eq!(s.source.0.last_meeting_end().unwrap(), None);

    // One decision, then Ctrl+C (the same Quit action): the meeting is stored on the way out.
    let mut s = Session::open(&path, "coord", Role::Coordinator, |_| {});
    s.act(Action::OpenMeeting);
    s.key(MeetingKey::Decision);
    s.type_text("Bridge script to the community pharmacy");
    s.act(Action::DialogSubmit);
    s.act(Action::Quit);
    assert!(s.app.should_quit());
    assert!(s.source.0.last_meeting_end().unwrap().is_some());
    let m = read::minutes(&s.source.0, Some(d(TODAY))).unwrap().unwrap();
    let mut md = Vec::new();
    minutes::markdown(&mut md, &m).unwrap();
    let md = String::from_utf8(md).unwrap();
    assert!(
        md.contains("Bridge script to the community pharmacy"),
        "{md}"
    );
}
