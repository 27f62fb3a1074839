//! The keymap: one table of (action, default keys, description, screens). Key handling, the help
//! overlay and the footer are all generated from it, so they cannot disagree. Counties rebind keys
//! in the config file's `[keys]` table; a key bound twice on one screen is an error naming both.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use serde::Deserialize;

use super::Action;
use super::dialog::Editor;
use super::meeting_screen::MeetingKey;

/// Where the keyboard is: keys mean different things on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Screen {
    Board,
    /// The search line is open; unbound printable keys are typed into it.
    Search,
    Detail,
    Help,
    /// An edit form is open; unbound printable keys are typed into its field.
    Form,
    /// The care-team picker; unbound printable keys search the directory.
    Picker,
    Checklist,
    Audit,
    /// The coordinator's sync panel.
    Sync,
    /// Program measures: bars, weekly trend, barriers.
    Stats,
    /// The daily meeting, one person at a time.
    Meeting,
}

impl Screen {
    pub fn label(self) -> &'static str {
        match self {
            Self::Board => "board",
            Self::Search => "search line",
            Self::Detail => "detail",
            Self::Help => "help",
            Self::Form => "edit form",
            Self::Picker => "care-team picker",
            Self::Checklist => "checklist",
            Self::Audit => "audit",
            Self::Sync => "sync panel",
            Self::Stats => "stats",
            Self::Meeting => "meeting",
        }
    }

    /// Screens where letters are typed rather than obeyed.
    pub fn types(self) -> bool {
        matches!(self, Self::Search | Self::Form | Self::Picker)
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub action: Action,
    /// The name in `[keys]`.
    pub name: &'static str,
    pub default_keys: &'static [&'static str],
    /// For the help overlay.
    pub description: &'static str,
    /// For the footer; empty keeps the action out of the footer.
    pub short: &'static str,
    pub screens: &'static [Screen],
}

const NAV: &[Screen] = &[
    Screen::Board,
    Screen::Detail,
    Screen::Help,
    Screen::Checklist,
    Screen::Audit,
    Screen::Sync,
    Screen::Stats,
];
/// Paging and the ends: also the meeting (the person's panel scrolls; Home and End are the ends
/// of the agenda).
const PAGED: &[Screen] = &[
    Screen::Board,
    Screen::Detail,
    Screen::Help,
    Screen::Checklist,
    Screen::Audit,
    Screen::Sync,
    Screen::Stats,
    Screen::Meeting,
];
const BOARD: &[Screen] = &[Screen::Board];
const BOARD_DETAIL: &[Screen] = &[Screen::Board, Screen::Detail];
const DETAIL: &[Screen] = &[Screen::Detail];
const FORM_PICKER: &[Screen] = &[Screen::Form, Screen::Picker];
const CHECKLIST: &[Screen] = &[Screen::Checklist];
const MEETING: &[Screen] = &[Screen::Meeting];

