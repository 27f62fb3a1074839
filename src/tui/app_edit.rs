//! The editing half of [`App`]: opening dialogs (or saying why not), routing keys to the open
//! one, turning a submitted dialog into an [`Effect::Save`], and showing what the store answered.

use super::super::dialog::{
    AuditList, Banner, Checklist, Dialog, Editor, FormDialog, FormKind, Picker, appointments,
    audit, care,
    checklist::{self, Item},
    consent, notes, release, services,
};
use super::super::effect::{AuditScope, Effect, SaveFailure};
use super::App;
use crate::domain::role::{Action as Permission, Context, Grant};
use crate::domain::{BoardRow, ConsentScope, Contact, PersonRecord};
use crate::store::audit_query::AuditFilter;
use crate::store::{AuditEntry, Saved};
use crate::tui::Action;

fn find<'a>(rows: &'a [BoardRow], id: &str) -> Option<&'a PersonRecord> {
    rows.iter().map(|r| &r.record).find(|r| r.person.id == id)
}

fn context(record: Option<&PersonRecord>) -> Context {
    record.map_or_else(Context::default, |r| Context {
        // The user's organisation is not known here; the store decides "own organisation".
        own_organisation: true,
        part2_consent: r.consent.part2,
        consent_names_probation: r.consent.scope == Some(ConsentScope::IncludingProbation),
    })
}

impl App {
    /// How a checklist item is named in a dialog title; a protected medication stays unnamed for
    /// roles that may not see Part 2 details.
    fn item_label(&self, record: &PersonRecord, item: Item) -> String {
        match item {
            Item::Medication(id) => match record.medications.iter().find(|m| m.id == id) {
                Some(m) if m.is_part2() && !self.may_see_part2(record) => {
                    "a protected medication".into()
                }
                Some(m) => m.name.clone(),
                None => "the medication".into(),
            },
            Item::Naloxone => "naloxone".into(),
            Item::Dme(id) => record
                .dme
                .iter()
                .find(|d| d.id == id)
                .map_or_else(|| "the DME item".into(), |d| d.item.clone()),
        }
    }

    /// Whether the signed-in role may use `editor` on the selected person, or why not. The view
    /// greys what this refuses, with the reason; the store checks again on save.
    pub fn editor_state(&self, editor: Editor) -> Result<(), String> {
        if editor.writes() && self.presentation {
            return Err("presentation mode is read-only".into());
        }
        self.permitted(editor.permissions(), self.selected_row().map(|r| &r.record))
    }

    pub(super) fn permitted(
        &self,
        needs: &[Permission],
        record: Option<&PersonRecord>,
    ) -> Result<(), String> {
        let role = self.options.role;
        let ctx = context(record);
        if needs.is_empty()
            || needs
                .iter()
                .any(|p| self.options.permissions.allows(role, *p, ctx))
        {
            return Ok(());
        }
        let what: Vec<&str> = needs.iter().map(|p| p.label()).collect();
        let conditional = needs
            .iter()
            .any(|p| self.options.permissions.grant(role, *p) == Grant::WithConsent);
        Err(format!(
            "the {} role may not do this ({}){}",
            role.label(),
            what.join(" or "),
            if conditional {
                " without the person's consent"
            } else {
                ""
            }
        ))
    }

