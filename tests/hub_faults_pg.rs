//! The hub on PostgreSQL under faults: the database restarting under load, a hub process killed
//! mid-batch, the same batch at two hub processes at once, a token revoked through one process,
//! a database of a newer schema. Nothing lost, nothing doubled, nothing half-stored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reentry_board::hub::{self, Faults, ServeOptions, Store, Target, store::block_on};
use support::hub_db::HubDb;
use support::hub_load::{batches, send_until_stored};
use support::postgres::{self, Cluster};

const BIN: &str = env!("CARGO_BIN_EXE_reentry-board");

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Every stored event once, and per person the seqs 1..n with no gap.
fn assert_each_once(db: &HubDb, expected: usize) {
    let events = db.events();
    assert_eq!(events.len(), expected, "stored events");
    let ids: std::collections::BTreeSet<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(ids.len(), expected, "an event is stored twice");
    let mut per_person: std::collections::BTreeMap<&str, Vec<i64>> = Default::default();
    for (_, person, seq, _) in &events {
        per_person.entry(person).or_default().push(*seq);
    }
    for (person, mut seqs) in per_person {
        seqs.sort_unstable();
        let want: Vec<i64> = (1..=i64::try_from(seqs.len()).unwrap()).collect();
        assert_eq!(seqs, want, "the seqs of {person}");
    }
}

/// A `reentry-board hub` process on a free port; killed when dropped.
struct HubProcess {
    child: Child,
    url: String,
}

impl HubProcess {
    fn start(db: &HubDb) -> Self {
        let mut child = Command::new(BIN)
            .args(["hub", "--listen", "127.0.0.1:0"])
            .args(db.args())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let url = first
            .strip_prefix("hub listening on ")
            .unwrap_or_else(|| panic!("{first}"))
            .to_string();
        // Keep reading so the hub never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, url }
    }

