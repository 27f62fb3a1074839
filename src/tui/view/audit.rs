//! The audit views: one person's trail (oldest first) or the whole log (newest first) with the
//! filter it was loaded with.

use ratatui::Frame;
use ratatui::text::Line;

use super::board::name;
use super::dialog_box;
use crate::theme::Slot;
use crate::tui::App;
use crate::tui::dialog::AuditList;
use crate::tui::effect::AuditScope;

pub fn draw(frame: &mut Frame, app: &App, list: &AuditList) {
    let area = frame.area();
    let theme = &app.options().theme;
    let booking = |id: &str| {
        app.rows()
            .iter()
            .find(|r| r.record.person.id == id)
            .map_or_else(|| id.to_string(), |r| r.record.person.booking_id.clone())
    };
    let title = match &list.scope {
        AuditScope::Person(id) => match app.rows().iter().find(|r| r.record.person.id == *id) {
            Some(r) => format!(
                "Audit trail: {} {}",
                name(&r.record, app.name_format()),
                r.record.person.booking_id
            ),
            None => "Audit trail".to_string(),
        },
        AuditScope::Global(f) => {
            let mut parts = Vec::new();
            if let Some(a) = &f.actor {
                parts.push(format!("user {a}"));
            }
            if let Some(k) = &f.kind {
                parts.push(format!("kind {k}"));
            }
            if let Some(d) = f.from {
                parts.push(format!("from {d}"));
            }
            if let Some(d) = f.to {
                parts.push(format!("to {d}"));
            }
            if parts.is_empty() {
                "Audit log: everyone, newest first".to_string()
            } else {
                format!("Audit log: {}", parts.join(", "))
            }
        }
    };
    let Some(inner) = dialog_box::open(frame, app, &title, area.width, area.height) else {
        return;
    };
    let mut out: Vec<Line<'static>> = Vec::new();
    match (&list.entries, &list.error) {
        (_, Some(e)) => out.push(Line::styled(
            format!("Could not load the audit log: {e}"),
            theme.style(Slot::Error),
        )),
        (None, None) => out.push(Line::styled("Loading...", theme.style(Slot::Muted))),
        (Some(entries), None) => {
            if entries.is_empty() {
                out.push(Line::styled("No audit rows.", theme.style(Slot::Muted)));
            }
            let global = matches!(list.scope, AuditScope::Global(_));
            for e in entries.iter().skip(list.scroll) {
                let at = e.at.get(..16).unwrap_or(&e.at).replace('T', " ");
                let who = format!("{} ({})", e.actor, e.role);
                let whom = match (&e.person_id, global) {
                    (Some(p), true) => format!("{} ", booking(p)),
                    _ => String::new(),
                };
                let reason = e
                    .reason
                    .as_ref()
                    .map(|r| format!(" · why: {r}"))
                    .unwrap_or_default();
                // Medication rows name the drug (maybe Part 2) and screening rows list health
                // needs: the kind, who and when say enough; the detail view shows the rest to
                // those allowed to see it.
                let sensitive = e.entity == "medication" || e.kind == "screening_set";
                let after = match &e.after {
                    Some(a) if !sensitive => format!(" · {a}"),
                    _ => String::new(),
                };
                out.push(Line::raw(format!(
                    "{at}  {who:<24} {whom}{}{reason}{after}",
                    e.kind
                )));
            }
        }
    }
    dialog_box::fill(frame, inner, out);
}
