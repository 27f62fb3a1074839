//! `export --format fhir`, as a user runs it, checked by an independent FHIR R4 validator
//! (tests/support/fhir_validator.rs) and against the board's own records: everyone (released
//! people too), 42 CFR Part 2 items only where consent covers the recipient, stable ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use reentry_board::clock::AsOfClock;
use reentry_board::domain::{ConsentScope, PersonRecord};
use reentry_board::store::Store;
use serde_json::Value;
use support::fhir_validator::{RESOURCE_TYPES, Validator, cmd, demo_db};

const AS_OF: &str = "2026-03-02";

fn records(db: &Path) -> Vec<PersonRecord> {
    let today: NaiveDate = AS_OF.parse().unwrap();
    Store::open_read_only(db, Arc::new(AsOfClock { today }))
        .unwrap()
        .load_all_records()
        .unwrap()
}

/// The per-person Bundles `export --format fhir` prints, one a line.
fn export(home: &Path, db: &Path, extra: &[&str]) -> Vec<Value> {
    let out = cmd(home)
        .args(["export", "--db"])
        .arg(db)
        .args(["--format", "fhir", "--as-of", AS_OF])
        .args(extra)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn resources<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

fn identifier(resource: &Value, system: &str) -> Option<String> {
    resource["identifier"]
        .as_array()?
        .iter()
        .find(|i| i["system"] == system)
        .and_then(|i| i["value"].as_str().map(String::from))
}

fn by_person(bundles: &[Value]) -> BTreeMap<String, &Value> {
    bundles
        .iter()
        .map(|b| {
            let patient = resources(b, "Patient")[0];
            (identifier(patient, "urn:reentry-board:person").unwrap(), b)
        })
        .collect()
}

/// The rule docs/FHIR.md states, written out again here so the test holds the exporter to it.
fn part2_may_go(r: &PersonRecord, recipient: &str) -> bool {
    let c = &r.consent;
    let today: NaiveDate = AS_OF.parse().unwrap();
    let scope_ok = match (recipient, c.scope) {
        (_, None) => false,
        ("care-provider", Some(_)) => true,
        (_, Some(s)) => s != ConsentScope::HealthCareOnly,
    };
    c.part2 && c.valid_on(today, r.person.youth) && scope_ok
}

#[test]
fn every_resource_of_the_demo_roster_passes_the_validator() {
    let home = tempfile::tempdir().unwrap();
    let db = demo_db(home.path(), &["--as-of", AS_OF]);
    let all = records(&db);
    let Some(validator) = Validator::find() else {
        return;
    };
    let mut files = Vec::new();
    for recipient in ["health-plan", "care-provider"] {
        let path = home.path().join(format!("{recipient}.ndjson"));
        let bundles = export(home.path(), &db, &["--recipient", recipient]);
        assert_eq!(
            bundles.len(),
            all.len(),
            "one Bundle per person, released included"
        );
        let text: String = bundles.iter().map(|b| format!("{b}\n")).collect();
        std::fs::write(&path, text).unwrap();
        files.push(path);
    }
    let bulk = home.path().join("bulk");
    cmd(home.path())
        .args(["export", "--db"])
        .arg(&db)
        .args(["--format", "fhir", "--bulk", "--as-of", AS_OF, "--out"])
        .arg(&bulk)
        .assert()
        .success();
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&bulk), 0o700, "whole records: the owner's alone");
    for entry in std::fs::read_dir(&bulk).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        if path.extension().is_some_and(|e| e == "ndjson") {
            files.push(path);
        }
    }
    let report = validator.check(&files);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    // Every family of the mapping was produced and checked, not just a few.
    for kind in std::iter::once(&"Bundle").chain(RESOURCE_TYPES) {
        assert!(
            report.by_type.get(*kind).copied().unwrap_or(0) > 0,
            "no {kind} was checked: {:?}",
            report.by_type
        );
    }
    // The validator is not a rubber stamp: a broken Encounter fails.
    let mut broken = resources(
        &export(home.path(), &db, &["--search", "B-24-003135"])[0],
        "Encounter",
    )[0]
    .clone();
    broken.as_object_mut().unwrap().remove("class");
    broken["period"]["start"] = Value::from("2026-02-30");
    let bad = validator.check_values(&[broken]);
    assert_eq!(bad.errors.len(), 1, "{:?}", bad.errors);
}

