//! The form every small edit dialog is made of: a column of fields (text, date, choice, toggle,
//! multi-select), each with its own error line, and a banner for what the store said.

use chrono::NaiveDate;

use crate::tui::effect::SaveFailure;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Choice {
        options: Vec<String>,
        index: usize,
    },
    Toggle(bool),
    Multi {
        options: Vec<String>,
        chosen: Vec<bool>,
        cursor: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub label: &'static str,
    pub value: Value,
    /// Shown next to the field until the value changes.
    pub error: Option<String>,
    /// A hint after the value, e.g. `YYYY-MM-DD, empty = unknown`.
    pub hint: &'static str,
}

impl Field {
    pub fn text(label: &'static str, value: impl Into<String>, hint: &'static str) -> Self {
        Self {
            label,
            value: Value::Text(value.into()),
            error: None,
            hint,
        }
    }

    pub fn choice(label: &'static str, options: Vec<String>, index: usize) -> Self {
        Self {
            label,
            value: Value::Choice { options, index },
            error: None,
            hint: "",
        }
    }

    pub fn toggle(label: &'static str, on: bool) -> Self {
        Self {
            label,
            value: Value::Toggle(on),
            error: None,
            hint: "Space toggles",
        }
    }

    pub fn multi(label: &'static str, options: Vec<String>, chosen: Vec<bool>) -> Self {
        Self {
            label,
            value: Value::Multi {
                options,
                chosen,
                cursor: 0,
            },
            error: None,
            hint: "←→ pick, Space toggles",
        }
    }
}

/// What the banner at the bottom of a dialog says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Banner {
    /// The dialog has errors next to its fields.
    Invalid,
    Failed(SaveFailure),
    /// Reloaded after a conflict: the user's input is kept and checked against the new data.
    Reloaded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub title: String,
    /// Read-only lines above the fields (current value, history, rules that apply).
    pub info: Vec<String>,
    pub fields: Vec<Field>,
    pub focus: usize,
    pub banner: Option<Banner>,
    /// A save is on its way; a second Enter does nothing until it is answered.
    pub saving: bool,
}

impl Form {
    pub fn new(title: impl Into<String>, fields: Vec<Field>) -> Self {
        Self {
            title: title.into(),
            info: Vec::new(),
            fields,
            focus: 0,
            banner: None,
            saving: false,
        }
    }

    pub fn with_info(mut self, info: Vec<String>) -> Self {
        self.info = info;
        self
    }

    pub fn next_field(&mut self) {
        self.focus = (self.focus + 1) % self.fields.len().max(1);
    }

    pub fn prev_field(&mut self) {
        let n = self.fields.len().max(1);
        self.focus = (self.focus + n - 1) % n;
    }

    fn focused(&mut self) -> Option<&mut Field> {
        self.fields.get_mut(self.focus)
    }

    /// Left/Right: the previous or next choice, or the multi-select cursor.
    pub fn step(&mut self, forward: bool) {
        let Some(field) = self.focused() else { return };
        match &mut field.value {
            Value::Choice { options, index } => {
                let n = options.len().max(1);
                *index = if forward {
                    (*index + 1) % n
                } else {
                    (*index + n - 1) % n
                };
                field.error = None;
            }
            Value::Multi {
                options, cursor, ..
            } => {
                let n = options.len().max(1);
                *cursor = if forward {
                    (*cursor + 1) % n
                } else {
                    (*cursor + n - 1) % n
                };
            }
            Value::Toggle(on) => {
                *on = !*on;
                field.error = None;
            }
            Value::Text(_) => {}
        }
    }

    pub fn input(&mut self, c: char) {
        let Some(field) = self.focused() else { return };
        match &mut field.value {
            Value::Text(text) => {
                text.push(c);
                field.error = None;
            }
            Value::Toggle(on) if c == ' ' => {
                *on = !*on;
                field.error = None;
            }
            Value::Multi { chosen, cursor, .. } if c == ' ' => {
                if let Some(x) = chosen.get_mut(*cursor) {
                    *x = !*x;
                }
                field.error = None;
            }
            _ => {}
        }
    }

