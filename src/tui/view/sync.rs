//! The sync panel: the header's state at the top, then one line per dead or blocked event —
//! person (short name), event type, state, attempts — and its error under it. No payloads.

use ratatui::Frame;
use ratatui::style::Modifier;
use ratatui::text::Line;

use super::dialog_box;
use super::text::{fit, fit_right};
use crate::domain::NameFormat;
use crate::sync::SyncPhase;
use crate::theme::Slot;
use crate::tui::App;
use crate::tui::dialog::SyncPanel;
use crate::tui::sync_watch::SyncView;

pub fn draw(frame: &mut Frame, app: &App, panel: &SyncPanel) {
    let area = frame.area();
    let theme = &app.options().theme;
    let Some(inner) = dialog_box::open(
        frame,
        app,
        "Sync: events not delivered",
        area.width,
        area.height,
    ) else {
        return;
    };
    let cells = usize::from(inner.width);
    let mut out: Vec<Line<'static>> = Vec::new();
    if let Some(header) = app.sync_header() {
        out.push(Line::styled(header, theme.style(Slot::Title)));
    }
    let resume_key = app
        .options()
        .keymap
        .keys_for(&crate::tui::Action::SyncResume)
        .first()
        .map(|k| k.label(app.options().ascii));
    let status = app.sync_view().map(|v| &v.status);
    if status.is_some_and(|s| s.phase == SyncPhase::Paused) {
        let key = resume_key
            .as_ref()
            .map_or_else(String::new, |k| format!(", then {k} resumes"));
        out.push(Line::styled(
            format!("Sending is paused: fix the token or certificate{key}."),
            theme.style(Slot::Error),
        ));
        // What the server said (a FHIR server's OperationOutcome, the hub's problem): the
        // words that tell which of token or certificate to fix.
        if let Some(reason) = status.and_then(|s| s.paused_reason.as_deref()) {
            out.push(Line::styled(
                format!("The server said: {reason}"),
                theme.style(Slot::Muted),
            ));
        }
    } else if let (Some(at), Some(key)) = (status.and_then(|s| s.retry_at), &resume_key) {
        // A long Retry-After outlives the hub's trouble: say who can cut it short.
        out.push(Line::styled(
            format!(
                "Events wait until {} before the next try; {key} sends them now.",
                at.with_timezone(&chrono::Local).format("%H:%M")
            ),
            theme.style(Slot::Muted),
        ));
    }
    match (&panel.entries, &panel.error) {
        (_, Some(e)) => out.push(Line::styled(
            format!("Could not load the queue: {e}"),
            theme.style(Slot::Error),
        )),
        (None, None) => out.push(Line::styled("Loading...", theme.style(Slot::Muted))),
        (Some(entries), None) if entries.is_empty() => out.push(Line::styled(
            "Nothing is dead or blocked.",
            theme.style(Slot::Muted),
        )),
        (Some(entries), None) => {
            out.push(Line::styled(
                format!(
                    "{} {} {} {}",
                    fit("Person", 16),
                    fit("Event", 26),
                    fit("State", 8),
                    fit_right("Tries", 5)
                ),
                theme.style(Slot::Muted),
            ));
            // Two lines per event; keep the cursor's pair in view.
            let room = usize::from(inner.height).saturating_sub(out.len() + 2) / 2;
            let first = panel.cursor.saturating_sub(room.saturating_sub(1));
            for (i, e) in entries.iter().enumerate().skip(first).take(room.max(1)) {
                let who = app
                    .rows()
                    .iter()
                    .find(|r| r.record.person.id == e.person_id)
                    .map_or_else(
                        || format!("({})", e.person_id),
                        |r| r.record.person.name.formatted(NameFormat::LastInitial),
                    );
                let line = format!(
                    "{} {} {} {}",
                    fit(&who, 16),
                    fit(&e.event_type, 26),
                    fit(&e.state, 8),
                    fit_right(&e.attempts.to_string(), 5)
                );
                let style = if i == panel.cursor {
                    theme.style(Slot::Selected).add_modifier(Modifier::BOLD)
                } else {
                    ratatui::style::Style::new()
                };
                out.push(Line::styled(fit(&line, cells), style));
                let error = e.last_error.as_deref().unwrap_or("no error recorded");
                out.push(Line::styled(format!("  {error}"), theme.style(Slot::Muted)));
            }
        }
    }
    if let Some(line) = dialog_box::banner(app, panel.banner.as_ref(), panel.busy) {
        out.extend(dialog_box::wrap(line, cells));
    }
    dialog_box::fill(frame, inner, out);
}

/// The header's style by phase: the glyph and the words carry the meaning, the colour helps.
pub fn slot(view: &SyncView) -> Slot {
    match view.status.phase {
        SyncPhase::Ok | SyncPhase::Queued => Slot::Muted,
        SyncPhase::Offline => Slot::Flag,
        SyncPhase::Rejected | SyncPhase::Paused => Slot::Error,
    }
}
