//! Counting open TCP connections, in total and per peer address. A connection is admitted
//! with a [`ConnPermit`] that it holds until it closes; an upgraded WebSocket keeps its
//! connection's permit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds its maximum of connections.
    Full,
    /// The peer address holds its maximum of connections.
    PeerFull,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// The connection counters and their caps.
pub struct ConnectionCaps {
    max: usize,
    max_per_ip: usize,
    counts: Arc<Mutex<Counts>>,
}

/// One admitted connection; releases its place when dropped.
pub struct ConnPermit {
    ip: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl std::fmt::Debug for ConnPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnPermit").field("ip", &self.ip).finish()
    }
}

fn lock(counts: &Mutex<Counts>) -> std::sync::MutexGuard<'_, Counts> {
    // Counters stay consistent even if a holder panicked.
    counts.lock().unwrap_or_else(|e| e.into_inner())
}

impl ConnectionCaps {
    /// At most `max` connections, `max_per_ip` of them from one address (`0`: no
    /// per-address cap).
    pub fn new(max: usize, max_per_ip: usize) -> Self {
        Self {
            max,
            max_per_ip,
            counts: Arc::default(),
        }
    }

    /// Admits a connection from `ip`, or says why not.
    pub fn admit(&self, ip: IpAddr) -> Result<ConnPermit, Refusal> {
        let mut counts = lock(&self.counts);
        if counts.total >= self.max {
            return Err(Refusal::Full);
        }
        let from_ip = counts.per_ip.entry(ip).or_insert(0);
        if self.max_per_ip > 0 && *from_ip >= self.max_per_ip {
            return Err(Refusal::PeerFull);
        }
        *from_ip += 1;
        counts.total += 1;
        Ok(ConnPermit {
            ip,
            counts: self.counts.clone(),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        lock(&self.counts).total
    }
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        counts.total -= 1;
        if let Some(n) = counts.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_total_and_per_address_and_releases_on_drop() {
        let caps = ConnectionCaps::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = caps.admit(a).unwrap();
        let _a2 = caps.admit(a).unwrap();
        assert_eq!(caps.admit(a).unwrap_err(), Refusal::PeerFull);
        let _b1 = caps.admit(b).unwrap();
        assert_eq!(caps.admit(b).unwrap_err(), Refusal::Full);
        drop(a1);
        assert_eq!(caps.open(), 2);
        assert!(caps.admit(b).is_ok());
        // No entry is left behind for an address without connections.
        let unlimited = ConnectionCaps::new(10, 0);
        drop(unlimited.admit(a).unwrap());
        assert!(lock(&unlimited.counts).per_ip.is_empty());
    }
}
