//! Everything about one person, in the order the meeting walks it, scrollable. Presentation mode
//! and Part 2 permissions decide what is written at all: hidden facts are never drawn, not just
//! drawn off screen.

use chrono::{DateTime, NaiveDate, Utc};
use ratatui::Frame;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::board::{Flags, days, name};
use super::chrome::{clip, put, title};
use super::text::truncate;
use crate::domain::{
    BoardRow, Contact, Medication, MilestoneState, NameFormat, Recipient, ReferralTarget,
    SupplyStatus,
};
use crate::theme::Slot;
use crate::tui::App;

/// Title and person line above; keys below.
const CHROME: u16 = 3;

pub fn max_scroll(app: &App) -> usize {
    let shown = usize::from(app.size().1.saturating_sub(CHROME));
    lines(app).len().saturating_sub(shown)
}

/// The width the body is laid out for: the terminal's, or 80 before the first resize.
fn body_width(app: &App) -> usize {
    match app.size().0 {
        0 => 80,
        w => usize::from(w),
    }
}

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.height < CHROME || area.is_empty() {
        return;
    }
    let cells = usize::from(area.width);
    let buf = frame.buffer_mut();
    put(buf, area, 0, &title(app, cells));
    let Some(row) = app.selected_row() else {
        put(buf, area, 1, &Line::raw("No one selected."));
        return;
    };
    put(buf, area, 1, &person_line(app, row, cells));
    let body = lines(app);
    let shown = usize::from(area.height.saturating_sub(CHROME));
    let scroll = app.detail_scroll().min(body.len().saturating_sub(shown));
    for (n, line) in body.into_iter().skip(scroll).take(shown).enumerate() {
        put(buf, area, 2 + n, &clip(line, cells));
    }
    let footer_y = usize::from(area.height.saturating_sub(1));
    let footer = super::chrome::footer(app, cells);
    put(buf, area, footer_y, &footer);
}

fn person_line(app: &App, row: &BoardRow, cells: usize) -> Line<'static> {
    let r = &row.record;
    let theme = &app.options().theme;
    let mut text = format!(
        "{}  {}  {} {}  {}  {}",
        name(r, app.name_format()),
        r.person.booking_id,
        r.person.facility.name,
        r.person.unit,
        row.readiness.band.label(),
        days(row.readiness.days_to_release),
    );
    let flags = Flags::of(row, app).text(app.options().ascii);
    if !flags.trim().is_empty() {
        text.push_str(&format!("  [{}]", flags.trim()));
    }
    Line::styled(truncate(&text, cells), theme.style(Slot::Header))
}

