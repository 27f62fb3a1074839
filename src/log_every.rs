//! A warning that may repeat thousands of times a second (a flood of connections, accept
//! failing for want of descriptors) is logged at most once per interval, with the count since
//! the last line, so an attack cannot fill the disk through the log.

use std::time::{Duration, Instant};

pub struct LogEvery {
    what: &'static str,
    every: Duration,
    count: u64,
    since: Option<Instant>,
}

impl LogEvery {
    /// Ten seconds between lines.
    pub fn new(what: &'static str) -> Self {
        Self {
            what,
            every: Duration::from_secs(10),
            count: 0,
            since: None,
        }
    }

    /// One more; logged (with `detail` and the count) if the last line is old enough.
    pub fn hit(&mut self, detail: &str) {
        self.count += 1;
        let now = Instant::now();
        if self.since.is_none_or(|at| now - at >= self.every) {
            tracing::warn!(count = self.count, detail, "{}", self.what);
            self.count = 0;
            self.since = Some(now);
        }
    }
}