#[test]
fn the_bundles_say_what_the_board_says() {
    let home = tempfile::tempdir().unwrap();
    let db = demo_db(home.path(), &["--as-of", AS_OF]);
    let all = records(&db);
    let bundles = export(home.path(), &db, &[]);
    let people = by_person(&bundles);
    let mut encounter_states = BTreeSet::new();
    for r in &all {
        let b = people[&r.person.id];
        assert_eq!(b["type"], "transaction");
        let patient = resources(b, "Patient")[0];
        let booking_system = format!(
            "urn:reentry-board:facility:{}:booking",
            r.person.facility.id
        );
        assert_eq!(
            identifier(patient, &booking_system).as_deref(),
            Some(r.person.booking_id.as_str())
        );
        assert_eq!(patient["name"][0]["family"], r.person.name.last.as_str());
        assert_eq!(
            patient["birthDate"].as_str().map(String::from),
            r.person.date_of_birth.map(|d| d.to_string())
        );
        let encounter = resources(b, "Encounter")[0];
        encounter_states.insert(encounter["status"].as_str().unwrap().to_string());
        let expected_end = match r.person.released_on {
            Some(on) => Some(on),
            None => r.release.date,
        };
        assert_eq!(
            encounter["period"]["end"].as_str().map(String::from),
            expected_end.map(|d| d.to_string()),
            "{}",
            r.person.booking_id
        );
        let certainty = encounter["extension"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| {
                e["url"]
                    .as_str()
                    .unwrap()
                    .ends_with("/release-date-certainty")
            })
            .unwrap();
        assert_eq!(certainty["valueCoding"]["code"], r.release.certainty.code());
        assert_eq!(resources(b, "Provenance").len(), r.release_history.len());
        assert_eq!(resources(b, "DeviceRequest").len(), r.dme.len());
        assert_eq!(resources(b, "Appointment").len(), r.appointments.len());
        assert_eq!(resources(b, "Communication").len(), r.notifications.len());
        assert_eq!(resources(b, "Task").len(), 15, "one Task per milestone");
        let team = resources(b, "CareTeam")[0];
        let members: BTreeSet<String> = team["participant"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| p["member"]["display"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let expected: BTreeSet<String> = r.care_team.members().map(|c| c.name.clone()).collect();
        assert_eq!(members, expected);
        // Every entry is a conditional update, and references stay inside the Bundle.
        let full_urls: BTreeSet<&str> = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["fullUrl"].as_str().unwrap())
            .collect();
        assert_eq!(
            full_urls.len(),
            b["entry"].as_array().unwrap().len(),
            "a transaction writes each resource once"
        );
        for e in b["entry"].as_array().unwrap() {
            assert_eq!(e["request"]["method"], "PUT");
            let url = e["request"]["url"].as_str().unwrap();
            assert!(
                url.contains("?identifier=") || url.starts_with("Provenance/"),
                "{url}"
            );
            assert!(
                !url.contains(&r.person.booking_id),
                "no booking number in a URL"
            );
        }
        let text = b.to_string();
        for reference in text.split("\"reference\":\"").skip(1) {
            let target = reference.split('"').next().unwrap();
            assert!(full_urls.contains(target), "{target} is not in the Bundle");
        }
    }
    assert!(encounter_states.contains("in-progress") && encounter_states.contains("finished"));
}

#[test]
fn part2_items_go_only_where_consent_covers_the_recipient() {
    let home = tempfile::tempdir().unwrap();
    let db = demo_db(home.path(), &["--as-of", AS_OF]);
    let all = records(&db);
    let mut seen = BTreeMap::new();
    for recipient in ["health-plan", "care-provider"] {
        let bundles = export(home.path(), &db, &["--recipient", recipient]);
        let people = by_person(&bundles);
        for r in all.iter().filter(|r| r.has_part2()) {
            let b = people[&r.person.id];
            let text = b.to_string();
            let allowed = part2_may_go(r, recipient);
            *seen.entry((recipient, allowed)).or_insert(0) += 1;
            let labelled: Vec<&Value> = resources(b, "MedicationRequest")
                .into_iter()
                .chain(resources(b, "MedicationDispense"))
                .filter(|m| m["meta"]["security"].to_string().contains("42CFRPart2"))
                .collect();
            for m in r.medications.iter().filter(|m| m.is_part2()) {
                assert_eq!(
                    text.contains(&m.name),
                    allowed,
                    "{} for {recipient}: the drug name of a Part 2 item",
                    r.person.booking_id
                );
            }
            if allowed {
                assert!(!labelled.is_empty());
                for m in &labelled {
                    let security = m["meta"]["security"].to_string();
                    for code in ["42CFRPart2", "\"R\"", "NORDSCLCDS", "ETH"] {
                        assert!(security.contains(code), "{code} missing: {security}");
                    }
                }
            } else {
                assert!(labelled.is_empty());
            }
            // Other medications go whatever the consent.
            for m in r.medications.iter().filter(|m| !m.is_part2()) {
                assert!(text.contains(&m.name));
            }
        }
    }
    // The demo has both outcomes for both recipients, and a consent that covers a provider
    // but not a plan.
    for key in [
        ("health-plan", true),
        ("health-plan", false),
        ("care-provider", true),
        ("care-provider", false),
    ] {
        assert!(
            seen.get(&key).copied().unwrap_or(0) > 0,
            "{key:?}: {seen:?}"
        );
    }
    assert!(seen[&("care-provider", true)] > seen[&("health-plan", true)]);
}

#[test]
fn re_exports_name_the_same_resources() {
    let home = tempfile::tempdir().unwrap();
    let db = demo_db(home.path(), &["--as-of", AS_OF]);
    let first = export(home.path(), &db, &[]);
    let again = export(home.path(), &db, &[]);
    assert_eq!(first, again, "the same database exports the same Bundles");
    // After a change, the person's resources keep their ids: a receiver updates them.
    let r = records(&db)
        .into_iter()
        .find(|r| !r.medications.is_empty())
        .unwrap();
    // A milestone still to do, so a barrier holds it up.
    let open: reentry_board::domain::MilestoneCode =
        resources(by_person(&first)[&r.person.id], "Task")
            .into_iter()
            .find(|t| t["status"] == "requested")
            .and_then(|t| t["code"]["coding"][0]["code"].as_str())
            .unwrap()
            .parse()
            .unwrap();
    let before: BTreeSet<String> = by_person(&first)[&r.person.id]["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap().to_string())
        .collect();
    let today: NaiveDate = AS_OF.parse().unwrap();
    let mut store = Store::open(&db, Arc::new(AsOfClock { today })).unwrap();
    let coordinator =
        reentry_board::store::Actor::new("coord", reentry_board::domain::Role::Coordinator);
    store
        .apply(
            &coordinator,
            reentry_board::store::RecordBarrier {
                person_id: r.person.id.clone(),
                milestone: open,
                reason: reentry_board::domain::BarrierReason::NoHousing,
                text: "shelter full".into(),
            },
        )
        .unwrap();
    drop(store);
    let after_export = export(home.path(), &db, &[]);
    let after = by_person(&after_export)[&r.person.id];
    let after_urls: BTreeSet<String> = after["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(before, after_urls);
    let held: Vec<&Value> = resources(after, "Task")
        .into_iter()
        .filter(|t| t["status"] == "on-hold")
        .collect();
    assert_eq!(held.len(), 1);
    assert!(
        held[0]["statusReason"]["text"]
            .as_str()
            .unwrap()
            .contains("shelter full")
    );
}

/// Every value of every status the board keeps, each on a copy of a demo person, mapped and
/// checked by the validator: the demo roster does not hold every combination.
#[test]
fn every_status_of_the_board_maps_to_valid_resources() {
    use reentry_board::domain::*;
    use reentry_board::fhir::{Options, Recipient, person_resources, transaction};
    let home = tempfile::tempdir().unwrap();
    let db = demo_db(home.path(), &["--as-of", AS_OF]);
    let Some(validator) = Validator::find() else {
        return;
    };
    let base = records(&db)
        .into_iter()
        .find(|r| {
            !r.medications.is_empty()
                && !r.dme.is_empty()
                && !r.appointments.is_empty()
                && !r.referrals.is_empty()
                && !r.notifications.is_empty()
        })
        .expect("a demo person with a bit of everything");
    let mut variants: Vec<PersonRecord> = Vec::new();
    let mut vary = |f: &dyn Fn(&mut PersonRecord)| {
        let mut r = base.clone();
        f(&mut r);
        variants.push(r);
    };
    for s in CustodyStatus::all() {
        vary(&|r| {
            r.person.custody = s;
            r.person.released_on = (s != CustodyStatus::InCustody).then_some(r.person.booked_on);
        });
    }
    for c in Certainty::all() {
        vary(&|r| r.release.certainty = c);
    }
    vary(&|r| r.release = ReleaseDate::unknown());
    for s in MediCalStatus::all() {
        vary(&|r| r.medi_cal.status = s);
    }
    for s in SupplyStatus::all() {
        vary(&|r| r.medications.iter_mut().for_each(|m| m.supply = s));
    }
    for c in MedClass::all() {
        vary(&|r| r.medications.iter_mut().for_each(|m| m.class = c));
    }
    for s in NaloxoneStatus::all() {
        vary(&|r| r.naloxone = Some(s));
    }
    for s in DmeStatus::all() {
        vary(&|r| r.dme.iter_mut().for_each(|d| d.status = s));
    }
    for s in CarePlanStatus::all() {
        vary(&|r| r.care_plan = s);
    }
    for s in WarmHandoffStatus::all() {
        vary(&|r| r.warm_handoff.status = s);
    }
    for s in TransportStatus::all() {
        vary(&|r| r.transport.status = s);
    }
    for s in AppointmentStatus::all() {
        vary(&|r| r.appointments.iter_mut().for_each(|a| a.status = s));
        vary(&|r| {
            r.appointments.iter_mut().for_each(|a| {
                a.status = s;
                a.on = None;
            });
        });
    }
    for s in NotificationStatus::all() {
        vary(&|r| r.notifications.iter_mut().for_each(|n| n.status = s));
        vary(&|r| r.referrals.iter_mut().for_each(|f| f.status = s));
    }
    for t in ReferralTarget::all() {
        vary(&|r| r.referrals.iter_mut().for_each(|f| f.target = t));
    }
    vary(&|r| r.care_team = CareTeam::default());
    let mut bundles = Vec::new();
    for recipient in [Recipient::HealthPlan, Recipient::CareProvider] {
        let options = Options {
            today: AS_OF.parse().unwrap(),
            rules: Rules::default(),
            recipient,
        };
        bundles.extend(
            variants
                .iter()
                .map(|r| transaction(&person_resources(r, &options))),
        );
    }
    let report = validator.check_values(&bundles);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.checked as usize, bundles.len());
}
