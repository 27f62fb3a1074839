//! `export`: the board as computed for one day, as JSON or CSV. The fields are documented in the
//! README; keep the two in step.

use std::io::Write;

use anyhow::Context as _;
use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::{BoardRow, MilestoneCode, NameFormat};

#[derive(Debug, Serialize)]
pub struct ExportMilestone {
    pub code: MilestoneCode,
    pub letter: char,
    pub due: Option<NaiveDate>,
    pub state: crate::domain::MilestoneState,
    pub late_entry: bool,
    pub blocked_by: Option<crate::domain::BarrierReason>,
}

#[derive(Debug, Serialize)]
pub struct ExportRow {
    pub booking_id: String,
    pub person_id: String,
    pub name: String,
    pub facility: String,
    pub unit: String,
    pub youth: bool,
    pub release_date: Option<NaiveDate>,
    pub release_certainty: crate::domain::Certainty,
    pub release_type: Option<crate::domain::ReleaseType>,
    pub days_to_release: Option<i64>,
    pub band: crate::domain::Band,
    pub late_entry: bool,
    pub care_manager: Option<String>,
    pub milestones: Vec<ExportMilestone>,
}

#[derive(Debug, Serialize)]
pub struct Export {
    pub as_of: NaiveDate,
    pub people: Vec<ExportRow>,
}

pub fn rows(board: &[BoardRow], name_format: NameFormat) -> Vec<ExportRow> {
    board
        .iter()
        .map(|row| {
            let r = &row.record;
            ExportRow {
                booking_id: r.person.booking_id.clone(),
                person_id: r.person.id.clone(),
                name: r.person.name.formatted(name_format),
                facility: r.person.facility.name.clone(),
                unit: r.person.unit.clone(),
                youth: r.person.youth,
                release_date: r.release.date,
                release_certainty: r.release.certainty,
                release_type: r.release.kind,
                days_to_release: row.readiness.days_to_release,
                band: row.readiness.band,
                late_entry: row.readiness.late_entry,
                care_manager: r.care_team.pre_release_cm.as_ref().map(|c| c.name.clone()),
                milestones: row
                    .readiness
                    .milestones
                    .iter()
                    .map(|m| ExportMilestone {
                        code: m.code,
                        letter: m.code.letter(),
                        due: m.due,
                        state: m.state,
                        late_entry: m.late_entry,
                        blocked_by: m.blocked_by,
                    })
                    .collect(),
            }
        })
        .collect()
}

pub fn write_json(
    out: &mut dyn Write,
    as_of: NaiveDate,
    people: Vec<ExportRow>,
) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &Export { as_of, people }).context("writing JSON")?;
    writeln!(out).context("writing JSON")?;
    Ok(())
}

/// CSV has no nesting: each milestone becomes two columns, `<code>_state` and `<code>_due`.
pub fn write_csv(out: &mut dyn Write, people: &[ExportRow]) -> anyhow::Result<()> {
    write_csv_ended(out, people, csv::Terminator::Any(b'\n'))
}

/// The CSV as Excel opens it correctly by double-click: a UTF-8 byte-order mark (without it Excel
/// reads the file as the local code page, and `Núñez` shows as `NÃºÃ±ez`) and CRLF line ends.
pub fn write_csv_excel(out: &mut dyn Write, people: &[ExportRow]) -> anyhow::Result<()> {
    out.write_all(b"\xEF\xBB\xBF").context("writing CSV")?;
    write_csv_ended(out, people, csv::Terminator::CRLF)
}

fn write_csv_ended(
    out: &mut dyn Write,
    people: &[ExportRow],
    terminator: csv::Terminator,
) -> anyhow::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(terminator)
        .from_writer(out);
    let mut header: Vec<String> = [
        "booking_id",
        "person_id",
        "name",
        "facility",
        "unit",
        "youth",
        "release_date",
        "release_certainty",
        "release_type",
        "days_to_release",
        "band",
        "late_entry",
        "care_manager",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for code in MilestoneCode::all() {
        header.push(format!("{code}_state"));
        header.push(format!("{code}_due"));
    }
    w.write_record(&header).context("writing CSV")?;
    for p in people {
        let opt = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let mut rec = vec![
            p.booking_id.clone(),
            p.person_id.clone(),
            p.name.clone(),
            p.facility.clone(),
            p.unit.clone(),
            p.youth.to_string(),
            opt(p.release_date),
            p.release_certainty.to_string(),
            p.release_type.map(|t| t.to_string()).unwrap_or_default(),
            p.days_to_release.map(|d| d.to_string()).unwrap_or_default(),
            p.band.to_string(),
            p.late_entry.to_string(),
            p.care_manager.clone().unwrap_or_default(),
        ];
        for m in &p.milestones {
            rec.push(m.state.to_string());
            rec.push(opt(m.due));
        }
        w.write_record(&rec).context("writing CSV")?;
    }
    w.flush().context("writing CSV")?;
    Ok(())
}
