//! The meeting screen: where the agenda stands ("7 of 23"), the timers, and the person on screen
//! as the meeting needs them — release date, readiness, what is late, open flags and tasks, what
//! this meeting decided. Shared-screen safe whatever the mode: counts rather than drug names,
//! protected medications only as ✓/✗, the short name form in presentation mode.

use ratatui::Frame;
use ratatui::text::{Line, Span};

use super::board::{days, name};
use super::chrome::{clip, put, title};
use super::dialog_box::wrap;
use super::text::truncate;
use crate::domain::{BoardRow, FlagStatus, MilestoneState, PersonRecord};
use crate::theme::Slot;
use crate::tui::App;
use crate::tui::meeting_screen::{self as ms, Meeting};

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.height < 4 || area.is_empty() {
        return;
    }
    let cells = usize::from(area.width);
    let buf = frame.buffer_mut();
    put(buf, area, 0, &title(app, cells));
    let Some(meeting) = app.meeting() else {
        return;
    };
    put(buf, area, 1, &clip(header(app, meeting), cells));
    let body = lines(app, meeting, cells);
    let shown = usize::from(area.height.saturating_sub(3));
    for (n, line) in body.into_iter().take(shown).enumerate() {
        put(buf, area, 2 + n, &clip(line, cells));
    }
    let footer_y = usize::from(area.height.saturating_sub(1));
    put(buf, area, footer_y, &super::chrome::footer(app, cells));
}

/// `MEETING  7 of 23 · releasing in 0-14 days   this person 1:35 · meeting 12:04`.
fn header(app: &App, meeting: &Meeting) -> Line<'static> {
    let theme = &app.options().theme;
    let now = app.now();
    let why = meeting.current().map_or("", |a| a.why.label());
    let left = format!(
        "MEETING  {} of {} · {why}",
        meeting.at + 1,
        meeting.agenda.len()
    );
    let right = format!(
        "this person {} · meeting {}",
        ms::clock_text(meeting.person_seconds(now)),
        ms::clock_text(meeting.total_seconds(now))
    );
    Line::from(vec![
        Span::styled(left, theme.style(Slot::Band)),
        Span::raw("   "),
        Span::styled(right, theme.style(Slot::Header)),
    ])
}

/// The body under the header, most needed first so a short screen cuts the least.
pub fn lines(app: &App, meeting: &Meeting, cells: usize) -> Vec<Line<'static>> {
    let theme = &app.options().theme;
    let ascii = app.options().ascii;
    let mut out: Vec<Line<'static>> = Vec::new();
    if let Err(why) = app.meeting_state() {
        out.push(Line::styled(
            format!("Read-only: {why}. Decisions, tasks and ending are not available."),
            theme.style(Slot::Muted),
        ));
    }
    let Some(row) = app.meeting_row() else {
        out.push(Line::raw(
            "This person is no longer on the board (released or transferred).",
        ));
        out.extend(this_meeting(app, meeting, None));
        return out;
    };
    let r = &row.record;
    out.push(Line::styled(person(app, row), theme.style(Slot::Header)));
    let mut strip = vec![Span::raw("Readiness ")];
    for m in &row.readiness.milestones {
        strip.push(Span::styled(
            format!("{}{}", m.state.glyph(ascii), m.code.letter()),
            theme.state(m.state),
        ));
    }
    if row.readiness.late_entry {
        strip.push(Span::raw("  late entry"));
    }
    out.push(Line::from(strip));

    let window = app.options().rules.change_window_days;
    for flag in r.date_flags.iter().filter(|f| f.status == FlagStatus::Open) {
        out.push(Line::styled(
            format!(
                "Open date flag: {} proposed by {} ({})",
                flag.proposed
                    .map_or_else(|| "no date".to_string(), |d| d.to_string()),
                flag.raised_by,
                flag.reason.label()
            ),
            theme.style(Slot::Flag),
        ));
    }
    let unacknowledged = r.unacknowledged_changes(window);
    if unacknowledged > 0 {
        out.push(Line::styled(
            format!("{unacknowledged} release-date change(s) await acknowledgement"),
            theme.style(Slot::Flag),
        ));
    }
    out.extend(late(app, row, cells));
    out.push(Line::raw(medications(
        r,
        app.may_see_part2(r) && !app.presentation(),
        ascii,
    )));

    let tasks: Vec<_> = app.tasks_of(&r.person.id).collect();
    let hide_part2 = !app.may_see_part2(r);
    if !tasks.is_empty() {
        out.push(Line::styled(
            format!("Open tasks ({})", tasks.len()),
            theme.style(Slot::Band),
        ));
        for t in tasks {
            let late = ms::overdue(t, app.today());
            let mark = match (late, ascii) {
                (true, _) => "!",
                (false, true) => "-",
                (false, false) => "□",
            };
            let what = ms::safe_text(&t.what, Some(r), app.presentation(), hide_part2);
            let text = format!(
                " {mark} {what} — {}, by {}{}",
                t.owner,
                t.due,
                if late { " (overdue)" } else { "" }
            );
            out.push(if late {
                Line::styled(text, theme.style(Slot::Overdue))
            } else {
                Line::raw(text)
            });
        }
    }
    out.extend(this_meeting(app, meeting, Some(r)));
    out
}