/// The body, one section after another.
pub fn lines(app: &App) -> Vec<Line<'static>> {
    let Some(row) = app.selected_row() else {
        return Vec::new();
    };
    let r = &row.record;
    let present = app.presentation();
    let ascii = app.options().ascii;
    let theme = &app.options().theme;
    let mut out: Vec<Line<'static>> = Vec::new();
    let heading = |out: &mut Vec<Line<'static>>, text: &str| {
        if !out.is_empty() {
            out.push(Line::raw(""));
        }
        out.push(Line::styled(text.to_string(), theme.style(Slot::Band)));
    };
    let item =
        |out: &mut Vec<Line<'static>>, text: String| out.push(Line::raw(format!("  {text}")));

    // Who: the full name and date of birth only in a personal session.
    if !present {
        let mut who = name(r, NameFormat::LastFirst);
        if let Some(dob) = r.person.date_of_birth {
            who.push_str(&format!(" · born {dob}"));
        }
        if r.person.youth {
            who.push_str(" · youth");
        }
        item(&mut out, who);
    }

    // What needs doing leads: the same list the meeting shows.
    let look = super::person::Look::of(app);
    if !out.is_empty() {
        out.push(Line::raw(""));
    }
    out.extend(super::person::needs_doing(row, &look, body_width(app)));

    // Then the rest of the timeline: what is pending, by due date.
    let next = super::person::coming_up(row, &look, body_width(app));
    if !next.is_empty() {
        out.push(Line::raw(""));
        out.extend(next);
    }

    // Follow-up tasks from meetings are work to do as well.
    heading(&mut out, "Follow-up tasks");
    out.extend(super::tasks::lines(app, r));

    heading(&mut out, "Release date");
    let rel = &r.release;
    item(
        &mut out,
        format!(
            "{} · {} · {} · source: {}",
            rel.date
                .map_or_else(|| "unknown (pretrial)".to_string(), |d| d.to_string()),
            rel.certainty.label(),
            rel.kind.map_or("type not recorded", |k| k.label()),
            rel.source.map_or("not recorded", |s| s.label()),
        ),
    );
    for change in &r.release_history {
        let ack = match (
            &change.acknowledged_by,
            change.awaits_acknowledgement(app.options().rules.change_window_days),
        ) {
            (Some(by), _) => format!(" · acknowledged by {by}"),
            (None, true) => " · AWAITS ACKNOWLEDGEMENT".to_string(),
            (None, false) => String::new(),
        };
        let why = if present || change.reason_text.is_empty() {
            change.reason.label().to_string()
        } else {
            format!("{}: {}", change.reason.label(), change.reason_text)
        };
        item(
            &mut out,
            format!(
                "{} {}: {} → {} ({why}){ack}",
                stamp(change.changed_at),
                change.changed_by,
                opt_date(change.from),
                opt_date(change.to),
            )
            .replace('→', if ascii { "->" } else { "→" }),
        );
    }
    for flag in r
        .date_flags
        .iter()
        .filter(|f| f.status == crate::domain::FlagStatus::Open)
    {
        item(
            &mut out,
            format!(
                "proposed {} by {} ({}), open",
                opt_date(flag.proposed),
                flag.raised_by,
                flag.reason.label()
            ),
        );
    }

    heading(&mut out, "Medi-Cal & screening");
    let mut medi_cal = format!(
        "Medi-Cal: {} · plan: {}",
        r.medi_cal.status.label(),
        r.medi_cal.mcp_name.as_deref().unwrap_or("none recorded")
    );
    if r.medi_cal.former_foster_youth && !present {
        medi_cal.push_str(" · former foster youth");
    }
    item(&mut out, medi_cal);
    let needs = if present {
        String::new()
    } else if r.screening.needs.is_empty() {
        " · needs: none recorded".to_string()
    } else {
        let needs: Vec<&str> = r.screening.needs.iter().map(|n| n.label()).collect();
        format!(" · needs: {}", needs.join(", "))
    };
    item(
        &mut out,
        format!("Screening: {}{needs}", r.screening.result.label()),
    );

    heading(&mut out, "Consent");
    let c = &r.consent;
    item(
        &mut out,
        format!(
            "{} · signed {} · expires {}{}{} · {}",
            c.scope.map_or("scope not recorded", |s| s.label()),
            opt_date(c.signed_on),
            opt_date(c.expires_on),
            if c.signed_by_guardian {
                " · by guardian"
            } else {
                ""
            },
            // Only people in SUD treatment sign one, so on a shared screen it says too much.
            match (present, c.part2) {
                (true, _) => "",
                (false, true) => " · Part 2 consent: yes",
                (false, false) => " · Part 2 consent: no",
            },
            consent_state(c, app.today(), r.person.youth),
        ),
    );

    heading(&mut out, "Care team");
    let team = &r.care_team;
    let contact = |label: &str, c: &Option<std::sync::Arc<Contact>>| match c {
        Some(c) if present => format!("{label}: {}", c.name),
        Some(c) => format!("{label}: {}, {}, {}", c.name, c.organisation, c.phone),
        None => format!("{label}: none"),
    };
    item(
        &mut out,
        contact("Pre-release care manager", &team.pre_release_cm),
    );
    item(
        &mut out,
        contact("Post-release ECM", &team.post_release_ecm),
    );
    item(
        &mut out,
        contact("Probation / parole", &team.probation_officer),
    );
    // Who the behavioral-health contact is hints at the diagnosis on a shared screen.
    if present {
        let assigned = if team.behavioral_health.is_some() {
            "assigned"
        } else {
            "none"
        };
        item(&mut out, format!("Behavioral health: {assigned}"));
    } else {
        item(
            &mut out,
            contact("Behavioral health", &team.behavioral_health),
        );
    }

    heading(&mut out, "Medications");
    let part2 = app.may_see_part2(r);
    let (protected, open): (Vec<&Medication>, Vec<&Medication>) =
        r.medications.iter().partition(|m| m.is_part2());
    if r.medications.is_empty() {
        item(&mut out, "none recorded".into());
    } else if present {
        if !open.is_empty() {
            item(&mut out, medication_counts(&open));
        }
    } else {
        for m in &open {
            item(&mut out, medication(m));
        }
    }
    if !protected.is_empty() {
        if part2 {
            for m in &protected {
                item(&mut out, medication(m));
            }
        } else {
            let ready = protected.iter().all(|m| m.supply.is_ready());
            let mark = match (ready, ascii) {
                (true, false) => "✓",
                (false, false) => "✗",
                (true, true) => "ready",
                (false, true) => "not ready",
            };
            let noun = if protected.len() == 1 {
                "medication"
            } else {
                "medications"
            };
            item(
                &mut out,
                format!("{} protected {noun} {mark}", protected.len()),
            );
        }
    }
    item(
        &mut out,
        format!(
            "Naloxone: {}",
            r.naloxone.map_or("not yet offered", |n| n.label())
        ),
    );

    heading(&mut out, "Durable medical equipment");
    if r.dme.is_empty() {
        item(&mut out, "none recorded".into());
    }
    for d in &r.dme {
        let what = if present { "item" } else { d.item.as_str() };
        item(
            &mut out,
            format!(
                "{what}: {}{}",
                d.status.label(),
                confirmed(d.confirmed.as_ref())
            ),
        );
    }

    heading(&mut out, "Care plan & warm handoff");
    let handoff = match r.warm_handoff.scheduled_on {
        Some(on) => format!("{} ({on})", r.warm_handoff.status.label()),
        None => r.warm_handoff.status.label().to_string(),
    };
    item(
        &mut out,
        format!(
            "Care plan: {} · warm handoff: {handoff}",
            r.care_plan.label()
        ),
    );

    heading(&mut out, "Appointments, transport, referrals");
    if r.appointments.is_empty() {
        item(&mut out, "Appointments: none".into());
    } else if present {
        // Clinic names can say what the person is treated for.
        let booked = r
            .appointments
            .iter()
            .filter(|a| a.status == crate::domain::AppointmentStatus::Booked)
            .count();
        item(
            &mut out,
            format!("Appointments: {} ({booked} booked)", r.appointments.len()),
        );
    } else {
        for a in &r.appointments {
            item(
                &mut out,
                format!("{} · {} · {}", a.what, opt_date(a.on), a.status.label()),
            );
        }
    }
    let transport = if present || r.transport.note.is_empty() {
        r.transport.status.label().to_string()
    } else {
        format!("{} ({})", r.transport.status.label(), r.transport.note)
    };
    item(&mut out, format!("Transport: {transport}"));
    for f in &r.referrals {
        // A Drug Medi-Cal referral is a substance-use treatment record.
        let target = if f.target == ReferralTarget::DrugMediCal && (!part2 || present) {
            "protected referral"
        } else if present {
            "behavioral health referral"
        } else {
            f.target.label()
        };
        item(
            &mut out,
            format!("Referral: {target} · {}", f.status.label()),
        );
    }

    heading(&mut out, "Notifications");
    for n in &r.notifications {
        item(
            &mut out,
            format!("{}: {}", n.recipient.label(), n.status.label()),
        );
    }
    let untold: Vec<&str> = Recipient::all()
        .filter(|who| !r.notifications.iter().any(|n| n.recipient == *who))
        .map(Recipient::label)
        .collect();
    if !untold.is_empty() {
        item(&mut out, format!("not recorded yet: {}", untold.join(", ")));
    }

    heading(&mut out, "Barriers");
    let open_barriers: Vec<_> = r.barriers.iter().filter(|b| b.is_open()).collect();
    if open_barriers.is_empty() {
        item(&mut out, "none open".into());
    }
    for b in open_barriers {
        let text = if present || b.text.is_empty() {
            String::new()
        } else {
            format!(" — {}", b.text)
        };
        item(
            &mut out,
            format!(
                "{}: {} since {}{text}",
                b.milestone.label(),
                b.reason.label(),
                b.opened_on
            ),
        );
    }

    heading(&mut out, "Notes");
    if r.notes.is_empty() {
        item(&mut out, "none".into());
    } else if present {
        let noun = if r.notes.len() == 1 { "note" } else { "notes" };
        item(
            &mut out,
            format!("{} {noun} (hidden on a shared screen)", r.notes.len()),
        );
    } else {
        for n in &r.notes {
            item(&mut out, format!("{} {}: {}", stamp(n.at), n.by, n.text));
        }
    }

    // Every milestone in strip order, with who settled it and when: the record.
    heading(&mut out, "Milestones");
    for m in &row.readiness.milestones {
        // Settled milestones have no due date left to meet; saying "due -" would read as missing.
        let mut text = if m.state.is_settled() {
            format!("{:<30} {}", m.code.label(), m.state.label())
        } else {
            format!(
                "{:<30} {:<8}  due {}",
                m.code.label(),
                m.state.label(),
                opt_date(m.due)
            )
        };
        if m.late_entry && m.state != MilestoneState::Done {
            text.push_str(" (late entry: catch-up date)");
        }
        if let Some(reason) = m.blocked_by {
            text.push_str(&format!(" — {}", reason.label()));
        }
        if let (Some(by), Some(on)) = (&m.done_by, m.done_on) {
            text.push_str(&format!(" by {by} on {on}"));
        }
        out.push(Line::from(vec![
            Span::raw("  "),
            Span::styled(
                format!("{}{}", m.state.glyph(ascii), m.code.letter()),
                theme.state(m.state),
            ),
            Span::styled(format!(" {text}"), Style::new()),
        ]));
    }

    out
}

