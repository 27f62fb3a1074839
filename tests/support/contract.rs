//! Holds test hubs to the OpenAPI description (docs/openapi.yaml): when the test ends, every
//! response a hub gave (and, for the sender's tests, every request it got) must match it.
//! `hub::spawn_for_test` checks each exchange as it happens; this reads the verdicts.

use std::sync::Mutex;

use reentry_board::hub::{ContractLog, RunningHub};

pub struct HubContract {
    logs: Mutex<Vec<ContractLog>>,
    requests_too: bool,
    /// Events a test put in the outbox broken on purpose: their problems are expected.
    planted: Mutex<Vec<String>>,
}

impl HubContract {
    /// Responses only: for tests that send bad requests on purpose.
    pub fn responses() -> Self {
        Self {
            logs: Mutex::new(Vec::new()),
            requests_too: false,
            planted: Mutex::new(Vec::new()),
        }
    }

    /// Requests and responses: for tests where the board's sender does the talking.
    pub fn requests_and_responses() -> Self {
        Self {
            logs: Mutex::new(Vec::new()),
            requests_too: true,
            planted: Mutex::new(Vec::new()),
        }
    }

    /// Follows this hub's exchanges (a hub made without a contract log is a test mistake).
    pub fn watch(&self, hub: &RunningHub) {
        let log = hub
            .contract()
            .expect("start test hubs with a contract log (hub::spawn_for_test does)");
        self.logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(log.clone());
    }

    /// The test broke this event on purpose (to see the hub refuse it): the sender sending it
    /// against the description is expected, and only it.
    pub fn planted_invalid(&self, event_id: &str) {
        self.planted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("(event {event_id})"));
    }

    /// (requests, responses) checked so far over all the hubs watched.
    pub fn checked(&self) -> (u64, u64) {
        let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.iter().fold((0, 0), |(q, r), log| {
            (q + log.requests_checked(), r + log.responses_checked())
        })
    }

    /// Panics with every exchange that breaks the description.
    pub fn assert_kept(&self) {
        let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        let mut broken = Vec::new();
        for log in logs.iter() {
            broken.extend(log.response_problems());
            if self.requests_too {
                let planted = self.planted.lock().unwrap_or_else(|e| e.into_inner());
                broken.extend(
                    log.request_problems()
                        .into_iter()
                        .filter(|line| !planted.iter().any(|p| line.contains(p.as_str()))),
                );
            }
        }
        assert!(
            broken.is_empty(),
            "exchanges that break docs/openapi.yaml:\n{}",
            broken.join("\n")
        );
    }
}

impl Drop for HubContract {
    fn drop(&mut self) {
        // A test that already failed says why; a second panic would abort the run.
        if !std::thread::panicking() {
            self.assert_kept();
        }
    }
}