    pub(super) fn open_editor(&mut self, editor: Editor) {
        self.dirty = true;
        if let Err(why) = self.editor_state(editor) {
            self.notice = Some(format!("{}: {why}", editor.label()));
            return;
        }
        if editor == Editor::SyncPanel {
            self.open_sync_panel();
            return;
        }
        if editor == Editor::GlobalAudit {
            let scope = AuditScope::Global(AuditFilter::default());
            self.effects.push(Effect::LoadAudit(scope.clone()));
            self.dialogs.push(Dialog::Audit(AuditList::new(scope)));
            return;
        }
        let Some(record) = self.selected_row().map(|r| r.record.clone()) else {
            self.notice = Some("select a person first".into());
            return;
        };
        let id = record.person.id.clone();
        let form = |kind: FormKind, form| {
            Dialog::Form(FormDialog {
                kind,
                person_id: id.clone(),
                version: record.version,
                form,
            })
        };
        let window = self.options.rules.change_window_days;
        let dialog = match editor {
            Editor::ReleaseDate => form(FormKind::ReleaseDate, release::change_form(&record)),
            Editor::FlagDate => form(FormKind::FlagDate, release::flag_form(&record)),
            Editor::DecideFlag => match release::decide_form(&record) {
                Some((f, ids)) => form(FormKind::DecideFlag(ids), f),
                None => {
                    self.notice = Some("no open date flag for this person".into());
                    return;
                }
            },
            Editor::Acknowledge => match release::acknowledge_form(&record, window) {
                Some((f, ids)) => form(FormKind::Acknowledge(ids), f),
                None => {
                    self.notice = Some("no date change awaits acknowledgement".into());
                    return;
                }
            },
            Editor::MediCal => form(FormKind::MediCal, care::medi_cal_form(&record)),
            Editor::Screening => form(FormKind::Screening, care::screening_form(&record)),
            Editor::CarePlan => form(FormKind::CarePlan, care::care_plan_form(&record)),
            Editor::WarmHandoff => form(FormKind::WarmHandoff, care::handoff_form(&record)),
            Editor::Consent => form(FormKind::Consent, consent::consent_form(&record)),
            Editor::Appointments => {
                let (f, ids) = appointments::appointment_form(&record);
                form(FormKind::Appointment(ids), f)
            }
            Editor::Transport => form(FormKind::Transport, services::transport_form(&record)),
            Editor::Referrals => {
                let (f, ids) = services::referral_form(&record, self.may_see_part2(&record));
                form(FormKind::Referral(ids), f)
            }
            Editor::Notifications => {
                form(FormKind::Notification, services::notification_form(&record))
            }
            Editor::Barrier => form(FormKind::Barrier, notes::barrier_form()),
            Editor::ResolveBarrier => match notes::resolve_form(&record) {
                Some((f, ids)) => form(FormKind::ResolveBarrier(ids), f),
                None => {
                    self.notice = Some("no open barrier".into());
                    return;
                }
            },
            Editor::Note => form(FormKind::Note, notes::note_form()),
            Editor::Mark => form(FormKind::Mark, notes::mark_form()),
            Editor::CompleteTask => match self.complete_task_form(&id) {
                Some((f, ids)) => form(FormKind::CompleteTask(ids), f),
                None => {
                    self.notice = Some("no open follow-up task for this person".into());
                    return;
                }
            },
            Editor::Checklist => {
                self.note_part2_view();
                Dialog::Checklist(Checklist::new(id.clone()))
            }
            Editor::CareTeam => {
                self.effects.push(Effect::LoadContacts);
                Dialog::Picker(Picker::new(&record))
            }
            Editor::Audit => {
                let scope = AuditScope::Person(id.clone());
                self.effects.push(Effect::LoadAudit(scope.clone()));
                Dialog::Audit(AuditList::new(scope))
            }
            Editor::GlobalAudit | Editor::SyncPanel => return,
        };
        self.dialogs.push(dialog);
    }

    /// Showing someone's Part 2 details is itself audited (the run loop writes the row).
    pub(super) fn note_part2_view(&mut self) {
        let Some(record) = self.selected_row().map(|r| &r.record) else {
            return;
        };
        if record.has_part2() && self.may_see_part2(record) {
            self.effects.push(Effect::RecordPart2View {
                person_id: record.person.id.clone(),
            });
        }
    }

    pub(super) fn update_dialog(&mut self, action: Action) {
        self.dirty = true;
        match self.dialogs.last() {
            Some(Dialog::Form(_)) => self.update_form(action),
            Some(Dialog::Checklist(_)) => self.update_checklist(action),
            Some(Dialog::Picker(_)) => self.update_picker(action),
            Some(Dialog::Audit(_)) => self.update_audit(action),
            Some(Dialog::Sync(_)) => self.update_sync(action),
            None => {}
        }
    }

