//! The meeting screen. 100 columns and wider: the agenda down the left (everyone on it in agenda
//! order under its section breaks, with reviewed ✓, name, days and strip; the person on screen
//! marked ▶ and highlighted) and the person under discussion in the rest: what needs doing first,
//! then what changed since the last meeting, the care team and warm handoff, medications and DME
//! as counts, and what this meeting recorded for them. Narrower, the same in priority order under
//! a one-line agenda. Shared-screen safe whatever the mode: counts rather than drug names,
//! protected medications only as ✓/✗, the short name form in presentation mode.
//!
//! Drawing is a pure function of a [`MeetingView`], which `App::meeting_view` gathers.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::board::days;
use super::chrome::{clip, put, title};
use super::person::{self, Look, wrap};
use super::text::{fit, fit_right, truncate, width};
use crate::domain::{BoardRow, MilestoneState, PersonName};
use crate::meeting::{OpenTask, Why};
use crate::theme::Slot;
use crate::tui::App;
use crate::tui::meeting_screen::{self as ms, Meeting};

/// One person of the agenda as the side list shows them (whether they were reviewed, and why
/// they are on it, the meeting itself knows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaLine {
    /// `None` once they are no longer on the board (released or transferred).
    pub name: Option<PersonName>,
    pub days: Option<i64>,
    pub strip: Vec<MilestoneState>,
}

impl AgendaLine {
    pub fn new(row: Option<&BoardRow>) -> Self {
        Self {
            name: row.map(|r| r.record.person.name.clone()),
            days: row.and_then(|r| r.readiness.days_to_release),
            strip: row.map_or_else(Vec::new, |r| {
                r.readiness.milestones.iter().map(|m| m.state).collect()
            }),
        }
    }
}

/// How many agenda people either side of the one on screen the view may show: more than any
/// screen is tall, and few enough that a huge agenda costs nothing per frame.
pub const AGENDA_WINDOW: usize = 256;

/// Everything the meeting screen draws besides the title and the footer.
#[derive(Debug, Clone)]
pub struct MeetingView<'a> {
    pub meeting: &'a Meeting,
    /// The agenda people from `agenda_from` on, in agenda order: those within
    /// [`AGENDA_WINDOW`] of the person on screen.
    pub agenda_from: usize,
    pub agenda: Vec<AgendaLine>,
    /// The person on screen (record and readiness), if still on the board.
    pub current: Option<BoardRow>,
    /// Their open follow-up tasks from earlier meetings, soonest due first.
    pub tasks: Vec<OpenTask>,
    /// Whether the signed-in role may see this person's Part 2 details (decides which drug
    /// names are blanked in free text).
    pub part2_visible: bool,
    /// Why this session cannot record the meeting, when it cannot.
    pub read_only: Option<String>,
    pub look: Look<'a>,
    pub now: DateTime<Utc>,
}

/// The side-by-side layout from this width on.
pub const SIDE_FROM: u16 = 100;

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.height < 4 || area.is_empty() {
        return;
    }
    let cells = usize::from(area.width);
    put(frame.buffer_mut(), area, 0, &title(app, cells));
    let Some(view) = app.meeting_view() else {
        return;
    };
    draw_view(frame, &view);
    let footer_y = usize::from(area.height.saturating_sub(1));
    put(
        frame.buffer_mut(),
        area,
        footer_y,
        &super::chrome::footer(app, cells),
    );
}

/// Everything between the title line and the footer.
pub fn draw_view(frame: &mut Frame, view: &MeetingView) {
    let area = frame.area();
    let cells = usize::from(area.width);
    let buf = frame.buffer_mut();
    put(buf, area, 1, &clip(header(view), cells));
    let body = Rect {
        x: area.x,
        y: area.y.saturating_add(2),
        width: area.width,
        height: area.height.saturating_sub(3),
    };
    if body.height == 0 {
        return;
    }
    if area.width >= SIDE_FROM {
        let side = agenda_width(area.width);
        let agenda = Rect {
            width: side,
            ..body
        };
        draw_agenda(buf, agenda, view);
        let rule = if view.look.ascii { "|" } else { "│" };
        for y in 0..body.height {
            put(
                buf,
                Rect {
                    x: body.x.saturating_add(side),
                    width: 1,
                    ..body
                },
                usize::from(y),
                &Line::styled(rule, view.look.theme.style(Slot::Header)),
            );
        }
        let panel = Rect {
            x: body.x.saturating_add(side + 2),
            width: body.width.saturating_sub(side + 2),
            ..body
        };
        draw_panel(buf, panel, view);
    } else {
        put(buf, body, 0, &clip(agenda_line(view, cells), cells));
        let panel = Rect {
            y: body.y.saturating_add(1),
            height: body.height.saturating_sub(1),
            ..body
        };
        draw_panel(buf, panel, view);
    }
}