    pub fn backspace(&mut self) {
        if let Some(field) = self.focused() {
            if let Value::Text(text) = &mut field.value {
                text.pop();
                field.error = None;
            }
        }
    }

    pub fn text(&self, i: usize) -> &str {
        match self.fields.get(i).map(|f| &f.value) {
            Some(Value::Text(t)) => t.as_str(),
            _ => "",
        }
    }

    pub fn index(&self, i: usize) -> usize {
        match self.fields.get(i).map(|f| &f.value) {
            Some(Value::Choice { index, .. }) => *index,
            _ => 0,
        }
    }

    pub fn on(&self, i: usize) -> bool {
        matches!(
            self.fields.get(i).map(|f| &f.value),
            Some(Value::Toggle(true))
        )
    }

    pub fn chosen(&self, i: usize) -> Vec<usize> {
        match self.fields.get(i).map(|f| &f.value) {
            Some(Value::Multi { chosen, .. }) => chosen
                .iter()
                .enumerate()
                .filter(|(_, c)| **c)
                .map(|(i, _)| i)
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn set_error(&mut self, i: usize, message: impl Into<String>) {
        if let Some(f) = self.fields.get_mut(i) {
            f.error = Some(message.into());
        }
    }

    pub fn clear_errors(&mut self) {
        for f in &mut self.fields {
            f.error = None;
        }
        self.banner = None;
    }

    pub fn has_errors(&self) -> bool {
        self.fields.iter().any(|f| f.error.is_some())
    }
}

/// Choices for an enum, optionally led by a "none" entry.
pub fn options<T: Copy>(all: impl Iterator<Item = T>, label: fn(T) -> &'static str) -> Vec<String> {
    all.map(|v| label(v).to_string()).collect()
}

/// The value at `index` of `all`, where index 0 may be a leading "none".
pub fn pick<T>(mut all: impl Iterator<Item = T>, index: usize, leading_none: bool) -> Option<T> {
    if leading_none {
        index.checked_sub(1).and_then(|i| all.nth(i))
    } else {
        all.nth(index)
    }
}

pub fn position<T: PartialEq>(mut all: impl Iterator<Item = T>, value: &T) -> usize {
    all.position(|v| v == *value).unwrap_or(0)
}

/// How a typed date is wrong, in words for the field.
pub fn parse_date(text: &str) -> Result<Option<NaiveDate>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Some(d));
    }
    let parts: Vec<&str> = text.split('-').collect();
    let numeric = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if numeric {
        Err(format!("{text} is not a day on the calendar"))
    } else {
        Err(format!("`{text}` is not a date; type YYYY-MM-DD"))
    }
}

/// A release (or proposed) date must be plausible for a jail: not long past, not years away.
pub fn check_release_date(date: NaiveDate, today: NaiveDate) -> Result<(), String> {
    const PAST_DAYS: i64 = 31;
    const FUTURE_YEARS: i32 = 5;
    let days = (date - today).num_days();
    if days < -PAST_DAYS {
        return Err(format!(
            "{date} is {} days ago; a release date cannot be long past",
            -days
        ));
    }
    let limit = today
        .checked_add_months(chrono::Months::new(12 * FUTURE_YEARS.unsigned_abs()))
        .unwrap_or(today);
    if date > limit {
        return Err(format!(
            "{date} is more than {FUTURE_YEARS} years away; check the year"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_with_a_reason() {
        assert_eq!(parse_date(""), Ok(None));
        assert_eq!(
            parse_date("2026-02-30"),
            Err("2026-02-30 is not a day on the calendar".into())
        );
        assert_eq!(
            parse_date("next week"),
            Err("`next week` is not a date; type YYYY-MM-DD".into())
        );
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        assert!(check_release_date(d("2026-03-01"), today).is_ok());
        assert!(check_release_date(d("2031-03-02"), today).is_ok());
        assert!(check_release_date(d("2031-03-03"), today).is_err());
        assert!(check_release_date(d("2026-01-01"), today).is_err());
    }
}
