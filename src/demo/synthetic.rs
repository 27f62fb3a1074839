//! Synthetic rosters of any size, deterministic for the same (n, today, seed), for benchmarks and
//! load tests. They reuse the fixtures' facilities, directory and staff.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{DemoError, Reference, at, fixtures::embedded_reference, offset, person_id};
use crate::domain::{
    Appointment, AppointmentStatus, Barrier, BarrierReason, CarePlanStatus, CareTeam, Certainty,
    ChangeReason, Confirmation, Consent, ConsentScope, Contact, ContactKind, CustodyStatus,
    DmeItem, DmeStatus, Facility, FacilityKind, HealthNeed, MarkKind, MedClass, MediCal,
    MediCalStatus, Medication, MilestoneCode, MilestoneMark, NaloxoneStatus, Note, Notification,
    NotificationStatus, Person, PersonName, PersonRecord, Recipient, Referral, ReferralTarget,
    ReleaseChange, ReleaseDate, ReleaseSource, ReleaseType, Role, Rules, Screening,
    ScreeningResult, SeedData, SupplyStatus, Transport, TransportStatus, WarmHandoff,
    WarmHandoffStatus,
};

#[rustfmt::skip]
const LAST: &[&str] = &[
    "García", "Hernández", "López", "Martínez", "González", "Rodríguez", "Pérez", "Sánchez",
    "Ramírez", "Flores", "Núñez", "Ibáñez", "Muñoz", "Nguyễn", "Trần", "Lê", "Phạm", "Kim", "Park",
    "Chen", "Wong", "Li", "Santos", "Reyes", "Bautista", "Dela Cruz", "Vang", "Xiong", "Lor",
    "Singh", "Sandhu", "Grewal", "Avetisyan", "Petrosyan", "Smith", "Johnson", "Williams", "Brown",
    "Jackson", "Washington", "Thompson", "Miller", "Davis", "O'Connor", "O'Neal", "D'Angelo",
    "McAllister", "Yazzie", "Begay", "Tupou", "Fifita", "Haddad", "Khoury", "Okafor", "Mensah",
    "Kowalski", "Schäfer", "Lindqvist", "Dubois", "Ortiz",
];

#[rustfmt::skip]
const FIRST: &[&str] = &[
    "José", "María", "Luis", "Ana", "Jesús", "Sofía", "Andrés", "Zoë", "Chloé", "Noémie", "Iñaki",
    "Ximena", "Joaquín", "Marisol", "Héctor", "Bảo", "Thảo", "Minh", "Linh", "Ji-ho", "Min-jun",
    "Wei", "Mei", "Paolo", "Rommel", "Tou", "Pa Nhia", "Harpreet", "Gurpreet", "Aram", "Lusine",
    "James", "Michael", "Ashley", "Jessica", "DeShawn", "Tamika", "Tyrell", "Brandon", "Kayla",
    "Declan", "Siobhan", "Marisa", "Darlene", "Cody", "Sione", "Mele", "Rami", "Layla", "Chidi",
    "Adaeze", "Brett", "René", "Jean-Luc", "Anne-Marie", "Óscar", "Itzel", "Citlali",
];

/// A few CJK names, as a surname and a given name, so wide characters appear at every size.
const CJK: &[(&str, &str)] = &[("王", "小明"), ("李", "美玲"), ("陳", "志強"), ("張", "偉")];

/// Medication pools per health need: (name, class, long-acting injectable).
const SUD_MEDS: &[(&str, MedClass, bool)] = &[
    (
        "Buprenorphine/naloxone 8 mg/2 mg film",
        MedClass::MatOud,
        false,
    ),
    ("Methadone 60 mg oral solution", MedClass::MatOud, false),
    ("Naltrexone XR 380 mg injection", MedClass::MatOud, true),
    ("Buprenorphine XR 300 mg injection", MedClass::MatOud, true),
    ("Acamprosate 666 mg", MedClass::MatAud, false),
];
const MI_MEDS: &[(&str, MedClass, bool)] = &[
    (
        "Paliperidone palmitate 156 mg injection",
        MedClass::Psychotropic,
        true,
    ),
    (
        "Aripiprazole lauroxil 882 mg injection",
        MedClass::Psychotropic,
        true,
    ),
    ("Sertraline 100 mg", MedClass::Psychotropic, false),
    ("Quetiapine 200 mg", MedClass::Psychotropic, false),
    ("Lithium carbonate 300 mg", MedClass::Psychotropic, false),
];
const CHRONIC_MEDS: &[(&str, MedClass, bool)] = &[
    ("Metformin 1000 mg", MedClass::Chronic, false),
    (
        "Insulin glargine 100 units/mL pen",
        MedClass::Chronic,
        false,
    ),
    ("Lisinopril 20 mg", MedClass::Chronic, false),
    ("Albuterol HFA inhaler", MedClass::Chronic, false),
];
const HIV_MEDS: &[(&str, MedClass, bool)] = &[(
    "Bictegravir/emtricitabine/tenofovir alafenamide",
    MedClass::Chronic,
    false,
)];