    fn kill_9(&mut self) {
        Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        let _ = self.child.wait();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The database behind a running hub stops and comes back: the senders get 5xx meanwhile, retry
/// on their own, and in the end every event is stored exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_restarted_while_ten_senders_push() {
    let cluster = match Cluster::start() {
        Ok(cluster) => cluster,
        Err(why) if !postgres::required() => {
            eprintln!("SKIPPED: no PostgreSQL: {why}");
            return;
        }
        Err(why) => panic!("{why}"),
    };
    cluster.sql("postgres", "CREATE DATABASE restart");
    let target =
        Target::new(cluster.url("restart")).with_password_file(Some(cluster.password_file.clone()));
    let store = Store::open(&target).unwrap();
    let mut tokens = Vec::new();
    for sender in 0..10 {
        let facility = format!("facility-{sender}");
        tokens.push(block_on(store.add_token(&facility, "")).unwrap().unwrap().1);
    }
    drop(store);
    let running = hub::spawn_for_test(target.clone(), Faults::new()).unwrap();
    let url = running.url();
    let client = client();
    let health = |client: reqwest::Client, url: String| async move {
        client
            .get(format!("{url}/v1/health"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(health(client.clone(), url.clone()).await, 200);

    let mut senders = Vec::new();
    for (sender, token) in tokens.into_iter().enumerate() {
        let (client, url) = (client.clone(), url.clone());
        senders.push(tokio::spawn(async move {
            let facility = format!("facility-{sender}");
            let mut retried = 0;
            for batch in batches(&facility, sender as u64, 10, 300, 20) {
                let sent = send_until_stored(
                    &client,
                    std::slice::from_ref(&url),
                    &token,
                    &batch,
                    Duration::from_secs(60),
                )
                .await;
                retried += sent.attempts - 1;
                // Paced, so the restart falls in the middle of the sending.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            retried
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cluster = std::sync::Arc::new(cluster);
    let stopper = std::sync::Arc::clone(&cluster);
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
    // While it is down the hub says so, and nothing is answered as stored.
    assert_eq!(health(client.clone(), url.clone()).await, 503);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let starter = std::sync::Arc::clone(&cluster);
    tokio::task::spawn_blocking(move || starter.restart())
        .await
        .unwrap();
    let mut retried = 0;
    for sender in senders {
        retried += sender.await.unwrap();
    }
    assert!(
        retried > 0,
        "no sender saw the restart: the test tested nothing"
    );
    assert_eq!(health(client.clone(), url.clone()).await, 200);
    running.stop().unwrap();
    let events = cluster.sql(
        "restart",
        "SELECT count(*), count(DISTINCT event_id) FROM events",
    );
    assert_eq!(events, "3000|3000");
    let gaps = cluster.sql(
        "restart",
        "SELECT count(*) FROM (SELECT person_id, max(person_seq) AS m, count(*) AS n
           FROM events GROUP BY facility_id, person_id) x WHERE m <> n",
    );
    assert_eq!(gaps, "0");
}

/// One of two hub processes is killed with SIGKILL while batches are in flight: the sender
/// fails over to the other with the same batch, and every event is stored exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hub_process_killed_mid_batch_leaves_nothing_half_stored_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let db = HubDb::new(dir.path());
    let token = db.add_token("county-a", "");
    let mut first = HubProcess::start(&db);
    let second = HubProcess::start(&db);
    let urls = vec![first.url.clone(), second.url.clone()];
    let client = client();
    let all = batches("county-a", 1, 50, 2000, 100);
    let total = all.len() * 100;
    let sender = {
        let (client, urls, token) = (client.clone(), urls.clone(), token.clone());
        tokio::spawn(async move {
            let mut attempts = 0;
            for batch in all {
                attempts +=
                    send_until_stored(&client, &urls, &token, &batch, Duration::from_secs(60))
                        .await
                        .attempts;
            }
            attempts
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    first.kill_9();
    let attempts = sender.await.unwrap();
    assert!(
        attempts > 20,
        "no batch failed over: the kill missed the sending"
    );
    assert_each_once(&db, total);
}

/// The same batch sent to two hub processes at the same moment is stored once: one answer says
/// created and the other duplicate, event by event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_batch_at_two_hubs_at_once_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = HubDb::new(dir.path());
    let token = db.add_token("county-a", "");
    let one = hub::spawn(
        "127.0.0.1:0".parse().unwrap(),
        db.target.clone(),
        ServeOptions::default(),
    )
    .unwrap();
    let two = hub::spawn(
        "127.0.0.1:0".parse().unwrap(),
        db.target.clone(),
        ServeOptions::default(),
    )
    .unwrap();
    let client = client();
    let (url_one, url_two) = ([one.url()], [two.url()]);
    let all = batches("county-a", 2, 30, 1500, 100);
    let total = all.len() * 100;
    for batch in all {
        let (a, b) = tokio::join!(
            send_until_stored(&client, &url_one, &token, &batch, Duration::from_secs(30)),
            send_until_stored(&client, &url_two, &token, &batch, Duration::from_secs(30)),
        );
        assert_eq!(a.created + b.created, 100, "{a:?} {b:?}");
        assert_eq!(a.duplicate + b.duplicate, 100, "{a:?} {b:?}");
    }
    assert_each_once(&db, total);
}

/// Two hubs, one database: a token revoked (by `hub token revoke`) is refused by both at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_is_refused_by_every_hub_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = HubDb::new(dir.path());
    let token = db.add_token("county-a", "");
    let one = HubProcess::start(&db);
    let two = HubProcess::start(&db);
    let client = client();
    let status = |url: String| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            client
                .get(format!("{url}/v1/persons/nobody/cursor"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(one.url.clone()).await, 200);
    assert_eq!(status(two.url.clone()).await, 200);
    let out = Command::new(BIN)
        .args(["hub", "token", "revoke", "1"])
        .args(db.args())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let revoked = Instant::now();
    for url in [&one.url, &two.url] {
        loop {
            if status(url.clone()).await == 401 {
                break;
            }
            assert!(
                revoked.elapsed() < Duration::from_secs(1),
                "{url} still accepts a revoked token"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A database another, newer reentry-board migrated is refused by name, by every command.
#[test]
fn a_database_of_a_newer_schema_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let db = HubDb::new(dir.path());
    postgres::shared().sql(
        db.pg_name.as_deref().unwrap(),
        "UPDATE hub_schema SET version = 99",
    );
    let error = format!("{:#}", Store::open(&db.target).err().unwrap());
    assert!(error.contains("schema version 99"), "{error}");
    assert!(error.contains("use a newer reentry-board"), "{error}");
    for args in [
        &["hub", "--listen", "127.0.0.1:0"][..],
        &["hub", "check"],
        &["hub", "migrate"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .args(db.args())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains("schema version 99"), "{args:?}: {stderr}");
    }
}

/// `hub migrate` makes the schema, `hub check` reports it with the counts; neither prints the
/// password.
#[test]
fn migrate_and_check_report_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = HubDb::unopened(dir.path());
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(db.args())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    // Before any migration the database is empty: check says what to do, and fails.
    let (ok, out) = run(&["hub", "check"]);
    assert!(!ok, "{out}");
    assert!(out.contains("run `reentry-board hub migrate`"), "{out}");
    let (ok, out) = run(&["hub", "migrate"]);
    assert!(ok, "{out}");
    let version = reentry_board::hub::store::postgres::SCHEMA_VERSION;
    assert!(
        out.contains(&format!("hub schema version {version}")),
        "{out}"
    );
    db.add_token("county-a", "");
    let (ok, out) = run(&["hub", "check"]);
    assert!(ok, "{out}");
    for line in [
        "answers".to_string(),
        format!("schema: version {version}"),
        "tokens: 1 (1 active)".to_string(),
        "events: 0".to_string(),
    ] {
        assert!(out.contains(&line), "{line}: {out}");
    }
    let password = std::fs::read_to_string(&postgres::shared().password_file).unwrap();
    assert!(!out.contains(password.trim()), "{out}");
}

/// A CA's PEM, and a certificate for localhost signed by it with its key.
fn ca_and_server_cert() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "State DB CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// `sslmode=verify-full` against a PostgreSQL that takes TLS only: the right CA connects, another
/// CA is refused by name, and a plain connection is refused by the server.
#[test]
fn tls_to_postgresql_checks_the_servers_certificate() {
    let (ca, cert, key) = ca_and_server_cert();
    let cluster = match Cluster::start_tls(&cert, &key) {
        Ok(cluster) => cluster,
        Err(why) if !postgres::required() => {
            eprintln!("SKIPPED: no PostgreSQL: {why}");
            return;
        }
        Err(why) => panic!("{why}"),
    };
    cluster.sql("postgres", "CREATE DATABASE tls");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("db-ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let (other_ca, _, _) = ca_and_server_cert();
    let other_ca_file = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca_file, other_ca).unwrap();
    let target = |query: String| {
        Target::new(format!(
            "postgres://{}@localhost:{}/tls?{query}",
            postgres::USER,
            cluster.port
        ))
        .with_password_file(Some(cluster.password_file.clone()))
    };

    let verified = target(format!(
        "sslmode=verify-full&sslrootcert={}",
        ca_file.display()
    ));
    let store = Store::open(&verified).unwrap();
    block_on(store.add_token("county-a", "")).unwrap().unwrap();
    assert_eq!(block_on(store.count_events()).unwrap().unwrap(), 0);
    let running = hub::spawn_for_test(verified, Faults::new()).unwrap();
    running.stop().unwrap();

    let other = target(format!(
        "sslmode=verify-full&sslrootcert={}",
        other_ca_file.display()
    ));
    let error = format!("{:#}", Store::open(&other).err().unwrap());
    assert!(error.contains("certificate"), "{error}");
    let plain = format!(
        "{:#}",
        Store::open(&target("sslmode=disable".into()))
            .err()
            .unwrap()
    );
    assert!(
        plain.contains("no pg_hba.conf entry") || plain.contains("SSL"),
        "{plain}"
    );
}

/// POST a batch; the summary counts, or the status when it is not 200.
async fn post_batch(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    batch: &serde_json::Value,
) -> Result<serde_json::Value, u16> {
    let response = client
        .post(format!("{url}/v1/events:batch"))
        .bearer_auth(token)
        .json(batch)
        .send()
        .await
        .unwrap();
    if response.status() != 200 {
        return Err(response.status().as_u16());
    }
    Ok(response.json().await.unwrap())
}

/// One person's next events reach two hub processes at the same moment (a sender that failed
/// over while the first hub was still committing): the later seqs are stored only after the
/// earlier ones, or refused with a gap to be sent again, never out of order, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_next_events_of_the_same_people_at_two_hubs_at_once_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = HubDb::new(dir.path());
    let token = db.add_token("county-a", "");
    let one = hub::spawn(
        "127.0.0.1:0".parse().unwrap(),
        db.target.clone(),
        ServeOptions::default(),
    )
    .unwrap();
    let two = hub::spawn(
        "127.0.0.1:0".parse().unwrap(),
        db.target.clone(),
        ServeOptions::default(),
    )
    .unwrap();
    let client = client();
    let (url_one, url_two) = (one.url(), two.url());
    // 50 people, 20 events each: batch r holds seq r+1 of every person.
    let all = batches("county-a", 3, 50, 1000, 50);
    let mut gaps = 0;
    for pair in all.chunks(2) {
        let [earlier, later] = pair else {
            unreachable!("an even number of batches")
        };
        let (a, b) = tokio::join!(
            post_batch(&client, &url_one, &token, earlier),
            post_batch(&client, &url_two, &token, later),
        );
        let a = a.unwrap();
        assert_eq!(a["summary"]["created"], 50, "{a}");
        let b = b.unwrap();
        let created = b["summary"]["created"].as_u64().unwrap();
        if created < 50 {
            gaps += 1;
            for item in b["results"].as_array().unwrap() {
                if item["result"] == "rejected" {
                    assert_eq!(
                        item["problem"]["type"], "urn:reentry-board:problem:seq-gap",
                        "{item}"
                    );
                }
            }
            // Sent again once the earlier batch is in: all of it is stored now.
            let again = post_batch(&client, &two.url(), &token, later)
                .await
                .unwrap();
            assert_eq!(
                again["summary"]["created"].as_u64().unwrap() + created,
                50,
                "{again}"
            );
        }
    }
    eprintln!("{gaps} of 10 later batches arrived before the earlier one was committed");
    assert_each_once(&db, 1000);
}