/// Every bindable action with its conventional default keys.
pub fn table() -> Vec<Binding> {
    let b = |action, name, default_keys, description, short, screens| Binding {
        action,
        name,
        default_keys,
        description,
        short,
        screens,
    };
    vec![
        b(
            Action::MoveUp,
            "move_up",
            &["Up", "k"],
            "previous person / scroll up",
            "move",
            NAV,
        ),
        b(
            Action::MoveDown,
            "move_down",
            &["Down", "j"],
            "next person / scroll down",
            "",
            NAV,
        ),
        b(
            Action::PageUp,
            "page_up",
            &["PageUp"],
            "one screen up",
            "",
            PAGED,
        ),
        b(
            Action::PageDown,
            "page_down",
            &["PageDown"],
            "one screen down",
            "",
            PAGED,
        ),
        b(
            Action::MoveFirst,
            "first",
            &["Home", "g"],
            "first person / top",
            "",
            PAGED,
        ),
        b(
            Action::MoveLast,
            "last",
            &["End", "G"],
            "last person / bottom",
            "",
            PAGED,
        ),
        b(
            Action::OpenDetail,
            "open_detail",
            &["Enter"],
            "everything about the selected person",
            "detail",
            BOARD,
        ),
        b(
            Action::Back,
            "back",
            &["Esc"],
            "back to the board / close",
            "back",
            &[
                Screen::Detail,
                Screen::Help,
                Screen::Checklist,
                Screen::Audit,
                Screen::Sync,
                Screen::Stats,
            ],
        ),
        b(
            Action::OpenSearch,
            "search",
            &["/"],
            "search by name or booking number",
            "search",
            BOARD,
        ),
        b(
            Action::KeepSearch,
            "search_keep",
            &["Enter"],
            "keep the search and return to the board",
            "keep",
            &[Screen::Search],
        ),
        b(
            Action::CancelSearch,
            "search_cancel",
            &["Esc"],
            "cancel the search",
            "cancel",
            &[Screen::Search],
        ),
        b(
            Action::CycleFacility,
            "filter_facility",
            &["f"],
            "filter: next facility",
            "",
            BOARD,
        ),
        b(
            Action::CycleUnit,
            "filter_unit",
            &["u"],
            "filter: next unit",
            "",
            BOARD,
        ),
        b(
            Action::CycleCareManager,
            "filter_care_manager",
            &["c"],
            "filter: next care manager",
            "",
            BOARD,
        ),
        b(
            Action::CycleBand,
            "filter_band",
            &["b"],
            "filter: next band",
            "",
            BOARD,
        ),
        b(
            Action::ToggleAtRisk,
            "filter_at_risk",
            &["r"],
            "filter: at risk only",
            "",
            BOARD,
        ),
        b(
            Action::ToggleMyWork,
            "filter_my_work",
            &["w"],
            "filter: my work (for your role)",
            "",
            BOARD,
        ),
        b(
            Action::ClearFilters,
            "clear_filters",
            &["x"],
            "clear every filter and the search",
            "clear",
            BOARD,
        ),
        b(
            Action::TogglePresentation,
            "presentation",
            &["p"],
            "presentation mode for a shared screen",
            "present",
            &[Screen::Board, Screen::Detail, Screen::Meeting],
        ),
        b(
            Action::ToggleHelp,
            "help",
            &["?"],
            "this help",
            "help",
            &[
                Screen::Meeting,
                Screen::Board,
                Screen::Detail,
                Screen::Help,
                Screen::Checklist,
                Screen::Audit,
                Screen::Sync,
                Screen::Stats,
            ],
        ),
        b(
            Action::Open(Editor::ReleaseDate),
            "edit_release_date",
            &["e"],
            "change the release date (date, certainty, type, source, reason)",
            "date",
            BOARD_DETAIL,
        ),
        b(
            Action::Open(Editor::FlagDate),
            "flag_date_change",
            &["F"],
            "flag a proposed release-date change for the meeting",
            "flag",
            BOARD_DETAIL,
        ),
        b(
            Action::Open(Editor::DecideFlag),
            "decide_flag",
            &["D"],
            "accept or reject a flagged date change",
            "decide",
            DETAIL,
        ),
        b(
            Action::Open(Editor::Acknowledge),
            "acknowledge_change",
            &["K"],
            "acknowledge an earlier / inside-T-14 date change",
            "ack",
            DETAIL,
        ),
        b(
            Action::Open(Editor::Checklist),
            "checklist",
            &["m"],
            "medications, naloxone and DME checklist",
            "meds",
            BOARD_DETAIL,
        ),
        b(
            Action::Open(Editor::CareTeam),
            "care_team",
            &["t"],
            "care team picker (CM, ECM, probation, behavioral health)",
            "team",
            BOARD_DETAIL,
        ),
        b(
            Action::Open(Editor::CarePlan),
            "care_plan",
            &["P"],
            "care plan status",
            "plan",
            DETAIL,
        ),
        b(
            Action::Open(Editor::WarmHandoff),
            "warm_handoff",
            &["H"],
            "warm handoff: schedule, complete, not required",
            "handoff",
            DETAIL,
        ),
        b(
            Action::Open(Editor::Consent),
            "consent",
            &["C"],
            "consent: scope, signed, expiry, guardian, Part 2",
            "consent",
            DETAIL,
        ),
        b(
            Action::Open(Editor::Appointments),
            "appointments",
            &["V"],
            "appointments: add, reschedule, kept / missed, cancel",
            "appts",
            DETAIL,
        ),
        b(
            Action::Open(Editor::Transport),
            "transport",
            &["T"],
            "transport on release: mode, pickup, time",
            "transport",
            DETAIL,
        ),
        b(
            Action::Open(Editor::Referrals),
            "referrals",
            &["L"],
            "behavioral health referrals: add, move status",
            "referral",
            DETAIL,
        ),
        b(
            Action::Open(Editor::Notifications),
            "notifications",
            &["O"],
            "notifications per recipient: sent, acknowledged",
            "notify",
            DETAIL,
        ),
        b(
            Action::Open(Editor::MediCal),
            "medi_cal",
            // `M` is the meeting on the board; `I` for insurance.
            &["I"],
            "Medi-Cal status and plan",
            "Medi-Cal",
            DETAIL,
        ),
        b(
            Action::Open(Editor::Screening),
            "screening",
            &["S"],
            "access screening: result and health needs",
            "screening",
            DETAIL,
        ),
        b(
            Action::Open(Editor::Barrier),
            "record_barrier",
            &["B"],
            "record a barrier (reason from the list)",
            "barrier",
            DETAIL,
        ),
        b(
            Action::Open(Editor::ResolveBarrier),
            "resolve_barrier",
            &["R"],
            "resolve an open barrier",
            "resolve",
            DETAIL,
        ),
        b(
            Action::Open(Editor::Note),
            "add_note",
            &["n"],
            "add a free-text note",
            "note",
            DETAIL,
        ),
        b(
            Action::Open(Editor::Mark),
            "mark_milestone",
            &["X"],
            "mark a milestone done / not needed",
            "mark",
            DETAIL,
        ),
        b(
            Action::Open(Editor::CompleteTask),
            "complete_task",
            &["J"],
            "mark one of this person's follow-up tasks done",
            "task done",
            DETAIL,
        ),
        b(
            Action::Open(Editor::Audit),
            "audit",
            &["a"],
            "this person's audit trail",
            "audit",
            DETAIL,
        ),
        b(
            Action::Open(Editor::GlobalAudit),
            "audit_log",
            &["A"],
            "the audit log of everyone (coordinators)",
            "",
            BOARD_DETAIL,
        ),
        b(
            Action::Open(Editor::SyncPanel),
            "sync_panel",
            &["Y"],
            "sync panel: events the hub refused, retry or discard (coordinators)",
            "",
            BOARD_DETAIL,
        ),
        b(
            Action::SyncRetry,
            "sync_retry",
            &["r"],
            "sync panel: send the selected event again",
            "retry",
            &[Screen::Sync],
        ),
        b(
            Action::SyncResume,
            "sync_resume",
            &["u"],
            "sync panel: send now (resume a paused sender once the token is fixed; lift the hub's hold and retry waits)",
            "resume",
            &[Screen::Sync],
        ),
        b(
            Action::SyncDiscard,
            "sync_discard",
            &["d"],
            "sync panel: give up on the selected event (asks why)",
            "discard",
            &[Screen::Sync],
        ),
        b(
            Action::OpenStats,
            "stats",
            &["s"],
            "program measures for people released in a period, with a weekly trend",
            "",
            BOARD,
        ),
        b(
            Action::StatsEarlier,
            "stats_earlier",
            &["Left"],
            "stats: the period before",
            "earlier",
            &[Screen::Stats],
        ),
        b(
            Action::StatsLater,
            "stats_later",
            &["Right"],
            "stats: the period after (up to the board's date)",
            "later",
            &[Screen::Stats],
        ),
        b(
            Action::StatsLength,
            "stats_period",
            &["Tab"],
            "stats: period of 30, 90 or 365 days, or a calendar quarter",
            "period",
            &[Screen::Stats],
        ),
        b(
            Action::FieldNext,
            "field_next",
            &["Down", "Tab"],
            "next field / next contact",
            "field",
            FORM_PICKER,
        ),
        b(
            Action::FieldPrev,
            "field_prev",
            &["Up"],
            "previous field / previous contact",
            "",
            FORM_PICKER,
        ),
        b(
            Action::FieldLeft,
            "choice_prev",
            &["Left"],
            "previous choice / previous care-team slot",
            "",
            FORM_PICKER,
        ),
        b(
            Action::FieldRight,
            "choice_next",
            &["Right"],
            "next choice / next care-team slot",
            "choice",
            FORM_PICKER,
        ),
        b(
            Action::DialogSubmit,
            "save",
            &["Enter"],
            "save the dialog",
            "save",
            FORM_PICKER,
        ),
        b(
            Action::DialogCancel,
            "cancel",
            &["Esc"],
            "close the dialog without saving",
            "cancel",
            FORM_PICKER,
        ),
        b(
            Action::DialogReload,
            "reload",
            &["Ctrl+r"],
            "after a conflict: reload the data, keeping your input",
            "",
            &[Screen::Form, Screen::Picker, Screen::Checklist],
        ),
        b(
            Action::DialogClear,
            "clear_slot",
            &["Ctrl+x"],
            "empty the care-team slot",
            "empty",
            &[Screen::Picker],
        ),
        b(
            Action::StatusPrev,
            "status_prev",
            &["Left"],
            "checklist: previous status",
            "",
            CHECKLIST,
        ),
        b(
            Action::StatusNext,
            "status_next",
            &["Right"],
            "checklist: next status",
            "status",
            CHECKLIST,
        ),
        b(
            Action::ConfirmItem,
            "confirm",
            &["Enter"],
            "checklist: confirm the new status (records who and when)",
            "confirm",
            CHECKLIST,
        ),
        b(
            Action::ItemAdd,
            "item_add",
            &["a"],
            "checklist: add a medication or DME item",
            "add",
            CHECKLIST,
        ),
        b(
            Action::ItemRemove,
            "item_remove",
            &["d"],
            "checklist: remove a medication or DME item (asks why)",
            "remove",
            CHECKLIST,
        ),
        b(
            Action::NextPerson,
            "next_person",
            &["n"],
            "checklist: next person (in my work when filtered)",
            "next",
            CHECKLIST,
        ),
        b(
            Action::PrevPerson,
            "previous_person",
            &["N"],
            "checklist: previous person",
            "",
            CHECKLIST,
        ),
        b(
            Action::AuditFilter,
            "audit_filter",
            &["/"],
            "audit log: filter by user, kind, dates",
            "filter",
            &[Screen::Audit],
        ),
        b(
            Action::OpenMeeting,
            "meeting",
            &["M"],
            "run the daily meeting: the agenda one person at a time",
            "meet",
            BOARD,
        ),
        b(
            Action::Meeting(MeetingKey::ReviewedNext),
            "meeting_reviewed_next",
            &["Space"],
            "meeting: mark this person reviewed and go on to the next",
            "reviewed, next",
            MEETING,
        ),
        b(
            Action::Meeting(MeetingKey::Decision),
            "meeting_decision",
            &["d"],
            "meeting: record a decision for this person",
            "decision",
            MEETING,
        ),
        b(
            Action::Meeting(MeetingKey::Task),
            "meeting_task",
            // Not `t`: on the board and in the detail view `t` is the care team.
            &["+"],
            "meeting: add a follow-up task (what, who, by when)",
            "task",
            MEETING,
        ),
        b(
            Action::Meeting(MeetingKey::Detail),
            "meeting_detail",
            &["Enter"],
            "meeting: everything about this person (Esc comes back)",
            "detail",
            MEETING,
        ),
        b(
            Action::Meeting(MeetingKey::End),
            "meeting_end",
            &["E"],
            "meeting: end it and store the minutes",
            "end",
            MEETING,
        ),
        b(
            Action::Meeting(MeetingKey::Next),
            "meeting_next",
            &["Right", "Down", "j"],
            "meeting: next person on the agenda (not marked reviewed)",
            "next",
            MEETING,
        ),
        b(
            Action::Meeting(MeetingKey::Prev),
            "meeting_previous",
            &["Left", "Up", "k"],
            "meeting: previous person",
            "prev",
            MEETING,
        ),
        b(
            Action::Meeting(MeetingKey::Reviewed),
            "meeting_reviewed",
            &["v"],
            "meeting: reviewed on / off, staying on this person",
            "",
            MEETING,
        ),
        b(
            Action::Meeting(MeetingKey::Attendees),
            "meeting_attendees",
            &["W"],
            "meeting: who is attending: add or remove a name",
            "attendees",
            MEETING,
        ),
        b(
            Action::Meeting(MeetingKey::Leave),
            "meeting_leave",
            &["Esc"],
            "meeting: leave (asks first; nothing is stored unless you end it)",
            "leave",
            MEETING,
        ),
        b(
            Action::Quit,
            "quit",
            &["q"],
            "quit (Ctrl+C always quits)",
            "quit",
            BOARD,
        ),
    ]
}

