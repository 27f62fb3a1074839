//! The board's terminal output for one SSH channel: ratatui writes into a buffer and each flush
//! becomes one channel message. A bounded queue means a slow client slows only its own session.

use std::io::{self, Write};

use tokio::sync::mpsc::Sender;

pub struct ChannelWriter {
    pending: Vec<u8>,
    out: Sender<Vec<u8>>,
}

impl ChannelWriter {
    pub fn new(out: Sender<Vec<u8>>) -> Self {
        Self {
            pending: Vec::new(),
            out,
        }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    /// Called from the session's own thread, never from the async runtime.
    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::take(&mut self.pending);
        self.out
            .blocking_send(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the SSH client is gone"))
    }
}
