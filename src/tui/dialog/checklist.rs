//! The medications, naloxone and DME checklist of one person. Each item moves through its
//! statuses with ←→ (a pending change, shown but not saved) and Enter confirms it; a step that
//! skips a required one is refused before anything is saved.

use super::form::{Banner, Field, Form, options, parse_date, pick};
use crate::domain::{DmeStatus, MedClass, NaloxoneStatus, PersonRecord, Step, SupplyStatus};
use crate::store::{
    AddDme, AddMedication, Command, SetDmeStatus, SetMedicationSupply, SetNaloxone,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Medication(i64),
    Naloxone,
    Dme(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Supply(SupplyStatus),
    Naloxone(Option<NaloxoneStatus>),
    Dme(DmeStatus),
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Self::Supply(s) => s.label(),
            Self::Naloxone(Some(n)) => n.label(),
            Self::Naloxone(None) => "not yet offered",
            Self::Dme(d) => d.label(),
        }
    }

    /// The next (or previous) status in the item's list, wrapping.
    fn step(self, forward: bool) -> Self {
        fn cycle<T: Copy + PartialEq>(all: &[T], at: T, forward: bool) -> T {
            let n = all.len();
            let i = all.iter().position(|x| *x == at).unwrap_or(0);
            let j = if forward {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            all.get(j).copied().unwrap_or(at)
        }
        match self {
            Self::Supply(s) => {
                let all: Vec<_> = SupplyStatus::all().collect();
                Self::Supply(cycle(&all, s, forward))
            }
            Self::Naloxone(n) => {
                let mut all: Vec<Option<NaloxoneStatus>> = vec![None];
                all.extend(NaloxoneStatus::all().map(Some));
                Self::Naloxone(cycle(&all, n, forward))
            }
            Self::Dme(d) => {
                let all: Vec<_> = DmeStatus::all().collect();
                Self::Dme(cycle(&all, d, forward))
            }
        }
    }
}

/// Whether `from` may become `to`, by the domain's status paths: `Ok(true)` when the change
/// undoes a confirmed step and so needs a reason.
pub fn check_step(from: Status, to: Status) -> Result<bool, String> {
    let step = match (from, to) {
        _ if from == to => return Ok(false),
        (Status::Supply(f), Status::Supply(t)) => f.step_to(t),
        (Status::Dme(f), Status::Dme(t)) => f.step_to(t),
        _ => return Ok(false),
    };
    step.map(|s| s == Step::Back).map_err(|e| e.to_string())
}

/// The items in checklist order: medications, naloxone, DME.
pub fn items(record: &PersonRecord) -> Vec<(Item, Status)> {
    let mut out: Vec<(Item, Status)> = record
        .medications
        .iter()
        .map(|m| (Item::Medication(m.id), Status::Supply(m.supply)))
        .collect();
    out.push((Item::Naloxone, Status::Naloxone(record.naloxone)));
    out.extend(
        record
            .dme
            .iter()
            .map(|d| (Item::Dme(d.id), Status::Dme(d.status))),
    );
    out
}

/// The version an edit of `item` names: the item's own row, or the person for naloxone.
pub fn version_of(record: &PersonRecord, item: Item) -> Option<i64> {
    match item {
        Item::Medication(id) => record
            .medications
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.version),
        Item::Dme(id) => record.dme.iter().find(|d| d.id == id).map(|d| d.version),
        Item::Naloxone => Some(record.version),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub item: Item,
    pub to: Status,
    /// The version shown when the change began: a save names it, so nobody's later change is
    /// overwritten.
    pub version: i64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checklist {
    pub person_id: String,
    pub cursor: usize,
    pub pending: Option<Pending>,
    pub banner: Option<Banner>,
    pub saving: bool,
}

impl Checklist {
    pub fn new(person_id: impl Into<String>) -> Self {
        Self {
            person_id: person_id.into(),
            cursor: 0,
            pending: None,
            banner: None,
            saving: false,
        }
    }

    pub fn current(&self, record: &PersonRecord) -> Option<(Item, Status)> {
        let all = items(record);
        all.get(self.cursor.min(all.len().saturating_sub(1)))
            .copied()
    }

    pub fn move_cursor(&mut self, record: &PersonRecord, down: bool) {
        let n = items(record).len();
        self.cursor = if down {
            (self.cursor + 1).min(n.saturating_sub(1))
        } else {
            self.cursor.saturating_sub(1)
        };
        self.pending = None;
    }

    /// ←→ on the current item: a new pending status, checked as it is shown.
    pub fn step(&mut self, record: &PersonRecord, forward: bool) {
        let Some((item, now)) = self.current(record) else {
            return;
        };
        let pending = match self.pending.take() {
            Some(p) if p.item == item => p,
            _ => Pending {
                item,
                to: now,
                version: version_of(record, item).unwrap_or(0),
                error: None,
            },
        };
        let to = pending.to.step(forward);
        self.banner = None;
        self.pending = Some(Pending {
            to,
            error: check_step(now, to).err(),
            ..pending
        });
    }

    /// Enter: what the pending change needs before it can be saved.
    pub fn confirm(&mut self, record: &PersonRecord) -> Option<Confirm> {
        let (item, now) = self.current(record)?;
        let pending = self.pending.as_mut().filter(|p| p.item == item)?;
        match check_step(now, pending.to) {
            Err(e) => {
                pending.error = Some(e);
                None
            }
            Ok(_) if pending.to == now => None,
            Ok(true) => Some(Confirm::NeedsReason {
                item,
                to: pending.to,
                version: pending.version,
            }),
            Ok(false) => command_for(&record.person.id, item, pending.to, pending.version, "")
                .map(Confirm::Save),
        }
    }
}

/// What Enter on a pending checklist change leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirm {
    Save(Command),
    /// Going back undoes someone's confirmation: ask why first.
    NeedsReason {
        item: Item,
        to: Status,
        version: i64,
    },
}

