//! The program's measures for a release cohort, computed from records alone (pure: no I/O, no
//! clock). Every measure carries its denominator and who is in it, so a screen or a report never
//! shows a bare percentage. The Stats screen reuses [`compute`] and [`weekly`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::domain::{
    BarrierReason, MediCalStatus, MilestoneCode, NaloxoneStatus, PersonRecord, Recipient, Rules,
    ScreeningResult, SupplyStatus, WarmHandoffStatus,
};

/// One released person: the record as it stood at release, and the first day each milestone
/// was done (from the audit trail and hand marks; see `history`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    pub record: PersonRecord,
    pub released_on: NaiveDate,
    pub done_on: BTreeMap<MilestoneCode, NaiveDate>,
}

/// "numerator of denominator": a number is never shown without its base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Measure {
    pub key: &'static str,
    pub label: &'static str,
    pub numerator: u64,
    pub denominator: u64,
    /// Who the denominator counts.
    pub of: &'static str,
}

impl Measure {
    /// Whole percent, or None for an empty denominator.
    pub fn percent(&self) -> Option<u64> {
        (self.denominator > 0)
            .then(|| (self.numerator * 100 + self.denominator / 2) / self.denominator)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BarrierCount {
    pub reason: BarrierReason,
    /// Barriers recorded with this reason.
    pub count: u64,
    /// Released people with at least one.
    pub people: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub released: u64,
    pub measures: Vec<Measure>,
    /// Release-date changes recorded over the stays of the cohort.
    pub date_changes: u64,
    /// Most-recorded first.
    pub barriers: Vec<BarrierCount>,
}

impl Report {
    pub fn get(&self, key: &str) -> Option<&Measure> {
        self.measures.iter().find(|m| m.key == key)
    }
}

/// Pre-release services apply (not screened out as an adult).
fn needs_services(r: &PersonRecord) -> bool {
    r.person.youth
        || !matches!(
            r.screening.result,
            ScreeningResult::NotEligible | ScreeningResult::Declined
        )
}

/// Done by `offset` days before the expected release date, counted only for people who were
/// already in custody then (a late entry could not have been on time).
struct ByOffset {
    numerator: u64,
    denominator: u64,
}

fn by_offset<'a>(
    people: impl Iterator<Item = &'a Released>,
    code: MilestoneCode,
    offset: i64,
) -> ByOffset {
    let mut out = ByOffset {
        numerator: 0,
        denominator: 0,
    };
    for p in people {
        let release = p.record.release.date.unwrap_or(p.released_on);
        let due = release - Duration::days(offset);
        if p.record.person.booked_on > due {
            continue;
        }
        out.denominator += 1;
        if p.done_on.get(&code).is_some_and(|d| *d <= due) {
            out.numerator += 1;
        }
    }
    out
}

fn measure(
    key: &'static str,
    label: &'static str,
    of: &'static str,
    numerator: u64,
    denominator: u64,
) -> Measure {
    Measure {
        key,
        label,
        numerator,
        denominator,
        of,
    }
}

fn count<'a>(people: impl Iterator<Item = &'a Released>, yes: impl Fn(&Released) -> bool) -> u64 {
    people.filter(|p| yes(p)).count() as u64
}

fn mat_medications(p: &Released) -> Vec<&crate::domain::Medication> {
    p.record
        .medications
        .iter()
        .filter(|m| m.class.is_part2() && m.supply != SupplyStatus::NotNeeded)
        .collect()
}

