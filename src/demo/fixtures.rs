//! The fixture CSV files: parsed, cross-checked, and turned into [`SeedData`].

use std::collections::{BTreeSet, HashMap};
use std::fmt::Display;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{DemoError, Reference, at, offset, person_id};
use crate::domain::{
    Appointment, AppointmentStatus, Barrier, BarrierReason, CarePlanStatus, CareTeam, Certainty,
    Confirmation, Consent, ConsentScope, Contact, ContactKind, CustodyStatus, DmeItem, Facility,
    FacilityKind, HealthNeed, MarkKind, MediCal, MediCalStatus, Medication, MilestoneCode,
    MilestoneMark, NaloxoneStatus, Note, Notification, NotificationStatus, Person, PersonName,
    PersonRecord, Recipient, Referral, ReferralTarget, ReleaseChange, ReleaseDate, ReleaseSource,
    ReleaseType, Role, Screening, ScreeningResult, SeedData, StaffUser, Transport, TransportStatus,
    WarmHandoff, WarmHandoffStatus,
};

/// The text of each fixture file. [`FixtureFiles::embedded`] is the demo; tests pass broken ones.
#[derive(Debug, Clone, Copy)]
pub struct FixtureFiles<'a> {
    pub facilities: &'a str,
    pub directory: &'a str,
    pub staff: &'a str,
    pub roster: &'a str,
    /// People released in the last months: the program measures' cohort.
    pub released: &'a str,
    pub medications: &'a str,
    pub dme: &'a str,
    pub history: &'a str,
}

impl FixtureFiles<'static> {
    pub fn embedded() -> Self {
        Self {
            facilities: include_str!("../../fixtures/facilities.csv"),
            directory: include_str!("../../fixtures/directory.csv"),
            staff: include_str!("../../fixtures/staff.csv"),
            roster: include_str!("../../fixtures/roster.csv"),
            released: include_str!("../../fixtures/released.csv"),
            medications: include_str!("../../fixtures/medications.csv"),
            dme: include_str!("../../fixtures/dme.csv"),
            history: include_str!("../../fixtures/history.csv"),
        }
    }
}

/// The embedded demo roster as of `today`.
pub fn fixture_data(today: NaiveDate) -> Result<SeedData, DemoError> {
    parse_fixtures(&FixtureFiles::embedded(), today)
}

