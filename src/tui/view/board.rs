//! The board: title, the filter line (always visible), a header, people grouped under band
//! headings (soonest release first), a legend and the keys of this screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::chrome::{clip, put, title};
use super::columns::{self, Column, ColumnKind, GAP, Measured};
use super::text::{fit, fit_right, truncate, width};
use crate::domain::filter::Filter;
use crate::domain::{BoardRow, FlagStatus, MilestoneState, NameFormat, PersonRecord};
use crate::theme::{Slot, Theme};
use crate::tui::app::{App, ListLine};

/// Title, filter line and header above the list; legend and keys below it.
const ROWS_ABOVE: u16 = 3;
const ROWS_BELOW: u16 = 2;

/// How many list lines (people and band headings) fit on a screen `height` rows tall.
pub fn list_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(ROWS_ABOVE + ROWS_BELOW))
}

/// The list line under screen row `y`, if any.
pub fn line_at(app: &App, y: u16) -> Option<usize> {
    let rows = list_rows(app_height(app));
    let inside = y.checked_sub(ROWS_ABOVE).map(usize::from)?;
    (inside < rows).then(|| app.offset() + inside)
}

fn app_height(app: &App) -> u16 {
    // The app knows its size only through resizes; the view is drawn at that size.
    app.size().1
}

/// The first line to show so that `selected` is visible, moving as little as possible from
/// `offset` so the list does not jump while the selection moves inside the screen.
pub fn scroll_offset(offset: usize, selected: usize, rows: usize) -> usize {
    if rows == 0 || selected < offset {
        selected
    } else if selected >= offset.saturating_add(rows) {
        selected + 1 - rows
    } else {
        offset
    }
}

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.height < ROWS_ABOVE + ROWS_BELOW || area.is_empty() {
        return;
    }
    let theme = &app.options().theme;
    let cells = usize::from(area.width);
    let columns = columns::layout(cells, app.measured());
    let buf = frame.buffer_mut();

    put(buf, area, 0, &title(app, cells));
    put(buf, area, 1, &filter_line(app, cells));
    put(buf, area, 2, &header(&columns, theme));

    let rows = list_rows(area.height);
    if app.visible_count() == 0 {
        let text = if app.rows().is_empty() {
            "No one in custody."
        } else {
            "No one matches the filter."
        };
        let empty = Span::styled(truncate(text, cells), theme.style(Slot::Muted));
        put(buf, area, 3, &Line::from(empty));
    }
    let selected = app.selected();
    let offset = scroll_offset(app.offset(), app.selected_line().unwrap_or(0), rows);
    for (n, line) in app.lines().iter().skip(offset).take(rows).enumerate() {
        let y = usize::from(ROWS_ABOVE) + n;
        match *line {
            ListLine::Heading { band, count } => {
                let text = format!("{} ({count})", capitalise(band.label()));
                let heading = format!("{} {text} ", if app.options().ascii { "==" } else { "──" });
                let rule = if app.options().ascii { '=' } else { '─' };
                let pad: String =
                    std::iter::repeat_n(rule, cells.saturating_sub(width(&heading))).collect();
                let line = Line::styled(
                    truncate(&format!("{heading}{pad}"), cells),
                    theme.style(Slot::Band),
                );
                put(buf, area, y, &line);
            }
            ListLine::Row(v) => {
                let Some(row) = app.visible_row(v) else {
                    continue;
                };
                put(buf, area, y, &person_line(row, &columns, app));
                if selected == Some(v) {
                    let row_area = Rect {
                        y: area.y.saturating_add(u16::try_from(y).unwrap_or(u16::MAX)),
                        height: 1,
                        ..area
                    };
                    buf.set_style(row_area, theme.style(Slot::Selected));
                }
            }
        }
    }

    let legend_y = usize::from(area.height.saturating_sub(2));
    put(buf, area, legend_y, &legend(app, cells));
    let footer_y = usize::from(area.height.saturating_sub(1));
    let footer = super::chrome::footer(app, cells);
    put(buf, area, footer_y, &footer);
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The search line while typing; otherwise the active filter, or how to find people.
fn filter_line(app: &App, cells: usize) -> Line<'static> {
    let theme = &app.options().theme;
    let counts = format!("{} of {}", app.visible_count(), app.rows().len());
    if app.is_searching() {
        let text = format!("Search: {}_", app.query());
        let right = format!("Enter keep  Esc cancel  {counts}");
        return clip(
            Line::from(vec![
                Span::styled(text.clone(), theme.style(Slot::Flag)),
                Span::styled(
                    fit_right(&right, cells.saturating_sub(width(&text))),
                    theme.style(Slot::Muted),
                ),
            ]),
            cells,
        );
    }
    let parts = describe_filter(app, app.filter());
    if parts.is_empty() {
        let text = format!("All {} people · no filter", app.rows().len());
        return Line::styled(truncate(&text, cells), theme.style(Slot::Muted));
    }
    let clear = app
        .options()
        .keymap
        .keys_for(&crate::tui::Action::ClearFilters)
        .first()
        .map(|k| format!("  ({} clears)", k.label(app.options().ascii)))
        .unwrap_or_default();
    let text = format!("Filter: {}  ·  {counts}{clear}", parts.join(" · "));
    Line::styled(truncate(&text, cells), theme.style(Slot::Flag))
}

