//! The Stats screen: for people released in the period, each measure as a bar with "n/m" and the
//! percentage, and a weekly trend; then release-date churn and the barriers most often recorded.
//! A number never stands without its denominator, and an empty one reads "no one in period".
//! Bars and trend cells carry the value in their length and glyph height, so mono and `--ascii`
//! read the same as colour.

use ratatui::Frame;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::chrome::{clip, footer, put, title};
use super::text::{fit, fit_right, truncate, width};
use crate::report::{Measure, Report};
use crate::theme::{Slot, Theme};
use crate::tui::App;
use crate::tui::stats_screen::StatsScreen;

/// Title, period, column heads above the measures; the footer below.
const CHROME: u16 = 4;
/// The trend column needs this much width to sit beside the bars.
const TREND_MIN_WIDTH: usize = 80;

/// The screen's short name of a measure; the full label and its denominator show under the list.
fn short_label(m: &Measure) -> &'static str {
    match m.key {
        "screened_by_t135" => "screened by T-135",
        "care_manager_by_t90" => "care manager by T-90",
        "care_plan_complete" => "care plan complete",
        "warm_handoff_by_t14" => "warm handoff by T-14",
        "supply_in_hand" => "30-day supply in hand",
        "mat_continuity" => "MAT continued",
        "naloxone_given" => "naloxone given",
        "dme_delivered" => "DME delivered",
        "medi_cal_active" => "Medi-Cal on release day",
        "mcp_notified" => "MCP notified",
        "date_changed" => "release date changed",
        "unplanned" => "unplanned release",
        _ => m.label,
    }
}

/// Measures where more is worse: coloured as a flag, not as done.
fn more_is_worse(m: &Measure) -> bool {
    matches!(m.key, "date_changed" | "unplanned")
}

/// "3/4"; the denominator always goes with the count.
fn ratio(n: u64, m: u64) -> String {
    format!("{n}/{m}")
}

fn percent(m: &Measure) -> String {
    m.percent().map_or_else(|| "-".into(), |p| format!("{p}%"))
}

/// One trend cell: a bar height for the week's rate, or a dot when no one was in it.
fn trend_cell(m: Option<&Measure>, ascii: bool) -> char {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    match m.and_then(Measure::percent) {
        None if ascii => '.',
        None => '·',
        // 0-9 for tens of percent; 100% is 9 too (the n/m row under the list is exact).
        Some(p) if ascii => {
            char::from_digit(u32::try_from((p / 10).min(9)).unwrap_or(0), 10).unwrap_or('0')
        }
        Some(p) => {
            let i = usize::try_from((p * 8 / 100).min(7)).unwrap_or(0);
            LEVELS.get(i).copied().unwrap_or('▁')
        }
    }
}

fn trend(weeks: &[Report], key: &str, ascii: bool) -> String {
    weeks
        .iter()
        .map(|w| trend_cell(w.get(key), ascii))
        .collect()
}

/// `████████░░░░` for n of m in `cells`, or "no one in period" for 0/0.
fn bar(m: &Measure, cells: usize, ascii: bool, theme: &Theme) -> Vec<Span<'static>> {
    if m.denominator == 0 {
        return vec![Span::styled(
            fit("no one in period", cells),
            theme.style(Slot::Muted),
        )];
    }
    let filled = usize::try_from((m.numerator * cells as u64 + m.denominator / 2) / m.denominator)
        .unwrap_or(cells)
        .min(cells);
    let (on, off) = if ascii { ('#', '.') } else { ('█', '░') };
    let slot = if more_is_worse(m) {
        Slot::Flag
    } else {
        Slot::Done
    };
    vec![
        Span::styled(on.to_string().repeat(filled), theme.style(slot)),
        Span::styled(
            off.to_string().repeat(cells - filled),
            theme.style(Slot::Muted),
        ),
    ]
}

/// Column widths for a screen `cells` wide: label, bar, and whether the trend fits beside them.
fn columns(cells: usize) -> (usize, usize, bool) {
    let with_trend = cells >= TREND_MIN_WIDTH;
    let fixed = 9 + 5 + 3 + if with_trend { 15 } else { 0 };
    let rest = cells.saturating_sub(fixed);
    let label = (rest / 2).clamp(12, 28).min(rest);
    // A longer bar says no more, and keeps the trend far from its numbers.
    (label, rest.saturating_sub(label).min(41), with_trend)
}

fn measure_line(
    m: &Measure,
    weeks: &[Report],
    selected: bool,
    cells: usize,
    app: &App,
) -> Line<'static> {
    let theme = &app.options().theme;
    let ascii = app.options().ascii;
    let (label_w, bar_w, with_trend) = columns(cells);
    let label_style = if selected {
        theme.style(Slot::Selected).add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    let marker = if selected { ">" } else { " " };
    let mut spans = vec![Span::styled(
        format!(
            "{marker}{} ",
            fit(short_label(m), label_w.saturating_sub(1))
        ),
        label_style,
    )];
    spans.extend(bar(m, bar_w.saturating_sub(1), ascii, theme));
    spans.push(Span::raw(format!(
        " {} {}",
        fit_right(&ratio(m.numerator, m.denominator), 9),
        fit_right(&percent(m), 4)
    )));
    if with_trend {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            trend(weeks, m.key, ascii),
            theme.style(Slot::Header),
        ));
    }
    clip(Line::from(spans), cells)
}

