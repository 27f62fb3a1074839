//! Views: pure functions from [`App`] to a frame. One file per screen or dialog; every style comes
//! from the [`crate::theme::Theme`] in the options.

pub mod audit;
pub mod board;
pub mod care_team;
pub mod checklist;
pub mod chrome;
pub mod columns;
pub mod detail;
pub mod dialog_box;
pub mod form;
pub mod help;
pub mod meeting;
pub mod person;
pub mod stats;
pub mod sync;
pub mod tasks;
pub mod text;

use ratatui::Frame;
use ratatui::text::Line;

use super::App;
use super::dialog::Dialog;
use super::keymap::Screen;

/// Below this the board cannot show a name, the days and the strip together.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 10;

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame);
        return;
    }
    match app.base_screen() {
        Screen::Detail => detail::draw(frame, app),
        Screen::Stats => stats::draw(frame, app),
        Screen::Meeting => meeting::draw(frame, app),
        _ => board::draw(frame, app),
    }
    for dialog in app.dialogs() {
        match dialog {
            Dialog::Form(d) => form::draw(frame, app, d),
            Dialog::Checklist(c) => checklist::draw(frame, app, c),
            Dialog::Picker(p) => care_team::draw(frame, app, p),
            Dialog::Audit(list) => audit::draw(frame, app, list),
            Dialog::Sync(panel) => sync::draw(frame, app, panel),
        }
    }
    if !app.dialogs().is_empty() {
        let area = frame.area();
        let cells = usize::from(area.width);
        let line = chrome::footer(app, cells);
        chrome::put(
            frame.buffer_mut(),
            area,
            usize::from(area.height.saturating_sub(1)),
            &line,
        );
    }
    if app.screen() == Screen::Help {
        help::draw(frame, app);
    }
}

fn too_small(frame: &mut Frame) {
    let area = frame.area();
    if area.is_empty() {
        return;
    }
    let message = format!("Terminal too small: need at least {MIN_WIDTH}x{MIN_HEIGHT}");
    let line = Line::raw(text::truncate(&message, usize::from(area.width)));
    frame
        .buffer_mut()
        .set_line(area.x, area.y, &line, area.width);
}
