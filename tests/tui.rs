//! The board without a terminal: `App::update` driven by actions, and the view drawn on ratatui's
//! `TestBackend` at fixed sizes. Every record here is synthetic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use chrono::NaiveDate;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use reentry_board::clock::{Clock, FixedClock};
use reentry_board::domain::{
    Barrier, BarrierReason, CarePlanStatus, Certainty, Consent, Contact, ContactKind,
    CustodyStatus, Facility, FacilityKind, HealthNeed, MarkKind, MedClass, MediCalStatus,
    Medication, MilestoneCode, MilestoneMark, NameFormat, Note, Person, PersonName, PersonRecord,
    ReleaseDate, Role, ScreeningResult, SupplyStatus,
};
use reentry_board::theme::{ColorDepth, Theme};
use reentry_board::tui::{Action, App, TuiOptions, view};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn today() -> NaiveDate {
    FixedClock::on(d("2026-03-02")).today()
}

fn main_jail() -> Facility {
    Facility {
        id: "main".into(),
        name: "Main Jail".into(),
        kind: FacilityKind::AdultJail,
    }
}

fn contact(id: &str, name: &str, kind: ContactKind) -> Contact {
    Contact {
        id: id.into(),
        name: name.into(),
        organisation: "Synthetic Health".into(),
        phone: "555-0100".into(),
        kind,
    }
}

/// A bare in-custody person; callers fill in what has been done.
fn person(
    id: &str,
    last: &str,
    first: &str,
    unit: &str,
    booked: &str,
    release: Option<(&str, Certainty)>,
) -> PersonRecord {
    let release = match release {
        Some((date, certainty)) => ReleaseDate {
            date: Some(d(date)),
            certainty,
            kind: None,
            source: None,
        },
        None => ReleaseDate::unknown(),
    };
    PersonRecord::new(
        Person {
            id: id.into(),
            booking_id: format!("B26-{}", &id[2..].to_uppercase()),
            name: PersonName::new(last, first),
            date_of_birth: None,
            facility: main_jail().into(),
            unit: unit.into(),
            youth: false,
            booked_on: d(booked),
            custody: CustodyStatus::InCustody,
            released_on: None,
        },
        release,
    )
}

fn mark(code: MilestoneCode, kind: MarkKind) -> MilestoneMark {
    MilestoneMark {
        milestone: code,
        kind,
        by: "nurse1".into(),
        on: d("2026-02-01"),
    }
}

/// Six synthetic people covering every state glyph, a passed date, today, unknown dates, a youth,
/// a late entry, a CJK name and a very long name.
fn people() -> Vec<PersonRecord> {
    use MilestoneCode as M;

    // 12 days out: warm handoff and appointments overdue, medications and transport due soon.
    let mut garcia = person(
        "p-garcia",
        "Garcia",
        "Maria",
        "3B",
        "2025-09-10",
        Some(("2026-03-14", Certainty::Confirmed)),
    );
    garcia.medi_cal.status = MediCalStatus::Active;
    garcia.consent = Consent {
        signed_on: Some(d("2025-09-12")),
        ..Consent::default()
    };
    garcia.screening.result = ScreeningResult::Eligible;
    garcia.screening.needs = BTreeSet::from([HealthNeed::SubstanceUseDisorder]);
    garcia.care_team.pre_release_cm =
        Some(contact("cm1", "Ana Lopez", ContactKind::PreReleaseCm).into());
    garcia.care_team.post_release_ecm =
        Some(contact("cm2", "Ben Ortiz", ContactKind::EcmProvider).into());
    garcia.care_plan = CarePlanStatus::Complete;
    garcia.medications.push(Medication {
        id: 1,
        name: "buprenorphine".into(),
        class: MedClass::MatOud,
        long_acting_injectable: false,
        next_dose: None,
        supply: SupplyStatus::ToOrder,
        confirmed: None,
        version: 1,
    });

    // Releasing today, booked ten days ago: a late entry, medications blocked by the pharmacy.
    let mut nguyen = person(
        "p-nguyen",
        "Nguyen",
        "Thanh",
        "W-2",
        "2026-02-20",
        Some(("2026-03-02", Certainty::Projected)),
    );
    nguyen.medications.push(Medication {
        id: 2,
        name: "synthetic-med".into(),
        class: MedClass::Psychotropic,
        long_acting_injectable: false,
        next_dose: None,
        supply: SupplyStatus::Ordered,
        confirmed: None,
        version: 1,
    });
    nguyen.barriers.push(Barrier {
        id: 1,
        milestone: M::Medications,
        reason: BarrierReason::PharmacyDelay,
        text: String::new(),
        opened_on: d("2026-02-28"),
        resolved_on: None,
    });

    // Expected three days ago and still here; nearly everything settled by hand.
    let mut smith = person(
        "p-smith",
        "Smith",
        "John",
        "3B",
        "2025-12-01",
        Some(("2026-02-27", Certainty::Estimated)),
    );
    for code in MilestoneCode::all() {
        if code != M::Transport {
            smith.marks.push(mark(code, MarkKind::Done));
        }
    }
    smith.marks.push(mark(M::Dme, MarkKind::NotNeeded));
    smith.care_team.pre_release_cm =
        Some(contact("cm3", "Chidi Okafor", ContactKind::PreReleaseCm).into());

    // Eleven weeks out, a CJK name.
    let mut wang = person(
        "p-wang",
        "王",
        "小明",
        "5A",
        "2026-01-15",
        Some(("2026-05-20", Certainty::Projected)),
    );
    wang.marks.push(mark(M::MediCalChecked, MarkKind::Done));
    wang.marks.push(mark(M::Consent, MarkKind::Done));

    // Pretrial, no date: only the unplanned-release minimum counts.
    let long = person(
        "p-long",
        "Wolfeschlegelsteinhausenbergerdorff",
        "Hubert Blaine",
        "Intake",
        "2026-02-25",
        None,
    );

    let mut johnson = person("p-johnson", "Johnson", "Keisha", "J-1", "2026-02-01", None);
    johnson.person.youth = true;
    johnson.person.facility = Facility {
        id: "juv".into(),
        name: "Juvenile Hall".into(),
        kind: FacilityKind::YouthFacility,
    }
    .into();
    johnson.consent = Consent {
        signed_on: Some(d("2026-02-02")),
        signed_by_guardian: true,
        ..Consent::default()
    };
    johnson.medi_cal.status = MediCalStatus::Suspended;

    garcia.notes.push(Note {
        id: 1,
        at: FixedClock::on(d("2026-02-27")).now(),
        by: "cm1".into(),
        text: "Prefers the Eastside clinic".into(),
    });
    garcia.person.date_of_birth = Some(d("1990-04-01"));

    // Forty days out and on track: the 15-90 band. The accents are for the search.
    let mut nunez = person(
        "p-nunez",
        "Núñez",
        "Élodie",
        "2C",
        "2026-01-05",
        Some(("2026-04-11", Certainty::Confirmed)),
    );
    nunez.medi_cal.status = MediCalStatus::Active;
    nunez.consent = Consent {
        signed_on: Some(d("2026-01-06")),
        ..Consent::default()
    };
    nunez.screening.result = ScreeningResult::Eligible;
    nunez.screening.needs = BTreeSet::from([HealthNeed::MentalIllness]);
    nunez.care_team.pre_release_cm =
        Some(contact("cm3", "Chidi Okafor", ContactKind::PreReleaseCm).into());

    // Seven months out: later than 135 days, intake done.
    let mut okafor = person(
        "p-okafor",
        "Okafor",
        "Ngozi",
        "5A",
        "2026-02-15",
        Some(("2026-10-01", Certainty::Projected)),
    );
    okafor.marks.push(mark(M::MediCalChecked, MarkKind::Done));
    okafor.marks.push(mark(M::Consent, MarkKind::Done));

    vec![garcia, nguyen, smith, wang, long, johnson, nunez, okafor]
}

