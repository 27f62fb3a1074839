//! One person as the meeting and the detail view present them: what needs doing first (every
//! overdue, blocked and due-soon milestone in words, with the role that owns it, when it was due
//! and the barrier), then what changed since the last meeting, the care team and warm handoff,
//! and medications and DME as counts. Pure functions of the record and a [`Look`]. What they
//! write is safe on a shared screen whatever the mode: no drug names, Part 2 medications only as
//! "protected ✓/✗", no free text of barriers or date changes, no phone numbers.

use chrono::{DateTime, NaiveDate, Utc};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::text::{fit, width};
use crate::domain::{
    BoardRow, DmeStatus, FlagStatus, MilestoneState, MilestoneStatus, NameFormat, PersonRecord,
};
use crate::theme::{Slot, Theme};
use crate::tui::App;

/// How a person is drawn: the theme, the glyph set, the mode and the day. Everything a person's
/// lines depend on besides the record itself.
#[derive(Debug, Clone, Copy)]
pub struct Look<'a> {
    pub theme: &'a Theme,
    pub ascii: bool,
    pub presentation: bool,
    pub name_format: NameFormat,
    pub today: NaiveDate,
    /// Release-date changes and barriers after this are "since the last meeting".
    pub last_meeting: Option<DateTime<Utc>>,
    /// A change made this close to release awaits acknowledgement.
    pub change_window_days: i64,
}

impl<'a> Look<'a> {
    pub fn of(app: &'a App) -> Self {
        let options = app.options();
        Self {
            theme: &options.theme,
            ascii: options.ascii,
            presentation: app.presentation(),
            name_format: app.name_format(),
            today: app.today(),
            last_meeting: options.last_meeting,
            change_window_days: options.rules.change_window_days,
        }
    }

    fn arrow(&self) -> &'static str {
        if self.ascii { "->" } else { "→" }
    }

    fn delta(&self) -> &'static str {
        if self.ascii { "D" } else { "Δ" }
    }

    /// `05-20` this year, `2025-05-20` otherwise: short where it cannot be misread.
    fn date(&self, d: NaiveDate) -> String {
        if d.format("%Y").to_string() == self.today.format("%Y").to_string() {
            d.format("%m-%d").to_string()
        } else {
            d.to_string()
        }
    }
}

/// The milestones that need doing, most urgent first: overdue, then blocked, then due soon, the
/// earliest due first within each.
pub fn needs_doing_items(row: &BoardRow) -> Vec<&MilestoneStatus> {
    let rank = |s: MilestoneState| match s {
        MilestoneState::Overdue => 0,
        MilestoneState::Blocked => 1,
        _ => 2,
    };
    let mut items: Vec<&MilestoneStatus> = row
        .readiness
        .milestones
        .iter()
        .filter(|m| {
            matches!(
                m.state,
                MilestoneState::Overdue | MilestoneState::Blocked | MilestoneState::DueSoon
            )
        })
        .collect();
    items.sort_by_key(|m| (rank(m.state), m.due.is_none(), m.due));
    items
}

