//! What the board and `sync status` show about delivery: a state in words and a glyph (never
//! colour alone), the counts, the last success and the last error.

use chrono::{DateTime, TimeZone, Utc};

use crate::store::{OutboxCounts, Store, SyncState};

/// The one word that sums the queue up, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPhase {
    /// 401/403/TLS failure: nothing is sent until the credentials work.
    Paused,
    /// Dead-lettered or blocked events wait for a coordinator.
    Rejected,
    /// The hub could not be reached or asked us to wait; retries are scheduled.
    Offline,
    /// Events are waiting to be sent.
    Queued,
    /// Everything is delivered.
    Ok,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncStatus {
    pub phase: SyncPhase,
    pub pending: i64,
    pub dead: i64,
    pub blocked: i64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
    /// When the next try is due (queue hold or the earliest event retry), if in the future.
    pub retry_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub paused_reason: Option<String>,
}

impl SyncStatus {
    /// Read from the database: any process can show it, whichever process sends.
    pub fn read(store: &Store, now: DateTime<Utc>) -> crate::store::Result<Self> {
        Ok(Self::from_parts(
            &store.outbox_counts()?,
            &store.sync_state()?,
            now,
        ))
    }

    pub fn from_parts(counts: &OutboxCounts, state: &SyncState, now: DateTime<Utc>) -> Self {
        let retry_at = [state.hold_until, counts.next_attempt_at]
            .into_iter()
            .flatten()
            .max()
            .filter(|at| *at > now);
        let failing = state.last_error.is_some()
            && state.last_error_at >= state.last_success_at
            && counts.pending > 0;
        let phase = if state.paused_reason.is_some() {
            SyncPhase::Paused
        } else if counts.dead + counts.blocked > 0 {
            SyncPhase::Rejected
        } else if counts.pending > 0 && (failing || state.hold_until.is_some_and(|h| h > now)) {
            SyncPhase::Offline
        } else if counts.pending > 0 {
            SyncPhase::Queued
        } else {
            SyncPhase::Ok
        };
        Self {
            phase,
            pending: counts.pending,
            dead: counts.dead,
            blocked: counts.blocked,
            oldest_pending_at: counts.oldest_pending_at,
            retry_at,
            last_success_at: state.last_success_at,
            last_error: state.last_error.clone(),
            paused_reason: state.paused_reason.clone(),
        }
    }

    /// `✓`, `↑`, `!`, `✗`, `‖` — or ASCII for fonts without them.
    pub fn glyph(&self, ascii: bool) -> &'static str {
        match (self.phase, ascii) {
            (SyncPhase::Ok, false) => "✓",
            (SyncPhase::Ok, true) => "+",
            (SyncPhase::Queued, false) => "↑",
            (SyncPhase::Queued, true) => "^",
            (SyncPhase::Offline, _) => "!",
            (SyncPhase::Rejected, false) => "✗",
            (SyncPhase::Rejected, true) => "x",
            (SyncPhase::Paused, false) => "‖",
            (SyncPhase::Paused, true) => "||",
        }
    }

    /// The header text: `SYNC OK 14:02`, `3 queued (oldest 2m)`, `OFFLINE, retry in 40s, 12
    /// queued`, `1 REJECTED`, `SYNC PAUSED: 401 unauthorized`. Times in `tz`.
    pub fn words<Tz: TimeZone>(&self, now: DateTime<Utc>, tz: &Tz) -> String
    where
        Tz::Offset: std::fmt::Display,
    {
        match self.phase {
            SyncPhase::Ok => match self.last_success_at {
                Some(at) => format!("SYNC OK {}", at.with_timezone(tz).format("%H:%M")),
                None => "SYNC OK".into(),
            },
            SyncPhase::Queued => {
                let mut words = match self.oldest_pending_at {
                    Some(at) => format!("{} queued (oldest {})", self.pending, ago(now, at)),
                    None => format!("{} queued", self.pending),
                };
                if let Some(at) = self.retry_at {
                    words.push_str(&format!(", next try {}", when(now, at, tz)));
                }
                words
            }
            SyncPhase::Offline => match self.retry_at {
                Some(at) => format!(
                    "OFFLINE, retry {}, {} queued",
                    when(now, at, tz),
                    self.pending
                ),
                None => format!("OFFLINE, {} queued", self.pending),
            },
            SyncPhase::Rejected => {
                let mut words = format!("{} REJECTED", self.dead + self.blocked);
                if self.pending > 0 {
                    words.push_str(&format!(", {} queued", self.pending));
                    if let Some(at) = self.retry_at {
                        words.push_str(&format!(", next try {}", when(now, at, tz)));
                    }
                }
                words
            }
            SyncPhase::Paused => format!(
                "SYNC PAUSED: {}, {} queued",
                self.paused_reason
                    .as_deref()
                    .unwrap_or("credentials refused"),
                self.pending
            ),
        }
    }
}