/// Screens a user walks between with one key: the board opens the detail view, the meeting and
/// the stats, the meeting opens the detail view (`Esc` comes back), and help opens over each. A
/// key bound on both screens of a pair must mean the same on both ([`Keymap::meaning_clashes`]).
/// Dialogs (forms, the picker, the checklist, the audit list, the sync panel) are not in it: they
/// sit over a screen, take the keyboard while open and show their own keys in the footer.
pub const WALKED: &[(Screen, Screen)] = &[
    (Screen::Board, Screen::Detail),
    (Screen::Board, Screen::Meeting),
    (Screen::Meeting, Screen::Detail),
    (Screen::Board, Screen::Stats),
    (Screen::Board, Screen::Help),
    (Screen::Detail, Screen::Help),
    (Screen::Meeting, Screen::Help),
    (Screen::Stats, Screen::Help),
];

/// What an action means to the person pressing the key. The meeting has its own actions for
/// going on, going back, opening the detail view and leaving; to the user they are the board's.
fn meaning(action: &Action) -> Action {
    match action {
        Action::Meeting(MeetingKey::Next) => Action::MoveDown,
        Action::Meeting(MeetingKey::Prev) => Action::MoveUp,
        Action::Meeting(MeetingKey::Detail) => Action::OpenDetail,
        Action::Meeting(MeetingKey::Leave) => Action::Back,
        other => other.clone(),
    }
}

