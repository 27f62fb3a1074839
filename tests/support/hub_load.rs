//! Events and senders for the tests and benchmarks that push many events to hubs at once: each
//! sender owns its people, sends them in order in batches, and retries a batch (the same bytes)
//! on a network error or a 5xx, as the real sender does, until the hub has every event.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A distinct UUID-shaped event id per (sender, n).
pub fn event_id(sender: u64, n: u64) -> String {
    format!("01963b6e-{:04x}-7000-8000-{n:012x}", sender & 0xffff)
}

/// A valid event: `person_booked` at seq 1, then release date changes.
pub fn event(facility: &str, sender: u64, person: &str, seq: i64, n: u64) -> Value {
    let (event_type, data) = if seq == 1 {
        (
            "person_booked",
            json!({"booked_on": "2026-02-20", "facility_kind": "adult_jail",
                   "name": {"last": "Synthetic", "first": "Person"}}),
        )
    } else {
        let day = 1 + (seq % 28);
        (
            "release_date_changed",
            json!({"previous": null, "new": format!("2026-05-{day:02}"), "certainty": "confirmed",
                   "type": "sentence_end", "reason": "court_order"}),
        )
    };
    json!({
        "schema_version": 1,
        "event_id": event_id(sender, n),
        "event_type": event_type,
        "occurred_at": "2026-03-01T09:30:12-08:00",
        "person_id": person,
        "person_seq": seq,
        "subject": {"booking_id": format!("B-{sender}-{person}")},
        "source": {"facility_id": facility, "app_version": "0.1.0"},
        "actor": {"user": "loadtest", "role": "records"},
        "sensitivity": [],
        "data": data,
    })
}

/// `events` events of one sender over `people` people, in per-person order, in batches.
pub fn batches(facility: &str, sender: u64, people: u64, events: u64, size: usize) -> Vec<Value> {
    let all: Vec<Value> = (0..events)
        .map(|n| {
            let person = format!("p{sender}-{}", n % people);
            let seq = i64::try_from(n / people + 1).unwrap();
            event(facility, sender, &person, seq, n)
        })
        .collect();
    all.chunks(size)
        .map(|chunk| json!({ "events": chunk }))
        .collect()
}

/// What sending one batch took.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    pub attempts: u32,
    /// From the first try to the answer that stored it.
    pub took: Duration,
    pub created: u64,
    pub duplicate: u64,
}

/// Sends `batch` until a hub answers 200 with every event created or duplicate, trying the URLs
/// in turn (a load balancer's failover). Panics on an answer that would need a human.
pub async fn send_until_stored(
    client: &reqwest::Client,
    urls: &[String],
    token: &str,
    batch: &Value,
    give_up: Duration,
) -> Sent {
    let body = serde_json::to_vec(batch).unwrap();
    let start = Instant::now();
    let mut attempts = 0u32;
    loop {
        let url = &urls[attempts as usize % urls.len()];
        attempts += 1;
        let answer = client
            .post(format!("{url}/v1/events:batch"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        match answer {
            Ok(response) if response.status() == 200 => {
                let value: Value = response.json().await.unwrap();
                let summary = &value["summary"];
                let count = |k: &str| summary[k].as_u64().unwrap();
                assert_eq!(
                    count("rejected") + count("deferred"),
                    0,
                    "a batch was refused: {value}"
                );
                return Sent {
                    attempts,
                    took: start.elapsed(),
                    created: count("created"),
                    duplicate: count("duplicate"),
                };
            }
            Ok(response) if response.status().is_server_error() => {}
            Ok(response) => panic!(
                "{} from {url}: {}",
                response.status(),
                response.text().await.unwrap_or_default()
            ),
            Err(_) => {}
        }
        assert!(
            start.elapsed() < give_up,
            "a batch was not stored within {give_up:?} ({attempts} attempts)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