/// How far the person's panel scrolls at this size, for PgDn.
pub fn max_scroll(view: &MeetingView, size: (u16, u16)) -> usize {
    let (w, h) = size;
    let rows = usize::from(h.saturating_sub(if w >= SIDE_FROM { 3 } else { 4 }));
    panel(view, panel_width(w), rows).len().saturating_sub(rows)
}

fn agenda_width(total: u16) -> u16 {
    match total {
        180.. => 60,
        120.. => 40,
        _ => 36,
    }
}

fn panel_width(total: u16) -> usize {
    if total >= SIDE_FROM {
        usize::from(total.saturating_sub(agenda_width(total) + 2))
    } else {
        usize::from(total)
    }
}

/// `MEETING  7 of 23 · releasing in 0-14 days   this person 1:35 · meeting 12:04`.
fn header(view: &MeetingView) -> Line<'static> {
    let theme = view.look.theme;
    let meeting = view.meeting;
    let why = meeting.current().map_or("", |a| a.why.label());
    let left = format!(
        "MEETING  {} of {} · {why}",
        meeting.at + 1,
        meeting.agenda.len()
    );
    let right = format!(
        "this person {} · meeting {}",
        ms::clock_text(meeting.person_seconds(view.now)),
        ms::clock_text(meeting.total_seconds(view.now))
    );
    Line::from(vec![
        Span::styled(left, theme.style(Slot::Band)),
        Span::raw("   "),
        Span::styled(right, theme.style(Slot::Header)),
    ])
}

fn reviewed_count(view: &MeetingView) -> usize {
    view.meeting.reviews.iter().filter(|r| r.reviewed).count()
}

fn reviewed(view: &MeetingView, i: usize) -> bool {
    view.meeting.reviews.get(i).is_some_and(|r| r.reviewed)
}

/// Agenda person `i` as gathered, if within the window.
fn line_of<'v>(view: &'v MeetingView, i: usize) -> Option<&'v AgendaLine> {
    i.checked_sub(view.agenda_from)
        .and_then(|k| view.agenda.get(k))
}

fn name_of(view: &MeetingView, i: usize) -> String {
    line_of(view, i).and_then(|a| a.name.as_ref()).map_or_else(
        || "(left the board)".to_string(),
        |n| n.formatted(view.look.name_format),
    )
}

/// The agenda on one line for narrow screens: a cell per person (✓ reviewed, ▶ on screen, ·
/// passed, ○ still to come), how many are reviewed, and who is next.
fn agenda_line(view: &MeetingView, cells: usize) -> Line<'static> {
    let theme = view.look.theme;
    let ascii = view.look.ascii;
    let at = view.meeting.at;
    let reached = &view.meeting.reached;
    let total = view.meeting.agenda.len();
    let next = if at + 1 < total {
        name_of(view, at + 1)
    } else {
        "end of the agenda".to_string()
    };
    let tail = format!(
        " {} of {total} reviewed · next: {next}",
        reviewed_count(view)
    );
    // The cells that fit beside the words, in a window that keeps the current person in view.
    let room = cells.saturating_sub(width("Agenda ") + 12).max(5);
    let start = if total <= room {
        0
    } else {
        at.saturating_sub(room / 3).min(total.saturating_sub(room))
    };
    let mut spans = vec![Span::styled("Agenda ".to_string(), theme.style(Slot::Band))];
    if start > 0 {
        spans.push(Span::raw(if ascii { "<" } else { "…" }));
    }
    for i in (start..total).take(room) {
        let (glyph, slot) = match (
            i == at,
            reviewed(view, i),
            reached.get(i).copied().unwrap_or(false),
        ) {
            (true, _, _) => (if ascii { ">" } else { "▶" }, Slot::Selected),
            (false, true, _) => (if ascii { "+" } else { "✓" }, Slot::Done),
            (false, false, true) => (if ascii { "-" } else { "·" }, Slot::Pending),
            (false, false, false) => (if ascii { "." } else { "○" }, Slot::Pending),
        };
        spans.push(Span::styled(glyph.to_string(), theme.style(slot)));
    }
    if start + room < total {
        spans.push(Span::raw(if ascii { ">" } else { "…" }));
    }
    spans.push(Span::raw(tail));
    clip(Line::from(spans), cells)
}