/// Whether the consent holds today, in words; a youth's needs a guardian's signature.
fn consent_state(c: &crate::domain::Consent, today: NaiveDate, youth: bool) -> &'static str {
    match c.signed_on {
        None => "not signed",
        Some(_) if c.valid_on(today, youth) => "valid",
        Some(_) if youth && !c.signed_by_guardian => "needs a guardian's signature",
        Some(_) if c.expires_on.is_some_and(|e| e < today) => "expired",
        Some(_) => "not yet valid",
    }
}

/// `2 medications: 1 ready, 1 to order`, with no names and no classes.
fn medication_counts(meds: &[&Medication]) -> String {
    let mut counts: Vec<(SupplyStatus, usize)> = Vec::new();
    for m in meds {
        match counts.iter_mut().find(|(s, _)| *s == m.supply) {
            Some((_, n)) => *n += 1,
            None => counts.push((m.supply, 1)),
        }
    }
    counts.sort_by_key(|(s, _)| *s);
    let parts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.label()))
        .collect();
    let noun = if meds.len() == 1 {
        "medication"
    } else {
        "medications"
    };
    format!("{} {noun}: {}", meds.len(), parts.join(", "))
}

fn medication(m: &Medication) -> String {
    let mut text = format!("{} · {} · {}", m.name, m.class.label(), m.supply.label());
    if m.long_acting_injectable {
        text.push_str(&format!(
            " · long-acting injectable, next dose {}",
            opt_date(m.next_dose)
        ));
    }
    text.push_str(&confirmed(m.confirmed.as_ref()));
    text
}

fn confirmed(c: Option<&crate::domain::Confirmation>) -> String {
    c.map_or_else(String::new, |c| {
        format!(" · confirmed by {} {}", c.by, stamp(c.at))
    })
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

fn opt_date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "-".to_string(), |d| d.to_string())
}
