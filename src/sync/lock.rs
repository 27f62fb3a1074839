//! One sender per database: an exclusive `flock` on a file beside it. The kernel drops the lock
//! when the process dies, even by kill -9, so a crashed sender never wedges the queue.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use nix::fcntl::{Flock, FlockArg};

/// Held while this process is the database's sender.
#[derive(Debug)]
pub struct SenderLock {
    _lock: Flock<File>,
    path: PathBuf,
}

impl SenderLock {
    /// `<db>.sender-lock`.
    pub fn path_for(db: &Path) -> PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push(".sender-lock");
        PathBuf::from(name)
    }

    /// Takes the lock, or says which process holds it. `Ok(None)`: another sender has it.
    pub fn try_acquire(db: &Path) -> anyhow::Result<Option<Self>> {
        let path = Self::path_for(db);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open the sender lock file {}", path.display()))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut lock) => {
                // The pid is for people reading the file; the lock itself is the flock.
                lock.set_len(0)
                    .and_then(|()| lock.rewind())
                    .and_then(|()| writeln!(lock, "{}", std::process::id()))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Ok(Some(Self { _lock: lock, path }))
            }
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, errno)) => Err(anyhow::anyhow!(
                "cannot lock {}: {}",
                path.display(),
                errno.desc()
            )),
        }
    }

    /// The pid written by the sender that holds the lock, if readable.
    pub fn holder(db: &Path) -> Option<u32> {
        let mut text = String::new();
        File::open(Self::path_for(db))
            .and_then(|mut f| f.read_to_string(&mut text))
            .ok()?;
        text.trim().parse().ok()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