/// Parses and cross-checks fixture files; every reference (facility, unit, contact, staff login,
/// booking id) must resolve.
pub fn parse_fixtures(files: &FixtureFiles<'_>, today: NaiveDate) -> Result<SeedData, DemoError> {
    let reference = parse_reference(files)?;
    let mut ids = 0_i64;
    let mut next_id = move || {
        ids += 1;
        ids
    };

    let mut records: Vec<PersonRecord> = Vec::new();
    let mut by_booking: HashMap<String, usize> = HashMap::new();
    for (at_line, row) in rows::<RosterRow>("roster.csv", files.roster)? {
        if by_booking.contains_key(&row.booking_id) {
            return Err(at_line.error("booking_id", format!("duplicate {}", row.booking_id)));
        }
        let record = roster_record(&at_line, row, &reference, today, &mut next_id)?;
        by_booking.insert(record.person.booking_id.clone(), records.len());
        records.push(record);
    }
    // The released cohort shares the booking ids, medications, DME and history files, and is
    // split off the board's roster at the end.
    let in_custody = records.len();
    for (at_line, row) in rows::<ReleasedRow>("released.csv", files.released)? {
        if by_booking.contains_key(&row.booking_id) {
            return Err(at_line.error("booking_id", format!("duplicate {}", row.booking_id)));
        }
        let record = released_record(&at_line, row, &reference, today, &mut next_id)?;
        by_booking.insert(record.person.booking_id.clone(), records.len());
        records.push(record);
    }

    let users: BTreeSet<&str> = reference.users.iter().map(|u| u.login.as_str()).collect();
    let find = |at_line: &Line, booking_id: &str| {
        by_booking.get(booking_id).copied().ok_or_else(|| {
            at_line.error(
                "booking_id",
                format!("{booking_id} is not in roster.csv or released.csv"),
            )
        })
    };

    for (at_line, row) in rows::<MedicationRow>("medications.csv", files.medications)? {
        let index = find(&at_line, &row.booking_id)?;
        let medication = Medication {
            id: next_id(),
            name: at_line.text("name", &row.name)?,
            class: at_line.code("class", &row.class)?,
            long_acting_injectable: at_line.flag("lai", &row.lai)?,
            next_dose: at_line.day_opt("next_dose_in_days", row.next_dose_in_days, today)?,
            supply: at_line.code("supply", &row.supply)?,
            confirmed: at_line.confirmation(
                &users,
                &row.confirmed_by,
                row.confirmed_days_ago,
                today,
            )?,
            version: 1,
        };
        if let Some(record) = records.get_mut(index) {
            record.medications.push(medication);
        }
    }

    for (at_line, row) in rows::<DmeRow>("dme.csv", files.dme)? {
        let index = find(&at_line, &row.booking_id)?;
        let item = DmeItem {
            id: next_id(),
            item: at_line.text("item", &row.item)?,
            status: at_line.code("status", &row.status)?,
            confirmed: at_line.confirmation(
                &users,
                &row.confirmed_by,
                row.confirmed_days_ago,
                today,
            )?,
            version: 1,
        };
        if let Some(record) = records.get_mut(index) {
            record.dme.push(item);
        }
    }

    let mut last_change_line: HashMap<usize, Line> = HashMap::new();
    for (at_line, row) in rows::<HistoryRow>("history.csv", files.history)? {
        let index = find(&at_line, &row.booking_id)?;
        let change = history_change(&at_line, &row, &users, today, next_id())?;
        if let Some(record) = records.get_mut(index) {
            // Append-only and oldest first: a fixture out of order would show a false history.
            if let Some(previous) = record.release_history.last() {
                if change.changed_at < previous.changed_at {
                    return Err(at_line.error("changed_days_ago", "older than the row before"));
                }
                if change.from != previous.to {
                    return Err(
                        at_line.error("from_in_days", "does not continue the change before")
                    );
                }
            }
            record.release_history.push(change);
        }
        last_change_line.insert(index, at_line);
    }
    for (index, at_line) in last_change_line {
        if let Some(record) = records.get(index) {
            let last_to = record.release_history.last().and_then(|c| c.to);
            if last_to != record.release.date {
                return Err(at_line.error(
                    "to_in_days",
                    "the last change must land on the roster's release_in_days",
                ));
            }
        }
    }

    let released = records.split_off(in_custody);
    Ok(SeedData {
        facilities: reference.facilities.into_iter().map(|(f, _)| f).collect(),
        contacts: reference.contacts,
        users: reference.users,
        records,
        released,
    })
}

/// The reference files alone (facilities, directory, staff), for the synthetic generator.
pub(crate) fn embedded_reference() -> Result<Reference, DemoError> {
    parse_reference(&FixtureFiles::embedded())
}

fn parse_reference(files: &FixtureFiles<'_>) -> Result<Reference, DemoError> {
    let mut facilities: Vec<(Facility, Vec<String>)> = Vec::new();
    for (at_line, row) in rows::<FacilityRow>("facilities.csv", files.facilities)? {
        if facilities.iter().any(|(f, _)| f.id == row.id) {
            return Err(at_line.error("id", format!("duplicate {}", row.id)));
        }
        let units: Vec<String> = at_line.list::<String>("units", &row.units)?;
        if units.is_empty() {
            return Err(at_line.error("units", "a facility needs at least one housing unit"));
        }
        let facility = Facility {
            id: at_line.text("id", &row.id)?,
            name: at_line.text("name", &row.name)?,
            kind: at_line.code::<FacilityKind>("kind", &row.kind)?,
        };
        facilities.push((facility, units));
    }

    let mut contacts: Vec<Contact> = Vec::new();
    for (at_line, row) in rows::<ContactRow>("directory.csv", files.directory)? {
        if contacts.iter().any(|c| c.id == row.id) {
            return Err(at_line.error("id", format!("duplicate {}", row.id)));
        }
        contacts.push(Contact {
            id: at_line.text("id", &row.id)?,
            name: at_line.text("name", &row.name)?,
            organisation: at_line.text("organisation", &row.organisation)?,
            phone: at_line.text("phone", &row.phone)?,
            kind: at_line.code("kind", &row.kind)?,
        });
    }

    let mut users: Vec<StaffUser> = Vec::new();
    for (at_line, row) in rows::<StaffRow>("staff.csv", files.staff)? {
        if users.iter().any(|u| u.login == row.login) {
            return Err(at_line.error("login", format!("duplicate {}", row.login)));
        }
        users.push(StaffUser {
            login: at_line.text("login", &row.login)?,
            name: at_line.text("name", &row.name)?,
            role: at_line.code::<Role>("role", &row.role)?,
        });
    }
    Ok(Reference {
        facilities,
        contacts,
        users,
    })
}