/// "What needs doing": a heading with the counts, then one line per milestone with its owner,
/// due date and what is wrong in words. Wider than 64 cells the parts line up in columns.
pub fn needs_doing(row: &BoardRow, look: &Look, cells: usize) -> Vec<Line<'static>> {
    let theme = look.theme;
    let items = needs_doing_items(row);
    if items.is_empty() {
        let tick = if look.ascii { "+" } else { "✓" };
        return vec![Line::from(vec![
            Span::styled(tick.to_string(), theme.state(MilestoneState::Done)),
            Span::styled(
                " Nothing overdue, blocked or due soon.".to_string(),
                theme.style(Slot::Band),
            ),
        ])];
    }
    let count = |s| items.iter().filter(|m| m.state == s).count();
    let mut parts = Vec::new();
    for (state, word) in [
        (MilestoneState::Overdue, "overdue"),
        (MilestoneState::Blocked, "blocked"),
        (MilestoneState::DueSoon, "due soon"),
    ] {
        let n = count(state);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    let mut out = vec![Line::styled(
        format!("What needs doing ({}): {}", items.len(), parts.join(" · ")),
        theme.style(Slot::Band),
    )];
    let label_w = items
        .iter()
        .map(|m| width(m.code.label()))
        .max()
        .unwrap_or(0);
    let owner_w = items
        .iter()
        .map(|m| width(m.code.owner().label()))
        .max()
        .unwrap_or(0);
    let due_w = items
        .iter()
        .map(|m| width(&due_text(m, look)))
        .max()
        .unwrap_or(0);
    let what_w = items
        .iter()
        .map(|m| width(&what_is_wrong(m, look)))
        .max()
        .unwrap_or(0);
    // In columns when a whole row fits, so the room can run down the dates and the owners;
    // otherwise one flowing sentence per milestone.
    let columns = 3 + label_w + 2 + owner_w + 2 + due_w + 2 + what_w <= cells;
    for m in items {
        let glyph = Span::styled(
            format!("{}", m.state.glyph(look.ascii)),
            theme.state(m.state),
        );
        let what = what_is_wrong(m, look);
        let spans = if columns {
            vec![
                Span::raw(" "),
                glyph,
                Span::raw(" "),
                Span::raw(fit(m.code.label(), label_w)),
                Span::raw("  "),
                Span::raw(fit(m.code.owner().label(), owner_w)),
                Span::raw("  "),
                Span::raw(fit(&due_text(m, look), due_w)),
                Span::raw("  "),
                Span::styled(what, theme.state(m.state)),
            ]
        } else {
            vec![
                Span::raw(" "),
                glyph,
                Span::raw(format!(" {} — ", m.code.label())),
                Span::styled(what, theme.state(m.state)),
                Span::raw(format!(
                    " ({}, {})",
                    m.code.owner().label(),
                    due_text(m, look)
                )),
            ]
        };
        out.extend(wrap(spans, cells, 3));
    }
    out
}

/// `due 05-20`, or `catch-up 05-27` for a late entry (booked after the window had closed).
fn due_text(m: &MilestoneStatus, look: &Look) -> String {
    let word = if m.late_entry { "catch-up" } else { "due" };
    m.due.map_or_else(
        || "no due date".to_string(),
        |d| format!("{word} {}", look.date(d)),
    )
}

/// `12 days late`, `due in 3 days`, `blocked: pharmacy delay`.
fn what_is_wrong(m: &MilestoneStatus, look: &Look) -> String {
    let days = m.due.map(|d| (d - look.today).num_days());
    match (m.state, m.blocked_by, days) {
        (_, Some(reason), _) => format!("blocked: {}", reason.label()),
        (MilestoneState::Overdue, _, Some(d)) => match -d {
            1 => "1 day late".to_string(),
            n => format!("{n} days late"),
        },
        (MilestoneState::DueSoon, _, Some(0)) => "due today".to_string(),
        (MilestoneState::DueSoon, _, Some(1)) => "due tomorrow".to_string(),
        (MilestoneState::DueSoon, _, Some(d)) => format!("due in {d} days"),
        (state, _, _) => state.label().to_string(),
    }
}

/// What comes next: the pending milestones with a due date, soonest first, each with its owner.
pub fn coming_up(row: &BoardRow, look: &Look, cells: usize) -> Vec<Line<'static>> {
    let mut pending: Vec<&MilestoneStatus> = row
        .readiness
        .milestones
        .iter()
        .filter(|m| m.state == MilestoneState::Pending && m.due.is_some())
        .collect();
    if pending.is_empty() {
        return Vec::new();
    }
    pending.sort_by_key(|m| m.due);
    let mut out = vec![Line::styled(
        format!("Coming up ({})", pending.len()),
        look.theme.style(Slot::Band),
    )];
    for m in pending {
        out.extend(wrap(
            vec![
                Span::raw(" "),
                Span::styled(
                    m.state.glyph(look.ascii).to_string(),
                    look.theme.state(m.state),
                ),
                Span::raw(format!(
                    " {} ({}, {})",
                    m.code.label(),
                    m.code.owner().label(),
                    due_text(m, look)
                )),
            ],
            cells,
            3,
        ));
    }
    out
}