fn options() -> TuiOptions {
    let mut o = TuiOptions::new("Demo", "jdoe (coordinator)", Role::Coordinator);
    o.name_format = NameFormat::LastInitial;
    o
}

fn mono() -> TuiOptions {
    let mut o = options();
    o.theme = Theme::load("mono", ColorDepth::None, None).unwrap();
    o
}

fn now() -> chrono::DateTime<chrono::Utc> {
    FixedClock::on(today()).now()
}

fn app_with(options: TuiOptions, width: u16, height: u16) -> App {
    let mut app = App::new(options, people(), today(), now());
    app.update(Action::Resized { width, height });
    app
}

fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::draw(frame, app)).unwrap();
    terminal
}

fn screen_text(app: &App, width: u16, height: u16) -> String {
    buffer_text(render(app, width, height).backend().buffer())
}

/// Board order: soonest release first.
fn ids(app: &App) -> Vec<&str> {
    app.rows()
        .iter()
        .map(|r| r.record.person.id.as_str())
        .collect()
}

/// List order: grouped by band, soonest first inside each.
fn visible(app: &App) -> Vec<&str> {
    app.visible_rows()
        .map(|r| r.record.person.id.as_str())
        .collect()
}

fn select(app: &mut App, id: &str) {
    app.update(Action::MoveFirst);
    for _ in 0..app.visible_count() {
        if app.selected_id() == Some(id) {
            return;
        }
        app.update(Action::MoveDown);
    }
    assert_eq!(app.selected_id(), Some(id));
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(Action::SearchInput(c));
    }
}

/// The text of row `y`, one entry per cell (the cell hidden behind a wide character is "").
fn row_symbols(buffer: &Buffer, y: u16) -> Vec<String> {
    (0..buffer.area.width)
        .map(|x| buffer[(x, y)].symbol().to_string())
        .collect()
}

/// The text of row `y` as a person reads it: the blank cell behind a wide character is skipped.
fn row_text(buffer: &Buffer, y: u16) -> String {
    let mut text = String::new();
    let mut hidden = 0;
    for symbol in row_symbols(buffer, y) {
        if hidden > 0 {
            hidden -= 1;
            continue;
        }
        hidden = unicode_width::UnicodeWidthStr::width(symbol.as_str()).saturating_sub(1);
        text.push_str(&symbol);
    }
    text
}

fn find_row(buffer: &Buffer, needle: &str) -> u16 {
    (0..buffer.area.height)
        .find(|&y| row_text(buffer, y).contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle}"))
}