/// The store command that sets `item` to `to`; `reason` explains a step back.
pub fn command_for(
    person_id: &str,
    item: Item,
    to: Status,
    version: i64,
    reason: &str,
) -> Option<Command> {
    let person_id = person_id.to_string();
    let reason = reason.to_string();
    Some(match (item, to) {
        (Item::Medication(id), Status::Supply(supply)) => SetMedicationSupply {
            person_id,
            medication_id: id,
            version,
            supply,
            reason,
        }
        .into(),
        (Item::Dme(id), Status::Dme(status)) => SetDmeStatus {
            person_id,
            dme_id: id,
            version,
            status,
            reason,
        }
        .into(),
        (Item::Naloxone, Status::Naloxone(status)) => SetNaloxone {
            person_id,
            version,
            status,
        }
        .into(),
        _ => return None,
    })
}

/// Fields: 0 reason.
pub fn step_back_form(what: &str, to: Status) -> Form {
    Form::new(
        format!("Set {what} back to \"{}\"", to.label()),
        vec![Field::text(
            "Reason",
            "",
            "required: it undoes a confirmation",
        )],
    )
}

pub fn step_back_submit(
    form: &mut Form,
    person_id: &str,
    item: Item,
    to: Status,
    version: i64,
) -> Option<Command> {
    let reason = form.text(0).trim().to_string();
    if reason.is_empty() {
        form.set_error(0, "say why it goes back");
        return None;
    }
    command_for(person_id, item, to, version, &reason)
}

/// Fields: 0 kind, 1 name, 2 class, 3 long-acting injectable, 4 next dose.
pub fn add_form() -> Form {
    Form::new(
        "Add a medication or DME item",
        vec![
            Field::choice("Kind", vec!["medication".into(), "DME item".into()], 0),
            Field::text("Name / item", "", ""),
            Field::choice("Class", options(MedClass::all(), MedClass::label), 0),
            Field::toggle("Long-acting injectable", false),
            Field::text("Next dose", "", "YYYY-MM-DD, injectables"),
        ],
    )
}

pub fn add_submit(form: &mut Form, person_id: &str) -> Option<Command> {
    let name = form.text(1).trim().to_string();
    if name.is_empty() {
        form.set_error(1, "name the medication or item");
        return None;
    }
    if form.index(0) == 1 {
        return Some(
            AddDme {
                person_id: person_id.to_string(),
                item: name,
                status: DmeStatus::Identified,
            }
            .into(),
        );
    }
    let next_dose = match parse_date(form.text(4)) {
        Ok(d) => d,
        Err(e) => {
            form.set_error(4, e);
            return None;
        }
    };
    Some(
        AddMedication {
            person_id: person_id.to_string(),
            name,
            class: pick(MedClass::all(), form.index(2), false)?,
            long_acting_injectable: form.on(3),
            next_dose,
            supply: SupplyStatus::ToOrder,
        }
        .into(),
    )
}

/// Fields: 0 reason.
pub fn remove_form(what: &str) -> Form {
    Form::new(
        format!("Remove {what}"),
        vec![Field::text("Reason", "", "required")],
    )
}

/// A medication or DME item taken out (entered by mistake); the reason goes to the audit row.
pub fn remove_submit(
    form: &mut Form,
    person_id: &str,
    item: Item,
    version: i64,
) -> Option<Command> {
    let reason = form.text(0).trim().to_string();
    if reason.is_empty() {
        form.set_error(0, "say why it is removed");
        return None;
    }
    let person_id = person_id.to_string();
    match item {
        Item::Medication(id) => Some(
            crate::store::RemoveMedication {
                person_id,
                medication_id: id,
                version,
                reason,
            }
            .into(),
        ),
        Item::Dme(id) => Some(
            crate::store::RemoveDme {
                person_id,
                dme_id: id,
                version,
                reason,
            }
            .into(),
        ),
        Item::Naloxone => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_the_domain_paths() {
        use SupplyStatus as S;
        let s = Status::Supply;
        assert_eq!(check_step(s(S::ToOrder), s(S::Ordered)), Ok(false));
        assert_eq!(
            check_step(s(S::ToOrder), s(S::Ready)),
            Err("\"to order\" cannot go to \"ready\" without \"ordered\" first".into())
        );
        assert_eq!(
            check_step(s(S::Ready), s(S::Ordered)),
            Ok(true),
            "back one step"
        );
        assert!(
            check_step(s(S::Ready), s(S::ToOrder)).is_err(),
            "one at a time"
        );
        assert_eq!(check_step(s(S::ToOrder), s(S::Refused)), Ok(false));
        assert_eq!(check_step(s(S::Refused), s(S::ToOrder)), Ok(true), "reopen");
        assert!(check_step(s(S::Refused), s(S::Ready)).is_err());
        assert!(
            check_step(
                Status::Dme(DmeStatus::Identified),
                Status::Dme(DmeStatus::Delivered)
            )
            .is_err()
        );
    }
}
