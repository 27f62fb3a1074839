//! The hub at state scale, for docs/BENCHMARKS.md: `cargo bench --bench hub_pg`.
//!
//! 1. 120 simulated facilities, each its own sender (own HTTP client) and token, push 1,000
//!    events each (batches of 100) all at once to two `reentry-board hub` processes on one
//!    PostgreSQL (fsync on) on this machine, half to each (a load balancer's round robin):
//!    events/s, p50/p99 of a batch's round trip, and the count in the database (nothing lost
//!    or doubled).
//! 2. The database filled to 1,000,000 stored events (the rest written by SQL in the hub's own
//!    shape), then `GET /v1/persons/{id}` and `GET /v1/facilities/{id}/releases` (the default
//!    90-day window) from 8 clients: p50/p99.
//!
//! Needs PostgreSQL's initdb/postgres (tests/support/postgres.rs finds them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/hub_load.rs"]
#[allow(dead_code)]
mod hub_load;
#[path = "../tests/support/postgres.rs"]
#[allow(dead_code)]
mod postgres;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reentry_board::hub::{Store, Target, store::block_on};

const BIN: &str = env!("CARGO_BIN_EXE_reentry-board");
const FACILITIES: u64 = 120;
const EVENTS_EACH: u64 = 1_000;
const PEOPLE_EACH: u64 = 100;
const BATCH: usize = 100;
const FILL_TO: i64 = 1_000_000;

struct HubProcess {
    child: Child,
    url: String,
}

impl HubProcess {
    fn start(target: &Target) -> Self {
        let mut command = Command::new(BIN);
        command.args(["hub", "--listen", "127.0.0.1:0", "--db", &target.location]);
        if let Some(file) = &target.password_file {
            command.arg("--db-password-file").arg(file);
        }
        let mut child = command
            // Every simulated facility connects from 127.0.0.1.
            .args(["--max-connections-per-address", "1000"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let url = first.strip_prefix("hub listening on ").unwrap().to_string();
        std::thread::spawn(move || for _ in lines {});
        Self { child, url }
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every facility sends its events at once, facility f to hub f mod n; the time of the whole and
/// each batch's round trip.
async fn push(urls: Vec<String>, tokens: Vec<String>) -> (Duration, Vec<Duration>) {
    let start = Instant::now();
    let mut senders = Vec::new();
    for (f, token) in tokens.iter().enumerate() {
        let facility = format!("facility-{f:03}");
        let url = urls[f % urls.len()].clone();
        let token = token.clone();
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap();
            let mut trips = Vec::new();
            for batch in hub_load::batches(&facility, f as u64, PEOPLE_EACH, EVENTS_EACH, BATCH) {
                let sent = hub_load::send_until_stored(
                    &client,
                    std::slice::from_ref(&url),
                    &token,
                    &batch,
                    Duration::from_secs(600),
                )
                .await;
                assert_eq!(sent.created, BATCH as u64, "{sent:?}");
                trips.push(sent.took);
            }
            trips
        }));
    }
    let mut trips = Vec::new();
    for sender in senders {
        trips.extend(sender.await.unwrap());
    }
    (start.elapsed(), trips)
}

/// `clients` clients at once, each `per_client` times: a person, then its facility's releases.
async fn reads(
    urls: Vec<String>,
    tokens: Vec<String>,
    clients: u64,
    per_client: u64,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut persons = Vec::new();
    let mut releases = Vec::new();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let urls = urls.clone();
        let tokens = tokens.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut person_trips = Vec::new();
            let mut release_trips = Vec::new();
            for i in 0..per_client {
                let f = (c * per_client + i) % FACILITIES;
                let url = &urls[(i % 2) as usize];
                let token = &tokens[f as usize];
                // A person the load pushed, or one of the filled ones of this facility.
                let person = if i % 2 == 0 {
                    format!("p{f}-{}", i % PEOPLE_EACH)
                } else {
                    format!("fill-{}", f + FACILITIES * ((1 + i * 7) % 700))
                };
                let start = Instant::now();
                let r = client
                    .get(format!("{url}/v1/persons/{person}"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "{person}");
                r.bytes().await.unwrap();
                person_trips.push(start.elapsed());
                let start = Instant::now();
                let r = client
                    .get(format!("{url}/v1/facilities/facility-{f:03}/releases"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                release_trips.push(start.elapsed());
            }
            (person_trips, release_trips)
        }));
    }
    for client in tasks {
        let (p, r) = client.await.unwrap();
        persons.extend(p);
        releases.extend(r);
    }
    persons.sort_unstable();
    releases.sort_unstable();
    (persons, releases)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cluster = postgres::Cluster::start_durable().unwrap();
    cluster.sql("postgres", "CREATE DATABASE bench");
    let target =
        Target::new(cluster.url("bench")).with_password_file(Some(cluster.password_file.clone()));
    let store = Store::open(&target).unwrap();
    let tokens: Vec<String> = (0..FACILITIES)
        .map(|f| {
            block_on(store.add_token(&format!("facility-{f:03}"), "bench"))
                .unwrap()
                .unwrap()
                .1
        })
        .collect();
    drop(store);
    let hubs = [HubProcess::start(&target), HubProcess::start(&target)];
    let urls: Vec<String> = hubs.iter().map(|h| h.url.clone()).collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // The peer, in the same run: the same load on one hub process with its SQLite file.
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite = Target::from(sqlite_dir.path().join("hub.db"));
    let sqlite_store = Store::open(&sqlite).unwrap();
    let sqlite_tokens: Vec<String> = (0..FACILITIES)
        .map(|f| {
            block_on(sqlite_store.add_token(&format!("facility-{f:03}"), "bench"))
                .unwrap()
                .unwrap()
                .1
        })
        .collect();
    let sqlite_hub = HubProcess::start(&sqlite);
    let (took, mut trips) = runtime.block_on(push(vec![sqlite_hub.url.clone()], sqlite_tokens));
    drop(sqlite_hub);
    trips.sort_unstable();
    let total = FACILITIES * EVENTS_EACH;
    println!(
        "peer: the same load on one hub process with SQLite (synchronous=FULL): {total} events in {:.2} s = {:.0} events/s; batch round trip p50 {}, p99 {}; stored {}",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        ms(percentile(&trips, 0.5)),
        ms(percentile(&trips, 0.99)),
        block_on(sqlite_store.count_events()).unwrap().unwrap(),
    );
    drop(sqlite_store);

