//! The box every dialog is drawn in: centred over the screen, cleared, bordered, titled. The
//! bottom screen line stays free for the key footer.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear};

use super::chrome::{border_set, clip, put};
use crate::theme::Slot;
use crate::tui::App;
use crate::tui::dialog::Banner;

/// A box `want_width` x `want_height` (clamped), centred above the footer line; returns its
/// inside, or `None` when there is no room.
pub fn open(
    frame: &mut Frame,
    app: &App,
    title: &str,
    want_width: u16,
    want_height: u16,
) -> Option<Rect> {
    let screen = frame.area();
    let room = Rect {
        height: screen.height.saturating_sub(1),
        ..screen
    };
    let width = want_width.min(room.width);
    let height = want_height.min(room.height);
    if width < 10 || height < 3 {
        return None;
    }
    let outer = Rect {
        x: room.x + (room.width - width) / 2,
        y: room.y + (room.height - height) / 2,
        width,
        height,
    };
    let theme = &app.options().theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_set(border_set(app))
        .border_style(theme.style(Slot::Header))
        .title(format!(" {title} "));
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
    Some(inner)
}

/// Lines into the box, clipped; lines past the bottom are dropped.
pub fn fill(frame: &mut Frame, inner: Rect, lines: Vec<Line<'static>>) {
    let cells = usize::from(inner.width);
    let buf = frame.buffer_mut();
    for (y, line) in lines.into_iter().enumerate() {
        put(buf, inner, y, &clip(line, cells));
    }
}

/// The banner under a dialog, if any.
pub fn banner(app: &App, banner: Option<&Banner>, saving: bool) -> Option<Line<'static>> {
    let theme = &app.options().theme;
    if saving {
        return Some(Line::styled("Saving...", theme.style(Slot::Muted)));
    }
    Some(match banner? {
        Banner::Invalid => Line::styled(
            "Fix the fields marked above; nothing was saved.",
            theme.style(Slot::Error),
        ),
        Banner::Failed(failure) => Line::styled(failure.message(), theme.style(Slot::Error)),
        Banner::Reloaded => Line::styled(
            "Reloaded: the data above is current and your input is kept. Enter saves it.",
            theme.style(Slot::Flag),
        ),
    })
}

/// Long banners wrap onto a second line rather than losing the part that says what to do.
pub fn wrap(line: Line<'static>, cells: usize) -> Vec<Line<'static>> {
    let style = line.style;
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    if super::text::width(&text) <= cells || cells == 0 {
        return vec![line];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        if !current.is_empty()
            && super::text::width(&current) + 1 + super::text::width(word) > cells
        {
            out.push(Line::styled(std::mem::take(&mut current), style));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        out.push(Line::styled(current, style));
    }
    out
}