fn roster_record(
    at_line: &Line,
    row: RosterRow,
    reference: &Reference,
    today: NaiveDate,
    next_id: &mut impl FnMut() -> i64,
) -> Result<PersonRecord, DemoError> {
    let facility = facility_with_unit(at_line, reference, &row.facility, &row.unit)?;
    let youth = at_line.flag("youth", &row.youth)?;
    let booked_on = at_line.day("booked_days_ago", -row.booked_days_ago, today)?;
    let release_date = at_line.day_opt("release_in_days", row.release_in_days, today)?;
    let person = Person {
        id: person_id(&row.booking_id),
        booking_id: at_line.text("booking_id", &row.booking_id)?,
        name: PersonName::new(at_line.text("last", &row.last)?, row.first.clone()),
        date_of_birth: Some(date_of_birth(at_line, row.age, &row.birthday, today)?),
        facility: Arc::new(facility.clone()),
        unit: row.unit.clone(),
        youth,
        booked_on,
        custody: CustodyStatus::InCustody,
        released_on: None,
    };
    let certainty = match at_line.code_opt::<Certainty>("certainty", &row.certainty)? {
        Some(c) => c,
        None if release_date.is_none() => Certainty::Unknown,
        None => return Err(at_line.error("certainty", "required when the date is known")),
    };
    let release = ReleaseDate {
        date: release_date,
        certainty,
        kind: at_line.code_opt::<ReleaseType>("release_type", &row.release_type)?,
        source: at_line.code_opt::<ReleaseSource>("source", &row.source)?,
    };
    let mut r = PersonRecord::new(person, release);

    r.medi_cal = MediCal {
        status: at_line.code::<MediCalStatus>("medi_cal", &row.medi_cal)?,
        mcp_name: Some(row.mcp.clone()).filter(|m| !m.is_empty()),
        former_foster_youth: at_line.flag("foster", &row.foster)?,
    };
    r.screening = Screening {
        result: at_line.code::<ScreeningResult>("screening", &row.screening)?,
        needs: at_line
            .list::<HealthNeed>("needs", &row.needs)?
            .into_iter()
            .collect(),
    };
    let scope = at_line.code_opt::<ConsentScope>("consent", &row.consent)?;
    let signed_on = match (scope, row.consent_days_ago) {
        (Some(_), Some(days)) => Some(at_line.day("consent_days_ago", -days, today)?),
        (None, None) => None,
        _ => return Err(at_line.error("consent_days_ago", "give both consent and its day")),
    };
    r.consent = Consent {
        scope,
        signed_on,
        expires_on: None,
        signed_by_guardian: at_line.flag("guardian", &row.guardian)?,
        part2: at_line.flag("part2", &row.part2)?,
    };
    let contact = |field: &str, id: &str, kinds: &[ContactKind]| {
        directory_contact(at_line, reference, field, id, kinds)
    };
    // An ECM provider doing in-reach can be the pre-release care manager as well.
    let managers = [ContactKind::PreReleaseCm, ContactKind::EcmProvider];
    r.care_team = CareTeam {
        pre_release_cm: contact("pre_cm", &row.pre_cm, &managers)?,
        post_release_ecm: contact("post_ecm", &row.post_ecm, &[ContactKind::EcmProvider])?,
        probation_officer: contact(
            "probation",
            &row.probation,
            &[ContactKind::ProbationOfficer],
        )?,
        behavioral_health: contact("bh", &row.bh, &[ContactKind::BehavioralHealth])?,
    };
    r.care_plan = at_line.code::<CarePlanStatus>("care_plan", &row.care_plan)?;
    r.warm_handoff = WarmHandoff {
        status: at_line.code::<WarmHandoffStatus>("handoff", &row.handoff)?,
        scheduled_on: at_line.day_opt("handoff_in_days", row.handoff_in_days, today)?,
    };
    if let Some(status) = at_line.code_opt::<AppointmentStatus>("appt", &row.appt)? {
        r.appointments.push(Appointment {
            id: next_id(),
            what: at_line.text("appt_what", &row.appt_what)?,
            on: at_line.day_opt("appt_in_days", row.appt_in_days, today)?,
            status,
        });
    }
    r.naloxone = at_line.code_opt::<NaloxoneStatus>("naloxone", &row.naloxone)?;
    r.transport = Transport {
        status: at_line.code::<TransportStatus>("transport", &row.transport)?,
        note: row.transport_note.clone(),
    };
    for (target, status) in
        at_line.pairs::<ReferralTarget, NotificationStatus>("referrals", &row.referrals)?
    {
        r.referrals.push(Referral {
            id: next_id(),
            target,
            status,
        });
    }
    for (recipient, status) in
        at_line.pairs::<Recipient, NotificationStatus>("notifications", &row.notifications)?
    {
        r.notifications.push(Notification { recipient, status });
    }
    let yesterday = at_line.day("marks", -1, today)?;
    for (milestone, kind) in at_line.pairs::<MilestoneCode, MarkKind>("marks", &row.marks)? {
        r.marks.push(MilestoneMark {
            milestone,
            kind,
            by: reference.login_for(milestone.owner()),
            on: yesterday,
        });
    }
    r.barriers.extend(open_barrier(
        at_line,
        [
            &row.barrier_milestone,
            &row.barrier_reason,
            &row.barrier_text,
        ],
        row.barrier_days_ago.unwrap_or(0),
        today,
        next_id,
    )?);
    if !row.note.is_empty() {
        r.notes.push(Note {
            id: next_id(),
            at: at_line.instant("note", 1, today)?,
            by: reference.login_for(Role::Coordinator),
            text: row.note,
        });
    }
    Ok(r)
}

