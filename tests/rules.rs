//! Table tests of the timeline rules: every rule, every boundary day, dates moving both ways.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, NaiveDate, Utc};
use reentry_board::domain::*;

const TODAY: &str = "2026-03-02";

fn today() -> NaiveDate {
    TODAY.parse().unwrap()
}

fn day(offset: i64) -> NaiveDate {
    today() + Duration::days(offset)
}

fn contact(id: &str) -> Contact {
    Contact {
        id: id.into(),
        name: format!("CM {id}"),
        organisation: "Org".into(),
        phone: "555-0100".into(),
        kind: ContactKind::PreReleaseCm,
    }
}

/// A person booked `booked` days from today (negative = in the past), releasing in `release` days.
fn person(booked: i64, release: Option<i64>) -> PersonRecord {
    let p = Person {
        id: "p1".into(),
        booking_id: "B-1".into(),
        name: PersonName::new("Test", "Person"),
        date_of_birth: None,
        facility: Facility {
            id: "main".into(),
            name: "Main Jail".into(),
            kind: FacilityKind::AdultJail,
        }
        .into(),
        unit: "A".into(),
        youth: false,
        booked_on: day(booked),
        custody: CustodyStatus::InCustody,
        released_on: None,
    };
    let release = match release {
        Some(r) => ReleaseDate {
            date: Some(day(r)),
            certainty: Certainty::Confirmed,
            kind: Some(ReleaseType::SentenceEnd),
            source: Some(ReleaseSource::JailManagementSystem),
        },
        None => ReleaseDate::unknown(),
    };
    PersonRecord::new(p, release)
}

fn confirmed() -> Option<Confirmation> {
    Some(Confirmation {
        by: "nurse.kim".into(),
        at: DateTime::<Utc>::from_naive_utc_and_offset(day(-1).and_hms_opt(9, 0, 0).unwrap(), Utc),
    })
}

fn med(supply: SupplyStatus) -> Medication {
    Medication {
        id: 1,
        name: "Lisinopril".into(),
        class: MedClass::Chronic,
        long_acting_injectable: false,
        next_dose: None,
        supply,
        confirmed: confirmed(),
        version: 1,
    }
}

/// Everything that can be done, done.
fn complete(mut r: PersonRecord) -> PersonRecord {
    r.medi_cal.status = MediCalStatus::UnsuspendRequested;
    r.consent = Consent {
        signed_on: Some(r.person.booked_on),
        signed_by_guardian: true,
        ..Consent::default()
    };
    r.screening = Screening {
        result: ScreeningResult::Eligible,
        needs: [HealthNeed::ChronicCondition].into(),
    };
    r.care_team.pre_release_cm = Some(contact("cm1").into());
    r.care_plan = CarePlanStatus::SharedWithMcp;
    r.appointments.push(Appointment {
        id: 1,
        what: "PCP".into(),
        on: None,
        status: AppointmentStatus::Booked,
    });
    r.warm_handoff.status = WarmHandoffStatus::Completed;
    r.medications.push(med(SupplyStatus::GivenInHand));
    r.transport.status = TransportStatus::Arranged;
    r.naloxone = Some(NaloxoneStatus::Given);
    for who in [Recipient::SocialServices, Recipient::Mcp] {
        r.notifications.push(Notification {
            recipient: who,
            status: NotificationStatus::Sent,
        });
    }
    r
}

fn status(r: &PersonRecord, code: MilestoneCode) -> MilestoneStatus {
    readiness(r, today(), &Rules::default())
        .get(code)
        .cloned()
        .unwrap()
}

fn check(r: &PersonRecord, code: MilestoneCode, due: Option<i64>, state: MilestoneState) {
    let s = status(r, code);
    assert_eq!(
        (s.due, s.state),
        (due.map(day), state),
        "{code} for booked {} release {:?}",
        r.person.booked_on,
        r.release.date
    );
}