/// The measures of DOMAIN.md for everyone released from `from` to `to`.
pub fn compute(people: &[Released], rules: &Rules, from: NaiveDate, to: NaiveDate) -> Report {
    let cohort: Vec<&Released> = people
        .iter()
        .filter(|p| p.released_on >= from && p.released_on <= to)
        .collect();
    let all = || cohort.iter().copied();
    let services = || all().filter(|p| needs_services(&p.record));
    let mut measures = Vec::new();

    let s = by_offset(all(), MilestoneCode::Screening, rules.screening);
    measures.push(measure(
        "screened_by_t135",
        "screened by T-135",
        "released people in custody at T-135",
        s.numerator,
        s.denominator,
    ));
    let c = by_offset(services(), MilestoneCode::CareManager, rules.care_manager);
    measures.push(measure(
        "care_manager_by_t90",
        "care manager assigned by T-90",
        "people needing services, in custody at T-90",
        c.numerator,
        c.denominator,
    ));
    measures.push(measure(
        "care_plan_complete",
        "care plan complete before release",
        "people needing services",
        count(services(), |p| p.record.care_plan.is_complete()),
        services().count() as u64,
    ));
    let handoff_needed = || {
        services().filter(|p| {
            p.record.warm_handoff.status != WarmHandoffStatus::NotRequired
                && !p.record.care_team.same_manager_pre_and_post()
        })
    };
    let h = by_offset(
        handoff_needed(),
        MilestoneCode::WarmHandoff,
        rules.warm_handoff,
    );
    measures.push(measure(
        "warm_handoff_by_t14",
        "warm handoff done by T-14",
        "people needing a handoff, in custody at T-14",
        h.numerator,
        h.denominator,
    ));
    let with_meds = || {
        all().filter(|p| {
            p.record
                .medications
                .iter()
                .any(|m| m.supply != SupplyStatus::NotNeeded)
        })
    };
    let in_hand = |s: SupplyStatus| {
        matches!(
            s,
            SupplyStatus::GivenInHand | SupplyStatus::RxSentToPharmacy
        )
    };
    measures.push(measure(
        "supply_in_hand",
        "30-day supply in hand (or Rx sent)",
        "people with medications",
        count(with_meds(), |p| {
            p.record
                .medications
                .iter()
                .filter(|m| m.supply != SupplyStatus::NotNeeded)
                .all(|m| in_hand(m.supply))
        }),
        with_meds().count() as u64,
    ));
    let mat = mat_medications;
    let on_mat = || all().filter(|p| !mat(p).is_empty());
    measures.push(measure(
        "mat_continuity",
        "MAT continued (supply in hand, Rx sent, or long-acting injection)",
        "people on MAT",
        count(on_mat(), |p| {
            mat(p)
                .iter()
                .all(|m| in_hand(m.supply) || m.long_acting_injectable)
        }),
        on_mat().count() as u64,
    ));
    let naloxone_applies =
        || all().filter(|p| p.record.naloxone != Some(NaloxoneStatus::NotApplicable));
    measures.push(measure(
        "naloxone_given",
        "given naloxone",
        "released people (n/a excluded)",
        count(naloxone_applies(), |p| {
            p.record.naloxone == Some(NaloxoneStatus::Given)
        }),
        naloxone_applies().count() as u64,
    ));
    let with_dme = || {
        all().filter(|p| {
            p.record
                .dme
                .iter()
                .any(|d| d.status != crate::domain::DmeStatus::NotNeeded)
        })
    };
    measures.push(measure(
        "dme_delivered",
        "DME delivered by release",
        "people with DME",
        count(with_dme(), |p| {
            p.record.dme.iter().all(|d| d.status.is_final())
        }),
        with_dme().count() as u64,
    ));
    let medi_cal_applies =
        || all().filter(|p| p.record.medi_cal.status != MediCalStatus::OtherCoverage);
    measures.push(measure(
        "medi_cal_active",
        "Medi-Cal active on release day",
        "released people (other coverage excluded)",
        count(medi_cal_applies(), |p| {
            matches!(
                p.record.medi_cal.status,
                MediCalStatus::Active | MediCalStatus::ActiveOnRelease
            )
        }),
        medi_cal_applies().count() as u64,
    ));
    measures.push(measure(
        "mcp_notified",
        "MCP notified before release",
        "released people",
        count(all(), |p| {
            p.record
                .notifications
                .iter()
                .any(|n| n.recipient == Recipient::Mcp && n.status.is_sent())
        }),
        cohort.len() as u64,
    ));
    measures.push(measure(
        "date_changed",
        "release date changed at least once",
        "released people",
        count(all(), |p| !p.record.release_history.is_empty()),
        cohort.len() as u64,
    ));
    measures.push(measure(
        "unplanned",
        "unplanned releases (date unknown, or earlier than expected)",
        "released people",
        count(all(), |p| {
            p.record.release.date.is_none_or(|d| p.released_on < d)
        }),
        cohort.len() as u64,
    ));

    let mut barriers: BTreeMap<BarrierReason, (u64, BTreeSet<&str>)> = BTreeMap::new();
    for p in all() {
        for b in &p.record.barriers {
            let entry = barriers.entry(b.reason).or_default();
            entry.0 += 1;
            entry.1.insert(p.record.person.id.as_str());
        }
    }
    let mut barriers: Vec<BarrierCount> = barriers
        .into_iter()
        .map(|(reason, (count, people))| BarrierCount {
            reason,
            count,
            people: people.len() as u64,
        })
        .collect();
    barriers.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));

    Report {
        from,
        to,
        released: cohort.len() as u64,
        measures,
        date_changes: all().map(|p| p.record.release_history.len() as u64).sum(),
        barriers,
    }
}

/// One report per week (Monday to Sunday) overlapping the period, for a trend.
pub fn weekly(people: &[Released], rules: &Rules, from: NaiveDate, to: NaiveDate) -> Vec<Report> {
    use chrono::Datelike;
    let mut start = from - Duration::days(i64::from(from.weekday().num_days_from_monday()));
    let mut out = Vec::new();
    while start <= to {
        let end = start + Duration::days(6);
        out.push(compute(people, rules, start.max(from), end.min(to)));
        start = end + Duration::days(1);
    }
    out
}