/// Someone released `released_days_ago`: the record as it stood that day, and a dated `Done`
/// mark for each measured milestone that was done, which is when the measures count it.
fn released_record(
    at_line: &Line,
    row: ReleasedRow,
    reference: &Reference,
    today: NaiveDate,
    next_id: &mut impl FnMut() -> i64,
) -> Result<PersonRecord, DemoError> {
    let facility = facility_with_unit(at_line, reference, &row.facility, &row.unit)?;
    if row.released_days_ago < 0 || row.released_days_ago >= row.booked_days_ago {
        return Err(at_line.error(
            "released_days_ago",
            "must be today or earlier, and after booked_days_ago",
        ));
    }
    let released_on = at_line.day("released_days_ago", -row.released_days_ago, today)?;
    let expected = row.expected_days_ago.map(|d| -d);
    let person = Person {
        id: person_id(&row.booking_id),
        booking_id: at_line.text("booking_id", &row.booking_id)?,
        name: PersonName::new(at_line.text("last", &row.last)?, row.first.clone()),
        date_of_birth: Some(date_of_birth(at_line, row.age, &row.birthday, today)?),
        facility: Arc::new(facility.clone()),
        unit: row.unit.clone(),
        youth: at_line.flag("youth", &row.youth)?,
        booked_on: at_line.day("booked_days_ago", -row.booked_days_ago, today)?,
        custody: CustodyStatus::Released,
        released_on: Some(released_on),
    };
    let certainty = match at_line.code_opt::<Certainty>("certainty", &row.certainty)? {
        Some(c) => c,
        None if expected.is_none() => Certainty::Unknown,
        None => return Err(at_line.error("certainty", "required when the date is known")),
    };
    let release = ReleaseDate {
        date: at_line.day_opt("expected_days_ago", expected, today)?,
        certainty,
        kind: at_line.code_opt::<ReleaseType>("release_type", &row.release_type)?,
        source: expected.map(|_| ReleaseSource::JailManagementSystem),
    };
    let mut r = PersonRecord::new(person, release);
    r.medi_cal = MediCal {
        status: at_line.code::<MediCalStatus>("medi_cal", &row.medi_cal)?,
        mcp_name: Some(row.mcp.clone()).filter(|m| !m.is_empty()),
        former_foster_youth: false,
    };
    r.screening = Screening {
        result: at_line.code::<ScreeningResult>("screening", &row.screening)?,
        needs: at_line
            .list::<HealthNeed>("needs", &row.needs)?
            .into_iter()
            .collect(),
    };
    let contact = |field: &str, id: &str, kinds: &[ContactKind]| {
        directory_contact(at_line, reference, field, id, kinds)
    };
    let managers = [ContactKind::PreReleaseCm, ContactKind::EcmProvider];
    r.care_team = CareTeam {
        pre_release_cm: contact("pre_cm", &row.pre_cm, &managers)?,
        post_release_ecm: contact("post_ecm", &row.post_ecm, &[ContactKind::EcmProvider])?,
        probation_officer: None,
        behavioral_health: None,
    };
    r.care_plan = at_line.code::<CarePlanStatus>("care_plan", &row.care_plan)?;
    r.warm_handoff = WarmHandoff {
        status: at_line.code::<WarmHandoffStatus>("handoff", &row.handoff)?,
        scheduled_on: None,
    };
    r.naloxone = at_line.code_opt::<NaloxoneStatus>("naloxone", &row.naloxone)?;
    r.transport = Transport {
        status: TransportStatus::Arranged,
        note: String::new(),
    };
    for (recipient, status) in
        at_line.pairs::<Recipient, NotificationStatus>("notifications", &row.notifications)?
    {
        r.notifications.push(Notification { recipient, status });
    }
    // A milestone done must say when, and a date needs a milestone done: either alone would
    // make the measures count someone on time or late by accident.
    let done = [
        (
            MilestoneCode::Screening,
            "screened_days_ago",
            r.screening.result.is_complete(),
            row.screened_days_ago,
        ),
        (
            MilestoneCode::CareManager,
            "cm_days_ago",
            r.care_team.pre_release_cm.is_some(),
            row.cm_days_ago,
        ),
        (
            MilestoneCode::CarePlan,
            "plan_days_ago",
            r.care_plan.is_complete(),
            row.plan_days_ago,
        ),
        (
            MilestoneCode::WarmHandoff,
            "handoff_days_ago",
            matches!(
                r.warm_handoff.status,
                WarmHandoffStatus::Completed | WarmHandoffStatus::CompletedWithoutClient
            ),
            row.handoff_days_ago,
        ),
    ];
    for (milestone, field, is_done, days_ago) in done {
        match (is_done, days_ago) {
            (true, Some(days)) if days >= row.released_days_ago => r.marks.push(MilestoneMark {
                milestone,
                kind: MarkKind::Done,
                by: reference.login_for(milestone.owner()),
                on: at_line.day(field, -days, today)?,
            }),
            (true, Some(_)) => return Err(at_line.error(field, "after the release")),
            (true, None) => return Err(at_line.error(field, "required when it was done")),
            (false, Some(_)) => return Err(at_line.error(field, "given, but it was not done")),
            (false, None) => {}
        }
    }
    r.barriers.extend(open_barrier(
        at_line,
        [
            &row.barrier_milestone,
            &row.barrier_reason,
            &row.barrier_text,
        ],
        row.barrier_days_ago.unwrap_or(row.released_days_ago),
        today,
        next_id,
    )?);
    Ok(r)
}

