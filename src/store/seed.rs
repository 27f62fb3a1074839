//! Seeding a database with whole records: the demo roster, or a synthetic load for benchmarks.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::params;
use serde_json::json;

use super::codec::{date, opt_date, ts};
use super::commands::needs_json;
use super::error::SqlContext;
use super::outbox::{AuditRow, Event, Head, Writer};
use super::{Actor, Result, Store, StoreError};
use crate::domain::events::EventType;
use crate::domain::role::Context;
use crate::domain::{Contact, Facility, PersonRecord, ReleaseDate, ReleaseSource, SeedData};

/// Ids for a record's child rows: kept when given (> 0), numbered after the largest otherwise.
fn ids(given: impl Iterator<Item = i64> + Clone) -> impl Iterator<Item = i64> {
    let mut next = given.clone().max().unwrap_or(0).max(0);
    given.map(move |id| {
        if id > 0 {
            id
        } else {
            next += 1;
            next
        }
    })
}

impl Store {
    /// Inserts the directory, the users and every record (history included) in one transaction,
    /// each person with a `person_booked` audit row and event. Admin only, except on a database
    /// without users (a fresh demo).
    pub fn seed(&mut self, actor: &Actor, data: &SeedData) -> Result<()> {
        self.write(actor, |w| {
            if !super::users::no_users(w.tx)? {
                w.allow_admin()?;
            }
            let mut facilities: BTreeMap<&str, &Facility> = BTreeMap::new();
            let mut contacts: BTreeMap<&str, &Contact> = BTreeMap::new();
            let everyone = || data.records.iter().chain(&data.released);
            for f in data
                .facilities
                .iter()
                .chain(everyone().map(|r| &*r.person.facility))
            {
                facilities.entry(&f.id).or_insert(f);
            }
            for c in data.contacts.iter().chain(everyone().flat_map(|r| {
                let t = &r.care_team;
                [
                    &t.pre_release_cm,
                    &t.post_release_ecm,
                    &t.probation_officer,
                    &t.behavioral_health,
                ]
                .into_iter()
                .flatten()
                .map(|c| &**c)
            })) {
                contacts.entry(&c.id).or_insert(c);
            }
            upsert_directory(w, facilities.values().copied(), contacts.values().copied())?;
            for u in &data.users {
                w.tx.prepare_cached(
                    "INSERT INTO users (login, name, role, active, added_at, added_by)
                     VALUES (?1, ?2, ?3, 1, ?4, ?5)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        u.login,
                        u.name,
                        u.role.code(),
                        w.now_ts(),
                        w.actor.login
                    ])
                })
                .ctx("seeding a user")?;
            }
            w.audit(&AuditRow {
                person_id: None,
                kind: "seeded",
                entity: "database",
                entity_id: None,
                before: None,
                after: Some(json!({
                    "facilities": facilities.len(),
                    "contacts": contacts.len(),
                    "users": data.users.len(),
                    "persons": data.records.len() + data.released.len(),
                })),
                reason: None,
            })?;
            // In key order, every index and clustered child table grows at its end instead of
            // splitting pages all over: several times fewer B-tree moves for a big roster.
            let mut in_order: Vec<(&PersonRecord, bool)> = data
                .records
                .iter()
                .map(|r| (r, false))
                .chain(data.released.iter().map(|r| (r, true)))
                .collect();
            in_order.sort_unstable_by(|a, b| a.0.person.id.cmp(&b.0.person.id));
            for (record, released) in in_order {
                let head = insert_record(w, record)?;
                let p = &record.person;
                let release = release_json(&record.release);
                // Someone already released was booked long before this seed: the trail says so.
                let booked_at = if released {
                    at_nine(p.booked_on).unwrap_or_else(|| w.now_ts())
                } else {
                    w.now_ts()
                };
                w.audit_at(
                    &AuditRow {
                        person_id: Some(&head.id),
                        kind: "person_booked",
                        entity: "person",
                        entity_id: Some(head.id.clone()),
                        before: None,
                        after: Some(json!({"booking_id": p.booking_id, "release": release})),
                        reason: Some("seeded".into()),
                    },
                    &booked_at,
                )?;
                // The hub needs who the person is to match them with plan members; diagnoses
                // and medications travel only in their own events.
                let event = Event {
                    kind: EventType::PersonBooked,
                    data: json!({
                        "name": {"last": p.name.last, "first": p.name.first},
                        "date_of_birth": opt_date(p.date_of_birth),
                        "facility_id": p.facility.id,
                        "facility_kind": p.facility.kind.code(),
                        "unit": p.unit,
                        "youth": p.youth,
                        "booked_on": date(p.booked_on),
                        "release": release,
                    }),
                    part2: false,
                };
                w.first_event(&head, &event)?;
                if released {
                    seed_release(w, &head, record)?;
                }
            }
            Ok(())
        })
    }
}