/// One key that means two things on two screens a user walks between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeaningClash {
    pub key: String,
    pub first: (Screen, &'static str),
    pub second: (Screen, &'static str),
}

impl fmt::Display for MeaningClash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is {} on the {} screen and {} on the {} screen",
            self.key,
            self.first.1,
            self.first.0.label(),
            self.second.1,
            self.second.0.label()
        )
    }
}

/// A key as the keymap knows it. Shift is folded into the character (`G`), so it is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Key {
    /// `q`, `/`, `G`, `Enter`, `Esc`, `Up`, `PageDown`, `F5`, `Space`, `Ctrl+x`. Ctrl+C is refused
    /// because it always quits.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (ctrl, rest) = match text.split_once('+') {
            Some((m, rest)) if m.eq_ignore_ascii_case("ctrl") && !rest.is_empty() => (true, rest),
            _ => (false, text),
        };
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backspace" => KeyCode::Backspace,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                "space" => KeyCode::Char(' '),
                f if f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCode::F(n),
                    _ => return Err(unknown_key(text)),
                },
                _ => return Err(unknown_key(text)),
            },
        };
        if ctrl && matches!(code, KeyCode::Char('c' | 'C')) {
            return Err("Ctrl+C always quits and cannot be rebound".into());
        }
        Ok(Self { code, ctrl })
    }

    fn from_event(key: &KeyEvent) -> Self {
        Self {
            code: key.code,
            ctrl: key.modifiers.contains(KeyModifiers::CONTROL),
        }
    }

    /// For help and the footer; `ascii` avoids arrow glyphs.
    pub fn label(self, ascii: bool) -> String {
        let name = match self.code {
            KeyCode::Up if ascii => "Up".into(),
            KeyCode::Down if ascii => "Down".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "Left".into(),
            KeyCode::Right => "Right".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::Char(' ') => "Space".into(),
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        };
        if self.ctrl {
            format!("Ctrl+{name}")
        } else {
            name
        }
    }
}

