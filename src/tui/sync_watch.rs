//! Keeps the board's sync header and row marks current without redrawing an idle board: each
//! tick reads the delivery state (from the background sender when this board sends, else from
//! the store) and reports it only when the words, the phase or the marked people changed.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{Action, BoardSource};
use crate::sync::SyncStatus;

/// What the header shows: the status and its words at the time they were read. Words are made
/// outside [`super::App`] because they depend on the local time zone and the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncView {
    pub status: SyncStatus,
    pub words: String,
}

/// The last state handed to the app.
#[derive(Debug, Default)]
pub struct SyncWatch {
    shown: Option<SyncView>,
    /// The people are read again only when the counts moved or a reload happened, since the
    /// status alone is two cheap queries but the people scan the outbox.
    people_stale: bool,
}

impl SyncWatch {
    pub fn new() -> Self {
        Self {
            shown: None,
            people_stale: true,
        }
    }

    /// Call after every load: saves and other sessions' commits add events.
    pub fn mark_stale(&mut self) {
        self.people_stale = true;
    }

    /// `Some` when the header or the marks changed since the last call. A source without an
    /// outbox never reports. A failure to read is not news: the header keeps its last state and
    /// the next tick tries again.
    pub fn check(&mut self, source: &mut dyn BoardSource, now: DateTime<Utc>) -> Option<Action> {
        let status = match source.sync_status(now) {
            Ok(Some(status)) => status,
            Ok(None) => return None,
            Err(error) => {
                tracing::info!(
                    error = format!("{error:#}"),
                    "reading the sync state failed"
                );
                return None;
            }
        };
        let view = SyncView {
            words: status.words(now, &chrono::Local),
            status,
        };
        let counts_moved = self.shown.as_ref().is_none_or(|s| {
            (s.status.pending, s.status.dead, s.status.blocked)
                != (view.status.pending, view.status.dead, view.status.blocked)
        });
        let people = if counts_moved || self.people_stale {
            match source.undelivered() {
                Ok(people) => {
                    self.people_stale = false;
                    Some(people)
                }
                Err(error) => {
                    tracing::info!(error = format!("{error:#}"), "reading undelivered failed");
                    None
                }
            }
        } else {
            None
        };
        let changed = self.shown.as_ref() != Some(&view);
        if !changed && people.is_none() {
            return None;
        }
        self.shown = Some(view.clone());
        Some(Action::SyncChanged {
            view: Box::new(view),
            undelivered: people,
        })
    }
}

/// The people whose rows carry the not-delivered mark.
pub type Undelivered = HashSet<String>;