    fn update_form(&mut self, action: Action) {
        let Some(Dialog::Form(d)) = self.dialogs.last_mut() else {
            return;
        };
        let form = &mut d.form;
        match action {
            Action::FieldNext => form.next_field(),
            Action::FieldPrev => form.prev_field(),
            Action::FieldLeft | Action::FieldRight => self.step_field(action == Action::FieldRight),
            Action::DialogInput(c) => form.input(c),
            Action::DialogBackspace => form.backspace(),
            Action::DialogCancel => {
                self.dialogs.pop();
            }
            Action::DialogReload => self.effects.push(Effect::Reload),
            Action::DialogSubmit if !form.saving => self.submit_form(),
            _ => {}
        }
    }

    /// Left/Right in a form; on a first field that picks an item, the other fields follow it.
    fn step_field(&mut self, forward: bool) {
        let part2 = match self.dialogs.last() {
            Some(Dialog::Form(d)) => {
                find(&self.rows, &d.person_id).is_some_and(|record| self.may_see_part2(record))
            }
            _ => return,
        };
        let Some(Dialog::Form(d)) = self.dialogs.last_mut() else {
            return;
        };
        d.form.step(forward);
        if let (0, Some(record)) = (d.form.focus, find(&self.rows, &d.person_id)) {
            services::refill(&d.kind, &mut d.form, record, part2);
        }
    }

    fn submit_form(&mut self) {
        let today = self.today;
        let Some(Dialog::Form(d)) = self.dialogs.last_mut() else {
            return;
        };
        d.form.clear_errors();
        if let FormKind::Meeting(kind) = d.kind {
            self.submit_meeting_form(kind);
            return;
        }
        if matches!(d.kind, FormKind::DiscardEvent { .. }) {
            self.submit_discard();
            return;
        }
        if d.kind == FormKind::AuditFilter {
            let list = self.dialogs.iter().rev().find_map(|x| match x {
                Dialog::Audit(l) => Some(l.clone()),
                _ => None,
            });
            let (Some(list), Some(Dialog::Form(d))) = (list, self.dialogs.last_mut()) else {
                return;
            };
            if let Some(filter) = audit::filter_submit(&mut d.form, &list) {
                self.dialogs.pop();
                if let Some(Dialog::Audit(l)) = self.dialogs.last_mut() {
                    l.scope = AuditScope::Global(filter.clone());
                    l.entries = None;
                    self.effects
                        .push(Effect::LoadAudit(AuditScope::Global(filter)));
                }
            }
            return;
        }
        let Some(record) = find(&self.rows, &d.person_id) else {
            d.form.banner = Some(Banner::Failed(SaveFailure::Invalid(
                "this person is no longer on the board".into(),
            )));
            return;
        };
        let (id, version, form) = (d.person_id.as_str(), d.version, &mut d.form);
        let command = match &d.kind {
            FormKind::ReleaseDate => release::change_submit(form, id, version, today),
            FormKind::FlagDate => release::flag_submit(form, id, today),
            FormKind::DecideFlag(ids) => release::decide_submit(form, id, version, ids),
            FormKind::Acknowledge(ids) => release::acknowledge_submit(form, id, ids),
            FormKind::MediCal => care::medi_cal_submit(form, id, version),
            FormKind::Screening => care::screening_submit(form, record, version),
            FormKind::CarePlan => care::care_plan_submit(form, id, version),
            FormKind::WarmHandoff => care::handoff_submit(form, record, version, today),
            FormKind::Consent => consent::consent_submit(form, record, version, today),
            FormKind::Appointment(ids) => {
                appointments::appointment_submit(form, record, version, ids, today)
            }
            FormKind::Transport => services::transport_submit(form, id, version),
            FormKind::Referral(ids) => services::referral_submit(form, record, version, ids),
            FormKind::Notification => services::notification_submit(form, record, version),
            FormKind::Barrier => notes::barrier_submit(form, id),
            FormKind::ResolveBarrier(ids) => notes::resolve_submit(form, id, ids),
            FormKind::Note => notes::note_submit(form, id),
            FormKind::Mark => notes::mark_submit(form, id),
            FormKind::AddItem => checklist::add_submit(form, id),
            FormKind::RemoveMedication { id: item, version } => {
                checklist::remove_submit(form, id, Item::Medication(*item), *version)
            }
            FormKind::RemoveDme { id: item, version } => {
                checklist::remove_submit(form, id, Item::Dme(*item), *version)
            }
            FormKind::StepBack { item, to, version } => {
                checklist::step_back_submit(form, id, *item, *to, *version)
            }
            FormKind::CompleteTask(ids) => super::meeting::complete_submit(form, id, ids),
            FormKind::AuditFilter | FormKind::DiscardEvent { .. } | FormKind::Meeting(_) => None,
        };
        match command {
            Some(command) => {
                form.saving = true;
                self.effects.push(Effect::Save(command));
            }
            None => form.banner = Some(Banner::Invalid),
        }
    }