/// The side list: a heading, then each section of the agenda under its break, the person on
/// screen highlighted and kept in view.
fn draw_agenda(buf: &mut ratatui::buffer::Buffer, area: Rect, view: &MeetingView) {
    let theme = view.look.theme;
    let ascii = view.look.ascii;
    let cells = usize::from(area.width);
    put(
        buf,
        area,
        0,
        &Line::styled(
            fit(
                &format!(
                    "Agenda · {} of {} reviewed",
                    reviewed_count(view),
                    view.meeting.agenda.len()
                ),
                cells,
            ),
            theme.style(Slot::Header),
        ),
    );
    // Heading or person per line; the person's index into the agenda.
    let mut lines: Vec<Result<usize, (Why, usize)>> = Vec::new();
    let mut section = None;
    let items = &view.meeting.agenda;
    for (i, a) in items.iter().enumerate() {
        if section != Some(a.why) {
            section = Some(a.why);
            let count = items.iter().filter(|b| b.why == a.why).count();
            lines.push(Err((a.why, count)));
        }
        lines.push(Ok(i));
    }
    let rows = usize::from(area.height.saturating_sub(1));
    let current = lines
        .iter()
        .position(|l| *l == Ok(view.meeting.at))
        .unwrap_or(0);
    // The current person a third of the way down, so who comes next is visible.
    let offset = if lines.len() <= rows {
        0
    } else {
        current
            .saturating_sub(rows / 3)
            .min(lines.len().saturating_sub(rows))
    };
    let strip_full = cells >= 60;
    let strip_w = if strip_full { 30 } else { 15 };
    let name_w = cells.saturating_sub(2 + 1 + 1 + 5 + 1 + strip_w);
    for (n, line) in lines.iter().skip(offset).take(rows).enumerate() {
        let y = n + 1;
        match *line {
            Err((why, count)) => {
                let rule = if ascii { "==" } else { "──" };
                let text = format!("{rule} {} ({count}) ", capitalise(why.label()));
                let fill: String = std::iter::repeat_n(
                    if ascii { '=' } else { '─' },
                    cells.saturating_sub(width(&text)),
                )
                .collect();
                put(
                    buf,
                    area,
                    y,
                    &Line::styled(
                        truncate(&format!("{text}{fill}"), cells),
                        theme.style(Slot::Band),
                    ),
                );
            }
            Ok(i) => {
                let Some(a) = line_of(view, i) else {
                    continue;
                };
                let here = i == view.meeting.at;
                let mark = match (here, ascii) {
                    (true, false) => "▶",
                    (true, true) => ">",
                    (false, _) => " ",
                };
                let tick = match (reviewed(view, i), ascii) {
                    (true, false) => "✓",
                    (true, true) => "+",
                    (false, _) => " ",
                };
                let mut spans = vec![
                    Span::raw(mark.to_string()),
                    Span::styled(tick.to_string(), theme.state(MilestoneState::Done)),
                    Span::raw(" "),
                    Span::raw(fit(&name_of(view, i), name_w)),
                    Span::raw(" "),
                    Span::raw(fit_right(
                        &a.name.as_ref().map_or(String::new(), |_| days(a.days)),
                        5,
                    )),
                    Span::raw(" "),
                ];
                for (k, state) in a.strip.iter().enumerate() {
                    let letter = if strip_full {
                        crate::domain::MilestoneCode::all()
                            .nth(k)
                            .map_or(String::new(), |c| c.letter().to_string())
                    } else {
                        String::new()
                    };
                    spans.push(Span::styled(
                        format!("{}{letter}", state.glyph(ascii)),
                        theme.state(*state),
                    ));
                }
                put(buf, area, y, &clip(Line::from(spans), cells));
                if here {
                    let row = Rect {
                        y: area.y.saturating_add(u16::try_from(y).unwrap_or(u16::MAX)),
                        height: 1,
                        ..area
                    };
                    if row.y < area.bottom() {
                        buf.set_style(row, theme.style(Slot::Selected));
                    }
                }
            }
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The person's panel: lines across its width on top, then one column or two side by side.
struct Panel {
    top: Vec<Line<'static>>,
    columns: Vec<Vec<Line<'static>>>,
}

impl Panel {
    fn len(&self) -> usize {
        self.top.len() + self.columns.iter().map(Vec::len).max().unwrap_or(0)
    }
}

/// The person's panel, scrolled as one; wide panels in two columns.
fn draw_panel(buf: &mut ratatui::buffer::Buffer, area: Rect, view: &MeetingView) {
    let cells = usize::from(area.width);
    let rows = usize::from(area.height);
    let panel = panel(view, cells, rows);
    let scroll = view.meeting.scroll.min(panel.len().saturating_sub(rows));
    let more = panel.len().saturating_sub(scroll + rows);
    let col_w = column_width(cells, panel.columns.len());
    let top = panel.top.len();
    for n in 0..rows {
        let at = scroll + n;
        if let Some(line) = panel.top.get(at) {
            put(buf, area, n, &clip(line.clone(), cells));
            continue;
        }
        for (c, lines) in panel.columns.iter().enumerate() {
            let Some(line) = lines.get(at - top) else {
                continue;
            };
            let col = Rect {
                x: area
                    .x
                    .saturating_add(u16::try_from(c * (col_w + 2)).unwrap_or(u16::MAX)),
                width: u16::try_from(col_w).unwrap_or(u16::MAX),
                ..area
            };
            put(buf, col, n, &clip(line.clone(), col_w));
        }
    }
    if more > 0 && rows > 0 {
        let arrow = if view.look.ascii { "v" } else { "↓" };
        let line = Line::styled(
            fit(&format!("{arrow} {more} more line(s): PgDn"), cells),
            view.look.theme.style(Slot::Flag),
        );
        put(buf, area, rows - 1, &line);
    }
}

/// Two columns from this panel width on.
const TWO_COLUMNS_FROM: usize = 120;

fn column_width(cells: usize, columns: usize) -> usize {
    if columns > 1 {
        (cells.saturating_sub(2)) / 2
    } else {
        cells
    }
}

/// The panel's lines: wide, what needs doing, what changed and what comes next on the left and
/// the rest on the right; otherwise one column, with a blank line between sections when that
/// still fits in `rows`, and without (the meeting's own record moved up) when it does not.
fn panel(view: &MeetingView, cells: usize, rows: usize) -> Panel {
    let two = cells >= TWO_COLUMNS_FROM;
    let w = column_width(cells, if two { 2 } else { 1 });
    let theme = view.look.theme;
    let mut top: Vec<Line<'static>> = Vec::new();
    if let Some(why) = &view.read_only {
        top.extend(wrap(
            vec![Span::styled(
                format!("Read-only: {why}. Decisions, tasks and ending are not available."),
                theme.style(Slot::Flag),
            )],
            cells,
            2,
        ));
    }
    let Some(row) = &view.current else {
        top.push(Line::raw(
            "This person is no longer on the board (released or transferred).",
        ));
        top.extend(this_meeting(view, cells));
        top.extend(attending(view, cells));
        return Panel {
            top,
            columns: Vec::new(),
        };
    };
    top.extend(person_lines(row, view, cells));
    let needs = person::needs_doing(row, &view.look, w);
    let changes = person::changes(&row.record, &view.look, w);
    let care = person::care(&row.record, &view.look, w);
    let meds = person::medications(&row.record, &view.look, w);
    let this = this_meeting(view, w);
    let earlier = open_tasks(view, w);
    let next = person::coming_up(row, &view.look, w);
    let attending = attending(view, w);
    let spaced = |sections: Vec<&Vec<Line<'static>>>| {
        let mut out: Vec<Line<'static>> = Vec::new();
        for section in sections.into_iter().filter(|s| !s.is_empty()) {
            out.push(Line::raw(""));
            out.extend(section.iter().cloned());
        }
        out
    };
    if two {
        let left = spaced(vec![&needs, &changes, &next]);
        let right = spaced(vec![&care, &meds, &this, &earlier, &attending]);
        return Panel {
            top,
            columns: vec![left, right],
        };
    }
    let roomy = spaced(vec![
        &needs, &changes, &care, &meds, &this, &earlier, &attending, &next,
    ]);
    if top.len() + roomy.len() <= rows {
        return Panel {
            top,
            columns: vec![roomy],
        };
    }
    // Every line counts: no blank lines, and what this meeting recorded right after what
    // needs doing and what changed, so it is on screen when it was just typed.
    let mut out = Vec::new();
    for section in [needs, changes, this, meds, care, earlier, attending, next] {
        out.extend(section);
    }
    Panel {
        top,
        columns: vec![out],
    }
}

/// Who, where, when: the name line, the strip, and what kind of case this is.
fn person_lines(row: &BoardRow, view: &MeetingView, cells: usize) -> Vec<Line<'static>> {
    let look = &view.look;
    let theme = look.theme;
    let r = &row.record;
    let release = match r.release.date {
        Some(d) => format!("release {d} ({})", r.release.certainty.label()),
        None => "release date unknown".to_string(),
    };
    // Most telling first, so a narrow screen cuts the facility rather than the date.
    let text = format!(
        "{}{}  {}  {release} · {} · {}  {} {}",
        r.person.name.formatted(look.name_format),
        if r.person.youth { " · youth" } else { "" },
        r.person.booking_id,
        days(row.readiness.days_to_release),
        row.readiness.band.label(),
        r.person.facility.name,
        r.person.unit,
    );
    let mut out = vec![Line::styled(
        truncate(&text, cells),
        theme.style(Slot::Header),
    )];
    let mut strip = vec![Span::raw("Readiness ")];
    strip.extend(person::strip(row, look));
    if row.readiness.late_entry {
        strip.push(Span::raw("  late entry"));
    }
    if r.has_part2() {
        strip.push(Span::raw("  protected (Part 2)"));
    }
    out.push(Line::from(strip));
    if r.release.date.is_none() {
        out.extend(wrap(
            vec![Span::styled(
                "Pretrial: only the unplanned-release minimum counts until there is a date \
                 (screening, consent, medications, Medi-Cal, notifications)."
                    .to_string(),
                theme.style(Slot::Flag),
            )],
            cells,
            2,
        ));
    }
    out
}

/// What this meeting has for the person so far.
fn this_meeting(view: &MeetingView, cells: usize) -> Vec<Line<'static>> {
    let theme = view.look.theme;
    let ascii = view.look.ascii;
    let record = view.current.as_ref().map(|r| &r.record);
    let hide_part2 = !view.part2_visible;
    let mut out = Vec::new();
    let Some(review) = view.meeting.review() else {
        return out;
    };
    let (tick, dot) = if ascii { ("[x]", "-") } else { ("✓", "·") };
    let state = if review.reviewed {
        format!("{tick} reviewed")
    } else {
        "not reviewed yet".to_string()
    };
    out.push(Line::from(vec![
        Span::styled("This meeting".to_string(), theme.style(Slot::Band)),
        Span::raw(format!(": {state}")),
    ]));
    for d in &review.decisions {
        let text = ms::safe_text(d, record, view.look.presentation, hide_part2);
        out.extend(wrap(
            vec![Span::raw(format!(" {dot} decided: {text}"))],
            cells,
            3,
        ));
    }
    for t in &review.tasks {
        let what = ms::safe_text(&t.what, record, view.look.presentation, hide_part2);
        out.extend(wrap(
            vec![Span::raw(format!(
                " + task: {what} — {}, by {}",
                t.owner, t.due
            ))],
            cells,
            3,
        ));
    }
    out
}