/// What changed since the last meeting and what waits on the meeting: release-date moves (and
/// older ones still awaiting acknowledgement), open date flags, barriers recorded since.
pub fn changes(r: &PersonRecord, look: &Look, cells: usize) -> Vec<Line<'static>> {
    let theme = look.theme;
    let since = look.last_meeting;
    let mut items: Vec<Vec<Span<'static>>> = Vec::new();
    let mark = |text: &str| Span::styled(text.to_string(), theme.style(Slot::Flag));
    for c in &r.release_history {
        let new = since.is_some_and(|t| c.changed_at > t);
        let waits = c.awaits_acknowledgement(look.change_window_days);
        if !new && !waits {
            continue;
        }
        let date = |d: Option<NaiveDate>| d.map_or_else(|| "unknown".to_string(), |d| look.date(d));
        let mut text = format!(
            " release date {} {} {} ({}) by {} on {}",
            date(c.from),
            look.arrow(),
            date(c.to),
            c.reason.label(),
            c.changed_by,
            look.date(c.changed_at.date_naive()),
        );
        if waits {
            text.push_str(", awaits acknowledgement");
        }
        items.push(vec![mark(look.delta()), Span::raw(text)]);
    }
    for f in r.date_flags.iter().filter(|f| f.status == FlagStatus::Open) {
        items.push(vec![
            mark(look.delta()),
            Span::raw(format!(
                " open flag: release on {} proposed by {} ({}) on {}",
                f.proposed
                    .map_or_else(|| "no date".to_string(), |d| look.date(d)),
                f.raised_by,
                f.reason.label(),
                look.date(f.raised_at.date_naive()),
            )),
        ]);
    }
    let since_day = since.map(|t| t.date_naive());
    for b in r
        .barriers
        .iter()
        .filter(|b| b.is_open() && since_day.is_some_and(|d| b.opened_on >= d))
    {
        items.push(vec![
            mark("B"),
            Span::raw(format!(
                " new barrier on {}: {} (since {})",
                b.milestone.label(),
                b.reason.label(),
                look.date(b.opened_on)
            )),
        ]);
    }
    let heading = match since {
        Some(t) => format!("Since the last meeting ({})", t.format("%m-%d %H:%M")),
        None => "Date changes and flags".to_string(),
    };
    if items.is_empty() {
        return wrap(
            vec![
                Span::styled(heading, theme.style(Slot::Band)),
                Span::raw(": no date moves, open flags or new barriers"),
            ],
            cells,
            2,
        );
    }
    let mut out = vec![Line::styled(heading, theme.style(Slot::Band))];
    for spans in items {
        let mut line = vec![Span::raw(" ")];
        line.extend(spans);
        out.extend(wrap(line, cells, 3));
    }
    out
}

/// The care team by name (no phone numbers; behavioral health only as "assigned", which on its
/// own says nothing of a diagnosis), the warm handoff, the care plan and transport.
pub fn care(r: &PersonRecord, look: &Look, cells: usize) -> Vec<Line<'static>> {
    let team = &r.care_team;
    let name = |c: &Option<std::sync::Arc<crate::domain::Contact>>| {
        c.as_ref().map_or("none".to_string(), |c| c.name.clone())
    };
    let bh = if team.behavioral_health.is_some() {
        "assigned"
    } else {
        "none"
    };
    let heading = Span::styled("Care team".to_string(), look.theme.style(Slot::Band));
    let mut out = wrap(
        vec![
            heading,
            Span::raw(format!(
                ": care manager {} · ECM {} · probation {} · behavioral health {bh}",
                name(&team.pre_release_cm),
                name(&team.post_release_ecm),
                name(&team.probation_officer),
            )),
        ],
        cells,
        2,
    );
    let handoff = match r.warm_handoff.scheduled_on {
        Some(on) => format!("{} ({})", r.warm_handoff.status.label(), look.date(on)),
        None => r.warm_handoff.status.label().to_string(),
    };
    out.extend(wrap(
        vec![
            Span::styled("Warm handoff".to_string(), look.theme.style(Slot::Band)),
            Span::raw(format!(
                ": {handoff} · care plan {} · transport {}",
                r.care_plan.label(),
                r.transport.status.label()
            )),
        ],
        cells,
        2,
    ));
    out
}