/// What is late or due soon, one wrapped line per state with the milestones and their days:
/// `✗ overdue (3): warm handoff 05-20, transport arranged 05-27, ...`.
fn late(app: &App, row: &BoardRow, cells: usize) -> Vec<Line<'static>> {
    let theme = &app.options().theme;
    let ascii = app.options().ascii;
    let mut out = Vec::new();
    for state in [
        MilestoneState::Overdue,
        MilestoneState::Blocked,
        MilestoneState::DueSoon,
    ] {
        let items: Vec<String> = row
            .readiness
            .milestones
            .iter()
            .filter(|m| m.state == state)
            .map(|m| {
                let mut text = m.code.label().to_string();
                if let Some(reason) = m.blocked_by {
                    text.push_str(&format!(" ({})", reason.label()));
                } else if let Some(due) = m.due {
                    text.push_str(&format!(" {}", due.format("%m-%d")));
                }
                text
            })
            .collect();
        if items.is_empty() {
            continue;
        }
        let text = format!(
            "{} {} ({}): {}",
            state.glyph(ascii),
            state.label(),
            items.len(),
            items.join(", ")
        );
        out.extend(wrap(Line::styled(text, theme.state(state)), cells));
    }
    if out.is_empty() {
        out.push(Line::raw("Nothing overdue, blocked or due soon."));
    }
    out
}

fn person(app: &App, row: &BoardRow) -> String {
    let r = &row.record;
    let release = match r.release.date {
        Some(d) => format!("release {d} ({})", r.release.certainty.label()),
        None => "release date unknown".to_string(),
    };
    format!(
        "{}  {}  {} {}  {release} · {} · {}",
        name(r, app.name_format()),
        r.person.booking_id,
        r.person.facility.name,
        r.person.unit,
        days(row.readiness.days_to_release),
        row.readiness.band.label(),
    )
}

/// `Medications: 2 (1 ready), 1 protected ✗ · naloxone offered · DME none` — never a drug name.
fn medications(r: &PersonRecord, part2_visible: bool, ascii: bool) -> String {
    let (protected, open): (Vec<_>, Vec<_>) = r
        .medications
        .iter()
        .partition(|m| m.is_part2() && !part2_visible);
    let mut meds = Vec::new();
    if !open.is_empty() {
        let ready = open.iter().filter(|m| m.supply.is_ready()).count();
        meds.push(format!("{} ({ready} ready)", open.len()));
    }
    if !protected.is_empty() {
        let all_ready = protected.iter().all(|m| m.supply.is_ready());
        let mark = match (all_ready, ascii) {
            (true, false) => "✓",
            (false, false) => "✗",
            (true, true) => "ready",
            (false, true) => "not ready",
        };
        meds.push(format!("{} protected {mark}", protected.len()));
    }
    if meds.is_empty() {
        meds.push("none".into());
    }
    let dme = if r.dme.is_empty() {
        "none".to_string()
    } else {
        let delivered = r
            .dme
            .iter()
            .filter(|d| d.status == crate::domain::DmeStatus::Delivered)
            .count();
        format!("{delivered} of {} delivered", r.dme.len())
    };
    format!(
        "Medications: {} · naloxone {} · DME {dme}",
        meds.join(", "),
        r.naloxone.map_or("not yet offered", |n| n.label())
    )
}

/// What this meeting has for the person so far, then who is in the room.
fn this_meeting(app: &App, meeting: &Meeting, r: Option<&PersonRecord>) -> Vec<Line<'static>> {
    let theme = &app.options().theme;
    let ascii = app.options().ascii;
    let hide_part2 = r.is_some_and(|r| !app.may_see_part2(r));
    let mut out = Vec::new();
    let Some(review) = meeting.review() else {
        return out;
    };
    let (tick, dot) = if ascii { ("[x]", "-") } else { ("✓", "·") };
    let state = if review.reviewed {
        format!("{tick} reviewed")
    } else {
        "not reviewed yet".to_string()
    };
    out.push(Line::styled(
        format!("This meeting: {state}"),
        theme.style(Slot::Band),
    ));
    for d in &review.decisions {
        let text = ms::safe_text(d, r, app.presentation(), hide_part2);
        out.push(Line::raw(format!(" {dot} decided: {text}")));
    }
    for t in &review.tasks {
        let what = ms::safe_text(&t.what, r, app.presentation(), hide_part2);
        out.push(Line::raw(format!(
            " + task: {what} — {}, by {}",
            t.owner, t.due
        )));
    }
    let names: Vec<&str> = meeting.attendees.iter().map(|a| a.name.as_str()).collect();
    out.push(Line::styled(
        truncate(
            &format!("Attending ({}): {}", names.len(), names.join(", ")),
            usize::MAX >> 1,
        ),
        theme.style(Slot::Muted),
    ));
    out
}
