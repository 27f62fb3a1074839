//! Raw bytes from the client's terminal -> the crossterm events the board's keymap reads, with
//! terminput's parser (crossterm's own, which is private to crossterm). Over SSH there is no
//! local tty to parse for us.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use crate::tui::Wake;

/// Longest unfinished escape sequence kept; anything longer is garbage and dropped.
const MAX_PENDING: usize = 64;

/// Window sizes are clamped: a zero size draws nothing useful and an enormous one would make
/// every frame buffer huge.
pub const MAX_COLS: u16 = 512;
pub const MAX_ROWS: u16 = 256;

pub fn clamp_size(cols: u32, rows: u32) -> (u16, u16) {
    let clamp = |value: u32, max: u16| u16::try_from(value).unwrap_or(max).clamp(1, max);
    (clamp(cols, MAX_COLS), clamp(rows, MAX_ROWS))
}

#[derive(Debug, Default)]
pub struct KeyParser {
    pending: Vec<u8>,
}

impl KeyParser {
    /// Everything `bytes` completes. A lone Esc at the end of a read is the Esc key, as for
    /// crossterm on a local terminal; an Esc followed by more bytes in the same read starts a
    /// sequence.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Wake> {
        let mut out = Vec::new();
        for (index, byte) in bytes.iter().enumerate() {
            // Ctrl+C is never part of a sequence: it quits even after half a sequence of garbage.
            if *byte == 0x03 {
                self.pending.clear();
                out.push(Wake::Stop);
                continue;
            }
            self.pending.push(*byte);
            let more = index + 1 < bytes.len();
            if self.pending == [0x1b] && more {
                continue;
            }
            match terminput::Event::parse_from(&self.pending) {
                Ok(Some(event)) => {
                    self.pending.clear();
                    out.extend(wake_for(event));
                }
                Ok(None) if self.pending.len() < MAX_PENDING => {}
                Ok(None) => self.pending.clear(),
                // The byte that broke a sequence may start a key of its own.
                Err(_) => {
                    let broke = self.pending.len() > 1;
                    self.pending.clear();
                    if broke && let Ok(Some(event)) = terminput::Event::parse_from(&[*byte]) {
                        out.extend(wake_for(event));
                    }
                }
            }
        }
        out
    }
}

/// Ctrl+C ends the session whatever the keymap says, as it does locally.
fn wake_for(event: terminput::Event) -> Option<Wake> {
    let event = terminput_crossterm::to_crossterm(event).ok()?;
    if let Event::Key(KeyEvent {
        code: KeyCode::Char('c' | 'C'),
        modifiers,
        ..
    }) = &event
        && modifiers.contains(KeyModifiers::CONTROL)
    {
        return Some(Wake::Stop);
    }
    Some(Wake::Event(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(wake: &Wake) -> Option<(KeyCode, KeyModifiers)> {
        match wake {
            Wake::Event(Event::Key(k)) => Some((k.code, k.modifiers)),
            _ => None,
        }
    }

    #[test]
    fn parses_keys_arrows_and_split_sequences() {
        let mut parser = KeyParser::default();
        let wakes = parser.feed(b"j\x1b[A\r");
        let keys: Vec<_> = wakes.iter().filter_map(key).collect();
        assert_eq!(
            keys,
            vec![
                (KeyCode::Char('j'), KeyModifiers::NONE),
                (KeyCode::Up, KeyModifiers::NONE),
                (KeyCode::Enter, KeyModifiers::NONE),
            ]
        );
        // An arrow split across two reads.
        assert!(parser.feed(b"\x1b[").is_empty());
        let down = parser.feed(b"B");
        assert_eq!(key(&down[0]), Some((KeyCode::Down, KeyModifiers::NONE)));
        // A lone Esc is the key.
        let esc = parser.feed(b"\x1b");
        assert_eq!(key(&esc[0]), Some((KeyCode::Esc, KeyModifiers::NONE)));
    }

    #[test]
    fn ctrl_c_stops_and_garbage_is_dropped() {
        let mut parser = KeyParser::default();
        assert_eq!(parser.feed(b"\x03"), vec![Wake::Stop]);
        parser.feed(b"\x1bO");
        assert_eq!(
            parser.feed(b"\x03"),
            vec![Wake::Stop],
            "after half a sequence"
        );
        let mut garbage = b"\x1b[".to_vec();
        garbage.extend(std::iter::repeat_n(b'9', 200));
        parser.feed(&garbage);
        parser.feed(&[0xff, 0xfe, 0x80]);
        let after = parser.feed(b"q");
        assert_eq!(
            after.iter().filter_map(key).next_back(),
            Some((KeyCode::Char('q'), KeyModifiers::NONE)),
            "the parser recovers after garbage"
        );
    }

    #[test]
    fn sizes_are_clamped() {
        assert_eq!(clamp_size(0, 0), (1, 1));
        assert_eq!(clamp_size(80, 24), (80, 24));
        assert_eq!(clamp_size(u32::MAX, 100_000), (MAX_COLS, MAX_ROWS));
    }
}
