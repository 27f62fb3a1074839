//! The meeting's records: one transaction and one audit row per stored meeting, and one per task
//! marked done. Decisions and tasks are local (the hub has no event type for them, and their free
//! text may name drugs), so nothing goes to the outbox.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};
use serde_json::json;

use super::codec::{RowExt, date, ts};
use super::commands::begin;
use super::error::{SqlContext, StoreError};
use super::outbox::{AuditRow, Writer};
use super::{Actor, Result, Saved, Store};
use crate::domain::Action;
use crate::domain::role::Context;
use crate::meeting::{Attendee, MeetingRecord, OpenTask, Review, Task};

/// Marks one open follow-up task of the person done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteTask {
    pub person_id: String,
    pub task_id: i64,
}

impl CompleteTask {
    pub(super) fn run(&self, w: &Writer<'_>) -> Result<Saved> {
        let head = begin(w, &self.person_id, Action::CompleteTask, None)?;
        let done =
            w.tx.execute(
                "UPDATE meeting_tasks SET done_at = ?1
                 WHERE id = ?2 AND person_id = ?3 AND done_at IS NULL",
                params![w.now_ts(), self.task_id, head.id],
            )
            .ctx("marking the task done")?;
        if done != 1 {
            return Err(StoreError::field(
                "task",
                format!(
                    "task {} is not an open task of booking {}; it may be done already",
                    self.task_id, head.booking_id
                ),
            ));
        }
        // No text: a task's words may name a drug; the minutes keep them, the audit need not.
        let row = AuditRow {
            person_id: Some(&head.id),
            kind: "task_done",
            entity: "task",
            entity_id: Some(self.task_id.to_string()),
            before: Some(json!({"done": false})),
            after: Some(json!({"done": true})),
            reason: None,
        };
        w.finish(&head, head.version, row, None)
    }
}

/// A meeting as read back for the minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMeeting {
    pub id: String,
    pub day: NaiveDate,
    pub chaired_by: String,
    pub record: MeetingRecord,
}

fn check(record: &MeetingRecord) -> Result<()> {
    if record.ended_at < record.started_at {
        return Err(StoreError::invalid("the meeting ends before it starts"));
    }
    for review in &record.reviews {
        if review.decisions.iter().any(|d| d.trim().is_empty()) {
            return Err(StoreError::invalid("a decision is empty"));
        }
        for task in &review.tasks {
            if task.what.trim().is_empty() || task.owner.trim().is_empty() {
                return Err(StoreError::invalid("a task needs what and who"));
            }
        }
    }
    Ok(())
}

