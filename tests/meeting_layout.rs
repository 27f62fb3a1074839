//! The meeting screen and the detail view as the room sees them: drawn on ratatui's `TestBackend`
//! at 80x24, 100x30, 120x40 and 200x60, in the default, mono and high-contrast themes, with
//! presentation mode on and off, on a fixed clock. The snapshots carry each cell's style as well
//! as its text, so a theme that loses a state's emphasis shows up. Every record is synthetic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveTime, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};
use reentry_board::domain::*;
use reentry_board::meeting::{self, Why};
use reentry_board::theme::{ColorDepth, Theme};
use reentry_board::tui::keymap::Screen;
use reentry_board::tui::meeting_screen::MeetingKey;
use reentry_board::tui::{Action, App, TuiOptions, view};
use support::records::{d, person};

const TODAY: &str = "2026-06-01";

fn at(day: &str, hms: &str) -> DateTime<Utc> {
    d(day)
        .and_time(NaiveTime::parse_from_str(hms, "%H:%M:%S").unwrap())
        .and_utc()
}

fn contact(id: &str, name: &str, kind: ContactKind) -> Arc<Contact> {
    Arc::new(Contact {
        id: id.into(),
        name: name.into(),
        organisation: "Synthetic Health".into(),
        phone: "555-0100".into(),
        kind,
    })
}

fn named(mut r: PersonRecord, last: &str, first: &str) -> PersonRecord {
    r.person.name = PersonName::new(last, first);
    r
}

fn med(id: i64, name: &str, class: MedClass, supply: SupplyStatus) -> Medication {
    Medication {
        id,
        name: name.into(),
        class,
        long_acting_injectable: false,
        next_dose: None,
        supply,
        confirmed: None,
        version: 1,
    }
}