const DME: &[&str] = &[
    "Oxygen concentrator (portable)",
    "Wheelchair (manual, standard)",
    "Walker with seat",
    "CPAP machine with supplies",
    "Wound-care supplies (30 days)",
];

const MCPS: &[&str] = &[
    "Golden Valley Health Plan",
    "Alta Mesa Community Health Plan",
    "Pacific Crest Health",
];

const APPOINTMENTS: &[&str] = &[
    "Primary care intake",
    "OTP intake visit",
    "Psychiatry follow-up",
    "ECM first visit",
];

const NOTES: &[&str] = &[
    "Needs a state ID before release.",
    "Family will pick up; confirm time with the lobby.",
    "Interpreter needed for the handoff meeting.",
    "Asked about sober living beds.",
];

/// `n` synthetic people; the same (n, today, seed) always gives the same data.
pub fn synthetic_data(n: usize, today: NaiveDate, seed: u64) -> Result<SeedData, DemoError> {
    let reference = embedded_reference()?;
    let mut generator = Generator::new(&reference, today, seed);
    let records = (0..n).map(|i| generator.person(i)).collect();
    Ok(SeedData {
        facilities: reference
            .facilities
            .iter()
            .map(|(f, _)| f.clone())
            .collect(),
        contacts: reference.contacts.clone(),
        users: reference.users.clone(),
        records,
        released: Vec::new(),
    })
}

struct Generator<'a> {
    reference: &'a Reference,
    today: NaiveDate,
    rng: ChaCha8Rng,
    rules: Rules,
    next_id: i64,
    youth_facilities: Vec<usize>,
    adult_facilities: Vec<usize>,
    /// `reference.facilities`, shared by the records as the store's load shares them.
    shared_facilities: Vec<Arc<Facility>>,
    pre_cms: Vec<Arc<Contact>>,
    ecms: Vec<Arc<Contact>>,
    probation: Vec<Arc<Contact>>,
    behavioral: Vec<Arc<Contact>>,
    nurses: Vec<String>,
    records_login: String,
    coordinator_login: String,
}