fn unknown_key(text: &str) -> String {
    format!(
        "`{text}` is not a key: use one character, Enter, Esc, Tab, Backspace, Space, Up, Down, \
         Left, Right, Home, End, PageUp, PageDown, F1-F12, or Ctrl+<character>"
    )
}

/// A `[keys]` value: one key or several.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    fn keys(&self) -> Vec<&str> {
        match self {
            Self::One(k) => vec![k.as_str()],
            Self::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

/// A `[keys]` problem; `name` is the entry at fault, so the config can give its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapError {
    pub name: String,
    pub message: String,
}

impl fmt::Display for KeymapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "keys.{}: {}", self.name, self.message)
    }
}

impl std::error::Error for KeymapError {}

/// A binding as resolved: the table row and its keys after the config's overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub binding: Binding,
    pub keys: Vec<Key>,
    /// Set by the config file rather than the default.
    pub configured: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bound: Vec<Bound>,
    lookup: HashMap<(Screen, Key), usize>,
}

impl Default for Keymap {
    fn default() -> Self {
        // The defaults are tested to be clash-free; an empty map still leaves Ctrl+C.
        Self::build(&BTreeMap::new()).unwrap_or(Self {
            bound: Vec::new(),
            lookup: HashMap::new(),
        })
    }
}

