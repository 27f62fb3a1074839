//! The meeting as the screen runs it: the agenda fixed when it opened, one person at a time, a
//! timer per person from the app's ticks, what was decided and who does what next. Nothing is
//! written until the meeting ends, and then all of it at once (`Store::record_meeting`).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::dialog::form::{Field, Form, parse_date};
use crate::domain::filter::fold;
use crate::domain::{PersonRecord, Role};
use crate::meeting::{AgendaItem, Attendee, MeetingRecord, OpenTask, Review, Task};

/// The meeting screen's keys (each bound in the keymap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingKey {
    Next,
    Prev,
    Decision,
    Task,
    /// Reviewed on / off, staying on the person.
    Reviewed,
    /// The common path: reviewed, and on to the next person.
    ReviewedNext,
    Detail,
    Attendees,
    End,
    Leave,
}

/// Which small dialog of the meeting is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingForm {
    Decision,
    Task,
    Attendees,
    Leave,
}

/// A follow-up task may be due at most this far ahead: the meeting plans the next weeks.
const TASK_DAYS_AHEAD: i64 = 366;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    pub started_at: DateTime<Utc>,
    /// When the person now on screen came up.
    pub turn_started: DateTime<Utc>,
    pub agenda: Vec<AgendaItem>,
    /// Index into `agenda`.
    pub at: usize,
    /// One per agenda item; `seconds` holds the finished turns of that person.
    pub reviews: Vec<Review>,
    /// Whether the meeting reached each person (only those go into the minutes).
    pub reached: Vec<bool>,
    pub attendees: Vec<Attendee>,
    /// Logins and directory names a task may be given to; `None` until loaded.
    pub owners: Option<Vec<String>>,
    /// The end is on its way to the store; a second `E` waits for the answer.
    pub saving: bool,
    /// First line of the person's panel shown, when it is longer than the screen.
    pub scroll: usize,
}

impl Meeting {
    pub fn new(agenda: Vec<AgendaItem>, now: DateTime<Utc>, chair: Attendee) -> Self {
        let reviews = agenda
            .iter()
            .map(|a| Review {
                person_id: a.person_id.clone(),
                ..Review::default()
            })
            .collect();
        let mut reached = vec![false; agenda.len()];
        if let Some(first) = reached.first_mut() {
            *first = true;
        }
        Self {
            started_at: now,
            turn_started: now,
            agenda,
            at: 0,
            reviews,
            reached,
            attendees: vec![chair],
            owners: None,
            saving: false,
            scroll: 0,
        }
    }

    pub fn current(&self) -> Option<&AgendaItem> {
        self.agenda.get(self.at)
    }

    pub fn review(&self) -> Option<&Review> {
        self.reviews.get(self.at)
    }

    fn review_mut(&mut self) -> Option<&mut Review> {
        self.reviews.get_mut(self.at)
    }

    /// Seconds on the person now on screen, this turn included.
    pub fn person_seconds(&self, now: DateTime<Utc>) -> i64 {
        self.review().map_or(0, |r| r.seconds) + elapsed(self.turn_started, now)
    }

    pub fn total_seconds(&self, now: DateTime<Utc>) -> i64 {
        elapsed(self.started_at, now)
    }

    /// Moves to another person, banking the time spent on this one. False at either end.
    pub fn go(&mut self, forward: bool, now: DateTime<Utc>) -> bool {
        let to = if forward {
            self.at + 1
        } else {
            match self.at.checked_sub(1) {
                Some(to) => to,
                None => return false,
            }
        };
        self.go_to(to, now)
    }

    /// Moves to agenda item `to`, banking the time spent on this one. False when `to` is the
    /// person on screen or past the end.
    pub fn go_to(&mut self, to: usize, now: DateTime<Utc>) -> bool {
        if to >= self.agenda.len() || to == self.at {
            return false;
        }
        self.scroll = 0;
        let spent = elapsed(self.turn_started, now);
        if let Some(r) = self.review_mut() {
            r.seconds += spent;
        }
        self.turn_started = now;
        self.at = to;
        if let Some(reached) = self.reached.get_mut(to) {
            *reached = true;
        }
        true
    }

