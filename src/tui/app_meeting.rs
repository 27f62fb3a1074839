//! The meeting half of [`App`]: opening the agenda, walking it, the meeting's small dialogs,
//! ending it (one [`Effect::RecordMeeting`]), and the open follow-up tasks the board shows.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::super::dialog::form::{Field, Form};
use super::super::dialog::{Banner, Dialog, FormDialog, FormKind};
use super::super::effect::{Effect, SaveFailure};
use super::super::keymap::Screen;
use super::super::meeting_screen::{self as ms, Leave, Meeting, MeetingForm, MeetingKey};
use super::super::view::meeting::{AGENDA_WINDOW, AgendaLine, MeetingView};
use super::super::view::person::Look;
use super::App;
use crate::domain::filter::fold;
use crate::domain::role::Action as Permission;
use crate::domain::{BoardRow, NameFormat};
use crate::meeting::{OpenTask, agenda};
use crate::store::{Command, CompleteTask};
use crate::tui::Action;

impl App {
    /// Whether this session may record the meeting, or why not (shown where the keys are).
    pub fn meeting_state(&self) -> Result<(), String> {
        if self.options.kiosk {
            return Err("the meeting-room display is read-only".into());
        }
        self.permitted(&[Permission::RunMeeting], None)
    }

    pub fn meeting(&self) -> Option<&Meeting> {
        self.meeting.as_ref()
    }

