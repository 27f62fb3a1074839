//! Finding people: accent-insensitive search, the board's filters, and each role's "my work".

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::{Band, BoardRow, FlagStatus, MilestoneCode, MilestoneState, Readiness, Role, Rules};

/// Lower case without accents: `Núñez` → `nunez`, `Zoë` → `zoe`. CJK passes through unchanged.
pub fn fold(text: &str) -> String {
    // Most names are plain ASCII: nothing to decompose, and this is per person on every load.
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        for c in c.to_lowercase() {
            match unsplit(c) {
                Some(plain) => out.push_str(plain),
                None => out.push(c),
            }
        }
    }
    out
}

/// Letters with no decomposition that a person typing on a plain keyboard writes in Latin
/// letters: `dang` must find Đặng, `sorensen` Sørensen, `strasse` Straße.
fn unsplit(lower: char) -> Option<&'static str> {
    Some(match lower {
        'đ' | 'ð' => "d",
        'ø' => "o",
        'ł' => "l",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'þ' => "th",
        'ħ' => "h",
        'ı' => "i",
        _ => return None,
    })
}

/// Every word of the query must appear in the name or the booking number.
pub fn matches_search(row: &BoardRow, folded_query: &str) -> bool {
    matches_haystack(&search_haystack(row), folded_query)
}

/// What a search looks in, folded. The board computes it once per load rather than once per
/// keystroke, since folding 100,000 names on every key would make typing lag.
pub fn search_haystack(row: &BoardRow) -> String {
    let p = &row.record.person;
    fold(&format!(
        "{} {} {}",
        p.name.last, p.name.first, p.booking_id
    ))
}

/// [`matches_search`] on a haystack from [`search_haystack`].
pub fn matches_haystack(haystack: &str, folded_query: &str) -> bool {
    folded_query
        .split_whitespace()
        .all(|word| haystack.contains(word))
}

/// The board's filters; `None`/`false` means "any". Combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Already folded with [`fold`].
    pub search: String,
    pub facility: Option<String>,
    pub unit: Option<String>,
    /// Contact id of the pre-release care manager.
    pub care_manager: Option<String>,
    pub band: Option<Band>,
    pub at_risk_only: bool,
    /// "My work" for this role.
    pub my_work: Option<Role>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn matches(&self, row: &BoardRow, rules: &Rules) -> bool {
        (self.search.is_empty() || matches_search(row, &self.search))
            && self.matches_except_search(row, rules)
    }

    /// Everything but the search, for callers that keep folded haystacks.
    pub fn matches_except_search(&self, row: &BoardRow, rules: &Rules) -> bool {
        let p = &row.record.person;
        self.facility.as_ref().is_none_or(|f| *f == p.facility.id)
            && self.unit.as_ref().is_none_or(|u| *u == p.unit)
            && self.care_manager.as_ref().is_none_or(|cm| {
                row.record
                    .care_team
                    .pre_release_cm
                    .as_ref()
                    .is_some_and(|c| c.id == *cm)
            })
            && self.band.is_none_or(|b| b == row.readiness.band)
            && (!self.at_risk_only || row.readiness.at_risk())
            && self.my_work.is_none_or(|role| is_my_work(role, row, rules))
    }
}

/// What needs this role's hands now.
pub fn is_my_work(role: Role, row: &BoardRow, rules: &Rules) -> bool {
    let r = &row.record;
    let date_work = r.date_flags.iter().any(|f| f.status == FlagStatus::Open)
        || r.unacknowledged_changes(rules.change_window_days) > 0;
    is_my_work_by(role, &row.readiness, date_work, rules)
}

/// [`is_my_work`] from a day's readiness and whether the release date awaits someone (an open
/// date flag or an unacknowledged change): what the board index keeps of a record is enough.
pub fn is_my_work_by(role: Role, readiness: &Readiness, date_work: bool, rules: &Rules) -> bool {
    let near = readiness
        .days_to_release
        .is_none_or(|d| d <= rules.near_band_days);
    let needs_attention = |code: MilestoneCode| {
        readiness.get(code).is_some_and(|m| {
            matches!(
                m.state,
                MilestoneState::Overdue | MilestoneState::DueSoon | MilestoneState::Blocked
            )
        })
    };
    let owned_late = MilestoneCode::all()
        .filter(|c| c.owner() == role)
        .any(needs_attention);
    match role {
        // Medications and DME not yet settled for people releasing in the near band (or with no
        // date, where they must be ready for an unplanned release).
        Role::Nurse => {
            near && [
                MilestoneCode::Medications,
                MilestoneCode::Dme,
                MilestoneCode::Naloxone,
            ]
            .into_iter()
            .any(|c| readiness.get(c).is_some_and(|m| !m.state.is_settled()))
        }
        Role::Probation => date_work,
        Role::Records => date_work || owned_late,
        Role::Viewer => false,
        Role::CareManager | Role::Coordinator | Role::Eligibility => owned_late,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_accents_and_case() {
        assert_eq!(fold("Núñez-O'Brien"), "nunez-o'brien");
        assert_eq!(fold("ZOË Bảo"), "zoe bao");
        assert_eq!(fold("王小明"), "王小明");
        assert_eq!(fold("B-24-000123"), "b-24-000123");
        assert_eq!(fold("Đặng"), "dang");
        assert_eq!(fold("Sørensen"), "sorensen");
        assert_eq!(fold("ŁUKASZ Straße"), "lukasz strasse");
        assert_eq!(fold("Æsa Œuvre Þór Ðan"), "aesa oeuvre thor dan");
    }
}