    /// Marks the person on screen reviewed (not a toggle: the common path never un-marks).
    pub fn mark_reviewed(&mut self) {
        if let Some(r) = self.review_mut() {
            r.reviewed = true;
        }
    }

    pub fn toggle_reviewed(&mut self) -> bool {
        match self.review_mut() {
            Some(r) => {
                r.reviewed = !r.reviewed;
                r.reviewed
            }
            None => false,
        }
    }

    pub fn decide(&mut self, text: String) {
        if let Some(r) = self.review_mut() {
            r.decisions.push(text);
        }
    }

    pub fn add_task(&mut self, task: Task) {
        if let Some(r) = self.review_mut() {
            r.tasks.push(task);
        }
    }

    /// Decisions and tasks so far, for the confirmation and the header.
    pub fn counts(&self) -> (usize, usize, usize) {
        let reviewed = self.reviews.iter().filter(|r| r.reviewed).count();
        let decisions = self.reviews.iter().map(|r| r.decisions.len()).sum();
        let tasks = self.reviews.iter().map(|r| r.tasks.len()).sum();
        (reviewed, decisions, tasks)
    }

    /// The meeting as it stands, ended at `now`: everyone it reached, in agenda order.
    pub fn record(&self, now: DateTime<Utc>) -> MeetingRecord {
        let spent = elapsed(self.turn_started, now);
        let reviews = self
            .reviews
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                self.reached.get(*i).copied().unwrap_or(false)
                    || r.reviewed
                    || !r.decisions.is_empty()
                    || !r.tasks.is_empty()
            })
            .map(|(i, r)| {
                let mut r = r.clone();
                if i == self.at {
                    r.seconds += spent;
                }
                r
            })
            .collect();
        MeetingRecord {
            started_at: self.started_at,
            ended_at: now.max(self.started_at),
            attendees: self.attendees.clone(),
            reviews,
        }
    }
}

fn elapsed(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds().max(0)
}

/// `1:05`, `12:40`, `1:02:03`.
pub fn clock_text(seconds: i64) -> String {
    let s = seconds.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The chair, as the attendee list starts: `jdoe (coordinator)` with the login.
pub fn chair(user_label: &str, login: &str) -> Attendee {
    Attendee {
        name: if user_label.trim().is_empty() {
            login.to_string()
        } else {
            user_label.trim().to_string()
        },
        login: Some(login.to_string()).filter(|l| !l.is_empty()),
    }
}

/// Fields: 0 decision.
pub fn decision_form(who: &str) -> Form {
    Form::new(
        "Record a decision",
        vec![Field::text("Decision", "", "what the meeting decided")],
    )
    .with_info(vec![format!(
        "For {who}. Stored in the minutes when the meeting ends."
    )])
}

pub fn decision_submit(form: &mut Form) -> Option<String> {
    let text = form.text(0).trim().to_string();
    if text.is_empty() {
        form.set_error(0, "the decision is empty");
        return None;
    }
    Some(text)
}

/// Fields: 0 what, 1 who, 2 by when (tomorrow unless changed).
pub fn task_form(who: &str, today: NaiveDate) -> Form {
    let tomorrow = today + Duration::days(1);
    Form::new(
        "Add a follow-up task",
        vec![
            Field::text("What", "", ""),
            Field::text(
                "Who",
                "",
                "a login or a directory name; part of it is enough",
            ),
            Field::text("By when", tomorrow.to_string(), "YYYY-MM-DD"),
        ],
    )
    .with_info(vec![format!(
        "For {who}. It shows on the board and in the owner's \"my work\" once the meeting ends."
    )])
}

pub fn task_submit(
    form: &mut Form,
    person_id: &str,
    owners: Option<&[String]>,
    today: NaiveDate,
) -> Option<Task> {
    let what = form.text(0).trim().to_string();
    if what.is_empty() {
        form.set_error(0, "say what is to be done");
    }
    let owner = match resolve_owner(form.text(1), owners.unwrap_or(&[])) {
        Ok(owner) => Some(owner),
        Err(why) => {
            form.set_error(1, why);
            None
        }
    };
    let due = match parse_date(form.text(2)) {
        Ok(Some(due)) if due < today => {
            form.set_error(
                2,
                format!("{due} is already past; a task is due today or later"),
            );
            None
        }
        Ok(Some(due)) if (due - today).num_days() > TASK_DAYS_AHEAD => {
            form.set_error(2, format!("{due} is more than a year away; check the year"));
            None
        }
        Ok(Some(due)) => Some(due),
        Ok(None) => {
            form.set_error(2, "say by when (YYYY-MM-DD)");
            None
        }
        Err(why) => {
            form.set_error(2, why);
            None
        }
    };
    if form.has_errors() {
        return None;
    }
    Some(Task {
        person_id: person_id.to_string(),
        what,
        owner: owner?,
        due: due?,
    })
}

/// Who does a task: a known login or directory name, matched without case or accents; a unique
/// part of one is enough. With no directory at all, any name is taken as typed.
pub fn resolve_owner(typed: &str, owners: &[String]) -> Result<String, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err("say who does it: a login or a directory name".into());
    }
    if owners.is_empty() {
        return Ok(typed.to_string());
    }
    let want = fold(typed);
    if let Some(exact) = owners.iter().find(|o| fold(o) == want) {
        return Ok(exact.clone());
    }
    let found: Vec<&String> = owners.iter().filter(|o| fold(o).contains(&want)).collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let some: Vec<&str> = owners.iter().take(3).map(String::as_str).collect();
            Err(format!(
                "no user or directory contact is called `{typed}` (e.g. {})",
                some.join(", ")
            ))
        }
        many => {
            let some: Vec<&str> = many.iter().take(3).map(|s| s.as_str()).collect();
            Err(format!(
                "`{typed}` matches {} people ({}…); type more of the name",
                many.len(),
                some.join(", ")
            ))
        }
    }
}