    fn update_checklist(&mut self, action: Action) {
        let Some(Dialog::Checklist(c)) = self.dialogs.last_mut() else {
            return;
        };
        let Some(record) = find(&self.rows, &c.person_id) else {
            self.dialogs.pop();
            return;
        };
        match action {
            Action::MoveUp => c.move_cursor(record, false),
            Action::MoveDown => c.move_cursor(record, true),
            Action::MoveFirst => c.cursor = 0,
            Action::MoveLast => c.cursor = checklist::items(record).len().saturating_sub(1),
            Action::StatusPrev => c.step(record, false),
            Action::StatusNext => c.step(record, true),
            Action::Back if c.pending.is_some() => c.pending = None,
            Action::Back => {
                self.dialogs.pop();
            }
            Action::DialogReload => self.effects.push(Effect::Reload),
            Action::ConfirmItem if !c.saving => {
                let Some((item, _)) = c.current(record) else {
                    return;
                };
                let need = match item {
                    Item::Dme(_) => Permission::ConfirmDme,
                    Item::Medication(_) | Item::Naloxone => Permission::ConfirmMedication,
                };
                let record = record.clone();
                if let Err(why) = self.permitted(&[need], Some(&record)) {
                    self.notice = Some(why);
                    return;
                }
                let Some(Dialog::Checklist(c)) = self.dialogs.last_mut() else {
                    return;
                };
                match c.confirm(&record) {
                    Some(checklist::Confirm::Save(command)) => {
                        c.saving = true;
                        c.banner = None;
                        self.effects.push(Effect::Save(command));
                    }
                    Some(checklist::Confirm::NeedsReason { item, to, version }) => {
                        // The reason dialog saves it; what is pending here would be stale after.
                        c.pending = None;
                        let what = self.item_label(&record, item);
                        self.dialogs.push(Dialog::Form(FormDialog {
                            kind: FormKind::StepBack { item, to, version },
                            person_id: record.person.id.clone(),
                            version: record.version,
                            form: checklist::step_back_form(&what, to),
                        }));
                    }
                    None => {}
                }
            }
            Action::ItemAdd => {
                let id = c.person_id.clone();
                let version = record.version;
                let needs = [Permission::ConfirmMedication, Permission::ConfirmDme];
                let record = record.clone();
                if let Err(why) = self.permitted(&needs, Some(&record)) {
                    self.notice = Some(why);
                    return;
                }
                self.dialogs.push(Dialog::Form(FormDialog {
                    kind: FormKind::AddItem,
                    person_id: id,
                    version,
                    form: checklist::add_form(),
                }));
            }
            Action::ItemRemove => {
                let Some((item, _)) = c.current(record) else {
                    return;
                };
                let (need, kind) = match (item, checklist::version_of(record, item)) {
                    (Item::Medication(id), Some(version)) => (
                        Permission::ConfirmMedication,
                        FormKind::RemoveMedication { id, version },
                    ),
                    (Item::Dme(id), Some(version)) => {
                        (Permission::ConfirmDme, FormKind::RemoveDme { id, version })
                    }
                    _ => {
                        self.notice = Some("move to a medication or DME item to remove it".into());
                        return;
                    }
                };
                let (id, version) = (c.person_id.clone(), record.version);
                let record = record.clone();
                if let Err(why) = self.permitted(&[need], Some(&record)) {
                    self.notice = Some(why);
                    return;
                }
                let what = self.item_label(&record, item);
                self.dialogs.push(Dialog::Form(FormDialog {
                    kind,
                    person_id: id,
                    version,
                    form: checklist::remove_form(&what),
                }));
            }
            Action::NextPerson | Action::PrevPerson => {
                let forward = action == Action::NextPerson;
                let at = self.selected;
                let to = if forward {
                    at.saturating_add(1)
                } else {
                    at.saturating_sub(1)
                };
                self.select(to);
                if self.selected == at {
                    self.notice = Some(if forward {
                        "that was the last person in the list".into()
                    } else {
                        "this is the first person in the list".into()
                    });
                    return;
                }
                let Some(id) = self.selected_id().map(str::to_owned) else {
                    return;
                };
                if let Some(Dialog::Checklist(c)) = self.dialogs.last_mut() {
                    *c = Checklist::new(id);
                }
                self.note_part2_view();
            }
            Action::ToggleHelp => self.open_help(),
            _ => {}
        }
    }

