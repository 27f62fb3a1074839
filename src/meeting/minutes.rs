//! The minutes of one meeting, in Markdown or CSV. Presentation-safe: people by short name and
//! booking number, changes by kind only (audit values can hold drug names), and each person's
//! medication names blanked out of the free text.

use std::collections::HashMap;
use std::io::{self, Write};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use super::{Attendee, OpenTask, Review};

/// Who a person is on paper, and the words their minutes must not carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonLabel {
    /// `GARCIA, M. (B1234)`.
    pub label: String,
    /// Medication names, blanked out of decisions and tasks.
    pub redact: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minutes {
    pub day: NaiveDate,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub chaired_by: String,
    pub attendees: Vec<Attendee>,
    pub reviews: Vec<Review>,
    /// Audit kinds per person recorded between start and end, oldest first.
    pub changes: HashMap<String, Vec<String>>,
    pub open_tasks: Vec<OpenTask>,
    pub people: HashMap<String, PersonLabel>,
}

impl Minutes {
    fn label(&self, person_id: &str) -> String {
        self.people
            .get(person_id)
            .map_or_else(|| format!("person {person_id}"), |p| p.label.clone())
    }

    /// Free text with the person's medication names blanked (case-insensitive).
    fn safe(&self, person_id: &str, text: &str) -> String {
        let Some(person) = self.people.get(person_id) else {
            return text.to_string();
        };
        let mut out = text.to_string();
        for word in person.redact.iter().filter(|w| !w.trim().is_empty()) {
            out = blank(&out, word.trim());
        }
        out
    }
}

pub(crate) fn blank(text: &str, word: &str) -> String {
    let lower = text.to_lowercase();
    let needle = word.to_lowercase();
    // Lowercasing can change byte lengths outside ASCII; only then fall back to the text as is.
    if lower.len() != text.len() || needle.is_empty() {
        return text.to_string();
    }
    let mut out = String::new();
    let mut rest = 0;
    for (at, _) in lower.match_indices(&needle) {
        if at < rest {
            continue;
        }
        out.push_str(&text[rest..at]);
        out.push_str("[medication]");
        rest = at + needle.len();
    }
    out.push_str(&text[rest..]);
    out
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn human(kind: &str) -> String {
    kind.replace('_', " ")
}

fn minutes_seconds(seconds: i64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

fn attendee(a: &Attendee) -> String {
    match &a.login {
        // The chair is stored as `jdoe (coordinator)`: the login is already there.
        Some(login) if login != &a.name && !a.name.starts_with(&format!("{login} ")) => {
            format!("{} ({login})", a.name)
        }
        _ => a.name.clone(),
    }
}

pub fn markdown(out: &mut impl Write, m: &Minutes) -> io::Result<()> {
    writeln!(out, "# Meeting minutes, {}", m.day)?;
    writeln!(out)?;
    writeln!(
        out,
        "From {} to {}, chaired by {}.",
        time(m.started_at),
        time(m.ended_at),
        m.chaired_by
    )?;
    writeln!(out)?;
    writeln!(out, "## Attended ({})", m.attendees.len())?;
    writeln!(out)?;
    for a in &m.attendees {
        writeln!(out, "- {}", attendee(a))?;
    }
    let reviewed = m.reviews.iter().filter(|r| r.reviewed).count();
    writeln!(out)?;
    writeln!(
        out,
        "## People ({reviewed} of {} on the agenda reviewed)",
        m.reviews.len()
    )?;
    for r in &m.reviews {
        writeln!(out)?;
        let state = if r.reviewed {
            "reviewed"
        } else {
            "not reviewed"
        };
        writeln!(
            out,
            "### {} ({state}, {})",
            m.label(&r.person_id),
            minutes_seconds(r.seconds)
        )?;
        let changes = m
            .changes
            .get(&r.person_id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if !changes.is_empty() {
            writeln!(out)?;
            writeln!(out, "Changes made:")?;
            for c in changes {
                writeln!(out, "- {}", human(c))?;
            }
        }
        if !r.decisions.is_empty() {
            writeln!(out)?;
            writeln!(out, "Decisions:")?;
            for d in &r.decisions {
                writeln!(out, "- {}", m.safe(&r.person_id, d))?;
            }
        }
        if !r.tasks.is_empty() {
            writeln!(out)?;
            writeln!(out, "Tasks:")?;
            for t in &r.tasks {
                writeln!(
                    out,
                    "- {} (who: {}, by {})",
                    m.safe(&r.person_id, &t.what),
                    t.owner,
                    t.due
                )?;
            }
        }
    }
    writeln!(out)?;
    writeln!(out, "## Open tasks ({})", m.open_tasks.len())?;
    writeln!(out)?;
    if m.open_tasks.is_empty() {
        writeln!(out, "None.")?;
    } else {
        writeln!(out, "| Due | Who | Person | What |")?;
        writeln!(out, "|---|---|---|---|")?;
        for t in &m.open_tasks {
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                t.due,
                cell(&t.owner),
                cell(&m.label(&t.person_id)),
                cell(&m.safe(&t.person_id, &t.what))
            )?;
        }
    }
    Ok(())
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row per fact: `section,person,what,who,when`.
pub fn csv(out: &mut impl Write, m: &Minutes) -> io::Result<()> {
    let mut row = |fields: [&str; 5]| -> io::Result<()> {
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        writeln!(out, "{}", line.join(","))
    };
    row(["section", "person", "what", "who", "when"])?;
    row([
        "meeting",
        "",
        &format!("{} to {}", time(m.started_at), time(m.ended_at)),
        &m.chaired_by,
        &m.day.to_string(),
    ])?;
    for a in &m.attendees {
        row(["attended", "", "", &attendee(a), ""])?;
    }
    for r in &m.reviews {
        let who = m.label(&r.person_id);
        let state = if r.reviewed {
            "reviewed"
        } else {
            "not reviewed"
        };
        row(["person", &who, state, "", &minutes_seconds(r.seconds)])?;
        for c in m
            .changes
            .get(&r.person_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            row(["change", &who, &human(c), "", ""])?;
        }
        for d in &r.decisions {
            row(["decision", &who, &m.safe(&r.person_id, d), "", ""])?;
        }
    }
    for t in &m.open_tasks {
        row([
            "open task",
            &m.label(&t.person_id),
            &m.safe(&t.person_id, &t.what),
            &t.owner,
            &t.due.to_string(),
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::blank;

    #[test]
    fn medication_names_are_blanked_whatever_the_case() {
        assert_eq!(
            blank(
                "Start Buprenorphine before release; bupRENORPHINE refill",
                "buprenorphine"
            ),
            "Start [medication] before release; [medication] refill"
        );
        assert_eq!(blank("no match here", "naltrexone"), "no match here");
    }
}
