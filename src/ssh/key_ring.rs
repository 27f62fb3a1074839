//! The authorized keys as the server sees them: re-read when the file changes, so adding a
//! user's key needs no restart.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use anyhow::Result;
use russh::keys::PublicKey;

use super::authorized_keys::{AuthorizedKeys, KeyProblem};

pub struct KeyRing {
    path: PathBuf,
    loaded: Mutex<(Option<SystemTime>, AuthorizedKeys)>,
}

impl KeyRing {
    /// Loads the file now; the problems are for the operator at start.
    pub fn open(path: PathBuf) -> Result<(Self, Vec<KeyProblem>)> {
        let modified = modified(&path);
        let (keys, problems) = AuthorizedKeys::load(&path)?;
        let ring = Self {
            path,
            loaded: Mutex::new((modified, keys)),
        };
        Ok((ring, problems))
    }

    fn lock(&self) -> MutexGuard<'_, (Option<SystemTime>, AuthorizedKeys)> {
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The login `key` belongs to. A file that became unreadable keeps the last good list.
    pub fn login_for(&self, key: &PublicKey) -> Option<String> {
        let mut loaded = self.lock();
        let now = modified(&self.path);
        if now != loaded.0 {
            match AuthorizedKeys::load(&self.path) {
                Ok((keys, problems)) => {
                    for problem in &problems {
                        tracing::warn!(line = problem.line, "authorized keys: {}", problem.message);
                    }
                    tracing::info!(keys = keys.len(), "authorized keys reloaded");
                    *loaded = (now, keys);
                }
                Err(error) => tracing::warn!(error = %format!("{error:#}"), "authorized keys"),
            }
        }
        loaded.1.login_for(key).map(str::to_string)
    }
}

fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
