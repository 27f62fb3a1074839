//! The authorized keys as the server sees them: re-read whenever the file's bytes change, so
//! adding or removing a key needs no restart.
//!
//! A reload fails closed. Every reload is built from the file as it is now — its good lines,
//! without the bad ones — never from the previous list, so a key whose line is gone stops
//! working even when the same edit broke another line. A file that cannot be read at all leaves
//! no key active, and says so on stderr (the service's status in the journal) and in the log.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::Result;
use chrono::{DateTime, Utc};
use russh::keys::PublicKey;

use super::authorized_keys::{AuthorizedKeys, KeyDecision, KeyProblem};

/// What is loaded now, for the log and the service status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RingState {
    /// The file was read: this many keys are active, this many lines skipped.
    Loaded { keys: usize, skipped: usize },
    /// The file could not be read: no key is active.
    Unreadable(String),
}

struct Loaded {
    /// The bytes the keys were built from (`None` while unreadable).
    bytes: Option<Vec<u8>>,
    keys: AuthorizedKeys,
    state: RingState,
}

pub struct KeyRing {
    path: PathBuf,
    loaded: Mutex<Loaded>,
}

impl KeyRing {
    /// Loads the file now; the problems are for the operator at start. A file that cannot be
    /// read at start is an error (nothing is listening yet); bad lines are not.
    pub fn open(path: PathBuf) -> Result<(Self, Vec<KeyProblem>)> {
        let bytes = std::fs::read(&path).map_err(|error| {
            anyhow::anyhow!(
                "cannot read the authorized keys {}: {error}",
                path.display()
            )
        })?;
        let (keys, problems) = AuthorizedKeys::parse(&bytes, &path);
        let state = RingState::Loaded {
            keys: keys.len(),
            skipped: problems.len(),
        };
        let ring = Self {
            path,
            loaded: Mutex::new(Loaded {
                bytes: Some(bytes),
                keys,
                state,
            }),
        };
        Ok((ring, problems))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Loaded> {
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What the file, as it is now, says about `key` from `peer`.
    pub fn decide(&self, key: &PublicKey, peer: Option<IpAddr>, now: DateTime<Utc>) -> KeyDecision {
        let mut loaded = self.lock();
        self.refresh(&mut loaded);
        loaded.keys.decide(key, peer, now)
    }

    pub fn state(&self) -> RingState {
        let mut loaded = self.lock();
        self.refresh(&mut loaded);
        loaded.state.clone()
    }

    /// Re-reads the file (it is small, and read only when someone signs in) and rebuilds the
    /// list when its bytes changed.
    fn refresh(&self, loaded: &mut Loaded) {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                if loaded.bytes.as_deref() == Some(bytes.as_slice()) {
                    return;
                }
                let (keys, problems) = AuthorizedKeys::parse(&bytes, &self.path);
                for problem in &problems {
                    tracing::warn!(line = problem.line, "authorized keys: {}", problem.message);
                    eprintln!("reentry-board: authorized keys: skipped {problem}");
                }
                let state = RingState::Loaded {
                    keys: keys.len(),
                    skipped: problems.len(),
                };
                tracing::info!(
                    keys = keys.len(),
                    skipped = problems.len(),
                    "authorized keys reloaded"
                );
                eprintln!(
                    "reentry-board: authorized keys reloaded: {} key(s) active, {} line(s) skipped",
                    keys.len(),
                    problems.len()
                );
                *loaded = Loaded {
                    bytes: Some(bytes),
                    keys,
                    state,
                };
            }
            Err(error) => {
                let why = format!("cannot read {}: {error}", self.path.display());
                if loaded.state != RingState::Unreadable(why.clone()) {
                    tracing::error!(
                        error = %why,
                        "authorized keys unreadable: every key is refused until it can be read"
                    );
                    eprintln!(
                        "reentry-board: ERROR: authorized keys: {why}; every key is refused \
                         until the file can be read again"
                    );
                }
                *loaded = Loaded {
                    bytes: None,
                    keys: AuthorizedKeys::default(),
                    state: RingState::Unreadable(why),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGp0LeFI9pbtKMKzUiEaSp8Cd0lHcmgmTo+AApH4LM+c";
    const BOB: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFfLnpMEPYT2kGwPDdnMvRCKfF2x4Wv5RM8vCeVBMwe1";

    fn decide(ring: &KeyRing, key: &str) -> KeyDecision {
        ring.decide(&key.parse().unwrap(), None, Utc::now())
    }

    #[test]
    fn a_removed_line_stops_working_even_when_the_same_edit_breaks_another() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("authorized_keys");
        std::fs::write(&file, format!("{ALICE} alice\n{BOB} bob\n")).unwrap();
        let (ring, problems) = KeyRing::open(file.clone()).unwrap();
        assert!(problems.is_empty());
        assert_eq!(decide(&ring, ALICE), KeyDecision::Accept("alice".into()));

        // Alice's line removed; a Latin-1 comment added by another editor in the same save.
        let mut edited = b"# Jos\xe9, ward 3\n".to_vec();
        edited.extend_from_slice(format!("{BOB} bob\nnot a key\n").as_bytes());
        std::fs::write(&file, edited).unwrap();
        assert_eq!(decide(&ring, ALICE), KeyDecision::Unknown);
        assert_eq!(decide(&ring, BOB), KeyDecision::Accept("bob".into()));
        assert_eq!(
            ring.state(),
            RingState::Loaded {
                keys: 1,
                skipped: 1
            }
        );

        // Unreadable: nobody gets in until it is readable again.
        std::fs::remove_file(&file).unwrap();
        assert_eq!(decide(&ring, BOB), KeyDecision::Unknown);
        assert!(matches!(ring.state(), RingState::Unreadable(why) if why.contains("cannot read")));
        std::fs::write(&file, format!("{BOB} bob\n")).unwrap();
        assert_eq!(decide(&ring, BOB), KeyDecision::Accept("bob".into()));
    }
}
