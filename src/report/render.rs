//! The report as Markdown (for people), CSV (for spreadsheets) or JSON (for programs).

use std::io::Write;

use anyhow::Context as _;

use super::Report;

fn rate(m: &super::Measure) -> String {
    match m.percent() {
        Some(p) => format!("{p}%"),
        None => "n/a".into(),
    }
}

pub fn markdown(out: &mut dyn Write, r: &Report) -> anyhow::Result<()> {
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").context("writing the report");
    w(
        out,
        format!("# Program measures, released {} to {}", r.from, r.to),
    )?;
    w(out, String::new())?;
    w(
        out,
        format!("{} people released in the period.", r.released),
    )?;
    w(out, String::new())?;
    w(out, "| measure | rate | count | of |".into())?;
    w(out, "|---|---:|---:|---|".into())?;
    for m in &r.measures {
        w(
            out,
            format!(
                "| {} | {} | {} of {} | {} |",
                m.label,
                rate(m),
                m.numerator,
                m.denominator,
                m.of
            ),
        )?;
    }
    w(out, String::new())?;
    let per_person = if r.released > 0 {
        format!("{:.2}", r.date_changes as f64 / r.released as f64)
    } else {
        "n/a".into()
    };
    w(
        out,
        format!(
            "Release-date changes: {} over {} people ({per_person} per person).",
            r.date_changes, r.released
        ),
    )?;
    w(out, String::new())?;
    w(out, "## Barriers most often recorded".into())?;
    w(out, String::new())?;
    if r.barriers.is_empty() {
        w(out, "None recorded for these people.".into())?;
    } else {
        w(
            out,
            "| barrier | times recorded | people (of released) |".into(),
        )?;
        w(out, "|---|---:|---:|".into())?;
        for b in &r.barriers {
            w(
                out,
                format!(
                    "| {} | {} | {} of {} |",
                    b.reason.label(),
                    b.count,
                    b.people,
                    r.released
                ),
            )?;
        }
    }
    Ok(())
}

/// One row per measure; barriers follow as `barrier:<reason>` rows, the date changes as
/// `date_changes` (numerator: changes, denominator: people).
pub fn csv(out: &mut dyn Write, r: &Report) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let err = "writing the report";
    w.write_record([
        "measure",
        "label",
        "numerator",
        "denominator",
        "percent",
        "of",
    ])
    .context(err)?;
    for m in &r.measures {
        w.write_record([
            m.key.to_string(),
            m.label.to_string(),
            m.numerator.to_string(),
            m.denominator.to_string(),
            m.percent().map(|p| p.to_string()).unwrap_or_default(),
            m.of.to_string(),
        ])
        .context(err)?;
    }
    w.write_record([
        "date_changes".to_string(),
        "release-date changes per released person".to_string(),
        r.date_changes.to_string(),
        r.released.to_string(),
        String::new(),
        "released people".to_string(),
    ])
    .context(err)?;
    for b in &r.barriers {
        w.write_record([
            format!("barrier:{}", b.reason.code()),
            format!(
                "people with barrier \"{}\" ({} recorded)",
                b.reason.label(),
                b.count
            ),
            b.people.to_string(),
            r.released.to_string(),
            String::new(),
            "released people".to_string(),
        ])
        .context(err)?;
    }
    w.flush().context(err)?;
    Ok(())
}

pub fn json(out: &mut dyn Write, r: &Report) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r).context("writing the report")?;
    writeln!(out).context("writing the report")?;
    Ok(())
}