    fn update_picker(&mut self, action: Action) {
        let Some(Dialog::Picker(p)) = self.dialogs.last_mut() else {
            return;
        };
        match action {
            Action::FieldNext => p.move_cursor(true),
            Action::FieldPrev => p.move_cursor(false),
            Action::FieldLeft => p.next_slot(false),
            Action::FieldRight => p.next_slot(true),
            Action::DialogInput(c) => p.type_char(c),
            Action::DialogBackspace => p.backspace(),
            Action::DialogCancel => {
                self.dialogs.pop();
            }
            Action::DialogReload => self.effects.push(Effect::Reload),
            Action::DialogSubmit | Action::DialogClear if !p.saving => {
                let command = if action == Action::DialogClear {
                    Some(p.clear())
                } else {
                    p.assign()
                };
                match command {
                    Some(command) => {
                        p.saving = true;
                        p.banner = None;
                        self.effects.push(Effect::Save(command));
                    }
                    None => {
                        p.banner = Some(Banner::Failed(SaveFailure::Invalid(
                            "no contact in the directory matches; change the search".into(),
                        )));
                    }
                }
            }
            _ => {}
        }
    }

    fn update_audit(&mut self, action: Action) {
        let page = usize::from(self.size.1.saturating_sub(5)).max(1);
        let Some(Dialog::Audit(list)) = self.dialogs.last_mut() else {
            return;
        };
        let max = list
            .entries
            .as_ref()
            .map_or(0, |e| e.len().saturating_sub(1));
        list.scroll = match action {
            Action::MoveUp => list.scroll.saturating_sub(1),
            Action::MoveDown => list.scroll.saturating_add(1),
            Action::PageUp => list.scroll.saturating_sub(page),
            Action::PageDown => list.scroll.saturating_add(page),
            Action::MoveFirst => 0,
            Action::MoveLast => max,
            Action::Back => {
                self.dialogs.pop();
                return;
            }
            Action::AuditFilter if list.filter().is_some() => {
                let form = audit::filter_form(list);
                self.dialogs.push(Dialog::Form(FormDialog {
                    kind: FormKind::AuditFilter,
                    person_id: String::new(),
                    version: 0,
                    form,
                }));
                return;
            }
            Action::ToggleHelp => {
                self.open_help();
                return;
            }
            _ => return,
        }
        .min(max);
    }

    pub(super) fn saved(&mut self, saved: Saved) {
        self.dirty = true;
        self.own_saves.insert(saved.person_id.clone());
        match self.dialogs.last_mut() {
            Some(Dialog::Form(d)) => {
                let title = d.form.title.clone();
                self.dialogs.pop();
                self.notice = Some(format!("Saved: {}.", title.to_lowercase()));
            }
            Some(Dialog::Checklist(c)) => {
                c.saving = false;
                c.pending = None;
                c.banner = None;
                self.notice = Some("Saved.".into());
            }
            Some(Dialog::Picker(p)) => {
                p.saving = false;
                p.banner = None;
                p.version = saved.version;
                self.notice = Some(format!("Saved: {}.", p.slot.label()));
            }
            _ => self.notice = Some("Saved.".into()),
        }
    }

