//! Board state and its one mutator, [`App::update`]. Pure: no I/O, no clock reads, no terminal,
//! so every behaviour is testable by feeding actions.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::dialog::Dialog;
use super::effect::Effect;
use super::keymap::Screen;
use super::view::columns::Measured;
use super::{Action, TuiOptions, view};

#[path = "app_edit.rs"]
mod edit;
#[path = "app_meeting.rs"]
mod meeting;
#[path = "app_stats.rs"]
mod stats;
#[path = "app_sync.rs"]
mod sync;
use crate::domain::board::{self, BoardRow};
use crate::domain::filter::{Filter, fold, matches_haystack, search_haystack};
use crate::domain::role::{self, Context};
use crate::domain::{Band, ConsentScope, NameFormat, PersonRecord, Role};

/// How long a row changed by someone else stays marked.
pub const CHANGED_FOR: Duration = Duration::minutes(10);

/// One line of the board list: a band heading or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListLine {
    Heading {
        band: Band,
        count: usize,
    },
    /// Index into [`App::visible`].
    Row(usize),
}

#[derive(Debug)]
pub struct App {
    options: TuiOptions,
    today: NaiveDate,
    now: DateTime<Utc>,
    /// Everyone on the board, in board order.
    rows: Vec<BoardRow>,
    /// Folded name and booking number of each row, for search as you type.
    haystacks: Vec<String>,
    /// Display widths of each row's variable columns, measured once per load.
    widths: Vec<RowWidths>,
    /// The widest values over the visible rows, for the personal and the presentation name form.
    measured: (Measured, Measured),
    /// Indices into `rows` that pass the filter, grouped by band.
    visible: Vec<usize>,
    lines: Vec<ListLine>,
    /// Line of each visible row in `lines`.
    row_line: Vec<usize>,
    /// Index into `visible`; meaningless while it is empty.
    selected: usize,
    /// First list line shown; kept here so scrolling is stable between frames.
    offset: usize,
    filter: Filter,
    /// The search as typed (the filter holds it folded).
    query: String,
    /// While the search line is open: the query to go back to on Esc.
    editing: Option<String>,
    screen: Screen,
    /// The help overlay is open over `screen`.
    help: bool,
    help_scroll: usize,
    detail_scroll: usize,
    presentation: bool,
    changed_at: HashMap<String, DateTime<Utc>>,
    size: (u16, u16),
    status: Option<String>,
    /// What the last edit did, or why an action is greyed; cleared by the next key.
    notice: Option<String>,
    /// Open dialogs, the top one has the keyboard.
    dialogs: Vec<Dialog>,
    /// Work for the run loop; the app itself does no I/O.
    effects: Vec<Effect>,
    /// People this session just saved: the reload that follows is not "changed by someone else".
    own_saves: HashSet<String>,
    /// The sync header as last read, and who has events not yet delivered.
    sync: Option<super::sync_watch::SyncView>,
    undelivered: HashSet<String>,
    /// The Stats screen's period and numbers, while it is open.
    stats: Option<super::stats_screen::StatsScreen>,
    /// The meeting while it runs (its screen, or a detail view opened from it).
    meeting: Option<super::meeting_screen::Meeting>,
    /// Open follow-up tasks, soonest due first.
    tasks: Vec<crate::meeting::OpenTask>,
    /// People with an open task owned by the signed-in user: part of their "my work".
    my_tasks: HashSet<String>,
    dirty: bool,
    quit: bool,
}