#[test]
fn release_anchored_milestones_at_every_boundary() {
    use MilestoneCode as M;
    use MilestoneState::*;
    // (milestone, release in days, due in days, state) — booked long ago, nothing done.
    // due_soon_days = 7: 7 days before due is "due soon", 8 is "pending"; the due day itself is
    // "due soon"; the day after is "overdue".
    let table: &[(M, i64, i64, MilestoneState)] = &[
        (M::Screening, 200, 65, Pending),
        (M::Screening, 143, 8, Pending),
        (M::Screening, 142, 7, DueSoon),
        (M::Screening, 135, 0, DueSoon),
        (M::Screening, 134, -1, Overdue),
        (M::CareManager, 98, 8, Pending),
        (M::CareManager, 97, 7, DueSoon),
        (M::CareManager, 90, 0, DueSoon),
        (M::CareManager, 89, -1, Overdue),
        (M::CarePlan, 38, 8, Pending),
        (M::CarePlan, 30, 0, DueSoon),
        (M::CarePlan, 29, -1, Overdue),
        (M::Appointments, 29, -1, Overdue),
        (M::WarmHandoff, 22, 8, Pending),
        (M::WarmHandoff, 14, 0, DueSoon),
        (M::WarmHandoff, 13, -1, Overdue),
        (M::Transport, 14, 7, DueSoon),
        (M::Transport, 6, -1, Overdue),
        (M::MediCalOnRelease, 8, 8, Pending),
        (M::MediCalOnRelease, 0, 0, DueSoon),
        (M::MediCalOnRelease, -1, -1, Overdue),
        (M::Naloxone, 3, 3, DueSoon),
        (M::Notifications, 3, 3, DueSoon),
    ];
    for &(code, release, due, state) in table {
        check(&person(-400, Some(release)), code, Some(due), state);
    }
}

#[test]
fn intake_milestones_count_from_booking() {
    use MilestoneState::*;
    for code in [MilestoneCode::MediCalChecked, MilestoneCode::Consent] {
        check(&person(0, Some(300)), code, Some(7), DueSoon);
        check(&person(-7, Some(300)), code, Some(0), DueSoon);
        check(&person(-8, Some(300)), code, Some(-1), Overdue);
        // Unknown release date: intake is still counted from booking.
        check(&person(-8, None), code, Some(-1), Overdue);
    }
    let mut r = person(-30, Some(300));
    r.medi_cal.status = MediCalStatus::Suspended;
    check(&r, MilestoneCode::MediCalChecked, None, Done);
}

#[test]
fn medications_are_ordered_by_t7_and_in_hand_on_release_day() {
    use MilestoneState::*;
    let with = |release, supply| {
        let mut r = person(-200, Some(release));
        r.medications.push(med(supply));
        r
    };
    check(
        &with(10, SupplyStatus::ToOrder),
        MilestoneCode::Medications,
        Some(3),
        DueSoon,
    );
    check(
        &with(16, SupplyStatus::ToOrder),
        MilestoneCode::Medications,
        Some(9),
        Pending,
    );
    check(
        &with(5, SupplyStatus::ToOrder),
        MilestoneCode::Medications,
        Some(-2),
        Overdue,
    );
    // Ordered: the next step is "in hand" on release day.
    check(
        &with(5, SupplyStatus::Ordered),
        MilestoneCode::Medications,
        Some(5),
        DueSoon,
    );
    check(
        &with(20, SupplyStatus::Ready),
        MilestoneCode::Medications,
        Some(20),
        Pending,
    );
    check(
        &with(-1, SupplyStatus::Ready),
        MilestoneCode::Medications,
        Some(-1),
        Overdue,
    );
    for settled in [
        SupplyStatus::GivenInHand,
        SupplyStatus::RxSentToPharmacy,
        SupplyStatus::Refused,
    ] {
        let s = status(&with(5, settled), MilestoneCode::Medications);
        assert_eq!(s.state, Done, "{settled}");
        assert_eq!(
            s.done_by.as_deref(),
            Some("nurse.kim"),
            "who confirmed is kept"
        );
        assert_eq!(s.done_on, Some(day(-1)));
    }
    // No medications at all, or only ones not needed.
    check(
        &person(-200, Some(5)),
        MilestoneCode::Medications,
        None,
        NotNeeded,
    );
    check(
        &with(5, SupplyStatus::NotNeeded),
        MilestoneCode::Medications,
        None,
        NotNeeded,
    );
    // One item behind holds the whole milestone back.
    let mut r = with(5, SupplyStatus::GivenInHand);
    r.medications.push(med(SupplyStatus::ToOrder));
    check(&r, MilestoneCode::Medications, Some(-2), Overdue);
}

