//! The sync half of [`App`]: the header's state, the not-delivered marks, and the coordinator's
//! panel of dead and blocked events (retry, discard with a reason). The store audits both.

use std::collections::HashSet;

use super::super::dialog::{Banner, Dialog, FormDialog, FormKind, SyncPanel, sync};
use super::super::effect::{Effect, SaveFailure};
use super::super::sync_watch::SyncView;
use super::App;
use crate::domain::NameFormat;
use crate::store::StuckEvent;
use crate::tui::Action;

impl App {
    /// `✓ SYNC OK 14:02`, `↑ 3 queued (oldest 2m)`, ...: the glyph and the words, never colour
    /// alone. `None` when the source has no outbox.
    pub fn sync_header(&self) -> Option<String> {
        let view = self.sync.as_ref()?;
        Some(format!(
            "{} {}",
            view.status.glyph(self.options.ascii),
            view.words
        ))
    }

    pub fn sync_view(&self) -> Option<&SyncView> {
        self.sync.as_ref()
    }

    /// This person has events not yet delivered to the hub (queued, dead or blocked).
    pub fn is_undelivered(&self, id: &str) -> bool {
        self.undelivered.contains(id)
    }

    pub(super) fn sync_changed(&mut self, view: SyncView, undelivered: Option<HashSet<String>>) {
        let mut changed = false;
        if self.sync.as_ref() != Some(&view) {
            self.sync = Some(view);
            changed = true;
        }
        if let Some(people) = undelivered {
            if people != self.undelivered {
                self.undelivered = people;
                changed = true;
            }
        }
        self.dirty |= changed;
        // The panel lists what is stuck now; a change of counts may mean the sender moved on.
        if changed && self.dialogs.iter().any(|d| matches!(d, Dialog::Sync(_))) {
            self.effects.push(Effect::LoadStuck);
        }
    }

    pub(super) fn open_sync_panel(&mut self) {
        self.effects.push(Effect::LoadStuck);
        self.dialogs.push(Dialog::Sync(SyncPanel::default()));
    }

    pub(super) fn stuck_loaded(&mut self, entries: Result<Vec<StuckEvent>, String>) {
        if let Some(panel) = self.sync_panel_mut() {
            match entries {
                Ok(e) => panel.loaded(e),
                Err(e) => panel.error = Some(e),
            }
            self.dirty = true;
        }
    }

    fn sync_panel_mut(&mut self) -> Option<&mut SyncPanel> {
        self.dialogs.iter_mut().rev().find_map(|d| match d {
            Dialog::Sync(p) => Some(p),
            _ => None,
        })
    }

    pub(super) fn update_sync(&mut self, action: Action) {
        let page = usize::from(self.size.1.saturating_sub(6) / 2).max(1);
        let Some(Dialog::Sync(panel)) = self.dialogs.last_mut() else {
            return;
        };
        match action {
            Action::MoveUp => panel.move_cursor(panel.cursor.saturating_sub(1)),
            Action::MoveDown => panel.move_cursor(panel.cursor.saturating_add(1)),
            Action::PageUp => panel.move_cursor(panel.cursor.saturating_sub(page)),
            Action::PageDown => panel.move_cursor(panel.cursor.saturating_add(page)),
            Action::MoveFirst => panel.move_cursor(0),
            Action::MoveLast => panel.move_cursor(usize::MAX),
            Action::Back => {
                self.dialogs.pop();
            }
            Action::SyncRetry if !panel.busy => match panel.current() {
                Some(e) => {
                    let id = e.event_id.clone();
                    panel.busy = true;
                    panel.banner = None;
                    self.effects.push(Effect::RetryEvent(id));
                }
                None => self.notice = Some("no dead or blocked event to retry".into()),
            },
            Action::SyncResume if !panel.busy => {
                panel.busy = true;
                panel.banner = None;
                self.effects.push(Effect::ResumeSync);
            }
            Action::SyncDiscard if !panel.busy => {
                let Some(e) = panel.current().cloned() else {
                    self.notice = Some("no dead or blocked event to discard".into());
                    return;
                };
                let who = self
                    .rows
                    .iter()
                    .find(|r| r.record.person.id == e.person_id)
                    .map_or_else(
                        || e.person_id.clone(),
                        |r| r.record.person.name.formatted(NameFormat::LastInitial),
                    );
                let what = format!("{}'s {} (#{})", who, e.event_type, e.person_seq);
                self.dialogs.push(Dialog::Form(FormDialog {
                    kind: FormKind::DiscardEvent {
                        event_id: e.event_id.clone(),
                    },
                    person_id: e.person_id.clone(),
                    version: 0,
                    form: sync::discard_form(&what),
                }));
            }
            Action::ToggleHelp => self.open_help(),
            _ => {}
        }
    }

    /// The discard form's Enter: the reason goes to the store, or the field says what is wrong.
    pub(super) fn submit_discard(&mut self) {
        let Some(Dialog::Form(d)) = self.dialogs.last_mut() else {
            return;
        };
        let FormKind::DiscardEvent { event_id } = &d.kind else {
            return;
        };
        match sync::discard_submit(&mut d.form) {
            Some(reason) => {
                d.form.saving = true;
                self.effects.push(Effect::DiscardEvent {
                    event_id: event_id.clone(),
                    reason,
                });
            }
            None => d.form.banner = Some(Banner::Invalid),
        }
    }

    pub(super) fn sync_done(&mut self, outcome: Result<String, SaveFailure>) {
        self.dirty = true;
        let form_open = matches!(
            self.dialogs.last(),
            Some(Dialog::Form(FormDialog {
                kind: FormKind::DiscardEvent { .. },
                ..
            }))
        );
        match outcome {
            Ok(done) => {
                if form_open {
                    self.dialogs.pop();
                }
                if let Some(panel) = self.sync_panel_mut() {
                    panel.busy = false;
                    panel.banner = None;
                }
                self.notice = Some(format!("Sync: {done}."));
                self.effects.push(Effect::LoadStuck);
            }
            Err(failure) => {
                if form_open {
                    if let Some(Dialog::Form(d)) = self.dialogs.last_mut() {
                        d.form.saving = false;
                        d.form.banner = Some(Banner::Failed(failure));
                    }
                } else if let Some(panel) = self.sync_panel_mut() {
                    panel.busy = false;
                    panel.banner = Some(Banner::Failed(failure));
                }
            }
        }
    }
}