/// `day` at 09:00 UTC, as an audit timestamp.
fn at_nine(day: NaiveDate) -> Option<String> {
    day.and_hms_opt(9, 0, 0).map(|t| ts(t.and_utc()))
}

/// The release of someone seeded as released: the audit row `roster confirm released` writes,
/// dated the day they left, and the `person_released` event with the facts measured that day.
fn seed_release(w: &Writer<'_>, head: &Head, record: &PersonRecord) -> Result<()> {
    let Some(on) = record.person.released_on else {
        return Err(StoreError::invalid(format!(
            "booking {} is seeded as released without a release day",
            record.person.booking_id
        )));
    };
    let at = on
        .and_hms_opt(12, 0, 0)
        .map_or_else(|| w.now_ts(), |t| ts(t.and_utc()));
    w.audit_at(
        &AuditRow {
            person_id: Some(&head.id),
            kind: "person_released",
            entity: "person",
            entity_id: Some(head.id.clone()),
            before: Some(json!({"custody": "in_custody", "released_on": null})),
            after: Some(json!({"custody": record.person.custody.code(), "released_on": date(on)})),
            reason: Some("seeded".into()),
        },
        &at,
    )?;
    let event = Event {
        kind: EventType::PersonReleased,
        data: super::import::release_facts(w, head, on)?,
        part2: false,
    };
    w.event(head, &event)?;
    Ok(())
}

fn upsert_directory<'a>(
    w: &Writer<'_>,
    facilities: impl Iterator<Item = &'a Facility>,
    contacts: impl Iterator<Item = &'a Contact>,
) -> Result<()> {
    for f in facilities {
        w.tx.prepare_cached(
            "INSERT INTO facilities (id, name, kind) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind",
        )
        .and_then(|mut s| s.execute(params![f.id, f.name, f.kind.code()]))
        .ctx("seeding a facility")?;
    }
    for c in contacts {
        upsert_contact(w, c).ctx("seeding a contact")?;
    }
    Ok(())
}

/// A directory contact, added or brought up to date by its id.
pub(super) fn upsert_contact(w: &Writer<'_>, c: &Contact) -> rusqlite::Result<usize> {
    w.tx.prepare_cached(
        "INSERT INTO contacts (id, name, organisation, phone, kind)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name,
            organisation = excluded.organisation, phone = excluded.phone,
            kind = excluded.kind",
    )
    .and_then(|mut s| {
        s.execute(params![
            c.id,
            c.name,
            c.organisation,
            c.phone,
            c.kind.code()
        ])
    })
}

/// A release date as the `person_booked` audit row shows it.
pub(super) fn release_json(release: &ReleaseDate) -> serde_json::Value {
    json!({
        "date": opt_date(release.date),
        "certainty": release.certainty.code(),
        "type": release.kind.map(|k| k.code()),
        "source": release.source.map(|s| s.code()),
    })
}

