//! The board's record as FHIR R4 resources (docs/FHIR.md has the mapping and its reasons):
//!
//! - [`person_resources`] maps one person, leaving out 42 CFR Part 2 items the person's consent
//!   does not let go to the recipient;
//! - [`transaction`] wraps them in a `transaction` Bundle of conditional updates, so loading or
//!   sending it twice changes nothing the second time;
//! - `export --format fhir --bulk` writes the resources by type, one a line, as FHIR Bulk Data
//!   does.

pub mod bundle;
pub mod care;
pub mod ids;
pub mod meds;
pub mod person;
pub mod privacy;
pub mod resource;
pub mod tasks;

use chrono::NaiveDate;

use crate::domain::{PersonRecord, Rules, readiness};

pub use bundle::transaction;
pub use privacy::Recipient;
pub use resource::{Match, Resource};

/// What a mapping depends on besides the record.
#[derive(Debug, Clone)]
pub struct Options {
    /// The day the milestones' states are computed for, and consent is judged on.
    pub today: NaiveDate,
    pub rules: Rules,
    pub recipient: Recipient,
}

/// Every resource of one person, shared ones (facility, unit, care-team members) included.
pub fn person_resources(r: &PersonRecord, opt: &Options) -> Vec<Resource> {
    let part2_ok = privacy::part2_allowed(r, opt.recipient, opt.today);
    let p = &r.person;
    let facility = person::facility(&p.facility);
    let unit = person::unit(&p.facility, &p.unit, &facility);
    let patient = person::patient(r, &facility);
    let encounter = person::encounter(r, &patient, &facility, &unit);
    let contacts: Vec<_> = r
        .care_team
        .members()
        .map(|c| (c.as_ref(), care::practitioner(c)))
        .collect();
    let members: Vec<_> = contacts.iter().map(|(c, who)| (*c, who)).collect();
    let care_team = care::care_team(r, &members, &patient, &encounter);

    let mut plan_parts = Vec::new();
    for m in &r.medications {
        if m.is_part2() && !part2_ok {
            continue;
        }
        plan_parts.extend(meds::medication(r, m, &patient, &encounter));
    }
    plan_parts.extend(meds::naloxone(r, &patient, &encounter));
    plan_parts.extend(r.dme.iter().map(|d| meds::dme(r, d, &patient, &encounter)));
    for f in &r.referrals {
        if privacy::referral_is_part2(f.target) {
            if !part2_ok {
                continue;
            }
            plan_parts
                .push(care::referral(r, f, &patient, &encounter).label(privacy::part2_labels()));
        } else {
            plan_parts.push(care::referral(r, f, &patient, &encounter));
        }
    }
    plan_parts.extend(
        r.appointments
            .iter()
            .map(|a| care::appointment(r, a, &patient)),
    );
    let notifications: Vec<Resource> = r
        .notifications
        .iter()
        .map(|n| care::notification(r, n, &patient, &encounter))
        .collect();
    let plan_refs: Vec<&Resource> = plan_parts
        .iter()
        .filter(|p| p.resource_type != "MedicationDispense")
        .collect();
    let plan = care::care_plan(r, &patient, &encounter, &care_team, &plan_refs);
    let today_state = readiness(r, opt.today, &opt.rules);
    let milestone_tasks: Vec<Resource> = today_state
        .milestones
        .iter()
        .map(|m| tasks::milestone(r, m, &patient, &encounter, &plan))
        .collect();
    let history: Vec<Resource> = r
        .release_history
        .iter()
        .map(|c| person::release_change(r, c, &encounter))
        .collect();
    let coverage = person::coverage(r, &patient);

    let mut out = vec![facility, unit];
    // One person may hold two roles (the same care manager before and after release): one
    // Practitioner, as a transaction may not write a resource twice.
    for (_, who) in contacts {
        if !out.iter().any(|r| r.id == who.id) {
            out.push(who);
        }
    }
    out.push(patient);
    out.push(encounter);
    out.extend(coverage);
    out.push(care_team);
    out.extend(plan_parts);
    out.extend(notifications);
    out.push(plan);
    out.extend(milestone_tasks);
    out.extend(history);
    out
}
