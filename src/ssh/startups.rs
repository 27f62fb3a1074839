//! Connections that have not signed in yet, capped as OpenSSH's `MaxStartups` and
//! `PerSourceMaxStartups` cap them: from `start` unauthenticated connections on, a new one is
//! dropped with probability `rate`%, rising linearly to 100% at `full`; and no address may hold
//! more than `per_source` of them. A connection gives its place back when it signs in or ends.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use rand::RngExt as _;

/// `start:rate:full`, or one number `N` (= `N:100:N`, a hard cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxStartups {
    pub start: usize,
    pub rate: u32,
    pub full: usize,
}

impl Default for MaxStartups {
    /// OpenSSH's default.
    fn default() -> Self {
        Self {
            start: 10,
            rate: 30,
            full: 100,
        }
    }
}

impl fmt::Display for MaxStartups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.start, self.rate, self.full)
    }
}

impl FromStr for MaxStartups {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not N or start:rate:full (such as 10:30:100)");
        let numbers: Vec<&str> = text.split(':').collect();
        let parsed = match numbers.as_slice() {
            [n] => {
                let n: usize = n.parse().map_err(|_| bad())?;
                Self {
                    start: n,
                    rate: 100,
                    full: n,
                }
            }
            [start, rate, full] => Self {
                start: start.parse().map_err(|_| bad())?,
                rate: rate.parse().map_err(|_| bad())?,
                full: full.parse().map_err(|_| bad())?,
            },
            _ => return Err(bad()),
        };
        if parsed.full == 0 || parsed.start > parsed.full || parsed.rate > 100 {
            return Err(format!(
                "{text:?}: need 0 < start <= full and a rate of 0 to 100 (percent)"
            ));
        }
        Ok(parsed)
    }
}

impl MaxStartups {
    /// sshd.c's `should_drop_connection`, with the same integer arithmetic.
    fn should_drop(&self, standing: usize, roll: u32) -> bool {
        if standing < self.start {
            return false;
        }
        if standing >= self.full || self.rate == 100 {
            return true;
        }
        let span = u64::try_from(self.full - self.start).unwrap_or(u64::MAX);
        let into = u64::try_from(standing - self.start).unwrap_or(u64::MAX);
        let p = u64::from(100 - self.rate) * into / span + u64::from(self.rate);
        u64::from(roll) < p
    }
}

/// Why a new connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `MaxStartups`: too many connections are signing in at once.
    Total,
    /// Its address already has `per_source` connections signing in.
    PerSource,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

pub struct Startups {
    limits: MaxStartups,
    per_source: usize,
    counts: Mutex<Counts>,
}

/// One unauthenticated connection's place; given back when dropped.
pub struct StartupSlot {
    ip: IpAddr,
    startups: Arc<Startups>,
}

impl Drop for StartupSlot {
    fn drop(&mut self) {
        let mut counts = self.startups.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

impl Startups {
    pub fn new(limits: MaxStartups, per_source: usize) -> Arc<Self> {
        Arc::new(Self {
            limits,
            per_source: per_source.max(1),
            counts: Mutex::new(Counts::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for a new connection from `ip`, or why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<StartupSlot, Refusal> {
        self.admit_with(ip, rand::rng().random_range(0..100))
    }

    fn admit_with(self: &Arc<Self>, ip: IpAddr, roll: u32) -> Result<StartupSlot, Refusal> {
        let ip = ip.to_canonical();
        let mut counts = self.lock();
        if counts.per_ip.get(&ip).copied().unwrap_or(0) >= self.per_source {
            return Err(Refusal::PerSource);
        }
        if self.limits.should_drop(counts.total, roll) {
            return Err(Refusal::Total);
        }
        counts.total += 1;
        *counts.per_ip.entry(ip).or_insert(0) += 1;
        Ok(StartupSlot {
            ip,
            startups: self.clone(),
        })
    }

    /// Connections signing in now.
    pub fn standing(&self) -> usize {
        self.lock().total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_openssh_syntax() {
        assert_eq!("10:30:100".parse(), Ok(MaxStartups::default()));
        assert_eq!(
            "50".parse(),
            Ok(MaxStartups {
                start: 50,
                rate: 100,
                full: 50
            })
        );
        for bad in ["", "0", "10:30", "20:30:10", "10:101:100", "a:b:c"] {
            assert!(bad.parse::<MaxStartups>().is_err(), "{bad}");
        }
    }

    #[test]
    fn random_early_drop_ramps_like_sshd() {
        let m = MaxStartups::default();
        assert!(!m.should_drop(9, 0), "below start: never");
        assert!(
            m.should_drop(10, 29) && !m.should_drop(10, 30),
            "30% at start"
        );
        // Halfway (55 of 10..100): 30 + 70 * 45 / 90 = 65%.
        assert!(m.should_drop(55, 64) && !m.should_drop(55, 65));
        assert!(m.should_drop(100, 99), "full: always");
    }

    #[test]
    fn caps_per_address_and_gives_places_back() {
        let startups = Startups::new("4".parse().unwrap(), 2);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let a1 = startups.admit_with(a, 99).unwrap();
        let _a2 = startups.admit_with(a, 99).unwrap();
        assert_eq!(startups.admit_with(a, 99).err(), Some(Refusal::PerSource));
        let _b1 = startups.admit_with(b, 99).unwrap();
        let _b2 = startups.admit_with(b, 99).unwrap();
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        assert_eq!(startups.admit_with(c, 99).err(), Some(Refusal::Total));
        drop(a1);
        assert_eq!(startups.standing(), 3);
        assert!(startups.admit_with(c, 99).is_ok());
        let one = Startups::new(MaxStartups::default(), 1);
        let _held = one.admit_with(a, 99).unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(
            one.admit_with(mapped, 99).err(),
            Some(Refusal::PerSource),
            "an IPv4-mapped address is the same address"
        );
    }
}