impl App {
    pub fn new(
        options: TuiOptions,
        records: Vec<PersonRecord>,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Self {
        let presentation = options.kiosk || options.role == Role::Viewer;
        let rows = board::build(records, today, &options.rules);
        let haystacks = board::par_map_ref(&rows, search_haystack);
        let widths = row_widths(&rows, options.name_format);
        let mut app = Self {
            options,
            today,
            now,
            rows,
            haystacks,
            widths,
            measured: Default::default(),
            visible: Vec::new(),
            lines: Vec::new(),
            row_line: Vec::new(),
            selected: 0,
            offset: 0,
            filter: Filter::default(),
            query: String::new(),
            editing: None,
            screen: Screen::Board,
            help: false,
            help_scroll: 0,
            detail_scroll: 0,
            presentation,
            changed_at: HashMap::new(),
            size: (0, 0),
            status: None,
            notice: None,
            dialogs: Vec::new(),
            effects: Vec::new(),
            own_saves: HashSet::new(),
            sync: None,
            undelivered: HashSet::new(),
            stats: None,
            meeting: None,
            tasks: Vec::new(),
            my_tasks: HashSet::new(),
            dirty: true,
            quit: false,
        };
        app.refilter(None);
        app.effects.push(Effect::LoadTasks);
        app
    }

    pub fn update(&mut self, action: Action) {
        match action {
            Action::Quit => {
                self.store_meeting_on_quit();
                self.quit = true;
            }
            Action::Resized { width, height } => {
                self.size = (width, height);
                self.scroll_to_selection();
                self.dirty = true;
            }
            Action::Loaded {
                records,
                today,
                now,
            } => self.reload(records, today, now),
            Action::LoadFailed(message) => {
                self.status = Some(message);
                self.dirty = true;
            }
            Action::Tick { now } => self.tick(now),
            Action::Saved(saved) => self.saved(saved),
            Action::SaveFailed(failure) => self.save_failed(failure),
            Action::ContactsLoaded(contacts) => self.contacts_loaded(contacts),
            Action::AuditLoaded(entries) => self.audit_loaded(entries),
            Action::SyncChanged { view, undelivered } => self.sync_changed(*view, undelivered),
            Action::StuckLoaded(entries) => self.stuck_loaded(entries),
            Action::SyncDone(outcome) => self.sync_done(outcome),
            Action::StatsLoaded { query, result } => self.stats_loaded(query, result),
            Action::MeetingRecorded(outcome) => self.meeting_recorded(outcome),
            Action::TasksLoaded(tasks) => self.tasks_loaded(tasks),
            Action::OwnersLoaded(owners) => self.owners_loaded(owners),
            Action::Notice(text) => {
                self.notice = Some(text);
                self.dirty = true;
            }
            _ if self.help => self.update_help(action),
            _ => {
                if self.notice.take().is_some() {
                    self.dirty = true;
                }
                match self.screen() {
                    Screen::Search => self.update_search(action),
                    Screen::Detail => self.update_detail(action),
                    Screen::Board | Screen::Help => self.update_board(action),
                    Screen::Stats => self.update_stats(action),
                    Screen::Meeting => self.update_meeting(action),
                    Screen::Form
                    | Screen::Picker
                    | Screen::Checklist
                    | Screen::Audit
                    | Screen::Sync => {
                        self.update_dialog(action);
                    }
                }
            }
        }
    }

    fn update_board(&mut self, action: Action) {
        let page = self.page();
        match action {
            Action::MoveUp => self.select(self.selected.saturating_sub(1)),
            Action::MoveDown => self.select(self.selected.saturating_add(1)),
            Action::MoveFirst => self.select(0),
            Action::MoveLast => self.select(usize::MAX),
            Action::PageUp => self.select(self.selected.saturating_sub(page)),
            Action::PageDown => self.select(self.selected.saturating_add(page)),
            Action::OpenDetail if !self.visible.is_empty() => {
                self.screen = Screen::Detail;
                self.detail_scroll = 0;
                self.dirty = true;
                self.note_part2_view();
            }
            Action::Open(editor) => self.open_editor(editor),
            Action::OpenSearch => {
                self.editing = Some(self.query.clone());
                self.dirty = true;
            }
            Action::CycleFacility => {
                let options = self.distinct(|r| Some(r.person.facility.id.clone()));
                self.filter.facility = next(&options, self.filter.facility.as_ref());
                self.refilter_keeping();
            }
            Action::CycleUnit => {
                let options = self.distinct(|r| Some(r.person.unit.clone()));
                self.filter.unit = next(&options, self.filter.unit.as_ref());
                self.refilter_keeping();
            }
            Action::CycleCareManager => {
                let options =
                    self.distinct(|r| r.care_team.pre_release_cm.as_ref().map(|c| c.id.clone()));
                self.filter.care_manager = next(&options, self.filter.care_manager.as_ref());
                self.refilter_keeping();
            }
            Action::CycleBand => {
                let bands: Vec<Band> = Band::all().collect();
                self.filter.band = next(&bands, self.filter.band.as_ref());
                self.refilter_keeping();
            }
            Action::ToggleAtRisk => {
                self.filter.at_risk_only = !self.filter.at_risk_only;
                self.refilter_keeping();
            }
            Action::ToggleMyWork => {
                self.filter.my_work = match self.filter.my_work {
                    Some(_) => None,
                    None => Some(self.options.role),
                };
                self.refilter_keeping();
            }
            Action::ClearFilters => {
                self.filter = Filter::default();
                self.query.clear();
                self.refilter_keeping();
            }
            Action::TogglePresentation => self.toggle_presentation(),
            Action::ToggleHelp => self.open_help(),
            Action::OpenStats => self.open_stats(),
            Action::OpenMeeting => self.open_meeting(),
            Action::Click { row, .. } => self.click(row),
            _ => {}
        }
    }

    fn update_search(&mut self, action: Action) {
        match action {
            Action::SearchInput(c) => {
                self.query.push(c);
                self.apply_query();
            }
            Action::SearchBackspace => {
                self.query.pop();
                self.apply_query();
            }
            Action::KeepSearch => {
                self.editing = None;
                self.dirty = true;
            }
            Action::CancelSearch => {
                self.query = self.editing.take().unwrap_or_default();
                self.apply_query();
            }
            Action::MoveUp | Action::MoveDown | Action::Click { .. } => self.update_board(action),
            _ => {}
        }
    }

    fn update_detail(&mut self, action: Action) {
        let page = usize::from(self.size.1.saturating_sub(4)).max(1);
        let scroll = match action {
            Action::MoveUp => self.detail_scroll.saturating_sub(1),
            Action::MoveDown => self.detail_scroll.saturating_add(1),
            Action::PageUp => self.detail_scroll.saturating_sub(page),
            Action::PageDown => self.detail_scroll.saturating_add(page),
            Action::MoveFirst => 0,
            Action::MoveLast => usize::MAX,
            Action::Back => {
                // Opened from the meeting: back to the same person there.
                self.screen = if self.meeting.is_some() {
                    Screen::Meeting
                } else {
                    Screen::Board
                };
                self.scroll_to_selection();
                self.dirty = true;
                return;
            }
            Action::TogglePresentation => {
                self.toggle_presentation();
                return;
            }
            Action::ToggleHelp => {
                self.open_help();
                return;
            }
            Action::Open(editor) => {
                self.open_editor(editor);
                return;
            }
            _ => return,
        };
        let max = view::detail::max_scroll(self);
        let scroll = scroll.min(max);
        if scroll != self.detail_scroll {
            self.detail_scroll = scroll;
            self.dirty = true;
        }
    }

    fn update_help(&mut self, action: Action) {
        let page = usize::from(self.size.1.saturating_sub(4)).max(1);
        let scroll = match action {
            Action::MoveUp => self.help_scroll.saturating_sub(1),
            Action::MoveDown => self.help_scroll.saturating_add(1),
            Action::PageUp => self.help_scroll.saturating_sub(page),
            Action::PageDown => self.help_scroll.saturating_add(page),
            Action::MoveFirst => 0,
            Action::MoveLast => usize::MAX,
            Action::Back | Action::ToggleHelp => {
                self.help = false;
                self.dirty = true;
                return;
            }
            _ => return,
        };
        let scroll = scroll.min(view::help::max_scroll(self));
        if scroll != self.help_scroll {
            self.help_scroll = scroll;
            self.dirty = true;
        }
    }

    fn open_help(&mut self) {
        self.help = true;
        self.help_scroll = 0;
        self.dirty = true;
    }

    /// The kiosk and the viewer role never leave presentation mode.
    fn toggle_presentation(&mut self) {
        if self.options.kiosk || self.options.role == Role::Viewer {
            return;
        }
        self.presentation = !self.presentation;
        self.dirty = true;
    }

    fn apply_query(&mut self) {
        let search = fold(self.query.trim());
        // One more letter can only narrow the list (every word of the old query is part of a word
        // of the new one), so only the rows shown now need looking at: typing stays O(matches).
        let narrowing = search.starts_with(&self.filter.search);
        self.filter.search = search;
        let kept = self.selected_id().map(str::to_owned);
        let among = narrowing.then(|| std::mem::take(&mut self.visible));
        self.refilter_among(kept.as_deref(), among);
        self.dirty = true;
    }

    fn tick(&mut self, now: DateTime<Utc>) {
        // The meeting's timers show whole seconds: one frame a second while it is on screen,
        // and none at all for the idle board.
        if self.screen == Screen::Meeting && now.timestamp() != self.now.timestamp() {
            self.dirty = true;
        }
        self.now = now;
        let before = self.changed_at.len();
        self.changed_at.retain(|_, at| now - *at < CHANGED_FOR);
        if self.changed_at.len() != before {
            self.dirty = true;
        }
    }

    fn reload(&mut self, records: Vec<PersonRecord>, today: NaiveDate, now: DateTime<Utc>) {
        self.now = now;
        let kept = self.selected_id().map(str::to_owned);
        let rows = board::build(records, today, &self.options.rules);
        // Compared with the rows on the board rather than a copy of the last load: only people on
        // the board can show the mark, and a copy would double the board's memory.
        let before: HashMap<&str, &PersonRecord> = self
            .rows
            .iter()
            .map(|r| (r.record.person.id.as_str(), &r.record))
            .collect();
        for row in &rows {
            let id = &row.record.person.id;
            if before.get(id.as_str()) != Some(&&row.record) && !self.own_saves.contains(id) {
                self.changed_at.insert(id.clone(), now);
            }
        }
        drop(before);
        self.own_saves.clear();
        self.rows = rows;
        self.haystacks = board::par_map_ref(&self.rows, search_haystack);
        self.widths = row_widths(&self.rows, self.options.name_format);
        self.today = today;
        self.status = None;
        self.refilter(kept.as_deref());
        // The person being discussed may have left custody: the detail view has nothing to show.
        if self.screen == Screen::Detail && kept.is_some() && self.selected_id() != kept.as_deref()
        {
            self.screen = if self.meeting.is_some() {
                Screen::Meeting
            } else {
                Screen::Board
            };
        }
        self.after_reload();
        self.refresh_stats();
        self.effects.push(Effect::LoadTasks);
        self.dirty = true;
    }

    fn refilter_keeping(&mut self) {
        let kept = self.selected_id().map(str::to_owned);
        self.refilter(kept.as_deref());
        self.dirty = true;
    }

    /// Recompute the visible rows and the list lines, then put the selection back on `keep` when
    /// still visible. Otherwise the person now in its place is the natural next one.
    fn refilter(&mut self, keep: Option<&str>) {
        self.refilter_among(keep, None);
    }

    /// [`Self::refilter`] looking only at `among` (row indices in list order), when the caller
    /// knows no other row can pass.
    fn refilter_among(&mut self, keep: Option<&str>, among: Option<Vec<usize>>) {
        let rules = &self.options.rules;
        // "My work" also takes in people with a task of this user's; the other filters still apply.
        let without_my_work = Filter {
            my_work: None,
            ..self.filter.clone()
        };
        let passes = |i: usize| {
            let found = self.filter.search.is_empty()
                || self
                    .haystacks
                    .get(i)
                    .is_some_and(|h| matches_haystack(h, &self.filter.search));
            found
                && self.rows.get(i).is_some_and(|row| {
                    self.filter.matches_except_search(row, rules)
                        || (self.filter.my_work.is_some()
                            && self.my_tasks.contains(&row.record.person.id)
                            && without_my_work.matches_except_search(row, rules))
                })
        };
        let mut visible: Vec<usize> = match among {
            Some(mut among) => {
                among.retain(|&i| passes(i));
                among
            }
            None => (0..self.rows.len()).filter(|&i| passes(i)).collect(),
        };
        // Stable: within a band the board order (soonest first) stays.
        visible.sort_by_key(|&i| self.rows.get(i).map(|r| r.readiness.band));
        let mut lines = Vec::with_capacity(visible.len() + 6);
        let mut row_line = Vec::with_capacity(visible.len());
        let mut counts: BTreeMap<Band, usize> = BTreeMap::new();
        for &i in &visible {
            if let Some(row) = self.rows.get(i) {
                *counts.entry(row.readiness.band).or_default() += 1;
            }
        }
        let mut band = None;
        for (v, &i) in visible.iter().enumerate() {
            let this = self.rows.get(i).map(|r| r.readiness.band);
            if this != band {
                band = this;
                if let Some(b) = this {
                    let count = counts.get(&b).copied().unwrap_or(0);
                    lines.push(ListLine::Heading { band: b, count });
                }
            }
            row_line.push(lines.len());
            lines.push(ListLine::Row(v));
        }
        self.measured = measure(&self.widths, &visible);
        self.visible = visible;
        self.lines = lines;
        self.row_line = row_line;
        let index = keep
            .and_then(|id| {
                self.visible
                    .iter()
                    .position(|&i| self.rows.get(i).is_some_and(|r| r.record.person.id == id))
            })
            .unwrap_or(self.selected);
        self.selected = usize::MAX; // forces `select` to notice a change
        self.select(index);
    }

    fn distinct<T: Ord + Clone>(&self, key: impl Fn(&PersonRecord) -> Option<T>) -> Vec<T> {
        let mut values: Vec<T> = self.rows.iter().filter_map(|r| key(&r.record)).collect();
        values.sort();
        values.dedup();
        values
    }

    /// Select `index`, clamped: wrapping from the soonest release to the unknown dates would lose
    /// the meeting's place.
    fn select(&mut self, index: usize) {
        let clamped = index.min(self.visible.len().saturating_sub(1));
        if clamped != self.selected {
            self.selected = clamped;
            self.dirty = true;
        }
        self.scroll_to_selection();
    }

    fn page(&self) -> usize {
        view::board::list_rows(self.size.1).max(1)
    }

    fn scroll_to_selection(&mut self) {
        let rows = view::board::list_rows(self.size.1);
        let line = self.row_line.get(self.selected).copied().unwrap_or(0);
        let mut offset = view::board::scroll_offset(self.offset, line, rows);
        // Show the band heading with its first person when there is room.
        let heading_above = line
            .checked_sub(1)
            .is_some_and(|l| matches!(self.lines.get(l), Some(ListLine::Heading { .. })));
        if heading_above && offset == line && rows >= 2 {
            offset = line - 1;
        }
        if offset != self.offset {
            self.offset = offset;
            self.dirty = true;
        }
    }

    fn click(&mut self, row: u16) {
        let Some(line) = view::board::line_at(self, row) else {
            return;
        };
        if let Some(ListLine::Row(v)) = self.lines.get(line) {
            self.select(*v);
        }
    }

    pub fn options(&self) -> &TuiOptions {
        &self.options
    }
    /// The terminal size as last reported (columns, rows).
    pub fn size(&self) -> (u16, u16) {
        self.size
    }
    pub fn today(&self) -> NaiveDate {
        self.today
    }
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }
    /// Everyone on the board, soonest release first, unknown dates after the dated ones.
    pub fn rows(&self) -> &[BoardRow] {
        &self.rows
    }
    /// The rows the filter lets through, in list order (grouped by band).
    pub fn visible_rows(&self) -> impl Iterator<Item = &BoardRow> {
        self.visible.iter().filter_map(|&i| self.rows.get(i))
    }
    pub fn visible_row(&self, index: usize) -> Option<&BoardRow> {
        self.visible.get(index).and_then(|&i| self.rows.get(i))
    }
    pub fn visible_count(&self) -> usize {
        self.visible.len()
    }
    pub fn lines(&self) -> &[ListLine] {
        &self.lines
    }
    /// The list line of the selected row.
    pub fn selected_line(&self) -> Option<usize> {
        self.selected().and_then(|s| self.row_line.get(s)).copied()
    }
    /// The widest name, booking, facility and care manager over the visible rows, in the name
    /// form on screen: the board's column widths, kept steady while the selection moves.
    pub fn measured(&self) -> Measured {
        if self.presentation {
            self.measured.1
        } else {
            self.measured.0
        }
    }
    /// Index into the visible rows.
    pub fn selected(&self) -> Option<usize> {
        (!self.visible.is_empty()).then_some(self.selected)
    }
    pub fn selected_row(&self) -> Option<&BoardRow> {
        self.visible_row(self.selected)
    }
    pub fn selected_id(&self) -> Option<&str> {
        self.selected_row().map(|r| r.record.person.id.as_str())
    }
    /// First list line shown.
    pub fn offset(&self) -> usize {
        self.offset
    }
    pub fn filter(&self) -> &Filter {
        &self.filter
    }
    pub fn query(&self) -> &str {
        &self.query
    }
    pub fn is_searching(&self) -> bool {
        self.editing.is_some()
    }
    /// The screen the keyboard is on.
    pub fn screen(&self) -> Screen {
        if self.help {
            Screen::Help
        } else if let Some(dialog) = self.dialogs.last() {
            match dialog {
                Dialog::Form(_) => Screen::Form,
                Dialog::Picker(_) => Screen::Picker,
                Dialog::Checklist(_) => Screen::Checklist,
                Dialog::Audit(_) => Screen::Audit,
                Dialog::Sync(_) => Screen::Sync,
            }
        } else if self.editing.is_some() {
            Screen::Search
        } else {
            self.screen
        }
    }
    /// The screen under the help overlay.
    pub fn base_screen(&self) -> Screen {
        self.screen
    }
    pub fn help_scroll(&self) -> usize {
        self.help_scroll
    }
    pub fn detail_scroll(&self) -> usize {
        self.detail_scroll
    }
    pub fn presentation(&self) -> bool {
        self.presentation
    }
    /// Presentation mode always shortens names, whatever the county's setting.
    pub fn name_format(&self) -> NameFormat {
        if self.presentation {
            NameFormat::LastInitial
        } else {
            self.options.name_format
        }
    }
    /// Someone else changed this person's record in the last [`CHANGED_FOR`].
    pub fn is_changed(&self, id: &str) -> bool {
        self.changed_at
            .get(id)
            .is_some_and(|at| self.now - *at < CHANGED_FOR)
    }
    /// Whether the signed-in role may see this person's Part 2 (SUD/MAT) details. Presentation
    /// mode never shows them, whoever is signed in.
    pub fn may_see_part2(&self, record: &PersonRecord) -> bool {
        let ctx = Context {
            part2_consent: record.consent.part2,
            consent_names_probation: record.consent.scope == Some(ConsentScope::IncludingProbation),
            ..Context::default()
        };
        !self.presentation
            && self
                .options
                .permissions
                .allows(self.options.role, role::Action::ViewPart2, ctx)
    }
    /// Open dialogs, bottom first.
    pub fn dialogs(&self) -> &[Dialog] {
        &self.dialogs
    }
    /// What the last edit did or why a key did nothing; shown in the footer.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }
    /// The run loop takes the queued effects after every update.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }
    /// The last reload problem, shown until a reload succeeds.
    pub fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }
    /// The loop calls this after a frame went out.
    pub fn mark_drawn(&mut self) {
        self.dirty = false;
    }
    pub fn should_quit(&self) -> bool {
        self.quit
    }
}

