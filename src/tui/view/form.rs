//! An edit form: what it is about, then one line per field with its error under it, then what
//! the store said. The focused field is marked by `>` as well as colour.

use ratatui::Frame;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use super::dialog_box::{self, banner, wrap};
use crate::theme::Slot;
use crate::tui::App;
use crate::tui::dialog::{FormDialog, Value};

const LABEL: usize = 24;

pub fn draw(frame: &mut Frame, app: &App, dialog: &FormDialog) {
    let area = frame.area();
    let width = area.width.saturating_sub(4).min(90);
    let body = lines(app, dialog, usize::from(width.saturating_sub(2)));
    let height = u16::try_from(body.len() + 2).unwrap_or(u16::MAX);
    if let Some(inner) = dialog_box::open(frame, app, &dialog.form.title, width, height) {
        dialog_box::fill(frame, inner, body);
    }
}

pub fn lines(app: &App, dialog: &FormDialog, cells: usize) -> Vec<Line<'static>> {
    let theme = &app.options().theme;
    let ascii = app.options().ascii;
    let form = &dialog.form;
    let mut out: Vec<Line<'static>> = Vec::new();
    for info in &form.info {
        out.extend(wrap(
            Line::styled(info.clone(), theme.style(Slot::Muted)),
            cells,
        ));
    }
    if !form.info.is_empty() {
        out.push(Line::raw(""));
    }
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        let marker = if focused { "> " } else { "  " };
        let label = format!("{marker}{:<LABEL$}", field.label);
        let label_style = if focused {
            theme.style(Slot::Selected)
        } else {
            theme.style(Slot::Header)
        };
        let (left, right) = if ascii { ("<", ">") } else { ("◀", "▶") };
        let mut spans = vec![Span::styled(label, label_style), Span::raw(" ")];
        match &field.value {
            Value::Text(text) => {
                let cursor = if focused { "_" } else { "" };
                spans.push(Span::styled(
                    format!("{text}{cursor}"),
                    ratatui::style::Style::new().add_modifier(Modifier::UNDERLINED),
                ));
            }
            Value::Choice { options, index } => {
                let value = options.get(*index).cloned().unwrap_or_default();
                spans.push(Span::raw(if focused {
                    format!("{left} {value} {right}")
                } else {
                    value
                }));
            }
            Value::Toggle(on) => spans.push(Span::raw(if *on { "[x] yes" } else { "[ ] no" })),
            Value::Multi {
                options,
                chosen,
                cursor,
            } => {
                let n = chosen.iter().filter(|c| **c).count();
                spans.push(Span::raw(format!("{n} chosen")));
                out.push(Line::from(spans));
                for (j, option) in options.iter().enumerate() {
                    let mark = if chosen.get(j).copied().unwrap_or(false) {
                        "[x]"
                    } else {
                        "[ ]"
                    };
                    let here = focused && j == *cursor;
                    let style = if here {
                        theme.style(Slot::Selected)
                    } else {
                        ratatui::style::Style::new()
                    };
                    out.push(Line::from(vec![
                        Span::raw(" ".repeat(LABEL + 3)),
                        Span::styled(format!("{mark} {option}"), style),
                    ]));
                }
                spans = Vec::new();
            }
        }
        if !spans.is_empty() {
            if !field.hint.is_empty() && focused {
                spans.push(Span::styled(
                    format!("  {}", field.hint),
                    theme.style(Slot::Muted),
                ));
            }
            out.push(Line::from(spans));
        }
        if let Some(error) = &field.error {
            out.extend(wrap(
                Line::styled(
                    format!("{}{error}", " ".repeat(LABEL + 3)),
                    theme.style(Slot::Error),
                ),
                cells,
            ));
        }
    }
    if let Some(line) = banner(app, form.banner.as_ref(), form.saving) {
        out.push(Line::raw(""));
        out.extend(wrap(line, cells));
    }
    out
}
