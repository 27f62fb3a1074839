//! The care-team picker: the four slots across the top, who holds the current one, the search
//! line, and the matching directory entries with their caseload on this board.

use ratatui::Frame;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::board::name;
use super::dialog_box::{self, banner, wrap};
use super::text::{truncate, width as text_width};
use crate::domain::ContactKind;
use crate::theme::Slot;
use crate::tui::App;
use crate::tui::dialog::Picker;
use crate::tui::dialog::care_team::{assigned, caseload};

pub fn draw(frame: &mut Frame, app: &App, p: &Picker) {
    let area = frame.area();
    let Some(record) = app
        .rows()
        .iter()
        .map(|r| &r.record)
        .find(|r| r.person.id == p.person_id)
    else {
        return;
    };
    let width = area.width.min(100);
    let title = format!(
        "Care team: {} {}",
        name(record, app.name_format()),
        record.person.booking_id
    );
    let cells = usize::from(width.saturating_sub(2));
    let theme = &app.options().theme;
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut tabs = Vec::new();
    for slot in ContactKind::all() {
        let style = if slot == p.slot {
            theme.style(Slot::Selected).add_modifier(Modifier::BOLD)
        } else {
            theme.style(Slot::Muted)
        };
        let text = if slot == p.slot {
            format!("[{}]", slot.label())
        } else {
            slot.label().to_string()
        };
        tabs.push(Span::styled(text, style));
        tabs.push(Span::raw(" "));
    }
    out.push(Line::from(tabs));
    let now = assigned(record, p.slot).map_or_else(
        || "nobody".to_string(),
        |c| format!("{} ({})", c.name, c.organisation),
    );
    out.push(Line::raw(format!("Assigned now: {now}")));
    out.push(Line::from(vec![
        Span::styled("Search: ", theme.style(Slot::Header)),
        Span::raw(format!("{}_", p.query)),
    ]));
    out.push(Line::raw(""));
    match &p.contacts {
        None => out.push(Line::styled(
            "Loading the directory...",
            theme.style(Slot::Muted),
        )),
        Some(_) => {
            let matches = p.matches();
            if matches.is_empty() {
                out.push(Line::styled(
                    format!("No {} in the directory matches.", p.slot.label()),
                    theme.style(Slot::Muted),
                ));
            }
            let room = usize::from(area.height).saturating_sub(12).max(3);
            let skip = p.cursor.saturating_sub(room.saturating_sub(1));
            for (i, c) in matches.iter().enumerate().skip(skip).take(room) {
                let load = caseload(app.rows(), p.slot, &c.id);
                let here = i == p.cursor;
                let style = if here {
                    theme.style(Slot::Selected)
                } else {
                    ratatui::style::Style::new()
                };
                let marker = if here { "> " } else { "  " };
                let col = |text: &str, cells: usize| {
                    let t = truncate(text, cells);
                    let pad = cells.saturating_sub(text_width(&t));
                    format!("{t}{}", " ".repeat(pad))
                };
                let tail = format!("caseload {load}");
                // The caseload is what the coordinator weighs: it keeps its place; the phone goes
                // first when the box is narrow.
                let phone = if cells >= 90 {
                    format!(" {}", col(&c.phone, 15))
                } else {
                    String::new()
                };
                let org =
                    cells.saturating_sub(2 + 22 + 1 + 1 + text_width(&tail) + text_width(&phone));
                out.push(Line::styled(
                    format!(
                        "{marker}{} {}{phone} {tail}",
                        col(&c.name, 22),
                        col(&c.organisation, org)
                    ),
                    style,
                ));
            }
        }
    }
    if let Some(line) = banner(app, p.banner.as_ref(), p.saving) {
        out.push(Line::raw(""));
        out.extend(wrap(line, cells));
    }
    let height = u16::try_from(out.len() + 2).unwrap_or(u16::MAX).max(12);
    if let Some(inner) = dialog_box::open(frame, app, &title, width, height) {
        dialog_box::fill(frame, inner, out);
    }
}