#[test]
fn dme_is_ordered_by_t7_and_delivered_on_release_day() {
    use MilestoneState::*;
    let with = |release, status| {
        let mut r = person(-200, Some(release));
        r.dme.push(DmeItem {
            id: 1,
            item: "Oxygen concentrator".into(),
            status,
            confirmed: confirmed(),
            version: 1,
        });
        r
    };
    check(
        &with(10, DmeStatus::Identified),
        MilestoneCode::Dme,
        Some(3),
        DueSoon,
    );
    check(
        &with(6, DmeStatus::Identified),
        MilestoneCode::Dme,
        Some(-1),
        Overdue,
    );
    check(
        &with(6, DmeStatus::Ordered),
        MilestoneCode::Dme,
        Some(6),
        DueSoon,
    );
    check(
        &with(6, DmeStatus::Ready),
        MilestoneCode::Dme,
        Some(6),
        DueSoon,
    );
    check(
        &with(6, DmeStatus::Delivered),
        MilestoneCode::Dme,
        None,
        Done,
    );
    check(&person(-200, Some(6)), MilestoneCode::Dme, None, NotNeeded);
}

#[test]
fn unknown_release_date_shows_the_unplanned_release_minimum() {
    use MilestoneCode as M;
    use MilestoneState::*;
    let r = person(-2, None);
    let ready = readiness(&r, today(), &Rules::default());
    assert_eq!(ready.band, Band::Unknown);
    assert_eq!(ready.days_to_release, None);
    // The minimum is counted from booking (7 days by default).
    for code in [
        M::Screening,
        M::Consent,
        M::MediCalChecked,
        M::Notifications,
    ] {
        check(&r, code, Some(5), DueSoon);
    }
    // Everything else cannot be counted back from an unknown date.
    for code in [
        M::CareManager,
        M::CarePlan,
        M::WarmHandoff,
        M::Transport,
        M::Naloxone,
    ] {
        check(&r, code, None, Pending);
    }
    // Medications ready (or a bridge prescription sent) satisfy the minimum without a date.
    let mut r = person(-2, None);
    r.medications.push(med(SupplyStatus::Ready));
    check(&r, M::Medications, None, Done);
    let mut r = person(-2, None);
    r.medications.push(med(SupplyStatus::Ordered));
    check(&r, M::Medications, Some(5), DueSoon);
    // Booked more than a week ago with the minimum missing: overdue work.
    let r = person(-9, None);
    check(&r, M::Screening, Some(-2), Overdue);
    assert_eq!(
        readiness(&r, today(), &Rules::default()).band,
        Band::Overdue
    );
}