/// The agenda of 2026-06-01, in agenda order:
/// - p-10 Overdue, Otto: held three days past his release date, nothing done (everything overdue);
/// - p-11 Parts, Pat: a Part 2 medication (buprenorphine) and another, DME, a full care team;
/// - p-12 Ready, Rita: everything done (nothing to do);
/// - p-13 Lately, Lin: booked after the windows closed (late entry); the date moved earlier after
///   the last meeting and awaits acknowledgement;
/// - p-14 Young, Yara: a youth, a barrier recorded since the last meeting;
/// - p-15 Later, Lou: 200 days out with an open date flag;
/// - p-16 Middle, Max: overdue intake work 45 days out;
/// - p-17 Nobody, Nat: no release date (pretrial).
///
/// p-18 (200 days out, booked two days ago) is not on the agenda.
fn people() -> Vec<PersonRecord> {
    use MilestoneCode as M;
    let mut otto = named(
        person(10, "2025-01-01", Some("2026-05-29")),
        "Overdue",
        "Otto",
    );
    otto.medications = vec![med(
        1,
        "Sertraline",
        MedClass::Psychotropic,
        SupplyStatus::ToOrder,
    )];
    otto.dme = vec![DmeItem {
        id: 1,
        item: "walker".into(),
        status: DmeStatus::Identified,
        confirmed: None,
        version: 1,
    }];
    otto.screening.needs = [HealthNeed::MentalIllness].into_iter().collect();

    let mut pat = named(person(11, "2026-02-01", Some("2026-06-05")), "Parts", "Pat");
    pat.medications = vec![
        med(2, "Buprenorphine", MedClass::MatOud, SupplyStatus::Ordered),
        med(3, "Lisinopril", MedClass::Chronic, SupplyStatus::Ready),
    ];
    pat.dme = vec![DmeItem {
        id: 2,
        item: "CPAP machine".into(),
        status: DmeStatus::Ordered,
        confirmed: None,
        version: 1,
    }];
    pat.care_team = CareTeam {
        pre_release_cm: Some(contact("cm-1", "Renata Solis", ContactKind::PreReleaseCm)),
        post_release_ecm: Some(contact("ecm-1", "Dana Kowalczyk", ContactKind::EcmProvider)),
        probation_officer: None,
        behavioral_health: Some(contact("bh-1", "Ivy Chen", ContactKind::BehavioralHealth)),
    };
    pat.warm_handoff = WarmHandoff {
        status: WarmHandoffStatus::Scheduled,
        scheduled_on: Some(d("2026-06-04")),
    };
    pat.consent.part2 = true;
    pat.medi_cal.status = MediCalStatus::Active;
    pat.screening.result = ScreeningResult::Eligible;
    pat.screening.needs = [HealthNeed::SubstanceUseDisorder].into_iter().collect();
    for code in [M::Consent, M::CarePlan, M::Appointments, M::Transport] {
        pat.marks.push(done(code));
    }

    let mut rita = named(
        person(12, "2026-01-10", Some("2026-06-08")),
        "Ready",
        "Rita",
    );
    rita.marks = MilestoneCode::all().map(done).collect();

    let mut lin = named(
        person(13, "2026-05-28", Some("2026-06-09")),
        "Lately",
        "Lin",
    );
    lin.release_history = vec![ReleaseChange {
        id: 1,
        changed_at: at("2026-05-30", "14:02:00"),
        changed_by: "records1".into(),
        from: Some(d("2026-06-12")),
        to: Some(d("2026-06-09")),
        certainty: Certainty::Confirmed,
        source: Some(ReleaseSource::CourtOrder),
        reason: ChangeReason::CourtOrder,
        reason_text: "sentence modified at hearing".into(),
        acknowledged_by: None,
        acknowledged_at: None,
    }];

    let mut yara = named(
        person(14, "2026-03-01", Some("2026-06-11")),
        "Young",
        "Yara",
    );
    yara.person.youth = true;
    yara.consent.signed_on = Some(d("2026-03-02"));
    yara.barriers = vec![Barrier {
        id: 1,
        milestone: M::Appointments,
        reason: BarrierReason::ProviderUnavailable,
        text: "clinic closed for renovation".into(),
        opened_on: d("2026-05-31"),
        resolved_on: None,
    }];

    let mut lou = named(person(15, "2026-05-01", Some("2026-12-18")), "Later", "Lou");
    lou.marks = vec![done(M::MediCalChecked), done(M::Consent)];
    lou.date_flags = vec![DateFlag {
        id: 1,
        proposed: Some(d("2026-06-20")),
        reason: ChangeReason::CourtOrder,
        reason_text: String::new(),
        raised_by: "probation1".into(),
        raised_at: at("2026-05-30", "09:00:00"),
        status: FlagStatus::Open,
    }];

    let max = named(
        person(16, "2026-04-01", Some("2026-07-16")),
        "Middle",
        "Max",
    );
    let nat = named(person(17, "2026-05-20", None), "Nobody", "Nat");
    let off = named(person(18, "2026-05-30", Some("2026-12-18")), "Off", "Olive");
    vec![otto, pat, rita, lin, yara, lou, max, nat, off]
}

fn done(code: MilestoneCode) -> MilestoneMark {
    MilestoneMark {
        milestone: code,
        kind: MarkKind::Done,
        by: "nurse1".into(),
        on: d("2026-05-28"),
    }
}

fn theme(name: &str) -> Theme {
    match name {
        "mono" => Theme::load("mono", ColorDepth::None, None).unwrap(),
        "high-contrast" => Theme::load("high-contrast", ColorDepth::TrueColor, None).unwrap(),
        other => Theme::load(other, ColorDepth::Ansi16, None).unwrap(),
    }
}

fn options(theme_name: &str) -> TuiOptions {
    let mut o = TuiOptions::new("County Jail", "coord (coordinator)", Role::Coordinator);
    o.theme = theme(theme_name);
    o.last_meeting = Some(at("2026-05-29", "16:00:00"));
    o
}

fn app(theme_name: &str, width: u16, height: u16) -> App {
    let mut app = App::new(
        options(theme_name),
        people(),
        d(TODAY),
        at(TODAY, "11:58:00"),
    );
    app.update(Action::Resized { width, height });
    app
}