/// `age` years old today, born on `birthday` (`MM-DD`); 29 February falls back to the 28th.
fn date_of_birth(
    at_line: &Line,
    age: u32,
    birthday: &str,
    today: NaiveDate,
) -> Result<NaiveDate, DemoError> {
    let bad = || at_line.error("birthday", format!("{birthday:?} is not MM-DD"));
    let (m, d) = birthday.split_once('-').ok_or_else(bad)?;
    let (month, day): (u32, u32) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    // Checked against a leap year so that 02-29 is accepted.
    NaiveDate::from_ymd_opt(2000, month, day).ok_or_else(bad)?;
    let not_yet = (month, day) > (today.month(), today.day());
    let year = i32::try_from(age)
        .ok()
        .and_then(|age| today.year().checked_sub(age + i32::from(not_yet)))
        .ok_or_else(|| at_line.error("age", format!("{age} is not an age")))?;
    NaiveDate::from_ymd_opt(year, month, day)
        .or_else(|| NaiveDate::from_ymd_opt(year, month, day - 1))
        .ok_or_else(bad)
}

fn history_change(
    at_line: &Line,
    row: &HistoryRow,
    users: &BTreeSet<&str>,
    today: NaiveDate,
    id: i64,
) -> Result<ReleaseChange, DemoError> {
    let acknowledged = at_line.confirmation(
        users,
        &row.acknowledged_by,
        row.acknowledged_days_ago,
        today,
    )?;
    Ok(ReleaseChange {
        id,
        changed_at: at_line.instant("changed_days_ago", row.changed_days_ago, today)?,
        changed_by: at_line.login(users, "changed_by", &row.changed_by)?,
        from: at_line.day_opt("from_in_days", row.from_in_days, today)?,
        to: at_line.day_opt("to_in_days", row.to_in_days, today)?,
        certainty: at_line.code("certainty", &row.certainty)?,
        source: at_line.code_opt("source", &row.source)?,
        reason: at_line.code("reason", &row.reason)?,
        reason_text: row.reason_text.clone(),
        acknowledged_by: acknowledged.as_ref().map(|c| c.by.clone()),
        acknowledged_at: acknowledged.map(|c| c.at),
    })
}