pub(super) fn insert_record(w: &Writer<'_>, rec: &PersonRecord) -> Result<Head> {
    let p = &rec.person;
    let id = if p.id.is_empty() {
        w.new_id()
    } else {
        p.id.clone()
    };
    let now = w.now_ts();
    let login = &w.actor.login;
    let team = &rec.care_team;
    let cid = |c: &Option<std::sync::Arc<Contact>>| c.as_ref().map(|c| c.id.clone());
    // A date that came from the jail's feed is what the feed said (see migration 0005).
    let feed_release =
        (rec.release.source == Some(ReleaseSource::JailManagementSystem)).then(|| {
            super::import::feed_release(
                opt_date(rec.release.date).as_deref(),
                Some(rec.release.certainty.code()),
            )
        });
    w.tx.prepare_cached(
        "INSERT INTO persons (id, booking_id, last_name, first_name, dob, facility_id, unit, youth,
            booked_on, custody, released_on, release_date, release_certainty, release_type,
            release_source, medi_cal_status, mcp_name, former_foster_youth, screening_result,
            screening_needs, consent_scope, consent_signed_on, consent_expires_on,
            consent_by_guardian, consent_part2, pre_release_cm_id, post_release_ecm_id,
            probation_officer_id, behavioral_health_id, care_plan, warm_handoff, warm_handoff_on,
            naloxone, transport, transport_note, version, updated_at, updated_by, feed_release)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35,
            ?36, ?37, ?38, ?39)",
    )
    .and_then(|mut s| {
        s.execute(params![
            id,
            p.booking_id,
            p.name.last,
            p.name.first,
            opt_date(p.date_of_birth),
            p.facility.id,
            p.unit,
            p.youth,
            date(p.booked_on),
            p.custody.code(),
            opt_date(p.released_on),
            opt_date(rec.release.date),
            rec.release.certainty.code(),
            rec.release.kind.map(|k| k.code()),
            rec.release.source.map(|s| s.code()),
            rec.medi_cal.status.code(),
            rec.medi_cal.mcp_name,
            rec.medi_cal.former_foster_youth,
            rec.screening.result.code(),
            needs_json(&rec.screening),
            rec.consent.scope.map(|s| s.code()),
            opt_date(rec.consent.signed_on),
            opt_date(rec.consent.expires_on),
            rec.consent.signed_by_guardian,
            rec.consent.part2,
            cid(&team.pre_release_cm),
            cid(&team.post_release_ecm),
            cid(&team.probation_officer),
            cid(&team.behavioral_health),
            rec.care_plan.code(),
            rec.warm_handoff.status.code(),
            opt_date(rec.warm_handoff.scheduled_on),
            rec.naloxone.map(|n| n.code()),
            rec.transport.status.code(),
            rec.transport.note,
            rec.version.max(1),
            now,
            login,
            feed_release,
        ])
    })
    .ctx("seeding a person")?;

    let h = &rec.release_history;
    for (c, cid) in h.iter().zip(ids(h.iter().map(|c| c.id))) {
        w.tx.prepare_cached(
            "INSERT INTO release_changes (person_id, id, changed_at, changed_by, from_date,
                to_date, certainty, source, reason, reason_text, acknowledged_by, acknowledged_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .and_then(|mut s| {
            s.execute(params![
                id,
                cid,
                ts(c.changed_at),
                c.changed_by,
                opt_date(c.from),
                opt_date(c.to),
                c.certainty.code(),
                c.source.map(|s| s.code()),
                c.reason.code(),
                c.reason_text,
                c.acknowledged_by,
                c.acknowledged_at.map(ts),
            ])
        })
        .ctx("seeding release history")?;
    }
    let f = &rec.date_flags;
    for (flag, fid) in f.iter().zip(ids(f.iter().map(|f| f.id))) {
        w.tx.prepare_cached(
            "INSERT INTO date_flags (person_id, id, proposed, reason, reason_text, raised_by,
                raised_at, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .and_then(|mut s| {
            s.execute(params![
                id,
                fid,
                opt_date(flag.proposed),
                flag.reason.code(),
                flag.reason_text,
                flag.raised_by,
                ts(flag.raised_at),
                flag.status.code(),
            ])
        })
        .ctx("seeding date flags")?;
    }
    let m = &rec.medications;
    for (med, mid) in m.iter().zip(ids(m.iter().map(|m| m.id))) {
        w.tx.prepare_cached(
            "INSERT INTO medications (person_id, id, name, class, lai, next_dose, supply,
                confirmed_by, confirmed_at, version, updated_at, updated_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .and_then(|mut s| {
            s.execute(params![
                id,
                mid,
                med.name,
                med.class.code(),
                med.long_acting_injectable,
                opt_date(med.next_dose),
                med.supply.code(),
                med.confirmed.as_ref().map(|c| &c.by),
                med.confirmed.as_ref().map(|c| ts(c.at)),
                med.version.max(1),
                now,
                login,
            ])
        })
        .ctx("seeding medications")?;
    }
    let d = &rec.dme;
    for (item, did) in d.iter().zip(ids(d.iter().map(|d| d.id))) {
        w.tx.prepare_cached(
            "INSERT INTO dme (person_id, id, item, status, confirmed_by, confirmed_at, version,
                updated_at, updated_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .and_then(|mut s| {
            s.execute(params![
                id,
                did,
                item.item,
                item.status.code(),
                item.confirmed.as_ref().map(|c| &c.by),
                item.confirmed.as_ref().map(|c| ts(c.at)),
                item.version.max(1),
                now,
                login,
            ])
        })
        .ctx("seeding DME")?;
    }
    let a = &rec.appointments;
    for (appt, aid) in a.iter().zip(ids(a.iter().map(|a| a.id))) {
        w.tx.prepare_cached(
            "INSERT INTO appointments (person_id, id, what, on_date, status)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut s| {
            s.execute(params![
                id,
                aid,
                appt.what,
                opt_date(appt.on),
                appt.status.code()
            ])
        })
        .ctx("seeding appointments")?;
    }
    let r = &rec.referrals;
    for (refl, rid) in r.iter().zip(ids(r.iter().map(|r| r.id))) {
        w.tx.prepare_cached(
            "INSERT INTO referrals (person_id, id, target, status) VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut s| s.execute(params![id, rid, refl.target.code(), refl.status.code()]))
        .ctx("seeding referrals")?;
    }
    for (pos, n) in (1_i64..).zip(&rec.notifications) {
        w.tx.prepare_cached(
            "INSERT INTO notifications (person_id, pos, recipient, status) VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut s| s.execute(params![id, pos, n.recipient.code(), n.status.code()]))
        .ctx("seeding notifications")?;
    }
    let b = &rec.barriers;
    for (bar, bid) in b.iter().zip(ids(b.iter().map(|b| b.id))) {
        w.tx.prepare_cached(
            "INSERT INTO barriers (person_id, id, milestone, reason, text, opened_on, resolved_on)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .and_then(|mut s| {
            s.execute(params![
                id,
                bid,
                bar.milestone.code(),
                bar.reason.code(),
                bar.text,
                date(bar.opened_on),
                opt_date(bar.resolved_on),
            ])
        })
        .ctx("seeding barriers")?;
    }
    let n = &rec.notes;
    for (note, nid) in n.iter().zip(ids(n.iter().map(|n| n.id))) {
        w.tx.prepare_cached(
            "INSERT INTO notes (person_id, id, at, by_login, text) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut s| s.execute(params![id, nid, ts(note.at), note.by, note.text]))
        .ctx("seeding notes")?;
    }
    for (pos, mark) in (1_i64..).zip(&rec.marks) {
        w.tx.prepare_cached(
            "INSERT INTO milestone_marks (person_id, pos, milestone, kind, by_login, on_date)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut s| {
            s.execute(params![
                id,
                pos,
                mark.milestone.code(),
                mark.kind.code(),
                mark.by,
                date(mark.on),
            ])
        })
        .ctx("seeding milestone marks")?;
    }
    Ok(Head {
        id,
        booking_id: p.booking_id.clone(),
        version: rec.version.max(1),
        updated_by: login.clone(),
        updated_at: now,
        context: Context::default(),
    })
}