/// Display widths of one row's variable columns; the name in the personal and the presentation
/// form.
#[derive(Debug, Clone, Copy)]
struct RowWidths {
    name: usize,
    presented_name: usize,
    booking: usize,
    facility: usize,
    care_manager: usize,
}

fn row_widths(rows: &[BoardRow], personal: NameFormat) -> Vec<RowWidths> {
    board::par_map_ref(rows, |row| {
        let m = view::board::measure_row(&row.record, personal);
        RowWidths {
            name: m.name,
            presented_name: view::board::measure_row(&row.record, NameFormat::LastInitial).name,
            booking: m.booking,
            facility: m.facility,
            care_manager: m.care_manager,
        }
    })
}

/// The widest values over `visible`: integers per row, no text formatting per keystroke.
fn measure(widths: &[RowWidths], visible: &[usize]) -> (Measured, Measured) {
    let mut m = Measured::default();
    let mut presented = 0;
    for w in visible.iter().filter_map(|&i| widths.get(i)) {
        m.name = m.name.max(w.name);
        presented = presented.max(w.presented_name);
        m.booking = m.booking.max(w.booking);
        m.facility = m.facility.max(w.facility);
        m.care_manager = m.care_manager.max(w.care_manager);
    }
    (
        m,
        Measured {
            name: presented,
            ..m
        },
    )
}