#[test]
fn late_entry_gets_a_catch_up_date_instead_of_a_red_row() {
    use MilestoneCode as M;
    use MilestoneState::*;
    // Booked today, releasing in 20 days: T-135, T-90 and T-30 had passed before arrival.
    let r = person(0, Some(20));
    let ready = readiness(&r, today(), &Rules::default());
    assert!(ready.late_entry);
    assert_eq!(
        ready.count(Overdue),
        0,
        "nothing is painted overdue on day one"
    );
    assert_eq!(ready.band, Band::ServicesWindow);
    for code in [M::Screening, M::CareManager, M::CarePlan, M::Appointments] {
        let s = status(&r, code);
        assert!(s.late_entry, "{code}");
        assert_eq!((s.due, s.state), (Some(day(7)), DueSoon), "{code}");
    }
    // T-14 is still ahead of the booking: an ordinary milestone.
    let h = status(&r, M::WarmHandoff);
    assert!(!h.late_entry);
    assert_eq!((h.due, h.state), (Some(day(6)), DueSoon));
    // The catch-up date never falls after the release itself.
    check(&person(0, Some(3)), M::Screening, Some(3), DueSoon);
    // A late entry who has not caught up within the grace period is overdue after all.
    let r = person(-10, Some(10));
    let s = status(&r, M::Screening);
    assert!(s.late_entry);
    assert_eq!((s.due, s.state), (Some(day(-3)), Overdue));
    // Boundary: due exactly on the booking day is not a late entry.
    let s = status(&person(-5, Some(130)), M::Screening);
    assert!(!s.late_entry);
    assert_eq!((s.due, s.state), (Some(day(-5)), Overdue));
    let s = status(&person(-4, Some(130)), M::Screening);
    assert!(s.late_entry);
    assert_eq!(s.due, Some(day(3)));
}

#[test]
fn due_dates_move_with_the_release_date_both_ways() {
    use MilestoneState::*;
    let mut r = person(-300, Some(100));
    check(&r, MilestoneCode::CareManager, Some(10), Pending);
    // Moved 20 days earlier: the care manager is now overdue.
    r.release.date = Some(day(80));
    check(&r, MilestoneCode::CareManager, Some(-10), Overdue);
    assert_eq!(
        readiness(&r, today(), &Rules::default()).band,
        Band::Overdue
    );
    // Moved later again: back on time.
    r.release.date = Some(day(120));
    check(&r, MilestoneCode::CareManager, Some(30), Pending);
    // Turned unknown: no longer counted back.
    r.release = ReleaseDate::unknown();
    check(&r, MilestoneCode::CareManager, None, Pending);
}

#[test]
fn barriers_block_and_resolution_unblocks() {
    let mut r = person(-300, Some(80));
    r.barriers.push(Barrier {
        id: 1,
        milestone: MilestoneCode::CareManager,
        reason: BarrierReason::ProviderUnavailable,
        text: String::new(),
        opened_on: day(-3),
        resolved_on: None,
    });
    let s = status(&r, MilestoneCode::CareManager);
    assert_eq!(
        (s.state, s.blocked_by),
        (
            MilestoneState::Blocked,
            Some(BarrierReason::ProviderUnavailable)
        )
    );
    assert_eq!(
        s.due,
        Some(day(-10)),
        "a blocked milestone keeps its due date"
    );
    assert!(readiness(&r, today(), &Rules::default()).at_risk());
    r.barriers[0].resolved_on = Some(day(0));
    check(
        &r,
        MilestoneCode::CareManager,
        Some(-10),
        MilestoneState::Overdue,
    );
    // A barrier does not undo work that is done.
    let mut r = complete(person(-300, Some(80)));
    r.barriers.push(Barrier {
        id: 2,
        milestone: MilestoneCode::CareManager,
        reason: BarrierReason::Other,
        text: "x".into(),
        opened_on: day(-1),
        resolved_on: None,
    });
    check(&r, MilestoneCode::CareManager, None, MilestoneState::Done);
}

#[test]
fn screening_decides_which_services_apply() {
    use MilestoneCode as M;
    let mut r = person(-300, Some(60));
    r.screening.result = ScreeningResult::NotEligible;
    for code in [M::CareManager, M::CarePlan, M::Appointments, M::WarmHandoff] {
        check(&r, code, None, MilestoneState::NotNeeded);
    }
    // The youth rule: everyone in a youth facility qualifies, whatever the screening said.
    r.person.youth = true;
    check(&r, M::CareManager, Some(-30), MilestoneState::Overdue);
    // Behavioral-health link only for mental illness or substance use disorder.
    let mut r = person(-300, Some(3));
    check(&r, M::BehavioralHealthLink, None, MilestoneState::NotNeeded);
    r.screening.needs.insert(HealthNeed::SubstanceUseDisorder);
    check(
        &r,
        M::BehavioralHealthLink,
        Some(3),
        MilestoneState::DueSoon,
    );
    r.referrals.push(Referral {
        id: 1,
        target: ReferralTarget::DrugMediCal,
        status: NotificationStatus::Sent,
    });
    check(&r, M::BehavioralHealthLink, None, MilestoneState::Done);
}

