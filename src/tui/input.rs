//! Where the board's events come from: the local terminal, or an SSH channel. The loop in
//! [`super::run_on`] is the same for both, so keys, themes and the idle lock cannot drift apart.

use std::time::Duration;

use anyhow::Result;
use crossterm::event as ct;

/// One reason for the loop to wake besides its tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// A key, mouse or resize event.
    Event(ct::Event),
    /// Another session in this process committed: reload now rather than on the next tick.
    DataChanged,
    /// End the session (Ctrl+C over SSH, the server stopping, the client gone).
    Stop,
}

pub trait Input {
    /// The next wake-up within `timeout`; `Ok(None)` when none came.
    fn next(&mut self, timeout: Duration) -> Result<Option<Wake>>;
}

/// The process's own terminal, through crossterm.
pub struct LocalInput;

impl Input for LocalInput {
    fn next(&mut self, timeout: Duration) -> Result<Option<Wake>> {
        if ct::poll(timeout)? {
            Ok(Some(Wake::Event(ct::read()?)))
        } else {
            Ok(None)
        }
    }
}

/// A channel fed by another thread (the SSH server feeds one per session). A closed channel is
/// a gone client: the session stops.
impl Input for std::sync::mpsc::Receiver<Wake> {
    fn next(&mut self, timeout: Duration) -> Result<Option<Wake>> {
        use std::sync::mpsc::RecvTimeoutError;
        match self.recv_timeout(timeout) {
            Ok(wake) => Ok(Some(wake)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Ok(Some(Wake::Stop)),
        }
    }
}
