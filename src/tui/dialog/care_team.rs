//! The care-team picker: one slot at a time (pre-release CM, post-release ECM, probation officer,
//! behavioral-health link), type to search the directory, each contact with their caseload.

use super::form::Banner;
use crate::domain::filter::fold;
use crate::domain::{BoardRow, Contact, ContactKind, PersonRecord};
use crate::store::{AssignCareTeam, Command};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub person_id: String,
    /// The person version read when the picker opened.
    pub version: i64,
    pub slot: ContactKind,
    pub query: String,
    pub cursor: usize,
    /// `None` until the directory has loaded.
    pub contacts: Option<Vec<Contact>>,
    pub banner: Option<Banner>,
    pub saving: bool,
}

pub fn assigned(record: &PersonRecord, slot: ContactKind) -> Option<&Contact> {
    let t = &record.care_team;
    match slot {
        ContactKind::PreReleaseCm => t.pre_release_cm.as_deref(),
        ContactKind::EcmProvider => t.post_release_ecm.as_deref(),
        ContactKind::ProbationOfficer => t.probation_officer.as_deref(),
        ContactKind::BehavioralHealth => t.behavioral_health.as_deref(),
    }
}

/// How many people on the board have `contact` in `slot`.
pub fn caseload(rows: &[BoardRow], slot: ContactKind, contact_id: &str) -> usize {
    rows.iter()
        .filter(|r| assigned(&r.record, slot).is_some_and(|c| c.id == contact_id))
        .count()
}

impl Picker {
    pub fn new(record: &PersonRecord) -> Self {
        Self {
            person_id: record.person.id.clone(),
            version: record.version,
            slot: ContactKind::PreReleaseCm,
            query: String::new(),
            cursor: 0,
            contacts: None,
            banner: None,
            saving: false,
        }
    }

    /// The directory entries for this slot that match the search, by name.
    pub fn matches(&self) -> Vec<&Contact> {
        let query = fold(self.query.trim());
        let mut out: Vec<&Contact> = self
            .contacts
            .iter()
            .flatten()
            .filter(|c| c.kind == self.slot)
            .filter(|c| {
                query.is_empty()
                    || fold(&c.name).contains(&query)
                    || fold(&c.organisation).contains(&query)
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    pub fn next_slot(&mut self, forward: bool) {
        let all: Vec<ContactKind> = ContactKind::all().collect();
        let n = all.len();
        let i = all.iter().position(|k| *k == self.slot).unwrap_or(0);
        let j = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.slot = all.get(j).copied().unwrap_or(self.slot);
        self.cursor = 0;
        self.banner = None;
    }

    pub fn move_cursor(&mut self, down: bool) {
        let n = self.matches().len();
        self.cursor = if down {
            (self.cursor + 1).min(n.saturating_sub(1))
        } else {
            self.cursor.saturating_sub(1)
        };
    }

    pub fn type_char(&mut self, c: char) {
        self.query.push(c);
        self.cursor = 0;
    }

    pub fn backspace(&mut self) {
        self.query.pop();
        self.cursor = 0;
    }

    /// Enter: the highlighted contact into the slot. `None` when nothing matches.
    pub fn assign(&self) -> Option<Command> {
        let contact = self.matches().get(self.cursor).map(|c| c.id.clone())?;
        Some(self.command(Some(contact)))
    }

    pub fn clear(&self) -> Command {
        self.command(None)
    }

    fn command(&self, contact_id: Option<String>) -> Command {
        AssignCareTeam {
            person_id: self.person_id.clone(),
            version: self.version,
            slot: self.slot,
            contact_id,
        }
        .into()
    }
}