#[test]
fn youth_rules() {
    use MilestoneCode as M;
    let adult = person(-300, Some(20));
    check(
        &adult,
        M::YouthCaseManagement,
        None,
        MilestoneState::NotNeeded,
    );
    let mut youth = person(-300, Some(20));
    youth.person.youth = true;
    check(
        &youth,
        M::YouthCaseManagement,
        Some(-10),
        MilestoneState::Overdue,
    );
    // A youth's consent must be signed by a parent or guardian.
    youth.consent.signed_on = Some(day(-299));
    check(&youth, M::Consent, Some(-293), MilestoneState::Overdue);
    youth.consent.signed_by_guardian = true;
    check(&youth, M::Consent, None, MilestoneState::Done);
    youth.marks.push(MilestoneMark {
        milestone: M::YouthCaseManagement,
        kind: MarkKind::Done,
        by: "cm.ortiz".into(),
        on: day(-2),
    });
    let s = status(&youth, M::YouthCaseManagement);
    assert_eq!(
        (s.state, s.done_by.as_deref(), s.done_on),
        (MilestoneState::Done, Some("cm.ortiz"), Some(day(-2)))
    );
}

#[test]
fn warm_handoff_rules() {
    use MilestoneState::*;
    let mut r = person(-300, Some(10));
    check(&r, MilestoneCode::WarmHandoff, Some(-4), Overdue);
    r.warm_handoff = WarmHandoff {
        status: WarmHandoffStatus::Scheduled,
        scheduled_on: Some(day(2)),
    };
    check(&r, MilestoneCode::WarmHandoff, Some(-4), Overdue);
    r.warm_handoff.status = WarmHandoffStatus::CompletedWithoutClient;
    check(&r, MilestoneCode::WarmHandoff, None, Done);
    // The same care manager before and after release: not required.
    let mut r = person(-300, Some(10));
    r.care_team.pre_release_cm = Some(contact("same").into());
    r.care_team.post_release_ecm = Some(contact("same").into());
    check(&r, MilestoneCode::WarmHandoff, None, NotNeeded);
    r.care_team.post_release_ecm = Some(contact("other").into());
    check(&r, MilestoneCode::WarmHandoff, Some(-4), Overdue);
}

#[test]
fn notifications_need_social_services_mcp_and_the_ecm_when_there_is_one() {
    let mut r = person(-300, Some(2));
    r.notifications.push(Notification {
        recipient: Recipient::SocialServices,
        status: NotificationStatus::Acknowledged,
    });
    check(
        &r,
        MilestoneCode::Notifications,
        Some(2),
        MilestoneState::DueSoon,
    );
    r.notifications.push(Notification {
        recipient: Recipient::Mcp,
        status: NotificationStatus::Sent,
    });
    check(&r, MilestoneCode::Notifications, None, MilestoneState::Done);
    r.care_team.post_release_ecm = Some(contact("ecm").into());
    check(
        &r,
        MilestoneCode::Notifications,
        Some(2),
        MilestoneState::DueSoon,
    );
    r.notifications.push(Notification {
        recipient: Recipient::Ecm,
        status: NotificationStatus::Failed,
    });
    check(
        &r,
        MilestoneCode::Notifications,
        Some(2),
        MilestoneState::DueSoon,
    );
}