    /// What the meeting screen draws, gathered in this one place: each agenda person's name,
    /// days and strip, and the person on screen with their open tasks. The view reads nothing
    /// else, so where the records come from can change here alone.
    pub fn meeting_view(&self) -> Option<MeetingView<'_>> {
        let meeting = self.meeting.as_ref()?;
        // Only the agenda people the screen can show: an agenda may be thousands long.
        let from = meeting.at.saturating_sub(AGENDA_WINDOW);
        let to = (meeting.at + AGENDA_WINDOW + 1).min(meeting.agenda.len());
        let wanted: HashMap<&str, usize> = meeting
            .agenda
            .get(from..to)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(k, a)| (a.person_id.as_str(), k))
            .collect();
        let mut rows: Vec<Option<&BoardRow>> = vec![None; to.saturating_sub(from)];
        for row in &self.rows {
            if let Some(slot) = wanted
                .get(row.record.person.id.as_str())
                .and_then(|&k| rows.get_mut(k))
            {
                *slot = Some(row);
            }
        }
        let current = rows.get(meeting.at - from).copied().flatten();
        let tasks = current.map_or_else(Vec::new, |r| {
            self.tasks_of(&r.record.person.id).cloned().collect()
        });
        Some(MeetingView {
            meeting,
            agenda_from: from,
            agenda: rows.into_iter().map(AgendaLine::new).collect(),
            part2_visible: current.is_some_and(|r| self.may_see_part2(&r.record)),
            current: current.cloned(),
            tasks,
            read_only: self.meeting_state().err(),
            look: Look::of(self),
            now: self.now,
        })
    }

    /// The agenda person now on screen, if they are still on the board.
    pub fn meeting_row(&self) -> Option<&BoardRow> {
        let id = &self.meeting.as_ref()?.current()?.person_id;
        self.rows.iter().find(|r| r.record.person.id == *id)
    }

    /// Open tasks of one person, soonest due first.
    pub fn tasks_of<'a>(&'a self, person_id: &'a str) -> impl Iterator<Item = &'a OpenTask> {
        self.tasks.iter().filter(move |t| t.person_id == person_id)
    }

    /// `Some(true)` when one of the person's open tasks is past its day.
    pub fn task_mark(&self, person_id: &str) -> Option<bool> {
        let mut any = None;
        for t in self.tasks_of(person_id) {
            if ms::overdue(t, self.today) {
                return Some(true);
            }
            any = Some(false);
        }
        any
    }

    /// Open tasks owned by the signed-in user.
    pub fn my_task_count(&self) -> usize {
        self.tasks.iter().filter(|t| self.is_mine(t)).count()
    }

    fn is_mine(&self, task: &OpenTask) -> bool {
        let login = self.options.actor.login.trim();
        !login.is_empty() && fold(task.owner.trim()) == fold(login)
    }

    pub(super) fn open_meeting(&mut self) {
        self.dirty = true;
        let items = agenda(&self.rows, &self.options.rules);
        if items.is_empty() {
            self.notice = Some("No one is on today's agenda.".into());
            return;
        }
        let chair = ms::chair(&self.options.user_label, &self.options.actor.login);
        self.meeting = Some(Meeting::new(items, self.now, chair));
        self.screen = Screen::Meeting;
        if self.meeting_state().is_ok() {
            self.effects.push(Effect::LoadOwners);
        }
    }

    pub(super) fn update_meeting(&mut self, action: Action) {
        let now = self.now;
        if self.meeting.is_none() {
            self.screen = Screen::Board;
            self.dirty = true;
            return;
        }
        let key = match action {
            Action::Meeting(key) => key,
            Action::TogglePresentation => return self.toggle_presentation(),
            Action::ToggleHelp => return self.open_help(),
            Action::MoveFirst | Action::MoveLast => {
                let last = action == Action::MoveLast;
                if let Some(m) = self.meeting.as_mut() {
                    let to = if last {
                        m.agenda.len().saturating_sub(1)
                    } else {
                        0
                    };
                    self.dirty |= m.go_to(to, now);
                }
                return;
            }
            Action::PageUp | Action::PageDown => return self.scroll_meeting(action),
            _ => return,
        };
        self.dirty = true;
        match key {
            MeetingKey::Next | MeetingKey::Prev => {
                let forward = key == MeetingKey::Next;
                let moved = self.meeting.as_mut().is_some_and(|m| m.go(forward, now));
                if !moved {
                    self.notice = Some(if forward {
                        "That was the last person on the agenda: E ends the meeting.".into()
                    } else {
                        "This is the first person on the agenda.".into()
                    });
                }
            }
            MeetingKey::Detail => self.meeting_detail(),
            MeetingKey::Leave => {
                if self.meeting_state().is_err() {
                    // Nothing here could ever be stored, so there is nothing to lose.
                    self.close_meeting();
                    return;
                }
                if let Some(form) = self.meeting.as_ref().map(ms::leave_form) {
                    self.push_meeting_form(MeetingForm::Leave, form);
                }
            }
            MeetingKey::Reviewed
            | MeetingKey::ReviewedNext
            | MeetingKey::Decision
            | MeetingKey::Task => {
                if let Err(why) = self.meeting_state() {
                    self.notice = Some(format!("Not recorded: {why}."));
                    return;
                }
                let who = self.meeting_label();
                match key {
                    MeetingKey::ReviewedNext => self.reviewed_next(&who),
                    MeetingKey::Reviewed => {
                        if let Some(m) = self.meeting.as_mut() {
                            let on = m.toggle_reviewed();
                            self.notice = Some(if on {
                                format!("{who}: reviewed.")
                            } else {
                                format!("{who}: not reviewed.")
                            });
                        }
                    }
                    MeetingKey::Decision => {
                        self.push_meeting_form(MeetingForm::Decision, ms::decision_form(&who));
                    }
                    _ => {
                        let form = ms::task_form(&who, self.today);
                        self.push_meeting_form(MeetingForm::Task, form);
                    }
                }
            }
            MeetingKey::Attendees => {
                if let Err(why) = self.meeting_state() {
                    self.notice = Some(format!("Attendees: {why}."));
                    return;
                }
                if let Some(form) = self
                    .meeting
                    .as_ref()
                    .map(|m| ms::attendees_form(&m.attendees))
                {
                    self.push_meeting_form(MeetingForm::Attendees, form);
                }
            }
            MeetingKey::End => self.end_meeting(),
        }
    }

    /// The common path: this person reviewed, and the next one on screen.
    fn reviewed_next(&mut self, who: &str) {
        let now = self.now;
        let Some(m) = self.meeting.as_mut() else {
            return;
        };
        m.mark_reviewed();
        self.notice = Some(if m.go(true, now) {
            format!("{who}: reviewed. Now {} of {}.", m.at + 1, m.agenda.len())
        } else {
            format!("{who}: reviewed. That was the last person on the agenda: E ends the meeting.")
        });
    }

    /// PgUp / PgDn: the person's panel, when it is longer than the screen.
    fn scroll_meeting(&mut self, action: Action) {
        let size = self.size;
        let max = self
            .meeting_view()
            .map_or(0, |v| super::super::view::meeting::max_scroll(&v, size));
        let page = usize::from(size.1.saturating_sub(5)).max(1);
        let Some(m) = self.meeting.as_mut() else {
            return;
        };
        let to = if action == Action::PageDown {
            m.scroll.saturating_add(page)
        } else {
            m.scroll.saturating_sub(page)
        }
        .min(max);
        if to != m.scroll {
            m.scroll = to;
            self.dirty = true;
        }
    }

    /// The person on screen as the meeting names them: the short form on a shared screen.
    fn meeting_label(&self) -> String {
        self.meeting_row().map_or_else(
            || "this person".into(),
            |r| {
                let format = if self.presentation {
                    NameFormat::LastInitial
                } else {
                    self.options.name_format
                };
                format!(
                    "{} ({})",
                    r.record.person.name.formatted(format),
                    r.record.person.booking_id
                )
            },
        )
    }

    fn push_meeting_form(&mut self, kind: MeetingForm, form: Form) {
        let person_id = self
            .meeting
            .as_ref()
            .and_then(|m| m.current())
            .map(|a| a.person_id.clone())
            .unwrap_or_default();
        self.dialogs.push(Dialog::Form(FormDialog {
            kind: FormKind::Meeting(kind),
            person_id,
            version: 0,
            form,
        }));
    }

    /// The detail view of the person on screen; Esc comes back to the meeting.
    fn meeting_detail(&mut self) {
        let Some(id) = self.meeting_row().map(|r| r.record.person.id.clone()) else {
            self.notice = Some("This person is no longer on the board.".into());
            return;
        };
        let visible = self.visible_rows().any(|r| r.record.person.id == id);
        if !visible {
            // The board's filter hides them; the meeting covers everyone.
            self.filter = Default::default();
            self.query.clear();
            self.editing = None;
            self.notice = Some("Filters cleared to show this person.".into());
        }
        self.refilter(Some(&id));
        self.screen = Screen::Detail;
        self.detail_scroll = 0;
        self.note_part2_view();
    }

    pub(super) fn submit_meeting_form(&mut self, kind: MeetingForm) {
        let today = self.today;
        let (Some(Dialog::Form(d)), Some(meeting)) =
            (self.dialogs.last_mut(), self.meeting.as_mut())
        else {
            self.dialogs.pop();
            return;
        };
        let form = &mut d.form;
        let done = match kind {
            MeetingForm::Decision => ms::decision_submit(form).map(|text| {
                meeting.decide(text);
                "Decision recorded (stored when the meeting ends).".to_string()
            }),
            MeetingForm::Task => {
                let owners = meeting.owners.as_deref();
                ms::task_submit(form, &d.person_id, owners, today).map(|task| {
                    let text = format!("Task for {} by {} added.", task.owner, task.due);
                    meeting.add_task(task);
                    text
                })
            }
            MeetingForm::Attendees => ms::attendees_submit(form, &meeting.attendees).map(|list| {
                meeting.attendees = list;
                format!("{} attending.", meeting.attendees.len())
            }),
            MeetingForm::Leave => {
                let choice = ms::leave_submit(form);
                self.dialogs.pop();
                match choice {
                    Leave::Stay => {}
                    Leave::End => self.end_meeting(),
                    Leave::Discard => {
                        self.close_meeting();
                        self.notice = Some("Left the meeting; nothing was stored.".into());
                    }
                }
                return;
            }
        };
        match done {
            Some(text) => {
                self.dialogs.pop();
                self.notice = Some(text);
            }
            None => form.banner = Some(Banner::Invalid),
        }
    }

    /// The idle lock is about to close the session: end the meeting so it is stored, whatever
    /// dialog is open over it.
    pub fn end_meeting_for_lock(&mut self) {
        self.end_meeting();
    }

    /// Quitting (Ctrl+C; `q` is not bound on the meeting screen) while a meeting holds decisions, tasks or reviews stores it first,
    /// as the idle lock does: a meeting's work is never lost to one key. An empty meeting is
    /// not stored, so a stray `M` then `q` does not move the board's "last meeting".
    pub(super) fn store_meeting_on_quit(&mut self) {
        let Some(meeting) = self.meeting.as_ref() else {
            return;
        };
        if meeting.counts() != (0, 0, 0) && self.meeting_state().is_ok() {
            self.end_meeting();
        }
    }

    fn end_meeting(&mut self) {
        if let Err(why) = self.meeting_state() {
            self.notice = Some(format!("The meeting cannot be stored: {why}."));
            return;
        }
        let now = self.now;
        let Some(meeting) = self.meeting.as_mut() else {
            return;
        };
        if meeting.saving {
            return;
        }
        meeting.saving = true;
        let record = meeting.record(now);
        self.effects.push(Effect::RecordMeeting(Box::new(record)));
        self.notice = Some("Storing the meeting...".into());
    }

    fn close_meeting(&mut self) {
        self.meeting = None;
        self.dialogs
            .retain(|d| !matches!(d, Dialog::Form(f) if matches!(f.kind, FormKind::Meeting(_))));
        self.screen = Screen::Board;
        self.scroll_to_selection();
        self.dirty = true;
    }

    pub(super) fn meeting_recorded(&mut self, outcome: Result<DateTime<Utc>, SaveFailure>) {
        self.dirty = true;
        match outcome {
            Ok(ended) => {
                let (reviewed, decisions, tasks) =
                    self.meeting.as_ref().map_or((0, 0, 0), Meeting::counts);
                self.close_meeting();
                // Release-date changes from now on are "since the last meeting".
                self.options.last_meeting = Some(ended);
                self.notice = Some(format!(
                    "Meeting stored: {reviewed} reviewed, {decisions} decision(s), {tasks} \
                     task(s). `reentry-board minutes` prints the minutes."
                ));
            }
            Err(failure) => {
                if let Some(m) = self.meeting.as_mut() {
                    m.saving = false;
                }
                // The meeting stays open with everything in it; the user can try again.
                self.notice = Some(failure.message());
            }
        }
    }

    pub(super) fn tasks_loaded(&mut self, tasks: Result<Vec<OpenTask>, String>) {
        self.dirty = true;
        match tasks {
            Ok(tasks) => {
                self.tasks = tasks;
                let mine: std::collections::HashSet<String> = self
                    .tasks
                    .iter()
                    .filter(|t| self.is_mine(t))
                    .map(|t| t.person_id.clone())
                    .collect();
                if mine != self.my_tasks {
                    self.my_tasks = mine;
                    if self.filter.my_work.is_some() {
                        self.refilter_keeping();
                    }
                }
            }
            Err(e) => self.notice = Some(format!("Could not read the open tasks: {e}")),
        }
    }

    pub(super) fn owners_loaded(&mut self, owners: Result<Vec<String>, String>) {
        let Some(meeting) = self.meeting.as_mut() else {
            return;
        };
        match owners {
            Ok(mut list) => {
                list.sort_by_key(|o| fold(o));
                list.dedup_by_key(|o| fold(o));
                meeting.owners = Some(list);
            }
            Err(e) => {
                self.notice = Some(format!("Could not read the directory: {e}"));
                self.dirty = true;
            }
        }
    }

    /// Fields: 0 which open task is done.
    pub(super) fn complete_task_form(&self, person_id: &str) -> Option<(Form, Vec<i64>)> {
        let record = self
            .rows
            .iter()
            .map(|r| &r.record)
            .find(|r| r.person.id == person_id);
        let hide_part2 = record.is_some_and(|r| !self.may_see_part2(r));
        let open: Vec<&OpenTask> = self.tasks_of(person_id).collect();
        if open.is_empty() {
            return None;
        }
        let labels = open
            .iter()
            .map(|t| {
                let what = ms::safe_text(&t.what, record, self.presentation, hide_part2);
                format!("{what} ({}, by {})", t.owner, t.due)
            })
            .collect();
        Some((
            Form::new("Mark a task done", vec![Field::choice("Task", labels, 0)]).with_info(vec![
                "The task leaves the board and \"my work\"; the audit keeps who closed it.".into(),
            ]),
            open.iter().map(|t| t.id).collect(),
        ))
    }
}

pub(super) fn complete_submit(form: &Form, person_id: &str, ids: &[i64]) -> Option<Command> {
    Some(
        CompleteTask {
            person_id: person_id.to_string(),
            task_id: *ids.get(form.index(0))?,
        }
        .into(),
    )
}
