//! The open-file limit of a server process. systemd gives a service 1024 descriptors by default
//! (soft) and allows far more (hard); every connection takes one, so the servers raise the soft
//! limit to the hard one at start, as OpenSSH's and most servers' packaging do.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// The limit before and after raising it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    pub was: u64,
    pub now: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. A failure leaves the limit as it was and
/// is reported in the result (the server still runs, with the caps sized to what it has).
pub fn raise_to_hard() -> FdLimit {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return FdLimit { was: 0, now: 0 };
    };
    if soft >= hard {
        return FdLimit {
            was: soft,
            now: soft,
        };
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => FdLimit {
            was: soft,
            now: hard,
        },
        Err(error) => {
            tracing::warn!(%error, soft, hard, "cannot raise the open-file limit");
            FdLimit {
                was: soft,
                now: soft,
            }
        }
    }
}

impl std::fmt::Display for FdLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |n: u64| {
            if n >= u64::from(u32::MAX) {
                "unlimited".to_string()
            } else {
                n.to_string()
            }
        };
        if self.was == self.now {
            write!(f, "open-file limit {}", show(self.now))
        } else {
            write!(
                f,
                "open-file limit raised from {} to {}",
                show(self.was),
                show(self.now)
            )
        }
    }
}
