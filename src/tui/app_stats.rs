//! The Stats half of [`App`]: open the screen, step the period, take the store's answer. The
//! numbers are aggregates, so the kiosk and presentation mode may show them.

use super::super::effect::Effect;
use super::super::keymap::Screen;
use super::super::stats_screen::StatsScreen;
use super::App;
use crate::report::stats::{Stats, StatsQuery};
use crate::tui::Action;

impl App {
    /// The Stats screen's state, while it is open.
    pub fn stats(&self) -> Option<&StatsScreen> {
        self.stats.as_ref().filter(|_| self.screen == Screen::Stats)
    }

    pub(super) fn open_stats(&mut self) {
        let screen = StatsScreen::new(self.today);
        self.effects.push(Effect::LoadStats(screen.query()));
        self.stats = Some(screen);
        self.screen = Screen::Stats;
        self.dirty = true;
    }

    /// Asks again for the period on screen (after another session's commit or a new day).
    pub(super) fn refresh_stats(&mut self) {
        if self.screen != Screen::Stats {
            return;
        }
        if let Some(stats) = &mut self.stats {
            stats.set_today(self.today);
            self.effects.push(Effect::LoadStats(stats.query()));
        }
    }

    pub(super) fn stats_loaded(&mut self, query: StatsQuery, result: Result<Box<Stats>, String>) {
        let Some(stats) = self.stats.as_mut() else {
            return;
        };
        if stats.query() != query {
            return;
        }
        let data = Some(result.map(|s| *s));
        if stats.data != data {
            stats.data = data;
            let count = measure_count(stats);
            stats.move_cursor(stats.cursor, count);
            self.dirty = true;
        }
    }

    pub(super) fn update_stats(&mut self, action: Action) {
        let page = usize::from(self.size.1.saturating_sub(6)).max(1);
        let Some(stats) = self.stats.as_mut() else {
            self.screen = Screen::Board;
            self.dirty = true;
            return;
        };
        let count = measure_count(stats);
        let period_changed = match action {
            Action::Back => {
                self.screen = Screen::Board;
                self.stats = None;
                self.scroll_to_selection();
                self.dirty = true;
                return;
            }
            Action::ToggleHelp => {
                self.open_help();
                return;
            }
            Action::MoveUp => {
                self.dirty |= stats.move_cursor(stats.cursor.saturating_sub(1), count);
                false
            }
            Action::MoveDown => {
                self.dirty |= stats.move_cursor(stats.cursor.saturating_add(1), count);
                false
            }
            Action::PageUp => {
                self.dirty |= stats.move_cursor(stats.cursor.saturating_sub(page), count);
                false
            }
            Action::PageDown => {
                self.dirty |= stats.move_cursor(stats.cursor.saturating_add(page), count);
                false
            }
            Action::MoveFirst => {
                self.dirty |= stats.move_cursor(0, count);
                false
            }
            Action::MoveLast => {
                self.dirty |= stats.move_cursor(usize::MAX, count);
                false
            }
            Action::StatsEarlier => stats.earlier(),
            Action::StatsLater => stats.later(),
            Action::StatsLength => {
                stats.next_length();
                true
            }
            _ => false,
        };
        if period_changed {
            stats.data = None;
            self.effects.push(Effect::LoadStats(stats.query()));
            self.dirty = true;
        }
    }
}

fn measure_count(stats: &StatsScreen) -> usize {
    match &stats.data {
        Some(Ok(s)) => s.report.measures.len(),
        _ => 0,
    }
}
