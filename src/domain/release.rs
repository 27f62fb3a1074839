//! Release dates, their certainty and their append-only history.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::code_enum;

code_enum! {
    pub enum Certainty {
        Confirmed => "confirmed",
        Projected => "projected",
        Estimated => "estimated",
        Unknown => "unknown",
    }
}

impl Certainty {
    /// One character for the board: `=` confirmed, `~` projected, `?` estimated, blank unknown.
    pub fn mark(self) -> char {
        match self {
            Self::Confirmed => '=',
            Self::Projected => '~',
            Self::Estimated => '?',
            Self::Unknown => ' ',
        }
    }
}

code_enum! {
    pub enum ReleaseType {
        SentenceEnd => "sentence end",
        Parole => "parole",
        Prcs => "post-release community supervision",
        CourtOrdered => "court-ordered",
        BailOwnRecognizance => "bail / own recognizance",
        Transfer => "transfer",
        CompassionateRelease => "compassionate release",
    }
}

code_enum! {
    pub enum ReleaseSource {
        JailManagementSystem => "jail management system",
        CourtOrder => "court order",
        Probation => "probation",
        StateCaseRecords => "state case records",
    }
}

code_enum! {
    pub enum ChangeReason {
        CourtOrder => "court order",
        SentenceCredits => "sentence credits",
        EarlyRelease => "early / accelerated release",
        CommunityTransition => "community transition program",
        Transfer => "transfer",
        Correction => "correction",
        /// Needs free text.
        Other => "other",
    }
}

/// The expected release date as the board knows it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseDate {
    pub date: Option<NaiveDate>,
    pub certainty: Certainty,
    pub kind: Option<ReleaseType>,
    pub source: Option<ReleaseSource>,
}

impl ReleaseDate {
    pub fn unknown() -> Self {
        Self {
            date: None,
            certainty: Certainty::Unknown,
            kind: None,
            source: None,
        }
    }
}

/// One entry of the append-only release-date history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseChange {
    pub id: i64,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub certainty: Certainty,
    pub source: Option<ReleaseSource>,
    pub reason: ChangeReason,
    pub reason_text: String,
    /// Set when the meeting has seen a change that needed acknowledgement.
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

impl ReleaseChange {
    /// A change that moves the date earlier, or any change when the old or new date is inside
    /// `window_days` of `today`, must be acknowledged at the next meeting.
    pub fn needs_acknowledgement(&self, today: NaiveDate, window_days: i64) -> bool {
        let inside =
            |d: Option<NaiveDate>| d.is_some_and(|d| (d - today).num_days() <= window_days);
        let earlier = match (self.from, self.to) {
            (Some(from), Some(to)) => to < from,
            // A known date turning unknown is not "earlier"; an unknown date becoming known is
            // news only when it lands inside the window, which `inside` covers.
            _ => false,
        };
        earlier || inside(self.from) || inside(self.to)
    }

    /// Needed acknowledgement on the day it was made, and has not had it yet. The day is the
    /// local calendar day, as the board counts days to release: an evening change in
    /// California is already tomorrow in UTC.
    pub fn awaits_acknowledgement(&self, window_days: i64) -> bool {
        self.awaits_acknowledgement_in(window_days, &chrono::Local)
    }

    /// [`ReleaseChange::awaits_acknowledgement`] with the days counted in `tz`.
    pub fn awaits_acknowledgement_in<Tz: chrono::TimeZone>(
        &self,
        window_days: i64,
        tz: &Tz,
    ) -> bool {
        let day = self.changed_at.with_timezone(tz).date_naive();
        !self.is_acknowledged() && self.needs_acknowledgement(day, window_days)
    }

    pub fn is_acknowledged(&self) -> bool {
        self.acknowledged_at.is_some()
    }
}

code_enum! {
    pub enum FlagStatus {
        Open => "open",
        Accepted => "accepted",
        Rejected => "rejected",
    }
}

/// A proposed release-date change (from probation or a care manager) awaiting a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateFlag {
    pub id: i64,
    pub proposed: Option<NaiveDate>,
    pub reason: ChangeReason,
    pub reason_text: String,
    pub raised_by: String,
    pub raised_at: DateTime<Utc>,
    pub status: FlagStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    fn change(from: Option<&str>, to: Option<&str>) -> ReleaseChange {
        ReleaseChange {
            id: 1,
            changed_at: DateTime::<Utc>::default(),
            changed_by: "r".into(),
            from: from.map(d),
            to: to.map(d),
            certainty: Certainty::Projected,
            source: None,
            reason: ChangeReason::Correction,
            reason_text: String::new(),
            acknowledged_by: None,
            acknowledged_at: None,
        }
    }

    #[test]
    fn acknowledgement_rules() {
        let today = d("2026-03-01");
        // Later and far away: nothing to see.
        assert!(!change(Some("2026-06-01"), Some("2026-07-01")).needs_acknowledgement(today, 14));
        // Earlier, even far away.
        assert!(change(Some("2026-07-01"), Some("2026-06-01")).needs_acknowledgement(today, 14));
        // Later, but it was inside T-14 (day 14 is inside, day 15 is not).
        assert!(change(Some("2026-03-15"), Some("2026-05-01")).needs_acknowledgement(today, 14));
        assert!(!change(Some("2026-03-16"), Some("2026-05-01")).needs_acknowledgement(today, 14));
        // Unknown becoming a date next week.
        assert!(change(None, Some("2026-03-05")).needs_acknowledgement(today, 14));
        assert!(!change(None, Some("2026-09-05")).needs_acknowledgement(today, 14));
    }

    /// 20:00 on March 1st in California is 04:00 UTC on March 2nd: a date set for March 16th
    /// is then 15 days away by the board's local day, 14 by the UTC one.
    #[test]
    fn the_day_of_a_change_is_the_local_day() {
        let california = chrono::FixedOffset::west_opt(8 * 3600).unwrap();
        let evening = ReleaseChange {
            changed_at: DateTime::parse_from_rfc3339("2026-03-01T20:00:00-08:00")
                .unwrap()
                .with_timezone(&Utc),
            ..change(None, Some("2026-03-16"))
        };
        assert!(!evening.awaits_acknowledgement_in(14, &california));
        assert!(evening.awaits_acknowledgement_in(14, &Utc));
    }
}
