//! A person's open follow-up tasks in the detail view: what, who, by when, and overdue by a glyph
//! and a word as well as colour. On a shared screen the person's drug names are blanked.

use ratatui::text::Line;

use crate::domain::PersonRecord;
use crate::theme::Slot;
use crate::tui::App;
use crate::tui::meeting_screen::{overdue, safe_text};

pub fn lines(app: &App, r: &PersonRecord) -> Vec<Line<'static>> {
    let theme = &app.options().theme;
    let ascii = app.options().ascii;
    let hide_part2 = !app.may_see_part2(r);
    let mut out = Vec::new();
    for t in app.tasks_of(&r.person.id) {
        let late = overdue(t, app.today());
        let mark = match (late, ascii) {
            (true, _) => "!",
            (false, true) => "-",
            (false, false) => "□",
        };
        let what = safe_text(&t.what, Some(r), app.presentation(), hide_part2);
        let text = format!(
            "  {mark} {what} — {}, by {}{} (meeting {})",
            t.owner,
            t.due,
            if late { ", OVERDUE" } else { "" },
            t.meeting_day
        );
        out.push(if late {
            Line::styled(text, theme.style(Slot::Overdue))
        } else {
            Line::raw(text)
        });
    }
    if out.is_empty() {
        out.push(Line::raw("  none open"));
    }
    out
}