/// Roles an attendee may come as, then a guest.
fn attendee_roles() -> Vec<String> {
    Role::all()
        .filter(|r| *r != Role::Viewer)
        .map(|r| r.label().to_string())
        .chain(["guest".to_string()])
        .collect()
}

/// Fields: 0 name to add, 1 their role, 2 who to remove.
pub fn attendees_form(attendees: &[Attendee]) -> Form {
    let mut remove = vec!["nobody".to_string()];
    remove.extend(attendees.iter().map(|a| a.name.clone()));
    let mut info = vec![format!("Attending ({}):", attendees.len())];
    info.extend(attendees.iter().map(|a| format!("  {}", a.name)));
    Form::new(
        "Attendees",
        vec![
            Field::text("Add a name", "", "e.g. Dana Ruiz"),
            Field::choice("Their role", attendee_roles(), 0),
            Field::choice("Remove", remove, 0),
        ],
    )
    .with_info(info)
}

/// The list after the form: one name added (with its role) and/or one removed.
pub fn attendees_submit(form: &mut Form, attendees: &[Attendee]) -> Option<Vec<Attendee>> {
    let name = form.text(0).trim().to_string();
    let remove = form.index(2).checked_sub(1);
    if name.is_empty() && remove.is_none() {
        form.set_error(0, "type a name to add, or choose someone to remove");
        return None;
    }
    let mut out: Vec<Attendee> = attendees
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != remove)
        .map(|(_, a)| a.clone())
        .collect();
    if !name.is_empty() {
        let role = attendee_roles()
            .get(form.index(1))
            .cloned()
            .unwrap_or_default();
        let full = format!("{name} ({role})");
        if out.iter().any(|a| fold(&a.name) == fold(&full)) {
            form.set_error(0, format!("{full} is already on the list"));
            return None;
        }
        out.push(Attendee {
            name: full,
            login: None,
        });
    }
    Some(out)
}

/// What leaving can mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    Stay,
    End,
    Discard,
}