/// `Medications: 2 (1 ready), 1 protected ✗ · naloxone offered · DME 1 of 2 delivered`. Part 2
/// medications are always only "protected ✓/✗" here: these lines are for a shared screen.
pub fn medications(r: &PersonRecord, look: &Look, cells: usize) -> Vec<Line<'static>> {
    let (protected, open): (Vec<_>, Vec<_>) = r.medications.iter().partition(|m| m.is_part2());
    let mut meds = Vec::new();
    if !open.is_empty() {
        let ready = open.iter().filter(|m| m.supply.is_ready()).count();
        meds.push(format!("{} ({ready} ready)", open.len()));
    }
    if !protected.is_empty() {
        let all_ready = protected.iter().all(|m| m.supply.is_ready());
        let mark = match (all_ready, look.ascii) {
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
            .filter(|d| d.status == DmeStatus::Delivered)
            .count();
        format!("{delivered} of {} delivered", r.dme.len())
    };
    wrap(
        vec![
            Span::styled("Medications".to_string(), look.theme.style(Slot::Band)),
            Span::raw(format!(
                ": {} · naloxone {} · DME {dme}",
                meds.join(", "),
                r.naloxone.map_or("not yet offered", |n| n.label())
            )),
        ],
        cells,
        2,
    )
}

/// The readiness strip with its letters: `✗M✓C◔S…`, each cell in its state's style.
pub fn strip(row: &BoardRow, look: &Look) -> Vec<Span<'static>> {
    row.readiness
        .milestones
        .iter()
        .map(|m| {
            Span::styled(
                format!("{}{}", m.state.glyph(look.ascii), m.code.letter()),
                look.theme.state(m.state),
            )
        })
        .collect()
}

/// Word-wraps styled spans to `cells`, continuation lines indented by `indent`. Words keep their
/// span's style and the spaces between them are kept (columns stay lined up); a line breaks at a
/// run of spaces, which is dropped. A word wider than a line is cut. Control characters become
/// `?`.
pub fn wrap(spans: Vec<Span<'static>>, cells: usize, indent: usize) -> Vec<Line<'static>> {
    let total: usize = spans.iter().map(|s| width(&s.content)).sum();
    if total <= cells || cells <= indent + 4 {
        return vec![Line::from(spans)];
    }
    // Words and runs of spaces, each with its style.
    let mut pieces: Vec<(String, Style, bool)> = Vec::new();
    for span in &spans {
        for c in span.content.chars() {
            let c = if c.is_control() { '?' } else { c };
            let space = c == ' ';
            match pieces.last_mut() {
                Some((text, style, was_space)) if *was_space == space && *style == span.style => {
                    text.push(c);
                }
                _ => pieces.push((c.to_string(), span.style, space)),
            }
        }
    }
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut line: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    // Spaces seen since the last word, written only if another word follows on the same line.
    let mut gap: Vec<(String, Style)> = Vec::new();
    for (text, style, space) in pieces {
        if space {
            gap.push((text, style));
            continue;
        }
        let w = width(&text);
        let gap_w: usize = gap.iter().map(|(t, _)| width(t)).sum();
        if used + gap_w + w > cells && !line_is_blank(&line) {
            out.push(Line::from(std::mem::take(&mut line)));
            line.push(Span::raw(" ".repeat(indent)));
            used = indent;
            gap.clear();
        }
        for (t, s) in gap.drain(..) {
            used += width(&t);
            line.push(Span::styled(t, s));
        }
        let room = cells.saturating_sub(used);
        let text = if w > room {
            super::text::truncate(&text, room)
        } else {
            text
        };
        used += width(&text);
        line.push(Span::styled(text, style));
    }
    if !line.is_empty() {
        out.push(Line::from(line));
    }
    out
}

fn line_is_blank(line: &[Span<'_>]) -> bool {
    line.iter().all(|s| s.content.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn wrapping_keeps_styles_and_indents() {
        let bold = Style::new().add_modifier(ratatui::style::Modifier::BOLD);
        let spans = vec![
            Span::raw(" ✗ warm handoff — care manager,"),
            Span::styled(" 12 days late", bold),
        ];
        let lines = wrap(spans.clone(), 24, 3);
        assert_eq!(
            text(&lines),
            vec![" ✗ warm handoff — care", "   manager, 12 days late"]
        );
        assert!(lines[1].spans.iter().any(|s| s.style == bold));
        let lines = wrap(spans, 20, 3);
        assert_eq!(
            text(&lines),
            vec![" ✗ warm handoff —", "   care manager, 12", "   days late"]
        );
        // Short lines are left alone.
        assert_eq!(text(&wrap(vec![Span::raw("ok")], 10, 2)), vec!["ok"]);
    }
}