fn describe_filter(app: &App, filter: &Filter) -> Vec<String> {
    let mut parts = Vec::new();
    if !app.query().trim().is_empty() {
        parts.push(format!("search \"{}\"", app.query().trim()));
    }
    if let Some(id) = &filter.facility {
        let name = app
            .rows()
            .iter()
            .find(|r| r.record.person.facility.id == *id)
            .map_or(id.as_str(), |r| r.record.person.facility.name.as_str());
        parts.push(format!("facility {name}"));
    }
    if let Some(unit) = &filter.unit {
        parts.push(format!("unit {unit}"));
    }
    if let Some(id) = &filter.care_manager {
        let name = app
            .rows()
            .iter()
            .filter_map(|r| r.record.care_team.pre_release_cm.as_ref())
            .find(|c| c.id == *id)
            .map_or(id.as_str(), |c| c.name.as_str());
        parts.push(format!("care manager {name}"));
    }
    if let Some(band) = filter.band {
        parts.push(format!("band {}", band.label()));
    }
    if filter.at_risk_only {
        parts.push("at risk only".into());
    }
    if let Some(role) = filter.my_work {
        parts.push(format!("my work ({})", role.label()));
    }
    parts
}

/// One row's variable column widths; the app keeps them per load and takes the widest of the
/// visible rows.
pub fn measure_row(r: &PersonRecord, format: NameFormat) -> Measured {
    Measured {
        name: width(&name(r, format)),
        booking: width(&r.person.booking_id),
        facility: width(&facility(r)),
        care_manager: width(&care_manager(r)),
    }
}

fn header(columns: &[Column], theme: &Theme) -> Line<'static> {
    let text: Vec<String> = columns
        .iter()
        .map(|c| fit(c.kind.header(), c.width))
        .collect();
    Line::styled(text.join(&" ".repeat(GAP)), theme.style(Slot::Header))
}

/// The row flags, each in its own cell so they line up down the board.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    pub changed: bool,
    pub date_changed: bool,
    pub late_entry: bool,
    pub youth: bool,
    pub protected: bool,
    pub barrier: bool,
    /// An open follow-up task; `task_overdue` when one is past its day.
    pub task: bool,
    pub task_overdue: bool,
    /// Events not yet delivered to the hub.
    pub unsent: bool,
}

impl Flags {
    pub fn of(row: &BoardRow, app: &App) -> Self {
        let r = &row.record;
        let rules = &app.options().rules;
        let since_meeting = app
            .options()
            .last_meeting
            .is_some_and(|t| r.date_changed_since(t));
        Self {
            changed: app.is_changed(&r.person.id),
            date_changed: since_meeting
                || r.unacknowledged_changes(rules.change_window_days) > 0
                || r.date_flags.iter().any(|f| f.status == FlagStatus::Open),
            late_entry: row.readiness.late_entry,
            youth: r.person.youth,
            protected: r.has_part2(),
            barrier: r.barriers.iter().any(|b| b.is_open()),
            task: app.task_mark(&r.person.id).is_some(),
            task_overdue: app.task_mark(&r.person.id) == Some(true),
            unsent: app.is_undelivered(&r.person.id),
        }
    }

    /// The glyphs in order; a blank cell where a flag is off.
    pub fn text(self, ascii: bool) -> String {
        let delta = if ascii { 'D' } else { 'Δ' };
        let unsent = if ascii { '^' } else { '↑' };
        [
            (self.changed, '*'),
            (self.date_changed, delta),
            (self.late_entry, 'L'),
            (self.youth, 'Y'),
            (self.protected, 'P'),
            (self.barrier, 'B'),
            (self.task, if self.task_overdue { '!' } else { 'T' }),
            (self.unsent, unsent),
        ]
        .iter()
        .map(|&(on, c)| if on { c } else { ' ' })
        .collect()
    }
}

/// What each flag means, for the legend and the help overlay.
pub fn flag_legend(ascii: bool) -> [(&'static str, &'static str); 8] {
    [
        ("*", "changed by someone else in the last 10 minutes"),
        (
            if ascii { "D" } else { "Δ" },
            "release date changed since the last meeting, a change awaits acknowledgement, \
             or a proposed change is open",
        ),
        (
            "L",
            "late entry: booked after a milestone's window; catch-up dates apply",
        ),
        ("Y", "youth"),
        ("P", "protected information (42 CFR Part 2 medication)"),
        ("B", "open barrier"),
        (
            "T",
            "open follow-up task from a meeting; `!` instead when one is overdue",
        ),
        (
            if ascii { "^" } else { "↑" },
            "changes not yet delivered to the county hub (queued, or refused: see the sync panel)",
        ),
    ]
}