/// The row's open barrier, if its `barrier_milestone` is filled: [milestone, reason, text].
fn open_barrier(
    at_line: &Line,
    [milestone, reason, text]: [&String; 3],
    days_ago: i64,
    today: NaiveDate,
    next_id: &mut impl FnMut() -> i64,
) -> Result<Option<Barrier>, DemoError> {
    let Some(milestone) = at_line.code_opt::<MilestoneCode>("barrier_milestone", milestone)? else {
        return Ok(None);
    };
    Ok(Some(Barrier {
        id: next_id(),
        milestone,
        reason: at_line.code::<BarrierReason>("barrier_reason", reason)?,
        text: text.clone(),
        opened_on: at_line.day("barrier_days_ago", -days_ago, today)?,
        resolved_on: None,
    }))
}

/// The row's facility, checked to have the row's housing unit.
fn facility_with_unit<'r>(
    at_line: &Line,
    reference: &'r Reference,
    facility: &str,
    unit: &str,
) -> Result<&'r Facility, DemoError> {
    let (found, units) = reference
        .facilities
        .iter()
        .find(|(f, _)| f.id == facility)
        .ok_or_else(|| at_line.error("facility", format!("unknown facility {facility}")))?;
    if !units.iter().any(|u| u == unit) {
        return Err(at_line.error("unit", format!("{} has no unit {unit}", found.id)));
    }
    Ok(found)
}

/// A care-team slot from the directory: empty, or a contact of one of `kinds`.
fn directory_contact(
    at_line: &Line,
    reference: &Reference,
    field: &str,
    id: &str,
    kinds: &[ContactKind],
) -> Result<Option<Arc<Contact>>, DemoError> {
    if id.is_empty() {
        return Ok(None);
    }
    match reference.contact(id) {
        Some(c) if kinds.contains(&c.kind) => Ok(Some(Arc::new(c.clone()))),
        Some(c) => Err(at_line.error(field, format!("{id} is a {}", c.kind.label()))),
        None => Err(at_line.error(field, format!("{id} is not in directory.csv"))),
    }
}