/// `in 40s` for what is close, `at 15:04` (a clock time in `tz`) for the rest.
fn when<Tz: TimeZone>(now: DateTime<Utc>, at: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let secs = (at - now).num_seconds();
    if secs < 60 {
        format!("in {}", span(secs))
    } else if secs < 86400 {
        format!("at {}", at.with_timezone(tz).format("%H:%M"))
    } else {
        format!("at {}", at.with_timezone(tz).format("%Y-%m-%d %H:%M"))
    }
}

fn ago(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    span((now - at).num_seconds().max(0))
}

/// `40s`, `2m`, `3h`, `2d`.
fn span(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn words_and_glyphs_for_each_phase() {
        let now = t("2026-03-01T14:05:00Z");
        let ok_state = SyncState {
            last_success_at: Some(t("2026-03-01T14:02:10Z")),
            ..SyncState::default()
        };
        let s = SyncStatus::from_parts(&OutboxCounts::default(), &ok_state, now);
        assert_eq!(
            (s.words(now, &Utc), s.glyph(false)),
            ("SYNC OK 14:02".into(), "✓")
        );

        let queued = OutboxCounts {
            pending: 3,
            oldest_pending_at: Some(t("2026-03-01T14:03:00Z")),
            ..OutboxCounts::default()
        };
        let s = SyncStatus::from_parts(&queued, &ok_state, now);
        assert_eq!(s.words(now, &Utc), "3 queued (oldest 2m)");
        assert_eq!(s.glyph(true), "^");

        let offline = SyncState {
            last_error: Some("cannot connect".into()),
            last_error_at: Some(t("2026-03-01T14:04:00Z")),
            hold_until: Some(t("2026-03-01T14:05:40Z")),
            ..ok_state.clone()
        };
        let twelve = OutboxCounts {
            pending: 12,
            ..queued.clone()
        };
        let s = SyncStatus::from_parts(&twelve, &offline, now);
        assert_eq!(s.words(now, &Utc), "OFFLINE, retry in 40s, 12 queued");

        // An hour's hold names the clock time; events waiting on their own times say when
        // the first goes.
        let held = SyncState {
            hold_until: Some(t("2026-03-01T15:04:30Z")),
            ..offline.clone()
        };
        let s = SyncStatus::from_parts(&twelve, &held, now);
        assert_eq!(s.words(now, &Utc), "OFFLINE, retry at 15:04, 12 queued");
        let waiting = OutboxCounts {
            next_attempt_at: Some(t("2026-03-01T14:35:00Z")),
            ..queued.clone()
        };
        let s = SyncStatus::from_parts(&waiting, &ok_state, now);
        assert_eq!(
            s.words(now, &Utc),
            "3 queued (oldest 2m), next try at 14:35"
        );

        let rejected = OutboxCounts {
            dead: 1,
            ..OutboxCounts::default()
        };
        let s = SyncStatus::from_parts(&rejected, &ok_state, now);
        assert_eq!(
            (s.words(now, &Utc), s.glyph(false)),
            ("1 REJECTED".into(), "✗")
        );

        let paused = SyncState {
            paused_reason: Some("401 unauthorized".into()),
            ..ok_state
        };
        let s = SyncStatus::from_parts(&twelve, &paused, now);
        assert_eq!(
            s.words(now, &Utc),
            "SYNC PAUSED: 401 unauthorized, 12 queued"
        );
        assert_eq!(s.phase, SyncPhase::Paused);
    }
}
