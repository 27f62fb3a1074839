//! The daily meeting as data: the agenda (pure, from the records and a fixed day), what the
//! meeting records, and its minutes. The TUI drives it; the store keeps it.

pub mod agenda;
pub mod minutes;
pub mod read;

use chrono::{DateTime, NaiveDate, Utc};

pub use agenda::{AgendaItem, Why, agenda};

/// A follow-up task: what, who (a login or a contact's name), by when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub person_id: String,
    pub what: String,
    pub owner: String,
    pub due: NaiveDate,
}

/// One person's turn in the meeting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Review {
    pub person_id: String,
    /// Time spent on this person, from the app's ticks.
    pub seconds: i64,
    pub reviewed: bool,
    pub decisions: Vec<String>,
    pub tasks: Vec<Task>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    pub name: String,
    /// Signed-in users; typed names have none.
    pub login: Option<String>,
}

/// A finished meeting, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingRecord {
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub attendees: Vec<Attendee>,
    /// In agenda order; people the meeting never reached are left out.
    pub reviews: Vec<Review>,
}

/// A stored task as the board and "my work" see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTask {
    pub id: i64,
    pub person_id: String,
    pub what: String,
    pub owner: String,
    pub due: NaiveDate,
    pub meeting_day: NaiveDate,
}