fn buffer_text(buffer: &Buffer) -> String {
    (0..buffer.area.height)
        .map(|y| row_text(buffer, y).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// App::update

#[test]
fn rows_are_soonest_first_grouped_by_band() {
    let app = app_with(options(), 80, 24);
    assert_eq!(
        ids(&app),
        [
            "p-smith",
            "p-nguyen",
            "p-garcia",
            "p-nunez",
            "p-wang",
            "p-okafor",
            "p-johnson",
            "p-long"
        ]
    );
    assert_eq!(
        visible(&app),
        [
            "p-smith",
            "p-nguyen",
            "p-garcia",
            "p-wang",
            "p-johnson",
            "p-nunez",
            "p-long",
            "p-okafor"
        ]
    );
    assert_eq!(app.selected_id(), Some("p-smith"));
    let text = screen_text(&app, 120, 40);
    let headings: Vec<&str> = text.lines().filter(|l| l.starts_with("──")).collect();
    assert_eq!(headings.len(), 4, "{text}");
    assert!(
        headings[0].starts_with("── Overdue work (5) ─"),
        "{}",
        headings[0]
    );
    assert!(
        headings[1].starts_with("── 15-90 days (1) ─"),
        "{}",
        headings[1]
    );
    assert!(headings[2].starts_with("── Unknown date (pretrial) (1)"));
    assert!(headings[3].starts_with("── Later than 135 days (1)"));
}

#[test]
fn moving_clamps_at_both_ends_and_skips_headings() {
    let mut app = app_with(options(), 80, 24);
    app.update(Action::MoveUp);
    assert_eq!(app.selected(), Some(0), "no wrap from the top");
    app.update(Action::MoveDown);
    app.update(Action::MoveDown);
    assert_eq!(app.selected_id(), Some("p-garcia"));
    // From the last overdue person straight to the next band's first: headings are not stops.
    select(&mut app, "p-johnson");
    app.update(Action::MoveDown);
    assert_eq!(app.selected_id(), Some("p-nunez"));
    for _ in 0..20 {
        app.update(Action::MoveDown);
    }
    assert_eq!(
        app.selected_id(),
        Some("p-okafor"),
        "no wrap from the bottom"
    );
    app.update(Action::MoveFirst);
    assert_eq!(app.selected(), Some(0));
    app.update(Action::MoveLast);
    assert_eq!(app.selected(), Some(7));
    app.update(Action::PageUp);
    assert_eq!(app.selected(), Some(0));
}

#[test]
fn dirty_only_when_something_changed() {
    let mut app = app_with(options(), 80, 24);
    assert!(app.is_dirty(), "the first frame must be drawn");
    app.mark_drawn();
    app.update(Action::MoveUp);
    assert!(!app.is_dirty(), "already at the top: nothing to redraw");
    app.update(Action::Tick { now: now() });
    assert!(!app.is_dirty(), "an idle tick draws nothing");
    app.update(Action::MoveDown);
    assert!(app.is_dirty());
    app.mark_drawn();
    app.update(Action::Resized {
        width: 100,
        height: 30,
    });
    assert!(app.is_dirty(), "a resize always redraws");
}

fn loaded(records: Vec<PersonRecord>) -> Action {
    Action::Loaded {
        records,
        today: today(),
        now: now(),
    }
}

#[test]
fn selection_follows_the_person_across_a_reload() {
    let mut app = app_with(options(), 80, 24);
    select(&mut app, "p-wang");
    assert_eq!(app.selected(), Some(3));

    // Another session moves Wang's release to tomorrow: the row moves up, the selection with it.
    let mut records = people();
    for r in &mut records {
        if r.person.id == "p-wang" {
            r.release.date = Some(d("2026-03-03"));
        }
    }
    app.mark_drawn();
    app.update(loaded(records));
    assert!(app.is_dirty());
    assert_eq!(app.selected_id(), Some("p-wang"));
    assert_eq!(app.selected(), Some(2));

    // Wang is released and leaves the list: the selection stays in place, on the next person.
    let records: Vec<_> = people()
        .into_iter()
        .filter(|r| r.person.id != "p-wang")
        .collect();
    app.update(loaded(records));
    assert_eq!(app.selected(), Some(2));
    assert_eq!(app.selected_id(), Some("p-garcia"));

    // Everyone gone: no selection, no panic on moves or on opening the detail.
    app.update(loaded(Vec::new()));
    assert_eq!(app.selected(), None);
    app.update(Action::MoveDown);
    app.update(Action::MoveUp);
    app.update(Action::OpenDetail);
    assert_eq!(app.selected_id(), None);
    assert!(screen_text(&app, 80, 24).contains("No one in custody."));
}

#[test]
fn a_new_day_recomputes_readiness() {
    let mut app = app_with(options(), 80, 24);
    let garcia = |app: &App| {
        app.rows()
            .iter()
            .find(|r| r.record.person.id == "p-garcia")
            .unwrap()
            .readiness
            .days_to_release
    };
    assert_eq!(garcia(&app), Some(12));
    app.update(Action::Loaded {
        records: people(),
        today: d("2026-03-03"),
        now: FixedClock::on(d("2026-03-03")).now(),
    });
    assert_eq!(app.today(), d("2026-03-03"));
    assert_eq!(garcia(&app), Some(11));
    assert!(screen_text(&app, 80, 24).starts_with("Demo  2026-03-03 Tue"));
}

#[test]
fn quit_and_load_failure() {
    let mut app = app_with(options(), 80, 24);
    app.update(Action::LoadFailed("database is locked".into()));
    assert_eq!(app.status(), Some("database is locked"));
    let terminal = render(&app, 80, 24);
    let footer = row_text(terminal.backend().buffer(), 23);
    assert!(
        footer.starts_with("Reload failed: database is locked"),
        "{footer}"
    );
    app.update(loaded(people()));
    assert_eq!(app.status(), None, "a good reload clears the message");
    assert!(!app.should_quit());
    app.update(Action::Quit);
    assert!(app.should_quit());
}

#[test]
fn scrolling_keeps_the_selection_on_screen() {
    // Ten rows tall leaves five list lines; copies of Wang make the overdue band long.
    let mut records = people();
    for n in 0..20 {
        let mut extra = people().remove(3);
        extra.person.id = format!("p-x{n:02}");
        extra.person.name.last = format!("Extra{n:02}");
        records.push(extra);
    }
    let mut app = App::new(options(), records, today(), now());
    app.update(Action::Resized {
        width: 80,
        height: 10,
    });
    app.update(Action::MoveLast);
    let terminal = render(&app, 80, 10);
    let buffer = terminal.backend().buffer();
    assert_eq!(app.selected_id(), Some("p-okafor"));
    let y = find_row(buffer, "OKAFOR");
    assert_eq!(y, 7, "the last person sits on the last list row");
    assert!(buffer[(0, y)].modifier.contains(Modifier::REVERSED));
    assert_eq!(find_row(buffer, "Later than"), 6, "with its band heading");
    app.update(Action::MoveFirst);
    let terminal = render(&app, 80, 10);
    assert_eq!(
        find_row(terminal.backend().buffer(), "Overdue work"),
        3,
        "the first heading comes back into view"
    );
    app.update(Action::PageDown);
    assert_eq!(app.selected(), Some(5));
}

#[test]
fn search_narrows_as_you_type_and_esc_restores() {
    let mut app = app_with(options(), 80, 24);
    app.update(Action::OpenSearch);
    assert!(app.is_searching());
    type_text(&mut app, "gar");
    assert_eq!(visible(&app), ["p-garcia"]);
    let text = screen_text(&app, 80, 24);
    assert!(
        text.lines().nth(1).unwrap().starts_with("Search: gar_"),
        "{text}"
    );
    app.update(Action::CancelSearch);
    assert!(!app.is_searching());
    assert_eq!(app.query(), "");
    assert_eq!(visible(&app).len(), 8);

    // Enter keeps it; the filter line says so; one key clears.
    app.update(Action::OpenSearch);
    type_text(&mut app, "b26-wa");
    app.update(Action::KeepSearch);
    assert_eq!(visible(&app), ["p-wang"], "booking numbers match too");
    let text = screen_text(&app, 80, 24);
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with("Filter: search \"b26-wa\""),
        "{text}"
    );
    // A second search that is cancelled goes back to the kept one, not to nothing.
    app.update(Action::OpenSearch);
    app.update(Action::SearchBackspace);
    app.update(Action::SearchBackspace);
    assert_eq!(visible(&app).len(), 8);
    app.update(Action::CancelSearch);
    assert_eq!(visible(&app), ["p-wang"]);
    app.update(Action::ClearFilters);
    assert_eq!(visible(&app).len(), 8);
}

#[test]
fn search_ignores_accents_and_case() {
    let mut app = app_with(options(), 80, 24);
    app.update(Action::OpenSearch);
    type_text(&mut app, "nunez");
    assert_eq!(visible(&app), ["p-nunez"]);
    app.update(Action::CancelSearch);
    app.update(Action::OpenSearch);
    type_text(&mut app, "ÉLODIE NÚÑ");
    assert_eq!(visible(&app), ["p-nunez"]);
    app.update(Action::CancelSearch);
    app.update(Action::OpenSearch);
    type_text(&mut app, "王");
    assert_eq!(visible(&app), ["p-wang"]);
}

#[test]
fn filters_are_always_visible_and_one_key_clears_them() {
    let mut app = app_with(options(), 100, 24);
    let filter_line = |app: &App| {
        screen_text(app, 100, 24)
            .lines()
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(filter_line(&app), "All 8 people · no filter");
    app.update(Action::CycleFacility);
    assert_eq!(visible(&app), ["p-johnson"]);
    assert_eq!(
        filter_line(&app),
        "Filter: facility Juvenile Hall  ·  1 of 8  (x clears)"
    );
    app.update(Action::CycleFacility);
    app.update(Action::CycleBand);
    app.update(Action::ToggleAtRisk);
    assert_eq!(
        filter_line(&app),
        "Filter: facility Main Jail · band overdue work · at risk only  ·  4 of 8  (x clears)"
    );
    app.update(Action::CycleCareManager);
    assert_eq!(visible(&app), ["p-garcia"]);
    app.update(Action::CycleUnit);
    assert!(visible(&app).is_empty(), "unit 2C holds no overdue Garcia");
    assert!(screen_text(&app, 100, 24).contains("No one matches the filter."));
    app.update(Action::ClearFilters);
    assert!(app.filter().is_empty());
    assert_eq!(visible(&app).len(), 8);
    assert_eq!(filter_line(&app), "All 8 people · no filter");
}

#[test]
fn my_work_for_a_nurse() {
    let mut nurse = options();
    nurse.role = Role::Nurse;
    nurse.user_label = "rn1 (nurse)".into();
    let mut app = app_with(nurse, 100, 24);
    app.update(Action::ToggleMyWork);
    // Medications, DME or naloxone open for people near release or with no date.
    assert_eq!(
        visible(&app),
        ["p-nguyen", "p-garcia", "p-johnson", "p-long"]
    );
    let text = screen_text(&app, 100, 24);
    assert!(
        text.lines().nth(1).unwrap().contains("my work (nurse)"),
        "{text}"
    );
    app.update(Action::ToggleMyWork);
    assert_eq!(visible(&app).len(), 8);
}

fn nurse_on_garcia_detail() -> App {
    let mut nurse = options();
    nurse.role = Role::Nurse;
    nurse.name_format = NameFormat::LastFirst;
    let mut app = app_with(nurse, 120, 40);
    select(&mut app, "p-garcia");
    app.update(Action::OpenDetail);
    app
}

#[test]
fn presentation_hides_drug_names_diagnoses_dob_and_notes() {
    let mut app = nurse_on_garcia_detail();
    // Everything the detail would show when scrolled, plus the screen itself.
    let everything = |app: &App| {
        let body: String = view::detail::lines(app)
            .iter()
            .map(|l| l.to_string() + "\n")
            .collect();
        format!("{}\n{body}", screen_text(app, 120, 40))
    };
    let personal = everything(&app);
    // A nurse may see Part 2 details in a personal session.
    for shown in [
        "buprenorphine",
        "substance use disorder",
        "Prefers the Eastside clinic",
        "1990-04-01",
        "Garcia, Maria",
    ] {
        assert!(personal.contains(shown), "{shown} missing:\n{personal}");
    }
    assert!(!personal.contains("PRESENTATION"));

    app.update(Action::TogglePresentation);
    assert!(app.presentation());
    let shared = everything(&app);
    for hidden in [
        "buprenorphine",
        "substance use disorder",
        "Eastside",
        "1990-04-01",
        "Maria",
        "MAT",
    ] {
        assert!(!shared.contains(hidden), "{hidden} shown:\n{shared}");
    }
    assert!(shared.contains("PRESENTATION"));
    assert!(shared.contains("GARCIA, M."));
    assert!(shared.contains("1 protected medication ✗"), "{shared}");
    assert!(
        shared.contains("1 note (hidden on a shared screen)"),
        "{shared}"
    );

    // The board in presentation mode shortens names whatever the county's format.
    app.update(Action::Back);
    let board = screen_text(&app, 120, 40);
    assert!(
        board.contains("GARCIA, M.") && !board.contains("Maria"),
        "{board}"
    );
    app.update(Action::TogglePresentation);
    assert!(screen_text(&app, 120, 40).contains("Garcia, Maria"));
}

#[test]
fn part2_detail_needs_the_role_and_the_consent() {
    let mut app = app_with(options(), 120, 40);
    select(&mut app, "p-garcia");
    app.update(Action::OpenDetail);
    let text = screen_text(&app, 120, 40);
    assert!(
        !text.contains("buprenorphine"),
        "coordinator without consent:\n{text}"
    );
    assert!(text.contains("1 protected medication ✗"));
    assert!(
        text.contains("substance use disorder"),
        "a personal session keeps needs"
    );

    let mut records = people();
    for r in &mut records {
        if r.person.id == "p-garcia" {
            r.consent.part2 = true;
        }
    }
    app.update(loaded(records));
    assert!(
        screen_text(&app, 120, 40).contains("buprenorphine"),
        "with consent"
    );
}

#[test]
fn kiosk_cannot_leave_presentation() {
    let mut kiosk = options();
    kiosk.kiosk = true;
    kiosk.name_format = NameFormat::LastFirst;
    let mut app = app_with(kiosk, 120, 40);
    assert!(app.presentation(), "the kiosk starts in presentation mode");
    app.update(Action::TogglePresentation);
    assert!(app.presentation());
    select(&mut app, "p-garcia");
    app.update(Action::OpenDetail);
    app.update(Action::TogglePresentation);
    assert!(app.presentation());
    let text = screen_text(&app, 120, 40);
    assert!(text.contains("PRESENTATION (read-only)"));
    assert!(!text.contains("buprenorphine") && !text.contains("Maria"));
    assert!(
        !text.contains("present"),
        "no presentation key in the footer:\n{text}"
    );

    // The display role is presentation-only too.
    let mut viewer = options();
    viewer.role = Role::Viewer;
    let mut app = app_with(viewer, 80, 24);
    app.update(Action::TogglePresentation);
    assert!(app.presentation());
}

#[test]
fn detail_scrolls_and_esc_returns_to_the_same_person() {
    let mut app = app_with(options(), 80, 24);
    select(&mut app, "p-nunez");
    app.update(Action::OpenDetail);
    assert_eq!(app.screen(), reentry_board::tui::keymap::Screen::Detail);
    app.update(Action::MoveDown);
    app.update(Action::MoveDown);
    assert_eq!(app.detail_scroll(), 2);
    app.update(Action::MoveLast);
    let end = app.detail_scroll();
    assert!(end > 2);
    app.update(Action::PageDown);
    assert_eq!(app.detail_scroll(), end, "scrolling stops at the end");
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("behavioral health referral"), "{text}");
    app.update(Action::Back);
    assert_eq!(app.screen(), reentry_board::tui::keymap::Screen::Board);
    assert_eq!(app.selected_id(), Some("p-nunez"));
}

#[test]
fn rows_changed_by_others_are_marked_for_ten_minutes() {
    let mut app = app_with(options(), 120, 40);
    assert!(!app.is_changed("p-garcia"));
    let mut records = people();
    for r in &mut records {
        if r.person.id == "p-garcia" {
            r.transport.status = reentry_board::domain::TransportStatus::Arranged;
            r.version += 1;
        }
    }
    let later = now() + chrono::Duration::minutes(1);
    app.update(Action::Loaded {
        records: records.clone(),
        today: today(),
        now: later,
    });
    assert!(app.is_changed("p-garcia"));
    assert!(!app.is_changed("p-smith"));
    let terminal = render(&app, 120, 40);
    let buffer = terminal.backend().buffer();
    let y = find_row(buffer, "GARCIA, M.");
    let flags_x = row_text(buffer, 2).find("Flags").unwrap() as u16;
    assert_eq!(buffer[(flags_x, y)].symbol(), "*");
    let changed = app
        .options()
        .theme
        .style(reentry_board::theme::Slot::Changed);
    assert_eq!(Some(buffer[(0, y)].fg), changed.fg);
    assert!(buffer[(0, y)].modifier.contains(Modifier::BOLD));

    // The same data again changes nothing; ten minutes later the mark is gone.
    app.update(Action::Loaded {
        records,
        today: today(),
        now: later + chrono::Duration::minutes(5),
    });
    assert!(
        app.is_changed("p-garcia"),
        "counted from the change, not the reload"
    );
    app.mark_drawn();
    app.update(Action::Tick {
        now: later + chrono::Duration::minutes(10),
    });
    assert!(app.is_dirty());
    assert!(!app.is_changed("p-garcia"));
}

#[test]
fn a_click_selects_with_the_mouse() {
    let mut app = app_with(options(), 100, 30);
    let terminal = render(&app, 100, 30);
    let y = find_row(terminal.backend().buffer(), "NÚÑEZ");
    app.update(Action::Click { column: 3, row: y });
    assert_eq!(app.selected_id(), Some("p-nunez"));
    let heading = find_row(terminal.backend().buffer(), "Later than");
    app.update(Action::Click {
        column: 3,
        row: heading,
    });
    assert_eq!(
        app.selected_id(),
        Some("p-nunez"),
        "headings are not selectable"
    );
}

#[test]
fn help_lists_every_bound_action() {
    let mut app = app_with(options(), 80, 24);
    app.update(Action::ToggleHelp);
    assert_eq!(app.screen(), reentry_board::tui::keymap::Screen::Help);
    let text: String = view::help::lines(&app)
        .iter()
        .map(|l| l.to_string() + "\n")
        .collect();
    for bound in app.options().keymap.bound() {
        assert!(
            text.contains(&format!(" {} ", bound.binding.name)),
            "{} missing from help",
            bound.binding.name
        );
        assert!(text.contains(bound.binding.description));
    }
    for flag in ["Δ", "late entry", "protected information", "open barrier"] {
        assert!(text.contains(flag), "{flag}");
    }
    // Scrolling the overlay; Esc closes it and the board is where it was.
    app.update(Action::MoveLast);
    assert!(app.help_scroll() > 0);
    app.update(Action::Back);
    assert_eq!(app.screen(), reentry_board::tui::keymap::Screen::Board);
}

#[test]
fn help_and_footer_follow_rebound_keys() {
    let config = reentry_board::config::Config::parse(
        "[keys]\nsearch = \"z\"\nquit = [\"Q\", \"F10\"]\n",
        std::path::Path::new("county.toml"),
    )
    .unwrap();
    let mut o = options();
    o.keymap = config.keymap().unwrap();
    let mut app = app_with(o, 100, 24);
    let text = screen_text(&app, 100, 24);
    let footer = text.lines().last().unwrap();
    assert!(footer.contains("z search"), "{footer}");
    assert!(footer.contains("Q/F10 quit"), "{footer}");
    app.update(Action::ToggleHelp);
    let help: String = view::help::lines(&app)
        .iter()
        .map(|l| l.to_string() + "\n")
        .collect();
    assert!(help.contains("Q, F10"), "{help}");
    assert!(help.contains("  z            search"), "{help}");
}

#[test]
fn key_clashes_name_both_bindings_with_file_and_line() {
    let e = reentry_board::config::Config::parse(
        "facility_name = \"X\"\n[keys]\nhelp = \"h\"\nquit = [\"q\", \"h\"]\n",
        std::path::Path::new("county.toml"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "county.toml:4: keys.quit: `h` on the board screen is bound to both keys.help and keys.quit"
    );
}

// ---------------------------------------------------------------------------------------------
// The view

/// Board, detail, help and presentation at a size, named for the snapshot file.
fn screens(options: TuiOptions, width: u16, height: u16) -> Vec<(&'static str, App)> {
    let board = {
        let mut app = app_with(options.clone(), width, height);
        app.update(Action::MoveDown);
        app
    };
    let detail = {
        let mut app = app_with(options.clone(), width, height);
        select(&mut app, "p-garcia");
        app.update(Action::OpenDetail);
        app
    };
    let help = {
        let mut app = app_with(options.clone(), width, height);
        app.update(Action::ToggleHelp);
        app
    };
    let presentation = {
        let mut app = app_with(options.clone(), width, height);
        app.update(Action::TogglePresentation);
        select(&mut app, "p-garcia");
        app.update(Action::OpenDetail);
        app
    };
    let presentation_board = {
        let mut app = app_with(options.clone(), width, height);
        app.update(Action::TogglePresentation);
        app
    };
    let search = {
        let mut app = app_with(options, width, height);
        app.update(Action::OpenSearch);
        type_text(&mut app, "n");
        app
    };
    vec![
        ("board", board),
        ("detail", detail),
        ("help", help),
        ("presentation", presentation),
        ("presentation_board", presentation_board),
        ("search", search),
    ]
}

fn snapshot_all(theme: &str, options: TuiOptions) {
    for (width, height) in [(80, 24), (120, 40)] {
        for (screen, app) in screens(options.clone(), width, height) {
            let name = format!("{screen}_{theme}_{width}x{height}");
            insta::assert_snapshot!(name, render(&app, width, height).backend());
        }
    }
}

#[test]
fn snapshots_default_theme() {
    snapshot_all("default", options());
}

#[test]
fn snapshots_mono_theme() {
    snapshot_all("mono", mono());
}

#[test]
fn board_ascii_100x16() {
    let mut ascii = options();
    ascii.ascii = true;
    let app = app_with(ascii.clone(), 100, 16);
    insta::assert_snapshot!(render(&app, 100, 16).backend());
    let mut app = app_with(ascii, 100, 30);
    app.update(Action::ToggleHelp);
    let text = screen_text(&app, 100, 30);
    assert!(text.lines().nth(1).unwrap().contains("+ Help"), "{text}");
    assert!(text.lines().nth(28).unwrap().contains("+---"), "{text}");
    assert!(
        !text.contains('─') && !text.contains('✓') && !text.contains('Δ'),
        "{text}"
    );
}

#[test]
fn board_60x10_minimum() {
    let app = app_with(options(), 60, 10);
    insta::assert_snapshot!(render(&app, 60, 10).backend());
}

#[test]
fn too_small_says_what_it_needs() {
    let app = app_with(options(), 59, 24);
    let terminal = render(&app, 59, 24);
    let top = row_text(terminal.backend().buffer(), 0);
    assert!(
        top.starts_with("Terminal too small: need at least 60x10"),
        "{top}"
    );
    let terminal = render(&app, 80, 9);
    let top = row_text(terminal.backend().buffer(), 0);
    assert!(top.starts_with("Terminal too small"), "{top}");
}

#[test]
fn colours_add_to_glyphs_and_the_selection_is_reversed() {
    let app = app_with(options(), 120, 40);
    let terminal = render(&app, 120, 40);
    let buffer = terminal.backend().buffer();

    // Garcia's warm handoff (H) is overdue: a red ✗ followed by its letter.
    let y = find_row(buffer, "GARCIA, M.");
    let cells = row_symbols(buffer, y);
    let x = (1..cells.len())
        .find(|&x| cells[x] == "H" && cells[x - 1] == "✗")
        .expect("overdue warm handoff") as u16
        - 1;
    assert_eq!(buffer[(x, y)].fg, Color::Red);
    assert!(!buffer[(x, y)].modifier.contains(Modifier::REVERSED));
    // Due soon is yellow.
    let x = cells.iter().position(|c| c == "◔").expect("due soon") as u16;
    assert_eq!(buffer[(x, y)].fg, Color::Yellow);
    // Nguyen's medications (R) are blocked by the pharmacy: magenta ⊘.
    let y = find_row(buffer, "NGUYEN, T.");
    let cells = row_symbols(buffer, y);
    let x = cells.iter().position(|c| c == "⊘").expect("blocked") as u16;
    assert_eq!(cells[usize::from(x) + 1], "R");
    assert_eq!(buffer[(x, y)].fg, Color::Magenta);
    // A late entry is flagged, and only its milestones carry colour: the name is not red.
    assert!(row_text(buffer, y).contains("L"));
    assert_eq!(buffer[(0, y)].fg, Color::Reset);

    // The selected row (Smith, under the first heading) is reversed from edge to edge.
    let y = find_row(buffer, "SMITH, J.");
    assert_eq!(y, 4);
    for x in 0..120 {
        assert!(
            buffer[(x, y)].modifier.contains(Modifier::REVERSED),
            "x={x}"
        );
    }
    assert!(!buffer[(0, y + 1)].modifier.contains(Modifier::REVERSED));
    // Smith's settled milestones are green; band headings cyan.
    let x = row_symbols(buffer, y)
        .iter()
        .position(|c| c == "✓")
        .unwrap() as u16;
    assert_eq!(buffer[(x, y)].fg, Color::Green);
    assert_eq!(buffer[(0, 3)].fg, Color::Cyan);
}

#[test]
fn mono_has_no_colour_at_all() {
    for (screen, app) in screens(mono(), 120, 40) {
        let terminal = render(&app, 120, 40);
        let buffer = terminal.backend().buffer();
        for y in 0..40 {
            for x in 0..120 {
                let cell = &buffer[(x, y)];
                assert_eq!(
                    (cell.fg, cell.bg),
                    (Color::Reset, Color::Reset),
                    "{screen} at {x},{y}"
                );
            }
        }
    }
    // Overdue still stands out, by modifiers alone.
    let app = app_with(mono(), 120, 40);
    let terminal = render(&app, 120, 40);
    let buffer = terminal.backend().buffer();
    let y = find_row(buffer, "GARCIA, M.");
    let x = row_symbols(buffer, y)
        .iter()
        .position(|c| c == "✗")
        .unwrap() as u16;
    assert!(buffer[(x, y)].modifier.contains(Modifier::UNDERLINED));
}

#[test]
fn long_and_cjk_names_truncate_by_display_width() {
    let mut wide = options();
    wide.name_format = NameFormat::LastFirst;
    let mut records = people();
    let mut cjk = people().remove(3);
    cjk.person.id = "p-sima".into();
    cjk.person.name = PersonName::new("司马", "长长长长长长长长长长长长长长长长长长长长");
    records.push(cjk);
    let mut app = App::new(wide, records, today(), now());
    app.update(Action::Resized {
        width: 80,
        height: 24,
    });
    let terminal = render(&app, 80, 24);
    let buffer = terminal.backend().buffer();

    // Every person's readiness strip starts in the same cell, whatever their name's width.
    let strip_start = |y: u16| {
        let cells = row_symbols(buffer, y);
        (1..cells.len())
            .find(|&x| {
                cells[x] == "M" && ["✓", "·", "○", "◔", "✗", "⊘"].contains(&cells[x - 1].as_str())
            })
            .map(|x| x - 1)
    };
    let starts: Vec<_> = (3..20).filter_map(strip_start).collect();
    assert_eq!(starts.len(), 9, "{starts:?}");
    assert!(starts.iter().all(|s| *s == starts[0]), "{starts:?}");

    // The long names are cut with an ellipsis; the CJK one by display cells, not characters.
    let y = find_row(buffer, "司");
    let name = row_text(buffer, y);
    assert!(name.starts_with("司马, 长长"), "{name}");
    assert!(name.contains('…'), "{name}");
    let y = find_row(buffer, "Wolfesch");
    assert!(row_text(buffer, y).contains('…'));

    insta::assert_snapshot!(buffer_text(buffer));
}

#[test]
fn every_screen_at_every_size_from_1x1_to_300x100_draws_without_panic() {
    for (screen, mut app) in screens(options(), 1, 1) {
        // The last person selected, so scrolling is exercised at every height.
        if screen == "board" {
            app.update(Action::MoveLast);
        }
        let mut terminal = Terminal::new(TestBackend::new(1, 1)).unwrap();
        let mut check = |w: u16, h: u16| {
            app.update(Action::Resized {
                width: w,
                height: h,
            });
            app.update(Action::MoveDown);
            terminal.backend_mut().resize(w, h);
            terminal
                .resize(ratatui::layout::Rect::new(0, 0, w, h))
                .unwrap();
            terminal.draw(|frame| view::draw(frame, &app)).unwrap();
        };
        for h in [1, 2, 3, 4, 9, 10, 11, 24, 100] {
            for w in 1..=300 {
                check(w, h);
            }
        }
        for w in [1, 2, 30, 59, 60, 61, 79, 80, 81, 120, 300] {
            for h in 1..=100 {
                check(w, h);
            }
        }
    }
}

#[test]
fn date_changes_are_flagged_since_the_last_meeting_or_until_acknowledged() {
    use reentry_board::domain::{ChangeReason, ReleaseChange};
    let at = |day: &str| FixedClock::on(d(day)).now();
    let change = |acknowledged: bool| ReleaseChange {
        id: 1,
        changed_at: at("2026-03-01"),
        changed_by: "rec1".into(),
        from: Some(d("2026-03-20")),
        to: Some(d("2026-03-14")),
        certainty: Certainty::Confirmed,
        source: None,
        reason: ChangeReason::SentenceCredits,
        reason_text: String::new(),
        acknowledged_by: acknowledged.then(|| "coord1".into()),
        acknowledged_at: acknowledged.then(|| at("2026-03-01")),
    };
    let flags_of = |records: Vec<PersonRecord>, last_meeting: Option<&str>| {
        let mut o = options();
        o.last_meeting = last_meeting.map(at);
        let mut app = App::new(o, records, today(), now());
        app.update(Action::Resized {
            width: 120,
            height: 40,
        });
        let terminal = render(&app, 120, 40);
        let buffer = terminal.backend().buffer();
        let x = row_text(buffer, 2).find("Flags").unwrap();
        let row = row_text(buffer, find_row(buffer, "GARCIA, M."));
        row.chars().skip(x).take(6).collect::<String>()
    };
    let with = |acknowledged: bool| {
        let mut records = people();
        records[0].release_history.push(change(acknowledged));
        records
    };
    assert_eq!(flags_of(people(), Some("2026-02-28")), "    P ");
    // Moved earlier and not yet acknowledged: flagged whenever the last meeting was.
    assert_eq!(flags_of(with(false), None), " Δ  P ");
    // Acknowledged: flagged only while the change is newer than the last meeting.
    assert_eq!(flags_of(with(true), Some("2026-02-28")), " Δ  P ");
    assert_eq!(flags_of(with(true), Some("2026-03-02")), "    P ");
}

#[test]
#[ignore = "timing; run with --release --ignored"]
fn typing_a_search_on_100_000_people_stays_quick() {
    let base = people();
    let records: Vec<PersonRecord> = (0..100_000)
        .map(|n| {
            let mut r = base[n % base.len()].clone();
            r.person.id = format!("p-{n}");
            r.person.booking_id = format!("B{n:06}");
            r
        })
        .collect();
    let mut app = App::new(options(), records, today(), now());
    app.update(Action::Resized {
        width: 120,
        height: 40,
    });
    app.update(Action::OpenSearch);
    let started = std::time::Instant::now();
    type_text(&mut app, "nu");
    render(&app, 120, 40);
    let took = started.elapsed();
    assert_eq!(app.visible_count(), 100_000 / 8);
    assert!(took.as_millis() < 200, "{took:?} for two keys and a frame");
}

/// Garcia with every section filled in, to read the whole detail at once.
fn rich_garcia() -> Vec<PersonRecord> {
    use reentry_board::domain::{
        Appointment, AppointmentStatus, ChangeReason, Confirmation, ConsentScope, DateFlag,
        DmeItem, DmeStatus, FlagStatus, NaloxoneStatus, Notification, NotificationStatus,
        Recipient, Referral, ReferralTarget, ReleaseChange, ReleaseSource, ReleaseType,
        TransportStatus, WarmHandoffStatus,
    };
    let at = |day: &str| FixedClock::on(d(day)).now();
    let mut records = people();
    let g = &mut records[0];
    g.release.kind = Some(ReleaseType::SentenceEnd);
    g.release.source = Some(ReleaseSource::JailManagementSystem);
    g.release_history.push(ReleaseChange {
        id: 1,
        changed_at: at("2026-02-20"),
        changed_by: "rec1".into(),
        from: Some(d("2026-03-20")),
        to: Some(d("2026-03-14")),
        certainty: Certainty::Confirmed,
        source: Some(ReleaseSource::CourtOrder),
        reason: ChangeReason::SentenceCredits,
        reason_text: "credits applied by the court".into(),
        acknowledged_by: None,
        acknowledged_at: None,
    });
    g.date_flags.push(DateFlag {
        id: 1,
        proposed: Some(d("2026-03-10")),
        reason: ChangeReason::EarlyRelease,
        reason_text: String::new(),
        raised_by: "po1".into(),
        raised_at: at("2026-02-28"),
        status: FlagStatus::Open,
    });
    g.medi_cal.mcp_name = Some("Synthetic Health Plan".into());
    g.consent.scope = Some(ConsentScope::MultiAgency);
    g.consent.expires_on = Some(d("2027-03-01"));
    g.consent.part2 = true;
    g.care_team.probation_officer =
        Some(contact("po1", "Pat Quinn", ContactKind::ProbationOfficer).into());
    g.care_team.behavioral_health =
        Some(contact("bh1", "Sam Reyes", ContactKind::BehavioralHealth).into());
    g.medications[0].long_acting_injectable = true;
    g.medications[0].next_dose = Some(d("2026-03-20"));
    g.medications.push(Medication {
        id: 7,
        name: "synthetic-statin".into(),
        class: MedClass::Chronic,
        long_acting_injectable: false,
        next_dose: None,
        supply: SupplyStatus::Ready,
        confirmed: Some(Confirmation {
            by: "rn1".into(),
            at: at("2026-03-01"),
        }),
        version: 1,
    });
    g.naloxone = Some(NaloxoneStatus::Offered);
    g.dme.push(DmeItem {
        id: 1,
        item: "walker".into(),
        status: DmeStatus::Ordered,
        confirmed: None,
        version: 1,
    });
    g.warm_handoff.status = WarmHandoffStatus::Scheduled;
    g.warm_handoff.scheduled_on = Some(d("2026-03-05"));
    g.appointments.push(Appointment {
        id: 1,
        what: "Eastside clinic intake".into(),
        on: Some(d("2026-03-16")),
        status: AppointmentStatus::Booked,
    });
    g.transport.status = TransportStatus::Arranged;
    g.transport.note = "sister picks up".into();
    g.referrals.push(Referral {
        id: 1,
        target: ReferralTarget::DrugMediCal,
        status: NotificationStatus::Sent,
    });
    g.notifications.push(Notification {
        recipient: Recipient::Mcp,
        status: NotificationStatus::Acknowledged,
    });
    g.barriers.push(Barrier {
        id: 2,
        milestone: MilestoneCode::WarmHandoff,
        reason: BarrierReason::ProviderUnavailable,
        text: "ECM on leave until 03-04".into(),
        opened_on: d("2026-02-27"),
        resolved_on: None,
    });
    records
}

fn detail_text(app: &App) -> String {
    view::detail::lines(app)
        .iter()
        .map(|l| l.to_string().trim_end().to_string() + "\n")
        .collect()
}

#[test]
fn detail_in_full_personal_and_presentation() {
    let mut nurse = options();
    nurse.role = Role::Nurse;
    let mut app = App::new(nurse, rich_garcia(), today(), now());
    app.update(Action::Resized {
        width: 120,
        height: 40,
    });
    select(&mut app, "p-garcia");
    app.update(Action::OpenDetail);
    let personal = detail_text(&app);
    insta::assert_snapshot!("detail_full_personal", personal);
    app.update(Action::TogglePresentation);
    let shared = detail_text(&app);
    insta::assert_snapshot!("detail_full_presentation", shared);
    for hidden in [
        "buprenorphine",
        "statin",
        "walker",
        "Eastside",
        "credits applied",
        "sister",
        "Drug Medi-Cal",
        "ECM on leave",
        "Sam Reyes",
        "MAT",
        "Part 2 consent",
    ] {
        assert!(!shared.contains(hidden), "{hidden} shown:\n{shared}");
    }
    assert!(shared.contains("1 medications: 1 ready") || shared.contains("1 medication: 1 ready"));
    assert!(shared.contains("1 protected medication ✗"));
}
