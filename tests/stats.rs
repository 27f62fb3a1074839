//! The Stats screen on the report tests' database (support/report_db.rs): the numbers it shows
//! are the hand counts of tests/report.rs, loaded through the real store source and effect loop.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use reentry_board::clock::{Clock, FixedClock};
use reentry_board::commands::StoreSource;
use reentry_board::domain::{NameFormat, Role};
use reentry_board::report::stats::{Stats, StatsQuery};
use reentry_board::theme::{ColorDepth, Theme};
use reentry_board::tui::keymap::Screen;
use reentry_board::tui::{Action, App, BoardSource, Seen, TuiOptions, run_effects, view};
use support::pty::Pty;
use support::records::d;
use support::report_db::{build, open};

/// The board's date: the default period (last 90 days) is 2026-04-02 to 2026-06-30, which holds
/// exactly the June releases P1, P2 and P3 (P4 leaves in July, P5 is a transfer).
const TODAY: &str = "2026-06-30";

struct Board {
    app: App,
    source: StoreSource,
    clock: Arc<FixedClock>,
    seen: Seen,
    _dir: tempfile::TempDir,
}

impl Board {
    fn new(options: TuiOptions, width: u16, height: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = build(dir.path());
        let clock = Arc::new(FixedClock::on(d(TODAY)));
        let mut source = StoreSource(open(&path, TODAY));
        let seen = Seen::new(&mut source, clock.as_ref()).unwrap();
        let records = source.load().unwrap();
        let mut app = App::new(options, records, clock.today(), clock.now());
        app.update(Action::Resized { width, height });
        Self {
            app,
            source,
            clock,
            seen,
            _dir: dir,
        }
    }

    fn press(&mut self, action: Action) {
        self.app.update(action);
        run_effects(
            &mut self.app,
            &mut self.source,
            self.clock.as_ref(),
            &mut self.seen,
        );
    }

    fn stats(&self) -> &Stats {
        match &self.app.stats().unwrap().data {
            Some(Ok(s)) => s,
            other => panic!("no numbers: {other:?}"),
        }
    }

    fn text(&self, width: u16, height: u16) -> String {
        let terminal = render(&self.app, width, height);
        let buf = terminal.backend().buffer();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn options() -> TuiOptions {
    let mut o = TuiOptions::new("Demo", "coord (coordinator)", Role::Coordinator);
    o.name_format = NameFormat::LastInitial;
    o
}

fn mono() -> TuiOptions {
    let mut o = options();
    o.theme = Theme::load("mono", ColorDepth::None, None).unwrap();
    o
}

fn render(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::draw(frame, app)).unwrap();
    terminal
}

fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{text}"))
}

fn num(s: &Stats, key: &str) -> (u64, u64) {
    let m = s.report.get(key).unwrap();
    (m.numerator, m.denominator)
}