    pub(super) fn save_failed(&mut self, failure: SaveFailure) {
        self.dirty = true;
        match self.dialogs.last_mut() {
            Some(Dialog::Form(d)) => {
                d.form.saving = false;
                d.form.banner = Some(Banner::Failed(failure));
            }
            Some(Dialog::Checklist(c)) => {
                c.saving = false;
                c.banner = Some(Banner::Failed(failure));
            }
            Some(Dialog::Picker(p)) => {
                p.saving = false;
                p.banner = Some(Banner::Failed(failure));
            }
            _ => self.notice = Some(failure.message()),
        }
    }

    pub(super) fn contacts_loaded(&mut self, contacts: Result<Vec<Contact>, String>) {
        self.dirty = true;
        for d in &mut self.dialogs {
            if let Dialog::Picker(p) = d {
                match &contacts {
                    Ok(c) => p.contacts = Some(c.clone()),
                    Err(e) => {
                        p.banner = Some(Banner::Failed(SaveFailure::Failed(e.clone())));
                    }
                }
            }
        }
    }

    pub(super) fn audit_loaded(&mut self, entries: Result<Vec<AuditEntry>, String>) {
        self.dirty = true;
        if let Some(list) = self.dialogs.iter_mut().rev().find_map(|d| match d {
            Dialog::Audit(l) => Some(l),
            _ => None,
        }) {
            match entries {
                Ok(e) => list.loaded(e),
                Err(e) => list.error = Some(e),
            }
        }
    }

    /// After new data arrived: a dialog that hit a conflict takes the new versions, keeping what
    /// the user typed, so a second Enter saves on top of what is really there now.
    pub(super) fn after_reload(&mut self) {
        let rows = &self.rows;
        for dialog in &mut self.dialogs {
            match dialog {
                Dialog::Form(d) => {
                    if matches!(
                        d.form.banner,
                        Some(Banner::Failed(SaveFailure::Conflict { .. }))
                    ) {
                        if let Some(record) = find(rows, &d.person_id) {
                            d.version = record.version;
                            if d.kind == FormKind::ReleaseDate {
                                d.form.info = release::change_form(record).info;
                            }
                            if let FormKind::RemoveMedication { id, version } = &mut d.kind {
                                if let Some(m) = record.medications.iter().find(|m| m.id == *id) {
                                    *version = m.version;
                                }
                            }
                            if let FormKind::RemoveDme { id, version } = &mut d.kind {
                                if let Some(i) = record.dme.iter().find(|i| i.id == *id) {
                                    *version = i.version;
                                }
                            }
                            if let FormKind::StepBack { item, version, .. } = &mut d.kind {
                                *version = checklist::version_of(record, *item).unwrap_or(*version);
                            }
                            d.form.banner = Some(Banner::Reloaded);
                        }
                    }
                }
                Dialog::Checklist(c) => {
                    let conflict =
                        matches!(c.banner, Some(Banner::Failed(SaveFailure::Conflict { .. })));
                    if let (true, Some(record)) = (conflict, find(rows, &c.person_id)) {
                        if let Some(p) = &mut c.pending {
                            p.version = checklist::version_of(record, p.item).unwrap_or(p.version);
                        }
                        c.banner = Some(Banner::Reloaded);
                    }
                }
                Dialog::Picker(p) => {
                    let conflict =
                        matches!(p.banner, Some(Banner::Failed(SaveFailure::Conflict { .. })));
                    if let (true, Some(record)) = (conflict, find(rows, &p.person_id)) {
                        p.version = record.version;
                        p.banner = Some(Banner::Reloaded);
                    }
                }
                Dialog::Audit(_) | Dialog::Sync(_) => {}
            }
        }
    }
}