    let (took, mut trips) = runtime.block_on(push(urls.clone(), tokens.clone()));
    trips.sort_unstable();
    let counted = cluster.sql(
        "bench",
        "SELECT count(*) || ' stored, ' || count(DISTINCT (facility_id, event_id)) || ' distinct' FROM events",
    );
    println!(
        "{FACILITIES} facilities x {EVENTS_EACH} events, batches of {BATCH}, 2 hub processes, one PostgreSQL (fsync on):"
    );
    println!(
        "  {total} events in {:.2} s = {:.0} events/s; batch round trip p50 {}, p99 {}, max {}; database: {counted}",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        ms(percentile(&trips, 0.5)),
        ms(percentile(&trips, 0.99)),
        ms(*trips.last().unwrap()),
    );

    // Fill to a million events in the hub's own shape: each synthetic person has 10 events,
    // a release date in the next year, and a view like the hub's.
    let fill_start = Instant::now();
    let have: i64 = cluster
        .sql("bench", "SELECT count(*) FROM events")
        .parse()
        .unwrap();
    let people = (FILL_TO - have) / 10;
    cluster.sql(
        "bench",
        &format!(
            "INSERT INTO persons (facility_id, person_id, custody, release_date, last_seq,
                 last_event_id, view, updated_at)
             SELECT 'facility-' || lpad((g % {FACILITIES})::text, 3, '0'), 'fill-' || g,
                    'in_custody', current_date + (g % 365), 10, 'fill-' || g || '-10',
                    jsonb_build_object('facility_id', 'facility-' || lpad((g % {FACILITIES})::text, 3, '0'),
                        'person_id', 'fill-' || g, 'booking_id', 'B-' || g,
                        'custody', 'in_custody', 'name', jsonb_build_object('last', 'Synthetic', 'first', 'Person'),
                        'release', jsonb_build_object('date', (current_date + (g % 365))::text,
                            'certainty', 'confirmed', 'type', 'sentence_end'),
                        'care_team', '{{}}'::jsonb, 'milestones', '{{}}'::jsonb,
                        'medications', '{{}}'::jsonb, 'dme', '{{}}'::jsonb, 'sensitivity', '[]'::jsonb,
                        'last_seq', 10, 'last_event_id', 'fill-' || g || '-10',
                        'last_occurred_at', '2026-03-01T09:30:12-08:00', 'updated_at', now()::text),
                    now()
             FROM generate_series(1, {people}) AS g"
        ),
    );
    cluster.sql(
        "bench",
        &format!(
            "INSERT INTO events (facility_id, event_id, person_id, person_seq, event_type,
                 schema_version, occurred_at, payload, payload_sha256, received_at, token_id)
             SELECT 'facility-' || lpad((g % {FACILITIES})::text, 3, '0'), 'fill-' || g || '-' || s,
                    'fill-' || g, s, 'release_date_changed', 1, '2026-03-01T09:30:12-08:00',
                    jsonb_build_object('event_id', 'fill-' || g || '-' || s, 'person_id', 'fill-' || g,
                        'data', jsonb_build_object('new', (current_date + (g % 365))::text)),
                    md5(g::text || s::text), now(), 1 + (g % {FACILITIES})
             FROM generate_series(1, {people}) AS g, generate_series(1, 10) AS s"
        ),
    );
    cluster.sql("bench", "VACUUM ANALYZE");
    let events = cluster.sql("bench", "SELECT count(*) FROM events");
    let persons = cluster.sql("bench", "SELECT count(*) FROM persons");
    println!(
        "filled to {events} events, {persons} people in {:.1} s",
        fill_start.elapsed().as_secs_f64()
    );

    let concurrent = runtime.block_on(reads(urls.clone(), tokens.clone(), 8, 250));
    let sequential = runtime.block_on(reads(urls.clone(), tokens.clone(), 1, 1000));
    let per_facility = cluster.sql(
        "bench",
        "SELECT count(*) FROM persons WHERE facility_id = 'facility-001' AND custody = 'in_custody'
           AND release_date BETWEEN current_date AND current_date + 90",
    );
    for (label, reads) in [
        ("8 clients at once", &concurrent),
        ("1 client", &sequential),
    ] {
        println!(
            "with {events} events, {label}: GET /v1/persons/{{id}} p50 {} p99 {} ({} requests); releases (90 days, ~{per_facility} people) p50 {} p99 {} ({} requests)",
            ms(percentile(&reads.0, 0.5)),
            ms(percentile(&reads.0, 0.99)),
            reads.0.len(),
            ms(percentile(&reads.1, 0.5)),
            ms(percentile(&reads.1, 0.99)),
            reads.1.len(),
        );
    }
    let plan = cluster.sql(
        "bench",
        "EXPLAIN (ANALYZE, COSTS OFF) SELECT view FROM persons WHERE facility_id = 'facility-001'
           AND custody = 'in_custody' AND release_date >= current_date
           AND release_date <= current_date + 90 ORDER BY release_date, person_id",
    );
    println!("the releases query in PostgreSQL:\n{plan}");
}
