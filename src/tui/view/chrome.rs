//! What every screen shares: the title line, the key footer (generated from the keymap) and
//! ASCII borders for fonts without box drawing.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::symbols::border;
use ratatui::text::{Line, Span};

use super::text::{fit_right, truncate, width};
use crate::theme::Slot;
use crate::tui::Action;
use crate::tui::App;
use crate::tui::keymap::Screen;

/// `+-|` borders for `--ascii`.
pub const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

pub fn border_set(app: &App) -> border::Set<'static> {
    if app.options().ascii {
        ASCII_BORDER
    } else {
        border::PLAIN
    }
}

/// Draw `line` on row `y` of `area`, clipped to it; rows outside the area are skipped.
pub fn put(buf: &mut Buffer, area: Rect, y: usize, line: &Line) {
    let Ok(y) = u16::try_from(y) else { return };
    if y >= area.height {
        return;
    }
    buf.set_line(area.x, area.y.saturating_add(y), line, area.width);
}

/// `Demo  2026-03-02 Mon  6 in custody  PRESENTATION           jdoe (coordinator)`.
pub fn title(app: &App, cells: usize) -> Line<'static> {
    let theme = &app.options().theme;
    let options = app.options();
    let left = format!(
        "{}  {}  {} in custody",
        options.title,
        app.today().format("%Y-%m-%d %a"),
        app.rows().len()
    );
    let marker = match (app.presentation(), options.kiosk) {
        (true, true) => "  PRESENTATION (read-only)",
        (true, false) => "  PRESENTATION",
        _ => "",
    };
    let right = &options.user_label;
    let sync = app.sync_header().map(|words| format!("  {words}"));
    let used = width(&left) + width(marker) + sync.as_deref().map_or(0, width);
    let room = cells.saturating_sub(used);
    let mut spans = vec![Span::styled(left, theme.style(Slot::Title))];
    if !marker.is_empty() {
        spans.push(Span::styled(
            marker.to_string(),
            theme
                .style(Slot::Flag)
                .add_modifier(ratatui::style::Modifier::REVERSED),
        ));
    }
    if let (Some(sync), Some(view)) = (sync, app.sync_view()) {
        spans.push(Span::styled(sync, theme.style(super::sync::slot(view))));
    }
    if !right.is_empty() && room >= width(right) + 2 {
        spans.push(Span::styled(
            fit_right(right, room),
            theme.style(Slot::Muted),
        ));
    }
    clip(Line::from(spans), cells)
}

/// The main keys of the current screen, from the keymap.
pub fn keys_footer(app: &App, cells: usize) -> Line<'static> {
    let theme = &app.options().theme;
    let ascii = app.options().ascii;
    let screen = app.screen();
    let mut parts: Vec<String> = Vec::new();
    // Help first: when a narrow screen cuts the footer, the way to every other key survives.
    let mut bound: Vec<_> = app.options().keymap.bound().iter().collect();
    // On the meeting screen its own keys come next, the common path first.
    bound.sort_by_key(|b| match b.binding.action {
        Action::ToggleHelp => 0,
        Action::Meeting(_) => 1,
        _ => 2,
    });
    for bound in bound {
        let b = &bound.binding;
        if b.short.is_empty() || !b.screens.contains(&screen) || bound.keys.is_empty() {
            continue;
        }
        if b.action == Action::TogglePresentation && app.options().kiosk {
            continue;
        }
        // The board's footer keeps its place for quitting at 80 columns; the detail view, where
        // the edits are made, lists them.
        if matches!(b.action, Action::Open(_)) && (screen == Screen::Board || app.presentation()) {
            continue;
        }
        // The footer offers only the edits this role may make here; help (`?`) lists the rest
        // with the reason.
        if let Action::Open(editor) = b.action {
            if app.editor_state(editor).is_err() {
                continue;
            }
        }
        let mut keys: Vec<String> = bound.keys.iter().map(|k| k.label(ascii)).collect();
        // The pair reads better together: `↑↓/kj move`.
        if b.action == Action::MoveUp {
            let down: Vec<String> = app
                .options()
                .keymap
                .keys_for(&Action::MoveDown)
                .iter()
                .map(|k| k.label(ascii))
                .collect();
            keys = keys
                .iter()
                .zip(down.iter().chain(std::iter::repeat(&String::new())))
                .map(|(u, d)| {
                    if width(u) == 1 && width(d) == 1 {
                        format!("{u}{d}")
                    } else {
                        format!("{u}/{d}")
                    }
                })
                .collect();
            parts.push(format!("{} {}", keys.join(" "), b.short));
            continue;
        }
        parts.push(format!("{} {}", keys.join("/"), b.short));
    }
    if screen == Screen::Search {
        parts.insert(0, "type to search".into());
    }
    let text = parts.join("  ");
    Line::styled(truncate(&text, cells), theme.style(Slot::Footer))
}

/// The bottom line: a reload problem, else what the last action did, else the keys.
pub fn footer(app: &App, cells: usize) -> Line<'static> {
    let theme = &app.options().theme;
    if let Some(status) = app.status() {
        return Line::styled(
            truncate(&format!("Reload failed: {status}"), cells),
            theme.style(Slot::Error),
        );
    }
    if let Some(notice) = app.notice() {
        return Line::styled(truncate(notice, cells), theme.style(Slot::Flag));
    }
    keys_footer(app, cells)
}

/// Cut a styled line to `cells`; colour is kept on the part that remains.
pub fn clip(line: Line<'static>, cells: usize) -> Line<'static> {
    if line.width() <= cells {
        return line;
    }
    let mut left = cells;
    let mut spans = Vec::new();
    for span in line.spans {
        if left == 0 {
            break;
        }
        let w = width(&span.content);
        if w <= left {
            left -= w;
            spans.push(span);
        } else {
            spans.push(Span::styled(truncate(&span.content, left), span.style));
            left = 0;
        }
    }
    Line::from(spans)
}
