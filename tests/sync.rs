//! The sender against the real hub on 127.0.0.1: the ten scenarios of SYNC.md, the bad-input
//! start errors through the CLI, and the store functions behind `sync retry|discard`.
//!
//! Each test has its own board database, hub database and hub. Backoff is shortened (base 10 ms)
//! so the tests stay fast; the rules are the production ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use rand::{RngExt as _, SeedableRng as _};
use reentry_board::clock::{Clock, SystemClock};
use reentry_board::domain::{Certainty, ChangeReason, ReleaseSource, ReleaseType, Role};
use reentry_board::hub::{self, Faults, RunningHub, ServeOptions};
use reentry_board::store::{Actor, ChangeReleaseDate, Store};
use reentry_board::sync::{
    self, Sender, Step, SyncConfig, SyncOverrides, SyncPhase, SyncSettings, SyncStatus,
};
use serde_json::Value;
use support::contract::HubContract;
use support::hub_db::HubDb;

const FACILITY: &str = "county-main-jail";
const BIN: &str = env!("CARGO_BIN_EXE_reentry-board");

fn coordinator() -> Actor {
    Actor::new("coord.test", Role::Coordinator)
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A board database with `people` synthetic people (their `person_booked` events queued) and
/// a hub database with a token for the facility.
struct Setup {
    dir: tempfile::TempDir,
    db: PathBuf,
    hub_db: HubDb,
    token_file: PathBuf,
    token: String,
    /// What the sender sends and the hub answers must match docs/openapi.yaml (checked when the
    /// setup drops).
    contract: HubContract,
}

impl Setup {
    fn new(people: usize) -> Self {
        init_crypto();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("board.db");
        let mut store = Store::create(&db, clock()).unwrap();
        store.set_facility_id(&coordinator(), FACILITY).unwrap();
        let today = Utc::now().date_naive();
        let mut seed = reentry_board::demo::synthetic_data(people, today, 7).unwrap();
        seed.users.push(reentry_board::domain::StaffUser {
            login: "coord.test".into(),
            name: "Coordinator Test".into(),
            role: Role::Coordinator,
        });
        // The CLI acts as the OS login: make it a coordinator too.
        let login = reentry_board::identity::current_login();
        if login != "coord.test" {
            seed.users.push(reentry_board::domain::StaffUser {
                login: login.clone(),
                name: login,
                role: Role::Coordinator,
            });
        }
        store.seed(&coordinator(), &seed).unwrap();
        let hub_db = HubDb::new(dir.path());
        let token = hub_db.add_token(FACILITY, "sync tests");
        let token_file = dir.path().join("token");
        write_private(&token_file, &format!("{token}\n# a comment line\n"));
        Self {
            dir,
            db,
            hub_db,
            token_file,
            token,
            contract: HubContract::requests_and_responses(),
        }
    }

    fn store(&self) -> Store {
        Store::open(&self.db, clock()).unwrap()
    }

    fn hub(&self, faults: &Faults) -> RunningHub {
        let hub = hub::spawn_for_test(self.hub_db.target.clone(), faults.clone()).unwrap();
        self.contract.watch(&hub);
        hub
    }

    fn settings(&self, url: &str) -> SyncSettings {
        SyncSettings::resolve(
            &SyncConfig::default(),
            &SyncOverrides {
                url: Some(url.into()),
                token_file: Some(self.token_file.clone()),
                backoff_base: Some(Duration::from_millis(10)),
                pause_probe: Some(Duration::from_millis(200)),
                ..SyncOverrides::default()
            },
        )
        .unwrap()
    }

    /// `reentry-board sync --db DB ARGS` sending to `url`: exit code, stdout, stderr.
    fn cli(&self, url: &str, args: &[&str]) -> (Option<i32>, String, String) {
        let home = self.dir.path().join("home");
        let out = Command::new(BIN)
            .arg("sync")
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env("XDG_DATA_HOME", &home)
            .env("XDG_CONFIG_HOME", &home)
            .env("HOME", &home)
            .env("REENTRY_SYNC_URL", url)
            .env("REENTRY_SYNC_TOKEN_FILE", &self.token_file)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    fn person_ids(&self) -> Vec<String> {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        let mut s = conn.prepare("SELECT id FROM persons ORDER BY id").unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// `n` more events for a person: release-date changes, each naming the version it read.
    fn add_events(&self, store: &mut Store, person: &str, n: usize) {
        for i in 0..n {
            let version = store.load_record(person).unwrap().unwrap().version;
            let days =
                i64::try_from(i % 200).unwrap() + i64::from(rand::rng().random_range(0..100u8));
            store
                .apply(
                    &coordinator(),
                    ChangeReleaseDate {
                        person_id: person.into(),
                        version,
                        date: Some(
                            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
                                + chrono::TimeDelta::days(days),
                        ),
                        certainty: Certainty::Projected,
                        kind: Some(ReleaseType::SentenceEnd),
                        source: Some(ReleaseSource::JailManagementSystem),
                        reason: ChangeReason::SentenceCredits,
                        reason_text: String::new(),
                    },
                )
                .unwrap();
        }
    }

    /// (event_id, person_id, person_seq, state, payload) of every outbox row.
    fn outbox(&self) -> Vec<(String, String, i64, String, String)> {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        let mut s = conn
            .prepare(
                "SELECT event_id, person_id, person_seq, state, payload FROM outbox ORDER BY seq",
            )
            .unwrap();
        s.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    fn states(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for row in self.outbox() {
            *m.entry(row.3).or_default() += 1;
        }
        m
    }

    fn state_of(&self, event_id: &str) -> (String, Option<String>) {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        conn.query_row(
            "SELECT state, last_error FROM outbox WHERE event_id = ?1",
            [event_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    /// (event_id, person_id, person_seq, id) of every event the hub stored, in arrival order.
    fn hub_events(&self) -> Vec<(String, String, i64, i64)> {
        self.hub_db.events()
    }

    fn hub_count(&self) -> usize {
        usize::try_from(self.hub_db.count_events()).unwrap()
    }

    /// The hub holds exactly the outbox's events (those not dead, blocked or discarded), each
    /// once, arriving per person in seq order with no gap.
    fn assert_hub_matches_outbox(&self) {
        let outbox = self.outbox();
        let hub = self.hub_events();
        let hub_ids: Vec<&str> = hub.iter().map(|e| e.0.as_str()).collect();
        let unique: BTreeSet<&str> = hub_ids.iter().copied().collect();
        assert_eq!(unique.len(), hub_ids.len(), "an event is stored twice");
        let sent: BTreeSet<&str> = outbox
            .iter()
            .filter(|e| e.3 == "sent")
            .map(|e| e.0.as_str())
            .collect();
        assert_eq!(sent, unique, "the hub and the outbox disagree");
        let mut last: BTreeMap<&str, i64> = BTreeMap::new();
        for (_, person, seq, _) in &hub {
            let prev = last.insert(person, *seq).unwrap_or(0);
            assert_eq!(
                *seq,
                prev + 1,
                "person {person}: seq {seq} arrived after {prev}"
            );
        }
    }
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Steps the sender until nothing is due (following holds up to `limit`).
/// One runtime per sender: reqwest's pooled connections belong to the runtime that made them.
fn drain(rt: &tokio::runtime::Runtime, sender: &mut Sender, limit: Duration) -> Step {
    let start = Instant::now();
    loop {
        let step = rt.block_on(sender.step()).unwrap();
        match step {
            Step::Sent(_) => {}
            Step::Hold(at) if start.elapsed() < limit => {
                let wait = (at - Utc::now()).to_std().unwrap_or_default();
                std::thread::sleep(wait.min(Duration::from_millis(200)));
            }
            other => return other,
        }
    }
}

fn validate_payloads(setup: &Setup) {
    for (event_id, _, _, _, payload) in setup.outbox() {
        let value: Value = serde_json::from_str(&payload).unwrap();
        if let Err(errors) = hub::schemas::validate(&value) {
            panic!("event {event_id} breaks the schema: {errors:?}");
        }
    }
}

// 1. kill -9 of the real `reentry-board sync` at random points, many times.
#[test]
fn kill_9_at_random_points_loses_and_doubles_nothing() {
    let setup = Setup::new(40);
    let mut store = setup.store();
    let people = setup.person_ids();
    for p in people.iter().take(20) {
        setup.add_events(&mut store, p, 5);
    }
    let faults = Faults::new();
    // Slow answers make kills land mid-request as well as between requests.
    faults.set_delay(Some(Duration::from_millis(15)));
    let hub = setup.hub(&faults);
    let url = hub.url();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let home = setup.dir.path().join("home");
    let spawn = || {
        Command::new(BIN)
            .args(["sync", "--db"])
            .arg(&setup.db)
            .args(["--url", &url, "--batch-size", "7", "--token-file"])
            .arg(&setup.token_file)
            .env("REENTRY_SYNC_BACKOFF_BASE_MS", "10")
            .env("XDG_DATA_HOME", &home)
            .env("XDG_CONFIG_HOME", &home)
            .env("HOME", &home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let kills = 100;
    for round in 0..kills {
        if round % 10 == 0 {
            faults.drop_after_commit(1);
        }
        if round % 15 == 0 {
            // New events arrive while senders come and go.
            let p = &people[rng.random_range(0..people.len())];
            setup.add_events(&mut store, p, 2);
        }
        let mut child = spawn();
        std::thread::sleep(Duration::from_millis(rng.random_range(0..150)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let during = setup.hub_count();
    assert!(during > 0, "the killed senders never got an event through");
    eprintln!(
        "{during} events delivered by senders killed {kills} times; {} requests",
        faults.requests()
    );
    // A last sender that may finish.
    let mut child = spawn();
    let total = setup.outbox().len();
    wait_for("the queue to drain", Duration::from_secs(30), || {
        setup.states().get("sent") == Some(&total)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        setup.states().get("sent"),
        Some(&total),
        "{:?}",
        setup.states()
    );
    setup.assert_hub_matches_outbox();
    assert!(
        faults.dropped() > 0,
        "no connection was dropped after a commit"
    );
    validate_payloads(&setup);
}

// 2. The hub down with 1,000 events queued, then up.
#[test]
fn hub_down_with_a_thousand_events_then_up_drains_without_doubles() {
    let setup = Setup::new(100);
    let mut store = setup.store();
    for p in setup.person_ids() {
        setup.add_events(&mut store, &p, 9);
    }
    assert_eq!(setup.outbox().len(), 1000);
    // Reserve a port, then leave it closed: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let background = sync::spawn_background(setup.db.clone(), setup.settings(&url))
        .unwrap()
        .unwrap();
    let status = background.status();
    wait_for(
        "the sender to see the hub down",
        Duration::from_secs(10),
        || status.borrow().phase == SyncPhase::Offline,
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(setup.states().get("pending"), Some(&1000));
    let words = status.borrow().words(Utc::now(), &Utc);
    assert!(words.starts_with("OFFLINE"), "{words}");
    let revived = hub::spawn(
        SocketAddr::from(([127, 0, 0, 1], port)),
        setup.hub_db.target.clone(),
        ServeOptions {
            contract: Some(hub::ContractLog::new()),
            ..ServeOptions::default()
        },
    )
    .unwrap();
    setup.contract.watch(&revived);
    let up = Instant::now();
    wait_for("the backlog to drain", Duration::from_secs(20), || {
        setup.hub_count() == 1000
    });
    wait_for(
        "the sender to mark everything sent",
        Duration::from_secs(5),
        || setup.states().get("sent") == Some(&1000),
    );
    eprintln!(
        "drained 1000 events {:?} after the hub came up",
        up.elapsed()
    );
    wait_for("the status to say OK", Duration::from_secs(5), || {
        status.borrow().phase == SyncPhase::Ok
    });
    drop(background);
    setup.assert_hub_matches_outbox();
    validate_payloads(&setup);
    // The thousand events went out in batches, each held to docs/openapi.yaml.
    let (requests, responses) = setup.contract.checked();
    assert!(requests >= 10 && responses >= 10, "{requests} {responses}");
    setup.contract.assert_kept();
}

// 3. 429/503 with Retry-After: no retry before it; a huge one is capped at an hour.
#[test]
fn retry_after_is_honoured_and_capped() {
    let setup = Setup::new(3);
    let faults = Faults::new();
    let hub = setup.hub(&faults);
    faults.fail_next(1, 429, Some(2));
    let mut sender = Sender::new(&setup.db, setup.settings(&hub.url())).unwrap();
    let rt = runtime();
    let first = Instant::now();
    let step = rt.block_on(sender.step()).unwrap();
    let Step::Hold(at) = step else {
        panic!("expected a hold, got {step:?}")
    };
    let wait = (at - Utc::now()).to_std().unwrap_or_default();
    assert!(
        wait > Duration::from_millis(1500) && wait <= Duration::from_secs(2),
        "{wait:?}"
    );
    // Asking again before the time is up sends nothing.
    assert!(matches!(rt.block_on(sender.step()).unwrap(), Step::Hold(_)));
    assert_eq!(faults.requests(), 1);
    drain(&rt, &mut sender, Duration::from_secs(5));
    assert!(
        first.elapsed() >= Duration::from_secs(2),
        "{:?}",
        first.elapsed()
    );
    assert_eq!(faults.requests(), 2);
    assert_eq!(setup.hub_count(), 3);

    // A 503 asking for a day is held to the one-hour cap.
    let mut store = setup.store();
    let p = setup.person_ids()[0].clone();
    setup.add_events(&mut store, &p, 1);
    faults.fail_next(1, 503, Some(86_400));
    let step = rt.block_on(sender.step()).unwrap();
    let Step::Hold(at) = step else {
        panic!("expected a hold, got {step:?}")
    };
    let wait = (at - Utc::now()).num_seconds();
    assert!((3590..=3600).contains(&wait), "{wait}");
    let status = SyncStatus::read(&store, Utc::now()).unwrap();
    assert_eq!(status.phase, SyncPhase::Offline);
    assert_eq!(
        status.words(Utc::now(), &Utc),
        format!("OFFLINE, retry at {}, 1 queued", at.format("%H:%M"))
    );
}

// 4. The connection dropped after the hub committed: the retry is a duplicate, stored once.
#[test]
fn connection_dropped_after_commit_is_stored_once() {
    let setup = Setup::new(5);
    let faults = Faults::new();
    let hub = setup.hub(&faults);
    faults.drop_after_commit(1);
    let mut sender = Sender::new(&setup.db, setup.settings(&hub.url())).unwrap();
    let rt = runtime();
    let step = rt.block_on(sender.step()).unwrap();
    assert!(matches!(step, Step::Hold(_)), "{step:?}");
    assert_eq!(setup.hub_count(), 5, "the hub committed before dropping");
    assert_eq!(setup.states().get("pending"), Some(&5));
    drain(&rt, &mut sender, Duration::from_secs(5));
    assert_eq!(faults.dropped(), 1);
    assert_eq!(setup.hub_count(), 5);
    assert_eq!(setup.states().get("sent"), Some(&5));
    setup.assert_hub_matches_outbox();
}

/// Puts an event the hub will refuse (invalid data) into the outbox as the person's next one,
/// the way a bug would. Returns its event id.
fn insert_invalid_event(setup: &Setup, person: &str) -> String {
    let conn = rusqlite::Connection::open(&setup.db).unwrap();
    let (payload, seq): (String, i64) = conn
        .query_row(
            "SELECT payload, person_seq FROM outbox WHERE person_id = ?1
             ORDER BY person_seq DESC LIMIT 1",
            [person],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut event: Value = serde_json::from_str(&payload).unwrap();
    let event_id = uuid::Uuid::now_v7().to_string();
    event["event_id"] = event_id.clone().into();
    event["person_seq"] = (seq + 1).into();
    event["event_type"] = "release_date_changed".into();
    event["data"] = serde_json::json!({ "previous": null, "new": "2027-01-01",
        "certainty": "fairly_sure", "reason": "correction" });
    conn.execute(
        "INSERT INTO outbox (event_id, person_id, person_seq, event_type, payload, state,
                             attempts, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, 'release_date_changed', ?4, 'pending', 0, ?5, ?5)",
        rusqlite::params![
            event_id,
            person,
            seq + 1,
            event.to_string(),
            Utc::now().to_rfc3339()
        ],
    )
    .unwrap();
    setup.contract.planted_invalid(&event_id);
    event_id
}

// 5. A 422 for one person's event: dead-lettered, that person blocked, everyone else flows;
// then retry and discard, both audited.
#[test]
fn a_422_dead_letters_one_person_only_and_retry_discard_are_audited() {
    let setup = Setup::new(6);
    let people = setup.person_ids();
    let victim = people[2].clone();
    let bad = insert_invalid_event(&setup, &victim);
    let mut store = setup.store();
    setup.add_events(&mut store, &victim, 2);
    for p in &people {
        setup.add_events(&mut store, p, 1);
    }
    let faults = Faults::new();
    let hub = setup.hub(&faults);
    let mut sender = Sender::new(&setup.db, setup.settings(&hub.url())).unwrap();
    let rt = runtime();
    drain(&rt, &mut sender, Duration::from_secs(5));
    let (state, error) = setup.state_of(&bad);
    assert_eq!(state, "dead");
    let error = error.unwrap();
    assert!(error.starts_with("422 invalid-event"), "{error}");
    assert!(error.contains("/data/certainty"), "{error}");
    let outbox = setup.outbox();
    for (id, person, _, state, _) in &outbox {
        if person == &victim && id != &bad {
            let before_bad = outbox.iter().position(|e| &e.0 == id).unwrap()
                < outbox.iter().position(|e| e.0 == bad).unwrap();
            let expected = if before_bad { "sent" } else { "blocked" };
            assert_eq!(state, expected, "victim event {id}");
        } else if person != &victim {
            assert_eq!(
                state,
                "sent",
                "{person} was held up by someone else's rejection: {:?}",
                setup.state_of(id)
            );
        }
    }
    setup.assert_hub_matches_outbox();
    let status = SyncStatus::read(&store, Utc::now()).unwrap();
    assert_eq!(status.phase, SyncPhase::Rejected);
    assert_eq!((status.dead, status.blocked), (1, 3));
    assert_eq!(status.words(Utc::now(), &Utc), "4 REJECTED");
    let undelivered = store.people_with_undelivered().unwrap();
    assert_eq!(
        undelivered.into_iter().collect::<Vec<_>>(),
        vec![victim.clone()]
    );
    let stuck = store.stuck_events().unwrap();
    assert_eq!(stuck.len(), 4);
    assert!(stuck.iter().all(|e| e.person_id == victim));

    // Retry: the same bytes go again and are refused again; audited.
    let audit_before = store.count_rows("audit").unwrap();
    assert_eq!(store.retry_event(&coordinator(), &bad).unwrap(), 4);
    drain(&rt, &mut sender, Duration::from_secs(5));
    assert_eq!(setup.state_of(&bad).0, "dead");
    // Only a coordinator may; a discard needs a reason.
    let nurse = Actor::new("rn.test", Role::Nurse);
    assert!(store.retry_event(&nurse, &bad).is_err());
    assert!(store.discard_event(&coordinator(), &bad, "  ").is_err());
    assert!(store.retry_event(&coordinator(), "no-such-event").is_err());
    // Discard: the bad event is given up; the later ones go, and the hub reports the gap.
    store
        .discard_event(&coordinator(), &bad, "sent to the county by phone")
        .unwrap();
    assert_eq!(store.count_rows("audit").unwrap(), audit_before + 2);
    let audit = store.audit_for(&victim).unwrap();
    let kinds: Vec<&str> = audit.iter().map(|a| a.kind.as_str()).collect();
    assert!(
        kinds.contains(&"sync_retried") && kinds.contains(&"sync_discarded"),
        "{kinds:?}"
    );
    drain(&rt, &mut sender, Duration::from_secs(5));
    assert_eq!(setup.state_of(&bad).0, "discarded");
    let stuck = store.stuck_events().unwrap();
    assert_eq!(stuck.len(), 3, "{stuck:?}");
    let first = &stuck[0];
    assert_eq!(first.state, "blocked");
    let why = first.last_error.as_deref().unwrap();
    assert!(why.starts_with("409 seq-gap"), "{why}");
}

// 6. 401: the queue pauses, nothing is dead-lettered; after the token is fixed it drains in order.
#[test]
fn a_401_pauses_the_queue_until_the_token_is_fixed() {
    let setup = Setup::new(10);
    write_private(&setup.token_file, "rbh_not_a_valid_token\n");
    let faults = Faults::new();
    let hub = setup.hub(&faults);
    let background = sync::spawn_background(setup.db.clone(), setup.settings(&hub.url()))
        .unwrap()
        .unwrap();
    let status = background.status();
    wait_for("the pause", Duration::from_secs(10), || {
        status.borrow().phase == SyncPhase::Paused
    });
    let paused = status.borrow().clone();
    let reason = paused.paused_reason.clone().unwrap();
    assert!(reason.starts_with("401 unauthorized"), "{reason}");
    assert!(
        paused
            .words(Utc::now(), &Utc)
            .starts_with("SYNC PAUSED: 401"),
        "{paused:?}"
    );
    assert_eq!(setup.states().get("pending"), Some(&10));
    assert_eq!(setup.states().get("dead"), None);
    // While paused, the sender only probes now and then.
    let requests = faults.requests();
    std::thread::sleep(Duration::from_millis(1000));
    let probes = faults.requests() - requests;
    assert!(probes <= 6, "{probes} requests while paused");
    write_private(&setup.token_file, &format!("{}\n", setup.token));
    wait_for("the queue to drain", Duration::from_secs(10), || {
        setup.hub_count() == 10
    });
    wait_for("the status to say OK", Duration::from_secs(5), || {
        status.borrow().phase == SyncPhase::Ok
    });
    drop(background);
    setup.assert_hub_matches_outbox();
}

// 7. 30% random 500s over 50 people x 20 events: per-person order at the hub.
#[test]
fn per_person_order_holds_under_random_500s() {
    let setup = Setup::new(50);
    let mut store = setup.store();
    let people = setup.person_ids();
    // Interleave the people so a batch mixes them.
    for _ in 0..19 {
        for p in &people {
            setup.add_events(&mut store, p, 1);
        }
    }
    assert_eq!(setup.outbox().len(), 1000);
    let faults = Faults::new();
    faults.fail_randomly(0.3, 500, 99);
    let hub = setup.hub(&faults);
    let mut settings = setup.settings(&hub.url());
    settings.batch_size = 13;
    let mut sender = Sender::new(&setup.db, settings).unwrap();
    let rt = runtime();
    let start = Instant::now();
    while setup.hub_count() < 1000 {
        assert!(start.elapsed() < Duration::from_secs(40), "not drained");
        match rt.block_on(sender.step()).unwrap() {
            Step::Hold(at) => {
                std::thread::sleep((at - Utc::now()).to_std().unwrap_or_default());
            }
            Step::Idle(Some(at)) => {
                std::thread::sleep((at - Utc::now()).to_std().unwrap_or_default());
            }
            _ => {}
        }
    }
    assert!(faults.injected() > 20, "only {} faults", faults.injected());
    assert_eq!(setup.states().get("sent"), Some(&1000));
    setup.assert_hub_matches_outbox();
    validate_payloads(&setup);
}

fn test_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Test County CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let (cert_path, key_path, ca_path) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("ca.pem"),
    );
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    std::fs::write(&ca_path, ca_cert.pem()).unwrap();
    (cert_path, key_path, ca_path)
}

// 8. TLS: a hub certificate from the configured CA works; one from another CA keeps events
// pending (the queue pauses, nothing is dead-lettered).
#[test]
fn tls_with_the_county_ca_works_and_another_ca_pauses() {
    let setup = Setup::new(4);
    let (cert, key, ca) = test_ca(&setup.dir.path().join("county"));
    let (_, _, other_ca) = test_ca(&setup.dir.path().join("other"));
    let tls_hub = hub::spawn(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        setup.hub_db.target.clone(),
        ServeOptions {
            tls: Some(hub::tls_config(&cert, &key).unwrap()),
            contract: Some(hub::ContractLog::new()),
            ..ServeOptions::default()
        },
    )
    .unwrap();
    setup.contract.watch(&tls_hub);
    let url = tls_hub.url();
    assert!(url.starts_with("https://localhost:"), "{url}");
    let rt = runtime();

    let mut wrong = setup.settings(&url);
    wrong.ca_file = Some(other_ca);
    let mut sender = Sender::new(&setup.db, wrong).unwrap();
    let step = rt.block_on(sender.step()).unwrap();
    assert_eq!(step, Step::Paused);
    let state = sender.store().sync_state().unwrap();
    let reason = state.paused_reason.unwrap();
    assert!(reason.starts_with("TLS failure"), "{reason}");
    assert_eq!(setup.states().get("pending"), Some(&4));
    assert_eq!(setup.hub_count(), 0);
    drop(sender);

    for ca_only in [false, true] {
        let mut right = setup.settings(&url);
        right.ca_file = Some(ca.clone());
        right.ca_only = ca_only;
        let mut sender = Sender::new(&setup.db, right).unwrap();
        let mut store = setup.store();
        let p = setup.person_ids()[0].clone();
        setup.add_events(&mut store, &p, 1);
        // The pause lifts once a probe gets through.
        std::thread::sleep(Duration::from_millis(250));
        drain(&rt, &mut sender, Duration::from_secs(5));
        assert_eq!(setup.states().get("pending"), None, "ca_only {ca_only}");
        assert_eq!(sender.store().sync_state().unwrap().paused_reason, None);
    }
    setup.assert_hub_matches_outbox();
}

// 9. The same key with a different payload: 422, dead-lettered, flagged.
#[test]
fn a_reused_key_with_another_payload_is_dead_lettered_and_flagged() {
    let setup = Setup::new(3);
    let faults = Faults::new();
    let hub = setup.hub(&faults);
    // Something else sent this event id with other contents first.
    let (event_id, _, _, _, payload) = setup.outbox()[1].clone();
    let mut altered: Value = serde_json::from_str(&payload).unwrap();
    altered["actor"]["user"] = "someone.else".into();
    let rt = runtime();
    let answer = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/v1/events", hub.url()))
            .bearer_auth(&setup.token)
            .header("Idempotency-Key", &event_id)
            .json(&altered)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(answer.as_u16(), 201);
    let mut sender = Sender::new(&setup.db, setup.settings(&hub.url())).unwrap();
    drain(&rt, &mut sender, Duration::from_secs(5));
    let (state, error) = setup.state_of(&event_id);
    assert_eq!(state, "dead");
    assert!(error.unwrap().starts_with("422 idempotency-key-reused"));
    let status = sender.status().unwrap();
    assert_eq!(status.phase, SyncPhase::Rejected);
    assert_eq!(status.words(Utc::now(), &Utc), "1 REJECTED");
    // The other two people's events went through.
    assert_eq!(setup.states().get("sent"), Some(&2));
}

// 10. A restored older database: the hub's seq is ahead; the person is blocked with an alert.
#[test]
fn a_restored_older_database_blocks_the_person_with_an_alert() {
    let setup = Setup::new(3);
    let faults = Faults::new();
    let hub = setup.hub(&faults);
    let people = setup.person_ids();
    let rt = runtime();
    let mut sender = Sender::new(&setup.db, setup.settings(&hub.url())).unwrap();
    drain(&rt, &mut sender, Duration::from_secs(5));
    drop(sender);
    // The nightly backup...
    let backup = setup.dir.path().join("backup.db");
    let conn = rusqlite::Connection::open(&setup.db).unwrap();
    conn.execute("VACUUM INTO ?1", [backup.to_str().unwrap()])
        .unwrap();
    drop(conn);
    // ...then a day's work reaches the hub...
    let mut store = setup.store();
    setup.add_events(&mut store, &people[0], 2);
    drop(store);
    let mut sender = Sender::new(&setup.db, setup.settings(&hub.url())).unwrap();
    drain(&rt, &mut sender, Duration::from_secs(5));
    drop(sender);
    assert_eq!(setup.hub_count(), 5);
    // ...and the disk dies: the backup is restored and work goes on.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", setup.db.display()));
    }
    std::fs::copy(&backup, &setup.db).unwrap();
    let mut store = setup.store();
    setup.add_events(&mut store, &people[0], 1);
    setup.add_events(&mut store, &people[1], 1);
    let mut sender = Sender::new(&setup.db, setup.settings(&hub.url())).unwrap();
    drain(&rt, &mut sender, Duration::from_secs(5));
    let stuck = store.stuck_events().unwrap();
    assert_eq!(stuck.len(), 1, "{stuck:?}");
    assert_eq!(stuck[0].person_id, people[0]);
    assert_eq!(stuck[0].state, "blocked");
    let alert = stuck[0].last_error.clone().unwrap();
    assert!(alert.starts_with("409 seq-conflict"), "{alert}");
    assert!(alert.contains("restored older database"), "{alert}");
    assert_eq!(setup.states().get("sent"), Some(&4));
    assert_eq!(setup.hub_count(), 6, "the other person's event still went");
}

#[test]
fn only_one_sender_per_database() {
    let setup = Setup::new(1);
    let faults = Faults::new();
    let hub = setup.hub(&faults);
    let first = Sender::new(&setup.db, setup.settings(&hub.url())).unwrap();
    assert!(
        Sender::try_new(&setup.db, setup.settings(&hub.url()))
            .unwrap()
            .is_none()
    );
    let e = Sender::new(&setup.db, setup.settings(&hub.url()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("another sender"), "{e}");
    assert!(
        sync::spawn_background(setup.db.clone(), setup.settings(&hub.url()))
            .unwrap()
            .is_none()
    );
    drop(first);
    assert!(
        Sender::try_new(&setup.db, setup.settings(&hub.url()))
            .unwrap()
            .is_some()
    );
}

// The CLI: `--once` drains with an exit status; status, retry and discard.
#[test]
fn cli_once_status_retry_and_discard() {
    let setup = Setup::new(4);
    let victim = setup.person_ids()[1].clone();
    let bad = insert_invalid_event(&setup, &victim);
    let faults = Faults::new();
    let hub = setup.hub(&faults);
    let cli = |args: &[&str]| setup.cli(&hub.url(), args);
    let (code, out, err) = cli(&["--once"]);
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(out.contains("1 REJECTED"), "{out}");
    let (code, out, _) = cli(&["status"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&bad) && out.contains("422 invalid-event"),
        "{out}"
    );
    assert!(out.contains("no sender is running"), "{out}");
    let (code, _, err) = cli(&["discard", &bad]);
    assert_ne!(code, Some(0));
    assert!(err.contains("--reason"), "{err}");
    let (code, out, err) = cli(&["retry", &bad]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("queued 1 event(s) again"), "{out}");
    let (code, out, _) = cli(&["--once"]);
    assert_eq!(code, Some(3), "the same bytes are refused again: {out}");
    let (code, out, err) = cli(&["discard", &bad, "--reason", "test"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("discarded"), "{out}");
    let (code, out, _) = cli(&["resume"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("nothing was held"), "{out}");
    let (code, out, err) = cli(&["--once"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("SYNC OK"), "{out}");
}

// A 503 asking for an hour, then a healthy hub: `--once` says why it exits 2 and when the
// next attempt is due, later edits of the same people do not pile up behind per-event waits,
// and `sync resume` sends everything at once.
#[test]
fn a_long_retry_after_is_released_by_resume_once_the_hub_is_healthy() {
    let setup = Setup::new(6);
    let faults = Faults::new();
    let hub = setup.hub(&faults);
    faults.fail_next(1, 503, Some(3600));
    let (code, out, err) = setup.cli(&hub.url(), &["--once"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.contains("OFFLINE, retry at "), "{out}");
    assert!(
        err.contains(
            "sync --once exits 2: 6 event(s) wait: the hub could not be reached or asked to wait"
        ) && err.contains("503")
            && err.contains("not before ")
            && err.contains("`reentry-board sync resume` sends them now"),
        "{err}"
    );
    // The people are edited meanwhile; nothing of theirs waits on a time of its own.
    let mut store = setup.store();
    for p in setup.person_ids() {
        setup.add_events(&mut store, &p, 2);
    }
    let (_, status, _) = setup.cli(&hub.url(), &["status"]);
    assert!(status.contains("queued 18"), "{status}");
    assert!(status.contains("next attempt: "), "{status}");
    assert!(!status.contains("retry time of their own"), "{status}");
    // A database from before this fix held the first events until the hour was up.
    let conn = rusqlite::Connection::open(&setup.db).unwrap();
    let later = (Utc::now() + chrono::TimeDelta::minutes(59)).to_rfc3339();
    conn.execute(
        "UPDATE outbox SET next_attempt_at = ?1 WHERE seq <= 6",
        [&later],
    )
    .unwrap();
    let (_, status, _) = setup.cli(&hub.url(), &["status"]);
    assert!(
        status.contains("6 event(s) wait for a retry time of their own"),
        "{status}"
    );

    let start = Instant::now();
    let (code, out, err) = setup.cli(&hub.url(), &["resume"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("lifted the hub's hold until")
            && out.contains("released 6 event(s) waiting for a retry time"),
        "{out}"
    );
    let (code, out, err) = setup.cli(&hub.url(), &["--once"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("SYNC OK"), "{out}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(setup.hub_count(), 18);
    setup.assert_hub_matches_outbox();
}

// A request-level failure holds the queue, not each event: the next successful request sends
// the events it failed with, with no time of their own left behind.
#[test]
fn a_success_after_a_failed_request_leaves_no_event_waiting() {
    let setup = Setup::new(5);
    let faults = Faults::new();
    let hub = setup.hub(&faults);
    faults.fail_next(1, 503, Some(1));
    let mut sender = Sender::new(&setup.db, setup.settings(&hub.url())).unwrap();
    let rt = runtime();
    assert!(matches!(rt.block_on(sender.step()).unwrap(), Step::Hold(_)));
    let counts = setup.store().outbox_counts().unwrap();
    assert_eq!((counts.pending, counts.waiting), (5, 0));
    assert_eq!(
        counts.next_attempt_at, None,
        "no event has a time of its own"
    );
    drain(&rt, &mut sender, Duration::from_secs(5));
    assert_eq!(setup.hub_count(), 5);
}

// Bad input at start: each a clear error naming what and where, before anything is sent.
#[test]
fn bad_input_is_a_clear_error_at_start() {
    let setup = Setup::new(1);
    let home = setup.dir.path().join("home");
    let run = |args: &[&str], token: &Path| {
        let out = Command::new(BIN)
            .args(["sync", "--once", "--db"])
            .arg(&setup.db)
            .arg("--token-file")
            .arg(token)
            .args(args)
            .env("XDG_DATA_HOME", &home)
            .env("XDG_CONFIG_HOME", &home)
            .env("HOME", &home)
            .env_remove("REENTRY_SYNC_URL")
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let token = setup.token_file.clone();
    let e = run(&["--url", "not a url"], &token);
    assert!(e.contains("`not a url` is not a URL"), "{e}");
    let e = run(&["--url", "http://hub.county.example"], &token);
    assert!(
        e.contains("plain http to hub.county.example is refused"),
        "{e}"
    );
    let e = run(&[], &token);
    assert!(e.contains("no hub URL"), "{e}");
    let missing = setup.dir.path().join("missing-token");
    let e = run(&["--url", "http://127.0.0.1:9"], &missing);
    assert!(
        e.contains("cannot read the token file") && e.contains("missing-token"),
        "{e}"
    );
    let open = setup.dir.path().join("open-token");
    std::fs::write(&open, "rbh_x\n").unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = run(&["--url", "http://127.0.0.1:9"], &open);
    assert!(
        e.contains("can be read by other accounts") && e.contains("chmod 600"),
        "{e}"
    );
    let empty = setup.dir.path().join("empty-token");
    write_private(&empty, "# nothing here\n");
    let e = run(&["--url", "http://127.0.0.1:9"], &empty);
    assert!(e.contains("holds no token"), "{e}");
    let e = run(
        &[
            "--url",
            "https://localhost:9",
            "--ca-file",
            "/no/such/ca.pem",
        ],
        &token,
    );
    assert!(e.contains("cannot read the CA file /no/such/ca.pem"), "{e}");
    let not_pem = setup.dir.path().join("ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let e = run(
        &[
            "--url",
            "https://localhost:9",
            "--ca-file",
            not_pem.to_str().unwrap(),
        ],
        &token,
    );
    assert!(e.contains("holds no PEM certificate"), "{e}");
    let e = run(
        &["--url", "http://127.0.0.1:9", "--facility", "elsewhere"],
        &token,
    );
    assert!(
        e.contains("stamps its events with facility `county-main-jail`"),
        "{e}"
    );
    // The config file's [sync] section is checked with file and line.
    let config = setup.dir.path().join("county.toml");
    std::fs::write(&config, "[sync]\nurl = \"http://10.1.2.3\"\n").unwrap();
    let e = run(&["--config", config.to_str().unwrap()], &token);
    assert!(e.contains("county.toml:2: sync.url"), "{e}");
    assert_eq!(setup.states().get("pending"), Some(&1), "nothing was sent");
}

// The migration that adds the sender's state keeps every outbox row and the immutability rule.
#[test]
fn a_database_of_schema_1_migrates_with_its_outbox_intact() {
    let setup = Setup::new(5);
    let before = setup.outbox();
    {
        // Turn the file back into what schema 1 wrote.
        let v1 = include_str!("../src/store/migrations/0001_init.sql");
        let start = v1.find("CREATE TABLE outbox").unwrap();
        let end_marker = "'outbox events are immutable'); END;";
        let end = v1.find(end_marker).unwrap() + end_marker.len();
        let outbox_v1 = &v1[start..end];
        let c = rusqlite::Connection::open(&setup.db).unwrap();
        // The board index (schema 6 on) and its triggers on the older tables.
        let board_triggers: String = c
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'board_%'",
            )
            .unwrap()
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|name| format!("DROP TRIGGER {};", name.unwrap()))
            .collect();
        c.execute_batch(&format!(
            "PRAGMA foreign_keys = OFF;
             BEGIN;
             {board_triggers}
             DROP TABLE board_search;
             DROP TABLE board_index_tally;
             DROP TABLE board_index_dirty;
             DROP TABLE board_index_rules;
             DROP TABLE board_index;
             ALTER TABLE outbox RENAME TO outbox_v2;
             DROP INDEX outbox_due;
             DROP TRIGGER outbox_immutable;
             {outbox_v1}
             INSERT INTO outbox SELECT * FROM outbox_v2;
             DROP TABLE outbox_v2;
             DROP TABLE sync_state;
             DROP TABLE meeting_tasks;
             DROP TABLE meeting_decisions;
             DROP TABLE meeting_reviews;
             DROP TABLE meeting_attendees;
             DROP TABLE meetings;
             ALTER TABLE persons DROP COLUMN feed_release;
             DROP TABLE audit_chain;
             PRAGMA user_version = 1;
             COMMIT;"
        ))
        .unwrap();
    }
    let store = setup.store();
    assert_eq!(
        store.schema_version().unwrap(),
        reentry_board::store::SCHEMA_VERSION
    );
    assert_eq!(setup.outbox(), before);
    assert_eq!(store.sync_state().unwrap(), Default::default());
    // The audit rows written before the chain existed are chained by the migration.
    let health = reentry_board::store::check(&setup.db).unwrap();
    assert!(health.ok(), "{}", health.summary());
    assert!(health.audit_rows > 0);
    let c = rusqlite::Connection::open(&setup.db).unwrap();
    let e = c
        .execute("UPDATE outbox SET payload = '{}' WHERE seq = 1", [])
        .unwrap_err();
    assert!(e.to_string().contains("immutable"), "{e}");
    c.execute("UPDATE outbox SET state = 'discarded' WHERE seq = 1", [])
        .unwrap();
    // Migration 5 remembers what the feed said for dates that came from the feed.
    let from_feed: (i64, i64) = c
        .query_row(
            "SELECT count(*), count(feed_release) FROM persons
              WHERE release_source = 'jail_management_system'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(from_feed.0 > 0, "the seed has dates from the feed");
    assert_eq!(from_feed.0, from_feed.1);
    let by_hand: i64 = c
        .query_row(
            "SELECT count(feed_release) FROM persons
              WHERE release_source IS NOT 'jail_management_system'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(by_hand, 0);
}

// The SSH server is the one long-running process on a database: with [sync] configured it sends.
#[test]
fn serve_sends_the_queue_when_configured() {
    let setup = Setup::new(5);
    let hub = setup.hub(&Faults::new());
    let home = setup.dir.path().join("home");
    let keys = setup.dir.path().join("authorized_keys");
    std::fs::write(&keys, "").unwrap();
    let mut serve = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&setup.db)
        .arg("--host-key")
        .arg(setup.dir.path().join("host_key"))
        .arg("--authorized-keys")
        .arg(&keys)
        .env("REENTRY_SYNC_URL", hub.url())
        .env("REENTRY_SYNC_TOKEN_FILE", &setup.token_file)
        .env("XDG_DATA_HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .env("HOME", &home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let want = setup.outbox().len();
    assert!(want >= 5, "the seeded people were queued");
    wait_for(
        "the server's sender to drain",
        Duration::from_secs(20),
        || setup.hub_count() == want,
    );
    // The hub stores a batch before the sender hears back and marks it sent.
    wait_for(
        "the server's sender to mark its batch sent",
        Duration::from_secs(20),
        || setup.outbox().iter().all(|e| e.3 == "sent"),
    );
    serve.kill().unwrap();
    serve.wait().unwrap();
    setup.assert_hub_matches_outbox();
}
