//! The help overlay, generated from the keymap table and the legends, so it lists every bound
//! action and cannot drift from what the keys do.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear};

use super::board::flag_legend;
use super::chrome::{border_set, clip, put};
use crate::domain::{Certainty, MilestoneCode, MilestoneState};
use crate::theme::Slot;
use crate::tui::App;
use crate::tui::dialog::Editor;
use crate::tui::keymap::Screen;

/// The overlay's box inside the screen: a margin so the board underneath stays recognisable.
fn frame_area(area: Rect) -> Rect {
    let margin_x = if area.width >= 90 { 4 } else { 1 };
    let margin_y = u16::from(area.height >= 20);
    Rect {
        x: area.x.saturating_add(margin_x),
        y: area.y.saturating_add(margin_y),
        width: area.width.saturating_sub(margin_x * 2),
        height: area.height.saturating_sub(margin_y * 2),
    }
}

fn inner_height(app: &App) -> usize {
    let (w, h) = app.size();
    usize::from(frame_area(Rect::new(0, 0, w, h)).height.saturating_sub(2))
}

pub fn max_scroll(app: &App) -> usize {
    lines(app).len().saturating_sub(inner_height(app))
}

pub fn draw(frame: &mut Frame, app: &App) {
    let outer = frame_area(frame.area());
    if outer.width < 3 || outer.height < 3 {
        return;
    }
    let theme = &app.options().theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(border_set(app))
        .border_style(theme.style(Slot::Header))
        .title(" Help  (Esc closes) ");
    let inner = block.inner(outer);
    frame.render_widget(Clear, outer);
    // A double-width character just left of the box would otherwise swallow its left border.
    if let Some(left) = outer.x.checked_sub(1) {
        let buf = frame.buffer_mut();
        for y in outer.top()..outer.bottom() {
            if let Some(cell) = buf.cell_mut((left, y)) {
                if unicode_width::UnicodeWidthStr::width(cell.symbol()) > 1 {
                    cell.set_symbol(" ");
                }
            }
        }
    }
    frame.render_widget(block, outer);
    let body = lines(app);
    let shown = usize::from(inner.height);
    let scroll = app.help_scroll().min(body.len().saturating_sub(shown));
    let buf = frame.buffer_mut();
    for (n, line) in body.into_iter().skip(scroll).take(shown).enumerate() {
        put(buf, inner, n, &clip(line, usize::from(inner.width)));
    }
}

/// Every binding by screen, then what the glyphs, letters and flags mean.
pub fn lines(app: &App) -> Vec<Line<'static>> {
    let options = app.options();
    let theme = &options.theme;
    let ascii = options.ascii;
    let mut out = Vec::new();
    let heading = |out: &mut Vec<Line<'static>>, text: String| {
        if !out.is_empty() {
            out.push(Line::raw(""));
        }
        out.push(Line::styled(text, theme.style(Slot::Band)));
    };
    // Over the detail view the edits come first: that is what `?` is pressed for there.
    let edits_first = app.base_screen() == Screen::Detail;
    if edits_first {
        edits(app, &mut out);
    }
    heading(&mut out, "Keys".into());
    for bound in options.keymap.bound() {
        let b = &bound.binding;
        let keys: Vec<String> = bound.keys.iter().map(|k| k.label(ascii)).collect();
        let mut description = b.description.to_string();
        if options.kiosk && b.name == "presentation" {
            description.push_str(" (kiosk: always on)");
        }
        let screens: Vec<&str> = b.screens.iter().map(|s| s.label()).collect();
        out.push(Line::raw(format!(
            "  {:<12} {:<20} {description} ({})",
            keys.join(", "),
            b.name,
            screens.join(", "),
        )));
    }
    out.push(Line::raw(format!(
        "  {:<12} {:<20} typed into the {}; accents and case ignored",
        "letters",
        "",
        Screen::Search.label()
    )));
    out.push(Line::raw(format!(
        "  {:<12} {:<20} typed into the {} and the {}; Backspace erases",
        "letters",
        "",
        Screen::Form.label(),
        Screen::Picker.label()
    )));
    out.push(Line::raw(format!(
        "  {:<12} {:<20} quit, from anywhere",
        "Ctrl+C", ""
    )));
    if options.mouse {
        out.push(Line::raw(
            "  mouse          click selects a person; the wheel moves",
        ));
    }

    if !edits_first {
        edits(app, &mut out);
    }

    heading(
        &mut out,
        "Readiness glyphs (the glyph alone carries the state)".into(),
    );
    for state in MilestoneState::all() {
        out.push(Line::from(vec![
            Span::raw("  "),
            Span::styled(state.glyph(ascii).to_string(), theme.state(state)),
            Span::raw(format!("  {}", state.label())),
        ]));
    }
    heading(&mut out, "Readiness letters".into());
    for code in MilestoneCode::all() {
        out.push(Line::raw(format!("  {}  {}", code.letter(), code.label())));
    }
    heading(&mut out, "Flags".into());
    for (flag, meaning) in flag_legend(ascii) {
        out.push(Line::raw(format!("  {flag}  {meaning}")));
    }
    heading(&mut out, "Release date marks".into());
    for c in Certainty::all() {
        out.push(Line::raw(format!("  {}  {}", c.mark(), c.label())));
    }
    out
}

/// Every dialog of the detail view with its key, for the selected person and this role; what the
/// role may not do says why in words, not only by being greyed.
fn edits(app: &App, out: &mut Vec<Line<'static>>) {
    let options = app.options();
    let theme = &options.theme;
    let ascii = options.ascii;
    if !out.is_empty() {
        out.push(Line::raw(""));
    }
    let who = app
        .selected_row()
        .map(|r| format!(" for {}", r.record.person.name.formatted(app.name_format())))
        .unwrap_or_default();
    out.push(Line::styled(
        format!("Edits in the detail view{who}"),
        theme.style(Slot::Band),
    ));
    for editor in Editor::ALL {
        let keys: Vec<String> = options
            .keymap
            .keys_for(&crate::tui::Action::Open(editor))
            .iter()
            .map(|k| k.label(ascii))
            .collect();
        if keys.is_empty() {
            continue;
        }
        let line = format!("  {:<6} {}", keys.join("/"), editor.label());
        out.push(match app.editor_state(editor) {
            Ok(()) => Line::raw(line),
            Err(why) => Line::styled(format!("{line} — {why}"), theme.style(Slot::Muted)),
        });
    }
}