fn key(app: &mut App, k: MeetingKey) {
    app.update(Action::Meeting(k));
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(Action::DialogInput(c));
    }
}

fn current(app: &App) -> String {
    app.meeting()
        .and_then(|m| m.current())
        .map(|a| a.person_id.clone())
        .unwrap_or_default()
}

/// The meeting opened at 11:58, walked to `id` at 12:01 after a minute and a half on the first
/// person; Pat has a decision and a task recorded; the clock reads 12:03:20.
fn meeting_at(theme_name: &str, width: u16, height: u16, id: &str, present: bool) -> App {
    let mut app = app(theme_name, width, height);
    if present {
        app.update(Action::TogglePresentation);
    }
    app.update(Action::OpenMeeting);
    assert_eq!(app.screen(), Screen::Meeting);
    app.update(Action::Tick {
        now: at(TODAY, "11:59:30"),
    });
    key(&mut app, MeetingKey::ReviewedNext);
    assert_eq!(current(&app), "p-11");
    key(&mut app, MeetingKey::Decision);
    type_text(
        &mut app,
        "Bridge buprenorphine script to the community pharmacy",
    );
    app.update(Action::DialogSubmit);
    key(&mut app, MeetingKey::Task);
    type_text(&mut app, "Confirm the CPAP delivery");
    app.update(Action::FieldNext);
    type_text(&mut app, "nurse1");
    app.update(Action::DialogSubmit);
    assert_eq!(app.screen(), Screen::Meeting);
    app.update(Action::Tick {
        now: at(TODAY, "12:01:00"),
    });
    app.update(Action::MoveFirst);
    for _ in 0..10 {
        if current(&app) == id {
            break;
        }
        key(&mut app, MeetingKey::Next);
    }
    assert_eq!(current(&app), id);
    app.update(Action::Tick {
        now: at(TODAY, "12:03:20"),
    });
    app
}

fn detail_of(theme_name: &str, width: u16, height: u16, id: &str, present: bool) -> App {
    let mut app = meeting_at(theme_name, width, height, id, present);
    key(&mut app, MeetingKey::Detail);
    assert_eq!(app.screen(), Screen::Detail);
    assert_eq!(app.selected_id(), Some(id));
    app
}

fn render(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::draw(frame, app)).unwrap();
    terminal.backend().buffer().clone()
}