/// The value after `current` in `options`, then none, then the first again.
fn next<T: PartialEq + Clone>(options: &[T], current: Option<&T>) -> Option<T> {
    match current {
        None => options.first().cloned(),
        Some(c) => options
            .iter()
            .position(|o| o == c)
            .and_then(|i| options.get(i + 1))
            .cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycling_ends_in_none() {
        let o = ["a", "b"];
        assert_eq!(next(&o, None), Some("a"));
        assert_eq!(next(&o, Some(&"a")), Some("b"));
        assert_eq!(next(&o, Some(&"b")), None);
        assert_eq!(next(&o, Some(&"gone")), None);
        assert_eq!(next::<&str>(&[], None), None);
    }

    /// Narrowing the search looks only at the rows shown; it must find what a full pass finds.
    #[test]
    fn typing_narrows_to_the_rows_a_full_search_finds() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let now = today.and_hms_opt(15, 0, 0).unwrap().and_utc();
        let records = crate::demo::synthetic_data(2_500, today, 7)
            .unwrap()
            .records;
        let options = TuiOptions::new("T", "t", Role::Coordinator);
        let mut typed = App::new(options.clone(), records.clone(), today, now);
        let mut full = App::new(options, records, today, now);
        typed.update(Action::OpenSearch);
        let mut seen = Vec::new();
        let keys = "ga r"
            .chars()
            .map(Action::SearchInput)
            .chain([Action::SearchBackspace, Action::SearchBackspace])
            .chain("o ".chars().map(Action::SearchInput));
        for key in keys {
            typed.update(key);
            full.filter.search = typed.filter.search.clone();
            full.refilter(None);
            assert_eq!(typed.visible, full.visible, "after {:?}", typed.query);
            assert_eq!(typed.lines, full.lines);
            seen.push((typed.query.clone(), typed.visible.len()));
        }
        // The test means something only if the search both kept and dropped people.
        assert!(
            seen.iter().any(|(_, n)| *n > 0 && *n < typed.rows.len()),
            "{seen:?}"
        );
    }
}
