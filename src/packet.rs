//! The printable daily packet (`export --format md`): the board grouped by band, in Markdown.
//! Presentation-safe by default, as a printout can leave the room: short names, no diagnoses,
//! no drug names, and 42 CFR Part 2 medications only as "protected ✓/✗". `full` adds the names.

use std::io::Write;

use anyhow::Context as _;
use chrono::NaiveDate;

use crate::domain::{Band, BoardRow, MilestoneCode, MilestoneState, NameFormat};

/// What the packet says about where it came from.
pub struct Heading<'a> {
    pub facility_name: &'a str,
    pub as_of: NaiveDate,
    /// The filters in words, empty for the whole board.
    pub filters: Vec<String>,
    pub full: bool,
    pub name_format: NameFormat,
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn strip(row: &BoardRow) -> String {
    row.readiness
        .milestones
        .iter()
        .map(|m| format!("{}{}", m.state.glyph(false), m.code.letter()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Overdue and blocked work in words, so a printout in black and white still says it.
fn attention(row: &BoardRow) -> String {
    let mut words: Vec<String> = Vec::new();
    for m in &row.readiness.milestones {
        match m.state {
            MilestoneState::Overdue => words.push(format!("{} overdue", m.code.label())),
            MilestoneState::Blocked => words.push(format!(
                "{} blocked ({})",
                m.code.label(),
                m.blocked_by.map(|b| b.label()).unwrap_or("barrier")
            )),
            _ => {}
        }
    }
    if row.readiness.late_entry {
        words.push("late entry".into());
    }
    words.join("; ")
}

fn medications(row: &BoardRow, full: bool) -> String {
    let r = &row.record;
    let protected: Vec<_> = r.medications.iter().filter(|m| m.is_part2()).collect();
    let mut parts = Vec::new();
    if !protected.is_empty() {
        let ready = protected.iter().all(|m| m.supply.is_ready());
        let n = protected.len();
        parts.push(format!(
            "{n} protected medication{} {}",
            if n == 1 { "" } else { "s" },
            if ready { '✓' } else { '✗' }
        ));
    }
    let others: Vec<_> = r.medications.iter().filter(|m| !m.is_part2()).collect();
    if !others.is_empty() {
        if full {
            parts.extend(
                others
                    .iter()
                    .map(|m| format!("{} ({})", m.name, m.supply.label())),
            );
        } else {
            let ready = others.iter().filter(|m| m.supply.is_ready()).count();
            parts.push(format!("{ready} of {} medications ready", others.len()));
        }
    }
    parts.join(", ")
}

pub fn write(out: &mut dyn Write, heading: &Heading<'_>, board: &[BoardRow]) -> anyhow::Result<()> {
    let mut text = String::new();
    let name_format = if heading.full {
        heading.name_format
    } else {
        NameFormat::LastInitial
    };
    text.push_str(&format!(
        "# Release planning — {} — {}\n\n",
        cell(heading.facility_name),
        heading.as_of
    ));
    text.push_str(&format!("{} people", board.len()));
    if !heading.filters.is_empty() {
        text.push_str(&format!(" ({})", heading.filters.join(", ")));
    }
    text.push_str(if heading.full {
        ". FULL DETAIL: names and medications; keep inside the care team.\n"
    } else {
        ". Presentation-safe: short names, no diagnoses or drug names.\n"
    });
    for band in Band::all() {
        let rows: Vec<&BoardRow> = board.iter().filter(|r| r.readiness.band == band).collect();
        if rows.is_empty() {
            continue;
        }
        text.push_str(&format!("\n## {} ({})\n\n", band.label(), rows.len()));
        text.push_str("| name | booking | unit | release | days | readiness | needs attention | medications | care manager |\n");
        text.push_str("|---|---|---|---|---:|---|---|---|---|\n");
        for row in rows {
            let r = &row.record;
            let release = match r.release.date {
                Some(d) => format!("{d} {}", r.release.certainty.mark())
                    .trim()
                    .to_string(),
                None => "unknown".into(),
            };
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                cell(&r.person.name.formatted(name_format)),
                cell(&r.person.booking_id),
                cell(&r.person.unit),
                release,
                row.readiness
                    .days_to_release
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                strip(row),
                cell(&attention(row)),
                cell(&medications(row, heading.full)),
                cell(
                    &r.care_team
                        .pre_release_cm
                        .as_ref()
                        .map(|c| c.name.clone())
                        .unwrap_or_default()
                ),
            ));
        }
    }
    text.push_str(
        "\nReadiness: ✓ done · not needed ○ pending ◔ due soon ✗ overdue ⊘ blocked. Letters: ",
    );
    let letters: Vec<String> = MilestoneCode::all()
        .map(|c| format!("{} {}", c.letter(), c.label()))
        .collect();
    text.push_str(&letters.join(", "));
    text.push_str(". Release: = confirmed, ~ projected, ? estimated.\n");
    out.write_all(text.as_bytes())
        .context("writing the packet")?;
    Ok(())
}