/// Fields: 0 choice (stay first, so a stray Enter loses nothing).
pub fn leave_form(meeting: &Meeting) -> Form {
    let (reviewed, decisions, tasks) = meeting.counts();
    Form::new(
        "Leave the meeting?",
        vec![Field::choice(
            "Then",
            vec![
                "stay in the meeting".into(),
                "end the meeting and store it".into(),
                "leave without storing (discard it)".into(),
            ],
            0,
        )],
    )
    .with_info(vec![format!(
        "This meeting is not stored yet: {reviewed} reviewed, {decisions} decision(s), \
         {tasks} task(s). Left and Right choose; Enter confirms."
    )])
}

pub fn leave_submit(form: &Form) -> Leave {
    match form.index(0) {
        1 => Leave::End,
        2 => Leave::Discard,
        _ => Leave::Stay,
    }
}

/// Whether a task is past its day.
pub fn overdue(task: &OpenTask, today: NaiveDate) -> bool {
    task.due < today
}

/// Free text for a screen: the person's medication names blanked where they may not be shown.
pub fn safe_text(
    text: &str,
    record: Option<&PersonRecord>,
    hide_all: bool,
    hide_part2: bool,
) -> String {
    let Some(record) = record else {
        return text.to_string();
    };
    let mut out = text.to_string();
    for m in &record.medications {
        if hide_all || (hide_part2 && m.is_part2()) {
            out = crate::meeting::minutes::blank(&out, m.name.trim());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meeting::Why;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + seconds, 0).unwrap_or_default()
    }

    fn agenda(n: usize) -> Vec<AgendaItem> {
        (0..n)
            .map(|i| AgendaItem {
                person_id: format!("p-{i}"),
                why: Why::ReleasingSoon,
            })
            .collect()
    }

    #[test]
    fn time_is_banked_per_person_and_only_reached_people_are_recorded() {
        let mut m = Meeting::new(agenda(3), at(0), chair("jdoe (coordinator)", "jdoe"));
        assert_eq!(m.person_seconds(at(40)), 40);
        assert!(m.go(true, at(40)));
        assert_eq!(m.person_seconds(at(50)), 10);
        assert!(m.go(false, at(50)));
        assert_eq!(m.person_seconds(at(55)), 45);
        assert!(!m.go(false, at(55)), "no one before the first");
        assert_eq!(m.total_seconds(at(55)), 55);
        let record = m.record(at(60));
        let seconds: Vec<(String, i64)> = record
            .reviews
            .iter()
            .map(|r| (r.person_id.clone(), r.seconds))
            .collect();
        assert_eq!(seconds, vec![("p-0".into(), 50), ("p-1".into(), 10)]);
        assert_eq!(record.attendees[0].login.as_deref(), Some("jdoe"));
    }

    #[test]
    fn owners_match_without_case_and_by_a_unique_part() {
        let owners = vec!["nurse1".to_string(), "Ana López".into(), "Ana Ortiz".into()];
        assert_eq!(resolve_owner("NURSE1", &owners), Ok("nurse1".into()));
        assert_eq!(resolve_owner("lopez", &owners), Ok("Ana López".into()));
        assert!(
            resolve_owner("ana", &owners)
                .unwrap_err()
                .contains("matches 2 people")
        );
        assert!(
            resolve_owner("zed", &owners)
                .unwrap_err()
                .contains("no user")
        );
        assert!(resolve_owner(" ", &owners).is_err());
        assert_eq!(resolve_owner("Dana", &[]), Ok("Dana".into()));
    }

    #[test]
    fn a_task_is_validated_field_by_field() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
        let owners = vec!["nurse1".to_string()];
        let mut form = task_form("GARCIA, M.", today);
        form.fields[2].value = super::super::dialog::Value::Text("2026-03-01".into());
        assert_eq!(task_submit(&mut form, "p", Some(&owners), today), None);
        assert_eq!(
            form.fields[0].error.as_deref(),
            Some("say what is to be done")
        );
        assert!(form.fields[1].error.is_some());
        assert!(
            form.fields[2]
                .error
                .as_deref()
                .unwrap_or("")
                .contains("already past")
        );
    }
}
