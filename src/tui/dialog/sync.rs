//! The coordinator's sync panel: events the hub refused (dead) or that wait behind one
//! (blocked), with retry and discard-with-reason. Payloads are never shown: they may hold names.

use super::form::{Banner, Field, Form};
use crate::store::StuckEvent;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncPanel {
    /// `None` until the store answered.
    pub entries: Option<Vec<StuckEvent>>,
    pub error: Option<String>,
    pub cursor: usize,
    /// A retry is on its way to the store; a second key would act twice.
    pub busy: bool,
    pub banner: Option<Banner>,
}

impl SyncPanel {
    pub fn loaded(&mut self, entries: Vec<StuckEvent>) {
        self.cursor = self.cursor.min(entries.len().saturating_sub(1));
        self.entries = Some(entries);
        self.error = None;
    }

    pub fn current(&self) -> Option<&StuckEvent> {
        self.entries.as_ref()?.get(self.cursor)
    }

    pub fn move_cursor(&mut self, to: usize) {
        let len = self.entries.as_ref().map_or(0, Vec::len);
        self.cursor = to.min(len.saturating_sub(1));
    }
}

/// Fields: 0 reason.
pub fn discard_form(what: &str) -> Form {
    Form::new(
        "Discard an undelivered event",
        vec![Field::text("Reason", "", "kept in the audit trail")],
    )
    .with_info(vec![
        format!("{what} will never be sent to the hub."),
        "The person's later events go back to the queue.".into(),
    ])
}

/// The reason, or an error next to the field.
pub fn discard_submit(form: &mut Form) -> Option<String> {
    let reason = form.text(0).trim().to_string();
    if reason.is_empty() {
        form.set_error(
            0,
            "say why this event is given up (kept in the audit trail)",
        );
        return None;
    }
    Some(reason)
}