fn text(buffer: &Buffer) -> String {
    (0..buffer.area.height)
        .map(|y| {
            let mut line = String::new();
            let mut hidden = 0;
            for x in 0..buffer.area.width {
                let symbol = buffer[(x, y)].symbol();
                if hidden > 0 {
                    hidden -= 1;
                    continue;
                }
                hidden = unicode_width::UnicodeWidthStr::width(symbol).saturating_sub(1);
                line.push_str(symbol);
            }
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The screen as text, then under each row a row of style letters (`.` the terminal's default),
/// then what each letter is. Two themes that draw the same text snapshot differently.
fn styled(buffer: &Buffer) -> String {
    let mut letters: BTreeMap<String, char> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let describe = |style: Style| -> String {
        let mut parts = Vec::new();
        if let Some(fg) = style.fg.filter(|c| *c != Color::Reset) {
            parts.push(format!("fg {fg:?}"));
        }
        if let Some(bg) = style.bg.filter(|c| *c != Color::Reset) {
            parts.push(format!("bg {bg:?}"));
        }
        if !style.add_modifier.is_empty() {
            parts.push(format!("{:?}", style.add_modifier));
        }
        parts.join(" ")
    };
    let screen = text(buffer);
    let mut out = String::new();
    for (y, line) in screen.lines().enumerate() {
        out.push_str(line);
        out.push('\n');
        let mut row = String::new();
        for x in 0..buffer.area.width {
            let cell = &buffer[(x, u16::try_from(y).unwrap())];
            let what = describe(cell.style());
            let c = if what.is_empty() {
                '.'
            } else {
                let next = char::from(b'A' + u8::try_from(letters.len() % 26).unwrap());
                *letters.entry(what.clone()).or_insert_with(|| {
                    order.push(what.clone());
                    next
                })
            };
            row.push(c);
        }
        let row = row.trim_end_matches('.');
        if !row.is_empty() {
            out.push_str(&format!("  {row}\n"));
        }
    }
    out.push_str("--\n");
    for what in order {
        out.push_str(&format!("{} = {what}\n", letters[&what]));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The agenda

#[test]
fn the_agenda_has_everyone_past_their_date_first_then_each_section_once() {
    let rules = Rules::default();
    let rows = board::build(people(), d(TODAY), &rules);
    let got: Vec<(String, Why)> = meeting::agenda(&rows, &rules)
        .into_iter()
        .map(|a| (a.person_id, a.why))
        .collect();
    let want: Vec<(String, Why)> = [
        ("p-10", Why::PastRelease),
        ("p-11", Why::ReleasingSoon),
        ("p-12", Why::ReleasingSoon),
        ("p-13", Why::ReleasingSoon),
        ("p-14", Why::ReleasingSoon),
        ("p-15", Why::OpenDateFlag),
        ("p-16", Why::OverdueWork),
        ("p-17", Why::UnknownDate),
    ]
    .into_iter()
    .map(|(id, why)| (id.to_string(), why))
    .collect();
    assert_eq!(got, want);
}

// ---------------------------------------------------------------------------------------------
// The screen uses the screen

#[test]
fn at_120x40_the_agenda_is_beside_the_person_and_what_needs_doing_comes_first() {
    let app = meeting_at("default", 120, 40, "p-10", false);
    let screen = text(&render(&app, 120, 40));
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines[1].starts_with("MEETING  1 of 8 · past release date, still held"),
        "{screen}"
    );
    // A minute and a half before the walk, two minutes twenty since coming back.
    assert!(
        lines[1].contains("this person 3:50 · meeting 5:20"),
        "{screen}"
    );
    // The agenda down the left: its count, the section breaks with their sizes, everyone on it,
    // the person on screen marked, the reviewed one ticked, days and strips.
    assert!(lines[2].starts_with("Agenda · 1 of 8 reviewed"), "{screen}");
    for heading in [
        "── Past release date, still held (1)",
        "── Releasing in 0-14 days (4)",
        "── Open date flag (1)",
        "── Overdue work, 15-90 days (1)",
        "── Unknown release date (1)",
    ] {
        assert!(screen.contains(heading), "{heading}\n{screen}");
    }
    let agenda_row = |name: &str| {
        lines
            .iter()
            .find(|l| l.chars().take(40).collect::<String>().contains(name))
            .unwrap_or_else(|| panic!("{name} not in the agenda:\n{screen}"))
            .chars()
            .take(40)
            .collect::<String>()
    };
    let otto = agenda_row("Overdue, Otto");
    assert!(otto.starts_with("▶✓ Overdue, Otto"), "{otto}");
    assert!(otto.contains("-3d ✗✗✗✗✗✗·✗✗✗✗✗✗✗✗"), "{otto}");
    assert!(agenda_row("Ready, Rita").contains("7d ✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓"));
    assert!(agenda_row("Nobody, Nat").contains("     ?"));
    // The rest of the screen is the person: what needs doing, with owner, due date and how late.
    let panel: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.get(l.char_indices().nth(42).map_or(l.len(), |(i, _)| i)..))
        .collect();
    let panel = panel.join("\n");
    assert!(
        panel.contains("What needs doing (14): 14 overdue"),
        "{panel}"
    );
    assert!(
        panel.contains(
            "✗ warm handoff                   care manager  due 05-15       17 days late"
        ),
        "{panel}"
    );
    let needs = panel.find("What needs doing").unwrap();
    for later in [
        "Since the last meeting (05-29 16:00)",
        "Care team",
        "Medications",
        "This meeting",
        "Attending (1)",
    ] {
        let at = panel
            .find(later)
            .unwrap_or_else(|| panic!("{later}:\n{panel}"));
        assert!(at > needs, "{later} after what needs doing");
    }
    // Nothing important is left empty below: the panel reaches down the screen.
    assert!(
        lines.iter().filter(|l| l.trim().is_empty()).count() < 8,
        "{screen}"
    );
}

#[test]
fn at_80x24_the_same_content_comes_in_priority_order_under_a_one_line_agenda() {
    let app = meeting_at("default", 80, 24, "p-13", false);
    let screen = text(&render(&app, 80, 24));
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(
        lines[2], "Agenda ✓··▶○○○○ 1 of 8 reviewed · next: Young, Yara",
        "{screen}"
    );
    assert!(
        lines[3].starts_with("Lately, Lin  B-13  release 2026-06-09"),
        "{screen}"
    );
    assert!(lines[4].contains("late entry"), "{screen}");
    assert!(lines[5].starts_with("What needs doing"), "{screen}");
    assert!(
        screen.contains("catch-up 06-04"),
        "a late entry's catch-up date: {screen}"
    );
    assert!(
        screen.contains("Δ release date 06-12 → 06-09 (court order) by records1 on 05-30, awaits"),
        "{screen}"
    );
    assert!(
        !screen.contains("sentence modified"),
        "the change's free text stays off the shared screen: {screen}"
    );
}

#[test]
fn each_kind_of_person_reads_right_on_the_meeting_screen_and_in_the_detail_view() {
    let cases = [
        ("p-10", "everything_overdue"),
        ("p-11", "part2_medication"),
        ("p-12", "nothing_to_do"),
        ("p-13", "late_entry"),
        ("p-14", "youth"),
        ("p-17", "unknown_date"),
    ];
    for (id, name) in cases {
        let app = meeting_at("default", 120, 40, id, false);
        let meeting = text(&render(&app, 120, 40));
        let detail_app = detail_of("default", 120, 40, id, false);
        let detail = text(&render(&detail_app, 120, 40));
        // Medications on the meeting screen are counts, whoever is signed in.
        assert!(
            !meeting.contains("Lisinopril") && !meeting.contains("Sertraline"),
            "{meeting}"
        );
        match id {
            "p-10" => {
                assert!(
                    meeting.contains("What needs doing (14): 14 overdue"),
                    "{meeting}"
                );
                assert!(
                    meeting.contains(
                        "Medications: 1 (0 ready) · naloxone not yet offered · DME 0 of 1 delivered"
                    ),
                    "{meeting}"
                );
            }
            "p-11" => {
                assert!(
                    meeting.contains("Medications: 1 (1 ready), 1 protected ✗"),
                    "{meeting}"
                );
                assert!(meeting.contains("protected (Part 2)"), "{meeting}");
                assert!(!meeting.contains("Lisinopril"), "{meeting}");
                assert!(
                    meeting.contains("care manager Renata Solis · ECM Dana Kowalczyk"),
                    "{meeting}"
                );
                assert!(meeting.contains("behavioral health assigned"), "{meeting}");
                assert!(!meeting.contains("Ivy Chen"), "{meeting}");
                assert!(
                    meeting.contains("Warm handoff: scheduled (06-04)"),
                    "{meeting}"
                );
                // This coordinator may see Part 2 here; presentation mode blanks it (below).
                assert!(
                    meeting
                        .contains("decided: Bridge buprenorphine script to the community pharmacy"),
                    "{meeting}"
                );
                assert!(
                    meeting.contains("+ task: Confirm the CPAP delivery — nurse1, by 2026-06-02"),
                    "{meeting}"
                );
                // This coordinator may see Part 2 (the consent allows it): the detail view
                // names the drug, the meeting's medication line still does not.
                let body: String = view::detail::lines(&detail_app)
                    .iter()
                    .map(|l| format!("{l}\n"))
                    .collect();
                assert!(
                    body.contains("Buprenorphine · MAT (opioid use disorder)"),
                    "{body}"
                );
            }
            "p-12" => {
                assert!(
                    meeting.contains("✓ Nothing overdue, blocked or due soon."),
                    "{meeting}"
                );
                assert!(
                    detail.contains("✓ Nothing overdue, blocked or due soon."),
                    "{detail}"
                );
            }
            "p-13" => {
                assert!(meeting.contains("catch-up 06-04"), "{meeting}");
                assert!(
                    meeting.contains("by records1 on 05-30, awaits"),
                    "{meeting}"
                );
            }
            "p-14" => {
                assert!(meeting.contains("Young, Yara · youth  B-14"), "{meeting}");
                assert!(
                    meeting.contains("youth case management started"),
                    "{meeting}"
                );
                assert!(
                    meeting.contains(
                        "⊘ community appointments booked — blocked: provider unavailable (care"
                    ),
                    "{meeting}"
                );
                assert!(
                    meeting.contains(
                        "B new barrier on community appointments booked: provider unavailable"
                    ),
                    "{meeting}"
                );
                assert!(!meeting.contains("renovation"), "{meeting}");
            }
            "p-17" => {
                assert!(meeting.contains("release date unknown"), "{meeting}");
                assert!(
                    meeting.contains("Pretrial: only the unplanned-release minimum counts"),
                    "{meeting}"
                );
            }
            _ => unreachable!(),
        }
        // The detail view leads with the same list, and the timeline follows near the top.
        let needs_first = if id == "p-12" {
            "✓ Nothing overdue"
        } else {
            "What needs doing"
        };
        let line = |needle: &str| detail.lines().position(|l| l.contains(needle));
        let needs = line(needs_first).unwrap_or_else(|| panic!("{detail}"));
        assert!(needs <= 4, "what needs doing leads: {detail}");
        // The rest of the timeline follows it, by due date, on the first screen.
        if ["p-13", "p-14"].contains(&id) {
            let next = line("Coming up (").unwrap_or_else(|| panic!("{detail}"));
            assert!(next > needs && next < 38, "{detail}");
        }
        assert!(
            !detail.contains("Edit\n"),
            "the edit keys are in help and the footer: {detail}"
        );
        insta::assert_snapshot!(format!("meeting_{name}_120x40"), meeting);
        insta::assert_snapshot!(format!("detail_{name}_120x40"), detail);
    }
}

/// The full matrix on Pat (a Part 2 medication, a decision and a task recorded): both screens at
/// three sizes, two themes, presentation mode off and on.
#[test]
fn snapshots_of_the_meeting_and_the_detail_view() {
    for (width, height) in [(80, 24), (120, 40), (200, 60)] {
        for theme_name in ["default", "mono"] {
            for present in [false, true] {
                let mode = if present { "presentation" } else { "personal" };
                let m = meeting_at(theme_name, width, height, "p-11", present);
                let buffer = render(&m, width, height);
                insta::assert_snapshot!(
                    format!("meeting_{theme_name}_{mode}_{width}x{height}"),
                    styled(&buffer)
                );
                let screen = text(&buffer);
                assert!(screen.contains("1 protected ✗"), "{screen}");
                if present {
                    assert!(!screen.to_lowercase().contains("buprenorphine"), "{screen}");
                    assert!(screen.contains("PARTS, P."), "{screen}");
                    assert!(!screen.contains("Pat"), "{screen}");
                }
                let dv = detail_of(theme_name, width, height, "p-11", present);
                insta::assert_snapshot!(
                    format!("detail_{theme_name}_{mode}_{width}x{height}"),
                    styled(&render(&dv, width, height))
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Large rooms

/// WCAG relative luminance of an RGB colour.
fn luminance(c: Color, default: (u8, u8, u8)) -> f64 {
    let (r, g, b) = match c {
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Reset => default,
        other => panic!("the truecolor high-contrast theme drew {other:?}"),
    };
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

#[test]
fn on_a_projector_at_100x30_the_high_contrast_meeting_is_legible_and_nothing_is_dim() {
    let app = meeting_at("high-contrast", 100, 30, "p-14", false);
    let buffer = render(&app, 100, 30);
    let screen = text(&buffer);
    // Side by side even here: the agenda, and the person with what needs doing.
    assert!(
        screen
            .lines()
            .nth(2)
            .unwrap()
            .starts_with("Agenda · 1 of 8 reviewed"),
        "{screen}"
    );
    assert!(screen.contains("▶  Young, Yara"), "{screen}");
    assert!(screen.contains("What needs doing"), "{screen}");
    assert!(screen.contains("blocked: provider"), "{screen}");
    // Every written cell has a contrast of at least 4.5:1 (WCAG AA) against what is behind it,
    // on the dark background the theme is made for; and nothing is dim.
    let mut worst = f64::MAX;
    for y in 0..30 {
        for x in 0..100 {
            let cell = &buffer[(x, y)];
            assert!(
                !cell.modifier.contains(Modifier::DIM),
                "dim text at {x},{y}:\n{screen}"
            );
            if cell.symbol().trim().is_empty() {
                continue;
            }
            let (mut fg, mut bg) = (cell.fg, cell.bg);
            if cell.modifier.contains(Modifier::REVERSED) {
                std::mem::swap(&mut fg, &mut bg);
                // Reversed default colours: the terminal's foreground becomes the background.
                if fg == Color::Reset {
                    fg = Color::Rgb(0, 0, 0);
                }
                if bg == Color::Reset {
                    bg = Color::Rgb(255, 255, 255);
                }
            }
            let (a, b) = (luminance(fg, (255, 255, 255)), luminance(bg, (0, 0, 0)));
            let ratio = (a.max(b) + 0.05) / (a.min(b) + 0.05);
            worst = worst.min(ratio);
            assert!(ratio >= 4.5, "contrast {ratio:.1} at {x},{y}:\n{screen}");
        }
    }
    eprintln!("lowest contrast on the high-contrast meeting screen: {worst:.1}:1");
    insta::assert_snapshot!("meeting_high_contrast_100x30", styled(&buffer));
}

#[test]
fn no_theme_draws_the_meeting_in_dim_text() {
    for theme_name in ["default", "light", "high-contrast", "colorblind", "mono"] {
        for (width, height) in [(80, 24), (120, 40)] {
            let app = meeting_at(theme_name, width, height, "p-11", false);
            let buffer = render(&app, width, height);
            for y in 0..height {
                for x in 0..width {
                    assert!(
                        !buffer[(x, y)].modifier.contains(Modifier::DIM),
                        "{theme_name} {width}x{height}: dim at {x},{y}"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The common path is short: the key counts of the README, pressed through the real keymap.

fn press(app: &mut App, code: KeyCode) {
    let event = Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    let action = app
        .options()
        .keymap
        .action_for(&event, app.screen())
        .unwrap_or_else(|| panic!("{code:?} does nothing on the {:?} screen", app.screen()));
    app.update(action);
}

fn words(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(app.screen().types(), "typing needs a field");
        press(app, KeyCode::Char(c));
    }
}

#[test]
fn the_common_paths_take_the_keys_the_readme_says() {
    let mut app = app("default", 80, 24);
    press(&mut app, KeyCode::Char('M'));
    assert_eq!(app.screen(), Screen::Meeting);

    // A person with nothing to decide: one key, reviewed and on to the next.
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(current(&app), "p-11");
    let m = app.meeting().unwrap();
    assert!(m.reviews[0].reviewed);

    // A decision and on: d, the words, Enter, Space — three keys.
    press(&mut app, KeyCode::Char('d'));
    words(&mut app, "Bridge script");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(current(&app), "p-12");
    let m = app.meeting().unwrap();
    assert_eq!(m.reviews[1].decisions, vec!["Bridge script".to_string()]);
    assert!(m.reviews[1].reviewed);

    // A task and on: +, what, Tab, who, Enter (by tomorrow unless changed), Space — four keys.
    press(&mut app, KeyCode::Char('+'));
    words(&mut app, "Call the clinic");
    press(&mut app, KeyCode::Tab);
    words(&mut app, "nurse1");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(current(&app), "p-13");
    let m = app.meeting().unwrap();
    let task = &m.reviews[2].tasks[0];
    assert_eq!(
        (task.what.as_str(), task.owner.as_str(), task.due),
        ("Call the clinic", "nurse1", d("2026-06-02"))
    );

    // Skipping someone is one key, and so is going back; the record and back is two.
    press(&mut app, KeyCode::Right);
    assert_eq!(current(&app), "p-14");
    press(&mut app, KeyCode::Left);
    assert_eq!(current(&app), "p-13");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.screen(), Screen::Detail);
    assert_eq!(app.selected_id(), Some("p-13"));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.screen(), Screen::Meeting);
    assert_eq!(current(&app), "p-13");

    // `v` un-marks without moving; End and Home are the ends of the agenda.
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Char('v'));
    assert!(!app.meeting().unwrap().reviews[2].reviewed);
    assert_eq!(current(&app), "p-12");
    press(&mut app, KeyCode::End);
    assert_eq!(current(&app), "p-17");
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(current(&app), "p-17", "the last person stays on screen");
    assert!(app.notice().unwrap().contains("E ends the meeting"));
    press(&mut app, KeyCode::Home);
    assert_eq!(current(&app), "p-10");

    // The person's panel pages when it is longer than the screen.
    press(&mut app, KeyCode::PageDown);
    assert!(app.meeting().unwrap().scroll > 0);
    let screen = text(&render(&app, 80, 24));
    assert!(
        !screen.contains("What needs doing (14)"),
        "scrolled: {screen}"
    );
    press(&mut app, KeyCode::Right);
    assert_eq!(
        app.meeting().unwrap().scroll,
        0,
        "a new person starts at the top"
    );
}

#[test]
fn the_detail_view_lists_the_edit_keys_in_help_and_the_footer_not_the_body() {
    let mut app = detail_of("default", 120, 40, "p-11", false);
    let screen = text(&render(&app, 120, 40));
    let footer = screen.lines().last().unwrap();
    assert!(footer.contains("e date"), "{footer}");
    assert!(
        footer.contains("I Medi-Cal") || footer.len() >= 118,
        "{footer}"
    );
    app.update(Action::ToggleHelp);
    let help = text(&render(&app, 120, 40));
    assert!(
        help.contains("Edits in the detail view for Parts, Pat"),
        "{help}"
    );
    assert!(help.contains("I      Medi-Cal"), "{help}");
    // What the role may not do says why in words, not by colour alone.
    assert!(
        help.contains("m      medications, naloxone, DME — the coordinator role may not do this"),
        "{help}"
    );
}

/// A long agenda (a big jail's pretrial population) draws with the person on screen in view, and
/// each frame gathers only the agenda people a screen could show.
#[test]
fn a_long_agenda_keeps_the_person_in_view_and_gathers_only_a_window() {
    let today = d(TODAY);
    let records = reentry_board::demo::synthetic_data(3_000, today, 7)
        .unwrap()
        .records;
    let mut app = App::new(options("default"), records, today, at(TODAY, "09:00:00"));
    app.update(Action::Resized {
        width: 120,
        height: 40,
    });
    app.update(Action::OpenMeeting);
    let total = app.meeting().unwrap().agenda.len();
    assert!(
        total > 600,
        "the synthetic roster gives a long agenda: {total}"
    );
    app.update(Action::MoveLast);
    let view = app.meeting_view().unwrap();
    assert!(view.agenda.len() <= 2 * view::meeting::AGENDA_WINDOW + 1);
    let last = view
        .current
        .as_ref()
        .unwrap()
        .record
        .person
        .name
        .formatted(NameFormat::LastFirst);
    drop(view);
    let screen = text(&render(&app, 120, 40));
    let marked = screen
        .lines()
        .find(|l| l.starts_with('▶'))
        .unwrap_or_else(|| panic!("{screen}"));
    let shown: String = last.chars().take(8).collect();
    assert!(marked.contains(&shown), "{marked} / {last}");
    assert!(
        screen.contains(&format!("MEETING  {total} of {total}")),
        "{screen}"
    );
}
