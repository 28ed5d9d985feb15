//! The trace: every event that matters, with its time, as serde JSON lines, and the run's
//! fingerprint, a hash over everything that happened.

use crate::spec::{FaultAction, Role, RoleFault};
use broker_core::{Event, NodeId, Time};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a trace entry records.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum TraceKind {
    /// A teaching event a node reported.
    Event {
        /// The event.
        event: Event,
    },
    /// A fault was injected.
    Fault {
        /// The fault.
        fault: FaultAction,
    },
    /// A fault named a role (`FaultAction::OnRole`): the node it went to, recorded just
    /// before that node's fault; `None` when nobody held the role, and the fault did nothing.
    RoleResolved {
        /// The fault.
        fault: RoleFault,
        /// The role.
        role: Role,
        /// Who held it (or, for `restart`/`resume`/`unclog`, whom its last fault hit).
        node: Option<NodeId>,
    },
    /// A process started (or restarted).
    ProcessStarted,
    /// A process stopped after a controlled shutdown.
    ProcessStopped,
    /// A message was sent (only when message tracing is on).
    Sent {
        /// Receiver.
        to: NodeId,
        /// The Kafka API.
        api: Arc<str>,
        /// A short description.
        summary: Arc<str>,
    },
    /// A message was dropped by the network.
    Dropped {
        /// Receiver.
        to: NodeId,
        /// The Kafka API.
        api: Arc<str>,
        /// Why.
        reason: Arc<str>,
    },
    /// A phase began.
    Phase {
        /// `main`, `drain` or `check`.
        name: String,
    },
}

/// One trace entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TraceEntry {
    /// When.
    pub time: Time,
    /// Which node it concerns.
    pub node: Option<NodeId>,
    /// What.
    pub kind: TraceKind,
}

/// FNV-1a over 64 bits: stable across platforms and releases, unlike `DefaultHasher`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    /// Mix in bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Mix in a number.
    pub fn u64(&mut self, n: u64) {
        self.bytes(&n.to_le_bytes());
    }

    /// Mix in a value through its `Hash`, without serializing it.
    pub fn value(&mut self, value: &impl std::hash::Hash) {
        value.hash(self);
    }

    /// The hash as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Integers go in little-endian and `usize` as 64 bits, so a fingerprint is the same on every
/// platform (the default `Hasher` methods use native byte order).
impl std::hash::Hasher for Fingerprint {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.bytes(bytes);
    }
    fn write_u8(&mut self, n: u8) {
        self.bytes(&[n]);
    }
    fn write_u16(&mut self, n: u16) {
        self.bytes(&n.to_le_bytes());
    }
    fn write_u32(&mut self, n: u32) {
        self.bytes(&n.to_le_bytes());
    }
    fn write_u64(&mut self, n: u64) {
        self.bytes(&n.to_le_bytes());
    }
    fn write_usize(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn write_isize(&mut self, n: isize) {
        self.u64(n as i64 as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded fingerprints stay comparable only if the hash never changes: pin it.
    #[test]
    fn the_fingerprint_hash_is_pinned() {
        let mut empty = Fingerprint::default();
        assert_eq!(empty.hex(), "cbf29ce484222325", "FNV-1a offset basis");
        empty.bytes(b"a");
        assert_eq!(empty.hex(), "af63dc4c8601ec8c", "FNV-1a of \"a\"");
        let mut value = Fingerprint::default();
        value.value(&(7u32, "x", 3usize));
        let mut by_hand = Fingerprint::default();
        by_hand.bytes(&7u32.to_le_bytes());
        by_hand.bytes(b"x");
        by_hand.bytes(&[0xff]);
        by_hand.bytes(&3u64.to_le_bytes());
        assert_eq!(value, by_hand, "integers little-endian, usize as 64 bits");
    }
}