/// Where a row came from, so that every problem names file, line and field.
#[derive(Debug, Clone, Copy)]
struct Line {
    file: &'static str,
    line: u64,
}

impl Line {
    fn error(&self, field: &str, problem: impl Display) -> DemoError {
        DemoError::Field {
            file: self.file,
            line: self.line,
            field: field.to_string(),
            problem: problem.to_string(),
        }
    }

    fn text(&self, field: &str, value: &str) -> Result<String, DemoError> {
        if value.is_empty() {
            return Err(self.error(field, "must not be empty"));
        }
        Ok(value.to_string())
    }

    fn code<T: FromStr>(&self, field: &str, value: &str) -> Result<T, DemoError>
    where
        T::Err: Display,
    {
        value
            .parse()
            .map_err(|e| self.error(field, format!("{value:?}: {e}")))
    }

    fn code_opt<T: FromStr>(&self, field: &str, value: &str) -> Result<Option<T>, DemoError>
    where
        T::Err: Display,
    {
        if value.is_empty() {
            Ok(None)
        } else {
            self.code(field, value).map(Some)
        }
    }

    /// `y` or blank.
    fn flag(&self, field: &str, value: &str) -> Result<bool, DemoError> {
        match value {
            "y" => Ok(true),
            "" => Ok(false),
            _ => Err(self.error(field, format!("{value:?}: use y or leave blank"))),
        }
    }

    /// A `;`-separated list of codes.
    fn list<T: FromStr>(&self, field: &str, value: &str) -> Result<Vec<T>, DemoError>
    where
        T::Err: Display,
    {
        value
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| self.code(field, s))
            .collect()
    }

    /// A `;`-separated list of `code=status` pairs.
    fn pairs<K: FromStr, V: FromStr>(
        &self,
        field: &str,
        value: &str,
    ) -> Result<Vec<(K, V)>, DemoError>
    where
        K::Err: Display,
        V::Err: Display,
    {
        self.list::<String>(field, value)?
            .iter()
            .map(|pair| {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| self.error(field, format!("{pair:?} is not code=status")))?;
                Ok((self.code(field, k.trim())?, self.code(field, v.trim())?))
            })
            .collect()
    }

    fn day(&self, field: &str, days: i64, today: NaiveDate) -> Result<NaiveDate, DemoError> {
        offset(today, days).ok_or_else(|| self.error(field, format!("{days} days is out of range")))
    }

    fn day_opt(
        &self,
        field: &str,
        days: Option<i64>,
        today: NaiveDate,
    ) -> Result<Option<NaiveDate>, DemoError> {
        days.map(|d| self.day(field, d, today)).transpose()
    }

    fn instant(
        &self,
        field: &str,
        days_ago: i64,
        today: NaiveDate,
    ) -> Result<chrono::DateTime<chrono::Utc>, DemoError> {
        at(today, days_ago)
            .ok_or_else(|| self.error(field, format!("{days_ago} days is out of range")))
    }

    fn login(&self, users: &BTreeSet<&str>, field: &str, login: &str) -> Result<String, DemoError> {
        if users.contains(login) {
            Ok(login.to_string())
        } else {
            Err(self.error(field, format!("{login:?} is not in staff.csv")))
        }
    }

    /// Who confirmed and how many days ago: both or neither.
    fn confirmation(
        &self,
        users: &BTreeSet<&str>,
        by: &str,
        days_ago: Option<i64>,
        today: NaiveDate,
    ) -> Result<Option<Confirmation>, DemoError> {
        match (by.is_empty(), days_ago) {
            (true, None) => Ok(None),
            (false, Some(days)) => Ok(Some(Confirmation {
                by: self.login(users, "confirmed_by", by)?,
                at: self.instant("confirmed_days_ago", days, today)?,
            })),
            _ => Err(self.error("confirmed_days_ago", "give both who and when, or neither")),
        }
    }
}