#[test]
fn the_screen_shows_the_hand_counted_measures() {
    let mut b = Board::new(options(), 120, 40);
    b.press(Action::OpenStats);
    assert_eq!(b.app.screen(), Screen::Stats);
    let s = b.stats();
    assert_eq!((s.report.from, s.report.to), (d("2026-04-02"), d(TODAY)));
    assert_eq!(s.report.released, 3);
    // The same hand counts as tests/report.rs (June is the whole of this cohort).
    for (key, want) in [
        ("screened_by_t135", (1, 2)),
        ("care_manager_by_t90", (1, 1)),
        ("care_plan_complete", (1, 2)),
        ("warm_handoff_by_t14", (1, 2)),
        ("supply_in_hand", (1, 2)),
        ("mat_continuity", (1, 2)),
        ("naloxone_given", (1, 2)),
        ("dme_delivered", (0, 1)),
        ("medi_cal_active", (1, 2)),
        ("mcp_notified", (1, 3)),
        ("date_changed", (1, 3)),
        ("unplanned", (2, 3)),
    ] {
        assert_eq!(num(s, key), want, "{key}");
    }
    // Thirteen weeks from Monday 2026-04-06; P2 left in the week of 06-01 (index 8), P3 and P1
    // in the week of 06-15 (index 10).
    assert_eq!(s.weeks.len(), 13);
    let released: Vec<u64> = s.weeks.iter().map(|w| w.released).collect();
    assert_eq!(released, [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0]);

    let text = b.text(120, 40);
    assert!(
        text.contains("Released in the last 90 days (2026-04-02 to 2026-06-30): 3 people"),
        "{text}"
    );
    let screened = line_with(&text, "screened by T-135");
    assert!(screened.contains(" 1/2  50%"), "{screened}");
    let dme = line_with(&text, "DME delivered");
    assert!(dme.contains(" 0/1   0%"), "{dme}");
    let unplanned = line_with(&text, "unplanned release");
    assert!(unplanned.contains(" 2/3  67%"), "{unplanned}");
    // MCP: P2 (week of 06-01) not notified: 0/1; P1 notified, P3 not (week of 06-15): 1/2.
    assert!(
        line_with(&text, "MCP notified").ends_with("········▁·▅··"),
        "{text}"
    );
    assert!(
        text.contains("Release-date churn: 1 change over 3 released (0.33 per person)"),
        "{text}"
    );
    let pharmacy = line_with(&text, "pharmacy delay");
    assert!(
        pharmacy.contains("2 recorded") && pharmacy.contains("2/3 people"),
        "{pharmacy}"
    );

    // The cursor's measure: its full label, who it counts, and the weekly n/m.
    for _ in 0..9 {
        b.press(Action::MoveDown);
    }
    let text = b.text(120, 40);
    assert!(
        line_with(&text, "MCP notified").starts_with(">MCP notified"),
        "{text}"
    );
    assert!(
        text.contains("MCP notified before release: of released people"),
        "{text}"
    );
    assert!(
        text.contains("by week: - - - - - - - - 0/1 - 1/2 - -"),
        "{text}"
    );
}

#[test]
fn an_empty_period_reads_no_one_never_zero_percent() {
    let mut b = Board::new(options(), 80, 24);
    b.press(Action::OpenStats);
    // 90 days -> 365 -> quarter -> 30 days (June), then the 30 days before: nobody left.
    for _ in 0..3 {
        b.press(Action::StatsLength);
    }
    assert_eq!(
        (b.stats().report.from, b.stats().report.to),
        (d("2026-06-01"), d(TODAY))
    );
    assert_eq!(b.stats().report.released, 3);
    b.press(Action::StatsEarlier);
    let s = b.stats();
    assert_eq!(
        (s.report.from, s.report.to),
        (d("2026-05-02"), d("2026-05-31"))
    );
    assert_eq!(s.report.released, 0);
    assert!(s.report.measures.iter().all(|m| m.denominator == 0));
    let text = b.text(80, 24);
    assert!(
        text.contains("Released from 2026-05-02 to 2026-05-31 (30 days): no one"),
        "{text}"
    );
    let screened = line_with(&text, "screened by T-135");
    assert!(
        screened.contains("no one in period")
            && screened.contains("0/0")
            && !screened.contains('%'),
        "{screened}"
    );
    let rows: Vec<&str> = text.lines().skip(3).take(12).collect();
    assert!(
        rows.iter().all(|l| l.contains("0/0") && !l.contains('%')),
        "{text}"
    );
}

#[test]
fn periods_step_and_the_screen_redraws_only_on_change() {
    let mut b = Board::new(options(), 80, 24);
    b.press(Action::OpenStats);
    b.app.mark_drawn();
    // Nothing after the board's date.
    b.press(Action::StatsLater);
    assert!(!b.app.is_dirty());
    // An answer for another period (late, from before a key) is dropped.
    let other = StatsQuery::new(d("2026-01-01"), d("2026-01-31"));
    b.app.update(Action::StatsLoaded {
        query: other,
        result: Err("stale".into()),
    });
    assert!(!b.app.is_dirty());
    assert!(b.app.stats().unwrap().data.as_ref().unwrap().is_ok());
    // The same numbers again (another session committed something unrelated) change nothing.
    let query = b.app.stats().unwrap().query();
    let same = b.stats().clone();
    b.app.update(Action::StatsLoaded {
        query,
        result: Ok(Box::new(same)),
    });
    assert!(!b.app.is_dirty());
    b.press(Action::StatsEarlier);
    assert!(b.app.is_dirty());
    assert_eq!(b.stats().report.from, d("2026-01-02"));
    b.app.mark_drawn();
    b.press(Action::MoveUp);
    assert!(
        !b.app.is_dirty(),
        "the cursor is already on the first measure"
    );
    b.press(Action::Back);
    assert_eq!(b.app.screen(), Screen::Board);
    assert!(b.app.stats().is_none());
}