/// Follow-up tasks still open from earlier meetings.
fn open_tasks(view: &MeetingView, cells: usize) -> Vec<Line<'static>> {
    let theme = view.look.theme;
    let ascii = view.look.ascii;
    let record = view.current.as_ref().map(|r| &r.record);
    let hide_part2 = !view.part2_visible;
    let mut out = Vec::new();
    if view.tasks.is_empty() {
        return out;
    }
    out.push(Line::styled(
        format!("Open tasks ({})", view.tasks.len()),
        theme.style(Slot::Band),
    ));
    for t in &view.tasks {
        let late = ms::overdue(t, view.look.today);
        let mark = match (late, ascii) {
            (true, _) => "!",
            (false, true) => "-",
            (false, false) => "□",
        };
        let what = ms::safe_text(&t.what, record, view.look.presentation, hide_part2);
        let text = format!(
            " {mark} {what} — {}, by {}{}",
            t.owner,
            t.due,
            if late { " (overdue)" } else { "" }
        );
        let style = if late {
            theme.style(Slot::Overdue)
        } else {
            ratatui::style::Style::new()
        };
        out.extend(wrap(vec![Span::styled(text, style)], cells, 3));
    }
    out
}

fn attending(view: &MeetingView, cells: usize) -> Vec<Line<'static>> {
    let names: Vec<&str> = view
        .meeting
        .attendees
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    wrap(
        vec![Span::raw(format!(
            "Attending ({}): {}",
            names.len(),
            names.join(", ")
        ))],
        cells,
        2,
    )
}
