//! The medications, naloxone and DME checklist: one line per item with its status, the pending
//! change (not yet saved), and who confirmed it when. Items the role may not confirm are greyed.

use ratatui::Frame;
use ratatui::text::{Line, Span};

use super::board::name;
use super::dialog_box::{self, banner, wrap};
use super::text::{truncate, width};
use crate::domain::PersonRecord;
use crate::domain::role::{Action as Permission, Context};
use crate::theme::Slot;
use crate::tui::App;
use crate::tui::dialog::Checklist;
use crate::tui::dialog::checklist::{Item, items};

pub fn draw(frame: &mut Frame, app: &App, c: &Checklist) {
    let area = frame.area();
    let Some(record) = app
        .rows()
        .iter()
        .map(|r| &r.record)
        .find(|r| r.person.id == c.person_id)
    else {
        return;
    };
    let width = area.width.min(110);
    let title = format!(
        "Checklist: {} {}",
        name(record, app.name_format()),
        record.person.booking_id
    );
    let body = lines(app, c, record, usize::from(width.saturating_sub(2)));
    let height = area.height.saturating_sub(1);
    if let Some(inner) = dialog_box::open(frame, app, &title, width, height) {
        dialog_box::fill(frame, inner, body);
    }
}

fn allowed(app: &App, record: &PersonRecord, action: Permission) -> bool {
    let o = app.options();
    o.permissions.allows(
        o.role,
        action,
        Context {
            part2_consent: record.consent.part2,
            ..Context::default()
        },
    )
}

pub fn lines(app: &App, c: &Checklist, record: &PersonRecord, cells: usize) -> Vec<Line<'static>> {
    let theme = &app.options().theme;
    let part2 = app.may_see_part2(record);
    let mut out: Vec<Line<'static>> = Vec::new();
    let position = app
        .selected()
        .map(|s| format!("person {} of {}", s + 1, app.visible_count()))
        .unwrap_or_default();
    let my_work = if app.filter().my_work.is_some() {
        " in my work"
    } else {
        ""
    };
    out.push(Line::styled(
        format!(
            "{position}{my_work} · release {}",
            record
                .release
                .date
                .map_or_else(|| "unknown".to_string(), |d| d.to_string())
        ),
        theme.style(Slot::Muted),
    ));
    let meds_ok = allowed(app, record, Permission::ConfirmMedication);
    let dme_ok = allowed(app, record, Permission::ConfirmDme);
    let role = app.options().role.label();
    let mut section = "";
    for (i, (item, status)) in items(record).into_iter().enumerate() {
        let heading = match item {
            Item::Medication(_) => "Medications (30-day supply)",
            Item::Naloxone => "Naloxone",
            Item::Dme(_) => "Durable medical equipment",
        };
        if heading != section {
            section = heading;
            let grey = match item {
                Item::Dme(_) if !dme_ok => format!(" (the {role} role may not confirm DME)"),
                Item::Medication(_) | Item::Naloxone if !meds_ok => {
                    format!(" (the {role} role may not confirm medications)")
                }
                _ => String::new(),
            };
            out.push(Line::styled(
                format!("{heading}{grey}"),
                theme.style(Slot::Band),
            ));
        }
        let (what, confirmed) = match item {
            Item::Medication(id) => {
                let m = record.medications.iter().find(|m| m.id == id);
                let what = match m {
                    Some(m) if m.is_part2() && !part2 => "protected medication".to_string(),
                    Some(m) => format!("{} · {}", m.name, m.class.label()),
                    None => String::new(),
                };
                (what, m.and_then(|m| m.confirmed.clone()))
            }
            Item::Naloxone => ("naloxone".to_string(), None),
            Item::Dme(id) => {
                let d = record.dme.iter().find(|d| d.id == id);
                (
                    d.map(|d| d.item.clone()).unwrap_or_default(),
                    d.and_then(|d| d.confirmed.clone()),
                )
            }
        };
        let here = i == c.cursor;
        let may = match item {
            Item::Dme(_) => dme_ok,
            _ => meds_ok,
        };
        let style = match (here, may) {
            (true, _) => theme.style(Slot::Selected),
            (false, false) => theme.style(Slot::Muted),
            (false, true) => ratatui::style::Style::new(),
        };
        let marker = if here { "> " } else { "  " };
        let what = truncate(&what, 32);
        let pad = 32usize.saturating_sub(width(&what));
        let mut spans = vec![Span::styled(
            format!("{marker}{what}{}", " ".repeat(pad)),
            style,
        )];
        spans.push(Span::raw(format!(" {:<16}", status.label())));
        let pending = c.pending.as_ref().filter(|p| p.item == item && here);
        if let Some(p) = pending {
            let arrow = if app.options().ascii { "->" } else { "→" };
            spans.push(Span::styled(
                format!(" {arrow} {} (Enter confirms)", p.to.label()),
                theme.style(Slot::Flag),
            ));
        } else if let Some(by) = confirmed {
            spans.push(Span::styled(
                format!(" by {} {}", by.by, by.at.format("%m-%d %H:%M")),
                theme.style(Slot::Muted),
            ));
        }
        out.push(Line::from(spans));
        if let Some(error) = pending.and_then(|p| p.error.clone()) {
            out.push(Line::styled(
                format!("      not allowed: {error}"),
                theme.style(Slot::Error),
            ));
        }
    }
    if let Some(line) = banner(app, c.banner.as_ref(), c.saving) {
        out.push(Line::raw(""));
        out.extend(wrap(line, cells));
    }
    out
}