impl Keymap {
    /// The defaults with `overrides` (from `[keys]`) replacing whole entries.
    pub fn build(overrides: &BTreeMap<String, KeyList>) -> Result<Self, KeymapError> {
        let table = table();
        for name in overrides.keys() {
            if !table.iter().any(|b| b.name == name) {
                let names: Vec<&str> = table.iter().map(|b| b.name).collect();
                return Err(KeymapError {
                    name: name.clone(),
                    message: format!("no such action; one of: {}", names.join(", ")),
                });
            }
        }
        let mut bound = Vec::new();
        for binding in table {
            let (texts, configured) = match overrides.get(binding.name) {
                Some(list) => (list.keys(), true),
                None => (binding.default_keys.to_vec(), false),
            };
            let keys = texts
                .iter()
                .map(|t| Key::parse(t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|message| KeymapError {
                    name: binding.name.into(),
                    message,
                })?;
            bound.push(Bound {
                binding,
                keys,
                configured,
            });
        }
        let mut lookup: HashMap<(Screen, Key), usize> = HashMap::new();
        for (index, b) in bound.iter().enumerate() {
            for &screen in b.binding.screens {
                for &key in &b.keys {
                    if let Some(&other) = lookup.get(&(screen, key)) {
                        return Err(clash(&bound, other, index, key, screen));
                    }
                    lookup.insert((screen, key), index);
                }
            }
        }
        Ok(Self { bound, lookup })
    }

    pub fn bound(&self) -> &[Bound] {
        &self.bound
    }

    /// Keys that mean one thing on a screen and another on a screen reached from it
    /// ([`WALKED`]), in a stable order.
    pub fn meaning_clashes(&self) -> Vec<MeaningClash> {
        let mut out = Vec::new();
        for &(a, b) in WALKED {
            for (&(screen, key), &i) in &self.lookup {
                if screen != a {
                    continue;
                }
                let Some(&j) = self.lookup.get(&(b, key)) else {
                    continue;
                };
                let (Some(x), Some(y)) = (self.bound.get(i), self.bound.get(j)) else {
                    continue;
                };
                if meaning(&x.binding.action) != meaning(&y.binding.action) {
                    out.push(MeaningClash {
                        key: key.label(true),
                        first: (a, x.binding.name),
                        second: (b, y.binding.name),
                    });
                }
            }
        }
        out.sort_by(|x, y| (x.first.0, x.second.0, &x.key).cmp(&(y.first.0, y.second.0, &y.key)));
        out
    }

    /// The keys of the first binding of `action`, for hints such as "? help".
    pub fn keys_for(&self, action: &Action) -> &[Key] {
        self.bound
            .iter()
            .find(|b| b.binding.action == *action)
            .map_or(&[], |b| b.keys.as_slice())
    }

    /// The action for one terminal event on `screen`, or `None` when nothing is bound.
    pub fn action_for(&self, event: &Event, screen: Screen) -> Option<Action> {
        match event {
            Event::Key(key) => self.action_for_key(key, screen),
            Event::Resize(width, height) => Some(Action::Resized {
                width: *width,
                height: *height,
            }),
            Event::Mouse(mouse) => mouse_action(mouse),
            _ => None,
        }
    }

    fn action_for_key(&self, key: &KeyEvent, screen: Screen) -> Option<Action> {
        // Windows reports releases too; acting on them would move twice per keystroke.
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        // Raw mode swallows SIGINT, so this is the only way out for someone who is lost.
        if ctrl && matches!(key.code, KeyCode::Char('c' | 'C')) {
            return Some(Action::Quit);
        }
        if let Some(&index) = self.lookup.get(&(screen, Key::from_event(key))) {
            return self.bound.get(index).map(|b| b.binding.action.clone());
        }
        if matches!(screen, Screen::Form | Screen::Picker) {
            return match key.code {
                KeyCode::Char(c) if !ctrl => Some(Action::DialogInput(c)),
                KeyCode::Backspace => Some(Action::DialogBackspace),
                _ => None,
            };
        }
        if screen == Screen::Search {
            return match key.code {
                KeyCode::Char(c) if !ctrl => Some(Action::SearchInput(c)),
                KeyCode::Backspace => Some(Action::SearchBackspace),
                // Moving while typing lets the meeting pick among the matches without leaving.
                KeyCode::Up => Some(Action::MoveUp),
                KeyCode::Down => Some(Action::MoveDown),
                _ => None,
            };
        }
        None
    }
}

fn mouse_action(mouse: &MouseEvent) -> Option<Action> {
    match mouse.kind {
        MouseEventKind::Down(_) => Some(Action::Click {
            column: mouse.column,
            row: mouse.row,
        }),
        MouseEventKind::ScrollUp => Some(Action::MoveUp),
        MouseEventKind::ScrollDown => Some(Action::MoveDown),
        _ => None,
    }
}

fn clash(bound: &[Bound], first: usize, second: usize, key: Key, screen: Screen) -> KeymapError {
    let origin = |b: &Bound| {
        if b.configured {
            format!("keys.{}", b.binding.name)
        } else {
            format!("{} (default)", b.binding.name)
        }
    };
    let (Some(a), Some(b)) = (bound.get(first), bound.get(second)) else {
        return KeymapError {
            name: String::new(),
            message: "key clash".into(),
        };
    };
    // Blame the configured entry: that is the line the user has to change.
    let (blamed, other) = if b.configured || !a.configured {
        (b, a)
    } else {
        (a, b)
    };
    KeymapError {
        name: blamed.binding.name.into(),
        message: format!(
            "`{}` on the {} screen is bound to both {} and {}",
            key.label(true),
            screen.label(),
            origin(other),
            origin(blamed),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, modifiers))
    }