/// Every row of a CSV file (after its `#` comments), deserialised, with its line.
fn rows<T: DeserializeOwned>(file: &'static str, text: &str) -> Result<Vec<(Line, T)>, DemoError> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let csv_error = |line: u64| move |source: csv::Error| DemoError::Csv { file, line, source };
    let headers = reader.headers().map_err(csv_error(1))?.clone();
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            csv_error(line)(e)
        })?;
        let at_line = Line {
            file,
            line: record.position().map_or(0, csv::Position::line),
        };
        let row = record.deserialize::<T>(Some(&headers)).map_err(|e| {
            // Name the column rather than its index.
            if let csv::ErrorKind::Deserialize { err, .. } = e.kind() {
                let field = err
                    .field()
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| headers.get(i))
                    .unwrap_or("?");
                at_line.error(field, err.kind())
            } else {
                csv_error(at_line.line)(e)
            }
        })?;
        out.push((at_line, row));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct FacilityRow {
    id: String,
    name: String,
    kind: String,
    units: String,
}

#[derive(Deserialize)]
struct ContactRow {
    id: String,
    name: String,
    organisation: String,
    phone: String,
    kind: String,
}

#[derive(Deserialize)]
struct StaffRow {
    login: String,
    name: String,
    role: String,
}

#[derive(Deserialize)]
struct RosterRow {
    booking_id: String,
    last: String,
    first: String,
    age: u32,
    birthday: String,
    facility: String,
    unit: String,
    youth: String,
    booked_days_ago: i64,
    release_in_days: Option<i64>,
    certainty: String,
    release_type: String,
    source: String,
    medi_cal: String,
    mcp: String,
    foster: String,
    screening: String,
    needs: String,
    consent: String,
    consent_days_ago: Option<i64>,
    guardian: String,
    part2: String,
    pre_cm: String,
    post_ecm: String,
    probation: String,
    bh: String,
    care_plan: String,
    handoff: String,
    handoff_in_days: Option<i64>,
    appt: String,
    appt_in_days: Option<i64>,
    appt_what: String,
    naloxone: String,
    transport: String,
    transport_note: String,
    referrals: String,
    notifications: String,
    marks: String,
    barrier_milestone: String,
    barrier_reason: String,
    barrier_days_ago: Option<i64>,
    barrier_text: String,
    note: String,
}

#[derive(Deserialize)]
struct ReleasedRow {
    booking_id: String,
    last: String,
    first: String,
    age: u32,
    birthday: String,
    facility: String,
    unit: String,
    youth: String,
    booked_days_ago: i64,
    expected_days_ago: Option<i64>,
    certainty: String,
    release_type: String,
    released_days_ago: i64,
    medi_cal: String,
    mcp: String,
    screening: String,
    needs: String,
    screened_days_ago: Option<i64>,
    pre_cm: String,
    post_ecm: String,
    cm_days_ago: Option<i64>,
    care_plan: String,
    plan_days_ago: Option<i64>,
    handoff: String,
    handoff_days_ago: Option<i64>,
    naloxone: String,
    notifications: String,
    barrier_milestone: String,
    barrier_reason: String,
    barrier_days_ago: Option<i64>,
    barrier_text: String,
}

#[derive(Deserialize)]
struct MedicationRow {
    booking_id: String,
    name: String,
    class: String,
    lai: String,
    next_dose_in_days: Option<i64>,
    supply: String,
    confirmed_by: String,
    confirmed_days_ago: Option<i64>,
}

#[derive(Deserialize)]
struct DmeRow {
    booking_id: String,
    item: String,
    status: String,
    confirmed_by: String,
    confirmed_days_ago: Option<i64>,
}

#[derive(Deserialize)]
struct HistoryRow {
    booking_id: String,
    changed_days_ago: i64,
    changed_by: String,
    from_in_days: Option<i64>,
    to_in_days: Option<i64>,
    certainty: String,
    source: String,
    reason: String,
    reason_text: String,
    acknowledged_by: String,
    acknowledged_days_ago: Option<i64>,
}