impl Store {
    /// Stores a finished meeting; returns its id. Its end becomes the board's "last meeting".
    pub fn record_meeting(&mut self, actor: &Actor, record: &MeetingRecord) -> Result<String> {
        check(record)?;
        self.write(actor, |w| {
            w.allow(Action::RunMeeting, Context::default())?;
            let id = w.new_id();
            w.tx.execute(
                "INSERT INTO meetings (id, day, started_at, ended_at, chaired_by)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id,
                    date(record.started_at.date_naive()),
                    ts(record.started_at),
                    ts(record.ended_at),
                    w.actor.login
                ],
            )
            .ctx("storing the meeting")?;
            for a in &record.attendees {
                w.tx.execute(
                    "INSERT INTO meeting_attendees (meeting_id, name, login) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                    params![id, a.name.trim(), a.login],
                )
                .ctx("storing an attendee")?;
            }
            let (mut decisions, mut tasks) = (0, 0);
            for (position, r) in record.reviews.iter().enumerate() {
                w.tx.execute(
                    "INSERT INTO meeting_reviews (meeting_id, person_id, position, seconds, reviewed)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, r.person_id, position as i64, r.seconds.max(0), r.reviewed],
                )
                .ctx("storing a review")?;
                for d in &r.decisions {
                    decisions += 1;
                    w.tx.execute(
                        "INSERT INTO meeting_decisions (meeting_id, person_id, text)
                         VALUES (?1, ?2, ?3)",
                        params![id, r.person_id, d.trim()],
                    )
                    .ctx("storing a decision")?;
                }
                for t in &r.tasks {
                    tasks += 1;
                    w.tx.execute(
                        "INSERT INTO meeting_tasks (meeting_id, person_id, what, owner, due)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![id, t.person_id, t.what.trim(), t.owner.trim(), date(t.due)],
                    )
                    .ctx("storing a task")?;
                }
            }
            // Counts only: decisions are free text and may name people or drugs.
            w.audit(&AuditRow {
                person_id: None,
                kind: "meeting_recorded",
                entity: "meeting",
                entity_id: Some(id.clone()),
                before: None,
                after: Some(json!({
                    "started_at": ts(record.started_at),
                    "ended_at": ts(record.ended_at),
                    "attendees": record.attendees.len(),
                    "reviewed": record.reviews.iter().filter(|r| r.reviewed).count(),
                    "decisions": decisions,
                    "tasks": tasks,
                })),
                reason: None,
            })?;
            Ok(id)
        })
    }

    /// When the last stored meeting ended.
    pub fn last_meeting_end(&self) -> Result<Option<DateTime<Utc>>> {
        self.conn
            .query_row("SELECT max(ended_at) FROM meetings", [], |r| r.opt_ts(0))
            .ctx("reading the last meeting")
            .map_err(|e| e.at(&self.path))
    }

    /// Tasks not yet done, soonest due first.
    pub fn open_tasks(&self) -> Result<Vec<OpenTask>> {
        self.conn
            .prepare_cached(
                "SELECT t.id, t.person_id, t.what, t.owner, t.due, m.day
                 FROM meeting_tasks t JOIN meetings m ON m.id = t.meeting_id
                 WHERE t.done_at IS NULL ORDER BY t.due, t.id",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(OpenTask {
                        id: r.get(0)?,
                        person_id: r.get(1)?,
                        what: r.get(2)?,
                        owner: r.get(3)?,
                        due: r.date(4)?,
                        meeting_day: r.date(5)?,
                    })
                })?
                .collect()
            })
            .ctx("reading open tasks")
            .map_err(|e| e.at(&self.path))
    }

    /// Who a task may be given to: active users by login, then the directory by name.
    pub fn task_owners(&self) -> Result<Vec<String>> {
        let users = self.list_users()?.into_iter().filter(|u| u.active);
        let contacts = self.contacts()?.into_iter().map(|c| c.name);
        Ok(users.map(|u| u.login).chain(contacts).collect())
    }

    /// The last meeting held on `day`, or the last meeting of all.
    pub fn meeting_on(&self, day: Option<NaiveDate>) -> Result<Option<StoredMeeting>> {
        self.read_meeting(day)
            .ctx("reading the meeting")
            .map_err(|e| e.at(&self.path))
    }

    fn read_meeting(&self, day: Option<NaiveDate>) -> rusqlite::Result<Option<StoredMeeting>> {
        let head = self
            .conn
            .query_row(
                "SELECT id, day, started_at, ended_at, chaired_by FROM meetings
                 WHERE ?1 IS NULL OR day = ?1 ORDER BY ended_at DESC LIMIT 1",
                [day.map(date)],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.date(1)?,
                        r.ts(2)?,
                        r.ts(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, day, started_at, ended_at, chaired_by)) = head else {
            return Ok(None);
        };
        let attendees = self
            .conn
            .prepare(
                "SELECT name, login FROM meeting_attendees WHERE meeting_id = ?1 ORDER BY name",
            )?
            .query_map([&id], |r| {
                Ok(Attendee {
                    name: r.get(0)?,
                    login: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut reviews = self
            .conn
            .prepare(
                "SELECT person_id, seconds, reviewed FROM meeting_reviews
                 WHERE meeting_id = ?1 ORDER BY position",
            )?
            .query_map([&id], |r| {
                Ok(Review {
                    person_id: r.get(0)?,
                    seconds: r.get(1)?,
                    reviewed: r.get(2)?,
                    decisions: Vec::new(),
                    tasks: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut decisions = self.conn.prepare(
            "SELECT person_id, text FROM meeting_decisions WHERE meeting_id = ?1 ORDER BY id",
        )?;
        for row in decisions.query_map([&id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
            let (person, text) = row?;
            if let Some(review) = reviews.iter_mut().find(|v| v.person_id == person) {
                review.decisions.push(text);
            }
        }
        let mut tasks = self.conn.prepare(
            "SELECT person_id, what, owner, due FROM meeting_tasks WHERE meeting_id = ?1 ORDER BY id",
        )?;
        for row in tasks.query_map([&id], |r| {
            Ok(Task {
                person_id: r.get(0)?,
                what: r.get(1)?,
                owner: r.get(2)?,
                due: r.date(3)?,
            })
        })? {
            let task = row?;
            if let Some(review) = reviews.iter_mut().find(|v| v.person_id == task.person_id) {
                review.tasks.push(task);
            }
        }
        Ok(Some(StoredMeeting {
            id,
            day,
            chaired_by,
            record: MeetingRecord {
                started_at,
                ended_at,
                attendees,
                reviews,
            },
        }))
    }
}