    fn overrides(pairs: &[(&str, &[&str])]) -> BTreeMap<String, KeyList> {
        pairs
            .iter()
            .map(|(n, ks)| {
                (
                    (*n).to_string(),
                    KeyList::Many(ks.iter().map(|k| (*k).to_string()).collect()),
                )
            })
            .collect()
    }

    #[test]
    fn defaults_follow_conventions() {
        let map = Keymap::build(&BTreeMap::new());
        assert!(map.is_ok(), "{map:?}");
        let map = Keymap::default();
        let none = KeyModifiers::NONE;
        let at = |code, screen| map.action_for(&key(code, none), screen);
        assert_eq!(
            at(KeyCode::Char('j'), Screen::Board),
            Some(Action::MoveDown)
        );
        assert_eq!(at(KeyCode::Up, Screen::Detail), Some(Action::MoveUp));
        assert_eq!(at(KeyCode::Enter, Screen::Board), Some(Action::OpenDetail));
        assert_eq!(at(KeyCode::Esc, Screen::Detail), Some(Action::Back));
        assert_eq!(at(KeyCode::Esc, Screen::Board), None, "Esc never quits");
        assert_eq!(at(KeyCode::Char('q'), Screen::Board), Some(Action::Quit));
        // On the search line letters are typed, not obeyed.
        assert_eq!(
            at(KeyCode::Char('q'), Screen::Search),
            Some(Action::SearchInput('q'))
        );
        assert_eq!(at(KeyCode::Enter, Screen::Search), Some(Action::KeepSearch));
        for screen in [Screen::Board, Screen::Search, Screen::Detail, Screen::Help] {
            assert_eq!(
                map.action_for(&key(KeyCode::Char('c'), KeyModifiers::CONTROL), screen),
                Some(Action::Quit)
            );
        }
        assert_eq!(
            map.action_for(
                &key(KeyCode::Char('j'), KeyModifiers::CONTROL),
                Screen::Board
            ),
            None,
            "Ctrl+J is not j"
        );
        let mut release = KeyEvent::new(KeyCode::Char('j'), none);
        release.kind = KeyEventKind::Release;
        assert_eq!(map.action_for(&Event::Key(release), Screen::Board), None);
        assert_eq!(
            map.action_for(&Event::Resize(80, 24), Screen::Board),
            Some(Action::Resized {
                width: 80,
                height: 24
            })
        );
    }

