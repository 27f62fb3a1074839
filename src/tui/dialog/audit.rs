//! The audit views: one person's trail, and (for coordinators) the whole log with a filter by
//! user, date and kind.

use super::form::{Field, Form, parse_date};
use crate::store::AuditEntry;
use crate::store::audit_query::AuditFilter;
use crate::tui::effect::AuditScope;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditList {
    pub scope: AuditScope,
    /// `None` while loading.
    pub entries: Option<Vec<AuditEntry>>,
    pub error: Option<String>,
    pub scroll: usize,
    /// The users and kinds seen in the unfiltered log, for the filter's choices.
    pub actors: Vec<String>,
    pub kinds: Vec<String>,
}

impl AuditList {
    pub fn new(scope: AuditScope) -> Self {
        Self {
            scope,
            entries: None,
            error: None,
            scroll: 0,
            actors: Vec::new(),
            kinds: Vec::new(),
        }
    }

    pub fn loaded(&mut self, entries: Vec<AuditEntry>) {
        if self.actors.is_empty() && self.kinds.is_empty() {
            let mut actors: Vec<String> = entries.iter().map(|e| e.actor.clone()).collect();
            let mut kinds: Vec<String> = entries.iter().map(|e| e.kind.clone()).collect();
            actors.sort();
            actors.dedup();
            kinds.sort();
            kinds.dedup();
            self.actors = actors;
            self.kinds = kinds;
        }
        self.entries = Some(entries);
        self.error = None;
        self.scroll = 0;
    }

    pub fn filter(&self) -> Option<&AuditFilter> {
        match &self.scope {
            AuditScope::Global(f) => Some(f),
            AuditScope::Person(_) => None,
        }
    }
}

/// Fields: 0 user, 1 kind, 2 from, 3 to.
pub fn filter_form(list: &AuditList) -> Form {
    let current = list.filter().cloned().unwrap_or_default();
    let mut users = vec!["everyone".to_string()];
    users.extend(list.actors.iter().cloned());
    let mut kinds = vec!["every kind".to_string()];
    kinds.extend(list.kinds.iter().cloned());
    let at = |all: &[String], v: &Option<String>| {
        v.as_ref()
            .and_then(|v| all.iter().position(|a| a == v))
            .unwrap_or(0)
    };
    let (u, k) = (at(&users, &current.actor), at(&kinds, &current.kind));
    Form::new(
        "Filter the audit log",
        vec![
            Field::choice("User", users, u),
            Field::choice("Kind", kinds, k),
            Field::text(
                "From",
                current.from.map(|d| d.to_string()).unwrap_or_default(),
                "YYYY-MM-DD, empty = any",
            ),
            Field::text(
                "To",
                current.to.map(|d| d.to_string()).unwrap_or_default(),
                "YYYY-MM-DD, empty = any",
            ),
        ],
    )
}

pub fn filter_submit(form: &mut Form, list: &AuditList) -> Option<AuditFilter> {
    let mut date = |i: usize| match parse_date(form.text(i)) {
        Ok(d) => d,
        Err(e) => {
            form.set_error(i, e);
            None
        }
    };
    let (from, to) = (date(2), date(3));
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            form.set_error(3, "the end is before the start");
        }
    }
    if form.has_errors() {
        return None;
    }
    Some(AuditFilter {
        actor: form
            .index(0)
            .checked_sub(1)
            .and_then(|i| list.actors.get(i).cloned()),
        kind: form
            .index(1)
            .checked_sub(1)
            .and_then(|i| list.kinds.get(i).cloned()),
        from,
        to,
        limit: 0,
    })
}