#[test]
fn the_kiosk_may_view_stats_and_the_keys_are_shown() {
    let mut kiosk = options();
    kiosk.kiosk = true;
    let mut b = Board::new(kiosk, 80, 24);
    b.press(Action::OpenStats);
    assert_eq!(b.app.screen(), Screen::Stats);
    assert!(b.app.presentation());
    assert_eq!(b.stats().report.released, 3);
    let text = b.text(80, 24);
    let footer = text.lines().last().unwrap();
    for key in [
        "? help",
        "Left earlier",
        "Right later",
        "Tab period",
        "Esc back",
    ] {
        assert!(footer.contains(key), "{footer}");
    }
    b.press(Action::ToggleHelp);
    let help = b.text(120, 60);
    assert!(help.contains("stats_earlier"), "{help}");
    b.press(Action::Back);
    b.press(Action::Back);
    assert_eq!(b.app.screen(), Screen::Board);
}

#[test]
fn ascii_trend_uses_digits_and_dots() {
    let mut ascii = options();
    ascii.ascii = true;
    let mut b = Board::new(ascii, 100, 30);
    b.press(Action::OpenStats);
    let text = b.text(100, 30);
    assert!(
        line_with(&text, "MCP notified").ends_with("........0.5.."),
        "{text}"
    );
    let screened = line_with(&text, "screened by T-135");
    assert!(
        screened.contains("#") && screened.contains("."),
        "{screened}"
    );
    assert!(!text.contains('█') && !text.contains('·'), "{text}");
}

#[test]
fn snapshots() {
    for (theme, options) in [("default", options()), ("mono", mono())] {
        for (width, height) in [(80, 24), (120, 40)] {
            let mut b = Board::new(options.clone(), width, height);
            b.press(Action::OpenStats);
            let name = format!("stats_{theme}_{width}x{height}");
            insta::assert_snapshot!(name, render(&b.app, width, height).backend());
        }
    }
}

#[test]
fn any_size_renders_without_panic() {
    let mut b = Board::new(options(), 80, 24);
    b.press(Action::OpenStats);
    for (w, h) in [
        (1, 1),
        (0, 0),
        (10, 3),
        (59, 24),
        (60, 10),
        (61, 4),
        (80, 9),
        (200, 60),
    ] {
        b.press(Action::Resized {
            width: w,
            height: h,
        });
        render(&b.app, w, h);
    }
    for w in (60..=130).step_by(7) {
        for h in (10..=45).step_by(5) {
            render(&b.app, w, h);
        }
    }
}

#[test]
fn the_real_binary_opens_stats_steps_back_and_returns() {
    let wait = std::time::Duration::from_secs(15);
    let home = tempfile::tempdir().unwrap();
    let db = build(home.path());
    let db = db.to_str().unwrap().to_string();
    let mut pty = Pty::spawn(
        home.path(),
        &["board", "--db", &db, "--as-of", TODAY],
        100,
        30,
        &[],
    );
    pty.wait_for("q quit", wait);
    pty.send(b"s");
    pty.wait_for(
        "Released in the last 90 days (2026-04-02 to 2026-06-30): 3 people",
        wait,
    );
    pty.wait_for("2/3  67%", wait);
    pty.send(b"\x1b[D");
    pty.wait_for("from 2026-01-02 to 2026-04-01 (90 days): no one", wait);
    pty.send(b"\x1b");
    pty.wait_for("q quit", wait);
    pty.send(b"q");
    assert!(pty.wait_exit(wait), "screen:\n{}", pty.screen());
    pty.assert_restored();
}