/// What the selected measure counts, and its weekly n/m (oldest first, "-" for no one).
fn selected_lines(m: &Measure, weeks: &[Report], app: &App) -> Vec<Line<'static>> {
    let theme = &app.options().theme;
    let legend = if app.options().ascii {
        "trend: a cell a week, oldest first; 0-9 tens of percent; . no one"
    } else {
        "trend: a cell a week, oldest first; ▁ 0% to █ 100%; · no one"
    };
    let per_week: Vec<String> = weeks
        .iter()
        .map(|w| match w.get(m.key) {
            Some(x) if x.denominator > 0 => ratio(x.numerator, x.denominator),
            _ => "-".into(),
        })
        .collect();
    vec![
        Line::styled(
            format!("{}: of {}", m.label, m.of),
            theme.style(Slot::Muted),
        ),
        Line::styled(
            format!("by week: {}", per_week.join(" ")),
            theme.style(Slot::Muted),
        ),
        Line::styled(legend, theme.style(Slot::Muted)),
    ]
}

fn after_lines(r: &Report, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let per_person = if r.released > 0 {
        format!(
            "{:.2} per person",
            r.date_changes as f64 / r.released as f64
        )
    } else {
        "no one in period".into()
    };
    let changes = if r.date_changes == 1 {
        "change"
    } else {
        "changes"
    };
    out.push(Line::raw(format!(
        "Release-date churn: {} {changes} over {} released ({per_person})",
        r.date_changes, r.released
    )));
    out.push(Line::styled(
        "Barriers most often recorded (people of released):",
        theme.style(Slot::Band),
    ));
    if r.barriers.is_empty() {
        out.push(Line::styled(
            "  none recorded for these people",
            theme.style(Slot::Muted),
        ));
    }
    for b in &r.barriers {
        out.push(Line::raw(format!(
            "  {}  {} recorded  {} people",
            fit(b.reason.label(), 28),
            fit_right(&b.count.to_string(), 4),
            fit_right(&ratio(b.people, r.released), 9),
        )));
    }
    out
}

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.height < CHROME || area.is_empty() {
        return;
    }
    let Some(stats) = app.stats() else { return };
    let cells = usize::from(area.width);
    let theme = &app.options().theme;
    let buf = frame.buffer_mut();
    put(buf, area, 0, &title(app, cells));
    put(buf, area, 1, &period_line(stats, theme, cells));
    let footer_y = usize::from(area.height.saturating_sub(1));
    put(buf, area, footer_y, &footer(app, cells));
    let body: Vec<Line<'static>> = match &stats.data {
        None => vec![Line::styled("Loading...", theme.style(Slot::Muted))],
        Some(Err(e)) => vec![Line::styled(
            format!("Could not read the measures: {e}"),
            theme.style(Slot::Error),
        )],
        Some(Ok(s)) => {
            put(buf, area, 2, &heads(app, stats, cells));
            let mut body: Vec<Line<'static>> = s
                .report
                .measures
                .iter()
                .enumerate()
                .map(|(i, m)| measure_line(m, &s.weeks, i == stats.cursor, cells, app))
                .collect();
            if let Some(m) = s.report.measures.get(stats.cursor) {
                body.extend(selected_lines(m, &s.weeks, app));
            }
            body.extend(after_lines(&s.report, theme));
            let room = usize::from(area.height.saturating_sub(CHROME));
            // Keep the cursor's measure on screen when the list does not fit.
            let first = stats.cursor.saturating_sub(room.saturating_sub(1));
            for (n, line) in body.into_iter().skip(first).take(room).enumerate() {
                put(buf, area, 3 + n, &clip(line, cells));
            }
            return;
        }
    };
    for (n, line) in body.into_iter().enumerate() {
        put(buf, area, 2 + n, &clip(line, cells));
    }
}

fn period_line(stats: &StatsScreen, theme: &Theme, cells: usize) -> Line<'static> {
    let released = match &stats.data {
        Some(Ok(s)) if s.report.released == 0 => ": no one".to_string(),
        Some(Ok(s)) if s.report.released == 1 => ": 1 person".to_string(),
        Some(Ok(s)) => format!(": {} people", s.report.released),
        _ => String::new(),
    };
    let text = format!("Released {}{released}", stats.label());
    Line::styled(truncate(&text, cells), theme.style(Slot::Header))
}

fn heads(app: &App, stats: &StatsScreen, cells: usize) -> Line<'static> {
    let theme = &app.options().theme;
    let (label_w, bar_w, with_trend) = columns(cells);
    let mut text = format!(
        " {} {} {} {}",
        fit("measure", label_w.saturating_sub(1)),
        fit("", bar_w.saturating_sub(1)),
        fit_right("n/m", 9),
        fit_right("%", 4)
    );
    if with_trend {
        let weeks = match &stats.data {
            Some(Ok(s)) => s.weeks.len(),
            _ => 0,
        };
        text.push_str(&format!("  {weeks} weeks"));
    }
    let text = if width(&text) > cells {
        truncate(&text, cells)
    } else {
        text
    };
    Line::styled(text, theme.style(Slot::Muted))
}