impl<'a> Generator<'a> {
    fn new(reference: &'a Reference, today: NaiveDate, seed: u64) -> Self {
        let of_kind = |kind: ContactKind| -> Vec<Arc<Contact>> {
            reference
                .contacts
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| Arc::new(c.clone()))
                .collect()
        };
        let facilities = |youth: bool| -> Vec<usize> {
            (0..reference.facilities.len())
                .filter(|&i| {
                    reference
                        .facilities
                        .get(i)
                        .is_some_and(|(f, _)| (f.kind == FacilityKind::YouthFacility) == youth)
                })
                .collect()
        };
        Self {
            reference,
            today,
            rng: ChaCha8Rng::seed_from_u64(seed),
            rules: Rules::default(),
            next_id: 0,
            youth_facilities: facilities(true),
            adult_facilities: facilities(false),
            shared_facilities: reference
                .facilities
                .iter()
                .map(|(f, _)| Arc::new(f.clone()))
                .collect(),
            pre_cms: of_kind(ContactKind::PreReleaseCm),
            ecms: of_kind(ContactKind::EcmProvider),
            probation: of_kind(ContactKind::ProbationOfficer),
            behavioral: of_kind(ContactKind::BehavioralHealth),
            nurses: reference
                .users
                .iter()
                .filter(|u| u.role == Role::Nurse)
                .map(|u| u.login.clone())
                .collect(),
            records_login: reference.login_for(Role::Records),
            coordinator_login: reference.login_for(Role::Coordinator),
        }
    }

    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        let i = self.index(items.len())?;
        items.get(i).copied()
    }

    fn index(&mut self, len: usize) -> Option<usize> {
        (len > 0).then(|| self.rng.random_range(0..len))
    }

    /// A random contact of one directory list.
    fn contact(&mut self, list: fn(&Self) -> &Vec<Arc<Contact>>) -> Option<Arc<Contact>> {
        let i = self.index(list(self).len())?;
        list(self).get(i).cloned()
    }

    fn day(&self, days: i64) -> NaiveDate {
        offset(self.today, days).unwrap_or(self.today)
    }

    fn instant(&self, days_ago: i64) -> DateTime<Utc> {
        at(self.today, days_ago).unwrap_or_default()
    }

    fn confirmation(&mut self) -> Option<Confirmation> {
        let by = match self.index(self.nurses.len()) {
            Some(i) => self.nurses.get(i).cloned().unwrap_or_default(),
            None => self.records_login.clone(),
        };
        let days_ago = self.rng.random_range(0..=4);
        Some(Confirmation {
            by,
            at: self.instant(days_ago),
        })
    }

    fn person(&mut self, index: usize) -> PersonRecord {
        let youth = !self.youth_facilities.is_empty() && self.chance(0.10);
        // Most adults are in the main jail (the first adult facility listed).
        let facility_index = if youth {
            self.index(self.youth_facilities.len())
                .and_then(|i| self.youth_facilities.get(i).copied())
        } else if self.chance(0.8) {
            self.adult_facilities.first().copied()
        } else {
            self.index(self.adult_facilities.len())
                .and_then(|i| self.adult_facilities.get(i).copied())
        };
        let reference = self.reference;
        let Some(((_, units), facility)) = facility_index.and_then(|i| {
            reference
                .facilities
                .get(i)
                .zip(self.shared_facilities.get(i).cloned())
        }) else {
            return PersonRecord::new(self.bare_person(index), ReleaseDate::unknown());
        };
        let unit = self
            .index(units.len())
            .and_then(|i| units.get(i).cloned())
            .unwrap_or_default();

        // The spread of the meeting's bands: ~10% unknown, ~3% past the date, ~16% inside 14 days.
        let band = self.rng.random_range(0..100_u32);
        let release_in: Option<i64> = match band {
            0..10 => None,
            10..13 => Some(self.rng.random_range(-6..=-1)),
            13..29 => Some(self.rng.random_range(0..=14)),
            29..59 => Some(self.rng.random_range(15..=90)),
            59..74 => Some(self.rng.random_range(91..=135)),
            _ => Some(self.rng.random_range(136..=540)),
        };
        let late = self.chance(0.08);
        let booked_ago: i64 = match release_in {
            None => self.rng.random_range(0..=60),
            // Booked inside the screening window: a late entry.
            Some(r) if late && r < 134 => self.rng.random_range(0..=(134 - r).min(30)),
            Some(r) => (135 - r).max(0) + self.rng.random_range(1..=240),
        };

        let (last, first) = self.name();
        let age: i64 = if youth {
            self.rng.random_range(14..=17)
        } else {
            self.rng.random_range(18..=70)
        };
        let dob_days = age * 365 + self.rng.random_range(0..365);
        let prefix = if youth { 'Y' } else { 'B' };
        let booking_id = format!("{prefix}-{:02}-{:06}", 24 + index % 3, index + 1);
        let person = Person {
            id: person_id(&booking_id),
            booking_id,
            name: PersonName::new(last, first),
            date_of_birth: Some(self.day(-dob_days)),
            facility: facility.clone(),
            unit,
            youth,
            booked_on: self.day(-booked_ago),
            custody: CustodyStatus::InCustody,
            released_on: None,
        };
        let release = match release_in {
            None => ReleaseDate {
                date: None,
                certainty: Certainty::Unknown,
                kind: if self.chance(0.3) {
                    Some(ReleaseType::BailOwnRecognizance)
                } else {
                    None
                },
                source: None,
            },
            Some(r) => ReleaseDate {
                date: Some(self.day(r)),
                certainty: self
                    .pick(&[
                        Certainty::Confirmed,
                        Certainty::Projected,
                        Certainty::Estimated,
                    ])
                    .unwrap_or(Certainty::Projected),
                kind: self.pick(&[
                    ReleaseType::SentenceEnd,
                    ReleaseType::SentenceEnd,
                    ReleaseType::Prcs,
                    ReleaseType::Parole,
                    ReleaseType::CourtOrdered,
                ]),
                source: self.pick(&[
                    ReleaseSource::JailManagementSystem,
                    ReleaseSource::JailManagementSystem,
                    ReleaseSource::CourtOrder,
                    ReleaseSource::Probation,
                ]),
            },
        };
        let mut r = PersonRecord::new(person, release);
        self.fill(&mut r, release_in, booked_ago);
        r
    }

    fn bare_person(&self, index: usize) -> Person {
        let booking_id = format!("B-00-{:06}", index + 1);
        Person {
            id: person_id(&booking_id),
            booking_id,
            name: PersonName::new("Doe", "Demo"),
            date_of_birth: None,
            facility: Arc::new(Facility {
                id: String::new(),
                name: String::new(),
                kind: FacilityKind::AdultJail,
            }),
            unit: String::new(),
            youth: false,
            booked_on: self.today,
            custody: CustodyStatus::InCustody,
            released_on: None,
        }
    }

    fn name(&mut self) -> (String, String) {
        let roll = self.rng.random_range(0..1000_u32);
        let last = self.pick(LAST).unwrap_or("Doe");
        let first = self.pick(FIRST).unwrap_or("Alex");
        match roll {
            0..10 => {
                let (l, f) = self.pick(CJK).unwrap_or(("王", "小明"));
                (l.to_string(), f.to_string())
            }
            10..15 => {
                // Very long compound surnames exist; the board must truncate them gracefully.
                let other = self.pick(LAST).unwrap_or("Doe");
                (
                    format!("{last}-{other} de la Fuente y Montenegro"),
                    format!("{first} Guadalupe"),
                )
            }
            15..95 => {
                let other = self.pick(LAST).unwrap_or("Doe");
                (format!("{last}-{other}"), first.to_string())
            }
            _ => (last.to_string(), first.to_string()),
        }
    }

    /// Days from today when `code` (or its first stage) is due, mirroring the timeline's
    /// late-entry catch-up, so that "done" can follow the calendar like real work does.
    fn due(
        &self,
        code: MilestoneCode,
        release_in: Option<i64>,
        booked_ago: i64,
        final_stage: bool,
    ) -> Option<i64> {
        let booked = -booked_ago;
        let intake = booked + self.rules.intake_days;
        let nominal = match (self.rules.offset(code), release_in) {
            (None, _) => return Some(intake),
            (Some(_), None) if code.in_unplanned_minimum() => {
                return Some(booked + self.rules.unplanned_minimum_days);
            }
            (Some(_), None) => return None,
            (Some(_), Some(r)) if final_stage => r - self.rules.release_day,
            (Some(o), Some(r)) => r - o,
        };
        if nominal < booked {
            let r = release_in.unwrap_or(nominal);
            Some((booked + self.rules.late_entry_grace_days).min(r.max(booked)))
        } else {
            Some(nominal)
        }
    }

    fn fill(&mut self, r: &mut PersonRecord, release_in: Option<i64>, booked_ago: i64) {
        // Most people follow the calendar; a few have everything done or nothing at all.
        let profile = self.rng.random_range(0..100_u32);
        let codes: Vec<MilestoneCode> = MilestoneCode::all().collect();
        let mut done = Vec::with_capacity(codes.len());
        for code in &codes {
            let due = self.due(*code, release_in, booked_ago, false);
            done.push(self.settled(profile, due));
        }
        let is = |done: &[bool], code: MilestoneCode| {
            codes
                .iter()
                .position(|c| *c == code)
                .and_then(|i| done.get(i).copied())
                .unwrap_or(false)
        };
        let meds_final_due = self.due(MilestoneCode::Medications, release_in, booked_ago, true);
        let meds_final =
            is(&done, MilestoneCode::Medications) && self.settled(profile, meds_final_due);
        let dme_final_due = self.due(MilestoneCode::Dme, release_in, booked_ago, true);
        let dme_final = is(&done, MilestoneCode::Dme) && self.settled(profile, dme_final_due);
        let d = |code| is(&done, code);

        let youth = r.person.youth;
        let mut needs = std::collections::BTreeSet::new();
        for (need, p) in [
            (HealthNeed::SubstanceUseDisorder, 0.40),
            (HealthNeed::MentalIllness, 0.30),
            (HealthNeed::ChronicCondition, 0.25),
            (HealthNeed::HivAids, 0.02),
            (HealthNeed::TraumaticBrainInjury, 0.02),
            (HealthNeed::IntellectualDevelopmentalDisability, 0.02),
        ] {
            if self.chance(p) {
                needs.insert(need);
            }
        }
        if r.person.facility.name.contains("Women") && self.chance(0.10) {
            needs.insert(HealthNeed::PregnantPostpartum);
        }

        r.medi_cal = MediCal {
            status: if d(MilestoneCode::MediCalOnRelease) {
                self.pick(&[MediCalStatus::UnsuspendRequested, MediCalStatus::Active])
                    .unwrap_or(MediCalStatus::Active)
            } else if d(MilestoneCode::MediCalChecked) {
                self.pick(&[
                    MediCalStatus::Suspended,
                    MediCalStatus::Suspended,
                    MediCalStatus::ApplicationSubmitted,
                    MediCalStatus::ApplicationNeeded,
                ])
                .unwrap_or(MediCalStatus::Suspended)
            } else {
                MediCalStatus::Unknown
            },
            mcp_name: None,
            former_foster_youth: youth && self.chance(0.3),
        };
        if r.medi_cal.status.is_medi_cal_eligible() {
            r.medi_cal.mcp_name = self.pick(MCPS).map(str::to_string);
        }
        r.screening = Screening {
            result: if d(MilestoneCode::Screening) {
                if youth || !needs.is_empty() {
                    ScreeningResult::Eligible
                } else {
                    ScreeningResult::NotEligible
                }
            } else if self.chance(0.3) {
                ScreeningResult::InProgress
            } else {
                ScreeningResult::NotScreened
            },
            needs,
        };
        if d(MilestoneCode::Consent) {
            let signed_ago = (booked_ago - self.rng.random_range(0..=5)).max(0);
            r.consent = Consent {
                scope: self.pick(&[
                    ConsentScope::MultiAgency,
                    ConsentScope::MultiAgency,
                    ConsentScope::HealthCareOnly,
                    ConsentScope::IncludingProbation,
                ]),
                signed_on: Some(self.day(-signed_ago)),
                expires_on: None,
                signed_by_guardian: youth,
                part2: r
                    .screening
                    .needs
                    .contains(&HealthNeed::SubstanceUseDisorder)
                    && self.chance(0.7),
            };
        }

        let needs_cm = d(MilestoneCode::CareManager)
            || d(MilestoneCode::CarePlan)
            || d(MilestoneCode::WarmHandoff);
        let same_manager = self.chance(0.2);
        let mut team = CareTeam::default();
        if needs_cm {
            if same_manager {
                let ecm = self.contact(|g| &g.ecms);
                team.pre_release_cm = ecm.clone();
                team.post_release_ecm = ecm;
            } else {
                team.pre_release_cm = self.contact(|g| &g.pre_cms);
                if self.chance(0.9) || d(MilestoneCode::WarmHandoff) {
                    team.post_release_ecm = self.contact(|g| &g.ecms);
                }
            }
            let bh_need = r.screening.needs.contains(&HealthNeed::MentalIllness)
                || r.screening
                    .needs
                    .contains(&HealthNeed::SubstanceUseDisorder);
            if bh_need && self.chance(0.7) {
                team.behavioral_health = self.contact(|g| &g.behavioral);
            }
        }
        let supervised = matches!(
            r.release.kind,
            Some(ReleaseType::Prcs | ReleaseType::Parole)
        );
        if youth || supervised || self.chance(0.3) {
            team.probation_officer = self.contact(|g| &g.probation);
        }
        r.care_team = team;

        r.care_plan = if d(MilestoneCode::CarePlan) {
            self.pick(&[CarePlanStatus::Complete, CarePlanStatus::SharedWithMcp])
                .unwrap_or(CarePlanStatus::Complete)
        } else if needs_cm {
            CarePlanStatus::Draft
        } else {
            CarePlanStatus::NotStarted
        };
        r.warm_handoff = if r.care_team.same_manager_pre_and_post() {
            WarmHandoff {
                status: WarmHandoffStatus::NotRequired,
                scheduled_on: None,
            }
        } else if d(MilestoneCode::WarmHandoff) {
            WarmHandoff {
                status: WarmHandoffStatus::Completed,
                scheduled_on: None,
            }
        } else if let Some(rel) = release_in.filter(|rel| *rel > 16 && needs_cm) {
            WarmHandoff {
                status: WarmHandoffStatus::Scheduled,
                scheduled_on: Some(self.day(rel - 16)),
            }
        } else {
            WarmHandoff::default()
        };
        if d(MilestoneCode::Appointments) {
            let id = self.id();
            let when = release_in.unwrap_or(0) + self.rng.random_range(2..=7);
            r.appointments.push(Appointment {
                id,
                what: self
                    .pick(APPOINTMENTS)
                    .unwrap_or("Primary care intake")
                    .to_string(),
                on: Some(self.day(when)),
                status: AppointmentStatus::Booked,
            });
        }
        if youth && d(MilestoneCode::YouthCaseManagement) {
            r.marks.push(MilestoneMark {
                milestone: MilestoneCode::YouthCaseManagement,
                kind: MarkKind::Done,
                by: self.reference.login_for(Role::CareManager),
                on: self.day(-1),
            });
        }

        self.medications(r, release_in, d(MilestoneCode::Medications), meds_final);
        if self.chance(0.06) {
            let item = self.pick(DME).unwrap_or("Walker with seat");
            let status = if dme_final {
                DmeStatus::Delivered
            } else if d(MilestoneCode::Dme) {
                self.pick(&[DmeStatus::Ordered, DmeStatus::Ready])
                    .unwrap_or(DmeStatus::Ordered)
            } else {
                DmeStatus::Identified
            };
            let confirmed = if status == DmeStatus::Identified {
                None
            } else {
                self.confirmation()
            };
            let id = self.id();
            r.dme.push(DmeItem {
                id,
                item: item.to_string(),
                status,
                confirmed,
                version: 1,
            });
        }

        r.naloxone = if d(MilestoneCode::Naloxone) {
            self.pick(&[
                NaloxoneStatus::Given,
                NaloxoneStatus::Offered,
                NaloxoneStatus::Declined,
            ])
        } else {
            None
        };
        r.transport = if d(MilestoneCode::Transport) {
            Transport {
                status: TransportStatus::Arranged,
                note: "Family pick-up at lobby".to_string(),
            }
        } else {
            Transport::default()
        };
        if d(MilestoneCode::Notifications) {
            let mut recipients = vec![Recipient::SocialServices, Recipient::Mcp];
            if r.care_team.post_release_ecm.is_some() {
                recipients.push(Recipient::Ecm);
            }
            for recipient in recipients {
                let status = if self.chance(0.5) {
                    NotificationStatus::Acknowledged
                } else {
                    NotificationStatus::Sent
                };
                r.notifications.push(Notification { recipient, status });
            }
        } else if profile >= 13 && self.chance(0.3) {
            r.notifications.push(Notification {
                recipient: Recipient::SocialServices,
                status: self
                    .pick(&[NotificationStatus::Pending, NotificationStatus::Failed])
                    .unwrap_or(NotificationStatus::Pending),
            });
        }
        let target = if r
            .screening
            .needs
            .contains(&HealthNeed::SubstanceUseDisorder)
        {
            Some(ReferralTarget::DrugMediCal)
        } else if r.screening.needs.contains(&HealthNeed::MentalIllness) {
            Some(ReferralTarget::CountyMentalHealth)
        } else {
            None
        };
        if let Some(target) = target {
            let status = if d(MilestoneCode::BehavioralHealthLink) {
                Some(NotificationStatus::Sent)
            } else if self.chance(0.3) {
                Some(NotificationStatus::Pending)
            } else {
                None
            };
            if let Some(status) = status {
                let id = self.id();
                r.referrals.push(Referral { id, target, status });
            }
        }

        // Barriers explain some of the late work, as the meeting would record them.
        if self.chance(0.08) {
            let open: Vec<MilestoneCode> = codes
                .iter()
                .copied()
                .filter(|c| !is(&done, *c) && self.due(*c, release_in, booked_ago, false).is_some())
                .collect();
            if let Some(milestone) = self.pick(&open) {
                let reason = self
                    .pick(&[
                        BarrierReason::NoHousing,
                        BarrierReason::AwaitingCourt,
                        BarrierReason::ClientDeclined,
                        BarrierReason::ProviderUnavailable,
                        BarrierReason::PharmacyDelay,
                        BarrierReason::NoMcpAssigned,
                    ])
                    .unwrap_or(BarrierReason::Other);
                let id = self.id();
                let opened = self.rng.random_range(0..=14);
                r.barriers.push(Barrier {
                    id,
                    milestone,
                    reason,
                    text: String::new(),
                    opened_on: self.day(-opened),
                    resolved_on: None,
                });
            }
        }
        if self.chance(0.10) {
            self.history(r, release_in);
        }
        if self.chance(0.05) {
            let id = self.id();
            let text = self
                .pick(NOTES)
                .unwrap_or("Check in at the meeting.")
                .to_string();
            r.notes.push(Note {
                id,
                at: self.instant(1),
                by: self.coordinator_login.clone(),
                text,
            });
        }
    }

    /// Settled according to the profile and how close the due day is.
    fn settled(&mut self, profile: u32, due: Option<i64>) -> bool {
        match profile {
            0..8 => true,
            8..13 => false,
            _ => match due {
                Some(d) if d < 0 => self.chance(0.95),
                Some(d) if d <= 7 => self.chance(0.5),
                _ => self.chance(0.2),
            },
        }
    }

    fn medications(
        &mut self,
        r: &mut PersonRecord,
        release_in: Option<i64>,
        ordered: bool,
        final_: bool,
    ) {
        let mut pools: Vec<&[(&str, MedClass, bool)]> = Vec::new();
        let needs = &r.screening.needs;
        if needs.contains(&HealthNeed::SubstanceUseDisorder) {
            pools.push(SUD_MEDS);
        }
        if needs.contains(&HealthNeed::MentalIllness) {
            pools.push(MI_MEDS);
        }
        if needs.contains(&HealthNeed::ChronicCondition) {
            pools.push(CHRONIC_MEDS);
        }
        if needs.contains(&HealthNeed::HivAids) {
            pools.push(HIV_MEDS);
        }
        for pool in pools {
            let Some((name, class, lai)) = self.pick(pool) else {
                continue;
            };
            let supply = match (final_, ordered, release_in) {
                (true, _, Some(rel)) if rel <= 0 => SupplyStatus::GivenInHand,
                (true, _, Some(_)) => SupplyStatus::RxSentToPharmacy,
                (true, _, None) => SupplyStatus::Ready,
                (false, true, _) => self
                    .pick(&[SupplyStatus::Ordered, SupplyStatus::Ready])
                    .unwrap_or(SupplyStatus::Ordered),
                (false, false, _) => SupplyStatus::ToOrder,
            };
            let confirmed = if supply == SupplyStatus::ToOrder {
                None
            } else {
                self.confirmation()
            };
            let next_dose = if lai {
                let days = release_in.unwrap_or(10) + self.rng.random_range(3..=20);
                Some(self.day(days))
            } else {
                None
            };
            let id = self.id();
            r.medications.push(Medication {
                id,
                name: name.to_string(),
                class,
                long_acting_injectable: lai,
                next_dose,
                supply,
                confirmed,
                version: 1,
            });
        }
    }

    /// One earlier date that moved to the current one, some of them not yet acknowledged.
    fn history(&mut self, r: &mut PersonRecord, release_in: Option<i64>) {
        let shift = self.rng.random_range(-30..=60);
        let from = match release_in {
            Some(rel) if shift != 0 => Some(self.day(rel + shift)),
            Some(rel) => Some(self.day(rel + 1)),
            None => {
                let days = self.rng.random_range(5..=60);
                Some(self.day(days))
            }
        };
        let changed_ago = self.rng.random_range(1..=20);
        let acknowledged = self.chance(0.5);
        let id = self.id();
        r.release_history.push(ReleaseChange {
            id,
            changed_at: self.instant(changed_ago),
            changed_by: self.records_login.clone(),
            from,
            to: r.release.date,
            certainty: r.release.certainty,
            source: r.release.source,
            reason: self
                .pick(&[
                    ChangeReason::CourtOrder,
                    ChangeReason::SentenceCredits,
                    ChangeReason::EarlyRelease,
                    ChangeReason::Correction,
                ])
                .unwrap_or(ChangeReason::Correction),
            reason_text: String::new(),
            acknowledged_by: acknowledged.then(|| self.coordinator_login.clone()),
            acknowledged_at: acknowledged.then(|| self.instant(changed_ago - 1)),
        });
    }
}