    /// One meaning per key where a user walks between screens (the board, the detail view, the
    /// meeting, stats, help): `M` was the meeting on the board and Medi-Cal in the detail view.
    #[test]
    fn a_key_means_one_thing_on_screens_a_user_walks_between() {
        let clashes: Vec<String> = Keymap::default()
            .meaning_clashes()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(clashes, Vec::<String>::new());

        // The test finds such a pair when there is one: the old `M`, and `t` in the meeting.
        let old = Keymap::build(&overrides(&[
            ("medi_cal", &["M"]),
            ("meeting_task", &["t"]),
        ]))
        .unwrap_or_default();
        let clashes: Vec<String> = old
            .meaning_clashes()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            clashes,
            vec![
                "`M` is meeting on the board screen and medi_cal on the detail screen",
                "`t` is care_team on the board screen and meeting_task on the meeting screen",
                "`t` is meeting_task on the meeting screen and care_team on the detail screen",
            ]
        );

        // The same key for the same thing is no clash: Enter opens the detail view from the
        // board and from the meeting; Up and Down walk the board and the agenda.
        let map = Keymap::default();
        let none = KeyModifiers::NONE;
        for code in [
            KeyCode::Enter,
            KeyCode::Down,
            KeyCode::Char('p'),
            KeyCode::Char('?'),
        ] {
            assert!(map.action_for(&key(code, none), Screen::Board).is_some());
            assert!(map.action_for(&key(code, none), Screen::Meeting).is_some());
        }
    }

    #[test]
    fn rebinding_and_errors() {
        let map = Keymap::build(&overrides(&[("quit", &["Q", "F10"])])).unwrap_or_default();
        let none = KeyModifiers::NONE;
        assert_eq!(
            map.action_for(&key(KeyCode::F(10), none), Screen::Board),
            Some(Action::Quit)
        );
        assert_eq!(
            map.action_for(&key(KeyCode::Char('q'), none), Screen::Board),
            None
        );

        let e = Keymap::build(&overrides(&[("search", &["f"])])).unwrap_err();
        assert_eq!(e.name, "search");
        assert_eq!(
            e.to_string(),
            "keys.search: `f` on the board screen is bound to both filter_facility (default) \
             and keys.search"
        );
        let e = Keymap::build(&overrides(&[("quit", &["ctrl+c"])])).unwrap_err();
        assert!(e.to_string().contains("cannot be rebound"), "{e}");
        let e = Keymap::build(&overrides(&[("quitt", &["q"])])).unwrap_err();
        assert!(
            e.to_string().starts_with("keys.quitt: no such action"),
            "{e}"
        );
        let e = Keymap::build(&overrides(&[("help", &["Hyper"])])).unwrap_err();
        assert!(e.to_string().contains("`Hyper` is not a key"), "{e}");
        // The same key on different screens is no clash: Enter opens, and keeps a search.
        assert!(Keymap::build(&overrides(&[("search_keep", &["Enter"])])).is_ok());
    }
}