fn person_line(row: &BoardRow, columns: &[Column], app: &App) -> Line<'static> {
    let r = &row.record;
    let options = app.options();
    let theme = &options.theme;
    // A changed row is marked on its name; colour alone is never the only sign (the `*` flag).
    let name_style = if app.is_changed(&r.person.id) {
        theme.style(Slot::Changed)
    } else {
        Style::new()
    };
    let mut spans: Vec<Span<'static>> = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" ".repeat(GAP)));
        }
        let w = column.width;
        match column.kind {
            ColumnKind::Name => {
                spans.push(Span::styled(
                    fit(&name(r, app.name_format()), w),
                    name_style,
                ));
            }
            ColumnKind::Booking => spans.push(Span::raw(fit(&r.person.booking_id, w))),
            ColumnKind::Facility => spans.push(Span::raw(fit(&facility(r), w))),
            ColumnKind::Release => spans.push(Span::raw(fit(&release(r), w))),
            ColumnKind::Days => {
                spans.push(Span::raw(fit_right(
                    &days(row.readiness.days_to_release),
                    w,
                )));
            }
            ColumnKind::Strip => {
                for m in &row.readiness.milestones {
                    let cell = format!("{}{}", m.state.glyph(options.ascii), m.code.letter());
                    spans.push(Span::styled(cell, theme.state(m.state)));
                }
                let pad = w.saturating_sub(columns::strip_width());
                if pad > 0 {
                    spans.push(Span::raw(" ".repeat(pad)));
                }
            }
            ColumnKind::Flags => {
                let text = Flags::of(row, app).text(options.ascii);
                spans.push(Span::styled(fit(&text, w), theme.style(Slot::Flag)));
            }
            ColumnKind::CareManager => spans.push(Span::raw(fit(&care_manager(r), w))),
        }
    }
    Line::from(spans)
}

/// Glyph legend and flag letters; the help overlay has the long form.
fn legend(app: &App, cells: usize) -> Line<'static> {
    let theme = &app.options().theme;
    let ascii = app.options().ascii;
    let mut spans: Vec<Span<'static>> = Vec::new();
    for (i, state) in MilestoneState::all().enumerate() {
        let word = match state {
            MilestoneState::Done => "done",
            MilestoneState::NotNeeded => "n/a",
            MilestoneState::Pending => "pending",
            MilestoneState::DueSoon => "due soon",
            MilestoneState::Overdue => "overdue",
            MilestoneState::Blocked => "blocked",
        };
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(
            state.glyph(ascii).to_string(),
            theme.state(state),
        ));
        spans.push(Span::styled(format!(" {word}"), theme.style(Slot::Muted)));
    }
    let delta = if ascii { "D" } else { "Δ" };
    spans.push(Span::styled(
        format!(
            "  │ *changed {delta}date L late Y youth P protected B barrier T task {} unsent",
            if ascii { "^" } else { "↑" }
        ),
        theme.style(Slot::Muted),
    ));
    if ascii {
        if let Some(last) = spans.last_mut() {
            last.content = last.content.replace('│', "|").into();
        }
    }
    clip(Line::from(spans), cells)
}

pub fn name(r: &PersonRecord, format: NameFormat) -> String {
    r.person.name.formatted(format)
}

fn facility(r: &PersonRecord) -> String {
    format!("{} {}", r.person.facility.name, r.person.unit)
        .trim()
        .to_string()
}

fn release(r: &PersonRecord) -> String {
    match r.release.date {
        Some(date) => format!("{}{}", date.format("%m-%d"), r.release.certainty.mark()),
        None => "--".to_string(),
    }
}

pub fn days(days: Option<i64>) -> String {
    match days {
        None => "?".to_string(),
        Some(0) => "today".to_string(),
        Some(d) => format!("{d}d"),
    }
}

fn care_manager(r: &PersonRecord) -> String {
    r.care_team
        .pre_release_cm
        .as_ref()
        .map_or_else(|| "-".to_string(), |c| c.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_moves_as_little_as_possible() {
        assert_eq!(scroll_offset(0, 0, 5), 0);
        assert_eq!(scroll_offset(0, 4, 5), 0);
        assert_eq!(scroll_offset(0, 5, 5), 1);
        assert_eq!(scroll_offset(3, 4, 5), 3);
        assert_eq!(scroll_offset(3, 2, 5), 2);
        assert_eq!(scroll_offset(3, 9, 0), 9);
    }

    #[test]
    fn day_counts() {
        assert_eq!(days(None), "?");
        assert_eq!(days(Some(0)), "today");
        assert_eq!(days(Some(12)), "12d");
        assert_eq!(days(Some(-3)), "-3d");
    }

    #[test]
    fn flags_keep_their_cells() {
        let f = Flags {
            late_entry: true,
            barrier: true,
            ..Flags::default()
        };
        assert_eq!(f.text(false), "  L  B  ");
        let all = Flags {
            changed: true,
            date_changed: true,
            late_entry: true,
            youth: true,
            protected: true,
            barrier: true,
            task: true,
            task_overdue: false,
            unsent: true,
        };
        assert_eq!(all.text(false), "*ΔLYPBT↑");
        assert_eq!(all.text(true), "*DLYPBT^");
        let late = Flags {
            task: true,
            task_overdue: true,
            ..Flags::default()
        };
        assert_eq!(late.text(true), "      ! ");
    }
}
