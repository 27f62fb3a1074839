//! Which board columns fit, and how wide each is. Name, days, the readiness strip and the flags
//! always stay;
//! the others join in priority order while they fit, so a narrow terminal loses the facility
//! first, then the care manager, then the booking id, then the release date.

use crate::domain::MilestoneCode;

/// In display order, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ColumnKind {
    Name,
    Booking,
    Facility,
    Release,
    Days,
    Strip,
    Flags,
    CareManager,
}

impl ColumnKind {
    pub fn header(self) -> &'static str {
        match self {
            Self::Name => "Name",
            Self::Booking => "Booking",
            Self::Facility => "Facility",
            Self::Release => "Release",
            Self::Days => "Days",
            Self::Strip => "Readiness",
            Self::Flags => "Flags",
            Self::CareManager => "Care mgr",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub kind: ColumnKind,
    pub width: usize,
}

/// Cells between columns.
pub const GAP: usize = 1;
/// Wide enough for most `Garcia, Maria` forms; at 80 columns this wins over the care manager.
const NAME_MIN: usize = 14;
const NAME_MAX: usize = 32;
const FACILITY_MIN: usize = 8;
const FACILITY_MAX: usize = 24;
const CARE_MANAGER_MIN: usize = 10;
const CARE_MANAGER_MAX: usize = 24;
const BOOKING_MAX: usize = 14;
/// `03-14=`, padded to the header.
const RELEASE_WIDTH: usize = 7;
/// `today`, `-999d`.
const DAYS_WIDTH: usize = 5;

/// `*ΔLYPBT↑`: changed, date changed, late entry, youth, protected, barrier, open task, not
/// delivered.
pub const FLAGS_WIDTH: usize = 8;

/// The readiness strip: a glyph and a letter per milestone.
pub fn strip_width() -> usize {
    MilestoneCode::all().count() * 2
}

/// The widest value of each variable column in the current rows (display cells).
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    pub name: usize,
    pub booking: usize,
    pub facility: usize,
    pub care_manager: usize,
}

/// Columns for a board `total` cells wide, in display order. The sum of widths plus gaps never
/// exceeds `total` except when even the fixed columns do not fit, which the minimum size rules out.
pub fn layout(total: usize, measured: Measured) -> Vec<Column> {
    use ColumnKind as K;
    let ideal = |kind: K| {
        let header = kind.header().len();
        match kind {
            K::Name => measured.name.clamp(header, NAME_MAX),
            K::Booking => measured.booking.clamp(header, BOOKING_MAX),
            K::Facility => measured.facility.clamp(header, FACILITY_MAX),
            K::CareManager => measured.care_manager.clamp(header, CARE_MANAGER_MAX),
            K::Release => RELEASE_WIDTH,
            K::Days => DAYS_WIDTH,
            K::Strip => strip_width(),
            K::Flags => FLAGS_WIDTH,
        }
    };
    let min = |kind: K| match kind {
        K::Name => ideal(kind).min(NAME_MIN),
        K::Facility => ideal(kind).min(FACILITY_MIN),
        K::CareManager => ideal(kind).min(CARE_MANAGER_MIN),
        _ => ideal(kind),
    };

    let mut columns: Vec<Column> = [K::Name, K::Days, K::Strip, K::Flags]
        .into_iter()
        .map(|kind| Column {
            kind,
            width: min(kind),
        })
        .collect();
    let used = |columns: &[Column]| -> usize {
        columns.iter().map(|c| c.width).sum::<usize>()
            + GAP.saturating_mul(columns.len().saturating_sub(1))
    };
    // Stop at the first that does not fit: showing the facility while hiding the care manager
    // would drop them in the wrong order.
    for kind in [K::Release, K::Booking, K::CareManager, K::Facility] {
        if used(&columns) + GAP + min(kind) > total {
            break;
        }
        columns.push(Column {
            kind,
            width: min(kind),
        });
    }
    let mut spare = total.saturating_sub(used(&columns));
    // Places and care managers first: one very long name must not squeeze every facility.
    for kind in [K::CareManager, K::Facility, K::Name] {
        if let Some(column) = columns.iter_mut().find(|c| c.kind == kind) {
            let grow = ideal(kind).saturating_sub(column.width).min(spare);
            column.width += grow;
            spare -= grow;
        }
    }
    columns.sort_by_key(|c| c.kind);
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(columns: &[Column]) -> Vec<ColumnKind> {
        columns.iter().map(|c| c.kind).collect()
    }

    fn total(columns: &[Column]) -> usize {
        columns.iter().map(|c| c.width).sum::<usize>() + GAP * (columns.len() - 1)
    }

    #[test]
    fn drops_in_priority_order() {
        use ColumnKind as K;
        let m = Measured {
            name: 20,
            booking: 10,
            facility: 16,
            care_manager: 14,
        };
        let wide = layout(200, m);
        assert_eq!(kinds(&wide).len(), 8);
        let at80 = layout(80, m);
        assert_eq!(
            kinds(&at80),
            [K::Name, K::Booking, K::Release, K::Days, K::Strip, K::Flags]
        );
        assert_eq!(
            at80[0].width, 15,
            "the name takes what the care manager left (the flags take 8)"
        );
        assert!(total(&at80) <= 80);
        let at90 = layout(90, m);
        assert_eq!(
            kinds(&at90),
            [
                K::Name,
                K::Booking,
                K::Release,
                K::Days,
                K::Strip,
                K::Flags,
                K::CareManager
            ]
        );
        let at60 = layout(60, m);
        assert_eq!(kinds(&at60), [K::Name, K::Days, K::Strip, K::Flags]);
        assert!(total(&at60) <= 60);
        for width in 0..300 {
            let columns = layout(width, m);
            assert!(
                total(&columns) <= width.max(total(&layout(0, m))),
                "{width}"
            );
        }
    }
}