#[test]
fn bands_at_every_boundary() {
    let table: &[(Option<i64>, Band)] = &[
        (Some(-1), Band::Overdue),
        (Some(0), Band::Near),
        (Some(14), Band::Near),
        (Some(15), Band::ServicesWindow),
        (Some(90), Band::ServicesWindow),
        (Some(91), Band::ScreeningWindow),
        (Some(135), Band::ScreeningWindow),
        (Some(136), Band::Later),
        (None, Band::Unknown),
    ];
    for &(release, band) in table {
        let r = complete(person(-400, release));
        let ready = readiness(&r, today(), &Rules::default());
        assert_eq!(
            ready.count(MilestoneState::Overdue),
            0,
            "{release:?}: {:?}",
            ready.milestones
        );
        assert_eq!(ready.band, band, "release in {release:?}");
        assert_eq!(ready.days_to_release, release);
    }
    // Any overdue milestone puts the person in the overdue band, whatever the date.
    let r = person(-400, Some(200));
    assert_eq!(
        readiness(&r, today(), &Rules::default()).band,
        Band::Overdue
    );
}

#[test]
fn county_overrides_move_due_dates_and_bands() {
    let rules = Rules {
        screening: 120,
        due_soon_days: 3,
        near_band_days: 21,
        ..Rules::default()
    };
    rules.validate().unwrap();
    let r = person(-400, Some(125));
    let s = readiness(&r, today(), &rules);
    let screening = s.get(MilestoneCode::Screening).unwrap();
    assert_eq!(
        (screening.due, screening.state),
        (Some(day(5)), MilestoneState::Pending)
    );
    let r = complete(person(-400, Some(20)));
    assert_eq!(readiness(&r, today(), &rules).band, Band::Near);
}

#[test]
fn invalid_rules_name_the_key() {
    let bad = Rules {
        care_manager: -5,
        ..Rules::default()
    };
    let err = bad.validate().unwrap_err();
    assert_eq!(err.key, "care_manager");
    assert!(err.to_string().contains("rules.care_manager"), "{err}");
    let bad = Rules {
        near_band_days: 100,
        ..Rules::default()
    };
    assert_eq!(bad.validate().unwrap_err().key, "services_window_days");
    let bad = Rules {
        medications_ordered: 0,
        release_day: 2,
        ..Rules::default()
    };
    assert_eq!(bad.validate().unwrap_err().key, "medications_ordered");
}

#[test]
fn every_milestone_has_a_unique_letter_and_glyphs_differ_per_state() {
    let letters: std::collections::BTreeSet<char> =
        MilestoneCode::all().map(MilestoneCode::letter).collect();
    assert_eq!(letters.len(), MilestoneCode::all().count());
    for ascii in [false, true] {
        let glyphs: std::collections::BTreeSet<char> =
            MilestoneState::all().map(|s| s.glyph(ascii)).collect();
        assert_eq!(glyphs.len(), MilestoneState::all().count());
    }
    for s in MilestoneState::all() {
        assert!(s.glyph(true).is_ascii());
    }
}

#[test]
fn acknowledgement_counts_only_open_changes() {
    let mut r = person(-100, Some(10));
    let change = |from: i64, to: i64, ack: bool| ReleaseChange {
        id: 1,
        changed_at: day(0).and_hms_opt(9, 0, 0).unwrap().and_utc(),
        changed_by: "records.lee".into(),
        from: Some(day(from)),
        to: Some(day(to)),
        certainty: Certainty::Confirmed,
        source: Some(ReleaseSource::CourtOrder),
        reason: ChangeReason::SentenceCredits,
        reason_text: String::new(),
        acknowledged_by: ack.then(|| "coord".into()),
        acknowledged_at: ack.then(DateTime::<Utc>::default),
    };
    r.release_history = vec![
        change(40, 10, true),
        change(60, 40, false),
        change(100, 120, false),
    ];
    assert_eq!(r.unacknowledged_changes(14), 1);
    // Judged on the day of the change, not today: a change made 100 days before a date that is now
    // close did not need acknowledging.
    r.release_history = vec![ReleaseChange {
        changed_at: day(-100).and_hms_opt(9, 0, 0).unwrap().and_utc(),
        ..change(110, 120, false)
    }];
    assert_eq!(r.unacknowledged_changes(14), 0);
}
