//! The medications, naloxone and DME checklist of one person. Each item moves through its
//! statuses with ←→ (a pending change, shown but not saved) and Enter confirms it; a step that
//! skips a required one is refused before anything is saved.

use super::form::{Banner, Field, Form, options, parse_date, pick};
use crate::domain::{DmeStatus, MedClass, NaloxoneStatus, PersonRecord, SupplyStatus};
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

/// Forward moves along the main path may not skip a step; corrections backwards and the side
/// exits (Rx sent, refused, not needed) are always allowed.
pub fn check_step(from: Status, to: Status) -> Result<(), String> {
    let skip = |path: &[&'static str], from: Option<usize>, to: Option<usize>| match (from, to) {
        (Some(f), Some(t)) if t > f + 1 => Err(format!(
            "{} → {} skips \"{}\"",
            path.get(f).copied().unwrap_or(""),
            path.get(t).copied().unwrap_or(""),
            path.get(f + 1).copied().unwrap_or("")
        )),
        (None, Some(t)) if t > 1 => Err(format!(
            "back on the path it starts again at \"{}\"",
            path.get(1).copied().unwrap_or("")
        )),
        _ => Ok(()),
    };
    match (from, to) {
        (Status::Supply(f), Status::Supply(t)) => {
            use SupplyStatus as S;
            let path = [S::ToOrder, S::Ordered, S::Ready, S::GivenInHand];
            let labels: Vec<&'static str> = path.iter().map(|s| s.label()).collect();
            let at = |s: S| path.iter().position(|p| *p == s);
            skip(&labels, at(f), at(t))
        }
        (Status::Dme(f), Status::Dme(t)) => {
            use DmeStatus as D;
            let path = [D::Identified, D::Ordered, D::Ready, D::Delivered];
            let labels: Vec<&'static str> = path.iter().map(|s| s.label()).collect();
            let at = |s: D| path.iter().position(|p| *p == s);
            skip(&labels, at(f), at(t))
        }
        _ => Ok(()),
    }
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

    /// Enter: the command for the pending change, when it is allowed.
    pub fn confirm(&mut self, record: &PersonRecord) -> Option<Command> {
        let (item, now) = self.current(record)?;
        let pending = self.pending.as_mut().filter(|p| p.item == item)?;
        if let Err(e) = check_step(now, pending.to) {
            pending.error = Some(e);
            return None;
        }
        let person_id = record.person.id.clone();
        let version = pending.version;
        Some(match (item, pending.to) {
            (Item::Medication(id), Status::Supply(supply)) => SetMedicationSupply {
                person_id,
                medication_id: id,
                version,
                supply,
            }
            .into(),
            (Item::Dme(id), Status::Dme(status)) => SetDmeStatus {
                person_id,
                dme_id: id,
                version,
                status,
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

pub fn remove_submit(form: &mut Form, person_id: &str, id: i64, version: i64) -> Option<Command> {
    let reason = form.text(0).trim().to_string();
    if reason.is_empty() {
        form.set_error(0, "say why it is removed");
        return None;
    }
    Some(
        crate::store::RemoveMedication {
            person_id: person_id.to_string(),
            medication_id: id,
            version,
            reason,
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_may_not_skip() {
        use SupplyStatus as S;
        let s = Status::Supply;
        assert!(check_step(s(S::ToOrder), s(S::Ordered)).is_ok());
        assert_eq!(
            check_step(s(S::ToOrder), s(S::Ready)),
            Err("to order → ready skips \"ordered\"".into())
        );
        assert!(
            check_step(s(S::Ready), s(S::ToOrder)).is_ok(),
            "corrections back"
        );
        assert!(
            check_step(s(S::ToOrder), s(S::Refused)).is_ok(),
            "side exits"
        );
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
